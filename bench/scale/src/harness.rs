//! Measuring one case of a curve: wall time natively, instructions under callgrind.
//!
//! Every row goes to stdout as CSV: `curve,size,case,metric,value,load1`.
//!
//! * Natively, a case runs `warm` ops, then `BATCHES` batches of `batch` ops; `ns` is the
//!   median time per op of the batches, `ns_min` the fastest.
//! * Under `valgrind --tool=callgrind --instr-atstart=no` (with `SCALE_CG_OUT` set to its
//!   `--callgrind-out-file`), instrumentation is switched on only for the cases (the fill
//!   before them runs uninstrumented), then a case runs `warm` ops, and `CG_REPS` times: zeroes
//!   the counters, runs `n` ops and dumps, runs `2n` ops and dumps. (I(2n) - I(n)) / n leaves
//!   out whatever a run costs once (entering the runtime, the loop); `instructions` is the
//!   median of the repetitions, `instructions_min` and `instructions_max` their range (moka's
//!   housekeeping runs on a timer as well as on a count of operations, so a repetition may
//!   catch one more or one fewer).
use std::ops::Range;
use std::time::Instant;

use crate::{alloc, cg};

pub const BATCHES: u64 = 5;
pub const CG_REPS: u64 = 3;

/// How many ops a case runs, natively and under callgrind.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warm: u64,
    pub batch: u64,
    pub cg_warm: u64,
    pub cg_n: u64,
}

impl Plan {
    pub const fn new(warm: u64, batch: u64, cg_warm: u64, cg_n: u64) -> Self {
        Plan {
            warm,
            batch,
            cg_warm,
            cg_n,
        }
    }
}

pub struct Harness {
    pub curve: &'static str,
    pub size: u64,
    /// The `--callgrind-out-file` when running under callgrind.
    cg_out: Option<String>,
    dumps: u32,
    instrumenting: bool,
}

/// The 1-minute load average, as `uptime` shows it.
pub fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

impl Harness {
    pub fn new(curve: &'static str, size: u64) -> Self {
        let under_valgrind = cg::running_on_valgrind();
        let cg_out = std::env::var("SCALE_CG_OUT")
            .ok()
            .filter(|_| under_valgrind);
        assert!(
            !under_valgrind || cg_out.is_some(),
            "under valgrind, set SCALE_CG_OUT to the --callgrind-out-file"
        );
        Harness {
            curve,
            size,
            cg_out,
            dumps: 0,
            instrumenting: false,
        }
    }

    /// Under callgrind: instruction counts only, wall times are not reported.
    pub fn callgrind(&self) -> bool {
        self.cg_out.is_some()
    }

    pub fn row(&self, case: &str, metric: &str, value: impl std::fmt::Display) {
        println!(
            "{},{},{},{},{},{}",
            self.curve,
            self.size,
            case,
            metric,
            value,
            load1()
        );
    }

    /// Ops a case consumes in all (the size of a pool of single-use inputs).
    pub fn ops(&self, plan: &Plan) -> u64 {
        if self.callgrind() {
            plan.cg_warm + CG_REPS * 3 * plan.cg_n
        } else {
            plan.warm + BATCHES * plan.batch
        }
    }

    /// Runs and reports one case; `run(range)` performs the ops with those indices (into a
    /// pool when each op needs inputs of its own).
    pub fn case(&mut self, case: &str, plan: &Plan, mut run: impl FnMut(Range<u64>)) {
        if self.callgrind() {
            if !self.instrumenting {
                cg::start_instrumentation();
                self.instrumenting = true;
            }
            let (w, n) = (plan.cg_warm, plan.cg_n);
            run(0..w);
            // Per op, by event: (I(2n) - I(n)) / n of each repetition.
            let mut estimates: Vec<(String, Vec<f64>)> = Vec::new();
            for rep in 0..CG_REPS {
                let at = w + rep * 3 * n;
                cg::zero_stats();
                run(at..at + n);
                let one = self.dump(case, n);
                run(at + n..at + 3 * n);
                let two = self.dump(case, 2 * n);
                for ((event, one), (_, two)) in one.into_iter().zip(two) {
                    let per_op = (two as f64 - one as f64) / n as f64;
                    match estimates.iter_mut().find(|(name, _)| *name == event) {
                        Some((_, values)) => values.push(per_op),
                        None => estimates.push((event, vec![per_op])),
                    }
                }
            }
            for (event, mut values) in estimates {
                values.sort_by(f64::total_cmp);
                let median = values[values.len() / 2];
                if event == "Ir" {
                    self.row(case, "instructions", format!("{median:.0}"));
                    self.row(case, "instructions_min", format!("{:.0}", values[0]));
                    self.row(
                        case,
                        "instructions_max",
                        format!("{:.0}", values[values.len() - 1]),
                    );
                } else {
                    self.row(case, &event, format!("{median:.1}"));
                }
            }
            return;
        }
        run(0..plan.warm);
        let mut start = plan.warm;
        let mut samples = Vec::with_capacity(BATCHES as usize);
        for _ in 0..BATCHES {
            let began = Instant::now();
            run(start..start + plan.batch);
            samples.push(began.elapsed().as_nanos() as f64 / plan.batch as f64);
            start += plan.batch;
        }
        samples.sort_by(f64::total_cmp);
        self.row(case, "ns", format!("{:.1}", samples[samples.len() / 2]));
        self.row(case, "ns_min", format!("{:.1}", samples[0]));
    }

    /// Dumps the counters (which zeroes them) and reads the dump's totals, by event (`Ir`, and
    /// with `--cache-sim=yes` also `Dr`, `Dw`, `I1mr`, `D1mr`, `D1mw`, `ILmr`, `DLmr`, `DLmw`).
    fn dump(&mut self, case: &str, n: u64) -> Vec<(String, u64)> {
        let label = format!("{}/{}/{}/{}", self.curve, self.size, case, n);
        cg::dump_stats_at(&label);
        self.dumps += 1;
        let path = format!("{}.{}", self.cg_out.as_ref().unwrap(), self.dumps);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(text.contains(&label), "{path} is not the dump of {label}");
        let line = |prefix: &str| text.lines().find_map(|line| line.strip_prefix(prefix));
        let events = line("events: ").unwrap_or_else(|| panic!("{path}: no events line"));
        let totals = line("summary: ")
            .or_else(|| line("totals: "))
            .unwrap_or_else(|| panic!("{path}: no summary line"));
        // Callgrind leaves trailing zero counts out of the line.
        let mut totals = totals.split_whitespace();
        events
            .split_whitespace()
            .map(|event| {
                let total = totals.next().map_or(0, |t| t.parse().expect("a count"));
                (event.to_owned(), total)
            })
            .collect()
    }

    /// Reports the memory held after filling `entries` entries: live bytes gained since
    /// `before`, per entry, and the bytes allocated on the way.
    pub fn memory(&self, case: &str, before: &alloc::Snapshot, entries: u64) {
        let now = alloc::snapshot();
        let live = now.live_since(before);
        self.row(case, "live_bytes", live);
        self.row(case, "allocated_bytes", now.allocated_since(before));
        self.row(case, "allocations", now.allocations_since(before));
        self.row(case, "rss_bytes", now.rss_since(before));
        if entries > 0 {
            self.row(
                case,
                "bytes_per_entry",
                format!("{:.1}", live as f64 / entries as f64),
            );
            self.row(
                case,
                "rss_bytes_per_entry",
                format!("{:.1}", now.rss_since(before) as f64 / entries as f64),
            );
        }
    }
}

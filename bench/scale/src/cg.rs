//! Valgrind client requests for callgrind (what `valgrind/callgrind.h` does, in Rust): the
//! magic instruction sequence valgrind recognizes, a no-op on the real CPU. Hand-written
//! because the `crabgrind` crate's build needs `valgrind/cachegrind.h`, which valgrind 3.19
//! (Debian 12) does not ship.

/// `VG_USERREQ_TOOL_BASE('C', 'T')`: callgrind's requests.
const CALLGRIND: usize = (b'C' as usize) << 24 | (b'T' as usize) << 16;
const RUNNING_ON_VALGRIND: usize = 0x1001;
const DUMP_STATS_AT: usize = CALLGRIND + 3;
const ZERO_STATS: usize = CALLGRIND + 1;
const START_INSTRUMENTATION: usize = CALLGRIND + 4;

#[cfg(target_arch = "x86_64")]
fn request(default: usize, request: usize, arg1: usize) -> usize {
    let args: [usize; 6] = [request, arg1, 0, 0, 0, 0];
    let result: usize;
    // SAFETY: rotating rdi by 3 + 13 + 61 + 51 = 128 bits leaves it as it was and
    // `xchg rbx, rbx` changes nothing: natively the sequence only moves `default` through
    // rdx. Valgrind reads the request from `args` (rax) and answers in rdx.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn request(default: usize, _request: usize, _arg1: usize) -> usize {
    default
}

/// Whether this process runs under valgrind.
pub fn running_on_valgrind() -> bool {
    request(0, RUNNING_ON_VALGRIND, 0) > 0
}

/// `CALLGRIND_START_INSTRUMENTATION` (with `--instr-atstart=no`, nothing before counts).
pub fn start_instrumentation() {
    request(0, START_INSTRUMENTATION, 0);
}

/// `CALLGRIND_ZERO_STATS`.
pub fn zero_stats() {
    request(0, ZERO_STATS, 0);
}

/// `CALLGRIND_DUMP_STATS_AT(label)`: writes a dump described by `label`, zeroes the counters.
pub fn dump_stats_at(label: &str) {
    let label = std::ffi::CString::new(label).expect("no NUL");
    request(0, DUMP_STATS_AT, label.as_ptr() as usize);
}

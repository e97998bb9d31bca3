#!/usr/bin/env python3
"""Scale curves: bench/scale/results/<curve>.csv (from run.sh) -> bench/scale/plots/<curve>.svg
and bench/scale/results/summary.md (the tables, with each case's spread over the sizes).

    python3 -m venv target/venv-plot && target/venv-plot/bin/pip install -r bench/scale/requirements.txt
    target/venv-plot/bin/python bench/scale/plot.py [--png DIR] [curve ...]

--png DIR also writes DIR/<curve>.png (to look at without an SVG viewer).

Each SVG has three panels over the sizes: instructions per op (callgrind) relative to the
smallest size, with the ±10% target band; wall time per op (median of 5 batches, secondary:
a shared machine); memory.
"""
import csv
import pathlib
import statistics
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
PLOTS = HERE / "plots"
TARGET = 0.10

# curve: title, x label, the measured cases, memory series [(case, metric, label)], memory unit
CURVES = {
    "keys": (
        "Keys in the JWK set (EdDSA, keys cached)",
        "keys in the set",
        ["first", "middle", "last"],
        [
            ("verifier", "live_bytes", "verifier after its fetch"),
            ("static-verifier", "live_bytes", "static-JWKS verifier (parsed keys)"),
        ],
        "live bytes",
    ),
    "issuers": (
        "Issuers behind a TenantVerifier (EdDSA)",
        "live issuers",
        [
            "warm-one-shared-client",
            "warm-spread-shared-client",
            "warm-one-own-client",
            "warm-spread-own-client",
            "first-use-shared-client",
            "first-use-own-client",
        ],
        [
            ("own-client", "bytes_per_entry", "per issuer, own HTTP client (default)"),
            ("shared-client", "bytes_per_entry", "per issuer, shared HTTP client"),
        ],
        "bytes per live issuer",
    ),
    "verified": (
        "Verified-token cache entries (HS256, 309-byte tokens)",
        "entries (cache_verified(n), filled)",
        ["hit-same", "hit-spread", "miss"],
        [("filled", "bytes_per_entry", "per entry after the fill")],
        "bytes per entry",
    ),
    "revocation": (
        "Revocation entries (in-memory store; verify of a token not revoked, EdDSA)",
        "entries (half jti, half sid)",
        ["full", "cached"],
        [("filled", "bytes_per_entry", "per entry after the fill")],
        "bytes per entry",
    ),
    "dpop": (
        "DPoP replay entries (verify_dpop, EdDSA token, Ed25519 proof)",
        "proof ids in the replay store",
        ["verify_dpop"],
        [("filled", "bytes_per_entry", "per entry after the fill")],
        "bytes per entry",
    ),
}


def label(n):
    n = int(n)
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{name}"
    return str(n)


def load(curve):
    values, loads = {}, []
    with open(RESULTS / f"{curve}.csv") as f:
        for row in csv.DictReader(f):
            values[(int(row["size"]), row["case"], row["metric"])] = float(row["value"])
            if row["load1"]:
                loads.append(float(row["load1"]))
    sizes = sorted({size for size, _, _ in values})
    return values, sizes, loads


def series(values, sizes, case, metric):
    return [values.get((n, case, metric)) for n in sizes]


def spread(points):
    points = [p for p in points if p is not None]
    if len(points) < 2:
        return None
    return max(points) / min(points) - 1


def plot(curve, png_dir=None):
    title, xlabel, cases, memory, memory_unit = CURVES[curve]
    values, sizes, loads = load(curve)
    xs = list(range(len(sizes)))
    fig, (ax_i, ax_t, ax_m) = plt.subplots(1, 3, figsize=(16, 4.8))
    fig.suptitle(title)
    markers = "osD^vx"
    ax_i.axhspan(-100 * TARGET, 100 * TARGET, color="0.9", label="±10% target")
    for marker, case in zip(markers, cases):
        instr = series(values, sizes, case, "instructions")
        base = next((p for p in instr if p), None)
        if base:
            pts = [(x, 100 * (p / base - 1)) for x, p in zip(xs, instr) if p]
            last = [p for p in instr if p][-1]
            ax_i.plot(*zip(*pts), marker=marker,
                      label=f"{case}: {base:,.0f} → {last:,.0f}")
        times = series(values, sizes, case, "ns")
        pts = [(x, t / 1000) for x, t in zip(xs, times) if t]
        if pts:
            ax_t.plot(*zip(*pts), marker=marker, label=case)
    low, high = ax_i.get_ylim()
    ax_i.set_ylim(min(low, -15), max(high, 15))
    ax_i.set_title("instructions per op (callgrind), % vs smallest size")
    ax_i.set_ylabel("% change")
    ax_i.legend(fontsize=7)
    ax_t.set_title("wall time per op (median of 5 batches)")
    ax_t.set_ylabel("µs")
    ax_t.set_yscale("log")
    if loads:
        ax_t.text(0.02, 0.02, f"load average {min(loads):.1f}–{max(loads):.1f} on 2 cores",
                  transform=ax_t.transAxes, fontsize=7)
    ax_t.legend(fontsize=7)
    for marker, (case, metric, name) in zip(markers, memory):
        pts = [(x, v) for x, v in zip(xs, series(values, sizes, case, metric)) if v]
        if pts:
            ax_m.plot(*zip(*pts), marker=marker, label=name)
    ax_m.set_title("memory")
    ax_m.set_ylabel(memory_unit)
    ax_m.set_ylim(bottom=0)
    ax_m.legend(fontsize=7)
    for ax in (ax_i, ax_t, ax_m):
        ax.set_xticks(xs, [label(n) for n in sizes])
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    out = PLOTS / f"{curve}.svg"
    # No timestamps or random ids in the file: the same numbers give the same SVG.
    matplotlib.rcParams["svg.hashsalt"] = "jwks-auth-scale"
    fig.savefig(out, metadata={"Date": None})
    if png_dir:
        fig.savefig(pathlib.Path(png_dir) / f"{curve}.png", dpi=80)
    plt.close(fig)
    return out


def fmt(value, unit=""):
    if value is None:
        return "–"
    if unit == "us":
        return f"{value / 1000:,.2f}" if value < 100_000 else f"{value / 1000:,.0f}"
    return f"{value:,.0f}"


def table(curve):
    """A markdown table: per size, each case's instructions (and wall µs), then memory."""
    title, _, cases, memory, memory_unit = CURVES[curve]
    values, sizes, loads = load(curve)
    cases = [c for c in cases
             if any(values.get((n, c, "instructions")) or values.get((n, c, "ns")) for n in sizes)]
    head = ["n"] + [f"{case}: instructions (µs)" for case in cases] + [name for _, _, name in memory]
    lines = [f"#### {title}", "", "| " + " | ".join(head) + " |",
             "|" + "|".join("---:" for _ in head) + "|"]
    for n in sizes:
        cells = [f"{n:,}"]
        for case in cases:
            instr, ns = values.get((n, case, "instructions")), values.get((n, case, "ns"))
            cells.append(f"{fmt(instr)} ({fmt(ns, 'us')})")
        cells += [fmt(values.get((n, case, metric))) for case, metric, _ in memory]
        lines.append("| " + " | ".join(cells) + " |")
    cells, verdicts = ["max ÷ min − 1"], []
    for case in cases:
        s = spread(series(values, sizes, case, "instructions"))
        t = spread(series(values, sizes, case, "ns"))
        cells.append(f"{'–' if s is None else f'{100 * s:.1f}%'} ({'–' if t is None else f'{100 * t:.0f}%'})")
        if s is not None:
            verdicts.append(f"{case} {'within' if s <= TARGET else 'NOT within'} 10% ({100 * s:.1f}%)")
    cells += ["" for _ in memory]
    lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if verdicts:
        lines.append("Instructions: " + "; ".join(verdicts) + ".")
    lines += [f"Load average while measuring: {min(loads):.1f}–{max(loads):.1f} "
              f"(median {statistics.median(loads):.1f}) on 2 cores.", ""]
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    png_dir = None
    if args[:1] == ["--png"]:
        png_dir, args = args[1], args[2:]
    curves = args or [c for c in CURVES if (RESULTS / f"{c}.csv").exists()]
    parts = []
    for curve in curves:
        print(plot(curve, png_dir))
        parts.append(table(curve))
    summary = RESULTS / "summary.md"
    summary.write_text("\n".join(parts))
    print(summary)


if __name__ == "__main__":
    main()

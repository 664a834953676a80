#!/usr/bin/env python3
"""Makes the README's performance table and plot from one run of the peer harness.

usage: scripts/plot-performance.py RESULTS_JSON [--png Benchmarks/results/performance.png] [--md -]

RESULTS_JSON is the harness's results/results.json (it holds ConvKit's cells too when run
with --peers ...,convkit_cpu[,convkit_opencl]). Ratios are always within that one run.
Needs matplotlib for the PNG.
"""
import argparse, json, math, sys


def geomean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--png", default="Benchmarks/results/performance.png")
    parser.add_argument("--md", default="-")
    parser.add_argument("--set", default="resnet50")
    parser.add_argument("--baseline", default="ort")
    options = parser.parse_args()
    with open(options.results) as f:
        res = json.load(f)
    cells, peers = res["cells"], res["peers"]
    shapes = [s for s in res["shapes"] if s["set"] == options.set]
    peak = res.get("peak") or {}
    fma = max(peak.get("fma_gflops_nt") or 0, peak.get("fma_gflops_nt_cputime") or 0) or None

    def gflops(shape, peer):
        cell = cells.get(shape["name"], {}).get(peer, {})
        return cell.get("gflops") if cell.get("ok") else None

    lines = [f"Measured {res['meta']['date']} on {res['meta']['cpu']} ({res['meta']['ncpu']} CPUs, "
             f"{res['meta']['threads']} threads), one run of `../shared/peers` — GFLOP/s per layer"
             + (f"; FMA peak {fma:.0f} GFLOP/s" if fma else "") + ".", ""]
    header = "| layer | " + " | ".join(peers) + " | " + " | ".join(
        f"{p} ÷ {options.baseline}" for p in peers if p.startswith("convkit")) + " |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for shape in shapes:
        row = [shape["name"]] + [f"{gflops(shape, p):.1f}" if gflops(shape, p) else "—" for p in peers]
        for p in peers:
            if p.startswith("convkit"):
                a, b = gflops(shape, p), gflops(shape, options.baseline)
                row.append(f"{a / b:.2f}" if a and b else "—")
        lines.append("| " + " | ".join(row) + " |")
    means = ["**geomean**"] + [f"**{geomean([gflops(s, p) for s in shapes]):.1f}**" for p in peers]
    for p in peers:
        if p.startswith("convkit"):
            means.append(f"**{geomean([gflops(s, p) / gflops(s, options.baseline) for s in shapes if gflops(s, p) and gflops(s, options.baseline)]):.2f}**")
    lines.append("| " + " | ".join(means) + " |")
    text = "\n".join(lines) + "\n"
    if options.md == "-":
        sys.stdout.write(text)
    else:
        with open(options.md, "w") as f:
            f.write(text)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no PNG written (pip install matplotlib)", file=sys.stderr)
        return 0
    fig, ax = plt.subplots(figsize=(13, 5))
    width = 0.8 / max(len(peers), 1)
    for i, p in enumerate(peers):
        ys = [gflops(s, p) or 0 for s in shapes]
        ax.bar([x + i * width for x in range(len(shapes))], ys, width, label=p)
    if fma:
        ax.axhline(fma, color="grey", linestyle="--", linewidth=1, label=f"FMA peak {fma:.0f}")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(shapes))])
    ax.set_xticklabels([s["name"].replace("r50_", "") for s in shapes], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"{options.set} conv layers, batch 1 — {res['meta']['date']}, {res['meta']['cpu']}, "
                 f"{res['meta']['threads']} threads")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(options.png, dpi=110)
    print(f"wrote {options.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Draws docs/bench.png from a results.jsonl of comparison/run.py: one panel per store size, the median
latency of each operation for each row on a log scale, plus a panel of memory per session.

    target/bench-venv/bin/python comparison/plot.py target/bench-run/results.jsonl docs/bench.png
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

COLORS = {"floor": "#444444", "rust": "#d95f02", "c": "#e6ab02", "c++": "#a6761d", "go": "#1b9e77",
          "node": "#66a61e", "agno": "#7570b3", "redis": "#e7298a",
          "ss-redis": "#1f78b4"}
SHORT = {"read": "read", "update": "update", "insert": "insert", "recent": "recent(5)", "ids": "ids(entity)", "select": "name(1 in 20k)",
         "query": "query", "export": "export", "import": "import"}


def main(results, out):
    cond, recs = report.load(results)
    res = report.Results(recs)
    configs = res.configs
    panels = len(configs) + 1
    cols = 2 if panels > 1 else 1
    rows = (panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(8 * cols, 4.2 * rows), squeeze=False)
    for k, (n, size) in enumerate(configs):
        ax = axes[k // cols][k % cols]
        present = [r for r in report.ROW_ORDER if any(res.get(r, n, size, op) for op in report.OPS)]
        width = 0.8 / max(1, len(present))
        for j, row in enumerate(present):
            xs, ys = [], []
            for i, op in enumerate(report.OPS):
                rec = res.get(row, n, size, op)
                if rec is None:
                    continue
                v = rec.get("median_ns", rec.get("ns_per_op"))
                if "timeout_s" in rec:  # drawn at the deadline: the call took at least that long
                    v = rec["timeout_s"] * 1e9
                if v:
                    xs.append(i + (j - (len(present) - 1) / 2) * width)
                    ys.append(v)
            ax.bar(xs, ys, width=width, color=COLORS.get(row, "#999999"), label=report.ROW_LABEL.get(row, row))
        ax.set_yscale("log")
        ax.set_xticks(range(len(report.OPS)))
        ax.set_xticklabels([SHORT[o] for o in report.OPS], fontsize=8)
        ax.set_ylabel("median latency (ns, log)")
        ax.set_title(report.size_label(n, size))
        ax.grid(axis="y", which="major", alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, ncol=2)
    # Memory panel: RSS growth per JSON byte, per row and store size.
    ax = axes[len(configs) // cols][len(configs) % cols]
    labels = [report.size_label(n, s).replace(" sessions × ", "\n") for n, s in configs]
    present = [r for r in report.ROW_ORDER if any(res.get(r, n, s, "memory") for n, s in configs)]
    width = 0.8 / max(1, len(present))
    for j, row in enumerate(present):
        xs, ys = [], []
        for i, (n, s) in enumerate(configs):
            m = res.get(row, n, s, "memory")
            if m and m["json_bytes"]:
                xs.append(i + (j - (len(present) - 1) / 2) * width)
                ys.append(m["rss_growth"] / m["json_bytes"])
        ax.bar(xs, ys, width=width, color=COLORS.get(row, "#999999"), label=report.ROW_LABEL.get(row, row))
    ax.axhline(1.3, color="red", linestyle="--", linewidth=1, label="target 1.3×")
    ax.axhline(1.0, color="black", linewidth=0.5)
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("RSS growth / JSON bytes")
    ax.set_title("memory")
    ax.legend(fontsize=7)
    for k in range(panels, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"sessionstore benchmark — {cond.get('cpu', '')}, {cond.get('cores', '?')} cores, {cond.get('date', '')}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

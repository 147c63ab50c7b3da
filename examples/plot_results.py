"""Bar chart of AUC with and without PRLE per backbone (the mean over seeds), from a results JSON of reproduce.py.

python examples/plot_results.py examples/results/offline-dfdc.json --out docs/figures/offline-dfdc-auc.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--level", choices=["frame", "video"], default="frame")
    args = p.parse_args(argv)
    data = json.loads(args.results.read_text())
    rows = data["rows"]
    backbones = list(dict.fromkeys(r["backbone"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    tests = list(data["config"]["data"]["tests"])
    fig, ax = plt.subplots(figsize=(3.4 + 1.6 * len(backbones) * len(tests), 3.8))
    width = 0.8 / len(variants)
    x = np.arange(len(backbones) * len(tests))
    for j, variant in enumerate(variants):
        values = []
        for b in backbones:
            seeds = [r for r in rows if r["backbone"] == b and r["variant"] == variant]  # one row per seed
            values += [100 * float(np.mean([r["reports"][t][args.level]["auc"] for r in seeds])) for t in tests]
        bars = ax.bar(x + (j - (len(variants) - 1) / 2) * width, values, width, label=variant)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(x, [f"{b}\n{t}" for b in backbones for t in tests])
    ax.set_ylabel(f"{args.level}-level AUC (%)")
    ax.set_ylim(40, 100)
    ax.axhline(50, color="grey", lw=0.8, ls=":")
    ax.set_title(data["config"]["name"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # beside the bars, never over them
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main(sys.argv[1:])

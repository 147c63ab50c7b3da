"""Bar chart of AUC per backbone, test set and variant, from a results JSON of reproduce.py: each bar is the mean
over the seeds; with several seeds an error bar shows the sample standard deviation and a dot each seed.

With ``--differences``: each variant's AUC minus its backbone's baseline, paired by seed (the table's difference
reading drawn): the bar is the mean difference, the error bar its 95% interval from the paired t-test (a bar
whose interval misses 0 reads helps / hurts), a dot each seed.

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


def seed_aucs(data: dict, level: str) -> dict[tuple[str, str, str], dict[int, float]]:
    """``(backbone, test, variant) -> {seed: AUC in %}`` for every run the rows hold (an undefined AUC is NaN)."""
    aucs: dict[tuple[str, str, str], dict[int, float]] = {}
    for r in data["rows"]:
        for t in data["config"]["data"]["tests"]:
            aucs.setdefault((r["backbone"], t, r["variant"]), {})[r["seed"]] = 100 * float(
                r["reports"][t][level]["auc"]
            )
    return aucs


def seed_values(data: dict, level: str) -> dict[tuple[str, str, str], list[float]]:
    """``(backbone, test, variant) -> [AUC in %, one per seed]`` for every combination the rows hold (a study
    part way may miss some: they are absent, not zero). An undefined AUC (NaN: a test set of one class) is left
    out, as the table's mean leaves it out."""
    return {key: [a for a in seeds.values() if np.isfinite(a)] for key, seeds in seed_aucs(data, level).items()}


def seed_differences(data: dict, level: str) -> dict[tuple[str, str, str], dict[int, float]]:
    """``(backbone, test, variant) -> {seed: AUC - baseline AUC of that seed, in points}`` for every non-baseline
    variant, over the seeds both have with a defined AUC (as the table's paired reading takes them)."""
    aucs = seed_aucs(data, level)
    differences = {}
    for (b, t, v), seeds in aucs.items():
        base = aucs.get((b, t, "baseline"), {})
        if v != "baseline":
            pairs = {s: a - base[s] for s, a in seeds.items() if s in base and np.isfinite(a) and np.isfinite(base[s])}
            differences[(b, t, v)] = pairs
    return differences


def plot_differences(data: dict, level: str, ax) -> None:
    """The ``--differences`` panel on ``ax``."""
    from reproduce import mean_std, t_half_width

    differences = seed_differences(data, level)
    backbones = list(dict.fromkeys(b for b, _, _ in differences))
    tests = list(data["config"]["data"]["tests"])
    variants = list(dict.fromkeys(v for _, _, v in differences))
    width = 0.8 / max(len(variants), 1)
    x = np.arange(len(backbones) * len(tests))
    for j, variant in enumerate(variants):
        at = x + (j - (len(variants) - 1) / 2) * width
        groups = [differences.get((b, t, variant), {}) for b in backbones for t in tests]
        stats = [mean_std(list(g.values())) for g in groups]
        means = [m for m, _, _ in stats]
        half = [t_half_width(sd, n) for _, sd, n in stats]
        bars = ax.bar(at, means, width, label=variant, yerr=half, capsize=2)
        # a bar that rounds to zero gets no label: on tests where no row moves, a row of "+0.0" hides the bars
        labels = ["" if not np.isfinite(m) or abs(m) < 0.05 else f"{m:+.1f}" for m in means]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
        for xi, g in zip(at, groups):
            ax.plot([xi] * len(g), list(g.values()), "k.", ms=3)
    ax.set_xticks(x, [f"{b}\n{t}" for b in backbones for t in tests])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel(f"{level}-level AUC minus the baseline's (points)")


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--level", choices=["frame", "video"], default="frame")
    p.add_argument("--differences", action="store_true", help="each variant minus the baseline, paired by seed")
    args = p.parse_args(argv)
    data = json.loads(args.results.read_text())
    rows = data["rows"]
    if args.differences:
        return _write_differences(data, args)
    backbones = list(dict.fromkeys(r["backbone"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    tests = list(data["config"]["data"]["tests"])
    fig, ax = plt.subplots(figsize=(3.4 + 1.6 * len(backbones) * len(tests), 3.8))
    width = 0.8 / len(variants)
    x = np.arange(len(backbones) * len(tests))
    per_seed = seed_values(data, args.level)
    for j, variant in enumerate(variants):
        groups = [per_seed.get((b, t, variant), []) for b in backbones for t in tests]
        means = [float(np.mean(v)) if v else np.nan for v in groups]
        spread = [float(np.std(v, ddof=1)) if len(v) > 1 else np.nan for v in groups]  # one seed: no bar
        at = x + (j - (len(variants) - 1) / 2) * width
        several = any(len(v) > 1 for v in groups)
        bars = ax.bar(at, means, width, label=variant, yerr=spread if several else None, capsize=2)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
        for xi, v in zip(at, groups):
            if len(v) > 1:
                ax.plot([xi] * len(v), v, "k.", ms=3)
    ax.set_xticks(x, [f"{b}\n{t}" for b in backbones for t in tests])
    ax.set_ylabel(f"{args.level}-level AUC (%)")
    ax.set_ylim(40, 100)
    ax.axhline(50, color="grey", lw=0.8, ls=":")
    n_seeds = len(data["config"].get("seeds", [0]))
    title = data["config"]["name"]
    if n_seeds > 1:
        title += f" (mean ± sample std over up to {n_seeds} seeds; dots: seeds)"
    return _save(fig, ax, data, title, args.out)


def _write_differences(data: dict, args: argparse.Namespace) -> Path:
    n_cols = len({r["backbone"] for r in data["rows"]}) * len(data["config"]["data"]["tests"])
    fig, ax = plt.subplots(figsize=(3.4 + 1.6 * n_cols, 3.8))
    plot_differences(data, args.level, ax)
    title = data["config"]["name"] + ": difference from the baseline, paired by seed"
    title += "\n(mean; error bar: 95% interval of the paired t-test; dots: seeds)"
    return _save(fig, ax, data, title, args.out)


def _save(fig, ax, data: dict, title: str, out: Path) -> Path:
    """Title (saying when the study is partial), legend beside the bars (never over them), PNG at ``out``."""
    runs = data.get("runs", {})
    if runs.get("finished", 0) < runs.get("expected", 0):
        title += f"\npartial: {runs['finished']} of {runs['expected']} runs finished"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

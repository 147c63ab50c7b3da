"""The score table as a bar figure (no images in it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from primary_mask.quality.scores import MapScores

__all__ = ["scores_figure"]


def scores_figure(rows: Sequence[MapScores], out: str | Path, title: str = "") -> Path:
    """Four panels of bars, one bar per map source: coverage, per-pixel AUC, top-10% precision, pointing game.
    The chance level (0.5 for the AUC, the masks' mean share for the other two) is drawn as a dashed line.
    Writes a PNG at ``out`` (parent folders created) and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.source if len(r.source) <= 28 else r.source[:27] + "…" for r in rows]
    share = next((r.mask_share for r in rows if not math.isnan(r.mask_share)), float("nan"))
    panels = [
        ("coverage (share > 0)", [r.coverage for r in rows], None),
        ("per-pixel ROC-AUC", [r.auc for r in rows], 0.5),
        ("top-10% precision", [r.top_precision for r in rows], share),
        ("pointing game", [r.pointing for r in rows], share),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(15, 0.5 * len(rows) + 2.2), sharey=True)
    colours = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]
    for ax, (label, values, chance) in zip(axes, panels):
        shown = [0.0 if math.isnan(v) else v for v in values]
        ax.barh(range(len(rows)), shown, color=[colours[i % len(colours)] for i in range(len(rows))])
        for i, v in enumerate(values):
            ax.text(0.01 if math.isnan(v) else v + 0.01, i, "n/a" if math.isnan(v) else f"{v:.2f}", va="center")
        if chance is not None and not math.isnan(chance):
            ax.axvline(chance, color="k", linestyle="--", linewidth=1)
        ax.set_xlim(0, 1.15)
        ax.set_title(label)
    axes[0].set_yticks(range(len(rows)), names)
    axes[0].invert_yaxis()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

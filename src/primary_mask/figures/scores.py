"""The score table as a bar figure (no images in it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from primary_mask.figures.tiles import save_figure
from primary_mask.quality.scores import MapScores

__all__ = ["frontier_figure", "scores_figure"]


def scores_figure(rows: Sequence[MapScores], out: str | Path, title: str = "") -> Path:
    """Four panels of bars, one bar per map source: coverage, per-pixel AUC, top-10% precision, pointing game.
    The chance level (0.5 for the AUC, the masks' mean share for the other two) is drawn as a dashed line.
    Writes a PNG at ``out`` (parent folders created) and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt

    names = ["\n".join(textwrap.wrap(r.source, 30)) or r.source for r in rows]  # whole names, on two lines if long
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
    # the key of the dashed line, below the panels (never over a bar; the PNG is cropped to include it)
    note = "dashed line: chance level (AUC 0.5; top-10% precision and pointing game: the masks' mean share)"
    fig.text(0.5, -0.02, note, ha="center", va="top")
    return save_figure(fig, out, title, dpi=100)


def frontier_figure(
    points: Sequence[tuple[str, MapScores]],
    references: Sequence[MapScores],
    out: str | Path,
    band: tuple[float, float] = (0.10, 0.25),
    title: str = "",
) -> Path:
    """Where map recipes sit: two panels, per-pixel AUC and top-10% precision against coverage, one labelled
    point per ``(label, scores)``; each reference (e.g. the centred Gaussian) is a dashed horizontal line, and the
    coverage ``band`` (the paper's Table I: 10-25% of the image) is shaded. Writes a PNG at ``out`` (parent folders
    created) and returns its path. Rows with NaN scores are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, attr, label in ((axes[0], "auc", "per-pixel ROC-AUC"), (axes[1], "top_precision", "top-10% precision")):
        ax.axvspan(band[0] * 100, band[1] * 100, color="0.92", zorder=0, label="paper's coverage (Table I)")
        for ref in references:
            value = getattr(ref, attr)
            if not math.isnan(value):
                ax.axhline(value, ls="--", lw=1, color="0.4")
                ax.annotate(
                    ref.source,
                    (1, value),
                    xycoords=("axes fraction", "data"),
                    ha="right",
                    va="bottom",
                    fontsize=8,
                    color="0.3",
                )
        for name, row in points:
            x, y = row.coverage * 100, getattr(row, attr)
            if math.isnan(x) or math.isnan(y):
                continue
            ax.scatter([x], [y], s=18)
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_xlabel("coverage: share of the map > 0 (%)")
        ax.set_ylabel(label)
        ax.set_xlim(0, 110)
        ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, out, title, dpi=110)

"""The erase-leak figure: where reals and fakes are erased, on average, and the difference (no images in it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from primary_mask.figures.tiles import save_figure
from primary_mask.quality.leak import LeakReport

__all__ = ["leak_figure"]


def leak_figure(report: LeakReport | Mapping[str, LeakReport], out: str | Path, title: str = "") -> Path:
    """Three panels per :class:`~primary_mask.quality.leak.LeakReport`: how often each pixel is erased on reals, on
    fakes (0 to 1, one colour scale), and fakes minus reals (red: erased more on fakes, one symmetric scale for the
    whole figure); the leak AUC in the heading. A mapping ``{rule name: report}`` draws one row per rule, its name
    and AUC on the row, so that rules can be compared at a glance. Writes a PNG at ``out`` and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reports = dict(report) if isinstance(report, Mapping) else {"": report}
    if not reports:
        raise ValueError("leak_figure: no report to draw")
    diffs = {name: (r.mean_mask[1] - r.mean_mask[0]).numpy() for name, r in reports.items()}
    bound = max(max(float(abs(d).max()) for d in diffs.values()), 1e-6)
    fig, axes = plt.subplots(len(reports), 3, figsize=(11, 3.6 * len(reports)), layout="constrained", squeeze=False)
    for row, (name, r) in zip(axes, reports.items()):
        for ax, c, label in ((row[0], 0, "real"), (row[1], 1, "fake")):
            shown = ax.imshow(r.mean_mask[c].numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"{label}: erased share {100 * r.coverage[c][0]:.0f}%")
        diff = row[2].imshow(diffs[name], cmap="RdBu_r", vmin=-bound, vmax=bound)
        row[2].set_title("fake minus real")
        if name:
            row[0].set_ylabel(f"{name}\nleak AUC {r.auc:.3f}", fontsize=11)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(shown, ax=axes[:, :2], fraction=0.046, label="how often a pixel is erased")
    fig.colorbar(diff, ax=axes[:, 2], fraction=0.046)
    if len(reports) == 1 and not next(iter(reports)):  # one unnamed report: its AUC in the heading
        heading = f"erase masks alone predict the label: AUC {next(iter(reports.values())).auc:.3f} (0.5 = no leak)"
    else:
        heading = "erase masks alone predict the label: leak AUC per rule (0.5 = no leak)"
    fig.suptitle(f"{title}\n{heading}" if title else heading)
    return save_figure(fig, out, "", dpi=110)

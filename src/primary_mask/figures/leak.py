"""The erase-leak figure: where reals and fakes are erased, on average, and the difference (no images in it)."""

from __future__ import annotations

from pathlib import Path

from primary_mask.figures.tiles import save_figure
from primary_mask.quality.leak import LeakReport

__all__ = ["leak_figure"]


def leak_figure(report: LeakReport, out: str | Path, title: str = "") -> Path:
    """Three panels of a :class:`~primary_mask.quality.leak.LeakReport`: how often each pixel is erased on reals, on
    fakes (0 to 1, one colour scale), and fakes minus reals (red: erased more on fakes); the leak AUC in the title.
    Writes a PNG at ``out`` and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real, fake = report.mean_mask[0].numpy(), report.mean_mask[1].numpy()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
    for ax, image, name in ((axes[0], real, "real"), (axes[1], fake, "fake")):
        shown = ax.imshow(image, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"{name}: erased share {100 * report.coverage[0 if name == 'real' else 1][0]:.0f}%")
    fig.colorbar(shown, ax=axes[:2], fraction=0.046, label="how often a pixel is erased")
    bound = max(float(abs(fake - real).max()), 1e-6)
    diff = axes[2].imshow(fake - real, cmap="RdBu_r", vmin=-bound, vmax=bound)
    axes[2].set_title("fake minus real")
    fig.colorbar(diff, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    heading = f"erase masks alone predict the label: AUC {report.auc:.3f} (0.5 = no leak)"
    fig.suptitle(f"{title}\n{heading}" if title else heading)
    return save_figure(fig, out, "", dpi=110)

"""The hole-response figure: how a detector scores reals erased with their own hole and with their fake's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from primary_mask.figures.tiles import save_figure
from primary_mask.quality.hole import HoleResponse

__all__ = ["hole_figure"]


def hole_figure(responses: Mapping[str, HoleResponse], out: str | Path, title: str = "") -> Path:
    """Two panels over ``{detector name: response}`` (one row each, in order): the mean fake probability of the reals
    not erased, erased with their own map's hole and with their fake's; and the paired difference (fake's hole minus
    own) with its 95% interval, a line at 0. Writes a PNG at ``out`` and returns its path; ``ValueError`` when empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not responses:
        raise ValueError("hole_figure: no response to draw")
    names = list(responses)
    y = np.arange(len(names))[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.55 * len(names) + 1.6), layout="constrained", sharey=True)
    height = 0.26
    for shift, (field, label, colour) in zip(
        (height, 0, -height),
        (("plain", "not erased", "0.7"), ("own", "own map's hole", "tab:blue"), ("swapped", "fake's hole", "tab:red")),
    ):
        left.barh(y + shift, [float(np.mean(getattr(responses[n], field))) for n in names], height, label=label,
                  color=colour)  # fmt: skip
    left.set_xlim(0, 1)
    left.set_xlabel("mean fake probability of the reals")
    left.legend(loc="lower right", fontsize=8)
    effects = [responses[n].effect for n in names]
    right.barh(y, effects, 0.5, xerr=[responses[n].effect_ci for n in names], color="tab:purple", capsize=3)
    right.axvline(0, color="k", lw=0.8)
    right.set_xlabel("fake's hole minus own hole (95% interval)")
    left.set_yticks(y, names)
    return save_figure(fig, out, title)

"""The hole-response figure: how a detector scores reals erased with their own hole and with their fake's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from primary_mask.figures.tiles import save_figure
from primary_mask.quality.hole import HoleResponse

__all__ = ["hole_figure"]

_CONDITIONS = (
    ("plain", "not erased", "0.7"),
    ("own", "own map's hole", "tab:blue"),
    ("swapped", "fake's hole", "tab:red"),
    ("matched", "fake's hole at the own size", "tab:orange"),
)


def hole_figure(responses: Mapping[str, HoleResponse], out: str | Path, title: str = "") -> Path:
    """Two panels over ``{detector name: response}`` (one row each, in order): the mean fake probability of the reals
    not erased, erased with their own map's hole, with their fake's, and with their fake's at the own hole's size;
    and the paired differences from the own hole (fake's hole; fake's at the own size) with their 95% intervals, a
    line at 0. Writes a PNG at ``out`` and returns its path; ``ValueError`` when empty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not responses:
        raise ValueError("hole_figure: no response to draw")
    names = list(responses)
    y = np.arange(len(names))[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.7 * len(names) + 1.6), layout="constrained", sharey=True)
    height = 0.8 / len(_CONDITIONS)
    for i, (field, label, colour) in enumerate(_CONDITIONS):
        shift = (len(_CONDITIONS) - 1) / 2 * height - i * height
        means = [float(np.mean(getattr(responses[n], field))) for n in names]
        left.barh(y + shift, means, height, label=label, color=colour)
    left.set_xlim(0, 1)
    left.set_xlabel("mean fake probability of the reals")
    left.legend(loc="lower right", fontsize=8)
    for shift, effect, ci, label, colour in (
        (0.2, "effect", "effect_ci", "fake's hole - own", "tab:red"),
        (-0.2, "place_effect", "place_effect_ci", "fake's at the own size - own", "tab:orange"),
    ):
        values = [getattr(responses[n], effect) for n in names]
        errors = [getattr(responses[n], ci) for n in names]
        right.barh(y + shift, values, 0.38, xerr=errors, color=colour, capsize=3, label=label)
    right.axvline(0, color="k", lw=0.8)
    right.set_xlabel("difference in fake probability (95% interval)")
    right.legend(loc="lower right", fontsize=8)
    left.set_yticks(y, names)
    return save_figure(fig, out, title)

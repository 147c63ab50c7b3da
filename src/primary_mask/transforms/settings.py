"""``EraseSettings``: the validated settings of a PRLE erase (p, alpha range, fill) and its one alpha draw, shared by
the per-sample transform, the batch transform and the albumentations adapter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

from primary_mask._checks import check_alpha_range, check_probability
from primary_mask.functional.erase import Fill, check_fill

__all__ = ["EraseSettings"]

U = TypeVar("U", float, torch.Tensor)


@dataclass(frozen=True, init=False)
class EraseSettings:
    """``p`` in [0, 1] (the Bernoulli decision), ``alpha_range`` ``(low, high)`` with 0 <= low <= high <= 1 and
    ``fill`` (a number, a per-channel tuple or one of ``FILL_MODES``), validated once when made: ``TypeError`` /
    ``ValueError`` naming the argument otherwise."""

    p: float
    alpha_range: tuple[float, float]
    fill: Fill

    def __init__(self, p: float = 0.5, alpha_range: Sequence[float] = (0.0, 1.0), fill: Fill = 0) -> None:
        object.__setattr__(self, "p", check_probability(p, "p"))
        object.__setattr__(self, "alpha_range", check_alpha_range(alpha_range))
        object.__setattr__(self, "fill", check_fill(fill))

    def alpha(self, u: U) -> U:
        """alpha ~ U(alpha_range) from a uniform draw ``u`` in [0, 1) (a float or a tensor of them)."""
        lo, hi = self.alpha_range
        return lo + (hi - lo) * u

    def describe(self, *, alpha: bool = True) -> str:
        """``p=..., alpha_range=..., fill=...`` for ``extra_repr`` (without alpha_range for masks that take none)."""
        parts = [f"p={self.p}", *([f"alpha_range={self.alpha_range}"] if alpha else []), f"fill={self.fill!r}"]
        return ", ".join(parts)

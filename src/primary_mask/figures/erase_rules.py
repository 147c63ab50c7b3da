"""Erased reals and fakes side by side under each erase rule: what a detector trained with a rule sees of each
class (issue #26). A real and a fake made from it share one face (where the pair is aligned), so any difference
between the two erased tiles of a rule, other than the forgery, is what the rule tells the detector about the
label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from primary_mask.figures.tiles import NO_FACE_GREY, labelled_grid, write_png
from primary_mask.functional.erase import Fill, primary_region_erase

__all__ = ["RuleMaps", "erase_rules_figure", "erase_rules_tiles"]


class RuleMaps(NamedTuple):
    """One rule's maps, row for row with the pairs: ``real`` and ``fake`` ``(N, h, w)`` maps >= 0 (the map each
    real and each fake is erased with); ``alpha``: this rule's alpha (None: the figure's; 1.0 erases every positive
    pixel, the static rule and the Oracle's whole mask)."""

    real: torch.Tensor
    fake: torch.Tensor
    alpha: float | None = None


def erase_rules_tiles(
    reals: torch.Tensor,
    fakes: torch.Tensor,
    rules: Mapping[str, RuleMaps],
    alpha: float = 0.75,
    fill: Fill = 0,
    show_faces: bool = True,
) -> tuple[list[list[np.ndarray]], list[str]]:
    """The tiles and column titles of :func:`erase_rules_figure`: per pair (row) the real, the fake, then for each
    rule the real and the fake erased (Eq. 9-11: each map resized bilinearly to the image, its
    ``floor(alpha * |V|)`` most attended positive pixels set to ``fill``), as (H, W, 3) uint8 RGB arrays.

    ``reals`` and ``fakes``: ``(N, 3, H, W)`` uint8, row i a real and a fake made from it. One alpha per rule for
    every row, so the rows of a rule differ only in their maps. ``show_faces=False`` erases a grey canvas of the
    images' size instead and leaves the two image columns out: the holes alone, for figures that must not
    reproduce the images (research-licensed faces in a public report). ``ValueError`` naming the rule when its
    maps are not one per row, or the images are not two uint8 batches of one shape."""
    if not (isinstance(reals, torch.Tensor) and isinstance(fakes, torch.Tensor)) or reals.shape != fakes.shape:
        raise ValueError("reals and fakes must be two tensors of one shape (N, 3, H, W), row i a pair")
    if reals.dtype != torch.uint8 or fakes.dtype != torch.uint8 or reals.ndim != 4 or reals.shape[1] != 3:
        raise ValueError(f"reals and fakes must be (N, 3, H, W) uint8, got {tuple(reals.shape)} {reals.dtype}")
    if not rules:
        raise ValueError("no rule to draw")
    n = reals.shape[0]
    images = torch.cat([reals, fakes])
    if not show_faces:
        images = torch.full_like(images, NO_FACE_GREY)
    erased = {}
    for name, rule in rules.items():
        if rule.real.shape != rule.fake.shape or rule.real.ndim != 3 or rule.real.shape[0] != n:
            raise ValueError(
                f"rule {name!r}: its real and fake maps must be ({n}, h, w), one per pair, got "
                f"{tuple(rule.real.shape)} and {tuple(rule.fake.shape)}"
            )
        maps = torch.cat([rule.real, rule.fake]).float()
        a = alpha if rule.alpha is None else rule.alpha
        erased[name] = primary_region_erase(images, maps, a, fill=fill).permute(0, 2, 3, 1).numpy()
    plain = images.permute(0, 2, 3, 1).numpy()
    rows = [
        ([plain[i], plain[n + i]] if show_faces else []) + [t for out in erased.values() for t in (out[i], out[n + i])]
        for i in range(n)
    ]
    titles = ["real", "fake"] * show_faces + [f"{name} {c}" for name in rules for c in ("real", "fake")]
    return rows, titles


def erase_rules_figure(
    reals: torch.Tensor,
    fakes: torch.Tensor,
    rules: Mapping[str, RuleMaps],
    out: str | Path,
    alpha: float = 0.75,
    fill: Fill = 0,
    row_labels: Sequence[Sequence[str]] | None = None,
    show_faces: bool = True,
) -> Path:
    """A PNG grid at ``out``: one row per pair, the real and its fake, then each rule's erased real and erased
    fake (:func:`erase_rules_tiles`; ``show_faces=False``: the holes on grey alone); ``row_labels``: lines of text
    per row (e.g. the real's key). Returns the path."""
    rows, titles = erase_rules_tiles(reals, fakes, rules, alpha, fill, show_faces)
    return write_png(out, labelled_grid(rows, titles, row_labels=row_labels))

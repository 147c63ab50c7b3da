"""RFM's erasing rule as a kernel (Wang & Deng, CVPR 2021): boxes placed at the top points of a forgery attention
map, each point taken where no earlier box erased. No randomness here: the box sizes and offsets are given."""

from __future__ import annotations

import torch

__all__ = ["top_point_boxes"]


def top_point_boxes(
    scores: torch.Tensor,
    heights: torch.Tensor,
    widths: torch.Tensor,
    above: torch.Tensor,
    left_of: torch.Tensor,
    count: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(B, H, W)`` bool: for each image, box k (k < ``count``, default all K) of ``heights[:, k]`` x
    ``widths[:, k]`` px around the highest-scoring pixel (ties to the lower index) not inside an earlier box, that
    pixel ``above[:, k]`` rows below the box's top and ``left_of[:, k]`` columns right of its left edge (RFM:
    ``top = y - sh``, ``bottom = y + h - sh``), clipped to the image. As in RFM's loop over the points in descending
    order, a point is used once even when its box misses it (``above == height`` puts the point on the row below).

    ``scores`` (B, H, W) finite; ``heights``, ``widths``, ``above``, ``left_of`` (B, K) integers >= 0. A box whose
    image has no pixel left is not placed. Vectorised over the batch: K steps of an argmax."""
    b, h, w = scores.shape
    k = heights.shape[1]
    count = torch.full((b,), k, device=scores.device) if count is None else count.to(scores.device)
    rows = torch.arange(h, device=scores.device)[None, :, None]
    cols = torch.arange(w, device=scores.device)[None, None, :]
    erased = torch.zeros(b, h, w, dtype=torch.bool, device=scores.device)
    taken = torch.zeros(b, h * w, dtype=torch.bool, device=scores.device)  # points used (a box may miss its own)
    for i in range(k):
        free = scores.masked_fill(erased, -torch.inf).flatten(1).masked_fill(taken, -torch.inf)
        best, index = free.max(dim=1)
        placed = (i < count) & torch.isfinite(best)
        taken[torch.arange(b, device=scores.device), index] |= placed
        y, x = (index // w)[:, None, None], (index % w)[:, None, None]
        top = (y - above[:, i, None, None]).clamp_min(0)
        bottom = y + heights[:, i, None, None] - above[:, i, None, None]
        lft = (x - left_of[:, i, None, None]).clamp_min(0)
        rgt = x + widths[:, i, None, None] - left_of[:, i, None, None]
        box = (rows >= top) & (rows < bottom) & (cols >= lft) & (cols < rgt)
        erased |= box & placed[:, None, None]
    return erased

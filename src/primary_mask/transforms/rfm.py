"""RFM's erasing (Wang & Deng, "Representative Forgery Mining for Fake Face Detection", CVPR 2021), an ablation beside
PRLE's: up to ``boxes`` boxes of random sizes, up to ``max_side`` of the image side each, at the top points of a
forgery attention map (``localize.fam``), each point taken where no earlier box erased; filled as ours.

``BatchRFMErase`` erases a ``(B, C, H, W)`` batch on its device (RFM's schedule: the current model's maps at every
step); ``RFMRegionErase`` is the per-sample v2 transform on a ``PrimaryMap`` holding the attention map. Both draw
their parameters apart from applying them and reach the same kernel, ``functional.boxes.top_point_boxes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from primary_mask._checks import check_image_batch, check_probability
from primary_mask.functional.boxes import top_point_boxes
from primary_mask.functional.erase import Fill, check_fill, erase, make_fill, resize_maps
from primary_mask.transforms.erase import MaskErase

__all__ = ["RFM_MAX_SIDE", "BatchRFMErase", "RFMParams", "RFMRegionErase", "draw_rfm_params"]

RFM_MAX_SIDE = 120 / 256  # RFM's release: boxes of 1..120 px a side on 256-px faces


@dataclass(frozen=True)
class RFMParams:
    """Draws for a batch of (H, W) images: ``selected`` (B,) bool; ``heights``, ``widths`` (B, K) box sizes in px;
    ``above``, ``left_of`` (B, K) where the top point lies inside its box. ``erased`` (B,) after a forward pass."""

    selected: torch.Tensor
    heights: torch.Tensor
    widths: torch.Tensor
    above: torch.Tensor
    left_of: torch.Tensor
    erased: torch.Tensor | None = None


def _randint(low: int, high: torch.Tensor | int, shape, generator, device) -> torch.Tensor:
    """Integers uniform in [low, high] (inclusive, per element), as Python's ``random.randint``."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64, device=device)
    return (low + torch.floor(u * (torch.as_tensor(high, device=device) - low + 1))).long()


def draw_rfm_params(
    batch: int,
    size: tuple[int, int],
    p: float = 1.0,
    boxes: int = 3,
    max_side: float = RFM_MAX_SIDE,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> RFMParams:
    """RFM's draws for ``batch`` images of ``size`` (H, W): per box, height in [1, eH] and width in [1, eW] with
    ``eH = max(1, round(max_side * H))``, then the point's row in the box in [1, height] and column in [1, width];
    ``selected ~ Bernoulli(p)``."""
    gen_device = generator.device if generator is not None else device
    eh, ew = (max(1, round(max_side * s)) for s in size)
    selected = torch.rand(batch, generator=generator, dtype=torch.float64, device=gen_device) < p
    heights = _randint(1, eh, (batch, boxes), generator, gen_device)
    widths = _randint(1, ew, (batch, boxes), generator, gen_device)
    above = _randint(1, heights, (batch, boxes), generator, gen_device)
    left_of = _randint(1, widths, (batch, boxes), generator, gen_device)
    return RFMParams(*(t.to(device) for t in (selected, heights, widths, above, left_of)))


def _check(p: float, boxes: int, max_side: float) -> tuple[float, int, float]:
    if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes < 1:
        raise ValueError(f"boxes must be a positive integer, got {boxes!r}")
    if not (isinstance(max_side, (int, float)) and 0 < max_side <= 1 and math.isfinite(max_side)):
        raise ValueError(f"max_side must be in (0, 1] (a share of the image side), got {max_side!r}")
    return check_probability(p, "p"), boxes, float(max_side)


class BatchRFMErase(nn.Module):
    """RFM's erasing on a batch: ``forward(images (B, C, H, W), scores (B, h, w), params=None, return_params=False,
    generator=None)``. ``scores``: the forgery attention maps (any finite values; resized bilinearly to (H, W) when
    their size differs); ``images`` uint8 or float before normalisation. ``p`` (default 1: RFM erases every sample),
    ``boxes`` (3), ``max_side`` (120/256 of the side, RFM's release), ``fill`` as :func:`~primary_mask.functional.
    make_fill`. Returns the erased batch, and the :class:`RFMParams` (with ``erased``) with ``return_params``."""

    def __init__(self, p: float = 1.0, boxes: int = 3, max_side: float = RFM_MAX_SIDE, fill: Fill = "uniform") -> None:
        super().__init__()
        self.p, self.boxes, self.max_side = _check(p, boxes, max_side)
        self.fill = check_fill(fill)

    def extra_repr(self) -> str:
        return f"p={self.p}, boxes={self.boxes}, max_side={self.max_side:.3f}, fill={self.fill!r}"

    def forward(self, images, scores, params=None, return_params=False, generator=None):
        check_image_batch(images)
        b, _, h, w = images.shape
        if scores.ndim == 4 and scores.shape[1] == 1:
            scores = scores[:, 0]
        if scores.ndim != 3 or scores.shape[0] != b:
            raise ValueError(f"scores must be (B, h, w) for {b} images, got {tuple(scores.shape)}")
        if params is None:
            params = draw_rfm_params(b, (h, w), self.p, self.boxes, self.max_side, generator, images.device)
        scores = scores.to(images.device).float()
        if tuple(scores.shape[-2:]) != (h, w):
            scores = torch.nn.functional.interpolate(scores[:, None], size=(h, w), mode="bilinear")[:, 0]
        count = torch.where(params.selected.to(images.device), self.boxes, 0)
        masks = top_point_boxes(scores, params.heights, params.widths, params.above, params.left_of, count)
        out = erase(images, masks, make_fill(images, self.fill, generator))
        done = RFMParams(params.selected, params.heights, params.widths, params.above, params.left_of,
                         erased=masks.flatten(1).any(1))  # fmt: skip
        return (out, done) if return_params else out


class RFMRegionErase(MaskErase):
    """RFM's erasing per sample (a v2 transform, like :class:`~primary_mask.PrimaryRegionErase`): the sample's
    :class:`~primary_mask.PrimaryMap` holds its forgery attention map (e.g. a store of FAMs, resized bilinearly to
    the image); with probability ``p``, ``boxes`` boxes at its top points. Parameters ``{"selected", "mask",
    "erased", "params"}`` (the :class:`RFMParams` of one image)."""

    def __init__(
        self,
        p: float = 1.0,
        boxes: int = 3,
        max_side: float = RFM_MAX_SIDE,
        fill: Fill = "uniform",
        generator: torch.Generator | None = None,
        inplace: bool = False,
    ) -> None:
        p, self.boxes, self.max_side = _check(p, boxes, max_side)
        super().__init__(p, fill, generator, inplace)

    def make_mask(self, source, size, u, generator):
        params = draw_rfm_params(1, size, 1.0, self.boxes, self.max_side, generator)
        scores = resize_maps(source.reshape(1, *source.shape[-2:]).float(), size)
        mask = top_point_boxes(scores, params.heights, params.widths, params.above, params.left_of)[0]
        return {"mask": mask, "params": params}

"""The paper's ablation masks (Tables IV and VII), with the same interface as ``PrimaryRegionErase``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchvision import tv_tensors

from primary_mask.face_geometry import ERASE_PARTS, check_68, part_mask
from primary_mask.functional.erase import Fill
from primary_mask.transforms.erase import MaskErase, PrimaryRegionErase

__all__ = ["ERASE_PARTS", "LandmarkRegionErase", "RandomRegionErase", "StaticRegionErase"]


class RandomRegionErase(PrimaryRegionErase):
    """Table IV "Random": erase a random axis-aligned rectangle with as many pixels as
    :class:`PrimaryRegionErase` would erase for the same sample and alpha (so only the location differs).

    Needs a :class:`PrimaryMap` in the sample (for the size); aspect ratio log-uniform in ``aspect_range``;
    the rectangle lies inside the image. A map with no positive pixel erases nothing.
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha_range: Sequence[float] = (0.0, 1.0),
        fill: Fill = 0,
        generator: torch.Generator | None = None,
        aspect_range: Sequence[float] = (0.5, 2.0),
        inplace: bool = False,
    ) -> None:
        super().__init__(p, alpha_range, fill, generator, inplace)
        lo, hi = (float(a) for a in aspect_range)
        if not (0 < lo <= hi):
            raise ValueError(f"aspect_range must be 0 < low <= high, got {aspect_range}")
        self.aspect_range = (lo, hi)

    def make_mask(self, source, size, u, generator):
        params = super().make_mask(source, size, u, generator)  # alpha and the primary region
        area = int(params["mask"].sum())
        mask = torch.zeros(size, dtype=torch.bool)
        if area == 0:
            return {"alpha": params["alpha"], "mask": mask}
        device = generator.device if generator is not None else None
        r = torch.rand(3, generator=generator, dtype=torch.float64, device=device).tolist()
        aspect = math.exp(math.log(self.aspect_range[0]) + r[0] * math.log(self.aspect_range[1] / self.aspect_range[0]))
        height, width = size
        h = min(height, max(1, round(math.sqrt(area / aspect))))
        w = min(width, max(1, round(area / h)))
        h = min(height, max(1, round(area / w)))
        top, left = int(r[1] * (height - h + 1)), int(r[2] * (width - w + 1))
        mask[top : top + h, left : left + w] = True
        return {"alpha": params["alpha"], "mask": mask, "box": (top, left, h, w)}


class LandmarkRegionErase(MaskErase):
    """Table IV "Landmark": erase one facial part, drawn uniformly from ``parts`` (eyes, nose, mouth), as the
    convex hull(s) of its 68-point landmarks, grown by ``margin`` times the part's size.

    The sample must hold one ``tv_tensors.KeyPoints`` of 68 (x, y) points (dlib / iBUG order, as DeepfakeBench
    stores them); v2 geometric transforms move them with the image. KeyPoints with no points (a face without
    landmarks, see ``with_landmarks(..., missing="skip")``) erase nothing. ``TypeError``/``ValueError`` otherwise.
    """

    needs = tv_tensors.KeyPoints
    needs_label = "one tv_tensors.KeyPoints of 68 landmarks"
    source_hint = "wrap your dataset with primary_mask.with_landmarks, or pass tv_tensors.KeyPoints of 68 points"

    def __init__(
        self,
        p: float = 0.5,
        parts: Sequence[str] = ("eyes", "nose", "mouth"),
        fill: Fill = 0,
        generator: torch.Generator | None = None,
        margin: float = 0.1,
        inplace: bool = False,
    ) -> None:
        super().__init__(p, fill, generator, inplace)
        unknown = [part for part in parts if part not in ERASE_PARTS]
        if not parts or unknown:
            raise ValueError(f"parts must be a non-empty subset of {tuple(ERASE_PARTS)}, got {tuple(parts)}")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.parts, self.margin = tuple(parts), float(margin)

    def check_source(self, source):
        check_68(source.detach().cpu(), "LandmarkRegionErase's KeyPoints", allow_empty=True)

    def make_mask(self, source, size, u, generator):
        xy = source.reshape(-1, 2)
        part = self.parts[min(int(u * len(self.parts)), len(self.parts) - 1)]
        if xy.shape[0] == 0:  # a face without landmarks: nothing to erase
            return {"part": part, "mask": torch.zeros(size, dtype=torch.bool)}
        mask = part_mask(xy.detach().cpu().double().numpy(), size, part, self.margin)
        return {"part": part, "mask": torch.from_numpy(mask)}


class StaticRegionErase(PrimaryRegionErase):
    """Table VII "without dynamic exploitation": erase the binary mask of the whole fused map (alpha = 1, every
    positive pixel) whenever the sample is erased."""

    def __init__(self, p: float = 0.5, fill: Fill = 0, generator: torch.Generator | None = None, inplace: bool = False):
        super().__init__(p, (1.0, 1.0), fill, generator, inplace)

    def extra_repr(self) -> str:
        return MaskErase.extra_repr(self)  # no alpha range: alpha is always 1

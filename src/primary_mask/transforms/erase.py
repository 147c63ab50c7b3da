"""``PrimaryRegionErase``: the per-sample torchvision v2 transform of Algorithm 1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import PIL.Image
import torch
import torchvision.transforms.v2.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2._utils import is_pure_tensor

from primary_mask._checks import check_alpha_range, check_probability
from primary_mask._random import WorkerAwareGenerator
from primary_mask.functional.erase import Fill, check_fill, erase, make_fill, resize_maps
from primary_mask.functional.refine import refine_mask
from primary_mask.primary_map import ErasedPrimaryMap, PrimaryMap

__all__ = ["PrimaryRegionErase"]


class PrimaryRegionErase(v2.Transform):
    """Erase the primary region of an image, guided by its :class:`PrimaryMap` (PRLE, Algorithm 1).

    Call it on ``(image, primary_map)`` or any pytree holding one image-like input and one ``PrimaryMap``
    (e.g. ``{"image": img, "map": pmap, "label": 1}``); other entries pass through. With probability ``p`` it
    draws ``alpha ~ U(alpha_range)``, resizes the map bilinearly to the image size, keeps the
    ``floor(alpha * |V|)`` most attended positive pixels (:func:`~primary_mask.refine_mask`) and returns
    ``image * (1 - mask) + fill * mask``. The map comes back with the same values, as an
    :class:`~primary_mask.primary_map.ErasedPrimaryMap` when pixels were erased (not when the draw said erase
    but the refined mask was empty, e.g. an all-zero map or alpha * |V| < 1).

    Args:
        p: probability of erasing, in [0, 1]. The paper and the authors' release use 0.5.
        alpha_range: ``(low, high)`` within [0, 1]. The paper draws alpha from (0, 1]; the authors' release
            uses ``(0.5, 1.0)``. ``low == high`` fixes alpha.
        fill: a number, a per-channel tuple, ``"uniform"`` (noise over the value range: 0..255 for uint8,
            [0, 1) for float; what the authors' release does), ``"normal"`` (noise with each image's channel
            mean/std) or ``"mean"`` (each image's channel mean). Numbers are in the image's own scale
            (e.g. 0..255 for uint8). Place the transform before ``Normalize``.
        generator: optional ``torch.Generator`` for reproducible draws (each DataLoader worker derives its
            own stream from it). Without one, torch's global RNG is used, as in torchvision.
        inplace: erase into the caller's tensor instead of a copy (tensors only; PIL images are never
            modified).

    Inputs: PIL images, ``tv_tensors.Image`` and plain tensors ``(..., C, H, W)`` or ``(H, W)``, uint8 or
    float. ``make_params`` draws ``{"applied", "alpha", "mask"}`` and can be inspected or replayed with
    ``transform(inpt, params)``. Raises ``TypeError`` when no (or more than one) ``PrimaryMap`` is given.
    A map with no positive pixel erases nothing.
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha_range: Sequence[float] = (0.0, 1.0),
        fill: Fill = 0,
        generator: torch.Generator | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        self.alpha_range = check_alpha_range(alpha_range)
        self.fill = check_fill(fill)
        self._rng = WorkerAwareGenerator(generator)
        self.inplace = bool(inplace)

    @property
    def generator(self) -> torch.Generator | None:
        return self._rng.generator

    def extra_repr(self) -> str:
        return f"p={self.p}, alpha_range={self.alpha_range}, fill={self.fill!r}, inplace={self.inplace}"

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        maps = [x for x in flat_inputs if isinstance(x, PrimaryMap)]
        if len(maps) != 1:
            raise TypeError(
                f"PrimaryRegionErase needs exactly one PrimaryMap in its input, got {len(maps)}; "
                "call it as t(image, PrimaryMap(map)) or wrap your dataset with primary_mask.with_primary_maps"
            )
        images = [x for x in flat_inputs if _is_image(x)]
        if not images:
            raise TypeError("PrimaryRegionErase found no image (PIL image, tv_tensors.Image or tensor) to erase")
        sizes = {tuple(F.get_size(x)) for x in images}
        if len(sizes) != 1:
            raise ValueError(f"PrimaryRegionErase got images of different sizes {sorted(sizes)}")
        gen = self._rng.get()
        draws = torch.rand(2, generator=gen, dtype=torch.float64, device=gen.device if gen is not None else None)
        applied = bool(draws[0] < self.p)
        lo, hi = self.alpha_range
        alpha = lo + (hi - lo) * float(draws[1])
        if not applied:
            return {"applied": False, "alpha": alpha, "mask": None}
        size = sizes.pop()
        primary = maps[0].as_subclass(torch.Tensor)
        return {"applied": True, "alpha": alpha, "mask": refine_mask(resize_maps(primary, size)[0], alpha)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, PrimaryMap):  # mark the sample as erased; values unchanged
            erased = params["mask"] is not None and bool(params["mask"].any())
            return inpt.as_subclass(ErasedPrimaryMap) if erased else inpt
        if params["mask"] is None or not _is_image(inpt):
            return inpt
        if isinstance(inpt, PIL.Image.Image):
            out = self._erase(F.pil_to_tensor(inpt), params["mask"], inplace=True)
            return F.to_pil_image(out, mode=inpt.mode)
        out = self._erase(inpt.as_subclass(torch.Tensor), params["mask"], inplace=self.inplace)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out

    def _erase(self, image: torch.Tensor, mask: torch.Tensor, inplace: bool) -> torch.Tensor:
        if image.ndim < 2:
            raise ValueError(f"image must be (H, W) or (..., C, H, W), got {tuple(image.shape)}")
        shape = image.shape
        batch = image.reshape(-1, 1, *shape[-2:]) if image.ndim == 2 else image.reshape(-1, *shape[-3:])
        mask = mask.to(image.device).expand(batch.shape[0], -1, -1)
        out = erase(batch, mask, make_fill(batch, self.fill, self._rng.get()), inplace=False)
        return image.copy_(out.reshape(shape)) if inplace else out.reshape(shape)


def _is_image(x: Any) -> bool:
    return isinstance(x, (PIL.Image.Image, tv_tensors.Image)) or is_pure_tensor(x)

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
from primary_mask.functional.refine import refine_single_map
from primary_mask.tv_tensors import ErasedPrimaryMap, EraseFlag, PrimaryMap

__all__ = ["MaskErase", "PrimaryRegionErase", "primary_map_of"]


class MaskErase(v2.Transform):
    """Base of the erase transforms: with probability ``p`` erase the mask that :meth:`draw_mask` returns.

    Handles the image types (PIL, ``tv_tensors.Image``, plain tensors ``(..., C, H, W)`` or ``(H, W)``, uint8 or
    float), the fills, ``inplace``, the per-worker generator, and marks a :class:`PrimaryMap` in the sample as
    :class:`ErasedPrimaryMap` (and an :class:`~primary_mask.EraseFlag` as True) when pixels were erased.
    Subclasses implement ``draw_mask``.
    """

    def __init__(self, p: float, fill: Fill, generator: torch.Generator | None, inplace: bool) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        self.fill = check_fill(fill)
        self._rng = WorkerAwareGenerator(generator)
        self.inplace = bool(inplace)

    @property
    def generator(self) -> torch.Generator | None:
        return self._rng.generator

    def draw_mask(
        self, flat_inputs: list[Any], size: tuple[int, int], gen: torch.Generator | None, u: float, applied: bool
    ) -> dict[str, Any]:
        """Return params with ``"mask"``: an (H, W) bool tensor, or None when not ``applied``. ``u`` is a uniform
        draw in [0, 1) for the subclass's own parameter (alpha, part, ...); further draws come from ``gen``."""
        raise NotImplementedError

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        name = type(self).__name__
        images = [x for x in flat_inputs if _is_image(x)]
        if not images:
            raise TypeError(f"{name} found no image (PIL image, tv_tensors.Image or tensor) to erase")
        sizes = {tuple(F.get_size(x)) for x in images}
        if len(sizes) != 1:
            raise ValueError(f"{name} got images of different sizes {sorted(sizes)}")
        gen = self._rng.get()
        draws = torch.rand(2, generator=gen, dtype=torch.float64, device=gen.device if gen is not None else None)
        applied = bool(draws[0] < self.p)
        params = self.draw_mask(flat_inputs, sizes.pop(), gen, float(draws[1]), applied)
        params["applied"] = applied
        return params

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, (PrimaryMap, EraseFlag)):  # mark the sample as erased; map values unchanged
            erased = params.get("erased")  # drawn with the mask where the subclass knows it
            if erased is None:
                erased = params["mask"] is not None and int(torch.count_nonzero(params["mask"])) > 0  # 3x any()
            if not erased:
                return inpt
            return EraseFlag(True) if isinstance(inpt, EraseFlag) else inpt.as_subclass(ErasedPrimaryMap)
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


def primary_map_of(flat_inputs: list[Any], who: str) -> torch.Tensor:
    """The single PrimaryMap of a sample, as a plain (1, h, w) tensor; ``TypeError`` otherwise."""
    maps = [x for x in flat_inputs if isinstance(x, PrimaryMap)]
    if len(maps) != 1:
        raise TypeError(
            f"{who} needs exactly one PrimaryMap in its input, got {len(maps)}; "
            "call it as t(image, PrimaryMap(map)) or wrap your dataset with primary_mask.with_primary_maps"
        )
    return maps[0].as_subclass(torch.Tensor)


class PrimaryRegionErase(MaskErase):
    """Erase the primary region of an image, guided by its :class:`PrimaryMap` (PRLE, Algorithm 1).

    Call it on ``(image, primary_map)`` or any pytree holding one image-like input and one ``PrimaryMap``
    (e.g. ``{"image": img, "map": pmap, "label": 1}``); other entries pass through. With probability ``p`` it
    draws ``alpha ~ U(alpha_range)``, resizes the map bilinearly to the image size, keeps the
    ``floor(alpha * |V|)`` most attended positive pixels (:func:`~primary_mask.refine_mask`) and returns
    ``image * (1 - mask) + fill * mask``. The map comes back with the same values, as an
    :class:`~primary_mask.tv_tensors.ErasedPrimaryMap` when pixels were erased (not when the draw said erase
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
    float. ``make_params`` draws ``{"applied", "alpha", "mask", "erased"}`` and can be inspected or replayed
    with ``transform(inpt, params)`` (without ``"erased"``, it is counted from the mask). Raises
    ``TypeError`` when no (or more than one) ``PrimaryMap`` is given. A map with no positive pixel erases
    nothing.
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha_range: Sequence[float] = (0.0, 1.0),
        fill: Fill = 0,
        generator: torch.Generator | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__(p, fill, generator, inplace)
        self.alpha_range = check_alpha_range(alpha_range)

    def extra_repr(self) -> str:
        return f"p={self.p}, alpha_range={self.alpha_range}, fill={self.fill!r}, inplace={self.inplace}"

    def draw_mask(self, flat_inputs, size, gen, u, applied):
        primary = primary_map_of(flat_inputs, type(self).__name__)
        lo, hi = self.alpha_range
        alpha = lo + (hi - lo) * u
        if not applied:
            return {"alpha": alpha, "mask": None}
        mask, k = refine_single_map(resize_maps(primary, size)[0], alpha)
        return {"alpha": alpha, "mask": mask, "erased": k > 0}


def _is_image(x: Any) -> bool:
    return isinstance(x, (PIL.Image.Image, tv_tensors.Image)) or is_pure_tensor(x)

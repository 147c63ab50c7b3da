"""``PrimaryRegionErase``: the per-sample torchvision v2 transform of Algorithm 1, and the base of the erase masks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import PIL.Image
import torch
import torchvision.transforms.v2.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2._utils import is_pure_tensor

from primary_mask._random import WorkerAwareGenerator
from primary_mask.functional.erase import Fill, erase, make_fill, primary_region_mask
from primary_mask.transforms.settings import EraseSettings
from primary_mask.tv_tensors import EraseFlag, PrimaryMap

__all__ = ["MaskErase", "PrimaryRegionErase"]

PIL_MODES = ("RGB", "L")  # PIL images whose channels are all colour: the erase fills each channel


class MaskErase(v2.Transform):
    """Base of the erase transforms: with probability ``p``, erase the mask that :meth:`make_mask` returns.

    The base finds the image and the one input of type ``needs`` that the mask is made from (a
    :class:`~primary_mask.PrimaryMap`, landmarks, ...), draws the Bernoulli(p) decision ``selected`` and one uniform
    ``u`` in [0, 1) for the subclass's own parameter (alpha, part, ...), and, when selected, asks the subclass for
    the mask. It erases the image types (PIL, ``tv_tensors.Image``, plain tensors ``(..., C, H, W)`` or ``(H, W)``,
    uint8 or float) with the fill, honours ``inplace``, keeps a per-worker generator, and sets an
    :class:`~primary_mask.EraseFlag` in the sample to True when pixels were erased.

    Subclasses set ``needs`` and implement :meth:`make_mask`; they may override :meth:`check_source` to validate
    the source on every call (also when not selected). Parameters (``make_params``) are
    ``{"selected", "mask", "erased", ...}``, plus what ``make_mask`` returns; ``transform(inpt, params)`` replays
    them (without ``"erased"``, it is read from the mask).
    """

    needs: type = PrimaryMap
    needs_label = "exactly one PrimaryMap"
    source_hint = "call it as t(image, PrimaryMap(map)) or wrap your dataset with primary_mask.with_primary_maps"

    def __init__(
        self,
        p: float,
        fill: Fill,
        generator: torch.Generator | None,
        inplace: bool,
        alpha_range: Sequence[float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.settings = EraseSettings(p, alpha_range, fill)
        self._rng = WorkerAwareGenerator(generator)
        self.inplace = bool(inplace)

    @property
    def p(self) -> float:
        return self.settings.p

    @property
    def fill(self) -> Fill:
        return self.settings.fill

    @property
    def generator(self) -> torch.Generator | None:
        return self._rng.generator

    def extra_repr(self) -> str:
        return f"{self.settings.describe(alpha=False)}, inplace={self.inplace}"

    def make_mask(
        self, source: torch.Tensor, size: tuple[int, int], u: float, generator: torch.Generator | None
    ) -> dict[str, Any]:
        """The subclass's parameters for one selected sample, with ``"mask"``: an ``(H, W)`` bool tensor of the
        pixels to erase. ``source``: the sample's ``needs`` input as a plain tensor; ``size``: the image's (H, W);
        ``u``: a uniform draw in [0, 1) for the subclass's own parameter; further draws come from ``generator``."""
        raise NotImplementedError

    def check_source(self, source: torch.Tensor) -> None:
        """Validate the source of every sample (called before the draw); raise ``TypeError``/``ValueError``."""

    def forward(self, *inputs: Any) -> Any:
        # v2 drops numpy arrays before make_params sees the sample, so a numpy image is caught here.
        if any(isinstance(x, np.ndarray) for x in inputs):
            raise TypeError(
                f"{type(self).__name__} got a numpy array: it erases torch tensors and PIL images. Put v2.ToImage() "
                "first (HWC uint8 arrays become (C, H, W) images), or, in an albumentations pipeline, use "
                "primary_mask.transforms.albumentations.AlbumentationsPrimaryRegionErase"
            )
        return super().forward(*inputs)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        name = type(self).__name__
        images = [x for x in flat_inputs if _is_image(x)]
        if not images:
            raise TypeError(f"{name} found no image (PIL image, tv_tensors.Image or tensor) to erase")
        for x in images:
            if isinstance(x, PIL.Image.Image) and x.mode not in PIL_MODES:
                kind = "palette indices" if x.mode in ("P", "PA") else "not all colour (an alpha or CMYK channel)"
                raise TypeError(
                    f"{name} got a PIL image of mode {x.mode!r}: its values are {kind}, which an erase would "
                    f"corrupt. Convert it first: image.convert('RGB') (modes erased: {', '.join(PIL_MODES)})"
                )
        sizes = {tuple(F.get_size(x)) for x in images}
        if len(sizes) != 1:
            raise ValueError(f"{name} got images of different sizes {sorted(sizes)}")
        source = self._source(flat_inputs)
        self.check_source(source)
        gen = self._rng.get()
        draws = torch.rand(2, generator=gen, dtype=torch.float64, device=gen.device if gen is not None else None)
        if not bool(draws[0] < self.p):
            return {"selected": False, "mask": None, "erased": False}
        params = self.make_mask(source, sizes.pop(), float(draws[1]), gen)
        params.setdefault("erased", bool(params["mask"].any()))
        params["selected"] = True
        return params

    def _source(self, flat_inputs: list[Any]) -> torch.Tensor:
        found = [x for x in flat_inputs if isinstance(x, self.needs)]
        if len(found) != 1:
            raise TypeError(
                f"{type(self).__name__} needs {self.needs_label} in its input, got {len(found)}; {self.source_hint}"
            )
        return found[0].as_subclass(torch.Tensor)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, EraseFlag):
            erased = params.get("erased")
            if erased is None:
                erased = params["mask"] is not None and bool(params["mask"].any())
            return EraseFlag(True) if erased else inpt
        if params["mask"] is None or not _is_image(inpt):
            return inpt  # the map, landmarks, labels, ... pass through unchanged
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


class PrimaryRegionErase(MaskErase):
    """Erase the primary region of an image, guided by its :class:`~primary_mask.PrimaryMap` (PRLE, Algorithm 1).

    Call it on ``(image, primary_map)`` or any pytree holding one image-like input and one ``PrimaryMap``
    (e.g. ``{"image": img, "map": pmap, "label": 1}``); other entries pass through. With probability ``p`` it
    draws ``alpha ~ U(alpha_range)``, resizes the map bilinearly to the image size, keeps the
    ``floor(alpha * |V|)`` most attended positive pixels (:func:`~primary_mask.functional.primary_region_mask`)
    and returns ``image * (1 - mask) + fill * mask`` (:func:`~primary_mask.functional.erase`). The map comes back
    unchanged; an :class:`~primary_mask.EraseFlag` in the sample becomes True when pixels were erased (not when
    the draw said erase but the refined mask was empty, e.g. an all-zero map or alpha * |V| < 1).

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
    float; a numpy array is refused with a ``TypeError`` saying what to pass. ``make_params`` draws
    ``{"selected", "alpha", "mask", "erased"}`` (``alpha`` and ``mask`` only when selected). Raises ``TypeError``
    when no (or more than one) ``PrimaryMap`` is given, whatever ``p``. A map with no positive pixel erases nothing.

    Example:
        >>> image = torch.full((3, 4, 4), 200, dtype=torch.uint8)
        >>> pmap = torch.zeros(4, 4); pmap[1, 1], pmap[2, 2] = 0.9, 0.5
        >>> out, _, flag = PrimaryRegionErase(p=1.0, alpha_range=(0.5, 0.5))(image, PrimaryMap(pmap), EraseFlag())
        >>> out[0].eq(0).nonzero().tolist(), bool(flag)
        ([[1, 1]], True)
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha_range: Sequence[float] = (0.0, 1.0),
        fill: Fill = 0,
        generator: torch.Generator | None = None,
        inplace: bool = False,
    ) -> None:
        super().__init__(p, fill, generator, inplace, alpha_range)

    @property
    def alpha_range(self) -> tuple[float, float]:
        return self.settings.alpha_range

    def extra_repr(self) -> str:
        return f"{self.settings.describe()}, inplace={self.inplace}"

    def make_mask(self, source, size, u, generator):
        alpha = self.settings.alpha(u)
        return {"alpha": alpha, "mask": primary_region_mask(source, size, alpha)[0]}


def _is_image(x: Any) -> bool:
    return isinstance(x, (PIL.Image.Image, tv_tensors.Image)) or is_pure_tensor(x)

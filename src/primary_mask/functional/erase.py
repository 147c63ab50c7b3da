"""Erasing kernels: resize maps to the image, refine them into masks, resolve the fill, and blend
``image*(1-mask) + fill*mask``. ``primary_region_erase`` is the composition both erase transforms reach:
``PrimaryRegionErase`` calls its two halves (``primary_region_mask`` when it draws its parameters, ``erase`` when
it applies them, as torchvision's ``RandomErasing`` calls ``F.erase``), ``BatchPrimaryRegionErase`` calls it whole."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Number

import torch
import torch.nn.functional as nnf

from primary_mask._checks import check_alpha, check_image_batch, check_map_dtype_rank
from primary_mask.functional.refine import refine_mask

__all__ = [
    "Fill",
    "FILL_MODES",
    "check_fill",
    "resize_maps",
    "make_fill",
    "erase",
    "primary_region_mask",
    "primary_region_erase",
]

Fill = float | int | Sequence[float] | str
FILL_MODES = ("uniform", "normal", "mean")


def check_fill(fill: Fill, name: str = "fill") -> Fill:
    """Validate ``fill``: a number, a per-channel sequence of numbers, or one of ``FILL_MODES``."""
    if isinstance(fill, str):
        if fill not in FILL_MODES:
            raise ValueError(f"{name} must be a number, a per-channel tuple or one of {FILL_MODES}, got {fill!r}")
        return fill
    if isinstance(fill, bool):
        raise TypeError(f"{name} must be a number, a per-channel tuple or one of {FILL_MODES}, got a bool")
    if isinstance(fill, Number):
        return float(fill)
    if (
        isinstance(fill, Sequence)
        and len(fill) > 0
        and all(isinstance(v, Number) and not isinstance(v, bool) for v in fill)
    ):
        return tuple(float(v) for v in fill)
    raise TypeError(f"{name} must be a number, a per-channel tuple or one of {FILL_MODES}, got {fill!r}")


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize ``(B, h, w)`` maps to ``(B, H, W)`` (float32 out; uint8 maps are scaled to [0, 1]).

    Identity (no copy beyond the dtype conversion) when the size already matches. Bilinear interpolation of
    non-negative values stays non-negative, so the result is still a valid map.
    """
    out = maps.float() / 255.0 if maps.dtype == torch.uint8 else maps.float()
    if tuple(out.shape[-2:]) == tuple(size):
        return out
    antialias = out.shape[-2] > size[0] or out.shape[-1] > size[1]
    return (
        nnf.interpolate(out.unsqueeze(1), size=size, mode="bilinear", align_corners=False, antialias=antialias)
        .squeeze(1)
        .clamp_(min=0)
    )


def _value_range(dtype: torch.dtype) -> tuple[float, float]:
    if dtype == torch.uint8:
        return 0.0, 255.0
    if dtype.is_floating_point:
        return 0.0, 1.0
    raise TypeError(f"image must be uint8 or floating point, got {dtype}")


def make_fill(images: torch.Tensor, fill: Fill, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return fill values broadcastable to ``images`` (B, C, H, W), in ``images``' dtype and device.

    - number / per-channel tuple: constant (rounded and clamped to [0, 255] for uint8 images).
    - ``"uniform"``: i.i.d. noise over the dtype's value range: integers 0..255 for uint8, U[0, 1) for float
      (the torchvision convention; the authors' release fills with uniform noise too). Float images must then lie
      in [0, 1] (``ValueError`` otherwise: noise in [0, 1) on a [0, 255] or normalised image is no erase).
    - ``"normal"``: i.i.d. N(mean_c, std_c) with each image's own per-channel mean and std (so it works for
      normalized tensors too), clamped to [0, 255] for uint8.
    - ``"mean"``: each image's per-channel mean.
    Noise is drawn with ``generator`` (on the generator's device, then moved) for reproducibility.
    """
    b, c, h, w = images.shape
    lo, hi = _value_range(images.dtype)
    device = images.device
    if isinstance(fill, str):
        gen_device = generator.device if generator is not None else device
        if fill == "uniform":
            if images.dtype != torch.uint8 and bool((images.amin() < 0) | (images.amax() > 1)):
                raise ValueError(
                    f"fill='uniform' draws noise in [0, 1) for float images, but these hold values in "
                    f"[{float(images.amin()):.3g}, {float(images.amax()):.3g}]: scale them to [0, 1] (v2.ToDtype("
                    "torch.float32, scale=True)) and erase before Normalize, or fill with a number in their scale"
                )
            noise = torch.rand((b, c, h, w), generator=generator, device=gen_device).to(device)
            values = noise * (hi + 1.0) if images.dtype == torch.uint8 else noise
            return _cast(values.floor_() if images.dtype == torch.uint8 else values, images.dtype)
        stats = images.float()
        mean = stats.mean(dim=(2, 3), keepdim=True)
        if fill == "mean":
            return _cast(mean, images.dtype)
        std = stats.std(dim=(2, 3), keepdim=True, correction=0)
        noise = torch.randn((b, c, h, w), generator=generator, device=gen_device).to(device)
        return _cast(mean + std * noise, images.dtype)
    values = torch.as_tensor(fill, dtype=torch.float32, device=device).reshape(1, -1, 1, 1)
    if values.shape[1] not in (1, c):
        raise ValueError(f"fill has {values.shape[1]} values but the image has {c} channels")
    return _cast(values, images.dtype)


def _cast(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.uint8:
        return values.round().clamp_(0, 255).to(dtype)
    return values.to(dtype)


def erase(images: torch.Tensor, masks: torch.Tensor, fill_values: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Return ``images`` (B, C, H, W) with pixels where ``masks`` (B, H, W) is True replaced by ``fill_values``.

    Equal to ``image * (1 - mask) + fill * mask`` of Eq. 11, computed exactly with a select (no rounding for
    uint8). The input is copied unless ``inplace=True``; the result is contiguous (B, C, H, W) when copied.
    """
    m = masks.unsqueeze(1)
    source = images
    # A channels-last image (what decode_jpeg and v2.Resize give a loader) makes the per-pixel mask broadcast
    # over an innermost axis of C = 3, which is slower than one layout copy followed by the dense select.
    images = images.contiguous()
    if images.dtype == torch.uint8:
        # Exact in uint8 (at each pixel one term is 0), and cheaper on the CPU than a broadcast select.
        m8 = m.to(torch.uint8)
        out = images * (1 - m8) + fill_values * m8
    else:
        out = torch.where(m, fill_values, images)  # a select: exact even for inf/NaN pixels
    return source.copy_(out) if inplace else out


def primary_region_mask(maps: torch.Tensor, size: tuple[int, int], alpha: float | torch.Tensor) -> torch.Tensor:
    """Eq. 9-10 at image size: ``(B, h, w)`` maps resized bilinearly to ``size`` (:func:`resize_maps`), then the
    ``floor(alpha * |V|)`` most attended positive pixels of each (:func:`~primary_mask.refine_mask`).

    ``alpha``: a float or a ``(B,)`` tensor in [0, 1]. Returns ``(B, H, W)`` bool on the maps' device. Errors as
    :func:`~primary_mask.refine_mask` (NaN/inf or negative maps, alpha out of range)."""
    return refine_mask(resize_maps(maps, size), alpha)


def primary_region_erase(
    images: torch.Tensor,
    maps: torch.Tensor,
    alpha: float | torch.Tensor,
    fill: Fill = 0.0,
    selected: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    inplace: bool = False,
    return_masks: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Functional PRLE erase (Eq. 9-12) for a batch: refine each map with its alpha and erase the image.

    Args:
        images: ``(B, C, H, W)`` uint8 or float tensor, any device.
        maps: ``(B, h, w)`` or ``(B, 1, h, w)`` maps (uint8 or float, >= 0); resized bilinearly to (H, W).
        alpha: float or ``(B,)`` tensor in [0, 1].
        fill: see :func:`make_fill`.
        selected: optional ``(B,)`` bool tensor, the Bernoulli(p) draw; samples with False are returned unchanged.
        generator: for the noise fills.
        inplace: write into ``images`` instead of a copy.

    Returns ``(B, C, H, W)`` tensor, same dtype and device as ``images``; with ``return_masks`` also the
    ``(B, H, W)`` bool masks that were erased (a sample was erased when its mask has a True pixel).

    Example:
        >>> images = torch.full((2, 3, 4, 4), 200, dtype=torch.uint8)
        >>> maps = torch.zeros(2, 4, 4); maps[:, 1, 1], maps[:, 2, 2] = 0.9, 0.5
        >>> out = primary_region_erase(images, maps, alpha=torch.tensor([0.5, 1.0]))
        >>> out[0, 0].eq(0).nonzero().tolist(), out[1, 0].eq(0).nonzero().tolist()
        ([[1, 1]], [[1, 1], [2, 2]])
    """
    check_image_batch(images)
    check_map_dtype_rank(maps, "maps", ranks=(3, 4))
    if maps.ndim == 4:
        if maps.shape[1] != 1:
            raise ValueError(f"maps must be (B, h, w) or (B, 1, h, w), got {tuple(maps.shape)}")
        maps = maps[:, 0]
    if maps.shape[0] != images.shape[0]:
        raise ValueError(
            f"maps and images must have the same batch size, got {maps.shape[0]} maps for {images.shape[0]} images"
        )
    b = images.shape[0]
    alpha_t = check_alpha(alpha, b).to(images.device).expand(b)
    if selected is not None:
        if selected.shape != (b,):
            raise ValueError(f"selected must be a ({b},) bool tensor, got shape {tuple(selected.shape)}")
        alpha_t = torch.where(selected.to(images.device).bool(), alpha_t, torch.zeros_like(alpha_t))
    masks = primary_region_mask(maps.to(images.device), images.shape[-2:], alpha_t)
    fill_values = make_fill(images, check_fill(fill), generator)
    out = erase(images, masks, fill_values, inplace=inplace)
    return (out, masks) if return_masks else out

"""The library's tv_tensors: ``PrimaryMap`` (a fused primary-region map that v2 geometry moves with the image,
bilinearly) and ``EraseFlag`` (whether an erase transform erased the sample)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torchvision.transforms.v2.functional as F
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode

from primary_mask._checks import check_map_dtype_rank

__all__ = ["EraseFlag", "PrimaryMap"]


class PrimaryMap(tv_tensors.Mask):
    """A fused primary-region map of shape ``(1, h, w)``, uint8 or float, values ``>= 0``.

    It subclasses ``tv_tensors.Mask`` so that every geometric v2 transform (flips, crops, pads, resizes,
    affine, rotate, perspective, elastic, ...) moves it together with the image, and colour/normalisation
    transforms leave it alone. Unlike a segmentation mask it holds continuous attention values, so resize,
    resized crop, affine, rotate, perspective and elastic use *bilinear* interpolation for it (a label mask
    would use nearest). Areas brought in from outside the image (padding, rotation corners) get 0: no
    attention, never erased. Its size may differ from the image's (maps are typically stored at 64x64):
    :class:`~primary_mask.PrimaryRegionErase` resizes it to the image at erase time, and geometric transforms
    given in image pixels are rescaled for it by v2 only for resize; keep the map at the image's size before
    pixel-based crops (see ``with_primary_maps(..., resize_to_image=True)``, the default).

    Accepts ``(h, w)`` (a channel axis is added) or ``(1, h, w)``. Raises ``ValueError`` for other shapes,
    NaN/inf or negative values, ``TypeError`` for non-numeric dtypes.
    """

    def __new__(
        cls,
        data: Any,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | int | None = None,
        requires_grad: bool | None = None,
    ) -> PrimaryMap:
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        check_map_dtype_rank(tensor, "PrimaryMap data", ranks=(3,))
        if tensor.shape[0] != 1:
            raise ValueError(f"PrimaryMap data must be (h, w) or (1, h, w), got {tuple(tensor.shape)}")
        if tensor.is_floating_point() and tensor.numel():
            lo, hi = tensor.min(), tensor.max()
            if not bool(torch.isfinite(hi)) or not bool(lo >= 0):
                raise ValueError(
                    "PrimaryMap data must be finite and >= 0 (no NaN or inf), "
                    f"got min {lo.item():.4g}, max {hi.item():.4g}"
                )
        return tensor.as_subclass(cls)

    @classmethod
    def from_checked(cls, tensor: torch.Tensor) -> PrimaryMap:
        """Wrap an ``(h, w)`` or ``(1, h, w)`` map whose values were already checked where they entered (a
        :class:`~primary_mask.PrimaryMapStore`), without reading them again: the sample path checks once."""
        return (tensor.unsqueeze(0) if tensor.ndim == 2 else tensor).as_subclass(cls)


class EraseFlag(tv_tensors.TVTensor):
    """Whether the sample was erased: the library's one marker for it. A 0-d bool tv_tensor.

    Put ``EraseFlag()`` (False) into a sample; every erase transform of this library
    (:class:`~primary_mask.PrimaryRegionErase` and the ablation masks) returns ``EraseFlag(True)`` in its place
    when it erased at least one pixel, and passes it through otherwise (not selected by ``p``, or selected but
    nothing to erase: an all-zero map, ``alpha * |V| < 1``). The dataset wrappers put one in every sample and
    return it with ``return_erased=True``. Other v2 transforms pass it through
    unchanged (no kernel is registered for it). ``bool(flag)`` reads it; ``default_collate`` stacks flags into a
    ``(B,)`` bool tensor: the ``q = 0`` samples of Eq. 13 for :func:`~primary_mask.prle_weighted_loss`.
    """

    def __new__(cls, value: bool = False) -> EraseFlag:
        return torch.tensor(bool(value)).as_subclass(cls)


def _like(out: torch.Tensor, like: PrimaryMap) -> PrimaryMap:
    """Wrap a kernel's plain output as the input's own class (PrimaryMap or a user's subclass)."""
    return out.as_subclass(type(like))


try:  # a private helper of torchvision: without it, antialias always (correct, only slower)
    from torchvision.transforms.v2.functional._geometry import _compute_resized_output_size
except ImportError:  # pragma: no cover
    _compute_resized_output_size = None


def _shrinks(in_size: Sequence[int], size: Any, max_size: int | None) -> bool:
    """Whether ``F.resize`` of an (h, w) input to ``size`` shrinks an axis (True when torchvision does not say).

    Antialiasing is asked for only then: bilinear upsampling with it is the same function as without (its
    triangle filter is one input pixel wide either way), computed by a slower kernel."""
    if _compute_resized_output_size is None:
        return True
    h, w = int(in_size[0]), int(in_size[1])
    out_h, out_w = _compute_resized_output_size((h, w), size=size, max_size=max_size)
    return out_h < h or out_w < w


def _register_bilinear_kernels() -> None:
    """Route the interpolating geometric functionals of PrimaryMap to the image kernels, bilinear."""
    bilinear = InterpolationMode.BILINEAR

    def _plain(m: torch.Tensor) -> torch.Tensor:
        return m.as_subclass(torch.Tensor)

    @F.register_kernel(F.resize, PrimaryMap)
    def _resize(m, size, interpolation=bilinear, max_size=None, antialias=True, **_):
        shrinks = _shrinks(m.shape[-2:], size, max_size)
        return _like(F.resize_image(_plain(m), size, bilinear, max_size=max_size, antialias=shrinks), m)

    @F.register_kernel(F.resized_crop, PrimaryMap)
    def _resized_crop(m, top, left, height, width, size, interpolation=bilinear, antialias=True, **_):
        shrinks = _shrinks((height, width), size, None)
        out = F.resized_crop_image(_plain(m), top, left, height, width, size, interpolation=bilinear, antialias=shrinks)
        return _like(out, m)

    @F.register_kernel(F.affine, PrimaryMap)
    def _affine(m, angle, translate, scale, shear, interpolation=bilinear, fill=None, center=None, **_):
        out = F.affine_image(
            _plain(m), angle, translate, scale, shear, interpolation=bilinear, fill=_zero(fill), center=center
        )
        return _like(out, m)

    @F.register_kernel(F.rotate, PrimaryMap)
    def _rotate(m, angle, interpolation=bilinear, expand=False, center=None, fill=None, **_):
        out = F.rotate_image(_plain(m), angle, interpolation=bilinear, expand=expand, center=center, fill=_zero(fill))
        return _like(out, m)

    @F.register_kernel(F.perspective, PrimaryMap)
    def _perspective(m, startpoints, endpoints, interpolation=bilinear, fill=None, coefficients=None, **_):
        out = F.perspective_image(
            _plain(m), startpoints, endpoints, interpolation=bilinear, fill=_zero(fill), coefficients=coefficients
        )
        return _like(out, m)

    @F.register_kernel(F.elastic, PrimaryMap)
    def _elastic(m, displacement, interpolation=bilinear, fill=None, **_):
        return _like(F.elastic_image(_plain(m), displacement, interpolation=bilinear, fill=_zero(fill)), m)


def _zero(fill: Any) -> Any:
    # Regions brought in from outside the image carry no attention; a user fill meant for the image
    # (e.g. 127 grey) must not become attention. v2 passes the fill it resolved for this type.
    return 0


_register_bilinear_kernels()

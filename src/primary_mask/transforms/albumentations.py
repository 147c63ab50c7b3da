"""PRLE inside an albumentations pipeline (``pip install primary-mask[albumentations]``).

The primary map travels as an extra *mask* target, so every geometric transform of the pipeline moves it
with the image; :class:`AlbumentationsPrimaryRegionErase` then erases the image with this library's kernels
(:func:`primary_mask.functional.refine_mask`, :func:`~primary_mask.functional.make_fill`,
:func:`~primary_mask.functional.erase`)::

    import albumentations as A
    from primary_mask.transforms.albumentations import AlbumentationsPrimaryRegionErase, map_for_image

    erase = AlbumentationsPrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0))
    aug = A.Compose(
        [A.HorizontalFlip(), A.RandomResizedCrop((224, 224)), erase],
        additional_targets={"primary_map": "mask"},
        mask_interpolation=cv2.INTER_LINEAR,  # optional: smooth float maps (albumentations' default is nearest)
        seed=137,
    )
    out = aug(image=rgb, primary_map=map_for_image(store[key], rgb), primary_erased=False)
    out["image"], out["primary_erased"]

The map must have the image's height and width when it enters ``A.Compose`` (albumentations crops and warps a
mask in the image's pixel coordinates): :func:`map_for_image` resizes a baked (h, w) map bilinearly, as the
torchvision transform does. Masks are resized with nearest-neighbour interpolation by default: a float map
keeps its exact values (blocky when enlarged, which only moves the primary region's border by up to a source
pixel); ``mask_interpolation=cv2.INTER_LINEAR`` on ``A.Compose`` (or the transform) interpolates it as
:class:`primary_mask.PrimaryMap` is interpolated under torchvision. Pixels warped in from outside the image get
the mask fill, 0: never erased.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

try:
    import albumentations as A
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "primary_mask.transforms.albumentations needs albumentations: pip install 'primary-mask[albumentations]'"
    ) from e

from primary_mask.functional import erase, make_fill, refine_mask, resize_maps
from primary_mask.functional.align import check_map_fits
from primary_mask.functional.erase import Fill
from primary_mask.transforms.settings import EraseSettings

__all__ = ["AlbumentationsPrimaryRegionErase", "map_for_image"]


def map_for_image(
    primary_map: Any,
    image: np.ndarray,
    baked_size: tuple[int, int] | None = None,
    *,
    resized: bool = False,
    stretch: bool = False,
) -> np.ndarray:
    """A map (h, w) (tensor or array, uint8 scaled to [0, 1], or float >= 0) resized bilinearly to ``image``'s
    (H, W): an (H, W) float32 C-contiguous array, the form albumentations moves as a mask.

    The map must fit the image by the rule ``with_primary_maps`` applies
    (:func:`~primary_mask.functional.align.check_map_fits`): pass ``baked_size=store.image_size(key)`` to check
    against the image the map was baked from (another size only with ``resized=True``); without it the map's own
    aspect must be the image's. ``stretch=True`` lays it over any image. ``ValueError`` otherwise."""
    t = torch.as_tensor(np.asarray(primary_map) if not isinstance(primary_map, torch.Tensor) else primary_map)
    if t.ndim == 3 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 2:
        raise ValueError(f"primary_map must be (h, w) or (1, h, w), got shape {tuple(t.shape)}")
    if not (t.dtype == torch.uint8 or t.is_floating_point()):
        raise TypeError(f"primary_map must be uint8 or floating point, got {t.dtype}")
    check_map_fits(
        "the map given to map_for_image",
        tuple(t.shape),
        tuple(image.shape[:2]),
        baked_size,
        resized=resized,
        stretch=stretch,
    )
    out = resize_maps(t.detach().cpu()[None], tuple(image.shape[:2]))[0]
    return np.ascontiguousarray(out.numpy(), dtype=np.float32)


class AlbumentationsPrimaryRegionErase(A.DualTransform):
    """Erase the ``floor(alpha * |V|)`` most attended pixels of the primary map (PRLE, Eq. 9-12), as
    :class:`primary_mask.PrimaryRegionErase`, inside ``A.Compose``.

    Args:
        p: probability of erasing (albumentations draws it with the pipeline's seeded ``py_random``).
        alpha_range: ``(low, high)`` in [0, 1]; alpha ~ U(low, high) from the pipeline's ``py_random``.
        fill: a number or per-channel tuple (in the image's scale: 0..255 for uint8, [0, 1] for float32),
            ``"uniform"``, ``"normal"`` or ``"mean"`` as in :func:`primary_mask.functional.make_fill`; noise is
            drawn from a ``torch.Generator`` seeded by the pipeline's ``random_generator``, so ``A.Compose(...,
            seed=s)`` reproduces it. Albumentations does not reseed DataLoader workers: every worker replays the
            same draws, for all its transforms, unless a ``worker_init_fn`` calls ``aug.set_random_seed(s +
            worker_id)``.
        map_key: the name of the map target (declare it as ``additional_targets={map_key: "mask"}``).
        flag_key: when the call passes this key (e.g. ``primary_erased=False``), it comes back True if pixels
            were erased (for the loss weight gamma, Eq. 13).

    Targets: ``image`` (H, W, C) or (H, W), uint8 or float32; the map (H, W) uint8 or float, finite, >= 0, at
    the image's size (``ValueError`` naming both sizes otherwise). Masks, boxes and keypoints pass unchanged.
    """

    class InitSchema(A.core.transforms_interface.BaseTransformInitSchema):
        alpha_range: tuple[float, float] = (0.0, 1.0)
        fill: Any = 0
        map_key: str = "primary_map"
        flag_key: str = "primary_erased"

    def __init__(
        self,
        alpha_range: tuple[float, float] = (0.0, 1.0),
        fill: Fill = 0,
        map_key: str = "primary_map",
        flag_key: str = "primary_erased",
        p: float = 0.5,
    ) -> None:
        self.settings = EraseSettings(p, alpha_range, fill)
        super().__init__(p=self.settings.p)
        self.alpha_range, self.fill = self.settings.alpha_range, self.settings.fill  # albumentations' serialisation
        self.map_key = map_key
        self.flag_key = flag_key

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("alpha_range", "fill", "map_key", "flag_key")

    @property
    def targets_as_params(self) -> list[str]:
        return ["image", self.map_key]

    @property
    def targets(self) -> dict[str, Any]:
        keep = self._keep
        return {"image": self.apply, "mask": keep, "masks": keep, "bboxes": keep, "keypoints": keep}

    @staticmethod
    def _keep(target: Any, **params: Any) -> Any:
        return target

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if self._additional_targets.get(self.map_key) != "mask":
            # Undeclared, the map is passed through by every other transform: a flip would move the image and not
            # the map, and the erase would land on other content.
            raise ValueError(
                f"{type(self).__name__}: the map target {self.map_key!r} is not declared as a mask, so the "
                f"pipeline's geometric transforms would not move it with the image; pass "
                f"additional_targets={{{self.map_key!r}: 'mask'}} to A.Compose (or call "
                f".add_targets({{{self.map_key!r}: 'mask'}}) on a transform used alone)"
            )
        image, primary = data["image"], data[self.map_key]
        if not isinstance(primary, np.ndarray) or primary.ndim != 2:
            shape = getattr(primary, "shape", type(primary).__name__)
            raise ValueError(f"{self.map_key} must be an (H, W) array (a mask target), got {shape}")
        if primary.shape != image.shape[:2]:
            raise ValueError(
                f"{self.map_key} is {primary.shape[0]}x{primary.shape[1]} but the image is "
                f"{image.shape[0]}x{image.shape[1]}: resize the map to the image before A.Compose "
                "(primary_mask.transforms.albumentations.map_for_image)"
            )
        alpha = self.settings.alpha(self.py_random.random())
        mask = refine_mask(torch.from_numpy(np.ascontiguousarray(primary)), alpha)
        seed = int(self.random_generator.integers(0, 2**63 - 1))
        return {"alpha": alpha, "erase_mask": mask, "fill_seed": seed, "erased": bool(mask.any())}

    def apply(self, img: np.ndarray, erase_mask: torch.Tensor, fill_seed: int, **params: Any) -> np.ndarray:
        if not params.get("erased", True):
            return img
        if img.dtype not in (np.uint8, np.float32):
            raise TypeError(f"image must be uint8 or float32 (albumentations' dtypes), got {img.dtype}")
        chw = torch.from_numpy(np.ascontiguousarray(img if img.ndim == 3 else img[..., None])).permute(2, 0, 1)[None]
        generator = torch.Generator().manual_seed(fill_seed)
        out = erase(chw, erase_mask[None], make_fill(chw, self.fill, generator))
        out = out[0].permute(1, 2, 0).numpy()
        return np.ascontiguousarray(out if img.ndim == 3 else out[..., 0])

    def apply_with_params(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        res = super().apply_with_params(params, *args, **kwargs)
        if self.flag_key in res:
            res[self.flag_key] = bool(res[self.flag_key]) or params.get("erased", False)
        return res

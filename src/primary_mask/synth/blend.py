"""Pseudo-fakes from real faces: SBI-style self-blending and FIA-USA's region blending with up-sampling traces."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision import tv_tensors

from primary_mask.synth.augment import affine_jitter, source_target_transform
from primary_mask.synth.landmarks import check_landmarks
from primary_mask.synth.masks import MASK_TYPES, blending_boundary, deform_mask, region_mask
from primary_mask.synth.reconstruct import UpsamplingReconstruction

__all__ = ["PseudoFake", "RegionBlend", "SelfBlend", "as_rgb_array"]

MIN_SIDE = 32


@dataclass
class PseudoFake:
    """``image``: the pseudo-fake, uint8 ``tv_tensors.Image`` (3, H, W); ``mask``: the blending mask M (H, W)
    float32 in [0, 1] (a ``tv_tensors.Mask``); ``boundary``: B = 4 M (1 - M); ``foreground`` / ``background``:
    the float (H, W, 3) images blended as image = M * foreground + (1 - M) * background (before rounding);
    ``transformed``: which of the two received the colour/frequency transform; ``info``: the draws."""

    image: tv_tensors.Image
    mask: tv_tensors.Mask
    boundary: torch.Tensor
    foreground: np.ndarray
    background: np.ndarray
    transformed: str
    info: dict


def as_rgb_array(image) -> np.ndarray:
    """A uint8 tensor (3, H, W) / (1, H, W) / (H, W) or an (H, W[, 3]) array -> float32 (H, W, 3) in [0, 255].
    Grayscale is replicated to three channels; images smaller than 32 px raise ``ValueError``."""
    if isinstance(image, torch.Tensor):
        if image.dtype != torch.uint8:
            raise TypeError(f"image must be uint8, got {image.dtype}")
        arr = image.numpy()
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.ndim != 3 or arr.shape[0] not in (1, 3):
            raise ValueError(f"image must be (3, H, W), (1, H, W) or (H, W), got {tuple(image.shape)}")
        arr = np.moveaxis(arr, 0, -1)
    else:
        arr = np.asarray(image)
        arr = arr[..., None] if arr.ndim == 2 else arr
        if arr.ndim != 3 or arr.shape[2] not in (1, 3) or arr.dtype != np.uint8:
            raise ValueError(f"image must be uint8 (H, W, 3) or (H, W), got {arr.shape} {arr.dtype}")
    if min(arr.shape[:2]) < MIN_SIDE:
        raise ValueError(f"image is {arr.shape[1]}x{arr.shape[0]}; pseudo-fakes need at least {MIN_SIDE} px a side")
    return np.repeat(arr, 3, axis=2).astype(np.float32) if arr.shape[2] == 1 else arr.astype(np.float32)


def _finish(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray, transformed: str, info: dict) -> PseudoFake:
    fake = mask[..., None] * fg + (1 - mask[..., None]) * bg
    image = tv_tensors.Image(torch.from_numpy(np.clip(np.round(fake), 0, 255).astype(np.uint8)).permute(2, 0, 1))
    return PseudoFake(
        image,
        tv_tensors.Mask(torch.from_numpy(mask)),
        torch.from_numpy(blending_boundary(mask)),
        fg,
        bg,
        transformed,
        info,
    )


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class SelfBlend:
    """SBI (Shiohara & Yamasaki, 2022): blend a transformed copy of a face into itself.

    One copy (source or target, 50/50) gets the colour and frequency transforms; the source and the convex-hull
    mask of the 68 landmarks get the same small affine jitter; the mask is randomly eroded or dilated and blurred
    and scaled by a blend ratio drawn from ``blend_ratios``. Result: ``M * source + (1 - M) * target``, so pixels
    outside the mask are the target: the original image, or its colour/frequency transform when the target was
    the one transformed (``result.transformed``).
    """

    def __init__(self, blend_ratios: Sequence[float] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)) -> None:
        if not blend_ratios or any(not 0 < r <= 1 for r in blend_ratios):
            raise ValueError(f"blend_ratios must be in (0, 1], got {tuple(blend_ratios)}")
        self.blend_ratios = tuple(float(r) for r in blend_ratios)

    def __call__(self, image, landmarks, rng: np.random.Generator | int | None = None) -> PseudoFake:
        rng = _rng(rng)
        img = as_rgb_array(image)
        pts = check_landmarks(landmarks, img.shape[:2])
        source, target = img.copy(), img.copy()
        transformed = "foreground" if rng.random() < 0.5 else "background"
        if transformed == "foreground":
            source = source_target_transform(source, rng)
        else:
            target = source_target_transform(target, rng)
        mask = region_mask(pts, img.shape[:2], "face")
        source, mask = affine_jitter(source, mask, rng)
        mask = deform_mask(mask, rng)
        ratio = float(rng.choice(self.blend_ratios))
        return _finish(source, target, (mask * ratio).astype(np.float32), transformed, {"blend_ratio": ratio})


class RegionBlend:
    """FIA-USA (Algorithm 1) with its multi-type masks: blend a reconstructed face into the original over one
    region drawn from ``mask_types`` (``face`` hull, 4-point ``rect4``, ``eyes``, ``mouth``, ``eyes_mouth``).

    The foreground is a reconstruction of the face, drawn from ``reconstructions`` (pairs of callable
    ``(image, rng) -> image`` and weight; default: down/up-sampling with weight 0.5 and the identity with 0.5, in
    place of the paper's AE 0.3 / SR 0.2 / identity 0.5). One of foreground or background (50/50) gets the colour
    and frequency transform. The mask is deformed (``deform=True``) and blended with a ratio from
    ``blend_ratios``. Result: ``M * foreground + (1 - M) * background``; outside the mask it is the original image,
    or its transform when the background was the one transformed.
    """

    def __init__(
        self,
        mask_types: Sequence[str] = MASK_TYPES,
        reconstructions: Sequence[tuple[Callable[[np.ndarray, np.random.Generator], np.ndarray], float]] | None = None,
        blend_ratios: Sequence[float] = (1.0,),
        deform: bool = True,
    ) -> None:
        bad = [k for k in mask_types if k not in MASK_TYPES]
        if bad or not mask_types:
            raise ValueError(f"mask_types must be a non-empty subset of {MASK_TYPES}, got {tuple(mask_types)}")
        self.mask_types = tuple(mask_types)
        if reconstructions is None:
            reconstructions = [(UpsamplingReconstruction(), 0.5), (lambda img, rng: img, 0.5)]
        weights = np.array([w for _, w in reconstructions], dtype=np.float64)
        if not len(weights) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("reconstructions need non-negative weights with a positive sum")
        self.reconstructions = [fn for fn, _ in reconstructions]
        self.weights = weights / weights.sum()
        self.blend_ratios = tuple(float(r) for r in blend_ratios)
        self.deform = deform

    def __call__(self, image, landmarks, rng: np.random.Generator | int | None = None) -> PseudoFake:
        rng = _rng(rng)
        img = as_rgb_array(image)
        pts = check_landmarks(landmarks, img.shape[:2])
        kind = str(rng.choice(self.mask_types))
        recon_index = int(rng.choice(len(self.reconstructions), p=self.weights))
        fg = np.asarray(self.reconstructions[recon_index](img.copy(), rng), dtype=np.float32)
        if fg.shape != img.shape:
            raise ValueError(f"reconstruction {recon_index} returned shape {fg.shape}, expected {img.shape}")
        bg = img.copy()
        transformed = "foreground" if rng.random() < 0.5 else "background"
        if transformed == "foreground":
            fg = source_target_transform(fg, rng)
        else:
            bg = source_target_transform(bg, rng)
        mask = region_mask(pts, img.shape[:2], kind)
        if self.deform:
            mask = deform_mask(mask, rng)
        ratio = float(rng.choice(self.blend_ratios))
        return _finish(
            fg,
            bg,
            (mask * ratio).astype(np.float32),
            transformed,
            {"mask_type": kind, "reconstruction": recon_index, "blend_ratio": ratio},
        )

"""Blending masks from landmarks: SBI's face hull, FIA-USA's multi-type masks, deformation, boundary map."""

from __future__ import annotations

import cv2
import numpy as np

from primary_mask.face_geometry import PARTS_68, hull_mask

__all__ = ["MASK_TYPES", "blending_boundary", "deform_mask", "hull_mask", "region_mask"]

MASK_TYPES = ("face", "rect4", "eyes", "mouth", "eyes_mouth")


def region_mask(landmarks: np.ndarray, size: tuple[int, int], kind: str) -> np.ndarray:
    """FIA-USA's mask types from 68 landmarks: ``face`` (hull of all points, SBI's mask), ``rect4`` (the
    rectangle through the 4 extreme points), ``eyes``, ``mouth``, ``eyes_mouth``. float32 (H, W) in {0, 1}."""
    if kind == "face":
        return hull_mask(landmarks, size)
    if kind == "rect4":
        (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
        return hull_mask(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), size)
    eyes = np.maximum(
        hull_mask(landmarks[PARTS_68["left_eye"]], size), hull_mask(landmarks[PARTS_68["right_eye"]], size)
    )
    mouth = hull_mask(landmarks[PARTS_68["mouth"]], size)
    if kind == "eyes":
        return eyes
    if kind == "mouth":
        return mouth
    if kind == "eyes_mouth":
        return np.maximum(eyes, mouth)
    raise ValueError(f"mask kind must be one of {MASK_TYPES}, got {kind!r}")


def deform_mask(mask: np.ndarray, rng: np.random.Generator, size_scale: float | None = None) -> np.ndarray:
    """Random erosion or dilation and blur, as in Face X-ray / SBI: blur with kernel k1, keep only the fully
    covered part (erodes more for larger k1), blur again with kernel k2 (grows and softens for larger k2),
    renormalise to max 1. k1 scales with the region's thinner side, k2 with its wider side. A mask without any
    pixel is returned as is."""
    if mask.max() <= 0:
        return mask
    ys, xs = np.nonzero(mask)
    thin, wide = (
        (size_scale, size_scale)
        if size_scale
        else (max(min(np.ptp(ys), np.ptp(xs)), 1), max(np.ptp(ys), np.ptp(xs), 1))
    )
    k1 = int(rng.uniform(0.02, 0.3) * thin) // 2 * 2 + 1  # erosion scales with the thin side: eyes survive
    k2 = int(rng.uniform(0.02, 0.2) * wide) // 2 * 2 + 1
    out = cv2.GaussianBlur(mask, (k1, k1), 0)
    out = out / out.max()
    out[out < 1] = 0
    if out.max() <= 0:  # eroded away: keep the original support
        out = mask.copy()
    out = cv2.GaussianBlur(out, (k2, k2), 0)
    return (out / out.max()).astype(np.float32)


def blending_boundary(mask: np.ndarray) -> np.ndarray:
    """LAA-Net Eq. 2: B = 4 * M * (1 - M), 1 where both images contribute equally, 0 where one does alone."""
    return 4.0 * mask * (1.0 - mask)

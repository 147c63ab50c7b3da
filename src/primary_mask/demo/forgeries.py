"""Drawn faces with localized forgeries (a swapped-looking nose or mouth), for the demo's static stage."""

from __future__ import annotations

import cv2
import numpy as np

from primary_mask.demo.synthetic_face import draw_face

__all__ = ["REGIONS", "forge", "forgery_set"]

# Centres and radii of the forged regions in a 256-pixel face (x, y, rx, ry); scaled with the size.
REGIONS = {"nose": (128, 139, 22, 30), "mouth": (128, 185, 38, 20)}


def region_mask(size: int, region: str) -> np.ndarray:
    """Float (size, size) mask in [0, 1] of a region, with a soft (blended) boundary."""
    s = size / 256.0
    x, y, rx, ry = REGIONS[region]
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (int(x * s), int(y * s)), (max(1, int(rx * s)), max(1, int(ry * s))), 0, 0, 360, 1.0, -1)
    k = max(3, int(9 * s) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)


def forge(face: np.ndarray, region: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blend a colour-shifted, re-textured copy of the face into ``region``: (fake, mask)."""
    size = face.shape[0]
    mask = region_mask(size, region)[..., None]
    # A swap-like source: the face shifted by a few pixels, colour-shifted, with blotchy texture coarse enough
    # to survive the detectors' downsampling.
    dx, dy = rng.integers(-6, 7, 2)
    moved = np.roll(face, (int(dy), int(dx)), axis=(0, 1)).astype(np.float32)
    shifted = moved + rng.choice([-1.0, 1.0]) * rng.uniform(25, 50, 3)
    texture = cv2.resize(
        rng.normal(0, 40, (size // 6, size // 6, 3)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC
    )
    source = np.clip(shifted + texture, 0, 255)
    fake = face.astype(np.float32) * (1 - mask) + source * mask
    return np.clip(fake, 0, 255).astype(np.uint8), mask[..., 0]


def forgery_set(n_pairs: int, size: int = 128, seed: int = 0):
    """``n_pairs`` real faces and their fakes: yields (name, real, fake, fake_mask)."""
    rng = np.random.default_rng(seed)
    for i in range(n_pairs):
        real = draw_face(size, seed * 100_000 + i)
        fake, mask = forge(real, "nose" if i % 2 == 0 else "mouth", rng)
        yield f"{i:04d}", real, fake, mask

"""Source-target augmentations (SBI / FIA-USA's T): colour and frequency transforms and a small affine jitter.
All take and return float32 (H, W, 3) RGB arrays in [0, 255] and draw from a NumPy ``Generator``."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["affine_jitter", "color_transform", "frequency_transform", "source_target_transform"]


def color_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB shift (+-20), HSV shift (hue +-10 deg, saturation and value +-20), brightness/contrast (x0.8-1.2, +-20)."""
    out = img + rng.uniform(-20, 20, 3).astype(np.float32)
    hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-5, 5)) % 180  # OpenCV hue is 0..180
    hsv[..., 1:] = np.clip(hsv[..., 1:] + rng.uniform(-20, 20, 2).astype(np.float32), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
    return np.clip((out - 128) * contrast + 128 + brightness, 0, 255).astype(np.float32)


def frequency_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Down-up scaling (factor 0.5-0.9, bilinear) and/or sharpening (unsharp mask), each with probability 0.5."""
    h, w = img.shape[:2]
    out = img
    if rng.random() < 0.5:
        s = rng.uniform(0.5, 0.9)
        small = cv2.resize(out, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_LINEAR)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        blur = cv2.GaussianBlur(out, (0, 0), 1.0)
        out = out + rng.uniform(0.3, 1.0) * (out - blur)
    return np.clip(out, 0, 255).astype(np.float32)


def source_target_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T of FIA-USA's Algorithm 1 (and SBI's source transforms): colour, then frequency."""
    return frequency_transform(color_transform(img, rng), rng)


def affine_jitter(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same small random affine (translation +-3%, scale 0.95-1.05) applied to an image and its mask."""
    h, w = img.shape[:2]
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.03, 0.03) * h
    m = np.float32([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]])
    warp = {"dsize": (w, h), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REFLECT}
    return cv2.warpAffine(img, m, **warp), cv2.warpAffine(mask, m, dsize=(w, h), flags=cv2.INTER_LINEAR)

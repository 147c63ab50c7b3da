"""Procedurally drawn faces and primary-region maps: demo material that needs no research-licensed data."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["draw_face", "synthetic_primary_map"]


def draw_face(size: int = 256, seed: int = 0) -> np.ndarray:
    """Return an ``(size, size, 3)`` uint8 RGB cartoon face; ``seed`` varies skin tone, shape and background."""
    rng = np.random.default_rng(seed)
    s = size / 256.0
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(40, 120, 3)
    c = (size // 2, int(size * 0.52))
    skin = tuple(int(v) for v in rng.integers([170, 120, 90], [245, 190, 150]))
    cv2.ellipse(img, c, (int(80 * s * rng.uniform(0.9, 1.1)), int(105 * s)), 0, 0, 360, skin, -1, cv2.LINE_AA)
    hair = tuple(int(v) for v in rng.integers(10, 90, 3))
    cv2.ellipse(img, (c[0], c[1] - int(70 * s)), (int(85 * s), int(45 * s)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    for dx in (-1, 1):  # eyes and brows
        e = (c[0] + dx * int(32 * s), c[1] - int(22 * s))
        cv2.ellipse(img, e, (int(16 * s), int(8 * s)), 0, 0, 360, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.circle(img, e, int(6 * s), tuple(int(v) for v in rng.integers(20, 120, 3)), -1, cv2.LINE_AA)
        cv2.line(
            img,
            (e[0] - int(16 * s), e[1] - int(16 * s)),
            (e[0] + int(16 * s), e[1] - int(18 * s)),
            hair,
            max(1, int(4 * s)),
            cv2.LINE_AA,
        )
    nose = np.array(
        [
            [c[0], c[1] - int(10 * s)],
            [c[0] - int(12 * s), c[1] + int(22 * s)],
            [c[0] + int(12 * s), c[1] + int(22 * s)],
        ],
        np.int32,
    )
    shade = tuple(max(0, v - 40) for v in skin)
    cv2.polylines(img, [nose], True, shade, max(1, int(3 * s)), cv2.LINE_AA)
    cv2.ellipse(img, (c[0], c[1] + int(52 * s)), (int(30 * s), int(11 * s)), 0, 0, 360, (170, 40, 60), -1, cv2.LINE_AA)
    cv2.line(
        img,
        (c[0] - int(28 * s), c[1] + int(52 * s)),
        (c[0] + int(28 * s), c[1] + int(52 * s)),
        (110, 20, 40),
        max(1, int(2 * s)),
        cv2.LINE_AA,
    )
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def synthetic_primary_map(size: int = 64, seed: int = 0, tau: float = 0.3) -> np.ndarray:
    """A fused-map stand-in: Gaussian attention on nose and lips (the paper's typical primary regions),
    thresholded like Eq. 6 (values <= ``tau`` set to 0). ``(size, size)`` float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    blobs = [(0.5, 0.56, 0.08, 1.0), (0.5, 0.72, 0.09, 0.8)]  # (x, y, sigma, weight): nose, lips
    m = np.zeros((size, size))
    for x, y, sig, w in blobs:
        x, y = x + rng.normal(0, 0.02), y + rng.normal(0, 0.02)
        m += w * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sig**2))
    m /= m.max()
    m[m <= tau] = 0
    return m.astype(np.float32)


def face_landmarks(size: int = 256) -> np.ndarray:
    """68 (x, y) landmarks in dlib / iBUG order that match ``draw_face``'s geometry (jaw, brows, nose, eyes,
    mouth), for demos and tests of the pseudo-fake synthesis without a landmark detector."""
    s = size / 256.0
    cx, cy = size / 2, size * 0.52
    t = np.linspace(np.pi * 0.05, np.pi * 0.95, 17)  # jaw: lower half of the face ellipse, right to left
    jaw = np.c_[cx - 78 * s * np.cos(t), cy + 100 * s * np.sin(t) - 25 * s][::-1]
    brows = np.concatenate(
        [np.c_[np.linspace(cx + d * 48 * s, cx + d * 16 * s, 5), np.full(5, cy - 40 * s)][::-d] for d in (-1, 1)]
    )
    nose = np.r_[
        np.c_[np.full(4, cx), np.linspace(cy - 10 * s, cy + 12 * s, 4)],
        np.c_[np.linspace(cx - 12 * s, cx + 12 * s, 5), np.full(5, cy + 22 * s)],
    ]
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    eyes = np.concatenate(
        [np.c_[cx + d * 32 * s - 16 * s * np.cos(a), cy - 22 * s - 8 * s * np.sin(a)] for d in (-1, 1)]
    )
    b = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    mouth_outer = np.c_[cx - 30 * s * np.cos(b), cy + 52 * s - 11 * s * np.sin(b)]
    c8 = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    mouth_inner = np.c_[cx - 20 * s * np.cos(c8), cy + 52 * s - 3 * s * np.sin(c8)]
    return np.concatenate([jaw, brows, nose, eyes, mouth_outer, mouth_inner]).astype(np.float32)

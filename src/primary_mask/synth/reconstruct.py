"""Up-sampling artifacts (FIA-USA's USA) without learned models: reconstruct a face by down- and up-sampling.

FIA-USA reconstructs the target face with an autoencoder or a super-resolution model, which are not available
offline. ``UpsamplingReconstruction`` produces the interpolation traces those decoders leave (nearest,
bilinear, bicubic, and zero insertion followed by smoothing, i.e. a transposed convolution). Any callable
``(image float32 (H, W, 3) in [0, 255], rng) -> same`` can be used instead, e.g. a wrapper around your AE or SR
model."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["KERNELS", "UpsamplingReconstruction", "upsample"]

KERNELS = ("nearest", "bilinear", "bicubic", "zero_insert")
_CV = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def upsample(small: np.ndarray, factor: int, size: tuple[int, int], kernel: str) -> np.ndarray:
    """Up-sample ``small`` by ``factor`` with ``kernel`` and return it at ``size`` (H, W)."""
    h, w = size
    if kernel in _CV:
        return cv2.resize(small, (w, h), interpolation=_CV[kernel])
    if kernel != "zero_insert":
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    sh, sw = small.shape[:2]
    zeros = np.zeros((sh * factor, sw * factor, small.shape[2]), np.float32)
    zeros[::factor, ::factor] = small
    tri = np.concatenate([np.arange(1, factor + 1), np.arange(factor - 1, 0, -1)]).astype(np.float32) / factor
    out = cv2.sepFilter2D(zeros, -1, tri, tri, borderType=cv2.BORDER_REFLECT)  # bilinear-weight transposed conv
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_NEAREST) if out.shape[:2] != (h, w) else out


class UpsamplingReconstruction:
    """Down-sample by a factor from ``factors`` (area), up-sample back with a kernel from ``kernels``."""

    def __init__(self, factors: Sequence[int] = (2, 4), kernels: Sequence[str] = KERNELS) -> None:
        bad = [k for k in kernels if k not in KERNELS]
        if bad or not kernels:
            raise ValueError(f"kernels must be a non-empty subset of {KERNELS}, got {tuple(kernels)}")
        if not factors or any(int(f) < 2 for f in factors):
            raise ValueError(f"factors must be integers >= 2, got {tuple(factors)}")
        self.factors, self.kernels = tuple(int(f) for f in factors), tuple(kernels)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = img.shape[:2]
        f = int(rng.choice(self.factors))
        kernel = str(rng.choice(self.kernels))
        small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
        return np.clip(upsample(small, f, (h, w), kernel), 0, 255).astype(np.float32)

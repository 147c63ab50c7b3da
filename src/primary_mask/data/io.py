"""Reading images: one place that decodes files and names the file when it cannot."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["read_rgb"]


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` to an (H, W, 3) uint8 RGB array; ``ValueError`` naming the file when it is missing or
    not an image. Grayscale and RGBA files are converted to RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        reason = "does not exist" if not Path(path).exists() else "cannot be decoded as an image"
        raise ValueError(f"{path}: {reason}")
    return np.ascontiguousarray(img[:, :, ::-1])

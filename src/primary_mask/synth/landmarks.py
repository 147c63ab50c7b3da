"""68-point facial landmarks: validation, part indices, and optional extraction with dlib."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from primary_mask.data.landmarks import PARTS_68

__all__ = ["PARTS_68", "check_landmarks", "DlibLandmarks"]


def check_landmarks(landmarks, size: tuple[int, int], name: str = "landmarks") -> np.ndarray:
    """Return ``landmarks`` as a (68, 2) float64 array of (x, y) pixels, or raise ``ValueError`` naming the
    problem: wrong shape, NaN/inf, points more than 25% of the image outside it, or a degenerate face (the hull
    of all points smaller than 1% of the image)."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2) if np.size(landmarks) else np.zeros((0, 2))
    if pts.shape != (68, 2):
        raise ValueError(f"{name} must be 68 (x, y) points, got shape {np.shape(landmarks)}")
    if not np.isfinite(pts).all():
        raise ValueError(f"{name} contain NaN or inf")
    h, w = size
    margin_x, margin_y = 0.25 * w, 0.25 * h
    if (
        (pts[:, 0] < -margin_x).any()
        or (pts[:, 0] > w + margin_x).any()
        or (pts[:, 1] < -margin_y).any()
        or (pts[:, 1] > h + margin_y).any()
    ):
        raise ValueError(
            f"{name} lie outside the {w}x{h} image (x {pts[:, 0].min():.0f}..{pts[:, 0].max():.0f}, "
            f"y {pts[:, 1].min():.0f}..{pts[:, 1].max():.0f}); do they belong to this image and size?"
        )
    import cv2

    area = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
    if area < 0.01 * h * w:
        raise ValueError(f"{name} are degenerate: their hull covers {area:.0f} px of a {w}x{h} image")
    return pts


class DlibLandmarks:
    """Detect one face and its 68 landmarks with dlib (extra ``landmarks``: dlib-bin and face-recognition-models,
    which ships dlib's 68-point model). ``__call__(rgb uint8 (H, W, 3)) -> (68, 2) float array or None``."""

    def __init__(self, model_path: str | os.PathLike | None = None, upsample: int = 1) -> None:
        try:
            import dlib
        except ImportError:
            raise ImportError(
                "landmark extraction needs the 'landmarks' extra: pip install dlib-bin face-recognition-models"
            ) from None
        if model_path is None:
            spec = importlib.util.find_spec("face_recognition_models")  # not imported: it needs pkg_resources
            if spec is None or not spec.submodule_search_locations:
                raise ImportError("face-recognition-models is not installed (pip install face-recognition-models)")
            model_path = Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
        if not Path(model_path).is_file():
            raise FileNotFoundError(f"dlib landmark model {model_path} does not exist")
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model_path))
        self.upsample = upsample

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        faces = self.detector(rgb, self.upsample)
        if not faces:
            return None
        face = max(faces, key=lambda r: r.width() * r.height())
        shape = self.predictor(rgb, face)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

"""68-point facial landmarks: extraction with dlib (validation and part indices live in ``face_geometry``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from primary_mask.face_geometry import PARTS_68, check_landmarks

__all__ = ["PARTS_68", "check_landmarks", "DlibLandmarks"]


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

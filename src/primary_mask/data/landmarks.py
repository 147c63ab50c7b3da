"""Plug the Table IV "Landmark" masks into an existing ``(image, label)`` dataset: ``with_landmarks``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from torchvision import tv_tensors

from primary_mask.data.wrappers import KeyedDatasetWrapper, transformed_triple
from primary_mask.face_geometry import PARTS_68, check_68
from primary_mask.tv_tensors import EraseFlag

__all__ = ["PARTS_68", "LandmarkDataset", "LandmarkFolder", "with_landmarks"]


class LandmarkFolder(Mapping):
    """Read-only mapping ``key -> (68, 2) float32 array`` over a folder of ``.npy`` files, loaded on access.

    Looked up in order: ``folder/<key>.npy`` (what ``primary-mask landmarks`` writes), ``folder/<key minus its
    suffix>.npy``, and, for keys with a ``frames`` folder, DeepfakeBench's layout with ``frames`` replaced by
    ``landmarks`` (``.../c23/frames/000/000.png`` -> ``.../c23/landmarks/000/000.npy``, so ``folder`` is then the
    dataset root). For other layouts pass ``path_of(key) -> path``. A key without a file raises ``KeyError``
    naming the paths tried. Iterating yields each file's path relative to ``folder`` without ``.npy`` (the keys,
    for the layout ``primary-mask landmarks`` writes); ``len`` counts the files.
    """

    def __init__(self, folder: str | Path, path_of: Callable[[str], str | Path] | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"landmark folder {self.folder} does not exist (primary-mask landmarks writes one)")
        self.path_of = path_of

    def _candidates(self, key: str) -> list[Path]:
        if self.path_of is not None:
            return [Path(self.path_of(key))]
        rel = Path(key)
        found = [self.folder / f"{key}.npy", self.folder / rel.with_suffix(".npy")]
        if "frames" in rel.parts[:-1]:
            i = len(rel.parts) - 2 - rel.parts[:-1][::-1].index("frames")  # the innermost "frames" folder
            found.append(self.folder / Path(*rel.parts[:i], "landmarks", *rel.parts[i + 1 :]).with_suffix(".npy"))
        return found

    def __getitem__(self, key: str) -> np.ndarray:
        tried = self._candidates(key)
        for path in tried:
            if path.is_file():
                return np.load(path).astype(np.float32)
        raise KeyError(f"no landmarks for {key!r}: none of {[str(p) for p in dict.fromkeys(tried)]} exists")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(p.is_file() for p in self._candidates(key))

    def __iter__(self):
        return (p.relative_to(self.folder).as_posix().removesuffix(".npy") for p in sorted(self.folder.rglob("*.npy")))

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.rglob("*.npy"))


class LandmarkDataset(KeyedDatasetWrapper):
    """Wraps a dataset yielding ``(image, label, *rest)``; see :func:`with_landmarks`."""

    def __init__(
        self,
        dataset: Any,
        landmarks: Mapping[str, Any],
        keys: Sequence[str] | Callable[[int], str] | None = None,
        transform: Callable[..., Any] | None = None,
        missing: str = "error",
        return_erased: bool = False,
        image_key: str = "image",
    ) -> None:
        super().__init__(dataset, keys, transform, missing, image_key)
        self.landmarks = landmarks
        self.return_erased = bool(return_erased)

    def load_points(self, key: str, size: tuple[int, int]) -> tv_tensors.KeyPoints:
        try:
            raw = self.landmarks[key]
        except KeyError as err:
            if self.missing == "skip":
                return tv_tensors.KeyPoints(torch.zeros(0, 2), canvas_size=size)  # erases nothing
            where = err.args[0] if isinstance(self.landmarks, LandmarkFolder) else f"no landmarks for key {key!r}"
            raise KeyError(f"{where} (pass missing='skip' to leave such samples unerased)") from None
        points = torch.as_tensor(check_68(raw, f"landmarks for {key!r}").astype(np.float32))
        return tv_tensors.KeyPoints(points, canvas_size=size)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        image, pack = self.unpack(index)
        points = self.load_points(self.key(index), tuple(F.get_size(image)))
        flag = EraseFlag()
        if self.transform is not None:
            image, points, flag = transformed_triple(self.transform(image, points, flag), "KeyPoints")
        return pack(image, {"erased": bool(flag)} if self.return_erased else {})


def with_landmarks(
    dataset: Any,
    landmarks: Mapping[str, Any],
    keys: Sequence[str] | Callable[[int], str] | None = None,
    transform: Callable[..., Any] | None = None,
    missing: str = "error",
    return_erased: bool = False,
    image_key: str = "image",
) -> LandmarkDataset:
    """Wrap ``dataset`` (yielding ``(image, label, *rest)``) so ``transform`` sees ``(image, KeyPoints, flag)``.

    Args:
        dataset: any map-style dataset whose items are tuples with the image first (PIL or tensor).
        landmarks: ``landmarks[key] -> (68, 2)`` (x, y) pixel coordinates in the dataset's image, dlib / iBUG
            order: a dict, or a :class:`LandmarkFolder` of ``.npy`` files.
        keys: one key per sample, a callable ``index -> key``, or None (``dataset.keys``, else ImageFolder paths).
        transform: a v2 pipeline called as ``transform(image, keypoints, flag)``, e.g.
            ``v2.Compose([v2.Resize(256), v2.RandomHorizontalFlip(), LandmarkRegionErase(0.5), v2.ToDtype(...)])``;
            geometric transforms move the ``tv_tensors.KeyPoints`` with the image.
        missing: ``"error"`` raises ``KeyError`` naming the key; ``"skip"`` passes no points (not erased).
        return_erased: also return whether the image was erased (the :class:`EraseFlag`), for gamma (Eq. 13).
        image_key: for datasets whose items are dicts: the entry holding the image.

    Returns a dataset yielding ``(image, label, *rest)``, then ``erased`` (a bool) with ``return_erased``; for
    dict items, a copy of the dict with the transformed image and an ``"erased"`` entry.
    Landmarks that are not 68 finite points raise ``ValueError`` naming the key.
    """
    return LandmarkDataset(dataset, landmarks, keys, transform, missing, return_erased, image_key)

"""Real faces plus their pseudo-fakes as one labelled dataset, and landmark files for a folder of faces."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from tqdm import tqdm

from primary_mask.data.image_list import ImageItem
from primary_mask.data.io import read_rgb

__all__ = ["PseudoFakeDataset", "extract_landmarks"]


def extract_landmarks(
    items: Sequence[ImageItem], out_dir: str | Path, extractor=None, progress: bool = True
) -> list[str]:
    """Write ``out_dir/<key>.npy`` (68, 2) for every image where a face is found (existing files are kept:
    resumable); return the keys without a face. ``extractor`` defaults to :class:`DlibLandmarks`."""
    if extractor is None:
        from primary_mask.synth.landmarks import DlibLandmarks

        extractor = DlibLandmarks()
    out_dir = Path(out_dir)
    missed = []
    for it in tqdm(items, desc="landmarks", unit="img", disable=not progress, dynamic_ncols=True):
        target = out_dir / f"{it.key}.npy"
        if target.exists():
            continue
        points = extractor(read_rgb(it.path))
        if points is None:
            missed.append(it.key)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, points.astype(np.float32))
    return missed


class PseudoFakeDataset(Dataset):
    """``2 N`` samples from N real faces: index i < N is real face i (label 0); index N + i is a pseudo-fake of
    face i (label 1) made by a synthesizer drawn from ``synths`` (e.g. ``[SelfBlend(), RegionBlend()]``).

    Deterministic: the draws for sample i come from ``numpy.random.default_rng([seed, epoch, i])``; call
    ``set_epoch`` for new pseudo-fakes each epoch. Faces without landmarks are dropped at construction
    (``dropped`` lists their keys). Items are ``(tv_tensors.Image uint8, label)``, then ``transform`` applies.
    ``keys``: the real image's key for both samples of a face.
    """

    def __init__(
        self,
        items: Sequence[ImageItem],
        landmarks: Mapping[str, Any],
        synths: Sequence[Callable] | Callable,
        seed: int = 0,
        transform: Callable | None = None,
    ) -> None:
        self.synths = list(synths) if isinstance(synths, (list, tuple)) else [synths]
        if not self.synths:
            raise ValueError("synths must hold at least one synthesizer")
        self.items = [it for it in items if it.key in landmarks]
        self.dropped = [it.key for it in items if it.key not in landmarks]
        if not self.items:
            raise ValueError(f"none of the {len(items)} images has landmarks")
        self.landmarks = {it.key: np.asarray(landmarks[it.key]) for it in self.items}
        self.seed, self.epoch, self.transform = seed, 0, transform
        self.keys = [it.key for it in self.items] * 2
        self.labels = [0] * len(self.items) + [1] * len(self.items)
        self.videos = [f"real/{k}" for k in self.keys[: len(self.items)]] + [
            f"fake/{k}" for k in self.keys[: len(self.items)]
        ]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return 2 * len(self.items)

    def __getitem__(self, index: int):
        n = len(self.items)
        item = self.items[index % n]
        rgb = read_rgb(item.path)
        if index < n:
            image = tv_tensors.Image(torch.from_numpy(rgb).permute(2, 0, 1))
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            synth = self.synths[int(rng.integers(len(self.synths)))]
            image = synth(rgb, self.landmarks[item.key], rng).image
        return (self.transform(image) if self.transform else image), int(index >= n)

"""``DeepfakeImageDataset`` and ``items_from_spec``: one dataset class over every supported layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors

from primary_mask.data.ffpp import FFPP_METHODS, list_ffpp
from primary_mask.data.image_list import ImageItem, list_folder, read_deepfakebench_json, read_list_file
from primary_mask.data.io import read_rgb

__all__ = ["DeepfakeImageDataset", "items_from_spec", "SPEC_HELP"]

SPEC_HELP = """dataset specs:
  PATH or folder:PATH                      ROOT/{real,fake}/**/*.{png,jpg}
  ffpp:ROOT?methods=Deepfakes,FaceSwap&comp=c23&split=SPLITS/train.json&max_frames=32
  dfb:JSON?root=ROOT&split=train,val&comp=c23&frames=32
                                           DeepfakeBench dataset JSON (comp: c23/c40/raw for FF++-derived
                                           JSONs; frames: N evenly spaced frames per video, as its frame_num)
  csv:FILE?root=ROOT                       path,label[,video] per line"""


class DeepfakeImageDataset(Dataset):
    """``(image, label)`` pairs: image a uint8 ``tv_tensors.Image`` (3, H, W), label 0 real / 1 fake.

    ``keys`` (store keys), ``labels`` and ``videos`` (ids for video-level metrics) are lists aligned with the
    samples. An unreadable file raises ``ValueError`` naming it. ``transform`` is applied to the image.
    """

    def __init__(self, items: Sequence[ImageItem], transform: Callable[[Any], Any] | None = None) -> None:
        if not items:
            raise ValueError("the dataset is empty")
        self.items = list(items)
        self.transform = transform
        self.keys = [it.key for it in self.items]
        self.labels = [it.label for it in self.items]
        self.videos = [it.video or it.key for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def load(self, index: int) -> tv_tensors.Image:
        return tv_tensors.Image(torch.from_numpy(read_rgb(self.items[index].path)).permute(2, 0, 1))

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.load(index)
        return (self.transform(image) if self.transform else image), self.labels[index]


def items_from_spec(spec: str) -> list[ImageItem]:
    """Parse a dataset spec (see ``SPEC_HELP``) into labelled items."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("folder", "ffpp", "dfb", "csv"):
        kind, rest = "folder", spec
    target, _, query = rest.partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    if kind == "folder":
        return list_folder(target)
    if kind == "ffpp":
        methods = opts.get("methods", ",".join(FFPP_METHODS)).split(",")
        max_frames = int(opts["max_frames"]) if "max_frames" in opts else None
        return list_ffpp(target, methods, opts.get("comp", "c23"), opts.get("split"), max_frames=max_frames)
    if kind == "dfb":
        if "root" not in opts:
            raise ValueError(f"dataset spec {spec!r}: dfb needs ?root=IMAGE_ROOT")
        frames = int(opts["frames"]) if "frames" in opts else None
        splits = tuple(opts.get("split", "train").split(","))
        return read_deepfakebench_json(opts["root"], target, splits, opts.get("comp", "c23"), frames_per_video=frames)
    return read_list_file(opts.get("root", str(Path(target).parent)), target)

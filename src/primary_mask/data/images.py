"""``DeepfakeImageDataset`` and ``items_from_spec``: one dataset class over every supported layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors

from primary_mask.data.ffpp import FFPP_METHODS, list_ffpp
from primary_mask.data.image_list import ImageItem, list_folder, read_deepfakebench_json, read_list_file
from primary_mask.data.io import read_rgb

__all__ = [
    "BadImage",
    "DeepfakeImageDataset",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SPEC_HELP",
    "ZooInput",
    "items_from_spec",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SPEC_HELP = """dataset specs:
  PATH or folder:PATH                      every image under PATH, labelled by the nearest real/ or fake/
                                           folder above it (-1, unlabelled, elsewhere)
  ffpp:ROOT?methods=Deepfakes,FaceSwap&comp=c23&split=SPLITS/train.json&max_frames=32
  dfb:JSON?root=ROOT&split=train,val&comp=c23&frames=32
                                           DeepfakeBench dataset JSON (comp: c23/c40/raw for FF++-derived
                                           JSONs; frames: N evenly spaced frames per video, as its frame_num)
  csv:FILE?root=ROOT                       path,label[,video] per line"""


class ZooInput:
    """uint8 ``(3, H, W)`` image -> float32 ``(3, size, size)``, resized with OpenCV's area filter and
    normalised with ``mean``/``std`` (ImageNet by default): what ``primary-mask bake`` feeds the zoo."""

    def __init__(self, size: int, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.size = int(size)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        hwc = np.ascontiguousarray(image.permute(1, 2, 0).numpy())  # a view of the decoded array: no copy
        small = cv2.resize(hwc, (self.size, self.size), interpolation=cv2.INTER_AREA)
        t = torch.from_numpy(small).permute(2, 0, 1).float().div_(255)
        return (t - self.mean) / self.std


class BadImage(NamedTuple):
    """What ``DeepfakeImageDataset(on_error="record")`` yields for a file it cannot read."""

    index: int
    key: str
    error: str


class DeepfakeImageDataset(Dataset):
    """``(image, label)`` pairs: image a uint8 ``tv_tensors.Image`` (3, H, W), label 0 real / 1 fake.

    ``keys`` (store keys), ``labels`` and ``videos`` (ids for video-level metrics) are lists aligned with the
    samples. ``transform`` is applied to the image (e.g. :class:`ZooInput`).

    - ``on_error="raise"`` (default): an unreadable file raises ``ValueError`` naming it; ``"record"``: it
      yields a :class:`BadImage` instead, so a caller can list such files and go on.
    - ``return_info=True``: samples are ``(image, label, info)`` with ``info = {"index", "key", "size"}``,
      ``size`` the decoded image's (h, w) before the transform.
    """

    def __init__(
        self,
        items: Sequence[ImageItem],
        transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        return_info: bool = False,
    ) -> None:
        if not items:
            raise ValueError("the dataset is empty")
        if on_error not in ("raise", "record"):
            raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
        self.items = list(items)
        self.transform = transform
        self.on_error, self.return_info = on_error, return_info
        self.keys = [it.key for it in self.items]
        self.labels = [it.label for it in self.items]
        self.videos = [it.video or it.key for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def load(self, index: int) -> tv_tensors.Image:
        return tv_tensors.Image(torch.from_numpy(read_rgb(self.items[index].path)).permute(2, 0, 1))

    def __getitem__(self, index: int) -> Any:
        try:
            image = self.load(index)
        except ValueError as exc:
            if self.on_error == "raise":
                raise
            return BadImage(index, self.keys[index], str(exc))
        size = (int(image.shape[-2]), int(image.shape[-1]))
        out = self.transform(image) if self.transform else image
        if self.return_info:
            return out, self.labels[index], {"index": index, "key": self.keys[index], "size": size}
        return out, self.labels[index]


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

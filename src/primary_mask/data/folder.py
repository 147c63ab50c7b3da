"""``deepfake_image_folder``: torchvision's ``ImageFolder`` with this library's labels, real = 0 and fake = 1.

A plain ``ImageFolder`` sorts class folders by name, so on ``real/`` and ``fake/`` it gives ``{'fake': 0,
'real': 1}``: the reverse of the labels every part of this library uses (and of ``primary-mask bake``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchvision.datasets import ImageFolder

from primary_mask.data.image_list import IMAGE_SUFFIXES, LABEL_NAMES, folder_video_id
from primary_mask.data.io import read_rgb

__all__ = ["DeepfakeImageFolder", "deepfake_image_folder"]


def is_image_file(path: str) -> bool:
    """Whether ``path`` is one of the image files this library lists (``IMAGE_SUFFIXES``, the one list)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def pil_rgb_loader(path: str) -> Any:
    """A PIL RGB image decoded by :func:`primary_mask.data.io.read_rgb`: the pixels ``ImageFolder``'s own PIL
    loader gives (EXIF orientation ignored), the pixels ``primary-mask bake`` saw, and a ``ValueError`` naming
    the file when it is truncated or corrupt (where PIL may load a PNG without its end)."""
    from PIL import Image

    return Image.fromarray(read_rgb(path))


class DeepfakeImageFolder(ImageFolder):
    """An ``ImageFolder`` over ``root/real/**`` and ``root/fake/**`` whose targets are real = 0, fake = 1
    (folder names matched case-insensitively). ``keys`` holds each sample's store key (path relative to
    ``root``, POSIX, as ``primary-mask bake --images root`` writes them; ``with_primary_maps`` uses it) and
    ``videos`` its video id. ``ValueError`` naming ``root`` unless its sub-folders are exactly one ``real`` and
    one ``fake`` (hidden folders such as ``.ipynb_checkpoints`` are ignored)."""

    def __init__(self, root: str | Path, transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("loader", pil_rgb_loader)
        kwargs.setdefault("is_valid_file", is_image_file)  # the files bake lists, not ImageFolder's own list
        super().__init__(str(root), transform=transform, **kwargs)
        self.keys = [Path(os.path.relpath(path, self.root)).as_posix() for path, _ in self.samples]
        self.videos = [folder_video_id(key) for key in self.keys]

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"image folder {directory} does not exist (expected {directory}/real/... and {directory}/fake/...)"
            )
        names = sorted(e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith("."))
        by_label = {name.lower(): name for name in names if name.lower() in LABEL_NAMES}
        others = [name for name in names if name.lower() not in LABEL_NAMES]
        if others or len(by_label) != 2 or len(names) != 2:
            raise ValueError(
                f"{directory}: expected exactly two class folders, real/ and fake/, found {names or 'none'}; "
                "move other folders out of the root (or list the images with a CSV: primary_mask.data."
                "read_list_file)"
            )
        classes = [by_label["real"], by_label["fake"]]
        return classes, {by_label[name]: label for name, label in LABEL_NAMES.items()}


def deepfake_image_folder(
    root: str | Path, transform: Callable[[Any], Any] | None = None, **kwargs: Any
) -> DeepfakeImageFolder:
    """``ImageFolder(root, transform)`` with ``class_to_idx == {'real': 0, 'fake': 1}``; extra keyword
    arguments go to ``ImageFolder`` (``loader``, ``is_valid_file``, ...). See :class:`DeepfakeImageFolder`."""
    return DeepfakeImageFolder(root, transform=transform, **kwargs)

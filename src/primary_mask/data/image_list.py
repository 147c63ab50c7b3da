"""Which images to bake, with their keys and labels (real = 0, fake = 1, unknown = -1)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageItem",
    "folder_video_id",
    "label_from_path",
    "list_folder",
    "read_deepfakebench_json",
    "read_list_file",
]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
LABEL_NAMES = {"real": 0, "fake": 1}


@dataclass(frozen=True)
class ImageItem:
    """``key``: path relative to the image root, POSIX form (the store's key); ``path``: the file to read;
    ``label``: real 0, fake 1, unknown -1; ``video``: the id frames are averaged over for video-level metrics."""

    key: str
    path: Path
    label: int
    video: str = ""


def folder_video_id(key: str) -> str:
    """Frames inside a per-video folder share that folder (``fake/vid7/0001.png`` -> ``fake/vid7``); an image
    directly under ``real/`` or ``fake/`` is its own video (``fake/vid7.jpg`` -> ``fake/vid7``)."""
    path = PurePosixPath(key)
    if path.parent.name.lower() in LABEL_NAMES or str(path.parent) == ".":
        return str(path.with_suffix(""))
    return str(path.parent)


def label_from_path(rel: str) -> int:
    """The label of the nearest enclosing folder named ``real`` or ``fake`` (case-insensitive), else -1."""
    for part in reversed(PurePosixPath(rel).parts[:-1]):
        if part.lower() in LABEL_NAMES:
            return LABEL_NAMES[part.lower()]
    return -1


def _key(root: Path, path: Path) -> str:
    """``path`` relative to ``root``, POSIX form. Lexically first, as ``keys_from_image_folder`` computes keys,
    so a symlinked image inside the root keeps its place in the tree; then with symlinks resolved on both sides
    (an absolute list entry spelled through another link); a path outside the root is kept as given."""
    lexical = (Path(os.path.normpath(root.absolute())), Path(os.path.normpath(path.absolute())))
    for base, target in (lexical, (root.resolve(), path.resolve())):
        try:
            return target.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def list_folder(root: str | Path) -> list[ImageItem]:
    """Every image under ``root`` (sorted), labelled from ``real/`` and ``fake/`` folder names. Symlinked
    folders are followed, as torchvision's ``ImageFolder`` does, so both see the same images under the same
    keys."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} is not a folder (expected {root}/real/... and {root}/fake/...)")
    found = (Path(folder) / name for folder, _, names in os.walk(root, followlinks=True) for name in names)
    items = []
    for p in sorted(found):
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            key = _key(root, p)
            items.append(ImageItem(key, p, label_from_path(key), folder_video_id(key)))
    if not items:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    return items


def read_list_file(root: str | Path, list_file: str | Path) -> list[ImageItem]:
    """A CSV list ``path,label[,video]`` (header optional; label real/fake/0/1) or one path per line.
    Paths are relative to ``root`` unless absolute. Without a label column, folder names decide."""
    root, list_file = Path(root), Path(list_file)
    items = []
    with open(list_file, newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if not row or not row[0].strip() or row[0].startswith("#") or (lineno == 1 and row[0].strip() == "path"):
                continue
            rel = row[0].strip()
            path = Path(rel) if Path(rel).is_absolute() else root / rel
            key = _key(root, path)
            if len(row) > 1 and row[1].strip():
                raw = row[1].strip().lower()
                if raw not in ("0", "1", "real", "fake"):
                    raise ValueError(f"{list_file}:{lineno}: label must be 0/1/real/fake, got {row[1]!r}")
                label = LABEL_NAMES.get(raw, int(raw) if raw.isdigit() else -1)
            else:
                label = label_from_path(key)
            video = row[2].strip() if len(row) > 2 and row[2].strip() else folder_video_id(key)
            items.append(ImageItem(key, path, label, video))
    if not items:
        raise ValueError(f"{list_file} lists no images")
    return items


def read_deepfakebench_json(
    root: str | Path, json_file: str | Path, splits: tuple[str, ...] = ("train",)
) -> list[ImageItem]:
    """Frames of a DeepfakeBench dataset JSON ``{dataset: {label: {split: {[comp:] {video: {"label", "frames"}}}}}}``
    for the given splits. A label name containing "real" is real (0), anything else fake (1)."""
    root, json_file = Path(root), Path(json_file)
    data = json.loads(Path(json_file).read_text())
    items = []

    def videos(node):
        for name, value in node.items():
            if isinstance(value, dict) and "frames" in value:
                yield name, value
            elif isinstance(value, dict):
                yield from videos(value)

    for dataset in data.values():
        for label_name, by_split in dataset.items():
            label = 0 if "real" in label_name.lower() else 1
            for split in splits:
                for name, video in videos(by_split.get(split, {})):
                    for frame in video["frames"]:
                        path = Path(frame) if Path(frame).is_absolute() else root / frame
                        items.append(ImageItem(_key(root, path), path, label, f"{label_name}/{name}"))
    if not items:
        raise ValueError(f"{json_file} lists no frames for splits {splits}")
    return items

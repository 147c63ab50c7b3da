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
    "DEEPFAKEBENCH_COMPRESSIONS",
    "DEEPFAKEBENCH_LABELS",
    "read_deepfakebench_json",
    "read_list_file",
]

# The one list of image files: listing, bake and training read these (read_rgb decodes them all), and
# deepfake_image_folder lists the same ones (torchvision's ImageFolder default list).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"})
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


#: DeepfakeBench's ``label_dict`` (``training/config/train_config.yaml`` of SCLBD/DeepfakeBench): the ``"label"``
#: string of each video in its dataset JSONs -> 0 real / 1 fake. ``"real"`` / ``"fake"`` (the example layout in
#: its ``preprocessing/rearrange.py``) are added.
DEEPFAKEBENCH_LABELS: dict[str, int] = {
    "DFD_fake": 1, "DFD_real": 0,
    "FF-SH": 1, "FF-F2F": 1, "FF-DF": 1, "FF-FS": 1, "FF-NT": 1, "FF-FH": 1, "FF-real": 0,
    "CelebDFv1_real": 0, "CelebDFv1_fake": 1, "CelebDFv2_real": 0, "CelebDFv2_fake": 1,
    "DFDCP_Real": 0, "DFDCP_FakeA": 1, "DFDCP_FakeB": 1,
    "DFDC_Fake": 1, "DFDC_Real": 0,
    "DF_fake": 1, "DF_real": 0,
    "UADFV_Fake": 1, "UADFV_Real": 0,
    "roop_Real": 0, "roop_Fake": 1,
    "real": 0, "fake": 1,
}  # fmt: skip
#: The compression levels of FaceForensics++-derived DeepfakeBench JSONs (FF-*, FaceForensics++,
#: DeepFakeDetection, FaceShifter): there each split holds one ``{video: ...}`` table per level.
DEEPFAKEBENCH_COMPRESSIONS = ("c23", "c40", "raw")


def _dfb_path(root: Path, frame: str) -> Path:
    """A frame path of a DeepfakeBench JSON as a path here: Windows separators (the released JSONs were
    written on Windows) become ``/``; relative paths are under ``root``."""
    text = str(frame).replace("\\", "/")
    path = Path(text)
    return path if path.is_absolute() else root / path


def read_deepfakebench_json(
    root: str | Path,
    json_file: str | Path,
    splits: tuple[str, ...] | str = ("train",),
    compression: str = "c23",
    label_dict: dict[str, int] | None = None,
    frames_per_video: int | None = None,
    check_files: bool = True,
) -> list[ImageItem]:
    """Frames of a DeepfakeBench dataset JSON for the given splits (``"train"``, ``"val"``, ``"test"``).

    Layout (SCLBD/DeepfakeBench ``preprocessing/rearrange.py``, read by ``training/dataset/abstract_dataset.py``):
    ``{dataset: {group: {split: {video: {"label": NAME, "frames": [path, ...]}}}}}``; for FaceForensics++-derived
    datasets each split holds ``{compression: {video: ...}}`` and ``compression`` (c23/c40/raw) picks one.

    - Label: ``label_dict[video["label"]]`` (default :data:`DEEPFAKEBENCH_LABELS`, DeepfakeBench's own mapping),
      never the group name; an unknown label raises ``ValueError`` naming it and the video.
    - Video id: ``"<dataset>/<group>/<compression>/<video>"`` (``"<dataset>/<group>/<video>"`` without
      compression levels), so the c23 and c40 frames of one video, or two methods' videos of one name, stay
      apart.
    - Paths: backslashes become ``/``; relative paths are under ``root``; the key is the path relative to
      ``root`` (POSIX). With ``check_files``, frames that do not exist raise ``FileNotFoundError`` naming how
      many and which.
    - ``frames_per_video``: keep N frames evenly spaced over each video, as DeepfakeBench's ``frame_num`` does
      (every ``len // N``-th frame, the first N of them); all frames when the video has no more than N.
    - A frame listed twice (Celeb-DF lists its test videos under "train" too) is kept once; ``ValueError`` when
      a split or compression level is absent, naming those the file has.
    """
    root, json_file = Path(root), Path(json_file)
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    labels = DEEPFAKEBENCH_LABELS if label_dict is None else label_dict
    if compression not in DEEPFAKEBENCH_COMPRESSIONS:
        raise ValueError(f"compression must be one of {DEEPFAKEBENCH_COMPRESSIONS}, got {compression!r}")
    if frames_per_video is not None and frames_per_video < 1:
        raise ValueError(f"frames_per_video must be >= 1, got {frames_per_video}")
    data = json.loads(json_file.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{json_file}: not a DeepfakeBench dataset JSON ({{dataset: {{group: {{split: ...}}}}}})")
    seen_splits: set[str] = set()
    seen_levels: set[str] = set()
    items: dict[str, ImageItem] = {}
    missing: list[str] = []
    for dataset_name, groups in data.items():
        for group, by_split in groups.items():
            seen_splits.update(by_split)
            for split in splits:
                table = by_split.get(split, {})
                level = None
                if table and all(k in DEEPFAKEBENCH_COMPRESSIONS for k in table):
                    seen_levels.update(table)
                    if compression not in table:
                        raise ValueError(
                            f"{json_file}: {dataset_name}/{group}/{split} has compression levels {sorted(table)}, "
                            f"not {compression!r}; pass compression= (spec: &comp=)"
                        )
                    table, level = table[compression], compression
                for name, video in table.items():
                    if not isinstance(video, dict) or "frames" not in video or "label" not in video:
                        raise ValueError(f"{json_file}: {dataset_name}/{group}/{split}/{name} has no label/frames")
                    video_id = "/".join(p for p in (dataset_name, group, level, name) if p)
                    if video["label"] not in labels:
                        raise ValueError(
                            f"{json_file}: video {video_id} has label {video['label']!r}, which the label mapping "
                            f"does not name (DeepfakeBench's label_dict: {sorted(DEEPFAKEBENCH_LABELS)}); pass "
                            "label_dict={name: 0 or 1}"
                        )
                    label = int(labels[video["label"]])
                    if label not in (0, 1):
                        raise ValueError(f"label_dict[{video['label']!r}] must be 0 (real) or 1 (fake), got {label}")
                    frames = list(video["frames"])
                    if frames_per_video is not None and frames_per_video < len(frames):
                        frames = frames[:: len(frames) // frames_per_video][:frames_per_video]
                    for frame in frames:
                        path = _dfb_path(root, frame)
                        key = _key(root, path)
                        known = items.get(key)
                        if known is not None:
                            if known.label != label:
                                raise ValueError(f"{json_file}: {frame} is listed as both real and fake")
                            continue
                        if check_files and not path.is_file():
                            missing.append(str(path))
                        items[key] = ImageItem(key, path, label, video_id)
    absent = [s for s in splits if s not in seen_splits]
    if absent:
        raise ValueError(f"{json_file} has no split {absent} (it has {sorted(seen_splits)})")
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} frames listed in {json_file} do not exist (image root {root}), e.g. {missing[:3]}; "
            "pass the folder the JSON's relative paths start from as root"
        )
    if not items:
        raise ValueError(f"{json_file} lists no frames for splits {splits}")
    return list(items.values())

"""FaceForensics++ frame layout (as DeepfakeBench and most FF++ preprocessing scripts write it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from primary_mask.data.image_list import IMAGE_SUFFIXES, ImageItem

__all__ = ["FFPP_METHODS", "list_ffpp", "read_ffpp_split"]

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "FaceShifter", "NeuralTextures")


def read_ffpp_split(path: str | Path) -> tuple[set[str], set[str]]:
    """An official split file (``train.json`` etc.: a list of ``[target, source]`` id pairs) ->
    (real video ids, fake video ids ``"a_b"`` and ``"b_a"``)."""
    pairs = json.loads(Path(path).read_text())
    reals = {v for pair in pairs for v in pair}
    fakes = {f"{a}_{b}" for a, b in pairs} | {f"{b}_{a}" for a, b in pairs}
    return reals, fakes


def _frames(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def list_ffpp(
    root: str | Path,
    methods: Sequence[str] = FFPP_METHODS,
    compression: str = "c23",
    split_file: str | Path | None = None,
    include_real: bool = True,
    max_frames: int | None = None,
) -> list[ImageItem]:
    """Frames of ``original_sequences/youtube/<comp>/frames/<video>/`` (real) and
    ``manipulated_sequences/<method>/<comp>/frames/<video>/`` (fake) under ``root``.

    Keys are paths relative to ``root``; video ids are ``"<method>/<comp>/<video>"`` (``"youtube/<comp>/<video>"``
    for reals), so videos of different methods or compressions that share a folder name stay apart. With
    ``split_file``, only its videos are kept and a video it names that is missing on disk raises
    ``FileNotFoundError`` listing how many and which. ``max_frames`` keeps the first N frames of each video.
    """
    root = Path(root)
    unknown = [m for m in methods if m not in FFPP_METHODS]
    if unknown:
        raise ValueError(f"unknown FF++ methods {unknown}; choose from {FFPP_METHODS}")
    reals, fakes = read_ffpp_split(split_file) if split_file else (None, None)
    sources = (
        [("youtube", root / "original_sequences" / "youtube" / compression / "frames", 0, reals)]
        if include_real
        else []
    )
    sources += [(m, root / "manipulated_sequences" / m / compression / "frames", 1, fakes) for m in methods]
    items: list[ImageItem] = []
    missing: list[str] = []
    for name, folder, label, wanted in sources:
        if not folder.is_dir():
            raise FileNotFoundError(f"FF++ folder {folder} does not exist (compression {compression!r}?)")
        present = {d.name: d for d in sorted(folder.iterdir()) if d.is_dir()}
        videos = sorted(present) if wanted is None else sorted(wanted & set(present))
        if wanted is not None:
            missing += [f"{name}/{v}" for v in sorted(wanted - set(present))]
        for video in videos:
            video_id = f"{name}/{compression}/{video}"
            for frame in _frames(present[video])[:max_frames]:
                items.append(ImageItem(frame.relative_to(root).as_posix(), frame, label, video_id))
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} videos named by {split_file} are missing under {root}, e.g. {missing[:5]}"
        )
    if not items:
        raise ValueError(f"no frames found under {root} for methods {list(methods)} ({compression})")
    return items

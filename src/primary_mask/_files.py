"""Private file helpers shared by the store, ``quality`` and ``synth``: atomic writes and the first difference
between two settings dicts, named (what a store, a mask folder or a written set refuses a rerun with)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["describe_difference", "encode_png", "first_difference", "read_manifest", "write_atomic"]

_ABSENT = object()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, fsync, rename; the temporary file is
    removed if anything fails (a full disk, a signal). Mode 0666 less the umask (``open`` honours it, unlike
    ``tempfile.mkstemp`` or safetensors' ``save_file``, which make 0600 files)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def first_difference(stored: Any, asked: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """``(field path, stored value, asked value)`` of the first difference, in the order of ``asked`` (then
    fields only ``stored`` has), or None when equal. Dicts and lists are walked (``models[1].sha256``)."""
    if isinstance(stored, dict) and isinstance(asked, dict):
        for key in list(asked) + [k for k in stored if k not in asked]:
            found = first_difference(
                stored.get(key, _ABSENT), asked.get(key, _ABSENT), f"{where}.{key}" if where else key
            )
            if found:
                return found
        return None
    if isinstance(stored, list) and isinstance(asked, list):
        if len(stored) != len(asked):
            return (f"{where} (count)", len(stored), len(asked))
        for i, (a, b) in enumerate(zip(stored, asked)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if stored == asked else (where, stored, asked)


def describe_difference(stored: dict[str, Any], asked: dict[str, Any], holder: str = "the store") -> str | None:
    """A sentence naming the first differing field, or None when the settings agree. ``holder``: what recorded
    ``stored`` ("the store", "the set", ...)."""
    found = first_difference(stored, asked)
    if found is None:
        return None
    field, theirs, mine = found
    if theirs is _ABSENT:
        return f"{field}: {holder} does not record it (written by an older version), this run has {mine!r}"
    if mine is _ABSENT:
        return f"{field}: {holder} has {theirs!r}, this run does not set it"
    return f"{field}: {holder} has {theirs!r}, this run has {mine!r}"


def encode_png(pixels) -> bytes:
    """An (H, W, 3) RGB or (H, W) grey uint8 array as PNG bytes (lossless: the same pixels give the same bytes)."""
    import cv2
    import numpy as np

    arr = np.ascontiguousarray(pixels)
    ok, data = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR) if arr.ndim == 3 else arr)
    if not ok:
        raise OSError("could not encode a PNG")
    return data.tobytes()


def read_manifest(path: Path, settings: dict[str, Any], what: str) -> dict[str, Any] | None:
    """The manifest at ``path`` of a set written once (``what``: e.g. "a shortcut set"), or None when there is none;
    ``ValueError`` naming the first difference when it was written with other ``settings``."""
    import json

    if not path.exists():
        return None
    old = json.loads(path.read_text())
    diff = describe_difference(old.get("settings", {}), settings, holder="the set")
    if diff:
        raise ValueError(
            f"{path.parent} holds {what} written with other settings ({diff}); "
            f"write it into another folder, or rerun with the settings of its {path.name}"
        )
    return old

"""On-disk layout of a map store (no pickle anywhere):

    STORE/store.json          format version, map size, dtype, provenance (written once, atomically)
    STORE/shards/*.safetensors  one tensor "maps" of shape (N, size, size), uint8 or float16; the shard's
                                keys in its metadata ("keys": JSON list), so a shard describes itself
    STORE/index/*.json        one index part per writer: {"shards": {name: {"count", "sha256", "bytes"}},
                                "keys": {key: [shard, row]}, "image_sizes": {key: [h, w]}}; readers take the
                                union of all parts (image_sizes: the baked image's size, absent in older stores)
    STORE/locks/*.lock        the writers at work (see lock.py); STORE/damaged/ shards a writer found damaged

Every file is written under a temporary name and renamed into place, so a killed process leaves either the
old or the new file, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from primary_mask._files import write_atomic

FORMAT = "primary-mask-store"
FORMAT_VERSION = 1
DTYPES = {"uint8": ("U8", np.uint8), "float16": ("F16", np.float16)}


class StoreError(ValueError):
    """A store on disk is missing, incompatible or damaged; the message names the file."""


def write_json_atomic(path: Path, data: Any) -> None:
    """:func:`write_atomic` of ``data`` as indented, key-sorted JSON."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(
            f"{path} does not exist: check the path, or bake a store there with `primary-mask bake --out ...`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if path.parent.name == "index":
            fix = (
                f"rebuild the index from the shards' own key lists: primary-mask merge --out {path.parent.parent} "
                "--rebuild-index"
            )
        else:
            fix = (
                "it holds the settings the maps were baked with: restore it from a copy, or bake into a new --out "
                "(the shards alone do not say how their maps were made)"
            )
        raise StoreError(f"{path} is not valid JSON ({exc}); the store is damaged: {fix}") from None


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """Return (header dict, byte offset where tensor data starts) of a safetensors file."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise StoreError(f"{path} is truncated (no safetensors header)")
        (n,) = struct.unpack("<Q", raw)
        if n > 100_000_000:
            raise StoreError(f"{path} has an implausible header length {n}; not a safetensors file")
        header = fh.read(n)
        if len(header) != n:
            raise StoreError(f"{path} is truncated inside its safetensors header")
    try:
        return json.loads(header), 8 + n
    except json.JSONDecodeError:
        raise StoreError(f"{path} has a corrupt safetensors header") from None


def open_shard_memmap(path: Path, mode: str = "r") -> np.memmap:
    """Memory-map the "maps" tensor of a shard (``mode`` "r", or "c" for copy-on-write: writable in memory,
    never written back), checking its declared extent against the file."""
    header, data_start = read_safetensors_header(path)
    info = header.get("maps")
    if info is None:
        raise StoreError(f"{path} holds no 'maps' tensor")
    dtype = {code: np_dtype for code, np_dtype in DTYPES.values()}.get(info["dtype"])
    if dtype is None:
        raise StoreError(f"{path}: unsupported dtype {info['dtype']}")
    start, end = info["data_offsets"]
    shape = tuple(info["shape"])
    if end - start != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        raise StoreError(f"{path}: tensor extent does not match its shape {shape}")
    if os.path.getsize(path) < data_start + end:
        raise StoreError(f"{path} is truncated: {os.path.getsize(path)} bytes, header promises {data_start + end}")
    return np.memmap(path, dtype=dtype, mode=mode, offset=data_start + start, shape=shape)


INDEX_FIELDS = ("shards", "keys", "image_sizes")


def new_part(part: dict[str, Any] | None = None) -> dict[str, Any]:
    """An index part ``{"shards": {name: {"count", "sha256", "bytes"}}, "keys": {key: [shard, row]},
    "image_sizes": {key: [h, w]}}``: a copy of ``part`` (fields it lacks added), or an empty one."""
    part = part or {}
    return {field: dict(part.get(field, {})) for field in INDEX_FIELDS}


def add_shard(
    part: dict[str, Any],
    name: str,
    info: dict[str, Any],
    keys: list[str] | dict[str, int],
    sizes: dict[str, Any] | list[Any] | None = None,
) -> None:
    """Record shard ``name`` in ``part``: its ``info`` (``count``, ``sha256``, ``bytes``; any other field such as a
    reader's ``part`` is dropped) and its keys, a list in row order or a ``{key: row}`` mapping, with each key's
    baked image (h, w) from ``sizes`` (a list in row order, or a mapping; None entries are not recorded)."""
    part["shards"][name] = {k: info[k] for k in ("count", "sha256", "bytes")}
    rows = dict(keys) if isinstance(keys, dict) else {key: row for row, key in enumerate(keys)}
    by_key = dict(zip(keys, sizes)) if isinstance(sizes, list) else dict(sizes or {})
    for key, row in rows.items():
        part["keys"][key] = [name, int(row)]
        if by_key.get(key) is not None:
            part["image_sizes"][key] = [int(v) for v in by_key[key]]


def check_shard(path: Path, info: dict[str, Any], digest: bool = True) -> str | None:
    """What is wrong with the shard file ``path`` against its index entry ``info`` (``bytes``, ``sha256``), or
    None: missing, of another length (truncated or replaced), or, with ``digest``, another sha256 (changed after it
    was written). The one integrity check of the writer (before resuming), the reader (on first open) and verify."""
    if not path.exists():
        return f"{path} is missing (listed in the index with {info.get('count')} maps)"
    size = path.stat().st_size
    if size != info.get("bytes", size):
        return f"{path} has {size} bytes, the index recorded {info['bytes']} (truncated or replaced)"
    if digest and info.get("sha256") and sha256_file(path) != info["sha256"]:
        return f"{path} does not match its checksum (the file changed after it was written)"
    return None


def shard_keys(path: Path) -> list[str]:
    header, _ = read_safetensors_header(path)
    return json.loads(header.get("__metadata__", {}).get("keys", "[]"))

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
        raise StoreError(f"{path} is not valid JSON ({exc}); the store is damaged") from None


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


def shard_keys(path: Path) -> list[str]:
    header, _ = read_safetensors_header(path)
    return json.loads(header.get("__metadata__", {}).get("keys", "[]"))

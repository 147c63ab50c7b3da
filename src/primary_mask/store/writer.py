"""``PrimaryMapWriter``: append fused maps to a store, one atomic shard at a time, resumable."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from primary_mask.store.format import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    StoreError,
    read_json,
    sha256_file,
    write_json_atomic,
)
from primary_mask.store.reader import load_index

__all__ = ["PrimaryMapWriter", "quantize"]


def quantize(maps: torch.Tensor, dtype: str) -> torch.Tensor:
    """[0, 1] float maps -> stored dtype: uint8 = round(255 * m) (error <= 1/510), or float16."""
    if dtype == "uint8":
        return (maps.clamp(0, 1) * 255).round_().to(torch.uint8)
    return maps.clamp(0, 1).to(torch.float16)


class PrimaryMapWriter:
    """Write maps into the store at ``path`` (created if needed). Use as a context manager.

    - ``size``/``dtype`` (``"uint8"`` or ``"float16"``) and ``provenance["settings"]`` must match an existing
      store, otherwise :class:`StoreError` says which field differs.
    - ``writer_id`` names this writer's shards and index part (one per process: ``"main"``, ``"rank3"``, ...).
    - ``add(keys, maps)`` skips keys the store (any writer) already holds, buffers the rest and writes a shard
      of ``shard_size`` maps when the buffer is full: the shard goes to a temporary name and is renamed, then the
      index part is rewritten atomically. A killed run therefore loses at most the unflushed buffer; reopening
      with the same ``writer_id`` removes its unreferenced shard files and temporaries, and re-adding the same
      keys fills the gap, so the final store holds each key exactly once.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        size: int = 64,
        dtype: str = "uint8",
        provenance: dict[str, Any] | None = None,
        writer_id: str = "main",
        shard_size: int = 4096,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
        if not writer_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"writer_id must be letters, digits, '-' or '_', got {writer_id!r}")
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {shard_size}")
        self.path = Path(path)
        self.size, self.dtype, self.writer_id, self.shard_size = int(size), dtype, writer_id, shard_size
        (self.path / "shards").mkdir(parents=True, exist_ok=True)
        (self.path / "index").mkdir(exist_ok=True)
        provenance = dict(provenance or {})
        meta_path = self.path / "store.json"
        if meta_path.exists():
            self._check_compatible(read_json(meta_path), provenance)
        else:
            provenance.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            write_json_atomic(
                meta_path,
                {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "size": self.size,
                    "dtype": dtype,
                    "provenance": provenance,
                },
            )
        _, keys, all_shards = load_index(self.path)
        self._present = set(keys)
        self._referenced = set(all_shards)
        self._part_path = self.path / "index" / f"{writer_id}.json"
        self._part = read_json(self._part_path) if self._part_path.exists() else {"shards": {}, "keys": {}}
        self._remove_leftovers()
        self._buffer_keys: list[str] = []
        self._buffer_maps: list[torch.Tensor] = []

    def _check_compatible(self, meta: dict[str, Any], provenance: dict[str, Any]) -> None:
        where = self.path / "store.json"
        if meta.get("format") != FORMAT:
            raise StoreError(f"{where} is not a {FORMAT} store; choose another --out folder")
        for field, mine in (("size", self.size), ("dtype", self.dtype)):
            if meta.get(field) != mine:
                raise StoreError(f"{where} holds {field}={meta.get(field)!r} but this run asks for {mine!r}")
        theirs = meta.get("provenance", {}).get("settings")
        mine = provenance.get("settings")
        if mine is not None and theirs is not None and mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise StoreError(f"{where} was baked with other settings ({', '.join(diff)} differ); use another --out")

    def _remove_leftovers(self) -> None:
        for f in (self.path / "shards").iterdir():
            mine = f.name.startswith(f"{self.writer_id}-") or f.name.startswith(f".{self.writer_id}-")
            if mine and f.name not in self._referenced:  # no index part (of any writer) refers to it
                f.unlink()  # a shard or temporary file left by a killed run of this writer

    def __contains__(self, key: str) -> bool:
        return key in self._present

    def __enter__(self) -> PrimaryMapWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add(self, keys: list[str], maps: torch.Tensor) -> int:
        """Queue ``maps`` ((N, size, size) float in [0, 1]) under ``keys``; returns how many were new."""
        if maps.ndim != 3 or tuple(maps.shape[1:]) != (self.size, self.size) or maps.shape[0] != len(keys):
            raise ValueError(f"maps must be ({len(keys)}, {self.size}, {self.size}), got {tuple(maps.shape)}")
        if not bool(torch.isfinite(maps).all()):
            raise ValueError("maps contains NaN or inf values")
        if bool((maps < -1e-6).any() | (maps > 1 + 1e-6).any()):
            raise ValueError("maps must lie in [0, 1] (fused, min-max normalised CAMs)")
        added = 0
        stored = quantize(maps.detach().cpu(), self.dtype)
        for key, m in zip(keys, stored):
            if key in self._present:
                continue
            self._present.add(key)
            self._buffer_keys.append(key)
            self._buffer_maps.append(m)
            added += 1
            if len(self._buffer_keys) >= self.shard_size:
                self.flush()
        return added

    def flush(self) -> None:
        """Write the buffered maps as one shard and record them in this writer's index part."""
        if not self._buffer_keys:
            return
        number = len(self._part["shards"])
        name = f"{self.writer_id}-{number:05d}.safetensors"
        while (self.path / "shards" / name).exists() or name in self._referenced:
            number += 1
            name = f"{self.writer_id}-{number:05d}.safetensors"
        final = self.path / "shards" / name
        tmp = final.with_name(f".{name}.tmp")
        save_file(
            {"maps": torch.stack(self._buffer_maps).contiguous()},
            str(tmp),
            metadata={"keys": json.dumps(self._buffer_keys)},
        )
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
        os.replace(tmp, final)
        self._referenced.add(name)
        self._part["shards"][name] = {"count": len(self._buffer_keys), "sha256": digest, "bytes": final.stat().st_size}
        for row, key in enumerate(self._buffer_keys):
            self._part["keys"][key] = [name, row]
        write_json_atomic(self._part_path, self._part)
        self._buffer_keys, self._buffer_maps = [], []

    def close(self) -> None:
        self.flush()

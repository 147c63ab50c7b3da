"""``PrimaryMapStore``: read fused maps by key, memory-mapped, safe in DataLoader workers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from primary_mask.store.format import FORMAT, FORMAT_VERSION, StoreError, open_shard_memmap, read_json

__all__ = ["PrimaryMapStore", "load_index"]

MISSING_POLICIES = ("error", "skip")


def load_index(root: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int]], dict[str, dict[str, Any]]]:
    """Return (store.json, key -> (shard, row), shard -> info) for the store at ``root``.

    Raises :class:`StoreError` naming the file when the store is missing, of another format, or when two
    index parts claim the same key.
    """
    meta = read_json(root / "store.json")
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise StoreError(f"{root / 'store.json'} is not a {FORMAT} v{FORMAT_VERSION} store")
    keys: dict[str, tuple[str, int]] = {}
    shards: dict[str, dict[str, Any]] = {}
    owner: dict[str, Path] = {}
    for part in sorted((root / "index").glob("*.json")):
        data = read_json(part)
        shards.update(data.get("shards", {}))
        for key, (shard, row) in data.get("keys", {}).items():
            if key in keys and keys[key] != (shard, row):
                raise StoreError(
                    f"key {key!r} is in both {owner[key]} and {part}; merge the stores with `primary-mask merge`"
                )
            keys[key] = (shard, int(row))
            owner[key] = part
    return meta, keys, shards


class PrimaryMapStore:
    """Read side of a map store written by ``primary-mask bake`` / :class:`PrimaryMapWriter`.

    ``store[key]`` returns a ``(size, size)`` float32 tensor in [0, 1]; ``get_batch(keys)`` a
    ``(N, size, size)`` tensor; ``keys()``, ``key in store``, ``len(store)`` as for a mapping. Shards are
    memory-mapped on first use in each process (the handles are dropped when pickled and reopened after a
    fork), so one store object can be handed to DataLoader workers with fork or spawn.

    ``missing="error"`` (default) raises ``KeyError`` naming the key and the store; ``missing="skip"`` returns an
    all-zero map for an unknown key, which :class:`~primary_mask.PrimaryRegionErase` leaves unerased.
    """

    def __init__(self, path: str | os.PathLike, missing: str = "error") -> None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        self.path = Path(path)
        self.missing = missing
        self.meta, self._index, self.shards = load_index(self.path)
        self.size = int(self.meta["size"])
        self.dtype = self.meta["dtype"]
        self._open: dict[str, np.ndarray] = {}
        self._pid = os.getpid()

    @property
    def provenance(self) -> dict[str, Any]:
        return self.meta.get("provenance", {})

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_open"] = {}
        return state

    def __repr__(self) -> str:
        return f"PrimaryMapStore({str(self.path)!r}, {len(self)} maps of {self.size}x{self.size} {self.dtype})"

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def keys(self) -> list[str]:
        return list(self._index)

    def _shard(self, name: str) -> np.ndarray:
        """The shard's maps, memory-mapped: nothing is read until a row is used."""
        if self._pid != os.getpid():  # forked: do not share file handles with the parent
            self._open, self._pid = {}, os.getpid()
        arr = self._open.get(name)
        if arr is None:
            arr = self._open[name] = np.asarray(open_shard_memmap(self.path / "shards" / name))
        return arr

    @staticmethod
    def _to_float(raw: np.ndarray) -> torch.Tensor:
        """uint8 -> value / 255 (correctly rounded float32 division), float16 -> float32; one new array."""
        return torch.from_numpy(
            np.divide(raw, 255, dtype=np.float32) if raw.dtype == np.uint8 else raw.astype(np.float32)
        )

    def raw(self, key: str) -> np.ndarray:
        """The stored (size, size) array (uint8 or float16), a copy."""
        try:
            shard, row = self._index[key]
        except KeyError:
            raise KeyError(f"no primary map for key {key!r} in store {self.path}") from None
        return self._shard(shard)[row].copy()

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self._index:
            if self.missing == "skip":
                return torch.zeros(self.size, self.size)
            raise KeyError(f"no primary map for key {key!r} in store {self.path} (missing='skip' leaves it unerased)")
        shard, row = self._index[key]
        return self._to_float(self._shard(shard)[row])

    def get_batch(self, keys: Iterable[str]) -> torch.Tensor:
        """``(N, size, size)`` float32 maps for ``keys`` (the missing policy applies to each key)."""
        keys = list(keys)
        out = torch.zeros(len(keys), self.size, self.size)
        by_shard: dict[str, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(keys):
            if key not in self._index:
                if self.missing == "skip":
                    continue
                raise KeyError(f"no primary map for key {key!r} in store {self.path}")
            shard, row = self._index[key]
            slots, rows = by_shard.setdefault(shard, ([], []))
            slots.append(i)
            rows.append(row)
        for shard, (slots, rows) in by_shard.items():
            out[torch.tensor(slots)] = self._to_float(self._shard(shard)[np.array(rows)])
        return out

"""``PrimaryMapStore``: read fused maps by key, memory-mapped, safe in DataLoader workers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from primary_mask.store.format import FORMAT, FORMAT_VERSION, StoreError, check_shard, open_shard_memmap, read_json

__all__ = ["PrimaryMapStore", "load_index", "load_parts"]

# Shard files whose digest this process checked, as (path, bytes, mtime): a forked DataLoader worker inherits the
# set, so each shard is hashed once however many stores and workers open it.
_VERIFIED: set[tuple[str, int, int]] = set()


def load_parts(
    root: Path,
) -> tuple[dict[str, Any], dict[str, tuple[str, int]], dict[str, dict[str, Any]], dict[str, tuple[int, int]]]:
    """:func:`load_index` plus key -> baked image (h, w) for the keys whose size was recorded."""
    meta = read_json(root / "store.json")
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise StoreError(f"{root / 'store.json'} is not a {FORMAT} v{FORMAT_VERSION} store")
    keys: dict[str, tuple[str, int]] = {}
    shards: dict[str, dict[str, Any]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    owner: dict[str, Path] = {}
    for part in sorted((root / "index").glob("*.json")):
        data = read_json(part)
        shards.update({name: dict(info, part=part.name) for name, info in data.get("shards", {}).items()})
        for key, (shard, row) in data.get("keys", {}).items():
            if key in keys and keys[key] != (shard, row):
                raise StoreError(
                    f"key {key!r} is in both {owner[key]} and {part}; merge the stores with `primary-mask merge`"
                )
            keys[key] = (shard, int(row))
            owner[key] = part
        sizes.update({key: (int(h), int(w)) for key, (h, w) in data.get("image_sizes", {}).items()})
    return meta, keys, shards, sizes


def load_index(root: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int]], dict[str, dict[str, Any]]]:
    """Return (store.json, key -> (shard, row), shard -> info) for the store at ``root``; each shard's info
    holds its ``count``, ``sha256``, ``bytes`` and the index ``part`` that lists it.

    Raises :class:`StoreError` naming the file when the store is missing, of another format, or when two
    index parts claim the same key.
    """
    meta, keys, shards, _ = load_parts(root)
    return meta, keys, shards


class PrimaryMapStore:
    """Read side of a map store written by ``primary-mask bake`` / :class:`PrimaryMapWriter`.

    ``store[key]`` returns a ``(size, size)`` float32 tensor in [0, 1]; ``get_batch(keys)`` a
    ``(N, size, size)`` tensor; ``keys()``, ``key in store``, ``len(store)`` as for a mapping. Shards are
    memory-mapped on first use in each process (the handles are dropped when pickled and reopened after a
    fork), so one store object can be handed to DataLoader workers with fork or spawn.

    Integrity: each shard's sha256 is checked against the index once per process, when it is first opened, so a
    damaged store (a flipped byte) is never trained on silently; ``verify=False`` skips the digest (length and shape
    are still checked) for a store already checked with ``primary-mask verify``. That open is the one check of the
    values: the writer refuses NaN, inf and negative maps and the digest proves a shard holds the writer's bytes,
    so reads return rows without checking them again (the dataset wrappers trust them as well). With
    ``verify=False`` nothing is checked on read: ``primary-mask verify`` checks the digests and the values.

    An unknown key raises ``KeyError`` naming the key and the store. What a training sample without a map gets
    is decided in one place, the dataset wrapper (``with_primary_maps(..., missing="skip")``), not by the store.
    """

    values_checked = True  # see the integrity paragraph: the dataset wrappers do not check these maps again

    def __init__(self, path: str | os.PathLike, *, verify: bool = True) -> None:
        self.path = Path(path)
        self.verify = bool(verify)
        self.meta, self._index, self.shards, self._sizes = load_parts(self.path)
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
        """The shard's maps, memory-mapped: nothing is read until a row is used. A missing or damaged shard
        raises :class:`StoreError` naming it and the fix."""
        if self._pid != os.getpid():  # forked: do not share file handles with the parent
            self._open, self._pid = {}, os.getpid()
        arr = self._open.get(name)
        if arr is None:
            path = self.path / "shards" / name
            info = self.shards[name]
            fix = (
                "rerun the same `primary-mask bake` command: it rebakes exactly the maps of missing or damaged "
                f"shards; then `primary-mask verify {self.path}`"
            )
            stat = path.stat() if path.exists() else None
            seen = stat is not None and (str(path.resolve()), stat.st_size, stat.st_mtime_ns) in _VERIFIED
            problem = check_shard(path, info, digest=self.verify and not seen)
            if problem:
                raise StoreError(f"shard {problem}; {fix}")
            if self.verify and not seen:
                _VERIFIED.add((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
            try:
                mm = open_shard_memmap(path)
            except StoreError as exc:
                raise StoreError(f"{exc}; {fix}") from None
            if mm.shape != (info.get("count", mm.shape[0]), self.size, self.size):
                raise StoreError(
                    f"shard {path} holds {mm.shape}, not ({info.get('count')}, {self.size}, {self.size}); {fix}"
                )
            arr = self._open[name] = np.asarray(mm)
        return arr

    def image_size(self, key: str) -> tuple[int, int] | None:
        """The (h, w) of the image ``key`` was baked from (before the zoo's resize); None when the store does not
        record it (baked before sizes were recorded). ``KeyError`` for a key the store does not hold."""
        if key not in self._index:
            raise KeyError(f"no primary map for key {key!r} in store {self.path}")
        return self._sizes.get(key)

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
        try:
            shard, row = self._index[key]
        except KeyError:
            raise KeyError(
                f"no primary map for key {key!r} in store {self.path} "
                "(with_primary_maps(..., missing='skip') leaves such samples unerased)"
            ) from None
        return self._to_float(self._shard(shard)[row])

    def get_batch(self, keys: Iterable[str]) -> torch.Tensor:
        """``(N, size, size)`` float32 maps for ``keys``; ``KeyError`` naming the first key the store lacks."""
        keys = list(keys)
        out = torch.zeros(len(keys), self.size, self.size)
        by_shard: dict[str, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(keys):
            try:
                shard, row = self._index[key]
            except KeyError:
                raise KeyError(f"no primary map for key {key!r} in store {self.path}") from None
            slots, rows = by_shard.setdefault(shard, ([], []))
            slots.append(i)
            rows.append(row)
        for shard, (slots, rows) in by_shard.items():
            out[torch.tensor(slots)] = self._to_float(self._shard(shard)[np.array(rows)])
        return out

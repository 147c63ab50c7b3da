"""``verify_store``: check a store's files, checksums, index and values; every problem names its file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from primary_mask.store.format import DTYPES, StoreError, check_shard, open_shard_memmap, shard_keys
from primary_mask.store.lock import StoreLock
from primary_mask.store.reader import load_index
from primary_mask.store.stats import empty_store_warning

__all__ = ["verify_store"]


def verify_store(path: str | Path) -> tuple[list[str], list[str]]:
    """Return ``(problems, notes)``. Problems: unreadable metadata or index, missing or truncated shards,
    checksum mismatch, shapes/dtype other than the store's, index rows that disagree with the shard's own key
    list, NaN/inf values. Notes: harmless findings such as shard files no index refers to."""
    root = Path(path)
    problems: list[str] = []
    notes: list[str] = []
    try:
        meta, keys, shards = load_index(root)
    except StoreError as exc:
        return [str(exc)], notes
    size, code = int(meta["size"]), DTYPES[meta["dtype"]][1]
    nonempty = 0
    rows_by_shard: dict[str, dict[int, str]] = {}
    for key, (shard, row) in keys.items():
        rows_by_shard.setdefault(shard, {})[row] = key
    for name, info in sorted(shards.items()):
        f = root / "shards" / name
        problem = check_shard(f, info)
        if problem:
            problems.append(problem)
            continue
        try:
            mm = open_shard_memmap(f)
            listed = shard_keys(f)
        except StoreError as exc:
            problems.append(str(exc))
            continue
        if mm.shape != (info["count"], size, size) or mm.dtype != code:
            problems.append(
                f"{f}: holds {mm.shape} {mm.dtype}, expected ({info['count']}, {size}, {size}) {np.dtype(code)}"
            )
            continue
        for row, key in rows_by_shard.get(name, {}).items():
            if row >= len(listed) or listed[row] != key:
                problems.append(f"{f}: index puts {key!r} at row {row}, the shard's own key list disagrees")
                break
        if mm.dtype.kind == "f" and not np.isfinite(mm).all():
            problems.append(f"{f}: contains NaN or inf values")
        nonempty += int((np.asarray(mm).reshape(mm.shape[0], -1) > 0).any(axis=1).sum())
    if keys and not problems and nonempty == 0:
        notes.append(f"warning: {empty_store_warning(len(keys))}")
    for f in sorted((root / "shards").glob("*.safetensors")):
        if f.name not in shards:
            notes.append(f"{f}: not referenced by any index part (left by an interrupted run; safe to delete)")
    for f in sorted((root / "locks").glob("*.lock")) if (root / "locks").is_dir() else []:
        holder = StoreLock._read(f) or {}
        notes.append(
            f"{f}: held by pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('since')} "
            "(a bake at work, or one that was killed: the next bake takes a dead process's lock over)"
        )
    return problems, notes

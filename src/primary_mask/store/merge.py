"""Join stores (job arrays, torchrun ranks) and consolidate index parts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from primary_mask.store.format import StoreError, read_json, write_json_atomic
from primary_mask.store.lock import StoreLock
from primary_mask.store.reader import load_parts
from primary_mask.store.settings import describe_difference

__all__ = ["consolidate_index", "merge_stores"]


def consolidate_index(root: str | Path) -> int:
    """Fold every index part of the store at ``root`` into ``index/merged.json``; returns the key count.
    Crash-safe: the merged part is written first (identical duplicates are allowed while both exist)."""
    root = Path(root)
    with StoreLock(root, "merge"):
        return _consolidate(root)


def _consolidate(root: Path) -> int:
    _, keys, shards, sizes = load_parts(root)
    shards = {name: {k: v for k, v in info.items() if k != "part"} for name, info in shards.items()}
    merged = {
        "shards": shards,
        "keys": {k: [s, r] for k, (s, r) in keys.items()},
        "image_sizes": {k: list(hw) for k, hw in sizes.items()},
    }
    write_json_atomic(root / "index" / "merged.json", merged)
    for part in (root / "index").glob("*.json"):
        if part.name != "merged.json":
            part.unlink()
    return len(keys)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def merge_stores(out: str | Path, sources: list[str | Path]) -> tuple[int, int]:
    """Merge ``sources`` into ``out`` (a new or existing store of the same size, dtype and settings).

    Shards are hard-linked (copied across file systems) under a per-source prefix; a key held by more than one
    source keeps its first occurrence. Returns (keys in out, duplicates ignored). Raises :class:`StoreError`
    naming the store whose settings differ.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with StoreLock(out, "merge"):
        return _merge(out, sources)


def _merge(out: Path, sources: list[str | Path]) -> tuple[int, int]:
    metas = [(Path(s), read_json(Path(s) / "store.json")) for s in sources]
    base = read_json(out / "store.json") if (out / "store.json").exists() else dict(metas[0][1])
    for path, meta in metas:
        for field in ("size", "dtype"):
            if meta.get(field) != base.get(field):
                raise StoreError(f"{path}: {field}={meta.get(field)!r} differs from {base.get(field)!r}; cannot merge")
        diff = describe_difference(
            base.get("provenance", {}).get("settings") or {}, meta.get("provenance", {}).get("settings") or {}
        )
        if diff:
            raise StoreError(
                f"{path} was baked with other settings than {out} (first difference: {diff}); cannot merge"
            )
    (out / "shards").mkdir(parents=True, exist_ok=True)
    (out / "index").mkdir(exist_ok=True)
    if not (out / "store.json").exists():
        base.setdefault("provenance", {})["merged_from"] = [str(p) for p, _ in metas]
        write_json_atomic(out / "store.json", base)
    _, have, _, _ = load_parts(out)
    seen = set(have)
    duplicates = 0
    for n, (path, _) in enumerate(metas):
        _, keys, shards, sizes = load_parts(path)
        prefix = f"m{len(list((out / 'index').glob('*.json'))) + n}"
        renamed = {name: f"{prefix}-{name}" for name in shards}
        for name, new in renamed.items():
            if not (out / "shards" / new).exists():
                _link_or_copy(path / "shards" / name, out / "shards" / new)
        part = {
            "shards": {renamed[s]: {k: v for k, v in info.items() if k != "part"} for s, info in shards.items()},
            "keys": {},
            "image_sizes": {},
        }
        for key, (shard, row) in keys.items():
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            part["keys"][key] = [renamed[shard], row]
            if key in sizes:
                part["image_sizes"][key] = list(sizes[key])
        write_json_atomic(out / "index" / f"{prefix}.json", part)
    return _consolidate(out), duplicates

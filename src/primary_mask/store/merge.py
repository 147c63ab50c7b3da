"""Join stores (job arrays, torchrun ranks) and consolidate index parts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from primary_mask.store.format import StoreError, add_shard, new_part, read_json, write_json_atomic
from primary_mask.store.lock import StoreLock
from primary_mask.store.reader import load_parts
from primary_mask.store.settings import describe_difference

__all__ = ["consolidate_index", "merge_stores", "rebuild_index"]


def consolidate_index(root: str | Path) -> int:
    """Fold every index part of the store at ``root`` into ``index/merged.json``; returns the key count.
    Crash-safe: the merged part is written first (identical duplicates are allowed while both exist)."""
    root = Path(root)
    with StoreLock(root, "merge"):
        return _consolidate(root)


def _consolidate(root: Path) -> int:
    _, keys, shards, sizes = load_parts(root)
    merged = new_part()
    for name, info in shards.items():
        add_shard(merged, name, info, {k: row for k, (s, row) in keys.items() if s == name}, sizes)
    write_json_atomic(root / "index" / "merged.json", merged)
    for part in (root / "index").glob("*.json"):
        if part.name != "merged.json":
            part.unlink()
    return len(keys)


def rebuild_index(root: str | Path) -> int:
    """Rebuild the index of the store at ``root`` from its shards' own metadata (each shard lists its keys and
    their baked image sizes): for a damaged or lost ``index/`` part. Every shard file is read (its count, bytes and
    sha256 recorded anew; a damaged one is moved to ``damaged/`` and its maps are rebaked by the next bake), the old
    parts are replaced by one ``index/rebuilt.json``. A key in two shards keeps the later-named one (shard names
    grow with each flush). Returns the key count. ``store.json`` must be readable (it holds the settings)."""
    import json

    from primary_mask.store.format import open_shard_memmap, read_safetensors_header, sha256_file, shard_keys

    root = Path(root)
    read_json(root / "store.json")
    with StoreLock(root, "merge"):
        part = new_part()
        for f in sorted((root / "shards").glob("*.safetensors")):
            try:
                count = int(open_shard_memmap(f).shape[0])
                keys = shard_keys(f)
                sizes = json.loads(read_safetensors_header(f)[0].get("__metadata__", {}).get("image_sizes", "[]"))
            except (StoreError, ValueError):
                (root / "damaged").mkdir(exist_ok=True)
                os.replace(f, root / "damaged" / f.name)
                continue
            if len(keys) != count:
                continue  # not a shard this library wrote whole
            info = {"count": count, "sha256": sha256_file(f), "bytes": f.stat().st_size}
            add_shard(part, f.name, info, keys, sizes if len(sizes) == count else None)  # later shards win
        referenced = {name for name, _ in part["keys"].values()}
        part["shards"] = {n: i for n, i in part["shards"].items() if n in referenced}  # superseded re-flushes
        write_json_atomic(root / "index" / "rebuilt.json", part)
        for old in (root / "index").glob("*.json"):
            if old.name != "rebuilt.json":
                old.unlink()
    return len(part["keys"])


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
            first = out if (out / "store.json").exists() else metas[0][0]  # a new --out holds nothing yet
            raise StoreError(
                f"{path} was baked with other settings than {first} (first difference: {diff}); cannot merge"
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
        part = new_part()
        fresh = {key: (shard, row) for key, (shard, row) in keys.items() if key not in seen}
        duplicates += len(keys) - len(fresh)
        seen.update(fresh)
        for name, info in shards.items():
            add_shard(part, renamed[name], info, {k: row for k, (s, row) in fresh.items() if s == name}, sizes)
        write_json_atomic(out / "index" / f"{prefix}.json", part)
    return _consolidate(out), duplicates

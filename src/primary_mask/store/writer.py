"""``PrimaryMapWriter``: append fused maps to a store under a lock, flushed on a time and count budget, resumable."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save

from primary_mask.store.format import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    StoreError,
    add_shard,
    check_shard,
    new_part,
    read_json,
    write_atomic,
    write_json_atomic,
)
from primary_mask.store.lock import StoreLock
from primary_mask.store.reader import load_parts
from primary_mask.store.settings import describe_difference

__all__ = ["PrimaryMapWriter", "quantize"]


def quantize(maps: torch.Tensor, dtype: str) -> torch.Tensor:
    """[0, 1] float maps -> stored dtype: uint8 = round(255 * m) (error <= 1/510), or float16."""
    if dtype == "uint8":
        return (maps.clamp(0, 1) * 255).round_().to(torch.uint8)
    return maps.clamp(0, 1).to(torch.float16)


class PrimaryMapWriter:
    """Write maps into the store at ``path`` (created if needed). Use as a context manager.

    - One writer per store: the writer takes ``STORE/locks/<writer_id>.lock`` (see :class:`StoreLock`) and a
      second writer fails at once with :class:`StoreError` naming the holder. Writers of one ``group`` (the
      ranks of a torchrun job, the parts of a ``--shard i/n`` split) may share a store, each with its own
      ``writer_id`` and index part. A lock left by a dead process on this host is taken over.
    - ``size``/``dtype`` (``"uint8"`` or ``"float16"``) and ``provenance["settings"]`` must match an existing
      store, otherwise :class:`StoreError` names the first field that differs.
    - ``add(keys, maps, image_sizes)`` skips keys the store (any writer) already holds and appends the rest
      to the open shard. The open shard is written (to a temporary name, fsynced, renamed; then the index
      part is replaced atomically) every ``flush_every`` new maps or ``flush_seconds`` seconds, whichever comes
      first, and when it reaches ``shard_size`` maps a new shard is started. A killed run therefore loses at
      most the maps of the last ``flush_seconds`` seconds or ``flush_every`` maps, whatever ``shard_size``.
    - Reopening removes this writer's unreferenced files (temporaries, shards a kill left unindexed) and drops
      index entries whose shard is missing or damaged (size or sha256 differ; the file is moved to
      ``STORE/damaged/``), so re-adding the same keys rebakes exactly what was lost. ``repaired`` lists them.
      A writer without a group checks and cleans every index part, a group member only its own.
    - ``lock``: a :class:`StoreLock` taken earlier (e.g. before loading the zoo), handed over to the writer.
    - Files get the ordinary mode (``0666`` less the umask).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        size: int = 64,
        dtype: str = "uint8",
        provenance: dict[str, Any] | None = None,
        writer_id: str = "main",
        shard_size: int = 4096,
        flush_every: int = 512,
        flush_seconds: float = 60.0,
        group: str | None = None,
        lock: StoreLock | None = None,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
        if not writer_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"writer_id must be letters, digits, '-' or '_', got {writer_id!r}")
        if shard_size < 1 or flush_every < 1 or flush_seconds <= 0:
            raise ValueError(
                f"shard_size and flush_every must be >= 1 and flush_seconds > 0, got {shard_size}, {flush_every}, "
                f"{flush_seconds}"
            )
        self.path = Path(path)
        self.size, self.dtype, self.writer_id, self.shard_size = int(size), dtype, writer_id, shard_size
        self.flush_every, self.flush_seconds, self.group = int(flush_every), float(flush_seconds), group
        self.path.mkdir(parents=True, exist_ok=True)
        if lock is not None and (lock.folder.parent.resolve() != self.path.resolve() or lock.writer_id != writer_id):
            raise ValueError(f"lock {lock.path} is not the lock of writer {writer_id!r} in {self.path}")
        self._lock: StoreLock | None = lock if lock is not None else StoreLock(self.path, writer_id, group)
        try:
            self._open_store(dict(provenance or {}))
        except BaseException:
            self._lock.release()
            self._lock = None
            raise

    def _open_store(self, provenance: dict[str, Any]) -> None:
        (self.path / "shards").mkdir(exist_ok=True)
        (self.path / "index").mkdir(exist_ok=True)
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
                    "dtype": self.dtype,
                    "provenance": provenance,
                },
            )
        self._part_path = self.path / "index" / f"{self.writer_id}.json"
        self.repaired = self._drop_damaged()
        _, keys, all_shards, _ = load_parts(self.path)
        self._present = set(keys)
        self._referenced = set(all_shards)
        self._part = new_part(read_json(self._part_path) if self._part_path.exists() else None)
        self._remove_leftovers()
        pattern = re.compile(rf"^{re.escape(self.writer_id)}-(\d+)\.safetensors$")
        names = [f.name for f in (self.path / "shards").iterdir()] + list(self._part["shards"])
        self._next_number = max((int(m.group(1)) for n in names if (m := pattern.match(n))), default=-1) + 1
        self._open_name: str | None = None  # file of the open shard, once flushed
        # (key, map, [h, w] or None) of the open shard: one tuple per map, so an interruption anywhere (a signal
        # handler raising between two statements) can never shift a key against its map
        self._open: list[tuple[str, torch.Tensor, list[int] | None]] = []
        self._flushed = 0  # entries of the open shard already on disk
        self._last_flush = time.monotonic()
        self.maps_written = 0  # new maps durably in the store since this writer opened

    def _check_compatible(self, meta: dict[str, Any], provenance: dict[str, Any]) -> None:
        where = self.path / "store.json"
        if meta.get("format") != FORMAT:
            raise StoreError(f"{where} is not a {FORMAT} store; choose another --out folder")
        for field, mine in (("size", self.size), ("dtype", self.dtype)):
            if meta.get(field) != mine:
                raise StoreError(
                    f"{where}: first difference: {field}: the store has {meta.get(field)!r}, this run has {mine!r}. "
                    "Resume with the store's settings, or bake into another --out"
                )
        theirs = meta.get("provenance", {}).get("settings")
        mine = provenance.get("settings")
        if mine is not None and theirs is not None:
            diff = describe_difference(theirs, mine)
            if diff:
                raise StoreError(
                    f"{where} was baked with other settings; first difference: {diff}. Resume with the store's "
                    "settings, or bake into another --out"
                )

    def _drop_damaged(self) -> dict[str, int]:
        """Remove index entries of missing or damaged shards (of every part, or of this writer's part when it
        belongs to a group); returns shard -> maps dropped."""
        parts = [self._part_path] if self.group else sorted((self.path / "index").glob("*.json"))
        dropped: dict[str, int] = {}
        for part_path in parts:
            if not part_path.exists():
                continue
            part = read_json(part_path)
            bad = []
            for name, info in part.get("shards", {}).items():
                f = self.path / "shards" / name
                if check_shard(f, info) is None:
                    continue
                if f.exists():
                    (self.path / "damaged").mkdir(exist_ok=True)
                    os.replace(f, self.path / "damaged" / name)
                bad.append(name)
            if not bad:
                continue
            for name in bad:
                dropped[name] = int(part["shards"].pop(name).get("count", 0))
            gone = set(bad)
            part["keys"] = {k: v for k, v in part.get("keys", {}).items() if v[0] not in gone}
            part["image_sizes"] = {k: v for k, v in part.get("image_sizes", {}).items() if k in part["keys"]}
            write_json_atomic(part_path, part)
        return dropped

    def _remove_leftovers(self) -> None:
        """Delete shard files and temporaries no index part refers to: this writer's own, or, for a writer
        without a group (it has the store to itself), everyone's."""
        for f in (self.path / "shards").iterdir():
            name = f.name.removeprefix(".")
            mine = self.group is None or name.startswith(f"{self.writer_id}-")
            if mine and f.name not in self._referenced:
                f.unlink()  # a shard or temporary file left by a killed run

    def __contains__(self, key: str) -> bool:
        return key in self._present

    def __len__(self) -> int:
        """Maps durably in the store (every writer's, as of opening, plus this writer's flushed ones)."""
        return len(self._present) - self.pending

    def __enter__(self) -> PrimaryMapWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add(self, keys: list[str], maps: torch.Tensor, image_sizes: Sequence[tuple[int, int]] | None = None) -> int:
        """Queue ``maps`` ((N, size, size) float in [0, 1]) under ``keys``, with the (h, w) of each image they
        were baked from (recorded per key; :meth:`PrimaryMapStore.image_size`); returns how many were new."""
        if maps.ndim != 3 or tuple(maps.shape[1:]) != (self.size, self.size) or maps.shape[0] != len(keys):
            raise ValueError(f"maps must be ({len(keys)}, {self.size}, {self.size}), got {tuple(maps.shape)}")
        if image_sizes is not None and len(image_sizes) != len(keys):
            raise ValueError(f"image_sizes has {len(image_sizes)} entries for {len(keys)} keys")
        finite = torch.isfinite(maps).flatten(1).all(1)
        if not bool(finite.all()):
            raise ValueError(f"the map of {keys[int((~finite).nonzero()[0])]!r} contains NaN or inf values")
        if bool((maps < -1e-6).any() | (maps > 1 + 1e-6).any()):
            raise ValueError("maps must lie in [0, 1] (fused, min-max normalised CAMs)")
        if self._lock is None:
            raise StoreError(f"the writer of {self.path} is closed")
        added = 0
        stored = quantize(maps.detach().cpu(), self.dtype)
        for i, (key, m) in enumerate(zip(keys, stored)):
            if key in self._present:
                continue
            self._open.append((key, m, [int(v) for v in image_sizes[i]] if image_sizes is not None else None))
            self._present.add(key)
            added += 1
            if len(self._open) >= self.shard_size:
                self.flush()
        if self.pending >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        return added

    def flush(self) -> None:
        """Write the open shard (all its maps, under a new name), point this writer's index part at it, then
        delete the shard's previous file. Interrupted anywhere, the files on disk stay consistent: the next
        writer removes what no index refers to."""
        self._last_flush = time.monotonic()
        while self.pending:
            if self._flushed >= self.shard_size:  # a full shard already on disk: start the next one
                self._open_name, self._open, self._flushed = None, self._open[self._flushed :], 0
                continue
            self._write_open_shard()

    def _write_open_shard(self) -> None:
        entries = self._open[: self.shard_size]
        keys = [key for key, _, _ in entries]
        sizes = [hw for _, _, hw in entries]
        name = f"{self.writer_id}-{self._next_number:05d}.safetensors"
        while (self.path / "shards" / name).exists() or name in self._referenced:
            self._next_number += 1
            name = f"{self.writer_id}-{self._next_number:05d}.safetensors"
        self._next_number += 1
        final = self.path / "shards" / name
        blob = save(
            {"maps": torch.stack([m for _, m, _ in entries]).contiguous()},
            metadata={"keys": json.dumps(keys), "image_sizes": json.dumps(sizes)},
        )
        write_atomic(final, blob)  # not safetensors' save_file: its files are 0600
        part = new_part(self._part)
        old = self._open_name
        if old is not None:
            part["shards"].pop(old, None)
        info = {"count": len(entries), "sha256": _sha256_bytes(blob), "bytes": len(blob)}
        add_shard(part, name, info, keys, sizes)
        write_json_atomic(self._part_path, part)
        self._part, self._open_name = part, name
        self._referenced.add(name)
        self.maps_written += len(entries) - self._flushed
        self._flushed = len(entries)
        if old is not None:
            self._referenced.discard(old)
            (self.path / "shards" / old).unlink(missing_ok=True)
        if len(entries) >= self.shard_size:  # full: the next maps start a new shard
            self._open_name, self._open, self._flushed = None, self._open[len(entries) :], 0

    @property
    def pending(self) -> int:
        """Maps added but not yet written (lost if the process is killed now)."""
        return len(self._open) - self._flushed

    def __del__(self) -> None:  # dropped without close(): give the lock back, unflushed maps are lost
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()

    def close(self) -> None:
        """Flush, then release the lock (idempotent)."""
        if self._lock is None:
            return
        try:
            self.flush()
        finally:
            self._lock.release()
            self._lock = None


def _sha256_bytes(blob: bytes) -> str:
    import hashlib

    return hashlib.sha256(blob).hexdigest()

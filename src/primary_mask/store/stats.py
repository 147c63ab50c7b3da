"""Store statistics: share of positive pixels per folder (Table I) and the value histogram (Fig. 3, right)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from primary_mask.store.format import open_shard_memmap
from primary_mask.store.reader import load_index

__all__ = ["StoreStats", "empty_store_warning", "store_stats"]


@dataclass
class StoreStats:
    groups: dict[str, tuple[int, float]] = field(default_factory=dict)  # folder -> (maps, mean positive share)
    hist_edges: np.ndarray = field(default_factory=lambda: np.linspace(0, 1, 21))
    hist_counts: np.ndarray = field(default_factory=lambda: np.zeros(20, np.int64))

    @property
    def maps(self) -> int:
        return sum(n for n, _ in self.groups.values())

    def warning(self) -> str | None:
        """A sentence when the store's maps are all empty (PRLE would erase nothing), else None."""
        if self.maps and not any(share > 0 for _, share in self.groups.values()):
            return empty_store_warning(self.maps)
        return None

    def table(self) -> str:
        lines = [f"{'folder':40s} {'maps':>8s} {'positive %':>11s}", "-" * 61]
        for group, (n, share) in sorted(self.groups.items()):
            lines.append(f"{group:40s} {n:8d} {100 * share:10.2f}%")
        total = sum(n for n, _ in self.groups.values())
        if total:
            mean = sum(n * s for n, s in self.groups.values()) / total
            lines.append(f"{'all':40s} {total:8d} {100 * mean:10.2f}%")
        return "\n".join(lines)


def empty_store_warning(maps: int) -> str:
    """What to say about a store whose ``maps`` maps are all zero: the one wording of verify and stats."""
    return (
        f"every one of the {maps} maps is empty (no positive pixel): PRLE would erase nothing. The fusion "
        "thresholds (--tau1/--tau2) may keep no pixel of these CAMs, or the zoo's CAMs are flat; look at a few "
        "with primary-mask inspect, and rebake"
    )


def _group(key: str, depth: int) -> str:
    parent = PurePosixPath(key).parent.parts
    return "/".join(parent[:depth]) or "."


def store_stats(path: str | Path, depth: int = 2, bins: int = 20) -> StoreStats:
    """Vectorized over each shard: the share of pixels > 0 per map, averaged per folder (the first ``depth``
    components of the key's folder), and a histogram of the positive values over ``bins`` bins in (0, 1]."""
    root = Path(path)
    meta, keys, shards = load_index(root)
    scale = 255.0 if meta["dtype"] == "uint8" else 1.0
    stats = StoreStats(hist_edges=np.linspace(0, 1, bins + 1), hist_counts=np.zeros(bins, np.int64))
    sums: dict[str, list[float]] = {}
    rows_by_shard: dict[str, list[tuple[int, str]]] = {}
    for key, (shard, row) in keys.items():
        rows_by_shard.setdefault(shard, []).append((row, key))
    for shard, rows in rows_by_shard.items():
        mm = open_shard_memmap(root / "shards" / shard)
        idx = np.array([r for r, _ in rows])
        block = np.asarray(mm[idx], dtype=np.float32) / scale
        shares = (block > 0).mean(axis=(1, 2))
        for (_, key), share in zip(rows, shares):
            acc = sums.setdefault(_group(key, depth), [0, 0.0])
            acc[0] += 1
            acc[1] += float(share)
        stats.hist_counts += np.histogram(block[block > 0], bins=stats.hist_edges)[0]
    stats.groups = {g: (int(n), s / n) for g, (n, s) in sums.items()}
    return stats

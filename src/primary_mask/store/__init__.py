"""The fused-map store: sharded safetensors files plus JSON index parts."""

from primary_mask.store.format import StoreError
from primary_mask.store.lock import StoreLock
from primary_mask.store.merge import consolidate_index, merge_stores, rebuild_index
from primary_mask.store.reader import PrimaryMapStore, load_index
from primary_mask.store.stats import StoreStats, store_stats
from primary_mask.store.verify import verify_store
from primary_mask.store.writer import PrimaryMapWriter, quantize

__all__ = [
    "PrimaryMapStore",
    "PrimaryMapWriter",
    "StoreError",
    "StoreLock",
    "StoreStats",
    "consolidate_index",
    "load_index",
    "merge_stores",
    "quantize",
    "rebuild_index",
    "store_stats",
    "verify_store",
]

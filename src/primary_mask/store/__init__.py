"""The fused-map store: sharded safetensors files plus JSON index parts."""

from primary_mask.store.format import StoreError
from primary_mask.store.reader import PrimaryMapStore, load_index
from primary_mask.store.verify import verify_store
from primary_mask.store.writer import PrimaryMapWriter, quantize

__all__ = ["PrimaryMapStore", "PrimaryMapWriter", "StoreError", "load_index", "quantize", "verify_store"]

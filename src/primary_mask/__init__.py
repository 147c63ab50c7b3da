"""primary_mask: Primary Region Regularization (PRLE) for deepfake detectors.

Label convention everywhere: real = 0, fake = 1.
"""

from primary_mask.data.landmarks import LandmarkDataset, LandmarkFolder, with_landmarks
from primary_mask.data.wrappers import PrimaryMapDataset, keys_from_image_folder, with_primary_maps
from primary_mask.functional import primary_region_erase, refine_mask
from primary_mask.localize import PrimaryRegionLocalizer, fuse_maps
from primary_mask.loss import prle_loss_weights, prle_weighted_loss
from primary_mask.store import PrimaryMapStore, PrimaryMapWriter, StoreError, verify_store
from primary_mask.transforms import (
    BatchPrimaryRegionErase,
    EraseParams,
    LandmarkRegionErase,
    PrimaryRegionErase,
    RandomRegionErase,
    StaticRegionErase,
)
from primary_mask.tv_tensors import EraseFlag, PrimaryMap

__version__ = "0.1.0"

__all__ = [
    "BatchPrimaryRegionErase",
    "EraseFlag",
    "EraseParams",
    "LandmarkDataset",
    "LandmarkFolder",
    "LandmarkRegionErase",
    "PrimaryMap",
    "PrimaryMapDataset",
    "PrimaryMapStore",
    "PrimaryMapWriter",
    "PrimaryRegionErase",
    "PrimaryRegionLocalizer",
    "RandomRegionErase",
    "fuse_maps",
    "keys_from_image_folder",
    "primary_region_erase",
    "prle_loss_weights",
    "prle_weighted_loss",
    "refine_mask",
    "StaticRegionErase",
    "StoreError",
    "verify_store",
    "with_landmarks",
    "with_primary_maps",
]

"""primary_mask: Primary Region Regularization (PRLE) for deepfake detectors.

Label convention everywhere: real = 0, fake = 1.

The public names below are imported on first use (PEP 562), so that ``import primary_mask`` and the command
line's ``--help`` do not load torchvision models, timm, pytorch-grad-cam or matplotlib.
"""

import typing as _typing

from primary_mask._lazy import lazy_exports
from primary_mask._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from primary_mask.data.folder import deepfake_image_folder
    from primary_mask.data.landmarks import LandmarkDataset, LandmarkFolder, with_landmarks
    from primary_mask.data.wrappers import PrimaryMapDataset, keys_from_image_folder, with_primary_maps
    from primary_mask.functional import primary_region_erase, refine_mask
    from primary_mask.localize import PrimaryRegionLocalizer, fuse_maps
    from primary_mask.loss import prle_loss_weights, prle_weighted_loss
    from primary_mask.store import PrimaryMapStore, PrimaryMapWriter, StoreError, verify_store
    from primary_mask.transforms import (
        BatchPrimaryRegionErase,
        EraseParams,
        ImageOnly,
        LandmarkRegionErase,
        PrimaryRegionErase,
        RandomRegionErase,
        StaticRegionErase,
    )
    from primary_mask.tv_tensors import EraseFlag, PrimaryMap

__all__ = [
    "BatchPrimaryRegionErase",
    "EraseFlag",
    "EraseParams",
    "ImageOnly",
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
    "deepfake_image_folder",
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

# public name -> the module that defines it
_SOURCES = {
    "LandmarkDataset": "primary_mask.data.landmarks",
    "LandmarkFolder": "primary_mask.data.landmarks",
    "with_landmarks": "primary_mask.data.landmarks",
    "PrimaryMapDataset": "primary_mask.data.wrappers",
    "keys_from_image_folder": "primary_mask.data.wrappers",
    "with_primary_maps": "primary_mask.data.wrappers",
    "deepfake_image_folder": "primary_mask.data.folder",
    "primary_region_erase": "primary_mask.functional",
    "refine_mask": "primary_mask.functional",
    "PrimaryRegionLocalizer": "primary_mask.localize",
    "fuse_maps": "primary_mask.localize",
    "prle_loss_weights": "primary_mask.loss",
    "prle_weighted_loss": "primary_mask.loss",
    "PrimaryMapStore": "primary_mask.store",
    "PrimaryMapWriter": "primary_mask.store",
    "StoreError": "primary_mask.store",
    "verify_store": "primary_mask.store",
    "BatchPrimaryRegionErase": "primary_mask.transforms",
    "EraseParams": "primary_mask.transforms",
    "ImageOnly": "primary_mask.transforms",
    "LandmarkRegionErase": "primary_mask.transforms",
    "PrimaryRegionErase": "primary_mask.transforms",
    "RandomRegionErase": "primary_mask.transforms",
    "StaticRegionErase": "primary_mask.transforms",
    "EraseFlag": "primary_mask.tv_tensors",
    "PrimaryMap": "primary_mask.tv_tensors",
}
# subpackages reachable as attributes (``primary_mask.store.PrimaryMapStore``) after ``import primary_mask``
_SUBMODULES = ("data", "functional", "localize", "loss", "store", "transforms", "tv_tensors")
__getattr__, __dir__ = lazy_exports(globals(), _SOURCES, _SUBMODULES)

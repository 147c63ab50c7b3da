"""Transforms: the per-sample v2 transform, its batched device twin, and the ablation masks."""

from primary_mask.transforms.ablation import ERASE_PARTS, LandmarkRegionErase, RandomRegionErase, StaticRegionErase
from primary_mask.transforms.batch import BatchPrimaryRegionErase, EraseParams
from primary_mask.transforms.erase import MaskErase, PrimaryRegionErase
from primary_mask.transforms.image_only import ImageOnly

__all__ = [
    "ERASE_PARTS",
    "BatchPrimaryRegionErase",
    "EraseParams",
    "ImageOnly",
    "LandmarkRegionErase",
    "MaskErase",
    "PrimaryRegionErase",
    "RandomRegionErase",
    "StaticRegionErase",
]

"""Transforms: the per-sample v2 transform, its batched device twin, the ablation masks and RFM's erasing."""

from primary_mask.transforms.ablation import ERASE_PARTS, LandmarkRegionErase, RandomRegionErase, StaticRegionErase
from primary_mask.transforms.batch import BatchPrimaryRegionErase, EraseParams
from primary_mask.transforms.erase import MaskErase, PrimaryRegionErase
from primary_mask.transforms.image_only import ImageOnly
from primary_mask.transforms.rfm import BatchRFMErase, RFMRegionErase

__all__ = [
    "ERASE_PARTS",
    "BatchPrimaryRegionErase",
    "BatchRFMErase",
    "EraseParams",
    "ImageOnly",
    "LandmarkRegionErase",
    "MaskErase",
    "PrimaryRegionErase",
    "RFMRegionErase",
    "RandomRegionErase",
    "StaticRegionErase",
]

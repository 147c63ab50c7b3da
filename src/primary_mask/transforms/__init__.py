"""Transforms: the per-sample v2 transform, its batched device twin, and the ablation masks."""

from primary_mask.transforms.ablation import FACE_PARTS_68, LandmarkRegionErase, RandomRegionErase, StaticRegionErase
from primary_mask.transforms.batch import BatchPrimaryRegionErase, EraseParams
from primary_mask.transforms.erase import MaskErase, PrimaryRegionErase

__all__ = [
    "FACE_PARTS_68",
    "BatchPrimaryRegionErase",
    "EraseParams",
    "LandmarkRegionErase",
    "MaskErase",
    "PrimaryRegionErase",
    "RandomRegionErase",
    "StaticRegionErase",
]

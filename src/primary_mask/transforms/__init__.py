"""Transforms: the per-sample v2 transform and the batched device module."""

from primary_mask.transforms.batch import BatchPrimaryRegionErase, EraseParams
from primary_mask.transforms.erase import PrimaryRegionErase

__all__ = ["BatchPrimaryRegionErase", "EraseParams", "PrimaryRegionErase"]

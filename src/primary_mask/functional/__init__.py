"""Functional kernels (no randomness, no state): the building blocks of the transforms."""

from primary_mask.functional.erase import (
    FILL_MODES,
    check_fill,
    erase,
    make_fill,
    primary_region_erase,
    primary_region_mask,
    resize_maps,
)
from primary_mask.functional.refine import refine_mask

__all__ = [
    "FILL_MODES",
    "check_fill",
    "erase",
    "make_fill",
    "primary_region_erase",
    "primary_region_mask",
    "refine_mask",
    "resize_maps",
]

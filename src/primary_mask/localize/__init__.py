"""Static localization: Grad-CAMs of a detector zoo and their fusion."""

from primary_mask.localize.fusion import FUSIONS, fuse_maps

__all__ = ["FUSIONS", "fuse_maps"]

"""Static localization: Grad-CAMs of a detector zoo and their fusion."""

from primary_mask.localize.fusion import FUSIONS, fuse_maps
from primary_mask.localize.localizer import CAM_METHODS, LabelTarget, PrimaryRegionLocalizer
from primary_mask.localize.target_layers import default_target_layer
from primary_mask.localize.zoo import load_model

__all__ = [
    "CAM_METHODS",
    "FUSIONS",
    "LabelTarget",
    "PrimaryRegionLocalizer",
    "default_target_layer",
    "fuse_maps",
    "load_model",
]

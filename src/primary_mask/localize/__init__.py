"""Static localization: Grad-CAMs of a detector zoo and their fusion.

Names are imported on first use, so that ``primary_mask.localize.names`` (the choices the command line offers)
loads without torch or pytorch-grad-cam."""

import typing as _typing

from primary_mask._lazy import lazy_exports
from primary_mask.localize.names import BAND_VALUES, FUSIONS

if _typing.TYPE_CHECKING:
    from primary_mask.localize.fusion import fuse_maps
    from primary_mask.localize.localizer import CAM_METHODS, LabelTarget, PrimaryRegionLocalizer
    from primary_mask.localize.target_layers import default_target_layer
    from primary_mask.localize.zoo import load_model

__all__ = [
    "BAND_VALUES",
    "CAM_METHODS",
    "FUSIONS",
    "LabelTarget",
    "PrimaryRegionLocalizer",
    "default_target_layer",
    "fuse_maps",
    "load_model",
]

_SOURCES = {
    "CAM_METHODS": "primary_mask.localize.localizer",
    "LabelTarget": "primary_mask.localize.localizer",
    "PrimaryRegionLocalizer": "primary_mask.localize.localizer",
    "default_target_layer": "primary_mask.localize.target_layers",
    "fuse_maps": "primary_mask.localize.fusion",
    "load_model": "primary_mask.localize.zoo",
}
_SUBMODULES = ("bake", "fusion", "localizer", "names", "target_layers", "zoo")
__getattr__, __dir__ = lazy_exports(globals(), _SOURCES, _SUBMODULES)

"""Static localization: Grad-CAMs of a detector zoo and their fusion.

Names are imported on first use, so that ``primary_mask.localize.names`` (the choices the command line offers)
loads without torch or pytorch-grad-cam."""

import typing as _typing

from primary_mask._lazy import lazy_exports
from primary_mask.localize.names import BAND_VALUES, FUSIONS

if _typing.TYPE_CHECKING:
    from primary_mask.localize.fam import forgery_attention_map
    from primary_mask.localize.fusion import fuse_maps
    from primary_mask.localize.localizer import CAM_METHODS, LabelTarget, PrimaryRegionLocalizer
    from primary_mask.localize.target_layers import default_target_layer
    from primary_mask.localize.torch_cam import batch_cam
    from primary_mask.localize.zoo import load_model

__all__ = [
    "BAND_VALUES",
    "CAM_METHODS",
    "FUSIONS",
    "LabelTarget",
    "PrimaryRegionLocalizer",
    "batch_cam",
    "default_target_layer",
    "forgery_attention_map",
    "fuse_maps",
    "load_model",
]

_SOURCES = {
    "CAM_METHODS": "primary_mask.localize.localizer",
    "LabelTarget": "primary_mask.localize.localizer",
    "PrimaryRegionLocalizer": "primary_mask.localize.localizer",
    "default_target_layer": "primary_mask.localize.target_layers",
    "batch_cam": "primary_mask.localize.torch_cam",
    "forgery_attention_map": "primary_mask.localize.fam",
    "fuse_maps": "primary_mask.localize.fusion",
    "load_model": "primary_mask.localize.zoo",
}
_SUBMODULES = ("bake", "fam", "fusion", "localizer", "names", "recipe", "target_layers", "torch_cam", "zoo")
__getattr__, __dir__ = lazy_exports(globals(), _SOURCES, _SUBMODULES)

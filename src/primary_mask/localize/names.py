"""The names the localizer accepts, in a module with no imports, so that the command line can offer them as
choices without loading torch, timm or pytorch-grad-cam."""

__all__ = ["BAND_VALUES", "CAM_NAMES", "FUSIONS"]

CAM_NAMES = ("gradcam", "gradcam++", "xgradcam", "layercam")
"""Grad-CAM variants of pytorch-grad-cam, the keys of :data:`~primary_mask.localize.CAM_METHODS`."""

FUSIONS = ("average", "max", "neighboring")
"""Fusion strategies of :func:`~primary_mask.localize.fuse_maps`."""

BAND_VALUES = ("mean", "max")
"""Values of a kept band pixel in neighboring fusion (``fuse_maps(..., band_value=)``)."""

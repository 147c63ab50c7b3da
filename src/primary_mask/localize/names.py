"""The names the localizer accepts, in a module with no imports, so that the command line can offer them as
choices without loading torch, timm or pytorch-grad-cam (the defaults are ``recipe.RECIPE``)."""

__all__ = ["BAND_VALUES", "CAM_NAMES", "CAM_NORMALIZATIONS", "FUSIONS"]

CAM_NAMES = ("gradcam", "gradcam++", "xgradcam", "layercam")
"""Grad-CAM variants of pytorch-grad-cam, the keys of :data:`~primary_mask.localize.CAM_METHODS`."""

CAM_NORMALIZATIONS = ("minmax", "max")
"""How each model's CAM is scaled to [0, 1] (``PrimaryRegionLocalizer(normalize=)``): ``"minmax"`` by its own
minimum and maximum (pytorch-grad-cam's scaling), ``"max"`` the ReLU'd CAM by its own maximum (zeros stay 0)."""

FUSIONS = ("average", "max", "neighboring")
"""Fusion strategies of :func:`~primary_mask.localize.fuse_maps`."""

BAND_VALUES = ("mean", "max")
"""Values of a kept band pixel in neighboring fusion (``fuse_maps(..., band_value=)``)."""

"""The names the localizer accepts, in a module with no imports, so that the command line can offer them as
choices without loading torch, timm or pytorch-grad-cam (the defaults are ``recipe.RECIPE``)."""

__all__ = ["BAND_VALUES", "CAM_BACKENDS", "CAM_NAMES", "CAM_NORMALIZATIONS", "CAM_TARGETS", "FUSIONS"]

CAM_NAMES = ("gradcam", "gradcam++", "xgradcam", "layercam")
"""Grad-CAM variants of pytorch-grad-cam, the keys of :data:`~primary_mask.localize.CAM_METHODS`."""

CAM_BACKENDS = ("torch", "grad-cam")
"""Who computes the CAMs: ``"torch"`` (``localize.torch_cam``: batched on the device, Grad-CAM and Grad-CAM++) or
``"grad-cam"`` (pytorch-grad-cam: every method of ``CAM_NAMES``, through NumPy and OpenCV on the CPU). Their maps
agree within 1e-5; a store baked with either reads the same."""

CAM_NORMALIZATIONS = ("minmax", "max")
"""How each model's CAM is scaled to [0, 1] (``PrimaryRegionLocalizer(normalize=)``): ``"minmax"`` by its own
minimum and maximum (pytorch-grad-cam's scaling), ``"max"`` the ReLU'd CAM by its own maximum (zeros stay 0)."""

CAM_TARGETS = ("label", "fake", "both")
"""Which logit each image's CAM explains: ``"label"`` its own label's (the paper, Eq. 4-5), ``"fake"`` the fake logit
for every image, ``"both"`` the mean of the CAMs towards real and towards fake. With ``"label"`` a real's map and a
fake's differ by class, so the erase can tell the label (``primary-mask leak``)."""

FUSIONS = ("average", "max", "neighboring")
"""Fusion strategies of :func:`~primary_mask.localize.fuse_maps`."""

BAND_VALUES = ("mean", "max")
"""Values of a kept band pixel in neighboring fusion (``fuse_maps(..., band_value=)``)."""

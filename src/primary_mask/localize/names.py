"""The names the localizer accepts, in a module with no imports, so that the command line can offer them as
choices without loading torch, timm or pytorch-grad-cam."""

__all__ = ["BAND_VALUES", "CAM_NAMES", "CAM_NORMALIZATIONS", "FUSIONS", "PAPER", "RECIPE"]

CAM_NAMES = ("gradcam", "gradcam++", "xgradcam", "layercam")
"""Grad-CAM variants of pytorch-grad-cam, the keys of :data:`~primary_mask.localize.CAM_METHODS`."""

CAM_NORMALIZATIONS = ("minmax", "max")
"""How each model's CAM is scaled to [0, 1] (``PrimaryRegionLocalizer(normalize=)``): ``"minmax"`` by its own
minimum and maximum (pytorch-grad-cam's scaling), ``"max"`` the ReLU'd CAM by its own maximum (zeros stay 0)."""

FUSIONS = ("average", "max", "neighboring")
"""Fusion strategies of :func:`~primary_mask.localize.fuse_maps`."""

BAND_VALUES = ("mean", "max")
"""Values of a kept band pixel in neighboring fusion (``fuse_maps(..., band_value=)``)."""

RECIPE = {"cam": "gradcam++", "tau1": 0.5, "tau2": 0.3}
"""The localizer's and ``bake``'s defaults: the zoo recipe measured against the real manipulation of DFDC pairs
(``docs/results.md``, "The zoo recipe"). Grad-CAM++ ranked the manipulated pixels higher than Grad-CAM for every
zoo member tried, and with its broader maps tau1 0.5 / tau2 0.3 keep the fused coverage near a third of the image
(the paper's 0.3 / 0.1 gave 64%)."""

PAPER = {"cam": "gradcam", "tau1": 0.3, "tau2": 0.1}
"""The paper's settings (Grad-CAM, tau1 = 0.3; tau2 = 0.1 from the authors' release), one option away:
``bake --cam gradcam --tau1 0.3 --tau2 0.1``."""

"""``Recipe``: every setting of the static stage that changes a map, validated once, with its two instances
``RECIPE`` (the defaults of ``fuse_maps``, the localizer, bake and the command line) and ``PAPER``. No torch: the
command line reads its defaults from here."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from primary_mask.localize.names import BAND_VALUES, CAM_NAMES, CAM_NORMALIZATIONS, CAM_TARGETS, FUSIONS

__all__ = ["PAPER", "RECIPE", "Recipe", "check_fusion_params"]


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def check_fusion_params(
    tau1: float, tau2: float, lam: float, strategy: str = "neighboring", unit_range: bool = True
) -> None:
    """The one check of the fusion's numbers (Eq. 6-8): ``tau1``, ``tau2`` and ``lam`` finite, ``lam >= 0``, ``tau2 <=
    tau1`` for neighboring fusion and, with ``unit_range`` (the recipe, the localizer, bake: their CAMs are in [0, 1],
    so a threshold outside it keeps every pixel or none), ``tau1`` and ``tau2`` in [0, 1]. ``fuse_maps`` passes
    ``unit_range=False``: it fuses values outside [0, 1] by the same rules. ``ValueError`` / ``TypeError`` naming the
    argument and the range."""
    for name, value in (("tau1", tau1), ("tau2", tau2)):
        v = _finite(value, name)
        if unit_range and not 0 <= v <= 1:
            raise ValueError(f"{name} must be in [0, 1] (the fused CAMs are), got {v}")
    if strategy == "neighboring" and tau2 > tau1:
        raise ValueError(f"tau2 ({tau2}) must not exceed tau1 ({tau1})")
    if _finite(lam, "lam") < 0:
        raise ValueError(f"lam must be >= 0 (a mean absolute difference), got {lam}")


def _choice(value: str, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class Recipe:
    """How a zoo's CAMs become stored maps.

    ``cam`` (one of ``CAM_NAMES``), ``fusion`` (``FUSIONS``), ``tau1`` / ``tau2`` / ``lam`` (Eq. 6-8),
    ``band_value`` (``BAND_VALUES``, neighboring fusion only), ``normalize`` (``CAM_NORMALIZATIONS``: how each
    model's CAM is scaled to [0, 1]), ``size`` (side of the stored maps), ``input_size`` (side of the images the
    zoo sees when baking) and ``target`` (``CAM_TARGETS``: which logit each image's CAM explains). Validated when
    made: ``ValueError`` / ``TypeError`` naming the field. ``replace(**kw)`` gives a copy with some fields changed
    (validated again)."""

    cam: str = "gradcam++"
    fusion: str = "neighboring"
    tau1: float = 0.5
    tau2: float = 0.3
    lam: float = 0.15
    band_value: str = "mean"
    normalize: str = "minmax"
    size: int = 64
    input_size: int = 256
    target: str = "label"

    def __post_init__(self) -> None:
        _choice(self.cam, "cam", CAM_NAMES)
        _choice(self.target, "target", CAM_TARGETS)
        _choice(self.fusion, "fusion", FUSIONS)
        _choice(self.band_value, "band_value", BAND_VALUES)
        _choice(self.normalize, "normalize", CAM_NORMALIZATIONS)
        check_fusion_params(self.tau1, self.tau2, self.lam, self.fusion)
        for name in ("size", "input_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive number of pixels, got {value!r}")

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)

    def settings(self, input_size: bool = True) -> dict[str, Any]:
        """What the recipe adds to a store's provenance ``settings``: ``band_value`` for neighboring fusion only (the
        one it changes), ``cam_normalize`` only when not ``"minmax"`` and ``target`` only when not ``"label"`` (stores
        baked before these options existed still resume, or are refused when they differ), ``input_size`` unless
        asked not to (the localizer does not know it)."""
        out: dict[str, Any] = {"cam": self.cam, "fusion": self.fusion, "tau1": self.tau1, "tau2": self.tau2}
        out.update(lam=self.lam, size=self.size)
        if self.fusion == "neighboring":
            out["band_value"] = self.band_value
        if self.normalize != "minmax":
            out["cam_normalize"] = self.normalize
        if self.target != "label":
            out["target"] = self.target
        if input_size:
            out["input_size"] = self.input_size
        return out


RECIPE = Recipe()
"""The defaults: the zoo recipe measured against the real manipulation of DFDC pairs (``docs/results.md``, "The zoo
recipe"). Grad-CAM++ ranked the manipulated pixels higher than Grad-CAM for every zoo member tried, and with its
broader maps tau1 0.5 / tau2 0.3 keep the fused coverage near a third of the image (the paper's 0.3 / 0.1 gave
64%); a kept band pixel keeps its own mean, so rims never outrank the cores they surround."""

PAPER = Recipe(cam="gradcam", tau1=0.3, tau2=0.1, band_value="max")
"""The paper's settings: Grad-CAM, tau1 = 0.3, tau2 = 0.1 (from the authors' release), Eq. 8 literally for a kept
band pixel: ``bake --cam gradcam --tau1 0.3 --tau2 0.1 --band-value max``."""

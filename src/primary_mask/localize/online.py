"""Primary maps of the detector being trained, on its device: its own Grad-CAMs ("self-PRLE") or RFM's forgery
attention maps, for a batch, without touching the training step (see ``torch_cam`` and ``fam``)."""

from __future__ import annotations

import torch
from torch import nn

from primary_mask.localize.fam import forgery_attention_map
from primary_mask.localize.target_layers import default_target_layer
from primary_mask.localize.torch_cam import TORCH_CAMS, batch_cam

__all__ = ["ONLINE_MAPS", "online_maps"]

ONLINE_MAPS = (*TORCH_CAMS, "fam")
"""The online map kinds: the torch backend's CAMs (the names of bake's ``--cam``) and ``"fam"``."""


def online_maps(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    method: str = "gradcam++",
    layer: nn.Module | None = None,
    fake_class: int = 1,
    smooth: bool = True,
) -> torch.Tensor:
    """``(B, H, W)`` float maps >= 0 of ``images`` (normalised for ``model``) by ``model`` itself.

    ``method``: ``"gradcam"`` / ``"gradcam++"`` (each image's CAM towards its ``labels``, as the zoo's, in [0, 1];
    ``layer`` defaults to ``default_target_layer(model)``) or ``"fam"`` (RFM's map; ``smooth``: its ``cal_normfam``
    form in [0, 1], which PRLE's refinement takes; ``smooth=False``: the raw map RFM's boxes follow). The model's
    parameter ``.grad``, BatchNorm statistics and modes are left as found."""
    if method not in ONLINE_MAPS:
        raise ValueError(f"method must be one of {ONLINE_MAPS}, got {method!r}")
    if method == "fam":
        return forgery_attention_map(model, images, fake_class, smooth=smooth)
    return batch_cam(model, layer if layer is not None else default_target_layer(model), images, labels, method,
                     fake_class)  # fmt: skip

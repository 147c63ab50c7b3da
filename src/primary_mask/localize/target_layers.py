"""Which layer Grad-CAM looks at, per architecture."""

from __future__ import annotations

import warnings

from torch import nn

__all__ = ["default_target_layer"]


def default_target_layer(model: nn.Module) -> nn.Module:
    """The last spatial feature layer of a known architecture.

    - a model with a ``cam_target_layer()`` method (the project's own, e.g. F3-Net): what it returns;
    - timm ``legacy_xception``: ``act4``; timm ``efficientnet_*``: ``bn2`` (BN + activation after conv_head);
    - ``resnet*`` (timm or torchvision): ``layer4``; ``vgg*`` and torchvision ``mobilenet_v2``: ``features``;
    - anything else: the last ``nn.Conv2d``, with a warning naming it (pass ``target_layers`` to choose).
    Raises ``ValueError`` when the model has no convolution at all.
    """
    if hasattr(model, "cam_target_layer"):
        return model.cam_target_layer()
    name = type(model).__name__.lower()
    for attrs in (("conv4", "act4"), ("conv_head", "bn2"), ("layer4",), ("features",)):
        if all(hasattr(model, a) for a in attrs) and (attrs != ("features",) or "vgg" in name or "mobilenet" in name):
            return getattr(model, attrs[-1])
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(
            f"cannot pick a Grad-CAM layer for {type(model).__name__}: it has no Conv2d; pass target_layers"
        )
    warnings.warn(
        f"no known Grad-CAM layer for {type(model).__name__}; using its last Conv2d '{convs[-1][0]}' "
        "(pass target_layers=[...] to choose)",
        stacklevel=3,
    )
    return convs[-1][1]

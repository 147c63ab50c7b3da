"""Build the detector zoo from modules or ``"timm_name[:checkpoint]"`` specs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["load_model"]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    elif isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise ValueError(f"{path} holds no state dict (got {type(obj).__name__})")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_model(spec: str | nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """Return (model in eval mode, provenance dict) for an ``nn.Module`` or a ``"name[:ckpt]"`` spec.

    ``name`` is a timm model name, or ``torchvision.NAME`` for a torchvision classifier; ``ckpt`` a local state
    dict (``.pth``/``.pt`` loaded with ``weights_only=True``, or ``.safetensors``). The number of outputs (1
    logit or 2 classes) is read from the checkpoint's classifier. Without a checkpoint the model is randomly
    initialised (useful only for tests). Never downloads anything.
    """
    if isinstance(spec, nn.Module):
        return spec.eval(), {"name": type(spec).__name__, "checkpoint": None, "sha256": None}
    name, _, ckpt = spec.partition(":")
    import timm

    tv_name = name.removeprefix("torchvision.") if name.startswith("torchvision.") else None
    if tv_name is not None:
        import torchvision

        if tv_name not in torchvision.models.list_models():
            raise ValueError(f"unknown model {name!r} in --model {spec!r}: not a torchvision model name")
    elif not timm.is_model(name):
        raise ValueError(
            f"unknown model {name!r} in --model {spec!r}: not a timm model name (torchvision: torchvision.NAME)"
        )
    state = None
    info: dict[str, Any] = {"name": name, "checkpoint": ckpt or None, "sha256": None}
    num_classes = 1
    if ckpt:
        path = Path(ckpt)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} for model {name!r} does not exist")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = _state_dict(torch.load(path, map_location="cpu", weights_only=True), path)
        info["sha256"] = _hash_file(path)
        if tv_name is None:
            classifier = timm.create_model(name, pretrained=False).default_cfg.get("classifier", "fc")
            weight = state.get(f"{classifier}.weight")
        else:  # torchvision classifiers end with a Linear layer: the last 2-D weight
            weight = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2][-1:]
            weight = weight[0] if weight else None
        if weight is not None:
            num_classes = int(weight.shape[0])
    if tv_name is None:
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    else:
        import torchvision

        model = torchvision.models.get_model(tv_name, weights=None, num_classes=num_classes)
    if state is not None:
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"checkpoint {ckpt} does not fit {name}: {len(missing)} missing keys (e.g. {missing[:3]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})"
            )
    info["num_outputs"] = num_classes
    return model.eval(), info

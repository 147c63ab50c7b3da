"""Grad-CAM and Grad-CAM++ of a batch in torch only, on the images' device: the localizer's ``cam_backend="torch"``
and the online maps of a detector being trained.

pytorch-grad-cam copies activations and gradients to NumPy and resizes each CAM with OpenCV on the CPU, which caps
a GPU bake and rules it out inside a training step. This module computes the same maps (the same weights, ReLU,
per-image scaling and bilinear resize to the input size, then the same per-image scaling again) as one batched
torch computation. It takes the gradient of the targets' scores with respect to the target layer's output only
(``torch.autograd.grad``), so the model's parameter ``.grad`` is never touched, and runs the model in eval mode
(BatchNorm statistics are read, not updated; dropout is off), restoring the mode it found.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as nnf
from torch import nn

__all__ = ["TORCH_CAMS", "batch_cam", "evaluation_mode", "label_scores", "scale_per_image"]


def label_scores(outputs: torch.Tensor, labels: torch.Tensor, fake_class: int = 1) -> torch.Tensor:
    """The score each image's CAM explains, ``(B,)`` from the model's ``(B, K)`` outputs: label 1 the fake class's,
    0 the real class's, -1 the predicted class's. One logit (K = 1) scores ``fake_class`` (so +logit for that
    class, -logit for the other; |logit| for the predicted one); K logits the logit at the class's index (fake at
    ``fake_class``, real at ``1 - fake_class``; the largest for the predicted one). The rule of ``LabelTarget``."""
    labels = labels.to(outputs.device).long()
    if outputs.shape[1] == 1:
        logit = outputs[:, 0]
        sign = torch.where((labels == 1) == (fake_class == 1), 1.0, -1.0).to(logit.dtype)
        return torch.where(labels < 0, logit.abs(), logit * sign)
    index = torch.where(labels == 1, fake_class, 1 - fake_class).clamp(0, outputs.shape[1] - 1)
    chosen = outputs.gather(1, index[:, None])[:, 0]
    return torch.where(labels < 0, outputs.amax(1), chosen)


def _gradcam_weights(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    return grads.mean(dim=(2, 3))


def _gradcam_pp_weights(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay et al., Eq. 19), as pytorch-grad-cam computes it."""
    g2 = grads.pow(2)
    g3 = g2 * grads
    sum_activations = activations.sum(dim=(2, 3), keepdim=True)
    aij = g2 / (2 * g2 + sum_activations * g3 + 1e-6)
    aij = torch.where(grads != 0, aij, torch.zeros_like(aij))
    return (grads.clamp_min(0) * aij).sum(dim=(2, 3))


TORCH_CAMS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "gradcam": _gradcam_weights,
    "gradcam++": _gradcam_pp_weights,
}
"""The CAM methods of this backend: channel weights from (activations, gradients), both (B, K, h, w)."""


def scale_per_image(cams: torch.Tensor, normalize: str = "minmax") -> torch.Tensor:
    """(B, H, W) maps >= 0 scaled per image as pytorch-grad-cam's ``scale_cam_image`` does (``"minmax"``: minus its
    minimum, divided by 1e-7 + the new maximum) or by its own maximum (``"max"``: zeros stay 0, an all-zero map
    stays 0)."""
    flat = cams.flatten(1)
    if normalize == "max":
        top = flat.amax(1, keepdim=True)
        return torch.where(top > 0, flat / top.clamp_min(torch.finfo(flat.dtype).tiny), 0.0).reshape(cams.shape)
    shifted = flat - flat.amin(1, keepdim=True)
    return (shifted / (1e-7 + shifted.amax(1, keepdim=True))).reshape(cams.shape)


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode inside the block, every submodule's own mode restored after (a training loop's model
    stays in training mode; BatchNorm statistics are not updated inside)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def batch_cam(
    model: nn.Module,
    layer: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    method: str = "gradcam++",
    fake_class: int = 1,
    normalize: str = "minmax",
    size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """CAMs ``(B, H, W)`` float32 in [0, 1] of ``images`` (B, C, H, W) normalised for ``model``, on their device.

    ``layer``: the target layer (``default_target_layer``); ``labels`` (B,) 0 / 1 / -1 (:func:`label_scores`;
    None: the predicted class); ``method``: a key of :data:`TORCH_CAMS`; ``normalize``: ``"minmax"`` (pytorch-grad-
    cam's) or ``"max"``; ``size``: the output's (H, W) (default: the images'). Equal to pytorch-grad-cam's
    ``GradCAM`` / ``GradCAMPlusPlus`` output for the same model, layer and targets (``"minmax"``), and to the
    localizer's max-scaled variant (``"max"``). The parameters' ``.grad`` and the model's modes are left as found.
    """
    if method not in TORCH_CAMS:
        raise ValueError(f"the torch CAM backend computes {tuple(TORCH_CAMS)}, not {method!r}")
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float (B, C, H, W) tensor, got {tuple(images.shape)} {images.dtype}")
    b = images.shape[0]
    labels = torch.full((b,), -1) if labels is None else torch.as_tensor(labels).flatten()
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with evaluation_mode(model), torch.enable_grad():
            x = images.detach().requires_grad_(True)  # the layer's output needs a graph even for a frozen model
            outputs = model(x)
            if outputs.ndim == 1:
                outputs = outputs[:, None]
            activations = captured[-1]
            (grads,) = torch.autograd.grad(label_scores(outputs, labels, fake_class).sum(), activations)
    finally:
        handle.remove()
    activations, grads = activations.detach().float(), grads.detach().float()
    weights = TORCH_CAMS[method](activations, grads)
    cams = (weights[:, :, None, None] * activations).sum(1).clamp_min(0)
    cams = scale_per_image(cams, normalize)
    target = tuple(size) if size is not None else tuple(images.shape[-2:])
    if tuple(cams.shape[-2:]) != target:
        cams = nnf.interpolate(cams[:, None], size=target, mode="bilinear", align_corners=False)[:, 0]
    return scale_per_image(cams.clamp_min(0), normalize)  # the aggregation over (one) layer: ReLU, scale again

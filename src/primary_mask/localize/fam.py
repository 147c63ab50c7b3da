"""RFM's forgery attention map (Wang & Deng, "Representative Forgery Mining for Fake Face Detection", CVPR 2021):
how much each input pixel moves the detector's fake-minus-real score, batched on the device.

``FAM(x) = max over channels of |d(z_fake - z_real) / dx|`` for a two-logit detector, ``|dz / dx|`` for a one-logit
one (z: the fake logit). Computed in eval mode (every module's mode restored), with the gradient taken with respect
to the input only: the training step's parameter ``.grad``, BatchNorm statistics and dropout are left as found.
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn

from primary_mask.localize.torch_cam import evaluation_mode, scale_per_image

__all__ = ["forgery_attention_map"]


def forgery_attention_map(
    model: nn.Module, images: torch.Tensor, fake_class: int = 1, smooth: bool = False
) -> torch.Tensor:
    """``(B, H, W)`` float32 FAMs of ``images`` (B, C, H, W), normalised for ``model``, on their device.

    ``fake_class``: the fake logit's index (two logits) or, for one logit, 1 when a positive logit means fake.
    ``smooth=False``: the raw map, whose ranking RFM's erasing follows. ``smooth=True``: RFM's ``cal_normfam``
    (bilinear down to half size and back up, then each map min-max scaled to [0, 1]), the form PRLE's refinement
    (Eq. 9-10) takes."""
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float (B, C, H, W) tensor, got {tuple(images.shape)} {images.dtype}")
    with evaluation_mode(model), torch.enable_grad():
        x = images.detach().requires_grad_(True)
        outputs = model(x)
        outputs = outputs[:, None] if outputs.ndim == 1 else outputs
        if outputs.shape[1] == 1:
            score = outputs[:, 0] * (1.0 if fake_class == 1 else -1.0)
        else:
            score = outputs[:, fake_class] - outputs[:, 1 - fake_class]
        (grads,) = torch.autograd.grad(score.sum(), x)
    fam = grads.detach().abs().amax(dim=1).float()
    if not smooth:
        return fam
    h, w = fam.shape[-2:]
    half = nnf.interpolate(fam[:, None], size=(max(1, h // 2), max(1, w // 2)), mode="bilinear", align_corners=False)
    back = nnf.interpolate(half, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    return scale_per_image(back.clamp_min(0), "minmax")

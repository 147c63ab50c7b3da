"""Eq. 13: weight the loss of erased samples by gamma."""

from __future__ import annotations

import torch

__all__ = ["prle_loss_weights", "prle_weighted_loss"]


def prle_loss_weights(applied: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Per-sample weights of Eq. 13: ``gamma`` where the sample was erased (q = 0), 1 where it was not.

    ``applied``: (B,) bool tensor (e.g. ``EraseParams.applied``). Returns a float32 (B,) tensor on its device.
    """
    if not isinstance(applied, torch.Tensor) or applied.ndim != 1:
        raise ValueError("applied must be a (B,) bool tensor")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    one = torch.ones(applied.shape, dtype=torch.float32, device=applied.device)
    return torch.where(applied.bool(), one * float(gamma), one)


def prle_weighted_loss(per_sample_loss: torch.Tensor, applied: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Mean over the batch of ``w_i * loss_i`` with the Eq. 13 weights; ``per_sample_loss`` is (B,).

    Use a criterion with ``reduction="none"``, e.g.
    ``prle_weighted_loss(F.binary_cross_entropy_with_logits(logits, y, reduction="none"), params.applied, 1.0)``.
    """
    if per_sample_loss.shape != applied.shape:
        raise ValueError(
            f"per_sample_loss {tuple(per_sample_loss.shape)} and applied {tuple(applied.shape)} must both be (B,)"
        )
    weights = prle_loss_weights(applied, gamma).to(per_sample_loss.dtype)
    return (per_sample_loss * weights).mean()

"""Eq. 13: weight the loss of erased samples by gamma."""

from __future__ import annotations

import torch

__all__ = ["prle_loss_weights", "prle_weighted_loss"]


def _check_erased(erased: torch.Tensor) -> torch.Tensor:
    if not isinstance(erased, torch.Tensor) or erased.ndim != 1:
        raise ValueError("erased must be a (B,) bool tensor")
    return erased


def prle_loss_weights(erased: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Per-sample weights of Eq. 13: ``gamma`` where the sample was erased (q = 0), 1 where it was not.

    ``erased``: (B,) bool tensor (``EraseParams.erased``, or the flags a wrapper returns with
    ``return_erased=True``). Returns a float32 (B,) tensor on its device.
    """
    erased = _check_erased(erased)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    one = torch.ones(erased.shape, dtype=torch.float32, device=erased.device)
    return torch.where(erased.bool(), one * float(gamma), one)


def prle_weighted_loss(per_sample_loss: torch.Tensor, erased: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Mean over the batch of ``w_i * loss_i`` with the Eq. 13 weights; ``per_sample_loss`` is (B,).

    Use a criterion with ``reduction="none"``, e.g.
    ``prle_weighted_loss(F.binary_cross_entropy_with_logits(logits, y, reduction="none"), params.erased, 1.0)``.
    """
    erased = _check_erased(erased)
    if per_sample_loss.shape != erased.shape:
        raise ValueError(
            f"per_sample_loss {tuple(per_sample_loss.shape)} and erased {tuple(erased.shape)} must both be (B,)"
        )
    weights = prle_loss_weights(erased, gamma).to(per_sample_loss.dtype)
    return (per_sample_loss * weights).mean()

"""``EraseFlag``: a tv_tensor that records, through a v2 pipeline, whether an erase transform erased the sample."""

from __future__ import annotations

import torch
from torchvision import tv_tensors

__all__ = ["EraseFlag"]


class EraseFlag(tv_tensors.TVTensor):
    """A 0-d bool tv_tensor. Put ``EraseFlag()`` (False) into a sample; every erase transform of this library
    (:class:`~primary_mask.PrimaryRegionErase` and the ablation masks) returns ``EraseFlag(True)`` in its place
    when it erased at least one pixel, and passes it through otherwise. Other v2 transforms pass it through
    unchanged (no kernel is registered for it). ``bool(flag)`` reads it; ``default_collate`` stacks flags into a
    ``(B,)`` bool tensor: the ``q = 0`` samples of Eq. 13 for :func:`~primary_mask.prle_weighted_loss`.
    """

    def __new__(cls, value: bool = False) -> EraseFlag:
        return torch.tensor(bool(value)).as_subclass(cls)

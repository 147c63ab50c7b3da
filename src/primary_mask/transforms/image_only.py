"""``ImageOnly``: run a one-argument image transform (timm's ``create_transform``, a v1 ``Compose``) inside a v2
pipeline that also carries a map, landmarks or a flag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2._utils import is_pure_tensor

__all__ = ["ImageOnly"]


class ImageOnly(torch.nn.Module):
    """Apply ``transform`` to the image of a sample and pass every other entry through unchanged.

    Called as ``ImageOnly(t)(image, *others)`` it returns ``(t(image), *others)``; called on one input, it returns
    ``t(input)``. The image is the first positional input (what :func:`~primary_mask.with_primary_maps` and
    :func:`~primary_mask.with_landmarks` pass first). Use it for transforms that take only an image, e.g. timm's::

        v2.Compose([PrimaryRegionErase(0.5, (0.5, 1.0)), ImageOnly(timm.data.create_transform(224, is_training=True))])

    Such transforms do not move the map, so place ``ImageOnly`` after every transform that needs the map (the
    erase): the erased pixels then travel with the image through the image-only crop and flip. Raises
    ``TypeError`` when the first input is not an image (PIL, ``tv_tensors.Image`` or a plain tensor).
    """

    def __init__(self, transform: Callable[[Any], Any]) -> None:
        super().__init__()
        self.transform = transform

    def forward(self, *inputs: Any) -> Any:
        if not inputs:
            raise TypeError("ImageOnly needs at least the image")
        image, *others = inputs
        if not (isinstance(image, (PIL.Image.Image, tv_tensors.Image)) or is_pure_tensor(image)):
            raise TypeError(f"ImageOnly expects the image first, got {type(image).__name__}")
        out = self.transform(image)
        return (out, *others) if others else out

    def extra_repr(self) -> str:
        return f"transform={self.transform!r}"

"""``BatchPrimaryRegionErase``: PRLE on a whole (B, C, H, W) batch on its device, kornia-style."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from primary_mask._checks import check_image_batch
from primary_mask.functional.erase import Fill, primary_region_erase
from primary_mask.transforms.settings import EraseSettings

__all__ = ["EraseParams", "BatchPrimaryRegionErase"]


@dataclass(frozen=True)
class EraseParams:
    """Per-sample draws of one batch: ``selected`` (B,) bool (the Bernoulli(p) decision) and ``alpha`` (B,)
    float64. After a forward pass, ``erased`` (B,) bool says which images really lost pixels (selected, and a
    non-empty refined mask): use it for the Eq. 13 weight. Replaying params re-draws nothing."""

    selected: torch.Tensor
    alpha: torch.Tensor
    erased: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> EraseParams:
        erased = None if self.erased is None else self.erased.to(device)
        return EraseParams(self.selected.to(device), self.alpha.to(device), erased)


class BatchPrimaryRegionErase(nn.Module):
    """Erase primary regions of a batch on any device, with a per-sample decision and alpha.

    ``forward(images, maps, params=None, return_params=False)``:

    - ``images``: ``(B, C, H, W)`` uint8 or float tensor on any device.
    - ``maps``: ``(B, h, w)`` or ``(B, 1, h, w)`` maps (uint8 or float, finite, >= 0), resized bilinearly to
      ``(H, W)``; they are moved to the images' device.
    - ``params``: an :class:`EraseParams` to replay (e.g. ``module.last_params``); drawn with
      :meth:`draw_params` when omitted.
    - returns the erased batch (a new tensor unless ``inplace=True``), and ``(out, params)`` with
      ``return_params=True``; ``params.erased`` feeds :func:`~primary_mask.prle_loss_weights` (Eq. 13).

    Sample ``i`` equals :class:`~primary_mask.PrimaryRegionErase` applied to it with the same decision and
    alpha: both reach :func:`~primary_mask.functional.primary_region_erase`'s kernels. Parameters and noise fills
    are drawn on the images' device from ``generator``: the one given to ``forward``, else the one given to
    ``__init__`` (where :class:`~primary_mask.PrimaryRegionErase` takes it), else torch's global RNG.
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha_range: Sequence[float] = (0.0, 1.0),
        fill: Fill = 0,
        inplace: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.settings = EraseSettings(p, alpha_range, fill)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        self.inplace = bool(inplace)
        self.last_params: EraseParams | None = None

    @property
    def p(self) -> float:
        return self.settings.p

    @property
    def alpha_range(self) -> tuple[float, float]:
        return self.settings.alpha_range

    @property
    def fill(self) -> Fill:
        return self.settings.fill

    def extra_repr(self) -> str:
        return f"{self.settings.describe()}, inplace={self.inplace}"

    def draw_params(
        self,
        batch_size: int,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> EraseParams:
        """Draw ``selected ~ Bernoulli(p)`` and ``alpha ~ U(alpha_range)`` for each of ``batch_size`` samples."""
        generator = generator if generator is not None else self.generator
        gen_device = generator.device if generator is not None else device
        draws = torch.rand((2, batch_size), generator=generator, device=gen_device, dtype=torch.float64)
        return EraseParams(selected=(draws[0] < self.p).to(device), alpha=self.settings.alpha(draws[1]).to(device))

    def forward(
        self,
        images: torch.Tensor,
        maps: torch.Tensor,
        params: EraseParams | None = None,
        return_params: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, EraseParams]:
        check_image_batch(images)
        generator = generator if generator is not None else self.generator
        b = images.shape[0]
        if params is None:
            params = self.draw_params(b, images.device, generator)
        elif params.selected.shape != (b,) or params.alpha.shape != (b,):
            raise ValueError(
                f"params were drawn for {tuple(params.selected.shape)} samples but images has batch size {b}"
            )
        params = params.to(images.device)
        out, masks = primary_region_erase(
            images,
            maps,
            params.alpha,
            self.fill,
            selected=params.selected,
            generator=generator,
            inplace=self.inplace,
            return_masks=True,
        )
        params = EraseParams(params.selected, params.alpha, erased=masks.flatten(1).any(dim=1))
        self.last_params = params
        return (out, params) if return_params else out

"""Does a trained detector read the hole? The response of a detector to the shape of an erase, with no forgery in it.

:mod:`~primary_mask.quality.leak` measures whether the erase masks *could* tell the label; this measures whether a
detector trained with them *does* use it (issue #26; the "second shortcut" of issue #23). Each real image is
erased twice with the same alpha: with its own map (the hole PRLE gives reals) and with the map of a fake made
from it (the hole PRLE gives fakes; the pair shares one face). A real carries no forgery trace anywhere, so the
two erased images differ only in where the hole is: a detector whose fake score rises with the fake's hole has
learnt the hole as a cue. A detector that never saw holes, or saw the same ones on both classes (the paired rule),
should show no such rise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from primary_mask.data.images import IMAGENET_MEAN, IMAGENET_STD
from primary_mask.functional.erase import Fill, erase, make_fill, primary_region_mask
from primary_mask.metrics import binary_metrics

__all__ = ["HoleResponse", "fake_probability", "hole_response", "hole_scores"]


def fake_probability(logits: torch.Tensor) -> torch.Tensor:
    """(B,) probability of fake from a detector's output: ``(B,)`` or ``(B, 1)`` fake logits (sigmoid), or ``(B, 2)``
    real/fake logits (softmax of column 1). Other shapes: ``ValueError``."""
    logits = logits.float()
    if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
        return torch.sigmoid(logits.reshape(-1))
    if logits.ndim == 2 and logits.shape[1] == 2:
        return torch.softmax(logits, dim=1)[:, 1]
    raise ValueError(f"a detector's output must be (B,), (B, 1) or (B, 2) logits, got {tuple(logits.shape)}")


@torch.no_grad()
def hole_scores(
    model: nn.Module,
    images: torch.Tensor,
    own_maps: torch.Tensor,
    swapped_maps: torch.Tensor,
    alpha: torch.Tensor,
    fill: Fill = 0,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``model``'s fake probability for ``images`` (B, 3, H, W) uint8 as they are, erased with ``own_maps`` and erased
    with ``swapped_maps`` ((B, h, w) >= 0, resized to the image), each image with one ``alpha`` (B,) for both erases
    (Eq. 9-11, as PRLE's loader path erases: on the uint8 image, then scaled to [0, 1] and normalised with ``mean``
    / ``std``). Three (B,) float tensors on the images' device: plain, own, swapped."""
    size = tuple(images.shape[-2:])
    fill_values = make_fill(images, fill)
    own = erase(images, primary_region_mask(own_maps.to(images.device), size, alpha), fill_values)
    swapped = erase(images, primary_region_mask(swapped_maps.to(images.device), size, alpha), fill_values)
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    batch = torch.cat([images, own, swapped]).float().div_(255).sub_(m).div_(s)
    return fake_probability(model(batch)).split(images.shape[0])


@dataclass
class HoleResponse:
    """Per real image (``keys``): the detector's fake probability ``plain`` (not erased), ``own`` (erased with its own
    map) and ``swapped`` (erased with its fake's map, the same alpha). Summaries: ``effect`` (mean of swapped - own)
    with ``effect_ci`` (half-width of its 95% normal interval), ``share_up`` (share of reals whose score rose) and
    ``auc`` (swapped vs own scores as two classes: 0.5 when the hole changes nothing)."""

    keys: list[str]
    plain: np.ndarray
    own: np.ndarray
    swapped: np.ndarray

    @property
    def effect(self) -> float:
        return float(np.mean(self.swapped - self.own))

    @property
    def effect_ci(self) -> float:
        n = len(self.keys)
        return 1.96 * float(np.std(self.swapped - self.own, ddof=1)) / math.sqrt(n) if n > 1 else math.nan

    @property
    def share_up(self) -> float:
        return float(np.mean(self.swapped > self.own))

    @property
    def auc(self) -> float:
        labels = np.r_[np.zeros(len(self.own)), np.ones(len(self.swapped))]
        return float(binary_metrics(labels, np.r_[self.own, self.swapped])["auc"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "reals": len(self.keys),
            "plain": float(np.mean(self.plain)),
            "own": float(np.mean(self.own)),
            "swapped": float(np.mean(self.swapped)),
            "effect": self.effect,
            "effect_ci95": self.effect_ci,
            "share_up": self.share_up,
            "auc": self.auc,
        }

    def summary(self) -> str:
        d = self.as_dict()
        lo, hi = d["effect"] - d["effect_ci95"], d["effect"] + d["effect_ci95"]
        reading = (
            "the fake's hole makes a real look fake: the detector reads the hole" if lo > 0
            else "the fake's hole makes a real look more real" if hi < 0
            else "the hole's place does not move the score (within noise)"
        )  # fmt: skip
        return (
            f"hole response over {d['reals']} reals: mean fake probability {d['plain']:.3f} not erased, "
            f"{d['own']:.3f} with their own map's hole, {d['swapped']:.3f} with their fake's; "
            f"swapped - own {d['effect']:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}), higher for {100 * d['share_up']:.0f}%"
            f" of reals, AUC {d['auc']:.3f} ({reading})"
        )


def hole_response(
    model: nn.Module,
    reals: Any,
    own_maps: Any,
    swapped_maps: Any,
    alpha_range: Sequence[float] = (0.5, 1.0),
    fill: Fill = 0,
    size: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = True,
    **normalise: Any,
) -> HoleResponse:
    """:func:`hole_scores` over ``reals`` (a :class:`~primary_mask.data.DeepfakeImageDataset` of real images, or any
    dataset of ``(uint8 image, label)`` with a ``keys`` list), each real's map from ``own_maps`` and ``swapped_maps``
    (map sources keyed like it: a store, and e.g. a :class:`~primary_mask.data.pairing.PairedMaps` over it), checked
    against the image as training checks them (``with_primary_maps``). Images are resized to ``size`` x ``size``
    (the detector's input) first; alpha ~ U(``alpha_range``) per real, seeded. ``normalise``: ``mean`` / ``std``
    for :func:`hole_scores`. A real without a map in either source: ``KeyError`` naming it."""
    from torch.utils.data import DataLoader
    from torchvision.transforms import v2
    from tqdm import tqdm

    from primary_mask.data.wrappers import with_primary_maps
    from primary_mask.transforms.settings import EraseSettings

    settings = EraseSettings(1.0, alpha_range, fill)
    resize = v2.Resize((size, size), antialias=True) if size else v2.Identity()
    keys = list(reals.keys)
    own_set = with_primary_maps(reals, own_maps, keys=keys, transform=resize, return_map=True)
    swapped_set = with_primary_maps(reals, swapped_maps, keys=keys, transform=resize, return_map=True)
    generator = torch.Generator().manual_seed(seed)
    alphas = settings.alpha(torch.rand(len(keys), generator=generator, dtype=torch.float64))
    model = model.eval().to(device)
    scores: list[list[torch.Tensor]] = [[], [], []]
    loaders = zip(DataLoader(own_set, batch_size=batch_size), DataLoader(swapped_set, batch_size=batch_size))
    start = 0
    with tqdm(total=len(keys), desc="hole response", unit="img", disable=not progress, dynamic_ncols=True) as bar:
        for (images, labels, own), (_, _, swapped) in loaders:
            if bool((labels != 0).any()):
                raise ValueError("hole_response measures reals only: the dataset holds a fake")
            b = images.shape[0]
            out = hole_scores(
                model, images.to(device), own[:, 0], swapped[:, 0], alphas[start : start + b].to(device),
                settings.fill, **normalise,
            )  # fmt: skip
            for bucket, values in zip(scores, out):
                bucket.append(values.cpu())
            start += b
            bar.update(b)
    plain, own, swapped = (torch.cat(bucket).numpy() for bucket in scores)
    return HoleResponse(keys, plain, own, swapped)

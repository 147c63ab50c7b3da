"""Does a trained detector read the hole? The response of a detector to an erase on images with no forgery in them.

:mod:`~primary_mask.quality.leak` measures whether the erase masks *could* tell the label; this measures whether a
detector trained with them *does* use it (issue #26; the "second shortcut" of issue #23). Each real image is
erased with one alpha three ways: with its own map (the hole PRLE gives reals), with the map of a fake made from it
(the hole PRLE gives fakes; the pair shares one face), and with the fake's map cut to the own hole's pixel count
(the fake's place at the real's size). A real carries no forgery trace anywhere, so the erased images differ only
in where the hole is and how large: a detector whose fake score rises with the fake's hole has learnt the hole as a
cue, and the size-matched erase tells place from size. A detector that never saw holes, or saw the same ones on
both classes (the paired rule), should show no such rise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from primary_mask._checks import check_image_batch
from primary_mask.data.images import IMAGENET_MEAN, IMAGENET_STD
from primary_mask.functional.erase import Fill, check_fill, erase, make_fill, resize_maps
from primary_mask.functional.refine import refine_mask
from primary_mask.metrics import binary_metrics

__all__ = ["HoleBatch", "HoleResponse", "fake_probability", "hole_response", "hole_scores"]


def fake_probability(logits: torch.Tensor) -> torch.Tensor:
    """(B,) probability of fake from a detector's output: ``(B,)`` or ``(B, 1)`` fake logits (sigmoid), or ``(B, 2)``
    real/fake logits (softmax of column 1). Other shapes: ``ValueError``."""
    logits = logits.float()
    if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
        return torch.sigmoid(logits.reshape(-1))
    if logits.ndim == 2 and logits.shape[1] == 2:
        return torch.softmax(logits, dim=1)[:, 1]
    raise ValueError(f"a detector's output must be (B,), (B, 1) or (B, 2) logits, got {tuple(logits.shape)}")


class HoleBatch(NamedTuple):
    """(B,) per image: the fake probabilities ``plain`` (not erased), ``own`` (its own map's hole), ``swapped`` (its
    fake's map's hole) and ``matched`` (its fake's map, as many pixels as the own hole); the pixel counts
    ``own_pixels`` and ``swapped_pixels`` of the two holes; ``identical`` (the two holes are the same pixels)."""

    plain: torch.Tensor
    own: torch.Tensor
    swapped: torch.Tensor
    matched: torch.Tensor
    own_pixels: torch.Tensor
    swapped_pixels: torch.Tensor
    identical: torch.Tensor


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
) -> HoleBatch:
    """``model``'s fake probability for ``images`` (B, 3, H, W) uint8, as they are and erased (Eq. 9-11) with
    ``own_maps`` and ``swapped_maps`` ((B, h, w) >= 0, resized bilinearly to the image), each image with one ``alpha``
    (B,) in [0, 1] for both, and with ``swapped_maps`` cut to the own hole's pixel count (all its positive pixels when
    it has fewer). The erase is PRLE's loader path: on the uint8 image with ``fill``, then scaled to [0, 1] and
    normalised with ``mean`` / ``std``; ``model`` takes that batch. Returns a :class:`HoleBatch` on the images'
    device. ``TypeError`` / ``ValueError`` naming the argument for images that are not uint8 (B, 3, H, W), maps
    not (B, h, w), or a bad fill or alpha."""
    check_image_batch(images)
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 (the loader's images before scaling), got {images.dtype}")
    b = images.shape[0]
    for name, maps in (("own_maps", own_maps), ("swapped_maps", swapped_maps)):
        if not isinstance(maps, torch.Tensor) or maps.ndim != 3 or maps.shape[0] != b:
            shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
            raise ValueError(f"{name} must be ({b}, h, w) maps, one per image, got {shape}")
    size = tuple(images.shape[-2:])
    fill_values = make_fill(images, check_fill(fill))
    own_mask = refine_mask(resize_maps(own_maps.to(images.device), size), alpha)
    resized = resize_maps(swapped_maps.to(images.device), size)
    swapped_mask = refine_mask(resized, alpha)
    own_pixels = own_mask.flatten(1).sum(1)
    positive = (resized > 0).flatten(1).sum(1)
    # floor((k + 0.5) / |V| * |V|) = k: the k most attended pixels of the fake's map, k the own hole's count
    alpha_matched = ((own_pixels.double() + 0.5) / positive.clamp_min(1).double()).clamp(max=1.0)
    matched_mask = refine_mask(resized, alpha_matched)
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    erased = [erase(images, mask, fill_values) for mask in (own_mask, swapped_mask, matched_mask)]
    batch = torch.cat([images, *erased]).float().div_(255).sub_(m).div_(s)
    plain, own, swapped, matched = fake_probability(model(batch)).split(b)
    identical = (own_mask == swapped_mask).flatten(1).all(1)
    return HoleBatch(plain, own, swapped, matched, own_pixels, swapped_mask.flatten(1).sum(1), identical)


@dataclass
class HoleResponse:
    """Per real image (``keys``), the arrays of :class:`HoleBatch` and the image's pixel count ``pixels``.
    Summaries: ``effect`` (mean of swapped - own) with ``effect_ci`` (half-width of its 95% normal interval),
    ``place_effect`` (mean of matched - own: the fake's place at the real's size), ``share_up`` (share of reals
    whose score rose with the fake's hole) and ``auc`` (swapped vs own scores as two classes: 0.5 when the hole
    changes nothing)."""

    keys: list[str]
    plain: np.ndarray
    own: np.ndarray
    swapped: np.ndarray
    matched: np.ndarray
    own_pixels: np.ndarray
    swapped_pixels: np.ndarray
    identical: np.ndarray
    pixels: int

    @staticmethod
    def _ci(diff: np.ndarray) -> float:
        return 1.96 * float(np.std(diff, ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan

    @property
    def effect(self) -> float:
        return float(np.mean(self.swapped - self.own))

    @property
    def effect_ci(self) -> float:
        return self._ci(self.swapped - self.own)

    @property
    def place_effect(self) -> float:
        return float(np.mean(self.matched - self.own))

    @property
    def place_effect_ci(self) -> float:
        return self._ci(self.matched - self.own)

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
            "matched": float(np.mean(self.matched)),
            "effect": self.effect,
            "effect_ci95": self.effect_ci,
            "place_effect": self.place_effect,
            "place_effect_ci95": self.place_effect_ci,
            "share_up": self.share_up,
            "auc": self.auc,
            "own_share": float(np.mean(self.own_pixels)) / self.pixels,
            "swapped_share": float(np.mean(self.swapped_pixels)) / self.pixels,
            "identical": int(np.sum(self.identical)),
        }

    def summary(self) -> str:
        d = self.as_dict()
        lo, hi = d["effect"] - d["effect_ci95"], d["effect"] + d["effect_ci95"]
        reading = (
            "the fake's hole makes a real look fake: the detector reads the hole" if lo > 0
            else "the fake's hole makes a real look more real" if hi < 0
            else "the hole does not move the score (within noise)"
        )  # fmt: skip
        text = (
            f"hole response over {d['reals']} reals: mean fake probability {d['plain']:.3f} not erased, "
            f"{d['own']:.3f} with their own map's hole ({100 * d['own_share']:.0f}% of the image), {d['swapped']:.3f} "
            f"with their fake's ({100 * d['swapped_share']:.0f}%), {d['matched']:.3f} with their fake's at the own "
            f"hole's size; fake's - own {d['effect']:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}), higher for "
            f"{100 * d['share_up']:.0f}% of reals, AUC {d['auc']:.3f} ({reading}); at the own size "
            f"{d['place_effect']:+.3f} ± {d['place_effect_ci95']:.3f}"
        )
        if d["identical"]:
            text += f"; {d['identical']} reals had the same hole both ways (no fake's map of their own?)"
        return text


def hole_response(
    model: nn.Module,
    reals: Any,
    own_maps: Any,
    swapped_maps: Any,
    alpha_range: Sequence[float],
    fill: Fill = 0,
    size: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = True,
    **normalise: Any,
) -> HoleResponse:
    """:func:`hole_scores` over ``reals`` (a :class:`~primary_mask.data.DeepfakeImageDataset` of real images, or any
    dataset of ``(uint8 image, label)`` with a ``keys`` list), each real's maps from ``own_maps`` and ``swapped_maps``
    (map sources keyed like it: a store, and e.g. a :class:`~primary_mask.data.pairing.PairedMaps` over it), checked
    against the image as training checks them (``with_primary_maps``). Images are resized to ``size`` x ``size``
    (the detector's input) first; alpha ~ U(``alpha_range``) per real, seeded. ``normalise``: ``mean`` / ``std``
    for :func:`hole_scores`. ``model`` is put in eval mode on ``device``. A real without a map in either source:
    ``KeyError`` naming it; a fake in ``reals``: ``ValueError``. A real whose swapped source answers with its own
    map is measured as given and counted in ``identical``."""
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
    parts: list[HoleBatch] = []
    pixels = start = 0
    loaders = zip(DataLoader(own_set, batch_size=batch_size), DataLoader(swapped_set, batch_size=batch_size))
    with tqdm(total=len(keys), desc="hole response", unit="img", disable=not progress, dynamic_ncols=True) as bar:
        for (images, labels, own), (_, _, swapped) in loaders:
            if bool((labels != 0).any()):
                raise ValueError("hole_response measures reals only: the dataset holds a fake")
            b = images.shape[0]
            batch = hole_scores(
                model, images.to(device), own[:, 0], swapped[:, 0], alphas[start : start + b].to(device),
                settings.fill, **normalise,
            )  # fmt: skip
            parts.append(HoleBatch(*(t.cpu() for t in batch)))
            pixels = images.shape[-2] * images.shape[-1]
            start += b
            bar.update(b)
    fields = {name: torch.cat([getattr(p, name) for p in parts]).numpy() for name in HoleBatch._fields}
    return HoleResponse(keys, pixels=pixels, **fields)

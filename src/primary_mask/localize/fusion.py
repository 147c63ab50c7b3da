"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf

from primary_mask.localize.names import BAND_VALUES, FUSIONS
from primary_mask.localize.recipe import RECIPE, check_fusion_params

__all__ = ["BAND_VALUES", "FUSIONS", "fuse_maps"]


def _neighboring(cams: torch.Tensor, tau1: float, tau2: float, lam: float, band_value: str) -> torch.Tensor:
    """Eq. 6-8 with the release's band on (T, B, H, W) maps; returns (B, H, W).

    Only the band pixels (tau2 <= s <= tau1) need their neighbourhood. The maps get a one-pixel border so the
    3x3 neighbours of every pixel sit at fixed offsets of its flat index; the border is masked out of the sums
    and the maximum, so its value never matters. Each band pixel's (T, 9) neighbourhood is gathered at once
    (no loop over pixels; the loop over the T centres A_k(x) keeps memory at one gathered copy).
    """
    t, b, h, w = cams.shape
    row = w + 2
    padded = nnf.pad(cams, (1, 1, 1, 1)).view(t, -1)  # (T, P): P = B * (H+2) * (W+2)
    inside = nnf.pad(cams.new_ones(b, h, w, dtype=torch.bool), (1, 1, 1, 1)).view(-1)  # (P,): not the border
    s = padded.sum(0) / t
    out = torch.where(s > tau1, s, 0.0)  # Eq. 6: s where s > tau1, else 0
    band = torch.nonzero(inside & (s >= tau2) & (s <= tau1)).squeeze(1)  # (n,) flat indices
    if band.numel():
        offsets = torch.tensor([dy * row + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)], device=cams.device)
        neighbours = band + offsets.unsqueeze(1)  # (9, n); row 4 is the pixel itself
        values = padded[:, neighbours]  # (T, 9, n): A_j(n) for n in the 3x3 neighbourhood
        counted = inside[neighbours]  # (9, n): the neighbours inside the image, N(x)
        threshold = counted.sum(0).to(cams.dtype) * lam  # |N(x)| * lam
        keep = torch.zeros_like(band, dtype=torch.bool)
        for centre in values[:, 4]:  # Eq. 7 for each A_k(x): sum over N(x) of |A_j(n) - A_k(x)| > |N(x)| lam
            sums = (values - centre).abs_().masked_fill_(~counted, 0.0).sum(1)  # (T, n), one per A_j
            keep |= (sums > threshold).any(0)
        if band_value == "max":  # Eq. 8: the largest value of any map in N(x)
            top = values.masked_fill(~counted, -math.inf).amax((0, 1))
        else:  # the pixel's own mean s, never above a pixel kept by Eq. 6
            top = s[band]
        out[band] = torch.where(keep, top, 0.0)
    return out.view(b, h + 2, w + 2)[:, 1:-1, 1:-1].contiguous()


def fuse_maps(
    cams: torch.Tensor,
    strategy: str = RECIPE.fusion,
    tau1: float = RECIPE.tau1,
    tau2: float = RECIPE.tau2,
    lam: float = RECIPE.lam,
    band_value: str = RECIPE.band_value,
) -> torch.Tensor:
    """Fuse T CAMs per image into one map.

    Args:
        cams: ``(T, B, H, W)`` float tensor, each CAM in [0, 1] (min-max normalised), any device.
        strategy: ``"average"`` (Eq. 6: mean over T, kept where > tau1, else 0), ``"max"`` (the same with the
            max over T), or ``"neighboring"`` (Eq. 7-8 with the band of the authors' release): s = mean over T;
            s > tau1 keeps s; s < tau2 gives 0; a pixel with tau2 <= s <= tau1 is kept when some ordered pair
            of maps (A_j, A_k), j = k allowed, has mean over the 3x3 neighbourhood N(x) (centre included,
            clipped at the border) of |A_j(n) - A_k(x)| > lam, and then takes the value ``band_value``
            says; otherwise 0.
        tau1, tau2, lam: finite thresholds (lam >= 0), ``tau2 <= tau1``; defaults: the measured recipe,
            :data:`~primary_mask.localize.recipe.RECIPE` (0.5, 0.3, 0.15; the paper: 0.3, (release) 0.1, 0.15).
        band_value: the value of a kept band pixel (``"neighboring"`` only). ``"mean"`` (default): its own
            mean s (<= tau1), so it never outranks a pixel above tau1 and a partial erase (alpha < 1) takes
            the cores before their rims. ``"max"``: Eq. 8 literally, the largest A_j(n) over all maps and
            n in N(x); rims of a core then outrank the core itself.

    Returns ``(B, H, W)`` float maps on the same device and dtype (>= 0 for CAMs in [0, 1]). Eq. 7-8 is
    evaluated only for the band pixels, on their gathered neighbourhoods: no loop over pixels, the same code
    on CPU and CUDA. Values outside [0, 1] are fused by the same rules.
    Raises ``ValueError`` naming the argument for a bad shape, NaN/inf, unknown strategy or band_value, a
    threshold that is not finite, lam < 0, or tau2 > tau1 (:func:`~primary_mask.localize.recipe.
    check_fusion_params`).
    """
    if not isinstance(cams, torch.Tensor) or cams.ndim != 4 or not cams.is_floating_point():
        shape = tuple(cams.shape) if isinstance(cams, torch.Tensor) else type(cams).__name__
        raise ValueError(f"cams must be a floating (T, B, H, W) tensor, got {shape}")
    if cams.shape[0] == 0:
        raise ValueError("cams must hold at least one CAM per image (T >= 1)")
    if not bool(torch.isfinite(cams).all()):
        raise ValueError("cams contains NaN or inf values")
    if strategy not in FUSIONS:
        raise ValueError(f"strategy must be one of {FUSIONS}, got {strategy!r}")
    if band_value not in BAND_VALUES:
        raise ValueError(f"band_value must be one of {BAND_VALUES}, got {band_value!r}")
    check_fusion_params(tau1, tau2, lam, strategy, unit_range=False)
    if strategy == "neighboring":
        return _neighboring(cams, tau1, tau2, lam, band_value)
    s = cams.amax(dim=0) if strategy == "max" else cams.mean(dim=0)
    return torch.where(s > tau1, s, 0.0)  # Eq. 6: s where s > tau1, else 0

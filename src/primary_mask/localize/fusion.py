"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

__all__ = ["FUSIONS", "fuse_maps"]

FUSIONS = ("average", "max", "neighboring")


_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _band_rule(cams: torch.Tensor, flat_idx: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7-8 for the pixels ``flat_idx`` (indices into B*H*W) only.

    Returns (g, value): g[i] is True when some ordered pair (A_j, A_k) has mean over the 3x3 neighbourhood N(x)
    (centre included, clipped at the border) of |A_j(n) - A_k(x)| > lam; value[i] is the max of all maps over N(x).

    Neighbours outside the image are replaced by the centre pixel, which belongs to N(x): the max is unchanged,
    and each such stand-in adds |A_j(x) - A_k(x)| to the sum, which is subtracted again before dividing by
    |N(x)|. This avoids masking the differences. Layout (T, 9, n): reductions over the 9 neighbours run along
    the contiguous pixel axis.
    """
    t, b, h, w = cams.shape
    flat = cams.reshape(t, -1)
    y = torch.div(flat_idx, w, rounding_mode="floor") % h
    x = flat_idx % w
    # rows y-1, y, y+1 and columns x-1, x, x+1 that lie inside the image: (3, n) each
    row_ok = torch.stack([y > 0, torch.ones_like(y, dtype=torch.bool), y < h - 1])
    col_ok = torch.stack([x > 0, torch.ones_like(x, dtype=torch.bool), x < w - 1])
    valid = (row_ok.unsqueeze(1) & col_ok.unsqueeze(0)).view(9, -1)  # (9, n), offsets in _OFFSETS order
    offsets = torch.tensor([dy * w + dx for dy, dx in _OFFSETS], device=cams.device).unsqueeze(1)
    neighbour = torch.where(valid, flat_idx + offsets, flat_idx)  # (9, n)
    values = flat.index_select(1, neighbour.view(-1)).view(t, 9, -1)  # (T, 9, n)
    centre = flat.index_select(1, flat_idx)  # (T, n)
    n_valid = (row_ok.sum(0) * col_ok.sum(0)).to(cams.dtype)  # (n,)
    n_outside = 9 - n_valid
    # c -> sum_n |A_j(n) - c| is convex, so over the centres A_k(x) it peaks at the smallest or the largest:
    # two centres decide every pair (j, k).
    ends = torch.stack([centre.amin(0), centre.amax(0)])  # (2, n)
    total = (values.unsqueeze(1) - ends.view(1, 2, 1, -1)).abs_().sum(2)  # (T_j, 2, n), stand-ins included
    total -= n_outside * (centre.unsqueeze(1) - ends.unsqueeze(0)).abs_()  # minus their |A_j(x) - c|
    g = (total > lam * n_valid).view(2 * t, -1).any(0)
    return g, values.amax(1).amax(0)


def fuse_maps(
    cams: torch.Tensor,
    strategy: str = "neighboring",
    tau1: float = 0.3,
    tau2: float = 0.1,
    lam: float = 0.15,
) -> torch.Tensor:
    """Fuse T CAMs per image into one map.

    Args:
        cams: ``(T, B, H, W)`` float tensor, each CAM in [0, 1] (min-max normalised), any device.
        strategy: ``"average"`` (Eq. 6: mean over T, kept where > tau1, else 0), ``"max"`` (the same with the
            max over T), or ``"neighboring"`` (Eq. 7-8 with the band of the authors' release): s = mean over T;
            s > tau1 keeps s; s < tau2 gives 0; for tau2 <= s <= tau1 the pixel is kept when some ordered pair
            of maps (A_j, A_k), j = k allowed, has mean over the 3x3 neighbourhood N(x) (centre included,
            clipped at the border) of |A_j(n) - A_k(x)| > lam, and then takes max over all maps and n in N(x)
            of A_j(n); otherwise 0.
        tau1, tau2, lam: thresholds, paper defaults 0.3, (release) 0.1 and 0.15; ``tau2 <= tau1``.

    Returns ``(B, H, W)`` float maps >= 0 on the same device. Vectorized: Eq. 7-8 is evaluated only for the
    pixels in the band, by index arithmetic (no loop over pixels).
    Raises ``ValueError`` naming the argument for a bad shape, NaN/inf, unknown strategy or tau2 > tau1.
    """
    if not isinstance(cams, torch.Tensor) or cams.ndim != 4 or not cams.is_floating_point():
        shape = tuple(cams.shape) if isinstance(cams, torch.Tensor) else type(cams).__name__
        raise ValueError(f"cams must be a floating (T, B, H, W) tensor, got {shape}")
    if cams.shape[0] == 0:
        raise ValueError("cams must hold at least one CAM per image (T >= 1)")
    lo, hi = torch.aminmax(cams)  # NaN propagates into both; one pass instead of isfinite + all
    if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):
        raise ValueError("cams contains NaN or inf values")
    if strategy not in FUSIONS:
        raise ValueError(f"strategy must be one of {FUSIONS}, got {strategy!r}")
    if strategy == "neighboring" and tau2 > tau1:
        raise ValueError(f"tau2 ({tau2}) must not exceed tau1 ({tau1})")
    s = cams.amax(dim=0) if strategy == "max" else cams.mean(dim=0)
    out = nnf.threshold(s, tau1, 0.0)  # s where s > tau1, else 0 (Eq. 6)
    if strategy != "neighboring":
        return out
    band = torch.nonzero(((s >= tau2) & (s <= tau1)).reshape(-1)).squeeze(1)  # only these need Eq. 7-8
    if band.numel():  # band pixels are 0 in out (s <= tau1): write the rule's value or 0
        g, value = _band_rule(cams, band, lam)
        out.view(-1)[band] = torch.where(g, value, torch.zeros_like(value)).to(out.dtype)
    return out

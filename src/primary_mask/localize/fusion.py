"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import torch

__all__ = ["FUSIONS", "fuse_maps"]

FUSIONS = ("average", "max", "neighboring")


_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _band_rule(cams: torch.Tensor, flat_idx: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7-8 for the pixels ``flat_idx`` (indices into B*H*W) only.

    Returns (g, value): g[i] is True when some ordered pair (A_j, A_k) has mean over the 3x3 neighbourhood N(x)
    (centre included, clipped at the border) of |A_j(n) - A_k(x)| > lam; value[i] is the max of all maps over N(x).
    """
    t, b, h, w = cams.shape
    flat = cams.reshape(t, -1)
    y = torch.div(flat_idx, w, rounding_mode="floor") % h
    x = flat_idx % w
    offsets = torch.tensor(_OFFSETS, device=cams.device)
    ny, nx = y.unsqueeze(1) + offsets[:, 0], x.unsqueeze(1) + offsets[:, 1]  # (n, 9)
    valid = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
    neighbour = flat_idx.unsqueeze(1) + offsets[:, 0] * w + offsets[:, 1]
    neighbour = torch.where(valid, neighbour, flat_idx.unsqueeze(1))  # clipped positions: any valid index
    values = flat[:, neighbour]  # (T, n, 9)
    centre = flat[:, flat_idx]  # (T, n)
    diff = (values.unsqueeze(1) - centre.unsqueeze(0).unsqueeze(-1)).abs()  # (T_j, T_k, n, 9)
    mean_diff = (diff * valid).sum(-1) / valid.sum(-1)
    g = (mean_diff > lam).flatten(0, 1).any(dim=0)
    value = torch.where(valid, values, torch.full_like(values, float("-inf"))).amax(dim=(0, 2))
    return g, value


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
    if not bool(torch.isfinite(cams).all()):
        raise ValueError("cams contains NaN or inf values")
    if strategy not in FUSIONS:
        raise ValueError(f"strategy must be one of {FUSIONS}, got {strategy!r}")
    if strategy == "neighboring" and tau2 > tau1:
        raise ValueError(f"tau2 ({tau2}) must not exceed tau1 ({tau1})")
    if strategy == "max":
        s = cams.amax(dim=0)
        return torch.where(s > tau1, s, torch.zeros_like(s))
    s = cams.mean(dim=0)
    if strategy == "average":
        return torch.where(s > tau1, s, torch.zeros_like(s))
    out = torch.where(s > tau1, s, torch.zeros_like(s))
    band = torch.nonzero(((s >= tau2) & (s <= tau1)).reshape(-1)).squeeze(1)  # only these need Eq. 7-8
    if band.numel():
        g, value = _band_rule(cams, band, lam)
        out.view(-1)[band[g]] = value[g].to(out.dtype)
    return out

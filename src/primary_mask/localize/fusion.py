"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

__all__ = ["FUSIONS", "fuse_maps"]

FUSIONS = ("average", "max", "neighboring")


def _neighbourhood_mean_abs_diff(cams: torch.Tensor) -> torch.Tensor:
    """D[j, k, b, y, x] = mean over the 3x3 neighbourhood N(x) (centre included, clipped at the border) of
    |A_j(n) - A_k(x)|. ``cams``: (T, B, H, W) -> (T, T, B, H, W)."""
    t, b, h, w = cams.shape
    patches = nnf.unfold(cams.reshape(t * b, 1, h, w), kernel_size=3, padding=1)  # (T*B, 9, H*W), zero padded
    valid = nnf.unfold(torch.ones(1, 1, h, w, dtype=cams.dtype, device=cams.device), kernel_size=3, padding=1)
    patches = patches.reshape(t, 1, b, 9, h * w)
    centre = cams.reshape(1, t, b, 1, h * w)
    diff = (patches - centre).abs() * valid  # padded positions do not count
    return (diff.sum(dim=3) / valid.sum(dim=1)).reshape(t, t, b, h, w)


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

    Returns ``(B, H, W)`` float maps >= 0 on the same device. Vectorized (unfold / max pooling).
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
    band = (s >= tau2) & (s <= tau1)
    g = (_neighbourhood_mean_abs_diff(cams) > lam).flatten(0, 1).any(dim=0)  # (B, H, W)
    neighbourhood_max = nnf.max_pool2d(cams.amax(dim=0).unsqueeze(1), 3, stride=1, padding=1).squeeze(1)
    out = torch.where(s > tau1, s, torch.zeros_like(s))
    return torch.where(band & g, neighbourhood_max, out)

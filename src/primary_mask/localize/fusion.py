"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as nnf

from primary_mask._compare import compare_to_float

__all__ = ["FUSIONS", "fuse_maps"]

FUSIONS = ("average", "max", "neighboring")
_INT32_INDEX_LIMIT = 2**31  # padded maps with fewer elements gather with int32 indices


@functools.lru_cache(maxsize=16)
def _neighbour_offsets(row: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    """(9, 1) flat offsets of the 3x3 neighbourhood in a row-major layout with ``row`` pixels per row."""
    offsets = [dy * row + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return torch.tensor(offsets, device=device, dtype=dtype).unsqueeze(1)


@functools.lru_cache(maxsize=16)
def _outside_counts(h: int, w: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    """((H+2)*(W+2),) ``dtype``: for each pixel of a 1-pixel-padded (H, W) image, how many of its 3x3 neighbours
    lie outside the image (0 inside, 3 on an edge, 5 at a corner; more for images one pixel thin)."""
    rows, cols = torch.zeros(h + 2), torch.zeros(w + 2)
    rows[1] += 1.0
    rows[h] += 1.0  # both on the same row when h == 1
    cols[1] += 1.0
    cols[w] += 1.0
    return (9.0 - (3.0 - rows).outer(3.0 - cols)).view(-1).to(device=device, dtype=dtype)


def _neighboring(cams: torch.Tensor, lo: float, tau1: float, tau2: float, lam: float) -> torch.Tensor:
    """Eq. 6-8 with the release's band; ``lo`` is the smallest value in ``cams``. Returns (B, H, W).

    The maps are padded by one pixel with a value below every CAM value and below tau2: a pad is never a band
    pixel, never the neighbourhood max, and adds exactly ``c - pad`` to a sum of |A_j(n) - c|, which is
    subtracted again before comparing with |N(x)| * lam (|N(x)|: the neighbours inside the image). So the 3x3
    neighbours of every pixel sit at fixed flat offsets, with no border masks. Eq. 7-8 is evaluated only for
    the pixels in the band, in a (T, 9, n) layout whose reductions run along the contiguous pixel axis.
    """
    t, b, h, w = cams.shape
    floor = min(lo, tau2)
    pad = floor - max(1.0, abs(floor))  # strictly below floor, also where floor - 1 would round to floor
    padded = nnf.pad(cams, (1, 1, 1, 1), value=pad).view(t, -1)  # (T, B*(H+2)*(W+2))
    s = padded.sum(0).div_(t)
    out = nnf.threshold(s, tau1, 0.0)  # s where s > tau1, else 0 (Eq. 6)
    in_band = compare_to_float(torch.ge, s, tau2).mul_(compare_to_float(torch.le, s, tau1))
    band = torch.nonzero(in_band.bool()).squeeze(1)
    if band.numel():
        device = str(cams.device)
        # int32 indices where they fit: the gather, the largest cost on maps with a wide band, is ~25% faster
        index = band.int() if padded.shape[1] < _INT32_INDEX_LIMIT else band
        neighbours = (index + _neighbour_offsets(w + 2, device, index.dtype)).view(-1)
        values = padded.index_select(1, neighbours).view(t, 9, -1)  # (T, 9, n); index 4 is the centre
        # c -> sum_n |A_j(n) - c| is convex, so over the centres A_k(x) it peaks at the smallest or the
        # largest: two centres decide every pair (j, k). (amin and amax, not aminmax: over dim 0 the latter
        # is ~10x slower on CPU builds.)
        centres = values[:, 4]
        ends = torch.stack((centres.amin(0), centres.amax(0)))  # (2, n)
        n_pad = _outside_counts(h, w, device, cams.dtype).take(band if b == 1 else band % ((h + 2) * (w + 2)))  # (n,)
        total = (values.unsqueeze(1) - ends.view(1, 2, 1, -1)).abs_().sum(2).amax(0)  # (2, n): max over j
        total -= n_pad * (ends - pad)  # minus each pad's |pad - c| = c - pad
        g = total.amax(0) > (9 - n_pad).mul_(lam)
        out.index_copy_(0, band, torch.where(g, values.view(t * 9, -1).amax(0), 0.0))
    return out.view(b, h + 2, w + 2)[:, 1:-1, 1:-1].contiguous()


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
    pixels in the band, by index arithmetic on a padded copy (no loop over pixels). Values outside [0, 1] are
    fused by the same rules.
    Raises ``ValueError`` naming the argument for a bad shape, NaN/inf, unknown strategy or tau2 > tau1.
    """
    if not isinstance(cams, torch.Tensor) or cams.ndim != 4 or not cams.is_floating_point():
        shape = tuple(cams.shape) if isinstance(cams, torch.Tensor) else type(cams).__name__
        raise ValueError(f"cams must be a floating (T, B, H, W) tensor, got {shape}")
    if cams.shape[0] == 0:
        raise ValueError("cams must hold at least one CAM per image (T >= 1)")
    lo, hi = (v.item() for v in torch.aminmax(cams))  # NaN propagates into both: one pass finds NaN and inf
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("cams contains NaN or inf values")
    if strategy not in FUSIONS:
        raise ValueError(f"strategy must be one of {FUSIONS}, got {strategy!r}")
    if strategy == "neighboring" and tau2 > tau1:
        raise ValueError(f"tau2 ({tau2}) must not exceed tau1 ({tau1})")
    if strategy == "neighboring":
        return _neighboring(cams, lo, tau1, tau2, lam)
    s = cams.amax(dim=0) if strategy == "max" else cams.mean(dim=0)
    return nnf.threshold(s, tau1, 0.0)  # s where s > tau1, else 0 (Eq. 6)

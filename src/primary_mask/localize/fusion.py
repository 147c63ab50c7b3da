"""Static fusion of a zoo's CAMs into one primary-region map (Eq. 6-8 of the paper)."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as nnf

from primary_mask.functional._compare import compare_to_float
from primary_mask.localize.names import FUSIONS

__all__ = ["FUSIONS", "fuse_maps"]

_INT32_INDEX_LIMIT = 2**31  # padded maps with fewer elements gather with int32 indices
# From this share of the pixels in the tau2..tau1 band, Eq. 7-8 is decided from dense bounds first (CPU crossover
# measured at 12-15%; Grad-CAMs of trained detectors put 15-60% of the pixels in the band).
_BOUNDS_FROM_BAND_SHARE = 1 / 8


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


def _gather_index(band: torch.Tensor, padded: torch.Tensor) -> torch.Tensor:
    """``band`` (int64 flat indices into ``padded``) as int32 where they fit: the gather, the largest cost on
    maps with a wide band, is ~25% faster with int32 indices."""
    return band.int() if padded.shape[1] < _INT32_INDEX_LIMIT else band


def _gather_neighbours(padded: torch.Tensor, index: torch.Tensor, row: int) -> torch.Tensor:
    """(T, 9, n) values of the 3x3 neighbours of the pixels at ``index`` (from :func:`_gather_index`: flat
    indices into the padded maps, whose rows hold ``row`` pixels); index 4 is the centre. A (T, 9, n) layout
    keeps reductions on the pixel axis."""
    neighbours = (index + _neighbour_offsets(row, str(padded.device), index.dtype)).view(-1)
    return padded.index_select(1, neighbours).view(padded.shape[0], 9, -1)


def _centre_ends(centres: torch.Tensor) -> torch.Tensor:
    """(2, n): the smallest and the largest of the (T, n) centres A_k(x). (amin and amax, not aminmax: over
    dim 0 the latter is ~10x slower on CPU builds.)"""
    return torch.stack((centres.amin(0), centres.amax(0)))


def _exact_keep(
    values: torch.Tensor, ends: torch.Tensor, n_pad: torch.Tensor, pad: float, thr: torch.Tensor
) -> torch.Tensor:
    """(n,) bool: Eq. 7, max over pairs (j, k) of sum_n |A_j(n) - A_k(x)| > |N(x)| * lam (= ``thr``).

    c -> sum_n |A_j(n) - c| is convex, so over the centres A_k(x) it peaks at the smallest or the largest
    (``ends``): two centres decide every pair. Each pad neighbour adds exactly |pad - c| = c - pad to a sum,
    which is subtracted again."""
    total = (values.unsqueeze(1) - ends.view(1, 2, 1, -1)).abs_().sum(2).amax(0)  # (2, n): max over j
    total -= n_pad * (ends - pad)
    return total.amax(0) > thr


def _band_by_gather(
    padded: torch.Tensor, band: torch.Tensor, row: int, n_pad: torch.Tensor, pad: float, thr: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7-8 for the band pixels from their gathered (T, 9, n) neighbourhoods: (keep (n,) bool, max (n,))."""
    values = _gather_neighbours(padded, _gather_index(band, padded), row)
    keep = _exact_keep(values, _centre_ends(values[:, 4]), n_pad, pad, thr)
    return keep, values.view(-1, values.shape[2]).amax(0)


def _band_by_bounds(
    padded: torch.Tensor,
    band: torch.Tensor,
    row: int,
    n_pad: torch.Tensor,
    pad: float,
    thr: torch.Tensor,
    margin: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as :func:`_band_by_gather`, from dense 3x3 sums and maxima of the padded maps.

    Eq. 8's neighbourhood max comes from a dense max filter. For Eq. 7, |sum_n A_j(n) - |N(x)| c| <=
    sum_n |A_j(n) - c| (triangle inequality), and the largest left side over maps j and both centre ends is
    max(max_j S_j - |N| c_min, |N| c_max - min_j S_j) with S_j the 3x3 sum. Where that bound exceeds the
    threshold by more than ``margin`` (which covers the rounding of both sides) the pixel is kept, exactly as
    the gather would decide; only the other pixels (on Grad-CAMs of trained detectors, ~5-10% of the band)
    are gathered and decided exactly. Faster than the gather alone once the band is a large share of the
    pixels, which is where it is used."""
    m = padded.shape[1]
    # Entry i - 1 - row of these dense maps belongs to the padded pixel i (an image pixel: never on the pad).
    sums = padded[:, : m - 2] + padded[:, 1 : m - 1]
    sums += padded[:, 2:]
    box = sums[:, : m - 2 - 2 * row] + sums[:, row : m - 2 - row]
    box += sums[:, 2 * row :]
    top = padded.amax(0)
    rows_max = torch.maximum(top[: m - 2], top[1 : m - 1])
    torch.maximum(rows_max, top[2:], out=rows_max)
    box_max = torch.maximum(rows_max[: m - 2 - 2 * row], rows_max[row : m - 2 - row])
    torch.maximum(box_max, rows_max[2 * row :], out=box_max)
    index = _gather_index(band, padded)
    shifted = index - (1 + row)
    ends = _centre_ends(padded.index_select(1, index))
    sums = box.index_select(1, shifted).sub_(n_pad * pad)  # (T, n): sums over the neighbours in the image
    count_ends = ends * (9 - n_pad)
    lower = torch.maximum(sums.amax(0) - count_ends[0], count_ends[1] - sums.amin(0))
    keep = compare_to_float(torch.gt, lower, thr + margin)
    undecided = torch.nonzero(keep == 0).squeeze(1)
    if undecided.numel():
        values = _gather_neighbours(padded, index.index_select(0, undecided), row)
        ends = ends.index_select(1, undecided)
        n_pad, thr = (v.index_select(0, undecided) for v in (n_pad, thr))
        keep.index_copy_(0, undecided, _exact_keep(values, ends, n_pad, pad, thr).to(keep.dtype))
    return keep.bool(), box_max.index_select(0, shifted)


def _neighboring(cams: torch.Tensor, lo: float, hi: float, tau1: float, tau2: float, lam: float) -> torch.Tensor:
    """Eq. 6-8 with the release's band; ``lo``/``hi``: the smallest/largest value in ``cams``. Returns (B, H, W).

    The maps are padded by one pixel with a value below every CAM value and below tau2: a pad is never a band
    pixel, never the neighbourhood max, and adds exactly ``c - pad`` to a sum of |A_j(n) - c|, which is
    subtracted again before comparing with |N(x)| * lam (|N(x)|: the neighbours inside the image). So the 3x3
    neighbours of every pixel sit at fixed flat offsets, with no border masks. Eq. 7-8 is evaluated only for
    the pixels in the band: by gathering their neighbourhoods, or, when the band holds at least
    ``_BOUNDS_FROM_BAND_SHARE`` of the pixels, by :func:`_band_by_bounds`. Both give the same maps.
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
        n_pad = _outside_counts(h, w, str(cams.device), cams.dtype)
        n_pad = n_pad.take(band if b == 1 else band % ((h + 2) * (w + 2)))  # (n,)
        thr = (9 - n_pad).mul_(lam)
        if band.numel() >= _BOUNDS_FROM_BAND_SHARE * s.numel():
            # The bound and the exact sums each carry a few tens of roundings of terms no larger than 2 * scale;
            # 1024 * 9 eps * scale is far above their sum, so the bound never keeps a pixel the gather drops.
            margin = 1024 * torch.finfo(cams.dtype).eps * 9 * max(abs(lo), abs(hi), abs(pad))
            keep, top = _band_by_bounds(padded, band, w + 2, n_pad, pad, thr, margin)
        else:
            keep, top = _band_by_gather(padded, band, w + 2, n_pad, pad, thr)
        out.index_copy_(0, band, torch.where(keep, top, 0.0))
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

    Returns ``(B, H, W)`` float maps on the same device (>= 0 for CAMs in [0, 1]). Vectorized: Eq. 7-8 is
    evaluated only for the pixels in the band, by index arithmetic on a padded copy, and for wide bands (as on
    Grad-CAMs of trained detectors) mostly from dense 3x3 bounds; no loop over pixels. Values outside [0, 1]
    are fused by the same rules.
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
        return _neighboring(cams, lo, hi, tau1, tau2, lam)
    s = cams.amax(dim=0) if strategy == "max" else cams.mean(dim=0)
    return nnf.threshold(s, tau1, 0.0)  # s where s > tau1, else 0 (Eq. 6)

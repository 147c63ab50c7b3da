"""Straightforward per-pixel statements of the paper's rules, written independently of the library."""

from __future__ import annotations

import math

import torch


def refine_mask_loop(map2d: torch.Tensor, alpha: float) -> torch.Tensor:
    """Eq. 9-10: sort the positive pixels (value descending, index ascending), keep the first floor(alpha*|V|)."""
    h, w = map2d.shape
    values = map2d.double().flatten().tolist()
    positives = [(v, i) for i, v in enumerate(values) if v > 0]
    positives.sort(key=lambda t: (-t[0], t[1]))
    k = math.floor(alpha * len(positives))
    out = [[False] * w for _ in range(h)]
    for _, i in positives[:k]:
        out[i // w][i % w] = True
    return torch.tensor(out, dtype=torch.bool)


def erase_loop(image: torch.Tensor, mask: torch.Tensor, fill: list[float]) -> torch.Tensor:
    """Eq. 11 pixel by pixel: image * (1 - mask) + fill * mask for a (C, H, W) image."""
    out = image.clone()
    c, h, w = image.shape
    for y in range(h):
        for x in range(w):
            if mask[y, x]:
                for ch in range(c):
                    out[ch, y, x] = fill[ch]
    return out


def neighboring_loop(cams: torch.Tensor, tau1: float, tau2: float, lam: float, band_value: str) -> torch.Tensor:
    """Eq. 6-8 with the release's band, pixel by pixel, in float64, for (T, B, H, W) CAMs.

    s = mean over the T maps. s > tau1 keeps s; s < tau2 gives 0; otherwise the pixel is kept when some ordered
    pair of maps (j, k) has mean over its 3x3 neighbourhood (clipped at the border) of |A_j(n) - A_k(x)| > lam,
    and then takes the largest A_j(n) over all maps and neighbours (``band_value="max"``, Eq. 8) or its own s
    (``"mean"``); otherwise 0.
    """
    t, b, h, w = cams.shape
    out = torch.zeros(b, h, w, dtype=torch.float64)
    c = cams.double()
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                s = sum(float(c[j, bi, y, x]) for j in range(t)) / t
                if s > tau1:
                    out[bi, y, x] = s
                    continue
                if s < tau2:
                    continue
                nbrs = [
                    (yy, xx) for yy in range(y - 1, y + 2) for xx in range(x - 1, x + 2) if 0 <= yy < h and 0 <= xx < w
                ]
                kept = False
                for j in range(t):
                    for k in range(t):
                        d = sum(abs(float(c[j, bi, yy, xx]) - float(c[k, bi, y, x])) for yy, xx in nbrs) / len(nbrs)
                        kept = kept or d > lam
                if kept and band_value == "max":
                    out[bi, y, x] = max(float(c[j, bi, yy, xx]) for j in range(t) for yy, xx in nbrs)
                elif kept:
                    out[bi, y, x] = s
    return out


def threshold_loop(cams: torch.Tensor, tau1: float, reduce: str) -> torch.Tensor:
    """Eq. 6 pixel by pixel: the mean (``reduce="average"``) or max over the T maps where it exceeds tau1, else 0."""
    t, b, h, w = cams.shape
    out = torch.zeros(b, h, w, dtype=torch.float64)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                vals = [float(cams[j, bi, y, x]) for j in range(t)]
                s = sum(vals) / t if reduce == "average" else max(vals)
                out[bi, y, x] = s if s > tau1 else 0.0
    return out

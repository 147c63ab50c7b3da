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

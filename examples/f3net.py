"""F3-Net (Qian et al., "Thinking in Frequency", ECCV 2020): a frequency-aware decomposition (FAD) head in front
of an Xception. FAD: 2-D DCT of each channel, four band filters (low, mid, high, all), each a fixed band mask
plus a learnable part, inverse DCT; the 4 x 3 filtered images form a 12-channel input for the Xception."""

from __future__ import annotations

import math

import timm
import torch
from torch import nn

__all__ = ["FADHead", "F3Net", "dct_matrix"]


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix D (n, n): ``D @ x @ D.T`` is the 2-D DCT of x, ``D.T @ X @ D`` its inverse."""
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


def band_mask(size: int, start: float, end: float) -> torch.Tensor:
    """1 where start < i + j <= end (the F3-Net band definition, on DCT coefficient indices)."""
    s = torch.arange(size).unsqueeze(1) + torch.arange(size).unsqueeze(0)
    return ((s > start) & (s <= end)).float()


class BandFilter(nn.Module):
    """A fixed band mask plus a learnable correction ``2 * sigmoid(w) - 1`` (w ~ N(0, 0.1) at start)."""

    def __init__(self, size: int, start: float, end: float) -> None:
        super().__init__()
        self.register_buffer("base", band_mask(size, start, end))
        self.learnable = nn.Parameter(torch.randn(size, size) * 0.1)

    def forward(self, freq: torch.Tensor) -> torch.Tensor:
        return freq * (self.base + 2 * torch.sigmoid(self.learnable) - 1)


class FADHead(nn.Module):
    """(B, 3, S, S) -> (B, 12, S, S). ``filtered=False`` skips the band filters (then DCT -> IDCT is the identity)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("dct", dct_matrix(size))
        bands = [(0, size / 2.82), (size / 2.82, size / 2), (size / 2, size * 2), (0, size * 2)]  # low, mid, high, all
        self.filters = nn.ModuleList(BandFilter(size, a, b) for a, b in bands)

    def to_frequency(self, x: torch.Tensor) -> torch.Tensor:
        return self.dct @ x @ self.dct.T

    def to_image(self, freq: torch.Tensor) -> torch.Tensor:
        return self.dct.T @ freq @ self.dct

    def forward(self, x: torch.Tensor, filtered: bool = True) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            raise ValueError(
                f"F3-Net's FAD head was built for {self.size}x{self.size} inputs, got {tuple(x.shape[-2:])}"
            )
        freq = self.to_frequency(x)
        if not filtered:
            return self.to_image(freq)
        return torch.cat([self.to_image(f(freq)) for f in self.filters], dim=1)


class F3Net(nn.Module):
    """FAD head + timm ``legacy_xception`` with 12 input channels and one logit (fake score)."""

    def __init__(self, size: int = 256, pretrained: bool = False) -> None:
        super().__init__()
        self.fad = FADHead(size)
        self.backbone = timm.create_model("legacy_xception", pretrained=pretrained, num_classes=1, in_chans=12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.fad(x))

    def cam_target_layer(self) -> nn.Module:
        return self.backbone.act4

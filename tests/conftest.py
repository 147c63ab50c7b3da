import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


def smooth_map(h: int, w: int, gen: torch.Generator, keep: float = 0.5) -> torch.Tensor:
    """Random smooth non-negative map with a share of exact zeros, like a thresholded fused CAM."""
    coarse = torch.rand(1, 1, max(2, h // 4), max(2, w // 4), generator=gen)
    m = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    cut = torch.quantile(m.flatten(), 1 - keep)
    return torch.where(m > cut, m, torch.zeros_like(m))

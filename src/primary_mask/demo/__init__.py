"""The README demo: run with ``primary-mask demo`` (or ``make demo``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map
from primary_mask.functional.erase import primary_region_erase
from primary_mask.viz import labelled_grid, overlay_heatmap, write_png

__all__ = ["run_demo", "erase_grid"]

DEMO_ALPHAS = (1.0, 0.7, 0.4, 0.1)


def erase_grid(n_faces: int = 3, size: int = 256, alphas=DEMO_ALPHAS, seed: int = 0) -> np.ndarray:
    """Rows of (face, map overlay, erased at each alpha), like the paper's Fig. 7; RGB uint8."""
    rows = []
    for i in range(n_faces):
        face = draw_face(size, seed + i)
        pmap = synthetic_primary_map(64, seed + i)
        images = torch.from_numpy(face).permute(2, 0, 1).unsqueeze(0).expand(len(alphas), -1, -1, -1)
        maps = torch.from_numpy(pmap).expand(len(alphas), -1, -1)
        erased = primary_region_erase(images, maps, torch.tensor(alphas, dtype=torch.float64), fill=0)
        rows.append([face, overlay_heatmap(face, pmap)] + [e.permute(1, 2, 0).numpy() for e in erased])
    return labelled_grid(rows, ["face", "fused map"] + [f"alpha={a}" for a in alphas])


def run_demo(out: str | Path = "demo_out") -> list[Path]:
    """Write the demo figures under ``out`` and return their paths."""
    path = write_png(Path(out) / "erase_grid.png", erase_grid())
    return [path]

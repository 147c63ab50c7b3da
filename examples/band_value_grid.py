"""What ``band_value`` changes, as a PNG grid: the same three CAMs fused with ``"mean"`` (the default) and with
``"max"`` (the paper's Eq. 8), and a drawn face erased with each map at alpha 1.0, 0.7, 0.4 and 0.1.

With ``"max"`` a band pixel kept by Eq. 7 takes the largest value of all maps around it, above the mean s of the
core it surrounds, so a partial erase (alpha < 1) takes rings around the cores first; with ``"mean"`` it keeps
its own s (<= tau1 < every core pixel) and the cores go first. The CAMs are synthetic (ReLU of correlated smooth
random fields, min-max normalised, like Grad-CAMs of a zoo); the face is a drawing. No data needed.

Run: python examples/band_value_grid.py [--out band_value_grid.png] [--seed 0] [--rows 3]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as nnf

from primary_mask import fuse_maps
from primary_mask.demo.synthetic_face import draw_face
from primary_mask.figures.tiles import erase_row, labelled_grid, write_png

ALPHAS = (1.0, 0.7, 0.4, 0.1)


def synthetic_cams(seed: int, size: int = 64, maps: int = 3) -> torch.Tensor:
    """(maps, 1, size, size) Grad-CAM-like maps: ReLU of a shared plus an own 6x6 Gaussian field, upsampled."""
    g = torch.Generator().manual_seed(seed)
    shared, own = torch.randn(1, 1, 6, 6, generator=g), torch.randn(maps, 1, 6, 6, generator=g)
    x = (0.6**0.5 * shared + 0.4**0.5 * own - 0.3).relu().sqrt()
    cams = nnf.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    lo, hi = cams.amin((2, 3), keepdim=True), cams.amax((2, 3), keepdim=True)
    return (cams - lo) / (hi - lo).clamp_min(1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="band_value_grid.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=3, help="faces (each shown with both rules)")
    args = parser.parse_args()
    rows = []
    for i in range(args.rows):
        face, cams = draw_face(192, args.seed + i), synthetic_cams(args.seed + i)
        for band_value in ("mean", "max"):
            fused = fuse_maps(cams, tau1=0.3, tau2=0.1, band_value=band_value)[0]  # the paper's thresholds
            rows.append(erase_row(face, (fused / fused.max().clamp_min(1e-12)).numpy(), ALPHAS))
    titles = ["face", "map: mean / max"] + [f"alpha={a}" for a in ALPHAS]
    print(f"wrote {write_png(args.out, labelled_grid(rows, titles))} (rows alternate band_value mean, max)")


if __name__ == "__main__":
    main()

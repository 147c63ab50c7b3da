"""Prototype, not library code: what would carrying the map at its stored size buy the loader? (issue #13)

bench_loader.py's pipeline (decode a DFDC crop, Resize(256), flip, erase, ToDtype, Normalize), timed in
alternating rounds for: plain, v2.RandomErasing, the library's PrimaryRegionErase (map carried at image size),
and two hand-written stand-ins for a redesign in which the 64x64 map stays small until the erase:
  canvas_exact   flip the small map, resize it once to the image, keep the exact top-alpha share
                 (refine_mask), erase: the library's result up to one resize instead of two
  canvas_approx  flip the small map, choose the threshold on the 64x64 map itself (its own top-alpha share),
                 resize, compare, erase: no selection at image size, so not exactly floor(alpha * |V|) pixels
It prints each pipeline's ms/sample, what it adds over plain and that as a multiple of RandomErasing's addition,
and for canvas_approx the IoU of its masks with the exact ones and the pixels it erases, at five alphas.

Run: python benchmarks/proto_canvas_map.py [--rounds 150] [--synthetic]
"""

from __future__ import annotations

import argparse
import math
import warnings

import torch
from bench_erase import store_like_map
from bench_loader import jpeg_bytes, loaders, time_rounds
from torchvision.io import decode_jpeg
from torchvision.transforms import v2

from primary_mask import refine_mask
from primary_mask.data import IMAGENET_MEAN, IMAGENET_STD
from primary_mask.functional.erase import erase, resize_maps


def approx_mask(small: torch.Tensor, size: tuple[int, int], alpha: float) -> torch.Tensor:
    """Threshold = the k-th largest of the small map's own pixels (k = floor(alpha * its positives)); the map
    resized to ``size`` at or above it."""
    flat = small.reshape(-1)
    k = math.floor(alpha * int((flat > 0).sum()))
    big = resize_maps(small[None], size)[0]
    if k == 0:
        return torch.zeros(size, dtype=torch.bool)
    return big >= flat.kthvalue(flat.numel() - k + 1).values


class CanvasStandIn(torch.utils.data.Dataset):
    """A loader whose map stays 64x64 until the erase (the prototype's two routes)."""

    def __init__(self, encoded: list[torch.Tensor], exact: bool) -> None:
        self.encoded, self.exact = encoded, exact
        self.small = torch.from_numpy(store_like_map(64, 0)).float().div(255)
        self.resize = v2.Resize(256)
        self.tail = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
        self.generator = torch.Generator().manual_seed(0)
        self.black = torch.zeros(1, 1, 1, 1, dtype=torch.uint8)

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, i: int) -> torch.Tensor:
        image = self.resize(decode_jpeg(self.encoded[i]))
        flip, alpha = torch.rand(2, generator=self.generator).tolist()
        small = self.small.flip(-1) if flip < 0.5 else self.small
        image = image.flip(-1) if flip < 0.5 else image
        size = tuple(image.shape[-2:])
        if self.exact:
            mask = refine_mask(resize_maps(small[None], size)[0], alpha)
        else:
            mask = approx_mask(small, size, alpha)
        return self.tail(erase(image[None], mask[None], self.black)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchvision.io")
    torch.set_num_threads(1)
    encoded, source = jpeg_bytes(16, args.synthetic)
    library = loaders(encoded, (0.0, 1.0))
    datasets = {name: library[name] for name in ("plain", "erasing", "prle")}
    datasets["canvas_exact"] = CanvasStandIn(encoded, exact=True)
    datasets["canvas_approx"] = CanvasStandIn(encoded, exact=False)
    ms = {name: v * 1e3 for name, v in time_rounds(datasets, args.rounds, per_round=4).items()}
    erasing = ms["erasing"] - ms["plain"]
    print(f"images: {source}; 1 thread; {args.rounds} rounds")
    for name, v in ms.items():
        add = v - ms["plain"]
        print(f"{name:14s} {v:7.3f} ms/sample  adds {add:6.3f} ms  = {add / erasing:5.2f}x RandomErasing's")
    small = torch.from_numpy(store_like_map(64, 0)).float().div(255)
    big = resize_maps(small[None], (256, 256))[0]
    for alpha in (0.1, 0.3, 0.5, 0.7, 0.9):
        approx, exact = approx_mask(small, (256, 256), alpha), refine_mask(big, alpha)
        iou = float((approx & exact).sum() / (approx | exact).sum())
        pixels = f"{int(approx.sum())} pixels erased vs {int(exact.sum())}"
        print(f"alpha {alpha}: canvas_approx mask IoU with exact {iou:.3f}, {pixels}")


if __name__ == "__main__":
    main()

"""Save a zoo's per-model Grad-CAMs of some images, for `bench_localize.py --fusion-cams`.

The fusion's speed depends on how many pixels fall in the tau2..tau1 band, so real CAMs are the honest input.
Writes a safetensors file with one tensor "cams", (T, N, size, size) float32 in [0, 1] (each CAM min-max
normalised, as PrimaryRegionLocalizer computes them), and the model specs and image keys in its metadata.

Run: python benchmarks/dump_cams.py --images ROOT --model NAME:CKPT [--model ...] [--n 24] [--size 256]
     [--out benchmarks/out/cams.safetensors]
ROOT holds real/ and fake/ folders (labels for the Grad-CAM targets); N images are taken evenly over the
sorted list. Checkpoints are local files (see `primary-mask bake --help` for the NAME:CKPT forms).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from bench_localize import band_fraction
from safetensors.torch import save_file

from primary_mask import PrimaryRegionLocalizer
from primary_mask.data import BadImage, list_folder
from primary_mask.localize.bake import bake_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, help="image root with real/ and fake/ folders")
    parser.add_argument("--model", action="append", required=True, help="NAME[:CKPT], repeatable")
    parser.add_argument("--n", type=int, default=24, help="how many images")
    parser.add_argument("--size", type=int, default=256, help="input and CAM size")
    parser.add_argument("--out", default="benchmarks/out/cams.safetensors")
    args = parser.parse_args()
    items = list_folder(args.images)  # raises, naming the folder, when it holds no images
    step = max(1, len(items) // args.n)
    items = items[::step][: args.n]
    data = bake_dataset(items, args.size)
    images, errors = [], []
    for i in range(len(data)):
        sample = data[i]
        if isinstance(sample, BadImage):
            errors.append(sample.error)
        else:
            images.append(sample[0])
    if errors:
        raise SystemExit("unreadable images:\n" + "\n".join(errors))
    labels = torch.tensor([item.label for item in items])
    localizer = PrimaryRegionLocalizer(args.model, size=args.size, device="cpu")
    cams = localizer.model_cams(torch.stack(images), labels)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"models": json.dumps(args.model), "keys": json.dumps([item.key for item in items])}
    save_file({"cams": cams.float().contiguous()}, str(out), metadata=meta)
    band = band_fraction(cams)
    print(f"wrote {out}: {tuple(cams.shape)}, {100 * band:.0f}% of the mean maps' pixels in the 0.1..0.3 band")


if __name__ == "__main__":
    main()

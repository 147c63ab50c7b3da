"""Which zoo recipe gives tight maps that point at the forgery? (issue #14, section 2)

Computes each zoo member's Grad-CAM for a list of training images once (cached as a ``.pt`` of shape
(T, B, size, size)), then scores every member alone, and the zoo fused with each fusion setting asked for,
against manipulation masks (`primary-mask masks`): coverage (Table I), per-pixel ROC-AUC, top-10% precision
and the pointing game, with the centred Gaussian as the reference to beat.

  python examples/map_recipe.py --images ../shared/data/dfdc/train --list runs/bake800.csv \
      --masks runs/masks-train --mask-prefix train/ \
      --model torchvision.mobilenet_v2:runs/zoo/mobilenet_v2/weights.pth --input-size 224 \
      --fusion neighboring:0.3:0.1:0.15 average:0.3 --out runs/recipe/mnv2-224.json

``--target-layer NAME`` (one per --model, a module name such as ``features.13``) overrides the default layer.
``--from-caches A.pt B.pt ...`` fuses and scores members whose CAMs were cached by separate runs (same images,
same order), computing no CAM.
The table goes to stdout and, with ``--out``, to a JSON file (rows and the settings that made them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from primary_mask.localize import PrimaryRegionLocalizer, fuse_maps
from primary_mask.localize.bake import bake_dataset
from primary_mask.localize.zoo import load_model
from primary_mask.quality.manipulation import MaskFolder
from primary_mask.quality.scores import gaussian_map, score_maps, scores_table


def parse_fusion(spec: str) -> dict:
    """``neighboring:TAU1:TAU2:LAM[:BAND]`` or ``average:TAU1`` / ``max:TAU1`` -> fuse_maps keywords."""
    name, *nums = spec.split(":")
    if name == "neighboring":
        band = nums[3] if len(nums) > 3 else "mean"
        t1, t2, lam = (float(x) for x in (nums + ["0.3", "0.1", "0.15"][len(nums) :])[:3])
        return {"strategy": name, "tau1": t1, "tau2": t2, "lam": lam, "band_value": band}
    if name in ("average", "max"):
        return {"strategy": name, "tau1": float(nums[0]) if nums else 0.3}
    raise SystemExit(f"--fusion {spec!r}: use neighboring:TAU1:TAU2:LAM[:mean|max], average:TAU1 or max:TAU1")


def compute_cams(args: argparse.Namespace) -> tuple[torch.Tensor, list[str]]:
    from primary_mask.data.image_list import read_list_file

    items = read_list_file(args.images, args.list)
    models, layers = [], []
    for i, spec in enumerate(args.model):
        model, _ = load_model(spec)
        models.append(model)
        name = args.target_layer[i] if args.target_layer else None
        layers.append(dict(model.named_modules())[name] if name else None)
    loc = PrimaryRegionLocalizer(
        models, target_layers=layers, cam=args.cam, size=args.size, device="cpu", normalize=args.normalize
    )
    loader = DataLoader(
        bake_dataset(items, args.input_size), batch_size=32, num_workers=0, collate_fn=lambda b: list(zip(*b))
    )
    cams, keys = [], []
    for images, labels, infos in loader:
        cams.append(loc.model_cams(torch.stack(images), torch.as_tensor(labels)))
        keys += [info["key"] for info in infos]
    return torch.cat(cams, dim=1), keys


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True)
    p.add_argument("--list", required=True, help="CSV path,label of the images to localize")
    p.add_argument("--masks", required=True, help="folder written by `primary-mask masks`")
    p.add_argument("--mask-prefix", default="")
    p.add_argument("--model", action="append", help="NAME:CKPT, repeat per zoo member")
    p.add_argument(
        "--from-caches",
        nargs="+",
        help="build the zoo from these CAM caches (one or more members each, same images in the same order) "
        "instead of computing CAMs: fused rows of models cached apart",
    )
    p.add_argument("--target-layer", action="append", help="module name per --model (default: the library's)")
    p.add_argument("--cam", default="gradcam")
    p.add_argument("--normalize", default="minmax")
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--fusion", nargs="*", default=["neighboring:0.3:0.1:0.15"])
    p.add_argument("--cache", help="CAM cache (.pt): reused when it exists")
    p.add_argument("--out", help="JSON file for the rows")
    args = p.parse_args(argv)
    if args.target_layer and len(args.target_layer) != len(args.model):
        raise SystemExit("give one --target-layer per --model")
    start = time.perf_counter()
    if args.from_caches:
        parts = [torch.load(c) for c in args.from_caches]
        if any(part["keys"] != parts[0]["keys"] for part in parts):
            raise SystemExit("--from-caches: the caches hold different images (or another order)")
        cams, keys = torch.cat([part["cams"] for part in parts]), parts[0]["keys"]
        names = [f"{Path(c).stem}[{i}]" for c, part in zip(args.from_caches, parts) for i in range(len(part["cams"]))]
    elif not args.model:
        raise SystemExit("give --model (one per zoo member) or --from-caches")
    elif args.cache and Path(args.cache).exists():
        cached = torch.load(args.cache)
        cams, keys = cached["cams"], cached["keys"]
    else:
        cams, keys = compute_cams(args)
        if args.cache:
            Path(args.cache).parent.mkdir(parents=True, exist_ok=True)
            torch.save({"cams": cams, "keys": keys}, args.cache)
    cam_seconds = time.perf_counter() - start
    masks = MaskFolder(args.masks)
    index = {k: i for i, k in enumerate(keys)}
    masked = [k for k in keys if args.mask_prefix + k in masks]
    truth = {k: masks[args.mask_prefix + k] for k in masked}

    def rows_for(name: str, maps: torch.Tensor):
        row = score_maps(name, lambda ks, size: maps[[index[k] for k in ks]], truth, masked)
        row.coverage = float((maps > 0).double().mean())  # Table I: over every map, real and fake
        row.maps = maps.shape[0]
        return row

    rows = []
    if not args.from_caches:
        names = [m.split(":")[0].split(".")[-1] for m in args.model]
    for t, name in enumerate(names):
        rows.append(rows_for(f"{name} CAM", cams[t]))
    for spec in args.fusion:
        kw = parse_fusion(spec)
        rows.append(rows_for(f"fused {spec}", fuse_maps(cams, **kw)))
    size = next(iter(truth.values())).shape
    rows.append(score_maps("centred Gaussian", lambda ks, s: gaussian_map(s).expand(len(ks), *s), truth, masked))
    table = scores_table(rows)
    print(table)
    print(f"{len(keys)} maps, {len(masked)} with a mask of size {size}; CAMs in {cam_seconds:.0f} s")
    result = {
        "settings": {k: v for k, v in vars(args).items()},
        "cam_seconds": cam_seconds,
        "rows": [r.__dict__ for r in rows],
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

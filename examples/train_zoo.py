"""Train the localizer zoo on the training set, then bake the fused primary-region store (the library's bake job,
`primary_mask.localize.bake.bake_store`, which `primary-mask bake` runs too).

The defaults are the recipe measured in docs/results.md ("The zoo recipe"): EfficientNet-Lite0 + MobileNetV2,
trained 3 epochs at 128 px from ImageNet weights (pass `-- --pretrained`: without it the members start from
random weights), fused with bake's defaults (Grad-CAM++, neighboring 0.5 / 0.3, band value mean). The CAMs are
taken at bake's input size, 256 px (`--cam-size`; the recipe's own maps used the DFDC crops' 224, and 224 vs
256 moved the scores little), not at the training size: a CAM at 128 px is a 4x4 grid. The paper's zoo and
maps, for a GPU (not measured here): `--zoo xception efficientnet_b4 vgg16 --size 256 --epochs 5 --cam gradcam
--tau1 0.3 --tau2 0.1 --band-value max`.

  python examples/train_zoo.py --train SPEC --val SPEC --out runs/zoo -- --pretrained
  -> runs/zoo/<member>/best.pt for each member, and the store runs/zoo/maps (from each member's best.pt, or its
     last.pt with --weights last)

Every extra argument after `--` goes to train.py for each member (e.g. -- --pretrained --lr 1e-4).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from urllib.parse import parse_qs

import torch
import train
from backbones import BAKE_NAMES
from common import bake_items

from primary_mask.localize.bake import BakeFailed, BakeInterrupted, bake_store
from primary_mask.localize.names import BAND_VALUES, CAM_NAMES
from primary_mask.localize.recipe import RECIPE

WEIGHTS = ("best", "last")  # which checkpoint of each member the maps come from (--weights)
DEFAULT_WEIGHTS = "best"


def image_root(spec: str) -> Path:
    """The folder a spec's keys are relative to (what bake must get as --images)."""
    if spec.startswith("pseudo:"):
        return Path(spec.removeprefix("pseudo:").partition("?")[0])
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("folder", "ffpp", "dfb", "csv"):
        return Path(spec.partition("?")[0])
    target, _, query = rest.partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    if kind in ("folder", "ffpp"):
        return Path(target)
    return Path(opts.get("root", Path(target).parent))


def main(argv=None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--zoo", nargs="+", default=["efficientnet_lite0", "mobilenet_v2"], choices=sorted(BAKE_NAMES))
    p.add_argument("--size", type=int, default=128, help="training input size (default: 128)")
    p.add_argument("--cam-size", type=int, default=256, help="input size of the CAMs that bake fuses (default: 256)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--map-size", type=int, default=64)
    p.add_argument("--fusion", default="neighboring")
    # CAM and fusion settings go to bake as given; unset, bake's own defaults (the recipe) apply
    p.add_argument("--cam", choices=CAM_NAMES, help=f"CAM method (default: bake's, {RECIPE.cam})")
    p.add_argument("--tau1", type=float, help=f"fusion threshold tau1 (default: bake's, {RECIPE.tau1})")
    p.add_argument("--tau2", type=float, help=f"fusion threshold tau2 (default: bake's, {RECIPE.tau2})")
    p.add_argument(
        "--band-value",
        choices=BAND_VALUES,
        help=f"neighboring fusion's band value (default: bake's, {RECIPE.band_value})",
    )
    p.add_argument(
        "--weights",
        choices=WEIGHTS,
        default=DEFAULT_WEIGHTS,
        help="the checkpoint of each member the maps come from: best.pt (best validation AUC, the default) or "
        "last.pt (the last epoch: for a zoo trained past the point where validation AUC saturates, whose best.pt "
        "would be whichever early epoch first touched the ceiling)",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-bake", action="store_true", help="train the members and write the list only")
    args = p.parse_args(argv)
    out = Path(args.out)
    models = []
    for member in args.zoo:
        run = out / member
        # best.pt appears after the first epoch, so it does not say the member is trained: DONE does. An
        # interrupted member resumes from its last.pt (train.py --resume) instead of being baked half-trained.
        if not (run / "DONE").exists():
            train.main(
                [
                    "--train",
                    args.train,
                    "--val",
                    args.val,
                    "--backbone",
                    member,
                    "--out",
                    str(run),
                    "--size",
                    str(args.size),
                    "--epochs",
                    str(args.epochs),
                    "--batch-size",
                    str(args.batch_size),
                    "--workers",
                    str(args.workers),
                    "--resume",
                    *extra,
                ]
            )
            if (run / "best.pt").exists():
                (run / "DONE").write_text("ok\n")
        if not (run / f"{args.weights}.pt").exists():
            raise SystemExit(
                f"{member}: no {args.weights}.pt in {run} (no epoch finished, or validation AUC never defined); "
                "cannot bake"
            )
        weights = run / "weights.pth"  # the bare state dict that `bake --model NAME:CKPT` reads
        chosen = torch.load(run / f"{args.weights}.pt", map_location="cpu", weights_only=True)["model"]
        torch.save(chosen, weights)
        models.append(f"{BAKE_NAMES[member]}:{weights}")
    items = bake_items(args.train)
    listing = out / "train-list.csv"
    with open(listing, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "video"])
        for it in items:
            w.writerow([it.key, it.label, it.video])
    if args.no_bake:
        return out / "maps"
    given = {"cam": args.cam, "tau1": args.tau1, "tau2": args.tau2, "band_value": args.band_value}
    recipe = RECIPE.replace(  # unset: bake's defaults, the recipe
        size=args.map_size,
        input_size=args.cam_size,
        fusion=args.fusion,
        **{k: v for k, v in given.items() if v is not None},
    )
    try:
        report = bake_store(items, models, out / "maps", recipe, workers=args.workers)
    except (BakeInterrupted, BakeFailed) as stop:
        print(stop, file=sys.stderr)
        raise SystemExit(stop.exit_code) from None
    print(f"{report.summary()} -> {out / 'maps'}")
    return out / "maps"


if __name__ == "__main__":
    main()

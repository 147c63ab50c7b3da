"""``primary-mask bake``: a thin shell over :func:`primary_mask.localize.bake.bake_store`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from primary_mask.cli._parser import positive_int

# Only torch-free modules: ``--help`` must not load torch models, CAM or plotting code.
from primary_mask.localize.names import BAND_VALUES, CAM_BACKENDS, CAM_NAMES, CAM_NORMALIZATIONS, CAM_TARGETS, FUSIONS
from primary_mask.localize.recipe import RECIPE


def add_parsers(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("bake", help="compute fused Grad-CAM maps of a detector zoo and store them (resumable)")
    b.add_argument("--images", required=True, help="image root; keys are paths relative to it")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--list", help="CSV path,label[,video] or one path per line (default: every image under --images)")
    src.add_argument("--deepfakebench-json", help="DeepfakeBench dataset JSON (default: none)")
    b.add_argument("--split", nargs="+", default=["train"], help="splits of the DeepfakeBench JSON (default: train)")
    b.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="NAME[:CKPT]",
        help="a timm model name or torchvision.NAME, with a local checkpoint; repeat for each zoo member",
    )
    b.add_argument(
        "--allow-random-weights",
        action="store_true",
        help="accept --model NAME without a checkpoint (random weights: for tests only)",
    )
    b.add_argument(
        "--cam",
        default=RECIPE.cam,
        choices=CAM_NAMES,
        help="Grad-CAM variant (pytorch-grad-cam); gradcam is the paper's, gradcam++ ranked the manipulated pixels "
        "of DFDC pairs higher (docs/results.md)",
    )
    b.add_argument(
        "--cam-normalize",
        default=RECIPE.normalize,
        choices=CAM_NORMALIZATIONS,
        help="how each model's CAM is scaled to [0, 1] before fusion (default: minmax). minmax: by its own minimum "
        "and maximum (pytorch-grad-cam); max: by its own maximum only, so the CAM's zeros stay 0. "
        "Recorded in the store's provenance when not minmax",
    )
    b.add_argument(
        "--cam-backend",
        default=None,
        choices=CAM_BACKENDS,
        help="who computes the CAMs: torch (batched on --device) or grad-cam (pytorch-grad-cam, NumPy and OpenCV on "
        "the CPU); the maps agree within 1e-5 (default: torch for gradcam and gradcam++, grad-cam for the others). "
        "Recorded in the store's provenance",
    )
    b.add_argument(
        "--target",
        default=RECIPE.target,
        choices=CAM_TARGETS,
        help="which logit each image's CAM explains: label (the paper: its own label's), fake (every image's fake "
        "logit) or both (the mean of the CAMs towards real and fake); fake and both keep the erase from telling the "
        "label (primary-mask leak). Recorded in the store's provenance when not label",
    )
    b.add_argument("--fusion", default=RECIPE.fusion, choices=FUSIONS, help="how the zoo's CAMs become one map")
    b.add_argument("--tau1", type=float, default=RECIPE.tau1, help="fused value s > tau1 is kept (Eq. 6; paper: 0.3)")
    b.add_argument(
        "--tau2",
        type=float,
        default=RECIPE.tau2,
        help="neighboring: s < tau2 is 0, tau2..tau1 by neighbours (Eq. 8; the authors' release: 0.1)",
    )
    b.add_argument(
        "--lam", type=float, default=RECIPE.lam, help="neighboring: neighbour difference that keeps s (Eq. 7)"
    )
    b.add_argument(
        "--band-value",
        default=RECIPE.band_value,
        choices=BAND_VALUES,
        help="neighboring fusion: value of a kept band pixel (tau2 <= s <= tau1). mean: its own mean over the zoo, "
        "never above a core pixel (s > tau1); max: the paper's Eq. 8, the largest value of the zoo in its 3x3 "
        "neighbourhood, so rims outrank cores. Recorded in the store's provenance",
    )
    b.add_argument("--size", type=positive_int, default=RECIPE.size, help="side of the stored maps")
    b.add_argument("--dtype", default="uint8", choices=["uint8", "float16"], help="how the maps are stored")
    b.add_argument("--input-size", type=int, default=RECIPE.input_size, help="images are resized to this for the zoo")
    b.add_argument("--fake-class", type=int, default=1, choices=[0, 1], help="the models' index of 'fake'")
    b.add_argument(
        "--unknown-labels",
        default="error",
        choices=["error", "predicted-class"],
        help="images of unknown label (not under real/ or fake/, no label column): 'error' refuses "
        "to bake them; 'predicted-class' explains each model's own prediction for them",
    )
    b.add_argument("--out", required=True, help="store folder (created, or resumed when it exists)")
    b.add_argument(
        "--device", default=None, help="where the zoo runs, e.g. cpu, cuda:1 (default: cuda when available, else cpu)"
    )
    b.add_argument("--batch-size", type=positive_int, default=32, help="images per Grad-CAM call")
    b.add_argument("--workers", type=int, default=2, help="DataLoader workers reading images")
    b.add_argument(
        "--shard", type=_shard_spec, default=None, metavar="i/n", help="bake only slice i of n (default: all)"
    )
    b.add_argument("--shard-size", type=positive_int, default=4096, help="maps per shard file")
    b.add_argument(
        "--flush-every",
        type=positive_int,
        default=512,
        help="write the maps baked so far at least every N maps; a kill loses at most these",
    )
    b.add_argument("--flush-seconds", type=float, default=60.0, help="... and at least every S seconds")
    b.add_argument("--skip-bad", action="store_true", help="list unreadable images in the store folder and go on")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_bake)


def _shard_spec(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not (0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < n")
    return i, n


def _bake(args: argparse.Namespace) -> int:
    from primary_mask.data.image_list import list_folder, read_deepfakebench_json, read_list_file
    from primary_mask.localize.bake import BakeFailed, BakeInterrupted, bake_store
    from primary_mask.localize.recipe import Recipe

    recipe = Recipe(  # checked before any file is listed or written
        cam=args.cam,
        fusion=args.fusion,
        tau1=args.tau1,
        tau2=args.tau2,
        lam=args.lam,
        band_value=args.band_value,
        normalize=args.cam_normalize,
        target=args.target,
        size=args.size,
        input_size=args.input_size,
    )
    if args.list:
        items = read_list_file(args.images, args.list)
    elif args.deepfakebench_json:
        items = read_deepfakebench_json(args.images, args.deepfakebench_json, tuple(args.split))
    else:
        items = list_folder(args.images)
    try:
        report = bake_store(
            items,
            args.model,
            args.out,
            recipe,
            dtype=args.dtype,
            device=args.device,
            batch_size=args.batch_size,
            workers=args.workers,
            shard=args.shard,
            shard_size=args.shard_size,
            flush_every=args.flush_every,
            flush_seconds=args.flush_seconds,
            skip_bad=args.skip_bad,
            unknown_labels=args.unknown_labels,
            fake_class=args.fake_class,
            allow_random_weights=args.allow_random_weights,
            cam_backend=args.cam_backend,
            progress=not args.quiet,
            log=lambda line: print(line, flush=True),
        )
    except BakeInterrupted as stop:
        print(f"[{stop.writer_id}] {stop}", flush=True)
        return stop.exit_code
    except BakeFailed as failed:
        print(f"primary-mask bake: error: [{failed.writer_id}] {failed}", file=sys.stderr, flush=True)
        if failed.detail:
            print(failed.detail, file=sys.stderr, flush=True)
        return failed.exit_code
    print(f"{report.summary()} -> {args.out}")
    if report.bad:
        print(
            f"[{report.writer_id}] unreadable images listed in {Path(args.out) / f'bad-images-{report.writer_id}.txt'}"
        )
    return 0

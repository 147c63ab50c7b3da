"""The ``primary-mask`` command line: bake, merge, verify, inspect, stats, masks, masks-store, score, landmarks,
synth-grid, synth-set, shortcut-set, demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Only a tiny module of names: ``--help`` must not load torch models, CAM or plotting code.
from primary_mask.localize.names import BAND_VALUES, CAM_NAMES, CAM_NORMALIZATIONS, FUSIONS, RECIPE


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the help states it; flags and required options say none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if "(default" in (action.help or "") or action.nargs == 0 or action.required:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """The subcommands' parsers share the formatter (``add_subparsers`` makes them of this class)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


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
    from primary_mask.localize.bake import (
        BakeInterrupted,
        bake,
        bake_provenance,
        check_labels,
        distributed_rank,
        slice_for_worker,
    )
    from primary_mask.store import PrimaryMapWriter, StoreLock, consolidate_index

    no_checkpoint = [m for m in args.model if not m.partition(":")[2]]
    if no_checkpoint and not args.allow_random_weights:
        raise ValueError(
            f"--model {no_checkpoint[0]} has no checkpoint: its Grad-CAMs would explain random weights. Give NAME:CKPT "
            "(a trained detector), or pass --allow-random-weights (for tests only)"
        )
    if args.list:
        items = read_list_file(args.images, args.list)
    elif args.deepfakebench_json:
        items = read_deepfakebench_json(args.images, args.deepfakebench_json, tuple(args.split))
    else:
        items = list_folder(args.images)
    rank, world = distributed_rank()
    if args.shard and world > 1:
        raise SystemExit("use either torchrun or --shard i/n, not both")
    index, count = args.shard if args.shard else (rank, world)
    writer_id = "main" if count == 1 else (f"rank{index}" if world > 1 else f"shard{index}of{count}")
    group = None if count == 1 else (f"torchrun-{world}" if world > 1 else f"shards-of-{count}")
    device = args.device
    if device is None and world > 1:
        import torch

        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    mine = slice_for_worker(items, index, count)
    check_labels(mine, args.unknown_labels)  # before the store is created: the corrected command must fit it
    Path(args.out).mkdir(parents=True, exist_ok=True)
    lock = StoreLock(args.out, writer_id, group)  # before loading the zoo: a second writer is refused at once
    try:
        from primary_mask.localize import PrimaryRegionLocalizer

        localizer = PrimaryRegionLocalizer(
            args.model,
            cam=args.cam,
            fusion=args.fusion,
            tau1=args.tau1,
            tau2=args.tau2,
            lam=args.lam,
            band_value=args.band_value,
            normalize=args.cam_normalize,
            size=args.size,
            device=device,
            batch_size=args.batch_size,
            fake_class=args.fake_class,
        )
        writer = PrimaryMapWriter(
            args.out,
            size=args.size,
            dtype=args.dtype,
            provenance=bake_provenance(localizer, args.input_size, args.dtype, args.unknown_labels),
            writer_id=writer_id,
            shard_size=args.shard_size,
            flush_every=args.flush_every,
            flush_seconds=args.flush_seconds,
            group=group,
            lock=lock,
        )
    except BaseException:
        lock.release()
        raise
    if writer.repaired:
        lost = sum(writer.repaired.values())
        print(f"[{writer_id}] {lost} maps of missing or damaged shards ({', '.join(writer.repaired)}) are rebaked")
    try:
        report = bake(
            mine,
            localizer,
            writer,
            input_size=args.input_size,
            batch_size=args.batch_size,
            workers=args.workers,
            skip_bad=args.skip_bad,
            bad_report=Path(args.out) / f"bad-images-{writer_id}.txt",
            progress=not args.quiet,
            unknown_labels=args.unknown_labels,
        )
    except BakeInterrupted as stop:
        print(f"[{writer_id}] {stop}", flush=True)
        return stop.exit_code
    print(
        f"[{writer_id}] {report.baked} maps baked, {report.skipped_present} already present, "
        f"{len(report.bad)} unreadable, {report.seconds:.1f} s -> {args.out}"
    )
    if report.bad:
        print(f"[{writer_id}] unreadable images listed in {Path(args.out) / f'bad-images-{writer_id}.txt'}")
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")
        dist.barrier()
        if rank == 0:
            print(f"merged index: {consolidate_index(args.out)} maps")
        dist.barrier()
        dist.destroy_process_group()
    return 0


def _merge(args: argparse.Namespace) -> int:
    from primary_mask.store import consolidate_index, merge_stores

    if args.sources:
        n, dupes = merge_stores(args.out, args.sources)
        print(f"{args.out}: {n} maps ({dupes} duplicate keys kept from the first store holding them)")
    else:
        print(f"{args.out}: index consolidated, {consolidate_index(args.out)} maps")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from primary_mask.figures import inspect_grid
    from primary_mask.store import PrimaryMapStore

    store = PrimaryMapStore(args.store)
    path = inspect_grid(store, args.images, args.out, args.alpha, args.n, args.seed, show_faces=not args.no_faces)
    print(f"wrote {path}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from primary_mask.store import store_stats

    stats = store_stats(args.store, depth=args.depth, bins=args.bins)
    print(stats.table())
    print("\nvalues of positive pixels:")
    for lo, hi, count in zip(stats.hist_edges[:-1], stats.hist_edges[1:], stats.hist_counts):
        print(f"  ({lo:.2f}, {hi:.2f}]  {int(count)}")
    if args.png:
        from primary_mask.figures import stats_figure

        print(f"wrote {stats_figure(stats, args.png, title=str(args.store))}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from primary_mask.store import verify_store

    problems, notes = verify_store(args.store)
    for line in notes:
        print(f"note: {line}")
    for line in problems:
        print(f"problem: {line}", file=sys.stderr)
    print(f"{args.store}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _landmarks(args: argparse.Namespace) -> int:
    from primary_mask.data import list_folder, read_list_file
    from primary_mask.synth import extract_landmarks

    items = read_list_file(args.images, args.list) if args.list else list_folder(args.images)
    missed = extract_landmarks(items, args.out, progress=not args.quiet)
    found = len(items) - len(missed)
    print(f"{found} of {len(items)} images have landmarks in {args.out}; no face found in {len(missed)}")
    if missed:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        Path(args.out, "no-face.txt").write_text("\n".join(missed) + "\n")
        print(f"listed in {Path(args.out, 'no-face.txt')}")
    return 0


def _synth_set(args: argparse.Namespace) -> int:
    from primary_mask.synth.testset import write_pseudo_fake_set

    synths = [name.strip() for name in args.synth.split(",") if name.strip()]
    report = write_pseudo_fake_set(
        args.images, args.landmarks, args.out, args.n, seed=args.seed, synths=synths, progress=not args.quiet
    )
    print(report.summary())
    print(f"test set {args.out} (manifest {report.manifest}); evaluate with --test NAME={args.out}")
    return 0


def _shortcut_set(args: argparse.Namespace) -> int:
    from primary_mask.synth.shortcut import write_shortcut_set

    report = write_shortcut_set(
        args.images,
        args.landmarks,
        args.out,
        n_train=args.n_train,
        n_val=args.n_val,
        n_test=args.n_test,
        size=args.size,
        seed=args.seed,
        general_strength=args.general_strength,
        shortcut=args.shortcut,
        shortcut_strength=args.shortcut_strength,
        part=args.part,
        grow=args.grow,
        progress=not args.quiet,
    )
    print(report.summary())
    print(
        f"train on {args.out}/train (val {args.out}/val), test on {args.out}/test-both, test-general and "
        f"test-shortcut; shortcut masks in {args.out}/masks/shortcut (manifest {report.manifest})"
    )
    return 0


def _synth_grid(args: argparse.Namespace) -> int:
    import numpy as np

    from primary_mask.data import list_folder
    from primary_mask.data.io import read_rgb
    from primary_mask.figures import synth_grid

    items = list_folder(args.images)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(items))
    extractor = None
    images, points = [], []
    for i in order:
        if len(images) == args.n:
            break
        rgb = read_rgb(items[i].path)
        npy = Path(args.landmarks, f"{items[i].key}.npy") if args.landmarks else None
        if npy is not None and npy.exists():
            pts = np.load(npy)
        else:
            if extractor is None:
                from primary_mask.synth import DlibLandmarks

                extractor = DlibLandmarks()
            pts = extractor(rgb)
        if pts is not None:
            images.append(rgb)
            points.append(pts)
    if not images:
        raise ValueError(f"no face with landmarks found under {args.images}")
    print(f"wrote {synth_grid(images, points, args.out, seed=args.seed)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from primary_mask.demo import run_demo

    for path in run_demo(args.out, quick=args.quick):
        print(f"wrote {path}")
    return 0


def _masks(args: argparse.Namespace) -> int:
    from primary_mask.quality.manipulation import read_pairs, write_masks

    pairs = read_pairs(args.pairs, split=args.split)
    rule = {"border": args.border, "align_max": args.align_max, "max_shift": args.max_shift}
    rule["shift_margin"] = args.shift_margin
    rule.update(sigma=args.sigma, threshold=args.threshold)
    report = write_masks(pairs, args.images, args.out, progress=not args.quiet, **rule)
    print(report.summary())
    print(f"per-pair table: {report.table}; rule: {report.rule}")
    return 0


def _masks_store(args: argparse.Namespace) -> int:
    from primary_mask.quality.oracle import write_oracle_store

    report = write_oracle_store(args.masks, args.out, size=args.size, prefix=args.prefix)
    print(report.summary())
    print(f"oracle store: {args.out} (train with --mask static --missing-maps skip)")
    return 0


def _score(args: argparse.Namespace) -> int:
    from primary_mask.quality.manipulation import MaskFolder
    from primary_mask.quality.scores import score_store, scores_table
    from primary_mask.store import PrimaryMapStore

    landmarks = None
    if args.landmarks:
        from primary_mask.data.landmarks import LandmarkFolder

        landmarks = LandmarkFolder(args.landmarks)
    rows, notes = score_store(
        PrimaryMapStore(args.store),
        MaskFolder(args.masks),
        landmarks=landmarks,
        mask_prefix=args.mask_prefix,
        seed=args.seed,
        sigma=args.sigma,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    for line in notes:
        print(f"note: {line}")
    print(scores_table(rows))
    if args.png:
        from primary_mask.figures.scores import scores_figure

        print(f"wrote {scores_figure(rows, args.png, title=str(args.store))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="primary-mask", description="Primary Region Regularization (PRLE) for deepfake detectors.")
    sub = parser.add_subparsers(dest="command", required=True)

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
        default=RECIPE["cam"],
        choices=CAM_NAMES,
        help="Grad-CAM variant (pytorch-grad-cam); gradcam is the paper's, gradcam++ ranked the manipulated pixels "
        "of DFDC pairs higher (docs/results.md)",
    )
    b.add_argument(
        "--cam-normalize",
        default="minmax",
        choices=CAM_NORMALIZATIONS,
        help="how each model's CAM is scaled to [0, 1] before fusion (default: minmax). minmax: by its own minimum "
        "and maximum (pytorch-grad-cam); max: by its own maximum only, so the CAM's zeros stay 0. "
        "Recorded in the store's provenance when not minmax",
    )
    b.add_argument("--fusion", default="neighboring", choices=FUSIONS, help="how the zoo's CAMs become one map")
    b.add_argument(
        "--tau1", type=float, default=RECIPE["tau1"], help="fused value s > tau1 is kept (Eq. 6; paper: 0.3)"
    )
    b.add_argument(
        "--tau2",
        type=float,
        default=RECIPE["tau2"],
        help="neighboring: s < tau2 is 0, tau2..tau1 by neighbours (Eq. 8; the authors' release: 0.1)",
    )
    b.add_argument("--lam", type=float, default=0.15, help="neighboring: neighbour difference that keeps s (Eq. 7)")
    b.add_argument(
        "--band-value",
        default="mean",
        choices=BAND_VALUES,
        help="neighboring fusion: value of a kept band pixel (tau2 <= s <= tau1). mean: its own mean over the zoo, "
        "never above a core pixel (s > tau1); max: the paper's Eq. 8, the largest value of the zoo in its 3x3 "
        "neighbourhood, so rims outrank cores. Recorded in the store's provenance",
    )
    b.add_argument("--size", type=int, default=64, help="side of the stored maps")
    b.add_argument("--dtype", default="uint8", choices=["uint8", "float16"], help="how the maps are stored")
    b.add_argument("--input-size", type=int, default=256, help="images are resized to this for the zoo")
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
    b.add_argument("--batch-size", type=int, default=32, help="images per Grad-CAM call")
    b.add_argument("--workers", type=int, default=2, help="DataLoader workers reading images")
    b.add_argument(
        "--shard", type=_shard_spec, default=None, metavar="i/n", help="bake only slice i of n (default: all)"
    )
    b.add_argument("--shard-size", type=int, default=4096, help="maps per shard file")
    b.add_argument(
        "--flush-every",
        type=int,
        default=512,
        help="write the maps baked so far at least every N maps; a kill loses at most these",
    )
    b.add_argument("--flush-seconds", type=float, default=60.0, help="... and at least every S seconds")
    b.add_argument("--skip-bad", action="store_true", help="list unreadable images in the store folder and go on")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_bake)

    m = sub.add_parser("merge", help="join stores into --out, or consolidate --out's index when no sources are given")
    m.add_argument("--out", required=True, help="the store written (or consolidated)")
    m.add_argument("sources", nargs="*", help="stores to join into --out (default: none, consolidate --out)")
    m.set_defaults(func=_merge)

    i = sub.add_parser("inspect", help="PNG grid: image, fused map, erased at each alpha (Fig. 7)")
    i.add_argument("store", help="store folder")
    i.add_argument("--images", required=True, help="the image root the store was baked from")
    i.add_argument("--out", default="inspect_grid.png", help="PNG written")
    i.add_argument(
        "--alpha", type=float, nargs="+", default=[1.0, 0.7, 0.4, 0.1], help="erase strengths, one column each"
    )
    i.add_argument("--n", type=int, default=8, help="images drawn from the store, one row each")
    i.add_argument("--seed", type=int, default=0, help="seed of the draw")
    i.add_argument("--no-faces", action="store_true", help="maps and masks on grey, without the images")
    i.set_defaults(func=_inspect)

    s = sub.add_parser("stats", help="positive-pixel share per folder (Table I) and value histogram (Fig. 3)")
    s.add_argument("store", help="store folder")
    s.add_argument("--depth", type=int, default=2, help="folder levels used to group keys")
    s.add_argument("--bins", type=int, default=10, help="histogram bins over (0, 1]")
    s.add_argument("--png", default=None, help="also write the figure here (default: no figure)")
    s.set_defaults(func=_stats)

    v = sub.add_parser("verify", help="check checksums, index, shapes and values; exit 1 on any problem")
    v.add_argument("store", help="store folder")
    v.set_defaults(func=_verify)

    lm = sub.add_parser("landmarks", help="68-point landmarks of every face under --images, as OUT/<key>.npy (dlib)")
    lm.add_argument("--images", required=True, help="image root; keys are paths relative to it")
    lm.add_argument("--list", help="CSV path,label[,video] or one path per line (default: every image under --images)")
    lm.add_argument("--out", required=True, help="folder of <key>.npy files (created)")
    lm.add_argument("--quiet", action="store_true", help="no progress bar")
    lm.set_defaults(func=_landmarks)

    sg = sub.add_parser("synth-grid", help="PNG grid of real faces and their SBI / FIA-USA pseudo-fakes")
    sg.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    sg.add_argument("--landmarks", default=None, help="folder of <key>.npy landmarks (default: detect with dlib)")
    sg.add_argument("--out", default="synth_grid.png", help="PNG written")
    sg.add_argument("--n", type=int, default=6, help="faces, one row each")
    sg.add_argument("--seed", type=int, default=0, help="seed of the face draw and the blends")
    sg.set_defaults(func=_synth_grid)

    ss = sub.add_parser(
        "synth-set", help="a fixed test set: N real faces and their seeded pseudo-fakes as OUT/real, OUT/fake (PNG)"
    )
    ss.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    ss.add_argument("--landmarks", required=True, help="folder of <key>.npy landmarks (primary-mask landmarks)")
    ss.add_argument("--out", required=True, help="folder written once; a rerun with the same settings is a no-op")
    ss.add_argument("--n", type=int, required=True, help="number of faces (each gives one real and one fake image)")
    ss.add_argument("--seed", type=int, default=0, help="draws the faces and the pseudo-fakes (default: 0)")
    ss.add_argument(
        "--synth",
        default="sbi,region",
        help="synthesizers, comma-separated, used in turn over the faces: sbi (SelfBlend), region (RegionBlend)",
    )
    ss.add_argument("--quiet", action="store_true", help="no progress bar")
    ss.set_defaults(func=_synth_set)

    from primary_mask.synth.shortcut import SHORTCUT_KINDS, SHORTCUT_PARTS

    sc = sub.add_parser(
        "shortcut-set",
        help="the shortcut benchmark: fakes with a general self-blend trace and a local shortcut, written once",
    )
    sc.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    sc.add_argument("--landmarks", required=True, help="folder of <key>.npy landmarks (primary-mask landmarks)")
    sc.add_argument("--out", required=True, help="folder written once; a rerun with the same settings is a no-op")
    sc.add_argument("--n-train", type=int, default=2000, help="train faces, one real and one fake each (default: 2000)")
    sc.add_argument("--n-val", type=int, default=400, help="val faces (default: 400)")
    sc.add_argument("--n-test", type=int, default=600, help="test faces, shared by the three tests (default: 600)")
    sc.add_argument("--size", type=int, default=128, help="side of the written images in px (default: 128)")
    sc.add_argument("--seed", type=int, default=0, help="draws the faces and the blends (default: 0)")
    sc.add_argument(
        "--general-strength",
        type=float,
        default=1.0,
        help="share of the self-blend's change kept in every pixel, in (0, 1] (default: %(default)s: SBI as is)",
    )
    sc.add_argument(
        "--shortcut", choices=SHORTCUT_KINDS, default="checker", help="the local artifact (default: checker)"
    )
    sc.add_argument(
        "--shortcut-strength",
        type=float,
        default=0.03,
        help="in (0, 1]: checker amplitude (share of the value range), upsample mixing weight, or hue turn "
        "(x 180 degrees) (default: %(default)s)",
    )
    sc.add_argument("--part", choices=SHORTCUT_PARTS, default="nose", help="the facial part it sits on (default: nose)")
    sc.add_argument("--grow", type=float, default=1.2, help="the part's box, its sides scaled by this (default: 1.2)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=_shortcut_set)

    d = sub.add_parser("demo", help="the whole static stage on drawn faces, then the erase grid")
    d.add_argument("--out", default="demo_out", help="output folder")
    d.add_argument("--quick", action="store_true", help="fewer images and training steps (for tests)")
    d.set_defaults(func=_demo)

    mk = sub.add_parser(
        "masks", help="manipulation masks of aligned real/fake pairs: OUT/<fake key>.png, OUT/masks.csv, masks.json"
    )
    mk.add_argument(
        "--pairs",
        required=True,
        help="CSV with a header naming the columns real and fake (paths relative to --images); a bare file name "
        "on a row with a split column is read as SPLIT/real/NAME and SPLIT/fake/NAME (the DFDC crops' pairs.csv)",
    )
    mk.add_argument("--images", required=True, help="image root; mask keys are the fakes' paths relative to it")
    mk.add_argument("--out", required=True, help="folder for the masks (created; rerunning rewrites it)")
    mk.add_argument("--split", default=None, help="keep only the rows of this split (default: every row)")
    mk.add_argument(
        "--border", type=int, default=12, help="width in px of the frame compared for alignment (default: 12)"
    )
    mk.add_argument(
        "--align-max",
        type=float,
        default=6.0,
        help="aligned when the median border difference is below this many grey levels (default: 6)",
    )
    mk.add_argument(
        "--max-shift",
        type=int,
        default=2,
        help="shifts of the real crop tried, up to this many px in x and y (0: none)",
    )
    mk.add_argument(
        "--shift-margin",
        type=float,
        default=0.2,
        help="misaligned when a shift lowers the mean border difference by more than this share (default: 0.2)",
    )
    mk.add_argument("--sigma", type=float, default=2.0, help="Gaussian blur of the difference, in px")
    mk.add_argument(
        "--threshold", type=float, default=15.0, help="manipulated above this blurred grey difference (default: 15)"
    )
    mk.add_argument("--quiet", action="store_true", help="no progress bar")
    mk.set_defaults(func=_masks)

    ms = sub.add_parser(
        "masks-store",
        help="the oracle map store: each aligned fake's manipulation mask as its map, and as its real's map",
    )
    ms.add_argument("masks", help="mask folder written by primary-mask masks (its masks.csv pairs fakes and reals)")
    ms.add_argument("--out", required=True, help="store folder (created; a rerun adds only what is missing)")
    ms.add_argument("--size", type=int, default=64, help="map side in px (default: 64)")
    ms.add_argument(
        "--prefix",
        default="",
        help="keep the pairs whose keys start with this and strip it, e.g. train/ for masks keyed from dfdc and a "
        "training set dfdc/train (default: none)",
    )
    ms.set_defaults(func=_masks_store)

    sc = sub.add_parser(
        "score", help="coverage and forgery localization (AUC, top-10%% precision, pointing) of a store's maps"
    )
    sc.add_argument("store", help="map store folder (primary-mask bake)")
    sc.add_argument("--masks", required=True, help="mask folder written by primary-mask masks")
    sc.add_argument(
        "--mask-prefix",
        default="",
        help="prepended to each store key to find its mask, e.g. train/ for a store baked from dfdc/train and masks "
        "keyed from dfdc (default: none)",
    )
    sc.add_argument(
        "--landmarks",
        default=None,
        help="folder of <key>.npy 68-point landmarks, keyed like the store (default: "
        "none; the landmark-parts reference is then skipped)",
    )
    sc.add_argument("--png", default=None, help="also write the bar figure here (default: no figure)")
    sc.add_argument("--seed", type=int, default=0, help="seed of the uniform random reference map (default: 0)")
    sc.add_argument(
        "--sigma", type=float, default=0.25, help="the Gaussian reference's sigma, share of the side (default: 0.25)"
    )
    sc.add_argument("--batch-size", type=int, default=64, help="maps scored together (default: 64)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        print(f"primary-mask {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before a command installed its own handler (bake saves what it baked itself)
        print(f"primary-mask {args.command}: interrupted before any work was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

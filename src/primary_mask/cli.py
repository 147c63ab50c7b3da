"""The ``primary-mask`` command line: bake, merge, inspect, stats, verify, demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Only a tiny module of names: ``--help`` must not load torch models, CAM or plotting code.
from primary_mask.localize.names import CAM_NAMES, FUSIONS


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
    from primary_mask.localize import PrimaryRegionLocalizer
    from primary_mask.localize.bake import bake, distributed_rank, slice_for_worker
    from primary_mask.store import PrimaryMapWriter, consolidate_index

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
    device = args.device
    if device is None and world > 1:
        import torch

        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    localizer = PrimaryRegionLocalizer(
        args.model,
        cam=args.cam,
        fusion=args.fusion,
        tau1=args.tau1,
        tau2=args.tau2,
        lam=args.lam,
        size=args.size,
        device=device,
        batch_size=args.batch_size,
        fake_class=args.fake_class,
    )
    mine = slice_for_worker(items, index, count)
    writer = PrimaryMapWriter(
        args.out,
        size=args.size,
        dtype=args.dtype,
        provenance=localizer.provenance(),
        writer_id=writer_id,
        shard_size=args.shard_size,
    )
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
    )
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
        Path(args.out, "no-face.txt").write_text("\n".join(missed) + "\n")
        print(f"listed in {Path(args.out, 'no-face.txt')}")
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
        help="timm model name with a local checkpoint; repeat for each zoo member",
    )
    b.add_argument("--cam", default="gradcam", choices=CAM_NAMES, help="Grad-CAM variant (pytorch-grad-cam)")
    b.add_argument("--fusion", default="neighboring", choices=FUSIONS, help="how the zoo's CAMs become one map")
    b.add_argument("--tau1", type=float, default=0.3, help="fused value s > tau1 is kept (Eq. 6)")
    b.add_argument(
        "--tau2", type=float, default=0.1, help="neighboring: s < tau2 is 0, tau2..tau1 by neighbours (Eq. 8)"
    )
    b.add_argument("--lam", type=float, default=0.15, help="neighboring: neighbour difference that keeps s (Eq. 7)")
    b.add_argument("--size", type=int, default=64, help="side of the stored maps")
    b.add_argument("--dtype", default="uint8", choices=["uint8", "float16"], help="how the maps are stored")
    b.add_argument("--input-size", type=int, default=256, help="images are resized to this for the zoo")
    b.add_argument("--fake-class", type=int, default=1, choices=[0, 1], help="the models' index of 'fake'")
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
    lm.add_argument(
        "--list", help="CSV path,label[,video] or one path per line (default: real/ and fake/ under --images)"
    )
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

    d = sub.add_parser("demo", help="the whole static stage on drawn faces, then the erase grid")
    d.add_argument("--out", default="demo_out", help="output folder")
    d.add_argument("--quick", action="store_true", help="fewer images and training steps (for tests)")
    d.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        print(f"primary-mask {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

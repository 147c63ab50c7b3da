"""``primary-mask landmarks | synth-grid | synth-set | shortcut-set``: landmarks, pseudo-fakes, the shortcut set."""

from __future__ import annotations

import argparse
from pathlib import Path

from primary_mask.cli._parser import positive_int
from primary_mask.synth.shortcut import SHORTCUT_KINDS, SHORTCUT_PARTS  # torch-free: names only


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
    sg.add_argument("--n", type=positive_int, default=6, help="faces, one row each")
    sg.add_argument("--seed", type=int, default=0, help="seed of the face draw and the blends")
    sg.set_defaults(func=_synth_grid)

    ss = sub.add_parser(
        "synth-set", help="a fixed test set: N real faces and their seeded pseudo-fakes as OUT/real, OUT/fake (PNG)"
    )
    ss.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    ss.add_argument("--landmarks", required=True, help="folder of <key>.npy landmarks (primary-mask landmarks)")
    ss.add_argument("--out", required=True, help="folder written once; a rerun with the same settings is a no-op")
    ss.add_argument(
        "--n", type=positive_int, required=True, help="number of faces (each gives one real and one fake image)"
    )
    ss.add_argument("--seed", type=int, default=0, help="draws the faces and the pseudo-fakes (default: 0)")
    ss.add_argument(
        "--synth",
        default="sbi,region",
        help="synthesizers, comma-separated, used in turn over the faces: sbi (SelfBlend), region (RegionBlend)",
    )
    ss.add_argument("--quiet", action="store_true", help="no progress bar")
    ss.set_defaults(func=_synth_set)

    sc = sub.add_parser(
        "shortcut-set",
        help="the shortcut benchmark: fakes with a general self-blend trace and a local shortcut, written once",
    )
    sc.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    sc.add_argument("--landmarks", required=True, help="folder of <key>.npy landmarks (primary-mask landmarks)")
    sc.add_argument("--out", required=True, help="folder written once; a rerun with the same settings is a no-op")
    sc.add_argument(
        "--n-train", type=positive_int, default=2000, help="train faces, one real and one fake each (default: 2000)"
    )
    sc.add_argument("--n-val", type=positive_int, default=400, help="val faces (default: 400)")
    sc.add_argument(
        "--n-test", type=positive_int, default=600, help="test faces, shared by the three tests (default: 600)"
    )
    sc.add_argument("--size", type=positive_int, default=128, help="side of the written images in px (default: 128)")
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

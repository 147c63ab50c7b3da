"""``primary-mask masks | masks-store | score``: manipulation masks, the oracle store, and map scores against them."""

from __future__ import annotations

import argparse

from primary_mask.cli._parser import positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    lk = sub.add_parser(
        "leak", help="does the erase tell the label? AUC of real/fake predicted from the erase masks alone"
    )
    lk.add_argument("store", help="map store folder (primary-mask bake)")
    lk.add_argument(
        "--list",
        default=None,
        help="CSV path,label[,video] naming the keys and labels to measure (default: every key of the store, "
        "labelled by its real/ or fake/ folder)",
    )
    lk.add_argument("--alpha-range", type=float, nargs=2, default=(0.0, 1.0), help="the eraser's alpha range")
    lk.add_argument(
        "--pairs",
        default=None,
        help="pairs CSV (split,real,fake): measure the paired rule, each real erased with a fake's map (default: none)",
    )
    lk.add_argument(
        "--pair-prefix", default="", help="stripped from the pairs' keys to find the store's (default: none)"
    )
    lk.add_argument(
        "--unpaired", choices=["own", "none"], default="own", help="a real without a fake's map: its own map, or none"
    )
    lk.add_argument("--draws", type=positive_int, default=1, help="masks drawn per key (alpha drawn each time)")
    lk.add_argument("--seed", type=int, default=0, help="seed of the alphas, the pairing and the folds")
    lk.add_argument("--png", default=None, help="also write the per-class mean masks here (default: no figure)")
    lk.set_defaults(func=_leak)

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
    ms.add_argument("--size", type=positive_int, default=64, help="map side in px (default: 64)")
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
    sc.add_argument("--batch-size", type=positive_int, default=64, help="maps scored together (default: 64)")
    sc.add_argument(
        "--alpha-range",
        type=float,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="also how much of each mask PRLE's erase removes, alpha ~ U(LO, HI) (default: not measured)",
    )
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=_score)


def _leak(args: argparse.Namespace) -> int:
    from primary_mask.quality.leak import store_leak

    report = store_leak(
        args.store,
        args.list,
        alpha_range=args.alpha_range,
        pairs=args.pairs,
        prefix=args.pair_prefix,
        unpaired=args.unpaired,
        draws=args.draws,
        seed=args.seed,
    )
    print(report.summary())
    print(f"maps: {report.served}")
    if args.png:
        from primary_mask.figures.leak import leak_figure

        print(f"wrote {leak_figure(report, args.png, title=str(args.store))}")
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
        alpha_range=args.alpha_range,
    )
    for line in notes:
        print(f"note: {line}")
    print(scores_table(rows))
    if args.png:
        from primary_mask.figures.scores import scores_figure

        print(f"wrote {scores_figure(rows, args.png, title=str(args.store))}")
    return 0

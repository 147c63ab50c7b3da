"""``primary-mask merge | inspect | stats | verify``: work on a baked store."""

from __future__ import annotations

import argparse
import sys

from primary_mask.cli._parser import positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("merge", help="join stores into --out, or consolidate --out's index when no sources are given")
    m.add_argument("--out", required=True, help="the store written (or consolidated)")
    m.add_argument("sources", nargs="*", help="stores to join into --out (default: none, consolidate --out)")
    m.add_argument(
        "--rebuild-index",
        action="store_true",
        help="rebuild --out's index from its shards' own key lists (a damaged or lost index/ part)",
    )
    m.set_defaults(func=_merge)

    i = sub.add_parser("inspect", help="PNG grid: image, fused map, erased at each alpha (Fig. 7)")
    i.add_argument("store", help="store folder")
    i.add_argument("--images", required=True, help="the image root the store was baked from")
    i.add_argument("--out", default="inspect_grid.png", help="PNG written")
    i.add_argument(
        "--alpha", type=float, nargs="+", default=[1.0, 0.7, 0.4, 0.1], help="erase strengths, one column each"
    )
    i.add_argument("--n", type=positive_int, default=8, help="images drawn from the store, one row each")
    i.add_argument("--seed", type=int, default=0, help="seed of the draw")
    i.add_argument("--no-faces", action="store_true", help="maps and masks on grey, without the images")
    i.set_defaults(func=_inspect)

    s = sub.add_parser("stats", help="positive-pixel share per folder (Table I) and value histogram (Fig. 3)")
    s.add_argument("store", help="store folder")
    s.add_argument("--depth", type=positive_int, default=2, help="folder levels used to group keys")
    s.add_argument("--bins", type=positive_int, default=10, help="histogram bins over (0, 1]")
    s.add_argument("--png", default=None, help="also write the figure here (default: no figure)")
    s.set_defaults(func=_stats)

    v = sub.add_parser("verify", help="check checksums, index, shapes and values; exit 1 on any problem")
    v.add_argument("store", help="store folder")
    v.set_defaults(func=_verify)


def _merge(args: argparse.Namespace) -> int:
    from primary_mask.store import consolidate_index, merge_stores, rebuild_index

    if args.rebuild_index:
        if args.sources:
            raise ValueError("--rebuild-index rebuilds --out alone; run the merge afterwards")
        print(f"{args.out}: index rebuilt from the shards, {rebuild_index(args.out)} maps")
    elif args.sources:
        n, dupes = merge_stores(args.out, args.sources)
        print(f"{args.out}: {n} maps ({dupes} duplicate keys kept from the first store holding them)")
    else:
        print(f"{args.out}: index consolidated, {consolidate_index(args.out)} maps")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from primary_mask.figures.grids import choose_keys, inspect_grid
    from primary_mask.store import PrimaryMapStore

    store = PrimaryMapStore(args.store)
    keys = choose_keys(store, args.n, args.seed)
    path = inspect_grid(store, args.images, args.out, args.alpha, show_faces=not args.no_faces, keys=keys)
    print("rows: " + ", ".join(keys))
    print(f"wrote {path}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from primary_mask.store import store_stats

    stats = store_stats(args.store, depth=args.depth, bins=args.bins)
    print(stats.table())
    if stats.warning():
        print(f"warning: {stats.warning()}", file=sys.stderr)
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
    if problems:
        print(f"{args.store}: {len(problems)} problem(s)")
        return 1
    from primary_mask.store import PrimaryMapStore

    n = len(PrimaryMapStore(args.store, verify=False))  # verify_store checked every digest already
    print(f"{args.store}: OK, {n} maps" if n else f"{args.store}: OK, but it holds no map yet")
    return 0

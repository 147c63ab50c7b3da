"""``primary-mask demo``: the whole static stage on drawn faces."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="the whole static stage on drawn faces, then the erase grid")
    d.add_argument("--out", default="demo_out", help="output folder")
    d.add_argument("--quick", action="store_true", help="fewer images and training steps (for tests)")
    d.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from primary_mask.demo import run_demo

    for path in run_demo(args.out, quick=args.quick):
        print(f"wrote {path}")
    return 0

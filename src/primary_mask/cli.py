"""The ``primary-mask`` command line."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from primary_mask.demo import run_demo

    for path in run_demo(args.out):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="primary-mask", description="Primary Region Regularization (PRLE) for deepfake detectors."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="draw synthetic faces and write the erase grid (the paper's Fig. 7)")
    demo.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The ``primary-mask`` command line: bake, merge, verify, inspect, stats, masks, masks-store, score, landmarks,
synth-grid, synth-set, shortcut-set, demo. One module per group of commands, each command's parser beside its
handler; every handler is a thin shell over library calls. ``--help`` loads no torch model, CAM or plotting code."""

from __future__ import annotations

import sys

from primary_mask.cli import bake, demo, faces, quality, store
from primary_mask.cli._parser import HelpFormatter, _Parser

__all__ = ["HelpFormatter", "build_parser", "main"]

# the groups, in the order ``primary-mask --help`` lists their commands
_GROUPS = (bake, store, faces, demo, quality)


def build_parser() -> _Parser:
    parser = _Parser(prog="primary-mask", description="Primary Region Regularization (PRLE) for deepfake detectors.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError, TypeError) as exc:
        print(f"primary-mask {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only or full folder, a file that cannot be written: say which and why
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"primary-mask {args.command}: error: cannot write or read{where}: {exc.strerror or exc}; "
            "choose a folder you can write to (or free space) and rerun",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:  # before a command installed its own handler (bake saves what it baked itself)
        print(f"primary-mask {args.command}: interrupted before any work was saved", file=sys.stderr)
        return 130

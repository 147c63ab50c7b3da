"""Where each erase rule erases reals and fakes, side by side: one row of per-class mean erase masks per rule, with
its leak AUC (``primary_mask.quality.leak.erase_leak``; no image in the figure).

  python examples/plot_leak.py --alpha-range 0.5 1.0 --out docs/figures/shortcut-leak.png \\
      --rule PRLE runs/shortcut/stores/neighboring-...-a879933194 \\
      --rule PRLE-paired runs/shortcut/stores/neighboring-...-a879933194 runs/shortcut/set/pairs.csv \\
      --rule PRLE-fake runs/shortcut/stores/neighboring-...-2296b3997c --pair-prefix train/

``--rule NAME STORE [PAIRS]``: a store's maps as the eraser draws them; with a pairs CSV, the paired rule (each real
erased with one of its fakes' maps). Every other option is ``primary-mask leak``'s, for every row: each row is what
that command measures (``quality.leak.store_leak``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from primary_mask.figures.leak import leak_figure
from primary_mask.quality.leak import store_leak


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rule", nargs="+", action="append", required=True, metavar="NAME STORE [PAIRS]",
                   help="a row: its name, its store, and a pairs CSV for the paired rule")  # fmt: skip
    p.add_argument("--alpha-range", nargs=2, type=float, default=(0.0, 1.0), help="the eraser's alpha range")
    p.add_argument("--list", default=None, help="CSV path,label[,video] of the keys and labels (default: folders)")
    p.add_argument("--pair-prefix", default="", help="stripped from the pairs' keys to find the store's")
    p.add_argument("--unpaired", choices=("own", "none"), default="own", help="a real without a fake's map")
    p.add_argument("--draws", type=int, default=1, help="masks drawn per key (alpha drawn each time)")
    p.add_argument("--seed", type=int, default=0, help="seed of the alphas, the pairing and the folds")
    p.add_argument("--title", default="", help="the figure's first line")
    p.add_argument("--out", required=True, type=Path, help="the PNG written")
    args = p.parse_args(argv)
    reports = {}
    for rule in args.rule:
        if len(rule) not in (2, 3):
            p.error(f"--rule {' '.join(rule)}: give NAME STORE or NAME STORE PAIRS")
        name, store, pairs = rule[0], rule[1], (rule[2] if len(rule) == 3 else None)
        report = store_leak(
            store, args.list, alpha_range=args.alpha_range, pairs=pairs, prefix=args.pair_prefix,
            unpaired=args.unpaired, draws=args.draws, seed=args.seed,
        )  # fmt: skip
        print(f"{name}: {report.summary()}")
        reports[name] = report
    out = leak_figure(reports, args.out, title=args.title)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

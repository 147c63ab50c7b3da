"""Does a trained detector read the hole? Each real is erased with its own map's hole, with its fake's (one alpha,
the pair shares one face) and with its fake's cut to the own hole's size; a rise in the fake score says the
detector learnt the hole as a cue (``primary_mask.quality.hole``). One row per ``--detector``, a markdown table, a
JSON and a PNG. One probe for every detector: the store's maps and ``--alpha-range``, e.g. the erase the PRLE
rows drew.

  python examples/hole_response.py --images runs/shortcut/set/test-both --pairs runs/shortcut/set/pairs.csv \\
      --pair-prefix test-both/ --store runs/shortcut/hole/store-test-both --alpha-range 0.5 1 \\
      --detector baseline=runs/shortcut/detectors/mobilenet_v2-baseline/best.pt \\
      --detector PRLE=runs/shortcut/detectors/mobilenet_v2-PRLE/best.pt --out runs/shortcut/hole/mobilenet_v2

The reals are those of ``--images`` with a fake in ``--pairs`` whose map is in ``--store`` (``--reals N``: a seeded
sample of them). Measure held-out reals (bake the zoo's maps of a test split with the training store's settings):
on training reals a PRLE detector has learnt each real with its own hole as real, so its own-hole score is
memorised and any unfamiliar hole would look like a rise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from backbones import load_detector

from primary_mask.data import SPEC_HELP, DeepfakeImageDataset, items_from_spec
from primary_mask.data.pairing import PairedMaps
from primary_mask.figures.hole import hole_figure
from primary_mask.quality.hole import hole_response
from primary_mask.store import PrimaryMapStore


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--images", required=True, help="the dataset spec of the store's images (its reals are used)")
    p.add_argument("--store", required=True, help="the maps the detectors were trained with")
    p.add_argument("--pairs", required=True, help="pairs CSV: which fake was made from which real")
    p.add_argument("--pair-prefix", default="", help="stripped from the pairs' keys to find the store's")
    p.add_argument("--detector", action="append", required=True, metavar="NAME=CHECKPOINT",
                   help="a train.py checkpoint; repeat for each row")  # fmt: skip
    p.add_argument("--alpha-range", nargs=2, type=float, required=True, metavar=("LO", "HI"),
                   help="the probe's alpha range (e.g. what the PRLE rows trained with: 0.5 1)")  # fmt: skip
    p.add_argument("--fill", type=float, default=0.0, help="the erase's fill, on the 0-255 image")
    p.add_argument("--reals", type=int, default=1000, help="reals measured (a seeded sample; 0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and of the alphas")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default=None)
    p.add_argument("--title", default="", help="the figure's first line")
    p.add_argument("--out", required=True, type=Path, help="folder for hole.md, hole.json and hole.png")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| Detector | reals | not erased | own hole | fake's hole | fake's - own (95% CI) | higher for | AUC "
        "| fake's at own size - own |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in rows.items():
        lines.append(
            f"| {name} | {d['reals']} | {d['plain']:.3f} | {d['own']:.3f} | {d['swapped']:.3f} | "
            f"{d['effect']:+.3f} ± {d['effect_ci95']:.3f} | {100 * d['share_up']:.0f}% | {d['auc']:.3f} | "
            f"{d['place_effect']:+.3f} ± {d['place_effect_ci95']:.3f} |"
        )
    if rows:
        d = next(iter(rows.values()))
        lines.append(
            f"\nHoles: the own map's {100 * d['own_share']:.0f}% of the image on average, the fake's "
            f"{100 * d['swapped_share']:.0f}%; columns 3-5: mean fake probability of the reals."
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    detectors = []
    for spec in args.detector:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"--detector {spec!r}: expected NAME=CHECKPOINT")
        if not Path(path).is_file():
            raise SystemExit(f"--detector {name}: {path} does not exist")
        detectors.append((name, path))
    store = PrimaryMapStore(args.store)
    paired = PairedMaps(store, args.pairs, prefix=args.pair_prefix, unpaired="none")
    reals = [it for it in items_from_spec(args.images) if it.label == 0 and paired.fakes_of.get(it.key)]
    if not reals:
        raise SystemExit(
            f"no real of {args.images} has a fake in {args.pairs} with a map in {args.store}: check --pair-prefix "
            f"(the store's keys look like {next(iter(store.keys()), None)!r})"
        )
    if args.reals and args.reals < len(reals):
        pick = np.sort(np.random.default_rng(args.seed).choice(len(reals), args.reals, replace=False))
        reals = [reals[i] for i in pick]
    dataset = DeepfakeImageDataset(reals)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    responses, rows = {}, {}
    for name, path in detectors:
        model, ckpt = load_detector(path)
        # the same fake for each real under every detector: one seeded draw per detector
        generator = torch.Generator().manual_seed(args.seed)
        swapped = PairedMaps(store, paired.fakes_of, unpaired="none", generator=generator)
        response = hole_response(
            model, dataset, store, swapped, args.alpha_range, args.fill, size=ckpt["size"], seed=args.seed,
            batch_size=args.batch_size, device=device, progress=not args.quiet,
        )  # fmt: skip
        print(f"{name}: {response.summary()}")
        responses[name], rows[name] = response, {**response.as_dict(), "checkpoint": str(path)}
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: getattr(args, k) for k in ("images", "store", "pairs", "pair_prefix", "reals", "seed", "fill")}
    settings["alpha_range"] = list(args.alpha_range)
    (args.out / "hole.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n")
    (args.out / "hole.md").write_text(table(rows) + "\n")
    png = hole_figure(responses, args.out / "hole.png", title=args.title)
    print(table(rows))
    print(f"wrote {args.out / 'hole.md'}, {args.out / 'hole.json'} and {png}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

"""Erased reals and fakes side by side under each erase rule: a few real/fake pairs (the pair shares one face), each
erased as a detector trained with the rule would see it (``primary_mask.figures.erase_rules``). Where the
label-targeted rule gives a real and its fake different holes, the paired rule gives both the fake's.

  python examples/plot_erase_rules.py --images runs/shortcut/set/train --pairs runs/shortcut/set/pairs.csv \\
      --pair-prefix train/ --alpha 0.75 --out docs/figures/shortcut-erase-rules.png \\
      --rule PRLE runs/shortcut/stores/neighboring-...-a879933194 \\
      --rule PRLE-paired runs/shortcut/stores/neighboring-...-a879933194 paired \\
      --rule PRLE-fake runs/shortcut/stores/neighboring-...-2296b3997c \\
      --whole Oracle runs/shortcut/stores/oracle-49a7b7884d --no-faces

``--rule NAME STORE [paired]``: erase each image with its own map from STORE at ``--alpha``; with ``paired``, each
real with its fake's map (the fake shown beside it). ``--whole NAME STORE [paired]``: erase every positive pixel
(alpha 1: the static rule, the Oracle's mask). Maps are checked against their images as training checks them.
``--no-faces``: the holes on a grey canvas, without the images (the figures of research-licensed faces in docs/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import v2

from primary_mask.data import SPEC_HELP, DeepfakeImageDataset, items_from_spec
from primary_mask.data.pairing import PairedMaps, pairs_by_real
from primary_mask.data.pairs import read_pairs
from primary_mask.data.wrappers import with_primary_maps
from primary_mask.figures.erase_rules import RuleMaps, erase_rules_figure
from primary_mask.store import PrimaryMapStore


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--images", required=True, help="the dataset spec of the stores' images (reals and fakes)")
    p.add_argument("--pairs", required=True, help="pairs CSV: which fake was made from which real")
    p.add_argument("--pair-prefix", default="", help="stripped from the pairs' keys to find the stores'")
    p.add_argument("--rule", nargs="+", action="append", default=[], metavar="NAME STORE [paired]",
                   help="a rule erased at --alpha: its name, its store, and 'paired' for the paired rule")  # fmt: skip
    p.add_argument("--whole", nargs="+", action="append", default=[], metavar="NAME STORE [paired]",
                   help="a rule that erases every positive pixel of its maps (e.g. the Oracle's masks)")  # fmt: skip
    p.add_argument("--n", type=int, default=4, help="pairs drawn (a seeded sample)")
    p.add_argument("--alpha", type=float, default=0.75, help="the alpha of every --rule, the same for every row")
    p.add_argument("--fill", type=float, default=0.0, help="the erase's fill, on the 0-255 image")
    p.add_argument("--size", type=int, default=160,
                   help="images resized to size x size before the erase, as training does (0: as stored)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--no-faces", action="store_true",
                   help="the holes on grey, without the images (for figures of research-licensed faces)")  # fmt: skip
    p.add_argument("--out", required=True, type=Path, help="the PNG written")
    args = p.parse_args(argv)
    if not args.rule and not args.whole:
        p.error("give at least one --rule or --whole")
    for rule in args.rule + args.whole:
        if len(rule) not in (2, 3) or (len(rule) == 3 and rule[2] != "paired"):
            p.error(f"{' '.join(rule)}: give NAME STORE or NAME STORE paired")
    if not 0.0 <= args.alpha <= 1.0:
        p.error(f"--alpha must be in [0, 1], got {args.alpha}")
    if args.n < 1:
        p.error(f"--n must be at least 1, got {args.n}")
    return args


def main(argv=None) -> Path:
    args = parse_args(argv)
    specs = [(r, None) for r in args.rule] + [(r, 1.0) for r in args.whole]
    stores = {path: PrimaryMapStore(path) for (rule, _) in specs for path in rule[1:2]}
    items = {it.key: it for it in items_from_spec(args.images)}
    fakes_of = pairs_by_real(read_pairs(args.pairs), args.pair_prefix)
    # a pair is drawable when both images are in --images and both keys are in every store (a real with several
    # fakes: its first); a pair whose two images were baked at different sizes is not one face, and is left out
    drawable = [
        (real, fakes[0]) for real, fakes in sorted(fakes_of.items())
        if fakes and real in items and fakes[0] in items
        and all(real in s and fakes[0] in s for s in stores.values())
    ]  # fmt: skip
    candidates = [(r, f) for r, f in drawable if all(s.image_size(r) == s.image_size(f) for s in stores.values())]
    if len(candidates) < len(drawable):
        print(f"{len(drawable) - len(candidates)} pair(s) left out: their real and fake were baked at different sizes")
    if not candidates:
        some = next(iter(next(iter(stores.values())).keys()), None)
        raise SystemExit(
            f"no pair of {args.pairs} has both images in {args.images} and maps in every store: check "
            f"--pair-prefix (the stores' keys look like {some!r}, the images' like {next(iter(items), None)!r})"
        )
    pick = np.sort(np.random.default_rng(args.seed).choice(len(candidates), min(args.n, len(candidates)), False))
    pairs = [candidates[i] for i in pick]
    shown = {real: [fake] for real, fake in pairs}  # the paired rule erases each real with the fake shown
    keys = [real for real, _ in pairs] + [fake for _, fake in pairs]
    dataset = DeepfakeImageDataset([items[k] for k in keys])
    resize = v2.Resize((args.size, args.size), antialias=True) if args.size else v2.Identity()

    def load(source) -> tuple[torch.Tensor, torch.Tensor]:
        wrapped = with_primary_maps(dataset, source, keys=keys, transform=resize, return_map=True)
        samples = [wrapped[i] for i in range(len(wrapped))]
        sizes = sorted({tuple(s[0].shape[-2:]) for s in samples})
        if len(sizes) > 1:
            raise SystemExit(f"the images drawn have different sizes {sizes}: give --size to resize them to one")
        return torch.stack([s[0] for s in samples]), torch.stack([s[2][0] for s in samples])

    rules, images, n = {}, None, len(pairs)
    for rule, alpha in specs:
        name, store = rule[0], stores[rule[1]]
        source = PairedMaps(store, shown, unpaired="none") if len(rule) == 3 else store
        images, maps = load(source)
        rules[name] = RuleMaps(maps[:n], maps[n:], alpha)
    # the label strip holds about 18 characters: the start of each file name, which tells long names apart
    labels = [[f"real {real.rsplit('/', 1)[-1][:13]}", f"fake {fake.rsplit('/', 1)[-1][:13]}"] for real, fake in pairs]
    out = erase_rules_figure(
        images[:n], images[n:], rules, args.out, args.alpha, args.fill, row_labels=labels, show_faces=not args.no_faces
    )
    print(f"wrote {out} ({n} pairs, rules: {', '.join(rules)}; alpha {args.alpha} for --rule, 1 for --whole)")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

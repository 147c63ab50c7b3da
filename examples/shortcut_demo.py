"""See what PRLE does, in under 15 minutes on a CPU: the shortcut benchmark's core (issue #23 section 4).

Writes a small shortcut set from real faces (fakes carrying a general self-blend trace and a faint checkerboard on
the nose), trains a one-member zoo on it, bakes its maps, and trains three detectors with one seed: the baseline,
PRLE with the zoo's maps, and the Oracle (the shortcut's own box erased). The table shows each detector's AUC on the
three tests: `both` (in distribution), `general` (the shortcut removed: did the detector learn the forgery?) and
`shortcut` (no blend: how much does it rely on the shortcut?). A detector that took the shortcut scores high on
`both` and `shortcut` and low on `general`; an erase that makes it learn the forgery raises `general`.

  .venv/bin/primary-mask landmarks --images ../shared/data/utkface --out runs/utk-landmarks     # once, 5 min
  .venv/bin/python examples/shortcut_demo.py --images ../shared/data/utkface --landmarks runs/utk-landmarks

Everything goes under --out (default runs/shortcut-demo) and is resumed by running the same command again; the
whole study with three seeds, both backbones and every erase rule is examples/configs/shortcut-study.yaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import reproduce
import yaml

from primary_mask.synth.shortcut import write_shortcut_set


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", required=True, help="a folder of real faces (e.g. ../shared/data/utkface)")
    p.add_argument("--landmarks", required=True, help="their <key>.npy landmarks (primary-mask landmarks)")
    p.add_argument("--out", default="runs/shortcut-demo", help="work folder (default: runs/shortcut-demo)")
    p.add_argument("--faces", type=int, nargs=3, default=(600, 150, 300), metavar=("TRAIN", "VAL", "TEST"),
                   help="faces per split (default: 600 150 300)")  # fmt: skip
    p.add_argument("--size", type=int, default=64, help="image side in px (default: 64)")
    p.add_argument("--epochs", type=int, default=3, help="epochs of each detector (default: 3)")
    p.add_argument("--tiny", action="store_true", help="one step per epoch, random weights (tests only)")
    args = p.parse_args(argv)
    out = Path(args.out)
    n_train, n_val, n_test = args.faces
    report = write_shortcut_set(args.images, args.landmarks, out / "set", n_train=n_train, n_val=n_val,
                                n_test=n_test, size=args.size)  # fmt: skip
    print(report.summary())
    s = out / "set"
    extra = ["--max-steps", "1", "--workers", "0", "--quiet"] if args.tiny else ["--pretrained", "--quiet"]
    cfg = {
        "name": "shortcut-demo",
        "workdir": str(out / "runs"),
        "results_dir": str(out),
        "data": {
            "train": str(s / "train"),
            "val": str(s / "val"),
            "tests": {name: str(s / f"test-{name}") for name in ("both", "general", "shortcut")},
            "masks": str(s / "masks" / "shortcut"),
            "mask_prefix": "train/",
        },
        "zoo": {"members": ["mobilenet_v2"], "size": args.size, "epochs": 2, "batch_size": 32, "args": extra},
        "bake": {"size": 32, "cam": "gradcam++", "tau1": 0.5, "tau2": 0.3, "band_value": "mean", "input_size": 256},
        "train": {"size": args.size, "epochs": args.epochs, "batch_size": 32, "args": extra},
        "backbones": ["mobilenet_v2"],
        "variants": [
            {"name": "baseline"},
            {"name": "PRLE", "prle": {"p": 0.5, "alpha_range": [0.5, 1.0]}},
            {"name": "Oracle", "prle": {"mask": "oracle", "p": 0.5, "missing": "skip"}},
        ],
    }
    config = out / "shortcut-demo.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    table = reproduce.main(["--config", str(config)])
    print(f"\nread {table}: compare the `general` AUC of the three rows")
    return table


if __name__ == "__main__":
    main(sys.argv[1:])

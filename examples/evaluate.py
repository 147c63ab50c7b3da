"""Evaluate a trained detector on one or more test sets: ACC (threshold 0.5), AUC, AP, EER at frame and video
level, printed and written as markdown in the layout of the paper's Table II (ACC/AUC per set and their mean).

  python examples/evaluate.py --checkpoint runs/x/best.pt --test DFDC=../shared/data/dfdc/test --out runs/x/eval
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from backbones import load_detector
from common import predict, refuse_pseudo_test, to_model_input
from torch.utils.data import DataLoader

from primary_mask.data import SPEC_HELP, DeepfakeImageDataset, items_from_spec
from primary_mask.metrics import detection_report


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt written by train.py")
    p.add_argument("--test", action="append", required=True, metavar="NAME=SPEC", help="repeat for each test set")
    p.add_argument("--name", default=None, help="row label in the table (default: the checkpoint's backbone)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="folder for results.md and results.json")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}"


def table(name: str, reports: dict[str, dict], level: str) -> str:
    sets = list(reports)
    head = "| Method | " + " | ".join(f"{s} ACC | {s} AUC" for s in sets) + " | AVG ACC | AVG AUC |"
    sep = "|---" * (1 + 2 * len(sets) + 2) + "|"
    accs = [reports[s][level]["acc"] for s in sets]
    aucs = [reports[s][level]["auc"] for s in sets]
    valid_aucs = [a for a in aucs if not math.isnan(a)]
    row = f"| {name} | " + " | ".join(f"{fmt(a)} | {fmt(u)}" for a, u in zip(accs, aucs))
    row += f" | {fmt(sum(accs) / len(accs))} | {fmt(sum(valid_aucs) / len(valid_aucs) if valid_aucs else math.nan)} |"
    return "\n".join([head, sep, row])


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    for spec in args.test:  # before any work: a pseudo: test would otherwise fail after the model is loaded
        name, _, target = spec.partition("=")
        refuse_pseudo_test(f"--test {name}", target)
    model, ckpt = load_detector(args.checkpoint)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(device)
    reports = {}
    for spec in args.test:
        name, sep, target = spec.partition("=")
        if not sep:
            raise SystemExit(f"--test {spec!r}: expected NAME=SPEC")
        items = items_from_spec(target)
        unlabelled = [it.key for it in items if it.label not in (0, 1)]
        if unlabelled:
            raise SystemExit(
                f"--test {name}: {len(unlabelled)} images have no label (no real/ or fake/ folder above "
                f"them, e.g. {unlabelled[:2]}); point at the folder that contains real/ and fake/"
            )
        ds = DeepfakeImageDataset(items, transform=to_model_input(ckpt["size"]))
        scores = predict(
            model, DataLoader(ds, batch_size=args.batch_size, num_workers=args.workers), device, progress=not args.quiet
        )
        reports[name] = detection_report(ds.labels, scores, ds.videos)
        for level in ("frame", "video"):
            r = reports[name][level]
            note = f"  ({r['note']})" if "note" in r else ""
            print(
                f"{name:>12s} {level:5s}: n={r['n']} ACC {fmt(r['acc'])} AUC {fmt(r['auc'])} AP {fmt(r['ap'])} "
                f"EER {fmt(r['eer'])}{note}"
            )
    label = args.name or ckpt["backbone"]
    md = "\n\n".join(f"**{level}-level**\n\n{table(label, reports, level)}" for level in ("frame", "video"))
    print("\n" + md)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(md + "\n")
        result = {"checkpoint": str(args.checkpoint), "name": label, "reports": reports}
        result["seconds"] = round(time.perf_counter() - started, 1)  # this evaluation's wall clock
        # Whole or not at all: reproduce.py --report may read it while a study is running.
        (out / "results.json.tmp").write_text(json.dumps(result, indent=2, default=str))
        (out / "results.json.tmp").replace(out / "results.json")
    return reports


if __name__ == "__main__":
    main(sys.argv[1:])

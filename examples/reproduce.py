"""Run a whole PRLE protocol from one YAML config and write the table in the paper's layout.

  python examples/reproduce.py --config examples/configs/offline-dfdc.yaml [--check | --dry-run]

Steps: train the localizer zoo -> bake one store per distinct bake setting -> train every backbone x variant ->
evaluate each on every test set -> examples/results/<name>.{md,csv,json}. Each finished step leaves a marker and is
skipped when the command is run again (resumable). The plan and an estimate of its duration (from one timed
training step per backbone) are printed first. Checkpoints are chosen on the validation split only.

Config keys (see examples/configs/*.yaml):
  name, seed, workdir (default runs/<name>), results_dir (default examples/results)
  data: {train: SPEC, val: SPEC, tests: {NAME: SPEC, ...}, landmarks: DIR}   # landmarks: for mask: landmark
  zoo: {members: [...], size, epochs, batch_size, args: [...]}         # extra args go to train.py
  bake: {size, fusion, tau1, tau2, lam}                                  # defaults for every variant
  train: {size, epochs, batch_size, lr, args: [...]}
  backbones: [...]
  variants: [{name, prle: {mask, p, alpha_range, fill, gamma, erase_on} | null, bake: {overrides, members: [...]}}]
  mask: primary (PRLE), random, static (these three erase from the baked maps) or landmark (from data.landmarks)
  missing: error (default) or skip: what to do with training images without a map / landmarks (skip: not erased)
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import evaluate
import torch
import train
import train_zoo
import yaml
from backbones import BACKBONES
from common import dataset_from_spec

from primary_mask.cli import main as primary_mask_main

BAKE_DEFAULTS = {"size": 64, "fusion": "neighboring", "tau1": 0.3, "tau2": 0.1, "lam": 0.15}
MASKS = train.MASKS
# Every key a config may hold, section by section (data.tests holds free names); anything else is a typo.
BAKE_KEYS = tuple(BAKE_DEFAULTS)
CONFIG_KEYS = {
    "": ("name", "seed", "workdir", "results_dir", "data", "zoo", "bake", "train", "backbones", "variants"),
    "data": ("train", "val", "tests", "landmarks"),
    "zoo": ("members", "size", "epochs", "batch_size", "args"),
    "bake": BAKE_KEYS,
    "train": ("size", "epochs", "batch_size", "lr", "args"),
    "variants[]": ("name", "prle", "bake"),
    "variants[].prle": ("mask", "p", "alpha_range", "fill", "gamma", "erase_on", "missing"),
    "variants[].bake": (*BAKE_KEYS, "members"),
}


def variant_mask(variant: dict) -> str | None:
    """The erase mask a variant trains with (prle.mask, default "primary"), or None without PRLE."""
    return variant["prle"].get("mask", "primary") if variant.get("prle") else None


def load_config(path: Path) -> dict:
    return load_config_dict(yaml.safe_load(path.read_text()), str(path))


def _check_keys(section: dict, kind: str, label: str, where: str) -> None:
    """Refuse a key the runner does not read (a typo would otherwise be ignored silently)."""
    if not isinstance(section, dict):
        raise SystemExit(f"{where}: {label or 'the config'} must be a mapping, got {type(section).__name__}")
    valid = CONFIG_KEYS[kind]
    for key in section:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            hint = f"did you mean {near[0]!r}? " if near else ""
            name = f"{label}.{key}" if label else str(key)
            raise SystemExit(f"{where}: unknown key {name!r}; {hint}valid keys here: {', '.join(valid)}")


def check_keys(cfg: dict, where: str = "config") -> None:
    """Every key of the config, in every section, is one the runner reads."""
    _check_keys(cfg, "", "", where)
    for section in ("data", "zoo", "bake", "train"):
        if cfg.get(section) is not None:
            _check_keys(cfg[section], section, section, where)
    for i, variant in enumerate(cfg.get("variants") or []):
        label = f"variants[{i}]"
        _check_keys(variant, "variants[]", label, where)
        label = f"variants[{variant.get('name', i)}]"
        for section in ("prle", "bake"):
            if variant.get(section) is not None:
                _check_keys(variant[section], f"variants[].{section}", f"{label}.{section}", where)


def load_config_dict(cfg: dict, where: str = "config") -> dict:
    """Check the keys (unknown ones are refused, with the nearest valid key) and fill the defaults."""
    check_keys(cfg, where)
    for key in ("name", "data", "zoo", "backbones", "variants"):
        if key not in cfg:
            raise SystemExit(f"{where}: missing key {key!r}")
    for key in ("train", "val", "tests"):
        if key not in cfg["data"]:
            raise SystemExit(f"{where}: data.{key} is missing")
    masks = {variant_mask(v) for v in cfg["variants"]} - {None}
    if not masks <= set(MASKS):
        raise SystemExit(f"{where}: unknown prle.mask {sorted(masks - set(MASKS))}; use one of {MASKS}")
    if "landmark" in masks and not cfg["data"].get("landmarks"):
        raise SystemExit(
            f"{where}: a variant uses mask: landmark but data.landmarks (a folder of <key>.npy files, "
            "see `primary-mask landmarks`) is not set"
        )
    cfg.setdefault("seed", 0)
    cfg.setdefault("train", {})
    cfg["bake"] = {**BAKE_DEFAULTS, **cfg.get("bake", {})}
    return cfg


def bake_setting(cfg: dict, variant: dict) -> dict | None:
    """The store a variant erases from, or None (no PRLE, or landmark masks, which need no maps)."""
    if variant_mask(variant) in (None, "landmark"):
        return None
    over = variant.get("bake", {})
    return {
        **cfg["bake"],
        **{k: v for k, v in over.items() if k != "members"},
        "members": over.get("members", cfg["zoo"]["members"]),
    }


def store_dir(work: Path, setting: dict) -> Path:
    digest = hashlib.sha1(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:10]
    return work / "stores" / f"{setting['fusion']}-{'+'.join(setting['members'])}-{digest}"


def train_args(cfg: dict, backbone: str, out: Path, variant: dict, store: Path | None) -> list[str]:
    t = cfg["train"]
    args = [
        "--train",
        cfg["data"]["train"],
        "--val",
        cfg["data"]["val"],
        "--backbone",
        backbone,
        "--out",
        str(out),
        "--size",
        str(t.get("size", 256)),
        "--epochs",
        str(t.get("epochs", 10)),
        "--batch-size",
        str(t.get("batch_size", 32)),
        "--lr",
        str(t.get("lr", 2e-4)),
        "--seed",
        str(cfg["seed"]),
        "--resume",  # an interrupted training step continues from its last.pt
        *map(str, t.get("args", [])),
    ]
    prle = variant.get("prle")
    if prle:
        a = prle.get("alpha_range", [0.0, 1.0])
        source = ["--landmarks", str(cfg["data"]["landmarks"])] if store is None else ["--maps", str(store)]
        args += [
            *source,
            "--mask",
            prle.get("mask", "primary"),
            "--p",
            str(prle.get("p", 0.5)),
            "--alpha-range",
            str(a[0]),
            str(a[1]),
            "--fill",
            str(prle.get("fill", 0)),
            "--gamma",
            str(prle.get("gamma", 1.0)),
            "--erase-on",
            prle.get("erase_on", "loader"),
            "--missing-maps",
            prle.get("missing", "error"),
        ]
    return args


def estimate_seconds(cfg: dict) -> float:
    """Time training steps per backbone (after one warm-up step) at the configured size and extrapolate to every
    training run; a rough figure (the data loading, evaluation and baking come on top)."""
    n_train = len(dataset_from_spec(cfg["data"]["train"]))
    t = cfg["train"]
    size, bs = t.get("size", 256), t.get("batch_size", 32)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    total = 0.0
    zoo = cfg["zoo"]
    for name in set(cfg["backbones"]) | set(zoo["members"]):
        model = BACKBONES[name](size, False).to(device)  # weights do not change the speed; no warning printed
        x = torch.randn(min(bs, 8), 3, size, size, device=device)
        model(x).sum().backward()  # warm-up: first-call allocation and kernel selection
        start = time.perf_counter()
        for _ in range(2):
            model(x).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()
        per_image = (time.perf_counter() - start) / (2 * x.shape[0])
        runs = len(cfg["variants"]) * cfg["backbones"].count(name)
        total += per_image * n_train * (runs * t.get("epochs", 10) + zoo.get("epochs", 5) * zoo["members"].count(name))
    return total


def check(cfg: dict) -> dict:
    """Open every dataset the config names (and the landmark folder, if used) without training anything: a
    wrong path, split file or spec stops here, naming the config key, not hours into a run. Returns a summary
    ``{key: {"images", "real", "fake", "videos"}}`` and prints it."""
    from backbones import BACKBONES
    from train_zoo import BAKE_NAMES

    unknown = sorted(set(cfg["backbones"]) - set(BACKBONES)) + sorted(set(cfg["zoo"]["members"]) - set(BAKE_NAMES))
    if unknown:
        raise SystemExit(f"{cfg['name']}: unknown backbones or zoo members {unknown}")
    specs = {"data.train": cfg["data"]["train"], "data.val": cfg["data"]["val"]}
    specs.update({f"data.tests.{k}": v for k, v in cfg["data"]["tests"].items()})
    summary, opened = {}, {}
    for key, spec in specs.items():
        try:
            ds = opened[key] = dataset_from_spec(spec)
        except (OSError, ValueError, KeyError) as err:
            raise SystemExit(f"{cfg['name']}: {key} = {spec!r} cannot be read: {err}") from None
        labels = list(ds.labels)
        summary[key] = {
            "images": len(ds),
            "real": labels.count(0),
            "fake": labels.count(1),
            "videos": len(set(ds.videos)),
        }
        if len(ds) == 0 or not (summary[key]["real"] and summary[key]["fake"]):
            print(f"warning: {key} has {summary[key]['real']} real and {summary[key]['fake']} fake images")
    if any(variant_mask(v) == "landmark" for v in cfg["variants"]):  # load_config ensures data.landmarks is set
        from primary_mask import LandmarkFolder

        try:
            folder = LandmarkFolder(cfg["data"]["landmarks"])
        except FileNotFoundError as err:
            raise SystemExit(f"{cfg['name']}: data.landmarks: {err}") from None
        keys = sorted(set(opened["data.train"].keys))
        missing = [k for k in keys if k not in folder]
        summary["data.landmarks"] = {"images": len(keys) - len(missing), "missing": len(missing)}
        if missing:
            print(f"warning: {len(missing)} of {len(keys)} training images have no landmarks, e.g. {missing[:2]}")
    for key, row in summary.items():
        print(f"  {key}: " + ", ".join(f"{v} {k}" for k, v in row.items()))
    return summary


def run(cfg: dict, dry_run: bool = False) -> Path:
    name = cfg["name"]
    work = Path(cfg.get("workdir", f"runs/{name}"))
    zoo = cfg["zoo"]
    settings = {}
    for v in cfg["variants"]:
        s = bake_setting(cfg, v)
        if s is not None:
            settings[json.dumps(s, sort_keys=True)] = s
    print(f"plan for {name} (work folder {work}):")
    print(f"  1. train the zoo {zoo['members']} ({zoo.get('epochs', 5)} epochs each) unless done")
    print(
        f"  2. bake {len(settings)} store(s): "
        + "; ".join(f"{s['fusion']} tau1={s['tau1']} {s['members']}" for s in settings.values())
    )
    print(
        f"  3. train {len(cfg['backbones'])} backbones x {len(cfg['variants'])} variants "
        f"({[v['name'] for v in cfg['variants']]}), then evaluate on {list(cfg['data']['tests'])}"
    )
    est = estimate_seconds(cfg)
    print(
        f"  expected: about {est / 60:.0f} min of training (timed from two warm steps per backbone; baking and "
        "evaluation add to it)"
    )
    if dry_run:
        return work
    zoo_dir = work / "zoo"
    zoo_argv = [
        "--train",
        cfg["data"]["train"],
        "--val",
        cfg["data"]["val"],
        "--out",
        str(zoo_dir),
        "--zoo",
        *zoo["members"],
        "--size",
        str(zoo.get("size", 256)),
        "--epochs",
        str(zoo.get("epochs", 5)),
        "--batch-size",
        str(zoo.get("batch_size", 32)),
        "--map-size",
        str(cfg["bake"]["size"]),
    ]
    if settings:  # skips trained members; no zoo is needed when no variant erases from maps
        train_zoo.main(zoo_argv + ["--no-bake", "--", "--seed", str(cfg["seed"]), *map(str, zoo.get("args", []))])
    for s in settings.values():
        out = store_dir(work, s)
        if (out / "DONE").exists():
            continue
        models = []
        for member in s["members"]:
            models += ["--model", f"{train_zoo.BAKE_NAMES[member]}:{zoo_dir / member / 'weights.pth'}"]
        code = primary_mask_main(
            [
                "bake",
                "--images",
                str(train_zoo.image_root(cfg["data"]["train"])),
                "--list",
                str(zoo_dir / "train-list.csv"),
                "--out",
                str(out),
                "--size",
                str(s["size"]),
                "--input-size",
                str(zoo.get("size", 256)),
                "--fusion",
                s["fusion"],
                "--tau1",
                str(s["tau1"]),
                "--tau2",
                str(s["tau2"]),
                "--lam",
                str(s["lam"]),
                *models,
            ]
        )
        if code:
            raise SystemExit(code)
        (out / "DONE").write_text("ok\n")
    rows = []
    for backbone in cfg["backbones"]:
        for v in cfg["variants"]:
            s = bake_setting(cfg, v)
            store = store_dir(work, s) if s else None
            run_dir = work / "detectors" / f"{backbone}-{v['name']}"
            if not (run_dir / "DONE").exists():
                train.main(train_args(cfg, backbone, run_dir, v, store))
                (run_dir / "DONE").write_text("ok\n")
            result_file = run_dir / "eval" / "results.json"
            if not result_file.exists():
                tests = [f"{k}={spec}" for k, spec in cfg["data"]["tests"].items()]
                evaluate.main(
                    [
                        "--checkpoint",
                        str(run_dir / "best.pt"),
                        *sum((["--test", t] for t in tests), []),
                        "--out",
                        str(run_dir / "eval"),
                        "--quiet",
                    ]
                )
            reports = json.loads(result_file.read_text())["reports"]
            rows.append({"backbone": backbone, "variant": v["name"], "reports": reports})
    return write_results(cfg, rows)


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.2f}"


def write_results(cfg: dict, rows: list[dict]) -> Path:
    out = Path(cfg.get("results_dir", Path(__file__).parent / "results"))
    out.mkdir(parents=True, exist_ok=True)
    tests = list(cfg["data"]["tests"])
    lines = [f"# {cfg['name']}", "", f"Seed {cfg['seed']}; checkpoints chosen on the validation split.", ""]
    for level in ("frame", "video"):
        lines += [
            f"**{level}-level**",
            "",
            "| Method | " + " | ".join(f"{t} ACC | {t} AUC" for t in tests) + " | AVG ACC | AVG AUC |",
            "|---" * (3 + 2 * len(tests)) + "|",
        ]
        for r in rows:
            accs = [r["reports"][t][level]["acc"] for t in tests]
            aucs = [float(r["reports"][t][level]["auc"]) for t in tests]
            label = r["backbone"] + ("" if r["variant"] == "baseline" else f" + {r['variant']}")
            lines.append(
                f"| {label} | "
                + " | ".join(f"{_pct(a)} | {_pct(u)}" for a, u in zip(accs, aucs))
                + f" | {_pct(sum(accs) / len(accs))} | {_pct(sum(aucs) / len(aucs))} |"
            )
        lines.append("")
    (out / f"{cfg['name']}.md").write_text("\n".join(lines))
    with open(out / f"{cfg['name']}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["backbone", "variant", "test", "level", "acc", "auc", "ap", "eer", "n"])
        for r in rows:
            for t in tests:
                for level in ("frame", "video"):
                    m = r["reports"][t][level]
                    w.writerow([r["backbone"], r["variant"], t, level, m["acc"], m["auc"], m["ap"], m["eer"], m["n"]])
    (out / f"{cfg['name']}.json").write_text(json.dumps({"config": cfg, "rows": rows}, indent=1, default=str))
    print("\n".join(lines))
    return out / f"{cfg['name']}.md"


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimate only")
    p.add_argument(
        "--check", action="store_true", help="open every dataset the config names and report counts; train nothing"
    )
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    if args.check:
        print(f"checking {args.config}:")
        check(cfg)
        return args.config
    return run(cfg, args.dry_run)


if __name__ == "__main__":
    main(sys.argv[1:])

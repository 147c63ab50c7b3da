"""Run a whole PRLE protocol from one YAML config and write the table in the paper's layout.

  python examples/reproduce.py --config examples/configs/offline-dfdc.yaml [--check | --dry-run | --report]
                                [--reuse RESULTS.json [--reuse-unchecked]]   # recorded runs are not trained
  python examples/reproduce.py --config C --report --rows RESULTS.json   # the tables again from a record

Steps: train the localizer zoo -> bake one store per distinct bake setting -> train every backbone x variant ->
evaluate each on every test set -> examples/results/<name>.{md,csv,json}. Each finished step leaves a marker and is
skipped when the command is run again (resumable); after every run the tables so far are written as
<name>.partial.{md,csv,json}, and --report writes them training nothing. With several seeds the table
also gives each variant's AUC difference from its backbone's baseline, paired by seed, read with a paired t-test:
helps, hurts or within noise. Each row's wall-clock minutes of training and evaluation close the table. The plan
and an estimate of its duration (from two timed training steps per backbone after a warm-up) are printed first,
and <results_dir>/<name>.commands.sh lists every step as the command it stands for (train_zoo.py, primary-mask
bake / masks-store, train.py and evaluate.py with their arguments).
Checkpoints are chosen on the validation split only.

Config keys (see examples/configs/*.yaml):
  name, seed or seeds: [0, 1, 2] (one training per backbone x variant x seed; the zoo and the stores are trained
    and baked once, with the first seed), workdir (default runs/<name>), results_dir (default examples/results)
  data: {train: SPEC, val: SPEC, tests: {NAME: SPEC, ...}, landmarks: DIR,   # landmarks: for mask: landmark
         masks: DIR, mask_prefix: PREFIX}        # mask: oracle; masks from `primary-mask masks`, PREFIX e.g. train/
  zoo: {members: [...], size, epochs, batch_size, weights: best|last, args: [...]}   # extra args go to train.py;
    # weights: which checkpoint of each member the maps come from (train_zoo.py --weights; default best)
  bake: {size, fusion, tau1, tau2, lam, band_value, cam, input_size}    # defaults for every variant
  train: {size, epochs, batch_size, lr, args: [...]}
  backbones: [...]
  variants: [{name, prle: {mask, p, alpha_range, fill, gamma, erase_on, missing, pairs, pair_prefix, unpaired} | null,
              bake: {overrides, members: [...]},
              data: {train: SPEC, val: SPEC}}]   # data: this row trains on other sets (the zoo and stores do not)
  online_maps: gradcam | gradcam++ | fam, refresh: step | epoch:N (train.py's --online-maps/--refresh: the maps
    of the detector being trained, no zoo or store; mask primary or rfm)
  mask: primary (PRLE), random, static (these three erase from the baked maps), landmark (from data.landmarks) or
    oracle (the true manipulation region of each aligned pair, from data.masks: `primary-mask masks-store`, erased
    whole as with static; needs missing: skip, since misaligned pairs have no mask)
  missing: error (default) or skip: what to do with training images without a map / landmarks (skip: not erased)
  ceiling: {results: NAME.json, variant: NAME, test: NAME}   # optional: a table of each row's share of the gap
    between the baseline and that variant's mean AUC on that test in another results JSON (e.g. a calibration's)
  contrasts: [[A, B], ...]   # optional: a table of row A's AUC minus row B's, paired by seed, with the t-test
    reading (e.g. [PRLE-paired, PRLE]: the comparison a study is about, beside each row's difference from baseline)
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import json
import math
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path

import evaluate
import torch
import train
import train_zoo
import yaml
from backbones import BACKBONES
from common import dataset_from_spec, refuse_pseudo_test

from primary_mask.cli import main as primary_mask_main
from primary_mask.localize.recipe import PAPER

# The runner reproduces the paper: its bake defaults are the paper's (Grad-CAM, tau1 0.3, tau2 0.1), not the library's
# measured recipe (Grad-CAM++, 0.5, 0.3; bake's own defaults), which a config asks for with bake: {cam, tau1, tau2}.
BAKE_DEFAULTS = {"size": PAPER.size, "fusion": PAPER.fusion, "tau1": PAPER.tau1, "tau2": PAPER.tau2, "lam": PAPER.lam}
PAPER_CAM = PAPER.cam  # passed when a config sets no bake.cam (kept out of the settings: store folders keep names)
ZOO_WEIGHTS = train_zoo.WEIGHTS  # which checkpoint of each zoo member the maps come from
MASKS = (*train.MASKS, "oracle")  # oracle: train.py's static mask on a store of manipulation masks
ROW_DATA = {  # the data keys only rows of these masks read, with what a required one holds (None: optional)
    "landmark": {"landmarks": "a folder of <key>.npy files, see `primary-mask landmarks`"},
    "oracle": {"masks": "a folder written by `primary-mask masks`", "mask_prefix": None},
}
# Every key a config may hold, section by section (data.tests holds free names); anything else is a typo.
# Optional bake keys, in a store's settings only when a config sets them (defaults: band_value bake's own, cam the
# paper's, input_size the zoo's training size), so the store folders of configs written before them keep their names.
BAKE_OPTIONS = ("band_value", "cam", "input_size", "target")
BAKE_KEYS = (*BAKE_DEFAULTS, *BAKE_OPTIONS)
CONFIG_KEYS = {
    "": (
        "name",
        "seed",
        "seeds",
        "workdir",
        "results_dir",
        "data",
        "zoo",
        "bake",
        "train",
        "backbones",
        "variants",
        "ceiling",
        "contrasts",
    ),
    "ceiling": ("results", "variant", "test"),
    "data": ("train", "val", "tests", "landmarks", "masks", "mask_prefix"),
    "zoo": ("members", "size", "epochs", "batch_size", "weights", "args"),
    "bake": BAKE_KEYS,
    "train": ("size", "epochs", "batch_size", "lr", "args"),
    "variants[]": ("name", "prle", "bake", "data"),
    "variants[].data": ("train", "val"),
    "variants[].prle": (
        "mask",
        "p",
        "alpha_range",
        "fill",
        "gamma",
        "erase_on",
        "missing",
        "pairs",
        "pair_prefix",
        "unpaired",
        "online_maps",
        "refresh",
    ),
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
    for section in ("data", "zoo", "bake", "train", "ceiling"):
        if cfg.get(section) is not None:
            _check_keys(cfg[section], section, section, where)
    for i, variant in enumerate(cfg.get("variants") or []):
        label = f"variants[{i}]"
        _check_keys(variant, "variants[]", label, where)
        label = f"variants[{variant.get('name', i)}]"
        for section in ("prle", "bake", "data"):
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
    if cfg["data"]["tests"] is None:  # `tests:` left empty in the YAML
        cfg["data"]["tests"] = {}
    if not isinstance(cfg["data"]["tests"], dict):
        raise SystemExit(f"{where}: data.tests must map test names to their data, e.g. {{DFDC: path}}")
    for name, spec in cfg["data"]["tests"].items():
        refuse_pseudo_test(f"{where}: data.tests.{name} = {spec!r}", spec)
    if cfg["zoo"].get("weights", train_zoo.DEFAULT_WEIGHTS) not in ZOO_WEIGHTS:
        raise SystemExit(f"{where}: zoo.weights must be one of {ZOO_WEIGHTS}, got {cfg['zoo']['weights']!r}")
    masks = {variant_mask(v) for v in cfg["variants"]} - {None}
    if not masks <= set(MASKS):
        raise SystemExit(f"{where}: unknown prle.mask {sorted(masks - set(MASKS))}; use one of {MASKS}")
    for mask, keys in ROW_DATA.items():
        for key, holds in keys.items():
            if mask in masks and holds and not cfg["data"].get(key):
                raise SystemExit(f"{where}: a variant uses mask: {mask} but data.{key} ({holds}) is not set")
    if "oracle" in masks:
        for v in cfg["variants"]:
            if variant_mask(v) != "oracle":
                continue
            if v["prle"].get("missing") != "skip":
                raise SystemExit(
                    f"{where}: variants[{v['name']}]: mask: oracle needs prle.missing: skip (misaligned pairs have no "
                    "mask, so their images have no map and are never erased)"
                )
            extra = set(v.get("bake") or {}) - {"size"}
            if extra:
                raise SystemExit(
                    f"{where}: variants[{v['name']}]: an oracle store takes only bake.size, not {sorted(extra)}"
                )
    ceiling = cfg.get("ceiling")
    if ceiling is not None:
        absent = [k for k in CONFIG_KEYS["ceiling"] if k not in ceiling]
        if absent:
            raise SystemExit(f"{where}: ceiling needs {', '.join(absent)} (results: a results JSON of this runner)")
        if ceiling["test"] not in cfg["data"]["tests"]:
            tests = ", ".join(cfg["data"]["tests"])
            raise SystemExit(f"{where}: ceiling.test {ceiling['test']!r} is not one of data.tests ({tests})")
    names = [v["name"] for v in cfg["variants"]]
    contrasts = cfg.get("contrasts") or []
    for pair in contrasts if isinstance(contrasts, list) else [contrasts]:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(x, str) and x in names for x in pair)
            and pair[0] != pair[1]
        ):
            raise SystemExit(
                f"{where}: contrasts: each entry is [A, B], two different variant names of this config "
                f"({', '.join(names)}); got {pair!r}"
            )
    cfg["seeds"] = config_seeds(cfg, where)  # seeds[0]: the zoo's seed, and the first training's
    cfg.setdefault("train", {})
    cfg["bake"] = {**BAKE_DEFAULTS, **cfg.get("bake", {})}
    return cfg


def config_seeds(cfg: dict, where: str = "config") -> list[int]:
    """The training seeds: ``seeds`` (a non-empty list of distinct integers) or ``[seed]`` (default ``[0]``).
    Both keys with different content (``seed: 0`` and ``seeds: [0]`` agree) is an error."""
    seeds = cfg.get("seeds")
    if seeds is None:
        seed = cfg.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SystemExit(f"{where}: seed must be an integer, got {seed!r}")
        return [seed]
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise SystemExit(f"{where}: seeds must be a non-empty list of distinct integers, e.g. [0, 1, 2]; got {seeds!r}")
    if "seed" in cfg and [cfg["seed"]] != seeds:
        raise SystemExit(
            f"{where}: seed: {cfg['seed']!r} and seeds: {seeds!r} disagree; keep only seeds (it wins), "
            f"or make seed the same single seed"
        )
    return list(seeds)


def run_dir(work: Path, backbone: str, variant: str, seed: int, first_seed: int) -> Path:
    """The training folder of one backbone x variant x seed: ``{backbone}-{variant}`` for the first seed (the
    folder of a single-seed config, so its finished runs are reused), ``{backbone}-{variant}-seed{seed}`` else."""
    name = f"{backbone}-{variant}" + ("" if seed == first_seed else f"-seed{seed}")
    return work / "detectors" / name


def check_run_seed(folder: Path, seed: int) -> None:
    """Refuse to reuse a finished run trained with another seed (e.g. after the first seed of a config changed)."""
    log = folder / "log.jsonl"
    if not log.exists():
        return
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "start":
            used = record["args"].get("seed")
            if used != seed:
                raise SystemExit(
                    f"{folder} was trained with seed {used}, but this config trains it with seed {seed}; "
                    "move that folder away or put its seed first in seeds"
                )
            return


def bake_setting(cfg: dict, variant: dict) -> dict | None:
    """The store a variant erases from, or None (no PRLE, or landmark masks, which need no maps). An oracle
    variant's store: ``{"oracle": True, "masks", "prefix", "size"}``."""
    if variant_mask(variant) in (None, "landmark") or variant["prle"].get("online_maps"):
        return None  # landmark masks need no maps; online maps come from the model being trained
    over = variant.get("bake", {})
    if variant_mask(variant) == "oracle":
        data = cfg["data"]
        size = over.get("size", cfg["bake"]["size"])
        return {"oracle": True, "masks": str(data["masks"]), "prefix": data.get("mask_prefix", ""), "size": size}
    return {
        **cfg["bake"],
        **{k: v for k, v in over.items() if k != "members"},
        "members": over.get("members", cfg["zoo"]["members"]),
    }


def store_dir(work: Path, setting: dict) -> Path:
    digest = hashlib.sha1(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:10]
    if setting.get("oracle"):
        return work / "stores" / f"oracle-{digest}"
    return work / "stores" / f"{setting['fusion']}-{'+'.join(setting['members'])}-{digest}"


def describe_setting(s: dict) -> str:
    if s.get("oracle"):
        return f"oracle from {s['masks']} (prefix {s['prefix']!r}, {s['size']} px)"
    extra = "".join(f" {key}={s[key]}" for key in BAKE_OPTIONS if key in s)
    return f"{s['fusion']} tau1={s['tau1']}{extra} {s['members']}"


def store_settings(cfg: dict) -> dict[str, dict]:
    """The distinct stores the variants erase from, keyed by their settings as JSON, in the variants' order."""
    settings = {}
    for v in cfg["variants"]:
        s = bake_setting(cfg, v)
        if s is not None:
            settings[json.dumps(s, sort_keys=True)] = s
    return settings


def study_runs(cfg: dict, work: Path) -> list[tuple[int, str, dict, Path | None, Path]]:
    """Every training of the study as (seed, backbone, variant, its store or None, its folder), seed-major: every
    row gets its first seed before any row gets its second, so a study stopped part way (the runner resumes it)
    already holds one seed of each row."""
    seeds = cfg["seeds"]
    runs = []
    for seed in seeds:
        for backbone in cfg["backbones"]:
            for v in cfg["variants"]:
                s = bake_setting(cfg, v)
                folder = run_dir(work, backbone, v["name"], seed, seeds[0])
                runs.append((seed, backbone, v, store_dir(work, s) if s else None, folder))
    return runs


def zoo_argv(cfg: dict, work: Path) -> list[str]:
    """train_zoo.py's arguments: train the members with the first seed and write the training list, no bake (the
    runner bakes each store itself, :func:`store_argv`)."""
    zoo = cfg["zoo"]
    return [
        "--train",
        cfg["data"]["train"],
        "--val",
        cfg["data"]["val"],
        "--out",
        str(work / "zoo"),
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
        "--no-bake",
        *(["--weights", str(zoo["weights"])] if "weights" in zoo else []),
        "--",
        "--seed",
        str(cfg["seeds"][0]),
        *map(str, zoo.get("args", [])),
    ]


def store_argv(cfg: dict, work: Path, s: dict) -> list[str]:
    """``primary-mask``'s arguments that write the store of setting ``s``: ``masks-store`` for the oracle, ``bake``
    from the trained zoo's weights otherwise."""
    out = store_dir(work, s)
    if s.get("oracle"):
        return ["masks-store", str(s["masks"]), "--out", str(out), "--size", str(s["size"]), "--prefix", s["prefix"]]
    zoo_dir = work / "zoo"
    models = [a for m in s["members"] for a in ("--model", f"{train_zoo.BAKE_NAMES[m]}:{zoo_dir / m / 'weights.pth'}")]
    return [
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
        str(s.get("input_size", cfg["zoo"].get("size", 256))),
        "--fusion",
        s["fusion"],
        "--tau1",
        str(s["tau1"]),
        "--tau2",
        str(s["tau2"]),
        "--lam",
        str(s["lam"]),
        "--cam",
        str(s.get("cam", PAPER_CAM)),
        *(["--band-value", s["band_value"]] if "band_value" in s else []),
        *(["--target", s["target"]] if "target" in s else []),
        *models,
    ]


def evaluate_argv(cfg: dict, folder: Path) -> list[str]:
    """evaluate.py's arguments for the run in ``folder``: its best checkpoint on every test set."""
    tests = [a for name, spec in cfg["data"]["tests"].items() for a in ("--test", f"{name}={spec}")]
    return ["--checkpoint", str(folder / "best.pt"), *tests, "--out", str(folder / "eval"), "--quiet"]


def write_commands(cfg: dict, work: Path, settings: dict[str, dict]) -> Path:
    """``{results_dir}/{name}.commands.sh``: every step of the study, in the runner's order, as the command it
    stands for (the runner calls the same functions in-process with these arguments and skips finished steps)."""

    def script(name: str, argv: list[str]) -> str:
        return shlex.join(["python", f"examples/{name}.py", *argv])

    lines = [
        f"# {cfg['name']}: every step of `python examples/reproduce.py --config ...` as the command it stands for,",
        "# in the runner's order, from the repository root (the runner skips the steps already done).",
    ]
    if any(not s.get("oracle") for s in settings.values()):
        lines.append(script("train_zoo", zoo_argv(cfg, work)))
    lines += [shlex.join(["primary-mask", *store_argv(cfg, work, s)]) for s in settings.values()]
    for seed, backbone, v, store, folder in study_runs(cfg, work):
        lines.append(script("train", train_args(cfg, backbone, folder, v, store, seed)))
        lines.append(script("evaluate", evaluate_argv(cfg, folder)))
    out = Path(cfg.get("results_dir", Path(__file__).parent / "results")) / f"{cfg['name']}.commands.sh"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return out


def train_args(
    cfg: dict, backbone: str, out: Path, variant: dict, store: Path | None, seed: int | None = None
) -> list[str]:
    """train.py's arguments for one run; ``seed`` defaults to the config's first seed. A variant's ``data.train`` /
    ``data.val`` replace the config's for its runs (e.g. a calibration row trained on other fakes); the zoo and the
    stores stay on the config's."""
    t = cfg["train"]
    data = {**cfg["data"], **(variant.get("data") or {})}
    args = [
        "--train",
        data["train"],
        "--val",
        data["val"],
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
        str(cfg["seeds"][0] if seed is None else seed),
        "--resume",  # an interrupted training step continues from its last.pt
        *map(str, t.get("args", [])),
    ]
    prle = variant.get("prle")
    if prle:
        a = prle.get("alpha_range", [0.0, 1.0])
        if prle.get("online_maps"):  # the detector's own maps (issue #24): self-PRLE or RFM
            source = ["--online-maps", prle["online_maps"], "--refresh", str(prle.get("refresh", "step"))]
        elif store is None:
            source = ["--landmarks", str(cfg["data"]["landmarks"])]
        else:
            source = ["--maps", str(store)]
        args += [
            *source,
            "--mask",
            "static" if prle.get("mask") == "oracle" else prle.get("mask", "primary"),
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
        if prle.get("pairs"):  # the paired rule: each real erased with one of its fakes' maps (issue #26)
            args += ["--pairs", str(prle["pairs"]), "--pair-prefix", prle.get("pair_prefix", "")]
            args += ["--unpaired", prle.get("unpaired", "own")]
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
        runs = len(cfg["variants"]) * cfg["backbones"].count(name) * len(cfg["seeds"])
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
    for v in cfg["variants"]:
        specs.update({f"variants[{v['name']}].data.{k}": spec for k, spec in (v.get("data") or {}).items()})
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
    oracle = [s for v in cfg["variants"] if (s := bake_setting(cfg, v)) and s.get("oracle")]
    if oracle:
        from primary_mask.quality import oracle_maps

        try:
            maps, _, report = oracle_maps(oracle[0]["masks"], size=4, prefix=oracle[0]["prefix"])
        except (OSError, ValueError) as err:
            raise SystemExit(f"{cfg['name']}: data.masks / data.mask_prefix: {err}") from None
        keys = set(opened["data.train"].keys)
        covered = len(keys & set(maps))
        summary["data.masks"] = {"pairs": report.pairs, "with_mask": report.with_mask, "train_images": covered}
        if not covered:
            raise SystemExit(
                f"{cfg['name']}: no training image has an oracle map: the mask keys (e.g. {next(iter(maps), None)}) "
                f"with data.mask_prefix {oracle[0]['prefix']!r} stripped must be the training keys "
                f"(e.g. {next(iter(keys), None)})"
            )
    for key, row in summary.items():
        print(f"  {key}: " + ", ".join(f"{v} {k}" for k, v in row.items()))
    return summary


RUN_DEFINING = (
    "data",
    "zoo",
    "bake",
    "train",
)  # with the run's variant and the first seed: what a run's numbers depend on


def _run_setting(cfg: dict, variant: str) -> str:
    """The settings a run of ``variant`` is trained and evaluated with, as canonical JSON. A row that erases from no
    store (the baseline, Landmark, the online maps) does not depend on the zoo or the bake, so they are left out:
    a study with another zoo reuses such rows of a recorded one. Of ``data``, a row depends on the landmarks only
    when it erases landmark parts, and on the masks only when it erases the Oracle's: a study without those rows
    reuses the others of one that had them."""
    row = next((v for v in cfg["variants"] if v["name"] == variant), None)
    reads_store = row is None or bake_setting(cfg, row) is not None
    chosen = {k: cfg.get(k) for k in RUN_DEFINING if reads_store or k not in ("zoo", "bake")}
    read = {key for mask, keys in ROW_DATA.items() if row is None or variant_mask(row) == mask for key in keys}
    unread = {key for keys in ROW_DATA.values() for key in keys} - read
    chosen["data"] = {k: v for k, v in (chosen["data"] or {}).items() if k not in unread}
    chosen["variant"] = row
    chosen["first_seed"] = cfg["seeds"][0]
    return json.dumps(chosen, sort_keys=True, default=str)


def reusable_rows(cfg: dict, path: Path, option: str = "--reuse") -> dict[tuple[str, str, int], dict]:
    """The rows of a results JSON of this runner (``path``) recorded under the same run settings as ``cfg``
    (:func:`_run_setting`: data, train, the row's variant, the first seed, and the zoo and bake for a row that reads
    a store), keyed (backbone, variant, seed); rows of any other setting are left out, counted in a printed line."""
    try:
        recorded = json.loads(Path(path).read_text())
        old, rows = load_config_dict(recorded["config"], str(path)), recorded["rows"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SystemExit(f"{option} {path}: not a results JSON of this runner ({type(err).__name__}: {err})") from None
    same, other = {}, 0
    for row in rows:
        if _run_setting(old, row["variant"]) == _run_setting(cfg, row["variant"]):
            same[(row["backbone"], row["variant"], row["seed"])] = row
        else:
            other += 1
    print(f"{option} {path}: {len(same)} recorded run(s) with this config's settings" + (
        f"; {other} with other settings left out" if other else ""))  # fmt: skip
    return same


def write_reused(folder: Path, row: dict, source: Path, checked: bool) -> None:
    """Stand a recorded run's numbers in for training and evaluating it: ``eval/results.json`` with its reports
    and ``reused`` (the source, its minutes and leak, and ``reuse_checked``: False where it was taken with
    ``--reuse-unchecked``), and the DONE marker naming the source."""
    (folder / "eval").mkdir(parents=True, exist_ok=True)
    kept = {k: row[k] for k in ("train_minutes", "eval_minutes", "leak_auc") if k in row}
    result = {"reports": row["reports"], "reused": {"from": str(source), **kept, "reuse_checked": checked}}
    (folder / "eval" / "results.json").write_text(json.dumps(result, indent=1))
    (folder / "DONE").write_text(f"reused from {source}\n")


def taken_from_record(folder: Path) -> bool:
    """Whether the run in ``folder`` holds numbers taken from a record (:func:`write_reused`), not trained here."""
    done = folder / "DONE"
    return done.exists() and done.read_text().startswith("reused")


def runs_to_train(runs: list, recorded: dict, checks: set = frozenset()) -> list:
    """Those of ``runs`` (:func:`study_runs`) that this invocation trains: not finished in the work folder and not
    taken from ``recorded``; and a run in ``checks`` not trained here, although recorded (or taken from a record by
    an earlier invocation)."""
    return [
        (seed, backbone, v, store, folder)
        for seed, backbone, v, store, folder in runs
        if ((backbone, v["name"], seed) in checks and (not (folder / "DONE").exists() or taken_from_record(folder)))
        or (not (folder / "DONE").exists() and (backbone, v["name"], seed) not in recorded)
    ]


def run_parts(backbone: str, store: Path | None) -> set[tuple[str, str]]:
    """What a run shares with other runs of a study and a check can vouch for: its backbone's training and, for a
    run that erases a store's maps, that store (the zoo and the bake)."""
    return {("backbone", backbone)} | ({("store", str(store))} if store is not None else set())


def reuse_checks(cfg: dict, work: Path, recorded: dict) -> dict[tuple[str, str, int], set[tuple[str, str]]]:
    """The recorded runs trained again to check that the record reproduces here before the rest of it is taken, so
    that runs trained here and runs taken from the record stand in one table, each with the parts
    (:func:`run_parts`) it vouches for: for each backbone that a run still to train here uses, its first recorded
    run in the study's order (the training), and for each store such a run reads, the first recorded run that
    reads it (the zoo and the bake). Nothing is left to train: no check."""
    runs = study_runs(cfg, work)
    pending = runs_to_train(runs, recorded)
    to_match = set().union(*(run_parts(r[1], r[3]) for r in pending))
    checks: dict[tuple[str, str, int], set[tuple[str, str]]] = {}
    for seed, backbone, v, store, _ in runs:
        key = (backbone, v["name"], seed)
        claimed = run_parts(backbone, store) & to_match if key in recorded else set()
        if claimed:
            to_match -= claimed
            checks[key] = claimed
    return checks


REFUSALS = "reuse-refused.json"  # in the work folder: {record path: [[kind, what], ...]} refused by a check


def read_refusals(path: Path) -> dict[str, list]:
    """The parts (:func:`run_parts`) refused by a differing check of an earlier invocation, per record path; {} when
    none was."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as err:
        raise SystemExit(
            f"{path}: not the runner's record of refused checks ({err}); delete it to check again"
        ) from None


def write_refusals(path: Path, source: str, parts: set[tuple[str, str]]) -> None:
    """Record ``parts`` as refused for the record ``source`` (atomically: a kill leaves the old file or the new)."""
    refusals = {**read_refusals(path), source: sorted(list(p) for p in parts)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(refusals, indent=1))
    tmp.replace(path)


def without_parts(recorded: dict, parts: set[tuple[str, str]], runs: list) -> dict:
    """``recorded`` less the runs (of :func:`study_runs`' ``runs``) that share any of ``parts``."""
    sharing = {(b, v["name"], seed) for seed, b, v, store, _ in runs if run_parts(b, store) & parts}
    return {k: r for k, r in recorded.items() if k not in sharing}


def untake(runs: list, parts: set[tuple[str, str]], source: Path) -> None:
    """Delete the folders of the runs (of :func:`study_runs`' ``runs``) sharing any of ``parts`` that an earlier
    invocation took from the record ``source``: refused now, they are trained, not left standing on that record."""
    for _, backbone, _, store, folder in runs:
        done = folder / "DONE"
        if run_parts(backbone, store) & parts and done.exists() and done.read_text() == f"reused from {source}\n":
            shutil.rmtree(folder)


def record_difference(folder: Path, row: dict) -> str | None:
    """None if the run evaluated in ``folder`` gave exactly the reports recorded for it (``row``; NaN equals
    NaN), else the first differing number as ``'field = here, the record recorded'``."""

    def flat(reports: dict) -> dict:  # {test: {level: {metric: x}}} -> {(test, level, metric): x}
        return {
            (t, level, m): x for t, levels in reports.items() for level, ms in levels.items() for m, x in ms.items()
        }

    def same(a, b) -> bool:  # NaN (e.g. the AUC of a one-class test) equals NaN here
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))

    recorded = flat(row["reports"])
    here = flat(json.loads((folder / "eval" / "results.json").read_text())["reports"])
    differing = [k for k in {**recorded, **here} if not same(recorded.get(k), here.get(k))]
    if not differing:
        return None
    first = differing[0]
    return f"{'.'.join(first)} = {here.get(first)!r}, the record {recorded.get(first)!r}"


def run(
    cfg: dict, dry_run: bool = False, report: bool = False, reuse: Path | None = None, check_reuse: bool = True
) -> Path:
    """Train, bake, train and evaluate every run the config names (skipping finished ones), then write the
    tables. ``report``: train nothing, write the tables from the runs finished so far. ``reuse``: a results JSON
    whose runs recorded under the same settings (:func:`reusable_rows`) stand in for runs not yet in the work
    folder (e.g. a study's committed partial tables after its work folder was lost). With ``check_reuse``, a few
    recorded runs are trained again first (:func:`reuse_checks`) and must equal the record number for number
    (:func:`record_difference`); the recorded runs that share what a differing check vouches for (its backbone's
    training, its store) are trained instead (kept in ``reuse-refused.json`` across a kill); a run no check covered
    is taken and counted as unchecked."""
    name = cfg["name"]
    work = Path(cfg.get("workdir", f"runs/{name}"))
    if report:
        rows = finished_rows(cfg, work)
        if not rows:
            raise SystemExit(f"{name}: no finished run under {work} yet; nothing to report")
        return write_results(cfg, rows, expected=len(cfg["backbones"]) * len(cfg["variants"]) * len(cfg["seeds"]))
    zoo = cfg["zoo"]
    settings = store_settings(cfg)
    print(f"plan for {name} (work folder {work}):")
    seeds = cfg["seeds"]
    print(f"  1. train the zoo {zoo['members']} ({zoo.get('epochs', 5)} epochs each, seed {seeds[0]}) unless done")
    print(
        f"  2. bake {len(settings)} store(s) (once, from the seed-{seeds[0]} zoo): "
        + "; ".join(describe_setting(s) for s in settings.values())
    )
    print(
        f"  3. train {len(cfg['backbones'])} backbones x {len(cfg['variants'])} variants "
        f"({[v['name'] for v in cfg['variants']]}) x {len(seeds)} seed(s) {seeds}, then evaluate on "
        f"{list(cfg['data']['tests'])}"
    )
    est = estimate_seconds(cfg)
    print(
        f"  expected: about {est / 60:.0f} min of training (timed from two warm steps per backbone; baking and "
        "evaluation add to it)"
    )
    commands = write_commands(cfg, work, settings)
    print(f"  every step as the command it stands for: {commands}")
    if dry_run:
        return work
    recorded = reusable_rows(cfg, reuse) if reuse is not None else {}
    refusals = work / REFUSALS
    refused_parts = {tuple(p) for p in read_refusals(refusals).get(str(reuse), [])} if reuse is not None else set()
    if refused_parts:  # refused by a check of an earlier invocation: a kill since then must not bring them back
        before = len(recorded)
        recorded = without_parts(recorded, refused_parts, study_runs(cfg, work))
        untake(study_runs(cfg, work), refused_parts, reuse)
        print(f"--reuse {reuse}: {before - len(recorded)} recorded run(s) refused by an earlier check ({refusals})")
    checks = reuse_checks(cfg, work, recorded) if check_reuse else {}
    baked: set[Path] = set()

    def build(recorded: dict) -> None:
        """Train the zoo and bake the stores that a run still to train reads (once each), and only those: resuming
        a study whose work folder was lost, with its finished runs taken from the record, does not redo an hour of
        zoo and bakes."""
        needed = {store for _, _, _, store, _ in runs_to_train(study_runs(cfg, work), recorded, checks)}
        todo = {k: s for k, s in settings.items() if store_dir(work, s) in needed and store_dir(work, s) not in baked}
        if any(not s.get("oracle") for s in todo.values()):  # skips trained members; needed only to bake
            train_zoo.main(zoo_argv(cfg, work))
        for s in todo.values():
            out = store_dir(work, s)
            baked.add(out)
            # A baked store goes through bake again: resuming a complete store bakes nothing, and one baked with
            # other settings (e.g. before a default of bake changed) is refused naming the first difference.
            if (out / "DONE").exists() and s.get("oracle"):
                continue
            code = primary_mask_main(store_argv(cfg, work, s))
            if code:
                raise SystemExit(code)
            (out / "DONE").write_text("ok\n")

    build(recorded)
    expected = len(cfg["backbones"]) * len(cfg["variants"]) * len(cfg["seeds"])

    def train_and_evaluate(
        seed: int, backbone: str, v: dict, store: Path | None, folder: Path, tables: bool = True
    ) -> None:
        if not (folder / "DONE").exists():
            train.main(train_args(cfg, backbone, folder, v, store, seed))
            (folder / "DONE").write_text("ok\n")
        if not (folder / "eval" / "results.json").exists():
            evaluate.main(evaluate_argv(cfg, folder))
            if not tables:  # a check: the tables wait until the record's runs are taken (the record may be them)
                return
            # The tables after every run, so a study of hours always has its numbers so far in the results folder
            # (small files, kept with the project), even where the work folder with the checkpoints is lost.
            try:
                md = write_results(cfg, finished_rows(cfg, work), expected=expected, quiet=True)
                print(f"tables so far: {md}")
            except (SystemExit, OSError, ValueError) as err:  # a table is not worth the hours of the runs to come
                print(f"note: the tables so far were not written ({err}); the study goes on, --report retries")

    runs = study_runs(cfg, work)
    for seed, _, _, _, folder in runs:
        check_run_seed(folder, seed)
    checked_against = dict(recorded)  # a check refused by an earlier one is still compared with its record
    vouched: set[tuple[str, str]] = set()  # the parts whose checks equal the record
    if checks:
        print(f"--reuse {reuse}: {len(checks)} of its runs are trained again first, to check that it reproduces here")
    # Every check before any recorded run is taken, so a record that does not reproduce leaves nothing of it behind.
    for seed, backbone, v, store, folder in runs:
        key = (backbone, v["name"], seed)
        if key not in checks:
            continue
        if taken_from_record(folder):  # taken by an earlier invocation: its numbers are in the record, train it
            shutil.rmtree(folder)
        train_and_evaluate(seed, backbone, v, store, folder, tables=False)
        difference = record_difference(folder, checked_against[key])
        if difference is None:
            vouched |= checks[key]
            print(f"{folder.name}: trained again, equal to the record in {reuse}")
            continue
        # What this check vouches for does not reproduce here: the recorded runs that share it are trained instead
        # (the check's own run, trained here, stands); what other checks vouch for is still taken. Written down
        # first, so that a kill before they are trained does not let a later invocation take them.
        refused_parts |= checks[key]
        write_refusals(refusals, str(reuse), refused_parts)
        kept = without_parts(recorded, checks[key], runs)
        refused, recorded = set(recorded) - set(kept) - {key}, kept
        untake(runs, checks[key], reuse)
        parts = ", ".join(f"{kind} {what}" for kind, what in sorted(checks[key]))
        print(
            f"--reuse {reuse}: {folder.name} trained here gives {difference}: the recorded runs that share its "
            f"{parts} do not reproduce on this machine (another library version, data or hardware?), so none of "
            f"those {len(refused)} is taken; they are trained here"
        )
    build(recorded)  # the stores that runs refused above read, if no run read them before
    if len(baked) < len(settings):
        print(f"  {len(settings) - len(baked)} store(s) not baked: no run still to train reads them")
    # The record's runs are taken before any new run trains, so the tables written after each run hold all of them
    # (with --reuse NAME.partial.json, those tables replace the very file the record was read from).
    for seed, backbone, v, store, folder in runs:
        key = (backbone, v["name"], seed)
        if not (folder / "DONE").exists() and key in recorded:
            # checked: every part of the run (its backbone's training, its store) has a check equal to the record
            write_reused(folder, recorded[key], reuse, checked=run_parts(backbone, store) <= vouched)
            print(f"{folder}: reused from {reuse} (not trained)")
    for seed, backbone, v, store, folder in runs:
        train_and_evaluate(seed, backbone, v, store, folder)
    return write_results(cfg, finished_rows(cfg, work))


def finished_rows(cfg: dict, work: Path) -> list[dict]:
    """The evaluated runs under ``work``, grouped by backbone, then variant, then seed; runs not evaluated yet are
    left out, and so is a results file that cannot be read (named). A run trained with another seed than the
    config gives its folder is refused, as when training (:func:`check_run_seed`)."""
    rows = []
    seeds = cfg["seeds"]
    for backbone in cfg["backbones"]:
        for v in cfg["variants"]:
            for seed in seeds:
                folder = run_dir(work, backbone, v["name"], seed, seeds[0])
                result = folder / "eval" / "results.json"
                if not result.exists():
                    continue
                check_run_seed(folder, seed)
                try:
                    evaluation = json.loads(result.read_text())
                    reports = evaluation["reports"]
                except (ValueError, KeyError) as err:
                    print(f"note: {result} cannot be read ({err}); left out")
                    continue
                row = {"backbone": backbone, "variant": v["name"], "seed": seed, "reports": reports}
                if "reused" in evaluation:  # numbers recorded elsewhere (--reuse): no log here to time or read
                    kept = {k: x for k, x in evaluation["reused"].items() if k != "from"}
                    rows.append({**row, **kept, "reused_from": evaluation["reused"]["from"]})
                else:
                    rows.append({**row, **run_minutes(folder, evaluation), **run_leak(folder)})
    return rows


def run_minutes(folder: Path, evaluation: dict) -> dict:
    """Wall-clock minutes of one finished run, from its log and ``evaluation`` (its ``eval/results.json``, read).
    ``train_minutes``: the sum of the epochs' logged seconds (each epoch once, its last record); for logs written
    before epochs were timed, the span from the first start to the log's last write, which counts any stop in
    between. ``eval_minutes``: the seconds the evaluation recorded; for older results, the span from the end of
    training to the results file's last write. {} when the log is missing or has neither epoch times nor a
    start."""
    log, result = folder / "log.jsonl", folder / "eval" / "results.json"
    if not log.exists() or not result.exists():
        return {}
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    epochs = {r["epoch"]: r for r in records if r.get("event") == "epoch" and "seconds" in r}
    if epochs:
        train = sum(r["seconds"] for r in epochs.values())
        trained_at = max(r.get("time", 0.0) for r in epochs.values())
    else:
        starts = [r["time"] for r in records if r.get("event") == "start" and "time" in r]
        if not starts:
            return {}
        trained_at = log.stat().st_mtime
        train = trained_at - starts[0]
    evaluated = evaluation.get("seconds")
    if evaluated is None:
        evaluated = result.stat().st_mtime - trained_at
    return {"train_minutes": train / 60, "eval_minutes": evaluated / 60}


def run_leak(folder: Path) -> dict:
    """``{"leak_auc": x}``: the erase leak train.py logged when PRLE started (how well the erase masks alone predict
    the label, issue #26), or {} for a run that logged none (no PRLE, or too few maps)."""
    log = folder / "log.jsonl"
    if not log.exists():
        return {}
    for line in log.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("event") == "leak":
            return {"leak_auc": float(record["auc"])}
    return {}


def _leak_table(rows: list[dict]) -> list[str]:
    """Markdown lines: per backbone x variant the mean leak AUC of its runs' erase masks; nothing when none logged."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        if "leak_auc" in r:
            groups.setdefault(_row_label(r["backbone"], r["variant"]), []).append(r["leak_auc"])
    if not groups:
        return []
    lines = [
        "*Erase leak* (cross-validated AUC of the label predicted from the erase masks alone, as train.py measured it "
        "when PRLE started: 0.5 carries no label, 1.0 gives it away)",
        "",
        "| Method | runs | leak AUC |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {len(v)} | {statistics.mean(v):.3f} |" for label, v in groups.items()]
    return lines + [""]


def _row_label(backbone: str, variant: str) -> str:
    """A table row's name: the backbone, plus the variant unless it is the baseline."""
    return backbone + ("" if variant == "baseline" else f" + {variant}")


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.2f}"


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (n - 1 denominator; NaN for one value) and n of the finite values."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return math.nan, math.nan, 0
    mean = sum(finite) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1)) if n > 1 else math.nan
    return mean, std, n


def _cell(values: list[float]) -> str:
    mean, std, n = mean_std(values)
    if n == 0:
        return "n/a"
    return _pct(mean) if n == 1 else f"{_pct(mean)} ± {_pct(std)}"


# Two-sided 95% quantiles of Student's t by degrees of freedom (n - 1 seeds); past 10 the value for 10 (a little
# wider than the exact one, so a verdict is never stronger than the data).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def t_half_width(std: float, n: int) -> float:
    """Half the width of the two-sided 95% t interval of a mean of ``n`` values with sample std ``std`` (NaN for
    n < 2); past 10 degrees of freedom it keeps t(10), a wider interval, never a narrower one."""
    return _T95[min(n - 1, 10)] * std / math.sqrt(n) if n > 1 else math.nan


def paired_difference(values: dict[int, float], baseline: dict[int, float]) -> tuple[float, float, int, str]:
    """Per-seed differences ``values[s] - baseline[s]`` over the seeds both have (finite values only): their mean,
    sample std, n, and a reading from a two-sided paired t-test at 5%: ``"helps"`` / ``"hurts"`` when the 95%
    interval of the mean difference excludes 0, ``"within noise"`` when it does not, ``"one seed"`` for n < 2."""
    diffs = [
        float(values[s]) - float(baseline[s])
        for s in values
        if s in baseline and math.isfinite(float(values[s])) and math.isfinite(float(baseline[s]))
    ]
    mean, std, n = mean_std(diffs)
    if n < 2:
        return mean, std, n, "one seed"
    half_width = t_half_width(std, n)
    if mean - half_width > 0:
        return mean, std, n, "helps"
    if mean + half_width < 0:
        return mean, std, n, "hurts"
    return mean, std, n, "within noise"


def _difference_cell(values: dict[int, float], baseline: dict[int, float], n_seeds: int) -> str:
    mean, std, n, reading = paired_difference(values, baseline)
    if n == 0:
        return "n/a"
    signed = f"{100 * mean:+.2f}"
    if n == 1:
        return f"{signed} ({reading})"
    return f"{signed} ± {100 * std:.2f}, {reading}" + (f" (n = {n})" if n < n_seeds else "")


def aggregate(rows: list[dict], tests: list[str], level: str) -> list[dict]:
    """One entry per backbone x variant (in first-seen order): the seeds, and per column (``"{test} ACC"``,
    ``"{test} AUC"``, ``"AVG ACC"``, ``"AVG AUC"``) the list of per-seed values (AVG: each seed's mean over the
    tests, NaN AUCs left out)."""
    groups: dict[tuple[str, str], dict] = {}
    for r in rows:
        g = groups.setdefault((r["backbone"], r["variant"]), {"backbone": r["backbone"], "variant": r["variant"]})
        g.setdefault("seeds", []).append(r.get("seed"))
        accs = [float(r["reports"][t][level]["acc"]) for t in tests]
        aucs = [float(r["reports"][t][level]["auc"]) for t in tests]
        for t, a, u in zip(tests, accs, aucs):
            g.setdefault(f"{t} ACC", []).append(a)
            g.setdefault(f"{t} AUC", []).append(u)
        g.setdefault("AVG ACC", []).append(sum(accs) / len(accs))
        g.setdefault("AVG AUC", []).append(mean_std(aucs)[0])
    return list(groups.values())


def _difference_table(groups: list[dict], columns: list[str], level: str, n_seeds: int) -> list[str]:
    """Markdown lines: each non-baseline row's AUC minus its backbone's baseline, paired by seed; nothing when no
    row is a baseline (a config without a variant named ``baseline``)."""
    by_seed = {(g["backbone"], g["variant"]): {c: dict(zip(g["seeds"], g[c])) for c in columns} for g in groups}
    if not any(variant == "baseline" for _, variant in by_seed):
        return []
    lines = [
        f"*{level}-level, AUC difference from the baseline* (percentage points; mean ± sample std of the per-seed "
        "differences; helps / hurts: a paired t-test over the seeds rejects no difference at 5%, otherwise within "
        "noise. Each cell is its own test, not corrected for their number: with no effect anywhere, about one cell "
        "in twenty still reads helps or hurts)",
        "",
        "| Method | " + " | ".join(columns) + " |",
        "|---" * (1 + len(columns)) + "|",
    ]
    for g in groups:
        base = by_seed.get((g["backbone"], "baseline"))
        if g["variant"] == "baseline" or base is None:
            continue
        own = by_seed[(g["backbone"], g["variant"])]
        cells = [_difference_cell(own[c], base[c], n_seeds) for c in columns]
        lines.append(f"| {_row_label(g['backbone'], g['variant'])} | " + " | ".join(cells) + " |")
    return lines + [""]


def _contrast_table(groups: list[dict], cfg: dict, columns: list[str], level: str, n_seeds: int) -> list[str]:
    """Markdown lines: for each of the config's ``contrasts`` [A, B] and each backbone with both rows, A's AUC minus
    B's, paired by seed, with the reading of :func:`paired_difference`; nothing without contrasts."""
    by_seed = {(g["backbone"], g["variant"]): {c: dict(zip(g["seeds"], g[c])) for c in columns} for g in groups}
    lines = []
    for a, b in cfg.get("contrasts") or []:
        for backbone in cfg["backbones"]:
            if (backbone, a) in by_seed and (backbone, b) in by_seed:
                cells = [
                    _difference_cell(by_seed[(backbone, a)][c], by_seed[(backbone, b)][c], n_seeds) for c in columns
                ]
                lines.append(f"| {backbone}: {a} - {b} | " + " | ".join(cells) + " |")
    if not lines:
        return []
    head = [
        f"*{level}-level, AUC of one row minus another's* (the config's contrasts; percentage points, paired by seed, "
        "read as the difference from the baseline is)",
        "",
        "| Contrast | " + " | ".join(columns) + " |",
        "|---" * (1 + len(columns)) + "|",
    ]
    return head + lines + [""]


def ceiling_aucs(cfg: dict, level: str) -> dict[str, float] | None:
    """Per backbone, the mean AUC on ``ceiling.test`` of the runs of ``ceiling.variant`` in ``ceiling.results``
    (a results JSON of this runner; a relative path is read from the results folder); None when the config names
    no ceiling or the file does not exist yet (said)."""
    ceiling = cfg.get("ceiling")
    if not ceiling:
        return None
    path = Path(ceiling["results"])
    if not path.is_absolute():
        path = results_folder(cfg) / path
    if not path.is_file():
        print(f"note: ceiling.results {path} does not exist yet (a relative path is read from the results folder); "
              "no gap table")  # fmt: skip
        return None
    per_backbone: dict[str, list[float]] = {}
    try:
        for row in json.loads(path.read_text())["rows"]:
            if row["variant"] == ceiling["variant"]:
                auc = float(row["reports"][ceiling["test"]][level]["auc"])
                per_backbone.setdefault(row["backbone"], []).append(auc)
    except (ValueError, KeyError, TypeError) as err:
        raise SystemExit(
            f"ceiling.results {path}: not a results JSON of this runner with {level}-level AUCs on "
            f"{ceiling['test']!r} ({type(err).__name__}: {err}); fix ceiling.results or ceiling.test"
        ) from None
    if not per_backbone:
        print(f"note: ceiling.results {path} has no run of {ceiling['variant']!r}; no gap table")
    return {b: mean_std(v)[0] for b, v in per_backbone.items()}


def _gap_table(groups: list[dict], cfg: dict, level: str) -> list[str]:
    """Markdown lines: each non-baseline row's share of the gap between its backbone's baseline and the ceiling
    (:func:`ceiling_aucs`) that it recovers on the ceiling's test, per seed ``(auc - baseline) / (ceiling -
    baseline)`` with the baseline of the same seed, as mean ± sample std; nothing without a ceiling or a baseline."""
    ceilings = ceiling_aucs(cfg, level)
    if not ceilings:
        return []
    test, variant = cfg["ceiling"]["test"], cfg["ceiling"]["variant"]
    column = f"{test} AUC"
    by_seed = {(g["backbone"], g["variant"]): dict(zip(g["seeds"], g[column])) for g in groups}
    lines = [
        f"*{level}-level, share of the gap to the ceiling recovered on `{test}`* (per seed (AUC - baseline's) / "
        f"(ceiling - baseline's), the baseline of the same seed; the ceiling: the mean `{test}` AUC of "
        f"{variant} in {cfg['ceiling']['results']}; 0% is the baseline, 100% the ceiling)",
        "",
        "| Method | ceiling AUC | gap recovered |",
        "|---|---|---|",
    ]
    for g in groups:
        base, ceiling = by_seed.get((g["backbone"], "baseline")), ceilings.get(g["backbone"])
        if g["variant"] == "baseline" or base is None or ceiling is None:
            continue
        own = by_seed[(g["backbone"], g["variant"])]
        # no share where the ceiling is not above the baseline: there is no gap to recover
        shares = [(own[s] - base[s]) / (ceiling - base[s]) for s in own if s in base and ceiling > base[s]]
        mean, std, n = mean_std(shares)
        if n == 0:
            cell = "n/a (no seed with a baseline below the ceiling)"
        else:
            cell = f"{100 * mean:.0f}%" + (f" ± {100 * std:.0f}%" if n > 1 else " (one seed)")
        lines.append(f"| {_row_label(g['backbone'], g['variant'])} | {_pct(ceiling)} | {cell} |")
    return lines + [""] if len(lines) > 4 else []


def _time_table(rows: list[dict]) -> list[str]:
    """Markdown lines: per backbone x variant the median wall-clock minutes of training and of evaluation over the
    runs that logged them (:func:`run_minutes`; the median, so one run resumed after a long stop does not set the
    row); nothing when none did."""
    groups: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        if "train_minutes" in r:
            g = groups.setdefault(_row_label(r["backbone"], r["variant"]), {"train": [], "eval": []})
            g["train"].append(r["train_minutes"])
            g["eval"].append(r["eval_minutes"])
    if not groups:
        return []
    lines = [
        "*Wall-clock minutes per run* (median over the runs; from the epochs' and the evaluation's own timings, or "
        "for older runs their files' times; they include whatever else the machine ran)",
        "",
        "| Method | runs | train | evaluate |",
        "|---|---|---|---|",
    ]
    for label, g in groups.items():
        n = len(g["train"])
        lines.append(f"| {label} | {n} | {statistics.median(g['train']):.1f} | {statistics.median(g['eval']):.1f} |")
    return lines + [""]


def _same_metrics(a: dict, b: dict) -> bool:
    """The same keys and values, NaN equal to NaN (an undefined AUC is undefined at both levels)."""

    def same(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            return True
        return x == y

    return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)


def report_from_record(cfg: dict, path: Path) -> Path:
    """Write the tables (:func:`write_results`) from the runs that the results JSON ``path`` recorded under the
    config's settings (:func:`reusable_rows`), in the study's order, training nothing: a finished study's tables
    with a table the config gained since (e.g. ``contrasts``) after its work folder is gone. Fewer runs than the
    study's make a partial table."""
    recorded = reusable_rows(cfg, path, option="--rows")
    # another study's record: its runs say where they come from, as --reuse's do (this study's own record: as it is)
    own = Path(path).name in (f"{cfg['name']}.json", f"{cfg['name']}.partial.json")
    rows = [
        recorded[(b, v["name"], seed)] if own else {"reused_from": str(path), **recorded[(b, v["name"], seed)]}
        for b in cfg["backbones"]
        for v in cfg["variants"]
        for seed in cfg["seeds"]
        if (b, v["name"], seed) in recorded
    ]
    if not rows:
        raise SystemExit(f"{cfg['name']}: {path} records no run of this config's settings; nothing to report")
    return write_results(cfg, rows, expected=len(cfg["backbones"]) * len(cfg["variants"]) * len(cfg["seeds"]))


def results_folder(cfg: dict) -> Path:
    """Where the tables go: the config's ``results_dir``, default ``examples/results``."""
    return Path(cfg.get("results_dir", Path(__file__).parent / "results"))


def write_results(cfg: dict, rows: list[dict], expected: int | None = None, quiet: bool = False) -> Path:
    """``{name}.md``: per backbone x variant the mean ± sample std over the seeds of each test's ACC and AUC (the
    mean alone for one seed), and with several seeds each variant's AUC difference from its backbone's baseline,
    paired by seed, with a reading (:func:`paired_difference`); ``{name}.csv`` and ``{name}.json``: every seed's
    numbers. ``expected``: the number of runs of the whole study, when ``rows`` holds only the finished ones;
    fewer rows than that make a partial table, written as ``{name}.partial.{md,csv,json}`` so that it never
    replaces a finished study's files (a row with fewer seeds than the config names shows its n). ``quiet``: write
    the files without printing the tables."""
    out = results_folder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    tests = list(cfg["data"]["tests"])
    seeds = cfg.get("seeds", [cfg.get("seed", 0)])
    partial = expected is not None and len(rows) < expected
    stem = cfg["name"] + (".partial" if partial else "")
    if len(seeds) > 1:
        head = (
            f"Seeds {seeds}: each cell is the mean ± the sample standard deviation (n - 1 denominator) over the "
            f"n = {len(seeds)} trainings of that row (fewer where the row says so); the zoo and the map stores were "
            f"trained and baked once, with seed {seeds[0]}. Checkpoints chosen on the validation split. Every seed's "
            f"numbers: {stem}.csv."
        )
    else:
        head = f"Seed {seeds[0]}; checkpoints chosen on the validation split."
    lines = [f"# {cfg['name']}", "", head, ""]
    if partial:
        done = {(r["backbone"], r["variant"]) for r in rows}
        absent = [
            _row_label(b, v["name"]) for b in cfg["backbones"] for v in cfg["variants"] if (b, v["name"]) not in done
        ]
        lines += [
            f"**Partial:** {len(rows)} of the study's {expected} runs are finished; a row with fewer seeds shows "
            "its n" + (f"; no run yet: {', '.join(absent)}." if absent else "."),
            "",
        ]
    sources = sorted({r["reused_from"] for r in rows if "reused_from" in r})
    if sources:
        n = sum("reused_from" in r for r in rows)
        unchecked = sum(r.get("reuse_checked") is False for r in rows)
        # The study's own partial tables are replaced by these files when it finishes: say so, not name a lost file.
        named = [
            f"{s} (this study's partial tables, which these files replace; kept in the project's history)"
            if Path(s).name == f"{cfg['name']}.partial.json"
            else s
            for s in sources
        ]
        lines += [
            f"**Reused:** {n} of these runs' numbers come from {', '.join(named)} (`--reuse`: recorded under the "
            "same settings; their checkpoints are not in the work folder)."
            + (
                f" {unchecked} of them were taken unchecked: no recorded run of their backbone, or none reading "
                "their store, was trained again here to check that the record reproduces (`--reuse-unchecked`, or "
                "no run still to train shared it)."
                if unchecked
                else ""
            ),
            "",
        ]
    columns = [c for t in tests for c in (f"{t} ACC", f"{t} AUC")] + ["AVG ACC", "AVG AUC"]
    aucs = [f"{t} AUC" for t in tests] + ["AVG AUC"]
    # Where every video is one frame (face-crop sets), the video-level tables would repeat the frame-level ones.
    same = bool(rows) and all(
        _same_metrics(r["reports"][t]["video"], r["reports"][t]["frame"]) for r in rows for t in tests
    )
    if same:
        lines += ["Each video of these test sets is one frame: video level equals frame level (in the CSV too).", ""]
    for level in ("frame",) if same else ("frame", "video"):
        groups = aggregate(rows, tests, level)
        lines += [f"**{level}-level**", "", "| Method | " + " | ".join(columns) + " |"]
        lines.append("|---" * (1 + len(columns)) + "|")
        for g in groups:
            label = _row_label(g["backbone"], g["variant"])
            label += f" (n = {len(g['seeds'])})" if len(g["seeds"]) < len(seeds) else ""
            lines.append(f"| {label} | " + " | ".join(_cell(g[c]) for c in columns) + " |")
        lines.append("")
        if len(seeds) > 1:
            lines += _difference_table(groups, aucs, level, len(seeds))
        lines += _contrast_table(groups, cfg, aucs, level, len(seeds))
        lines += _gap_table(groups, cfg, level)
    lines += _leak_table(rows)
    lines += _time_table(rows)
    (out / f"{stem}.md").write_text("\n".join(lines))
    with open(out / f"{stem}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["backbone", "variant", "seed", "test", "level", "acc", "auc", "ap", "eer", "n"])
        for r in rows:
            for t in tests:
                for level in ("frame", "video"):
                    m = r["reports"][t][level]
                    w.writerow(
                        [r["backbone"], r["variant"], r.get("seed", seeds[0]), t, level]
                        + [m["acc"], m["auc"], m["ap"], m["eer"], m["n"]]
                    )
    if not partial:  # a finished study's tables replace the partial ones written on the way
        for suffix in (".md", ".csv", ".json"):
            (out / f"{cfg['name']}.partial{suffix}").unlink(missing_ok=True)
    runs = {"finished": len(rows), "expected": expected if expected is not None else len(rows)}
    (out / f"{stem}.json").write_text(json.dumps({"config": cfg, "runs": runs, "rows": rows}, indent=1, default=str))
    if not quiet:
        print("\n".join(lines))
    return out / f"{stem}.md"


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="print the plan and the estimate, write <name>.commands.sh; run nothing"
    )
    mode.add_argument(
        "--report",
        action="store_true",
        help="train nothing: write the tables from the runs finished so far (<name>.partial.* while unfinished)",
    )
    mode.add_argument(
        "--check", action="store_true", help="open every dataset the config names and report counts; train nothing"
    )
    p.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="RESULTS.json",
        help="take the runs recorded in this results JSON under the same settings instead of training them again "
        "(after training one run per backbone and per store again: they must equal the record)",
    )
    p.add_argument(
        "--rows",
        type=Path,
        default=None,
        metavar="RESULTS.json",
        help="with --report: write the tables from the runs recorded in this results JSON under the config's "
        "settings, not from the work folder (a finished study whose work folder is gone)",
    )
    p.add_argument(
        "--reuse-unchecked",
        action="store_true",
        help="with --reuse: take the recorded runs without training any of them again to check them",
    )
    args = p.parse_args(argv)
    if args.reuse is not None and (args.dry_run or args.report or args.check):
        p.error("--reuse goes with a run, not with --dry-run, --report or --check")
    if args.reuse_unchecked and args.reuse is None:
        p.error("--reuse-unchecked goes with --reuse")
    if args.rows is not None and not args.report:
        p.error("--rows goes with --report")
    cfg = load_config(args.config)
    if args.check:
        print(f"checking {args.config}:")
        check(cfg)
        return args.config
    if args.rows is not None:
        return report_from_record(cfg, args.rows)
    return run(cfg, args.dry_run, report=args.report, reuse=args.reuse, check_reuse=not args.reuse_unchecked)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The table runner end to end on a tiny temporary dataset, then a rerun that must skip every finished step."""

import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import reproduce  # noqa: E402

from primary_mask.demo.synthetic_face import face_landmarks  # noqa: E402


def tiny_data(data: Path) -> Path:
    """train/val/test folders of 4 real + 4 fake 40x40 images, and landmarks/ for the training images."""
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for label in ("real", "fake"):
            (data / split / label).mkdir(parents=True)
            for i in range(4):
                cv2.imwrite(str(data / split / label / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), np.uint8))
                if split == "train":  # landmark files for the Landmark variant, as primary-mask landmarks names them
                    (data / "landmarks" / label).mkdir(parents=True, exist_ok=True)
                    np.save(data / "landmarks" / label / f"{i}.png.npy", face_landmarks(40))
    return data


def test_smoke_config_runs_and_resumes(tmp_path, capsys, monkeypatch):
    data = tiny_data(tmp_path / "data")
    partial_rows_at_each_training = []
    train_main = reproduce.train.main

    def spy(argv):  # the tables so far must be on disk before each next training starts
        csv_path = tmp_path / "results" / "smoke.partial.csv"
        partial_rows_at_each_training.append(csv_path.read_text().count("\n") - 1 if csv_path.exists() else 0)
        return train_main(argv)

    monkeypatch.setattr(reproduce.train, "main", spy)
    text = (ROOT / "examples" / "configs" / "smoke.yaml").read_text().replace("DATA", str(data))
    cfg = yaml.safe_load(text)
    cfg["workdir"] = str(tmp_path / "runs")
    cfg["results_dir"] = str(tmp_path / "results")
    config = tmp_path / "smoke.yaml"
    config.write_text(yaml.safe_dump(cfg))
    md = reproduce.main(["--config", str(config)])
    table = md.read_text()
    for row in (
        "| mobilenet_v2 |",
        "| mobilenet_v2 + PRLE |",
        "| mobilenet_v2 + Random |",
        "| mobilenet_v2 + Landmark |",
        "| mobilenet_v2 + average |",
    ):
        assert row in table
    assert "| TEST ACC | TEST AUC | AVG ACC | AVG AUC |" in table
    stores = sorted((tmp_path / "runs" / "stores").iterdir())
    assert len(stores) == 2  # neighboring (PRLE and Random share it) and average
    assert not (tmp_path / "runs" / "zoo" / "maps").exists()  # no extra default bake
    assert (md.with_suffix(".csv")).read_text().count("\n") == 1 + 5 * 2  # header + 5 rows x (frame, video)
    # after the zoo's two trainings, one run more (its frame and video lines) before each next detector's training
    assert partial_rows_at_each_training == [0, 0, 0, 2, 4, 6, 8]
    assert not (tmp_path / "results" / "smoke.partial.md").exists()  # the finished tables replace the partial ones
    capsys.readouterr()
    before = {p: p.stat().st_mtime for p in (tmp_path / "runs").rglob("best.pt")}
    reproduce.main(["--config", str(config)])
    assert {p: p.stat().st_mtime for p in (tmp_path / "runs").rglob("best.pt")} == before  # nothing retrained
    assert "plan for smoke" in capsys.readouterr().out
    import plot_results

    png = plot_results.main([str(md.with_suffix(".json")), "--out", str(tmp_path / "auc.png")])
    assert png.stat().st_size > 10_000


def test_every_shipped_config_loads_and_names_known_backbones():
    from backbones import BACKBONES
    from train_zoo import BAKE_NAMES

    for path in sorted((ROOT / "examples" / "configs").glob("*.yaml")):
        cfg = reproduce.load_config(path)
        assert set(cfg["backbones"]) <= set(BACKBONES), path
        assert set(cfg["zoo"]["members"]) <= set(BAKE_NAMES), path
        for v in cfg["variants"]:
            members = v.get("bake", {}).get("members", [])
            assert set(members) <= set(cfg["zoo"]["members"]), path


def test_config_errors_name_the_mask_problem():
    import pytest

    base = {"name": "x", "data": {"train": "T", "val": "V", "tests": {}}, "zoo": {"members": []}, "backbones": []}
    with pytest.raises(SystemExit, match=r"unknown prle.mask \['ears'\]"):
        reproduce.load_config_dict({**base, "variants": [{"name": "E", "prle": {"mask": "ears"}}]})
    with pytest.raises(SystemExit, match="data.landmarks"):
        reproduce.load_config_dict({**base, "variants": [{"name": "L", "prle": {"mask": "landmark"}}]})
    cfg = reproduce.load_config_dict(
        {**base, "data": {**base["data"], "landmarks": "LM"}, "variants": [{"name": "L", "prle": {"mask": "landmark"}}]}
    )
    assert reproduce.bake_setting(cfg, cfg["variants"][0]) is None  # landmark masks need no store
    args = reproduce.train_args(cfg, "mobilenet_v2", Path("out"), cfg["variants"][0], None)
    assert args[args.index("--landmarks") + 1] == "LM" and "--maps" not in args
    assert args[args.index("--missing-maps") + 1] == "error"  # the default: a training image without landmarks stops
    skip = {"name": "L", "prle": {"mask": "landmark", "missing": "skip"}}
    args = reproduce.train_args(cfg, "mobilenet_v2", Path("out"), skip, None)
    assert args[args.index("--missing-maps") + 1] == "skip"


def test_training_steps_resume_from_last_checkpoint(tmp_path):
    cfg = {
        "name": "x",
        "seed": 3,
        "data": {"train": "T", "val": "V", "tests": {}},
        "zoo": {"members": []},
        "train": {"epochs": 2},
        "backbones": [],
        "variants": [],
    }
    args = reproduce.train_args(reproduce.load_config_dict(cfg), "mobilenet_v2", tmp_path, {"name": "baseline"}, None)
    assert "--resume" in args and args[args.index("--seed") + 1] == "3"


PAPER_CONFIGS = [p for p in sorted((ROOT / "examples" / "configs").glob("*.yaml")) if "/path/to/" in p.read_text()]


def fake_paper_data(root: Path) -> None:
    """A miniature of the data the paper configs name: FF++ (all five methods, official-style split files),
    the DFDC / DF-1.0 test folders, Celeb-DF through a CSV list, and a landmark folder for the FF++ frames."""
    from primary_mask.data import FFPP_METHODS

    def png(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))

    ff = root / "FaceForensics++"
    splits = {"train": [["000", "001"]], "val": [["002", "003"]], "test": [["004", "005"]]}
    (root / "splits").mkdir()
    for name, pairs in splits.items():
        (root / "splits" / f"{name}.json").write_text(str(pairs).replace("'", '"'))
        for a, b in pairs:
            for f in range(2):
                for v in (a, b):
                    png(ff / "original_sequences/youtube/c23/frames" / v / f"{f:03d}.png")
                for m in FFPP_METHODS:
                    for v in (f"{a}_{b}", f"{b}_{a}"):
                        png(ff / "manipulated_sequences" / m / "c23/frames" / v / f"{f:03d}.png")
    for folder in ("dfdc_test_faces", "deeperforensics_test_faces", "celebdf_test_faces", "Celeb-DF"):
        for label in ("real", "fake"):
            png(root / folder / label / "0.png")
    (root / "celebdf_test_list.csv").write_text("path,label\nreal/0.png,real\nfake/0.png,fake\n")
    for frame in ff.rglob("*.png"):
        target = root / "ffpp_landmarks" / f"{frame.relative_to(ff).as_posix()}.npy"
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, face_landmarks(8))


def test_every_paper_config_checks_out_on_a_miniature_of_its_data(tmp_path, capsys):
    """The paper configs as shipped, /path/to/ pointed at miniature data: every spec, split file and the landmark
    folder must resolve (`reproduce.py --check`, what docs/reproducing.md tells users to run first)."""
    assert len(PAPER_CONFIGS) >= 7
    fake_paper_data(tmp_path)
    for path in PAPER_CONFIGS:
        config = tmp_path / path.name
        config.write_text(path.read_text().replace("/path/to/", f"{tmp_path}/"))
        assert reproduce.main(["--config", str(config), "--check"]) == config
        summary = reproduce.check(reproduce.load_config(config))
        assert summary["data.train"]["real"] > 0 and summary["data.train"]["fake"] > 0, path.name
        assert all(row.get("missing", 0) == 0 for row in summary.values()), path.name
        assert len([k for k in summary if k.startswith("data.tests.")]) >= 3, path.name
    assert "warning" not in capsys.readouterr().out


def test_check_names_the_key_that_does_not_resolve(tmp_path):
    import pytest

    fake_paper_data(tmp_path)
    text = (ROOT / "examples" / "configs" / "table2-ffpp.yaml").read_text().replace("/path/to/", f"{tmp_path}/")
    config = tmp_path / "t2.yaml"
    config.write_text(text.replace("deeperforensics_test_faces", "nowhere"))
    with pytest.raises(SystemExit, match="data.tests.DF-1.0 = .*nowhere.* cannot be read"):
        reproduce.main(["--config", str(config), "--check"])
    config.write_text(text.replace("splits/train.json", "splits/missing.json"))
    with pytest.raises(SystemExit, match="data.train = .*missing.json"):
        reproduce.main(["--config", str(config), "--check"])


def test_offline_config_checks_out_on_the_shared_dfdc_crops():
    import pytest

    if not (ROOT.parent / "shared" / "data" / "dfdc" / "train").is_dir():
        pytest.skip("../shared/data/dfdc is not available")
    summary = reproduce.check(reproduce.load_config(ROOT / "examples" / "configs" / "offline-dfdc.yaml"))
    assert summary["data.train"]["images"] == 6000 and summary["data.val"]["images"] == 800


def test_offline_configs_run_as_shipped_on_tiny_data(tmp_path):
    """docs/results.md's offline configs, unchanged but for the data paths and the sizes/steps (a CI-sized run):
    the same zoo, variants, masks and backbones go through the whole runner."""
    data = tiny_data(tmp_path / "data")
    tiny = ["--max-steps", "1", "--quiet", "--workers", "0"]
    for name in ("offline-dfdc.yaml", "offline-dfdc-masks.yaml"):
        cfg = yaml.safe_load((ROOT / "examples" / "configs" / name).read_text())
        cfg["data"].update(train=str(data / "train"), val=str(data / "val"), tests={"DFDC": str(data / "test")})
        if "landmarks" in cfg["data"]:
            cfg["data"]["landmarks"] = str(data / "landmarks")
        cfg["workdir"], cfg["results_dir"] = str(tmp_path / "runs" / name), str(tmp_path / "results")
        cfg["zoo"].update(size=32, batch_size=4, args=[*cfg["zoo"]["args"], *tiny])
        cfg["train"].update(size=32, epochs=1, batch_size=4, args=[*cfg["train"]["args"], *tiny])
        cfg["bake"]["size"] = 16
        config = tmp_path / name
        config.write_text(yaml.safe_dump(cfg))
        table = reproduce.main(["--config", str(config)]).read_text()
        for backbone in cfg["backbones"]:
            for v in cfg["variants"]:
                row = backbone if v["name"] == "baseline" else f"{backbone} + {v['name']}"
                assert f"| {row} |" in table, (name, row)


@pytest.mark.parametrize(
    "section, typo, meant",
    [
        ("bake", "tua1", "tau1"),
        ("train", "epoch", "epochs"),
        ("zoo", "epoch", "epochs"),
        ("prle", "alpha", "alpha_range"),
        ("variant bake", "lamda", "lam"),
        ("data", "test", "tests"),
        ("top", "sed", "seed"),
    ],
)
def test_a_misspelled_key_is_refused_with_the_file_the_key_and_the_nearest_valid_one(tmp_path, section, typo, meant):
    cfg = {
        "name": "typo",
        "data": {"train": "a", "val": "b", "tests": {"T": "c"}},
        "zoo": {"members": ["mobilenet_v2"]},
        "backbones": ["mobilenet_v2"],
        "variants": [{"name": "baseline"}, {"name": "PRLE", "prle": {"p": 0.5}, "bake": {"fusion": "average"}}],
    }
    config = tmp_path / "typo.yaml"
    config.write_text(yaml.safe_dump(cfg))
    reproduce.load_config(config)  # valid as written
    target = {
        "top": cfg,
        "data": cfg["data"],
        "zoo": cfg["zoo"],
        "bake": cfg.setdefault("bake", {}),
        "train": cfg.setdefault("train", {}),
        "prle": cfg["variants"][1]["prle"],
        "variant bake": cfg["variants"][1]["bake"],
    }[section]
    target[typo] = 1
    config.write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit) as err:
        reproduce.load_config(config)
    message = str(err.value)
    assert str(config) in message and f"{typo}'" in message and f"did you mean '{meant}'" in message, message


def test_an_unknown_key_far_from_every_valid_one_lists_the_valid_keys():
    with pytest.raises(SystemExit, match=r"unknown key 'train.xyzzy'; valid keys here: size, epochs"):
        reproduce.check_keys({"train": {"xyzzy": 1}}, "my.yaml")
    with pytest.raises(SystemExit, match=r"my.yaml: variants\[PRLE\].prle must be a mapping"):
        reproduce.check_keys({"variants": [{"name": "PRLE", "prle": [0.5]}]}, "my.yaml")


BASE = {"name": "x", "data": {"train": "T", "val": "V", "tests": {}}, "zoo": {"members": []}, "backbones": []}


def test_seeds_win_over_seed_and_disagreeing_keys_are_refused():
    assert reproduce.load_config_dict({**BASE, "variants": []})["seeds"] == [0]  # neither: seed 0
    assert reproduce.load_config_dict({**BASE, "seed": 4, "variants": []})["seeds"] == [4]
    assert reproduce.load_config_dict({**BASE, "seeds": [2, 0, 1], "variants": []})["seeds"] == [2, 0, 1]
    assert reproduce.load_config_dict({**BASE, "seed": 2, "seeds": [2], "variants": []})["seeds"] == [2]
    with pytest.raises(SystemExit, match=r"seed: 0 and seeds: \[0, 1, 2\] disagree"):
        reproduce.load_config_dict({**BASE, "seed": 0, "seeds": [0, 1, 2], "variants": []})
    for bad in ([], [0, 0], "0,1", [0.5], [True]):
        with pytest.raises(SystemExit, match="seeds must be a non-empty list of distinct integers"):
            reproduce.load_config_dict({**BASE, "seeds": bad, "variants": []})
    cfg = reproduce.load_config_dict({**BASE, "seeds": [7, 8], "variants": []})
    args = reproduce.train_args(cfg, "mobilenet_v2", Path("o"), {"name": "baseline"}, None)
    assert args[args.index("--seed") + 1] == "7"  # the first seed by default
    args = reproduce.train_args(cfg, "mobilenet_v2", Path("o"), {"name": "baseline"}, None, seed=8)
    assert args[args.index("--seed") + 1] == "8"


def report(acc: float, auc: float) -> dict:
    m = {"acc": acc, "auc": auc, "ap": 0.5, "eer": 0.5, "n": 10}
    return {"frame": m, "video": m}


def test_results_show_mean_and_sample_std_over_seeds_and_keep_every_seed(tmp_path):
    cfg = reproduce.load_config_dict(
        {**BASE, "data": {**BASE["data"], "tests": {"A": "a", "B": "b"}}, "seeds": [0, 1, 2], "variants": []}
    )
    cfg["results_dir"] = str(tmp_path)
    # hand-computed: ACC on A 0.80, 0.90, 0.85 -> mean 85.00, sample std 5.00; AUC on A 0.7, 0.9, 0.8 -> 80 +- 10;
    # B constant 0.6 / 0.5 -> std 0; AVG ACC per seed (0.7, 0.75, 0.725) -> 72.50 +- 2.50; AVG AUC (0.6, 0.7, 0.65)
    rows = [
        {"backbone": "m", "variant": "PRLE", "seed": s, "reports": {"A": report(a, u), "B": report(0.6, 0.5)}}
        for s, a, u in ((0, 0.80, 0.7), (1, 0.90, 0.9), (2, 0.85, 0.8))
    ]
    nan = float("nan")
    base_reports = {"A": report(1, 1), "B": report(0.5, nan)}
    rows.append({"backbone": "m", "variant": "baseline", "seed": 0, "reports": base_reports})
    md = reproduce.write_results(cfg, rows).read_text()
    prle = "| m + PRLE | 85.00 ± 5.00 | 80.00 ± 10.00 | 60.00 ± 0.00 | 50.00 ± 0.00 | 72.50 ± 2.50 | 65.00 ± 5.00 |"
    assert prle in md
    assert "| m (n = 1) | 100.00 | 100.00 | 50.00 | n/a | 75.00 | 100.00 |" in md  # one seed: the value, and its n
    assert "sample standard deviation (n - 1 denominator)" in md and "n = 3" in md
    lines = (tmp_path / "x.csv").read_text().splitlines()
    assert lines[0].startswith("backbone,variant,seed,test,level,acc,auc")
    assert len(lines) == 1 + 4 * 2 * 2 and "m,PRLE,2,A,frame,0.85,0.8,0.5,0.5,10" in lines
    assert [r["seed"] for r in json.loads((tmp_path / "x.json").read_text())["rows"]] == [0, 1, 2, 0]


def fake_steps(monkeypatch) -> list:
    """Replace train.py and evaluate.py in the runner by recorders (train writes a log with its seed, evaluate a
    results.json); returns the list of (run folder name, seed) trained."""
    trained = []

    def fake_train(argv):
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        seed = int(argv[argv.index("--seed") + 1])
        (out / "log.jsonl").write_text(json.dumps({"event": "start", "args": {"seed": seed}}) + "\n")
        trained.append((out.name, seed))

    def fake_evaluate(argv):
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps({"reports": {"T": report(0.5, 0.5)}}))

    monkeypatch.setattr(reproduce.train, "main", fake_train)
    monkeypatch.setattr(reproduce.evaluate, "main", fake_evaluate)
    monkeypatch.setattr(reproduce, "estimate_seconds", lambda cfg: 0.0)
    return trained


def test_each_seed_trains_in_its_own_folder_and_the_first_keeps_the_single_seed_name(tmp_path, monkeypatch, capsys):
    """The runner's loop with train/evaluate replaced by recorders: folder names, seeds passed, finished runs
    reused, and a finished run of another seed refused."""
    trained = fake_steps(monkeypatch)
    work = tmp_path / "runs"
    single = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "backbones": ["mobilenet_v2"]}
    single.update(workdir=str(work), variants=[{"name": "baseline"}], results_dir=str(tmp_path / "results"), seed=0)
    reproduce.run(reproduce.load_config_dict(dict(single)))
    assert trained == [("mobilenet_v2-baseline", 0)]
    multi = {k: v for k, v in single.items() if k != "seed"}
    multi["seeds"] = [0, 1, 2]
    md = reproduce.run(reproduce.load_config_dict(dict(multi)))
    assert trained[1:] == [("mobilenet_v2-baseline-seed1", 1), ("mobilenet_v2-baseline-seed2", 2)]  # seed 0 reused
    assert "x 3 seed(s) [0, 1, 2]" in capsys.readouterr().out
    assert "| mobilenet_v2 | 50.00 ± 0.00 |" in md.read_text()
    with pytest.raises(SystemExit, match="trained with seed 0, but this config trains it with seed 1"):
        reproduce.run(reproduce.load_config_dict({**multi, "seeds": [1, 0]}))


def test_runs_go_seed_major_so_a_stopped_study_has_one_seed_of_every_row(tmp_path, monkeypatch):
    trained = fake_steps(monkeypatch)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "backbones": ["mobilenet_v2"], "seeds": [0, 1]}
    cfg.update(workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg["variants"] = [{"name": "baseline"}, {"name": "B"}]
    md = reproduce.run(reproduce.load_config_dict(cfg))
    assert trained == [
        ("mobilenet_v2-baseline", 0),
        ("mobilenet_v2-B", 0),
        ("mobilenet_v2-baseline-seed1", 1),
        ("mobilenet_v2-B-seed1", 1),
    ]
    rows = json.loads(md.with_suffix(".json").read_text())["rows"]  # the table still groups by row, then seed
    assert [(r["variant"], r["seed"]) for r in rows] == [("baseline", 0), ("baseline", 1), ("B", 0), ("B", 1)]


def tiny_masks(data: Path) -> Path:
    """A masks folder for tiny_data's train split, keyed from data/ like `primary-mask masks --images data`:
    fake/i was made from real/i; pairs 0 and 1 aligned (a 10x20 box), 2 misaligned, 3 not listed."""
    masks = data / "masks"
    box = np.zeros((40, 40), np.uint8)
    box[10:20, 5:25] = 255
    for i in (0, 1):
        (masks / "train" / "fake").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(masks / "train" / "fake" / f"{i}.png.png"), box)
    rows = [
        f"train/fake/{i}.png,train/real/{i}.png,{s},,1,0,0," for i, s in enumerate(["aligned"] * 2 + ["misaligned"])
    ]
    (masks / "masks.csv").write_text("fake,real,status,reason,border_diff,shift_x,shift_y,coverage\n" + "\n".join(rows))
    return masks


def test_oracle_variant_erases_from_a_store_of_the_manipulation_masks(tmp_path, monkeypatch):
    from primary_mask import PrimaryMapStore

    data = tiny_data(tmp_path / "data")
    masks = tiny_masks(data)
    cfg = {
        "name": "oracle",
        "seed": 0,
        "workdir": str(tmp_path / "runs"),
        "results_dir": str(tmp_path / "results"),
        "data": {"train": str(data / "train"), "val": str(data / "val"), "tests": {"T": str(data / "test")}},
        "zoo": {"members": ["mobilenet_v2"]},
        "bake": {"size": 40},
        "train": {"size": 32, "epochs": 1, "batch_size": 4, "args": ["--max-steps", "1", "--quiet", "--workers", "0"]},
        "backbones": ["mobilenet_v2"],
        "variants": [{"name": "Oracle", "prle": {"mask": "oracle", "p": 1.0}}],
    }
    with pytest.raises(SystemExit, match="data.masks"):
        reproduce.load_config_dict(yaml.safe_load(yaml.safe_dump(cfg)))
    cfg["data"]["masks"] = str(masks)
    with pytest.raises(SystemExit, match="needs prle.missing: skip"):
        reproduce.load_config_dict(yaml.safe_load(yaml.safe_dump(cfg)))
    cfg["variants"][0]["prle"]["missing"] = "skip"
    with pytest.raises(SystemExit, match="no training image has an oracle map"):  # keys start with train/
        reproduce.check(reproduce.load_config_dict(yaml.safe_load(yaml.safe_dump(cfg))))
    cfg["data"]["mask_prefix"] = "train/"
    loaded = reproduce.load_config_dict(yaml.safe_load(yaml.safe_dump(cfg)))
    assert reproduce.check(loaded)["data.masks"] == {"pairs": 3, "with_mask": 2, "train_images": 4}
    calls = []
    real_train = reproduce.train.main
    monkeypatch.setattr(reproduce.train, "main", lambda argv: calls.append(argv) or real_train(argv))
    md = reproduce.run(loaded)
    assert "| mobilenet_v2 + Oracle |" in md.read_text()
    assert not (tmp_path / "runs" / "zoo").exists()  # an oracle store needs no zoo
    (store_path,) = (tmp_path / "runs" / "stores").iterdir()
    assert store_path.name.startswith("oracle-")
    store = PrimaryMapStore(store_path)
    assert sorted(store.keys()) == ["fake/0.png", "fake/1.png", "real/0.png", "real/1.png"]
    expected = torch.zeros(40, 40)
    expected[10:20, 5:25] = 1
    assert torch.equal(store["real/1.png"].float(), expected)
    argv = calls[0]
    assert argv[argv.index("--mask") + 1] == "static" and argv[argv.index("--missing-maps") + 1] == "skip"
    assert argv[argv.index("--maps") + 1] == str(store_path)
    log = [json.loads(line) for line in (tmp_path / "runs" / "detectors" / "mobilenet_v2-Oracle" / "log.jsonl").open()]
    assert log[-1]["erased_share"] == 0.5  # p = 1: the 2 of 4 training images with a map (batch of 4, one step)


def test_band_value_is_a_bake_key_passed_to_bake_only_when_set():
    cfg = reproduce.load_config_dict(
        {**BASE, "zoo": {"members": ["mobilenet_v2"]}, "variants": [{"name": "P", "prle": {"p": 0.5}}]}
    )
    mean = reproduce.bake_setting(cfg, {"name": "P", "prle": {"p": 0.5}})
    assert "band_value" not in mean  # configs written before the key keep their store folders
    maxed = reproduce.bake_setting(cfg, {"name": "M", "prle": {"p": 0.5}, "bake": {"band_value": "max"}})
    assert maxed["band_value"] == "max" and reproduce.store_dir(Path("w"), maxed) != reproduce.store_dir(
        Path("w"), mean
    )


def test_the_runner_passes_band_value_to_bake(tmp_path, monkeypatch):
    fake_steps(monkeypatch)
    bakes = []
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: None)

    def fake_bake(argv):
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True)
        bakes.append(argv)
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_bake)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "zoo": {"members": ["mobilenet_v2"]}}
    cfg.update(backbones=["mobilenet_v2"], workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg["variants"] = [
        {"name": "mean", "prle": {"p": 0.5}},
        {"name": "max", "prle": {"p": 0.5}, "bake": {"band_value": "max"}},
        {"name": "pp", "prle": {"p": 0.5}, "bake": {"cam": "gradcam++", "input_size": 224}},
    ]
    reproduce.run(reproduce.load_config_dict(cfg))
    assert len(bakes) == 3 and "--band-value" not in bakes[0]
    assert bakes[0][bakes[0].index("--cam") + 1] == "gradcam"  # the paper's, not bake's default recipe
    assert bakes[0][bakes[0].index("--input-size") + 1] == "256"  # the zoo's training size (the default)
    assert bakes[1][bakes[1].index("--band-value") + 1] == "max"
    assert bakes[2][bakes[2].index("--cam") + 1] == "gradcam++" and bakes[2].count("--input-size") == 1
    assert bakes[2].count("--cam") == 1
    assert bakes[2][bakes[2].index("--input-size") + 1] == "224"


def test_seeds_config_runs_as_shipped_on_tiny_data(tmp_path):
    """offline-dfdc-seeds.yaml with its data paths on tiny data (the cross set: the test folder again), CI sizes,
    one backbone and two seeds: every variant (oracle and band_value max included) goes through the runner."""
    data = tiny_data(tmp_path / "data")
    cfg = yaml.safe_load((ROOT / "examples" / "configs" / "offline-dfdc-seeds.yaml").read_text())
    assert cfg["seeds"] == [0, 1, 2] and {v["name"] for v in cfg["variants"]} >= {"Oracle", "PRLE-max", "Landmark"}
    tests = {name: str(data / "test") for name in cfg["data"]["tests"]}
    cfg["data"].update(train=str(data / "train"), val=str(data / "val"), tests=tests)
    cfg["data"].update(landmarks=str(data / "landmarks"), masks=str(tiny_masks(data)))
    cfg.update(workdir=str(tmp_path / "runs"), results_dir=str(tmp_path / "results"), seeds=[0, 1])
    cfg["backbones"] = cfg["backbones"][:1]
    tiny = ["--max-steps", "1", "--quiet", "--workers", "0"]
    cfg["zoo"].update(size=32, batch_size=4, args=[*cfg["zoo"]["args"], *tiny])
    cfg["train"].update(size=32, epochs=1, batch_size=4, args=[*cfg["train"]["args"], *tiny])
    cfg["bake"]["size"] = 16
    config = tmp_path / "seeds.yaml"
    config.write_text(yaml.safe_dump(cfg))
    started = time.time()
    table = reproduce.main(["--config", str(config)]).read_text()
    ended = time.time()
    backbone = cfg["backbones"][0]
    for v in cfg["variants"]:
        row = backbone if v["name"] == "baseline" else f"{backbone} + {v['name']}"
        assert f"| {row} | " in table and "±" in table.split(f"| {row} | ")[1].split("\n")[0], row
    # run_minutes on what train.py and evaluate.py really wrote: each run's training time lies within its own
    # log's span (start record to last epoch record), its evaluation time within the study's wall clock
    runs = [p for p in (tmp_path / "runs" / "detectors").iterdir() if (p / "eval" / "results.json").exists()]
    assert len(runs) == 2 * len(cfg["variants"])
    for run in runs:
        evaluation = json.loads((run / "eval" / "results.json").read_text())
        minutes = reproduce.run_minutes(run, evaluation)
        log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        span = max(r["time"] for r in log) - min(r["time"] for r in log if r["event"] == "start")
        assert 0 < 60 * minutes["train_minutes"] <= span + 0.5, run.name
        assert 0 < 60 * minutes["eval_minutes"] <= ended - max(r["time"] for r in log), run.name
        assert started <= min(r["time"] for r in log) and max(r["time"] for r in log) <= ended, run.name
    stores = sorted(p.name.split("-")[0] for p in (tmp_path / "runs" / "stores").iterdir())
    assert stores == ["neighboring", "neighboring", "oracle"]  # band_value mean and max, and the oracle


def test_a_baked_store_goes_through_bake_again_so_other_settings_are_refused_not_reused(tmp_path, monkeypatch):
    fake_steps(monkeypatch)
    bakes = []
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: None)

    def fake_bake(argv):
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        bakes.append(argv)
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_bake)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "zoo": {"members": ["mobilenet_v2"]}}
    cfg.update(backbones=["mobilenet_v2"], workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg["variants"] = [{"name": "PRLE", "prle": {"p": 0.5}}]
    reproduce.run(reproduce.load_config_dict(dict(cfg)))
    more = {**cfg, "seeds": [0, 1]}  # a run still to train reads the store
    reproduce.run(reproduce.load_config_dict(dict(more)))  # DONE is there: bake still checks the store's settings
    assert len(bakes) == 2 and bakes[0] == bakes[1]
    monkeypatch.setattr(reproduce, "primary_mask_main", lambda argv: 2)  # what bake returns for other settings
    with pytest.raises(SystemExit):
        reproduce.run(reproduce.load_config_dict({**cfg, "seeds": [0, 1, 2]}))


def test_only_the_stores_a_run_still_to_train_reads_are_baked(tmp_path, monkeypatch, capsys):
    """A study resumed with every store-reading run finished, or taken from a record, trains no zoo and bakes
    nothing; a pending run of one store bakes that store only."""
    trained = fake_steps(monkeypatch)
    calls = []
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: calls.append("zoo"))

    def fake_bake(argv):
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        calls.append(argv[argv.index("--out") + 1])
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_bake)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "zoo": {"members": ["mobilenet_v2"]}}
    cfg.update(backbones=["mobilenet_v2"], workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg["variants"] = [
        {"name": "baseline"},
        {"name": "PRLE", "prle": {"p": 0.5}},
        {"name": "PRLE-max", "prle": {"p": 0.5}, "bake": {"band_value": "max"}},
    ]
    recorded = reproduce.run(reproduce.load_config_dict(dict(cfg))).with_suffix(".json")
    assert calls[0] == "zoo" and len(calls) == 3 and len(trained) == 3  # the zoo, two stores, three runs
    calls.clear()
    reproduce.run(reproduce.load_config_dict(dict(cfg)))  # all finished: nothing to bake
    assert calls == [] and "2 store(s) not baked: no run still to train reads them" in capsys.readouterr().out
    lost = {**cfg, "workdir": str(tmp_path / "lost"), "seeds": [0, 1]}
    reproduce.run(reproduce.load_config_dict(dict(lost)), reuse=recorded, check_reuse=False)
    assert calls[0] == "zoo" and len(calls) == 3  # seed 1 of both PRLE rows reads both stores
    calls.clear()
    lost_again = {**cfg, "workdir": str(tmp_path / "third")}
    reproduce.run(reproduce.load_config_dict(dict(lost_again)), reuse=recorded, check_reuse=False)
    assert calls == []  # every run taken from the record, none checked: no zoo, no bake
    before = len(trained)
    checked = {**cfg, "workdir": str(tmp_path / "fourth"), "variants": cfg["variants"][:2], "seeds": [0, 1]}
    reproduce.run(reproduce.load_config_dict(checked), reuse=recorded)
    assert trained[before : before + 2] == [("mobilenet_v2-baseline", 0), ("mobilenet_v2-PRLE", 0)]  # the checks
    assert calls[0] == "zoo" and len(calls) == 2 and calls[1].startswith(str(tmp_path / "fourth"))  # PRLE's store


def test_the_estimate_counts_every_seed_of_the_detectors_and_the_zoo_once(monkeypatch):
    """With each timed training step taking a fixed 1 s, the estimate is per-image seconds x images x epochs, summed
    over the detector runs (backbones x variants x seeds) and the zoo members (trained once, whatever the seeds)."""
    clock = iter(range(0, 10_000, 1))
    monkeypatch.setattr(reproduce.time, "perf_counter", lambda: float(next(clock)))
    monkeypatch.setattr(reproduce, "dataset_from_spec", lambda spec: [0] * 100)
    monkeypatch.setattr(reproduce, "BACKBONES", {"mobilenet_v2": lambda size, pretrained: torch.nn.Conv2d(3, 1, 1)})
    cfg = {**BASE, "backbones": ["mobilenet_v2"], "zoo": {"members": ["mobilenet_v2"], "epochs": 1}}
    cfg.update(train={"size": 8, "batch_size": 8, "epochs": 2}, variants=[{"name": "baseline"}, {"name": "B"}])
    per_image = 1 / 16  # start and end of the two timed steps are consecutive clock ticks: 1 s for 2 x 8 images
    one = reproduce.estimate_seconds(reproduce.load_config_dict({**cfg, "seeds": [0]}))
    three = reproduce.estimate_seconds(reproduce.load_config_dict({**cfg, "seeds": [0, 1, 2]}))
    assert one == pytest.approx(per_image * 100 * (2 * 1 * 2 + 1))  # 2 variants x 2 epochs, + 1 zoo epoch
    assert three == pytest.approx(per_image * 100 * (2 * 3 * 2 + 1))  # the zoo is trained once


@pytest.mark.parametrize(
    "variant, baseline",
    [
        ([0.85, 0.88, 0.86], [0.80, 0.82, 0.81]),  # +5, +6, +5 points: helps
        ([0.75, 0.76, 0.74], [0.80, 0.82, 0.81]),  # -5, -6, -7: hurts
        ([0.82, 0.81, 0.81], [0.80, 0.82, 0.81]),  # +2, -1, 0: within noise
        ([0.90, 0.70, 0.95, 0.80], [0.80, 0.80, 0.80, 0.80]),  # mean +8.75 but spread wide: within noise
        ([0.81, 0.83], [0.80, 0.82]),  # +1, +1 exactly: no spread, helps
        ([0.82, 0.84, 0.86], [0.80, 0.80, 0.80]),  # +2, +4, +6: t = 3.46 < 4.30 (df 2), within noise
        ([0.81, 0.82, 0.83, 0.84, 0.85], [0.80] * 5),  # +1 .. +5: t = 4.24 > 2.78 (df 4), helps
    ],
)
def test_the_paired_reading_agrees_with_scipy_paired_t_test(variant, baseline):
    stats = pytest.importorskip("scipy.stats")
    mean, std, n, reading = reproduce.paired_difference(dict(enumerate(variant)), dict(enumerate(baseline)))
    diffs = np.subtract(variant, baseline)
    assert n == len(diffs) and mean == pytest.approx(diffs.mean()) and std == pytest.approx(diffs.std(ddof=1))
    if diffs.std() < 1e-12:  # scipy returns NaN for no spread; a constant non-zero difference is certain
        expected = "helps" if diffs.mean() > 0 else "hurts"
    else:
        test = stats.ttest_rel(variant, baseline)
        expected = "within noise" if test.pvalue >= 0.05 else ("helps" if test.statistic > 0 else "hurts")
    assert reading == expected


def test_the_paired_reading_pairs_by_seed_and_needs_two_seeds():
    # Seeds 0 and 2 in common (1 and 3 are one-sided): differences +0.10 and +0.12, paired by seed, not by order.
    mean, std, n, reading = reproduce.paired_difference({2: 0.92, 0: 0.90, 1: 0.1}, {0: 0.80, 2: 0.80, 3: 0.9})
    assert (n, round(mean, 6), round(std, 6), reading) == (2, 0.11, round(0.02 / math.sqrt(2), 6), "within noise")
    assert reproduce.paired_difference({0: 0.9}, {0: 0.8})[3] == "one seed"
    assert reproduce.paired_difference({0: float("nan"), 1: 0.9}, {0: 0.8, 1: 0.8})[2] == 1  # NaN pairs left out


def test_report_writes_the_finished_runs_with_their_n_and_the_difference_from_the_baseline(
    tmp_path, monkeypatch, capsys
):
    """A study stopped part way: --report trains nothing and tables what is there, as x.partial.* (the finished
    study's x.md is never replaced by a partial one); rows with fewer seeds say n, rows with none are named."""
    trained = fake_steps(monkeypatch)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "backbones": ["mobilenet_v2"], "seeds": [0, 1]}
    cfg.update(workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg["variants"] = [{"name": "baseline"}, {"name": "B"}, {"name": "C"}]
    cfg = reproduce.load_config_dict(cfg)
    config = write_yaml(tmp_path / "c.yaml", cfg)
    with pytest.raises(SystemExit, match="no finished run under .*nothing to report"):
        reproduce.main(["--config", str(config), "--report"])
    aucs = {("baseline", 0): 0.8, ("B", 0): 0.9, ("baseline", 1): 0.82}
    for (variant, seed), auc in aucs.items():  # three of the six runs evaluated; B's seed 1 and C not yet
        folder = reproduce.run_dir(tmp_path / "w", "mobilenet_v2", variant, seed, 0)
        (folder / "eval").mkdir(parents=True)
        (folder / "eval" / "results.json").write_text(json.dumps({"reports": {"T": report(auc, auc)}}))
    out = reproduce.main(["--config", str(config), "--report"])
    md = out.read_text()
    assert trained == [] and out.name == "x.partial.md" and not (tmp_path / "r" / "x.md").exists()
    assert "**Partial:** 3 of the study's 6 runs are finished" in md and "no run yet: mobilenet_v2 + C." in md
    assert "| mobilenet_v2 | 81.00 ± 1.41 | 81.00 ± 1.41 | 81.00 ± 1.41 | 81.00 ± 1.41 |" in md
    assert "| mobilenet_v2 + B (n = 1) | 90.00 | 90.00 | 90.00 | 90.00 |" in md
    assert "| mobilenet_v2 + B | +10.00 (one seed) | +10.00 (one seed) |" in md  # seed 0 only: 0.90 - 0.80
    assert json.loads(out.with_suffix(".json").read_text())["runs"] == {"finished": 3, "expected": 6}
    # A finished run of another seed than its folder's (seeds reordered) is refused, not tabled as this seed.
    folder = reproduce.run_dir(tmp_path / "w", "mobilenet_v2", "B", 0, 0)
    (folder / "log.jsonl").write_text(json.dumps({"event": "start", "args": {"seed": 1}}) + "\n")
    with pytest.raises(SystemExit, match="trained with seed 1, but this config trains it with seed 0"):
        reproduce.main(["--config", str(config), "--report"])
    with pytest.raises(SystemExit):  # one mode at a time
        reproduce.main(["--config", str(config), "--report", "--check"])
    assert "not allowed with argument" in capsys.readouterr().err
    # Once every run is finished: the study's own tables, and the partial ones are gone.
    (folder / "log.jsonl").unlink()
    for variant, seed in (("B", 1), ("C", 0), ("C", 1)):
        done = reproduce.run_dir(tmp_path / "w", "mobilenet_v2", variant, seed, 0) / "eval"
        done.mkdir(parents=True)
        (done / "results.json").write_text(json.dumps({"reports": {"T": report(0.5, 0.5)}}))
    out = reproduce.main(["--config", str(config), "--report"])
    assert out.name == "x.md" and "Partial" not in out.read_text()
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["x.csv", "x.json", "x.md"]


def test_a_difference_cell_says_its_n_when_a_seed_is_missing_and_no_baseline_means_no_difference_table(tmp_path):
    cfg = reproduce.load_config_dict(
        {**BASE, "data": {**BASE["data"], "tests": {"A": "a"}}, "seeds": [0, 1, 2], "variants": []}
    )
    cfg["results_dir"] = str(tmp_path)
    row = lambda v, s, auc: {"backbone": "m", "variant": v, "seed": s, "reports": {"A": report(0.5, auc)}}  # noqa: E731
    rows = [row("baseline", s, 0.8) for s in (0, 1, 2)] + [row("B", 0, 0.9), row("B", 1, 0.92)]
    md = reproduce.write_results(cfg, rows).read_text()
    assert "| m + B | +11.00 ± 1.41, within noise (n = 2) |" in md  # +10 and +12 over seeds 0 and 1
    md = reproduce.write_results(cfg, [row("B", 0, 0.9), row("B", 1, 0.92)]).read_text()
    assert "difference from the baseline" not in md


def write_yaml(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_run_minutes_sum_the_logged_epochs_and_take_the_evaluations_own_seconds(tmp_path):
    import os

    folder = tmp_path / "run"
    (folder / "eval").mkdir(parents=True)
    # train.py's log of a run stopped after epoch 0 and resumed an hour later (no new start record on resume);
    # epoch 1 was logged twice (a crash after the log line, before the checkpoint): its last record counts.
    records = [
        {"event": "start", "time": 1000.0},
        {"event": "epoch", "epoch": 0, "seconds": 300.0, "time": 1300.0},
        {"event": "epoch", "epoch": 1, "seconds": 500.0, "time": 5200.0},
        {"event": "epoch", "epoch": 1, "seconds": 420.0, "time": 9000.0},
    ]
    (folder / "log.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (folder / "eval" / "results.json").write_text(json.dumps({"reports": {}, "seconds": 90.0}))
    assert reproduce.run_minutes(folder, {"reports": {}, "seconds": 90.0}) == {
        "train_minutes": 12.0,
        "eval_minutes": 1.5,
    }  # 300 + 420 s; 90 s
    # Older files: the span from the start to the log's last write (stops included), then to the results' write.
    (folder / "log.jsonl").write_text(json.dumps({"event": "start", "time": 1000.0}) + "\n")
    os.utime(folder / "log.jsonl", (1300.0, 1300.0))
    (folder / "eval" / "results.json").write_text(json.dumps({"reports": {}}))
    os.utime(folder / "eval" / "results.json", (1990.0, 1990.0))
    assert reproduce.run_minutes(folder, {"reports": {}}) == {"train_minutes": 5.0, "eval_minutes": 11.5}
    (folder / "log.jsonl").write_text(json.dumps({"event": "epoch"}) + "\n")
    assert reproduce.run_minutes(folder, {"reports": {}}) == {}


def test_the_t_quantiles_are_scipys():
    stats = pytest.importorskip("scipy.stats")
    for df, q in reproduce._T95.items():
        assert q == pytest.approx(stats.t.ppf(0.975, df), abs=5e-4)
    assert max(reproduce._T95) == 10 and stats.t.ppf(0.975, 11) < reproduce._T95[10]  # past 10: wider, never narrower


def test_the_table_gives_each_rows_median_minutes(tmp_path):
    cfg = reproduce.load_config_dict({**BASE, "data": {**BASE["data"], "tests": {"A": "a"}}, "variants": []})
    cfg["results_dir"] = str(tmp_path)
    rows = [
        {"backbone": "m", "variant": "baseline", "seed": s, "reports": {"A": report(1, 1)}, **t}
        for s, t in (
            (0, {"train_minutes": 10.0, "eval_minutes": 1.0}),
            (1, {"train_minutes": 12.0, "eval_minutes": 2.0}),
            (2, {"train_minutes": 600.0, "eval_minutes": 1.5}),  # resumed after a long stop: not the row's figure
        )
    ]
    rows.append({"backbone": "m", "variant": "B", "seed": 0, "reports": {"A": report(1, 1)}})  # no times logged
    md = reproduce.write_results(cfg, rows).read_text()
    assert "| m | 3 | 12.0 | 1.5 |" in md and "| m + B |" not in md.split("Wall-clock")[1]


def test_a_pseudo_test_set_is_refused_before_any_training_with_the_fix(tmp_path):
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"P": "pseudo:faces?landmarks=lm"}}, "variants": []}
    with pytest.raises(SystemExit, match="data.tests.P = 'pseudo:faces.*primary-mask synth-set"):
        reproduce.load_config_dict(cfg)
    with pytest.raises(SystemExit, match="--test P: pseudo: makes new pseudo-fakes.*synth-set"):
        reproduce.evaluate.main(["--checkpoint", str(tmp_path / "absent.pt"), "--test", "P=pseudo:faces"])


def test_plot_results_draws_every_finished_seed_and_leaves_undefined_aucs_out(tmp_path):
    import plot_results

    rows = [
        {"backbone": "m", "variant": "baseline", "seed": s, "reports": {"A": report(0.5, a), "B": report(0.5, b)}}
        for s, a, b in ((0, 0.80, 0.60), (1, 0.90, 0.70))
    ]
    rows.append(
        {"backbone": "m", "variant": "PRLE", "seed": 0, "reports": {"A": report(0.5, 0.75), "B": report(0.5, 0.5)}}
    )
    rows.append(
        {"backbone": "m", "variant": "PRLE", "seed": 1, "reports": {"A": report(0.5, 0.8), "B": report(0.5, 0.7)}}
    )
    rows[-1]["reports"]["B"] = report(0.5, float("nan"))  # B undefined for this seed (one class)
    data = {"config": {"name": "x", "seeds": [0, 1, 2], "data": {"tests": {"A": "a", "B": "b"}}}, "rows": rows}
    values = plot_results.seed_values(data, "frame")
    assert values == {
        ("m", "A", "baseline"): [80.0, 90.0],  # seed 2 not finished anywhere: two values, not a zero
        ("m", "B", "baseline"): [60.0, 70.0],
        ("m", "A", "PRLE"): [75.0, 80.0],
        ("m", "B", "PRLE"): [50.0],  # the NaN seed left out, as the table's mean leaves it out
    }
    (tmp_path / "r.json").write_text(json.dumps(data))
    png = plot_results.main([str(tmp_path / "r.json"), "--out", str(tmp_path / "auc.png")])
    assert png.stat().st_size > 10_000


def test_plot_results_differences_pair_each_seed_with_its_baseline_and_draw_the_t_interval(tmp_path):
    import matplotlib.pyplot as plt
    import plot_results

    aucs = {"baseline": (0.80, 0.90, 0.85), "PRLE": (0.78, 0.86, 0.84), "Flat": (0.80, 0.90, 0.85)}  # seeds 0-2, A
    rows = [
        {"backbone": "m", "variant": v, "seed": s, "reports": {"A": report(0.5, a[s])}}
        for v, a in aucs.items()
        for s in range(3)
    ]
    rows.append({"backbone": "m", "variant": "Late", "seed": 1, "reports": {"A": report(0.5, 0.95)}})  # one seed only
    data = {"config": {"name": "x", "seeds": [0, 1, 2], "data": {"tests": {"A": "a"}}}, "rows": rows}
    diffs = plot_results.seed_differences(data, "frame")
    assert diffs.keys() == {("m", "A", "PRLE"), ("m", "A", "Flat"), ("m", "A", "Late")}
    assert diffs[("m", "A", "PRLE")] == pytest.approx({0: -2.0, 1: -4.0, 2: -1.0})
    assert diffs[("m", "A", "Late")] == pytest.approx({1: 5.0})  # paired with seed 1's baseline, not the mean
    fig, ax = plt.subplots()
    plot_results.plot_differences(data, "frame", ax)
    from matplotlib.container import BarContainer

    prle, flat, late = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert prle[0].get_height() == pytest.approx(-7 / 3) and late[0].get_height() == pytest.approx(5.0)
    assert flat[0].get_height() == pytest.approx(0.0)
    # bars that round to zero carry no "+0.0" label; the others carry their signed mean
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == ["+5.0", "-2.3"]
    # the 95% interval of the mean of (-2, -4, -1): t(0.975, 2 df) = 4.303 times sd / sqrt(3)
    sd = math.sqrt(((-2 + 7 / 3) ** 2 + (-4 + 7 / 3) ** 2 + (-1 + 7 / 3) ** 2) / 2)
    (low, high) = prle.errorbar.lines[2][0].get_segments()[0][:, 1]
    assert (high - low) / 2 == pytest.approx(4.303 * sd / math.sqrt(3), rel=1e-3)
    plt.close(fig)
    (tmp_path / "r.json").write_text(json.dumps(data))
    png = plot_results.main([str(tmp_path / "r.json"), "--differences", "--out", str(tmp_path / "d.png")])
    assert png.stat().st_size > 10_000


def test_the_commands_file_lists_exactly_the_calls_the_runner_makes(tmp_path, monkeypatch):
    """<name>.commands.sh against what the runner really calls (train_zoo, primary-mask, train, evaluate
    replaced by recorders): the same arguments, in the same order, with --dry-run writing the same file."""
    import shlex

    trained = fake_steps(monkeypatch)
    calls = []
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: calls.append(("train_zoo", list(argv))))

    def fake_primary_mask(argv):
        calls.append(("primary-mask", list(argv)))
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_primary_mask)
    for name in ("train", "evaluate"):
        recorder = getattr(reproduce, name).main
        monkeypatch.setattr(
            getattr(reproduce, name), "main", lambda argv, n=name, r=recorder: calls.append((n, list(argv))) or r(argv)
        )
    cfg = {
        **BASE,
        "name": "cmds",
        "seeds": [0, 1],
        "workdir": str(tmp_path / "runs"),
        "results_dir": str(tmp_path / "results"),
        "data": {"train": "T", "val": "V", "tests": {"T": "t dir"}, "masks": "M", "mask_prefix": "train/"},
        "zoo": {"members": ["mobilenet_v2"], "args": ["--pretrained"]},
        "bake": {"band_value": "mean"},
        "backbones": ["mobilenet_v2"],
        "variants": [
            {"name": "baseline"},
            {"name": "PRLE", "prle": {"p": 0.5}},
            {"name": "PRLE-max", "prle": {"p": 0.5}, "bake": {"band_value": "max"}},
            {"name": "Oracle", "prle": {"mask": "oracle", "p": 0.5, "missing": "skip"}},
        ],
    }
    loaded = reproduce.load_config_dict(cfg)
    reproduce.run(loaded, dry_run=True)
    listed = (tmp_path / "results" / "cmds.commands.sh").read_text()
    assert not calls and len(trained) == 0  # a dry run lists the steps and runs none
    reproduce.run(loaded)
    assert (tmp_path / "results" / "cmds.commands.sh").read_text() == listed
    lines = [shlex.split(line) for line in listed.splitlines() if not line.startswith("#")]
    as_called = [
        (cmd[1].removeprefix("examples/").removesuffix(".py"), cmd[2:]) if cmd[0] == "python" else (cmd[0], cmd[1:])
        for cmd in lines
    ]
    assert as_called == calls
    # one zoo, three stores (mean, max, oracle), then 4 variants x 2 seeds of train + evaluate, seed-major
    assert [c[0] for c in calls] == ["train_zoo"] + ["primary-mask"] * 3 + ["train", "evaluate"] * 8
    assert [c[1][0] for c in calls[1:4]] == ["bake", "bake", "masks-store"]
    assert "T=t dir" in calls[5][1]  # a test spec with a space survives the quoting


def test_a_variant_trains_on_its_own_data_and_check_opens_it(tmp_path):
    """variants[].data: a calibration row trained on other fakes (issue #23); the zoo and stores keep data.train."""
    data = tiny_data(tmp_path / "data")
    cfg = {
        "name": "cal",
        "data": {"train": str(data / "train"), "val": str(data / "val"), "tests": {"T": str(data / "test")}},
        "zoo": {"members": ["mobilenet_v2"]},
        "backbones": ["mobilenet_v2"],
        "variants": [{"name": "baseline"}, {"name": "other", "data": {"train": str(data / "test"), "val": "nowhere"}}],
    }
    loaded = reproduce.load_config_dict(cfg)
    base, other = (reproduce.train_args(loaded, "mobilenet_v2", tmp_path / v["name"], v, None) for v in cfg["variants"])
    assert base[base.index("--train") + 1] == str(data / "train") and base[base.index("--val") + 1] == str(data / "val")
    assert other[other.index("--train") + 1] == str(data / "test") and other[other.index("--val") + 1] == "nowhere"
    with pytest.raises(SystemExit, match=r"variants\[other\].data.val = 'nowhere' cannot be read"):
        reproduce.check(loaded)
    cfg["variants"][1]["data"] = {"tran": "x"}
    with pytest.raises(SystemExit, match=r"unknown key 'variants\[other\].data.tran'; did you mean 'train'"):
        reproduce.load_config_dict(cfg)


def test_an_online_variant_trains_on_its_own_maps_without_a_store(tmp_path):
    """prle.online_maps / prle.refresh (issue #24): no zoo, no store; train.py gets --online-maps and --refresh."""
    data = tiny_data(tmp_path / "data")
    cfg = {
        "name": "online",
        "data": {"train": str(data / "train"), "val": str(data / "val"), "tests": {"T": str(data / "test")}},
        "zoo": {"members": ["mobilenet_v2"]},
        "backbones": ["mobilenet_v2"],
        "variants": [
            {"name": "self-PRLE", "prle": {"online_maps": "gradcam++", "refresh": "epoch:2"}},
            {"name": "RFM", "prle": {"online_maps": "fam", "mask": "rfm", "p": 1.0}},
        ],
    }
    loaded = reproduce.load_config_dict(cfg)
    assert reproduce.store_settings(loaded) == {}  # nothing to bake, so no zoo is trained
    self_prle, rfm = (
        reproduce.train_args(loaded, "mobilenet_v2", tmp_path / v["name"], v, None) for v in cfg["variants"]
    )
    assert self_prle[self_prle.index("--online-maps") + 1 :][:3] == ["gradcam++", "--refresh", "epoch:2"]
    assert "--maps" not in self_prle and rfm[rfm.index("--mask") + 1] == "rfm"
    assert rfm[rfm.index("--refresh") + 1] == "step"


def test_the_leak_train_py_logged_becomes_a_column_per_row(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "log.jsonl").write_text('{"event": "start"}\n{"event": "leak", "auc": 0.9}\n{"event": "epoch"}\n')
    assert reproduce.run_leak(folder) == {"leak_auc": 0.9} and reproduce.run_leak(tmp_path) == {}
    rows = [{"backbone": "m", "variant": "PRLE", "leak_auc": a} for a in (0.9, 0.8)] + [
        {"backbone": "m", "variant": "baseline"}
    ]
    table = "\n".join(reproduce._leak_table(rows))
    assert "| m + PRLE | 2 | 0.850 |" in table and "| m |" not in table


def test_the_gap_table_gives_each_rows_share_of_the_gap_to_a_ceiling_from_another_results_file(tmp_path):
    def metrics_of(auc):
        return {"acc": 0.5, "auc": auc, "ap": 0.5, "eer": 0.5, "n": 10}

    def row(variant, seed, auc, backbone="m"):  # frame and video: equal values in separate dicts, as from JSON
        return {
            "backbone": backbone,
            "variant": variant,
            "seed": seed,
            "reports": {"G": {"frame": metrics_of(auc), "video": metrics_of(auc)}},
        }

    calibration = [row("general-only", 0, 0.96), row("general-only", 1, 1.00), row("baseline", 0, 0.1)]
    calibration.append(row("general-only", 0, 0.90, backbone="k"))  # k's ceiling is below k's baseline
    (tmp_path / "calibration.json").write_text(json.dumps({"rows": calibration}))
    cfg = reproduce.load_config_dict(
        {
            "name": "gap",
            "seeds": [0, 1],
            "results_dir": str(tmp_path),
            "data": {"train": "a", "val": "b", "tests": {"G": "c"}},
            "zoo": {"members": ["mobilenet_v2"]},
            "backbones": ["m", "k"],
            "variants": [{"name": "baseline"}, {"name": "PRLE", "prle": {"p": 0.5}}],
            "ceiling": {"results": "calibration.json", "variant": "general-only", "test": "G"},
        }
    )
    rows = [row("baseline", 0, 0.70), row("baseline", 1, 0.74), row("PRLE", 0, 0.80), row("PRLE", 1, 0.79)]
    rows += [row("baseline", 0, 0.95, "k"), row("PRLE", 0, float("nan"), "k")]  # an undefined AUC at both levels
    table = reproduce.write_results(cfg, rows).read_text()
    # ceiling (0.96 + 1.00) / 2 = 0.98; seed 0: 0.10 / 0.28 = 35.71%, seed 1: 0.05 / 0.24 = 20.83%;
    # mean 28.27%, sample std |35.71 - 20.83| / sqrt(2) = 10.52%
    assert "| m + PRLE | 98.00 | 28% ± 11% |" in table
    assert "| k + PRLE | 90.00 | n/a (no seed with a baseline below the ceiling) |" in table
    # every video one frame: the video level would repeat the frame level, so only the frame level is shown
    assert table.count("gap recovered") == 1 and "video level equals frame level" in table
    assert "**video-level**" not in table
    rows[0] = {**rows[0], "reports": {"G": {**rows[0]["reports"]["G"], "video": {**metrics_of(0.71)}}}}
    table = reproduce.write_results(cfg, rows).read_text()
    assert table.count("gap recovered") == 2 and "**video-level**" in table
    with pytest.raises(SystemExit, match="ceiling.test 'X' is not one of data.tests"):
        reproduce.load_config_dict({**cfg, "ceiling": {"results": "c.json", "variant": "v", "test": "X"}})
    with pytest.raises(SystemExit, match="ceiling needs variant"):
        reproduce.load_config_dict({**cfg, "ceiling": {"results": "c.json", "test": "G"}})
    (tmp_path / "other.json").write_text(json.dumps({"rows": [{**row("general-only", 0, 0.9), "reports": {"H": {}}}]}))
    cfg["ceiling"]["results"] = "other.json"  # its runs were tested on another test
    with pytest.raises(SystemExit, match=r"ceiling.results .*other.json: not a results JSON .* on 'G'"):
        reproduce.write_results(cfg, rows)
    with pytest.raises(SystemExit, match="data.tests must map test names to their data"):
        reproduce.load_config_dict({**cfg, "data": {"train": "a", "val": "b", "tests": ["c"]}})
    empty = reproduce.load_config_dict({**cfg, "ceiling": None, "data": {"train": "a", "val": "b", "tests": None}})
    assert empty["data"]["tests"] == {}


def test_rows_that_read_no_store_keep_their_reuse_across_another_zoo_and_bake():
    """What a run depends on: the baseline, Landmark and the online maps read no store, so another zoo or bake
    leaves their settings as they were; every row that erases a store's maps (PRLE, Random, Oracle) sees it."""
    variants = [
        {"name": "baseline"},
        {"name": "Landmark", "prle": {"mask": "landmark"}},
        {"name": "self", "prle": {"online_maps": "gradcam++"}},
        {"name": "PRLE", "prle": {"p": 0.5}},
        {"name": "Random", "prle": {"mask": "random"}},
        {"name": "Oracle", "prle": {"mask": "oracle", "missing": "skip"}},
    ]
    data = {**BASE["data"], "landmarks": "L", "masks": "M"}
    one = reproduce.load_config_dict({**BASE, "data": data, "variants": variants, "bake": {"tau1": 0.5}})
    other = reproduce.load_config_dict(
        {**BASE, "data": data, "variants": variants, "zoo": {"members": [], "epochs": 9}, "bake": {"tau1": 0.2}}
    )
    same = [
        v["name"]
        for v in variants
        if reproduce._run_setting(one, v["name"]) == reproduce._run_setting(other, v["name"])
    ]
    assert same == ["baseline", "Landmark", "self"]
    longer = reproduce.load_config_dict({**BASE, "data": data, "variants": variants, "train": {"epochs": 9}})
    assert reproduce._run_setting(one, "baseline") != reproduce._run_setting(longer, "baseline")  # training counts


def test_a_row_depends_on_the_landmarks_and_masks_only_when_it_erases_them():
    """A study without Landmark and Oracle rows (no data.landmarks, no data.masks) reuses the other rows of one that
    had them; the Landmark row sees another landmarks folder, the Oracle row other masks, and every row other
    training images."""
    variants = [
        {"name": "baseline"},
        {"name": "PRLE", "prle": {"p": 0.5}},
        {"name": "Random", "prle": {"mask": "random"}},
        {"name": "static", "prle": {"mask": "static"}},
        {"name": "self", "prle": {"online_maps": "gradcam++"}},
        {"name": "RFM", "prle": {"online_maps": "fam", "mask": "rfm"}},
        {"name": "Landmark", "prle": {"mask": "landmark"}},
        {"name": "Oracle", "prle": {"mask": "oracle", "missing": "skip"}},
    ]
    neither = [v["name"] for v in variants[:6]]
    full = {**BASE["data"], "landmarks": "L", "masks": "M", "mask_prefix": "train/"}
    with_them = reproduce.load_config_dict({**BASE, "data": full, "variants": variants})
    without = reproduce.load_config_dict({**BASE, "data": BASE["data"], "variants": variants[:6]})
    for name in neither:
        assert reproduce._run_setting(with_them, name) == reproduce._run_setting(without, name), name
    other_masks = reproduce.load_config_dict({**BASE, "data": {**full, "masks": "M2"}, "variants": variants})
    other_marks = reproduce.load_config_dict({**BASE, "data": {**full, "landmarks": "L2"}, "variants": variants})
    assert reproduce._run_setting(with_them, "Landmark") == reproduce._run_setting(other_masks, "Landmark")
    assert reproduce._run_setting(with_them, "Oracle") == reproduce._run_setting(other_marks, "Oracle")
    # a variant the config does not hold reads everything
    assert reproduce._run_setting(with_them, "gone") != reproduce._run_setting(other_masks, "gone")
    for name, changed in (
        ("Landmark", {"landmarks": "L2"}),
        ("Oracle", {"masks": "M2"}),
        ("Oracle", {"mask_prefix": ""}),
    ):
        other = reproduce.load_config_dict({**BASE, "data": {**full, **changed}, "variants": variants})
        assert reproduce._run_setting(with_them, name) != reproduce._run_setting(other, name), changed
        assert all(reproduce._run_setting(with_them, x) == reproduce._run_setting(other, x) for x in neither)
    moved = reproduce.load_config_dict({**BASE, "data": {**full, "train": "elsewhere"}, "variants": variants})
    assert all(
        reproduce._run_setting(with_them, v["name"]) != reproduce._run_setting(moved, v["name"]) for v in variants
    )


def test_the_zoos_weights_key_reaches_train_zoo_and_is_refused_misspelt(tmp_path):
    cfg = reproduce.load_config_dict({**BASE, "zoo": {"members": ["mobilenet_v2"], "weights": "last"}, "variants": []})
    argv = reproduce.zoo_argv(cfg, tmp_path)
    assert argv[argv.index("--weights") + 1] == "last" and argv.index("--weights") < argv.index("--")
    default = reproduce.zoo_argv(reproduce.load_config_dict({**BASE, "variants": []}), tmp_path)
    assert "--weights" not in default  # train_zoo.py's own default, best.pt
    with pytest.raises(SystemExit, match="weight"):
        reproduce.load_config_dict({**BASE, "zoo": {"members": [], "weight": "last"}, "variants": []})
    with pytest.raises(SystemExit, match=r"zoo.weights must be one of \('best', 'last'\), got 'final'"):
        reproduce.load_config_dict({**BASE, "zoo": {"members": [], "weights": "final"}, "variants": []})


def test_reuse_takes_recorded_runs_of_the_same_settings_and_trains_the_rest(tmp_path, monkeypatch, capsys):
    """A study whose work folder is lost resumes from its recorded tables: runs recorded under the same settings
    are not trained again, runs of other settings are."""
    trained = fake_steps(monkeypatch)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "backbones": ["mobilenet_v2"], "seeds": [0]}
    cfg.update(workdir=str(tmp_path / "lost"), variants=[{"name": "baseline"}], results_dir=str(tmp_path / "res"))
    recorded = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(cfg)))).with_suffix(".json")
    assert trained == [("mobilenet_v2-baseline", 0)]
    again = {**cfg, "seeds": [0, 1], "workdir": str(tmp_path / "new")}  # the first folder is gone
    md = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(again))), reuse=recorded, check_reuse=False)
    assert trained[1:] == [("mobilenet_v2-baseline-seed1", 1)]  # seed 0 came from the record
    table = md.read_text()
    assert f"**Reused:** 1 of these runs' numbers come from {recorded}" in table
    assert "| mobilenet_v2 | 50.00 ± 0.00 |" in table  # the recorded seed's 0.5 and the new one's
    assert "1 of them were taken unchecked: no recorded run of their backbone" in table
    assert (tmp_path / "new" / "detectors" / "mobilenet_v2-baseline" / "DONE").read_text().startswith("reused from")
    # resumed from the study's own partial tables: the finished tables replace them, and say so
    partial = md.with_name(f"{cfg['name']}.partial.json")
    partial.write_text(md.with_suffix(".json").read_text())
    resumed = reproduce.run(
        reproduce.load_config_dict(json.loads(json.dumps({**again, "workdir": str(tmp_path / "resumed")}))),
        reuse=partial, check_reuse=False,
    )  # fmt: skip
    assert not partial.exists() and len(trained) == 2  # both seeds taken, nothing trained
    assert f"from {partial} (this study's partial tables, which these files replace" in resumed.read_text()
    other = {**again, "train": {"epochs": 9}, "workdir": str(tmp_path / "other")}  # another setting: nothing reused
    reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(other))), reuse=recorded, check_reuse=False)
    assert trained[2:] == [("mobilenet_v2-baseline", 0), ("mobilenet_v2-baseline-seed1", 1)]
    # the record now holds both seeds (the second run rewrote it, the reused row kept as reused)
    assert "0 recorded run(s) with this config's settings; 2 with other settings left out" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a results JSON"):
        reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(again))), reuse=tmp_path / "none.json")
    with pytest.raises(SystemExit):
        reproduce.main(["--config", "c.yaml", "--report", "--reuse", str(recorded)])
    assert "--reuse goes with a run" in capsys.readouterr().err


def test_reuse_checks_are_the_first_recorded_run_of_each_backbone_and_store_a_run_still_to_train_uses(tmp_path):
    variants = [
        {"name": "baseline"},
        {"name": "PRLE", "prle": {"p": 0.5}},
        {"name": "Random", "prle": {"mask": "random"}},  # PRLE's store: no check of its own
        {"name": "PRLE-fake", "prle": {"p": 0.5}, "bake": {"target": "fake"}},  # another store
        {"name": "self", "prle": {"online_maps": "gradcam++"}},  # no store
    ]
    cfg = reproduce.load_config_dict(
        {**BASE, "backbones": ["mobilenet_v2", "efficientnet_lite0"], "seeds": [0, 1], "variants": variants}
    )
    seed0 = {(b, v["name"], 0): {} for b in cfg["backbones"] for v in variants}  # seed 1 still to train
    checks = reproduce.reuse_checks(cfg, tmp_path, seed0)
    stores = {v["name"]: reproduce.store_dir(tmp_path, reproduce.bake_setting(cfg, v)) for v in variants[1:4]}
    assert checks == {  # each with what it vouches for: the backbone's training, a store
        ("mobilenet_v2", "baseline", 0): {("backbone", "mobilenet_v2")},
        ("mobilenet_v2", "PRLE", 0): {("store", str(stores["PRLE"]))},
        ("mobilenet_v2", "PRLE-fake", 0): {("store", str(stores["PRLE-fake"]))},
        ("efficientnet_lite0", "baseline", 0): {("backbone", "efficientnet_lite0")},
    }
    assert stores["Random"] == stores["PRLE"]
    everything = {(b, v["name"], s): {} for b in cfg["backbones"] for v in variants for s in (0, 1)}
    assert reproduce.reuse_checks(cfg, tmp_path, everything) == {}  # nothing to train here: nothing to match
    # only EfficientNet-Lite0's seed-1 online-map row left: its training is checked, no store is
    assert set(
        reproduce.reuse_checks(cfg, tmp_path, {k: {} for k in everything if k != ("efficientnet_lite0", "self", 1)})
    ) == {("efficientnet_lite0", "baseline", 0)}
    # seed-major order: MobileNetV2's Random at seed 0 comes first, and checks both the training and PRLE's store
    some = {("mobilenet_v2", "PRLE", 1): {}, ("mobilenet_v2", "baseline", 1): {}, ("mobilenet_v2", "Random", 0): {}}
    assert ("mobilenet_v2", "Random", 0) in reproduce.reuse_checks(cfg, tmp_path, some)
    assert ("mobilenet_v2", "PRLE", 1) not in reproduce.reuse_checks(cfg, tmp_path, some)
    assert reproduce.reuse_checks(cfg, tmp_path, {}) == {}


def test_reuse_trains_the_checks_again_and_takes_the_record_only_when_they_equal_it(tmp_path, monkeypatch, capsys):
    """A record that reproduces here is taken after one run per backbone is trained again; one whose check differs
    is refused before any of its runs is taken; --reuse-unchecked takes it without a check."""
    trained = fake_steps(monkeypatch)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}, "landmarks": "L"}, "seeds": [0, 1]}
    cfg.update(
        backbones=["mobilenet_v2", "efficientnet_lite0"], results_dir=str(tmp_path / "res"),
        variants=[{"name": "baseline"}, {"name": "Landmark", "prle": {"mask": "landmark"}}],
        workdir=str(tmp_path / "lost"),
    )  # fmt: skip
    recorded = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(cfg)))).with_suffix(".json")
    assert len(trained) == 8
    two_seeds = recorded.read_text()  # the next run rewrites the record with its three seeds
    again = {**cfg, "workdir": str(tmp_path / "new"), "seeds": [0, 1, 2]}  # seed 2 still to train
    checked = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(again))), reuse=recorded).read_text()
    assert "**Reused:** 6 of these runs' numbers" in checked and "unchecked" not in checked
    assert trained[8:10] == [("mobilenet_v2-baseline", 0), ("efficientnet_lite0-baseline", 0)]  # the checks
    assert len(trained) == 14  # and the four runs of seed 2
    out = capsys.readouterr().out
    assert "2 of its runs are trained again first" in out and out.count("equal to the record") == 2
    reused = sorted(p.parent.name for p in (tmp_path / "new").glob("detectors/*/DONE") if "reused" in p.read_text())
    assert len(reused) == 6 and "mobilenet_v2-baseline" not in reused
    # a record whose MobileNetV2 numbers this machine does not give: its MobileNetV2 runs are trained, the rest taken
    record = json.loads(two_seeds)
    first = next(
        r for r in record["rows"] if (r["backbone"], r["variant"], r["seed"]) == ("mobilenet_v2", "baseline", 0)
    )
    first["reports"]["T"]["frame"]["auc"] = 0.75
    (tmp_path / "other.json").write_text(json.dumps(record))
    elsewhere = {**cfg, "workdir": str(tmp_path / "third"), "seeds": [0, 1, 2]}
    before = len(trained)
    md = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(elsewhere))), reuse=tmp_path / "other.json")
    out = capsys.readouterr().out
    assert "mobilenet_v2-baseline trained here gives T.frame.auc = 0.5, the record 0.75" in out
    assert "share its backbone mobilenet_v2 do not reproduce" in out and "none of those 3 is taken" in out
    assert sorted(trained[before:]) == sorted(
        [("mobilenet_v2-baseline", 0), ("efficientnet_lite0-baseline", 0)]  # the checks
        + [("mobilenet_v2-Landmark", 0), ("mobilenet_v2-baseline-seed1", 1), ("mobilenet_v2-Landmark-seed1", 1)]
        + [(f"{b}-{v}-seed2", 2) for b in ("mobilenet_v2", "efficientnet_lite0") for v in ("baseline", "Landmark")]
    )
    taken = sorted(p.parent.name for p in (tmp_path / "third").glob("detectors/*/DONE") if "reused" in p.read_text())
    assert taken == [
        "efficientnet_lite0-Landmark",
        "efficientnet_lite0-Landmark-seed1",
        "efficientnet_lite0-baseline-seed1",
    ]
    assert "**Reused:** 3 of these runs' numbers" in md.read_text()
    before = len(trained)
    unchecked = {**cfg, "workdir": str(tmp_path / "fourth")}  # nothing left to train: nothing to check either
    reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(unchecked))), reuse=tmp_path / "other.json")
    assert len(trained) == before  # everything taken from the record
    unchecked = {**cfg, "workdir": str(tmp_path / "fifth"), "seeds": [0, 1, 2]}
    md = reproduce.run(
        reproduce.load_config_dict(json.loads(json.dumps(unchecked))), reuse=tmp_path / "other.json", check_reuse=False
    )
    assert len(trained) == before + 4  # seed 2 only: the record's runs taken unchecked
    assert "8 of them were taken unchecked" in md.read_text()
    with pytest.raises(SystemExit):
        reproduce.main(["--config", "c.yaml", "--reuse-unchecked"])
    assert "--reuse-unchecked goes with --reuse" in capsys.readouterr().err


def _two_backbone_study(tmp_path: Path, workdir: str, seeds: list) -> dict:
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}, "landmarks": "L"}, "seeds": seeds}
    cfg.update(
        backbones=["mobilenet_v2", "efficientnet_lite0"], results_dir=str(tmp_path / "res"),
        variants=[{"name": "baseline"}, {"name": "Landmark", "prle": {"mask": "landmark"}}],
        workdir=str(tmp_path / workdir),
    )  # fmt: skip
    return reproduce.load_config_dict(json.loads(json.dumps(cfg)))


def _record_with(tmp_path: Path, recorded: Path, key: tuple, auc: float) -> Path:
    record = json.loads(recorded.read_text())
    row = next(r for r in record["rows"] if (r["backbone"], r["variant"], r["seed"]) == key)
    row["reports"]["T"]["frame"]["auc"] = auc
    out = tmp_path / f"record-{'-'.join(map(str, key))}.json"
    out.write_text(json.dumps(record))
    return out


def test_a_check_that_differs_refuses_the_recorded_runs_it_vouches_for_before_any_is_taken(tmp_path, monkeypatch):
    """The checks run before any recorded run is taken: the last check differing (EfficientNet-Lite0's training)
    leaves none of that backbone's recorded runs taken, while MobileNetV2's, whose check equals the record, are."""
    trained = fake_steps(monkeypatch)
    recorded = reproduce.run(_two_backbone_study(tmp_path, "first", [0, 1])).with_suffix(".json")
    broken = _record_with(tmp_path, recorded, ("efficientnet_lite0", "baseline", 0), 0.75)  # the second check
    before = len(trained)
    reproduce.run(_two_backbone_study(tmp_path, "second", [0, 1, 2]), reuse=broken)
    assert trained[before : before + 2] == [("mobilenet_v2-baseline", 0), ("efficientnet_lite0-baseline", 0)]
    taken = {p.parent.name for p in (tmp_path / "second").glob("detectors/*/DONE") if "reused" in p.read_text()}
    assert taken == {"mobilenet_v2-Landmark", "mobilenet_v2-baseline-seed1", "mobilenet_v2-Landmark-seed1"}
    assert len(trained) - before == 12 - 3  # every run of the study but the three taken


def test_a_check_taken_from_the_record_by_an_earlier_invocation_is_trained_again(tmp_path, monkeypatch):
    """A work folder whose runs were all taken from a record (nothing was left to train, so nothing was checked)
    and then grows a seed: the check run, taken before, is trained here now and compared, and when it differs the
    runs taken before that share its backbone are trained, not left standing on the refused record."""
    trained = fake_steps(monkeypatch)
    recorded = reproduce.run(_two_backbone_study(tmp_path, "first", [0, 1])).with_suffix(".json")
    broken = _record_with(tmp_path, recorded, ("mobilenet_v2", "baseline", 0), 0.75)
    before = len(trained)
    reproduce.run(_two_backbone_study(tmp_path, "second", [0, 1]), reuse=broken)  # all taken, nothing to check
    assert len(trained) == before
    reproduce.run(_two_backbone_study(tmp_path, "second", [0, 1, 2]), reuse=broken)
    assert trained[before : before + 2] == [("mobilenet_v2-baseline", 0), ("efficientnet_lite0-baseline", 0)]
    assert (tmp_path / "second/detectors/mobilenet_v2-baseline/DONE").read_text() == "ok\n"  # trained, not taken
    for name in ("mobilenet_v2-Landmark", "mobilenet_v2-baseline-seed1", "mobilenet_v2-Landmark-seed1"):
        assert (name, 0 if "seed1" not in name else 1) in trained[before:]  # taken before, refused now: trained
        assert (tmp_path / f"second/detectors/{name}/DONE").read_text() == "ok\n"
    assert "reused" in (tmp_path / "second/detectors/efficientnet_lite0-Landmark/DONE").read_text()


def test_a_store_check_that_differs_refuses_that_stores_runs_and_bakes_a_store_they_need(tmp_path, monkeypatch, capsys):
    """The baselines' check equals the record and PRLE's store check does not: the baselines are taken and every
    recorded PRLE run is trained. A store no run still to train read at first is baked once a refusal needs it."""
    trained = fake_steps(monkeypatch)
    calls = []
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: calls.append("zoo"))

    def fake_bake(argv):
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        calls.append("bake")
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_bake)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "zoo": {"members": ["mobilenet_v2"]}}
    cfg.update(backbones=["mobilenet_v2"], workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg.update(variants=[{"name": "baseline"}, {"name": "PRLE", "prle": {"p": 0.5}}], seeds=[0, 1])
    recorded = reproduce.run(reproduce.load_config_dict(dict(cfg))).with_suffix(".json")
    broken = _record_with(tmp_path, recorded, ("mobilenet_v2", "PRLE", 0), 0.75)
    before, calls[:] = len(trained), []
    reproduce.run(reproduce.load_config_dict({**cfg, "workdir": str(tmp_path / "x"), "seeds": [0, 1, 2]}), reuse=broken)
    out = capsys.readouterr().out
    assert "mobilenet_v2-PRLE trained here gives T.frame.auc = 0.5, the record 0.75" in out
    assert trained[before:] == [
        ("mobilenet_v2-baseline", 0), ("mobilenet_v2-PRLE", 0),  # the checks
        ("mobilenet_v2-PRLE-seed1", 1),  # refused: it reads the store that differs
        ("mobilenet_v2-baseline-seed2", 2), ("mobilenet_v2-PRLE-seed2", 2),
    ]  # fmt: skip
    assert "reused" in (tmp_path / "x/detectors/mobilenet_v2-baseline-seed1/DONE").read_text()
    # the only run left reads no store, so nothing is baked, until its check refuses the record's PRLE runs
    record = json.loads(recorded.read_text())
    record["rows"] = [r for r in record["rows"] if (r["variant"], r["seed"]) != ("baseline", 1)]
    next(r for r in record["rows"] if (r["variant"], r["seed"]) == ("baseline", 0))["reports"]["T"]["frame"]["auc"] = (
        0.7
    )
    (tmp_path / "one.json").write_text(json.dumps(record))
    before, calls[:] = len(trained), []
    reproduce.run(reproduce.load_config_dict({**cfg, "workdir": str(tmp_path / "y")}), reuse=tmp_path / "one.json")
    assert calls == ["zoo", "bake"]  # after the check, for the refused PRLE runs
    assert trained[before:] == [
        ("mobilenet_v2-baseline", 0), ("mobilenet_v2-PRLE", 0), ("mobilenet_v2-baseline-seed1", 1),
        ("mobilenet_v2-PRLE-seed1", 1),
    ]  # fmt: skip


def test_the_check_treats_nan_as_equal_to_nan_and_any_other_difference_as_one(tmp_path):
    """An AUC of a one-class test is NaN in both the record and the rerun: that is no difference."""
    (tmp_path / "eval").mkdir()
    nan_report = {"T": {"frame": {"auc": float("nan"), "acc": 0.5}}}
    (tmp_path / "eval" / "results.json").write_text(json.dumps({"reports": nan_report}))
    assert (
        reproduce.record_difference(tmp_path, {"reports": {"T": {"frame": {"auc": float("nan"), "acc": 0.5}}}}) is None
    )
    differs = reproduce.record_difference(tmp_path, {"reports": {"T": {"frame": {"auc": 0.5, "acc": 0.5}}}})
    assert differs == "T.frame.auc = nan, the record 0.5"
    missing = reproduce.record_difference(tmp_path, {"reports": {"T": {"frame": {"auc": float("nan")}}}})
    assert missing == "T.frame.acc = 0.5, the record None"


def test_contrasts_are_one_row_minus_another_paired_by_seed_and_report_rows_rebuilds_the_tables(tmp_path, capsys):
    """A study recorded in a results JSON (its work folder gone): ``--report --rows`` writes its tables again in the
    study's order, with a contrasts table checked against hand-computed paired differences."""
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "seeds": [0, 1, 2], "backbones": ["mobilenet_v2"]}
    cfg.update(variants=[{"name": "baseline"}, {"name": "A"}, {"name": "B"}], results_dir=str(tmp_path / "r"))
    aucs = {"baseline": [0.70, 0.70, 0.70], "A": [0.80, 0.82, 0.84], "B": [0.70, 0.71, 0.72]}
    rows = [
        {"backbone": "mobilenet_v2", "variant": v, "seed": s, "reports": {"T": report(0.5, aucs[v][s])}}
        for v in ("B", "baseline", "A")  # not the study's order
        for s in (2, 0, 1)
    ]
    record = tmp_path / "record.json"
    recorded_cfg = reproduce.load_config_dict(json.loads(json.dumps(cfg)))
    record.write_text(json.dumps({"config": recorded_cfg, "runs": {}, "rows": rows}))
    with_contrasts = {**cfg, "contrasts": [["A", "B"], ["B", "A"], ["A", "baseline"]]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(with_contrasts))
    md = reproduce.main(["--config", str(tmp_path / "c.yaml"), "--report", "--rows", str(record)]).read_text()
    # A - B per seed: 10, 11, 12 points -> +11.00 ± 1.00; t(2) = 4.303: half width 2.48, so helps
    assert "| mobilenet_v2: A - B | +11.00 ± 1.00, helps | +11.00 ± 1.00, helps |" in md
    assert "| mobilenet_v2: B - A | -11.00 ± 1.00, hurts |" in md
    assert "| mobilenet_v2: A - baseline | +12.00 ± 2.00, helps |" in md  # 10, 12, 14
    table = md[md.index("| Method | T ACC") :]
    assert table.index("| mobilenet_v2 |") < table.index("mobilenet_v2 + A |") < table.index("mobilenet_v2 + B |")
    written = json.loads((tmp_path / "r" / "x.json").read_text())
    assert [(r["variant"], r["seed"]) for r in written["rows"]][:4] == [
        ("baseline", 0),
        ("baseline", 1),
        ("baseline", 2),
        ("A", 0),
    ]
    assert written["runs"] == {"finished": 9, "expected": 9}
    other = {**with_contrasts, "train": {"epochs": 7}}  # other settings: nothing of the record is theirs
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(other))
    with pytest.raises(SystemExit, match="records no run of this config's settings"):
        reproduce.main(["--config", str(tmp_path / "o.yaml"), "--report", "--rows", str(record)])
    for bad in (["A"], ["A", "A"], ["A", "C"], "A-B"):
        with pytest.raises(SystemExit, match="contrasts: each entry is"):
            reproduce.load_config_dict({**cfg, "contrasts": [bad]})
    with pytest.raises(SystemExit):
        reproduce.main(["--config", str(tmp_path / "c.yaml"), "--rows", str(record)])
    assert "--rows goes with --report" in capsys.readouterr().err


def test_a_refusal_survives_a_kill_so_the_refused_runs_are_trained_on_resume(tmp_path, monkeypatch):
    """The baseline's check differs and refuses the record's other MobileNetV2 run (B); the study is killed while B
    trains. Resumed with the same --reuse, nothing is left to check (every recorded run is refused or done), and B
    must still be trained, not taken from the refused record."""
    trained = fake_steps(monkeypatch)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "backbones": ["mobilenet_v2"]}
    cfg.update(results_dir=str(tmp_path / "r"), workdir=str(tmp_path / "first"))
    first = {**cfg, "variants": [{"name": "baseline"}, {"name": "B"}]}
    recorded = reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(first)))).with_suffix(".json")
    broken = _record_with(tmp_path, recorded, ("mobilenet_v2", "baseline", 0), 0.75)
    study = {**cfg, "workdir": str(tmp_path / "w"), "variants": [{"name": "baseline"}, {"name": "A"}, {"name": "B"}]}
    fake_train = reproduce.train.main

    def killed_at_b(argv):
        if argv[argv.index("--out") + 1].endswith("mobilenet_v2-B"):
            raise KeyboardInterrupt
        fake_train(argv)

    monkeypatch.setattr(reproduce.train, "main", killed_at_b)
    before = len(trained)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(study))), reuse=broken)
    assert trained[before:] == [("mobilenet_v2-baseline", 0), ("mobilenet_v2-A", 0)]  # the check, then A
    monkeypatch.setattr(reproduce.train, "main", fake_train)
    reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(study))), reuse=broken)
    assert trained[before + 2 :] == [("mobilenet_v2-B", 0)]
    assert (tmp_path / "w/detectors/mobilenet_v2-B/DONE").read_text() == "ok\n"
    # a run taken before a later invocation refused it, killed before it was trained again: not left standing
    again = {**study, "workdir": str(tmp_path / "w2"), "variants": [{"name": "baseline"}, {"name": "B"}]}
    reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(again))), reuse=broken)  # nothing to check
    assert "reused" in (tmp_path / "w2/detectors/mobilenet_v2-B/DONE").read_text()
    refusals = tmp_path / "w2" / reproduce.REFUSALS
    reproduce.write_refusals(refusals, str(broken), {("backbone", "mobilenet_v2")})  # as the check loop writes it
    before = len(trained)
    reproduce.run(reproduce.load_config_dict(json.loads(json.dumps(again))), reuse=broken)
    assert trained[before:] == [("mobilenet_v2-baseline", 0), ("mobilenet_v2-B", 0)]
    assert json.loads(refusals.read_text()) == {str(broken): [["backbone", "mobilenet_v2"]]}


def test_a_check_refused_by_an_earlier_one_is_still_compared_and_unchecked_runs_are_counted(
    tmp_path, monkeypatch, capsys
):
    """The backbone's check differs and refuses every recorded run, the store's check among them: that check is
    still trained and compared with its own record (equal here). And runs taken where no check covered their parts
    are counted as taken unchecked."""
    trained = fake_steps(monkeypatch)
    monkeypatch.setattr(reproduce.train_zoo, "main", lambda argv: None)

    def fake_bake(argv):
        Path(argv[argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        return 0

    monkeypatch.setattr(reproduce, "primary_mask_main", fake_bake)
    cfg = {**BASE, "data": {**BASE["data"], "tests": {"T": "t"}}, "zoo": {"members": ["mobilenet_v2"]}}
    cfg.update(backbones=["mobilenet_v2"], workdir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))
    cfg.update(variants=[{"name": "baseline"}, {"name": "PRLE", "prle": {"p": 0.5}}], seeds=[0, 1])
    recorded = reproduce.run(reproduce.load_config_dict(dict(cfg))).with_suffix(".json")
    broken = _record_with(tmp_path, recorded, ("mobilenet_v2", "baseline", 0), 0.75)
    before = len(trained)
    md = reproduce.run(
        reproduce.load_config_dict({**cfg, "workdir": str(tmp_path / "x"), "seeds": [0, 1, 2]}), reuse=broken
    )
    out = capsys.readouterr().out
    assert "mobilenet_v2-PRLE: trained again, equal to the record" in out and "none of those 3 is taken" in out
    assert len(trained) - before == 6 and "Reused" not in md.read_text()  # every run trained here
    # two backbones, EfficientNet-Lite0's seed 1 left to train: its check covers it; MobileNetV2's runs, taken
    # with no run of theirs checked, are counted unchecked
    two = {**cfg, "backbones": ["mobilenet_v2", "efficientnet_lite0"], "variants": [{"name": "baseline"}]}
    recorded = reproduce.run(reproduce.load_config_dict({**two, "workdir": str(tmp_path / "y")})).with_suffix(".json")
    record = json.loads(recorded.read_text())
    record["rows"] = [r for r in record["rows"] if (r["backbone"], r["seed"]) != ("efficientnet_lite0", 1)]
    (tmp_path / "some.json").write_text(json.dumps(record))
    md = reproduce.run(
        reproduce.load_config_dict({**two, "workdir": str(tmp_path / "z")}), reuse=tmp_path / "some.json"
    )
    assert "**Reused:** 2 of these runs' numbers" in md.read_text()
    assert "2 of them were taken unchecked" in md.read_text()  # MobileNetV2's two seeds


def test_resuming_from_the_studys_own_partial_tables_never_shrinks_them(tmp_path, monkeypatch):
    """--reuse NAME.partial.json: the tables written during the run replace that very file, so the checks write
    none and every recorded run is taken before any new run trains; a kill at the first new run leaves all of them."""
    trained = fake_steps(monkeypatch)
    recorded = reproduce.run(_two_backbone_study(tmp_path, "first", [0, 1])).with_suffix(".json")
    partial = recorded.with_name("x.partial.json")
    recorded.rename(partial)
    fake_train = reproduce.train.main

    def killed_at_seed2(argv):
        if argv[argv.index("--seed") + 1] == "2":
            raise KeyboardInterrupt
        fake_train(argv)

    monkeypatch.setattr(reproduce.train, "main", killed_at_seed2)
    before = len(trained)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(_two_backbone_study(tmp_path, "second", [0, 1, 2]), reuse=partial)
    assert trained[before:] == [("mobilenet_v2-baseline", 0), ("efficientnet_lite0-baseline", 0)]  # the checks
    assert len(json.loads(partial.read_text())["rows"]) == 8  # the two checks and the six runs taken

"""The table runner end to end on a tiny temporary dataset, then a rerun that must skip every finished step."""

import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import reproduce  # noqa: E402

from primary_mask.demo.synthetic_face import face_landmarks  # noqa: E402


def test_smoke_config_runs_and_resumes(tmp_path, capsys):
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for label in ("real", "fake"):
            (data / split / label).mkdir(parents=True)
            for i in range(4):
                cv2.imwrite(str(data / split / label / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), np.uint8))
                if split == "train":  # landmark files for the Landmark variant, as primary-mask landmarks names them
                    (data / "landmarks" / label).mkdir(parents=True, exist_ok=True)
                    np.save(data / "landmarks" / label / f"{i}.png.npy", face_landmarks(40))
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

"""Two-step smoke runs of the example scripts on a tiny temporary dataset."""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import evaluate  # noqa: E402
import train  # noqa: E402
import train_zoo  # noqa: E402

from primary_mask import PrimaryMapStore  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for label in ("real", "fake"):
            for i in range(6):
                img = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
                if label == "fake":
                    img[10:30, 10:30] = 255
                (root / split / label).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / split / label / f"{i}.png"), img)
    return root


@pytest.fixture(scope="module")
def store(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("zoo")
    maps = train_zoo.main(
        [
            "--train",
            str(data / "train"),
            "--val",
            str(data / "val"),
            "--out",
            str(out),
            "--zoo",
            "efficientnet_lite0",
            "mobilenet_v2",
            "--size",
            "32",
            "--cam-size",
            "48",
            "--cam",
            "gradcam",
            "--tau1",
            "0.3",
            "--tau2",
            "0.1",
            "--band-value",
            "max",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--map-size",
            "16",
            "--workers",
            "0",
            "--",
            "--max-steps",
            "2",
            "--quiet",
        ]
    )
    return maps


COMMON = ["--size", "32", "--epochs", "1", "--batch-size", "4", "--workers", "0", "--max-steps", "2", "--quiet"]


def run_train(data, out, *extra):
    return train.main(
        [
            "--train",
            str(data / "train"),
            "--val",
            str(data / "val"),
            "--backbone",
            "mobilenet_v2",
            "--out",
            str(out),
            *COMMON,
            *extra,
        ]
    )


def test_train_zoo_bakes_a_store_for_the_training_set(store):
    s = PrimaryMapStore(store)
    assert len(s) == 12 and s.size == 16
    assert [m["name"] for m in s.provenance["settings"]["models"]] == ["efficientnet_lite0", "torchvision.mobilenet_v2"]
    settings = s.provenance["settings"]
    assert settings["input_size"] == 48  # --cam-size, not the training --size 32
    # the CAM and fusion flags reach bake (the paper's settings here, not bake's defaults)
    assert (settings["cam"], settings["tau1"], settings["tau2"], settings["band_value"]) == ("gradcam", 0.3, 0.1, "max")


def test_train_zoo_defaults_are_the_measured_recipe():
    """docs/results.md's recipe: EfficientNet-Lite0 + MobileNetV2, 3 epochs at 128 px, CAMs at bake's 256 px."""
    import argparse

    seen = {}

    def stop(self, args=None, namespace=None):
        seen.update(vars(parse(self, args, namespace)))
        raise SystemExit(0)

    parse = argparse.ArgumentParser.parse_args
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(argparse.ArgumentParser, "parse_args", stop)
        with pytest.raises(SystemExit):
            train_zoo.main(["--train", "t", "--val", "v", "--out", "o"])
    assert seen["zoo"] == ["efficientnet_lite0", "mobilenet_v2"]
    assert (seen["size"], seen["epochs"], seen["cam_size"]) == (128, 3, 256)
    assert seen["cam"] is seen["tau1"] is seen["tau2"] is seen["band_value"] is None  # bake's own defaults apply
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "EfficientNet-Lite0 and MobileNetV2 trained at 128 px (3 epochs;" in readme  # what the README promises
    assert "CAMs at 256 px (`--cam-size`)" in readme
    from primary_mask.cli import build_parser

    bake_defaults = build_parser().parse_args(["bake", "--images", "i", "--list", "l", "--out", "o", "--model", "m"])
    assert seen["cam_size"] == bake_defaults.input_size


def test_train_without_prle_then_evaluate(data, tmp_path, capsys):
    result = run_train(data, tmp_path / "base")
    assert result["erased_share"] == 0 and 0 <= result["val"]["frame"]["auc"] <= 1
    lines = [json.loads(line) for line in (tmp_path / "base" / "log.jsonl").read_text().splitlines()]
    assert [r["event"] for r in lines] == ["start", "epoch"]
    # how long the epoch took: positive, and within the time between the run's start and the epoch's record
    assert 0 < lines[1]["seconds"] <= lines[1]["time"] - lines[0]["time"] + 0.5
    reports = evaluate.main(
        [
            "--checkpoint",
            str(tmp_path / "base" / "best.pt"),
            "--test",
            f"VAL={data / 'val'}",
            "--test",
            f"TRAIN={data / 'train'}",
            "--workers",
            "0",
            "--out",
            str(tmp_path / "eval"),
            "--quiet",
        ]
    )
    assert set(reports) == {"VAL", "TRAIN"}
    assert capsys.readouterr().out.count("starts from random initialisation") == 1  # training only, not evaluation
    md = (tmp_path / "eval" / "results.md").read_text()
    assert "| VAL ACC | VAL AUC | TRAIN ACC | TRAIN AUC | AVG ACC | AVG AUC |" in md


@pytest.fixture(scope="module")
def centre_store(data, tmp_path_factory):
    """A map per training image with attention on a centre square (the zoo's maps may be empty this early)."""
    from primary_mask import PrimaryMapWriter
    from primary_mask.data import list_folder

    path = tmp_path_factory.mktemp("centre") / "store"
    keys = [it.key for it in list_folder(data / "train")]
    maps = torch.zeros(len(keys), 8, 8)
    maps[:, 2:6, 2:6] = 1.0
    with PrimaryMapWriter(path, size=8) as w:
        w.add(keys, maps)
    return path


@pytest.mark.parametrize("mode", ["loader", "gpu"])
def test_train_with_prle(data, centre_store, tmp_path, mode):
    prle = ["--maps", str(centre_store), "--erase-on", mode]
    result = run_train(
        data, tmp_path / mode, *prle, "--p", "1.0", "--alpha-range", "0.5", "1.0", "--gamma", "0.5", "--fill", "uniform"
    )
    assert result["erased_share"] == 1.0  # p = 1 and non-empty maps: every training sample erased
    half = run_train(data, tmp_path / f"{mode}-half", *prle, "--p", "0.5", "--max-steps", "3", "--batch-size", "4")
    assert 0.0 < half["erased_share"] < 1.0


def test_resume_gives_the_uninterrupted_run(data, centre_store, tmp_path):
    prle = ["--maps", str(centre_store), "--p", "0.5"]  # erase draws must resume too
    two = ["--epochs", "2"]
    run_train(data, tmp_path / "straight", *prle, *two)
    run_train(data, tmp_path / "r", *prle)  # one epoch, then "killed"
    result = run_train(data, tmp_path / "r", *prle, *two, "--resume")
    assert result["epoch"] == 1 and result["step"] == 4
    resumed = torch.load(tmp_path / "r" / "last.pt", weights_only=True)["model"]
    straight = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_train_with_landmark_masks(data, tmp_path):
    from primary_mask.data import list_folder
    from primary_mask.demo.synthetic_face import face_landmarks

    folder = tmp_path / "landmarks"
    keys = [it.key for it in list_folder(data / "train")]
    for key in keys[:-1]:  # the last training image has none
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{key}.npy", face_landmarks(40))
    lm = ["--mask", "landmark", "--landmarks", str(folder), "--p", "1.0"]
    with pytest.raises(SystemExit, match=f"1 of 12 training images have no entry in the landmark folder.*{keys[-1]}"):
        run_train(data, tmp_path / "lm-error", *lm)
    result = run_train(data, tmp_path / "lm", *lm, "--missing-maps", "skip", "--max-steps", "3")
    assert 10 / 12 <= result["erased_share"] < 1.0  # 12 samples, one of them never erased
    with pytest.raises(SystemExit, match="takes no --maps"):
        run_train(data, tmp_path / "x", *lm, "--maps", str(folder))
    with pytest.raises(SystemExit, match="only read with --mask landmark"):
        run_train(data, tmp_path / "y", "--landmarks", str(folder))


def test_missing_maps_are_reported(data, tmp_path):
    empty = tmp_path / "store"
    from primary_mask import PrimaryMapWriter

    with PrimaryMapWriter(empty, size=8) as w:
        w.add(["real/0.png"], torch.zeros(1, 8, 8))
    with pytest.raises(SystemExit, match="11 of 12 training images have no entry in the map store"):
        run_train(data, tmp_path / "m", "--maps", str(empty))
    result = run_train(data, tmp_path / "m", "--maps", str(empty), "--missing-maps", "skip", "--p", "1.0")
    assert result["erased_share"] == 0  # no map: never erased (the one map is all zero)


def test_one_class_test_set_says_auc_is_undefined(data, tmp_path, capsys):
    import shutil

    run_train(data, tmp_path / "one")
    only_fakes = tmp_path / "only_fakes"
    shutil.copytree(data / "val" / "fake", only_fakes / "fake")
    evaluate.main(
        [
            "--checkpoint",
            str(tmp_path / "one" / "best.pt"),
            "--test",
            f"FAKES={only_fakes}",
            "--workers",
            "0",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert "AUC, AP and EER are undefined" in out and "n/a" in out
    with pytest.raises(SystemExit, match="6 images have no label"):
        evaluate.main(["--checkpoint", str(tmp_path / "one" / "best.pt"), "--test", f"X={only_fakes / 'fake'}"])


def test_ddp_two_processes_on_cpu(data, centre_store, tmp_path):
    import subprocess

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        "29533",
        str(ROOT / "examples" / "train.py"),
        "--train",
        str(data / "train"),
        "--val",
        str(data / "val"),
        "--backbone",
        "mobilenet_v2",
        "--out",
        str(tmp_path / "ddp"),
        "--maps",
        str(centre_store),
        "--device",
        "cpu",
        *COMMON,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["event"] == "epoch"]
    assert len(epochs) == 1 and (tmp_path / "ddp" / "last.pt").exists()  # rank 0 alone logs and saves


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Drawn real faces with landmark files, for the pseudo: spec."""
    from primary_mask.demo.synthetic_face import draw_face, face_landmarks

    root = tmp_path_factory.mktemp("faces")
    for i in range(12):
        (root / "img").mkdir(exist_ok=True)
        (root / "lm").mkdir(exist_ok=True)
        cv2.imwrite(str(root / "img" / f"{i}.png"), cv2.cvtColor(draw_face(64, i), cv2.COLOR_RGB2BGR))
        np.save(root / "lm" / f"{i}.png.npy", face_landmarks(64))
    return root


def test_training_on_pseudo_fakes_with_prle_on_top(faces, tmp_path):
    spec = f"pseudo:{faces / 'img'}?landmarks={faces / 'lm'}&val_share=0.25"
    maps = train_zoo.main(
        [
            "--train",
            spec + "&split=train",
            "--val",
            spec + "&split=val",
            "--out",
            str(tmp_path / "zoo"),
            "--zoo",
            "mobilenet_v2",
            "--size",
            "32",
            "--cam-size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--map-size",
            "8",
            "--workers",
            "0",
            "--",
            "--max-steps",
            "1",
            "--quiet",
        ]
    )
    from primary_mask import PrimaryMapStore

    store = PrimaryMapStore(maps)
    rows = (tmp_path / "zoo" / "train-list.csv").read_text().splitlines()[1:]
    assert len(store) == len(rows) and all(r.split(",")[1] == "1" for r in rows)  # real faces, fake target
    result = train.main(
        [
            "--train",
            spec + "&split=train",
            "--val",
            spec + "&split=val",
            "--backbone",
            "mobilenet_v2",
            "--out",
            str(tmp_path / "det"),
            "--maps",
            str(maps),
            "--missing-maps",
            "skip",
            *COMMON,
        ]
    )
    assert result["val"]["frame"]["n"] == 2 * sum(1 for _ in (faces / "img").glob("*.png")) - 2 * len(rows)


def test_an_interrupted_zoo_member_resumes_instead_of_being_baked_half_trained(data, tmp_path):
    """best.pt appears after the first epoch: a member stopped after epoch 0 of 2 must train epoch 1 on the rerun
    (from its last.pt), not be taken as trained."""
    out = tmp_path / "zoo"
    common = ["--size", "32", "--batch-size", "4", "--workers", "0"]
    train.main(
        ["--train", str(data / "train"), "--val", str(data / "val"), "--backbone", "mobilenet_v2"]
        + ["--out", str(out / "mobilenet_v2"), "--epochs", "1", *common]
    )  # what an interrupted 2-epoch member leaves: epoch 0 done, best.pt and last.pt written, no DONE
    assert (out / "mobilenet_v2" / "best.pt").exists() and not (out / "mobilenet_v2" / "DONE").exists()
    zoo = ["--train", str(data / "train"), "--val", str(data / "val"), "--out", str(out), "--zoo", "mobilenet_v2"]
    train_zoo.main(zoo + ["--epochs", "2", "--map-size", "8", "--no-bake", *common, "--", "--quiet"])
    log = [json.loads(line) for line in (out / "mobilenet_v2" / "log.jsonl").open()]
    assert [r["epoch"] for r in log if r.get("event") == "epoch"] == [0, 1]
    assert (out / "mobilenet_v2" / "DONE").exists()
    before = (out / "mobilenet_v2" / "log.jsonl").read_text()
    train_zoo.main(zoo + ["--epochs", "2", "--map-size", "8", "--no-bake", *common, "--", "--quiet"])
    assert (out / "mobilenet_v2" / "log.jsonl").read_text() == before  # a finished member is not trained again
    member = out / "mobilenet_v2"

    def saved(name):
        return torch.load(member / name, map_location="cpu", weights_only=True)

    # a best.pt unlike last.pt (zeroed weights), so that the two choices can be told apart
    best = saved("best.pt")
    torch.save({**best, "model": {k: torch.zeros_like(v) for k, v in best["model"].items()}}, member / "best.pt")
    bake_free = zoo + ["--epochs", "2", "--map-size", "8", "--no-bake", *common]
    train_zoo.main(bake_free + ["--weights", "last"])
    last = saved("last.pt")
    assert last["epoch"] == 1
    for key, value in last["model"].items():
        assert torch.equal(saved("weights.pth")[key], value), key
    train_zoo.main(bake_free)  # the default: best.pt
    assert all(not v.any() for v in saved("weights.pth").values() if v.is_floating_point())


def test_map_recipe_scores_members_and_fusions_and_fuses_cached_members(data, tmp_path):
    """examples/map_recipe.py end to end on tiny data with a random-weights model: every member's CAM row, the
    fused rows and the Gaussian reference; a zoo of one cache twice fuses (mean of equal maps) to the member alone."""
    import map_recipe

    from primary_mask.quality.manipulation import mask_path

    (tmp_path / "list.csv").write_text("path,label\n" + "".join(f"fake/{i}.png,1\nreal/{i}.png,0\n" for i in range(6)))
    box = np.zeros((40, 40), np.uint8)
    box[10:30, 10:30] = 255  # where the tiny fakes differ from the reals
    for i in range(6):
        key = f"train/fake/{i}.png"
        mask_path(tmp_path / "masks", key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(mask_path(tmp_path / "masks", key)), box)
    common = ["--images", str(data / "train"), "--list", str(tmp_path / "list.csv"), "--masks", str(tmp_path / "masks")]
    common += ["--mask-prefix", "train/", "--input-size", "32", "--size", "8"]
    torch.manual_seed(0)
    result = map_recipe.main(
        common
        + ["--model", "torchvision.mobilenet_v2", "--cache", str(tmp_path / "c.pt"), "--out", str(tmp_path / "r.json")]
        + ["--fusion", "average:0.0", "average:0.99"]
    )
    rows = {r["source"]: r for r in result["rows"]}
    assert set(rows) == {"mobilenet_v2 CAM", "fused average:0.0", "fused average:0.99", "centred Gaussian"}
    assert rows["mobilenet_v2 CAM"]["maps"] == 12 and rows["mobilenet_v2 CAM"]["masked"] == 6
    assert rows["fused average:0.99"]["coverage"] <= rows["fused average:0.0"]["coverage"] <= 1
    assert json.loads((tmp_path / "r.json").read_text())["rows"] == result["rows"]
    twice = map_recipe.main(
        common + ["--from-caches", str(tmp_path / "c.pt"), str(tmp_path / "c.pt")] + ["--fusion", "average:0.0"]
    )
    fused = next(r for r in twice["rows"] if r["source"] == "fused average:0.0")
    assert fused["coverage"] == pytest.approx(rows["fused average:0.0"]["coverage"])
    assert fused["auc"] == pytest.approx(rows["fused average:0.0"]["auc"])
    other = tmp_path / "other.pt"
    cached = torch.load(tmp_path / "c.pt")
    torch.save({"cams": cached["cams"], "keys": cached["keys"][::-1]}, other)
    with pytest.raises(SystemExit, match="different images"):
        map_recipe.main(common + ["--from-caches", str(tmp_path / "c.pt"), str(other)])
    import plot_map_recipes

    plot_map_recipes.main([f"{tmp_path / 'r.json'}:average:0.0", "--out", str(tmp_path / "f.png")])
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert plot_map_recipes.label("e3", "fused neighboring:0.5:0.3:0.15") == "e3: nb:0.5:0.3:0.15"


def test_train_with_paired_maps_erases_reals_with_their_fakes_maps_and_logs_the_leak(data, tmp_path, capsys):
    """--pairs (issue #26): a real takes the map of its fake; the leak of the erase is printed and logged."""
    from primary_mask import PrimaryMapWriter

    keys = [f"{label}/{i}.png" for label in ("real", "fake") for i in range(6)]
    maps = torch.zeros(12, 8, 8)
    for i in range(6):  # fakes: a 4x4 square, each at its own place; reals: no positive pixel of their own
        maps[6 + i, i // 3 * 4 : i // 3 * 4 + 4, i % 3 * 2 : i % 3 * 2 + 4] = 1.0
    with PrimaryMapWriter(tmp_path / "s", size=8) as w:
        w.add(keys, maps)
    prle = ["--maps", str(tmp_path / "s"), "--p", "1.0", "--alpha-range", "1.0", "1.0", "--batch-size", "12"]
    own = run_train(data, tmp_path / "own", *prle, "--max-steps", "1")
    assert own["erased_share"] == 0.5  # the reals' empty maps erase nothing
    (tmp_path / "pairs.csv").write_text("real,fake\n" + "".join(f"real/{i}.png,fake/{i}.png\n" for i in range(6)))
    capsys.readouterr()
    paired = run_train(data, tmp_path / "paired", *prle, "--max-steps", "1", "--pairs", str(tmp_path / "pairs.csv"))
    assert paired["erased_share"] == 1.0  # every real erased with its fake's square
    printed = capsys.readouterr().out
    assert "erase leak:" in printed and "paired maps: 6 of 6 reals take a fake's map" in printed
    logged = [json.loads(line) for line in (tmp_path / "paired" / "log.jsonl").read_text().splitlines()]
    assert [r for r in logged if r["event"] == "leak"][0]["auc"] < 0.7


@pytest.mark.parametrize("maps, mask", [("gradcam++", "primary"), ("fam", "primary"), ("fam", "rfm")])
def test_online_maps_at_every_step(data, tmp_path, maps, mask):
    """--online-maps ... --refresh step (RFM's schedule): the current model's maps of each batch, erased on the
    device; every sample erased with p = 1."""
    online = ["--online-maps", maps, "--mask", mask, "--p", "1.0", "--fill", "uniform"]
    result = run_train(data, tmp_path / maps, *online, "--size", "64")  # 64 px: a 2x2 CAM grid, not a constant
    assert result["erased_share"] == 1.0


def test_online_refresh_every_epoch_warms_up_bakes_and_resumes(data, tmp_path, capsys):
    """--refresh epoch:1 (self-PRLE): epoch 0 is a warm-up without erasing; at epoch 1 the model's CAMs are baked
    with the library's bake job and erased in the loader; a run resumed at epoch 2 reads the epoch-1 store again and
    refreshes at epoch 2 (a killed refresh resumes its store: the weights are the same bytes)."""
    online = ["--online-maps", "gradcam", "--refresh", "epoch:1", "--p", "1.0", "--size", "64"]
    run_train(data, tmp_path / "r", *online, "--epochs", "2")
    records = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["event"] == "epoch"]
    refreshes = [r for r in records if r["event"] == "refresh"]
    assert epochs[0]["erased_share"] == 0.0 and epochs[1]["erased_share"] > 0  # warm-up, then erased
    assert [r["epoch"] for r in refreshes] == [1] and refreshes[0]["maps"] == 12 and refreshes[0]["seconds"] >= 0
    store = PrimaryMapStore(tmp_path / "r" / "online" / "epoch1")
    assert store.provenance["settings"]["cam"] == "gradcam" and store.provenance["settings"]["input_size"] == 64
    assert "warm-up" in capsys.readouterr().out
    weights = (tmp_path / "r" / "online" / "epoch1.pth").read_bytes()
    (tmp_path / "r" / "online" / "epoch1.pth").unlink()  # a refresh killed before its bake: rewritten the same
    resumed = run_train(data, tmp_path / "r", *online, "--epochs", "3", "--resume")
    assert resumed["epoch"] == 2 and resumed["erased_share"] > 0
    assert [json.loads(x)["epoch"] for x in (tmp_path / "r" / "log.jsonl").read_text().splitlines()
            if json.loads(x)["event"] == "refresh"] == [1, 2]  # fmt: skip
    assert (tmp_path / "r" / "online" / "epoch2" / "store.json").exists()
    assert len(weights) > 0


def test_online_maps_are_refused_where_they_cannot_work(data, tmp_path):
    with pytest.raises(SystemExit, match="takes no --maps"):
        run_train(data, tmp_path / "a", "--online-maps", "fam", "--maps", str(tmp_path))
    with pytest.raises(SystemExit, match="--mask rfm places RFM's boxes"):
        run_train(data, tmp_path / "b", "--mask", "rfm")
    with pytest.raises(SystemExit, match="needs --online-maps gradcam or gradcam\\+\\+"):
        run_train(data, tmp_path / "c", "--online-maps", "fam", "--refresh", "epoch:2")
    with pytest.raises(SystemExit, match="--refresh 'epoch:0'"):
        run_train(data, tmp_path / "d", "--online-maps", "gradcam", "--refresh", "epoch:0")


def test_online_refresh_under_torchrun_bakes_one_shard_per_rank(data, tmp_path):
    """--refresh epoch:1 with two processes: each rank bakes its slice into the epoch's store, a barrier, then both
    read the whole store."""
    import subprocess

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29547",
           str(ROOT / "examples" / "train.py"), "--train", str(data / "train"), "--val", str(data / "val"),
           "--backbone", "mobilenet_v2", "--out", str(tmp_path / "ddp"), "--device", "cpu", *COMMON, "--size", "64",
           "--epochs", "2", "--online-maps", "gradcam", "--refresh", "epoch:1"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = PrimaryMapStore(tmp_path / "ddp" / "online" / "epoch1")
    assert len(store) == 12  # both ranks' slices, in the index rank 0 consolidated
    assert [r["epoch"] for r in map(json.loads, (tmp_path / "ddp" / "log.jsonl").read_text().splitlines())
            if r["event"] == "refresh"] == [1]  # fmt: skip

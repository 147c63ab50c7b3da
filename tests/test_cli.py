"""The primary-mask CLI end to end on a temporary image folder with tiny random-initialised timm models."""

import json
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest
import timm
import torch

from primary_mask import PrimaryMapStore, StoreError
from primary_mask.cli import main
from primary_mask.data.image_list import list_folder, read_deepfakebench_json, read_list_file


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in ("real", "fake"):
        for i in range(5):
            (root / "train" / label).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "train" / label / f"v{i}.jpg"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    return root


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    paths = []
    for name in ("resnet10t", "efficientnet_b0"):
        torch.manual_seed(0)
        path = d / f"{name}.pth"
        torch.save(timm.create_model(name, pretrained=False, num_classes=1).state_dict(), path)
        paths.append(f"{name}:{path}")
    return paths


def bake_args(root, out, models, *extra):
    args = [
        "bake",
        "--images",
        str(root),
        "--out",
        str(out),
        "--size",
        "16",
        "--input-size",
        "32",
        "--batch-size",
        "4",
        "--workers",
        "0",
        "--quiet",
    ]
    for m in models:
        args += ["--model", m]
    return args + list(extra)


def test_bake_then_resume_then_inspect_stats_verify(image_root, checkpoints, tmp_path, capsys):
    out = tmp_path / "store"
    assert main(bake_args(image_root, out, checkpoints)) == 0
    store = PrimaryMapStore(out)
    assert sorted(store.keys()) == sorted(f"train/{lab}/v{i}.jpg" for lab in ("real", "fake") for i in range(5))
    assert store.provenance["settings"]["models"][0]["sha256"]
    assert main(bake_args(image_root, out, checkpoints)) == 0
    assert "0 maps baked, 10 already present" in capsys.readouterr().out

    assert (
        main(["inspect", str(out), "--images", str(image_root), "--out", str(tmp_path / "grid.png"), "--n", "3"]) == 0
    )
    assert cv2.imread(str(tmp_path / "grid.png")).shape[0] > 3 * 100
    assert main(["stats", str(out), "--png", str(tmp_path / "stats.png")]) == 0
    printed = capsys.readouterr().out
    assert "train/fake" in printed and "train/real" in printed and (tmp_path / "stats.png").exists()

    assert main(["verify", str(out)]) == 0
    shard = next((out / "shards").glob("*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:-5])
    assert main(["verify", str(out)]) == 1
    assert str(shard) in capsys.readouterr().err


def test_settings_mismatch_and_bad_images(image_root, checkpoints, tmp_path, capsys):
    out = tmp_path / "store"
    assert main(bake_args(image_root, out, checkpoints[:1])) == 0
    assert main(bake_args(image_root, out, checkpoints[:1], "--tau1", "0.6")) == 2
    assert "other settings" in capsys.readouterr().err

    bad_root = tmp_path / "bad"
    (bad_root / "fake").mkdir(parents=True)
    (bad_root / "fake" / "broken.png").write_bytes(b"not an image")
    cv2.imwrite(str(bad_root / "fake" / "ok.png"), np.zeros((20, 20, 3), np.uint8))
    assert main(bake_args(bad_root, tmp_path / "s2", checkpoints[:1])) == 2
    assert "broken.png: cannot be decoded" in capsys.readouterr().err
    assert main(bake_args(bad_root, tmp_path / "s3", checkpoints[:1], "--skip-bad")) == 0
    assert "broken.png" in (tmp_path / "s3" / "bad-images-main.txt").read_text()
    assert list(PrimaryMapStore(tmp_path / "s3").keys()) == ["fake/ok.png"]


def test_job_array_shards_then_merge(image_root, checkpoints, tmp_path):
    for i in range(3):
        assert main(bake_args(image_root, tmp_path / f"part{i}", checkpoints[:1], "--shard", f"{i}/3")) == 0
    sizes = [len(PrimaryMapStore(tmp_path / f"part{i}")) for i in range(3)]
    assert sizes == [4, 3, 3]
    assert main(["merge", "--out", str(tmp_path / "all")] + [str(tmp_path / f"part{i}") for i in range(3)]) == 0
    merged = PrimaryMapStore(tmp_path / "all")
    assert len(merged) == 10 and main(["verify", str(tmp_path / "all")]) == 0
    whole = tmp_path / "whole"
    assert main(bake_args(image_root, whole, checkpoints[:1])) == 0
    for key in merged.keys():  # same maps as one uninterrupted bake
        assert torch.allclose(merged[key], PrimaryMapStore(whole)[key], atol=1 / 255)


def free_port() -> int:
    """A TCP port free on this machine now (a fixed one can be taken by another job)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_torchrun_two_ranks(image_root, checkpoints, tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(free_port()),
        "-m",
        "primary_mask.cli",
    ] + bake_args(image_root, out, checkpoints[:1], "--device", "cpu")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "merged index: 10 maps" in proc.stdout
    assert [p.name for p in (out / "index").glob("*.json")] == ["merged.json"]
    assert len(PrimaryMapStore(out)) == 10


def test_image_lists(image_root, tmp_path):
    assert [it.label for it in list_folder(image_root)].count(1) == 5
    lst = tmp_path / "list.csv"
    lst.write_text("path,label\ntrain/real/v0.jpg,fake\ntrain/fake/v1.jpg,\n")
    items = read_list_file(image_root, lst)
    assert [(it.key, it.label) for it in items] == [("train/real/v0.jpg", 1), ("train/fake/v1.jpg", 1)]
    lst.write_text("train/real/v0.jpg,maybe\n")
    with pytest.raises(ValueError, match="list.csv:1: label must be"):
        read_list_file(image_root, lst)
    dfb = tmp_path / "FF.json"
    dfb.write_text(
        json.dumps(
            {
                "FF": {
                    "FF-real": {
                        "train": {
                            "c23": {"000": {"label": "FF-real", "frames": [str(image_root / "train/real/v0.jpg")]}}
                        }
                    },
                    "FF-DF": {
                        "train": {
                            "c23": {"000_003": {"label": "FF-DF", "frames": ["train/fake/v0.jpg", "train/fake/v1.jpg"]}}
                        },
                        "test": {},
                    },
                }
            }
        )
    )
    items = read_deepfakebench_json(image_root, dfb)
    assert [(it.key, it.label) for it in items] == [
        ("train/real/v0.jpg", 0),
        ("train/fake/v0.jpg", 1),
        ("train/fake/v1.jpg", 1),
    ]
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        list_folder(tmp_path / "nothing")


def test_inspect_without_faces_reproduces_no_image_pixel(tmp_path):
    from primary_mask import PrimaryMapWriter

    root = tmp_path / "img"
    root.mkdir()
    for i in range(3):
        cv2.imwrite(str(root / f"{i}.png"), np.full((32, 32, 3), (255, 0, 255), np.uint8))  # magenta: not in JET
    with PrimaryMapWriter(tmp_path / "s", size=8) as w:
        w.add([f"{i}.png" for i in range(3)], torch.rand(3, 8, 8))

    def magenta(path):
        g = cv2.imread(str(path))
        return int(((g[..., 0] > 200) & (g[..., 1] < 60) & (g[..., 2] > 200)).sum())

    assert main(["inspect", str(tmp_path / "s"), "--images", str(root), "--out", str(tmp_path / "a.png")]) == 0
    assert (
        main(["inspect", str(tmp_path / "s"), "--images", str(root), "--out", str(tmp_path / "b.png"), "--no-faces"])
        == 0
    )
    assert magenta(tmp_path / "a.png") > 1000 and magenta(tmp_path / "b.png") == 0
    # columns of 192-px tiles with 4-px gaps: image, map and 4 alphas with faces; no image column without them;
    # the row labels' strip on the left and the colour bar on the right
    from primary_mask.figures.tiles import BAR_WIDTH, LABEL_WIDTH

    widths = [cv2.imread(str(tmp_path / name)).shape[1] - LABEL_WIDTH - BAR_WIDTH for name in ("a.png", "b.png")]
    assert widths == [6 * (192 + 4) + 4, 5 * (192 + 4) + 4]


def test_inspect_labels_rows_prints_the_keys_and_draws_a_colour_bar(tmp_path, capsys):
    from primary_mask import PrimaryMapWriter
    from primary_mask.figures.tiles import BAR_WIDTH, LABEL_WIDTH

    with PrimaryMapWriter(tmp_path / "s", size=8) as w:
        w.add(["fake/0.png", "real/1.png", "real/2.png"], torch.rand(3, 8, 8))
    assert main(["inspect", str(tmp_path / "s"), "--images", str(tmp_path), "--out", str(tmp_path / "g.png"),
                 "--no-faces", "--n", "2", "--seed", "3"]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()[0]
    keys = printed.removeprefix("rows: ").split(", ")
    assert printed.startswith("rows: ") and len(keys) == 2 and set(keys) <= {"fake/0.png", "real/1.png", "real/2.png"}
    grid = cv2.cvtColor(cv2.imread(str(tmp_path / "g.png")), cv2.COLOR_BGR2RGB).astype(int)
    labels, bar = grid[30:, :LABEL_WIDTH], grid[40:-10, -BAR_WIDTH + 8 : -BAR_WIDTH + 18]
    assert (labels.sum(-1) < 200).sum() > 50  # text: the label and key of each row
    assert (
        bar[0, 0, 0] > 100 and bar[0, 0, 2] < 100 and bar[-1, 0, 2] > 100 and bar[-1, 0, 0] < 100
    )  # red top, blue bottom


def test_resume_compares_settings_field_by_field_and_checkpoints_by_sha256(image_root, checkpoints, tmp_path, capsys):
    out = tmp_path / "store"
    assert main(bake_args(image_root, out, checkpoints[:1], "--shard-size", "4")) == 0
    capsys.readouterr()
    assert main(bake_args(image_root, out, checkpoints[:1]) + ["--input-size", "48"]) == 2
    assert "first difference: input_size: the store has 32, this run has 48" in capsys.readouterr().err
    assert main(bake_args(image_root, out, checkpoints[:1], "--cam", "layercam")) == 2
    assert "first difference: cam: the store has 'gradcam++', this run has 'layercam'" in capsys.readouterr().err
    name, path = checkpoints[0].split(":")
    other = tmp_path / "elsewhere" / "same-weights.pth"
    other.parent.mkdir()
    other.write_bytes(open(path, "rb").read())
    assert main(bake_args(image_root, out, [f"{name}:{other}"])) == 0  # same sha256 under another path
    assert "0 maps baked, 10 already present" in capsys.readouterr().out
    torch.manual_seed(1)
    torch.save(timm.create_model(name, pretrained=False, num_classes=1).state_dict(), other)
    assert main(bake_args(image_root, out, [f"{name}:{other}"])) == 2
    assert "first difference: models[0].sha256" in capsys.readouterr().err


def test_deleted_shard_is_named_and_rebaked_by_the_same_command(image_root, checkpoints, tmp_path, capsys):
    out = tmp_path / "store"
    assert main(bake_args(image_root, out, checkpoints[:1], "--shard-size", "4")) == 0
    before = PrimaryMapStore(out)
    raw = {k: before.raw(k) for k in before.keys()}
    shard = sorted((out / "shards").glob("*.safetensors"))[1]
    lost = [k for k in before.keys() if before._index[k][0] == shard.name]
    shard.unlink()
    with pytest.raises(StoreError, match=f"shard {shard} is missing.*rerun the same `primary-mask bake`"):
        PrimaryMapStore(out)[lost[0]]
    assert main(["verify", str(out)]) == 1
    capsys.readouterr()
    assert main(bake_args(image_root, out, checkpoints[:1], "--shard-size", "4")) == 0
    printed = capsys.readouterr().out
    assert f"{len(lost)} maps of missing or damaged shards ({shard.name}) are rebaked" in printed
    assert f"{len(lost)} maps baked, {10 - len(lost)} already present" in printed
    assert main(["verify", str(out)]) == 0
    after = PrimaryMapStore(out)
    assert sorted(after.keys()) == sorted(raw) and all((after.raw(k) == raw[k]).all() for k in raw)


def test_no_random_weights_and_no_unlabeled_bake_unless_asked(image_root, checkpoints, tmp_path, capsys):
    assert main(bake_args(image_root, tmp_path / "r", ["resnet10t"])) == 2
    assert "--model resnet10t has no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert main(bake_args(image_root, tmp_path / "r", ["resnet10t"], "--allow-random-weights")) == 0

    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(2):
        cv2.imwrite(str(flat / f"{i}.png"), np.full((20, 20, 3), 50 * i, np.uint8))
    assert main(bake_args(flat, tmp_path / "u", checkpoints[:1])) == 2
    err = capsys.readouterr().err
    assert f"2 images have no label (e.g. {flat / '0.png'}" in err and "--unknown-labels predicted-class" in err
    assert not (tmp_path / "u").exists()  # refused before the store is made, so the corrected command fits
    assert main(bake_args(flat, tmp_path / "u", checkpoints[:1], "--unknown-labels", "predicted-class")) == 0
    store = PrimaryMapStore(tmp_path / "u")
    assert len(store) == 2 and store.provenance["settings"]["unknown_labels"] == "predicted-class"
    assert store.image_size("0.png") == (20, 20)

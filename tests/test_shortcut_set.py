"""The shortcut benchmark (issue #23): the local artifacts against hand-computed pixels, the set's splits, traces,
masks, landmarks and pairs against what each is defined to be, written once, byte-identical, refused with other
settings."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from primary_mask.cli import main
from primary_mask.data import DeepfakeImageDataset, items_from_spec
from primary_mask.face_geometry import PARTS_68, part_box
from primary_mask.quality.manipulation import MaskFolder, read_pairs
from primary_mask.quality.oracle import oracle_maps
from primary_mask.synth.shortcut import SPLITS, add_shortcut, write_shortcut_set
from test_synth_set import faces, files

SMALL = {"n_train": 3, "n_val": 2, "n_test": 2, "size": 48, "progress": False}


def test_checker_is_a_plus_minus_checkerboard_inside_the_box_only():
    image = np.full((6, 8, 3), 100.0, np.float32)
    out = add_shortcut(image, (1, 2, 3, 4), "checker", 0.1)
    expected = image.copy()
    for y in range(1, 4):
        for x in range(2, 6):
            expected[y, x] = 100 + (25.5 if (x + y) % 2 == 0 else -25.5)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert add_shortcut(np.full((4, 4, 3), 250.0, np.float32), (0, 0, 4, 4), "checker", 0.1).max() == 255  # clipped


def test_upsample_replaces_each_2x2_block_by_its_mean_mixed_by_strength():
    region = np.arange(16, dtype=np.float32).reshape(4, 4)
    image = np.zeros((6, 6, 3), np.float32)
    image[1:5, 1:5] = region[..., None]
    block_means = np.repeat(np.repeat(np.array([[2.5, 4.5], [10.5, 12.5]]), 2, axis=0), 2, axis=1)  # by hand
    full = add_shortcut(image, (1, 1, 4, 4), "upsample", 1.0)
    np.testing.assert_allclose(full[1:5, 1:5, 0], block_means, atol=1e-4)
    half = add_shortcut(image, (1, 1, 4, 4), "upsample", 0.5)
    np.testing.assert_allclose(half[1:5, 1:5, 0], (region + block_means) / 2, atol=1e-4)
    assert (full[0] == 0).all() and (full[:, 0] == 0).all()  # outside the box untouched


def test_hue_turns_red_to_yellow_at_a_sixty_degree_turn():
    image = np.zeros((4, 4, 3), np.float32)
    image[..., 0] = 255  # pure red, hue 0
    out = add_shortcut(image, (0, 0, 2, 4), "hue", 60 / 180)
    np.testing.assert_allclose(out[:2].reshape(-1, 3), np.tile([255, 255, 0], (8, 1)), atol=1)
    assert (out[2:] == image[2:]).all()


def test_part_box_grows_about_the_centre_and_clips():
    pts = np.zeros((68, 2))
    pts[PARTS_68["nose"]] = [[10, 20], [14, 30], [12, 25]] * 3
    assert part_box(pts, (64, 64), "nose", 1.0) == (20, 10, 10, 4)  # x 10..14, y 20..30
    assert part_box(pts, (64, 64), "nose", 2.0) == (15, 8, 20, 8)  # half sides 4 and 10 about (12, 25)
    assert part_box(pts, (26, 64), "nose", 2.0) == (15, 8, 11, 8)  # clipped at the bottom
    with pytest.raises(ValueError, match="grow"):
        part_box(pts, (64, 64), "nose", 0)


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.int32)


def test_the_set_holds_what_each_split_is_defined_to_hold(tmp_path):
    images, landmarks = faces(tmp_path, n=8)
    out = tmp_path / "set"
    report = write_shortcut_set(images, landmarks, out, shortcut_strength=0.05, **SMALL)
    assert report.faces == {"train": 3, "val": 2, "test": 2}
    manifest = json.loads((out / "manifest.json").read_text())
    by_group: dict[str, set] = {}
    for face in manifest["faces"]:
        by_group.setdefault(face["group"], set()).add(face["key"])
    assert not (by_group["train"] & by_group["val"]) and not (by_group["test"] & (by_group["train"] | by_group["val"]))
    assert "7.jpg" not in set().union(*by_group.values())  # the face without landmarks is never drawn
    for split, (group, _) in SPLITS.items():
        ds = DeepfakeImageDataset(items_from_spec(str(out / split)))
        assert sorted(ds.labels) == [0] * len(by_group[group]) + [1] * len(by_group[group])
        assert {k.split("/", 1)[1].removesuffix(".png") for k in ds.keys} == by_group[group]

    amplitude = round(0.05 * 255)
    for face in manifest["faces"]:
        if face["group"] != "test":
            continue
        name = f"{face['key']}.png"
        real = _read(out / "test-both" / "real" / name)
        source = cv2.cvtColor(cv2.imread(str(images / face["key"])), cv2.COLOR_BGR2RGB)
        assert real.shape == (48, 48, 3)
        np.testing.assert_array_equal(real, cv2.resize(source, (48, 48), interpolation=cv2.INTER_AREA))
        top, left, h, w = face["shortcut_box"]
        inside = np.zeros((48, 48), bool)
        inside[top : top + h, left : left + w] = True
        ys, xs = np.mgrid[:48, :48]
        sign = np.where((ys + xs) % 2 == 0, 1, -1)
        shortcut = _read(out / "test-shortcut" / "fake" / name)
        expected = np.clip(real + (inside * sign * amplitude)[..., None], 0, 255)
        assert np.abs(shortcut - expected).max() <= 1  # the real plus the checkerboard in the box, nothing else
        general = _read(out / "test-general" / "fake" / name)
        both = _read(out / "test-both" / "fake" / name)
        assert (both[~inside] == general[~inside]).all() and not (general == real).all()
        expected_both = np.clip(general + (inside * sign * amplitude)[..., None], 0, 255)
        assert np.abs(both[inside] - expected_both[inside]).max() <= 1
        mask = MaskFolder(out / "masks" / "shortcut")[f"test-both/fake/{name}"]
        np.testing.assert_array_equal(mask, inside)
        assert f"test-general/fake/{name}" not in MaskFolder(out / "masks" / "shortcut")  # no shortcut there
        assert f"test-shortcut/fake/{name}" not in MaskFolder(out / "masks" / "blend")  # no blend there
        for kind in ("real", "fake"):
            points = np.load(out / "landmarks" / "test-both" / kind / f"{name}.npy")
            np.testing.assert_allclose(points, np.load(landmarks / f"{face['key']}.npy") * 48 / 64, atol=1e-4)

    pairs = read_pairs(out / "pairs.csv", split="train")
    assert len(pairs) == 3 and all(p.real.replace("/real/", "/fake/") == p.fake for p in pairs)
    maps, _, oracle = oracle_maps(out / "masks" / "shortcut", size=48, prefix="train/")
    assert oracle.fakes == oracle.reals == 3  # the Oracle row erases each fake's box on it and on its real
    for pair in pairs:
        fake, real = pair.fake.removeprefix("train/"), pair.real.removeprefix("train/")
        assert (maps[fake] == maps[real]).all() and maps[fake].sum() > 0


def test_general_strength_scales_the_blends_change(tmp_path):
    images, landmarks = faces(tmp_path, n=8)
    write_shortcut_set(images, landmarks, tmp_path / "full", **SMALL)
    write_shortcut_set(images, landmarks, tmp_path / "half", general_strength=0.5, **SMALL)
    for name in (p.name for p in (tmp_path / "full" / "test-general" / "fake").iterdir()):
        real = _read(tmp_path / "full" / "test-general" / "real" / name)
        full = _read(tmp_path / "full" / "test-general" / "fake" / name)
        half = _read(tmp_path / "half" / "test-general" / "fake" / name)
        assert np.abs(half - (real + full) / 2).max() <= 1.0


def test_written_once_byte_identical_and_other_settings_refused(tmp_path):
    images, landmarks = faces(tmp_path, n=8)
    a, b = tmp_path / "a", tmp_path / "b"
    write_shortcut_set(images, landmarks, a, seed=2, **SMALL)
    write_shortcut_set(images, landmarks, b, seed=2, **SMALL)
    assert files(a) == files(b)  # the manifest names the same folders of images and landmarks, so it agrees too
    before = {p: p.stat().st_mtime_ns for p in a.rglob("*")}
    assert write_shortcut_set(images, landmarks, a, seed=2, **SMALL).written == 0
    assert {p: p.stat().st_mtime_ns for p in a.rglob("*")} == before
    with pytest.raises(ValueError, match="shortcut.strength: the set has 0.03, this run has 0.05"):
        write_shortcut_set(images, landmarks, a, seed=2, shortcut_strength=0.05, **SMALL)
    with pytest.raises(ValueError, match="seed: the set has 2, this run has 3"):
        write_shortcut_set(images, landmarks, a, seed=3, **SMALL)
    lost = next((a / "train" / "fake").rglob("*.png"))
    lost.unlink()  # a lost file or an interrupted run: completed, byte-identical
    (a / "manifest.json").unlink()
    assert write_shortcut_set(images, landmarks, a, seed=2, **SMALL).written == 1
    assert files(a) == files(b)
    with pytest.raises(ValueError, match="only 7 images .* the set needs 8"):
        write_shortcut_set(images, landmarks, tmp_path / "big", **{**SMALL, "n_test": 3})
    for bad, match in (
        ({"shortcut": "blur"}, "shortcut must be one of"),
        ({"part": "ears"}, "part must be one of"),
        ({"shortcut_strength": 0.0}, "shortcut_strength"),
        ({"general_strength": 1.5}, "general_strength"),
        ({"n_val": 0}, "n_val 0"),
    ):
        with pytest.raises(ValueError, match=match):
            write_shortcut_set(images, landmarks, tmp_path / "bad", **{**SMALL, **bad})


def test_shortcut_set_command(tmp_path, capsys):
    images, landmarks = faces(tmp_path, n=8)
    args = ["shortcut-set", "--images", str(images), "--landmarks", str(landmarks), "--out", str(tmp_path / "s")]
    sizes = ["--n-train", "3", "--n-val", "2", "--n-test", "2", "--size", "48", "--quiet"]
    assert main([*args, *sizes, "--shortcut", "upsample", "--part", "mouth"]) == 0
    assert "7 faces (3 train, 2 val, 2 test) in 9 splits" in capsys.readouterr().out
    settings = json.loads((tmp_path / "s" / "manifest.json").read_text())["settings"]
    assert settings["shortcut"] == {"kind": "upsample", "strength": 0.03, "part": "mouth", "grow": 1.2}
    assert main([*args, *sizes, "--shortcut", "hue"]) == 2
    assert "shortcut.kind: the set has 'upsample', this run has 'hue'" in capsys.readouterr().err


def test_the_shortcut_demo_runs_its_three_rows_on_a_tiny_set(tmp_path):
    """examples/shortcut_demo.py end to end (tiny: drawn faces, random weights, one step per epoch)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import shortcut_demo

    images, landmarks = faces(tmp_path, n=13)
    argv = ["--images", str(images), "--landmarks", str(landmarks), "--out", str(tmp_path / "demo"), "--tiny"]
    table = shortcut_demo.main([*argv, "--faces", "6", "2", "4", "--size", "48", "--epochs", "1"])
    text = table.read_text()
    for row in ("| mobilenet_v2 |", "| mobilenet_v2 + PRLE |", "| mobilenet_v2 + Oracle |"):
        assert row in text
    assert "| both ACC | both AUC | general ACC | general AUC | shortcut ACC | shortcut AUC |" in text

"""The fixed pseudo-fake test set on procedural faces: seeded and byte-identical, written once, balanced, read
back as a plain folder test set; other settings into the same folder are refused."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from primary_mask.cli import main
from primary_mask.data import DeepfakeImageDataset, items_from_spec
from primary_mask.demo.synthetic_face import draw_face, face_landmarks
from primary_mask.synth import write_pseudo_fake_set


def faces(root: Path, n: int = 7, size: int = 64) -> tuple[Path, Path]:
    """n drawn faces under root/faces (sub/ holds two, to check nested keys) with landmarks for all but the last."""
    images, landmarks = root / "faces", root / "landmarks"
    for i in range(n):
        key = f"sub/{i}.jpg" if i < 2 else f"{i}.jpg"
        (images / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(images / key), cv2.cvtColor(draw_face(size, seed=i), cv2.COLOR_RGB2BGR))
        if i < n - 1:
            (landmarks / key).parent.mkdir(parents=True, exist_ok=True)
            np.save(landmarks / f"{key}.npy", face_landmarks(size))
    return images, landmarks


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_and_a_balanced_folder_set(tmp_path):
    images, landmarks = faces(tmp_path)
    report = write_pseudo_fake_set(images, landmarks, tmp_path / "a", n=4, seed=3, progress=False)
    assert report.per_synth == {"sbi": 2, "region": 2} and report.written == 8
    write_pseudo_fake_set(images, landmarks, tmp_path / "b", n=4, seed=3, progress=False)
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    images_a = {k: v for k, v in a.items() if k != "manifest.json"}
    assert len(images_a) == 8 and images_a == {k: v for k, v in b.items() if k != "manifest.json"}
    ds = DeepfakeImageDataset(items_from_spec(str(tmp_path / "a")))
    assert sorted(ds.labels) == [0] * 4 + [1] * 4
    assert "6.jpg" not in " ".join(ds.keys)  # the face without landmarks is never drawn
    for key in (k for k in images_a if k.startswith("real/")):  # reals are the faces as read, losslessly
        source = cv2.imread(str(images / key.removeprefix("real/").removesuffix(".png")))
        assert np.array_equal(cv2.imread(str(tmp_path / "a" / key)), source)
        fake = cv2.imread(str(tmp_path / "a" / key.replace("real/", "fake/", 1)))
        assert fake.shape == source.shape and not np.array_equal(fake, source)
    other = write_pseudo_fake_set(images, landmarks, tmp_path / "c", n=4, seed=4, progress=False)
    assert other.written == 8 and files(tmp_path / "c") != a  # another seed: other faces or other fakes


def test_a_rerun_is_a_no_op_and_other_settings_are_refused(tmp_path):
    images, landmarks = faces(tmp_path)
    out = tmp_path / "set"
    write_pseudo_fake_set(images, landmarks, out, n=4, seed=0, progress=False)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert write_pseudo_fake_set(images, landmarks, out, n=4, seed=0, progress=False).written == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    with pytest.raises(ValueError, match="n: the set has 4, this run has 5"):
        write_pseudo_fake_set(images, landmarks, out, n=5, seed=0, progress=False)
    with pytest.raises(ValueError, match="seed: the set has 0, this run has 1"):
        write_pseudo_fake_set(images, landmarks, out, n=4, seed=1, progress=False)
    with pytest.raises(ValueError, match="synths"):
        write_pseudo_fake_set(images, landmarks, out, n=4, seed=0, synths=["sbi"], progress=False)
    (out / "fake" / "0.jpg.png").unlink(missing_ok=True)
    next((out / "fake").rglob("*.png")).unlink()  # an interrupted run or a lost file: completed by a rerun
    assert write_pseudo_fake_set(images, landmarks, out, n=4, seed=0, progress=False).written > 0
    assert len(list(out.rglob("*.png"))) == 8
    with pytest.raises(ValueError, match="only 6 images .* have landmarks"):
        write_pseudo_fake_set(images, landmarks, tmp_path / "big", n=7, progress=False)


def test_synth_set_command(tmp_path, capsys):
    images, landmarks = faces(tmp_path)
    args = ["synth-set", "--images", str(images), "--landmarks", str(landmarks), "--out", str(tmp_path / "s")]
    assert main([*args, "--n", "3", "--synth", "region", "--quiet"]) == 0
    assert "3 real faces and 3 pseudo-fakes (3 region)" in capsys.readouterr().out
    assert main([*args, "--n", "2", "--synth", "region", "--quiet"]) == 2
    assert "n: the set has 3, this run has 2" in capsys.readouterr().err
    assert main([*args, "--n", "2", "--synth", "blur", "--quiet"]) == 2

"""Manipulation masks from real/fake pairs: the alignment and mask rules on synthetic pairs, the pairs file,
the `masks` and `score` commands end to end on a tiny synthetic set."""

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from primary_mask.cli import main
from primary_mask.quality import MaskFolder, manipulation_mask, read_pairs, write_masks

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "dfdc"


def textured(seed: int, size: int = 96) -> np.ndarray:
    """A smooth random RGB texture (like a background), uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (size // 8, size // 8, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def faked(real: np.ndarray, box=(30, 62, 34, 66), seed: int = 1) -> np.ndarray:
    """The real image with a changed patch (rows y0:y1, cols x0:x1) and +-2 levels of noise elsewhere."""
    rng = np.random.default_rng(seed)
    fake = np.clip(real.astype(np.int16) + rng.integers(-2, 3, real.shape), 0, 255).astype(np.uint8)
    y0, y1, x0, x1 = box
    fake[y0:y1, x0:x1] = textured(seed + 100, real.shape[0])[y0:y1, x0:x1] // 2 + 100
    return fake


def test_mask_covers_the_pasted_patch():
    real = textured(0)
    result = manipulation_mask(faked(real), real)
    assert result.aligned and result.reason == "" and result.shift == (0, 0) and result.border_diff <= 2
    patch = np.zeros(real.shape[:2], bool)
    patch[30:62, 34:66] = True
    changed = (
        np.abs(cv2.cvtColor(faked(real), cv2.COLOR_RGB2GRAY).astype(int) - cv2.cvtColor(real, cv2.COLOR_RGB2GRAY)) > 15
    )
    assert result.mask[patch & changed].mean() > 0.9  # the changed pixels of the patch are marked
    ring = cv2.dilate(patch.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert not result.mask[~ring].any()  # nothing beyond the blur's reach of the patch (sigma 2 px)
    assert result.mask.dtype == bool and result.mask.shape == real.shape[:2]


def test_isolated_pixel_changes_are_blurred_away():
    """Compression specks: single pixels off by 40 grey levels fall below 15 after the 2-px blur; a 7x7 block off
    by 40 does not."""
    real = textured(6)
    fake = real.copy()
    fake[20:80:12, 20:80:12] = np.clip(real[20:80:12, 20:80:12].astype(int) + 40, 0, 255).astype(np.uint8)
    fake[60:67, 40:47] = np.clip(real[60:67, 40:47].astype(int) + 40, 0, 255).astype(np.uint8)
    mask = manipulation_mask(fake, real).mask
    assert mask[63, 43] and mask[60:67, 40:47].mean() > 0.5
    assert not mask[:50].any()  # none of the specks above row 50
    assert manipulation_mask(fake, real, sigma=0).mask[20:50:12, 20:80:12].all()  # unblurred, each speck counts


def test_different_background_is_misaligned():
    result = manipulation_mask(textured(7), textured(8))
    assert not result.aligned and result.reason == "border" and result.border_diff > 6


def test_identical_pair_has_an_empty_mask():
    real = textured(3)
    result = manipulation_mask(real, real.copy())
    assert result.aligned and not result.mask.any() and result.border_diff == 0


@pytest.mark.parametrize("shift", [(1, 0), (0, 2), (-2, -1)])
def test_shifted_copy_is_misaligned(shift):
    real = textured(4)
    dx, dy = shift
    fake = np.roll(faked(real), (dy, dx), axis=(0, 1))
    result = manipulation_mask(fake, real)
    assert not result.aligned and result.mask is None


def test_shift_is_caught_where_the_median_border_difference_is_small():
    """A flat background with a few lines: shifted by one pixel, most border pixels still agree (median 0), but
    the lines match far better when shifted back."""
    real = np.full((96, 96), 120, np.uint8)
    real[:, 5::9] = 220  # a grid of thin lines every 9 px
    real[5::9, :] = 220
    fake = np.roll(real, 1, axis=1)
    result = manipulation_mask(fake, real)
    assert result.border_diff == 0 and not result.aligned and result.reason == "shift" and result.shift == (-1, 0)
    assert manipulation_mask(fake, real, max_shift=0).aligned  # the median test alone passes it


def test_size_dtype_and_parameter_errors():
    real = textured(5)
    assert manipulation_mask(real[:90], real).reason == "size"
    with pytest.raises(TypeError, match="uint8"):
        manipulation_mask(real.astype(np.float32), real)
    with pytest.raises(ValueError, match="max_shift"):
        manipulation_mask(real, real, max_shift=12, border=12)
    with pytest.raises(ValueError, match="too small"):
        manipulation_mask(real[:20, :20], real[:20, :20])


def test_read_pairs_layouts(tmp_path):
    f = tmp_path / "pairs.csv"
    f.write_text("split,real,fake\ntrain,a.jpg,b.jpg\nval,c.jpg,d.jpg\ntrain,x/r.png,y/f.png\n")
    pairs = read_pairs(f)
    assert [(p.real, p.fake) for p in pairs] == [
        ("train/real/a.jpg", "train/fake/b.jpg"),
        ("val/real/c.jpg", "val/fake/d.jpg"),
        ("x/r.png", "y/f.png"),
    ]
    assert [p.fake for p in read_pairs(f, split="val")] == ["val/fake/d.jpg"]
    g = tmp_path / "ffpp.csv"
    g.write_text("fake,real\nmanipulated/Deepfakes/000_003/0.png,original/000/0.png\n")
    assert read_pairs(g)[0].real == "original/000/0.png"
    with pytest.raises(ValueError, match="no split column"):
        read_pairs(g, split="train")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\na,0\n")
    with pytest.raises(ValueError, match="real and fake"):
        read_pairs(bad)
    twice = tmp_path / "twice.csv"
    twice.write_text("real,fake\nr1.png,f.png\nr2.png,f.png\n")
    with pytest.raises(ValueError, match="line 3: fake f.png is listed with two reals"):
        read_pairs(twice)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture
def pair_set(tmp_path):
    """Three pairs in the DFDC layout: one aligned fake with a patch, one shifted, one whose real is missing."""
    root = tmp_path / "images"
    for i, name in enumerate(["a", "b", "c"]):
        real = textured(10 + i)
        fake = faked(real, seed=20 + i)
        if name == "b":
            fake = np.roll(fake, 2, axis=1)
        if name != "c":
            write_rgb(root / "train" / "real" / f"{name}_r.png", real)
        write_rgb(root / "train" / "fake" / f"{name}_f.png", fake)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("split,real,fake\n" + "".join(f"train,{n}_r.png,{n}_f.png\n" for n in "abc"))
    return root, pairs


def test_masks_command_end_to_end(pair_set, tmp_path, capsys):
    root, pairs = pair_set
    out = tmp_path / "masks"
    stale = out / "train" / "fake" / "b_f.png.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    assert main(["masks", "--pairs", str(pairs), "--images", str(root), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "3 pairs: 1 aligned (mask written), 1 misaligned (excluded), 1 missing or unreadable" in printed
    assert sorted(MaskFolder(out)) == ["train/fake/a_f.png"]
    assert not stale.exists()  # a misaligned pair keeps no mask from an earlier run
    mask = MaskFolder(out)["train/fake/a_f.png"]
    assert mask.shape == (96, 96) and mask[30:62, 34:66].mean() > 0.5 and not mask[:20].any()
    with open(out / "masks.csv") as fh:
        rows = {r["fake"]: r for r in csv.DictReader(fh)}
    assert rows["train/fake/a_f.png"]["status"] == "aligned"
    assert rows["train/fake/b_f.png"]["status"] == "misaligned"
    assert (
        rows["train/fake/c_f.png"]["status"] == "missing" and "does not exist" in rows["train/fake/c_f.png"]["reason"]
    )
    assert float(rows["train/fake/a_f.png"]["coverage"]) == pytest.approx(mask.mean(), abs=1e-5)
    assert not list(out.rglob("*.tmp*"))  # no temporary file left behind
    # ordinary modes (0666 less the umask; the test runs under the process's umask), readable by other users
    umask = os.umask(0)
    os.umask(umask)
    for f in (out / "masks.csv", out / "masks.json", out / "train/fake/a_f.png.png"):
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f
    with pytest.raises(KeyError, match="b_f.png.png is missing"):
        MaskFolder(out)["train/fake/b_f.png"]


def test_interrupted_run_leaves_no_table_of_an_earlier_run(pair_set, tmp_path):
    root, pairs = pair_set
    out = tmp_path / "masks"
    write_masks(read_pairs(pairs), root, out, progress=False)
    assert (out / "masks.csv").exists() and (out / "masks.json").exists()
    write_rgb(root / "train" / "real" / "c_r.png", textured(0, size=16))  # a pair too small for the border: raises
    write_rgb(root / "train" / "fake" / "c_f.png", textured(0, size=16))
    with pytest.raises(ValueError, match="too small"):
        write_masks(read_pairs(pairs), root, out, progress=False)
    assert not (out / "masks.csv").exists() and not (out / "masks.json").exists()


def test_score_command_end_to_end(pair_set, tmp_path, capsys):
    from primary_mask.store import PrimaryMapWriter

    root, pairs = pair_set
    masks = tmp_path / "masks"
    write_masks(read_pairs(pairs), root, masks, progress=False)
    truth = MaskFolder(masks)["train/fake/a_f.png"]
    # A store keyed from images/train (as bake --images images/train): a map that is the mask itself (1 inside,
    # 0 outside), and a real image's map; scored with --mask-prefix train/.
    store = tmp_path / "store"
    exact = torch.from_numpy(cv2.resize(truth.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA) > 0.5)
    with PrimaryMapWriter(store, size=32) as w:
        w.add(["fake/a_f.png", "real/a_r.png"], torch.stack([exact.float(), torch.ones(32, 32)]))
    marks = tmp_path / "landmarks"
    (marks / "fake").mkdir(parents=True)
    pts = np.full((68, 2), 48.0)
    pts[27:36] = [(40, 30), (56, 30), (56, 60), (40, 60), (48, 45), (44, 40), (52, 40), (44, 50), (52, 50)]
    np.save(marks / "fake" / "a_f.png.npy", pts.astype(np.float32))
    png = tmp_path / "scores.png"
    argv = ["score", str(store), "--masks", str(masks), "--mask-prefix", "train/", "--quiet"]
    assert main([*argv, "--landmarks", str(marks), "--png", str(png)]) == 0
    printed = capsys.readouterr().out
    lines = {line.split()[0]: line for line in printed.splitlines() if line[:1].isalpha()}
    store_row = lines["store"].split()
    assert store_row[-6:-4] == ["2", f"{100 * (exact.float().mean() + 1) / 2:.1f}%"]  # coverage over both maps
    assert store_row[-4] == "1" and float(store_row[-3]) > 0.95 and store_row[-1] == "100.0%"  # the maximum hits
    assert "centred" in lines and "uniform" in lines and "landmark" in lines
    assert float(lines["uniform"].split()[-3]) == pytest.approx(0.5, abs=0.1)
    assert png.stat().st_size > 1000 and cv2.imread(str(png)) is not None
    # Without landmarks the third reference is skipped with a note; without the prefix no key matches: exit 2.
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "landmark parts: skipped" in printed and "landmark parts (eyes" not in printed
    assert main(argv[:-3] + ["--quiet"]) == 2
    assert "no store key has a mask" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "pairs.csv").is_file(), reason="../shared/data/dfdc is not available")
def test_dfdc_pairs_are_mostly_aligned_with_small_masks():
    pairs = read_pairs(SHARED / "pairs.csv", split="val")[:20]
    from primary_mask.data.io import read_rgb

    results = [manipulation_mask(read_rgb(SHARED / p.fake), read_rgb(SHARED / p.real)) for p in pairs]
    shares = [r.mask.mean() for r in results if r.aligned]
    assert len(shares) >= 10 and 0.02 < np.median(shares) < 0.3

"""The oracle store: hand-built manipulation masks and their pairs table -> a store whose maps erase exactly the
manipulated region on the fake and on its real (StaticRegionErase), pairs without a mask left out and counted."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from primary_mask import PrimaryMapStore
from primary_mask.cli import main
from primary_mask.functional import primary_region_erase
from primary_mask.quality import oracle_map, oracle_maps, write_oracle_store
from primary_mask.store import StoreError


def hand_masks(root: Path, side: int = 32) -> dict[str, np.ndarray]:
    """A masks folder as primary-mask masks writes it: train/fake/a (top half) and train/fake/b (left quarter),
    both made from train/real/r1; train/fake/c misaligned (from train/real/r2); val/fake/d from val/real/r3."""
    a = np.zeros((side, side), bool)
    a[: side // 2] = True
    b = np.zeros((side, side), bool)
    b[:, : side // 4] = True
    d = np.ones((side, side), bool)
    masks = {"train/fake/a.png": a, "train/fake/b.png": b, "val/fake/d.png": d}
    for key, mask in masks.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / f"{key}.png"), mask.astype(np.uint8) * 255)
    (root / "masks.csv").write_text(
        "fake,real,status,reason,border_diff,shift_x,shift_y,coverage\n"
        "train/fake/a.png,train/real/r1.png,aligned,,1.0,0,0,0.5\n"
        "train/fake/b.png,train/real/r1.png,aligned,,1.0,0,0,0.25\n"
        "train/fake/c.png,train/real/r2.png,misaligned,border,9.0,0,0,\n"
        "val/fake/d.png,val/real/r3.png,aligned,,1.0,0,0,1.0\n"
    )
    return masks


def test_oracle_map_is_the_area_majority_of_each_map_pixel():
    rng = np.random.default_rng(0)
    mask = rng.random((12, 12)) < 0.5
    expected = np.zeros((4, 4), np.float32)
    for i in range(4):  # a straightforward loop: each map pixel covers a 3x3 block of the mask
        for j in range(4):
            expected[i, j] = mask[3 * i : 3 * i + 3, 3 * j : 3 * j + 3].mean() >= 0.5
    assert np.array_equal(oracle_map(mask, 4).numpy(), expected)
    half = np.zeros((6, 6), np.float32)
    for i in range(6):  # 2x2 blocks: a block half manipulated counts as manipulated
        for j in range(6):
            half[i, j] = mask[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean() >= 0.5
    assert 0 < half.sum() and np.array_equal(oracle_map(mask, 6).numpy(), half)
    assert np.array_equal(oracle_map(mask, 12).numpy(), mask.astype(np.float32))  # same size: the mask itself
    with pytest.raises(ValueError, match="mask must be"):
        oracle_map(np.zeros((2, 3, 3), bool), 4)


def test_fake_and_real_maps_are_the_pair_region_and_the_prefix_selects_the_split(tmp_path):
    masks = hand_masks(tmp_path / "masks")
    maps, sizes, report = oracle_maps(tmp_path / "masks", size=32, prefix="train/")
    assert sorted(maps) == ["fake/a.png", "fake/b.png", "real/r1.png"]  # c misaligned: no map for c nor r2
    assert np.array_equal(maps["fake/a.png"].numpy(), masks["train/fake/a.png"])
    union = masks["train/fake/a.png"] | masks["train/fake/b.png"]  # r1 is the source of a and b
    assert np.array_equal(maps["real/r1.png"].numpy(), union)
    assert sizes["fake/a.png"] == (32, 32)
    assert (report.pairs, report.with_mask, report.without_mask, report.outside_prefix) == (3, 2, 1, 1)
    assert (report.fakes, report.reals, report.empty) == (2, 1, 0)
    assert "1 without (misaligned or missing" in report.summary()
    with pytest.raises(ValueError, match="starting with 'test/'"):
        oracle_maps(tmp_path / "masks", prefix="test/")
    (tmp_path / "masks" / "train/fake/b.png.png").unlink()
    with pytest.raises(ValueError, match="lists train/fake/b.png as aligned but"):
        oracle_maps(tmp_path / "masks", prefix="train/")
    with pytest.raises(FileNotFoundError, match="masks.csv is missing"):
        oracle_maps(tmp_path)


def test_static_erase_from_the_oracle_store_erases_exactly_the_region(tmp_path):
    masks = hand_masks(tmp_path / "masks")
    report = write_oracle_store(tmp_path / "masks", tmp_path / "store", size=32, prefix="train/")
    assert report.with_mask == 2
    store = PrimaryMapStore(tmp_path / "store")
    assert sorted(store.keys()) == ["fake/a.png", "fake/b.png", "real/r1.png"]
    images = torch.full((2, 3, 32, 32), 200, dtype=torch.uint8)
    maps = torch.stack([store["fake/b.png"], store["real/r1.png"]])
    out = primary_region_erase(images, maps, alpha=1.0, fill=0)  # what StaticRegionErase applies
    erased = (out == 0).all(1).numpy()
    assert np.array_equal(erased[0], masks["train/fake/b.png"])
    assert np.array_equal(erased[1], masks["train/fake/a.png"] | masks["train/fake/b.png"])
    # resumable: a rerun adds nothing; another size or prefix into the same store is refused
    write_oracle_store(tmp_path / "masks", tmp_path / "store", size=32, prefix="train/")
    assert len(PrimaryMapStore(tmp_path / "store")) == 3
    with pytest.raises(StoreError, match="size"):
        write_oracle_store(tmp_path / "masks", tmp_path / "store", size=16, prefix="train/")
    with pytest.raises(StoreError, match="prefix"):
        write_oracle_store(tmp_path / "masks", tmp_path / "store", size=32, prefix="")


def test_masks_store_command(tmp_path, capsys):
    hand_masks(tmp_path / "masks")
    args = ["masks-store", str(tmp_path / "masks"), "--out", str(tmp_path / "store"), "--size", "16"]
    assert main([*args, "--prefix", "train/"]) == 0
    out = capsys.readouterr().out
    assert "3 pairs: 2 with a mask (2 fake and 1 real maps), 1 without" in out and "--mask static" in out
    assert PrimaryMapStore(tmp_path / "store")["fake/a.png"].shape == (16, 16)
    assert main([*args, "--prefix", "nope/"]) == 2
    assert "starting with 'nope/'" in capsys.readouterr().err

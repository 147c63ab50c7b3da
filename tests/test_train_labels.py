"""examples/train.py refuses labels other than 0 (real) / 1 (fake), naming a file that has one."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import train  # noqa: E402


def test_train_refuses_unlabeled_images_naming_the_file(tmp_path):
    good, flat = tmp_path / "good", tmp_path / "flat"
    for label in ("real", "fake"):
        (good / label).mkdir(parents=True)
        cv2.imwrite(str(good / label / "0.png"), np.zeros((16, 16, 3), np.uint8))
    flat.mkdir()
    cv2.imwrite(str(flat / "a.png"), np.zeros((16, 16, 3), np.uint8))
    args = ["--backbone", "resnet50", "--out", str(tmp_path / "run"), "--epochs", "1", "--size", "16"]
    with pytest.raises(SystemExit, match=f"1 samples of {flat} have a label other than 0 .* e.g. {flat / 'a.png'}"):
        train.main(["--train", str(flat), "--val", str(good), *args])
    with pytest.raises(SystemExit, match=f"samples of {flat} have a label other than 0"):
        train.main(["--train", str(good), "--val", str(flat), *args])

"""The hole response (quality.hole): a detector's fake score on reals erased with their own hole and their fake's,
against a hand-built detector whose answer is known, and the example that measures trained checkpoints."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from primary_mask.quality.hole import HoleResponse, fake_probability, hole_response, hole_scores


class CornerDetector(nn.Module):
    """Fake logit ``10 * (share of the bottom-right quadrant that is black) - 5``: it reads the hole's place only.
    A black pixel, normalised, is far below -1; a grey 200 image is above 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        corner = x[:, 0, h // 2 :, w // 2 :]
        return (10 * (corner < -1).float().mean((1, 2)) - 5).unsqueeze(1)


def quadrant_maps(b: int, size: int, where: str) -> torch.Tensor:
    maps = torch.zeros(b, size, size)
    half = size // 2
    if where == "top-left":
        maps[:, :half, :half] = 1.0
    else:
        maps[:, half:, half:] = 1.0
    return maps


def test_hole_scores_match_the_hand_computed_answer_of_a_detector_that_reads_the_corner():
    images = torch.full((2, 3, 8, 8), 200, dtype=torch.uint8)
    own, swapped = quadrant_maps(2, 8, "top-left"), quadrant_maps(2, 8, "bottom-right")
    # alpha 1 erases all 16 pixels of the quadrant; alpha 0.5 floor(0.5 * 16) = 8 of them: half the corner, logit 0
    plain, own_p, swapped_p = hole_scores(CornerDetector(), images, own, swapped, torch.tensor([1.0, 0.5]))
    low, high = 1 / (1 + math.exp(5)), 1 / (1 + math.exp(-5))
    torch.testing.assert_close(plain, torch.tensor([low, low]))
    torch.testing.assert_close(own_p, torch.tensor([low, low]))  # the top-left hole is not in the corner
    torch.testing.assert_close(swapped_p, torch.tensor([high, 0.5]))


def test_fake_probability_takes_one_logit_or_two_classes_and_refuses_other_shapes():
    torch.testing.assert_close(fake_probability(torch.tensor([[0.0], [2.0]])), torch.sigmoid(torch.tensor([0.0, 2.0])))
    two_classes = torch.tensor([[1.0, 1.0], [0.0, math.log(3)]])  # softmax of column 1: 1/2, 3/4
    torch.testing.assert_close(fake_probability(two_classes), torch.tensor([0.5, 0.75]))
    with pytest.raises(ValueError, match=r"\(B,\), \(B, 1\) or \(B, 2\)"):
        fake_probability(torch.zeros(2, 3))


def test_hole_response_summaries_against_hand_computed_values():
    r = HoleResponse(["a", "b"], np.array([0.0, 0.0]), np.array([0.1, 0.2]), np.array([0.3, 0.1]))
    assert r.effect == pytest.approx(0.05)
    assert r.share_up == 0.5
    # AUC of swapped over own: 0.3 > 0.1, 0.3 > 0.2, 0.1 = 0.1 (a half), 0.1 < 0.2 -> 2.5 / 4
    assert r.auc == pytest.approx(0.625)
    assert r.effect_ci == pytest.approx(1.96 * np.std([0.2, -0.1], ddof=1) / math.sqrt(2))
    assert "within noise" in r.summary()
    rising = HoleResponse(["a", "b", "c"], np.zeros(3), np.zeros(3), np.array([0.8, 0.9, 0.85]))
    assert "the detector reads the hole" in rising.summary() and rising.auc == 1.0


class Reals(torch.utils.data.Dataset):
    """(uint8 image, label) with a ``keys`` list, as DeepfakeImageDataset yields."""

    def __init__(self, n: int, size: int, label: int = 0) -> None:
        self.keys = [f"real/{i}.png" for i in range(n)]
        self.size, self.label = size, label

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int):
        from torchvision import tv_tensors

        return tv_tensors.Image(torch.full((3, self.size, self.size), 200, dtype=torch.uint8)), self.label


def test_hole_response_erases_each_real_twice_with_one_seeded_alpha_at_the_detectors_size():
    reals = Reals(5, 16)
    own = {k: torch.zeros(16, 16) for k in reals.keys}
    for m in own.values():
        m[:4, :4] = 1.0  # far from the corner, so that the bilinear resize to 32 px does not reach it
    swapped = {k: quadrant_maps(1, 16, "bottom-right")[0] for k in reals.keys}
    a = hole_response(CornerDetector(), reals, own, swapped, (1.0, 1.0), size=32, batch_size=2, progress=False)
    low, high = 1 / (1 + math.exp(5)), 1 / (1 + math.exp(-5))
    np.testing.assert_allclose(a.own, low, rtol=1e-5)
    np.testing.assert_allclose(a.swapped, high, rtol=1e-5)  # the whole corner of the 32-px input
    assert a.keys == reals.keys and a.share_up == 1.0
    # no resize, alpha ~ U(0.2, 0.6): the corner's erased share is floor(alpha * 64) / 64 of its 64 pixels
    b = hole_response(CornerDetector(), reals, own, swapped, (0.2, 0.6), seed=3, batch_size=2, progress=False)
    alphas = 0.2 + 0.4 * torch.rand(5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = torch.sigmoid(10 * torch.floor(alphas * 64) / 64 - 5).numpy()
    np.testing.assert_allclose(b.swapped, expected, rtol=1e-5)
    c = hole_response(CornerDetector(), reals, own, swapped, (0.2, 0.6), seed=3, progress=False)
    np.testing.assert_array_equal(b.swapped, c.swapped)  # seeded: the same alphas, whatever the batch size


def test_hole_response_refuses_fakes_and_names_a_real_without_a_map():
    fakes = Reals(2, 8, label=1)
    maps = {k: quadrant_maps(1, 8, "top-left")[0] for k in fakes.keys}
    with pytest.raises(ValueError, match="reals only"):
        hole_response(CornerDetector(), fakes, maps, maps, progress=False)
    reals = Reals(2, 8)
    partial = {reals.keys[0]: maps[fakes.keys[0]]}
    with pytest.raises(KeyError, match="real/1.png"):
        hole_response(CornerDetector(), reals, maps, partial, progress=False)


def test_hole_response_example_measures_train_py_checkpoints_and_writes_table_json_and_figure(tmp_path, capsys):
    import json

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import hole_response as example
    from backbones import BACKBONES

    from primary_mask import PrimaryMapWriter

    keys, maps, rows = [], [], ["split,real,fake"]
    for i in range(6):
        for label in ("real", "fake"):
            folder = tmp_path / "set" / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
            keys.append(f"{label}/{i}.png")
        maps += [quadrant_maps(1, 16, "top-left")[0], quadrant_maps(1, 16, "bottom-right")[0]]
        rows.append(f"train,{i}.png,{i}.png")
    with PrimaryMapWriter(tmp_path / "store", size=16) as writer:
        writer.add(keys, torch.stack(maps))
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    torch.manual_seed(0)
    model = BACKBONES["mobilenet_v2"](32, False)
    torch.save({"backbone": "mobilenet_v2", "size": 32, "model": model.state_dict()}, tmp_path / "best.pt")
    out = tmp_path / "hole"
    argv = [
        "--images", str(tmp_path / "set"), "--store", str(tmp_path / "store"), "--pairs", str(tmp_path / "pairs.csv"),
        "--pair-prefix", "train/", "--reals", "4", "--detector", f"one={tmp_path / 'best.pt'}",
        "--detector", f"two={tmp_path / 'best.pt'}", "--out", str(out), "--quiet", "--device", "cpu",
    ]  # fmt: skip
    rows_out = example.main(argv)
    assert list(rows_out) == ["one", "two"] and rows_out["one"]["reals"] == 4
    assert rows_out["one"]["effect"] == pytest.approx(rows_out["two"]["effect"])  # one checkpoint, one seed
    written = json.loads((out / "hole.json").read_text())
    assert written["settings"]["alpha_range"] == [0.5, 1.0] and set(written["rows"]) == {"one", "two"}
    assert (out / "hole.md").read_text().count("\n| one | 4 |") == 1
    assert (out / "hole.png").stat().st_size > 5_000
    with pytest.raises(SystemExit, match="check --pair-prefix"):
        example.main([*argv[:6], "--pair-prefix", "nope/", *argv[8:]])
    with pytest.raises(SystemExit, match="was not written by examples/train.py"):
        torch.save({"model": {}}, tmp_path / "bare.pt")
        example.main([*argv[:11], f"x={tmp_path / 'bare.pt'}", "--out", str(out), "--quiet"])

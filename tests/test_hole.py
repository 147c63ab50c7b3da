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


def reference_erase(image: torch.Tensor, pmap: torch.Tensor, alpha: float, k: int | None = None):
    """Eq. 9-11 as a loop: the floor(alpha |V|) (or k) largest positive pixels, ties to the lower index, set to 0."""
    w = pmap.shape[1]
    values = pmap.flatten().tolist()
    positive = [j for j, v in enumerate(values) if v > 0]
    count = math.floor(alpha * len(positive)) if k is None else min(k, len(positive))
    chosen = sorted(positive, key=lambda j: (-values[j], j))[:count]
    out = image.clone()
    for j in chosen:
        out[:, j // w, j % w] = 0
    return out, count


def corner_probability(image: torch.Tensor) -> float:
    """CornerDetector's answer by hand: the black share of the bottom-right quadrant of channel 0."""
    h, w = image.shape[-2:]
    share = (image[0, h // 2 :, w // 2 :] == 0).float().mean().item()
    return 1 / (1 + math.exp(-(10 * share - 5)))


def reference_scores(images, own_maps, swapped_maps, alphas):
    rows = []
    for image, own, swapped, alpha in zip(images, own_maps, swapped_maps, alphas.tolist()):
        own_image, k = reference_erase(image, own, alpha)
        swapped_image, k_swapped = reference_erase(image, swapped, alpha)
        matched_image, _ = reference_erase(image, swapped, alpha, k=k)
        probabilities = [corner_probability(x) for x in (image, own_image, swapped_image, matched_image)]
        rows.append((*probabilities, k, k_swapped, torch.equal(own_image, swapped_image)))
    return rows


def random_case(b: int, size: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(100, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)  # no black pixel
    own = torch.rand(b, size, size, generator=g) * (torch.rand(b, size, size, generator=g) > 0.4)
    swapped = torch.rand(b, size, size, generator=g) * (torch.rand(b, size, size, generator=g) > 0.4)
    return images, own, swapped


def test_hole_scores_match_a_loop_over_each_image_with_its_own_maps_and_alpha():
    images, own, swapped = random_case(5)
    swapped[3] = 0
    swapped[3, 6, 5:] = torch.tensor([0.5, 0.9, 0.7])  # 3 positive pixels: fewer than the own hole takes
    swapped[4] = own[4]  # one real whose fake's map is its own: the same hole
    alphas = torch.tensor([0.3, 0.55, 0.8, 1.0, 0.6], dtype=torch.float64)
    got = hole_scores(CornerDetector(), images, own, swapped, alphas)
    for i, row in enumerate(reference_scores(images, own, swapped, alphas)):
        plain, own_p, swapped_p, matched_p, k, k_swapped, same = row
        assert [got.plain[i].item(), got.own[i].item(), got.swapped[i].item(), got.matched[i].item()] == (
            pytest.approx([plain, own_p, swapped_p, matched_p], abs=1e-6)
        ), i
        assert (got.own_pixels[i].item(), got.swapped_pixels[i].item(), bool(got.identical[i])) == (k, k_swapped, same)
    assert got.own_pixels[3] > 3 and bool(got.identical[4]) and not bool(got.identical[:4].any())


def test_hole_scores_refuse_float_images_mismatched_maps_and_a_bad_fill():
    images, own, swapped = random_case(2)
    alphas = torch.tensor([0.5, 0.5])
    with pytest.raises(TypeError, match="images must be uint8"):
        hole_scores(CornerDetector(), images.float(), own, swapped, alphas)
    with pytest.raises(ValueError, match=r"swapped_maps must be \(2, h, w\) maps, one per image, got \(1, 8, 8\)"):
        hole_scores(CornerDetector(), images, own, swapped[:1], alphas)
    with pytest.raises(ValueError, match="fill must be"):
        hole_scores(CornerDetector(), images, own, swapped, alphas, fill="black")


def test_fake_probability_takes_one_logit_or_two_classes_and_refuses_other_shapes():
    torch.testing.assert_close(fake_probability(torch.tensor([[0.0], [2.0]])), torch.sigmoid(torch.tensor([0.0, 2.0])))
    two_classes = torch.tensor([[1.0, 1.0], [0.0, math.log(3)]])  # softmax of column 1: 1/2, 3/4
    torch.testing.assert_close(fake_probability(two_classes), torch.tensor([0.5, 0.75]))
    with pytest.raises(ValueError, match=r"\(B,\), \(B, 1\) or \(B, 2\)"):
        fake_probability(torch.zeros(2, 3))


def response(own, swapped, matched=None, pixels=100):
    n = len(own)
    arrays = [np.asarray(a, float) for a in (own, swapped, own if matched is None else matched)]
    return HoleResponse(
        [str(i) for i in range(n)], np.zeros(n), *arrays, np.full(n, 10), np.full(n, 30), np.zeros(n, bool), pixels
    )


def test_hole_response_summaries_against_hand_computed_values():
    r = response([0.1, 0.2], [0.3, 0.1], matched=[0.2, 0.2])
    assert r.effect == pytest.approx(0.05) and r.place_effect == pytest.approx(0.05)
    assert r.share_up == 0.5
    # AUC of swapped over own: 0.3 > 0.1, 0.3 > 0.2, 0.1 = 0.1 (a half), 0.1 < 0.2 -> 2.5 / 4
    assert r.auc == pytest.approx(0.625)
    assert r.effect_ci == pytest.approx(1.96 * np.std([0.2, -0.1], ddof=1) / math.sqrt(2))
    assert r.place_effect_ci == pytest.approx(1.96 * np.std([0.1, 0.0], ddof=1) / math.sqrt(2))
    d = r.as_dict()
    assert (d["own_share"], d["swapped_share"], d["identical"]) == (0.1, 0.3, 0)
    assert "within noise" in r.summary() and "same hole" not in r.summary()
    rising = response([0, 0, 0], [0.8, 0.9, 0.85])
    assert "the detector reads the hole" in rising.summary() and rising.auc == 1.0
    rising.identical[1] = True
    assert "1 reals had the same hole both ways" in rising.summary()


class Reals(torch.utils.data.Dataset):
    """(uint8 image, label) with a ``keys`` list, as DeepfakeImageDataset yields: ``images`` (N, 3, H, W), or
    grey 200 images of ``size``."""

    def __init__(self, n: int, size: int = 8, label: int = 0, images: torch.Tensor | None = None) -> None:
        self.keys = [f"real/{i}.png" for i in range(n)]
        self.images = torch.full((n, 3, size, size), 200, dtype=torch.uint8) if images is None else images
        self.label = label

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int):
        from torchvision import tv_tensors

        return tv_tensors.Image(self.images[i].clone()), self.label


def test_hole_response_gives_each_real_its_own_maps_and_one_seeded_alpha():
    images, own, swapped = random_case(7, seed=1)
    reals = Reals(7, images=images)
    own_maps = dict(zip(reals.keys, own))
    swapped_maps = dict(zip(reals.keys, swapped))
    got = hole_response(
        CornerDetector(), reals, own_maps, swapped_maps, (0.2, 0.9), seed=3, batch_size=3, progress=False
    )
    alphas = 0.2 + 0.7 * torch.rand(7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = reference_scores(images, own, swapped, alphas)
    for column, name in enumerate(("plain", "own", "swapped", "matched", "own_pixels", "swapped_pixels")):
        np.testing.assert_allclose(getattr(got, name), [row[column] for row in expected], atol=1e-6, err_msg=name)
    assert got.keys == reals.keys and got.pixels == 64
    again = hole_response(CornerDetector(), reals, own_maps, swapped_maps, (0.2, 0.9), seed=3, progress=False)
    np.testing.assert_array_equal(got.swapped, again.swapped)  # seeded: the same alphas, whatever the batch size


def test_hole_response_resizes_to_the_detectors_input_first():
    reals = Reals(3, 16)
    own = {k: torch.zeros(16, 16) for k in reals.keys}
    for m in own.values():
        m[:4, :4] = 1.0  # far from the corner, so that the bilinear resize to 32 px does not reach it
    swapped = {k: quadrant_maps(1, 16, "bottom-right")[0] for k in reals.keys}
    got = hole_response(CornerDetector(), reals, own, swapped, (1.0, 1.0), size=32, progress=False)
    low, high = 1 / (1 + math.exp(5)), 1 / (1 + math.exp(-5))
    np.testing.assert_allclose(got.own, low, rtol=1e-5)
    np.testing.assert_allclose(got.swapped, high, rtol=1e-5)  # the whole corner of the 32-px input
    assert got.pixels == 32 * 32 and (got.swapped_pixels >= 16 * 16).all()


def test_hole_response_refuses_fakes_and_names_a_real_without_a_map():
    fakes = Reals(2, 8, label=1)
    maps = {k: quadrant_maps(1, 8, "top-left")[0] for k in fakes.keys}
    with pytest.raises(ValueError, match="reals only"):
        hole_response(CornerDetector(), fakes, maps, maps, (0.5, 1), progress=False)
    reals = Reals(2, 8)
    partial = {reals.keys[0]: maps[fakes.keys[0]]}
    with pytest.raises(KeyError, match="real/1.png"):
        hole_response(CornerDetector(), reals, maps, partial, (0.5, 1), progress=False)


def test_hole_response_example_measures_each_detector_and_writes_table_json_and_figure(tmp_path, monkeypatch):
    import json

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import hole_response as example

    from primary_mask import PrimaryMapWriter

    keys, maps, rows = [], [], ["split,real,fake"]
    for i in range(6):
        for label in ("real", "fake"):
            folder = tmp_path / "set" / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 32, 3), 100 + 20 * i, np.uint8)).save(folder / f"{i}.png")
            keys.append(f"{label}/{i}.png")
        # a real's map away from the corner, its fake's on it: the corner detector rises with the fake's hole only
        maps += [quadrant_maps(1, 16, "top-left")[0], quadrant_maps(1, 16, "bottom-right")[0]]
        rows.append(f"test/real/{i}.png,test/fake/{i}.png")
    with PrimaryMapWriter(tmp_path / "store", size=16) as writer:
        writer.add(keys, torch.stack(maps))
    (tmp_path / "pairs.csv").write_text("real,fake\n" + "\n".join(rows) + "\n")
    for name in ("one", "two"):
        (tmp_path / f"{name}.pt").write_bytes(b"a checkpoint")
    loaded = []
    monkeypatch.setattr(example, "load_detector", lambda path: loaded.append(path) or (CornerDetector(), {"size": 32}))
    out = tmp_path / "hole"
    argv = [
        "--images", str(tmp_path / "set"), "--store", str(tmp_path / "store"), "--pairs", str(tmp_path / "pairs.csv"),
        "--pair-prefix", "test/", "--reals", "4", "--alpha-range", "0.5", "1", "--detector",
        f"one={tmp_path / 'one.pt'}", "--detector", f"two={tmp_path / 'two.pt'}", "--out", str(out), "--quiet",
        "--device", "cpu",
    ]  # fmt: skip
    rows_out = example.main(argv)
    assert loaded == [str(tmp_path / "one.pt"), str(tmp_path / "two.pt")] and list(rows_out) == ["one", "two"]
    one = rows_out["one"]
    low = 1 / (1 + math.exp(5))
    assert one["reals"] == 4 and one["own"] == pytest.approx(low) and one["share_up"] == 1.0
    assert one["swapped"] > 0.5 and one["effect"] > 0.4  # alpha >= 0.5 of the corner's quadrant: at least half of it
    written = json.loads((out / "hole.json").read_text())
    assert written["settings"]["alpha_range"] == [0.5, 1.0] and set(written["rows"]) == {"one", "two"}
    assert (out / "hole.md").read_text().count("\n| one | 4 |") == 1
    assert (out / "hole.png").stat().st_size > 5_000
    with pytest.raises(SystemExit, match="check --pair-prefix"):
        example.main([*argv[:6], "--pair-prefix", "nope/", *argv[8:]])
    with pytest.raises(SystemExit, match="expected NAME=CHECKPOINT"):
        example.main([*argv[:14], "no-name", "--out", str(out)])


def test_load_detector_refuses_a_checkpoint_train_py_did_not_write(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from backbones import BACKBONES, load_detector

    torch.save({"model": {}}, tmp_path / "bare.pt")
    with pytest.raises(SystemExit, match="bare.pt was not written by examples/train.py"):
        load_detector(tmp_path / "bare.pt")
    torch.manual_seed(0)
    model = BACKBONES["mobilenet_v2"](32, False)
    torch.save({"backbone": "mobilenet_v2", "size": 32, "model": model.state_dict()}, tmp_path / "best.pt")
    loaded, ckpt = load_detector(tmp_path / "best.pt")
    assert ckpt["size"] == 32 and not loaded.training
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), model.eval()(x))  # every weight from the checkpoint

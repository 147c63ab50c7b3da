"""The erase-rules figure (figures.erase_rules): each rule's erased real and fake against a per-pixel loop, and the
example that draws it from stores and a pairs file."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from primary_mask.figures.erase_rules import RuleMaps, erase_rules_figure, erase_rules_tiles


def loop_erase(image: np.ndarray, pmap: np.ndarray, alpha: float) -> np.ndarray:
    """Eq. 9-11 by hand on an image the map's size: the floor(alpha |V|) largest positive pixels set to 0."""
    h, w = pmap.shape
    values = pmap.flatten().tolist()
    positive = [j for j, v in enumerate(values) if v > 0]
    chosen = sorted(positive, key=lambda j: (-values[j], j))[: math.floor(alpha * len(positive))]
    out = image.copy()
    for j in chosen:
        out[j // w, j % w] = 0
    return out


def test_tiles_erase_each_class_with_its_rule_map_at_the_rule_alpha():
    g = torch.Generator().manual_seed(0)
    n, size = 3, 8
    reals = torch.randint(1, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    fakes = torch.randint(1, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    own_real = torch.rand(n, size, size, generator=g) * (torch.rand(n, size, size, generator=g) > 0.3)
    own_fake = torch.rand(n, size, size, generator=g) * (torch.rand(n, size, size, generator=g) > 0.6)
    box = torch.zeros(n, size, size)
    box[:, 2:5, 3:6] = 1.0
    rules = {
        "own": RuleMaps(own_real, own_fake),
        "paired": RuleMaps(own_fake, own_fake),
        "box": RuleMaps(box, box, 1.0),
    }
    rows, titles = erase_rules_tiles(reals, fakes, rules, alpha=0.5)
    assert titles == ["real", "fake", "own real", "own fake", "paired real", "paired fake", "box real", "box fake"]
    assert len(rows) == n and all(len(r) == 8 for r in rows)
    for i in range(n):
        real, fake = reals[i].permute(1, 2, 0).numpy(), fakes[i].permute(1, 2, 0).numpy()
        expected = [
            real, fake,
            loop_erase(real, own_real[i].numpy(), 0.5), loop_erase(fake, own_fake[i].numpy(), 0.5),
            loop_erase(real, own_fake[i].numpy(), 0.5), loop_erase(fake, own_fake[i].numpy(), 0.5),
            loop_erase(real, box[i].numpy(), 1.0), loop_erase(fake, box[i].numpy(), 1.0),
        ]  # fmt: skip
        for got, want in zip(rows[i], expected):
            assert got.dtype == np.uint8 and np.array_equal(got, want)
    # the paired rule erases a real exactly where its fake is erased; the box rule the 9 box pixels
    assert np.array_equal(rows[0][4] == 0, loop_erase(np.ones_like(rows[0][5]), own_fake[0].numpy(), 0.5) == 0)
    assert int((rows[1][6] == 0).all(axis=2).sum()) == 9


def test_tiles_resize_smaller_maps_bilinearly_to_the_image_before_refining():
    g = torch.Generator().manual_seed(3)
    images = torch.randint(1, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=g)
    small = torch.rand(2, 4, 4, generator=g)
    rows, _ = erase_rules_tiles(images, images, {"small": RuleMaps(small, small)}, alpha=0.4)
    upsampled = torch.nn.functional.interpolate(small[:, None], size=(8, 8), mode="bilinear", align_corners=False)
    for i in range(2):
        want = loop_erase(images[i].permute(1, 2, 0).numpy(), upsampled[i, 0].numpy(), 0.4)
        assert np.array_equal(rows[i][2], want) and np.array_equal(rows[i][3], want)


def test_without_faces_the_tiles_are_the_holes_on_grey_and_no_image_column():
    from primary_mask.figures.tiles import NO_FACE_GREY

    reals = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    maps = torch.zeros(2, 8, 8)
    maps[:, :2, :] = 1.0  # the top two rows of every image
    rows, titles = erase_rules_tiles(reals, reals, {"top": RuleMaps(maps, maps)}, alpha=1.0, show_faces=False)
    assert titles == ["top real", "top fake"] and all(len(r) == 2 for r in rows)
    expected = np.full((8, 8, 3), NO_FACE_GREY, np.uint8)
    expected[:2] = 0
    assert all(np.array_equal(tile, expected) for row in rows for tile in row)  # no pixel of the images is left


def test_tiles_refuse_maps_that_are_not_one_per_pair_and_non_uint8_images():
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="rule 'short'.*one per pair"):
        erase_rules_tiles(images, images, {"short": RuleMaps(torch.ones(1, 4, 4), torch.ones(1, 4, 4))})
    with pytest.raises(ValueError, match="uint8"):
        erase_rules_tiles(images.float(), images.float(), {"a": RuleMaps(torch.ones(2, 4, 4), torch.ones(2, 4, 4))})
    with pytest.raises(ValueError, match="no rule"):
        erase_rules_tiles(images, images, {})


def test_figure_writes_a_png_with_one_row_per_pair(tmp_path):
    import cv2

    images = torch.full((2, 3, 16, 16), 200, dtype=torch.uint8)
    maps = torch.ones(2, 16, 16)
    out = erase_rules_figure(images, images, {"a": RuleMaps(maps, maps)}, tmp_path / "f" / "rules.png",
                             row_labels=[["r0"], ["r1"]])  # fmt: skip
    grid = cv2.imread(str(out))
    assert grid is not None and grid.shape[0] > 2 * 16 and grid.shape[1] > 4 * 16


def test_example_draws_own_paired_and_whole_rules_from_stores(tmp_path, monkeypatch, capsys):
    import cv2
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import plot_erase_rules as example

    from primary_mask import PrimaryMapWriter
    from primary_mask.figures import erase_rules as module

    def fake_map_of(i: int) -> torch.Tensor:  # each fake's map a column of its own: a wrong fake's map shows
        m = torch.zeros(16, 16)
        m[:, 2 * i : 2 * i + 2] = 1.0
        return m

    keys, maps, boxes, sizes, rows = [], [], [], [], []
    for i in range(6):  # fake/5.png is a second fake of real/0.png; it is never the one shown
        for label in ("real", "fake") if i < 5 else ("fake",):
            folder = tmp_path / "set" / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((16, 16, 3), 30 + 20 * i, np.uint8)).save(folder / f"{i}.png")
            keys.append(f"{label}/{i}.png")
            real_map = torch.zeros(16, 16)
            real_map[:8, :8] = 1.0  # a real's map top-left
            maps.append(real_map if label == "real" else fake_map_of(i))
            box = torch.zeros(16, 16)
            box[4:8, 4:8] = 1.0
            boxes.append(box)
            sizes.append((16, 16) if (label, i) != ("fake", 4) else (16, 20))  # pair 4 baked at two sizes
        rows.append(f"train/real/{i % 5}.png,train/fake/{i}.png")
    for name, values in (("store", maps), ("oracle", boxes)):
        with PrimaryMapWriter(tmp_path / name, size=16) as writer:
            writer.add(keys, torch.stack(values), image_sizes=sizes)
    (tmp_path / "pairs.csv").write_text("real,fake\n" + "\n".join(rows) + "\n")
    drawn = {}
    real_figure = module.erase_rules_figure
    monkeypatch.setattr(
        example, "erase_rules_figure", lambda *a, **k: drawn.update(args=a, kwargs=k) or real_figure(*a, **k)
    )
    argv = [
        "--images", str(tmp_path / "set"), "--pairs", str(tmp_path / "pairs.csv"), "--pair-prefix", "train/",
        "--n", "9", "--size", "0", "--alpha", "1", "--rule", "PRLE", str(tmp_path / "store"),
        "--rule", "paired", str(tmp_path / "store"), "paired", "--whole", "Oracle", str(tmp_path / "oracle"),
        "--out", str(tmp_path / "rules.png"),
    ]  # fmt: skip
    out = example.main(argv)
    assert out.is_file()
    assert "1 pair(s) left out: their real and fake were baked at different sizes" in capsys.readouterr().out
    reals, fakes, rules = drawn["args"][:3]
    assert list(rules) == ["PRLE", "paired", "Oracle"] and reals.shape == (4, 3, 16, 16)  # pairs 0-3
    greys = [30 + 20 * i for i in range(4)]
    assert reals[:, 0, 0, 0].tolist() == greys and fakes[:, 0, 0, 0].tolist() == greys  # real/i with fake/i
    top_left = torch.zeros(16, 16)
    top_left[:8, :8] = 1.0
    for i in range(4):
        assert torch.equal(rules["PRLE"].real[i], top_left) and torch.equal(rules["PRLE"].fake[i], fake_map_of(i))
        assert torch.equal(rules["paired"].real[i], fake_map_of(i))  # the real gets the map of the fake shown
        assert torch.equal(rules["paired"].fake[i], fake_map_of(i))  # a fake keeps its own
        assert rules["Oracle"].alpha == 1.0 and rules["Oracle"].real[i].sum() == 16
    assert rules["PRLE"].alpha is None
    grid_with = cv2.imread(str(out))
    assert example.main([*argv, "--no-faces"]) == out and cv2.imread(str(out)).shape[1] < grid_with.shape[1]
    assert drawn["kwargs"]["show_faces"] is False
    with pytest.raises(SystemExit, match="pair-prefix"):
        example.main([*argv[:4], "--pair-prefix", "other/", *argv[6:]])


def test_the_example_refuses_a_pair_count_below_one(capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import plot_erase_rules as example

    for n in ("0", "-2"):
        with pytest.raises(SystemExit):
            example.parse_args(["--images", "i", "--pairs", "p.csv", "--rule", "PRLE", "s", "--n", n, "--out", "o.png"])
        assert f"--n must be at least 1, got {n}" in capsys.readouterr().err

"""Map quality scores against independent statements: scikit-learn's ROC-AUC, hand-computed small cases."""

import math

import cv2
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from primary_mask.quality import (
    MapScores,
    coverage,
    gaussian_map,
    landmark_parts_map,
    pixel_auc,
    pointing_game,
    score_maps,
    scores_table,
    top_precision,
)


@pytest.mark.parametrize("levels", [3, 8, 1000])
def test_pixel_auc_matches_sklearn_with_ties(levels):
    rng = np.random.default_rng(levels)
    maps = rng.integers(0, levels, size=(6, 300)).astype(np.float32) / levels  # few levels: many ties
    masks = rng.random((6, 300)) < rng.uniform(0.05, 0.6, size=(6, 1))
    maps[2] = 0.0  # a constant map: every pixel tied, AUC 0.5
    got = pixel_auc(torch.from_numpy(maps), torch.from_numpy(masks)).numpy()
    want = [roc_auc_score(m, s) for m, s in zip(masks, maps)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert got[2] == 0.5


def test_pixel_auc_is_nan_without_both_classes():
    maps = torch.rand(3, 10, generator=torch.Generator().manual_seed(0))
    masks = torch.zeros(3, 10, dtype=torch.bool)
    masks[1] = True
    masks[2, :3] = True
    out = pixel_auc(maps, masks)
    assert math.isnan(out[0]) and math.isnan(out[1]) and not math.isnan(out[2])


def test_top_precision_hand_cases():
    # 20 pixels -> k = ceil(0.1 * 20) = 2.
    maps = torch.zeros(3, 20)
    masks = torch.zeros(3, 20, dtype=torch.bool)
    maps[0, [4, 7]] = torch.tensor([0.9, 0.8])  # the two largest: one manipulated -> 1/2
    masks[0, [7, 11]] = True
    maps[1, [1, 2, 3]] = 0.5  # three tied at the top for two slots, one manipulated -> 2 * (1/3) / 2 = 1/3
    masks[1, [3, 19]] = True
    maps[2, 5] = 1.0  # one clear winner (a hit) then 19 zeros tied for one slot, 2 of them manipulated
    masks[2, [5, 8, 9]] = True  # -> (1 + 1 * 2/19) / 2
    got = top_precision(maps, masks)
    torch.testing.assert_close(got, torch.tensor([0.5, 1 / 3, (1 + 2 / 19) / 2], dtype=torch.float64))
    # 25 pixels -> k = ceil(2.5) = 3: the two hits of row 0 and one of the 23 zeros (none manipulated)
    wide, wide_mask = torch.zeros(1, 25), torch.zeros(1, 25, dtype=torch.bool)
    wide[0, :2], wide_mask[0, :2] = 1.0, True
    torch.testing.assert_close(top_precision(wide, wide_mask), torch.tensor([2 / 3], dtype=torch.float64))
    # share 0.25 of 20 -> k = 5, in row 0: pixels 4 and 7, then 3 of the 18 zeros (one manipulated)
    got = top_precision(maps[:1], masks[:1], share=0.25)
    torch.testing.assert_close(got, torch.tensor([(1 + 3 * 1 / 18) / 5], dtype=torch.float64))


def test_pointing_game_hand_cases():
    maps = torch.tensor([[0.1, 0.9, 0.3, 0.2], [0.7, 0.1, 0.7, 0.0], [0.0, 0.0, 0.0, 0.0], [0.1, 0.2, 0.9, 0.0]])
    masks = torch.tensor([[0, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]], dtype=torch.bool)
    got = pointing_game(maps, masks)
    # inside; two tied maxima, one inside; all tied, 3 of 4 inside; outside
    torch.testing.assert_close(got, torch.tensor([1.0, 0.5, 0.75, 0.0], dtype=torch.float64))


def test_coverage_counts_positive_pixels():
    maps = torch.tensor([[[0.0, 0.2], [0.0, 0.0]], [[1.0, 0.5], [0.1, 0.0]]])
    torch.testing.assert_close(coverage(maps), torch.tensor([0.25, 0.75], dtype=torch.float64))


def test_shape_and_dtype_errors():
    with pytest.raises(ValueError, match="both be"):
        pixel_auc(torch.rand(2, 5), torch.zeros(2, 6, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        pointing_game(torch.rand(2, 5), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="share"):
        top_precision(torch.rand(2, 5), torch.zeros(2, 5, dtype=torch.bool), share=0)


def test_gaussian_map_is_centred_and_symmetric():
    g = gaussian_map((9, 13), sigma=0.25)
    assert g.shape == (9, 13) and g[4, 6] == 1.0 and g.argmax() == 4 * 13 + 6
    torch.testing.assert_close(g, g.flip(0))
    torch.testing.assert_close(g, g.flip(1))
    s = 0.25 * 9  # sigma in px: value one sigma from the centre along x is exp(-1/2)
    assert abs(float(np.interp(6 + s, np.arange(13), g[4].numpy())) - math.exp(-0.5)) < 0.02


def test_landmark_parts_map_fills_the_part_hulls():
    pts = np.zeros((68, 2))
    pts[:] = (5, 5)
    pts[36:42] = [(20, 20), (30, 20), (30, 30), (20, 30), (25, 20), (25, 30)]  # one eye: the box 20..30
    pts[42:48] = (60, 60)
    pts[27:36] = (60, 60)
    pts[48:60] = (60, 60)
    m = landmark_parts_map(pts, (80, 80))
    assert m[25, 25] == 1 and m[20, 20] == 1 and m[30, 30] == 1 and m[10, 10] == 0 and m[35, 25] == 0
    assert int(m.sum()) == 11 * 11 + 1  # the box, its edges included, and the other parts' single dot at (60, 60)
    assert m[60, 60] == 1
    with pytest.raises(ValueError, match="68 finite"):
        landmark_parts_map(np.full((68, 2), np.nan), (80, 80))


def test_score_maps_resizes_bilinearly_to_the_mask():
    mask = np.zeros((32, 32), bool)
    mask[8:16, 8:16] = True  # one quadrant-ish block
    small = torch.zeros(1, 4, 4)
    small[0, 1, 1] = 1.0  # the 4x4 cell over rows/cols 8..15 of the 32x32 mask

    row = score_maps("m", lambda keys, size: small.expand(len(keys), 4, 4), {"a": mask, "b": mask}, ["a", "b"])
    assert row.maps == 2 and row.masked == 2 and row.coverage == 1 / 16
    big = cv2.resize(small[0].numpy(), (32, 32), interpolation=cv2.INTER_LINEAR)  # OpenCV's bilinear, half-pixel
    assert row.auc == pytest.approx(roc_auc_score(mask.ravel(), big.ravel()), abs=1e-9) and row.auc < 1
    assert row.pointing == 1.0 and row.top_precision == pytest.approx(64 / 103)  # k = 103 > the 64 mask pixels
    assert row.mask_share == 64 / 1024


def test_score_maps_leaves_out_masks_without_both_classes():
    masks = {"empty": np.zeros((8, 8), bool), "full": np.ones((8, 8), bool), "ok": np.eye(8, dtype=bool)}
    row = score_maps("m", lambda keys, size: torch.rand(len(keys), *size), masks, list(masks))
    assert row.maps == 3 and row.masked == 1


def test_table_has_one_row_per_source():
    rows = [MapScores("store", 10, 0.5, 4, 0.6, 0.2, 0.25, 0.1), MapScores("gauss", note="why")]
    text = scores_table(rows)
    assert "store" in text and "0.600" in text and "20.0%" in text and "(why)" in text and "10.0%" in text
    assert text.splitlines()[3].split()[1] == "0"  # an empty row prints 0 maps and dashes


def test_frontier_figure_plots_each_scored_point(tmp_path, monkeypatch):
    import matplotlib.axes

    from primary_mask.figures import frontier_figure

    drawn = []
    original = matplotlib.axes.Axes.scatter
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "scatter",
        lambda self, x, y, **kw: drawn.append((x[0], y[0])) or original(self, x, y, **kw),
    )
    points = [("a", MapScores("a", coverage=0.2, auc=0.7, top_precision=0.3)), ("nan", MapScores("nan"))]
    out = frontier_figure(points, [MapScores("gauss", auc=0.78, top_precision=0.31)], tmp_path / "f" / "x.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn == [(20.0, 0.7), (20.0, 0.3)]  # one point per panel, coverage in percent; the NaN row left out


def test_scores_figure_keeps_every_source_name_whole(tmp_path, monkeypatch):
    """Names were cut at 28 characters ("centred Gaussian (sigma 0.2..."); long ones now wrap."""
    import primary_mask.figures.scores as scores_module

    drawn = {}

    def keep(fig, out, title="", dpi=110):
        drawn["labels"] = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        drawn["texts"] = [t.get_text() for t in fig.texts]
        return out

    monkeypatch.setattr(scores_module, "save_figure", keep)
    long = "centred Gaussian (sigma 0.25 of the side)"
    scores_module.scores_figure([MapScores(long, 1, 0.5, 1, 0.6, 0.2, 0.3, 0.1)], tmp_path / "s.png")
    assert drawn["labels"][0].replace("\n", " ") == long
    assert any("dashed line: chance level" in t for t in drawn["texts"])  # the key of the dashed lines


def test_the_erase_columns_count_how_much_of_the_mask_prles_erase_removes_hand_computed():
    from primary_mask.quality.scores import score_maps, scores_table

    # 4x4 map, positive on the top-left 2x2: 4 3 in the top row, 2 1 below; the mask is the whole top row
    m = torch.zeros(4, 4)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = 4.0, 3.0, 2.0, 1.0
    mask = np.zeros((4, 4), bool)
    mask[0] = True
    masks = {"fake/a.png": mask}

    def maps_of(keys, size):
        return m.expand(len(keys), 4, 4)

    # alpha 1: all 4 positive pixels erased, 2 of them in the mask: half the mask erased, half the erase in it
    row = score_maps("m", maps_of, masks, ["fake/a.png"], alpha_range=(1.0, 1.0))
    assert (row.erased_of_mask, row.mask_in_erased) == (0.5, 0.5)
    # alpha 0.5: floor(0.5 * 4) = 2 pixels, the values 4 and 3, both in the top row: 2 of 4 mask pixels, all inside
    row = score_maps("m", maps_of, masks, ["fake/a.png"], alpha_range=(0.5, 0.5))
    assert (row.erased_of_mask, row.mask_in_erased) == (0.5, 1.0)
    assert "mask erased" in scores_table([row]) and "100.0%" in scores_table([row])
    plain = score_maps("m", maps_of, masks, ["fake/a.png"])
    assert plain.erased_of_mask is None and "mask erased" not in scores_table([plain])

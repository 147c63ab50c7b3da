import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from primary_mask.metrics import binary_metrics, detection_report, video_level


def eer_from_sklearn(y, s):
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    fnr = 1 - tpr
    i = int(np.argmax(fnr <= fpr))
    if i == 0:
        return fpr[0]
    # the crossing of the two rates on the segment between ROC points i-1 and i
    a, b = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
    return fpr[i - 1] + a / (a - b) * (fpr[i] - fpr[i - 1])


@pytest.mark.parametrize("seed", range(8))
def test_equal_to_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    s = rng.random(n) if seed % 2 else np.round(rng.random(n), 1)  # odd seeds: many ties
    m = binary_metrics(y, s)
    assert m["acc"] == pytest.approx(((s >= 0.5) == y).mean())
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["ap"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert m["eer"] == pytest.approx(eer_from_sklearn(y, s), abs=1e-12)


def test_hand_computed_eer_and_perfect_scores():
    assert binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])["eer"] == 0.0
    assert binary_metrics([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])["eer"] == pytest.approx(1.0)
    m = binary_metrics([0, 1, 0, 1], [0.2, 0.4, 0.6, 0.8])  # AUC 0.75
    assert m["auc"] == pytest.approx(0.75) and m["eer"] == pytest.approx(0.5)


def test_one_class_is_reported_not_a_crash():
    m = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(m["auc"]) and "undefined" in m["note"] and m["acc"] == pytest.approx(2 / 3)


def test_video_level_means_per_video_id():
    labels = [1, 1, 0, 0, 1]
    scores = [0.2, 0.8, 0.1, 0.3, 0.9]
    videos = ["Deepfakes/000_003", "Deepfakes/000_003", "youtube/000", "youtube/000", "FaceSwap/000_003"]
    vy, vs, names = video_level(labels, scores, videos)
    assert names == ["Deepfakes/000_003", "FaceSwap/000_003", "youtube/000"]
    assert vy.tolist() == [1, 1, 0] and np.allclose(vs, [0.5, 0.9, 0.2])
    assert detection_report(labels, scores, videos)["video"]["auc"] == 1.0
    with pytest.raises(ValueError, match="both real and fake"):
        video_level([0, 1], [0.1, 0.2], ["v", "v"])


def test_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        binary_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match="0 \\(real\\) or 1"):
        binary_metrics([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        binary_metrics([0, 1], [0.5, float("nan")])


def test_eer_is_the_interpolated_crossing_not_deepfakebench_nearest_vertex():
    # Hand-computed: 3 fakes, 2 reals. From the top threshold down, (FPR, FNR) goes (0, 1), (0, 2/3), (0, 1/3),
    # (1/2, 1/3), (1/2, 0), (1, 0): FNR = FPR = 1/3 on the segment (0, 1/3)-(1/2, 1/3).
    y, s = [0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5]
    assert binary_metrics(y, s)["eer"] == pytest.approx(1 / 3)
    # DeepfakeBench (training/metrics/utils.py): the FPR of the ROC vertex nearest the crossing
    fpr, tpr, _ = roc_curve(y, s)
    assert fpr[np.nanargmin(np.abs((1 - tpr) - fpr))] == pytest.approx(1 / 2)


@pytest.mark.parametrize("seed", range(4))
def test_eer_equals_the_scipy_brentq_recipe(seed):
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq

    rng = np.random.default_rng(100 + seed)
    y = rng.integers(0, 2, 60)
    y[:2] = [0, 1]
    s = rng.random(60) + 0.3 * y
    fpr, tpr, _ = roc_curve(y, s)
    assert binary_metrics(y, s)["eer"] == pytest.approx(brentq(lambda x: 1 - x - interp1d(fpr, tpr)(x), 0, 1), abs=1e-9)

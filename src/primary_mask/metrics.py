"""Detection metrics at frame and video level: ACC (threshold 0.5), AUC, AP, EER. NumPy only.

EER, the definition used here: the rate at which the false-negative rate (fakes scored below the threshold)
equals the false-positive rate, read on the ROC curve joined linearly between its points: at the first ROC
point (from the highest threshold down) where FNR <= FPR, the crossing of FNR - FPR with zero on the segment
from the previous point. It equals ``brentq(lambda x: 1 - x - interp1d(fpr, tpr)(x), 0, 1)``, the common
scipy recipe, and does not depend on which collinear ROC points are kept.

DeepfakeBench (SCLBD/DeepfakeBench ``training/metrics/utils.py``, ``get_test_metrics``) reports
``fpr[nanargmin(|fnr - fpr|)]`` on scikit-learn's ``roc_curve`` (which drops collinear points by default): the
FPR at the ROC *vertex* nearest to the crossing, not the crossing itself. The two agree when a vertex lies on
the crossing (e.g. perfect or perfectly wrong scores) and otherwise differ by up to the ROC step there: with
labels [0, 1, 0, 1, 1] and scores [.1, .2, .3, .4, .5] this module gives 1/3 (FNR stays 1/3 while FPR goes
from 0 to 1/2) and DeepfakeBench 1/2 (``tests/test_metrics.py``). The difference shrinks with the number of
samples; quote which one a table uses. Other DeepfakeBench differences: its ACC counts ``score > 0.5`` as
fake (here ``>= threshold``), and its video-level AUC groups frames by their parent folder name only (the
``video`` ids here keep method and compression apart).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["binary_metrics", "video_level", "detection_report"]


def _as_arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels ({y.size}) and scores ({s.size}) differ in length")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    return y, s


def _roc(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts of true and false positives at each distinct threshold, from the highest score down."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # last index of each run of equal scores
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return tp, fp, y, s


def binary_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict[str, float | str]:
    """ACC at ``threshold``, ROC AUC (ties count one half), average precision (step-wise, as scikit-learn),
    and EER (where the false-negative and false-positive rates cross, linearly interpolated on the ROC; see the
    module docstring for how it relates to DeepfakeBench's).
    With only one class present, AUC, AP and EER are NaN and ``"note"`` says why."""
    y, s = _as_arrays(labels, scores)
    if y.size == 0:
        raise ValueError("no samples to evaluate")
    out: dict[str, float | str] = {"n": int(y.size), "acc": float(((s >= threshold).astype(int) == y).mean())}
    pos, neg = int(y.sum()), int(y.size - y.sum())
    if pos == 0 or neg == 0:
        out.update(
            auc=math.nan,
            ap=math.nan,
            eer=math.nan,
            note=f"only {'fake' if neg == 0 else 'real'} samples: AUC, AP and EER are undefined",
        )
        return out
    ranks = np.empty(y.size)
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # average ranks of ties (1-based)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], y.size]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    out["auc"] = float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))
    tp, fp, _, _ = _roc(y, s)
    precision = tp / (tp + fp)
    recall = tp / pos
    out["ap"] = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    fpr = np.r_[0.0, fp / neg]
    fnr = 1.0 - np.r_[0.0, tp / pos]
    i = int(np.argmax(fnr <= fpr))  # first ROC point where FNR no longer exceeds FPR
    if i == 0:
        out["eer"] = float(fpr[0])
    else:
        d0, d1 = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
        t = d0 / (d0 - d1)
        out["eer"] = float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))
    return out


def video_level(
    labels: Sequence[int], scores: Sequence[float], videos: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Mean score per video id; raises ``ValueError`` when a video mixes labels."""
    y, s = _as_arrays(labels, scores)
    ids = list(videos)
    if len(ids) != y.size:
        raise ValueError(f"videos ({len(ids)}) and labels ({y.size}) differ in length")
    names, inverse = np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)
    counts = np.bincount(inverse)
    mean = np.bincount(inverse, weights=s) / counts
    label_sum = np.bincount(inverse, weights=y)
    mixed = (label_sum != 0) & (label_sum != counts)
    if mixed.any():
        raise ValueError(f"video {names[np.argmax(mixed)]!r} has both real and fake frames")
    return (label_sum > 0).astype(np.int64), mean, list(names)


def detection_report(labels, scores, videos=None, threshold: float = 0.5) -> dict[str, dict]:
    """``{"frame": binary_metrics(...), "video": binary_metrics over per-video mean scores}``."""
    report = {"frame": binary_metrics(labels, scores, threshold)}
    if videos is not None:
        vy, vs, _ = video_level(labels, scores, videos)
        report["video"] = binary_metrics(vy, vs, threshold)
    return report

"""Does the erase tell the detector the label? How well the erase masks alone predict real vs fake (issue #26).

PRLE targets each image's Grad-CAM at its own label (Eq. 4-5) and erases that image's map, so the erased region's
size, shape and place can differ by class: a detector may then classify an erased sample by its hole. This module
draws the masks the eraser would draw (the configured alpha range, the maps as a map source serves them, e.g.
paired) and reports per-class coverage, per-class mean masks and the cross-validated AUC of a small classifier
(L2-regularised logistic regression on the masks area-downsampled to ``size`` x ``size``) predicting the label
from the mask alone: 0.5 means the erase carries no label, 1 that the hole alone gives it away.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf

from primary_mask.functional.refine import refine_mask
from primary_mask.metrics import binary_metrics

__all__ = ["LeakReport", "draw_erase_masks", "erase_leak", "mask_label_auc", "store_leak"]


def draw_erase_masks(
    maps: torch.Tensor, alpha_range: Sequence[float] = (0.0, 1.0), generator: torch.Generator | None = None
) -> torch.Tensor:
    """The masks PRLE's dynamic stage draws for ``maps`` (N, h, w) >= 0 at their own size: alpha ~ U(alpha_range)
    per map and the ``floor(alpha |V|)`` most attended pixels (Eq. 9-10). (N, h, w) bool. The erase at image size
    is the same rule on the bilinearly resized map."""
    from primary_mask.transforms.settings import EraseSettings

    settings = EraseSettings(1.0, alpha_range)
    u = torch.rand(maps.shape[0], generator=generator, dtype=torch.float64)
    return refine_mask(maps.float(), settings.alpha(u))


def _features(masks: torch.Tensor, size: int) -> torch.Tensor:
    """(N, h, w) bool -> (N, size * size) float: the share of each cell that is erased."""
    return nnf.adaptive_avg_pool2d(masks.float().unsqueeze(1), size).flatten(1)


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float, steps: int = 200) -> torch.Tensor:
    """Weights (d + 1,) of an L2-regularised logistic regression (mean loss + l2/2 |w|^2, bias free), by L-BFGS."""
    w = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = x @ w[:-1] + w[-1]
        loss = nnf.binary_cross_entropy_with_logits(logits, y) + 0.5 * l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def mask_label_auc(
    masks: torch.Tensor,
    labels: Sequence[int],
    folds: int = 5,
    size: int = 16,
    l2: float = 1e-2,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> tuple[float, list[float]]:
    """Cross-validated AUC of predicting ``labels`` (0 real, 1 fake) from ``masks`` (N, h, w) bool alone:
    ``folds`` folds (seeded), features standardised on each training fold. Without ``groups`` the folds are
    stratified by label; with them, the masks of one group stay in one fold (give the masks made from one map one
    group: a real erased by its fake's map and that fake would otherwise be learnt from one fold and tested in
    another, with the labels swapped). ``(mean AUC, per-fold AUCs)``; ``ValueError`` unless both classes have at
    least ``folds`` masks."""
    y = torch.as_tensor(list(labels), dtype=torch.float64)
    if masks.shape[0] != y.numel():
        raise ValueError(f"{masks.shape[0]} masks for {y.numel()} labels")
    counts = [int((y == c).sum()) for c in (0, 1)]
    if min(counts) < folds:
        raise ValueError(f"need at least {folds} masks of each class, got {counts[0]} real and {counts[1]} fake")
    x = _features(masks, size).double()
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), np.int64)
    if groups is None:
        for c in (0, 1):
            idx = np.flatnonzero(y.numpy() == c)
            fold_of[rng.permutation(idx)] = np.arange(len(idx)) % folds
    else:
        names = list(dict.fromkeys(groups))
        of_group = dict(zip(names, np.arange(len(names))[rng.permutation(len(names))] % folds))
        fold_of[:] = [of_group[g] for g in groups]
    aucs = []
    for k in range(folds):
        test, train = fold_of == k, fold_of != k
        if len(set(y[test].tolist())) < 2 or len(set(y[train].tolist())) < 2:
            raise ValueError(
                f"fold {k} of {folds} holds one class only: too few distinct maps to cross-validate ({len(y)} masks)"
            )
        mean, std = x[train].mean(0), x[train].std(0).clamp_min(1e-6)
        w = _fit_logistic((x[train] - mean) / std, y[train], l2)
        scores = ((x[test] - mean) / std) @ w[:-1] + w[-1]
        aucs.append(float(binary_metrics(y[test].numpy(), scores.numpy())["auc"]))
    return float(np.mean(aucs)), aucs


@dataclass
class LeakReport:
    """``auc`` (cross-validated, per-fold in ``fold_aucs``) of the label from the erase masks alone; per label
    (0 real, 1 fake): ``count``, ``coverage`` (mean, 10th, 50th, 90th percentile of the erased share) and
    ``mean_mask`` ((h, w) float: how often each pixel is erased); ``served`` says how the maps were looked up."""

    auc: float
    fold_aucs: list[float]
    count: dict[int, int] = field(default_factory=dict)
    coverage: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    mean_mask: dict[int, torch.Tensor] = field(default_factory=dict)
    served: str = ""

    def summary(self) -> str:
        names = {0: "real", 1: "fake"}
        parts = [
            f"{names[c]} {100 * m:.0f}% (10-90%: {100 * lo:.0f}-{100 * hi:.0f}%)"
            for c, (m, lo, _, hi) in sorted(self.coverage.items())
        ]
        reading = (
            "the erase carries no label" if self.auc < 0.55 else "the hole alone tells the label" if self.auc > 0.9
            else "the hole tells the label in part"
        )  # fmt: skip
        return (
            f"erase leak: the masks alone predict real/fake with cross-validated AUC {self.auc:.3f} ({reading}; "
            f"0.5: no label in the erase, 1.0: the hole alone gives it away); erased share when erased: "
            + ", ".join(parts)
        )


def erase_leak(
    maps: Any,
    keys: Sequence[str],
    labels: Sequence[int],
    alpha_range: Sequence[float] = (0.0, 1.0),
    pairs: Any = None,
    prefix: str = "",
    unpaired: str = "own",
    draws: int = 1,
    seed: int = 0,
    size: int = 16,
    folds: int = 5,
    batch: int = 1024,
) -> LeakReport:
    """The leak of the erase masks of ``keys`` (labels 0 / 1) with the maps of ``maps`` (a store or any map source):
    ``draws`` masks per key (alpha drawn each time, seeded), then :func:`mask_label_auc`, the masks made from one map
    (the same values, whatever its key) kept in one fold. ``pairs`` (a pairs CSV,
    :class:`~primary_mask.data.pairs.Pair` s or ``real -> [fakes]``, with ``prefix`` and ``unpaired`` as
    :class:`~primary_mask.data.pairing.PairedMaps` takes them) erases each real with one of its fakes' maps: the
    paired rule. Keys without a map are left out. All maps must have one size."""
    from primary_mask.data.pairing import PairedMaps

    generator = torch.Generator().manual_seed(seed)
    paired = PairedMaps(maps, pairs, prefix, unpaired, generator) if pairs is not None else None
    kept = [(k, int(y)) for k, y in zip(keys, labels) if k in (paired or maps) and int(y) in (0, 1)]
    if not kept:
        raise ValueError("no key of the list has a map: nothing to measure")
    masks, ys, groups = [], [], []
    for _ in range(draws):
        for start in range(0, len(kept), batch):
            chunk = kept[start : start + batch]
            sources = [paired.source_key(k) if paired else k for k, _ in chunk]
            read = [torch.as_tensor(maps[source]) for source in sources]
            stacked = torch.stack([m.reshape(m.shape[-2:]).float() for m in read])
            masks.append(draw_erase_masks(stacked, alpha_range, generator))
            ys += [y for _, y in chunk]
            # one group per distinct map: a real and a fake given the same map (paired, or an oracle store that
            # holds one mask for both) stay in one fold
            groups += [hashlib.sha1(m.numpy().tobytes()).hexdigest() for m in stacked]
    all_masks = torch.cat(masks)
    auc, fold_aucs = mask_label_auc(all_masks, ys, folds=folds, size=size, seed=seed, groups=groups)
    report = LeakReport(auc, fold_aucs, served=paired.report(*zip(*kept)).summary() if paired else "own maps")
    y = torch.tensor(ys)
    for c in (0, 1):
        sel = all_masks[y == c]
        if not len(sel):
            continue
        share = sel.flatten(1).float().mean(1).numpy()
        report.count[c] = int(len(sel)) // draws
        report.coverage[c] = (float(share.mean()), *(float(q) for q in np.percentile(share, [10, 50, 90])))
        report.mean_mask[c] = sel.float().mean(0)
    return report


def store_leak(store: str | os.PathLike, list_file: str | os.PathLike | None = None, **options: Any) -> LeakReport:
    """:func:`erase_leak` of the store at ``store`` (what ``primary-mask leak`` measures): the keys and labels of
    ``list_file`` (a CSV ``path,label[,video]``), or every key of the store labelled by its real/ or fake/ folder;
    ``options`` go to :func:`erase_leak` (alpha_range, pairs, prefix, unpaired, draws, seed)."""
    from primary_mask.data.image_list import label_from_path, read_list_file
    from primary_mask.store import PrimaryMapStore

    maps = PrimaryMapStore(store)
    if list_file is not None:
        items = read_list_file(".", list_file)
        keys, labels = [it.key for it in items], [it.label for it in items]
    else:
        keys = sorted(maps.keys())
        labels = [label_from_path(k) for k in keys]
    return erase_leak(maps, keys, labels, **options)

"""Scoring maps against the truth: coverage (Table I) and how well a map points at the manipulated pixels.

Per map: ``coverage`` (share of pixels > 0, at the map's own resolution). Per fake with a manipulation mask,
after resizing the map bilinearly to the mask's size (as the erase does): ``auc`` (per-pixel ROC-AUC of the map
as a score for "manipulated", ties counted one half), ``top_precision`` (share of manipulated pixels among the
map's top 10%), ``pointing`` (is the map's maximum inside the mask). Ties are broken at random, in expectation:
the top-10% precision counts the tied pixels at the cut by their mean, and the pointing game scores the share
of the maximal pixels that are inside the mask (an all-zero map scores the mask's share). Masks with no
manipulated pixel, or nothing else, are left out of these three (the AUC is undefined there).

All kernels take ``(B, N)`` tensors (maps flattened) on any device and return ``(B,)`` float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from primary_mask.functional.erase import resize_maps

__all__ = [
    "MapScores",
    "coverage",
    "gaussian_map",
    "landmark_parts_map",
    "pixel_auc",
    "pointing_game",
    "score_maps",
    "score_store",
    "scores_table",
    "top_precision",
]

TOP_SHARE = 0.1


def _check(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.ndim != 2 or maps.shape != masks.shape:
        raise ValueError(f"maps and masks must both be (B, N), got {tuple(maps.shape)} and {tuple(masks.shape)}")
    if masks.dtype != torch.bool:
        raise TypeError(f"masks must be bool, got {masks.dtype}")


def coverage(maps: torch.Tensor) -> torch.Tensor:
    """Share of positive pixels of each map: ``(B, ...)`` -> ``(B,)`` float64."""
    return (maps.reshape(maps.shape[0], -1) > 0).double().mean(dim=1)


def pixel_auc(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-row ROC-AUC of ``maps`` (B, N) as scores for ``masks`` (B, N) bool (Mann-Whitney U with mid-ranks, so
    ties count one half); NaN for a row whose mask is all False or all True."""
    _check(maps, masks)
    n = maps.shape[1]
    values, order = torch.sort(maps.double(), dim=1, stable=True)
    pos = torch.arange(n, device=maps.device).expand_as(values)
    new = torch.ones_like(values, dtype=torch.bool)
    new[:, 1:] = values[:, 1:] != values[:, :-1]
    first = torch.cummax(torch.where(new, pos, torch.zeros_like(pos)), dim=1).values  # start of each tie group
    last_flag = torch.ones_like(new)
    last_flag[:, :-1] = new[:, 1:]
    big = torch.full_like(pos, n - 1)
    last = torch.cummin(torch.where(last_flag, pos, big).flip(1), dim=1).values.flip(1)  # end of each tie group
    ranks = (first + last).double() / 2 + 1
    positive = torch.gather(masks, 1, order)
    n_pos = positive.sum(dim=1).double()
    n_neg = n - n_pos
    rank_sum = (ranks * positive).sum(dim=1)
    auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return torch.where((n_pos > 0) & (n_neg > 0), auc, torch.full_like(auc, float("nan")))


def top_precision(maps: torch.Tensor, masks: torch.Tensor, share: float = TOP_SHARE) -> torch.Tensor:
    """Expected share of True mask pixels among the ``k = ceil(share * N)`` largest values of each map, ties at
    the k-th value broken at random: (hits above the cut + free slots * mask share of the tied pixels) / k."""
    _check(maps, masks)
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    k = max(1, math.ceil(share * maps.shape[1] - 1e-9))
    maps = maps.double()
    cut = torch.topk(maps, k, dim=1).values[:, -1:]
    above, tied = maps > cut, maps == cut
    hits = (above & masks).sum(dim=1).double()
    free = k - above.sum(dim=1).double()
    tied_share = (tied & masks).sum(dim=1).double() / tied.sum(dim=1).double()
    return (hits + free * tied_share) / k


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Expected hit of the pointing game: the share of each map's maximal pixels that are inside the mask."""
    _check(maps, masks)
    top = maps == maps.max(dim=1, keepdim=True).values
    return (top & masks).sum(dim=1).double() / top.sum(dim=1).double()


def gaussian_map(size: tuple[int, int], sigma: float = 0.25) -> torch.Tensor:
    """A centred isotropic Gaussian on an (H, W) grid, peak 1, ``sigma`` as a share of the shorter side."""
    h, w = size
    y = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
    x = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
    s = sigma * min(h, w)
    return torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s)).float()


def landmark_parts_map(
    points: Any, size: tuple[int, int], parts: Sequence[str] = ("eyes", "nose", "mouth")
) -> torch.Tensor:
    """1 inside the convex hull of each facial part of 68 (x, y) landmarks (dlib / iBUG order), 0 elsewhere, on
    an (H, W) grid in the landmarks' pixel coordinates: the region the Landmark ablation erases (margin 0,
    ``face_geometry.part_mask``). ``ValueError`` unless the points are 68 finite (x, y) points."""
    from primary_mask.face_geometry import check_68, parts_union

    return torch.from_numpy(parts_union(check_68(points), size, parts).astype(np.float32))


@dataclass
class MapScores:
    """One row of the table: ``maps`` maps scored for coverage, ``masked`` fakes scored against their mask
    (means over them; NaN when none), ``mask_share`` the masks' mean share (chance level of top-10% precision
    and pointing), ``note`` a remark (e.g. why the row is missing). With an alpha range, ``erased_of_mask``: the mean
    share of each mask that PRLE's erase of the map removes (alpha drawn per fake, Eq. 9-10 at the mask's size),
    and ``mask_in_erased``: the mean share of the erased pixels inside the mask (fakes with an empty erase left
    out)."""

    source: str
    maps: int = 0
    coverage: float = float("nan")
    masked: int = 0
    auc: float = float("nan")
    top_precision: float = float("nan")
    pointing: float = float("nan")
    mask_share: float = float("nan")
    erased_of_mask: float | None = None  # None: not measured (no alpha range given)
    mask_in_erased: float | None = None
    note: str = ""


def score_maps(
    source: str,
    maps_of: Callable[[Sequence[str], tuple[int, int]], torch.Tensor],
    masks: Mapping[str, np.ndarray],
    keys: Sequence[str],
    batch_size: int = 64,
    device: str | torch.device | None = None,
    alpha_range: Sequence[float] | None = None,
    generator: torch.Generator | None = None,
) -> MapScores:
    """Score the maps ``maps_of(keys, mask_size) -> (B, h, w)`` float (or uint8) on ``keys`` whose masks
    (``masks[key]`` (H, W) bool) are all scored; the maps are resized bilinearly to the mask size. Batches of
    equal mask size are processed together; coverage is taken on the maps as given. ``alpha_range``: also how
    much of each mask PRLE's erase removes (:class:`MapScores`), alphas drawn from ``generator``."""
    from primary_mask.quality.leak import draw_erase_masks

    row = MapScores(source)
    if alpha_range is not None:  # measured: NaN until a fake with a mask is scored
        row.erased_of_mask = row.mask_in_erased = float("nan")
    cov, auc, top, point, share, recall, precision = [], [], [], [], [], [], []
    keys = list(keys)
    for start in range(0, len(keys), batch_size):
        chunk = keys[start : start + batch_size]
        truth = [np.asarray(masks[k], dtype=bool) for k in chunk]
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, m in enumerate(truth):
            by_size.setdefault(m.shape, []).append(i)
        for size, idx in by_size.items():
            maps = torch.as_tensor(maps_of([chunk[i] for i in idx], size), device=device)
            if maps.ndim != 3:
                raise ValueError(f"{source}: maps must be (B, h, w), got {tuple(maps.shape)}")
            cov.append(coverage(maps).cpu())
            resized = resize_maps(maps, size)
            flat = resized.reshape(len(idx), -1)
            target = torch.from_numpy(np.stack([truth[i] for i in idx]).reshape(len(idx), -1)).to(flat.device)
            n_pos = target.sum(dim=1)
            keep = (n_pos > 0) & (n_pos < target.shape[1])
            flat, target = flat[keep], target[keep]
            if alpha_range is not None and len(flat):
                erased = draw_erase_masks(resized[keep].cpu(), alpha_range, generator).reshape(len(flat), -1)
                hit = (erased & target.cpu()).sum(dim=1).double()
                recall.append(hit / target.cpu().sum(dim=1).double())
                n_erased = erased.sum(dim=1).double()
                precision.append(hit[n_erased > 0] / n_erased[n_erased > 0])
            auc.append(pixel_auc(flat, target).cpu())
            top.append(top_precision(flat, target).cpu())
            point.append(pointing_game(flat, target).cpu())
            share.append(target.double().mean(dim=1).cpu())
    if cov:
        c, a = torch.cat(cov), torch.cat(auc)
        row.maps, row.coverage, row.masked = len(c), float(c.mean()), len(a)
        if len(a):
            row.auc, row.top_precision = float(a.mean()), float(torch.cat(top).mean())
            row.pointing, row.mask_share = float(torch.cat(point).mean()), float(torch.cat(share).mean())
        if recall:
            row.erased_of_mask = float(torch.cat(recall).mean())
            kept = torch.cat(precision)
            row.mask_in_erased = float(kept.mean()) if len(kept) else float("nan")
    return row


def score_store(
    store: Any,
    masks: Mapping[str, np.ndarray],
    landmarks: Mapping[str, Any] | None = None,
    mask_prefix: str = "",
    seed: int = 0,
    sigma: float = 0.25,
    batch_size: int = 64,
    progress: bool = False,
    alpha_range: Sequence[float] | None = None,
) -> tuple[list[MapScores], list[str]]:
    """Score a map store (``store.get_batch(keys)``, ``store.keys()``, e.g. a :class:`PrimaryMapStore`) and the
    three reference maps against the manipulation masks of its fakes.

    The mask of store key ``K`` is ``masks[mask_prefix + K]`` (``mask_prefix`` bridges two roots, e.g.
    ``"train/"`` for a store baked from ``dfdc/train`` and masks keyed from ``dfdc``); landmarks are keyed like
    the store. The store's coverage is taken over all its maps (Table I), its localization scores over the keys
    with a mask; the references are scored on the keys with a mask: a centred Gaussian (``sigma``, share of the
    side), a uniform random map drawn from ``seed``, and the eyes/nose/mouth hulls (only when ``landmarks`` is
    given; keys without landmarks are left out of that row and counted in its note). ``alpha_range``: also how much
    of each mask PRLE's erase of each source's map removes (alphas seeded by ``seed``).

    Returns (rows, notes). ``ValueError`` when no store key has a mask, naming an example of each key style.
    """
    from tqdm import tqdm

    all_keys = sorted(store.keys())
    keyed = [k for k in all_keys if mask_prefix + k in masks]
    if not keyed:
        example_mask = next(iter(masks), None)
        raise ValueError(
            f"no store key has a mask: store keys look like {all_keys[:1]}, masks like {[example_mask]} "
            f"(with mask_prefix {mask_prefix!r}); pass the prefix that joins them"
        )
    notes = [f"{len(keyed)} of {len(all_keys)} store maps have a manipulation mask"]
    truth = _PrefixedMasks(masks, mask_prefix)

    def stored(keys, size):
        return store.get_batch(keys)

    erase_gen = torch.Generator().manual_seed(seed + 1)  # apart from the random reference's draws
    erase = {"alpha_range": alpha_range, "generator": erase_gen}
    rows = [score_maps(f"store {getattr(store, 'path', '')}".strip(), stored, truth, keyed, batch_size, **erase)]
    rest = [k for k in all_keys if mask_prefix + k not in masks]
    if rest:  # Table I's coverage is over every map of the store, real or fake, masked or not
        cov = [coverage(store.get_batch(rest[i : i + 256])) for i in range(0, len(rest), 256)]
        n = rows[0].maps + len(rest)
        rows[0].coverage = (rows[0].coverage * rows[0].maps + float(torch.cat(cov).sum())) / n
        rows[0].maps = n

    gen = torch.Generator().manual_seed(seed)
    references: list[tuple[str, Callable, list[str], str]] = [
        (
            f"centred Gaussian (sigma {sigma:g})",
            lambda keys, size: gaussian_map(size, sigma).expand(len(keys), *size),
            keyed,
            "",
        ),
        (f"uniform random (seed {seed})", lambda keys, size: torch.rand(len(keys), *size, generator=gen), keyed, ""),
    ]
    if landmarks is not None:
        have = [k for k in keyed if k in landmarks]
        note = f"{len(keyed) - len(have)} masked keys without landmarks left out" if len(have) < len(keyed) else ""

        def parts(keys, size):
            return torch.stack([landmark_parts_map(landmarks[k], size) for k in keys])

        references.append(("landmark parts (eyes/nose/mouth hulls)", parts, have, note))
    else:
        notes.append("landmark parts: skipped (no landmarks given)")
    for name, fn, keys, note in tqdm(references, desc="references", disable=not progress):
        row = score_maps(name, fn, truth, keys, batch_size, **erase) if keys else MapScores(name)
        row.note = note or ("" if keys else "no masked key has landmarks")
        rows.append(row)
    return rows, notes


class _PrefixedMasks(Mapping):
    def __init__(self, masks: Mapping[str, np.ndarray], prefix: str) -> None:
        self.masks, self.prefix = masks, prefix

    def __getitem__(self, key: str) -> np.ndarray:
        return self.masks[self.prefix + key]

    def __iter__(self):
        return (k[len(self.prefix) :] for k in self.masks if k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def scores_table(rows: Sequence[MapScores]) -> str:
    """A fixed-width text table: one row per map source."""

    def pct(v: float | None) -> str:
        return "-" if v is None or math.isnan(v) else f"{100 * v:.1f}%"

    def num(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.3f}"

    erase = any(r.erased_of_mask is not None for r in rows)
    head = (
        f"{'map source':44s} {'maps':>6s} {'coverage':>9s} {'fakes':>6s} {'AUC':>6s} {'top-10%':>8s} {'pointing':>8s}"
    ) + (f" {'mask erased':>11s} {'erase in mask':>13s}" if erase else "")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.source[:44]:44s} {r.maps:6d} {pct(r.coverage):>9s} {r.masked:6d} {num(r.auc):>6s} "
            f"{pct(r.top_precision):>8s} {pct(r.pointing):>8s}"
            + (f" {pct(r.erased_of_mask):>11s} {pct(r.mask_in_erased):>13s}" if erase else "")
            + (f"  ({r.note})" if r.note else "")
        )
    share = next((r.mask_share for r in rows if not math.isnan(r.mask_share)), float("nan"))
    if not math.isnan(share):
        lines.append(f"chance level of top-10% precision and pointing: the masks' mean share, {pct(share)}")
    if erase:
        lines.append(
            "mask erased: the share of a fake's mask that PRLE's erase of its map removes (alpha drawn per fake); "
            "erase in mask: the share of the erased pixels inside the mask"
        )
    return "\n".join(lines)

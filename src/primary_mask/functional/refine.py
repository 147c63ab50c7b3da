"""Dynamic exploitation, Eq. 9-12 of the paper: keep the top-alpha share of a map's positive pixels."""

from __future__ import annotations

import math

import torch

from primary_mask._checks import check_alpha, check_map_dtype_rank, check_probability
from primary_mask.functional._compare import compare_to_float, exact_count_like

__all__ = ["refine_mask"]

_BUCKETS = 1024  # bucket 0 holds exactly the zeros; positives fall in 1 .. _BUCKETS - 1


def _as_float_rows(maps: torch.Tensor) -> torch.Tensor:
    """Flatten to (B, N) floating rows (a single (H, W) map gives one row); expanded/strided inputs too."""
    flat = maps.reshape(maps.shape[0] if maps.ndim == 3 else 1, -1).contiguous()
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.to(torch.float32)  # exact for uint8, float16 and bfloat16
    return flat


def _check_range(row_min: float, row_max: float) -> None:
    if not (math.isfinite(row_min) and math.isfinite(row_max)):  # NaN propagates into both
        raise ValueError("maps contains NaN or inf values; primary-region maps must be finite and >= 0")
    if row_min < 0:
        raise ValueError(f"maps contains negative values (min {row_min:.4g}); maps must be >= 0")


def _validated_rows(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N) floating rows and their row maxima; reject NaN/inf/negatives."""
    flat = _as_float_rows(maps)
    row_min, row_max = flat.amin(dim=1), flat.amax(dim=1)
    _check_range(row_min.min().item(), row_max.max().item())
    return flat, row_max


def _refine_one(flat: torch.Tensor, alpha: float) -> tuple[torch.Tensor, int]:
    """One validated (N,) map: the mask and k. The k-th largest positive value by ``kthvalue`` (a selection, no
    sort), then the values above it and the first of its ties. It takes fewer passes over the map than the
    bucketed batch path, and a per-sample transform refines one map at a time. Comparisons go into float
    buffers (see :mod:`primary_mask.functional._compare`); counts are their sums, so float32 maps of 2**24 pixels
    or more count in float64."""
    counts = exact_count_like(flat)
    positive = compare_to_float(torch.gt, flat, 0, like=counts)
    n_pos = int(positive.sum())
    k = math.floor(alpha * n_pos)
    if k == 0 or k == n_pos:
        return (positive.bool() if k else torch.zeros(flat.shape, dtype=torch.bool, device=flat.device)), k
    # The k-th largest positive is the k-th largest overall (the rest are 0): select from the whole map when
    # positives are the bulk of it, compact them first when they are few (the selection's time grows with its input).
    candidates = flat if 4 * n_pos > flat.numel() else torch.masked_select(flat, positive.bool())
    threshold = candidates.kthvalue(candidates.numel() - k + 1).values
    mask = compare_to_float(torch.gt, flat, threshold, like=counts)
    missing = k - int(mask.sum())
    if missing > 0:  # ties at the threshold: the `missing` lowest indices among them
        ties = compare_to_float(torch.eq, flat, threshold, like=counts)
        if missing < int(ties.sum()):  # keep only some ties: cut after the missing-th one in index order
            # (a running count of 0/1 floats is exact in the count dtype, see exact_count_like)
            ties[int(torch.searchsorted(ties.cumsum(0), float(missing))) + 1 :] = 0
        mask += ties
    return mask.bool(), k


def refine_single_map(map_: torch.Tensor, alpha: float) -> tuple[torch.Tensor, int]:
    """:func:`refine_mask` of one ``(H, W)`` map with a float alpha, plus k (the number of True pixels), so that
    a transform knows whether it erased anything without counting the mask again."""
    check_map_dtype_rank(map_, "maps", ranks=(2,))
    a = check_probability(alpha, "alpha")
    if map_.numel() == 0:
        return torch.zeros(map_.shape, dtype=torch.bool, device=map_.device), 0
    mask, k = _refine_one(_validated_rows(map_)[0][0], a)
    return mask.reshape(map_.shape), k


def refine_mask(maps: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """Return a bool mask of the ``floor(alpha * |V|)`` largest positive pixels of each map.

    Args:
        maps: ``(H, W)`` or ``(B, H, W)`` tensor, uint8 or floating point, finite and ``>= 0``, on any device.
        alpha: a float in [0, 1], or a ``(B,)`` tensor of per-map values in [0, 1] for batched maps.

    Returns:
        ``torch.bool`` tensor shaped like ``maps`` on the same device. For each map, V is the set of pixels
        with value > 0 and exactly ``k = floor(alpha * |V|)`` pixels are True: the k largest of V, ties
        broken towards the lower row-major index. A map without positive pixels gives an all-False mask.
        ``alpha * |V|`` is computed in float64 (a float32 alpha tensor is converted exactly first).

    Raises:
        TypeError / ValueError naming ``maps`` or ``alpha`` for wrong types, ranks, NaN/inf or negative
        values, alpha outside [0, 1] or an alpha batch that does not match.

    Cost: O(H*W) per map and no full sort. A single map uses a selection (``kthvalue``) of its k-th largest
    positive value. A batch goes
    into 1024 order-preserving buckets per map (ceil of value * 1023 / map max), a histogram finds the bucket
    holding the k-th largest value, and only that bucket's members are sorted to find the exact threshold:
    vectorized over the batch with a per-map k.
    """
    check_map_dtype_rank(maps, "maps", ranks=(2, 3))
    if maps.ndim == 2 or maps.shape[0] == 1:  # one map: the selection path, a float alpha stays in Python
        if isinstance(alpha, torch.Tensor):
            alpha = float(check_alpha(alpha, None if maps.ndim == 2 else 1).reshape(-1)[0])
        return refine_single_map(maps.reshape(maps.shape[-2:]), alpha)[0].reshape(maps.shape)
    a = check_alpha(alpha, maps.shape[0]).to(maps.device)
    if maps.numel() == 0:
        return torch.zeros(maps.shape, dtype=torch.bool, device=maps.device)
    flat, row_max = _validated_rows(maps)
    rows, n = flat.shape
    device = flat.device

    # Order-preserving buckets: scaling by a positive constant and ceil never swap two values, so a higher
    # bucket means a strictly higher value; ceil keeps every positive value out of bucket 0.
    scale = torch.where(row_max > 0, (_BUCKETS - 1) / row_max, torch.zeros_like(row_max)).unsqueeze(1)
    bucket = (flat * scale).ceil_().clamp_(max=_BUCKETS - 1)
    first_bucket = torch.arange(rows, device=device).unsqueeze(1) * _BUCKETS  # row r's histogram starts here
    if flat.dtype == torch.float64 or bool((row_max > 1.0e3).any()):
        # value * scale can underflow to 0 for a tiny positive value when the map's range is huge; such a
        # value still belongs to a positive bucket. (Impossible for float32 maps with max <= 1e3.)
        bucket = torch.where(flat > 0, bucket.clamp(min=1), bucket)
    bucket = bucket.to(torch.int64) + first_bucket
    counts = torch.bincount(bucket.view(-1), minlength=rows * _BUCKETS).view(rows, _BUCKETS)

    positives = n - counts[:, 0]
    k = torch.floor(a.reshape(-1) * positives.to(torch.float64)).to(torch.int64).expand(rows)
    at_or_above = counts.flip(1).cumsum(1).flip(1)
    kk = k.clamp(min=1).unsqueeze(1)
    boundary = ((at_or_above >= kk).sum(1, keepdim=True) - 1).clamp(min=1)  # k > 0 -> a positive bucket
    in_boundary = counts.gather(1, boundary).squeeze(1)
    above = at_or_above.gather(1, boundary).squeeze(1) - in_boundary
    need = k - above  # how many boundary-bucket members are kept (rows with k == 0 are dropped below)

    # Compact list of the boundary bucket's members, in row-major order.
    cand_lin = torch.nonzero((bucket == boundary + first_bucket).view(-1)).squeeze(1)
    cand_row = torch.div(cand_lin, n, rounding_mode="floor")
    cand_val = flat.view(-1)[cand_lin]
    start = torch.cumsum(in_boundary, 0) - in_boundary  # each row's first member in the list

    # Exact threshold: the need-th largest member. A bucket of one value (binary maps, plateaus) needs
    # no sort; otherwise sort that row's members by value, descending.
    low = torch.full((rows,), float("inf"), dtype=flat.dtype, device=device)
    low = low.scatter_reduce(0, cand_row, cand_val, "amin")
    high = torch.zeros(rows, dtype=flat.dtype, device=device).scatter_reduce(0, cand_row, cand_val, "amax")
    threshold = high.clone()
    mixed = (low < high) & (k > 0)
    if bool(mixed.any()):
        sel = mixed[cand_row]
        sub_row, sub_val = cand_row[sel], cand_val[sel]
        order = torch.sort(sub_val, descending=True).indices
        order = order[torch.sort(sub_row[order], stable=True).indices]  # by row, then value descending
        sub_count = torch.zeros(rows, dtype=torch.int64, device=device).index_add_(0, sub_row, torch.ones_like(sub_row))
        sub_start = torch.cumsum(sub_count, 0) - sub_count
        pick = (sub_start + need - 1).clamp(min=0, max=max(sub_val.numel() - 1, 0))
        threshold = torch.where(mixed, sub_val[order][pick], threshold)
    threshold = torch.where(k > 0, threshold, torch.full_like(threshold, float("inf")))

    # Everything above the threshold is kept; members equal to it fill the remaining places by index.
    mask = flat > threshold.unsqueeze(1)
    cand_thr = threshold[cand_row]
    greater_in_b = torch.zeros(rows, dtype=torch.int64, device=device).index_add_(
        0, cand_row, (cand_val > cand_thr).to(torch.int64)
    )
    is_tie = (cand_val == cand_thr).to(torch.int64)
    tie_cum = torch.cumsum(is_tie, 0)
    tie_rank = tie_cum - (tie_cum - is_tie)[start[cand_row]]  # 1-based rank among the row's ties
    keep_tie = is_tie.bool() & (tie_rank <= (need - greater_in_b)[cand_row])
    mask.view(-1)[cand_lin[keep_tie]] = True
    return mask.reshape(maps.shape)

"""Comparisons written as 0/1 into a float buffer.

:func:`compare_to_float` writes a comparison as 0.0/1.0 into a floating buffer rather than a bool tensor, and a
count is that buffer's ``sum``: exact while the count fits the mantissa (below 2**24 elements in float32, 2**53
in float64; :func:`exact_count_like` picks the dtype). ``.bool()`` turns the buffer into a mask when one is
needed. The reason is speed: on some CPU builds a comparison with a bool result, and ``count_nonzero`` over it,
is not vectorized, while the same comparison into a float buffer is; on CUDA the two cost the same. Measurements
are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["compare_to_float", "exact_count_like"]


def compare_to_float(
    compare: Callable[..., torch.Tensor], x: torch.Tensor, value: float | torch.Tensor, like: torch.Tensor | None = None
) -> torch.Tensor:
    """``compare(x, value)`` (e.g. ``torch.gt``) as 0.0/1.0, in a new buffer shaped and typed like ``like``
    (default: ``x``, which must then be floating point)."""
    return compare(x, value, out=torch.empty_like(x if like is None else like))


def exact_count_like(x: torch.Tensor) -> torch.Tensor:
    """A ``like`` for :func:`compare_to_float` whose buffers sum to exact counts: ``x`` itself when it is float64,
    or float32 with fewer than 2**24 elements; otherwise an uninitialised tensor shaped like ``x`` in float32
    (never half precision, whose sums stop being exact past 2048) or, from 2**24 elements, float64."""
    dtype = torch.float64 if x.dtype == torch.float64 or x.numel() >= 2**24 else torch.float32
    return x if x.dtype == dtype else x.new_empty(x.shape, dtype=dtype)

"""The sampled k-th largest selection and the n-th tie search, against plain Python statements of them."""

import pytest
import torch

from primary_mask.functional import _select
from primary_mask.functional._select import kth_largest
from primary_mask.functional.refine import _index_of_nth_one


def kth_largest_reference(values: torch.Tensor, k: int) -> float:
    return sorted(values.tolist(), reverse=True)[k - 1]


def sample_step(n: int) -> int:
    step = n // _select._SAMPLE
    return step - (1 - step % 2)


def check_all_ks(values: torch.Tensor, ks) -> None:
    ordered = sorted(values.tolist(), reverse=True)
    for k in ks:
        got = kth_largest(values, k)
        assert got.ndim == 0 and got.dtype == values.dtype
        assert float(got) == ordered[k - 1], k


def ks_for(n: int) -> list[int]:
    return sorted(k for k in {1, 2, n // 100 + 1, n // 3, n // 2, (9 * n) // 10, n - 1, n} if 1 <= k <= n)


@pytest.mark.parametrize("n", [1, 7, 4 * 4096, 4 * 4096 + 1, 65_536, 70_001])
def test_random_values_every_rank_class(n, gen):
    values = torch.rand(n, generator=gen)
    check_all_ks(values, ks_for(n))


def test_quantised_values_with_many_ties(gen):
    # like a uint8 store map upsampled: few distinct values, so the answer sits among many equal values
    values = (torch.rand(65_536, generator=gen) * 12).floor() / 12
    check_all_ks(values, ks_for(values.numel()))


def test_one_value_everywhere_and_zeros_below():
    check_all_ks(torch.full((50_000,), 0.25), [1, 25_000, 50_000])
    values = torch.cat([torch.full((40_000,), 0.5), torch.zeros(30_000)])
    check_all_ks(values, [1, 39_999, 40_000, 40_001, 70_000])


def test_sample_that_holds_only_the_largest_values_falls_back(gen):
    # every sampled position holds one of the largest values: the bracket sits too high for most k
    n = 65_536
    values = torch.rand(n, generator=gen)
    values[:: sample_step(n)] += 10.0
    check_all_ks(values, ks_for(n))


def test_sample_that_holds_only_the_smallest_values_falls_back(gen):
    n = 65_536
    values = torch.rand(n, generator=gen) + 10.0
    values[:: sample_step(n)] -= 10.0
    check_all_ks(values, ks_for(n))


def test_half_precision_counts_stay_exact(gen):
    # 0/1 sums in float16 are inexact past 2048: the counts must not be taken in the values' dtype
    values = (torch.rand(40_000, generator=gen) * 4).half()
    check_all_ks(values, ks_for(values.numel()))


def test_float64_and_negative_values(gen):
    values = torch.randn(30_000, generator=gen, dtype=torch.float64) * 1e6
    check_all_ks(values, ks_for(values.numel()))


def test_non_contiguous_input(gen):
    values = torch.rand(40_000, 2, generator=gen)[:, 1]  # a strided view
    assert not values.is_contiguous()
    check_all_ks(values, ks_for(values.numel()))


@pytest.mark.parametrize("k", [0, 11])
def test_k_out_of_range(k):
    with pytest.raises(ValueError, match="1 <= k <= 10"):
        kth_largest(torch.rand(10), k)


def test_not_one_dimensional():
    with pytest.raises(ValueError, match="1-D"):
        kth_largest(torch.rand(4, 4), 3)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 65_536, 65_537 + 300])
def test_index_of_nth_one_matches_nonzero(n, gen):
    ones = (torch.rand(n, generator=gen) < 0.01).float()
    ones[-1] = 1.0  # at least one, and one in the tail after the last full block
    ones[0] = 1.0
    positions = [i for i, v in enumerate(ones.tolist()) if v == 1.0]
    for nth in sorted({1, 2, len(positions) // 2 + 1, len(positions)}):
        if nth <= len(positions):
            assert _index_of_nth_one(ones, nth) == positions[nth - 1], (n, nth)

"""The n-th tie search, against a plain Python statement of it."""

import pytest
import torch

from primary_mask.functional.refine import _index_of_nth_one


@pytest.mark.parametrize("n", [1, 255, 256, 257, 65_536, 65_537 + 300])
def test_index_of_nth_one_matches_nonzero(n, gen):
    ones = (torch.rand(n, generator=gen) < 0.01).float()
    ones[-1] = 1.0  # at least one, and one in the tail after the last full block
    ones[0] = 1.0
    positions = [i for i, v in enumerate(ones.tolist()) if v == 1.0]
    for nth in sorted({1, 2, len(positions) // 2 + 1, len(positions)}):
        if nth <= len(positions):
            assert _index_of_nth_one(ones, nth) == positions[nth - 1], (n, nth)

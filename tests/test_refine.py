import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import smooth_map
from primary_mask import refine_mask
from primary_mask.functional.erase import resize_maps
from reference import refine_mask_loop


def random_map(kind: str, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    if kind == "float":
        return torch.rand(h, w, generator=gen) * (torch.rand(h, w, generator=gen) > 0.3)
    if kind == "smooth":
        return smooth_map(h, w, gen)
    if kind == "uint8":
        return torch.randint(0, 6, (h, w), generator=gen, dtype=torch.uint8)  # many ties
    if kind == "binary":
        return (torch.rand(h, w, generator=gen) > 0.5).float()
    if kind == "float64":
        return torch.rand(h, w, generator=gen, dtype=torch.float64) ** 4
    if kind == "half":
        return (torch.rand(h, w, generator=gen) * 3).half()
    raise AssertionError(kind)


KINDS = ["float", "smooth", "uint8", "binary", "float64", "half"]


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_matches_loop(kind, gen):
    for trial in range(25):
        h, w = torch.randint(1, 40, (2,), generator=gen).tolist()
        m = random_map(kind, h, w, gen)
        alpha = float(torch.rand(1, generator=gen)) if trial % 5 else [0.0, 1.0, 0.5, 0.999, 0.001][trial // 5]
        got = refine_mask(m, alpha)
        assert got.dtype == torch.bool and got.shape == m.shape
        assert torch.equal(got, refine_mask_loop(m, alpha)), (kind, trial, alpha)


@pytest.mark.parametrize("kind", KINDS)
def test_batched_matches_loop_with_per_map_alpha(kind, gen):
    maps = torch.stack([random_map(kind, 24, 17, gen) for _ in range(6)])
    alpha = torch.tensor([0.0, 0.13, 0.5, 0.77, 0.999, 1.0])
    got = refine_mask(maps, alpha)
    for i in range(len(maps)):
        assert torch.equal(got[i], refine_mask_loop(maps[i], float(alpha[i]))), i


@pytest.mark.parametrize("kind", KINDS)
def test_batch_of_one_and_large_single_maps_match_loop(kind, gen):
    # a single map takes the selection path, a batch the bucketed one: both against the loop
    alpha = torch.tensor([0.13], dtype=torch.float32)  # converted exactly to float64, as the loop sees it
    one = random_map(kind, 24, 17, gen).unsqueeze(0)
    assert torch.equal(refine_mask(one, alpha)[0], refine_mask_loop(one[0], float(alpha)))
    large = random_map(kind, 256, 256, gen)
    for a in (0.3, 0.7):
        assert torch.equal(refine_mask(large, a), refine_mask_loop(large, a)), a


def test_batches_past_2_24_bucket_ids_stay_exact(gen):
    # 16,400 maps x 1024 buckets > 2**24: histogram ids that float32 could not hold exactly
    maps = torch.rand(16_400, 2, 3, generator=gen) * (torch.rand(16_400, 2, 3, generator=gen) > 0.3)
    alpha = torch.rand(16_400, generator=gen, dtype=torch.float64)
    got = refine_mask(maps, alpha)
    for i in list(range(0, 16_400, 997)) + [16_399]:
        assert torch.equal(got[i], refine_mask_loop(maps[i], float(alpha[i]))), i


def test_batched_scalar_alpha_and_large_maps(gen):
    maps = torch.stack([smooth_map(96, 80, gen, keep=keep) for keep in (0.05, 0.4, 1.0)])
    got = refine_mask(maps, 0.37)
    for i in range(3):
        assert torch.equal(got[i], refine_mask_loop(maps[i], 0.37))


def test_store_map_resized_like_the_transform_matches_loop(gen):
    # a uint8 map as the store keeps it (most pixels positive, as in baked DFDC maps), resized to 256x256 the
    # way PrimaryRegionErase does: quantisation leaves many equal values at the threshold, cut by index
    store_map = (smooth_map(64, 64, gen, keep=0.8) * 255).round().to(torch.uint8)
    big = resize_maps(store_map.unsqueeze(0), (256, 256))[0]
    assert (big > 0).sum() > 256 * 256 // 4  # selection runs on the whole map, not on compacted positives
    for a in (0.1, 0.5, 0.7, 0.93):
        got = refine_mask(big, a)
        assert torch.equal(got, refine_mask_loop(big, a)), a


def test_single_large_maps_with_plateaus_and_quantised_ties_match_loop(gen):
    # the single-map selection on large maps where the threshold sits inside a plateau or among many equal
    # values: exact k, ties cut at the lower indices, including lengths that are no multiple of 256
    plateau = torch.full((200, 250), 0.25)
    half_plateau = torch.cat([torch.full((40_000,), 0.5), torch.zeros(30_000)]).reshape(280, 250)
    quantised = ((torch.rand(257, 255, generator=gen) * 12).floor() / 12).float()
    wide = torch.rand(100, 655, generator=gen, dtype=torch.float64) * 1e6 * (torch.rand(100, 655, generator=gen) > 0.5)
    for m in (plateau, half_plateau, quantised, wide):
        for a in (1 / m.numel(), 0.33, 0.5, 0.9, 1 - 1 / m.numel()):
            assert torch.equal(refine_mask(m, a), refine_mask_loop(m, a)), (tuple(m.shape), a)


def test_hand_computed_case():
    m = torch.tensor([[0.0, 0.9, 0.2], [0.9, 0.0, 0.5]])  # V = 4 positives
    assert refine_mask(m, 0.5).tolist() == [[False, True, False], [True, False, False]]  # the two 0.9s
    assert refine_mask(m, 0.25).tolist() == [[False, True, False], [False, False, False]]  # tie -> lower index
    assert refine_mask(m, 0.74).sum() == 2  # floor(2.96)
    assert refine_mask(m, 1.0).tolist() == [[False, True, True], [True, False, True]]


def test_empty_and_all_zero_maps():
    assert not refine_mask(torch.zeros(5, 5), 1.0).any()
    assert refine_mask(torch.zeros(0, 4), 0.5).shape == (0, 4)
    assert refine_mask(torch.zeros(0, 3, 3), torch.zeros(0)).shape == (0, 3, 3)


def test_does_not_modify_input(gen):
    m = smooth_map(20, 20, gen)
    before = m.clone()
    refine_mask(m, 0.6)
    assert torch.equal(m, before)


@pytest.mark.parametrize(
    "maps, alpha, error, words",
    [
        (torch.rand(2, 2, 2, 2), 0.5, ValueError, "maps must have shape"),
        (torch.rand(4), 0.5, ValueError, "maps must have shape"),
        (torch.tensor([[float("nan"), 1.0]]), 0.5, ValueError, "NaN or inf"),
        (torch.tensor([[float("inf"), 1.0]]), 0.5, ValueError, "NaN or inf"),
        (torch.tensor([[-0.1, 1.0]]), 0.5, ValueError, "negative"),
        (torch.rand(3, 3), 1.5, ValueError, "alpha must be in [0, 1]"),
        (torch.rand(3, 3), -0.1, ValueError, "alpha must be in [0, 1]"),
        (torch.rand(3, 3), float("nan"), ValueError, "alpha"),
        (torch.rand(2, 3, 3), torch.rand(3), ValueError, "alpha"),
        (torch.rand(3, 3), torch.rand(2), ValueError, "alpha"),
        (torch.rand(3, 3), "0.5", TypeError, "alpha"),
        (torch.ones(3, 3, dtype=torch.int32), 0.5, TypeError, "maps must be uint8 or floating"),
        ([[1.0]], 0.5, TypeError, "maps must be a torch.Tensor"),
    ],
)
def test_bad_input_names_the_argument(maps, alpha, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        refine_mask(maps, alpha)


maps_strategy = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(
        lambda w: st.lists(
            st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0]) | st.floats(0, 10, allow_subnormal=False),
            min_size=h * w,
            max_size=h * w,
        ).map(lambda v: torch.tensor(v, dtype=torch.float32).reshape(h, w))
    )
)


@settings(max_examples=150, deadline=None)
@given(maps_strategy, st.floats(0, 1), st.floats(0, 1))
def test_properties_exact_count_subset_monotone(m, a1, a2):
    lo, hi = sorted((a1, a2))
    positives = m > 0
    small, large = refine_mask(m, lo), refine_mask(m, hi)
    n = int(positives.sum())
    assert int(small.sum()) == int(lo * n // 1) and int(large.sum()) == int(hi * n // 1)  # exact count
    assert not (small & ~positives).any() and not (large & ~positives).any()  # subset of V
    assert not (small & ~large).any()  # monotone in alpha
    if small.any() and (positives & ~small).any():  # kept pixels are at least as large as dropped ones
        assert m[small].min() >= m[positives & ~small].max()


def test_tiny_positive_values_next_to_huge_ones_count_as_positive():
    m = torch.tensor([[1.0e30, 1.0e-40, 0.0, 1.0e-44]])  # 1e-40 * 1023 / 1e30 underflows in float32
    assert refine_mask(m, 1.0).tolist() == [[True, True, False, True]]
    m64 = torch.tensor([[1.0e300, 1.0e-300, 0.0]], dtype=torch.float64)
    assert refine_mask(m64, 1.0).tolist() == [[True, True, False]]


def test_non_contiguous_maps(gen):
    base = smooth_map(12, 9, gen)
    expanded = base.expand(3, -1, -1)  # stride 0 over the batch
    transposed = smooth_map(9, 12, gen).t()
    got = refine_mask(expanded, torch.tensor([0.2, 0.5, 1.0]))
    for i, a in enumerate([0.2, 0.5, 1.0]):
        assert torch.equal(got[i], refine_mask_loop(base, a))
    assert torch.equal(refine_mask(transposed, 0.6), refine_mask_loop(transposed.contiguous(), 0.6))

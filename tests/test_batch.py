import pytest
import torch

from conftest import smooth_map
from primary_mask import (
    BatchPrimaryRegionErase,
    EraseParams,
    PrimaryMap,
    PrimaryRegionErase,
    prle_loss_weights,
    prle_weighted_loss,
)
from reference import erase_loop, refine_mask_loop


def batch(gen, b=6, dtype=torch.uint8):
    imgs = torch.randint(1, 255, (b, 3, 40, 48), generator=gen, dtype=torch.uint8)
    if dtype != torch.uint8:
        imgs = imgs.to(dtype) / 255
    maps = torch.stack([smooth_map(10, 12, gen) for _ in range(b)])
    return imgs, maps


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill", [0, (5, 50, 200), "mean"])
def test_equals_the_per_sample_transform_given_the_same_draws(gen, dtype, fill):
    imgs, maps = batch(gen, dtype=dtype)
    params = EraseParams(
        selected=torch.tensor([True, False, True, True, False, True]),
        alpha=torch.tensor([0.9, 0.5, 0.0, 0.33, 1.0, 1.0], dtype=torch.float64),
    )
    out = BatchPrimaryRegionErase(fill=fill)(imgs, maps, params=params)
    for i in range(len(imgs)):
        a = float(params.alpha[i])
        t = PrimaryRegionErase(p=1.0 if params.selected[i] else 0.0, alpha_range=(a, a), fill=fill)
        expected, _ = t(imgs[i], PrimaryMap(maps[i]))
        assert torch.equal(out[i], expected), i


def test_matches_loop_reference_and_accepts_channel_maps(gen):
    imgs, maps = batch(gen, b=3)
    params = EraseParams(torch.tensor([True, True, False]), torch.tensor([0.2, 0.7, 1.0], dtype=torch.float64))
    out = BatchPrimaryRegionErase()(imgs, maps.unsqueeze(1), params=params)
    big = torch.nn.functional.interpolate(maps.unsqueeze(1), size=(40, 48), mode="bilinear", align_corners=False)[:, 0]
    for i in range(3):
        mask = (
            refine_mask_loop(big[i], float(params.alpha[i])) if params.selected[i] else torch.zeros(40, 48, dtype=bool)
        )
        assert torch.equal(out[i], erase_loop(imgs[i], mask, [0, 0, 0]))


def test_params_are_replayable_and_per_sample(gen):
    imgs, maps = batch(gen, b=64)
    module = BatchPrimaryRegionErase(p=0.5, alpha_range=(0.2, 0.9))
    out, params = module(imgs, maps, return_params=True, generator=gen)
    assert params.selected.dtype == torch.bool and params.alpha.shape == (64,)
    assert 0.2 <= float(params.alpha.min()) and float(params.alpha.max()) <= 0.9
    assert 12 <= int(params.selected.sum()) <= 52  # Binomial(64, .5), both decisions occur
    assert torch.equal(module(imgs, maps, params=module.last_params), out)
    unchanged = (out == imgs).flatten(1).all(1)
    assert torch.equal(unchanged | params.selected, torch.ones(64, dtype=torch.bool))


def test_seeded_draws_repeat(gen):
    imgs, maps = batch(gen)
    m = BatchPrimaryRegionErase(p=0.5, fill="uniform")
    a = m(imgs, maps, generator=torch.Generator().manual_seed(0))
    b = m(imgs, maps, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_inplace_and_copy(gen):
    imgs, maps = batch(gen)
    before = imgs.clone()
    params = EraseParams(torch.ones(6, dtype=torch.bool), torch.ones(6, dtype=torch.float64))
    out = BatchPrimaryRegionErase()(imgs, maps, params=params)
    assert torch.equal(imgs, before) and not torch.equal(out, before)
    out2 = BatchPrimaryRegionErase(inplace=True)(imgs, maps, params=params)
    assert out2.data_ptr() == imgs.data_ptr() and torch.equal(imgs, out)


def test_bad_input(gen):
    imgs, maps = batch(gen)
    m = BatchPrimaryRegionErase()
    with pytest.raises(ValueError, match="same batch size"):
        m(imgs, maps[:5])
    with pytest.raises(ValueError, match=r"images must be a \(B, C, H, W\)"):
        m(imgs[0], maps)
    with pytest.raises(ValueError, match="maps must be"):
        m(imgs, maps.unsqueeze(1).expand(-1, 2, -1, -1))
    with pytest.raises(ValueError, match="NaN or inf"):
        m(imgs, maps.clone().fill_(float("nan")), params=EraseParams(torch.ones(6, dtype=bool), torch.ones(6)))
    with pytest.raises(ValueError, match="params were drawn for"):
        m(imgs, maps, params=EraseParams(torch.ones(3, dtype=bool), torch.ones(3)))
    with pytest.raises(ValueError, match="p must be in"):
        BatchPrimaryRegionErase(p=2)


def test_loss_weights_follow_eq13():
    erased = torch.tensor([True, False, True, False])
    assert prle_loss_weights(erased, 0.5).tolist() == [0.5, 1.0, 0.5, 1.0]
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0])
    # (1/n) * sum(q*l + (1-q)*gamma*l) with q = not erased, gamma = 0.5: (0.5 + 2 + 1.5 + 4) / 4
    assert float(prle_weighted_loss(losses, erased, 0.5)) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="gamma"):
        prle_loss_weights(erased, -1.0)
    with pytest.raises(ValueError, match="must both be"):
        prle_weighted_loss(losses[:3], erased)


def test_erased_flags_only_where_pixels_were_erased(gen):
    imgs, maps = batch(gen, b=4)
    maps[1] = 0  # empty map: nothing to erase
    params = EraseParams(
        torch.tensor([True, True, False, True]), torch.tensor([0.5, 0.5, 0.5, 0.0], dtype=torch.float64)
    )
    out, used = BatchPrimaryRegionErase()(imgs, maps, params=params, return_params=True)
    assert used.erased.tolist() == [True, False, False, False]  # alpha = 0 keeps no pixel either
    assert [not torch.equal(o, i) for o, i in zip(out, imgs)] == used.erased.tolist()

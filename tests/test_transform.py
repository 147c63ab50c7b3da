import pickle

import numpy as np
import PIL.Image
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from conftest import smooth_map
from primary_mask import PrimaryMap, PrimaryRegionErase
from reference import erase_loop, refine_mask_loop


def sample(gen, h=32, w=40, dtype=torch.uint8):
    img = torch.randint(1, 255, (3, h, w), generator=gen, dtype=torch.uint8)
    if dtype != torch.uint8:
        img = img.to(dtype) / 255
    return img, smooth_map(h, w, gen)


def test_p0_is_identity(gen):
    img, m = sample(gen)
    t = PrimaryRegionErase(p=0.0, alpha_range=(1.0, 1.0))
    for _ in range(20):
        out, _ = t(img, PrimaryMap(m))
        assert torch.equal(out, img)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_p1_erases_exactly_the_refined_mask(gen, dtype):
    img, m = sample(gen, dtype=dtype)
    for alpha in (0.1, 0.45, 1.0):
        t = PrimaryRegionErase(p=1.0, alpha_range=(alpha, alpha), fill=0)
        out, _ = t(img, PrimaryMap(m))
        expected = erase_loop(img, refine_mask_loop(m, alpha), [0, 0, 0])
        assert torch.equal(out, expected)
        assert out.dtype == img.dtype


def test_map_is_resized_bilinearly_to_the_image(gen):
    img = torch.randint(1, 255, (3, 64, 48), generator=gen, dtype=torch.uint8)
    small = smooth_map(16, 12, gen)
    out, _ = PrimaryRegionErase(p=1.0, alpha_range=(0.6, 0.6))(img, PrimaryMap(small))
    # Independent resize: torch's bilinear interpolation (half-pixel centres) of the small map.
    big = torch.nn.functional.interpolate(small[None, None], size=(64, 48), mode="bilinear", align_corners=False)[0, 0]
    assert torch.equal(out, erase_loop(img, refine_mask_loop(big, 0.6), [0, 0, 0]))


@pytest.mark.parametrize(
    "fill, expected",
    [(7, [7, 7, 7]), ((10, 20, 30), [10, 20, 30]), (300, [255, 255, 255]), (12.6, [13, 13, 13])],
)
def test_constant_fills_on_uint8(gen, fill, expected):
    img, m = sample(gen)
    out, _ = PrimaryRegionErase(p=1.0, alpha_range=(1, 1), fill=fill)(img, PrimaryMap(m))
    assert torch.equal(out, erase_loop(img, refine_mask_loop(m, 1.0), expected))


def test_mean_fill_is_the_per_channel_mean(gen):
    img, m = sample(gen, dtype=torch.float32)
    out, _ = PrimaryRegionErase(p=1.0, alpha_range=(1, 1), fill="mean")(img, PrimaryMap(m))
    means = [float(img[c].double().mean()) for c in range(3)]
    assert torch.allclose(out, erase_loop(img, refine_mask_loop(m, 1.0), means), atol=1e-6)


@pytest.mark.parametrize("dtype, lo, hi", [(torch.uint8, 0, 255), (torch.float32, 0.0, 1.0)])
def test_uniform_fill_covers_the_value_range_only_inside_the_mask(gen, dtype, lo, hi):
    img = torch.full((3, 64, 64), 128 if dtype == torch.uint8 else 0.5, dtype=dtype)
    m = torch.zeros(64, 64)
    m[8:56, 8:56] = 1.0
    out, _ = PrimaryRegionErase(p=1, alpha_range=(1, 1), fill="uniform", generator=gen)(img, PrimaryMap(m))
    inside = out[:, 8:56, 8:56].double()
    assert torch.equal(out[:, :8], img[:, :8]) and torch.equal(out[:, :, 56:], img[:, :, 56:])
    assert inside.min() >= lo and inside.max() <= hi
    assert inside.std() > (hi - lo) * 0.25  # noise, not a constant: U(0,1) has std 0.289 of the range
    assert abs(inside.mean() - (lo + hi) / 2) < (hi - lo) * 0.02


def test_normal_fill_uses_each_images_statistics(gen):
    img = (torch.rand(3, 64, 64, generator=gen) * 0.2 + torch.tensor([0.1, 0.5, 0.8])[:, None, None]).float()
    m = torch.ones(64, 64)
    out, _ = PrimaryRegionErase(p=1, alpha_range=(1, 1), fill="normal", generator=gen)(img, PrimaryMap(m))
    for c, mu in enumerate([0.2, 0.6, 0.9]):
        assert abs(float(out[c].mean()) - mu) < 0.01
        assert abs(float(out[c].std()) - 0.2 / 12**0.5) < 0.01


@pytest.mark.parametrize("kind", ["pil", "tv_image", "plain", "plain_float", "grayscale_2d", "batched_image"])
def test_input_types(gen, kind):
    img, m = sample(gen)
    ref = erase_loop(img, refine_mask_loop(m, 0.5), [0, 0, 0])
    t = PrimaryRegionErase(p=1.0, alpha_range=(0.5, 0.5))
    pm = PrimaryMap(m)
    if kind == "pil":
        out, _ = t(PIL.Image.fromarray(img.permute(1, 2, 0).numpy()), pm)
        assert isinstance(out, PIL.Image.Image)
        assert torch.equal(torch.from_numpy(np.array(out)).permute(2, 0, 1), ref)
    elif kind == "tv_image":
        out, _ = t(tv_tensors.Image(img), pm)
        assert isinstance(out, tv_tensors.Image) and torch.equal(out, ref)
    elif kind == "plain":
        out, _ = t(img, pm)
        assert type(out) is torch.Tensor and torch.equal(out, ref)
    elif kind == "plain_float":
        out, _ = t(img.float() / 255, pm)
        assert torch.allclose(out, ref.float() / 255)
    elif kind == "grayscale_2d":
        out, _ = t(img[0], pm)
        assert out.shape == img[0].shape and torch.equal(out, ref[0])
    else:
        out, _ = t(tv_tensors.Image(torch.stack([img, img])), pm)
        assert torch.equal(out[0], ref) and torch.equal(out[1], ref)


def test_pytree_inputs_and_passthrough(gen):
    img, m = sample(gen)
    out = PrimaryRegionErase(p=1, alpha_range=(1, 1))(
        {"image": tv_tensors.Image(img), "map": PrimaryMap(m), "label": 1, "extra": torch.tensor([3, 4])}
    )
    assert out["label"] == 1 and torch.equal(out["extra"], torch.tensor([3, 4]))
    assert torch.equal(out["map"], PrimaryMap(m))
    assert torch.equal(out["image"], erase_loop(img, refine_mask_loop(m, 1.0), [0, 0, 0]))


def test_caller_tensor_untouched_unless_inplace(gen):
    img, m = sample(gen)
    before = img.clone()
    out, _ = PrimaryRegionErase(p=1, alpha_range=(1, 1))(img, PrimaryMap(m))
    assert torch.equal(img, before) and not torch.equal(out, before)
    out2, _ = PrimaryRegionErase(p=1, alpha_range=(1, 1), inplace=True)(img, PrimaryMap(m))
    assert out2.data_ptr() == img.data_ptr() and torch.equal(img, out)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill", [0, (10, 20, 30)])
def test_channels_last_images_are_erased_like_contiguous_ones(gen, dtype, fill):
    # decode_jpeg and v2.Resize hand a loader channels-last images; erase copies the layout first (speed), and
    # in place it must still write into the caller's own (channels-last) storage.
    img, m = sample(gen, dtype=dtype)
    scale = 255 if dtype == torch.uint8 else 1
    values = [fill] * 3 if isinstance(fill, int) else list(fill)
    expected = erase_loop(img, refine_mask_loop(m, 1.0), [v / 255 * scale for v in values])
    last = img.permute(1, 2, 0).contiguous().permute(2, 0, 1)  # same values, strides (1, 3 * W, 3)
    assert last.stride()[0] == 1
    out, _ = PrimaryRegionErase(
        p=1, alpha_range=(1, 1), fill=fill if dtype == torch.uint8 else tuple(v / 255 for v in values)
    )(last, PrimaryMap(m))
    assert torch.equal(out, expected)
    out2, _ = PrimaryRegionErase(
        p=1, alpha_range=(1, 1), fill=fill if dtype == torch.uint8 else tuple(v / 255 for v in values), inplace=True
    )(last, PrimaryMap(m))
    assert out2.data_ptr() == last.data_ptr() and torch.equal(last, expected)
    from primary_mask.functional import erase

    batch = img.permute(1, 2, 0).contiguous().permute(2, 0, 1)[None]
    fills = torch.tensor(values, dtype=torch.float32).reshape(1, 3, 1, 1) / 255 * scale
    res = erase(batch, refine_mask_loop(m, 1.0)[None], fills.to(dtype), inplace=True)
    assert res.data_ptr() == batch.data_ptr() and torch.equal(batch[0], expected)


def test_map_without_positive_pixels_erases_nothing(gen):
    img, _ = sample(gen)
    out, _ = PrimaryRegionErase(p=1, alpha_range=(1, 1), fill="uniform")(img, PrimaryMap(torch.zeros(32, 40)))
    assert torch.equal(out, img)


def test_seeded_generator_repeats_and_draw_frequency(gen):
    img, m = sample(gen)

    def run(seed):
        t = PrimaryRegionErase(
            p=0.5, alpha_range=(0.2, 0.9), fill="uniform", generator=torch.Generator().manual_seed(seed)
        )
        return [t(img, PrimaryMap(m))[0] for _ in range(200)]

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))
    erased = sum(not torch.equal(x, img) for x in a)
    assert 70 <= erased <= 130  # Binomial(200, 0.5): outside this range with probability < 1e-4


def test_global_rng_seeding_repeats(gen):
    img, m = sample(gen)
    t = PrimaryRegionErase(p=0.5)
    torch.manual_seed(5)
    a = [t(img, PrimaryMap(m))[0] for _ in range(20)]
    torch.manual_seed(5)
    b = [t(img, PrimaryMap(m))[0] for _ in range(20)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_make_params_can_be_replayed(gen):
    img, m = sample(gen)
    t = PrimaryRegionErase(p=1.0, alpha_range=(0.3, 0.8), generator=gen)
    params = t.make_params([img, PrimaryMap(m)])
    assert params["selected"] and 0.3 <= params["alpha"] <= 0.8
    assert torch.equal(params["mask"], refine_mask_loop(m, params["alpha"]))
    assert torch.equal(t.transform(img, params), erase_loop(img, params["mask"], [0, 0, 0]))


def test_pickling_keeps_config_and_generator_state(gen):
    img, m = sample(gen)
    t = PrimaryRegionErase(p=0.7, alpha_range=(0.5, 1.0), fill="uniform", generator=torch.Generator().manual_seed(9))
    clone = pickle.loads(pickle.dumps(t))
    assert (clone.p, clone.alpha_range, clone.fill) == (0.7, (0.5, 1.0), "uniform")
    for _ in range(5):
        assert torch.equal(t(img, PrimaryMap(m))[0], clone(img, PrimaryMap(m))[0])


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"p": 1.2}, ValueError, "p must be in"),
        ({"p": -0.1}, ValueError, "p must be in"),
        ({"p": "0.5"}, TypeError, "p must be a number"),
        ({"alpha_range": (0.9, 0.1)}, ValueError, "alpha_range is reversed"),
        ({"alpha_range": (0.0, 1.5)}, ValueError, r"alpha_range\[1\] must be in"),
        ({"alpha_range": 0.5}, TypeError, "alpha_range must be a pair"),
        ({"fill": "zeros"}, ValueError, "fill must be"),
        ({"fill": None}, TypeError, "fill must be"),
        ({"generator": 3}, TypeError, "generator must be"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        PrimaryRegionErase(**kwargs)


def test_bad_calls(gen):
    img, m = sample(gen)
    t = PrimaryRegionErase(p=1)
    with pytest.raises(TypeError, match="exactly one PrimaryMap"):
        t(img, m)  # a plain tensor is not a map
    with pytest.raises(TypeError, match="exactly one PrimaryMap"):
        t(img, PrimaryMap(m), PrimaryMap(m))
    with pytest.raises(ValueError, match="fill has 2 values"):
        PrimaryRegionErase(p=1, alpha_range=(1, 1), fill=(1, 2))(img, PrimaryMap(m))
    with pytest.raises(ValueError, match="finite and >= 0"):
        PrimaryMap(torch.tensor([[0.5, -1.0]]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        PrimaryMap(torch.tensor([[0.5, float("nan")]]))
    with pytest.raises(ValueError, match=r"\(h, w\) or \(1, h, w\)"):
        PrimaryMap(torch.rand(2, 4, 4))


def test_composes_with_other_v2_transforms(gen):
    img, m = sample(gen)
    pipeline = v2.Compose(
        [
            v2.ToImage(),
            PrimaryRegionErase(p=1, alpha_range=(1, 1)),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )
    out, pm = pipeline(img, PrimaryMap(m))
    expected = (erase_loop(img, refine_mask_loop(m, 1.0), [0, 0, 0]).float() / 255 - 0.5) / 0.5
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(pm, PrimaryMap(m))  # colour ops leave the map alone


def test_flag_marks_the_sample_only_when_pixels_were_erased(gen):
    from primary_mask import EraseFlag

    img, m = sample(gen)
    t = PrimaryRegionErase(p=1, alpha_range=(1, 1))
    assert bool(t(img, PrimaryMap(m), EraseFlag())[2])
    assert not bool(t(img, PrimaryMap(torch.zeros_like(m)), EraseFlag())[2])  # drawn, but nothing to erase
    assert not bool(PrimaryRegionErase(p=0)(img, PrimaryMap(m), EraseFlag())[2])
    assert type(t(img, PrimaryMap(m))[1]) is PrimaryMap  # the map itself is returned unchanged


def test_a_numpy_image_is_refused_with_what_to_pass():
    image = np.full((8, 8, 3), 100, np.uint8)
    with pytest.raises(TypeError, match=r"numpy array.*v2\.ToImage\(\)"):
        PrimaryRegionErase(p=1.0)(image, PrimaryMap(torch.ones(8, 8)))

import pytest
import torch

from conftest import smooth_map
from primary_mask import fuse_maps
from reference import neighboring_loop, refine_mask_loop, threshold_loop

BAND_VALUES = ["mean", "max"]


def random_cams(gen, t=3, b=2, h=14, w=11):
    cams = torch.stack([torch.stack([smooth_map(h, w, gen, keep=1.0) for _ in range(b)]) for _ in range(t)])
    flat = cams.flatten(2)
    lo, hi = flat.min(-1, keepdim=True).values, flat.max(-1, keepdim=True).values
    return ((flat - lo) / (hi - lo)).reshape(cams.shape)  # min-max normalised per CAM, like Grad-CAM output


def gradcam_like_cams(gen, t=3, b=2, h=20, w=18):
    """ReLU of a smooth random field per map, min-max normalised: zeros, disagreeing models, and a wide band."""
    coarse = torch.randn(t, b, 5, 5, generator=gen).sub_(0.4).relu_().sqrt_()
    cams = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    lo, hi = cams.amin((2, 3), keepdim=True), cams.amax((2, 3), keepdim=True)
    return (cams - lo) / (hi - lo).clamp_min(1e-12)


@pytest.mark.parametrize("band_value", BAND_VALUES)
@pytest.mark.parametrize("t", [1, 2, 3])
@pytest.mark.parametrize("params", [(0.3, 0.1, 0.15), (0.5, 0.2, 0.05), (0.3, 0.3, 0.1)])
def test_neighboring_matches_loop(gen, t, params, band_value):
    cams = random_cams(gen, t=t)
    got = fuse_maps(cams, "neighboring", *params, band_value=band_value)
    assert (got.double() - neighboring_loop(cams, *params, band_value)).abs().max() < 1e-5


@pytest.mark.parametrize("band_value", BAND_VALUES)
def test_neighboring_matches_loop_on_gradcam_like_maps(gen, band_value):
    # As on Grad-CAMs of trained detectors: a wide band, most of it kept by Eq. 7.
    cams = gradcam_like_cams(gen)
    s = cams.mean(0)
    assert ((s >= 0.1) & (s <= 0.3)).float().mean() > 0.2  # a wide band
    got = fuse_maps(cams, "neighboring", 0.3, 0.1, 0.15, band_value=band_value)
    assert (got.double() - neighboring_loop(cams, 0.3, 0.1, 0.15, band_value)).abs().max() < 1e-6
    assert (got > 0).sum() > (s > 0.3).sum()  # band pixels were kept, not only the ones above tau1


def test_mean_band_value_never_outranks_a_core_pixel(gen):
    cams = gradcam_like_cams(gen)
    s = cams.mean(0)
    core, band = s > 0.3, (s >= 0.1) & (s <= 0.3)
    by_mean, by_max = (fuse_maps(cams, tau1=0.3, tau2=0.1, band_value=b) for b in ("mean", "max"))
    assert torch.equal(by_mean[core], by_max[core]) and torch.equal(by_mean[~band], by_max[~band])
    assert by_mean[band].max() <= 0.3 < by_mean[core].min()
    assert by_max[band].max() > by_max[core].min()  # Eq. 8: some rim outranks some core pixel


def test_a_partial_erase_takes_cores_first_with_mean_and_rims_first_with_max(gen):
    # The dynamic stage erases the floor(alpha |V|) largest pixels (Eq. 9-10). Take alpha so that half of the
    # core pixels (s > tau1) would fit: with "mean" only core pixels are erased; with Eq. 8's max, band pixels
    # (the rims around the cores) take some of those places.
    cams = gradcam_like_cams(gen)
    s = cams.mean(0)
    for band_value, only_cores in (("mean", True), ("max", False)):
        fused = fuse_maps(cams, tau1=0.3, tau2=0.1, band_value=band_value)
        for i in range(fused.shape[0]):
            core = s[i] > 0.3
            alpha = 0.5 * float(core.sum()) / float((fused[i] > 0).sum())
            erased = refine_mask_loop(fused[i], alpha)
            assert erased.sum() > 10
            assert bool((erased & ~core).sum() == 0) == only_cores


@pytest.mark.parametrize("strategy", ["average", "max"])
def test_average_and_max_match_loop(gen, strategy):
    cams = random_cams(gen)
    assert (fuse_maps(cams, strategy, tau1=0.4).double() - threshold_loop(cams, 0.4, strategy)).abs().max() < 1e-6


@pytest.mark.parametrize("band_value, middle", [("max", 0.9), ("mean", 0.2)])
def test_hand_computed_neighbouring_pixel(band_value, middle):
    # One map, 1x3 image. Middle pixel s = 0.2 lies in the band [0.1, 0.3]; its neighbourhood is all three
    # pixels: mean |A(n) - A(x)| = (|0.9-0.2| + 0 + |0-0.2|) / 3 = 0.3 > 0.15, so it is kept: with the max of
    # its neighbourhood, 0.9 (Eq. 8), or its own mean, 0.2.
    cams = torch.tensor([[[[0.9, 0.2, 0.0]]]])
    out = fuse_maps(cams, "neighboring", tau1=0.3, tau2=0.1, lam=0.15, band_value=band_value)
    assert out.tolist() == [[[pytest.approx(0.9), pytest.approx(middle), 0.0]]]


@pytest.mark.parametrize("band_value, rim", [("max", 0.875), ("mean", 0.25)])
def test_hand_computed_rim_and_core(band_value, rim):
    # Two maps, 1x3: A = [0.875, 0.25, 0], B = [0.125, 0.25, 0] (dyadic: every sum below is exact).
    # Left pixel: s = 0.5 > tau1, a core pixel, keeps 0.5. Middle: s = 0.25, in the band [0.125, 0.375];
    # pair (A, A): (0.625 + 0 + 0.25) / 3 = 0.29 > 0.25, kept. Eq. 8 gives it 0.875 > 0.5: the rim outranks
    # the core beside it. "mean" gives it 0.25 < 0.5. Right: s = 0 < tau2, 0.
    cams = torch.tensor([[[[0.875, 0.25, 0.0]]], [[[0.125, 0.25, 0.0]]]])
    out = fuse_maps(cams, "neighboring", tau1=0.375, tau2=0.125, lam=0.25, band_value=band_value)
    assert out.tolist() == [[[0.5, rim, 0.0]]]


def test_band_value_defaults_to_mean():
    cams = torch.tensor([[[[0.9, 0.2, 0.0]]]])
    paper = {"tau1": 0.3, "tau2": 0.1}  # 0.2 lies in this band
    assert torch.equal(fuse_maps(cams, **paper), fuse_maps(cams, **paper, band_value="mean"))
    assert not torch.equal(fuse_maps(cams, **paper), fuse_maps(cams, **paper, band_value="max"))


def test_bad_input():
    with pytest.raises(ValueError, match="cams must be"):
        fuse_maps(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        fuse_maps(torch.full((1, 1, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="NaN or inf"):
        fuse_maps(torch.tensor([[[[0.5, float("inf")]]]]))
    with pytest.raises(ValueError, match="strategy must be"):
        fuse_maps(torch.rand(1, 1, 2, 2), "median")
    with pytest.raises(ValueError, match="tau2"):
        fuse_maps(torch.rand(1, 1, 2, 2), tau1=0.1, tau2=0.3)
    with pytest.raises(ValueError, match="band_value must be one of"):
        fuse_maps(torch.rand(1, 1, 2, 2), band_value="median")


@pytest.mark.parametrize("band_value", BAND_VALUES)
@pytest.mark.parametrize("scale, shift", [(3.0, -1.0), (1e6, -2e6), (0.25, 0.05)])
def test_neighboring_matches_loop_outside_unit_range(gen, scale, shift, band_value):
    # The border around the maps must never count as a neighbour: check it for values far outside [0, 1] too.
    cams = random_cams(gen, t=3) * scale + shift
    params = (0.3 * scale + shift, 0.1 * scale + shift, 0.15 * scale)
    got = fuse_maps(cams, "neighboring", *params, band_value=band_value)
    assert (got.double() - neighboring_loop(cams, *params, band_value)).abs().max() <= 1e-5 * scale


@pytest.mark.parametrize("band_value", BAND_VALUES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 1), (2, 2)])
def test_neighboring_matches_loop_on_thin_images(gen, shape, band_value):
    # every pixel is on the border; a wide band (tau2 = 0) sends them all through Eq. 7-8
    cams = torch.rand(3, 2, *shape, generator=gen)
    got = fuse_maps(cams, "neighboring", tau1=0.9, tau2=0.0, lam=0.1, band_value=band_value)
    assert (got.double() - neighboring_loop(cams, 0.9, 0.0, 0.1, band_value)).abs().max() < 1e-6


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (1e8, -2e8)])
def test_hand_computed_pixel_beside_the_minimum(scale, shift):
    # One map, 1x3: [0, 0.2, 0.2]. The middle pixel (band) has mean |A(n) - 0.2| = (0.2 + 0 + 0) / 3 > 0.05,
    # so it takes the max of its neighbourhood, 0.2; the right pixel's mean is 0.1 / 2 = 0.05, not > 0.05.
    # Its left neighbour is the smallest value of all, and at 1e8 scale below the zero of the image border:
    # the border must not count as a neighbour whatever the values.
    cams = torch.tensor([[[[0.0, 0.2, 0.2]]]]) * scale + shift
    out = fuse_maps(
        cams, "neighboring", tau1=0.3 * scale + shift, tau2=0.1 * scale + shift, lam=0.05 * scale, band_value="max"
    )
    assert out.double().tolist() == [[[0.0, pytest.approx(0.2 * scale + shift, rel=1e-6), 0.0]]]


@pytest.mark.parametrize(
    "lam, dtype, kept",
    [
        (0.25, torch.float32, False),
        (0.25 - 2**-20, torch.float32, True),
        (0.25, torch.float64, False),
        (0.25 - 2**-40, torch.float64, True),  # rounds to 0.25 in float32: float64 maps are fused in float64
    ],
)
def test_mean_difference_equal_to_lam_is_not_kept(lam, dtype, kept):
    # One map, 3x3, all values dyadic so every sum is exact. The centre (0.25) lies in the band [0.125, 0.5];
    # its eight neighbours are 0.53125, so mean |A(n) - A(x)| = 8 * 0.28125 / 9 = 0.25 exactly. Eq. 7 asks
    # for a mean > lam: at lam = 0.25 the centre is 0, just below it takes the neighbourhood max.
    cams = torch.full((1, 1, 3, 3), 0.53125, dtype=dtype)
    cams[0, 0, 1, 1] = 0.25
    out = fuse_maps(cams, "neighboring", tau1=0.5, tau2=0.125, lam=lam, band_value="max")
    assert out.dtype == dtype
    assert float(out[0, 1, 1]) == (0.53125 if kept else 0.0)
    assert float(neighboring_loop(cams, 0.5, 0.125, lam, "max")[0, 1, 1]) == float(out[0, 1, 1])  # the loop agrees


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"tau1": 1.5}, r"tau1 must be in \[0, 1\]"),
        ({"tau1": float("nan")}, "tau1 must be finite"),
        ({"tau2": float("nan")}, "tau2 must be finite"),
        ({"lam": -1.0}, "lam must be >= 0"),
        ({"lam": float("inf")}, "lam must be finite"),
        ({"tau1": -0.1, "tau2": -0.2}, r"tau1 must be in \[0, 1\]"),
    ],
)
def test_every_fusion_parameter_is_checked_once_in_fuse_maps_the_recipe_the_localizer_and_bake(bad, match, tmp_path):
    """tau1 1.5 or NaN used to fuse every map to nothing, and bake and verify reported success (issue #22)."""
    from primary_mask import PrimaryRegionLocalizer
    from primary_mask.cli import main
    from primary_mask.localize.recipe import RECIPE

    if "must be in" not in match:  # fuse_maps fuses values outside [0, 1] by the same rules (test above)
        with pytest.raises(ValueError, match=match):
            fuse_maps(torch.rand(2, 1, 4, 4), "neighboring", **{"tau1": 0.5, "tau2": 0.3, "lam": 0.15, **bad})
    with pytest.raises(ValueError, match=match):
        RECIPE.replace(**bad)
    with pytest.raises(ValueError, match=match):
        PrimaryRegionLocalizer([torch.nn.Conv2d(3, 1, 1)], device="cpu", **bad)
    flags = [a for k, v in bad.items() for a in (f"--{k}", str(v))]
    (tmp_path / "img" / "real").mkdir(parents=True)
    code = main(["bake", "--images", str(tmp_path / "img"), "--model", "m", "--out", str(tmp_path / "s"), *flags])
    assert code == 2 and not (tmp_path / "s").exists()  # refused before any file is written


def test_the_recipe_checks_its_names_and_sizes():
    from primary_mask.localize.recipe import RECIPE

    for bad, match in (
        ({"cam": "scorecam"}, "cam must be one of"),
        ({"fusion": "median"}, "fusion must be one of"),
        ({"size": 0}, "size must be a positive number of pixels"),
        ({"input_size": -3}, "input_size must be a positive"),
        ({"tau1": 0.2, "tau2": 0.4}, r"tau2 \(0.4\) must not exceed tau1"),
    ):
        with pytest.raises(ValueError, match=match):
            RECIPE.replace(**bad)
    assert RECIPE.replace(fusion="average", tau1=0.2, tau2=0.4).tau2 == 0.4  # tau2 is neighboring fusion's only

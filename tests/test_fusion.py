import pytest
import torch

from conftest import smooth_map
from primary_mask import fuse_maps


def neighboring_loop(cams, tau1, tau2, lam):
    """Eq. 7-8 with the release's band, pixel by pixel, written from the issue's statement."""
    t, b, h, w = cams.shape
    out = torch.zeros(b, h, w, dtype=torch.float64)
    c = cams.double()
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                s = sum(float(c[j, bi, y, x]) for j in range(t)) / t
                if s > tau1:
                    out[bi, y, x] = s
                    continue
                if s < tau2:
                    continue
                nbrs = [
                    (yy, xx) for yy in range(y - 1, y + 2) for xx in range(x - 1, x + 2) if 0 <= yy < h and 0 <= xx < w
                ]
                g = False
                for j in range(t):
                    for k in range(t):
                        d = sum(abs(float(c[j, bi, yy, xx]) - float(c[k, bi, y, x])) for yy, xx in nbrs) / len(nbrs)
                        g = g or d > lam
                if g:
                    out[bi, y, x] = max(float(c[j, bi, yy, xx]) for j in range(t) for yy, xx in nbrs)
    return out


def average_loop(cams, tau1, reduce):
    t, b, h, w = cams.shape
    out = torch.zeros(b, h, w, dtype=torch.float64)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                vals = [float(cams[j, bi, y, x]) for j in range(t)]
                s = sum(vals) / t if reduce == "average" else max(vals)
                out[bi, y, x] = s if s > tau1 else 0.0
    return out


@pytest.fixture(params=["gather", "bounds"])
def route(request, monkeypatch):
    """Run a test through each way of evaluating Eq. 7-8 on the band (normally chosen by the band's size)."""
    import primary_mask.localize.fusion as fusion

    monkeypatch.setattr(fusion, "_BOUNDS_FROM_BAND_SHARE", 2.0 if request.param == "gather" else 0.0)
    return request.param


def random_cams(gen, t=3, b=2, h=14, w=11):
    cams = torch.stack([torch.stack([smooth_map(h, w, gen, keep=1.0) for _ in range(b)]) for _ in range(t)])
    flat = cams.flatten(2)
    lo, hi = flat.min(-1, keepdim=True).values, flat.max(-1, keepdim=True).values
    return ((flat - lo) / (hi - lo)).reshape(cams.shape)  # min-max normalised per CAM, like Grad-CAM output


@pytest.mark.parametrize("t", [1, 2, 3])
@pytest.mark.parametrize("params", [(0.3, 0.1, 0.15), (0.5, 0.2, 0.05), (0.3, 0.3, 0.1)])
def test_neighboring_matches_loop(gen, t, params, route):
    cams = random_cams(gen, t=t)
    got = fuse_maps(cams, "neighboring", *params)
    assert (got.double() - neighboring_loop(cams, *params)).abs().max() < 1e-5


@pytest.mark.parametrize("strategy", ["average", "max"])
def test_average_and_max_match_loop(gen, strategy):
    cams = random_cams(gen)
    assert (fuse_maps(cams, strategy, tau1=0.4).double() - average_loop(cams, 0.4, strategy)).abs().max() < 1e-6


def test_hand_computed_neighbouring_pixel(route):
    # One map, 1x3 image. Middle pixel s = 0.2 lies in the band [0.1, 0.3]; its neighbourhood is all three
    # pixels: mean |A(n) - A(x)| = (|0.9-0.2| + 0 + |0-0.2|) / 3 = 0.3 > 0.15, so it takes the max, 0.9.
    cams = torch.tensor([[[[0.9, 0.2, 0.0]]]])
    out = fuse_maps(cams, "neighboring", tau1=0.3, tau2=0.1, lam=0.15)
    assert out.tolist() == [[[pytest.approx(0.9), pytest.approx(0.9), 0.0]]]


def test_bad_input():
    with pytest.raises(ValueError, match="cams must be"):
        fuse_maps(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        fuse_maps(torch.full((1, 1, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="strategy must be"):
        fuse_maps(torch.rand(1, 1, 2, 2), "median")
    with pytest.raises(ValueError, match="tau2"):
        fuse_maps(torch.rand(1, 1, 2, 2), tau1=0.1, tau2=0.3)


@pytest.mark.parametrize("scale, shift", [(3.0, -1.0), (1e6, -2e6), (0.25, 0.05)])
def test_neighboring_matches_loop_outside_unit_range(gen, scale, shift, route):
    # The padded layout needs a pad value below every CAM value: check it for values far outside [0, 1] too.
    cams = random_cams(gen, t=3) * scale + shift
    params = (0.3 * scale + shift, 0.1 * scale + shift, 0.15 * scale)
    got = fuse_maps(cams, "neighboring", *params)
    assert (got.double() - neighboring_loop(cams, *params)).abs().max() <= 1e-5 * scale


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 1), (2, 2)])
def test_neighboring_matches_loop_on_thin_images(gen, shape, route):
    # every pixel is on the border; a wide band (tau2 = 0) sends them all through Eq. 7-8
    cams = torch.rand(3, 2, *shape, generator=gen)
    got = fuse_maps(cams, "neighboring", tau1=0.9, tau2=0.0, lam=0.1)
    assert (got.double() - neighboring_loop(cams, 0.9, 0.0, 0.1)).abs().max() < 1e-6


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (1e8, -2e8)])
def test_hand_computed_pixel_beside_the_minimum(scale, shift, route):
    # One map, 1x3: [0, 0.2, 0.2]. The middle pixel (band) has mean |A(n) - 0.2| = (0.2 + 0 + 0) / 3 > 0.05,
    # so it takes the max of its neighbourhood, 0.2; the right pixel's mean is 0.1 / 2 = 0.05, not > 0.05.
    # Its left neighbour is the smallest value of all: at 1e8 scale, minimum - 1 rounds to the minimum in
    # float32, so a pad value chosen that way would be mistaken for this neighbour.
    cams = torch.tensor([[[[0.0, 0.2, 0.2]]]]) * scale + shift
    out = fuse_maps(cams, "neighboring", tau1=0.3 * scale + shift, tau2=0.1 * scale + shift, lam=0.05 * scale)
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
def test_mean_difference_equal_to_lam_is_not_kept(lam, dtype, kept, route):
    # One map, 3x3, all values dyadic so every sum is exact. The centre (0.25) lies in the band [0.125, 0.5];
    # its eight neighbours are 0.53125, so mean |A(n) - A(x)| = 8 * 0.28125 / 9 = 0.25 exactly. Eq. 7 asks
    # for a mean > lam: at lam = 0.25 the centre is 0, just below it takes the neighbourhood max.
    cams = torch.full((1, 1, 3, 3), 0.53125, dtype=dtype)
    cams[0, 0, 1, 1] = 0.25
    out = fuse_maps(cams, "neighboring", tau1=0.5, tau2=0.125, lam=lam)
    assert float(out[0, 1, 1]) == (0.53125 if kept else 0.0)
    assert float(neighboring_loop(cams, 0.5, 0.125, lam)[0, 1, 1]) == float(out[0, 1, 1])  # the loop agrees


def test_neighboring_matches_loop_with_int64_indices(gen, monkeypatch, route):
    # Maps of 2**31+ padded pixels gather with int64 indices; too big to build here, so lower the limit.
    import primary_mask.localize.fusion as fusion

    cams = random_cams(gen, t=3)
    int32 = fuse_maps(cams, "neighboring")
    monkeypatch.setattr(fusion, "_INT32_INDEX_LIMIT", 0)
    int64 = fuse_maps(cams, "neighboring")
    reference = neighboring_loop(cams, 0.3, 0.1, 0.15)
    assert (int64.double() - reference).abs().max() < 1e-5
    assert torch.equal(int64, int32)


@pytest.mark.parametrize("b", [1, 3])
def test_both_routes_give_identical_maps(gen, b, monkeypatch):
    # Grad-CAM-like maps (ReLU of a smooth field: wide band, zeros, disagreeing models) at a realistic size:
    # the dense-bound route must decide every band pixel as the gather does, bit for bit.
    import primary_mask.localize.fusion as fusion

    coarse = torch.randn(3, b, 8, 8, generator=gen).sub_(0.4).relu_().sqrt_()
    cams = torch.nn.functional.interpolate(coarse, size=(96, 80), mode="bilinear", align_corners=False)
    lo, hi = cams.amin((2, 3), keepdim=True), cams.amax((2, 3), keepdim=True)
    cams = (cams - lo) / (hi - lo).clamp_min(1e-12)
    s = cams.mean(0)
    assert ((s >= 0.1) & (s <= 0.3)).float().mean() > 0.2  # a wide band, as on real Grad-CAMs
    for dtype in (torch.float32, torch.float64):
        outs = []
        for share in (2.0, 0.0):
            monkeypatch.setattr(fusion, "_BOUNDS_FROM_BAND_SHARE", share)
            outs.append(fuse_maps(cams.to(dtype), "neighboring"))
        assert torch.equal(outs[0], outs[1])
        assert (outs[1] > 0).sum() > (s > 0.3).sum()  # band pixels were kept, not only the ones above tau1

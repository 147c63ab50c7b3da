import numpy as np
import pytest
import torch
from matplotlib.path import Path as PolyPath
from scipy.ndimage import binary_dilation
from scipy.spatial import ConvexHull
from torchvision import tv_tensors
from torchvision.transforms import v2

from conftest import smooth_map
from primary_mask import LandmarkRegionErase, PrimaryMap, RandomRegionErase, StaticRegionErase
from reference import refine_mask_loop

CENTRES = {"eyes": [(30, 35), (62, 35)], "nose": [(46, 52)], "mouth": [(46, 74)]}

# The iBUG 68-point indices of the parts Table IV erases, written out here independently of the library.
FACE_PARTS_68 = {
    "eyes": [list(range(36, 42)), list(range(42, 48))],
    "nose": [list(range(27, 36))],
    "mouth": [list(range(48, 60))],
}


def landmarks(seed=0):
    """68 points: each part's points scattered around its centre, the rest along the border of the face."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(5, 90, (68, 2))
    for part, polygons in FACE_PARTS_68.items():
        for poly, (cx, cy) in zip(polygons, CENTRES[part]):
            pts[poly] = np.c_[rng.normal(cx, 5, len(poly)), rng.normal(cy, 3, len(poly))]
    pts[60:68] = np.c_[rng.normal(46, 3, 8), rng.normal(74, 2, 8)]  # inner lips
    return torch.tensor(pts, dtype=torch.float32)


def hull_mask(points, size):
    """Pixels whose centre lies inside the convex hull, by point-in-polygon (independent of OpenCV)."""
    hull = PolyPath(points[ConvexHull(points).vertices])
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    return hull.contains_points(np.c_[xx.ravel(), yy.ravel()], radius=1e-9).reshape(size)


@pytest.mark.parametrize("part", ["eyes", "nose", "mouth"])
def test_landmark_part_is_its_convex_hull(part):
    img = tv_tensors.Image(torch.full((3, 96, 96), 200, dtype=torch.uint8))
    kp = tv_tensors.KeyPoints(landmarks(), canvas_size=(96, 96))
    t = LandmarkRegionErase(p=1.0, parts=[part], margin=0.0)
    params = t.make_params([img, kp])
    expected = np.zeros((96, 96), bool)
    for poly in FACE_PARTS_68[part]:
        expected |= hull_mask(kp.numpy()[poly], (96, 96))
    got = params["mask"].numpy()
    assert params["part"] == part and expected.sum() > 10
    # equal up to one pixel along the boundary, both ways
    ring = np.ones((3, 3), bool)  # one pixel in any direction, diagonals included
    assert not (got & ~binary_dilation(expected, ring)).any() and not (expected & ~binary_dilation(got, ring)).any()
    out, _ = t(img, kp)
    assert torch.equal(out[:, params["mask"]], torch.zeros_like(out[:, params["mask"]]))
    grown = LandmarkRegionErase(p=1.0, parts=[part], margin=0.3).make_params([img, kp])["mask"]
    assert bool((grown | params["mask"]).eq(grown).all()) and grown.sum() > params["mask"].sum()


def test_landmarks_follow_geometry_and_parts_are_drawn_uniformly():
    img = tv_tensors.Image(torch.zeros(3, 96, 128, dtype=torch.uint8))
    kp = tv_tensors.KeyPoints(landmarks() + torch.tensor([30.0, 0.0]), canvas_size=(96, 128))  # face right of centre
    flipped_img, flipped_kp = v2.RandomHorizontalFlip(1.0)(img, kp)
    t = LandmarkRegionErase(p=1.0, parts=["nose"], margin=0.0)
    moved, original = t.make_params([flipped_img, flipped_kp])["mask"], t.make_params([img, kp])["mask"]

    def iou(a, b):
        return float((a & b).sum()) / float((a | b).sum())

    assert iou(moved, original.flip(-1)) > 0.9  # mirrored, up to boundary rasterisation
    assert iou(moved, original) == 0.0  # a mask left behind would fail
    g = torch.Generator().manual_seed(0)
    drawn = [LandmarkRegionErase(p=1.0, generator=g).make_params([img, kp])["part"] for _ in range(300)]
    assert all(80 <= drawn.count(p) <= 120 for p in ("eyes", "nose", "mouth"))


def test_landmark_bad_input():
    img = tv_tensors.Image(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match="needs one tv_tensors.KeyPoints"):
        LandmarkRegionErase(p=1)(img)
    with pytest.raises(ValueError, match=r"68 finite \(x, y\) points, or none; got shape \(5, 2\)"):
        LandmarkRegionErase(p=1)(img, tv_tensors.KeyPoints(torch.rand(5, 2), canvas_size=(32, 32)))
    with pytest.raises(ValueError, match="parts must be"):
        LandmarkRegionErase(parts=["ears"])


def test_random_rectangle_has_the_primary_region_pixel_count(gen):
    img = torch.randint(1, 255, (3, 64, 80), generator=gen, dtype=torch.uint8)
    m = smooth_map(64, 80, gen, keep=0.3)
    for alpha in (0.2, 0.6, 1.0):
        t = RandomRegionErase(p=1.0, alpha_range=(alpha, alpha), generator=gen)
        params = t.make_params([img, PrimaryMap(m)])
        k = int(refine_mask_loop(m, alpha).sum())
        top, left, h, w = params["box"]
        mask = params["mask"]
        assert int(mask.sum()) == h * w and abs(h * w - k) <= max(h, w)  # same area, up to rounding one side
        assert bool(mask[top : top + h, left : left + w].all())  # one filled rectangle
    boxes = {
        RandomRegionErase(p=1.0, alpha_range=(0.5, 0.5), generator=gen).make_params([img, PrimaryMap(m)])["box"]
        for _ in range(10)
    }
    assert len(boxes) > 5  # placed at random
    empty = RandomRegionErase(p=1.0).make_params([img, PrimaryMap(torch.zeros(64, 80))])["mask"]
    assert not empty.any()


def test_static_mask_is_every_positive_pixel(gen):
    img = torch.randint(1, 255, (3, 32, 32), generator=gen, dtype=torch.uint8)
    m = smooth_map(32, 32, gen)
    out, _ = StaticRegionErase(p=1.0)(img, PrimaryMap(m))
    assert torch.equal((out == 0).all(0), (m > 0) | (img == 0).all(0))
    assert torch.equal(StaticRegionErase(p=0.0)(img, PrimaryMap(m))[0], img)

"""After any geometric v2 transform, the erased pixels must still sit on the same image content."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from primary_mask import PrimaryMap, PrimaryRegionErase

GEOMETRIC = {
    "hflip": v2.RandomHorizontalFlip(p=1.0),
    "vflip": v2.RandomVerticalFlip(p=1.0),
    "crop": v2.RandomCrop(72),
    "center_crop": v2.CenterCrop(64),
    "resized_crop": v2.RandomResizedCrop(80, scale=(0.5, 1.0)),
    "resize": v2.Resize(128),
    "affine": v2.RandomAffine(degrees=25, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
    "rotate": v2.RandomRotation(40),
    "pad": v2.Pad([10, 4, 2, 20]),
    "perspective": v2.RandomPerspective(distortion_scale=0.5, p=1.0),
    "elastic": v2.ElasticTransform(alpha=30.0, sigma=5.0),
    "compose": v2.Compose(
        [v2.RandomHorizontalFlip(1.0), v2.RandomResizedCrop(80, scale=(0.8, 1.0)), v2.RandomRotation(15)]
    ),
}


def marked_sample():
    """An image whose channel 0 marks an off-centre square, and a map whose attention is that square."""
    img = torch.zeros(3, 96, 96, dtype=torch.uint8)
    img[1:] = torch.randint(0, 255, (2, 96, 96), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    img[0, 16:44, 52:84] = 255
    m = torch.zeros(96, 96)
    m[16:44, 52:84] = 1.0
    return tv_tensors.Image(img), PrimaryMap(m)


def iou(a, b):
    return float((a & b).sum()) / max(1, float((a | b).sum()))


@pytest.mark.parametrize("name", sorted(GEOMETRIC))
def test_erased_pixels_follow_the_content(name):
    img, pmap = marked_sample()
    torch.manual_seed(3)
    img_t, pmap_t = GEOMETRIC[name](img, pmap)
    assert isinstance(pmap_t, PrimaryMap) and pmap_t.shape[-2:] == img_t.shape[-2:]
    erase = PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0))
    mask = erase.make_params([img_t, pmap_t])["mask"]
    content = img_t[0] > 127
    assert content.sum() > 50, "the marked square should stay (partly) in view"
    assert iou(mask, content) > 0.75, name
    out, _ = erase(img_t, pmap_t)
    assert torch.equal(out[:, mask], torch.zeros_like(out[:, mask]))


def test_the_check_can_fail_when_the_map_is_not_moved():
    img, pmap = marked_sample()
    img_t = v2.RandomHorizontalFlip(p=1.0)(img)  # image moved, map left behind
    mask = PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0)).make_params([img_t, pmap])["mask"]
    assert iou(mask, img_t[0] > 127) < 0.1


def test_interpolating_ops_keep_continuous_values_and_zero_fill():
    pmap = PrimaryMap(torch.linspace(0, 1, 64).repeat(64, 1))
    out = v2.Resize(128)(pmap)
    assert len(torch.unique(out)) > 100  # bilinear, not nearest (nearest keeps <= 64 levels)
    rotated = v2.RandomRotation((45, 45), fill=127)(tv_tensors.Image(torch.zeros(1, 64, 64)), pmap)[1]
    assert rotated[0, 0, 0] == 0  # corners brought in by rotation carry no attention, whatever the image fill


@pytest.mark.parametrize("size", [128, [80, 150], [40, 30], 48])
def test_resize_antialiases_only_when_an_axis_shrinks(size):
    # Upsampling: bilinear with or without antialiasing is one function (kernel one input pixel wide), so the
    # map equals the plain bilinear upsampling to float rounding; a shrinking axis gets the antialiased one.
    import torch.nn.functional as nnf

    pmap = PrimaryMap(torch.rand(64, 64, generator=torch.Generator().manual_seed(1)))
    out = v2.Resize(size)(pmap)
    assert isinstance(out, PrimaryMap)
    h, w = out.shape[-2:]
    plain = pmap.as_subclass(torch.Tensor)[None]
    aa = nnf.interpolate(plain, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
    torch.testing.assert_close(out.as_subclass(torch.Tensor), aa, rtol=0, atol=1e-5)
    if h < 64 or w < 64:  # differs from the non-antialiased resize where it matters
        bare = nnf.interpolate(plain, size=(h, w), mode="bilinear", align_corners=False)[0]
        assert (out.as_subclass(torch.Tensor) - bare).abs().max() > 1e-3
    cropped = v2.RandomResizedCrop(size, scale=(0.3, 0.6))(pmap)
    assert cropped.shape[-2:] == out.shape[-2:] and float(cropped.min()) >= 0


@pytest.mark.parametrize("name", sorted(GEOMETRIC))
def test_the_erased_mark_survives_geometry_after_the_erase(name):
    from primary_mask import EraseFlag

    img, pmap = marked_sample()
    torch.manual_seed(3)
    pipeline = v2.Compose([PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0)), GEOMETRIC[name]])
    flag = pipeline(img, pmap, EraseFlag())[2]
    assert isinstance(flag, EraseFlag) and bool(flag)

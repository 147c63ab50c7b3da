"""AlbumentationsPrimaryRegionErase in albumentations pipelines: the map moves with the image, erased pixels are
the ones the map marks on the same content."""

import math

import cv2
import numpy as np
import pytest
import torch

A = pytest.importorskip("albumentations")

from primary_mask.functional import refine_mask  # noqa: E402
from primary_mask.transforms.albumentations import AlbumentationsPrimaryRegionErase, map_for_image  # noqa: E402

H, W = 48, 64
NEAREST = {"interpolation": cv2.INTER_NEAREST, "mask_interpolation": cv2.INTER_NEAREST}


def scene(seed=0):
    """An image whose pixels name their position (R = x, G = y, B = 200), a witness mask holding each pixel's
    position id (y * W + x + 1; 0 = outside the image) and a map with distinct positive values on a blob."""
    yy, xx = np.mgrid[0:H, 0:W]
    image = np.stack([xx, yy, np.full_like(xx, 200)], -1).astype(np.uint8)
    witness = (yy * W + xx + 1).astype(np.float32)
    blob = ((yy - 20) / 14.0) ** 2 + ((xx - 30) / 20.0) ** 2 < 1
    values = np.random.default_rng(seed).permutation(blob.sum()).astype(np.float32) + 1
    primary = np.zeros((H, W), np.float32)
    primary[blob] = values / values.max()
    return image, witness, primary


def run(transforms, seed, alpha_range=(0.3, 0.9), fill=0):
    image, witness, primary = scene(seed)
    erase = AlbumentationsPrimaryRegionErase(p=1.0, alpha_range=alpha_range, fill=fill)
    aug = A.Compose([*transforms, erase], additional_targets={"primary_map": "mask", "witness": "mask"}, seed=seed)
    out = aug(image=image, primary_map=primary, witness=witness, primary_erased=False)
    return out, erase.get_applied_params()["alpha"], primary


GEOMETRIC = {
    "flip": [A.HorizontalFlip(p=1.0)],
    "random_resized_crop": [A.RandomResizedCrop((40, 40), scale=(0.3, 0.7), p=1.0, **NEAREST)],
    "affine": [A.Affine(rotate=(-30, 30), scale=(0.8, 1.3), translate_px=(-6, 6), p=1.0, fill_mask=0, **NEAREST)],
    "face_crop": [A.Crop(x_min=12, y_min=4, x_max=52, y_max=40)],
    "flip_crop_affine": [
        A.HorizontalFlip(p=1.0),
        A.Crop(x_min=8, y_min=2, x_max=60, y_max=46),
        A.Affine(rotate=(-20, 20), p=1.0, fill_mask=0, **NEAREST),
    ],
}


@pytest.mark.parametrize("name", list(GEOMETRIC))
@pytest.mark.parametrize("seed", range(3))
def test_erased_pixels_are_the_mapped_ones_on_the_same_content(name, seed):
    out, alpha, primary = run(GEOMETRIC[name], seed)
    img, wit = out["image"], out["witness"].astype(np.int64)
    inside = wit > 0
    src_y, src_x = np.divmod(wit - 1, W)
    # the map moved with the image: each output pixel carries the map value of its source pixel
    expected_map = np.where(inside, primary[src_y, src_x], 0)
    assert np.array_equal(out["primary_map"], expected_map)
    erased = (img == 0).all(-1) & inside  # Affine fills pixels from outside the image with 0 too
    # untouched pixels still show their source position: image, map and witness moved together
    kept = inside & ~erased
    assert np.array_equal(img[kept][:, 0], src_x[kept]) and np.array_equal(img[kept][:, 1], src_y[kept])
    assert (img[kept][:, 2] == 200).all()
    # erased: floor(alpha * |V|) pixels of V, none valued below a kept pixel of V (by the source map's values)
    positive = expected_map > 0
    assert erased.sum() == math.floor(alpha * positive.sum()) > 0
    assert (erased <= positive).all()
    assert expected_map[erased].min() >= expected_map[positive & ~erased].max(initial=0)
    assert out["primary_erased"] is True


def test_hand_built_case_equals_refine_mask():
    image = np.full((4, 5, 3), 90, np.uint8)
    primary = np.array(
        [
            [0.0, 0.2, 0.0, 0.0, 0.0],
            [0.0, 0.9, 0.5, 0.0, 0.0],
            [0.0, 0.0, 0.7, 0.3, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.1],
        ],
        np.float32,
    )  # |V| = 6; alpha = 0.5 keeps floor(3.0) = 3 pixels: 0.9, 0.7, 0.5
    expected = np.zeros((4, 5), bool)
    expected[1, 1] = expected[2, 2] = expected[1, 2] = True
    aug = A.Compose(
        [AlbumentationsPrimaryRegionErase(p=1.0, alpha_range=(0.5, 0.5), fill=(1, 2, 3))],
        additional_targets={"primary_map": "mask"},
    )
    out = aug(image=image, primary_map=primary)
    erased = (out["image"] != 90).any(-1)
    assert np.array_equal(erased, expected)
    assert np.array_equal(erased, refine_mask(torch.from_numpy(primary), 0.5).numpy())
    assert (out["image"][expected] == (1, 2, 3)).all() and np.array_equal(out["primary_map"], primary)


def test_seeded_by_compose_and_p():
    image, _, primary = scene()
    image = image.astype(np.float32) / 255

    def pipeline(seed):
        erase = AlbumentationsPrimaryRegionErase(p=0.5, alpha_range=(0.2, 1.0), fill="uniform")
        return A.Compose([A.HorizontalFlip(), erase], additional_targets={"primary_map": "mask"}, seed=seed)

    def outputs(aug):
        return [aug(image=image, primary_map=primary, primary_erased=False) for _ in range(40)]

    a, b, c = outputs(pipeline(7)), outputs(pipeline(7)), outputs(pipeline(8))
    assert all(np.array_equal(x["image"], y["image"]) for x, y in zip(a, b, strict=True))
    assert any(not np.array_equal(x["image"], y["image"]) for x, y in zip(a, c, strict=True))
    flags = [x["primary_erased"] for x in a]
    assert 8 <= sum(flags) <= 32  # p = 0.5 over 40 draws
    for x in a:  # uniform noise in [0, 1) on erased pixels, float32 kept
        assert x["image"].dtype == np.float32 and 0 <= x["image"].min() and x["image"].max() <= 1
    never = A.Compose([AlbumentationsPrimaryRegionErase(p=0.0)], additional_targets={"primary_map": "mask"})
    out = never(image=image, primary_map=primary, primary_erased=False)
    assert np.array_equal(out["image"], image) and out["primary_erased"] is False


def test_linear_mask_interpolation_and_grayscale():
    image, _, primary = scene()
    gray = np.ascontiguousarray(image[..., 0])
    erase = AlbumentationsPrimaryRegionErase(
        p=1.0, alpha_range=(0.5, 0.5), fill=255
    )  # gray holds x < 64: 255 is only fill
    aug = A.Compose(
        [A.Resize(96, 128), erase], additional_targets={"primary_map": "mask"}, mask_interpolation=cv2.INTER_LINEAR
    )
    out = aug(image=gray, primary_map=primary)
    assert out["image"].shape == (96, 128) and out["primary_map"].dtype == np.float32
    assert len(np.unique(out["primary_map"])) > len(np.unique(primary))  # interpolated, not just repeated
    expected = refine_mask(torch.from_numpy(out["primary_map"]), 0.5).numpy()
    assert expected.sum() > 0 and np.array_equal(out["image"] == 255, expected)


def test_map_of_another_size_is_an_error_and_map_for_image_resizes():
    image, _, primary = scene()
    small = cv2.resize(primary, (16, 12), interpolation=cv2.INTER_AREA)
    aug = A.Compose(
        [AlbumentationsPrimaryRegionErase(p=1.0)], additional_targets={"primary_map": "mask"}, is_check_shapes=False
    )
    with pytest.raises(ValueError, match=r"primary_map is 12x16 but the image is 48x64.*map_for_image"):
        aug(image=image, primary_map=small)
    resized = map_for_image(torch.from_numpy(small), image)
    assert resized.shape == (H, W) and resized.dtype == np.float32 and resized.flags.c_contiguous
    expected = torch.nn.functional.interpolate(torch.from_numpy(small)[None, None], size=(H, W), mode="bilinear")
    assert np.allclose(resized, expected[0, 0].numpy(), atol=1e-6)
    assert np.allclose(map_for_image(np.full((8, 8), 255, np.uint8), image, baked_size=(H, W)), 1.0)  # square map
    with pytest.raises(ValueError, match="must be \\(h, w\\)"):
        map_for_image(np.zeros((2, 3, 4)), image)


class _Erased(torch.utils.data.Dataset):
    """How many pixels the pipeline erased, per sample: a record of its draws."""

    def __init__(self, aug):
        self.aug = aug
        self.image, _, self.primary = scene()

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return int((self.aug(image=self.image, primary_map=self.primary)["image"] == 0).all(-1).sum())


def _reseed(worker_id):
    info = torch.utils.data.get_worker_info()
    info.dataset.aug.set_random_seed(137 + worker_id)


def test_documented_worker_reseeding_reaches_the_erase():
    def draws(worker_init_fn):
        aug = A.Compose(
            [AlbumentationsPrimaryRegionErase(p=1.0, alpha_range=(0.0, 1.0))],
            additional_targets={"primary_map": "mask"},
            seed=137,
        )
        loader = torch.utils.data.DataLoader(_Erased(aug), num_workers=2, worker_init_fn=worker_init_fn)
        return [int(x) for x in loader]  # worker 0 gives samples 0 and 2, worker 1 samples 1 and 3

    same = draws(None)
    assert same[0] == same[1] and same[2] == same[3]  # albumentations alone: both workers replay one sequence
    reseeded = draws(_reseed)
    assert (reseeded[0], reseeded[2]) != (reseeded[1], reseeded[3])


def test_an_undeclared_map_target_is_refused_not_left_behind_by_the_flip():
    """Without additional_targets the flip moves the image and not the map: the erase would hit other content."""
    image, _, primary = scene()
    aug = A.Compose([A.HorizontalFlip(p=1.0), AlbumentationsPrimaryRegionErase(p=1.0)])
    with pytest.raises(ValueError, match=r"'primary_map' is not declared as a mask.*additional_targets="):
        aug(image=image, primary_map=primary)
    alone = AlbumentationsPrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0))
    with pytest.raises(ValueError, match="add_targets"):
        alone(image=image, primary_map=primary)
    alone.add_targets({"primary_map": "mask"})
    assert (alone(image=image, primary_map=primary)["image"][primary > 0] == 0).all()

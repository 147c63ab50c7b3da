"""with_primary_maps: dict items, alignment checks against the baked image size, aspect, NaN maps, and the
ImageOnly recipe for one-argument pipelines such as timm's create_transform."""

import numpy as np
import PIL.Image
import pytest
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from primary_mask import PrimaryRegionErase, with_landmarks, with_primary_maps
from primary_mask.transforms import ImageOnly


class Items(Dataset):
    """Items of a fixed image (3, h, w) uint8 at 100, as tuples or as dicts."""

    def __init__(self, h, w, as_dict=False, n=2):
        self.h, self.w, self.as_dict, self.n = h, w, as_dict, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        image = torch.full((3, self.h, self.w), 100, dtype=torch.uint8)
        return {"img": image, "label": 1, "path": f"p{i}"} if self.as_dict else (image, 1)


class SizedMaps(dict):
    """A map source that records the image size each map was baked from, as a store does."""

    def __init__(self, maps, sizes):
        super().__init__(maps)
        self.sizes = sizes

    def image_size(self, key):
        return self.sizes.get(key)


ERASE_ALL = v2.Compose([PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0))])


def test_dict_items_keep_their_entries_and_gain_map_and_flag():
    ds = with_primary_maps(
        Items(8, 8, as_dict=True),
        {"k": torch.ones(8, 8)},
        keys=lambda i: "k",
        transform=ERASE_ALL,
        image_key="img",
        return_map=True,
        return_erased=True,
    )
    item = ds[1]
    assert set(item) == {"img", "label", "path", "primary_map", "erased"}
    assert item["label"] == 1 and item["path"] == "p1" and item["erased"] is True
    assert bool((item["img"] == 0).all()) and item["primary_map"].shape == (1, 8, 8)


def test_dict_items_without_the_image_key_name_it():
    ds = with_primary_maps(Items(8, 8, as_dict=True), {"k": torch.ones(8, 8)}, keys=lambda i: "k")
    with pytest.raises(KeyError, match="image_key"):
        ds[0]


def test_dict_items_for_landmarks():
    ds = with_landmarks(
        Items(8, 8, as_dict=True), {}, keys=lambda i: "k", missing="skip", image_key="img", return_erased=True
    )
    item = ds[0]
    assert item["erased"] is False and item["path"] == "p0"


def test_transposed_image_is_named_as_orientation():
    maps = SizedMaps({"a": torch.ones(16, 16)}, {"a": (100, 160)})  # baked from a 100x160 image
    ds = with_primary_maps(Items(160, 100), maps, keys=lambda i: "a")  # loaded as 160x100
    with pytest.raises(ValueError, match="EXIF orientation") as err:
        ds[0]
    assert "'a'" in str(err.value)


def test_recorded_size_of_another_aspect_is_an_error_unless_stretch():
    maps = SizedMaps({"a": torch.ones(16, 16)}, {"a": (100, 100)})
    with pytest.raises(ValueError, match="another aspect"):
        with_primary_maps(Items(64, 80), maps, keys=lambda i: "a")[0]
    image, _ = with_primary_maps(Items(64, 80), maps, keys=lambda i: "a", stretch=True, transform=ERASE_ALL)[0]
    assert bool((image == 0).all())


def test_recorded_size_of_the_same_aspect_is_resized_only_when_asked():
    """A re-crop keeps the aspect too (224 -> 200): another size is refused unless the dataset only resizes."""
    maps = SizedMaps({"a": torch.ones(16, 20)}, {"a": (128, 160)})  # the dataset resized the image to half
    image, _ = with_primary_maps(Items(64, 80), maps, keys=lambda i: "a", transform=ERASE_ALL, resized=True)[0]
    assert bool((image == 0).all())
    with pytest.raises(
        ValueError, match=r"baked from a 128x160 \(HxW\) image but the dataset gives a 64x80.*resized=True"
    ):
        with_primary_maps(Items(64, 80), maps, keys=lambda i: "a", transform=ERASE_ALL)[0]


def test_square_map_of_a_square_bake_fits_a_non_square_image_it_was_baked_from():
    maps = SizedMaps({"a": torch.ones(16, 16)}, {"a": (64, 80)})  # store maps are square; the image was 64x80
    image, _ = with_primary_maps(Items(64, 80), maps, keys=lambda i: "a", transform=ERASE_ALL)[0]
    assert bool((image == 0).all())


def test_map_of_another_aspect_without_recorded_size_is_not_stretched_silently():
    with pytest.raises(ValueError, match="stretch=True") as err:
        with_primary_maps(Items(64, 64), {"a": torch.ones(10, 20)}, keys=lambda i: "a")[0]
    assert "10x20" in str(err.value) and "'a'" in str(err.value)
    image, _ = with_primary_maps(Items(64, 64), {"a": torch.ones(10, 20)}, keys=lambda i: "a", stretch=True)[0]
    assert image.shape == (3, 64, 64)
    # within rounding of a resize: accepted
    with_primary_maps(Items(64, 63), {"a": torch.ones(16, 16)}, keys=lambda i: "a")[0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_map_names_its_key(bad):
    m = torch.ones(8, 8)
    m[2, 3] = bad
    with pytest.raises(ValueError, match="'frame_7'.*NaN or inf"):
        with_primary_maps(Items(8, 8), {"frame_7": m}, keys=lambda i: "frame_7")[0]


def test_paired_maps_over_a_users_dict_are_still_checked():
    """Only a store's maps skip the wrapper's value check (they were checked on disk); a dict under PairedMaps
    is a user's data like any other dict."""
    from primary_mask.data.pairing import PairedMaps

    fake = torch.ones(8, 8)
    fake[2, 3] = float("nan")
    paired = PairedMaps({"fake_1": fake, "real_1": torch.ones(8, 8)}, {"real_1": ["fake_1"]})
    with pytest.raises(ValueError, match="'real_1'.*NaN or inf"):
        with_primary_maps(Items(8, 8), paired, keys=lambda i: "real_1")[0]


def test_image_only_runs_a_one_argument_pipeline_after_the_erase():
    class PilItems(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return PIL.Image.fromarray(np.full((32, 32, 3), 100, np.uint8)), 0

    one_arg = v2.Compose([v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])  # takes only the image
    pipeline = v2.Compose([PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0)), ImageOnly(one_arg)])
    m = torch.zeros(32, 32)
    m[:, :16] = 1.0
    image, label, erased = with_primary_maps(
        PilItems(), {"k": m}, keys=lambda i: "k", transform=pipeline, return_erased=True
    )[0]
    assert label == 0 and erased is True and image.dtype == torch.float32
    assert bool((image[:, :, :16] == 0).all()) and torch.allclose(image[:, :, 16:], torch.tensor(100 / 255))


def test_image_only_with_timm_create_transform():
    timm_data = pytest.importorskip("timm.data")
    timm_tf = timm_data.create_transform(32, is_training=True, hflip=0.0, scale=(1.0, 1.0), ratio=(1.0, 1.0))

    class PilItems(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return PIL.Image.fromarray(np.full((32, 32, 3), 200, np.uint8)), 1

    m = torch.zeros(32, 32)
    m[:16] = 1.0  # the top half
    pipeline = v2.Compose([PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0)), ImageOnly(timm_tf)])
    image, label = with_primary_maps(PilItems(), {"k": m}, keys=lambda i: "k", transform=pipeline)[0]
    # timm normalises with ImageNet mean/std: erased (0) and kept (200) pixels land on different values
    assert image.shape == (3, 32, 32) and label == 1
    top, bottom = image[:, 2:14], image[:, 18:30]
    assert bool((top < bottom).all())


def test_image_only_refuses_a_non_image_first():
    with pytest.raises(TypeError, match="image first"):
        ImageOnly(lambda x: x)("not an image", 1)

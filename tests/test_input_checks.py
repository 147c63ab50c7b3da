"""Inputs that used to give a silent wrong result (issue #22): each now fails with a message naming the fix, or
works as documented. Every test here fails on the code before the fix."""

import pickle
import shutil
import warnings

import cv2
import numpy as np
import pytest
import torch
from torchvision import transforms as v1
from torchvision.transforms import v2

from primary_mask import EraseFlag, ImageOnly, PrimaryMap, PrimaryMapWriter, PrimaryRegionErase, with_primary_maps
from primary_mask.data import deepfake_image_folder, list_folder
from primary_mask.functional import make_fill


class Items(torch.utils.data.Dataset):
    def __init__(self, n=2, size=(16, 16)):
        self.n, self.size = n, size

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.full((3, *self.size), 100, dtype=torch.uint8), i % 2


def test_a_transform_returning_only_the_image_is_refused_not_unpacked_by_channel():
    maps = {"a": torch.rand(4, 4)}
    only_image = lambda image, pmap, flag: image  # noqa: E731
    ds = with_primary_maps(Items(), maps, keys=lambda i: "a", transform=only_image)
    with pytest.raises(TypeError, match=r"must return \(image, PrimaryMap, EraseFlag\).*a Tensor.*ImageOnly"):
        ds[0]
    erase_then_image_only = v2.Compose([PrimaryRegionErase(1.0), ImageOnly(v2.ToDtype(torch.float32, scale=True))])
    image, label = with_primary_maps(Items(), maps, keys=lambda i: "a", transform=erase_then_image_only)[0]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32


def test_a_one_image_pipeline_without_image_only_is_refused_with_the_fix():
    timm_like = v1.Compose([v1.ConvertImageDtype(torch.float32)])  # what timm's create_transform returns
    with pytest.raises(TypeError, match=r"v1\) Compose.*ImageOnly\(tf\)"):
        with_primary_maps(Items(), {"a": torch.rand(4, 4)}, keys=lambda i: "a", transform=timm_like)


def test_skip_with_no_matching_key_warns_once_naming_both_key_forms(tmp_path):
    with PrimaryMapWriter(tmp_path / "s", size=4) as writer:
        writer.add(["train/real/0.png"], torch.rand(1, 4, 4))
    from primary_mask import PrimaryMapStore

    with pytest.warns(UserWarning, match=r"none of the dataset's 2 keys \(e.g. 'real/0.png'\).*'train/real/0.png'"):
        with_primary_maps(Items(), PrimaryMapStore(tmp_path / "s"), keys=["real/0.png", "real/1.png"], missing="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one key matches: no warning
        with_primary_maps(Items(), {"real/0.png": torch.rand(4, 4)}, keys=["real/0.png", "x"], missing="skip")


def test_uniform_fill_refuses_float_images_outside_the_unit_range():
    images = torch.full((1, 3, 4, 4), 200.0)  # float in [0, 255]: noise in [0, 1) would be near-black, not noise
    with pytest.raises(ValueError, match=r"fill='uniform'.*\[200, 200\].*scale them to \[0, 1\]"):
        make_fill(images, "uniform")
    assert make_fill(images / 255, "uniform").max() < 1  # in range: fine
    out, _ = PrimaryRegionErase(1.0, fill="normal")(images, PrimaryMap(torch.rand(4, 4)))  # other fills: any scale
    assert out.shape == images.shape


def test_one_list_of_image_files_for_listing_the_image_folder_and_bake(tmp_path):
    for label in ("real", "fake"):
        (tmp_path / label).mkdir()
        for suffix in ("png", "tif", "ppm", "pgm", "jpg"):
            shape = (8, 8) if suffix == "pgm" else (8, 8, 3)
            assert cv2.imwrite(str(tmp_path / label / f"x.{suffix}"), np.full(shape, 50, np.uint8))
        (tmp_path / label / "notes.txt").write_text("not an image")
    listed = sorted(it.key for it in list_folder(tmp_path))
    folder = deepfake_image_folder(tmp_path)
    assert sorted(folder.keys) == listed and len(listed) == 10  # .tif/.ppm/.pgm too, .txt in neither


class Erased(torch.utils.data.Dataset):
    """Whether a seeded PrimaryRegionErase erased each sample (for DataLoader workers)."""

    def __init__(self):
        self.erase = PrimaryRegionErase(0.5, generator=torch.Generator().manual_seed(7))

    def __len__(self):
        return 8

    def __getitem__(self, i):
        flag = self.erase(torch.zeros(3, 4, 4, dtype=torch.uint8), PrimaryMap(torch.rand(4, 4)), EraseFlag())[2]
        return bool(flag)


def test_a_seeded_transform_runs_in_spawn_workers_and_repeats():
    """A torch.Generator pickled for spawn workers used to kill them ("unable to resize file"); its seed is pickled."""

    def run():
        seeded = {"generator": torch.Generator().manual_seed(0)}  # workers' seeds: what a seeded run must fix
        loader = torch.utils.data.DataLoader(Erased(), None, num_workers=2, multiprocessing_context="spawn", **seeded)
        return list(loader)

    runs = [run(), run()]
    assert runs[0] == runs[1] and len(runs[0]) == 8


def test_a_seeded_transform_survives_spawn_workers_and_repeats():
    erase = PrimaryRegionErase(0.5, generator=torch.Generator().manual_seed(7))
    for _ in range(3):
        erase(torch.zeros(3, 4, 4, dtype=torch.uint8), PrimaryMap(torch.rand(4, 4)))
    copy = pickle.loads(pickle.dumps(erase))  # what a spawn worker receives
    assert copy.generator.initial_seed() == 7
    draws = [torch.rand(3, generator=g).tolist() for g in (erase.generator, copy.generator)]
    assert draws[0] == draws[1]  # the copy goes on where the original was


def test_resuming_a_bake_from_another_image_root_is_refused_naming_both(tmp_path, capsys):
    from primary_mask.cli import main

    for label in ("real", "fake"):
        (tmp_path / "data" / "train" / label).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "data" / "train" / label / "0.png"), np.full((16, 16, 3), 9, np.uint8))
    args = ["bake", "--model", "resnet10t", "--allow-random-weights", "--size", "8", "--input-size", "32"]
    args += ["--workers", "0", "--quiet", "--out", str(tmp_path / "s")]
    assert main([*args, "--images", str(tmp_path / "data" / "train")]) == 0
    shutil.copytree(tmp_path / "data" / "train", tmp_path / "copy")
    capsys.readouterr()
    assert main([*args, "--images", str(tmp_path / "data")]) == 2  # keys would become train/real/0.png
    err = capsys.readouterr().err
    assert f"images: the store has '{(tmp_path / 'data' / 'train').resolve()}'" in err
    assert f"this run has '{(tmp_path / 'data').resolve()}'" in err


def test_map_for_image_follows_the_wrappers_alignment_rule():
    pytest.importorskip("albumentations")
    from primary_mask.transforms.albumentations import map_for_image

    image = np.zeros((40, 80, 3), np.uint8)
    with pytest.raises(ValueError, match=r"is 16x16 \(HxW\) but its image is 40x80.*stretch=True"):
        map_for_image(torch.rand(16, 16), image)  # a square map stretched over a 1:2 image, without a word before
    assert map_for_image(torch.rand(16, 16), image, baked_size=(40, 80)).shape == (40, 80)  # baked from it
    with pytest.raises(ValueError, match="resized=True"):
        map_for_image(torch.rand(16, 16), image, baked_size=(80, 160))
    assert map_for_image(torch.rand(16, 16), image, baked_size=(80, 160), resized=True).shape == (40, 80)
    assert map_for_image(torch.rand(16, 16), image, stretch=True).shape == (40, 80)

"""with_landmarks / LandmarkFolder / EraseFlag: landmark masks plugged into an (image, label) dataset."""

import numpy as np
import pytest
import torch
from matplotlib.path import Path as PolyPath
from scipy.ndimage import binary_dilation
from scipy.spatial import ConvexHull
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms import v2

from primary_mask import (
    EraseFlag,
    LandmarkFolder,
    LandmarkRegionErase,
    PrimaryMap,
    PrimaryRegionErase,
    with_landmarks,
)
from primary_mask.demo.synthetic_face import face_landmarks

LM = face_landmarks(128).astype(np.float32)

# The iBUG 68-point indices of the parts Table IV erases, written out here independently of the library.
FACE_PARTS_68 = {
    "eyes": [list(range(36, 42)), list(range(42, 48))],
    "nose": [list(range(27, 36))],
    "mouth": [list(range(48, 60))],
}


class Faces(torch.utils.data.Dataset):
    """Three flat grey 128x128 images with labels 0, 1, 0 and keys a/0.png, a/1.png, b/2.png."""

    keys = ["a/0.png", "a/1.png", "b/2.png"]

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return tv_tensors.Image(torch.full((3, 128, 128), 200, dtype=torch.uint8)), i % 2


def hull_mask(points, size):
    """Pixels whose centre lies inside the convex hull, by point-in-polygon (independent of OpenCV)."""
    hull = PolyPath(points[ConvexHull(points).vertices])
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    return hull.contains_points(np.c_[xx.ravel(), yy.ravel()], radius=1e-9).reshape(size)


def test_erased_part_follows_resize_and_flip():
    ds = with_landmarks(
        Faces(),
        {k: LM for k in Faces.keys},
        transform=v2.Compose(
            [v2.Resize((64, 64)), v2.RandomHorizontalFlip(1.0), LandmarkRegionErase(p=1.0, parts=["mouth"], margin=0)]
        ),
        return_erased=True,
    )
    image, label, erased = ds[1]
    assert label == 1 and erased is True and image.shape == (3, 64, 64)
    # the mouth, moved by hand: half size, then mirrored (x -> W - x)
    pts = LM[FACE_PARTS_68["mouth"][0]] * 0.5
    pts[:, 0] = 64 - pts[:, 0]
    expected = hull_mask(pts, (64, 64))
    erased = (image == 0).all(0).numpy()
    ring = np.ones((3, 3), bool)
    assert expected.sum() > 20
    assert (
        not (erased & ~binary_dilation(expected, ring)).any() and not (expected & ~binary_dilation(erased, ring)).any()
    )


def test_erased_flag_missing_policies_and_bad_landmarks():
    erase = LandmarkRegionErase(p=1.0)
    never = with_landmarks(
        Faces(), {k: LM for k in Faces.keys}, transform=LandmarkRegionErase(p=0.0), return_erased=True
    )
    assert [never[i][2] for i in range(3)] == [False] * 3
    assert len(never[0]) == 3 and len(with_landmarks(Faces(), {k: LM for k in Faces.keys}, transform=erase)[0]) == 2

    partial = {"a/0.png": LM}
    with pytest.raises(KeyError, match="'a/1.png'.*missing='skip'"):
        with_landmarks(Faces(), partial, transform=erase)[1]
    skip = with_landmarks(Faces(), partial, transform=erase, missing="skip", return_erased=True)
    image, _, erased = skip[1]
    assert erased is False and bool((image == 200).all())  # no landmarks: untouched
    assert skip[0][2] is True

    with pytest.raises(ValueError, match="'a/0.png' must be 68 finite"):
        with_landmarks(Faces(), {"a/0.png": LM[:10]}, transform=erase)[0]
    with pytest.raises(ValueError, match="missing must be one of"):
        with_landmarks(Faces(), partial, missing="ignore")
    with pytest.raises(ValueError, match="keys has 2 entries"):
        with_landmarks(Faces(), partial, keys=["x", "y"])


def test_erased_collates_for_the_loss_weight():
    ds = with_landmarks(
        Faces(), {k: LM for k in Faces.keys}, transform=LandmarkRegionErase(p=1.0), missing="error", return_erased=True
    )
    images, labels, erased = next(iter(DataLoader(ds, batch_size=3)))
    assert images.shape == (3, 3, 128, 128) and erased.dtype == torch.bool and erased.tolist() == [True] * 3


def test_landmark_folder_reads_both_names_on_demand(tmp_path):
    (tmp_path / "a").mkdir()
    np.save(tmp_path / "a" / "0.png.npy", LM)  # primary-mask landmarks: <key>.npy
    np.save(tmp_path / "a" / "1.npy", LM + 1)  # DeepfakeBench-like: suffix replaced
    folder = LandmarkFolder(tmp_path)
    assert np.array_equal(folder["a/0.png"], LM) and np.array_equal(folder["a/1.png"], LM + 1)
    assert "a/0.png" in folder and "b/2.png" not in folder and len(folder) == 2  # before the DeepfakeBench file
    with pytest.raises(KeyError, match=r"b/2\.png\.npy"):
        folder["b/2.png"]
    dfb = tmp_path / "manipulated_sequences" / "Deepfakes" / "c23" / "landmarks" / "000_003"
    dfb.mkdir(parents=True)
    np.save(dfb / "007.npy", LM + 2)  # DeepfakeBench: frames/<video>/<frame>.png -> landmarks/<video>/<frame>.npy
    assert np.array_equal(folder["manipulated_sequences/Deepfakes/c23/frames/000_003/007.png"], LM + 2)
    custom = LandmarkFolder(tmp_path, path_of=lambda key: tmp_path / "a" / "1.npy")
    assert np.array_equal(custom["anything"], LM + 1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LandmarkFolder(tmp_path / "nope")
    ds = with_landmarks(Faces(), folder, transform=LandmarkRegionErase(p=1.0), missing="skip", return_erased=True)
    assert [ds[i][2] for i in range(3)] == [True, True, False]


def test_erase_flag_passes_through_v2_and_is_set_only_when_pixels_go():
    img = tv_tensors.Image(torch.full((3, 32, 32), 100, dtype=torch.uint8))
    geometry = v2.Compose([v2.Resize(40), v2.RandomResizedCrop(32), v2.RandomAffine(10), v2.ColorJitter(0.2)])
    _, flag = geometry(img, EraseFlag())
    assert type(flag) is EraseFlag and bool(flag) is False
    full, empty = PrimaryMap(torch.ones(8, 8)), PrimaryMap(torch.zeros(8, 8))
    _, _, flag = PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0))(img, full, EraseFlag())
    assert bool(flag) is True
    _, _, flag = PrimaryRegionErase(p=1.0, alpha_range=(1.0, 1.0))(img, empty, EraseFlag())
    assert bool(flag) is False  # the draw said erase, but there was nothing to erase
    out = v2.Compose(
        [PrimaryRegionErase(p=1.0), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)]
    )
    assert bool(out(img, full, EraseFlag(True))[2]) is True

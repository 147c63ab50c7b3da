"""Names renamed in 0.2 keep working as deprecated aliases, and say so."""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset
from torchvision.transforms import v2

from primary_mask import EraseParams, PrimaryRegionErase, prle_loss_weights, with_landmarks, with_primary_maps


def test_return_applied_still_returns_the_erased_flag():
    ds = TensorDataset(torch.full((2, 3, 8, 8), 100, dtype=torch.uint8), torch.zeros(2))
    with pytest.warns(DeprecationWarning, match="return_erased"):
        wrapped = with_primary_maps(
            ds,
            {"k": torch.ones(8, 8)},
            keys=lambda i: "k",
            return_applied=True,
            transform=v2.Compose([PrimaryRegionErase(p=1.0, alpha_range=(1, 1))]),
        )
    assert wrapped[0][2] is True
    with pytest.warns(DeprecationWarning, match="return_erased"):
        with_landmarks(ds, {}, keys=lambda i: "k", return_applied=False)


def test_erase_params_applied_is_selected():
    with pytest.warns(DeprecationWarning, match="selected"):
        params = EraseParams(applied=torch.tensor([True, False]), alpha=torch.tensor([0.5, 0.5]))
    assert params.selected.tolist() == [True, False]
    with pytest.warns(DeprecationWarning, match="selected"):
        assert params.applied.tolist() == [True, False]


def test_loss_weights_take_the_old_keyword():
    with pytest.warns(DeprecationWarning, match="erased"):
        assert prle_loss_weights(applied=torch.tensor([True, False]), gamma=0.5).tolist() == [0.5, 1.0]


def test_old_constants_and_classes_warn():
    from primary_mask import tv_tensors
    from primary_mask.transforms import ablation

    with pytest.warns(DeprecationWarning, match="EraseFlag"):
        assert issubclass(tv_tensors.ErasedPrimaryMap, tv_tensors.PrimaryMap)
    with pytest.warns(DeprecationWarning, match="ERASE_PARTS"):
        old = ablation.FACE_PARTS_68
    # the table as it was before 0.2, written out
    assert old == {
        "eyes": [list(range(36, 42)), list(range(42, 48))],
        "nose": [list(range(27, 36))],
        "mouth": [list(range(48, 60))],
    }


def test_load_landmark_folder_warns_and_loads(tmp_path):
    from primary_mask.synth import load_landmark_folder

    np.save(tmp_path / "a.npy", np.ones((68, 2), np.float32))
    with pytest.warns(DeprecationWarning, match="LandmarkFolder"):
        got = load_landmark_folder(tmp_path, ["a", "b"])
    assert list(got) == ["a"] and got["a"].shape == (68, 2)

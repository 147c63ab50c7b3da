"""The torch CAM backend (issue #24 section 1) against pytorch-grad-cam's own maps, on every zoo architecture the
localizer supports, for both methods, both normalisations and every CAM target; and a store baked with either
backend reads the same."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import timm
import torch
import torchvision

from primary_mask import PrimaryMapStore, PrimaryRegionLocalizer
from primary_mask.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from f3net import F3Net  # noqa: E402

# the zoo's members (examples/backbones.py TIMM_NAMES, torchvision's MobileNetV2, the project's F3-Net), one logit
ARCHITECTURES = {
    "legacy_xception": lambda: timm.create_model("legacy_xception", pretrained=False, num_classes=1),
    "efficientnet_b4": lambda: timm.create_model("efficientnet_b4", pretrained=False, num_classes=1),
    "efficientnet_lite0": lambda: timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1),
    "vgg16": lambda: timm.create_model("vgg16", pretrained=False, num_classes=1),
    "resnet50": lambda: timm.create_model("resnet50", pretrained=False, num_classes=1),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=1),
    "f3net": lambda: F3Net(64, pretrained=False),
    "two-logit resnet10t": lambda: timm.create_model("resnet10t", pretrained=False, num_classes=2),
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_torch_cams_equal_pytorch_grad_cams_on_every_zoo_architecture(name):
    torch.manual_seed(0)
    model = ARCHITECTURES[name]()
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1]) if name != "resnet50" else torch.tensor([-1, 1])  # -1: the predicted class
    for cam in ("gradcam", "gradcam++"):
        for normalize in ("minmax", "max"):
            maps = {
                backend: PrimaryRegionLocalizer(
                    [model], cam=cam, normalize=normalize, size=32, device="cpu", cam_backend=backend
                ).model_cams(images, labels)
                for backend in ("torch", "grad-cam")
            }
            assert (maps["torch"] - maps["grad-cam"]).abs().max() < 1e-4, (cam, normalize)
    for target in ("fake", "both") if name in ("mobilenet_v2", "two-logit resnet10t") else ():
        maps = [
            PrimaryRegionLocalizer([model], device="cpu", size=32, target=target, cam_backend=b).model_cams(images)
            for b in ("torch", "grad-cam")
        ]
        assert (maps[0] - maps[1]).abs().max() < 1e-4, target


def test_the_backend_is_chosen_by_method_and_refuses_what_it_cannot_compute():
    model = timm.create_model("resnet10t", pretrained=False, num_classes=1)
    assert PrimaryRegionLocalizer([model], device="cpu").cam_backend == "torch"
    assert PrimaryRegionLocalizer([model], cam="xgradcam", device="cpu").cam_backend == "grad-cam"
    with pytest.raises(ValueError, match="computes \\('gradcam', 'gradcam\\+\\+'\\), not 'layercam'.*grad-cam"):
        PrimaryRegionLocalizer([model], cam="layercam", device="cpu", cam_backend="torch")


def test_stores_baked_with_either_backend_read_the_same(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(6):
        label = ("real", "fake")[i % 2]
        (tmp_path / "img" / label).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "img" / label / f"{i}.png"), rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
    torch.manual_seed(0)
    ckpt = tmp_path / "r.pth"
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), ckpt)
    args = ["bake", "--images", str(tmp_path / "img"), "--model", f"resnet10t:{ckpt}", "--size", "16"]
    args += ["--input-size", "64", "--workers", "0", "--quiet", "--dtype", "float16"]
    for backend in ("torch", "grad-cam"):
        assert main([*args, "--cam-backend", backend, "--out", str(tmp_path / backend)]) == 0
        assert PrimaryMapStore(tmp_path / backend).provenance["cam_backend"] == backend
    a, b = PrimaryMapStore(tmp_path / "torch"), PrimaryMapStore(tmp_path / "grad-cam")
    assert sorted(a.keys()) == sorted(b.keys())
    batch_a, batch_b = a.get_batch(sorted(a.keys())), b.get_batch(sorted(a.keys()))
    assert batch_a.amax() > 0 and (batch_a - batch_b).abs().max() < 2e-3  # float16 storage
    # the backend is recorded beside the settings, not compared: a resume with the other one goes on
    (tmp_path / "img" / "real" / "9.png").write_bytes(cv2.imencode(".png", np.zeros((48, 48, 3), np.uint8))[1])
    assert main([*args, "--cam-backend", "grad-cam", "--out", str(tmp_path / "torch")]) == 0
    assert len(PrimaryMapStore(tmp_path / "torch")) == 7

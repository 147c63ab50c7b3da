"""Online maps (issue #24 section 2): the forgery attention map against hand-computed linear models and finite
differences, RFM's box rule against RFM's own loop, and maps computed inside training that leave the training step
as they found it."""

import numpy as np
import pytest
import torch
from torch import nn

from primary_mask.functional.boxes import top_point_boxes
from primary_mask.localize.fam import forgery_attention_map
from primary_mask.localize.torch_cam import batch_cam
from primary_mask.transforms.rfm import BatchRFMErase, RFMRegionErase, draw_rfm_params
from primary_mask.tv_tensors import EraseFlag, PrimaryMap


def test_fam_of_a_linear_detector_is_the_largest_weight_magnitude_over_channels():
    g = torch.Generator().manual_seed(0)
    one = nn.Sequential(nn.Conv2d(3, 1, kernel_size=(6, 5)), nn.Flatten())  # one logit: sum w[c, y, x] x[c, y, x] + b
    two = nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 5, 2))
    images = torch.randn(4, 3, 6, 5, generator=g)
    fam = forgery_attention_map(one, images)
    expected = one[0].weight[0].detach().abs().amax(0)
    assert torch.allclose(fam, expected.expand(4, 6, 5), atol=1e-6)
    w = two[1].weight.detach().reshape(2, 3, 6, 5)
    assert torch.allclose(forgery_attention_map(two, images), (w[1] - w[0]).abs().amax(0).expand(4, 6, 5), atol=1e-6)
    assert torch.allclose(forgery_attention_map(two, images, fake_class=0), (w[0] - w[1]).abs().amax(0), atol=1e-6)


def test_fam_matches_finite_differences_on_a_small_network():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 2, 3, stride=2), nn.Flatten(),
                          nn.LazyLinear(2)).double()  # fmt: skip
    images = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    model(images)
    fam = forgery_attention_map(model, images)

    def score(x):
        with torch.no_grad():
            out = model(x)
        return out[:, 1] - out[:, 0]

    eps = 1e-6
    for y, x in ((0, 0), (3, 5), (7, 2)):
        per_channel = []
        for c in range(3):
            bump = torch.zeros_like(images)
            bump[:, c, y, x] = eps
            per_channel.append(((score(images + bump) - score(images - bump)) / (2 * eps)).abs())
        assert torch.allclose(fam[:, y, x].double(), torch.stack(per_channel).amax(0), rtol=1e-4, atol=1e-8)


def test_smoothed_fam_is_rfms_normfam():
    model = nn.Sequential(nn.Conv2d(3, 1, 3, padding=1), nn.Flatten(), nn.LazyLinear(1))
    images = torch.randn(2, 3, 16, 16)
    model(images)
    raw = forgery_attention_map(model, images)[:, None]
    half = torch.nn.functional.interpolate(raw, (8, 8), mode="bilinear", align_corners=False)
    back = torch.nn.functional.interpolate(half, (16, 16), mode="bilinear", align_corners=False)[:, 0]
    flat = back.flatten(1) - back.flatten(1).amin(1, keepdim=True)
    expected = (flat / flat.amax(1, keepdim=True)).reshape(back.shape)  # RFM's cal_normfam
    assert torch.allclose(forgery_attention_map(model, images, smooth=True), expected, atol=1e-5)


class Trained(nn.Module):
    """BatchNorm and dropout: the parts of a training step a map computation could disturb."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.drop(self.features(x).mean(dim=(2, 3))))


@pytest.mark.parametrize("maps", ["gradcam", "gradcam++", "fam"])
def test_maps_inside_training_leave_grads_statistics_dropout_and_modes_as_found(maps):
    torch.manual_seed(2)
    model = Trained().train()
    images = torch.randn(4, 3, 8, 8)
    model(images).sum().backward()  # a training step half done: .grad set, statistics moved
    model.features[1].eval()  # a module in its own mode: must come back as it was
    before = {
        "grads": [p.grad.clone() for p in model.parameters()],
        "stats": [t.clone() for t in (model.features[1].running_mean, model.features[1].running_var)],
        "batches": int(model.features[1].num_batches_tracked),
        "modes": [m.training for m in model.modules()],
        "rng": torch.get_rng_state(),
    }
    if maps == "fam":
        out = forgery_attention_map(model, images)
    else:
        out = batch_cam(model, model.features, images, torch.tensor([0, 1, 1, 0]), maps)
    assert out.shape == (4, 8, 8) and torch.isfinite(out).all()
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), before["grads"]))
    bn = model.features[1]
    assert torch.equal(bn.running_mean, before["stats"][0]) and torch.equal(bn.running_var, before["stats"][1])
    assert int(bn.num_batches_tracked) == before["batches"]
    assert [m.training for m in model.modules()] == before["modes"]
    assert torch.equal(torch.get_rng_state(), before["rng"])  # dropout drew nothing


def rfm_loop(score, heights, widths, above, left_of):
    """RFM's own rule, as its release writes it: points in descending score order, a box at each point not yet
    erased, until the boxes are used."""
    h, w = score.shape
    mask = np.ones((h, w), bool)
    order = np.argsort(-score.flatten(), kind="stable")  # ties: lower index first
    k = 0
    for index in order:
        if k == len(heights):
            break
        y, x = divmod(int(index), w)
        if mask[y, x]:
            top, bottom = max(y - above[k], 0), min(y + heights[k] - above[k], h)
            lft, rgt = max(x - left_of[k], 0), min(x + widths[k] - left_of[k], w)
            mask[top:bottom, lft:rgt] = False
            k += 1
    return ~mask


def test_top_point_boxes_is_rfms_loop():
    g = torch.Generator().manual_seed(3)
    scores = torch.rand(6, 20, 24, generator=g)
    scores[0] = 0.5  # all tied: the lowest index first
    params = draw_rfm_params(6, (20, 24), boxes=3, max_side=0.4, generator=g)
    got = top_point_boxes(scores, params.heights, params.widths, params.above, params.left_of)
    for i in range(6):
        expected = rfm_loop(scores[i].numpy(), *(t[i].tolist() for t in (params.heights, params.widths,
                            params.above, params.left_of)))  # fmt: skip
        assert np.array_equal(got[i].numpy(), expected), i
    assert (params.heights >= 1).all() and (params.heights <= round(0.4 * 20)).all()
    assert (params.above >= 1).all() and (params.above <= params.heights).all()


def test_batch_rfm_erase_fills_the_boxes_only_and_the_per_sample_twin_draws_the_same_rule():
    g = torch.Generator().manual_seed(4)
    images = torch.full((3, 3, 16, 16), 200, dtype=torch.uint8)
    scores = torch.rand(3, 8, 8, generator=g)  # resized to the images
    erase = BatchRFMErase(p=1.0, fill=0)
    out, params = erase(images, scores, return_params=True, generator=g)
    up = torch.nn.functional.interpolate(scores[:, None], (16, 16), mode="bilinear")[:, 0]
    boxes = top_point_boxes(up, params.heights, params.widths, params.above, params.left_of)
    assert torch.equal(out == 0, boxes[:, None].expand(-1, 3, -1, -1)) and params.erased.all()
    none = BatchRFMErase(p=0.0)(images, scores)
    assert torch.equal(none, images)
    one, _, flag = RFMRegionErase(p=1.0, fill=0)(images[0], PrimaryMap(scores[0]), EraseFlag())
    assert bool(flag) and 0 < int((one[0] == 0).sum()) <= 3 * round(120 / 256 * 16) ** 2
    with pytest.raises(ValueError, match="max_side must be in"):
        BatchRFMErase(max_side=2.0)

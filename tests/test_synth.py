from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation

from primary_mask.demo.synthetic_face import draw_face, face_landmarks
from primary_mask.synth import (
    KERNELS,
    PARTS_68,
    PseudoFakeDataset,
    RegionBlend,
    SelfBlend,
    UpsamplingReconstruction,
    blending_boundary,
    check_landmarks,
    region_mask,
    upsample,
)

FACE = draw_face(128, 0)
LM = face_landmarks(128)


@pytest.mark.parametrize("synth", [SelfBlend(), RegionBlend()], ids=["sbi", "region"])
def test_blend_semantics_and_determinism(synth):
    for seed in range(6):
        r = synth(FACE, LM, seed)
        m = r.mask.numpy()
        assert r.image.dtype == torch.uint8 and r.image.shape == (3, 128, 128) and 0 <= m.min() and m.max() <= 1
        fake = r.image.permute(1, 2, 0).numpy().astype(np.float64)
        expected = m[..., None] * r.foreground + (1 - m[..., None]) * r.background
        assert np.abs(fake - expected).max() <= 0.5 + 1e-4  # Eq. 1, rounded to uint8
        outside = m == 0
        assert np.array_equal(fake[outside], np.round(r.background[outside]))
        if r.transformed == "foreground":  # the background is then the untouched image
            assert np.array_equal(fake[outside], FACE[outside].astype(np.float64))
        assert torch.allclose(r.boundary, torch.from_numpy(4 * m * (1 - m)))
        again = synth(FACE, LM, seed)
        assert torch.equal(again.image, r.image) and torch.equal(again.mask, r.mask)
    assert not torch.equal(synth(FACE, LM, 0).image, synth(FACE, LM, 1).image)


def test_sbi_mask_lies_in_the_face_hull_grown_by_jitter_and_blur():
    hull = region_mask(LM, (128, 128), "face") > 0
    grown = binary_dilation(hull, iterations=int(0.2 * 128 * 0.5) + 6)  # blur k2 <= 0.2 * face extent, jitter 3%
    for seed in range(10):
        support = SelfBlend()(FACE, LM, seed).mask.numpy() > 1e-3
        assert support.any() and not (support & ~grown).any()


def test_blend_ratio_scales_the_mask():
    r = SelfBlend(blend_ratios=[0.5])(FACE, LM, 3)
    assert r.mask.max() == pytest.approx(0.5) and r.info["blend_ratio"] == 0.5


@pytest.mark.parametrize("kind", ["eyes", "mouth", "eyes_mouth", "rect4", "face"])
def test_region_masks_match_their_landmarks(kind):
    r = RegionBlend(mask_types=[kind], deform=False)(FACE, LM, 0)
    m = r.mask.numpy() > 0
    assert r.info["mask_type"] == kind
    ys, xs = np.nonzero(m)
    parts = {
        "eyes": PARTS_68["left_eye"] + PARTS_68["right_eye"],
        "mouth": PARTS_68["mouth"],
        "eyes_mouth": PARTS_68["left_eye"] + PARTS_68["right_eye"] + PARTS_68["mouth"],
    }.get(kind, list(range(68)))
    pts = LM[parts]
    # inside the bounding box of its landmarks (+1 px rasterisation), and covers most of it for convex parts
    assert xs.min() >= pts[:, 0].min() - 1 and xs.max() <= pts[:, 0].max() + 1
    assert ys.min() >= pts[:, 1].min() - 1 and ys.max() <= pts[:, 1].max() + 1
    if kind == "eyes_mouth":
        assert np.array_equal(m, (region_mask(LM, (128, 128), "eyes") + region_mask(LM, (128, 128), "mouth")) > 0)


def test_upsampling_kernels():
    rng = np.random.default_rng(0)
    img = (rng.random((64, 48, 3)) * 255).astype(np.float32)
    small = img[::2, ::2].copy()
    nearest = upsample(small, 2, (64, 48), "nearest")
    assert np.array_equal(nearest[::2, ::2], small) and np.array_equal(nearest[1::2, 1::2], small)
    flat = np.full((16, 12, 3), 100, np.float32)
    for kernel in KERNELS:  # a constant image stays constant (the zero-insertion kernel sums to the factor^2)
        out = upsample(flat, 4, (64, 48), kernel)
        assert out.shape == (64, 48, 3) and np.allclose(out[8:-8, 8:-8], 100, atol=1e-3), kernel
    recon = UpsamplingReconstruction(factors=[4], kernels=["bilinear"])(img, rng)
    assert recon.shape == img.shape and np.abs(recon - img).mean() > 5  # detail lost: up-sampling traces
    with pytest.raises(ValueError, match="kernels must be"):
        UpsamplingReconstruction(kernels=["lanczos"])


def test_pluggable_reconstruction_is_used():
    calls = []

    def my_autoencoder(img, rng):
        calls.append(img.shape)
        return np.zeros_like(img)

    r = RegionBlend(reconstructions=[(my_autoencoder, 1.0)], mask_types=["face"], deform=False)(FACE, LM, 0)
    assert calls == [(128, 128, 3)]
    inside = r.mask.numpy() == 1
    if r.transformed == "background":
        assert r.image.permute(1, 2, 0).numpy()[inside].max() == 0  # the "AE" output fills the region


def test_bad_landmarks_and_images():
    with pytest.raises(ValueError, match="68 finite \\(x, y\\) points"):
        SelfBlend()(FACE, LM[:60], 0)
    with pytest.raises(ValueError, match="outside"):
        SelfBlend()(FACE, LM + 500, 0)
    with pytest.raises(ValueError, match="degenerate"):
        SelfBlend()(FACE, np.full((68, 2), 40.0), 0)
    with pytest.raises(ValueError, match="NaN"):
        check_landmarks(np.full((68, 2), np.nan), (128, 128))
    with pytest.raises(ValueError, match="at least 32 px"):
        SelfBlend()(FACE[:20, :20], LM / 8, 0)
    grey = SelfBlend()(FACE[..., 0], LM, 0)  # grayscale is replicated to RGB
    assert grey.image.shape == (3, 128, 128)
    as_tensor = SelfBlend()(torch.from_numpy(FACE).permute(2, 0, 1), LM, 0)
    assert torch.equal(as_tensor.image, SelfBlend()(FACE, LM, 0).image)


def test_blending_boundary_is_eq2():
    m = np.array([0.0, 0.25, 0.5, 1.0])
    assert blending_boundary(m).tolist() == [0.0, 0.75, 1.0, 0.0]


def test_pseudo_fake_dataset(tmp_path):
    import cv2

    from primary_mask.data import list_folder

    for i in range(3):
        (tmp_path / "faces").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "faces" / f"{i}.png"), cv2.cvtColor(draw_face(128, i), cv2.COLOR_RGB2BGR))
    items = list_folder(tmp_path / "faces")
    lms = {it.key: face_landmarks(128) for it in items[:2]}  # the third has none
    ds = PseudoFakeDataset(items, lms, [SelfBlend(), RegionBlend()], seed=1)
    assert len(ds) == 4 and ds.dropped == ["2.png"] and [ds[i][1] for i in range(4)] == [0, 0, 1, 1]
    real, fake = ds[0][0], ds[2][0]
    assert torch.equal(real, torch.from_numpy(draw_face(128, 0)).permute(2, 0, 1)) and not torch.equal(real, fake)
    assert torch.equal(ds[2][0], PseudoFakeDataset(items, lms, [SelfBlend(), RegionBlend()], seed=1)[2][0])
    ds.set_epoch(1)
    assert not torch.equal(ds[2][0], fake)


def test_dlib_landmarks_on_utkface():
    pytest.importorskip("dlib", reason="the 'landmarks' extra (dlib-bin) is not installed")
    faces = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "utkface").glob("*.jpg"))[:5]
    if not faces:
        pytest.skip("../shared/data/utkface is not available")
    from primary_mask.data.io import read_rgb
    from primary_mask.synth import DlibLandmarks

    extractor = DlibLandmarks()
    found = [extractor(read_rgb(f)) for f in faces]
    assert sum(p is not None for p in found) >= 4
    for p, f in zip(found, faces):
        if p is not None:
            pts = check_landmarks(p, read_rgb(f).shape[:2])
            assert pts[PARTS_68["nose"], 1].mean() < pts[PARTS_68["mouth"], 1].mean()  # the nose above the mouth


def test_landmarks_cli_with_a_list_writes_key_named_files(tmp_path, capsys):
    pytest.importorskip("dlib", reason="the 'landmarks' extra (dlib-bin) is not installed")
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "utkface"
    faces = sorted(root.glob("*.jpg"))[:3]
    if not faces:
        pytest.skip("../shared/data/utkface is not available")
    from primary_mask import LandmarkFolder
    from primary_mask.cli import main

    listing = tmp_path / "list.csv"
    listing.write_text("".join(f"{f.name},real\n" for f in faces[:2]))  # the third is not listed
    assert (
        main(["landmarks", "--images", str(root), "--list", str(listing), "--out", str(tmp_path / "lm"), "--quiet"])
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "lm").iterdir()) == sorted(f"{f.name}.npy" for f in faces[:2])
    assert LandmarkFolder(tmp_path / "lm")[faces[0].name].shape == (68, 2)
    assert "2 of 2 images have landmarks" in capsys.readouterr().out


def test_synth_grid_cli_with_a_landmark_folder(tmp_path):
    import cv2

    from primary_mask.cli import main

    for i in range(3):
        (tmp_path / "faces").mkdir(exist_ok=True)
        (tmp_path / "lm").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "faces" / f"{i}.png"), cv2.cvtColor(draw_face(128, i), cv2.COLOR_RGB2BGR))
        np.save(tmp_path / "lm" / f"{i}.png.npy", face_landmarks(128))
    out = tmp_path / "grid.png"
    assert (
        main(
            [
                "synth-grid",
                "--images",
                str(tmp_path / "faces"),
                "--landmarks",
                str(tmp_path / "lm"),
                "--out",
                str(out),
                "--n",
                "3",
            ]
        )
        == 0
    )
    grid = cv2.imread(str(out))
    assert grid.shape[0] > 3 * 160 and grid.shape[1] > 5 * 160  # 3 faces x 5 columns

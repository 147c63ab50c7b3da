import cv2
import numpy as np
import pytest
import torch

from primary_mask import PrimaryMapStore, verify_store
from primary_mask.cli import main
from primary_mask.demo import DEMO_ALPHAS, erase_grid, static_stage
from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quick"]) == 0
    return out


def test_demo_writes_its_figures(demo_dir):
    for name in ("erase_grid.png", "inspect_grid.png", "stats.png", "band_value_grid.png"):
        img = cv2.imread(str(demo_dir / name))
        assert img is not None and img.shape[0] > 200, name
    assert "fake" in (demo_dir / "stats.txt").read_text()
    assert verify_store(demo_dir / "store") == ([], [])
    assert len(PrimaryMapStore(demo_dir / "store")) == 120  # 60 real + 60 fake


def test_the_static_stage_finds_the_forged_regions(demo_dir):
    """End to end: detectors trained on nose/mouth forgeries put their fused attention on the forged region."""
    store = PrimaryMapStore(demo_dir / "store")
    from primary_mask.demo.forgeries import forgery_set

    inside, outside = [], []
    for name, _, _, mask in forgery_set(60, size=128):
        m = store[f"fake/{name}.png"].numpy()
        region = cv2.resize(mask, m.shape[::-1], interpolation=cv2.INTER_AREA) > 0.5
        inside.append(m[region].mean())
        outside.append(m[~region].mean())
    assert np.mean(inside) > 1.5 * np.mean(outside)


def test_demo_refuses_to_delete_a_store_it_did_not_make(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "store.json").write_text('{"format": "primary-mask-store", "provenance": {}}')
    with pytest.raises(FileExistsError, match="not a demo store"):
        static_stage(tmp_path, n_pairs=2, steps=1, progress=False)


def test_erase_grid_layout():
    grid = erase_grid(n_faces=2, size=64)
    assert grid.shape[1] > (2 + len(DEMO_ALPHAS)) * 64 and grid.shape[0] > 2 * 64


def test_synthetic_material_is_deterministic_and_valid():
    assert np.array_equal(draw_face(128, 3), draw_face(128, 3))
    assert not np.array_equal(draw_face(128, 3), draw_face(128, 4))
    m = synthetic_primary_map(64, 0, tau=0.3)
    assert m.dtype == np.float32 and m.min() == 0 and m.max() == 1
    assert ((m > 0) & (m <= 0.3)).sum() == 0  # Eq. 6 threshold applied
    assert torch.from_numpy(m).shape == (64, 64)


def test_the_demo_shows_each_stage_and_the_training_progress(tmp_path, capfd):
    """A user waiting on the demo sees which stage runs and how far each detector's training is."""
    static_stage(tmp_path, n_pairs=2, steps=3, progress=True)
    out, err = capfd.readouterr()
    assert "[1/4] drawing 2 real and 2 forged faces" in out
    assert "[2/4] training 3 tiny detectors, 3 steps each" in out
    assert "[3/4] baking" in out
    for name in ("TinyXception", "TinyResNet", "TinyVGG"):
        assert f"train {name}" in err and "3/3" in err.split(f"train {name}")[-1].split("train ")[0], name
    static_stage(tmp_path / "quiet", n_pairs=2, steps=3, progress=False)
    out, err = capfd.readouterr()
    assert "[1/4]" not in out and "train Tiny" not in err

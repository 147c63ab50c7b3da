import cv2
import numpy as np

from primary_mask.cli import main
from primary_mask.demo import DEMO_ALPHAS
from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map


def test_demo_writes_the_erase_grid(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    path = tmp_path / "erase_grid.png"
    assert f"wrote {path}" in capsys.readouterr().out
    grid = cv2.imread(str(path))
    assert grid is not None
    assert grid.shape[1] > (2 + len(DEMO_ALPHAS)) * 256 and grid.shape[0] > 3 * 256  # 3 faces x 6 columns


def test_synthetic_material_is_deterministic_and_valid():
    assert np.array_equal(draw_face(128, 3), draw_face(128, 3))
    assert not np.array_equal(draw_face(128, 3), draw_face(128, 4))
    m = synthetic_primary_map(64, 0, tau=0.3)
    assert m.dtype == np.float32 and m.min() == 0 and m.max() == 1
    assert ((m > 0) & (m <= 0.3)).sum() == 0  # Eq. 6 threshold applied

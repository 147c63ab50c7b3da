"""Small image helpers for figures (uint8 RGB numpy arrays, written as PNG with OpenCV)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from primary_mask.functional.erase import primary_region_erase

__all__ = ["NO_FACE_GREY", "erase_row", "overlay_heatmap", "labelled_grid", "write_png"]


def overlay_heatmap(image: np.ndarray, heat: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Blend a JET-coloured ``heat`` map (h, w) in [0, 1] over ``image`` (H, W, 3) uint8 RGB."""
    heat = cv2.resize(np.clip(heat, 0, 1).astype(np.float32), image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    colour = cv2.cvtColor(cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(image, 1 - weight, colour, weight, 0)


NO_FACE_GREY = 160  # the canvas figures draw maps and holes on when they must not show the images
LABEL_WIDTH = 150  # px of the row-label strip
BAR_WIDTH = 46  # px of the colour bar strip


def _text(grid: np.ndarray, text: str, x: int, y: int) -> None:
    cv2.putText(grid, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)


def labelled_grid(
    rows: Sequence[Sequence[np.ndarray]],
    titles: Sequence[str],
    pad: int = 4,
    row_labels: Sequence[Sequence[str]] | None = None,
    colour_bar: bool = False,
) -> np.ndarray:
    """Tile equally sized RGB tiles into a grid with a title strip over each column; ``row_labels`` (lines of text
    per row, e.g. its label and key) in a strip on the left; ``colour_bar``: the JET scale of the map overlays, 0 to
    1, on the right."""
    h, w = rows[0][0].shape[:2]
    n_cols = max(len(r) for r in rows)
    strip, left = 22, LABEL_WIDTH if row_labels is not None else 0
    right = BAR_WIDTH if colour_bar else 0
    grid = np.full((strip + len(rows) * (h + pad) + pad, left + n_cols * (w + pad) + pad + right, 3), 255, np.uint8)
    for j, title in enumerate(titles[:n_cols]):
        _text(grid, title, left + pad + j * (w + pad) + 4, 16)
    for i, row in enumerate(rows):
        y = strip + pad + i * (h + pad)
        for j, tile in enumerate(row):
            x = left + pad + j * (w + pad)
            grid[y : y + h, x : x + w] = tile
        for k, line in enumerate((row_labels or [[]] * len(rows))[i]):
            fits = line if len(line) <= 21 else "..." + line[-18:]  # the end of a key names the file
            _text(grid, fits, 4, y + 18 + 18 * k)
    if colour_bar:
        x, top, bottom = grid.shape[1] - right + 6, strip + pad, grid.shape[0] - pad
        ramp = np.linspace(255, 0, bottom - top).astype(np.uint8)[:, None].repeat(14, axis=1)
        grid[top:bottom, x : x + 14] = cv2.cvtColor(cv2.applyColorMap(ramp, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
        _text(grid, "1", x + 18, top + 10)
        _text(grid, "0", x + 18, bottom - 2)
        _text(grid, "map", x - 4, 16)
    return grid


def save_figure(fig, out: str | Path, title: str = "", dpi: int = 110) -> Path:
    """Give a matplotlib figure its title, lay it out, write it as a PNG at ``out`` (parent folders created; cropped
    to what is drawn, so a legend outside the axes is never cut off) and close it; returns the path."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    if fig.get_layout_engine() is None:  # a figure made with layout="constrained" lays itself out
        fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")  # legends and notes placed outside the axes are kept
    plt.close(fig)
    return out


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 array as PNG, creating parent folders; raises ``OSError`` naming the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode a PNG for {path}")
    path.write_bytes(png.tobytes())  # the OS's own error (read-only, full, no permission) names the file
    return path


def erase_row(image: np.ndarray, pmap: np.ndarray, alphas: Sequence[float], fill=0) -> list[np.ndarray]:
    """One row of the paper's Fig. 7: the image (H, W, 3) uint8 RGB, its map (h, w) overlaid, and the image
    erased at each alpha (map resized bilinearly to the image)."""
    images = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).expand(len(alphas), -1, -1, -1)
    maps = torch.as_tensor(pmap, dtype=torch.float32).expand(len(alphas), -1, -1)
    erased = primary_region_erase(images, maps, torch.tensor(list(alphas), dtype=torch.float64), fill=fill)
    return [image, overlay_heatmap(image, np.asarray(pmap))] + [e.permute(1, 2, 0).numpy() for e in erased]

"""PNG figures that are easier to look at than to read: the Fig. 7 inspect grid and the Fig. 3 / Table I stats."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from primary_mask.data.io import read_rgb
from primary_mask.figures.tiles import NO_FACE_GREY, erase_row, labelled_grid, save_figure, write_png
from primary_mask.store.reader import PrimaryMapStore
from primary_mask.store.stats import StoreStats

__all__ = ["choose_keys", "inspect_grid", "stats_figure", "synth_grid"]


def choose_keys(store: PrimaryMapStore, n: int = 8, seed: int = 0) -> list[str]:
    """``n`` keys of ``store`` (all when it holds fewer) drawn with ``seed``, in key order: the rows of
    :func:`inspect_grid`. ``ValueError`` for an empty store or ``n < 1``."""
    keys = sorted(store.keys())
    if not keys:
        raise ValueError(f"store {store.path} is empty")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    return [keys[i] for i in sorted(rng.choice(len(keys), size=min(n, len(keys)), replace=False))]


def inspect_grid(
    store: PrimaryMapStore,
    images_root: str | Path,
    out: str | Path,
    alphas: Sequence[float] = (1.0, 0.7, 0.4, 0.1),
    n: int = 8,
    seed: int = 0,
    tile: int = 192,
    show_faces: bool = True,
    keys: Sequence[str] | None = None,
) -> Path:
    """Write a grid of ``n`` stored keys (drawn with ``seed``, :func:`choose_keys`; or ``keys``): each row labelled
    with its label (real / fake, from the key's folder) and key, then the image, the map overlay and the image erased
    at each alpha, with the overlay's colour bar. ``show_faces=False`` leaves the image column out and draws the
    maps and masks on a grey canvas, for figures that must not reproduce the images themselves (e.g.
    research-licensed data in a public report). Raises ``FileNotFoundError`` naming the image when a key's file is
    not under ``images_root``."""
    from primary_mask.data.image_list import label_from_path

    chosen = list(keys) if keys is not None else choose_keys(store, n, seed)
    rows = []
    for key in chosen:
        if not show_faces:  # the map and the masks on grey, without the empty image column
            rows.append(erase_row(np.full((tile, tile, 3), NO_FACE_GREY, np.uint8), store[key].numpy(), alphas)[1:])
            continue
        path = Path(images_root) / key
        try:
            rgb = cv2.resize(read_rgb(path), (tile, tile), interpolation=cv2.INTER_AREA)
        except ValueError as exc:
            raise FileNotFoundError(f"{exc} (key {key!r}); is --images the root the store was baked from?") from None
        rows.append(erase_row(rgb, store[key].numpy(), alphas))
    titles = ["image"] * show_faces + ["fused map"] + [f"alpha={a}" for a in alphas]
    names = {0: "real", 1: "fake"}
    labels = [[names.get(label_from_path(key), "label ?"), key] for key in chosen]
    return write_png(out, labelled_grid(rows, titles, row_labels=labels, colour_bar=True))


def stats_figure(stats: StoreStats, out: str | Path, title: str = "") -> Path:
    """Two panels: positive-pixel share per folder (Table I) and the histogram of positive values (Fig. 3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    groups = sorted(stats.groups)
    ax1.barh(groups, [100 * stats.groups[g][1] for g in groups], color="#4C72B0")
    ax1.set_xlabel("positive pixels per map (%)")
    ax1.set_title("share of positive pixels per folder")
    centres = (stats.hist_edges[:-1] + stats.hist_edges[1:]) / 2
    ax2.bar(centres, stats.hist_counts, width=np.diff(stats.hist_edges) * 0.9, color="#DD8452")
    ax2.set_xlabel("attention value")
    ax2.set_ylabel("pixels")
    ax2.set_title("values of positive pixels")
    return save_figure(fig, out, title, dpi=110)


def synth_grid(images, landmarks, out: str | Path, seed: int = 0, tile: int = 160) -> Path:
    """Rows of: real face | SBI mask | SBI pseudo-fake | FIA-USA region mask | region pseudo-fake.
    ``images``: uint8 RGB (H, W, 3) arrays; ``landmarks``: their (68, 2) points."""
    import numpy as np

    from primary_mask.synth import RegionBlend, SelfBlend

    def tile_of(rgb):
        return cv2.resize(np.ascontiguousarray(rgb), (tile, tile), interpolation=cv2.INTER_AREA)

    def mask_tile(mask):
        grey = (np.asarray(mask) * 255).astype(np.uint8)
        return tile_of(np.repeat(grey[..., None], 3, axis=2))

    rows = []
    for i, (rgb, pts) in enumerate(zip(images, landmarks)):
        rng = np.random.default_rng([seed, i])
        sbi, region = SelfBlend()(rgb, pts, rng), RegionBlend()(rgb, pts, rng)
        rows.append(
            [
                tile_of(rgb),
                mask_tile(sbi.mask),
                tile_of(sbi.image.permute(1, 2, 0).numpy()),
                mask_tile(region.mask),
                tile_of(region.image.permute(1, 2, 0).numpy()),
            ]
        )
    titles = ["real", "SBI mask", "SBI fake", "region mask", "FIA-USA fake"]
    return write_png(out, labelled_grid(rows, titles))

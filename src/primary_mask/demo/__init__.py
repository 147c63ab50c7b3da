"""The README demo (``make demo`` / ``primary-mask demo``): the whole static stage on drawn faces.

1. draw real faces and fakes with a forged nose or mouth, write them as PNG under ``OUT/faces/{real,fake}``;
2. train three tiny detectors (Xception-, ResNet-, VGG-like) for 100 steps each (50 with ``quick``);
3. bake their fused Grad-CAMs into ``OUT/store`` with the library's own ``bake``;
4. write ``OUT/inspect_grid.png`` (Fig. 7 on the baked maps), ``OUT/stats.txt`` and ``OUT/stats.png``
   (Table I / Fig. 3), ``OUT/erase_grid.png`` (Fig. 7 on hand-made maps) and ``OUT/band_value_grid.png`` (the
   zoo's own CAMs of three fakes fused with ``band_value`` "mean", the default, and "max", Eq. 8, and erased).
Training takes most of the time; each step prints progress.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from primary_mask.data.image_list import list_folder
from primary_mask.demo.forgeries import forgery_set
from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map
from primary_mask.demo.tiny_zoo import tiny_zoo, train_detector
from primary_mask.figures.tiles import erase_row, labelled_grid, write_png
from primary_mask.localize import PrimaryRegionLocalizer
from primary_mask.localize.bake import bake, bake_dataset
from primary_mask.store import PrimaryMapStore, PrimaryMapWriter, store_stats

__all__ = ["DEMO_ALPHAS", "band_value_grid", "erase_grid", "run_demo", "static_stage"]

DEMO_ALPHAS = (1.0, 0.7, 0.4, 0.1)
INPUT = 64


def erase_grid(n_faces: int = 3, size: int = 256, alphas=DEMO_ALPHAS, seed: int = 0) -> np.ndarray:
    """Rows of (face, map overlay, erased at each alpha), like the paper's Fig. 7; RGB uint8."""
    rows = [erase_row(draw_face(size, seed + i), synthetic_primary_map(64, seed + i), alphas) for i in range(n_faces)]
    return labelled_grid(rows, ["face", "fused map"] + [f"alpha={a}" for a in alphas])


def band_value_grid(localizer: PrimaryRegionLocalizer, faces: Path, n_faces: int = 3, alphas=DEMO_ALPHAS) -> np.ndarray:
    """Rows of (face, map, erased at each alpha) for the first ``n_faces`` fakes under ``faces/fake``, two rows per
    face: the zoo's CAMs fused with ``band_value="mean"`` (the default: cores go first) and ``"max"`` (Eq. 8:
    rims outrank the cores they surround, so alpha < 1 erases rings first); the other settings are the
    localizer's. RGB uint8."""
    from primary_mask.data.io import read_rgb
    from primary_mask.localize import fuse_maps

    items = [it for it in list_folder(faces) if it.label == 1][:n_faces]
    loaded = bake_dataset(items, INPUT)
    images = torch.stack([loaded[i][0] for i in range(len(items))])
    cams = localizer.model_cams(images, torch.ones(len(items), dtype=torch.long))
    rows = []
    for i, item in enumerate(items):
        face = read_rgb(faces / item.key)
        for band_value in ("mean", "max"):
            kw = {"tau1": localizer.tau1, "tau2": localizer.tau2, "lam": localizer.lam, "band_value": band_value}
            fused = fuse_maps(cams[:, i : i + 1], "neighboring", **kw)[0]
            rows.append(erase_row(face, (fused / fused.max().clamp_min(1e-12)).numpy(), alphas))
    return labelled_grid(rows, ["fake", "mean / max"] + [f"alpha={a}" for a in alphas])


def _write_faces(root: Path, n_pairs: int) -> dict[str, np.ndarray]:
    """Write the face set; returns the forged-region mask of each fake's key."""
    masks = {}
    for name, real, fake, mask in forgery_set(n_pairs, size=128):
        for label, img in (("real", real), ("fake", fake)):
            write_png(root / label / f"{name}.png", img)
        masks[f"fake/{name}.png"] = mask
    return masks


def _fresh_store(path: Path) -> None:
    """Remove a store the demo made earlier; refuse to touch anything else."""
    meta = path / "store.json"
    if not path.exists():
        return
    if not meta.exists() or not json.loads(meta.read_text()).get("provenance", {}).get("demo"):
        raise FileExistsError(f"{path} exists and is not a demo store; choose another --out")
    shutil.rmtree(path)


def _stage(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def static_stage(out: Path, n_pairs: int = 120, steps: int = 100, progress: bool = True) -> dict[str, object]:
    """Steps 1-3 of the demo; returns the store path, the detectors' accuracies and the forged-region masks.

    ``progress``: a line per step on stdout and tqdm bars (stderr) while the detectors train and the maps bake."""
    faces = out / "faces"
    _stage(progress, f"[1/4] drawing {n_pairs} real and {n_pairs} forged faces -> {faces}")
    masks = _write_faces(faces, n_pairs)
    items = list_folder(faces)
    loaded = bake_dataset(items, INPUT)  # exactly what bake feeds the zoo
    images = torch.stack([loaded[i][0] for i in range(len(items))])
    labels = torch.tensor([it.label for it in items])
    torch.manual_seed(0)
    zoo = tiny_zoo()
    _stage(progress, f"[2/4] training {len(zoo)} tiny detectors, {steps} steps each")
    accuracies = {
        type(m).__name__: train_detector(m, images, labels, steps, seed=i, progress=progress) for i, m in enumerate(zoo)
    }
    store_path = out / "store"
    _fresh_store(store_path)
    _stage(progress, f"[3/4] baking the zoo's fused Grad-CAMs of {len(items)} faces -> {store_path}")
    localizer = PrimaryRegionLocalizer(zoo, size=32, device="cpu", batch_size=64)
    provenance = localizer.provenance() | {"demo": True}
    writer = PrimaryMapWriter(store_path, size=32, provenance=provenance, shard_size=128)
    bake(items, localizer, writer, input_size=INPUT, batch_size=64, workers=0, progress=progress)
    return {
        "store": store_path,
        "faces": faces,
        "accuracy": accuracies,
        "forged_regions": masks,
        "localizer": localizer,
    }


def run_demo(out: str | Path = "demo_out", quick: bool = False, progress: bool = True) -> list[Path]:
    """Write the demo outputs under ``out`` and return their paths (``quick``: a smaller, faster run)."""
    from primary_mask.figures import inspect_grid, stats_figure

    out = Path(out)
    result = static_stage(out, n_pairs=60 if quick else 120, steps=50 if quick else 100, progress=progress)
    store = PrimaryMapStore(result["store"])
    print("detector training accuracy:", ", ".join(f"{k} {v:.2f}" for k, v in result["accuracy"].items()))
    _stage(progress, f"[4/4] writing the figures and stats under {out}")
    stats = store_stats(store.path, depth=1, bins=10)
    (out / "stats.txt").write_text(stats.table() + "\n")
    print(stats.table())
    return [
        write_png(out / "erase_grid.png", erase_grid()),
        inspect_grid(store, result["faces"], out / "inspect_grid.png", DEMO_ALPHAS, n=6, tile=128),
        out / "stats.txt",
        stats_figure(stats, out / "stats.png", title="demo store"),
        write_png(out / "band_value_grid.png", band_value_grid(result["localizer"], result["faces"])),
    ]

"""The oracle row: a map store whose maps are the true manipulation regions of real/fake pairs.

Built from a folder written by :func:`~primary_mask.quality.write_masks` (``primary-mask masks``): the map of an
aligned pair's fake is its mask, and the map of the pair's real is the same mask (the region the fake changed),
so training with ``StaticRegionErase`` (``train.py --mask static``, which erases every positive pixel, with no tie
order) erases exactly the manipulated region on both. A real that is the source of several aligned fakes gets the
union of their masks. Pairs without a mask (misaligned, or an image missing) get no map: train with
``--missing-maps skip`` and they are never erased.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as nnf

from primary_mask.quality.manipulation import MaskFolder

__all__ = ["OracleReport", "oracle_map", "oracle_maps", "write_oracle_store"]


def oracle_map(mask: np.ndarray, size: int) -> torch.Tensor:
    """``(H, W)`` bool mask -> ``(size, size)`` float32 map in {0, 1}: a map pixel is 1 when at least half of the
    image area it covers is manipulated (area average, then ``>= 0.5``). ``ValueError`` for a non-2-D mask."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {m.shape}")
    t = torch.from_numpy(m.astype(np.float32))[None, None]
    share = nnf.interpolate(t, size=(size, size), mode="area") if tuple(m.shape) != (size, size) else t
    return (share[0, 0] >= 0.5).float()


@dataclass
class OracleReport:
    """What :func:`oracle_maps` / :func:`write_oracle_store` found: pairs in the table (under the prefix), pairs
    with a mask, pairs without one (excluded: never erased), pairs outside the prefix (other splits), the maps of
    fakes and of reals, and how many maps are empty (the mask vanished at the map size: never erased)."""

    pairs: int = 0
    with_mask: int = 0
    without_mask: int = 0
    outside_prefix: int = 0
    fakes: int = 0
    reals: int = 0
    empty: int = 0
    coverage: list[float] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.pairs} pairs: {self.with_mask} with a mask ({self.fakes} fake and {self.reals} real maps), "
            f"{self.without_mask} without (misaligned or missing: no map, never erased)"
        )
        if self.outside_prefix:
            text += f"; {self.outside_prefix} pairs outside the prefix left out"
        if self.empty:
            text += f"; {self.empty} maps empty at this map size (never erased)"
        if self.coverage:
            text += f"; median map share {100 * float(np.median(self.coverage)):.1f}%"
        return text


def _table(masks: Path) -> list[dict[str, str]]:
    table = masks / "masks.csv"
    if not table.is_file():
        raise FileNotFoundError(
            f"{table} is missing: primary-mask masks writes it at the end of a complete run; run it (again) on {masks}"
        )
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"fake", "real", "status"} <= set(rows[0]):
        raise ValueError(f"{table}: needs the columns fake, real and status (written by primary-mask masks)")
    return rows


def oracle_maps(
    masks: str | Path, size: int = 64, prefix: str = ""
) -> tuple[dict[str, torch.Tensor], dict[str, tuple[int, int]], OracleReport]:
    """The oracle maps of every pair in ``MASKS/masks.csv``: ``(maps, image_sizes, report)``.

    ``maps``: key -> ``(size, size)`` float32 map in {0, 1} (:func:`oracle_map`) for the fake of each pair with
    status ``aligned`` and for its real (the union over the real's aligned fakes); ``image_sizes``: key -> (h, w)
    of the mask (= the image's). ``prefix`` keeps only pairs whose fake and real keys start with it and strips
    it (e.g. ``"train/"`` for masks keyed from ``dfdc/`` and a store for ``dfdc/train``). ``FileNotFoundError``
    without the table; ``ValueError`` when a table row names an aligned fake whose mask file is missing or has
    the wrong size, or when no pair is under ``prefix``.
    """
    folder = Path(masks)
    rows = _table(folder)
    reader = MaskFolder(folder)
    report = OracleReport()
    union: dict[str, np.ndarray] = {}
    fakes: dict[str, np.ndarray] = {}
    for row in rows:
        fake, real = row["fake"], row["real"]
        if not (fake.startswith(prefix) and real.startswith(prefix)):
            report.outside_prefix += 1
            continue
        report.pairs += 1
        if row["status"] != "aligned":
            report.without_mask += 1
            continue
        try:
            mask = reader[fake]
        except KeyError as err:
            raise ValueError(f"{folder / 'masks.csv'} lists {fake} as aligned but {err.args[0]}") from None
        report.with_mask += 1
        fakes[fake[len(prefix) :]] = mask
        key = real[len(prefix) :]
        if key in union and union[key].shape != mask.shape:
            raise ValueError(f"the masks of the fakes of {real} differ in size ({union[key].shape}, {mask.shape})")
        union[key] = mask | union[key] if key in union else mask
    if rows and report.pairs == 0:
        raise ValueError(f"no pair of {folder / 'masks.csv'} has keys starting with {prefix!r}, e.g. {rows[0]['fake']}")
    overlap = set(fakes) & set(union)
    if overlap:
        raise ValueError(f"{sorted(overlap)[:3]} are listed both as a fake and as a real in {folder / 'masks.csv'}")
    maps, sizes = {}, {}
    for group, count in ((fakes, "fakes"), (union, "reals")):
        for key, mask in group.items():
            maps[key] = oracle_map(mask, size)
            sizes[key] = (int(mask.shape[0]), int(mask.shape[1]))
            share = float(maps[key].mean())
            report.coverage.append(share)
            report.empty += share == 0
        setattr(report, count, len(group))
    return maps, sizes, report


def write_oracle_store(
    masks: str | Path, out: str | Path, size: int = 64, prefix: str = "", batch: int = 256
) -> OracleReport:
    """Write :func:`oracle_maps` into a map store at ``out`` (uint8, ``size`` x ``size``), resumable: a rerun
    adds only keys the store lacks, and a store written with another size, mask rule, mask folder or prefix is
    refused by the writer (:class:`~primary_mask.store.StoreError` naming the first difference). The provenance
    records ``{"kind": "oracle", ...}`` and the report. Errors as :func:`oracle_maps`."""
    from primary_mask.store import PrimaryMapWriter

    folder = Path(masks)
    maps, sizes, report = oracle_maps(folder, size, prefix)
    rule_file = folder / "masks.json"
    rule = json.loads(rule_file.read_text()).get("rule") if rule_file.is_file() else None
    settings = {"kind": "oracle", "masks": str(folder.resolve()), "rule": rule, "prefix": prefix, "size": size}
    provenance = {"settings": settings, "oracle": {k: v for k, v in vars(report).items() if k != "coverage"}}
    keys = sorted(maps)
    with PrimaryMapWriter(out, size=size, dtype="uint8", provenance=provenance) as writer:
        for i in range(0, len(keys), batch):
            chunk = keys[i : i + batch]
            writer.add(chunk, torch.stack([maps[k] for k in chunk]), [sizes[k] for k in chunk])
    return report

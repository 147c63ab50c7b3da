"""Online primary maps for train.py (issue #24): maps from the detector being trained instead of a zoo's.

Two refresh rules:
- ``step`` (RFM's schedule): at every step the current model's maps of the batch (``localize.online.online_maps``)
  and the erase on the device (PRLE's ``BatchPrimaryRegionErase``, or RFM's boxes with ``--mask rfm``).
- ``epoch:N`` (self-PRLE): every N epochs the current model's CAMs are baked into a store with the library's bake
  job (``bake_store``: its locking, resume and torchrun sharding), then read by the per-sample transform until the
  next refresh. Before the first refresh (epochs 0 .. N-1) there is no map: those epochs are a warm-up without
  erasing, and the log says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from primary_mask import PrimaryMapStore
from primary_mask.localize.bake import bake_store
from primary_mask.localize.recipe import RECIPE

__all__ = ["EpochRefresh", "SwappableMaps", "parse_refresh"]

REFRESH_HELP = "step (the current model's maps at every step) or epoch:N (baked into a store every N epochs)"


def parse_refresh(text: str) -> tuple[str, int]:
    """``"step"`` -> ("step", 1); ``"epoch:N"`` -> ("epoch", N >= 1); SystemExit naming the value otherwise."""
    if text == "step":
        return "step", 1
    kind, _, every = text.partition(":")
    if kind == "epoch" and every.isdigit() and int(every) >= 1:
        return "epoch", int(every)
    raise SystemExit(f"error: --refresh {text!r}: use {REFRESH_HELP}")


class SwappableMaps(Mapping):
    """The map source of the per-sample transform under ``epoch:N``: the store of the last refresh, or nothing
    (every key missing: the wrapper's ``missing="skip"`` leaves the sample unerased) before the first. Pickled
    with the dataset into each epoch's DataLoader workers, so a refresh reaches them at the next epoch."""

    def __init__(self) -> None:
        self.source: PrimaryMapStore | None = None

    def __getitem__(self, key: str) -> Any:
        if self.source is None:
            raise KeyError(f"no online map yet for {key!r} (warm-up before the first refresh)")
        return self.source[key]

    def __contains__(self, key: object) -> bool:
        return self.source is not None and key in self.source

    def __iter__(self):
        return iter(self.source or ())

    def __len__(self) -> int:
        return len(self.source) if self.source is not None else 0

    def image_size(self, key: str) -> tuple[int, int] | None:
        return self.source.image_size(key) if self.source is not None else None


class EpochRefresh:
    """Bakes the current model's CAMs every ``every`` epochs (epochs ``every``, ``2 * every``, ...) into
    ``folder/epoch{E}`` from the weights saved as ``folder/epoch{E}.pth``; the store's settings are the recipe's with
    ``cam`` and ``input_size`` (the training size). A refresh killed part way resumes when the run resumes: the
    weights are the same bytes (last.pt's), so the store takes the maps it holds."""

    def __init__(self, every: int, cam: str, bake_name: str, items: list, folder: Path, input_size: int,
                 workers: int, device: torch.device, fake_class: int = 1) -> None:  # fmt: skip
        self.every, self.bake_name, self.items, self.folder = every, bake_name, items, Path(folder)
        self.recipe = RECIPE.replace(cam=cam, input_size=int(input_size))
        self.workers, self.device, self.fake_class = workers, device, fake_class

    def last_before(self, epoch: int) -> int | None:
        """The latest refresh epoch <= ``epoch``, or None during the warm-up."""
        return (epoch // self.every) * self.every if epoch >= self.every else None

    def refresh(self, epoch: int, model: torch.nn.Module, maps: SwappableMaps, rank: int = 0) -> dict[str, Any]:
        """Bake (or finish baking) epoch ``epoch``'s store from ``model`` and point ``maps`` at it; the log record."""
        start = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = self.folder / f"epoch{epoch}.pth"
        if rank == 0:
            tmp = weights.with_suffix(".pth.tmp")
            torch.save(model.state_dict(), tmp)
            tmp.replace(weights)  # the same state gives the same bytes: a resumed refresh resumes its store
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()
        store = self.folder / f"epoch{epoch}"
        report = bake_store(self.items, [f"{self.bake_name}:{weights}"], store, self.recipe, workers=self.workers,
                            device=str(self.device), fake_class=self.fake_class, progress=False,
                            log=lambda line: None)  # fmt: skip
        maps.source = PrimaryMapStore(store)
        seconds = time.perf_counter() - start
        return {"event": "refresh", "epoch": epoch, "seconds": round(seconds, 1), "maps": len(maps.source),
                "baked": report.baked, "store": str(store)}  # fmt: skip

    def restore(self, epoch: int, maps: SwappableMaps) -> None:
        """On a resumed run at ``epoch``: point ``maps`` at the last refresh before it (a refresh due at ``epoch``
        itself runs as usual)."""
        last = self.last_before(epoch - 1) if epoch > 0 else None
        if last is not None and (self.folder / f"epoch{last}" / "store.json").exists():
            maps.source = PrimaryMapStore(self.folder / f"epoch{last}")

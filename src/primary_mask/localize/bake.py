"""``bake``: compute fused maps for a list of images and write them into a store (resumable, interruptible)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from primary_mask.data.image_list import ImageItem
from primary_mask.data.images import IMAGENET_MEAN, IMAGENET_STD, BadImage, DeepfakeImageDataset, ZooInput
from primary_mask.localize.localizer import PrimaryRegionLocalizer
from primary_mask.store.writer import PrimaryMapWriter

__all__ = [
    "UNKNOWN_LABEL_RULES",
    "BakeInterrupted",
    "BakeReport",
    "bake",
    "bake_dataset",
    "bake_provenance",
    "check_labels",
    "slice_for_worker",
]

UNKNOWN_LABEL_RULES = ("error", "predicted-class")


class BakeInterrupted(Exception):
    """SIGINT/SIGTERM stopped a bake; what was baked is flushed. ``signum``, ``saved`` (maps in the store)."""

    def __init__(self, signum: int, saved: int, store: Path) -> None:
        self.signum, self.saved, self.store = signum, saved, store
        super().__init__(
            f"interrupted by {signal.Signals(signum).name}: {saved} maps saved in {store}; "
            "rerun the same command to resume"
        )

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@dataclass
class BakeReport:
    total: int
    skipped_present: int
    baked: int
    bad: list[str]
    seconds: float


def bake_dataset(items: Sequence[ImageItem], input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The dataset ``bake`` reads: ``(normalised (3, S, S) float, label, info)`` or a ``BadImage``."""
    return DeepfakeImageDataset(items, ZooInput(input_size, mean, std), on_error="record", return_info=True)


def _collate(batch):
    return batch


def _ignore_signals(_: int) -> None:
    """DataLoader workers leave SIGINT/SIGTERM to the main process, which stops the bake and flushes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def slice_for_worker(items: Sequence[ImageItem], index: int, count: int) -> list[ImageItem]:
    """The interleaved slice ``items[index::count]`` baked by rank/job ``index`` of ``count``."""
    if not (0 <= index < count):
        raise ValueError(f"shard index must be in [0, {count}), got {index}")
    return list(items[index::count])


def check_labels(items: Sequence[ImageItem], unknown_labels: str = "error") -> None:
    """``ValueError`` naming a file of unknown label (-1) unless ``unknown_labels="predicted-class"``."""
    if unknown_labels not in UNKNOWN_LABEL_RULES:
        raise ValueError(f"unknown_labels must be one of {UNKNOWN_LABEL_RULES}, got {unknown_labels!r}")
    unlabeled = [it for it in items if it.label not in (0, 1)]
    if unlabeled and unknown_labels == "error":
        raise ValueError(
            f"{len(unlabeled)} images have no label (e.g. {unlabeled[0].path}: not under a real/ or fake/ folder, "
            "no label column); put them under real/ and fake/, give a label column in --list, or pass "
            "--unknown-labels predicted-class to explain each model's own prediction for them"
        )


def _layer_name(model: torch.nn.Module, layer: torch.nn.Module) -> str:
    return next((name for name, m in model.named_modules() if m is layer), type(layer).__name__)


def bake_provenance(
    localizer: PrimaryRegionLocalizer,
    input_size: int,
    dtype: str,
    unknown_labels: str = "error",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
) -> dict[str, Any]:
    """The store provenance of a bake. ``settings`` holds everything that changes a map, compared field by
    field on resume: the models by name and sha256 (not by checkpoint path), CAM method, target layers, input
    size and normalisation, fusion and its parameters, map size, dtype, the label rule (``fake_class``) and
    the target rule for images of unknown label. The checkpoint paths are recorded beside, not compared."""
    base = localizer.settings()
    models = [{k: v for k, v in m.items() if k != "checkpoint"} for m in base.pop("models")]
    settings: dict[str, Any] = {
        "models": models,
        "cam": base.pop("cam"),
        "target_layers": [_layer_name(m, t) for m, t in zip(localizer.models, localizer.target_layers)],
        "input_size": int(input_size),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "fusion": base.pop("fusion"),
    }
    size = base.pop("size")
    fake_class = base.pop("fake_class")
    settings.update(base)  # the fusion's parameters (tau1, tau2, lam, ...)
    settings.update({"size": size, "dtype": dtype, "fake_class": fake_class, "unknown_labels": unknown_labels})
    provenance = localizer.provenance()
    provenance["settings"] = settings
    provenance["checkpoints"] = [info.get("checkpoint") for info in localizer.model_info]
    return provenance


class _Stop:
    """SIGINT/SIGTERM handlers for the bake loop: raise at once in the main thread (the writer's files stay
    consistent wherever it is interrupted); the previous handlers come back on exit."""

    def __enter__(self) -> _Stop:
        self.old: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, _frame: Any) -> None:
        raise _Signalled(signum)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def bake(
    items: Sequence[ImageItem],
    localizer: PrimaryRegionLocalizer,
    writer: PrimaryMapWriter,
    input_size: int = 256,
    batch_size: int = 32,
    workers: int = 0,
    skip_bad: bool = False,
    bad_report: Path | None = None,
    progress: bool = True,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    unknown_labels: str = "error",
) -> BakeReport:
    """Bake every item whose key ``writer`` does not hold yet (with each image's (h, w)); close the writer.

    - An unreadable image raises ``ValueError`` naming the file, unless ``skip_bad`` (then it is listed in
      ``bad_report`` and the run goes on).
    - Items of unknown label (-1) raise ``ValueError`` unless ``unknown_labels="predicted-class"`` (their maps
      then explain each model's own prediction).
    - SIGINT/SIGTERM (or KeyboardInterrupt): the maps baked so far are flushed and :class:`BakeInterrupted`
      is raised (``exit_code`` 130/143); rerunning resumes.

    Shows a tqdm bar with images/s when ``progress``.
    """
    if unknown_labels not in UNKNOWN_LABEL_RULES:
        raise ValueError(f"unknown_labels must be one of {UNKNOWN_LABEL_RULES}, got {unknown_labels!r}")
    start = time.perf_counter()
    todo = [it for it in items if it.key not in writer]
    try:
        check_labels(todo, unknown_labels)
    except ValueError:
        writer.close()
        raise
    bad: list[str] = []
    baked = 0
    try:
        with _Stop(), tqdm(total=len(todo), unit="img", desc="bake", disable=not progress, dynamic_ncols=True) as bar:
            if todo:
                loader = DataLoader(
                    bake_dataset(todo, input_size, mean, std),
                    batch_size=batch_size,
                    num_workers=workers,
                    collate_fn=_collate,
                    worker_init_fn=_ignore_signals if workers > 0 else None,
                )
                for batch in loader:
                    good = [s for s in batch if not isinstance(s, BadImage)]
                    for s in batch:
                        if isinstance(s, BadImage) and not skip_bad:
                            raise ValueError(
                                f"unreadable image {s.error} (pass --skip-bad to list such files and go on)"
                            )
                        if isinstance(s, BadImage):
                            bad.append(s.error)
                    if good:
                        images = torch.stack([t for t, _, _ in good])
                        labels = torch.tensor([label if label in (0, 1) else -1 for _, label, _ in good])
                        maps = localizer.localize(images, labels)
                        baked += writer.add([i["key"] for _, _, i in good], maps, [i["size"] for _, _, i in good])
                    bar.update(len(batch))
    except (_Signalled, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, _Signalled) else int(signal.SIGINT)
        writer.close()
        raise BakeInterrupted(signum, len(writer), writer.path) from None
    finally:
        writer.close()
        if bad and bad_report is not None:
            bad_report.parent.mkdir(parents=True, exist_ok=True)
            bad_report.write_text("\n".join(bad) + "\n")
    return BakeReport(len(items), len(items) - len(todo), baked, bad, time.perf_counter() - start)


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

"""The bake job: compute fused maps for a list of images and write them into a store (resumable, interruptible).

:func:`bake_store` is the whole job (sharding, writer naming, the lock, provenance, the distributed barrier) that
``primary-mask bake``, ``train_zoo.py`` and the runner call; :func:`bake` is its loop over the images."""

from __future__ import annotations

import errno
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

from primary_mask._checks import check_device
from primary_mask.data.image_list import ImageItem
from primary_mask.data.images import IMAGENET_MEAN, IMAGENET_STD, BadImage, DeepfakeImageDataset, ZooInput
from primary_mask.localize.localizer import PrimaryRegionLocalizer
from primary_mask.localize.recipe import RECIPE, Recipe
from primary_mask.store.writer import PrimaryMapWriter

__all__ = [
    "UNKNOWN_LABEL_RULES",
    "BakeFailed",
    "BakeInterrupted",
    "BakeReport",
    "bake",
    "bake_dataset",
    "bake_provenance",
    "bake_store",
    "check_labels",
    "slice_for_worker",
]

UNKNOWN_LABEL_RULES = ("error", "predicted-class")


class BakeInterrupted(Exception):
    """SIGINT/SIGTERM stopped a bake; what was baked is flushed. ``signum``, ``saved`` (maps in the store),
    ``writer_id``."""

    def __init__(self, signum: int, saved: int, store: Path, writer_id: str = "main") -> None:
        self.signum, self.saved, self.store, self.writer_id = signum, saved, store, writer_id
        super().__init__(
            f"interrupted by {signal.Signals(signum).name}: {saved} maps saved in {store}; "
            "rerun the same command to resume"
        )

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class BakeFailed(RuntimeError):
    """An error stopped a bake (a DataLoader worker that raised, a full disk, a model error); what fit on disk is
    saved. ``cause``, ``saved`` (maps in the store), ``store``, ``writer_id``; ``exit_code`` 1."""

    exit_code = 1

    def __init__(self, cause: BaseException, saved: int, store: Path, writer_id: str = "main") -> None:
        self.cause, self.saved, self.store, self.writer_id = cause, saved, store, writer_id
        full = isinstance(cause, OSError) and cause.errno == errno.ENOSPC
        lines = str(cause).strip().splitlines()
        # a worker's error arrives as "Caught X in DataLoader worker process N." + its traceback: the last line
        # says what failed, the traceback (``detail``) where
        self.detail = str(cause) if len(lines) > 1 else ""
        what = lines[-1] if len(lines) > 1 else f"{type(cause).__name__}: {cause}"
        what = f"the disk holding {store} is full" if full else what
        fix = "free some space" if full else "fix the cause"
        super().__init__(f"{what}; {saved} maps saved in {store}; {fix} and rerun the same command to resume")


@dataclass
class BakeReport:
    """One bake's counts: ``total`` items of this writer, ``skipped_present`` already in the store, ``baked`` now,
    ``bad`` unreadable files listed (with ``skip_bad``), ``seconds``; ``writer_id`` and ``repaired`` (maps of missing
    or damaged shards rebaked, by shard) when :func:`bake_store` ran it."""

    total: int
    skipped_present: int
    baked: int
    bad: list[str]
    seconds: float
    writer_id: str = "main"
    repaired: dict[str, int] | None = None

    def summary(self) -> str:
        return (
            f"[{self.writer_id}] {self.baked} maps baked, {self.skipped_present} already present, "
            f"{len(self.bad)} unreadable, {self.seconds:.1f} s"
        )


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


def image_root(items: Sequence[ImageItem]) -> str | None:
    """The resolved folder the items' keys are relative to (``path`` minus ``key``), or None for no items."""
    if not items:
        return None
    path, key = Path(items[0].path), Path(items[0].key)
    return str(Path(*path.parts[: len(path.parts) - len(key.parts)]).resolve())


def bake_provenance(
    localizer: PrimaryRegionLocalizer,
    input_size: int,
    dtype: str,
    unknown_labels: str = "error",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    images: str | None = None,
) -> dict[str, Any]:
    """The store provenance of a bake. ``settings`` holds everything that changes a map, compared field by
    field on resume: the models by name and sha256 (not by checkpoint path), the target layers, the recipe
    (:meth:`Recipe.settings <primary_mask.localize.recipe.Recipe.settings>`: CAM, fusion and its parameters, map
    size, input size), the normalisation, dtype, the label rule (``fake_class``), the target rule for images of
    unknown label and, when given, the resolved image root the keys are relative to (so that a resume from another
    root, which would key the same images twice, is refused). The checkpoint paths are recorded beside, not
    compared."""
    recipe = localizer.recipe.replace(input_size=int(input_size))
    settings: dict[str, Any] = {
        "models": [{k: info.get(k) for k in ("name", "sha256")} for info in localizer.model_info],
        "target_layers": [_layer_name(m, t) for m, t in zip(localizer.models, localizer.target_layers)],
        **recipe.settings(),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "dtype": dtype,
        "fake_class": localizer.fake_class,
        "unknown_labels": unknown_labels,
    }
    if images is not None:
        settings["images"] = images
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
    - Any other error (a DataLoader worker that raised, a full disk): what fits is flushed, the workers are
      stopped, and :class:`BakeFailed` is raised at once, saying how many maps are saved; rerunning resumes.

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
        raise BakeInterrupted(signum, len(writer), writer.path, writer.writer_id) from None
    except ValueError:
        raise  # our own checks (an unreadable image, a bad map): their message says what to do
    except Exception as exc:
        # The traceback holds the DataLoader's iterator; dropping it stops the workers now (kept alive, they
        # ignore SIGTERM and the interpreter waits for them forever at exit).
        exc.with_traceback(None)
        try:
            writer.close()
        except OSError:
            pass  # the disk is still full: the files on disk stay consistent, the last flush is what is saved
        raise BakeFailed(exc, len(writer), writer.path, writer.writer_id) from None
    finally:
        writer.close()
        if bad and bad_report is not None:
            bad_report.parent.mkdir(parents=True, exist_ok=True)
            bad_report.write_text("\n".join(bad) + "\n")
    return BakeReport(len(items), len(items) - len(todo), baked, bad, time.perf_counter() - start)


def bake_store(
    items: Sequence[ImageItem] | str,
    models: Sequence[str],
    out: str | Path,
    recipe: Recipe = RECIPE,
    *,
    dtype: str = "uint8",
    device: str | None = None,
    batch_size: int = 32,
    workers: int = 2,
    shard: tuple[int, int] | None = None,
    shard_size: int = 4096,
    flush_every: int = 512,
    flush_seconds: float = 60.0,
    skip_bad: bool = False,
    unknown_labels: str = "error",
    fake_class: int = 1,
    allow_random_weights: bool = False,
    cam_backend: str | None = None,
    progress: bool = True,
    log=print,
) -> BakeReport:
    """Bake the fused maps of ``items`` (:class:`ImageItem` s, or a dataset spec read with ``items_from_spec``) into
    the store ``out`` with the zoo ``models`` (``"timm_name:checkpoint"`` specs) and ``recipe``: the whole job that
    ``primary-mask bake`` runs.

    - Resumable: keys the store holds are skipped; a store baked with other settings is refused naming the first
      difference (:func:`bake_provenance`); missing or damaged shards are rebaked.
    - One writer per store: the lock is taken before the zoo loads, so a second bake fails at once.
    - ``shard=(i, n)`` bakes the interleaved slice ``i`` of ``n`` as writer ``shard{i}of{n}`` (a job array, merged
      later); under ``torchrun`` each rank bakes its slice as ``rank{r}`` and rank 0 consolidates the index after a
      barrier.
    - SIGINT/SIGTERM: the maps baked so far are flushed and :class:`BakeInterrupted` is raised.

    Every setting is checked before any work (``ValueError`` naming it): the recipe when made, and here a model
    without a checkpoint (unless ``allow_random_weights``, for tests), ``batch_size`` / ``workers``, unknown labels.
    ``cam_backend`` (``"torch"`` / ``"grad-cam"``, default: the localizer's) is recorded in the provenance, not
    compared on resume: both give the same maps. ``log`` prints the one-line notes (rebaked shards, the merged index).
    Returns the :class:`BakeReport`.
    """
    from primary_mask.data.images import items_from_spec
    from primary_mask.store import PrimaryMapWriter, StoreLock, consolidate_index

    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a primary_mask.localize.recipe.Recipe, got {type(recipe).__name__}")
    no_checkpoint = [m for m in models if not str(m).partition(":")[2]]
    if not models:
        raise ValueError("bake needs at least one zoo model (NAME:CKPT)")
    if no_checkpoint and not allow_random_weights:
        raise ValueError(
            f"--model {no_checkpoint[0]} has no checkpoint: its Grad-CAMs would explain random weights. Give NAME:CKPT "
            "(a trained detector), or pass --allow-random-weights (for tests only)"
        )
    check_device(device, "--device")
    if batch_size < 1 or workers < 0:
        raise ValueError(f"batch_size must be >= 1 and workers >= 0, got {batch_size} and {workers}")
    items = items_from_spec(items) if isinstance(items, str) else list(items)
    rank, world = distributed_rank()
    if shard and world > 1:
        raise ValueError("use either torchrun or shard i/n, not both")
    index, count = shard if shard else (rank, world)
    writer_id = "main" if count == 1 else (f"rank{index}" if world > 1 else f"shard{index}of{count}")
    group = None if count == 1 else (f"torchrun-{world}" if world > 1 else f"shards-of-{count}")
    if device is None and world > 1:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    mine = slice_for_worker(items, index, count)
    check_labels(mine, unknown_labels)  # before the store is created: the corrected command must fit it
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = StoreLock(out, writer_id, group)  # before loading the zoo: a second writer is refused at once
    try:
        localizer = PrimaryRegionLocalizer(
            list(models),
            cam=recipe.cam,
            fusion=recipe.fusion,
            tau1=recipe.tau1,
            tau2=recipe.tau2,
            lam=recipe.lam,
            band_value=recipe.band_value,
            normalize=recipe.normalize,
            target=recipe.target,
            size=recipe.size,
            device=device,
            batch_size=batch_size,
            fake_class=fake_class,
            cam_backend=cam_backend,
        )
        provenance = bake_provenance(localizer, recipe.input_size, dtype, unknown_labels, images=image_root(items))
        writer = PrimaryMapWriter(
            out,
            size=recipe.size,
            dtype=dtype,
            provenance=provenance,
            writer_id=writer_id,
            shard_size=shard_size,
            flush_every=flush_every,
            flush_seconds=flush_seconds,
            group=group,
            lock=lock,
        )
    except BaseException:
        lock.release()
        raise
    if writer.repaired:
        lost = sum(writer.repaired.values())
        log(f"[{writer_id}] {lost} maps of missing or damaged shards ({', '.join(writer.repaired)}) are rebaked")
    report = bake(
        mine,
        localizer,
        writer,
        input_size=recipe.input_size,
        batch_size=batch_size,
        workers=workers,
        skip_bad=skip_bad,
        bad_report=out / f"bad-images-{writer_id}.txt",
        progress=progress,
        unknown_labels=unknown_labels,
    )
    report.writer_id, report.repaired = writer_id, dict(writer.repaired)
    if world > 1:
        import torch.distributed as dist

        mine = not dist.is_initialized()  # a training run's group (the online refresh) stays up for it
        if mine:
            dist.init_process_group("gloo")
        dist.barrier()
        if rank == 0:
            log(f"merged index: {consolidate_index(out)} maps")
        dist.barrier()
        if mine:
            dist.destroy_process_group()
    return report


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

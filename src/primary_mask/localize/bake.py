"""``bake``: compute fused maps for a list of images and write them into a store (resumable)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from primary_mask.data.image_list import ImageItem
from primary_mask.data.io import read_rgb
from primary_mask.localize.localizer import PrimaryRegionLocalizer
from primary_mask.store.writer import PrimaryMapWriter

__all__ = ["BakeReport", "ImageLoadDataset", "bake", "slice_for_worker"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageLoadDataset(Dataset):
    """Reads, resizes and normalises images for the zoo; a file that cannot be read yields an empty tensor
    and its error message, so the caller decides (raise, or skip and report)."""

    def __init__(self, items: Sequence[ImageItem], input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> None:
        self.items, self.input_size = list(items), int(input_size)
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        try:
            img = read_rgb(self.items[i].path)
        except ValueError as exc:
            return torch.zeros(0), i, str(exc)
        img = cv2.resize(img, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
        t = torch.from_numpy(img).permute(2, 0, 1).float().div_(255)
        return (t - self.mean) / self.std, i, ""


def _collate(batch):
    return batch


@dataclass
class BakeReport:
    total: int
    skipped_present: int
    baked: int
    bad: list[str]
    seconds: float


def slice_for_worker(items: Sequence[ImageItem], index: int, count: int) -> list[ImageItem]:
    """The interleaved slice ``items[index::count]`` baked by rank/job ``index`` of ``count``."""
    if not (0 <= index < count):
        raise ValueError(f"shard index must be in [0, {count}), got {index}")
    return list(items[index::count])


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
) -> BakeReport:
    """Bake every item whose key ``writer`` does not hold yet; flush the writer at the end.

    An unreadable image raises ``ValueError`` naming the file, unless ``skip_bad`` (then it is listed in
    ``bad_report`` and the run goes on). Shows a tqdm bar with images/s when ``progress``.
    """
    start = time.perf_counter()
    todo = [it for it in items if it.key not in writer]
    loader = DataLoader(
        ImageLoadDataset(todo, input_size, mean, std), batch_size=batch_size, num_workers=workers, collate_fn=_collate
    )
    bad: list[str] = []
    baked = 0
    with tqdm(total=len(todo), unit="img", desc="bake", disable=not progress, dynamic_ncols=True) as bar:
        for batch in loader:
            good = [(t, i) for t, i, err in batch if not err]
            for _, _, err in batch:
                if err and not skip_bad:
                    writer.close()
                    raise ValueError(f"unreadable image {err} (pass --skip-bad to list such files and go on)")
                if err:
                    bad.append(err)
            if good:
                images = torch.stack([t for t, _ in good])
                labels = torch.tensor([todo[i].label for _, i in good])
                maps = localizer.localize(images, labels)
                baked += writer.add([todo[i].key for _, i in good], maps)
            bar.update(len(batch))
    writer.close()
    if bad and bad_report is not None:
        bad_report.parent.mkdir(parents=True, exist_ok=True)
        bad_report.write_text("\n".join(bad) + "\n")
    return BakeReport(len(items), len(items) - len(todo), baked, bad, time.perf_counter() - start)


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

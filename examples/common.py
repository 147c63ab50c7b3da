"""Pieces shared by the example scripts: preprocessing, prediction, seeding, distributed set-up."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2
from tqdm import tqdm

from primary_mask.data import IMAGENET_MEAN as MEAN  # the normalisation the zoo is baked with (primary-mask bake)
from primary_mask.data import IMAGENET_STD as STD


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def to_model_input(size: int) -> v2.Compose:
    """uint8 image -> resized, float, normalised tensor (evaluation, and the tail of training pipelines)."""
    return v2.Compose(
        [v2.Resize((size, size), antialias=True), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]
    )


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) on any device -> normalised float."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, progress: bool = True) -> np.ndarray:
    """Sigmoid scores (probability of fake) for every sample of ``loader``, in order."""
    model.eval()
    scores = []
    for images, _ in tqdm(loader, desc="predict", unit="batch", disable=not progress, dynamic_ncols=True):
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            scores.append(torch.sigmoid(model(images.to(device, non_blocking=True)).float()[:, 0]).cpu())
    return torch.cat(scores).numpy() if scores else np.zeros(0)


def distributed() -> tuple[int, int, int]:
    """(rank, local rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), world


PSEUDO_HELP = """  pseudo:FOLDER?landmarks=DIR&split=train&val_share=0.1&synth=sbi,region&seed=0&max_faces=N
                                           real faces of FOLDER + their pseudo-fakes (landmarks from
                                           `primary-mask landmarks --images FOLDER --out DIR`)"""


def _pseudo_parts(spec: str):
    from urllib.parse import parse_qs

    from primary_mask.data import list_folder

    target, _, query = spec.removeprefix("pseudo:").partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    if "landmarks" not in opts:
        raise SystemExit(f"dataset spec {spec!r}: pseudo needs ?landmarks=DIR (primary-mask landmarks writes it)")
    split, share = opts.get("split", "train"), float(opts.get("val_share", 0.1))
    if split not in ("train", "val"):
        raise SystemExit(f"dataset spec {spec!r}: split must be train or val")
    items = list_folder(target)
    # a stable split by key: the same faces are held out in every run
    import zlib

    held_out = [zlib.crc32(it.key.encode()) % 1000 < share * 1000 for it in items]
    items = [it for it, h in zip(items, held_out) if h == (split == "val")]
    if "max_faces" in opts:
        items = items[: int(opts["max_faces"])]
    return target, opts, split, items


def refuse_pseudo_test(where: str, spec: str) -> None:
    """Stop with the fix when a test set is a ``pseudo:`` spec: it makes new pseudo-fakes for training, so a test
    on it would not be fixed. ``where`` names the option or config key."""
    if str(spec).startswith("pseudo:"):
        raise SystemExit(
            f"{where}: pseudo: makes new pseudo-fakes for training, not a fixed test set; write one once with "
            "`primary-mask synth-set --images FACES --landmarks DIR --out OUT` and test on OUT"
        )


def dataset_from_spec(spec: str, transform=None):
    """A dataset with ``keys``, ``labels`` and ``videos`` for any spec: the library's layouts, or ``pseudo:``
    (real faces and their SelfBlend / RegionBlend pseudo-fakes; see PSEUDO_HELP)."""
    from primary_mask.data import DeepfakeImageDataset, items_from_spec

    if not spec.startswith("pseudo:"):
        return DeepfakeImageDataset(items_from_spec(spec), transform=transform)
    from primary_mask import LandmarkFolder
    from primary_mask.synth import PseudoFakeDataset, RegionBlend, SelfBlend

    _, opts, split, items = _pseudo_parts(spec)
    synths = {"sbi": SelfBlend, "region": RegionBlend}
    names = opts.get("synth", "sbi,region").split(",")
    if any(n not in synths for n in names):
        raise SystemExit(f"dataset spec {spec!r}: synth must be among {sorted(synths)}")
    landmarks = LandmarkFolder(opts["landmarks"])
    ds = PseudoFakeDataset(
        items,
        landmarks,
        [synths[n]() for n in names],
        seed=int(opts.get("seed", 0)) + (split == "val"),
        transform=transform,
    )
    if ds.dropped:
        print(f"note: {len(ds.dropped)} faces without landmarks left out of {spec}")
    return ds


def check_labels(dataset, spec: str) -> None:
    """Refuse a dataset with labels other than 0 (real) and 1 (fake), naming a file that has one."""
    bad = [i for i, label in enumerate(dataset.labels) if label not in (0, 1)]
    if bad:
        items = getattr(dataset, "items", None)
        where = items[bad[0]].path if items is not None and bad[0] < len(items) else dataset.keys[bad[0]]
        raise SystemExit(
            f"error: {len(bad)} samples of {spec} have a label other than 0 (real) / 1 (fake), e.g. {where} "
            f"(label {dataset.labels[bad[0]]}); put the images under real/ and fake/ folders or give a label column"
        )


def bake_items(spec: str):
    """The items `primary-mask bake` should see for a training spec. For ``pseudo:`` specs: the real
    faces labelled 1, so their maps show where the zoo looks for fake evidence; each face's pseudo-fakes reuse it."""
    from dataclasses import replace

    from primary_mask.data import items_from_spec

    if spec.startswith("pseudo:"):
        return [replace(it, label=1) for it in _pseudo_parts(spec)[3]]
    return items_from_spec(spec)

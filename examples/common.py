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

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet, as the zoo is baked (primary-mask bake)


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

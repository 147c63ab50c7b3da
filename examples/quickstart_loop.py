"""PRLE in an ordinary PyTorch training loop, on procedurally drawn faces (runs on a CPU in seconds).

Two ways to erase, both shown:
  1. per sample in the DataLoader: `with_primary_maps` + `PrimaryRegionErase` in a v2 pipeline;
  2. per batch on the training device: `BatchPrimaryRegionErase`, with the Eq. 13 loss weight gamma.

Run: python examples/quickstart_loop.py [--steps 2] [--seed 0]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as nnf
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from primary_mask import BatchPrimaryRegionErase, PrimaryRegionErase, prle_weighted_loss, with_primary_maps
from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map


class DrawnFaces(Dataset):
    """(image, label) pairs: uint8 (3, 128, 128) faces, label = index % 2 (real = 0, fake = 1)."""

    def __init__(self, n: int = 16) -> None:
        self.images = [torch.from_numpy(draw_face(128, i)).permute(2, 0, 1).contiguous() for i in range(n)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], i % 2


def tiny_detector() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    faces = DrawnFaces()
    maps = {f"face{i}": torch.from_numpy(synthetic_primary_map(64, i)) for i in range(len(faces))}
    keys = [f"face{i}" for i in range(len(faces))]
    model = tiny_detector()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    # 1. Per sample, in the DataLoader workers.
    pipeline = v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            PrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0), fill="uniform"),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )
    loader = DataLoader(with_primary_maps(faces, maps, keys=keys, transform=pipeline), batch_size=8, num_workers=2)
    for step, (images, labels) in zip(range(args.steps), loader):
        loss = nnf.binary_cross_entropy_with_logits(model(images).squeeze(1), labels.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"loader erase  step {step}: loss {loss.item():.4f}")

    # 2. Per batch, on the device, with gamma weighting of erased samples (Eq. 13).
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    erase = BatchPrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0))
    plain = DataLoader(faces, batch_size=8)
    map_batch = torch.stack([maps[k] for k in keys])
    for step, (i, (images, labels)) in zip(range(args.steps), enumerate(plain)):
        images, labels = images.to(device), labels.to(device).float()
        batch_maps = map_batch[i * 8 : i * 8 + len(images)].to(device)
        images, params = erase(images, batch_maps, return_params=True)
        logits = model(images.float() / 255).squeeze(1)
        per_sample = nnf.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        loss = prle_weighted_loss(per_sample, params.erased, gamma=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"device erase  step {step}: loss {loss.item():.4f}, erased {int(params.erased.sum())}/{len(images)}")


if __name__ == "__main__":
    main()

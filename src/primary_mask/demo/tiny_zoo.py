"""Three tiny detectors of different architectures (VGG-, ResNet- and Xception-like) for the demo zoo."""

from __future__ import annotations

import torch
from torch import nn
from tqdm import tqdm

__all__ = ["TinyVGG", "TinyResNet", "TinyXception", "tiny_zoo", "train_detector"]


class _Detector(nn.Module):
    def __init__(self, features: nn.Sequential, width: int) -> None:
        super().__init__()
        self.features = features
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))

    def cam_target_layer(self) -> nn.Module:
        return self.features[-1]


class TinyVGG(_Detector):
    def __init__(self) -> None:
        def block(i, o):
            return [
                nn.Conv2d(i, o, 3, padding=1),
                nn.BatchNorm2d(o),
                nn.ReLU(),
                nn.Conv2d(o, o, 3, padding=1),
                nn.BatchNorm2d(o),
                nn.ReLU(),
            ]

        super().__init__(
            nn.Sequential(
                *block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), nn.Sequential(*block(32, 32))
            ),
            32,
        )


class _Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return torch.relu(x + self.body(x))


class TinyResNet(_Detector):
    def __init__(self) -> None:
        super().__init__(
            nn.Sequential(
                nn.Conv2d(3, 24, 5, stride=2, padding=2),
                nn.BatchNorm2d(24),
                nn.ReLU(),
                _Residual(24),
                nn.Conv2d(24, 32, 3, stride=2, padding=1),
                _Residual(32),
            ),
            32,
        )


class _Separable(nn.Sequential):
    def __init__(self, i: int, o: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(i, i, 3, stride=stride, padding=1, groups=i), nn.Conv2d(i, o, 1), nn.BatchNorm2d(o), nn.ReLU()
        )


class TinyXception(_Detector):
    def __init__(self) -> None:
        super().__init__(
            nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1),
                nn.ReLU(),
                _Separable(16, 32, 2),
                _Separable(32, 48, 2),
                _Separable(48, 48),
            ),
            48,
        )


def tiny_zoo() -> list[nn.Module]:
    return [TinyXception(), TinyResNet(), TinyVGG()]


def train_detector(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    seed: int = 0,
    batch_size: int = 32,
    lr: float = 1e-3,
    progress: bool = False,
) -> float:
    """Train with BCE on one logit (real = 0, fake = 1) and random flips; returns the final training accuracy.

    ``progress``: a tqdm bar of the steps (on stderr) with the running loss."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    bar = tqdm(range(steps), desc=f"train {type(model).__name__}", unit="step", disable=not progress, leave=True)
    for step in bar:
        idx = torch.randint(0, len(images), (batch_size,), generator=g)
        x = images[idx]
        flip = torch.rand(batch_size, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        loss = nn.functional.binary_cross_entropy_with_logits(model(x)[:, 0], labels[idx].float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.eval()
    with torch.no_grad():
        return float(((model(images)[:, 0] > 0).long() == labels).float().mean())

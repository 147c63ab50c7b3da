"""Argument checks shared by the kernels and transforms; every error names the offending argument."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

_MAP_DTYPES = (torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_probability(value: float, name: str) -> float:
    """Return ``value`` as a float in [0, 1]; raise ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def check_alpha_range(alpha_range: Sequence[float], name: str = "alpha_range") -> tuple[float, float]:
    """Return ``(lo, hi)`` with 0 <= lo <= hi <= 1."""
    if isinstance(alpha_range, (str, bytes)) or not isinstance(alpha_range, Sequence) or len(alpha_range) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of numbers in [0, 1], got {alpha_range!r}")
    lo = check_probability(alpha_range[0], f"{name}[0]")
    hi = check_probability(alpha_range[1], f"{name}[1]")
    if lo > hi:
        raise ValueError(f"{name} is reversed: low={lo} > high={hi}; pass ({hi}, {lo})")
    return lo, hi


def check_device(device: str | torch.device | None, name: str = "device") -> torch.device | None:
    """``device`` as a ``torch.device`` (None stays None: the caller's default), or ``ValueError`` naming it: an
    unknown device type, or a CUDA / MPS device this machine does not have."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name} {device!r} is not a device torch knows (use cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name} {device!r}: no CUDA GPU is visible here (torch.cuda.is_available() is False); use cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} {device!r}: MPS is not available here; use cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} {device!r}: this library runs on cpu, cuda or mps, not {dev.type}")
    return dev


def check_image_batch(images: torch.Tensor, name: str = "images") -> None:
    """``images`` must be a ``(B, C, H, W)`` tensor: ``ValueError`` naming its shape (or type) otherwise."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got {shape}")


def check_map_dtype_rank(maps: torch.Tensor, name: str, ranks: tuple[int, ...]) -> None:
    """Maps must be a uint8 or floating tensor of one of the allowed ranks (values are checked elsewhere)."""
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(maps).__name__}")
    if maps.dtype not in _MAP_DTYPES:
        raise TypeError(f"{name} must be uint8 or floating point, got {maps.dtype}")
    if maps.ndim not in ranks:
        shapes = " or ".join({2: "(H, W)", 3: "(B, H, W)", 4: "(B, 1, H, W)"}[r] for r in ranks)
        raise ValueError(f"{name} must have shape {shapes}, got {tuple(maps.shape)}")


def check_alpha(alpha: float | torch.Tensor, batch_size: int | None, name: str = "alpha") -> torch.Tensor:
    """Return alpha as a float64 tensor of shape () or (B,), each value in [0, 1]."""
    if isinstance(alpha, torch.Tensor):
        if alpha.ndim > 1 or (alpha.ndim == 1 and batch_size is not None and alpha.numel() != batch_size):
            raise ValueError(
                f"{name} must be a float or a ({batch_size},) tensor matching the batch, got shape {tuple(alpha.shape)}"
            )
        if alpha.ndim == 1 and batch_size is None:
            raise ValueError(f"{name} must be a scalar for a single (H, W) map, got shape {tuple(alpha.shape)}")
        a = alpha.detach().to(torch.float64)
    elif isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        a = torch.tensor(float(alpha), dtype=torch.float64)
    else:
        raise TypeError(f"{name} must be a float or a tensor, got {type(alpha).__name__}")
    if not bool(((a >= 0) & (a <= 1)).all()):
        bad = a[~((a >= 0) & (a <= 1))].flatten()[0].item()
        raise ValueError(f"{name} must be in [0, 1], got {bad if not math.isnan(bad) else 'nan'}")
    return a

"""Plug PRLE into an existing ``(image, label)`` dataset: ``with_primary_maps``."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from torch.utils.data import Dataset

from primary_mask.functional.erase import resize_maps
from primary_mask.tv_tensors import EraseFlag, PrimaryMap

__all__ = ["MapSource", "PrimaryMapDataset", "with_primary_maps", "keys_from_image_folder"]

MISSING_POLICIES = ("error", "skip")


class MapSource(Protocol):
    """Anything that maps a key to an ``(h, w)`` map: a dict, a map store, ..."""

    def __getitem__(self, key: str) -> Any: ...


def keys_from_image_folder(dataset: Any) -> list[str]:
    """Keys of a torchvision ``ImageFolder``-like dataset: each sample's path relative to ``dataset.root``,
    in POSIX form (what the map store is keyed by)."""
    samples = getattr(dataset, "samples", None) or getattr(dataset, "imgs", None)
    root = getattr(dataset, "root", None)
    if samples is None or root is None:
        raise TypeError(
            f"cannot infer keys for {type(dataset).__name__}: it has no .samples/.root like ImageFolder; "
            "pass keys=[...] (one per sample) or keys=callable(index) -> key"
        )
    return [Path(os.path.relpath(path, root)).as_posix() for path, *_ in samples]


def resolve_keys(dataset: Any, keys: Sequence[str] | Callable[[int], str] | None) -> list[str] | Callable[[int], str]:
    """One key per sample: ``keys`` as given (a list is checked against ``len(dataset)``), else ``dataset.keys``
    when the dataset carries that list, else the paths of an ImageFolder (:func:`keys_from_image_folder`)."""
    if keys is None:
        own = getattr(dataset, "keys", None)  # DeepfakeImageDataset and the like carry their keys
        keys = list(own) if isinstance(own, (list, tuple)) else keys_from_image_folder(dataset)
    if not callable(keys):
        keys = list(keys)
        if len(keys) != len(dataset):
            raise ValueError(f"keys has {len(keys)} entries but the dataset has {len(dataset)} samples")
    return keys


def return_erased_arg(return_erased: bool, return_applied: bool | None) -> bool:
    """``return_erased``, or the deprecated ``return_applied`` when that was given."""
    if return_applied is None:
        return bool(return_erased)
    warnings.warn("return_applied is deprecated; pass return_erased", DeprecationWarning, stacklevel=3)
    return bool(return_applied)


class KeyedDatasetWrapper(Dataset):
    """Base of the wrappers that add per-key data (maps, landmarks) to a dataset yielding ``(image, label,
    *rest)``: holds ``dataset``, one key per sample, ``transform`` and the ``missing`` policy: the one place that
    decides what a sample without data gets (``"error"``: ``KeyError`` naming the key; ``"skip"``: data that
    erases nothing)."""

    def __init__(
        self,
        dataset: Any,
        keys: Sequence[str] | Callable[[int], str] | None,
        transform: Callable[..., Any] | None,
        missing: str,
    ) -> None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        self.dataset = dataset
        self.keys = resolve_keys(dataset, keys)
        self.transform = transform
        self.missing = missing

    def __len__(self) -> int:
        return len(self.dataset)

    def key(self, index: int) -> str:
        return self.keys(index) if callable(self.keys) else self.keys[index]

    def image_and_rest(self, index: int) -> tuple[Any, list[Any]]:
        """The wrapped item split into its image and the rest; ``TypeError`` unless it is a non-empty tuple."""
        item = self.dataset[index]
        if not isinstance(item, (tuple, list)) or len(item) < 1:
            raise TypeError(f"dataset[{index}] must be a tuple (image, label, ...), got {type(item).__name__}")
        image, *rest = item
        return image, rest


class PrimaryMapDataset(KeyedDatasetWrapper):
    """Wraps a dataset yielding ``(image, label, *rest)``; see :func:`with_primary_maps`."""

    def __init__(
        self,
        dataset: Any,
        maps: MapSource,
        keys: Sequence[str] | Callable[[int], str] | None = None,
        transform: Callable[..., Any] | None = None,
        missing: str = "error",
        resize_to_image: bool = True,
        return_map: bool = False,
        return_erased: bool = False,
        return_applied: bool | None = None,
    ) -> None:
        super().__init__(dataset, keys, transform, missing)
        self.maps = maps
        self.resize_to_image = resize_to_image
        self.return_map = return_map
        self.return_erased = return_erased_arg(return_erased, return_applied)

    def load_map(self, key: str, size: tuple[int, int]) -> PrimaryMap:
        try:
            raw = self.maps[key]
        except KeyError:
            if self.missing == "skip":
                return PrimaryMap(torch.zeros(size))  # no positive pixel: nothing is erased
            raise KeyError(
                f"no primary map for key {key!r} in {type(self.maps).__name__} "
                "(pass missing='skip' to leave such samples unerased)"
            ) from None
        tensor = torch.as_tensor(np.asarray(raw)) if not isinstance(raw, torch.Tensor) else raw
        if tensor.ndim == 3 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 2:
            raise ValueError(f"map for key {key!r} must be (h, w), got {tuple(tensor.shape)}")
        if self.resize_to_image and tuple(tensor.shape) != tuple(size):
            tensor = resize_maps(tensor.unsqueeze(0), size)[0]
        return PrimaryMap(tensor)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        image, rest = self.image_and_rest(index)
        pmap = self.load_map(self.key(index), tuple(F.get_size(image)))
        flag = EraseFlag()
        if self.transform is not None:
            image, pmap, flag = self.transform(image, pmap, flag)
        extra = ((pmap,) if self.return_map else ()) + ((bool(flag),) if self.return_erased else ())
        return (image, *rest, *extra)


def with_primary_maps(
    dataset: Any,
    maps: MapSource,
    keys: Sequence[str] | Callable[[int], str] | None = None,
    transform: Callable[..., Any] | None = None,
    missing: str = "error",
    resize_to_image: bool = True,
    return_map: bool = False,
    return_erased: bool = False,
    return_applied: bool | None = None,
) -> PrimaryMapDataset:
    """Wrap ``dataset`` (yielding ``(image, label, *rest)``) so ``transform`` sees ``(image, PrimaryMap, EraseFlag)``.

    Args:
        dataset: any map-style dataset whose items are tuples with the image first (PIL or tensor).
        maps: ``maps[key] -> (h, w)`` tensor/array (a dict or a map store).
        keys: one key per sample, a callable ``index -> key``, or None to derive them from an ImageFolder
            (paths relative to its root, POSIX form).
        transform: a v2 pipeline called as ``transform(image, primary_map, flag)`` that returns all three, e.g.
            ``v2.Compose([v2.RandomResizedCrop(224), PrimaryRegionErase(0.5, (0.5, 1.0)), v2.ToDtype(...)])``
            (v2 transforms pass the :class:`~primary_mask.EraseFlag` through; the erase transforms set it).
        missing: ``"error"`` raises ``KeyError`` naming the key; ``"skip"`` uses an empty map (not erased).
        resize_to_image: resize the map bilinearly to the image size first, so that pixel-based geometric
            transforms (crops, pads) move image and map consistently.
        return_map: also return the transformed map.
        return_erased: also return whether pixels of the image were erased (a bool, from the
            :class:`~primary_mask.EraseFlag`), for the Eq. 13 weight gamma.
        return_applied: deprecated name of ``return_erased``.

    Returns a dataset yielding ``(image, label, *rest)``, then ``map`` with ``return_map``, then ``erased``
    with ``return_erased``. ``keys=None`` uses ``dataset.keys`` when the dataset has that list.
    """
    return PrimaryMapDataset(
        dataset, maps, keys, transform, missing, resize_to_image, return_map, return_erased, return_applied
    )

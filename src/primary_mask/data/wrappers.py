"""Plug PRLE into an existing ``(image, label)`` dataset: ``with_primary_maps``."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from torch.utils.data import Dataset

from primary_mask.functional.align import check_map_fits
from primary_mask.functional.erase import resize_maps
from primary_mask.tv_tensors import EraseFlag, PrimaryMap

__all__ = ["MapSource", "PrimaryMapDataset", "with_primary_maps", "keys_from_image_folder"]

MISSING_POLICIES = ("error", "skip")


class MapSource(Protocol):
    """Anything that maps a key to an ``(h, w)`` map: a dict, a map store, ...

    A source whose ``values_checked`` attribute is true (:class:`~primary_mask.PrimaryMapStore`, which checks its
    values where they enter, on disk; :class:`~primary_mask.data.pairing.PairedMaps` over one) returns maps the wrapper
    does not check again; any other source's maps are checked (finite, ``>= 0``) as each sample reads them.
    """

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


IMAGE_ONLY_HINT = (
    "a pipeline that takes only an image (timm's create_transform, a torchvision.transforms v1 Compose) goes after "
    "the erase inside primary_mask.ImageOnly: v2.Compose([PrimaryRegionErase(0.5, (0.5, 1.0)), ImageOnly(tf)])"
)


def check_three_input_transform(transform: Any) -> None:
    """``TypeError`` for a transform that can only take an image (torchvision's v1 ``Compose``, what timm's
    ``create_transform`` returns): the wrappers call it with (image, data, flag)."""
    from torchvision import transforms as v1

    if isinstance(transform, v1.Compose):
        raise TypeError(f"transform is a torchvision.transforms (v1) Compose, which takes one image: {IMAGE_ONLY_HINT}")


def transformed_triple(out: Any, data: str) -> tuple[Any, Any, Any]:
    """The wrapper transform's result ``(image, data, flag)``, or ``TypeError`` saying what it must return (a
    transform returning only the image would otherwise be unpacked channel by channel)."""
    if isinstance(out, (tuple, list)) and len(out) == 3:
        return out[0], out[1], out[2]
    got = f"a {type(out).__name__}" + (f" of {len(out)} items" if isinstance(out, (tuple, list)) else "")
    raise TypeError(
        f"the wrapper's transform must return (image, {data}, EraseFlag), as a v2 pipeline called with all three "
        f"does; it returned {got}. {IMAGE_ONLY_HINT}"
    )


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
        image_key: str = "image",
    ) -> None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        check_three_input_transform(transform)
        self.dataset = dataset
        self.keys = resolve_keys(dataset, keys)
        self.transform = transform
        self.missing = missing
        self.image_key = image_key

    def __len__(self) -> int:
        return len(self.dataset)

    def key(self, index: int) -> str:
        return self.keys(index) if callable(self.keys) else self.keys[index]

    def unpack(self, index: int) -> tuple[Any, Callable[[Any, dict[str, Any]], Any]]:
        """The wrapped item's image, and a function that builds the output item from the transformed image and
        the extra entries (in order). Tuples ``(image, label, *rest)`` give ``(image, label, *rest, *extras)``;
        dicts give a copy with ``image_key`` replaced and the extras added under their names. ``TypeError`` for
        other items, ``KeyError`` for a dict without ``image_key``."""
        item = self.dataset[index]
        if isinstance(item, Mapping):
            if self.image_key not in item:
                raise KeyError(
                    f"dataset[{index}] is a dict without the image key {self.image_key!r} (it has {sorted(item)}); "
                    "pass image_key='...' to the wrapper"
                )

            def pack_dict(image: Any, extras: dict[str, Any]) -> dict[str, Any]:
                return {**item, self.image_key: image, **extras}

            return item[self.image_key], pack_dict
        if not isinstance(item, (tuple, list)) or len(item) < 1:
            raise TypeError(
                f"dataset[{index}] must be a tuple (image, label, ...) or a dict with an {self.image_key!r} entry, "
                f"got {type(item).__name__}"
            )
        image, *rest = item

        def pack_tuple(image: Any, extras: dict[str, Any]) -> tuple[Any, ...]:
            return (image, *rest, *extras.values())

        return image, pack_tuple


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
        image_key: str = "image",
        stretch: bool = False,
        resized: bool = False,
    ) -> None:
        super().__init__(dataset, keys, transform, missing, image_key)
        self.maps = maps
        self.resize_to_image = resize_to_image
        self.return_map = return_map
        self.return_erased = bool(return_erased)
        self.stretch, self.resized = bool(stretch), bool(resized)
        if missing == "skip" and not callable(self.keys) and self.keys and hasattr(maps, "__contains__") and len(maps):
            if not any(key in maps for key in self.keys):
                some = next(iter(maps.keys()), None) if callable(getattr(maps, "keys", None)) else None
                warnings.warn(
                    f"with_primary_maps(..., missing='skip'): none of the dataset's {len(self.keys)} keys (e.g. "
                    f"{self.keys[0]!r}) has a map{f' (the maps are keyed like {some!r})' if some else ''}, so "
                    "nothing will be erased; keys are paths relative to the folder bake's --images named",
                    stacklevel=3,
                )

    def load_map(self, key: str, size: tuple[int, int]) -> PrimaryMap:
        """The map of ``key`` for an image of ``size`` (H, W), checked against it (see :func:`with_primary_maps`)."""
        where = f"key {key!r} of {type(self.maps).__name__}"
        try:
            raw = self.maps[key]
        except KeyError:
            if self.missing == "skip":
                return PrimaryMap(torch.zeros(size))  # no positive pixel: nothing is erased
            raise KeyError(f"no primary map for {where} (pass missing='skip' to leave such samples unerased)") from None
        tensor = torch.as_tensor(np.asarray(raw)) if not isinstance(raw, torch.Tensor) else raw
        if tensor.ndim == 3 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 2:
            raise ValueError(f"the map of {where} must be (h, w), got {tuple(tensor.shape)}")
        if getattr(self.maps, "values_checked", False):  # checked where they entered (see MapSource)
            pmap = PrimaryMap.from_checked(tensor)
        else:
            pmap = self.checked_map(tensor, where)
        self.check_alignment(key, where, tuple(tensor.shape), size)
        target = tuple(size) if self.resize_to_image else tuple(tensor.shape)
        # A uint8 map goes through resize_maps even at its own size, to float in [0, 1]: v2's interpolating
        # transforms round a uint8 map back to 256 levels, and the ties they make would be broken by pixel index
        # in the refinement. Bilinear resizing of a finite map >= 0 stays finite and >= 0 (resize_maps clamps
        # rounding at 0), so the result is wrapped without validating it again.
        if target != tuple(tensor.shape) or pmap.dtype == torch.uint8:
            return resize_maps(tensor.unsqueeze(0), target).as_subclass(PrimaryMap)
        return pmap

    @staticmethod
    def checked_map(tensor: torch.Tensor, where: str) -> PrimaryMap:
        """A user's map as a :class:`PrimaryMap`, validated (dtype, NaN/inf, ``>= 0``) at its stored size, the
        cheapest place; the error names the key."""
        try:
            return PrimaryMap(tensor)
        except TypeError as err:
            raise TypeError(f"the map of {where}: {err}") from None
        except ValueError as err:
            raise ValueError(f"the map of {where}: {err}; rebake it (primary-mask verify names such maps)") from None

    def check_alignment(self, key: str, where: str, map_size: tuple[int, int], size: tuple[int, int]) -> None:
        """Raise ``ValueError`` when the map cannot belong to an image of ``size`` (H, W): the one rule of
        :func:`~primary_mask.functional.align.check_map_fits`, against the size the store recorded at bake time
        when it records one."""
        recorded = getattr(self.maps, "image_size", None)
        baked = recorded(key) if callable(recorded) else None
        check_map_fits(f"the map of {where}", map_size, size, baked, resized=self.resized, stretch=self.stretch)

    def __getitem__(self, index: int) -> Any:
        image, pack = self.unpack(index)
        pmap = self.load_map(self.key(index), tuple(F.get_size(image)))
        flag = EraseFlag()
        if self.transform is not None:
            image, pmap, flag = transformed_triple(self.transform(image, pmap, flag), "PrimaryMap")
        extras: dict[str, Any] = {}
        if self.return_map:
            extras["primary_map"] = pmap
        if self.return_erased:
            extras["erased"] = bool(flag)
        return pack(image, extras)


def with_primary_maps(
    dataset: Any,
    maps: MapSource,
    keys: Sequence[str] | Callable[[int], str] | None = None,
    transform: Callable[..., Any] | None = None,
    missing: str = "error",
    resize_to_image: bool = True,
    return_map: bool = False,
    return_erased: bool = False,
    image_key: str = "image",
    stretch: bool = False,
    resized: bool = False,
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
            transforms (crops, pads) move image and map consistently. ``False`` hands the transform the stored
            map; that is safe only when the pipeline's first geometric transform is a resize that gives map and
            image the same size (square images, or ``v2.Resize((h, w))``): one resize instead of two.
            A uint8 map reaches the transform as float32 in [0, 1] either way.
        return_map: also return the transformed map.
        return_erased: also return whether pixels of the image were erased (a bool, from the
            :class:`~primary_mask.EraseFlag`), for the Eq. 13 weight gamma.
        image_key: for datasets whose items are dicts: the entry holding the image.
        stretch: allow a map whose aspect differs from the image's to be stretched over it.
        resized: the dataset resizes each image before the wrapper (the same image that was baked, at another size
            of the same aspect): allow it. Without it, such an image is refused, as a re-crop would be.

    Returns a dataset yielding ``(image, label, *rest)``, then ``map`` with ``return_map``, then ``erased``
    with ``return_erased``; for dict items, a copy of the dict with the transformed image and the entries
    ``"primary_map"`` and ``"erased"``.

    Alignment is checked, never assumed: when ``maps`` records the size each image was baked from
    (``maps.image_size(key) -> (h, w)``, as :class:`~primary_mask.PrimaryMapStore` does for each key whose store
    recorded it), an image loaded transposed (EXIF orientation), with another aspect, or at another size (a re-crop;
    ``resized=True`` allows a plain resize) raises ``ValueError`` naming the key and the likely cause; otherwise
    a map whose own aspect differs from the image's raises, unless ``stretch=True``. A map with NaN/inf raises
    ``ValueError`` naming the key. ``keys=None`` uses ``dataset.keys`` when the dataset has that list.
    """
    return PrimaryMapDataset(
        dataset,
        maps,
        keys,
        transform,
        missing,
        resize_to_image,
        return_map,
        return_erased,
        image_key=image_key,
        stretch=stretch,
        resized=resized,
    )

"""The paired erase rule: a real image is erased with the map of a fake made from it, so reals and fakes lose the
same kind of region and the hole alone no longer tells the label (issue #26).

PRLE targets each image's Grad-CAM at its own label, so a real's map (towards "real") and a fake's (towards "fake")
differ in size, shape and place, and an erased sample can be classified by its hole. :class:`PairedMaps` puts a
map source in front of ``with_primary_maps`` (or anything that reads maps by key) that answers a real's key with
the map of one of its fakes (drawn per call when it has several) and a fake's key with its own map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from primary_mask.data.pairs import Pair, read_pairs

__all__ = ["UNPAIRED_RULES", "PairedMaps", "PairingReport", "pairs_by_real"]

UNPAIRED_RULES = ("own", "none")  # a real without a fake in the maps: its own map, or no map (never erased)


def pairs_by_real(pairs: Iterable[Pair], prefix: str = "") -> dict[str, list[str]]:
    """``real key -> [fake keys]`` from pairs (``read_pairs``), keeping the pairs whose both keys start with
    ``prefix`` and stripping it (e.g. ``"train/"`` for a pairs file keyed from ``dfdc/`` and maps of ``dfdc/train``)."""
    out: dict[str, list[str]] = {}
    for pair in pairs:
        if pair.real.startswith(prefix) and pair.fake.startswith(prefix):
            out.setdefault(pair.real[len(prefix) :], []).append(pair.fake[len(prefix) :])
    return out


@dataclass
class PairingReport:
    """How the reals of a key list are served: ``paired`` (a fake's map), ``own`` (no fake with a map: their own
    map), ``none`` (no fake with a map and ``unpaired="none"``: never erased), and the fakes (their own map)."""

    paired: int = 0
    own: int = 0
    none: int = 0
    fakes: int = 0

    def summary(self) -> str:
        reals = self.paired + self.own + self.none
        text = f"paired maps: {self.paired} of {reals} reals take a fake's map"
        if self.own:
            text += f", {self.own} without a fake keep their own"
        if self.none:
            text += f", {self.none} without a fake are never erased"
        return text + f"; {self.fakes} fakes keep their own"


class PairedMaps(Mapping):
    """Maps keyed like ``maps`` where each real with fakes in ``pairs`` answers with the map of one of them.

    Args:
        maps: the map source (a :class:`~primary_mask.PrimaryMapStore`, a dict, ...).
        pairs: ``real key -> [fake keys]`` (:func:`pairs_by_real`), a pairs CSV path (read with ``read_pairs``),
            or a list of :class:`~primary_mask.data.pairs.Pair`.
        prefix: stripped from both keys of each pair (for a CSV or pairs keyed from a parent folder).
        unpaired: a real none of whose fakes has a map: ``"own"`` (its own map, PRLE as specified) or ``"none"``
            (``KeyError``: the wrapper's ``missing="skip"`` leaves it unerased).
        generator: draws which fake serves a real with several (default: torch's global RNG, seeded per
            DataLoader worker); one draw per lookup, so each sample of each epoch may take another.

    ``paired[key]`` returns the map; ``image_size(key)`` the size the store recorded for the key's own image (the
    real's, else its fake's: a pair shares one frame). ``key in paired`` is true when a lookup would succeed.
    Fakes, and keys outside the pairs, answer with their own map. Only keys the maps hold as fakes are drawn from.
    """

    def __init__(
        self,
        maps: Any,
        pairs: Mapping[str, Sequence[str]] | str | Path | Iterable[Pair],
        prefix: str = "",
        unpaired: str = "own",
        generator: torch.Generator | None = None,
    ) -> None:
        if unpaired not in UNPAIRED_RULES:
            raise ValueError(f"unpaired must be one of {UNPAIRED_RULES}, got {unpaired!r}")
        if isinstance(pairs, (str, Path)):
            pairs = read_pairs(pairs)
        table = {k: list(v) for k, v in pairs.items()} if isinstance(pairs, Mapping) else pairs_by_real(pairs, prefix)
        if isinstance(pairs, Mapping) and prefix:
            table = {k.removeprefix(prefix): [f.removeprefix(prefix) for f in v] for k, v in table.items()}
        self.maps, self.unpaired, self.generator = maps, unpaired, generator
        self.fakes_of = {real: [f for f in fakes if f in maps] for real, fakes in table.items()}
        self._fake_keys = {f for fakes in self.fakes_of.values() for f in fakes}

    @property
    def values_checked(self) -> bool:
        """Whether the underlying source checked its maps' values (:class:`~primary_mask.data.wrappers.MapSource`)."""
        return bool(getattr(self.maps, "values_checked", False))

    def source_key(self, key: str) -> str | None:
        """The key whose map ``key`` is served (drawn among a real's fakes), or None when it gets none."""
        fakes = self.fakes_of.get(key)
        if fakes:
            i = int(torch.randint(len(fakes), (1,), generator=self.generator)) if len(fakes) > 1 else 0
            return fakes[i]
        if key in self.fakes_of and self.unpaired == "none":  # a real whose fakes have no map
            return None
        return key if key in self.maps else None

    def __getitem__(self, key: str) -> Any:
        source = self.source_key(key)
        if source is None:
            raise KeyError(
                f"no paired map for {key!r}: none of its fakes {self.fakes_of.get(key, [])} has a map "
                "(unpaired='none'), and it is not in the maps"
            )
        return self.maps[source]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if self.fakes_of.get(key):
            return True
        if key in self.fakes_of and self.unpaired == "none":
            return False
        return key in self.maps

    def __iter__(self):
        return iter(self.maps)

    def __len__(self) -> int:
        return len(self.maps)

    def keys(self):
        return self.maps.keys()

    def image_size(self, key: str) -> tuple[int, int] | None:
        recorded = getattr(self.maps, "image_size", None)
        if not callable(recorded):
            return None
        if key in self.maps:
            return recorded(key)
        fakes = self.fakes_of.get(key) or []
        return recorded(fakes[0]) if fakes else None

    def report(self, keys: Iterable[str], labels: Iterable[int]) -> PairingReport:
        """How the reals (label 0) and fakes (label 1) among ``keys`` are served."""
        out = PairingReport()
        for key, label in zip(keys, labels):
            if label == 1:
                out.fakes += 1
            elif self.fakes_of.get(key):
                out.paired += 1
            elif key in self.fakes_of and self.unpaired == "none" or key not in self.maps:
                out.none += 1
            else:
                out.own += 1
        return out

"""Pairs files: which fake was made from which real (DFDC's ``pairs.csv``, FF++'s source-target lists, the shortcut
set's). Read by the manipulation masks (``quality``) and by the paired erase rule (``data.pairing``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Pair", "read_pairs"]


@dataclass(frozen=True)
class Pair:
    """One row of a pairs file: image paths relative to the images root (POSIX), ``split`` or ``""``."""

    real: str
    fake: str
    split: str = ""


def read_pairs(path: str | Path, split: str | None = None) -> list[Pair]:
    """Read a pairs CSV: a header row with columns ``real`` and ``fake`` (others, e.g. ``split``, optional).

    Each value is an image path relative to the images root. A bare file name (no ``/``) on a row with a
    ``split`` column is read in the DFDC crops' layout, ``<split>/real/<name>`` and ``<split>/fake/<name>``.
    ``split`` keeps only the rows of that split (needs the column). A fake listed twice with different reals is
    an error (``ValueError`` naming the file and the row), as are missing columns.
    """
    path = Path(path)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if "real" not in columns or "fake" not in columns:
            raise ValueError(f"{path}: the header must name the columns real and fake (got {columns})")
        if split is not None and "split" not in columns:
            raise ValueError(f"{path}: has no split column, so split={split!r} cannot be selected")
        pairs: list[Pair] = []
        seen: dict[str, str] = {}
        splits: set[str] = set()
        for line, row in enumerate(reader, start=2):
            real, fake, part = (row.get("real") or "").strip(), (row.get("fake") or "").strip(), row.get("split") or ""
            if not real or not fake:
                raise ValueError(f"{path}, line {line}: empty real or fake path")
            splits.add(part)
            if split is not None and part != split:
                continue
            if part and "/" not in real:
                real = f"{part}/real/{real}"
            if part and "/" not in fake:
                fake = f"{part}/fake/{fake}"
            real, fake = PurePosixPath(real).as_posix(), PurePosixPath(fake).as_posix()
            if seen.get(fake, real) != real:
                raise ValueError(f"{path}, line {line}: fake {fake} is listed with two reals ({seen[fake]}, {real})")
            if fake not in seen:
                seen[fake] = real
                pairs.append(Pair(real, fake, part))
    if split is not None and not pairs:
        raise ValueError(f"{path} has no row of split {split!r}; its splits are {sorted(splits)}")
    return pairs

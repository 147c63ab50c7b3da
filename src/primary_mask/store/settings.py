"""Compare the settings that made a store's maps: the first field that differs, named."""

from __future__ import annotations

from typing import Any

__all__ = ["first_difference", "describe_difference"]

_ABSENT = object()


def first_difference(stored: Any, asked: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """``(field path, stored value, asked value)`` of the first difference, in the order of ``asked`` (then
    fields only ``stored`` has), or None when equal. Dicts and lists are walked (``models[1].sha256``)."""
    if isinstance(stored, dict) and isinstance(asked, dict):
        for key in list(asked) + [k for k in stored if k not in asked]:
            found = first_difference(
                stored.get(key, _ABSENT), asked.get(key, _ABSENT), f"{where}.{key}" if where else key
            )
            if found:
                return found
        return None
    if isinstance(stored, list) and isinstance(asked, list):
        if len(stored) != len(asked):
            return (f"{where} (count)", len(stored), len(asked))
        for i, (a, b) in enumerate(zip(stored, asked)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if stored == asked else (where, stored, asked)


def describe_difference(stored: dict[str, Any], asked: dict[str, Any]) -> str | None:
    """A sentence naming the first differing field, or None when the settings agree."""
    found = first_difference(stored, asked)
    if found is None:
        return None
    field, theirs, mine = found
    if theirs is _ABSENT:
        return f"{field}: the store does not record it (baked by an older version), this run has {mine!r}"
    if mine is _ABSENT:
        return f"{field}: the store has {theirs!r}, this run does not set it"
    return f"{field}: the store has {theirs!r}, this run has {mine!r}"

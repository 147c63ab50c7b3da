"""Lazy package attributes (PEP 562): a package's public names are imported on first access, so that importing
the package (and the command line's ``--help``) does not load torch models, timm, pytorch-grad-cam or matplotlib."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


def lazy_exports(
    namespace: dict[str, object], sources: dict[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``.

    ``sources`` maps each public name to the module that defines it; ``submodules`` are subpackages reachable as
    attributes. A name is imported once, then kept in ``namespace``. ``dir()`` lists the package's ``__all__``,
    the submodules and its dunders; an unknown name raises ``AttributeError`` as usual.
    """
    package, submodules = namespace["__name__"], tuple(submodules)

    def __getattr__(name: str) -> object:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        public = {n for n in namespace if not n.startswith("_") or n.startswith("__")}
        return sorted(public | set(namespace.get("__all__", ())) | set(submodules))

    return __getattr__, __dir__

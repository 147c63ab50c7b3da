"""docs/architecture.md: a folder (or top-level module) of src/primary_mask depends only on those below it. Every
``from primary_mask.X import ...`` and ``import primary_mask.X`` in a unit, at module level or inside a function,
must name a unit earlier in LAYERS."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "primary_mask"

# bottom to top; the order docs/architecture.md states
LAYERS = [
    "_version", "_lazy", "_checks", "_files", "_random", "face_geometry", "metrics", "tv_tensors", "functional",
    "transforms", "store", "data", "localize", "quality", "synth", "figures", "demo", "loss", "cli", "__init__",
]  # fmt: skip


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "primary_mask":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def test_every_unit_imports_only_units_below_it():
    units = {
        p.relative_to(ROOT).parts[0].removesuffix(".py") for p in ROOT.iterdir() if p.suffix == ".py" or p.is_dir()
    }
    units -= {"__pycache__"}
    assert units <= set(LAYERS), f"place {sorted(units - set(LAYERS))} in LAYERS and in docs/architecture.md"
    upward = []
    for path in ROOT.rglob("*.py"):
        unit = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for target in imports_of(path) - {unit}:
            if LAYERS.index(target) > LAYERS.index(unit):
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not upward, upward


def test_the_architecture_doc_states_the_same_order():
    text = (ROOT.parents[1] / "docs" / "architecture.md").read_text()
    line = next(line for line in text.splitlines() if line.startswith("Layers, bottom to top:"))
    assert re.findall(r"`([\w.]+?)(?:\.py|/)?`", line) == [u for u in LAYERS if u != "__init__"]

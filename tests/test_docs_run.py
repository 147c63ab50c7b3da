"""Docs that run as written: the README's Python blocks and the example scripts."""

import re
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def readme_python_blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    import cv2
    import numpy as np

    from primary_mask import PrimaryMapWriter

    blocks = readme_python_blocks()
    assert len(blocks) == 3
    n = 4
    # The README's paths, relative to the working folder: data/train/{real,fake} and the store baked for it.
    monkeypatch.chdir(tmp_path)
    keys = [f"{'real' if i % 2 == 0 else 'fake'}/{i}.png" for i in range(n)]
    for key in keys:
        (tmp_path / "data/train" / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "data/train" / key), np.full((32, 32, 3), 100, np.uint8))
    with PrimaryMapWriter(tmp_path / "maps/train", size=8) as writer:
        writer.add(keys, torch.rand(n, 8, 8))
    namespace = {}
    exec(blocks[0], namespace)
    assert namespace["image"].shape == (3, 32, 32) and namespace["image"].dtype == torch.float32
    train_set = namespace["train_set"]
    assert [train_set[i][1] for i in range(n)] == [int(key.startswith("fake")) for key in namespace["images"].keys]
    namespace.update(
        images=torch.randint(0, 255, (n, 3, 32, 32), dtype=torch.uint8),
        maps=torch.rand(n, 8, 8),
        labels=torch.ones(n),
        model=lambda x: x.float().mean(dim=(2, 3))[:, :1],
        bce=lambda logits, y: torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none"),
    )
    exec(blocks[1], namespace)
    assert namespace["loss"].ndim == 0


def test_readme_albumentations_block_runs():
    import numpy as np
    import pytest

    pytest.importorskip("albumentations")
    rgb = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    namespace = {"rgb": rgb, "store": {"k": torch.rand(64, 64)}, "key": "k"}
    exec(readme_python_blocks()[2], namespace)
    assert namespace["out"]["image"].shape == (224, 224, 3) and namespace["out"]["primary_map"].shape == (224, 224)


def test_quickstart_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart_loop.py"), "--steps", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("loader erase") == 2 and proc.stdout.count("device erase") == 2


def test_readme_bake_block_runs(tmp_path):
    """The README's bake/verify/inspect/stats commands, flags as written; paths point at a temp folder and the
    zoo's checkpoints are small random models (the paper's zoo is too large for a test)."""
    import shlex

    import cv2
    import numpy as np
    import timm

    block = re.search(r"## Bake fused maps.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    commands = [shlex.split(c) for c in block.replace("\\\n", " ").strip().splitlines()]
    assert [c[1] for c in commands] == ["bake", "verify", "inspect", "stats"]
    data = tmp_path / "data" / "train"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(
                str(data / label / f"{i}.png"), np.random.default_rng(i).integers(0, 255, (32, 32, 3), np.uint8)
            )
    (tmp_path / "zoo").mkdir()
    for cmd in commands:
        for i, arg in enumerate(cmd):
            if cmd[i - 1] == "--model":
                name, path = arg.split(":")
                torch.save(
                    timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), tmp_path / path
                )
                cmd[i] = f"resnet10t:{path}"
        if cmd[1] == "bake":
            cmd += ["--input-size", "32", "--workers", "0", "--quiet"]
        exe = ROOT / ".venv" / "bin" / "primary-mask"
        cmd[0] = str(exe) if exe.exists() else "primary-mask"
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (cmd, proc.stderr[-2000:])
    assert (tmp_path / "grid.png").exists() and (tmp_path / "stats.png").exists()


def test_readme_training_block_runs(tmp_path):
    """The README's train_zoo / train / evaluate commands, flags as written, on a tiny temporary copy of the
    data layout, shortened with --max-steps (given to train.py through train_zoo's `--` too)."""
    import shlex

    import cv2
    import numpy as np

    block = re.search(
        r"## Train and evaluate detectors.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S
    ).group(1)
    commands = [shlex.split(c) for c in block.replace("\\\n", " ").strip().splitlines()]
    assert [Path(c[1]).name for c in commands] == ["train_zoo.py", "train.py", "evaluate.py"]
    data = tmp_path / "shared" / "data" / "dfdc"
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for label in ("real", "fake"):
            (data / split / label).mkdir(parents=True)
            for i in range(4):
                cv2.imwrite(str(data / split / label / f"{i}.jpg"), rng.integers(0, 255, (48, 48, 3), np.uint8))
    work = tmp_path / "work"
    work.mkdir()
    python = ROOT / ".venv" / "bin" / "python"
    for cmd in commands:
        cmd = [str(python if python.exists() else sys.executable), str(ROOT / cmd[1])] + cmd[2:]
        cmd = [a.replace("../shared", str(tmp_path / "shared")) for a in cmd]
        name = Path(cmd[1]).name
        if name == "train_zoo.py":
            cmd[cmd.index("--") + 1 :] = cmd[cmd.index("--") + 1 :] + ["--max-steps", "1", "--quiet"]
            cmd.insert(cmd.index("--"), "--workers")
            cmd.insert(cmd.index("--"), "0")
        elif name == "train.py":
            cmd += ["--max-steps", "1", "--workers", "0", "--quiet"]
        else:
            cmd += ["--workers", "0", "--quiet"]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (cmd, proc.stderr[-3000:])
    assert "| DFDC ACC | DFDC AUC |" in proc.stdout


def test_readme_synth_grid_command(tmp_path):
    import shlex

    import pytest

    pytest.importorskip("dlib", reason="the 'landmarks' extra is not installed")
    block = re.search(
        r"## Pseudo-fakes from real faces.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S
    ).group(1)
    cmd = shlex.split(block.split("#")[0])
    data = ROOT.parent / "shared" / "data" / "utkface"
    if not data.is_dir():
        pytest.skip("../shared/data/utkface is not available")
    exe = ROOT / ".venv" / "bin" / "primary-mask"
    cmd[0] = str(exe) if exe.exists() else "primary-mask"
    cmd = [str(data) if a == "../shared/data/utkface" else a for a in cmd] + ["--n", "2"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "synth_grid.png").exists()


def test_every_public_name_is_in_the_api_reference():
    import primary_mask

    reference = (ROOT / "docs" / "index.md").read_text()
    undocumented = [name for name in primary_mask.__all__ if not re.search(rf"\b{name}\b", reference)]
    assert undocumented == [], f"add these to docs/index.md: {undocumented}"

"""The benchmark scripts must keep running (figures themselves live in benchmarks/RESULTS.md)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_erase_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_erase.py"),
        "--synthetic",
        "--repeats",
        "3",
        "--batch-repeats",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["image"] == "synthetic face"
    assert set(data["targets"]) == {"sparse", "store"}
    for name in ("sparse", "store"):
        assert data[name]["pixel_agreement_with_loop"] > 0.99  # same erased pixels as the per-pixel loop
        assert {"per_sample_ours_ms", "per_sample_loop_ms", "jpeg_decode_ms"} <= set(data[name])


def test_bench_localize_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_localize.py"),
        "--zoo",
        "resnet10t",
        "--images",
        "2",
        "--input-size",
        "32",
        "--fusion-size",
        "48",
        "--reads",
        "300",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["fusion"]["max_abs_diff"] < 1e-5  # the vectorized fusion equals both loops
    assert {"fusion", "bake", "reads", "targets"} <= set(data)

"""The benchmark scripts must keep running (figures themselves live in benchmarks/RESULTS.md)."""

import json
import math
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


def test_bench_loader_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_loader.py"), "--synthetic", "--rounds", "2"]
    cmd += ["--per-round", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["images"].startswith("synthetic")  # says so when it does not decode DFDC crops
    assert set(data["ms_per_sample"]) == {"plain", "erasing", "prle", "prle_stored"}
    assert all(ms > 0 for ms in data["ms_per_sample"].values())
    assert set(data["adds_ms"]) == {"erasing", "prle", "prle_stored"}
    assert 0.9 < data["prle_stored_mask_iou_at_alpha_0.5"] < 1  # one resize is close to two, not the same
    assert "prle_add<=3x_erasing_add" in data["targets"]


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
    assert set(data["fusion"]) == {"uniform", "gradcam_like"}
    for kind in data["fusion"].values():
        assert kind["max_abs_diff"] < 1e-5  # the vectorized fusion equals both loops
    assert {"fusion", "bake", "reads", "targets"} <= set(data)


def test_dump_cams_feeds_bench_localize(tmp_path):
    # dump_cams.py writes a zoo's CAMs of real images; bench_localize.py --fusion-cams times fusion on them.
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for label in ("real", "fake"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(2):
            pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            assert cv2.imwrite(str(tmp_path / "images" / label / f"{i}.png"), pixels)
    cams_file = tmp_path / "cams.safetensors"
    dump = [sys.executable, str(ROOT / "benchmarks" / "dump_cams.py"), "--images", str(tmp_path / "images")]
    dump += ["--model", "resnet10t", "--model", "resnet10t", "--n", "3", "--size", "32", "--out", str(cams_file)]
    proc = subprocess.run(dump, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    from safetensors.torch import load_file

    cams = load_file(str(cams_file))["cams"]
    assert cams.shape == (2, 3, 32, 32) and 0.0 <= float(cams.min()) and float(cams.max()) <= 1.0
    out = tmp_path / "bench.json"
    bench = [sys.executable, str(ROOT / "benchmarks" / "bench_localize.py"), "--parts", "fusion"]
    bench += ["--fusion-size", "32", "--fusion-cams", str(cams_file), "--fusion-images", "2", "--out", str(out)]
    proc = subprocess.run(bench, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert set(data["fusion"]) == {"uniform", "gradcam_like", "file0", "file1"}
    assert all(kind["max_abs_diff"] < 1e-5 for kind in data["fusion"].values())
    assert "bake" not in data and "fusion_file_median_speedup" in data


def test_bench_gpu_quick_runs_every_part_on_cpu(tmp_path):
    # benchmarks/gpu.sh runs bench_gpu.py on a lent GPU; --device cpu --quick runs all its code paths here with
    # tiny sizes and stand-in models, so the prepared GPU run is not first exercised on borrowed time.
    out = tmp_path / "gpu.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--device", "cpu", "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["quick"] and data["machine"]["device"] == "cpu"
    assert not [name for name in ("erase", "bake", "train", "cam_backends", "online") if "error" in data[name]]
    erase = data["erase"]
    for dtype in ("uint8", "float32"):
        assert erase[dtype]["ms_per_batch"] > 0
        # every sample selected, alpha in [0.5, 1] of ~77% positive maps: between ~38% and ~77% of pixels erased
        assert 0.3 < erase[dtype]["erased_pixel_share"] < 0.8
    runs = data["bake"]["runs"]
    assert len(runs) == 2 * 3  # two batch sizes x (two stand-ins alone + their fused zoo)
    assert all(r["images_per_s"] > 0 for r in runs)
    train = data["train"]
    assert train["step_ms_with"] > 0 and train["step_ms_without"] > 0 and train["erase_ms"] > 0
    assert 0 < train["erased_sample_share"] < 1  # p = 0.5: some samples erased, not all
    table = proc.stdout[proc.stdout.index("| part | case | result |") :]
    assert table.count("| (a) erase |") == 2 and table.count("| (b) bake |") == 6
    assert "PRLE's share of the step" in table
    assert table.count("| (d) CAM backends |") == 2 and table.count("| (e) online maps |") == 3


def test_proto_canvas_map_runs_and_its_approximate_mask_is_the_stated_threshold():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "proto_canvas_map.py"), "--rounds", "2", "--synthetic"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "canvas_approx" in proc.stdout and "IoU with exact" in proc.stdout
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch
    from proto_canvas_map import approx_mask

    small = torch.tensor([[0.0, 0.2, 0.4], [0.6, 0.8, 1.0], [0.0, 0.0, 0.5]])
    # 6 positives, alpha 0.5 -> k = 3: threshold 0.6 (the third largest of 1.0, 0.8, 0.6, ...)
    big = torch.nn.functional.interpolate(small[None, None], size=(6, 6), mode="bilinear", align_corners=False)[0, 0]
    assert torch.equal(approx_mask(small, (6, 6), 0.5), big >= 0.6)
    assert not approx_mask(small, (6, 6), 0.1).any()  # k = 0: nothing


def test_bench_online_runs_and_writes_json(tmp_path):
    out = tmp_path / "online.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_online.py"), "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT / "benchmarks")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["cam_backends"]["images_per_s_torch"] > 0 and data["cam_backends"]["images_per_s_grad-cam"] > 0
    assert set(data["online_steps"]["added_share"]) == {"gradcam++ step", "fam + rfm step", "gradcam++ epoch:1"}


def test_bench_train_step_runs_on_a_tiny_store_or_a_synthetic_one_and_skips_without(tmp_path):
    import cv2
    import numpy as np
    import torch

    from primary_mask import PrimaryMapWriter

    keys = [f"{label}/{i}.png" for label in ("real", "fake") for i in range(8)]
    for key in keys:
        (tmp_path / "img" / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "img" / key), np.full((40, 40, 3), 90, np.uint8))
    with PrimaryMapWriter(tmp_path / "store", size=8) as writer:
        writer.add(keys, torch.rand(16, 8, 8), [(40, 40)] * 16)
    script = str(ROOT / "benchmarks" / "bench_train_step.py")
    args = ["--images", str(tmp_path / "img"), "--size", "32", "--batch", "4", "--workers", "0", "--blocks", "1"]
    args += ["--steps", "5", "--out", str(tmp_path / "t.json")]  # 1 + 5 steps of 4: past the 4 batches of an epoch
    proc = subprocess.run([sys.executable, script, *args, "--store", str(tmp_path / "store")], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "t.json").read_text())
    assert "prle_share_of_step" in data and data["maps"] == 16
    assert set(data["first_read_s"]) == {"verify=False", "verify=True"} and "digest_share_of_epoch" in data
    assert data["sha256_s"] > 0 and len(data["block_ms"]["with"]) == 1
    step_ms = data["step_ms"]["with"]  # one block: the median step is that block's mean step, in the same unit
    assert math.isclose(data["block_ms"]["with"][0], step_ms, rel_tol=1e-9)
    synthetic = subprocess.run([sys.executable, script, "--synthetic", "12", *args], capture_output=True, text=True,
                               timeout=300)  # fmt: skip
    assert synthetic.returncode == 0, synthetic.stderr[-2000:]
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["maps"] == 12 and data["images"].startswith("synthetic")
    too_few = subprocess.run([sys.executable, script, "--synthetic", "3", *args], capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert too_few.returncode != 0 and "3 images make no full batch of --batch 4" in too_few.stderr  # not a hang
    skipped = subprocess.run(
        [sys.executable, script, "--images", str(tmp_path / "none")], capture_output=True, text=True
    )
    assert skipped.returncode == 0 and "skipped" in skipped.stdout

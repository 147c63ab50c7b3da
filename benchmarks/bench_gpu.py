"""What needs a GPU, in one run: batch erase, bake throughput of the paper zoo, PRLE's share of a training step.

(a) erase: ``BatchPrimaryRegionErase`` on B=64 uint8 and float32 images at 256x256 with store-like 64x64 uint8
    maps (77% positive, as ``bench_erase.py`` builds them), every sample selected, alpha ~ U(0.5, 1); eager (no
    ``torch.compile``), timed with CUDA events after a warm-up, median of rounds; ms per batch and per image.
(b) bake: ``PrimaryRegionLocalizer`` (Grad-CAM, neighboring fusion, 64x64 maps) on normalised 256x256 batches of
    32 and 64, for each paper zoo backbone alone (timm legacy_xception, efficientnet_b4, vgg16, random weights:
    speed does not depend on them) and for the fused zoo of three; wall-clock images/s (the CAMs pass through
    numpy on the host, as a user's bake does).
(c) train: timm legacy_xception (1 logit, random init), AdamW, bf16 autocast, batch 32 at 256x256 on synthetic
    uint8 images and maps that live on the GPU; blocks of steps without PRLE and with
    ``BatchPrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0))`` on the uint8 batch before normalisation and the
    Eq. 13 weighted loss (``examples/train.py --erase-on gpu``) alternate; ms per step with and without, the
    erase alone, and PRLE's share of the step (the paper's Table VIII).

Each part runs under its own time budget and its own guard: a failure is recorded as the part's ``error`` and the
next part still runs. The JSON is rewritten after every part (a run stopped by a timeout keeps what finished).
Prints a markdown table for benchmarks/RESULTS.md. ``--device cpu --quick`` runs every code path with tiny sizes
and small stand-in models (the smoke test); ``benchmarks/gpu.sh`` is the way to run it on a lent GPU.

Run: python benchmarks/bench_gpu.py [--device cuda] [--parts a,b,c] [--out benchmarks/out/gpu.json]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

# Sizes of the real run and of the CPU smoke run (--quick). The paper zoo is the three backbones of Table II.
FULL = {
    "erase_batch": 64,
    "size": 256,
    "map_size": 64,
    "erase_rounds": 50,
    "zoo": ["legacy_xception", "efficientnet_b4", "vgg16"],
    "bake_batches": [32, 64],
    "bake_rounds": 5,
    "train_model": "legacy_xception",
    "train_batch": 32,
    "train_steps_per_block": 10,
    "train_blocks": 8,
    "warmup": 5,
}
QUICK = {
    "erase_batch": 4,
    "size": 32,
    "map_size": 16,
    "erase_rounds": 3,
    "zoo": ["resnet10t", "test_efficientnet"],  # tiny stand-ins with known Grad-CAM layers
    "bake_batches": [2, 3],
    "bake_rounds": 1,
    "train_model": "resnet10t",
    "train_batch": 4,
    "train_steps_per_block": 2,
    "train_blocks": 2,
    "warmup": 1,
}


class Clock:
    """Elapsed milliseconds of GPU work between ``start()`` and ``stop()``: CUDA events on CUDA, else wall clock."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def start(self) -> object:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def stop(self, begin: object) -> Callable[[], float]:
        """Returns a function giving the milliseconds (call it after a synchronize)."""
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            return lambda: begin.elapsed_time(end)  # type: ignore[union-attr]
        elapsed = (time.perf_counter() - begin) * 1e3  # type: ignore[operator]
        return lambda: elapsed


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def store_like_maps(batch: int, size: int) -> torch.Tensor:
    """(B, size, size) uint8 maps, ~77% positive, as the baked DFDC store (bench_erase.store_like_map)."""
    from bench_erase import store_like_map

    return torch.from_numpy(np.stack([store_like_map(size, seed) for seed in range(batch)]))


def machine(device: torch.device) -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": str(device),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
    }
    for name in ("torchvision", "timm", "grad-cam", "ttach"):
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = props.name
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["gpu_multiprocessors"] = props.multi_processor_count
    else:
        info["gpu"] = None
        info["cpu_threads"] = torch.get_num_threads()
    return info


def part_erase(device: torch.device, cfg: dict, budget: float) -> dict:
    """(a) B images, every sample selected (the worst case of p), fixed alpha draws replayed each round."""
    from primary_mask import BatchPrimaryRegionErase, EraseParams

    b, size = cfg["erase_batch"], cfg["size"]
    gen = torch.Generator().manual_seed(0)
    images_u8 = torch.randint(0, 256, (b, 3, size, size), dtype=torch.uint8, generator=gen).to(device)
    maps = store_like_maps(b, cfg["map_size"]).to(device)
    params = EraseParams(torch.ones(b, dtype=torch.bool), 0.5 + 0.5 * torch.rand(b, generator=gen, dtype=torch.float64))
    params = params.to(device)
    erase = BatchPrimaryRegionErase()
    clock = Clock(device)
    result: dict = {
        "batch": b,
        "image_size": size,
        "map_size": cfg["map_size"],
        "map_positive_share": float((maps > 0).float().mean()),
        "compiled": False,
    }
    deadline = time.perf_counter() + budget
    for dtype_name, images in (("uint8", images_u8), ("float32", images_u8.float() / 255)):
        for _ in range(cfg["warmup"]):
            erase(images, maps, params=params)
        sync(device)
        readings = []
        for _ in range(cfg["erase_rounds"]):
            begin = clock.start()
            out = erase(images, maps, params=params)
            readings.append(clock.stop(begin))
            sync(device)
            if time.perf_counter() > deadline and len(readings) >= 3:
                break
        ms = statistics.median(r() for r in readings)
        erased = float((out != images).any(dim=1).float().mean())
        result[dtype_name] = {
            "ms_per_batch": ms,
            "us_per_image": ms * 1e3 / b,
            "rounds": len(readings),
            "erased_pixel_share": erased,
        }
    return result


def build_timm(name: str, device: torch.device) -> torch.nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, num_classes=1).to(device)


def part_bake(device: torch.device, cfg: dict, budget: float) -> dict:
    """(b) Images/s of PrimaryRegionLocalizer.localize for each backbone alone and the fused zoo."""
    from primary_mask import PrimaryRegionLocalizer
    from primary_mask.localize import default_target_layer

    size = cfg["size"]
    models = {name: build_timm(name, device).eval() for name in cfg["zoo"]}
    configs = [(name, [name]) for name in models] + [("zoo of " + str(len(models)), list(models))]
    layers = {name: dict(m.named_modules()) for name, m in models.items()}
    result: dict = {
        "image_size": size,
        "map_size": cfg["map_size"],
        "cam": "gradcam",
        "fusion": "neighboring",
        "target_layers": {
            name: next(k for k, v in layers[name].items() if v is default_target_layer(m)) for name, m in models.items()
        },
    }
    runs = []
    n_configs = len(configs) * len(cfg["bake_batches"])
    start = time.perf_counter()
    for batch in cfg["bake_batches"]:
        gen = torch.Generator().manual_seed(batch)
        images = torch.randn(batch, 3, size, size, generator=gen).to(device)
        labels = torch.randint(0, 2, (batch,), generator=gen)
        for label, names in configs:
            row: dict = {"models": label, "batch": batch}
            runs.append(row)
            # each configuration gets an equal share of what is left of the budget
            share = max(budget - (time.perf_counter() - start), 0.0) / max(n_configs - len(runs) + 1, 1)
            try:
                localizer = PrimaryRegionLocalizer(
                    [models[n] for n in names], size=cfg["map_size"], device=device, batch_size=batch
                )
                t0 = time.perf_counter()
                maps = localizer.localize(images, labels)  # warm-up: cuDNN picks its algorithms here
                sync(device)
                row["first_call_s"] = time.perf_counter() - t0
                assert maps.shape == (batch, cfg["map_size"], cfg["map_size"]), tuple(maps.shape)
                seconds = []
                deadline = time.perf_counter() + share
                for _ in range(cfg["bake_rounds"]):
                    t0 = time.perf_counter()
                    localizer.localize(images, labels)
                    sync(device)
                    seconds.append(time.perf_counter() - t0)
                    if time.perf_counter() > deadline:
                        break
                s = statistics.median(seconds)
                row.update({"s_per_batch": s, "images_per_s": batch / s, "rounds": len(seconds)})
                if device.type == "cuda":
                    row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
            except torch.OutOfMemoryError as exc:  # batch 64 is "if memory allows"
                row["error"] = f"out of memory: {str(exc).splitlines()[0]}"
            finally:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats(device)
    result["runs"] = runs
    return result


def part_train(device: torch.device, cfg: dict, budget: float) -> dict:
    """(c) Alternating blocks of training steps without and with PRLE on the GPU batch."""
    import torch.nn.functional as nnf

    from primary_mask import BatchPrimaryRegionErase, prle_weighted_loss

    size, b = cfg["size"], cfg["train_batch"]
    torch.manual_seed(0)
    model = build_timm(cfg["train_model"], device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    erase = BatchPrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0))
    from primary_mask.data import IMAGENET_MEAN, IMAGENET_STD  # as examples/common.py normalises

    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(1)
    pool = 4  # a few distinct batches, cycled: no host-to-device copy inside the timed steps
    shape = (b, 3, size, size)
    images = [torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen).to(device) for _ in range(pool)]
    maps = [store_like_maps(b, cfg["map_size"]).roll(i, 0).to(device) for i in range(pool)]
    labels = [torch.randint(0, 2, (b,), generator=gen).float().to(device) for _ in range(pool)]
    clock = Clock(device)
    erase_readings: list[Callable[[], float]] = []
    erased_flags: list[torch.Tensor] = []

    def step(i: int, with_prle: bool) -> None:
        x, y = images[i % pool], labels[i % pool]
        erased = None
        if with_prle:
            begin = clock.start()
            x, params = erase(x, maps[i % pool], return_params=True)
            erase_readings.append(clock.stop(begin))
            erased = params.erased
            erased_flags.append(erased)
        x = (x.float() / 255 - mean) / std
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(x)[:, 0].float()
        per_sample = nnf.binary_cross_entropy_with_logits(logits, y, reduction="none")
        loss = prle_weighted_loss(per_sample, erased, 1.0) if with_prle else per_sample.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for i in range(cfg["warmup"]):
        step(i, with_prle=bool(i % 2))
    sync(device)
    warmup_s = time.perf_counter() - t0
    erase_readings.clear()
    erased_flags.clear()
    per_step: dict[str, list[float]] = {"without": [], "with": []}
    deadline = time.perf_counter() + budget
    i = 0
    for _ in range(cfg["train_blocks"]):
        for name in ("without", "with"):
            begin = clock.start()
            for _ in range(cfg["train_steps_per_block"]):
                step(i, with_prle=name == "with")
                i += 1
            reading = clock.stop(begin)
            sync(device)
            per_step[name].append(reading() / cfg["train_steps_per_block"])
        if time.perf_counter() > deadline:
            break
    without, with_ = statistics.median(per_step["without"]), statistics.median(per_step["with"])
    erase_ms = statistics.median(r() for r in erase_readings)
    return {
        "model": cfg["train_model"],
        "batch": b,
        "image_size": size,
        "map_size": cfg["map_size"],
        "autocast": "bfloat16" if device.type == "cuda" else None,  # bf16 on a CPU without AMX is ~20x slower
        "optimizer": "AdamW",
        "prle": "BatchPrimaryRegionErase(p=0.5, alpha_range=(0.5, 1.0)) on the uint8 batch, Eq. 13 loss (gamma=1)",
        "warmup_steps": cfg["warmup"],
        "warmup_s": warmup_s,
        "blocks": len(per_step["with"]),
        "steps_per_block": cfg["train_steps_per_block"],
        "step_ms_without": without,
        "step_ms_with": with_,
        "erase_ms": erase_ms,
        "prle_share_of_step": (with_ - without) / with_,
        "erase_share_of_step": erase_ms / with_,
        "erased_sample_share": float(torch.cat(erased_flags).float().mean()),
        "images_per_s_without": b * 1e3 / without,
        "images_per_s_with": b * 1e3 / with_,
        "block_ms_per_step": per_step,
    }


def part_cam_backends(device: torch.device, cfg: dict, budget: float) -> dict:
    """(d) Images/s of the torch CAM backend against pytorch-grad-cam on the recipe's zoo (bench_online.py (a))."""
    from bench_online import cam_backends

    return cam_backends(device, **({"batch": 4, "size": 64, "repeats": 2} if cfg.get("quick") else {}))


def part_online(device: torch.device, cfg: dict, budget: float) -> dict:
    """(e) The online rules' added share of a training step (bench_online.py (b))."""
    from bench_online import online_steps

    return online_steps(device, **({"batch": 4, "size": 64, "blocks": 1} if cfg.get("quick") else {}))


PARTS: dict[str, tuple[str, Callable[[torch.device, dict, float], dict]]] = {
    "a": ("erase", part_erase),
    "b": ("bake", part_bake),
    "c": ("train", part_train),
    "d": ("cam_backends", part_cam_backends),
    "e": ("online", part_online),
}


def markdown(results: dict) -> str:
    m = results["machine"]
    where = m["gpu"] or f"CPU ({m.get('cpu_threads')} threads)"
    lines = [
        f"Machine: {where}, torch {m['torch']}, timm {m['timm']}, {results['date']}"
        + (" (--quick: tiny sizes and stand-in models, not figures)" if results["quick"] else ""),
        "",
        "| part | case | result |",
        "|---|---|---:|",
    ]
    a = results.get("erase", {})
    if "error" in a:
        lines.append(f"| (a) erase | failed | {a['error']} |")
    for dtype in ("uint8", "float32"):
        if dtype in a:
            r = a[dtype]
            case = f"B={a['batch']} {dtype} {a['image_size']}^2, {a['map_size']}^2 uint8 map, p=1"
            figure = f"{r['ms_per_batch']:.3f} ms/batch ({r['us_per_image']:.1f} us/image)"
            lines.append(f"| (a) erase | {case} | {figure} |")
    b = results.get("bake", {})
    if "error" in b:
        lines.append(f"| (b) bake | failed | {b['error']} |")
    for row in b.get("runs", []):
        case = f"{row['models']}, B={row['batch']}, {b['image_size']}^2 -> {b['map_size']}^2"
        figure = row.get("error") or f"{row['images_per_s']:.4g} images/s"
        lines.append(f"| (b) bake | {case} | {figure} |")
    c = results.get("train", {})
    if "error" in c:
        lines.append(f"| (c) train | failed | {c['error']} |")
    elif c:
        what = f"{c['model']}, B={c['batch']} {c['image_size']}^2, {c['autocast'] or 'fp32'}"
        lines += [
            f"| (c) train | {what}, step without PRLE | {c['step_ms_without']:.1f} ms |",
            f"| (c) train | {what}, step with PRLE (p=0.5) | {c['step_ms_with']:.1f} ms |",
            f"| (c) train | erase alone (B={c['batch']}) | {c['erase_ms']:.2f} ms |",
            f"| (c) train | PRLE's share of the step | {100 * c['prle_share_of_step']:.1f}% |",
        ]
    d = results.get("cam_backends", {})
    if "error" in d:
        lines.append(f"| (d) CAM backends | failed | {d['error']} |")
    elif d:
        case = f"{' + '.join(d['zoo'])}, B={d['batch']} {d['image_size']}^2, Grad-CAM++"
        lines.append(f"| (d) CAM backends | {case}, torch | {d['images_per_s_torch']:.4g} images/s |")
        lines.append(f"| (d) CAM backends | {case}, pytorch-grad-cam | {d['images_per_s_grad-cam']:.4g} images/s |")
    e = results.get("online", {})
    if "error" in e:
        lines.append(f"| (e) online maps | failed | {e['error']} |")
    for rule, share in e.get("added_share", {}).items():
        lines.append(
            f"| (e) online maps | {e['model']} B={e['batch']} {e['image_size']}^2, {rule} | +{100 * share:.0f}% |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and stand-in models (smoke test)")
    parser.add_argument(
        "--parts",
        default="a,b,c,d,e",
        help="comma-separated subset of a (erase), b (bake), c (train), d (CAM backends), e (online maps)",
    )
    parser.add_argument("--out", default=None, help="JSON path (default: $OUT/gpu.json, else benchmarks/out/gpu.json)")
    parser.add_argument("--zoo", default=None, help="comma-separated timm names replacing the zoo of part (b)")
    parser.add_argument("--train-model", default=None, help="timm name replacing the model of part (c)")
    parser.add_argument(
        "--budgets", default="30,120,120", help="seconds for parts a,b,c (timed rounds stop once it is spent)"
    )
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # the smoke run shares a small, busy machine: one thread never waits on another
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device (use --device cpu --quick for a smoke run)")
        return 2
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        print(f"error: unknown --parts {unknown}; choose from {sorted(PARTS)}")
        return 2
    budgets = dict(zip("abc", (float(s) for s in args.budgets.split(","))))
    cfg = dict(QUICK if args.quick else FULL, quick=args.quick)
    if args.zoo:
        cfg["zoo"] = [n.strip() for n in args.zoo.split(",") if n.strip()]
    if args.train_model:
        cfg["train_model"] = args.train_model
    default_out = Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else Path("benchmarks/out/gpu.json")
    out = Path(args.out) if args.out else default_out
    out.parent.mkdir(parents=True, exist_ok=True)

    results: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": machine(device),
        "config": cfg,
        "budgets_s": budgets,
    }
    print(json.dumps(results["machine"]), flush=True)
    failed = False
    for key in parts:
        name, fn = PARTS[key]
        t0 = time.perf_counter()
        print(f"part ({key}) {name} ...", flush=True)
        try:
            results[name] = fn(device, cfg, budgets.get(key, 60.0))
        except Exception as exc:  # one part's failure must not lose the others' figures
            failed = True
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
            if device.type == "cuda":
                torch.cuda.empty_cache()
        results[name]["wall_s"] = round(time.perf_counter() - t0, 1)
        print(f"part ({key}) {name} done in {results[name]['wall_s']} s", flush=True)
        out.write_text(json.dumps(results, indent=2))
    print()
    print(markdown(results))
    print(f"\nwrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

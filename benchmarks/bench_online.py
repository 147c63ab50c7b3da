"""What online maps cost (issue #24), on the device given:

(a) CAM backends: images/s of PrimaryRegionLocalizer.localize with cam_backend="torch" against "grad-cam"
    (pytorch-grad-cam) on the recipe's zoo (EfficientNet-Lite0 + MobileNetV2, Grad-CAM++, neighboring fusion) at
    batch 32, 256 px, calls of the two alternating so that a shared machine's drift hits both alike;
(b) the online rules' added share of a training step: MobileNetV2 steps without maps, with the current model's
    Grad-CAM++ erased by BatchPrimaryRegionErase, and with its FAM under RFM's boxes (refresh=step), in alternating
    blocks; and refresh=epoch:N's share, from the same model's bake throughput (torch backend) over its training
    throughput (share = bake s/image / (N * train s/image + bake s/image), N = 1).
Random-initialised models: speed does not depend on the weights. Prints a table and writes JSON (--out).

Run: python benchmarks/bench_online.py [--device cpu] [--out benchmarks/out/bench_online.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import timm
import torch
import torch.nn.functional as nnf
import torchvision
from bench_timing import median_times_alternating

from primary_mask import BatchPrimaryRegionErase, PrimaryRegionLocalizer, prle_weighted_loss
from primary_mask.localize.online import online_maps
from primary_mask.transforms import BatchRFMErase

ZOO = {
    "efficientnet_lite0": lambda: timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=1),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cam_backends(device: torch.device, batch: int = 32, size: int = 256, repeats: int = 5) -> dict:
    """(a) images/s of both CAM backends on the recipe's zoo."""
    torch.manual_seed(0)
    models = [build().to(device).eval() for build in ZOO.values()]
    images = torch.randn(batch, 3, size, size, device=device)
    labels = torch.randint(0, 2, (batch,))
    localizers = {
        backend: PrimaryRegionLocalizer(models, size=64, device=device, batch_size=batch, cam_backend=backend)
        for backend in ("torch", "grad-cam")
    }

    def call(localizer):
        def run():
            localizer.localize(images, labels)
            sync(device)

        return run

    times = median_times_alternating({k: call(v) for k, v in localizers.items()}, repeats, warmup=1)
    out = {"zoo": list(ZOO), "batch": batch, "image_size": size, "cam": "gradcam++"}
    out.update({f"images_per_s_{k}": batch / v for k, v in times.items()})
    out["torch_over_grad_cam"] = times["grad-cam"] / times["torch"]
    return out


def online_steps(device: torch.device, batch: int = 32, size: int = 128, blocks: int = 4, steps: int = 3) -> dict:
    """(b) ms per training step without online maps and with each step rule, alternating blocks; epoch:1's share."""
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=1).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=gen).to(device)
    labels = torch.randint(0, 2, (batch,), generator=gen).float().to(device)
    prle, rfm = BatchPrimaryRegionErase(0.5, (0.5, 1.0)), BatchRFMErase(1.0)

    def normalise(x):
        return (x.float() / 255 - mean) / std

    def step(rule: str) -> None:
        x, erased = images, None
        if rule == "gradcam++ step":
            x, params = prle(x, online_maps(model, normalise(x), labels, "gradcam++"), return_params=True)
            erased = params.erased
        elif rule == "fam + rfm step":
            x, params = rfm(x, online_maps(model, normalise(x), labels, "fam", smooth=False), return_params=True)
            erased = params.erased
        loss = nnf.binary_cross_entropy_with_logits(model(normalise(x))[:, 0], labels, reduction="none")
        loss = prle_weighted_loss(loss, erased) if erased is not None else loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync(device)

    rules = ("none", "gradcam++ step", "fam + rfm step")
    for rule in rules:
        step(rule)
    per_step: dict[str, list[float]] = {rule: [] for rule in rules}
    for _ in range(blocks):
        for rule in rules:
            t0 = time.perf_counter()
            for _ in range(steps):
                step(rule)
            per_step[rule].append((time.perf_counter() - t0) / steps)
    ms = {rule: 1e3 * statistics.median(v) for rule, v in per_step.items()}
    localizer = PrimaryRegionLocalizer([model], size=64, device=device, batch_size=batch)
    timing = median_times_alternating({"bake": lambda: (localizer.localize(normalise(images), labels), sync(device))},
                                      3, warmup=1)  # fmt: skip
    model.train()
    bake_s_per_image, train_s_per_image = timing["bake"] / batch, ms["none"] / 1e3 / batch
    out = {"model": "mobilenet_v2", "batch": batch, "image_size": size, "step_ms": ms}
    out["added_share"] = {rule: (ms[rule] - ms["none"]) / ms[rule] for rule in rules[1:]}
    out["added_share"]["gradcam++ epoch:1"] = bake_s_per_image / (train_s_per_image + bake_s_per_image)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--out", default="benchmarks/out/bench_online.json", help="JSON written")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, not figures)")
    args = parser.parse_args()
    device = torch.device(args.device)
    sizes = {"batch": 4, "size": 64} if args.quick else {}
    results = {"device": str(device), "torch": torch.__version__, "quick": args.quick,
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    results["cam_backends"] = cam_backends(device, repeats=2 if args.quick else 5, **sizes)
    results["online_steps"] = online_steps(device, blocks=1 if args.quick else 4, **sizes)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    a, b = results["cam_backends"], results["online_steps"]
    print(f"(a) zoo {a['zoo']} B={a['batch']} {a['image_size']} px: torch {a['images_per_s_torch']:.1f} images/s, "
          f"grad-cam {a['images_per_s_grad-cam']:.1f} images/s ({a['torch_over_grad_cam']:.2f}x)")  # fmt: skip
    for rule, share in b["added_share"].items():
        print(f"(b) {b['model']} B={b['batch']} {b['image_size']} px, {rule}: +{100 * share:.0f}% of the step")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

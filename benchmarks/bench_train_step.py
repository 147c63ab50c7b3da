"""PRLE's share of a training step, as users feel it (issue #21, "the loader goal, decided"): MobileNetV2 trained at
128 px from a DataLoader (2 workers, batch 32) over face crops, without PRLE and with the per-sample transform
(``with_primary_maps`` on a real store, p = 0.5, alpha ~ U(0.5, 1), the authors' release), in alternating blocks of
steps within one run, so that a shared machine's drift hits both alike.

Needs a folder of real/ and fake/ crops and a store baked for it (``primary-mask bake``); skipped, saying so, when
either is missing. ``--synthetic N`` makes both in a temporary folder instead (N drawn 224 px faces as JPEG, the
demo's synthetic maps): for a machine without the data, e.g. the GPU run of ``gpu.sh``; the maps' content does not
change the cost. Also times the first read of every map in a fresh reader with and without the sha256 check of
each shard's first open (``PrimaryMapStore(verify=)``), as a share of one epoch over the store's images. Prints the
figures and writes JSON (--out).

Run: python benchmarks/bench_train_step.py --images ../shared/data/dfdc/val --store runs/bench/val-maps \
         [--device cpu] [--blocks 4] [--steps 5] [--out benchmarks/out/bench_train_step.json]
     python benchmarks/bench_train_step.py --synthetic 800 --device cuda
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as nnf
import torchvision
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from primary_mask import PrimaryMapStore, PrimaryRegionErase, prle_weighted_loss, with_primary_maps
from primary_mask.data import DeepfakeImageDataset, items_from_spec
from primary_mask.store import reader
from primary_mask.store.format import sha256_file

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def loader(images: str, store: PrimaryMapStore | None, size: int, batch: int, workers: int) -> DataLoader:
    geometry = [v2.Resize((size, size), antialias=True), v2.RandomHorizontalFlip()]
    tail = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]
    base = DeepfakeImageDataset(items_from_spec(images))
    if store is None:
        base.transform = v2.Compose(geometry + tail)
        dataset = base
    else:
        erase = PrimaryRegionErase(0.5, (0.5, 1.0))
        dataset = with_primary_maps(base, store, transform=v2.Compose(geometry + [erase] + tail), return_erased=True)
    g = torch.Generator().manual_seed(0)
    return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, generator=g, drop_last=True,
                      persistent_workers=workers > 0)  # fmt: skip


def first_read_seconds(path: str, verify: bool) -> float:
    """Seconds to read every map of the store at ``path`` in a fresh reader (each shard opened for the first
    time in this process), with or without the sha256 check on first open (issue #22: "measure it")."""
    reader._VERIFIED.clear()  # the once-per-process record of checked shards: start as a new process would
    t0 = time.perf_counter()
    store = PrimaryMapStore(path, verify=verify)
    store.get_batch(store.keys())
    return time.perf_counter() - t0


def endless(batches: DataLoader):
    """The loader's batches epoch after epoch, so that any --blocks x --steps fits a small folder."""
    if len(batches) == 0:  # drop_last with fewer images than a batch: no batch, ever
        raise SystemExit(f"{len(batches.dataset)} images make no full batch of --batch {batches.batch_size}")
    while True:
        yield from batches


def synthetic_folder(root: Path, n: int, size: int = 224, map_size: int = 64) -> tuple[str, str]:
    """``n`` drawn faces (half real/, half fake/) as JPEG under ``root``/images and a store of the demo's maps for
    them under ``root``/store; returns (images, store)."""
    import cv2
    import numpy as np

    from primary_mask import PrimaryMapWriter
    from primary_mask.demo.synthetic_face import draw_face, synthetic_primary_map

    keys = [f"{label}/{i:05d}.jpg" for i in range(n) for label in ("real", "fake")][:n]
    for i, key in enumerate(keys):
        (root / "images" / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / key), cv2.cvtColor(draw_face(size, seed=i), cv2.COLOR_RGB2BGR))
    maps = torch.from_numpy(np.stack([synthetic_primary_map(map_size, seed=i) for i in range(n)]))
    with PrimaryMapWriter(root / "store", size=map_size) as writer:
        writer.add(keys, maps, [(size, size)] * n)
    return str(root / "images"), str(root / "store")


def sha256_seconds(path: str) -> float:
    """Seconds (the best of 3) of the store's own digest (``sha256_file``, what the first-open check computes) over
    every shard file of the store at ``path``, the files in the page cache."""
    shards = [f for f in sorted(Path(path, "shards").rglob("*")) if f.is_file()]
    times = []
    for _ in range(4):  # the first pass brings the files into the page cache
        t0 = time.perf_counter()
        for shard in shards:
            sha256_file(shard)
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default="../shared/data/dfdc/val", help="folder of real/ and fake/ crops")
    parser.add_argument("--store", default=None, help="the store baked for --images")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--size", type=int, default=128, help="training size")
    parser.add_argument("--batch", type=int, default=32, help="batch size")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--blocks", type=int, default=4, help="alternating blocks per mode")
    parser.add_argument("--steps", type=int, default=5, help="training steps per block")
    parser.add_argument("--out", default="benchmarks/out/bench_train_step.json", help="JSON written")
    synthetic_help = "time on N drawn faces and demo maps made in a temporary folder (no data needed)"
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help=synthetic_help)
    args = parser.parse_args()
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            args.images, args.store = synthetic_folder(Path(tmp), args.synthetic)
            return measure(args)
    if not Path(args.images).is_dir() or not args.store or not Path(args.store, "store.json").is_file():
        print(f"skipped: needs --images (a folder; got {args.images}) and --store (a store baked for it), "
              "or --synthetic N")  # fmt: skip
        return 0
    return measure(args)


def measure(args: argparse.Namespace) -> int:
    """Time the step and the first read for ``args.images`` and ``args.store``; print and write the JSON."""
    first_read_seconds(args.store, verify=False)  # the files in the page cache: what follows times the check
    first_read = {f"verify={v}": min(first_read_seconds(args.store, v) for _ in range(3)) for v in (False, True)}
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=1).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    store = PrimaryMapStore(args.store)
    streams = {mode: endless(loader(args.images, s, args.size, args.batch, args.workers))
               for mode, s in (("without", None), ("with", store))}  # fmt: skip

    def step(mode: str) -> float:
        batch = next(streams[mode])
        images, labels = batch[0].to(device), batch[1].float().to(device)
        loss = nnf.binary_cross_entropy_with_logits(model(images)[:, 0], labels, reduction="none")
        loss = prle_weighted_loss(loss, batch[2].to(device)) if mode == "with" else loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(batch[2].float().mean()) if mode == "with" else 0.0

    for mode in streams:  # warm-up: workers started, first batches decoded
        step(mode)
    per_step: dict[str, list[float]] = {mode: [] for mode in streams}
    erased = []
    for _ in range(args.blocks):
        for mode in streams:
            t0 = time.perf_counter()
            shares = [step(mode) for _ in range(args.steps)]
            if device.type == "cuda":
                torch.cuda.synchronize(device)  # the block's kernels finished before its clock stops
            per_step[mode].append((time.perf_counter() - t0) / args.steps)
            erased += shares if mode == "with" else []
    ms = {mode: 1e3 * statistics.median(v) for mode, v in per_step.items()}
    epoch_s = len(store) / args.batch * ms["with"] / 1e3  # one PRLE epoch over the store's images, at this step
    # The difference of two first reads is near a shared machine's noise for a small store: the sha256 of the
    # shards' bytes (what the check computes) is timed alone too, and is the figure the share is given from.
    digest_s = sha256_seconds(args.store)
    result = {
        "images": f"synthetic ({args.synthetic} drawn faces)" if args.synthetic else args.images,
        "store": "synthetic" if args.synthetic else args.store, "model": "mobilenet_v2", "size": args.size,
        "batch": args.batch, "workers": args.workers, "device": str(device), "step_ms": ms,
        "prle_share_of_step": (ms["with"] - ms["without"]) / ms["with"], "erased_share": statistics.mean(erased),
        "block_ms": {mode: [1e3 * t for t in v] for mode, v in per_step.items()}, "first_read_s": first_read,
        "maps": len(store), "sha256_s": digest_s, "digest_share_of_epoch": digest_s / epoch_s,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"step without PRLE {ms['without']:.0f} ms, with PRLE {ms['with']:.0f} ms: PRLE's share of the step "
          f"{100 * result['prle_share_of_step']:.1f}% "
          f"({100 * result['erased_share']:.0f}% of samples erased)")  # fmt: skip
    print(f"first read of all {len(store)} maps: {1e3 * first_read['verify=False']:.0f} ms without the sha256 "
          f"check, {1e3 * first_read['verify=True']:.0f} ms with it; the sha256 of its shards alone takes "
          f"{1e3 * digest_s:.1f} ms, {100 * result['digest_share_of_epoch']:.3f}% of one epoch over them")  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

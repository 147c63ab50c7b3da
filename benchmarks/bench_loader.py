"""The figure users feel: a per-sample loader pipeline on one thread, with and without PRLE.

Each sample: JPEG decode (``torchvision.io.decode_jpeg`` of a 224x224 DFDC crop, or of a synthetic face when the
shared data is absent), ``v2.Resize(256)``, ``v2.RandomHorizontalFlip``, then one of
  plain     nothing
  erasing   ``v2.RandomErasing(p=1)``
  prle      ``PrimaryRegionErase(p=1)`` on a store-like 64x64 uint8 map (77% positive, as bench_erase.py builds
            it), carried the way ``with_primary_maps`` does by default: the wrapper resizes the map to the
            decoded image, v2 moves it through Resize and the flip, the erase refines it at the image size
  prle_stored  the same with ``with_primary_maps(..., resize_to_image=False)``: the map stays 64x64 until v2's
            Resize takes it straight to 256 (one bilinear resize instead of two; valid when the first geometric
            transform is a resize, see the wrapper's docstring)
then ``v2.ToDtype(float32, scale=True)`` + ``v2.Normalize``. plain and erasing carry no map (a loader without
PRLE has none). The pipelines alternate in rounds (plain, erasing, prle, prle_stored, plain, ...); each round
times a few samples per pipeline, and each figure is the median over rounds. Reports ms/sample, what each erase
adds over plain, PRLE's addition as a multiple of RandomErasing's, and loader throughput with PRLE as a share of
without.

Run: python benchmarks/bench_loader.py [--out benchmarks/out/bench_loader.json] [--rounds 200] [--synthetic]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

import cv2
import torch
import torchvision
from bench_erase import store_like_map
from torchvision.io import decode_jpeg
from torchvision.transforms import v2

from primary_mask import PrimaryRegionErase, refine_mask, with_primary_maps
from primary_mask.data import IMAGENET_MEAN, IMAGENET_STD
from primary_mask.demo.synthetic_face import draw_face

# The shared data sits beside the main checkout (../shared), or two levels up from a worktree in /work/wt.
_ROOT = Path(__file__).resolve().parents[1]
_SHARED = next((p for p in (_ROOT / ".." / "shared", _ROOT / ".." / ".." / "shared") if p.is_dir()), _ROOT)
SHARED_CROPS = _SHARED / "data" / "dfdc" / "train" / "fake"


def jpeg_bytes(n: int, synthetic: bool) -> tuple[list[torch.Tensor], str]:
    """``n`` encoded JPEGs as uint8 tensors (read in place, never copied) and where they come from."""
    crops = sorted(SHARED_CROPS.glob("*.jpg"))[:n] if SHARED_CROPS.is_dir() and not synthetic else []
    if crops:
        return [torchvision.io.read_file(str(p)) for p in crops], f"{len(crops)} DFDC train/fake crops (224x224)"
    face = cv2.cvtColor(draw_face(224, 0), cv2.COLOR_RGB2BGR)
    ok, enc = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    why = "--synthetic" if synthetic else "DFDC crops not found"
    return [torch.from_numpy(enc.reshape(-1))], f"synthetic 224x224 face, JPEG q95 ({why})"


class DecodedJpegs(torch.utils.data.Dataset):
    """``(decoded image, label)`` per encoded JPEG, decoded at each access like a real loader."""

    def __init__(self, encoded: list[torch.Tensor]) -> None:
        self.encoded = encoded
        self.keys = [f"img{i}" for i in range(len(encoded))]

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return decode_jpeg(self.encoded[i]), 1


class Transformed(torch.utils.data.Dataset):
    """A dataset whose image goes through ``transform`` (the loader without PRLE)."""

    def __init__(self, dataset: DecodedJpegs, transform: v2.Transform) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[i]
        return self.transform(image), label


def pipeline(erase: v2.Transform | None) -> v2.Compose:
    steps = [v2.Resize(256), v2.RandomHorizontalFlip()]
    steps += [erase] if erase is not None else []
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def loaders(encoded: list[torch.Tensor], alpha_range: tuple[float, float]) -> dict[str, torch.utils.data.Dataset]:
    decoded = DecodedJpegs(encoded)
    store_map = torch.from_numpy(store_like_map(64, 0))
    maps = dict.fromkeys(decoded.keys, store_map)

    def prle() -> PrimaryRegionErase:
        return PrimaryRegionErase(p=1.0, alpha_range=alpha_range, generator=torch.Generator().manual_seed(0))

    return {
        "plain": Transformed(decoded, pipeline(None)),
        "erasing": Transformed(decoded, pipeline(v2.RandomErasing(p=1.0))),
        "prle": with_primary_maps(decoded, maps, transform=pipeline(prle())),
        "prle_stored": with_primary_maps(decoded, maps, transform=pipeline(prle()), resize_to_image=False),
    }


def stored_route_agreement(encoded: list[torch.Tensor], alpha: float = 0.5) -> float:
    """IoU of the masks that the prle and prle_stored pipelines erase at the same alpha (flip left out): each
    route's own map after ``Resize(256)``, from the same store-like map and the first image. Not 1: one bilinear
    resize (64 -> 256) is not two (64 -> 224 -> 256), so pixels near the threshold can change sides."""
    decoded = DecodedJpegs(encoded[:1])
    maps = {decoded.keys[0]: torch.from_numpy(store_like_map(64, 0))}
    routes = [
        with_primary_maps(decoded, maps, transform=v2.Resize(256), return_map=True, resize_to_image=resize)[0][2]
        for resize in (True, False)
    ]
    a, b = (refine_mask(m[0], alpha) for m in routes)
    return float((a & b).sum() / (a | b).sum())


def time_rounds(datasets: dict[str, torch.utils.data.Dataset], rounds: int, per_round: int) -> dict[str, float]:
    """Median over rounds of the seconds per sample of each dataset, the datasets alternating within a round."""
    n = len(next(iter(datasets.values())))
    for ds in datasets.values():  # warm-up
        for i in range(min(n, 3)):
            ds[i]
    samples: dict[str, list[float]] = {name: [] for name in datasets}
    index = 0
    for _ in range(rounds):
        for name, ds in datasets.items():
            t0 = time.perf_counter()
            for j in range(per_round):
                ds[(index + j) % n]
            samples[name].append((time.perf_counter() - t0) / per_round)
        index += per_round
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/out/bench_loader.json")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--per-round", type=int, default=4, help="samples per pipeline per round")
    parser.add_argument("--images", type=int, default=16, help="DFDC crops to cycle through")
    parser.add_argument("--synthetic", action="store_true", help="use a synthetic face even when DFDC is present")
    args = parser.parse_args()

    # torchvision 0.29 deprecates its decoders with a warning per call; the decode itself is what a loader pays.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchvision.io")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    encoded, source = jpeg_bytes(args.images, args.synthetic)
    alpha_range = (0.0, 1.0)
    t = time_rounds(loaders(encoded, alpha_range), args.rounds, args.per_round)
    ms = {name: v * 1e3 for name, v in t.items()}
    adds = {name: ms[name] - ms["plain"] for name in ("erasing", "prle", "prle_stored")}

    def over_erasing(name: str) -> float:
        return adds[name] / adds["erasing"] if adds["erasing"] > 0 else float("nan")

    results = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "threads": 1,
        },
        "images": source,
        "map": "smooth random 64x64 map, uint8 as the store keeps it, 77% of pixels positive",
        "alpha_range": list(alpha_range),
        "rounds": args.rounds,
        "per_round": args.per_round,
        "ms_per_sample": ms,
        "adds_ms": adds,
        "prle_add_over_erasing_add": over_erasing("prle"),
        "throughput_share_prle": ms["plain"] / ms["prle"],
        "throughput_share_erasing": ms["plain"] / ms["erasing"],
        "prle_stored_add_over_erasing_add": over_erasing("prle_stored"),
        "throughput_share_prle_stored": ms["plain"] / ms["prle_stored"],
        "prle_stored_mask_iou_at_alpha_0.5": stored_route_agreement(encoded, 0.5),
    }
    results["targets"] = {"prle_add<=3x_erasing_add": bool(results["prle_add_over_erasing_add"] <= 3)}

    print(f"images: {source}; map: {results['map']}; alpha ~ U{alpha_range}; 1 thread")
    print(f"{'pipeline':42s} {'ms/sample':>10s} {'adds ms':>8s} {'throughput':>10s}")
    names = {
        "plain": "decode, Resize(256), flip, ToDtype, Normalize",
        "erasing": "  + v2.RandomErasing(p=1)",
        "prle": "  + PrimaryRegionErase(p=1) (map carried)",
        "prle_stored": "  + the same, resize_to_image=False",
    }
    for name, label in names.items():
        add = f"{adds[name]:8.3f}" if name in adds else f"{'':8s}"
        print(f"{label:42s} {ms[name]:10.3f} {add} {ms['plain'] / ms[name]:10.0%}")
    print(
        f"PRLE adds {results['prle_add_over_erasing_add']:.2f}x what RandomErasing adds; "
        f"loader throughput with PRLE: {results['throughput_share_prle']:.0%} of without "
        f"({results['prle_stored_add_over_erasing_add']:.2f}x and {results['throughput_share_prle_stored']:.0%} with "
        "resize_to_image=False, whose masks overlap the default's with IoU "
        f"{results['prle_stored_mask_iou_at_alpha_0.5']:.3f} at alpha 0.5)"
    )
    print("targets:", json.dumps(results["targets"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

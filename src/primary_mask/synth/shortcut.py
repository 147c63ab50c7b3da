"""A benchmark where the answer is known: fakes carrying a general forgery trace and a local shortcut.

The general trace is SBI's self-blend over the face hull (:class:`~primary_mask.synth.SelfBlend`), its change to
every pixel scaled by ``general_strength``; the shortcut is a faint local artifact in one facial part's box
(:func:`add_shortcut`). A detector trained on fakes with both traces that scores well on ``test-both`` but poorly
on ``test-general`` took the shortcut; an erase rule that closes that gap made it learn the general trace (issue #23).

:func:`write_shortcut_set` writes the set once, seeded, as plain ``real/`` + ``fake/`` folders (PNG, lossless: a
JPEG would wash the shortcut out), with every fake's shortcut and blend masks in the mask-folder format of
``primary-mask masks`` (``primary-mask score`` rates maps against them; ``primary-mask masks-store`` turns them
into the Oracle row's store), the 68 landmarks of every image (the Landmark row) and ``pairs.csv`` (each fake's real,
the same face).
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "FAKE_KINDS",
    "SHORTCUT_KINDS",
    "SHORTCUT_PARTS",
    "SPLITS",
    "ShortcutSetReport",
    "add_shortcut",
    "write_shortcut_set",
]

SHORTCUT_KINDS = ("checker", "upsample", "hue")
SHORTCUT_PARTS = ("nose", "mouth", "eyes", "left_eye", "right_eye", "brows")
FAKE_KINDS = ("both", "general", "shortcut")  # which traces a fake carries
# split folder -> (faces it draws from, the traces of its fakes). train and val carry both traces; the -general and
# -shortcut twins hold the same faces with one trace each (the calibration runs); the three tests share their faces.
SPLITS = {
    "train": ("train", "both"),
    "val": ("val", "both"),
    "train-general": ("train", "general"),
    "val-general": ("val", "general"),
    "train-shortcut": ("train", "shortcut"),
    "val-shortcut": ("val", "shortcut"),
    "test-both": ("test", "both"),
    "test-general": ("test", "general"),
    "test-shortcut": ("test", "shortcut"),
}
MANIFEST = "manifest.json"
FORMAT = "primary-mask shortcut set"


def add_shortcut(image: np.ndarray, box: tuple[int, int, int, int], kind: str, strength: float) -> np.ndarray:
    """The image with a local artifact inside ``box`` = (top, left, height, width); float32 (H, W, 3) in [0, 255]
    in and out (clipped), the pixels outside the box unchanged. No randomness: the same face gets the same trace.

    - ``checker``: a +-``strength`` checkerboard of period 2 px (``strength`` in [0, 1] of the value range, e.g.
      0.03 = +-7.65 grey levels), aligned to the image grid;
    - ``upsample``: the region down-sampled by 2 (area) and up-sampled again (nearest: FIA-USA's up-sampling
      trace), mixed in with weight ``strength`` in [0, 1];
    - ``hue``: the region's hue turned by ``strength`` x 180 degrees.
    """
    import cv2

    if kind not in SHORTCUT_KINDS:
        raise ValueError(f"shortcut kind must be one of {SHORTCUT_KINDS}, got {kind!r}")
    if not 0 <= strength <= 1:
        raise ValueError(f"shortcut strength must be in [0, 1], got {strength}")
    top, left, h, w = box
    out = np.array(image, dtype=np.float32, copy=True)
    region = out[top : top + h, left : left + w]
    if kind == "checker":
        ys, xs = np.mgrid[top : top + h, left : left + w]
        region += (np.where((ys + xs) % 2 == 0, 1.0, -1.0) * strength * 255.0)[..., None].astype(np.float32)
    elif kind == "upsample":
        small = cv2.resize(region, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        up = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        region += strength * (up - region)
    else:
        hsv = cv2.cvtColor(np.clip(np.round(region), 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(strength * 90))) % 180).astype(np.uint8)
        region[...] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
    np.clip(out, 0, 255, out=out)
    return out


@dataclass
class ShortcutSetReport:
    """What :func:`write_shortcut_set` did: ``written`` files (0 when the set was complete already), the faces per
    split group (train / val / test), the faces skipped (landmarks refused), the manifest's path."""

    written: int = 0
    faces: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    manifest: Path | None = None

    def summary(self) -> str:
        per = ", ".join(f"{n} {group}" for group, n in self.faces.items())
        text = f"{sum(self.faces.values())} faces ({per}) in {len(SPLITS)} splits; {self.written} files written"
        if self.skipped:
            text += f"; {len(self.skipped)} faces skipped (landmarks refused)"
        return text


def _npy(points: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, points.astype(np.float32))
    return buf.getvalue()


def _face(rgb: np.ndarray, points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The face resized to size x size (area) and its landmarks scaled with it."""
    import cv2

    h, w = rgb.shape[:2]
    if (h, w) == (size, size):
        return rgb, points.astype(np.float64)
    small = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return small, points.astype(np.float64) * np.array([size / w, size / h])


def write_shortcut_set(
    images: str | Path,
    landmarks: str | Path,
    out: str | Path,
    *,
    n_train: int = 2000,
    n_val: int = 400,
    n_test: int = 600,
    size: int = 128,
    seed: int = 0,
    general_strength: float = 1.0,
    shortcut: str = "checker",
    shortcut_strength: float = 0.03,
    part: str = "nose",
    grow: float = 1.2,
    progress: bool = True,
) -> ShortcutSetReport:
    """Write the shortcut benchmark under ``out``, once.

    Faces: the images of ``images`` with landmarks in ``landmarks`` (``<key>.npy``, as ``primary-mask landmarks``
    writes them), shuffled with ``default_rng(seed)`` and taken in that order, ``n_train`` for train, ``n_val`` for
    val, ``n_test`` for the tests: disjoint by image. Each face is resized to ``size`` x ``size`` (area) and makes
    one real (the face) and, per split of :data:`SPLITS` that holds it, one fake: the self-blend (``real +
    general_strength * (SelfBlend(real) - real)``, its draws from ``default_rng([seed, crc32(key)])``, the same for
    every split of the face), the shortcut (:func:`add_shortcut` of kind ``shortcut`` at ``shortcut_strength`` in
    the box of ``part`` grown by ``grow``), or both. A face whose landmarks the blend refuses is skipped and listed; the
    next face of the order takes its place.

    Writes ``OUT/<split>/{real,fake}/<key>.png``, ``OUT/masks/{shortcut,blend}/`` (per fake carrying that trace
    ``<split>/fake/<key>.png``, 255 inside, and ``masks.csv`` / ``masks.json`` as ``primary-mask masks`` writes
    them; the blend mask: where SBI's blending mask exceeds one half, i.e. where the blended-in source lies),
    ``OUT/landmarks/<split>/{real,fake}/<key>.npy``, ``OUT/pairs.csv`` (``split,real,fake``, keys relative to
    ``OUT``) and ``OUT/manifest.json`` (every setting and per face its key, group and shortcut box) last; every file
    whole or not at all (PNG: the same settings give byte-identical files). A rerun with the same settings writes
    nothing when the set is complete and completes an interrupted one; other settings raise ``ValueError`` naming
    the first difference. ``ValueError`` too for settings out of range or too few faces with landmarks.
    """
    from tqdm import tqdm

    from primary_mask._files import encode_png, read_manifest, write_atomic
    from primary_mask.data.image_list import list_folder
    from primary_mask.data.io import read_rgb
    from primary_mask.data.landmarks import LandmarkFolder
    from primary_mask.face_geometry import check_landmarks, part_box
    from primary_mask.quality.manipulation import write_mask_tables
    from primary_mask.synth.blend import SelfBlend

    counts = {"train": int(n_train), "val": int(n_val), "test": int(n_test)}
    bad = [f"n_{group} {n}" for group, n in counts.items() if n < 1]
    if bad:
        raise ValueError(f"every split needs at least one face, got {', '.join(bad)}")
    if size < 32:
        raise ValueError(f"size must be at least 32 px (the blend needs it), got {size}")
    if not 0 < general_strength <= 1:
        raise ValueError(
            f"general_strength (the share of the self-blend's change) must be in (0, 1], got {general_strength}"
        )
    if shortcut not in SHORTCUT_KINDS:
        raise ValueError(f"shortcut must be one of {SHORTCUT_KINDS}, got {shortcut!r}")
    if not 0 < shortcut_strength <= 1:
        raise ValueError(f"shortcut_strength must be in (0, 1], got {shortcut_strength}")
    if part not in SHORTCUT_PARTS:
        raise ValueError(f"part must be one of {SHORTCUT_PARTS}, got {part!r}")
    if not grow > 0:
        raise ValueError(f"grow must be > 0, got {grow}")
    images, out = Path(images), Path(out)
    settings = {
        "format": FORMAT,
        "version": 1,
        "images": str(images.resolve()),
        "landmarks": str(Path(landmarks).resolve()),
        "faces": counts,
        "size": int(size),
        "seed": int(seed),
        "general": {"trace": "sbi", "strength": float(general_strength)},
        "shortcut": {"kind": shortcut, "strength": float(shortcut_strength), "part": part, "grow": float(grow)},
    }
    manifest_path = out / MANIFEST
    report = ShortcutSetReport(manifest=manifest_path)
    old = read_manifest(manifest_path, settings, "a shortcut set")
    if old is not None:
        if all((out / name).is_file() for name in old.get("files", [])):
            report.faces = {g: sum(f["group"] == g for f in old["faces"]) for g in counts}
            report.skipped = old.get("skipped", [])
            return report
    folder = LandmarkFolder(landmarks)
    keys = sorted(it.key for it in list_folder(images) if it.key in folder)
    need = sum(counts.values())
    if len(keys) < need:
        raise ValueError(
            f"only {len(keys)} images of {images} have landmarks in {landmarks}; the set needs {need} "
            f"(n_train + n_val + n_test): ask for fewer"
        )
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    blend = SelfBlend()
    groups = [g for g in counts for _ in range(counts[g])]
    faces, files, pair_rows = [], [], []
    mask_rows: dict[str, list] = {"shortcut": [], "blend": []}
    coverage: dict[str, list[float]] = {"shortcut": [], "blend": []}
    bar = tqdm(total=need, desc="shortcut set", unit="face", disable=not progress)

    def put(name: str, data: bytes) -> None:
        path = out / name
        files.append(name)
        if path.is_file() and path.read_bytes() == data:
            return  # an interrupted run wrote it already
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        report.written += 1

    source = iter(order)
    for group in groups:
        while True:
            key = next(source, None)
            if key is None:
                raise ValueError(f"too many faces of {images} were refused to fill the set; ask for fewer")
            raw = read_rgb(images / key)
            rgb, pts = _face(raw, np.asarray(folder[key]), size)
            try:
                pts = check_landmarks(pts, rgb.shape[:2], f"the landmarks of {key}")
                general = blend(rgb, pts, np.random.default_rng([seed, zlib.crc32(key.encode())]))
                box = part_box(pts, rgb.shape[:2], part, grow)
            except ValueError:
                report.skipped.append(key)
                continue
            break
        top, left, h, w = box
        shortcut_mask = np.zeros(rgb.shape[:2], bool)
        shortcut_mask[top : top + h, left : left + w] = True
        blend_mask = general.mask.numpy() > 0.5
        real = rgb.astype(np.float32)
        sbi = general.image.permute(1, 2, 0).numpy().astype(np.float32)
        blended = real + np.float32(general_strength) * (sbi - real)  # every pixel's change scaled by the strength
        traced = {
            "general": blended,
            "shortcut": add_shortcut(real, box, shortcut, shortcut_strength),
            "both": add_shortcut(blended, box, shortcut, shortcut_strength),
        }
        for split, (split_group, kind) in SPLITS.items():
            if split_group != group:
                continue
            real_key, fake_key = f"{split}/real/{key}.png", f"{split}/fake/{key}.png"
            fake = np.clip(np.round(traced[kind]), 0, 255).astype(np.uint8)
            put(real_key, encode_png(rgb))
            put(fake_key, encode_png(fake))
            for image_key in (real_key, fake_key):
                put(f"landmarks/{image_key}.npy", _npy(pts))
            pair_rows.append([split, real_key, fake_key])
            for trace, mask in (("shortcut", shortcut_mask), ("blend", blend_mask)):
                if trace == "shortcut" and kind == "general" or trace == "blend" and kind == "shortcut":
                    continue
                put(f"masks/{trace}/{fake_key}.png", encode_png(mask.astype(np.uint8) * 255))
                share = float(mask.mean())
                coverage[trace].append(share)
                mask_rows[trace].append([fake_key, real_key, "aligned", "", "", 0, 0, f"{share:.5f}"])
        faces.append({"key": key, "group": group, "shortcut_box": [int(v) for v in box]})
        bar.update()
    bar.close()
    for trace, rows in mask_rows.items():
        info = {"rule": {"kind": f"shortcut set {trace} masks"}, "settings": settings, "counts": {"aligned": len(rows)}}
        for path in write_mask_tables(out / "masks" / trace, rows, info):
            files.append(path.relative_to(out).as_posix())
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["split", "real", "fake"], *pair_rows])
    put("pairs.csv", text.getvalue().encode())
    report.faces = {g: groups.count(g) for g in counts}
    manifest = {"settings": settings, "faces": faces, "skipped": report.skipped, "files": sorted(files)}
    write_atomic(manifest_path, json.dumps(manifest, indent=1).encode())
    return report

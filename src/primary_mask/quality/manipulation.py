"""Where is the forgery: manipulation masks from a fake image and the real frame it was made from.

A face-swap or reenactment fake and its source video share the background, so when the two crops come from
the same frame and the same box, ``|fake - real|`` is compression noise everywhere but on the manipulated
region. Two rules, measured on 400 DFDC train pairs (``docs/results.md``, "Do the maps point at the forgery?"):

- **aligned**: the median absolute grey difference on the ``border``-px frame is below ``align_max`` grey levels
  (the background agrees), and no shift of the real crop by up to ``max_shift`` px in x and y lowers the mean
  difference on that frame by more than ``shift_margin`` (a share of it): a copy off by a pixel or two matches
  far better shifted. On DFDC the margin never fires on pairs that pass the median test (30 of 310 fit
  1-10% better shifted, which is compression noise and face pixels on the border, not a shift).
- **mask**: the absolute grey difference, Gaussian-blurred with ``sigma`` px, above ``threshold`` grey levels.

Grey is OpenCV's ITU-R 601 luma of the RGB image. Pairs of different sizes are misaligned (never resized).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from primary_mask._files import write_atomic
from primary_mask.data.pairs import Pair, read_pairs

__all__ = [
    "MaskFolder",
    "MaskReport",
    "Pair",
    "PairResult",
    "RULE",
    "manipulation_mask",
    "read_pairs",
    "write_mask_tables",
    "write_masks",
]

# The documented defaults (docs/results.md measures them on DFDC).
RULE = {"border": 12, "align_max": 6.0, "max_shift": 2, "shift_margin": 0.2, "sigma": 2.0, "threshold": 15.0}

STATUSES = ("aligned", "misaligned", "missing")
MASK_COLUMNS = ("fake", "real", "status", "reason", "border_diff", "shift_x", "shift_y", "coverage")


@dataclass(frozen=True)
class PairResult:
    """Outcome of :func:`manipulation_mask` for one pair.

    ``border_diff``: median |fake - real| grey level on the border frame (NaN when the sizes differ);
    ``shift``: (dx, dy), the offset of the real crop that fits the fake's border better than no shift by more than
    the margin, else (0, 0); ``reason``: ``""`` when
    aligned, else ``"size"``, ``"border"`` or ``"shift"``; ``mask``: (H, W) bool when aligned, else None.
    """

    aligned: bool
    border_diff: float
    shift: tuple[int, int]
    reason: str
    mask: np.ndarray | None


def _grey(image: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 image, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    elif arr.ndim != 2:
        raise ValueError(f"{name} must be (H, W) or (H, W, 3) uint8, got shape {arr.shape}")
    return arr.astype(np.float32)


def manipulation_mask(
    fake: np.ndarray,
    real: np.ndarray,
    *,
    border: int = RULE["border"],
    align_max: float = RULE["align_max"],
    max_shift: int = RULE["max_shift"],
    shift_margin: float = RULE["shift_margin"],
    sigma: float = RULE["sigma"],
    threshold: float = RULE["threshold"],
) -> PairResult:
    """Decide whether ``fake`` and ``real`` are pixel-aligned and, if so, mark the manipulated pixels.

    Args:
        fake, real: uint8 RGB (H, W, 3) or grey (H, W) images of the same frame.
        border: width in px of the frame on which the background is compared (> max_shift).
        align_max: the median border difference must be below this (grey levels, 0..255).
        max_shift: shifts of the real crop tried in x and y, each in [-max_shift, max_shift]; 0 disables.
        shift_margin: misaligned when the best shift lowers the mean border difference by more than this share.
        sigma: standard deviation in px of the Gaussian blur of the difference (0: no blur).
        threshold: a pixel is manipulated when the blurred difference exceeds this (grey levels).

    Returns a :class:`PairResult`. Raises ``TypeError``/``ValueError`` on non-uint8 input, bad shapes or
    parameters, or images too small for the border and shifts.
    """
    if not (0 <= max_shift < border):
        raise ValueError(f"need 0 <= max_shift < border, got max_shift={max_shift}, border={border}")
    f, r = _grey(fake, "fake"), _grey(real, "real")
    if f.shape != r.shape:
        return PairResult(False, float("nan"), (0, 0), "size", None)
    h, w = f.shape
    if min(h, w) <= 2 * border:
        raise ValueError(f"images of {h}x{w} px are too small for a {border}-px border")
    ring = np.ones((h, w), bool)
    ring[border:-border, border:-border] = False
    diff = np.abs(f - r)
    border_diff = float(np.median(diff[ring]))
    shift = (0, 0)
    if max_shift:
        m = max_shift
        inner = ring[m : h - m, m : w - m]
        windows = np.lib.stride_tricks.sliding_window_view(r, (h - 2 * m, w - 2 * m))  # (2m+1, 2m+1, h-2m, w-2m)
        costs = np.abs(windows[..., inner] - f[m : h - m, m : w - m][inner]).mean(axis=-1)  # (dy, dx) of the real
        dy, dx = np.unravel_index(int(np.argmin(costs)), costs.shape)
        if costs[dy, dx] < (1 - shift_margin) * costs[m, m]:
            shift = (int(dx) - m, int(dy) - m)
    if border_diff >= align_max:
        return PairResult(False, border_diff, shift, "border", None)
    if shift != (0, 0):
        return PairResult(False, border_diff, shift, "shift", None)
    if sigma > 0:
        diff = cv2.GaussianBlur(diff, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return PairResult(True, border_diff, shift, "", diff > threshold)


@dataclass
class MaskReport:
    """What :func:`write_masks` did: counts per status, the mask share (positive pixels / all) of each written
    mask, and the paths of the per-pair table and the rule file it wrote."""

    aligned: int = 0
    misaligned: int = 0
    missing: int = 0
    coverage: list[float] = field(default_factory=list)
    table: Path | None = None
    rule: Path | None = None

    def summary(self) -> str:
        total = self.aligned + self.misaligned + self.missing
        text = (
            f"{total} pairs: {self.aligned} aligned (mask written), {self.misaligned} misaligned (excluded), "
            f"{self.missing} missing or unreadable"
        )
        if self.coverage:
            q = np.percentile(np.asarray(self.coverage) * 100, [10, 50, 90])
            text += f"; mask share of the crop: median {q[1]:.1f}% (10th-90th percentile {q[0]:.1f}-{q[2]:.1f}%)"
        return text


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def mask_path(out: str | Path, key: str) -> Path:
    """Where :func:`write_masks` puts the mask of the fake with key ``key``: ``OUT/<key>.png``."""
    return Path(out) / f"{key}.png"


def write_masks(
    pairs: Iterable[Pair],
    images: str | Path,
    out: str | Path,
    progress: bool = True,
    **rule: float,
) -> MaskReport:
    """Write the manipulation mask of every aligned pair as ``OUT/<fake key>.png`` (grey, 255 = manipulated).

    The key is the fake's path relative to ``images``, as ``primary-mask bake`` keys it. Misaligned pairs
    and pairs with a missing or undecodable image get no mask (a mask left by an earlier run for them is
    removed), and are counted. ``OUT/masks.csv`` lists every pair (fake, real, status, reason, border_diff,
    shift_x, shift_y, coverage); ``OUT/masks.json`` the rule's parameters and the counts. Every file is written
    under a temporary name and renamed, so an interrupted run leaves no half-written mask, and the two tables
    are removed first and written last, so they exist only after a complete run; rerunning redoes
    everything. ``rule`` overrides the parameters of :func:`manipulation_mask` (defaults: ``RULE``).
    """
    from tqdm import tqdm

    from primary_mask.data.io import read_rgb

    unknown = set(rule) - set(RULE)
    if unknown:
        raise TypeError(f"unknown rule parameters {sorted(unknown)}; known: {sorted(RULE)}")
    params = {**RULE, **rule}
    images, out = Path(images), Path(out)
    if not images.is_dir():
        raise FileNotFoundError(f"the image root {images} does not exist (the folder the pairs' paths are relative to)")
    pairs = list(pairs)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("masks.csv", "masks.json"):  # an interrupted run must not leave the last run's table behind
        (out / stale).unlink(missing_ok=True)
    report = MaskReport()
    rows = []
    for pair in tqdm(pairs, desc="masks", unit="pair", disable=not progress):
        target = mask_path(out, pair.fake)
        try:
            fake, real = read_rgb(images / pair.fake), read_rgb(images / pair.real)
        except ValueError as err:
            report.missing += 1
            target.unlink(missing_ok=True)
            rows.append([pair.fake, pair.real, "missing", str(err), "", "", "", ""])
            continue
        result = manipulation_mask(fake, real, **params)
        if not result.aligned:
            report.misaligned += 1
            target.unlink(missing_ok=True)
            diff = f"{result.border_diff:.2f}"
            rows.append([pair.fake, pair.real, "misaligned", result.reason, diff, *result.shift, ""])
            continue
        ok, png = cv2.imencode(".png", result.mask.astype(np.uint8) * 255)
        if not ok:
            raise OSError(f"could not encode the mask of {pair.fake} as PNG")
        _atomic_write(target, png.tobytes())
        share = float(result.mask.mean())
        report.aligned += 1
        report.coverage.append(share)
        rows.append([pair.fake, pair.real, "aligned", "", f"{result.border_diff:.2f}", 0, 0, f"{share:.5f}"])
    if pairs and report.missing == len(pairs):
        raise ValueError(
            f"none of the {len(pairs)} pairs' images is under {images} (e.g. {images / pairs[0].fake}): is --images "
            "the folder the pairs' paths are relative to?"
        )
    counts = {"aligned": report.aligned, "misaligned": report.misaligned, "missing": report.missing}
    report.table, report.rule = write_mask_tables(out, rows, {"rule": params, "images": str(images), "counts": counts})
    return report


def write_mask_tables(out: str | Path, rows: Iterable[Sequence[object]], info: dict) -> tuple[Path, Path]:
    """Write a mask folder's two tables: ``OUT/masks.csv`` (one row a pair, the columns of ``MASK_COLUMNS``; what
    ``MaskFolder`` users and ``primary-mask masks-store`` read) and ``OUT/masks.json`` (``info``: the rule or the
    settings that made the masks, and the counts). Each atomically; returns their paths."""
    out = Path(out)
    text = "\n".join(",".join(_csv_field(v) for v in row) for row in [MASK_COLUMNS, *rows]) + "\n"
    _atomic_write(out / "masks.csv", text.encode())
    _atomic_write(out / "masks.json", json.dumps(info, indent=1).encode())
    return out / "masks.csv", out / "masks.json"


def _csv_field(value: object) -> str:
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


class MaskFolder(Mapping):
    """Read-only mapping ``key -> (H, W) bool mask`` over the PNGs :func:`write_masks` wrote (``DIR/<key>.png``).

    Iterating yields the keys (paths relative to ``DIR`` without ``.png``). A missing key raises ``KeyError``
    naming the file; a missing folder ``FileNotFoundError``.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"mask folder {self.folder} does not exist (primary-mask masks writes one)")
        self._keys: Sequence[str] | None = None

    def _all(self) -> Sequence[str]:
        if self._keys is None:
            self._keys = sorted(p.relative_to(self.folder).as_posix()[:-4] for p in self.folder.rglob("*.png"))
        return self._keys

    def __getitem__(self, key: str) -> np.ndarray:
        path = mask_path(self.folder, key)
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise KeyError(f"no manipulation mask for {key!r}: {path} is missing or unreadable")
        return mask > 127

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and mask_path(self.folder, key).is_file()

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

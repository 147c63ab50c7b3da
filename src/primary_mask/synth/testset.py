"""A fixed pseudo-fake test set: real faces and their pseudo-fakes written once, seeded, as a plain folder.

A cross-forgery test for detectors trained on other fakes: ``OUT/real/<key>.png`` (the face as read) and
``OUT/fake/<key>.png`` (its pseudo-fake), so any folder reader (``evaluate.py --test NAME=OUT``) reads it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["SYNTHS", "PseudoFakeSetReport", "write_pseudo_fake_set"]

SYNTHS = ("sbi", "region")  # SelfBlend, RegionBlend with their default parameters
MANIFEST = "manifest.json"
FORMAT = "primary-mask pseudo-fake test set"


def _synth(name: str):
    from primary_mask.synth.blend import RegionBlend, SelfBlend

    return {"sbi": SelfBlend, "region": RegionBlend}[name]()


@dataclass
class PseudoFakeSetReport:
    """What :func:`write_pseudo_fake_set` did: ``written`` image files (0 when the set was complete already),
    the faces per synthesizer, the faces skipped because the synthesizer refused their landmarks, the manifest."""

    written: int = 0
    per_synth: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    manifest: Path | None = None

    def summary(self) -> str:
        faces = sum(self.per_synth.values())
        per = ", ".join(f"{n} {name}" for name, n in self.per_synth.items())
        text = f"{faces} real faces and {faces} pseudo-fakes ({per}); {self.written} files written"
        if self.skipped:
            text += f"; {len(self.skipped)} faces skipped (landmarks refused by the synthesizer)"
        return text


def write_pseudo_fake_set(
    images: str | Path,
    landmarks: str | Path,
    out: str | Path,
    n: int,
    seed: int = 0,
    synths: Sequence[str] = SYNTHS,
    progress: bool = True,
) -> PseudoFakeSetReport:
    """Write ``n`` real faces of ``images`` and one pseudo-fake of each under ``out``, once.

    The faces: ``n`` of the images that have landmarks in ``landmarks`` (``<key>.npy``, as ``primary-mask
    landmarks`` writes them), drawn with ``numpy.random.default_rng(seed)``, in key order. Face ``i`` of them
    gets ``synths[i % len(synths)]`` (``"sbi"``: :class:`SelfBlend`, ``"region"``: :class:`RegionBlend`), so the
    set is balanced (``n`` real, ``n`` fake) and split evenly between the synthesizers; its draws come from
    ``default_rng([seed, crc32(key)])``. Writes ``out/real/<key>.png``, ``out/fake/<key>.png`` (PNG: lossless,
    so the same settings give byte-identical files) and ``out/manifest.json`` (the settings, and per face its
    key, files and synthesizer) last; every file is written whole or not at all.

    Rerunning with the same settings writes nothing when every file is there (and completes an interrupted
    run otherwise); settings that differ from an existing manifest raise ``ValueError`` naming the first
    difference. ``ValueError`` too when fewer than ``n`` images have landmarks, or for an unknown synthesizer.
    A face whose landmarks a synthesizer refuses (``ValueError``) is skipped, with its real image, and listed.
    """
    from tqdm import tqdm

    from primary_mask._files import encode_png, read_manifest, write_atomic
    from primary_mask.data.image_list import list_folder
    from primary_mask.data.io import read_rgb
    from primary_mask.data.landmarks import LandmarkFolder

    synths = list(synths)
    unknown = [s for s in synths if s not in SYNTHS]
    if not synths or unknown:
        raise ValueError(f"synths must be among {SYNTHS}, got {synths}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    images, out = Path(images), Path(out)
    settings = {
        "format": FORMAT,
        "version": 1,
        "images": str(images.resolve()),
        "landmarks": str(Path(landmarks).resolve()),
        "n": int(n),
        "seed": int(seed),
        "synths": synths,
    }
    manifest_path = out / MANIFEST
    report = PseudoFakeSetReport(manifest=manifest_path)
    old = read_manifest(manifest_path, settings, "a pseudo-fake set")
    if old is not None:
        faces = old["faces"]
        if all((out / f["real"]).is_file() and (out / f["fake"]).is_file() for f in faces):
            report.skipped = old.get("skipped", [])
            for f in faces:
                report.per_synth[f["synth"]] = report.per_synth.get(f["synth"], 0) + 1
            return report
    folder = LandmarkFolder(landmarks)
    keys = sorted(it.key for it in list_folder(images) if it.key in folder)
    if len(keys) < n:
        raise ValueError(f"only {len(keys)} images of {images} have landmarks in {landmarks}; ask for n <= {len(keys)}")
    chosen = sorted(keys[i] for i in np.random.default_rng(seed).permutation(len(keys))[:n])
    makers = {name: _synth(name) for name in synths}
    faces = []
    report.per_synth = {name: 0 for name in synths}
    for i, key in enumerate(tqdm(chosen, desc="pseudo-fake set", unit="face", disable=not progress)):
        name = synths[i % len(synths)]
        rgb = read_rgb(images / key)
        try:
            fake = makers[name](rgb, folder[key], np.random.default_rng([seed, zlib.crc32(key.encode())]))
        except ValueError:
            report.skipped.append(key)
            continue
        entry = {"key": key, "real": f"real/{key}.png", "fake": f"fake/{key}.png", "synth": name}
        for target, pixels in ((entry["real"], rgb), (entry["fake"], fake.image.permute(1, 2, 0).numpy())):
            (out / target).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out / target, encode_png(pixels))
            report.written += 1
        faces.append(entry)
        report.per_synth[name] += 1
    text = json.dumps({"settings": settings, "faces": faces, "skipped": report.skipped}, indent=1)
    write_atomic(manifest_path, text.encode())
    return report

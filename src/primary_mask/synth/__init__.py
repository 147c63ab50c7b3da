"""Pseudo-fakes from real faces: SBI-style self-blending and FIA-USA region blending, composable with PRLE, and the
shortcut benchmark (``shortcut.py``).

Names are imported on first use, so that the command line's ``--help`` reads the shortcut set's choices without
loading torch."""

import typing as _typing

from primary_mask._lazy import lazy_exports

if _typing.TYPE_CHECKING:
    from primary_mask.face_geometry import PARTS_68, check_landmarks, hull_mask
    from primary_mask.synth.blend import PseudoFake, RegionBlend, SelfBlend
    from primary_mask.synth.dataset import PseudoFakeDataset, extract_landmarks
    from primary_mask.synth.landmarks import DlibLandmarks
    from primary_mask.synth.masks import MASK_TYPES, blending_boundary, deform_mask, region_mask
    from primary_mask.synth.reconstruct import KERNELS, UpsamplingReconstruction, upsample
    from primary_mask.synth.shortcut import ShortcutSetReport, add_shortcut, write_shortcut_set
    from primary_mask.synth.testset import PseudoFakeSetReport, write_pseudo_fake_set

_SOURCES = {
    "PARTS_68": "primary_mask.face_geometry",
    "check_landmarks": "primary_mask.face_geometry",
    "hull_mask": "primary_mask.face_geometry",
    "PseudoFake": "primary_mask.synth.blend",
    "RegionBlend": "primary_mask.synth.blend",
    "SelfBlend": "primary_mask.synth.blend",
    "PseudoFakeDataset": "primary_mask.synth.dataset",
    "extract_landmarks": "primary_mask.synth.dataset",
    "DlibLandmarks": "primary_mask.synth.landmarks",
    "MASK_TYPES": "primary_mask.synth.masks",
    "blending_boundary": "primary_mask.synth.masks",
    "deform_mask": "primary_mask.synth.masks",
    "region_mask": "primary_mask.synth.masks",
    "KERNELS": "primary_mask.synth.reconstruct",
    "UpsamplingReconstruction": "primary_mask.synth.reconstruct",
    "upsample": "primary_mask.synth.reconstruct",
    "ShortcutSetReport": "primary_mask.synth.shortcut",
    "add_shortcut": "primary_mask.synth.shortcut",
    "write_shortcut_set": "primary_mask.synth.shortcut",
    "PseudoFakeSetReport": "primary_mask.synth.testset",
    "write_pseudo_fake_set": "primary_mask.synth.testset",
}
__all__ = [
    "DlibLandmarks",
    "KERNELS",
    "MASK_TYPES",
    "PARTS_68",
    "PseudoFake",
    "PseudoFakeDataset",
    "PseudoFakeSetReport",
    "RegionBlend",
    "SelfBlend",
    "ShortcutSetReport",
    "UpsamplingReconstruction",
    "add_shortcut",
    "blending_boundary",
    "check_landmarks",
    "deform_mask",
    "extract_landmarks",
    "hull_mask",
    "region_mask",
    "upsample",
    "write_pseudo_fake_set",
    "write_shortcut_set",
]
_SUBMODULES = ("augment", "blend", "dataset", "landmarks", "masks", "reconstruct", "shortcut", "testset")
__getattr__, __dir__ = lazy_exports(globals(), _SOURCES, _SUBMODULES)

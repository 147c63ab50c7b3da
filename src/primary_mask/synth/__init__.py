"""Pseudo-fakes from real faces: SBI-style self-blending and FIA-USA region blending, composable with PRLE."""

from primary_mask.synth.blend import PseudoFake, RegionBlend, SelfBlend
from primary_mask.synth.dataset import PseudoFakeDataset, extract_landmarks, load_landmark_folder
from primary_mask.synth.landmarks import PARTS_68, DlibLandmarks, check_landmarks
from primary_mask.synth.masks import MASK_TYPES, blending_boundary, deform_mask, hull_mask, region_mask
from primary_mask.synth.reconstruct import KERNELS, UpsamplingReconstruction, upsample
from primary_mask.synth.testset import PseudoFakeSetReport, write_pseudo_fake_set

__all__ = [
    "KERNELS",
    "MASK_TYPES",
    "PARTS_68",
    "DlibLandmarks",
    "PseudoFake",
    "PseudoFakeDataset",
    "PseudoFakeSetReport",
    "RegionBlend",
    "SelfBlend",
    "UpsamplingReconstruction",
    "blending_boundary",
    "check_landmarks",
    "deform_mask",
    "extract_landmarks",
    "hull_mask",
    "load_landmark_folder",
    "region_mask",
    "upsample",
    "write_pseudo_fake_set",
]

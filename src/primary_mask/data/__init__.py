"""Data adapters: every sample has a stable key (the map store's key), a label (real 0, fake 1) and a video id."""

from primary_mask.data.dataset import SPEC_HELP, DeepfakeImageDataset, items_from_spec
from primary_mask.data.ffpp import FFPP_METHODS, list_ffpp, read_ffpp_split
from primary_mask.data.image_list import (
    ImageItem,
    folder_video_id,
    label_from_path,
    list_folder,
    read_deepfakebench_json,
    read_list_file,
)

__all__ = [
    "FFPP_METHODS",
    "SPEC_HELP",
    "DeepfakeImageDataset",
    "ImageItem",
    "folder_video_id",
    "items_from_spec",
    "label_from_path",
    "list_ffpp",
    "list_folder",
    "read_deepfakebench_json",
    "read_ffpp_split",
    "read_list_file",
]

"""Data: adapters that list images of the common layouts (every sample has a stable key, the map store's key, a
label, real 0 / fake 1, and a video id), the image dataset over them, and the wrappers that add each sample's
primary map (``with_primary_maps``) or landmarks (``with_landmarks``) to any dataset."""

from primary_mask.data.ffpp import FFPP_METHODS, list_ffpp, read_ffpp_split
from primary_mask.data.folder import DeepfakeImageFolder, deepfake_image_folder
from primary_mask.data.image_list import (
    ImageItem,
    folder_video_id,
    label_from_path,
    list_folder,
    read_deepfakebench_json,
    read_list_file,
)
from primary_mask.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SPEC_HELP,
    BadImage,
    DeepfakeImageDataset,
    ZooInput,
    items_from_spec,
)
from primary_mask.data.landmarks import LandmarkDataset, LandmarkFolder, with_landmarks
from primary_mask.data.wrappers import PrimaryMapDataset, keys_from_image_folder, with_primary_maps

__all__ = [
    "DeepfakeImageFolder",
    "deepfake_image_folder",
    "LandmarkDataset",
    "LandmarkFolder",
    "PrimaryMapDataset",
    "keys_from_image_folder",
    "with_landmarks",
    "with_primary_maps",
    "BadImage",
    "FFPP_METHODS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ZooInput",
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

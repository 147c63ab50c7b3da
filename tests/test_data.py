import json

import cv2
import numpy as np
import pytest
import torch

from primary_mask import PrimaryRegionErase, with_primary_maps
from primary_mask.cli import main
from primary_mask.data import DeepfakeImageDataset, items_from_spec, list_ffpp, list_folder, read_ffpp_split


def png(path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((24, 24, 3), value, np.uint8))


@pytest.fixture
def ffpp(tmp_path):
    root = tmp_path / "ff"
    for v in ("000", "003", "010", "011"):
        for f in range(3):
            png(root / "original_sequences/youtube/c23/frames" / v / f"{f:03d}.png")
    for m in ("Deepfakes", "FaceSwap"):
        for v in ("000_003", "003_000", "010_011", "011_010"):
            for f in range(2):
                png(root / "manipulated_sequences" / m / "c23/frames" / v / f"{f:03d}.png", 200)
    (tmp_path / "train.json").write_text(json.dumps([["000", "003"]]))
    (tmp_path / "bad.json").write_text(json.dumps([["000", "999"]]))
    return root, tmp_path


def test_folder_layout_keys_labels_videos(tmp_path):
    png(tmp_path / "real" / "a.jpg")
    png(tmp_path / "fake" / "vid1" / "0001.png")
    png(tmp_path / "fake" / "vid1" / "0002.png")
    items = list_folder(tmp_path)
    assert [(i.key, i.label, i.video) for i in items] == [
        ("fake/vid1/0001.png", 1, "fake/vid1"),
        ("fake/vid1/0002.png", 1, "fake/vid1"),
        ("real/a.jpg", 0, "real/a"),
    ]
    ds = DeepfakeImageDataset(items)
    image, label = ds[2]
    assert image.shape == (3, 24, 24) and image.dtype == torch.uint8 and label == 0


def test_symlinked_images_keep_keys_relative_to_the_root(tmp_path):
    # A common layout: a folder of links into the real data. Keys must be the links' paths under the root,
    # the same keys an ImageFolder gives the training loop (not the targets' absolute paths).
    from torchvision.datasets import ImageFolder

    from primary_mask.data.wrappers import keys_from_image_folder

    data = tmp_path / "data"
    png(data / "a.jpg")
    png(data / "clips" / "0001.png")
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.jpg").symlink_to(data / "a.jpg")
    (root / "fake").mkdir()
    (root / "fake" / "vid1").symlink_to(data / "clips", target_is_directory=True)
    png(root / "real" / "b.jpg")
    keys = [item.key for item in list_folder(root)]
    assert keys == ["fake/vid1/0001.png", "real/a.jpg", "real/b.jpg"]
    assert sorted(keys_from_image_folder(ImageFolder(str(root)))) == keys
    # A list read through a linked root, with entries spelled every way
    linked_root = tmp_path / "linked_root"
    linked_root.symlink_to(root, target_is_directory=True)
    listed = tmp_path / "list.csv"
    rows = ["real/a.jpg,0", f"{data / 'clips' / '0001.png'},1", f"{root / 'real' / 'b.jpg'},0"]
    listed.write_text("\n".join(rows) + "\n")
    assert [item.key for item in items_from_spec(f"csv:{listed}?root={linked_root}")] == [
        "real/a.jpg",
        (data / "clips" / "0001.png").as_posix(),  # outside the root: kept as given
        "real/b.jpg",  # under the root once the link is resolved
    ]


def test_ffpp_layout_methods_split_and_video_ids(ffpp):
    root, d = ffpp
    items = list_ffpp(root, methods=["Deepfakes", "FaceSwap"], split_file=d / "train.json")
    videos = sorted({i.video for i in items})
    assert videos == [
        "Deepfakes/000_003",
        "Deepfakes/003_000",
        "FaceSwap/000_003",
        "FaceSwap/003_000",
        "youtube/000",
        "youtube/003",
    ]
    assert sum(i.label == 0 for i in items) == 6 and sum(i.label == 1 for i in items) == 8
    assert all(i.key == i.path.relative_to(root).as_posix() for i in items)
    only_df = items_from_spec(f"ffpp:{root}?methods=Deepfakes&comp=c23&max_frames=1")
    assert len(only_df) == 4 + 4 and {i.video.split("/")[0] for i in only_df} == {"youtube", "Deepfakes"}
    with pytest.raises(FileNotFoundError, match=r"3 videos named by .*bad.json are missing.*youtube/999"):
        list_ffpp(root, methods=["Deepfakes"], split_file=d / "bad.json")
    with pytest.raises(ValueError, match="unknown FF\\+\\+ methods"):
        list_ffpp(root, methods=["DeepFakes"])
    assert read_ffpp_split(d / "train.json") == ({"000", "003"}, {"000_003", "003_000"})


def test_csv_and_deepfakebench_specs(tmp_path):
    png(tmp_path / "img" / "x.png")
    png(tmp_path / "img" / "y.png")
    (tmp_path / "list.csv").write_text("path,label,video\nimg/x.png,real,v1\nimg/y.png,1,v2\n")
    items = items_from_spec(f"csv:{tmp_path / 'list.csv'}?root={tmp_path}")
    assert [(i.key, i.label, i.video) for i in items] == [("img/x.png", 0, "v1"), ("img/y.png", 1, "v2")]
    dfb = {
        "DS": {
            "DS-real": {"test": {"vr": {"label": "DS-real", "frames": ["img/x.png"]}}},
            "DS-fake": {"test": {"vf": {"label": "DS-fake", "frames": ["img/y.png"]}}},
        }
    }
    (tmp_path / "ds.json").write_text(json.dumps(dfb))
    items = items_from_spec(f"dfb:{tmp_path / 'ds.json'}?root={tmp_path}&split=test")
    assert [(i.key, i.label, i.video) for i in items] == [
        ("img/x.png", 0, "DS-real/vr"),
        ("img/y.png", 1, "DS-fake/vf"),
    ]
    with pytest.raises(ValueError, match="needs \\?root="):
        items_from_spec(f"dfb:{tmp_path / 'ds.json'}")


def test_empty_folder_and_unreadable_image(tmp_path):
    (tmp_path / "real").mkdir()
    with pytest.raises(ValueError, match="no images"):
        list_folder(tmp_path)
    (tmp_path / "real" / "broken.png").write_bytes(b"nope")
    ds = DeepfakeImageDataset(list_folder(tmp_path))
    with pytest.raises(ValueError, match="broken.png: cannot be decoded"):
        ds[0]
    with pytest.raises(ValueError, match="empty"):
        DeepfakeImageDataset([])


def test_baked_store_lines_up_with_the_dataset(ffpp, tmp_path):
    """Keys written by `primary-mask bake` are exactly the dataset's keys, so with_primary_maps finds every map."""
    import timm

    root, _ = ffpp
    ckpt = tmp_path / "m.pth"
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), ckpt)
    assert (
        main(
            [
                "bake",
                "--images",
                str(root),
                "--out",
                str(tmp_path / "store"),
                "--model",
                f"resnet10t:{ckpt}",
                "--size",
                "8",
                "--input-size",
                "32",
                "--workers",
                "0",
                "--quiet",
                "--unknown-labels",  # the FF++ tree has no real/ fake/ folders: bake can't know the labels
                "predicted-class",
            ]
        )
        == 0
    )
    from primary_mask import PrimaryMapStore

    ds = DeepfakeImageDataset(list_ffpp(root, methods=["Deepfakes", "FaceSwap"]))
    store = PrimaryMapStore(tmp_path / "store")
    assert set(ds.keys) == set(store.keys())
    wrapped = with_primary_maps(ds, store, transform=PrimaryRegionErase(p=1), return_map=True)  # missing="error"
    for i in range(len(wrapped)):
        image, label, pmap = wrapped[i]
        expected = torch.nn.functional.interpolate(store[ds.keys[i]][None, None], size=(24, 24), mode="bilinear")
        assert torch.allclose(pmap[0], expected[0, 0], atol=1e-6)  # the map baked for this very image

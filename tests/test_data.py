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
        "Deepfakes/c23/000_003",
        "Deepfakes/c23/003_000",
        "FaceSwap/c23/000_003",
        "FaceSwap/c23/003_000",
        "youtube/c23/000",
        "youtube/c23/003",
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
    dfb = {  # DeepfakeBench's layout and label names (see test_deepfakebench_json_follows_its_own_layout)
        "UADFV": {
            "UADFV_Real": {"test": {"vr": {"label": "UADFV_Real", "frames": ["img/x.png"]}}},
            "UADFV_Fake": {"test": {"vf": {"label": "UADFV_Fake", "frames": ["img/y.png"]}}},
        }
    }
    (tmp_path / "ds.json").write_text(json.dumps(dfb))
    items = items_from_spec(f"dfb:{tmp_path / 'ds.json'}?root={tmp_path}&split=test")
    assert [(i.key, i.label, i.video) for i in items] == [
        ("img/x.png", 0, "UADFV/UADFV_Real/vr"),
        ("img/y.png", 1, "UADFV/UADFV_Fake/vf"),
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


# --- the image-reading rule (primary_mask.data.io) -------------------------------------------------------------


def exif_rotated_jpeg(path, orientation=6):
    """A 100x160 (H x W) JPEG, left half white, tagged with an EXIF orientation (written with PIL)."""
    from PIL import Image

    pixels = np.zeros((100, 160, 3), np.uint8)
    pixels[:, :80] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), quality=95)
    return pixels


@pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")  # torchvision.io, for comparison
def test_read_rgb_ignores_exif_orientation_as_imagefolder_and_torchvision_do(tmp_path):
    from PIL import Image
    from torchvision.datasets.folder import default_loader
    from torchvision.io import decode_image

    from primary_mask.data.io import EXIF_TRANSPOSED, exif_orientation, read_rgb

    path = tmp_path / "rot.jpg"
    stored = exif_rotated_jpeg(path)
    assert cv2.imread(str(path)).shape == (160, 100, 3)  # what OpenCV's default would have baked: rotated
    image = read_rgb(path)
    assert image.shape == (100, 160, 3) and image.dtype == np.uint8
    pil = np.asarray(default_loader(str(path)))  # torchvision ImageFolder's loader
    assert pil.shape == image.shape and np.abs(pil.astype(int) - image).max() <= 2
    assert tuple(decode_image(str(path)).shape) == (3, 100, 160)
    assert np.abs(image.astype(int) - stored).mean() < 2  # left half white, as stored, not rotated
    assert exif_orientation(path) == 6 and 6 in EXIF_TRANSPOSED
    plain = tmp_path / "plain.jpg"
    Image.fromarray(stored).save(plain)
    assert exif_orientation(plain) == 1
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    assert exif_orientation(tmp_path / "junk.jpg") == 1 and exif_orientation(tmp_path / "absent.jpg") == 1


@pytest.mark.parametrize("cut", [2, 300, "half"])
def test_truncated_jpeg_is_a_bad_image_named(tmp_path, cut):
    from primary_mask.data.io import read_rgb

    whole = tmp_path / "whole.jpg"
    exif_rotated_jpeg(whole, orientation=1)
    data = whole.read_bytes()
    n = len(data) // 2 if cut == "half" else len(data) - cut
    bad = tmp_path / "real" / "cut.jpg"
    bad.parent.mkdir()
    bad.write_bytes(data[:n])
    if cut == 2:
        assert cv2.imread(str(bad)) is not None  # OpenCV decodes it (printing only "Premature end of JPEG file")
    with pytest.raises(ValueError, match=r"cut\.jpg: truncated or corrupt JPEG"):
        read_rgb(bad)
    with pytest.raises(ValueError, match=r"cut\.jpg"):
        DeepfakeImageDataset(list_folder(tmp_path / "real"))[0]


@pytest.mark.parametrize("progressive", [0, 1])
def test_jpeg_is_complete_only_with_every_byte_up_to_its_end_marker(progressive):
    from primary_mask.data.io import jpeg_is_complete

    rng = np.random.default_rng(progressive)
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), (3, 3), 1)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, progressive, cv2.IMWRITE_JPEG_RST_INTERVAL, 2]
    data = cv2.imencode(".jpg", image, params)[1].tobytes()
    assert data[-2:] == b"\xff\xd9" and b"\xff\xd0" in data  # restart markers inside the scan data
    assert jpeg_is_complete(data) and jpeg_is_complete(data + b"trailer\xff\xda\x00\x10" + bytes(100))
    assert not any(jpeg_is_complete(data[:k]) for k in range(3, len(data)))  # every prefix is truncated


def test_corrupt_files_are_bad_images_named(tmp_path):
    from primary_mask.data.io import read_rgb

    good = tmp_path / "g.png"
    png(good)
    data = good.read_bytes()
    cases = {
        "noise.jpg": np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "header_only.jpg": b"\xff\xd8\xff\xe0" + bytes(200),
        "empty.png": b"",
        "cut.png": data[: len(data) // 2],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name.replace('.', '[.]')}: "):
            read_rgb(tmp_path / name)
    with pytest.raises(ValueError, match="absent.png: does not exist"):
        read_rgb(tmp_path / "absent.png")
    assert read_rgb(good).shape == (24, 24, 3)


def test_read_rgb_colour_order_and_gray(tmp_path):
    from PIL import Image

    from primary_mask.data.io import read_rgb

    rgb = np.zeros((8, 12, 3), np.uint8)
    rgb[..., 0] = 250  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    Image.fromarray(rgb).save(tmp_path / "red.jpg", quality=100)
    Image.fromarray(np.full((8, 12), 77, np.uint8)).save(tmp_path / "gray.jpg", quality=100)
    assert (read_rgb(tmp_path / "red.png") == rgb).all()
    assert np.abs(read_rgb(tmp_path / "red.jpg").astype(int) - rgb).max() <= 3
    gray = read_rgb(tmp_path / "gray.jpg")
    assert gray.shape == (8, 12, 3) and np.abs(gray.astype(int) - 77).max() <= 1


# --- ImageFolder with real = 0, fake = 1 ------------------------------------------------------------------------


def test_deepfake_image_folder_labels_follow_the_folder_names(tmp_path):
    from torchvision.datasets import ImageFolder

    from primary_mask.data import deepfake_image_folder
    from primary_mask.data.wrappers import keys_from_image_folder

    png(tmp_path / "real" / "a.png", 10)
    png(tmp_path / "real" / "b.png", 10)
    png(tmp_path / "fake" / "vid" / "0.png", 200)
    assert ImageFolder(str(tmp_path)).class_to_idx == {"fake": 0, "real": 1}  # torchvision's own order: reversed
    (tmp_path / ".ipynb_checkpoints").mkdir()  # which a plain ImageFolder would take for a class
    ds = deepfake_image_folder(tmp_path)
    assert ds.class_to_idx == {"real": 0, "fake": 1}
    for (path, target), key in zip(ds.samples, ds.keys, strict=True):
        assert target == {"real": 0, "fake": 1}[key.split("/")[0]]
        assert (tmp_path / key).resolve() == (tmp_path / path).resolve()
    assert ds.targets.count(0) == 2 and ds.targets.count(1) == 1
    assert ds.keys == keys_from_image_folder(ds)
    assert sorted(ds.keys) == [item.key for item in list_folder(tmp_path)]  # the keys bake writes
    assert sorted(zip(ds.keys, ds.targets)) == [(item.key, item.label) for item in list_folder(tmp_path)]
    image, label = ds[ds.keys.index("fake/vid/0.png")]
    assert label == 1 and np.asarray(image).mean() == 200
    wrapped = with_primary_maps(ds, {k: torch.ones(4, 4) for k in ds.keys})  # keys taken from the dataset
    assert [wrapped[i][1] for i in range(len(ds))] == ds.targets


def test_deepfake_image_folder_refuses_other_layouts(tmp_path):
    from primary_mask.data import deepfake_image_folder

    png(tmp_path / "Real" / "a.png")
    png(tmp_path / "Fake" / "a.png")
    assert deepfake_image_folder(tmp_path).class_to_idx == {"Real": 0, "Fake": 1}
    png(tmp_path / "masks" / "a.png")
    with pytest.raises(ValueError, match=rf"{tmp_path}: expected exactly two class folders.*'masks'"):
        deepfake_image_folder(tmp_path)
    only_real = tmp_path / "only_real"
    png(only_real / "real" / "a.png")
    with pytest.raises(ValueError, match="only_real: expected exactly two class folders, real/ and fake/, found"):
        deepfake_image_folder(only_real)
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        deepfake_image_folder(tmp_path / "nowhere")
    truncated = tmp_path / "t"
    png(truncated / "real" / "a.png")
    png(truncated / "fake" / "b.png")
    data = (truncated / "fake" / "b.png").read_bytes()
    (truncated / "fake" / "b.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"b\.png: cannot be decoded"):
        deepfake_image_folder(truncated)[0]  # fake/ sorts first
    (truncated / "fake" / "b.png").unlink()
    exif_rotated_jpeg(truncated / "fake" / "c.jpg", orientation=1)
    data = (truncated / "fake" / "c.jpg").read_bytes()
    (truncated / "fake" / "c.jpg").write_bytes(data[:-2])  # a JPEG without its end marker: OpenCV would decode it
    with pytest.raises(ValueError, match=r"c\.jpg: truncated or corrupt JPEG"):
        deepfake_image_folder(truncated)[0]
    assert np.asarray(deepfake_image_folder(truncated)[1][0]).shape == (24, 24, 3)


# --- DeepfakeBench dataset JSONs ---------------------------------------------------------------------------------


def test_deepfakebench_json_follows_its_own_layout(tmp_path):
    """Fixtures in DeepfakeBench's layout: SCLBD/DeepfakeBench preprocessing/rearrange.py writes
    {dataset: {group: {split: {[c23|c40|raw:] {video: {"label", "frames"}}}}}} (compression levels for the
    FaceForensics++-derived JSONs only, e.g. FF-DF.json with groups FF-real and FF-DF), and
    training/dataset/abstract_dataset.py labels each video with label_dict[video["label"]] from
    training/config/train_config.yaml. Paths: its released JSONs were written on Windows (backslashes)."""
    from primary_mask.data import read_deepfakebench_json
    from primary_mask.metrics import video_level

    root = tmp_path / "rgb"
    ff = {"FF-real": ("original_sequences/youtube", "000"), "FF-DF": ("manipulated_sequences/Deepfakes", "000_003")}
    groups = {}
    for group, (folder, video) in ff.items():
        groups[group] = {"train": {}, "val": {}, "test": {}}
        for comp in ("c23", "c40"):
            frames = []
            for f in range(3):
                rel = f"FaceForensics++/{folder}/{comp}/frames/{video}/{f:03d}.png"
                png(root / rel)
                frames.append(rel.replace("/", "\\"))
            groups[group]["train"][comp] = {video: {"label": group, "frames": frames, "masks": []}}
            groups[group]["test"][comp] = {}
            groups[group]["val"][comp] = {}
    (tmp_path / "FF-DF.json").write_text(json.dumps({"FF-DF": groups}))
    items = read_deepfakebench_json(root, tmp_path / "FF-DF.json", "train")
    assert [(i.key, i.label, i.video) for i in items] == [
        (f"FaceForensics++/original_sequences/youtube/c23/frames/000/{f:03d}.png", 0, "FF-DF/FF-real/c23/000")
        for f in range(3)
    ] + [
        (
            f"FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/000_003/{f:03d}.png",
            1,
            "FF-DF/FF-DF/c23/000_003",
        )
        for f in range(3)
    ]
    assert all((root / i.key).is_file() and i.path.is_file() for i in items)  # backslash paths: real files
    both = read_deepfakebench_json(root, tmp_path / "FF-DF.json", "train", "c23") + read_deepfakebench_json(
        root, tmp_path / "FF-DF.json", "train", "c40"
    )
    assert len({i.key for i in both}) == 12
    vy, _, names = video_level([i.label for i in both], [0.5] * 12, [i.video for i in both])
    assert names == [
        "FF-DF/FF-DF/c23/000_003",
        "FF-DF/FF-DF/c40/000_003",
        "FF-DF/FF-real/c23/000",
        "FF-DF/FF-real/c40/000",
    ]
    spec = items_from_spec(f"dfb:{tmp_path / 'FF-DF.json'}?root={root}&split=train,test&comp=c40&frames=2")
    assert [(i.key.split("/")[-3:], i.label) for i in spec] == [
        (["frames", "000", "000.png"], 0),
        (["frames", "000", "001.png"], 0),
        (["frames", "000_003", "000.png"], 1),
        (["frames", "000_003", "001.png"], 1),
    ]
    assert {i.video for i in spec} == {"FF-DF/FF-real/c40/000", "FF-DF/FF-DF/c40/000_003"}
    with pytest.raises(ValueError, match=r"compression levels \['c23', 'c40'\], not 'raw'"):
        read_deepfakebench_json(root, tmp_path / "FF-DF.json", "train", "raw")
    with pytest.raises(ValueError, match=r"has no split \['dev'\] \(it has \['test', 'train', 'val'\]\)"):
        read_deepfakebench_json(root, tmp_path / "FF-DF.json", ("train", "dev"))
    with pytest.raises(ValueError, match="compression must be one of"):
        read_deepfakebench_json(root, tmp_path / "FF-DF.json", "train", "c32")
    (root / "FaceForensics++/original_sequences/youtube/c23/frames/000/001.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 frames listed in .*FF-DF.json do not exist .*000[/\\]001.png"):
        read_deepfakebench_json(root, tmp_path / "FF-DF.json", "train")


def test_deepfakebench_labels_come_from_its_label_mapping_not_group_names(tmp_path):
    from primary_mask.data import read_deepfakebench_json

    for name in ("r.png", "f.png", "x.png"):
        png(tmp_path / "Celeb-DF-v1" / name)
    layout = {  # group names chosen by a user: the label field decides, as in DeepfakeBench
        "Celeb-DF-v1": {
            "original": {"test": {"id0": {"label": "CelebDFv1_real", "frames": ["Celeb-DF-v1/r.png"]}}},
            "real_looking": {"test": {"id1": {"label": "CelebDFv1_fake", "frames": ["Celeb-DF-v1/f.png"]}}},
        }
    }
    (tmp_path / "c.json").write_text(json.dumps(layout))
    items = read_deepfakebench_json(tmp_path, tmp_path / "c.json", "test")
    assert [(i.key, i.label) for i in items] == [("Celeb-DF-v1/r.png", 0), ("Celeb-DF-v1/f.png", 1)]
    layout["Celeb-DF-v1"]["mine"] = {"test": {"id2": {"label": "MyFake", "frames": ["Celeb-DF-v1/x.png"]}}}
    (tmp_path / "c.json").write_text(json.dumps(layout))
    with pytest.raises(ValueError, match=r"video Celeb-DF-v1/mine/id2 has label 'MyFake'.*label_dict="):
        read_deepfakebench_json(tmp_path, tmp_path / "c.json", "test")
    mapping = {"CelebDFv1_real": 0, "CelebDFv1_fake": 1, "MyFake": 1}
    items = read_deepfakebench_json(tmp_path, tmp_path / "c.json", "test", label_dict=mapping)
    assert [i.label for i in items] == [0, 1, 1]


def test_deepfakebench_frame_selection_is_its_frame_num(tmp_path):
    from primary_mask.data import read_deepfakebench_json

    frames = []
    for f in range(10):
        png(tmp_path / "v" / f"{f}.png")
        frames.append(f"v/{f}.png")
    (tmp_path / "d.json").write_text(
        json.dumps({"D": {"DFDC_Fake": {"test": {"v": {"label": "DFDC_Fake", "frames": frames}}}}})
    )
    pick = {
        n: [i.key for i in read_deepfakebench_json(tmp_path, tmp_path / "d.json", "test", frames_per_video=n)]
        for n in (3, 4, 10, 50)
    }
    assert pick[3] == ["v/0.png", "v/3.png", "v/6.png"]  # step 10 // 3 = 3
    assert pick[4] == ["v/0.png", "v/2.png", "v/4.png", "v/6.png"]  # step 10 // 4 = 2
    assert pick[10] == pick[50] == frames

"""Messages that used to end in a traceback or a silent success (issue #22): each is one line naming the argument
or file and the fix, with a non-zero exit."""

import os
import subprocess

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from primary_mask import PrimaryMap, PrimaryMapWriter, PrimaryRegionErase, StoreError
from primary_mask.cli import main


@pytest.fixture
def store(tmp_path):
    with PrimaryMapWriter(tmp_path / "store", size=8) as writer:
        writer.add(["real/0.png", "fake/0.png"], torch.rand(2, 8, 8))
    for key in ("real/0.png", "fake/0.png"):
        (tmp_path / "images" / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "images" / key), np.full((16, 16, 3), 99, np.uint8))
    return tmp_path / "store"


@pytest.mark.parametrize(
    "argv",
    [["inspect", "S", "--images", "I", "--n", "0"], ["inspect", "S", "--images", "I", "--n", "-3"],
     ["stats", "S", "--bins", "-2"], ["score", "S", "--masks", "M", "--batch-size", "0"],
     ["bake", "--images", "I", "--model", "m", "--out", "O", "--size", "0"]],
)  # fmt: skip
def test_counts_and_sizes_below_one_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "must be a positive integer, got" in capsys.readouterr().err


def test_an_unknown_or_absent_device_is_named_before_any_work(tmp_path, capsys):
    (tmp_path / "img" / "real").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "img" / "real" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    args = ["bake", "--images", str(tmp_path / "img"), "--model", "m:x", "--out", str(tmp_path / "s")]
    assert main([*args, "--device", "tpu"]) == 2
    assert "--device 'tpu' is not a device torch knows (use cpu, cuda" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main([*args, "--device", "cuda"]) == 2
        assert "no CUDA GPU is visible here" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # refused before the store was created


@pytest.fixture
def read_only(tmp_path):
    """A read-only tmpfs (root ignores file modes, so chmod would not do; needs root and mount)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("a read-only folder needs root to mount a read-only tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_read_only_output_is_one_line_naming_the_file(store, read_only, capsys):
    images = store.parent / "images"
    for argv in (
        ["inspect", str(store), "--images", str(images), "--out", str(read_only / "grid.png"), "--n", "2"],
        ["stats", str(store), "--png", str(read_only / "stats.png")],
        ["bake", "--images", str(images), "--model", "resnet10t", "--allow-random-weights", "--out", str(read_only)],
    ):
        assert main(argv) == 2, argv[0]
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert f"primary-mask {argv[0]}: error: cannot write or read {read_only}" in err and "Read-only" in err


def test_verify_counts_maps_and_verify_and_stats_warn_on_all_empty_maps(tmp_path, capsys):
    with PrimaryMapWriter(tmp_path / "empty", size=8) as writer:
        writer.add(["a", "b"], torch.zeros(2, 8, 8))
    assert main(["verify", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    assert "warning: every one of the 2 maps is empty" in out and "OK, 2 maps" in out
    assert main(["stats", str(tmp_path / "empty")]) == 0
    assert "warning: every one of the 2 maps is empty" in capsys.readouterr().err
    PrimaryMapWriter(tmp_path / "none", size=8).close()
    assert main(["verify", str(tmp_path / "none")]) == 0
    assert "OK, but it holds no map yet" in capsys.readouterr().out


def test_palette_and_alpha_images_are_refused_not_erased_as_indices():
    pmap = PrimaryMap(torch.ones(4, 4))
    for mode in ("P", "RGBA"):
        with pytest.raises(TypeError, match=rf"mode '{mode}'.*image.convert\('RGB'\)"):
            PrimaryRegionErase(1.0)(Image.new(mode, (4, 4)), pmap)
    out, _ = PrimaryRegionErase(1.0, (1.0, 1.0))(Image.new("RGB", (4, 4), (9, 9, 9)), pmap)
    assert np.asarray(out).max() == 0


def test_masks_with_a_wrong_image_root_or_split_exit_non_zero(tmp_path, capsys):
    (tmp_path / "data" / "train" / "real").mkdir(parents=True)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("split,real,fake\ntrain,a.jpg,b.jpg\n")
    base = ["masks", "--pairs", str(pairs), "--out", str(tmp_path / "m")]
    assert main([*base, "--images", str(tmp_path / "nowhere")]) == 2
    assert "the image root" in capsys.readouterr().err
    assert main([*base, "--images", str(tmp_path / "data"), "--split", "trian"]) == 2
    assert "has no row of split 'trian'; its splits are ['train']" in capsys.readouterr().err
    assert main([*base, "--images", str(tmp_path / "data")]) == 2  # 1 pair, its images missing: not "OK"
    assert "none of the 1 pairs' images is under" in capsys.readouterr().err


def test_merge_names_the_source_that_differs_and_a_failed_bake_leaves_no_lock_folder(tmp_path):
    from primary_mask.store import merge_stores

    for name, tau in (("a", 0.3), ("b", 0.4)):
        with PrimaryMapWriter(tmp_path / name, size=8, provenance={"settings": {"tau1": tau}}) as writer:
            writer.add([f"{name}/0"], torch.rand(1, 8, 8))
    with pytest.raises(StoreError, match=f"{tmp_path / 'b'} was baked with other settings than {tmp_path / 'a'}"):
        merge_stores(tmp_path / "new", [tmp_path / "a", tmp_path / "b"])
    assert not (tmp_path / "new" / "locks").exists()
    (tmp_path / "img" / "real").mkdir(parents=True)
    assert main(["bake", "--images", str(tmp_path / "img"), "--model", "m:nowhere.pth", "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s" / "locks").exists()


def test_a_damaged_index_names_the_rebuild_which_restores_every_map(store, capsys):
    from primary_mask import PrimaryMapStore

    before = {k: PrimaryMapStore(store).raw(k) for k in PrimaryMapStore(store).keys()}
    part = next((store / "index").glob("*.json"))
    part.write_text(part.read_text()[:-7])  # cut short, as a crash of some other tool would
    assert main(["verify", str(store)]) == 1
    assert f"merge --out {store} --rebuild-index" in capsys.readouterr().err
    assert main(["merge", "--out", str(store), "--rebuild-index"]) == 0
    rebuilt = PrimaryMapStore(store)
    assert {k: rebuilt.raw(k) for k in rebuilt.keys()}.keys() == before.keys()
    assert all((rebuilt.raw(k) == v).all() for k, v in before.items())
    assert main(["verify", str(store)]) == 0
    (store / "store.json").write_text("{")
    assert main(["verify", str(store)]) == 1
    assert "restore it from a copy, or bake into a new --out" in capsys.readouterr().err

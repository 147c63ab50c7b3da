import numpy as np
import PIL.Image
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from primary_mask import PrimaryMap, PrimaryRegionErase, keys_from_image_folder, with_primary_maps
from reference import erase_loop, refine_mask_loop


def tensor_dataset(n=16, size=24):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(1, 255, (n, 3, size, size), generator=g, dtype=torch.uint8)
    return TensorDataset(images, torch.arange(n) % 2)


def maps_for(n=16, size=24):
    g = torch.Generator().manual_seed(1)
    return {f"img{i}": torch.rand(size // 2, size // 2, generator=g) for i in range(n)}


def test_wrapper_applies_the_pipeline_and_keeps_labels():
    ds, maps = tensor_dataset(), maps_for()
    wrapped = with_primary_maps(
        ds,
        maps,
        keys=[f"img{i}" for i in range(16)],
        transform=PrimaryRegionErase(p=1, alpha_range=(0.5, 0.5)),
        return_map=True,
    )
    image, label, pmap = wrapped[3]
    assert label == 1 and isinstance(pmap, PrimaryMap) and pmap.shape == (1, 24, 24)
    big = torch.nn.functional.interpolate(maps["img3"][None, None], size=(24, 24), mode="bilinear")[0, 0]
    assert torch.equal(image, erase_loop(ds[3][0], refine_mask_loop(big, 0.5), [0, 0, 0]))


def test_callable_keys_and_missing_policies():
    ds = tensor_dataset()
    maps = maps_for()
    del maps["img5"]
    t = PrimaryRegionErase(p=1, alpha_range=(1, 1))
    strict = with_primary_maps(ds, maps, keys=lambda i: f"img{i}", transform=t)
    with pytest.raises(KeyError, match="img5.*missing='skip'"):
        strict[5]
    lenient = with_primary_maps(ds, maps, keys=lambda i: f"img{i}", transform=t, missing="skip")
    assert torch.equal(lenient[5][0], ds[5][0])  # not erased
    assert not torch.equal(lenient[4][0], ds[4][0])
    with pytest.raises(ValueError, match="keys has 3 entries"):
        with_primary_maps(ds, maps, keys=["a", "b", "c"])
    with pytest.raises(ValueError, match="missing must be"):
        with_primary_maps(ds, maps, keys=lambda i: "x", missing="ignore")
    with pytest.raises(TypeError, match="pass keys="):
        with_primary_maps(ds, maps)


def test_image_folder_keys_are_relative_posix_paths(tmp_path):
    for label in ("real", "fake"):
        (tmp_path / label / "sub").mkdir(parents=True)
        for i in range(2):
            arr = np.full((16, 16, 3), 40 * i + 20, np.uint8)
            PIL.Image.fromarray(arr).save(tmp_path / label / "sub" / f"{i}.png")
    folder = ImageFolder(str(tmp_path))
    keys = keys_from_image_folder(folder)
    assert sorted(keys) == sorted(f"{lab}/sub/{i}.png" for lab in ("real", "fake") for i in range(2))
    maps = {k: np.ones((8, 8), np.float32) for k in keys}
    wrapped = with_primary_maps(
        folder, maps, transform=v2.Compose([v2.ToImage(), PrimaryRegionErase(p=1, alpha_range=(1, 1))])
    )
    image, label = wrapped[0]
    assert image.shape == (3, 16, 16) and int(image.max()) == 0  # a map covering everything erases everything
    assert label == folder[0][1]


def erased_counts(loader):
    return [int((img == 0).flatten(1).all(0).sum()) for img, _ in loader]


@pytest.mark.parametrize("use_generator", [False, True])
def test_dataloader_workers_draw_differently_and_seeded_runs_repeat(use_generator):
    ds = TensorDataset(torch.full((40, 3, 16, 16), 200, dtype=torch.uint8), torch.zeros(40))
    maps = {"same": torch.rand(16, 16, generator=torch.Generator().manual_seed(2))}
    gen = torch.Generator().manual_seed(7) if use_generator else None
    wrapped = with_primary_maps(
        ds, maps, keys=lambda i: "same", transform=PrimaryRegionErase(p=0.5, alpha_range=(0.0, 1.0), generator=gen)
    )

    def run(seed):
        torch.manual_seed(seed)
        return erased_counts(DataLoader(wrapped, batch_size=1, num_workers=2, shuffle=False))

    first, again = run(0), run(0)
    assert first == again  # seeded runs repeat
    assert first[0::2] != first[1::2]  # worker 0 takes even, worker 1 odd indices: their draws differ
    assert len(set(first)) > 10


def test_dataloader_spawn_workers_can_unpickle_everything():
    ds = TensorDataset(torch.full((6, 3, 16, 16), 200, dtype=torch.uint8), torch.zeros(6))
    wrapped = with_primary_maps(
        ds,
        {f"k{i}": torch.ones(8, 8) for i in range(6)},
        keys=[f"k{i}" for i in range(6)],
        transform=PrimaryRegionErase(p=1, alpha_range=(1, 1)),
    )
    loader = DataLoader(wrapped, batch_size=3, num_workers=2, multiprocessing_context="spawn")
    batches = list(loader)
    assert len(batches) == 2 and all(int(b[0].max()) == 0 for b in batches)


def test_return_erased_reports_each_erase():
    ds = TensorDataset(torch.full((64, 3, 8, 8), 100, dtype=torch.uint8), torch.zeros(64))
    maps = {"k": torch.ones(8, 8)}
    wrapped = with_primary_maps(
        ds,
        maps,
        keys=lambda i: "k",
        return_erased=True,
        transform=v2.Compose([PrimaryRegionErase(p=0.5, alpha_range=(1, 1)), v2.RandomHorizontalFlip()]),
    )
    torch.manual_seed(0)
    rows = [wrapped[i] for i in range(64)]
    erased = [a for _, _, a in rows]
    assert 10 < sum(erased) < 54
    for image, _, a in rows:  # erased <=> every pixel zero (the map covers the whole image at alpha = 1)
        assert bool(a) == bool((image == 0).all())


@pytest.mark.parametrize("resize_to_image, stored_size", [(True, 12), (True, 24), (False, 12)])
def test_a_uint8_map_reaches_the_transform_as_float_so_v2_does_not_round_it(resize_to_image, stored_size):
    """A store's uint8 map, moved by v2.Resize: the result is the bilinear resize of map / 255 in float (no
    rounding back to 256 levels), whether the wrapper or v2 takes it to the output size, and also when it was
    stored at the image's size (the wrapper resizes nothing)."""
    ds = tensor_dataset(n=2, size=24)
    g = torch.Generator().manual_seed(3)
    stored = (torch.rand(stored_size, stored_size, generator=g) * 255).round().to(torch.uint8)
    wrapped = with_primary_maps(
        ds,
        {"a": stored, "b": stored},
        keys=["a", "b"],
        transform=v2.Resize(40),
        return_map=True,
        resize_to_image=resize_to_image,
    )
    _, _, pmap = wrapped[0]
    assert pmap.dtype == torch.float32 and pmap.shape == (1, 40, 40)
    as_float = stored.double()[None, None] / 255
    wrapper_resizes = resize_to_image and stored_size != 24
    for size in [(24, 24), (40, 40)] if wrapper_resizes else [(40, 40)]:  # the wrapper to the image, then v2
        as_float = torch.nn.functional.interpolate(as_float, size=size, mode="bilinear", align_corners=False)
    assert torch.allclose(pmap[0].double(), as_float[0, 0], atol=1e-5)
    assert len(torch.unique(pmap)) > 256  # not rounded to the 256 levels of uint8

import os
import pickle

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from primary_mask import (
    PrimaryMapStore,
    PrimaryMapWriter,
    PrimaryRegionErase,
    StoreError,
    verify_store,
    with_primary_maps,
)

SETTINGS = {"settings": {"fusion": "neighboring", "tau1": 0.3}}


def maps_and_keys(n=10, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [f"real/v{i:03d}.jpg" for i in range(n)], torch.rand(n, size, size, generator=g)


def write(path, keys, maps, **kw):
    with PrimaryMapWriter(path, size=maps.shape[-1], provenance=SETTINGS, **kw) as w:
        w.add(keys, maps)
    return PrimaryMapStore(path)


@pytest.mark.parametrize("dtype, tol", [("uint8", 1 / 255), ("float16", 1e-3)])
def test_round_trip(tmp_path, dtype, tol):
    keys, maps = maps_and_keys()
    store = write(tmp_path / "s", keys, maps, dtype=dtype, shard_size=3)
    assert len(store) == 10 and set(store.keys()) == set(keys) and keys[4] in store and "other" not in store
    for k, m in zip(keys, maps):
        got = store[k]
        assert got.shape == (8, 8) and got.dtype == torch.float32
        assert (got - m).abs().max() <= tol
    batch = store.get_batch([keys[7], keys[0], keys[7]])
    assert torch.equal(batch[0], store[keys[7]]) and torch.equal(batch[1], store[keys[0]])
    assert store.provenance["settings"] == SETTINGS["settings"] and "created" in store.provenance
    assert len(list((tmp_path / "s" / "shards").glob("*.safetensors"))) == 4  # 3 + 3 + 3 + 1


def test_missing_keys(tmp_path):
    keys, maps = maps_and_keys(3)
    write(tmp_path / "s", keys, maps)
    with pytest.raises(KeyError, match=r"'fake/x.jpg'.*store .*s"):
        PrimaryMapStore(tmp_path / "s")["fake/x.jpg"]
    with pytest.raises(KeyError, match=r"'fake/x.jpg'.*store .*s"):
        PrimaryMapStore(tmp_path / "s").get_batch([keys[0], "fake/x.jpg"])
    with pytest.raises(StoreError, match="store.json does not exist"):
        PrimaryMapStore(tmp_path / "nowhere")


def test_adding_again_skips_present_keys_and_settings_must_match(tmp_path):
    keys, maps = maps_and_keys(4)
    write(tmp_path / "s", keys, maps)
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS) as w:
        assert w.add(keys + ["new"], torch.rand(5, 8, 8)) == 1
    assert len(PrimaryMapStore(tmp_path / "s")) == 5
    assert torch.allclose(PrimaryMapStore(tmp_path / "s")[keys[0]], maps[0], atol=1 / 255)  # not overwritten
    with pytest.raises(StoreError, match="first difference: tau1: the store has 0.3, this run has 0.5"):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance={"settings": {"fusion": "neighboring", "tau1": 0.5}})
    with pytest.raises(StoreError, match="first difference: size: the store has 8, this run has 16"):
        PrimaryMapWriter(tmp_path / "s", size=16, provenance=SETTINGS)


def test_resume_after_a_kill_gives_the_uninterrupted_store(tmp_path, monkeypatch):
    keys, maps = maps_and_keys(23)
    reference = write(tmp_path / "ref", keys, maps, shard_size=4)

    # Killed run: two shards land, then the process dies while renaming the third into place.
    w = PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=4)
    w.add(keys[:8], maps[:8])
    real_replace = os.replace

    def dying_replace(src, dst):
        if str(dst).endswith(".safetensors"):
            raise KeyboardInterrupt("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        w.add(keys[8:12], maps[8:12])
    monkeypatch.setattr(os, "replace", real_replace)
    del w
    # A second kind of kill: a shard renamed into place but never indexed.
    (tmp_path / "s" / "shards" / "main-00099.safetensors").write_bytes(b"partial")
    assert len(PrimaryMapStore(tmp_path / "s")) == 8

    # The same command again.
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=4) as w:
        w.add(keys, maps)
    resumed = PrimaryMapStore(tmp_path / "s")
    assert sorted(resumed.keys()) == sorted(reference.keys())
    for k in keys:
        assert (resumed.raw(k) == reference.raw(k)).all()
    assert verify_store(tmp_path / "s") == ([], [])  # leftovers removed, nothing duplicated
    assert not [f for f in (tmp_path / "s" / "shards").iterdir() if f.name.startswith(".")]


def test_verify_catches_truncation_and_bit_flips(tmp_path):
    keys, maps = maps_and_keys(9)
    write(tmp_path / "s", keys, maps, shard_size=3)
    assert verify_store(tmp_path / "s") == ([], [])
    shards = sorted((tmp_path / "s" / "shards").glob("*.safetensors"))
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) - 10])
    flipped = bytearray(shards[1].read_bytes())
    flipped[-1] ^= 0xFF
    shards[2].unlink()
    shards[1].write_bytes(bytes(flipped))
    problems, _ = verify_store(tmp_path / "s")
    assert any(str(shards[0]) in p and "truncated" in p for p in problems)
    assert any(str(shards[1]) in p and "checksum" in p for p in problems)
    assert any(str(shards[2]) in p and "missing" in p for p in problems)
    (tmp_path / "s" / "index" / "main.json").write_text("{not json")
    problems, _ = verify_store(tmp_path / "s")
    assert problems and "main.json" in problems[0]


def test_duplicate_keys_across_index_parts_are_reported(tmp_path):
    keys, maps = maps_and_keys(4)
    for wid in ("rank0", "rank1"):
        with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, writer_id=wid) as w:
            w._present.clear()  # simulate two job-array tasks that both baked the same keys
            w.add(keys, maps)
    with pytest.raises(StoreError, match="is in both"):
        PrimaryMapStore(tmp_path / "s")


def test_pickled_store_reopens_lazily(tmp_path):
    keys, maps = maps_and_keys(4)
    store = write(tmp_path / "s", keys, maps)
    store[keys[0]]
    assert store._open
    clone = pickle.loads(pickle.dumps(store))
    assert clone._open == {} and torch.equal(clone[keys[1]], store[keys[1]])


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_read_the_store(tmp_path, context):
    keys, maps = maps_and_keys(8, size=16)
    store = write(tmp_path / "s", keys, maps, shard_size=3)
    store[keys[0]]  # opened in the parent before forking
    ds = TensorDataset(torch.full((8, 3, 16, 16), 200, dtype=torch.uint8), torch.zeros(8))
    wrapped = with_primary_maps(
        ds, store, keys=keys, transform=PrimaryRegionErase(p=1, alpha_range=(1, 1)), return_map=True
    )
    loader = DataLoader(wrapped, batch_size=4, num_workers=2, multiprocessing_context=context)
    got = torch.cat([b[2] for b in loader])[:, 0]
    assert torch.allclose(got, store.get_batch(keys), atol=1e-6)

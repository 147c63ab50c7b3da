"""The store under faults, in-process: locks, flush budgets, file modes, damaged shards, NaN, image sizes."""

import json
import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch

from primary_mask import PrimaryMapStore, PrimaryMapWriter, StoreError, verify_store
from primary_mask.store import merge_stores

SETTINGS = {"settings": {"models": [{"name": "a", "sha256": "00"}], "input_size": 32, "fusion": "neighboring"}}


def maps_and_keys(n=10, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [f"real/v{i:03d}.jpg" for i in range(n)], torch.rand(n, size, size, generator=g)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_writer_is_refused_naming_the_holder(tmp_path):
    first = PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS)
    with pytest.raises(StoreError) as err:
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS)
    msg = str(err.value)
    assert f"pid {os.getpid()}" in msg and socket.gethostname() in msg
    assert "--shard i/n" in msg and "primary-mask merge" in msg and "wait" in msg
    # a part of a --shard split is refused beside an exclusive writer too
    with pytest.raises(StoreError, match="being written"):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, writer_id="shard0of2", group="of2")
    first.close()
    PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS).close()  # free again after close


def test_writers_of_one_group_share_a_store(tmp_path):
    keys, maps = maps_and_keys(6)
    a = PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, writer_id="rank0", group="torchrun")
    b = PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, writer_id="rank1", group="torchrun")
    with pytest.raises(StoreError, match="rank0"):  # the same part twice is not allowed
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, writer_id="rank0", group="torchrun")
    with pytest.raises(StoreError, match="being written"):  # nor an exclusive writer beside them
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS)
    a.add(keys[0::2], maps[0::2])
    b.add(keys[1::2], maps[1::2])
    a.close()
    b.close()
    assert sorted(PrimaryMapStore(tmp_path / "s").keys()) == keys


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    keys, maps = maps_and_keys(3)
    (tmp_path / "s" / "locks").mkdir(parents=True)
    pid = dead_pid()
    for wid in ("main", "rank1"):
        record = {"host": socket.gethostname(), "pid": pid, "writer_id": wid, "group": None, "token": wid}
        (tmp_path / "s" / "locks" / f"{wid}.lock").write_text(json.dumps(record))
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS) as w:
        assert sorted(h["writer_id"] for h in w._lock.taken_over) == ["main", "rank1"]
        w.add(keys, maps)
    assert len(PrimaryMapStore(tmp_path / "s")) == 3
    assert not (tmp_path / "s" / "locks").exists()  # no lock left behind, nor the empty folder


def test_lock_of_a_reused_pid_is_stale_and_another_hosts_lock_is_not(tmp_path):
    (tmp_path / "s" / "locks").mkdir(parents=True)
    lock = tmp_path / "s" / "locks" / "main.lock"
    # our own pid, but a process started at another time: the pid was reused
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "start": "1", "token": "x"}))
    PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS).close()
    lock.parent.mkdir(exist_ok=True)  # a closed store keeps no locks folder
    lock.write_text(json.dumps({"host": "elsewhere", "pid": dead_pid(), "writer_id": "main", "token": "y"}))
    with pytest.raises(StoreError, match=f"host elsewhere.*delete {lock}"):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS)


def test_flush_on_count_and_time_budget_whatever_the_shard_size(tmp_path, monkeypatch):
    keys, maps = maps_and_keys(12)
    w = PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=4096, flush_every=5)
    w.add(keys[:4], maps[:4])
    assert len(PrimaryMapStore(tmp_path / "s")) == 0 and w.pending == 4
    w.add(keys[4:6], maps[4:6])  # 6 >= 5: written
    assert len(PrimaryMapStore(tmp_path / "s")) == 6 and w.pending == 0
    clock = [1000.0]
    monkeypatch.setattr("primary_mask.store.writer.time.monotonic", lambda: clock[0])
    w.flush()
    w.add(keys[6:7], maps[6:7])
    assert len(PrimaryMapStore(tmp_path / "s")) == 6
    clock[0] += 61  # the time budget (60 s) is spent
    w.add(keys[7:8], maps[7:8])
    assert len(PrimaryMapStore(tmp_path / "s")) == 8
    w.add(keys[8:], maps[8:])
    del w  # killed: the 4 unflushed maps are lost, the rest is readable
    store = PrimaryMapStore(tmp_path / "s")
    assert sorted(store.keys()) == keys[:8]
    # one growing shard, not one file per flush
    assert len(list((tmp_path / "s" / "shards").glob("*.safetensors"))) == 1
    for k, m in zip(keys[:8], maps[:8]):
        assert (store.raw(k) == (m * 255).round().to(torch.uint8).numpy()).all()


def test_files_get_ordinary_modes(tmp_path):
    keys, maps = maps_and_keys(4)
    old = os.umask(0o022)
    try:
        with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=2) as w:
            w.add(keys, maps)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert len(files) >= 4
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {"0o644"}
    old = os.umask(0o077)
    try:
        with PrimaryMapWriter(tmp_path / "p", size=8, provenance=SETTINGS) as w:
            w.add(keys, maps)
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "p").rglob("*") if p.is_file()} == {0o600}


def test_missing_or_damaged_shard_is_a_store_error_and_the_writer_rebakes_it(tmp_path):
    keys, maps = maps_and_keys(9)
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=3) as w:
        w.add(keys, maps)
    shards = sorted((tmp_path / "s" / "shards").glob("*.safetensors"))
    store = PrimaryMapStore(tmp_path / "s")
    gone_keys = [k for k in keys if store._index[k][0] == shards[0].name]
    bad_keys = [k for k in keys if store._index[k][0] == shards[1].name]
    shards[0].unlink()
    flipped = bytearray(shards[1].read_bytes())
    flipped[-1] ^= 0xFF
    shards[1].write_bytes(bytes(flipped))
    store = PrimaryMapStore(tmp_path / "s")
    with pytest.raises(StoreError, match=f"{shards[0]} is missing.*rerun the same `primary-mask bake`"):
        store[gone_keys[0]]
    with pytest.raises(StoreError, match=f"shard {shards[0]} is missing"):
        store.get_batch(keys)
    truncated = shards[2].read_bytes()
    shards[2].write_bytes(truncated[:-7])
    with pytest.raises(StoreError, match=f"{shards[2]} has .* bytes.*truncated"):
        PrimaryMapStore(tmp_path / "s")[keys[-1]]
    shards[2].write_bytes(truncated)
    assert len(verify_store(tmp_path / "s")[0]) == 2

    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS, shard_size=3) as w:
        assert w.repaired == {shards[0].name: 3, shards[1].name: 3}
        assert w.add(keys, maps) == len(gone_keys) + len(bad_keys) == 6  # exactly the lost maps
    assert verify_store(tmp_path / "s")[0] == []
    assert (tmp_path / "s" / "damaged" / shards[1].name).exists()
    store = PrimaryMapStore(tmp_path / "s")
    assert torch.allclose(store.get_batch(keys), maps, atol=1 / 255)


def nan_into_float16_shard(root, row, reindex):
    """Write NaN into one value of ``row`` of the store's one float16 shard on disk; with ``reindex`` the index's
    sha256 and size are updated too, as if a faulty writer had produced the shard."""
    shard = next((root / "shards").glob("*.safetensors"))
    data = bytearray(shard.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")  # safetensors: header length, header, then the data
    at = start + (row * 64 + 2 * 8 + 3) * 2
    data[at : at + 2] = np.array([np.nan], dtype=np.float16).tobytes()
    shard.write_bytes(bytes(data))
    if reindex:
        import hashlib

        part = next((root / "index").glob("*.json"))
        index = json.loads(part.read_text())
        index["shards"][shard.name].update(sha256=hashlib.sha256(bytes(data)).hexdigest(), bytes=len(data))
        part.write_text(json.dumps(index))
    return shard


def test_nan_in_a_float16_shard_is_caught_where_the_store_is_opened_and_by_verify(tmp_path):
    """Values are checked once, where they enter: the writer refuses NaN, the first open checks the digest, and
    verify checks the values of a store whose digests are intact, so reads need not check each row again."""
    keys, maps = maps_and_keys(3)
    with pytest.raises(ValueError, match="'b' contains NaN"):
        PrimaryMapWriter(tmp_path / "t", size=8).add(
            ["a", "b"], torch.tensor([0.0, float("nan")]).view(2, 1, 1).expand(2, 8, 8)
        )
    with PrimaryMapWriter(tmp_path / "s", size=8, dtype="float16", provenance=SETTINGS) as w:
        w.add(keys, maps)
    shard = nan_into_float16_shard(tmp_path / "s", row=1, reindex=False)  # damage after the bake
    for read in (lambda s: s[keys[1]], lambda s: s[keys[0]], lambda s: s.get_batch(keys)):
        with pytest.raises(StoreError, match=f"shard {shard} does not match its checksum"):
            read(PrimaryMapStore(tmp_path / "s"))  # a fresh reader: the digest is checked on its first open
    shard = nan_into_float16_shard(tmp_path / "s", row=1, reindex=True)  # a digest that matches the NaN
    problems = verify_store(tmp_path / "s")[0]
    assert problems == [f"{shard}: contains NaN or inf values"]


def test_image_sizes_are_recorded_per_key_and_survive_merge(tmp_path):
    keys, maps = maps_and_keys(4)
    sizes = [(100, 160), (160, 100), (64, 64), (7, 9)]
    with PrimaryMapWriter(tmp_path / "a", size=8, provenance=SETTINGS, shard_size=3) as w:
        w.add(keys[:3], maps[:3], image_sizes=sizes[:3])
    with PrimaryMapWriter(tmp_path / "b", size=8, provenance=SETTINGS) as w:
        w.add(keys[3:], maps[3:], image_sizes=sizes[3:])
    with PrimaryMapWriter(tmp_path / "old", size=8, provenance=SETTINGS) as w:
        w.add(keys, maps)  # no sizes given, as stores baked before sizes were recorded
    store = PrimaryMapStore(tmp_path / "a")
    assert [store.image_size(k) for k in keys[:3]] == sizes[:3]
    assert PrimaryMapStore(tmp_path / "old").image_size(keys[0]) is None
    with pytest.raises(KeyError, match="v003"):
        store.image_size(keys[3])
    merge_stores(tmp_path / "m", [tmp_path / "a", tmp_path / "b"])
    merged = PrimaryMapStore(tmp_path / "m")
    assert [merged.image_size(k) for k in keys] == sizes


def test_settings_mismatch_names_the_first_differing_field(tmp_path):
    keys, maps = maps_and_keys(2)
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS) as w:
        w.add(keys, maps)
    other = json.loads(json.dumps(SETTINGS))
    other["settings"]["models"][0]["sha256"] = "ff"
    other["settings"]["input_size"] = 64
    with pytest.raises(
        StoreError, match="first difference: models\\[0\\].sha256: the store has '00', this run has 'ff'"
    ):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=other)
    other["settings"]["models"][0]["sha256"] = "00"
    with pytest.raises(StoreError, match="first difference: input_size: the store has 32, this run has 64"):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=other)
    other["settings"]["input_size"] = 32
    other["settings"]["dtype_rule"] = "x"
    with pytest.raises(StoreError, match="dtype_rule: the store does not record it"):
        PrimaryMapWriter(tmp_path / "s", size=8, provenance=other)
    # the lock was released by each refused writer
    PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS).close()


def test_a_flipped_data_byte_is_caught_on_first_read_unless_verify_is_off(tmp_path):
    """Only verify and a resumed bake checked the sha256: a damaged shard was trained on (issue #22)."""
    keys, maps = maps_and_keys(4)
    with PrimaryMapWriter(tmp_path / "s", size=8, provenance=SETTINGS) as w:
        w.add(keys, maps)
    shard = next((tmp_path / "s" / "shards").glob("*.safetensors"))
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0x01  # one bit of one map value: length, header and shape stay valid
    shard.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=f"shard {shard} does not match its checksum.*rerun the same"):
        PrimaryMapStore(tmp_path / "s")[keys[0]]
    unchecked = PrimaryMapStore(tmp_path / "s", verify=False)  # the user verified it: no digest on open
    changed = [
        key for key in keys if not np.array_equal(unchecked.raw(key), np.round(maps[keys.index(key)].numpy() * 255))
    ]
    assert len(changed) == 1  # read as is: the one damaged map
    assert verify_store(tmp_path / "s")[0][0].endswith(
        "does not match its checksum (the file changed after it was written)"
    )

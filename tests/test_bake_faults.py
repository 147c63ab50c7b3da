"""`primary-mask bake` under real faults: real signals to a real bake process, a second bake into the same store,
a kill -9 and the rerun that resumes. The resumed store must equal an uninterrupted bake, byte for byte."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import timm
import torch

from primary_mask import PrimaryMapStore, verify_store
from primary_mask.cli import main

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 240


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocesses (OMP_NUM_THREADS=1): same arithmetic, and fast on a busy CPU
    yield _setup(tmp_path_factory)
    torch.set_num_threads(threads)


def _setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("bake_faults")
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        label = ("real", "fake")[i % 2]
        (d / "images" / label).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "images" / label / f"{i:04d}.png"), rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
    torch.manual_seed(0)
    ckpt = d / "resnet10t.pth"
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=1).state_dict(), ckpt)
    # 64 px: resnet10t's last grid is 2x2, so the maps are not empty (at 32 px a 1x1 grid gave all-zero maps, and the
    # resumed stores were compared as zeros)
    args = ["--images", str(d / "images"), "--model", f"resnet10t:{ckpt}", "--size", "16", "--input-size", "64"]
    args += ["--batch-size", "2"]  # small batches: the bake is in progress long enough to be interrupted
    assert main(["bake", *args, "--out", str(d / "reference"), "--quiet"]) == 0
    assert (
        (PrimaryMapStore(d / "reference").get_batch(PrimaryMapStore(d / "reference").keys()) > 0).any(-1).any(-1).all()
    )
    return d, args


class Bake:
    """A `primary-mask bake` subprocess whose progress bar (stderr) is read as it goes."""

    def __init__(self, args: list[str], out: Path) -> None:
        path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
        env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "primary_mask.cli", "bake", *args, "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.err = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stderr.read1(4096):
            self.err += chunk

    def progress(self) -> int:
        done = re.findall(rb"bake:\s+\d+%\|[^|]*\|\s*(\d+)/\d+", self.err)
        return int(done[-1]) if done else 0

    def wait_for(self, n: int, timeout: float = 120) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if (seen := self.progress()) >= n:
                return seen
            assert self.proc.poll() is None, self.err.decode()[-2000:]
            time.sleep(0.05)
        raise AssertionError(f"bake made no progress: {self.err.decode()[-2000:]}")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        self.reader.join(5)
        return self.proc.returncode, out.decode()


def assert_same_as_reference(out: Path, reference: Path) -> None:
    got, ref = PrimaryMapStore(out), PrimaryMapStore(reference)
    assert sorted(got.keys()) == sorted(ref.keys())
    assert all((got.raw(k) == ref.raw(k)).all() for k in ref.keys())  # same bytes
    assert all(got.image_size(k) == (24, 24) for k in ref.keys())
    assert verify_store(out) == ([], [])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_bake_saves_the_work_and_a_rerun_resumes(setup, tmp_path, capsys, sig):
    """Default flush settings (maps per shard 4096, flush every 512 maps or 60 s): a signal still saves every
    map baked so far. While it runs, a second bake into the same store is refused, naming the holder."""
    d, args = setup
    out = tmp_path / "store"
    bake = Bake(args, out)
    bake.wait_for(10)
    other = tmp_path / "other.csv"
    other.write_text("real/0000.png,real\n")
    started = time.monotonic()
    assert main(["bake", *args, "--list", str(other), "--out", str(out), "--quiet"]) == 2
    assert time.monotonic() - started < 10  # at once, before loading the zoo
    err = capsys.readouterr().err
    assert f"pid {bake.proc.pid} on host {socket.gethostname()}" in err
    assert "--shard i/n" in err and "primary-mask merge" in err and "wait" in err
    seen = bake.progress()
    bake.proc.send_signal(sig)
    code, printed = bake.finish()
    assert code == 128 + sig, bake.err.decode()[-2000:]
    saved = int(re.search(r"interrupted by SIG\w+: (\d+) maps saved", printed).group(1))
    assert "rerun the same command to resume" in printed
    assert seen <= saved < N_IMAGES  # nothing baked before the signal is lost
    assert len(PrimaryMapStore(out)) == saved and verify_store(out)[0] == []
    assert not list((out / "locks").glob("*.lock"))  # released

    assert main(["bake", *args, "--out", str(out), "--quiet"]) == 0
    assert f"{N_IMAGES - saved} maps baked, {saved} already present" in capsys.readouterr().out
    assert_same_as_reference(out, d / "reference")


def test_kill_mid_bake_loses_at_most_the_flush_budget_and_a_rerun_takes_over_its_lock(setup, tmp_path, capsys):
    """SIGKILL: no handler runs. With --flush-every 8, the store holds all but the last <= 8 maps (+ one batch
    being baked); the dead bake's lock is taken over by the rerun, which bakes exactly the rest."""
    d, args = setup
    out = tmp_path / "store"
    bake = Bake([*args, "--flush-every", "8"], out)
    bake.wait_for(40)
    bake.proc.kill()
    seen = bake.progress()
    bake.finish()
    assert bake.proc.returncode == -signal.SIGKILL
    assert (out / "locks" / "main.lock").exists()  # left behind by the dead process
    assert any(f"main.lock: held by pid {bake.proc.pid}" in note for note in verify_store(out)[1])
    kept = len(PrimaryMapStore(out))
    assert seen - 8 - 2 <= kept < N_IMAGES
    assert main(["bake", *args, "--out", str(out), "--quiet"]) == 0
    assert f"{N_IMAGES - kept} maps baked, {kept} already present" in capsys.readouterr().out
    assert_same_as_reference(out, d / "reference")


WORKER_FAILS = """
import sys
import primary_mask.data.images as images

def fail(self, image):
    raise RuntimeError("decoder bug in a worker")

images.ZooInput.__call__ = fail  # inherited by the forked DataLoader workers
from primary_mask.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_worker_that_raises_ends_the_bake_at_once_with_the_error_and_a_resumable_store(setup, tmp_path):
    """A DataLoader worker that raises used to leave the process hanging at exit (its peers ignore SIGTERM)."""
    d, args = setup
    script = tmp_path / "fails.py"
    script.write_text(WORKER_FAILS)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    argv = [sys.executable, str(script), "bake", *args, "--workers", "2", "--quiet", "--out", str(tmp_path / "s")]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=90)  # a hang fails here
    assert proc.returncode == 1, proc.stderr[-2000:]
    first = proc.stderr.splitlines()[0]
    assert "RuntimeError: decoder bug in a worker; 0 maps saved in" in first and "rerun the same command" in first
    assert "DataLoader worker process" in proc.stderr  # the worker's traceback follows the one-line summary
    assert main(["bake", *args, "--out", str(tmp_path / "s"), "--quiet"]) == 0  # the store resumes cleanly
    assert_same_as_reference(tmp_path / "s", d / "reference")


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: a real full disk (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_saves_what_fits_and_freeing_space_resumes(setup, small_disk, capsys):
    d, args = setup
    out = small_disk / "store"
    big = ["--size", "64", "--flush-every", "8", "--shard-size", "8"]  # 4 KiB a map: 64 KiB fill up part way
    code = main(["bake", *args, *big, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    saved = int(re.search(r"(\d+) maps saved", err).group(1))
    assert f"the disk holding {out} is full; {saved} maps saved" in err and "free some space and rerun" in err
    assert 0 < saved < N_IMAGES and "Traceback" not in err
    assert len(PrimaryMapStore(out)) == saved  # what the message says is what a reader finds
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)  # space freed
    assert main(["bake", *args, *big, "--out", str(out), "--quiet"]) == 0
    assert len(PrimaryMapStore(out)) == N_IMAGES and verify_store(out) == ([], [])

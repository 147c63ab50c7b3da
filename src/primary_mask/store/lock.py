"""``StoreLock``: at most one writer per index part, and no writer beside an exclusive one.

Each writer holds ``STORE/locks/<writer_id>.lock``, created with ``O_EXCL`` and holding JSON
``{"host", "pid", "start", "writer_id", "group", "token"}``. Two writers may work in one store at the same
time only when both belong to the same non-empty ``group`` (the ranks of one torchrun job, the parts of one
``--shard i/n`` split: they bake disjoint keys into their own index parts) and have different writer ids.
A writer without a group (a plain ``bake``, ``merge``) needs the store to itself.

A lock whose holder is gone is taken over: same host and the pid is not running, or the pid now belongs to a
process started at another time (pid reuse). A lock of another host cannot be checked and is never taken
over; the error names the file to delete once that process is known to be gone.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from primary_mask.store.format import StoreError

__all__ = ["StoreLock", "process_start"]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 counted from the pid


def _alive(holder: dict[str, Any]) -> bool:
    """False only when the holder is certainly gone (same host, pid not running or reused), or the lock file
    is unreadable (lock files are written whole, so only a damaged disk makes one)."""
    if not holder:
        return False
    if holder.get("host") != socket.gethostname():
        return True
    pid = int(holder.get("pid", -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # running under another uid
    started = holder.get("start")
    now = process_start(pid)
    return not (started is not None and now is not None and started != now)


def _link_or_create(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (FileExistsError when ``dst`` exists); where the file system has no hard
    links, create ``dst`` exclusively and copy the bytes."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(src.read_bytes())


def _describe(holder: dict[str, Any], path: Path) -> str:
    return (
        f"writer {holder.get('writer_id')!r} of pid {holder.get('pid')} on host {holder.get('host')} "
        f"(since {holder.get('since', '?')}; lock file {path})"
    )


class StoreLock:
    """Take the lock of ``writer_id`` in the store at ``root``; :meth:`release` (or ``with``) gives it back.

    Raises :class:`StoreError` at once (no waiting) naming the live holder, and the ways out.
    """

    def __init__(self, root: str | os.PathLike, writer_id: str, group: str | None = None) -> None:
        self.folder = Path(root) / "locks"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{writer_id}.lock"
        self.writer_id, self.group = writer_id, group or None
        self.token = uuid.uuid4().hex
        self.taken_over: list[dict[str, Any]] = []
        self._acquire_own()
        try:
            self._check_others()
        except BaseException:
            self.release()
            raise

    def _record(self) -> dict[str, Any]:
        import time

        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start": process_start(os.getpid()),
            "writer_id": self.writer_id,
            "group": self.group,
            "token": self.token,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _acquire_own(self) -> None:
        """Write the record under a temporary name, then hard-link it into place: the link fails when a lock
        exists, and a lock file is never seen half written."""
        tmp = self.folder / f".{self.path.name}.{self.token}"
        for attempt in range(3):
            try:
                with open(tmp, "w") as fh:
                    json.dump(self._record(), fh)
                break
            except FileNotFoundError:  # the last writer of a group just removed the empty locks folder
                if attempt == 2:
                    raise
                self.folder.mkdir(parents=True, exist_ok=True)
        try:
            for _ in range(3):
                try:
                    _link_or_create(tmp, self.path)
                except FileExistsError:
                    holder = self._read(self.path)
                    if holder is None or not _alive(holder):
                        self._take_over(self.path, holder)
                        continue
                    raise StoreError(self._busy_message(holder, self.path)) from None
                return
            raise StoreError(f"could not take the lock {self.path}: other writers keep replacing it")
        finally:
            tmp.unlink(missing_ok=True)

    def _check_others(self) -> None:
        for other in sorted(self.folder.glob("*.lock")):
            if other == self.path:
                continue
            holder = self._read(other)
            if holder is None:
                continue  # being written, or removed: a new writer that will see this lock and back off
            if not _alive(holder):
                self._take_over(other, holder)
                continue
            if self.group is not None and holder.get("group") == self.group:
                continue  # a sibling rank or --shard part: disjoint keys, its own index part
            raise StoreError(self._busy_message(holder, other))

    def _busy_message(self, holder: dict[str, Any], path: Path) -> str:
        store = self.folder.parent
        return (
            f"the store {store} is being written by {_describe(holder, path)}. Two writers in one store would "
            f"lose maps. Either wait for it to finish (rerunning then resumes), or bake into separate stores "
            f"with --shard i/n (one --out per part) and join them with `primary-mask merge --out {store} PART...`. "
            f"If that process is gone (e.g. it ran on another host), delete {path}."
        )

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _take_over(self, path: Path, holder: dict[str, Any] | None) -> None:
        """Remove a dead holder's lock, unless it changed since it was read (then another writer got there)."""
        aside = path.with_name(f".{path.name}.stale-{self.token}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return
        moved = self._read(aside)
        if holder is not None and moved is not None and moved.get("token") != holder.get("token"):
            try:  # we moved a live writer's fresh lock aside: put it back
                os.link(aside, path)
            finally:
                aside.unlink(missing_ok=True)
            raise StoreError(self._busy_message(moved, path))
        aside.unlink(missing_ok=True)
        if holder:
            self.taken_over.append(holder)

    def release(self) -> None:
        """Remove the lock file if it is still ours, and the locks folder once no writer holds a lock in it."""
        holder = self._read(self.path)
        if holder is not None and holder.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        try:
            self.folder.rmdir()  # only when empty: another writer's lock keeps it
        except OSError:
            pass

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

"""One driver per sweep directory: an atomically created lock file naming its owner.

The lock is ``<sweep>/.lock``. Its content (pid, process start time, host, a random
token, when it was taken) is written and fsync'd in a private file first and then
published with ``link()``, which fails if a lock exists: the lock never exists without
its owner, so two racing drivers can never both hold it (``O_EXCL`` then write had an
empty-file window).

A lock is **stale** when its owner is provably gone: on this host, its pid no longer
runs (or runs a different process, by start time); on another host, its lease expired.
The owner renews the lease by touching the file every ``lease / 4`` seconds from a
daemon thread, so a driver on another node of a shared file system (NFS, Lustre) is
recognised as live while it runs. Stale locks are broken under a short-lived breaker
file, re-checked by token before removal, so two drivers breaking the same stale lock
cannot remove a fresh one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from gmat_sweep_dask.errors import SweepDirWriteError, SweepLockedError
from gmat_sweep_dask.store import layout

DEFAULT_LEASE_S = 60.0
"""A lock from another host whose file was not touched for this long is stale."""
_BREAKER_STALE_S = 10.0
_ATTEMPTS = 50


class SweepLock:
    """Context manager holding ``<sweep_dir>/.lock`` for this process."""

    def __init__(self, sweep_dir: Path, *, lease: float = DEFAULT_LEASE_S) -> None:
        self.path = sweep_dir / layout.LOCK
        self.lease = lease
        self.token = uuid.uuid4().hex
        self._held = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, breaking a stale one; returns at once or raises.

        Raises:
            SweepLockedError: a live driver holds it (the message names it).
            SweepDirWriteError: the lock file cannot be written (read-only, no space).
        """
        content = _owner(self.token)
        for _ in range(_ATTEMPTS):
            if self._publish(content):
                self._held = True
                self._start_renewing()
                return
            owner, stat = _read(self.path)
            if owner is None and stat is None:
                continue  # released between our link and our read: try again
            if owner is not None and not _stale(owner, stat, self.lease):
                raise SweepLockedError(
                    f"{self.path.parent}: another driver is running this sweep "
                    f"({_describe(owner)}); wait for it to finish, or if it is gone "
                    f"remove {self.path}"
                )
            if not self._break(owner):
                time.sleep(0.05)
        raise SweepLockedError(f"{self.path}: could not take the lock (heavily contended)")

    def release(self) -> None:
        """Stop renewing and remove the lock if it is still this process's, also one that
        an interrupt inside :meth:`acquire` left published but not yet marked held."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        owner, _ = _read(self.path)
        if owner is not None and owner.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self._held = False

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._held

    def __enter__(self) -> SweepLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # -- steps -------------------------------------------------------------------------

    def _publish(self, content: bytes) -> bool:
        """Write ``content`` beside the lock and link it into place; False if one exists."""
        tmp = self.path.with_name(f"{layout.LOCK}.{self.token}.tmp")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            try:
                os.write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return False
            return True
        except OSError as exc:
            raise SweepDirWriteError(
                f"cannot lock {self.path.parent}: {exc.strerror or exc}"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _break(self, seen: dict[str, Any] | None) -> bool:
        """Remove the stale lock ``seen`` (None: unreadable) unless it changed meanwhile.

        Returns whether the lock is gone (removed here or by someone else).
        """
        breaker = self.path.with_name(layout.LOCK + ".break")
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - breaker.stat().st_mtime > _BREAKER_STALE_S:
                    breaker.unlink()  # a breaker whose process died mid-break
            return False
        except OSError as exc:
            raise SweepDirWriteError(f"cannot lock {self.path.parent}: {exc.strerror}") from None
        os.close(fd)
        try:
            now, stat = _read(self.path)
            same = (now is None and seen is None) or (
                now is not None and seen is not None and now.get("token") == seen.get("token")
            )
            if stat is None:
                return True
            if not same or (now is not None and not _stale(now, stat, self.lease)):
                return False
            if now is None and time.time() - stat.st_mtime < 2.0:
                return False  # unreadable but fresh: a foreign writer, give it a moment
            self.path.unlink(missing_ok=True)
            return True
        finally:
            breaker.unlink(missing_ok=True)

    def _start_renewing(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew, name="gmat-sweep-dask-lock-lease", daemon=True
        )
        self._renewer.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 4):
            with contextlib.suppress(OSError):
                os.utime(self.path)


def held_by_live_driver(sweep_dir: Path, *, lease: float = DEFAULT_LEASE_S) -> bool:
    """Whether a live driver holds ``sweep_dir``'s lock now (reads only; an unreadable lock
    counts as held, as :meth:`SweepLock.acquire` would wait for it)."""
    owner, stat = _read(sweep_dir / layout.LOCK)
    return stat is not None and (owner is None or not _stale(owner, stat, lease))


def _owner(token: str) -> bytes:
    owner = {
        "pid": os.getpid(),
        "pid_start": _start_time(os.getpid()),
        "host": socket.gethostname(),
        "token": token,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return json.dumps(owner, sort_keys=True).encode()


def _read(path: Path) -> tuple[dict[str, Any] | None, os.stat_result | None]:
    """The lock's owner (None if unreadable or malformed) and its stat (None if absent)."""
    try:
        stat = path.stat()
    except OSError:
        return None, None
    try:
        owner = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, stat
    return (owner if isinstance(owner, dict) else None), stat


def _stale(owner: dict[str, Any], stat: os.stat_result | None, lease: float) -> bool:
    """Whether the lock's owner is certainly gone (else it is treated as live)."""
    if owner.get("host") != socket.gethostname():
        return stat is not None and time.time() - stat.st_mtime > lease
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    recorded = owner.get("pid_start")
    return recorded is not None and recorded != _start_time(pid)  # pid reused


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _describe(owner: dict[str, Any]) -> str:
    since = f", since {owner['since']}" if owner.get("since") else ""
    return f"pid {owner.get('pid')} on host {owner.get('host')}{since}"

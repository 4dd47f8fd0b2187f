"""One driver per sweep directory: an exclusive lock file naming its owner.

The lock is ``<sweep>/.lock`` created with ``O_EXCL`` and holding ``{pid, host}``. A lock
left by a process that no longer runs on this host is stale and is taken over; a lock held
by a live process, or by another host, is refused with a message naming the owner.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import TracebackType

from gmat_sweep_dask.errors import SweepDirWriteError, SweepLockedError
from gmat_sweep_dask.store import layout


class SweepLock:
    """Context manager holding ``<sweep_dir>/.lock`` for this process."""

    def __init__(self, sweep_dir: Path) -> None:
        self.path = sweep_dir / layout.LOCK
        self._held = False

    def acquire(self) -> None:
        """Take the lock, replacing a stale one; raise SweepLockedError if it is live.

        Raises SweepDirWriteError when the lock file cannot be written (read-only...).
        """
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = _read(self.path)
                if owner is not None and _alive(owner):
                    raise SweepLockedError(
                        f"{self.path.parent}: another driver is running this sweep "
                        f"(pid {owner.get('pid')} on {owner.get('host')}); "
                        f"if it is gone, remove {self.path}"
                    ) from None
                self.path.unlink(missing_ok=True)
                continue
            except OSError as exc:
                message = f"cannot lock {self.path.parent}: {exc.strerror}"
                raise SweepDirWriteError(message) from None
            with os.fdopen(fd, "w") as handle:
                json.dump({"pid": os.getpid(), "host": socket.gethostname()}, handle)
            self._held = True
            return
        raise SweepLockedError(f"{self.path}: could not take the lock (contended)")

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> SweepLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(owner: dict) -> bool:
    """Whether the lock's owner may still be running (unknowable on another host: yes)."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

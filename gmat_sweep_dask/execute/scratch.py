"""Scratch working directories of runs, and removal of those left by killed processes.

A run without ``keep_raw`` writes GMAT's raw text outputs into a fresh directory, removed
once its outputs are read, under the scratch root (:func:`scratch_root`): ``TMPDIR`` when
it is set, else the memory-backed ``/dev/shm`` when it is usable and has room, else the
system temporary directory. Creating, writing and removing a run's few small files in
memory costs ~0.07 ms of CPU against ~0.6 ms on a disk mounted with ``discard``, per run,
on the engine's critical path (``benchmarks/README.md``). The name
records the owner (the process that created it, and its host):
``gmat-sweep-dask-scratch.<pid>.<host>.run<run_id>.<random>`` (``.engine.`` for an engine
host's temporary directory, :func:`engine_temp_dir`). A process killed mid-run
(a SIGKILLed worker) cannot remove its own; the first scratch directory a process creates
therefore first removes every scratch directory of this host whose owner no longer runs.
A directory of a live process (or of another user) is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path

PREFIX = "gmat-sweep-dask-scratch."
_NAME = re.compile(re.escape(PREFIX) + r"(?P<pid>\d+)\.(?P<host>.+)\.(?:run\d+|engine)\.[^.]+")
MEMORY_ROOT = Path("/dev/shm")
MEMORY_ROOM = 1 << 30
"""Free bytes ``/dev/shm`` needs to be chosen (a container's default 64 MiB is too little)."""
_swept = threading.Event()
_sweeping = threading.Lock()


def scratch_root() -> Path:
    """Where scratch directories are made now.

    The temporary directory (:func:`tempfile.gettempdir`) when ``TMPDIR`` is set (a
    node's local disk on a cluster, a test's own directory); else ``/dev/shm`` if it is a
    writable directory with at least ``MEMORY_ROOM`` free; else the system temporary
    directory.
    """
    if os.environ.get("TMPDIR"):
        return Path(tempfile.gettempdir())
    try:
        usage = os.statvfs(MEMORY_ROOT)
        usable = MEMORY_ROOT.is_dir() and os.access(MEMORY_ROOT, os.W_OK | os.X_OK)
    except OSError:
        usable = False
    if usable and usage.f_bavail * usage.f_frsize >= MEMORY_ROOM:
        return MEMORY_ROOT
    return Path(tempfile.gettempdir())


def scratch_dir(run_id: int) -> Path:
    """A fresh, empty working directory for run ``run_id``; the caller removes it.

    The first call in a process removes stale scratch directories first
    (:func:`remove_stale`).
    """
    return _fresh(f"run{run_id}")


def engine_temp_dir() -> Path:
    """A fresh, empty temporary directory for an engine host process (its ``TMPDIR``);
    the caller removes it once the host is gone (the host ends with ``os._exit``, so
    what it made there, such as gmatpy's start-up files, is never removed by itself).
    Named as a scratch directory of this process, so a killed caller's is swept too."""
    return _fresh("engine")


def _fresh(kind: str) -> Path:
    """A new scratch directory of ``kind``, stale ones removed first in a process."""
    if not _swept.is_set():
        with _sweeping:
            if not _swept.is_set():
                remove_stale()
                _swept.set()
    owner = f"{os.getpid()}.{socket.gethostname()}"
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{owner}.{kind}.", dir=scratch_root()))


def is_scratch(path: Path) -> bool:
    """Whether ``path`` is a scratch directory made by :func:`scratch_dir` (by its name)."""
    return _NAME.fullmatch(path.name) is not None


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories in ``root`` left by processes of this host that are
    gone; return those removed. By default both the scratch root and the temporary
    directory are swept (one may hold those of an earlier choice)."""
    if root is None:
        roots = dict.fromkeys([scratch_root(), Path(tempfile.gettempdir())])
        return [path for each in roots for path in remove_stale(each)]
    root = Path(root)
    host, uid = socket.gethostname(), os.getuid()
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or match["host"] != host or _running(int(match["pid"])):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True

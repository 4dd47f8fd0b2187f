"""Scratch working directories of runs, and removal of those left by killed processes.

A run without ``keep_raw`` writes GMAT's raw text outputs into a fresh directory under
the system temporary directory (``TMPDIR``), removed once its outputs are read. The name
records the owner (the process that created it, and its host):
``gmat-sweep-dask-scratch.<pid>.<host>.run<run_id>.<random>``. A process killed mid-run
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
_NAME = re.compile(re.escape(PREFIX) + r"(?P<pid>\d+)\.(?P<host>.+)\.run\d+\.[^.]+")
_swept = threading.Event()
_sweeping = threading.Lock()


def scratch_dir(run_id: int) -> Path:
    """A fresh, empty working directory for run ``run_id``; the caller removes it.

    The first call in a process removes stale scratch directories first
    (:func:`remove_stale`).
    """
    if not _swept.is_set():
        with _sweeping:
            if not _swept.is_set():
                remove_stale()
                _swept.set()
    owner = f"{os.getpid()}.{socket.gethostname()}"
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{owner}.run{run_id}."))


def is_scratch(path: Path) -> bool:
    """Whether ``path`` is a scratch directory made by :func:`scratch_dir` (by its name)."""
    return _NAME.fullmatch(path.name) is not None


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the scratch directories in ``root`` (default: the temporary directory) left by
    processes of this host that are gone; return those removed."""
    root = Path(root or tempfile.gettempdir())
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

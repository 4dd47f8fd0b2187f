"""Files that survive power loss: fsync the data, rename into place, fsync the directory.

A file is written beside its final name (``.<name>.tmp``) and renamed over it, so
readers never see half of it; with ``fsync`` its bytes are on disk before the rename and
the rename is on disk before :func:`writing` returns, so nothing that points at it (a
commit record, a manifest entry, a compaction's move record) can outlive it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def writing(final: Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield the temporary path to write ``final``'s content to, then publish it.

    On success the file is renamed to ``final`` (durably with ``fsync``); if the body or
    the publishing fails, the temporary file is removed and the error propagates.
    """
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        yield tmp
        publish(tmp, final, fsync=fsync)
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, final: Path, *, fsync: bool = True) -> None:
    """Atomically rename the written file ``tmp`` to ``final``, durably with ``fsync``."""
    if fsync:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, final)
    if fsync:
        fsync_dir(final.parent)


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` durable (best effort where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

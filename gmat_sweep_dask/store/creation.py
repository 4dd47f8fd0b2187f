"""A sweep being created: the marker that makes an interrupted creation recognisable.

Creating a sweep writes its script snapshot and design side files first and the
manifest last, so the manifest never names a file that is not there. A driver killed
in between (SIGKILL, power loss) used to leave files and no manifest: ``run`` refused
the directory as not empty, ``resume`` found no manifest. So creation starts by writing
``<sweep>/.creating``, listing every file it may write (and their temporary names),
fsync'd before any of them, and removes it once the manifest is in place.

A directory holding the marker and no manifest is an unfinished creation: nothing ran.
The next run clears it under the sweep's lock (no live driver is still creating it):
exactly the files the marker lists are removed, then the directories they leave empty,
then the marker. Any other file is left alone (a ``.creating`` that is not ours too),
and the directory is refused as not empty. Commands that need a manifest say how to go
on (:func:`no_manifest`).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import fsync_dir

FORMAT = "gmat-sweep-dask creation"


def begin(sweep_dir: Path, files: Iterable[str]) -> None:
    """Durably record that a sweep is being created in ``sweep_dir`` and will write the
    sweep-relative ``files`` (their ``.<name>.tmp`` and the manifest's ``.new`` included)."""
    listed: list[str] = [f"{layout.MANIFEST}.new"]
    for name in files:
        parent, _, base = name.rpartition("/")
        listed += [name, f"{parent}/.{base}.tmp" if parent else f".{base}.tmp"]
    text = json.dumps({"format": FORMAT, "creating": listed}).encode()
    fd = os.open(sweep_dir / layout.CREATING, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(sweep_dir)


def finish(sweep_dir: Path) -> None:
    """Remove the marker (if it is ours): the manifest is in place (or was all along);
    with it the temporary files it lists that a kill just before may have left (the
    manifest's ``.new``, a ``.<name>.tmp``), never the files the manifest names."""
    listed = _listed(sweep_dir)
    if listed is None:
        return
    for name in listed:
        base = str(name).rpartition("/")[2]
        if base == f"{layout.MANIFEST}.new" or (base.startswith(".") and base.endswith(".tmp")):
            with contextlib.suppress(OSError, SweepDirError):
                confined(sweep_dir, name, what="temporary file").unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (sweep_dir / layout.CREATING).unlink()


def unfinished(sweep_dir: Path) -> bool:
    """Whether ``sweep_dir`` holds an interrupted creation: our marker, no manifest."""
    return _listed(sweep_dir) is not None and not (sweep_dir / layout.MANIFEST).exists()


def _listed(sweep_dir: Path) -> list[Any] | None:
    """What our marker lists ([] for one cut short: empty, or a part of its one write);
    None if there is none, or the file of that name is not ours (a user's, a link...)."""
    marker = sweep_dir / layout.CREATING
    try:
        if not stat.S_ISREG(marker.lstat().st_mode):
            return None
        data = marker.read_bytes()
    except OSError:
        return None
    head = json.dumps({"format": FORMAT, "creating": []}).encode()[:-3]
    if head.startswith(data.rstrip(b"\0")) or (data.startswith(head) and _torn(data)):
        return []  # cut short (a crash before its fsync): nothing was written after it
    try:
        record = json.loads(data)
    except ValueError:
        return None
    ours = isinstance(record, dict) and record.get("format") == FORMAT
    return record.get("creating") if ours and isinstance(record.get("creating"), list) else None


def _torn(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


def clear(sweep_dir: Path) -> None:
    """Remove what an interrupted creation listed in its marker, then the marker (call
    with the lock held). A marker cut short (killed while writing it: nothing was written
    after it: empty) lists nothing; a file of that name that is not ours is left alone.

    Raises:
        SweepDirError: the marker lists a path outside the sweep directory (named);
            nothing is removed then.
    """
    marker = sweep_dir / layout.CREATING
    listed = _listed(sweep_dir)
    if listed is None:
        return
    paths = [confined(sweep_dir, name, what="file of an unfinished creation") for name in listed]
    folders: set[Path] = set()
    for path in paths:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
        folders.update(p for p in path.parents if sweep_dir in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: a file of the user's keeps it
    marker.unlink(missing_ok=True)
    fsync_dir(sweep_dir)


def no_manifest(manifest: Path) -> SweepDirError:
    """The error for a missing manifest: an interrupted creation says how to go on."""
    if unfinished(manifest.parent):
        return SweepDirError(
            f"{manifest.parent}: this sweep's creation was interrupted before its manifest "
            "was written, so nothing ran; start it again with the command that created it "
            "(it clears the files left here)"
        )
    return SweepDirError(f"{manifest}: no manifest here (is this a sweep directory?)")

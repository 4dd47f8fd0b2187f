"""One portable file holding a whole sweep directory, and reading it back safely.

:func:`archive` writes every file of a sweep directory (manifest, design files, script
snapshot, data files, raw outputs and commit records; not the lock) into one ``.zip``,
``.tar``, ``.tar.gz`` or ``.tgz`` file, member names relative to the directory (so
unpacking it by hand gives the sweep directory back). Files are streamed in chunks, never
held whole in memory; Parquet files are stored uncompressed in a zip (they are compressed
already). It holds the sweep's lock while it reads, so no driver runs the sweep meanwhile,
and the archive appears under its name only once complete.

:func:`unpack` extracts one into a directory, confining every member: a member name must
be a plain relative path (no ``..``, not absolute), a member must be a regular file or a
directory (no links, hard links or devices), a name may appear once, and a member must
fit on the disk with :data:`RESERVE` to spare (its declared size; a zip member yields no
more than that). A crafted archive is refused, naming the member, and nothing is written
outside the directory; a "zip bomb" stops before the member that would fill the disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from gmat_sweep_dask.errors import SweepDirError, UsageError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store.confine import confined, is_confined
from gmat_sweep_dask.store.sweepdir import SweepDir

FORMATS = {".zip": "zip", ".tar": "tar", ".tar.gz": "tar:gz", ".tgz": "tar:gz"}
CHUNK = 1 << 20
RESERVE = 64 << 20
"""Bytes an extraction always leaves free on the disk it writes to."""


def archive_format(path: Path) -> str | None:
    """``zip``, ``tar`` or ``tar:gz`` from ``path``'s suffix; None for anything else."""
    name = path.name.lower()
    return next((f for s, f in FORMATS.items() if name.endswith(s)), None)


def archive(out: str | Path, dest: str | Path) -> Path:
    """Write the sweep directory ``out`` into one archive file ``dest`` (``.zip``,
    ``.tar``, ``.tar.gz`` or ``.tgz``) and return its path; ``open_sweep(dest)`` reads it
    back. See the module docstring.

    Raises:
        UsageError: ``dest`` has no archive suffix, already exists, or lies inside ``out``.
        SweepLockedError: a live driver is running the sweep (named).
        SweepDirError: ``out`` is no sweep directory, or holds a link (named).
    """
    return write_archive(out, dest)[0]


def write_archive(out: str | Path, dest: str | Path) -> tuple[Path, int, int]:
    """:func:`archive`, returning the archive's path, its number of files and their bytes.

    Raises:
        UsageError: ``dest`` has no archive suffix, already exists, or lies inside ``out``.
        SweepLockedError: a live driver is running the sweep (named).
        SweepDirError: ``out`` is no sweep directory, or holds a link (named).
    """
    sweep_dir = SweepDir(out)
    target = Path(dest).expanduser().absolute()
    kind = archive_format(target)
    if kind is None:
        raise UsageError(f"{dest}: expected a file name ending in {', '.join(FORMATS)}")
    if not sweep_dir.has_manifest():
        raise SweepDirError(f"{sweep_dir.path}: no sweep directory (no {layout.MANIFEST})")
    root = sweep_dir.path.resolve()
    if target.resolve() == root or root in target.resolve().parents:
        raise UsageError(f"{dest}: the archive cannot be written inside the sweep directory")
    if target.exists() or target.is_symlink():
        raise UsageError(f"{dest} exists; remove it or choose another name")
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    with sweep_dir.locked():
        files = sorted(_members(root))
        try:
            with _writer(partial, kind) as add:
                for relative in files:
                    add(root / relative, relative)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target, len(files), sum((root / f).stat().st_size for f in files)


def _members(root: Path) -> Iterator[str]:
    """Relative paths of the files to archive: every regular file but the lock."""
    for directory, dirs, names in os.walk(root):
        here = Path(directory)
        for name in [*dirs, *names]:
            path = here / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise SweepDirError(f"{root}: {relative} is a link; links are not archived")
            if name in names and relative != layout.LOCK:
                if not path.is_file():
                    raise SweepDirError(f"{root}: {relative} is not a regular file")
                yield relative


class _writer:
    """A context manager yielding ``add(path, name)`` for one archive format."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind

    def __enter__(self) -> Callable[[Path, str], None]:
        if self.kind == "zip":
            self.handle = zipfile.ZipFile(self.path, "x", allowZip64=True)

            def add(path: Path, name: str) -> None:
                packed = zipfile.ZIP_STORED if name.endswith(".parquet") else zipfile.ZIP_DEFLATED
                self.handle.write(path, name, compress_type=packed)

        else:
            mode = "x:gz" if self.kind == "tar:gz" else "x"
            self.handle = tarfile.open(self.path, mode, format=tarfile.PAX_FORMAT)

            def add(path: Path, name: str) -> None:
                info = self.handle.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with path.open("rb") as source:
                    self.handle.addfile(info, source)

        return add

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
        if exc[0] is None:
            with self.path.open("rb+") as done:
                os.fsync(done.fileno())


def unpack(source: Path, into: Path) -> None:
    """Extract the archive ``source`` into the existing directory ``into`` (see the module
    docstring for what is refused).

    Raises:
        SweepDirError: the archive is unreadable or holds a member that is refused (named),
            or no manifest.
    """
    kind = archive_format(source)
    try:
        if kind == "zip":
            with zipfile.ZipFile(source) as packed:
                for info in packed.infolist():
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        _refuse(source, info.filename, "is a link")
                    if info.is_dir():
                        _directory(source, into, info.filename)
                    else:
                        with packed.open(info) as data:
                            _file(source, into, info.filename, data, info.file_size)
        else:
            with tarfile.open(source, "r:*") as packed:
                for member in packed:
                    if member.isdir():
                        _directory(source, into, member.name)
                    elif member.isfile():
                        data = packed.extractfile(member)
                        assert data is not None
                        _file(source, into, member.name, data, member.size)
                    else:
                        _refuse(source, member.name, "is not a regular file or directory")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise SweepDirError(f"{source}: cannot read the archive: {exc}") from None
    if not (into / layout.MANIFEST).is_file():
        raise SweepDirError(f"{source}: no {layout.MANIFEST} in the archive: not a sweep")


def _refuse(source: Path, name: str, why: str) -> None:
    raise SweepDirError(f"{source}: archive member {name!r} {why}; refused")


def _target(source: Path, into: Path, name: str) -> Path:
    stripped = name.rstrip("/")
    if not is_confined(stripped):
        _refuse(source, name, "is not a plain relative path")
    try:
        return confined(into, stripped, what="archive member")
    except SweepDirError:
        _refuse(source, name, "leads outside the extraction directory")
        raise  # unreachable: _refuse raises


def _directory(source: Path, into: Path, name: str) -> None:
    _target(source, into, name).mkdir(parents=True, exist_ok=True)


def _file(source: Path, into: Path, name: str, data: IO[bytes], size: int) -> None:
    target = _target(source, into, name)
    spare = shutil.disk_usage(into).free - RESERVE
    if size > spare:
        _refuse(
            source,
            name,
            f"holds {size:,} bytes, more than the {max(spare, 0):,} the disk of {into} can "
            f"spare (an extraction leaves {RESERVE >> 20} MiB free)",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _target(source, into, name)  # its directories, now made, still lead inside
    try:
        with target.open("xb") as copy:
            shutil.copyfileobj(data, copy, CHUNK)
    except FileExistsError:
        _refuse(source, name, "appears twice")

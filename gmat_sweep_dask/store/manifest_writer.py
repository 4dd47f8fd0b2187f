"""Appending to a manifest: every append written and fsync'd before it returns.

The header, header updates and moved records are each written twice in a row (one
write), so losing either line of the pair loses nothing; readers treat the repeat as a
no-op. Run entries are written once: losing one costs a re-run of that run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask.errors import SweepDirError, SweepDirWriteError
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import fsync_dir
from gmat_sweep_dask.store.records import encode

if TYPE_CHECKING:
    from gmat_sweep_dask.store.manifest import Manifest


class ManifestWriter:
    """Append-only writer; every :meth:`append` is written and fsync'd before returning.

    Writes are unbuffered. A write that fails (disk full, I/O error) is cut back off the
    file, so the manifest ends at its last complete record, and raises
    :class:`SweepDirWriteError`.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - open for the sweep

    @classmethod
    def create(cls, path: Path, header: Mapping[str, Any], *, fsync: bool = True) -> ManifestWriter:
        """Write a new manifest holding only ``header`` (twice); refuses to replace an
        existing one."""
        tmp = path.with_name(path.name + ".new")
        text = encode(header) * 2  # raises for a header JSON cannot hold: nothing written
        try:
            with open(tmp, "wb") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)
        except FileExistsError:
            raise SweepDirError(f"{path}: a manifest already exists") from None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
        return cls(path, fsync=fsync)

    @classmethod
    def reopen(cls, manifest: Manifest, *, fsync: bool = True) -> ManifestWriter:
        """Append to a loaded manifest, first repairing its tail.

        A torn final line is cut off (truncate to the last complete line, fsync); a
        complete final record that lacks its newline gets one.

        Raises:
            SweepDirError: the manifest is a link leading outside its sweep directory
                (e.g. a ``cp -rs`` copy sharing another sweep's manifest): appending
                would write into that file.
        """
        confined(manifest.path.parent, manifest.path.name, what="manifest")
        if manifest.torn:
            with open(manifest.path, "r+b") as handle:
                handle.truncate(manifest.valid_bytes)
                handle.flush()
                os.fsync(handle.fileno())
            manifest.torn = False  # a second reopen must not cut what was appended since
        writer = cls(manifest.path, fsync=fsync)
        if manifest.unterminated:
            writer._write(b"\n")
            manifest.unterminated = False
        return writer

    def record_move(self, sources: list[str], target: str) -> None:
        """Durably record that the rows of ``sources`` now live in ``target``."""
        self.record_moves([(sources, target)])

    def record_moves(self, moves: Iterable[tuple[list[str], str]]) -> None:
        """Durably record several moves ``(sources, target)`` in one write, each twice."""
        records = [{"moved": {"from": list(sources), "to": target}} for sources, target in moves]
        self.append(record for record in records for _ in range(2))

    def update_header(self, changes: Mapping[str, Any]) -> None:
        """Durably amend the header (applied by :meth:`Manifest.load` from here on)."""
        self.append([{"update": dict(changes)}] * 2)

    def append(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Append ``entries`` as one write; durable on disk when this returns."""
        payload = b"".join(encode(e) for e in entries)
        if payload:
            self._write(payload)

    def _write(self, payload: bytes) -> None:
        fd = self._file.fileno()
        end = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if self._fsync:
                os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
            raise SweepDirWriteError(
                f"cannot append to {self.path}: {exc.strerror or exc}; every run recorded "
                "before is intact, resume once the file system is writable"
            ) from None

    def close(self) -> None:
        """Fsync (best effort) and close the file."""
        if not self._file.closed:
            with contextlib.suppress(OSError):
                os.fsync(self._file.fileno())
            self._file.close()

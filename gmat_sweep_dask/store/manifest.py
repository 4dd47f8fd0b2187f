"""The sweep manifest: a JSON Lines file, written only by the client.

Line 1 is the header (schema version, script hash, versions, design, run count, seed).
Every further line is one run entry, appended as its result arrives; each append is
flushed and fsync'd. A line with an ``update`` key instead amends the header from that
point on (e.g. an extension raising ``run_count`` and the design), and a line with a
``moved`` key records that compaction merged some batch files into one, so every entry
pointing at those files now points at the merged file. The file stays append-only.
Readers tolerate a torn final line (a write cut short by a crash)
and fold several entries of one ``run_id`` last-wins. A corrupt line anywhere else is an
error naming ``path:line``; loading never modifies the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import ManifestCorruptError, SweepDirError, SweepDirWriteError
from gmat_sweep_dask.store.durable import fsync_dir

try:  # orjson parses manifests about twice as fast; json is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

SCHEMA_VERSION = 1
#: Entry fields kept in memory by default: what statuses, frames and compaction need.
SLIM_FIELDS = ("run_id", "status", "outputs", "error", "attempts")
MAGIC = "gmat-sweep-dask manifest"
OK = "ok"
FAILED = "failed"


@dataclass
class Manifest:
    """An in-memory view of a manifest file: its header and latest entry per run.

    Entries are slim (only :data:`SLIM_FIELDS`, with shared path strings) unless loaded
    with ``full=True``, so a 100,000-run manifest stays small in memory.
    """

    path: Path
    header: dict[str, Any]
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    valid_bytes: int = 0
    torn: bool = False
    unterminated: bool = False
    full: bool = False

    def add(self, entry: Mapping[str, Any]) -> None:
        """Make ``entry`` the latest entry of its run (slimmed unless this view is full)."""
        self.entries[entry["run_id"]] = dict(entry) if self.full else _slim(entry)

    @property
    def run_count(self) -> int:
        """Number of runs the sweep's design defines."""
        return int(self.header["run_count"])

    def status_counts(self) -> dict[str, int]:
        """Runs per status, with never-recorded runs counted as ``missing``."""
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        missing = self.run_count - sum(counts.values())
        if missing:
            counts["missing"] = missing
        return counts

    def pending_ids(self) -> list[int]:
        """Ids whose latest entry is not ``ok`` plus ids never recorded, ascending."""
        return [
            run_id
            for run_id in range(self.run_count)
            if self.entries.get(run_id, {}).get("status") != OK
        ]

    @classmethod
    def load(cls, path: str | Path, *, full: bool = False) -> Manifest:
        """Parse ``path``; a torn final line is dropped, any other bad line raises.

        ``full`` keeps every field of every entry (overrides, timestamps, worker, log).

        Raises:
            SweepDirError: the file does not exist or is not a gmat-sweep-dask manifest.
            ManifestCorruptError: a non-final line is not a valid record (``path:line``).
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SweepDirError(f"{path}: no manifest here (is this a sweep directory?)") from None
        except OSError as exc:
            raise SweepDirError(f"{path}: cannot read the manifest: {exc.strerror}") from exc
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        torn = bool(tail)
        valid_bytes = len(data) - len(tail)
        if not complete:
            if torn:
                raise ManifestCorruptError(path, 1, "the header line is incomplete")
            raise SweepDirError(f"{path}: the manifest is empty")
        header = _parse(path, 1, complete[0])
        _check_header(path, header)
        entries: dict[int, dict[str, Any]] = {}
        moves: dict[str, str] = {}
        for number, raw in enumerate(complete[1:], start=2):
            if not raw.strip():
                continue
            record = _parse(path, number, raw)
            if "update" in record:
                header = _amend(path, number, header, record["update"])
                continue
            if "moved" in record:
                _note_move(path, number, moves, record["moved"])
                continue
            _check_entry(path, number, record, int(header["run_count"]))
            entries[record["run_id"]] = record if full else _slim(record)
        unterminated = False
        if torn:
            # a complete record whose newline never reached the disk still counts
            try:
                record = _parse(path, len(lines), tail)
                if "update" in record:
                    header = _amend(path, len(lines), header, record["update"])
                else:
                    _check_entry(path, len(lines), record, int(header["run_count"]))
                    entries[record["run_id"]] = record if full else _slim(record)
            except ManifestCorruptError:
                pass
            else:
                torn, unterminated = False, True
        if moves:
            _apply_moves(entries, moves)
        return cls(path, header, entries, valid_bytes, torn, unterminated, full)


def _slim(entry: Mapping[str, Any]) -> dict[str, Any]:
    slim = {k: entry[k] for k in SLIM_FIELDS if k in entry}
    outputs = entry.get("outputs")
    if isinstance(outputs, dict):
        slim["outputs"] = {
            key: {**loc, "path": sys.intern(loc["path"])}
            if isinstance(loc, dict) and isinstance(loc.get("path"), str)
            else loc
            for key, loc in outputs.items()
        }
    return slim


def _parse(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        record = _loads(raw)
    except ValueError as exc:
        raise ManifestCorruptError(path, number, f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise ManifestCorruptError(path, number, "not a JSON object")
    return record


def _check_header(path: Path, header: Mapping[str, Any]) -> None:
    if header.get("format") != MAGIC:
        raise ManifestCorruptError(path, 1, "not a gmat-sweep-dask manifest header")
    version = header.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ManifestCorruptError(path, 1, f"bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise SweepDirError(
            f"{path}: manifest schema version {version} is newer than this "
            f"gmat-sweep-dask understands ({SCHEMA_VERSION}); upgrade gmat-sweep-dask"
        )
    count = header.get("run_count")
    if not isinstance(count, int) or count < 0:
        raise ManifestCorruptError(path, 1, f"bad run_count {count!r}")


def _note_move(path: Path, number: int, moves: dict[str, str], moved: Any) -> None:
    if (
        not isinstance(moved, dict)
        or not isinstance(moved.get("to"), str)
        or not isinstance(moved.get("from"), list)
    ):
        raise ManifestCorruptError(path, number, "a moved record needs 'from' (list) and 'to'")
    for source in moved["from"]:
        moves[str(source)] = moved["to"]


def _apply_moves(entries: dict[int, dict[str, Any]], moves: dict[str, str]) -> None:
    """Point every output location at the file its rows live in after all compactions."""

    def final(path: str) -> str:
        seen = set()
        while path in moves and path not in seen:
            seen.add(path)
            path = moves[path]
        return path

    for entry in entries.values():
        for location in entry.get("outputs", {}).values():
            if location.get("path") in moves:
                location["path"] = final(location["path"])


def _amend(path: Path, number: int, header: dict[str, Any], update: Any) -> dict[str, Any]:
    if not isinstance(update, dict):
        raise ManifestCorruptError(path, number, "a header update must be a JSON object")
    amended = {**header, **update}
    try:
        _check_header(path, amended)
    except ManifestCorruptError as exc:
        raise ManifestCorruptError(path, number, exc.reason) from None
    if amended["run_count"] < header["run_count"]:
        raise ManifestCorruptError(path, number, "a header update may not shrink run_count")
    return amended


def _check_entry(path: Path, number: int, entry: Mapping[str, Any], run_count: int) -> None:
    run_id = entry.get("run_id")
    if not isinstance(run_id, int) or isinstance(run_id, bool) or not 0 <= run_id < run_count:
        raise ManifestCorruptError(path, number, f"run_id {run_id!r} outside 0..{run_count - 1}")
    if entry.get("status") not in (OK, FAILED):
        raise ManifestCorruptError(path, number, f"unknown status {entry.get('status')!r}")
    for name, types in _ENTRY_TYPES.items():
        value = entry.get(name)
        if value is None and name in entry and name in _NOT_NULL:
            raise ManifestCorruptError(path, number, f"{name} is null")
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            expected = " or ".join(t.__name__ for t in types)
            raise ManifestCorruptError(path, number, f"{name} {value!r} is not {expected}")
    for key, loc in (entry.get("outputs") or {}).items():
        if not (isinstance(loc, dict) and isinstance(loc.get("path"), str)):
            raise ManifestCorruptError(path, number, f"output {key!r} has no path")
        rows = loc.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise ManifestCorruptError(path, number, f"output {key!r}: rows {rows!r}")


#: Types of an entry's optional fields; null is allowed except for those in _NOT_NULL.
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "overrides": (dict,),
    "outputs": (dict,),
    "started": (str,),
    "ended": (str,),
    "duration_s": (int, float),
    "attempts": (int,),
    "worker": (str,),
    "batch": (str,),
    "error": (str,),
    "log_tail": (str,),
}
_NOT_NULL = frozenset({"overrides", "outputs"})


def encode(record: Mapping[str, Any]) -> bytes:
    """One manifest line: compact JSON, sorted keys, newline-terminated."""
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


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
        """Write a new manifest holding only ``header``; refuses to replace an existing one."""
        tmp = path.with_name(path.name + ".new")
        with open(tmp, "wb") as handle:
            handle.write(encode(header))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise SweepDirError(f"{path}: a manifest already exists") from None
        finally:
            tmp.unlink()
        fsync_dir(path.parent)
        return cls(path, fsync=fsync)

    @classmethod
    def reopen(cls, manifest: Manifest, *, fsync: bool = True) -> ManifestWriter:
        """Append to a loaded manifest, first repairing its tail.

        A torn final line is cut off (truncate to the last complete line, fsync); a
        complete final record that lacks its newline gets one.
        """
        if manifest.torn:
            with open(manifest.path, "r+b") as handle:
                handle.truncate(manifest.valid_bytes)
                handle.flush()
                os.fsync(handle.fileno())
        writer = cls(manifest.path, fsync=fsync)
        if manifest.unterminated:
            writer._write(b"\n")
        return writer

    def record_move(self, sources: list[str], target: str) -> None:
        """Durably record that the rows of ``sources`` now live in ``target``."""
        self.append([{"moved": {"from": list(sources), "to": target}}])

    def update_header(self, changes: Mapping[str, Any]) -> None:
        """Durably amend the header (applied by :meth:`Manifest.load` from here on)."""
        self.append([{"update": dict(changes)}])

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

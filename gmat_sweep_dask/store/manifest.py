"""The sweep manifest: a JSON Lines file, written only by the client.

Line 1 is the header (schema version, script hash, versions, design, run count, seed),
written twice (lines 1 and 2) so that losing either costs nothing; a repeated header is
a no-op. Every further line is one run entry, appended as its result arrives; each
append is flushed and fsync'd. A line with an ``update`` key instead amends the header
from that point on (e.g. an extension raising ``run_count`` and the design), and a line
with a ``moved`` key records that compaction merged some batch files into one, so every
entry pointing at those files now points at the merged file; both are written twice in
a row, and applying one twice changes nothing. The file stays append-only.

Readers fold several entries of one ``run_id`` last-wins. A line that is not JSON (a
write cut short by a crash, a damaged sector) is a lost record: it is skipped and
listed in :attr:`Manifest.lost` (a torn final line is also cut off by the next writer).
Every record is written so that losing any one line costs at most a re-run. A line
that is JSON but not a valid record is an error naming ``path:line``; loading never
modifies the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import ManifestCorruptError, SweepDirError
from gmat_sweep_dask.store import creation
from gmat_sweep_dask.store.jsonlines import Lines
from gmat_sweep_dask.store.pending import PendingRuns
from gmat_sweep_dask.store.records import (
    FAILED,
    MAGIC,
    OK,
    SCHEMA_VERSION,
    check_entry,
    check_header,
    encode,
    is_data_path,
)
from gmat_sweep_dask.store.slim import SLIM_FIELDS, Slimmer, slim

#: Which entries :meth:`Manifest.load` keeps whole: all, those of these run ids, or those
#: a function of the entry picks.
Full = bool | Collection[int] | Callable[[Mapping[str, Any]], bool]

__all__ = ["FAILED", "MAGIC", "OK", "SCHEMA_VERSION", "SLIM_FIELDS", "Manifest", "encode"]

try:  # orjson parses manifests about twice as fast; json is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads


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
    lost: list[int] = field(default_factory=list)

    def add(self, entry: Mapping[str, Any]) -> None:
        """Make ``entry`` the latest entry of its run (slimmed unless this view is full)."""
        self.entries[entry["run_id"]] = dict(entry) if self.full else slim(entry)

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

    def apply_moves(self, moves: Mapping[str, str]) -> None:
        """Point every output location at ``moves[path]`` where its path is a key."""
        _apply_moves(self.entries, dict(moves))

    def pending(self) -> PendingRuns:
        """Ids whose latest entry is not ``ok`` plus ids never recorded, ascending."""
        done = (run_id for run_id, entry in self.entries.items() if entry["status"] == OK)
        return PendingRuns.excluding(self.run_count, done)

    @classmethod
    def load(cls, path: str | Path, *, full: Full = False, fields: Iterable[str] = ()) -> Manifest:
        """Parse ``path``; unreadable lines are skipped as lost, any other bad line raises.

        ``full`` keeps every field of every entry (overrides, timestamps, worker, log), or
        of the entries of the run ids it holds (``{7}``: ``show --run 7``), or of the
        entries it returns True for (a function of the entry: the failed ones...). The
        other entries are slim; ``fields`` names entry fields they keep too (a table of
        every run's ``started``/``ended`` needs those, not every run's overrides).

        Raises:
            SweepDirError: the file does not exist or is not a gmat-sweep-dask manifest.
            ManifestCorruptError: a line is JSON but not a valid record, or no header
                can be read (``path:line``).
        """
        path = Path(path)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; read line by line
        except FileNotFoundError:
            raise creation.no_manifest(path) from None
        except OSError as exc:
            raise SweepDirError(f"{path}: cannot read the manifest: {exc.strerror}") from exc
        with handle:
            lines = Lines(path, handle)
            header, first = _header(path, lines)
            state = _Fold(path, header, full, fields)
            state.lost.extend(range(1, first))
            for number, raw in enumerate(lines, start=first + 1):
                if raw.strip():
                    state.fold_line(number, raw)
        torn, unterminated = bool(lines.tail), False
        if torn:
            # a complete record whose newline never reached the disk still counts
            try:
                state.fold(lines.count + 1, _parse(path, lines.count + 1, lines.tail))
            except ManifestCorruptError:
                pass
            else:
                torn, unterminated = False, True
        header, entries = state.header, state.entries
        if state.moves:
            _apply_moves(entries, state.moves)
        everything = full is True
        return cls(path, header, entries, lines.valid, torn, unterminated, everything, state.lost)


def _header(path: Path, lines: Lines) -> tuple[dict[str, Any], int]:
    """The header and its line number, from the first lines of ``lines``.

    Line 1 is the header. If it cannot be read, line 2 (its copy, in manifests written
    since the header is written twice) stands in for it.
    """
    read = iter(lines)
    line = next(read, None)
    if line is None:
        if lines.tail:
            raise ManifestCorruptError(path, 1, "the header line is incomplete")
        raise SweepDirError(f"{path}: the manifest is empty")
    try:
        header = _parse(path, 1, line)
    except ManifestCorruptError:
        copy = _decode_or_lost(next(read, b""))
        if not (isinstance(copy, dict) and copy.get("format") == MAGIC):
            raise
        header, first = copy, 2
    else:
        first = 1
    check_header(path, header)
    return header, first


class _Fold:
    """The header, entries and moves of the lines read so far."""

    def __init__(
        self, path: Path, header: dict[str, Any], full: Full, fields: Iterable[str] = ()
    ) -> None:
        self.path, self.header, self.full = path, header, full is True
        ids = set() if isinstance(full, bool) or callable(full) else set(full)
        self.keep = full if callable(full) else (lambda record: record["run_id"] in ids)
        self.original = header
        self.entries: dict[int, dict[str, Any]] = {}
        self.moves: dict[str, str] = {}
        self.lost: list[int] = []
        self.slim = Slimmer(fields)

    def fold_line(self, number: int, raw: bytes) -> None:
        """Apply one complete line; a line that is not JSON is noted as lost."""
        record = _decode_or_lost(raw)
        if record is _UNREADABLE:
            self.lost.append(number)
            return
        if not isinstance(record, dict):
            raise ManifestCorruptError(self.path, number, "not a JSON object")
        self.fold(number, record)

    def fold(self, number: int, record: dict[str, Any]) -> None:
        """Apply one line: a header update, a move record, a repeated header, or a run
        entry (last wins).

        Raises:
            ManifestCorruptError: the record is none of these or is malformed.
        """
        if "format" in record:
            if record != self.original:
                raise ManifestCorruptError(self.path, number, "a repeated header differs")
        elif "update" in record:
            self.header = _amend(self.path, number, self.header, record["update"])
        elif "moved" in record:
            _note_move(self.path, number, self.moves, record["moved"])
        else:
            check_entry(self.path, number, record, int(self.header["run_count"]))
            whole = self.full or self.keep(record)
            self.entries[record["run_id"]] = record if whole else self.slim(record)


def _parse(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        record = _decode(raw)
    except ValueError as exc:
        raise ManifestCorruptError(path, number, f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise ManifestCorruptError(path, number, "not a JSON object")
    return record


def _decode(raw: bytes) -> Any:
    """The JSON value of one line.

    Raises:
        ValueError: the line is not JSON (or is nested too deeply to read).
    """
    try:
        return _loads(raw)
    except ValueError as exc:
        first = exc
    try:  # NaN/Infinity tokens (written by older versions) are not JSON, but readable
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(str(first)) from None


_UNREADABLE = object()


def _decode_or_lost(raw: bytes) -> Any:
    """The JSON value of one line, or :data:`_UNREADABLE` when it is not JSON."""
    try:
        return _decode(raw)
    except ValueError:
        return _UNREADABLE


def _note_move(path: Path, number: int, moves: dict[str, str], moved: Any) -> None:
    if (
        not isinstance(moved, dict)
        or not isinstance(moved.get("to"), str)
        or not isinstance(moved.get("from"), list)
    ):
        raise ManifestCorruptError(path, number, "a moved record needs 'from' (list) and 'to'")
    for named in (moved["to"], *moved["from"]):
        if not is_data_path(named):
            raise ManifestCorruptError(path, number, f"moved: {named!r} is not a data file here")
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
        check_header(path, amended)
    except ManifestCorruptError as exc:
        raise ManifestCorruptError(path, number, exc.reason) from None
    if amended["run_count"] < header["run_count"]:
        raise ManifestCorruptError(path, number, "a header update may not shrink run_count")
    return amended

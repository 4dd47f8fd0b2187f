"""Check what is on disk: every data file a sweep's ok runs need is there and intact.

For each data file an ``ok`` entry points at, :func:`check_file` makes sure that it lies
inside the sweep directory (links resolved), exists, starts with Parquet's magic bytes,
has a readable footer, that every page of every row group passes its CRC-32 checksum
when read (``deep``), and that it holds exactly the number of rows of each run the
manifest records; :func:`unrecorded` finds ok entries that lost an output whose rows are
still on disk. A problem is a :class:`Damage` naming the file and the runs it costs;
:func:`verify` (also ``gmat-sweep-dask verify DIR``) reports them all, and a damaged
design table apart, without changing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask.errors import SweepDirError, UsageError
from gmat_sweep_dask.store import layout, snapshot
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.datafiles import open_verified

MISSING = "missing"
#: Times :func:`verify` reads the manifest again to follow files a compaction moved.
_RELOADS = 3
_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Damage:
    """One damaged file: its path relative to the sweep, what is wrong, the runs it costs."""

    path: str
    problem: str
    run_ids: tuple[int, ...]

    def describe(self) -> str:
        """``path: problem; runs 0-7`` (one line)."""
        runs = f"; runs {ranges(self.run_ids)}" if self.run_ids else ""
        return f"{self.path}: {self.problem}{runs}"


@dataclass
class VerifyReport:
    """What :func:`verify` found: files and ok runs checked, every damaged data file,
    and the design's side file if it is damaged."""

    out: Path
    files: int
    runs: int
    damaged: list[Damage] = field(default_factory=list)
    design: Damage | None = None
    """The design's side file (a samples table) when it is damaged: it holds every run's
    parameters, so no frame opens and nothing runs until it is restored."""
    script: list[Damage] = field(default_factory=list)
    """Files of the script snapshot that are gone or changed since they were written:
    the recorded runs are not affected, but nothing more runs until they are restored."""

    @property
    def ok(self) -> bool:
        """Whether nothing is damaged."""
        return not self.damaged and self.design is None and not self.script

    @property
    def run_ids(self) -> list[int]:
        """Every run whose data is damaged, ascending."""
        return sorted({r for damage in self.damaged for r in damage.run_ids})


def needed(manifest: mf.Manifest) -> dict[str, dict[int, int]]:
    """The data files ok runs point at: ``{path: {run_id: rows recorded}}``."""
    files: dict[str, dict[int, int]] = {}
    for run_id, entry in manifest.entries.items():
        if entry["status"] != mf.OK:
            continue
        for location in entry.get("outputs", {}).values():
            files.setdefault(location["path"], {})[run_id] = location["rows"]
    return files


def check_file(
    sweep_dir: Path, path: str, wanted: Mapping[int, int], *, deep: bool = True
) -> Damage | None:
    """The damage of data file ``path`` for the runs ``wanted`` (``{run_id: rows}``), if any.

    ``deep`` reads every column of every row group (so every page's checksum is
    verified); otherwise only the ``run_id`` column is read to count rows. A row group
    that cannot be read costs the wanted runs its ``run_id`` statistics cover.
    """
    every = tuple(sorted(wanted))
    try:
        target = confined(sweep_dir, path, what="data file")
    except SweepDirError as exc:
        return Damage(path, str(exc).split(": ", 1)[-1], every)
    if not target.is_file():
        return Damage(path, MISSING, every)
    try:
        handle = open_verified(target)
        metadata = handle.metadata
        with open(target, "rb") as raw:
            head = raw.read(len(_MAGIC))
    except (OSError, pa.ArrowException) as exc:
        return Damage(path, f"unreadable: {read_error(exc)}", every)
    if head != _MAGIC:  # readers look at the footer only, but it is no Parquet file now
        return Damage(path, f"damaged: its first bytes are {head!r}, not {_MAGIC!r}", every)
    column = handle.schema_arrow.get_field_index("run_id")
    if column < 0:
        return Damage(path, "has no run_id column", every)
    counts: Counter[int] = Counter()
    lost: set[int] = set()
    problems = []
    for group in range(metadata.num_row_groups):
        try:
            table = handle.read_row_group(group, columns=None if deep else ["run_id"])
        except (OSError, pa.ArrowException) as exc:
            problems.append(f"row group {group}: {read_error(exc)}")
            lo, hi = _bounds(metadata, group, column)
            lost |= {r for r in wanted if lo <= r <= hi}
            continue
        ids, rows = np.unique(table["run_id"].to_numpy(), return_counts=True)
        counts.update(dict(zip(ids.tolist(), rows.tolist(), strict=True)))
    wrong = sorted(r for r, rows in wanted.items() if r not in lost and counts[r] != rows)
    if wrong:
        first = wrong[0]
        problems.append(
            f"holds {counts[first]} rows of run {first} where the manifest records "
            f"{wanted[first]}" + (f" (and {len(wrong) - 1} more runs differ)" if wrong[1:] else "")
        )
    if not problems:
        return None
    return Damage(path, "; ".join(problems), tuple(sorted(lost | set(wrong))))


def check_files(
    sweep_dir: Path, files: Mapping[str, Mapping[int, int]], *, deep: bool = True
) -> list[Damage]:
    """:func:`check_file` of every file in ``files`` (see :func:`needed`); the damaged ones."""
    found = (check_file(sweep_dir, path, wanted, deep=deep) for path, wanted in files.items())
    return [damage for damage in found if damage is not None and damage.run_ids]


def verify(out: str | Path) -> VerifyReport:
    """Check every file the frames of the sweep in ``out`` need; change nothing.

    Checks each data file an ok run points at (see :func:`check_file`, reading every
    page) and the design's side file (a samples table). A sweep a driver is still
    running verifies too: a file found missing is looked for again where the manifest,
    read once more, records it now (a compaction moves runs into merged files and then
    deletes the batch files); runs recorded meanwhile are checked as well.

    Raises:
        SweepDirError: ``out`` holds no sweep.
        ManifestCorruptError: the manifest cannot be read.
    """
    from gmat_sweep_dask.store.sweepdir import SweepDir

    sweep = SweepDir(out)
    manifest = sweep.load()
    files = needed(manifest)
    damaged = check_files(sweep.path, files)
    for _ in range(_RELOADS):
        if not any(damage.problem == MISSING for damage in damaged):
            break
        manifest = sweep.load()  # moved by a compaction since it was read?
        now = needed(manifest)
        if now == files:
            break
        found = {damage.path: damage for damage in damaged}
        fresh = {path: wanted for path, wanted in now.items() if files.get(path) != wanted}
        damaged = [found[p] for p in now if p in found and p not in fresh]
        damaged += check_files(sweep.path, fresh)
        files = now
    damaged += unrecorded(sweep.path, manifest)
    runs = len({r for wanted in files.values() for r in wanted})
    report = VerifyReport(sweep.path, len(files), runs, damaged)
    try:
        sweep.design(manifest)
    except UsageError as exc:
        design = manifest.header.get("design")
        where = str((design.get("path") if isinstance(design, dict) else None) or "design")
        said = str(exc)
        for prefix in (f"{sweep.path / where}: ", f"{sweep.path}: "):
            said = said.removeprefix(prefix)
        report.design = Damage(where, said, ())
    recorded = manifest.header.get("snapshot")
    for found in snapshot.damaged(recorded, sweep.path) if isinstance(recorded, dict) else []:
        path, _, what = found.rpartition(" (")
        problem = MISSING if what == "missing)" else "changed since it was written"
        report.script.append(Damage(path, problem, ()))
    return report


def unrecorded(
    sweep_dir: Path, manifest: mf.Manifest, keys: Iterable[str] | None = None
) -> list[Damage]:
    """Data files holding rows of ok runs whose entries name no such output (``keys``:
    these outputs only, ``"report/Orbit"``...): a damaged or edited entry (``outputs: {}``)
    that would leave those runs out of the frame. Every run of a script writes each of
    its outputs, so a run lacking one is suspect only where its rows are found."""
    ok = {r: e.get("outputs") or {} for r, e in manifest.entries.items() if e["status"] == mf.OK}
    files: dict[str, set[str]] = {}
    for outputs in ok.values():
        for key, location in outputs.items():
            files.setdefault(key, set()).add(location["path"])
    damaged = []
    for key in sorted(files if keys is None else files.keys() & set(keys)):
        lacking = np.array(sorted(r for r, outputs in ok.items() if key not in outputs))
        if len(lacking):  # the files no entry points at too: compaction would remove them
            found = (sweep_dir / layout.DATA / key).glob("*.parquet")
            files[key].update(p.relative_to(sweep_dir).as_posix() for p in found)
        for path in sorted(files[key]) if len(lacking) else ():
            found = _rows_of(sweep_dir, path, lacking.astype(np.int64))
            if found:
                problem = f"holds rows of runs recorded ok whose entries name no {key} output"
                damaged.append(Damage(path, f"{problem} (damaged or edited entries)", found))
    return damaged


def _rows_of(sweep_dir: Path, path: str, ids: np.ndarray) -> tuple[int, ...]:
    """Which of the sorted ``ids`` have rows in data file ``path`` (an unreadable file:
    none, :func:`check_file` reports it)."""
    found: set[int] = set()
    try:
        handle = open_verified(confined(sweep_dir, path, what="data file"))
        column = handle.schema_arrow.get_field_index("run_id")
        for group in range(handle.metadata.num_row_groups):
            lo, hi = _bounds(handle.metadata, group, column)
            if ((ids >= lo) & (ids <= hi)).any():
                present = handle.read_row_group(group, columns=["run_id"])["run_id"]
                found.update(np.intersect1d(ids, present.to_numpy()).tolist())
    except (OSError, pa.ArrowException, SweepDirError):
        return ()
    return tuple(sorted(found))


def read_error(exc: BaseException) -> str:
    """A short reason for a failed read of a data file."""
    if isinstance(exc, FileNotFoundError):
        return MISSING
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "crc" in text.lower() or "checksum" in text.lower():
        return f"page checksum mismatch ({text})"
    return text


def ranges(run_ids: Iterable[int]) -> str:
    """``0-7, 9, 12-15`` for the ids given (any order)."""
    ids = sorted(set(run_ids))
    parts, start = [], None
    for i, run_id in enumerate(ids):
        if start is None:
            start = run_id
        if i + 1 == len(ids) or ids[i + 1] != run_id + 1:
            parts.append(str(start) if start == run_id else f"{start}-{run_id}")
            start = None
    return ", ".join(parts)


def _bounds(metadata: pq.FileMetaData, group: int, column: int) -> tuple[int, int]:
    """The run_id range of one row group from its statistics (everything if unknown)."""
    stats = metadata.row_group(group).column(column).statistics
    if stats is not None and stats.has_min_max:
        return int(stats.min), int(stats.max)
    return np.iinfo(np.int64).min, np.iinfo(np.int64).max

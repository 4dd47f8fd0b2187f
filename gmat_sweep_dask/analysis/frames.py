"""Lazy ``dask.dataframe`` views of a sweep's outputs, built from the manifest and footers.

A frame has index ``run_id`` with known divisions, the output's key column (``time`` for
reports and ephemerides, ``interval_id`` for contacts, ``solver`` then ``iteration`` for
solver histories), its data columns (one named ``status`` becomes ``<kind>_status``), a
``status`` column and one column per swept field (``param:<field>`` on a name clash). Rows
are sorted by ``(run_id, key)``. A run without rows (failed, ok with zero rows, or never
recorded when asked for) is one row with a missing key and its status, never absent.

Opening reads the manifest and each referenced file's footer; the schema is their union
(``datafiles.unify``: a column a file lacks is null there, int and float unify to float64,
other conflicts to string). The frame is ``dask.dataframe.from_map`` over the partitions,
with public dask behaviour only: partitions hold whole runs and are cut at row-group
starts; each reads only its row groups and the columns dask projects (the reader takes
``columns=``); ``frame.loc[...]`` by ``run_id`` (element, list or slice) reads only the
partitions whose divisions hold those runs. Dask projects ``frame[cols].loc[rows]`` and
``frame.loc[rows][cols]``, but not ``frame.loc[rows, cols]``, which reads every column.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask.analysis.partitions import (
    MISSING,
    SOLVER,
    FileInfo,
    PartitionReader,
    PartitionSpec,
    unreadable,
)
from gmat_sweep_dask.design import Design, design_from_header
from gmat_sweep_dask.errors import SweepDirError, UsageError
from gmat_sweep_dask.store import archive, layout
from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.verify import unrecorded


def output_names(manifest: mf.Manifest, kind: str) -> list[str]:
    """Names of the outputs of ``kind`` that at least one run wrote, sorted."""
    names = {
        key.split("/", 1)[1]
        for entry in manifest.entries.values()
        for key in entry.get("outputs", {})
        if key.startswith(kind + "/")
    }
    return sorted(names)


def open_frame(
    manifest: mf.Manifest,
    design: Design,
    *,
    kind: str = "report",
    name: str | None = None,
    include_missing: bool = False,
    max_partition_rows: int = 1_000_000,
    max_partition_runs: int = 2_000,
    partition_rows: int = 100_000,
) -> dd.DataFrame:
    """Build the lazy frame of one output of ``kind`` (every solver when ``kind="solver"``).

    ``name`` may be omitted when the sweep wrote exactly one output of that kind. Runs
    never recorded in the manifest are left out unless ``include_missing``. A partition is
    closed at the first row-group boundary once it holds ``partition_rows`` rows, and in
    any case before it exceeds ``max_partition_rows`` rows or ``max_partition_runs`` runs.

    Raises:
        UsageError: ``name`` is unknown, or omitted while several outputs exist.
        SweepDirError: a data file the manifest points at cannot be read.
    """
    names = output_names(manifest, kind)
    if name is not None and name not in names:
        raise UsageError(f"no {kind} named {name!r} in this sweep; it wrote {names or 'none'}")
    if name is None and kind != SOLVER and len(names) > 1:
        raise UsageError(f"the sweep wrote several {kind}s {names}; pick one with report=")
    chosen = [name] if name is not None else names if kind == SOLVER else names[:1]
    keys = [f"{kind}/{n}" for n in chosen]
    sweep_dir = manifest.path.parent.resolve()
    paths = {
        loc["path"]
        for e in manifest.entries.values()
        if e["status"] == mf.OK
        for loc in (e.get("outputs", {}).get(k) for k in keys)
        if loc and loc["rows"] > 0
    }
    files = _survey(sweep_dir, sorted(paths))
    _check_recorded(manifest, keys, sweep_dir)
    limits = (partition_rows, max_partition_rows, max_partition_runs)
    specs = _partition(manifest, keys, files, include_missing, limits)
    specs = specs or [PartitionSpec(0, 1, (), ())]
    reader = PartitionReader(str(sweep_dir), design, kind, files)
    label = f"gmat-{chosen[0] if len(chosen) == 1 else kind}"
    return dd.from_map(reader, specs, meta=reader.meta, divisions=divisions(specs), label=label)


def open_sweep(out: str | Path, report: str | None = None, *, kind: str = "report") -> dd.DataFrame:
    """Lazy frame of a sweep directory's outputs (finished, partial or running).

    ``out`` is the sweep directory (or its manifest file); it may have been moved or
    copied, and the script need not exist any more. ``kind`` is ``report``,
    ``ephemeris``, ``contact``, ``solver`` or ``metrics`` (a postprocess hook's). Only the
    manifest and Parquet footers are read here; runs never recorded are left out.

    ``out`` may also be an archive of :func:`gmat_sweep_dask.archive` (``.zip``,
    ``.tar``, ``.tar.gz``, ``.tgz``): it is extracted, every member confined, into a
    private temporary directory that is removed with the last frame reading it
    (:func:`remove_with`).
    """
    path = Path(out).expanduser()
    if archive.archive_format(path) and path.is_file():
        unpacked = Path(tempfile.mkdtemp(prefix="gmat-sweep-dask-archive-"))
        try:
            archive.unpack(path, unpacked)
            return remove_with(open_sweep(unpacked, report, kind=kind), unpacked)
        except BaseException:
            shutil.rmtree(unpacked, ignore_errors=True)
            raise
    sweep_dir = path.parent if path.name == layout.MANIFEST else path
    for attempt in range(3):
        manifest = mf.Manifest.load(sweep_dir / layout.MANIFEST)
        design = design_from_header(
            manifest.header["design"], sweep_dir.resolve(), manifest.run_count
        )
        try:
            return open_frame(manifest, design, kind=kind, name=report)
        except SweepDirError:  # a compaction may have merged a file since: read it again
            grown = (sweep_dir / layout.MANIFEST).stat().st_size > manifest.valid_bytes
            if attempt == 2 or not grown:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _check_recorded(manifest: mf.Manifest, keys: list[str], sweep_dir: Path) -> None:
    """Refuse a frame that would leave out rows of ok runs whose entries lost an output."""
    if not any(
        k not in (e.get("outputs") or {})
        for e in manifest.entries.values()
        if e["status"] == mf.OK
        for k in keys
    ):
        return
    for damage in unrecorded(sweep_dir, manifest, keys):
        raise SweepDirError(
            f"{sweep_dir / damage.path}: {damage.describe().split(': ', 1)[1]}; `gmat-sweep-dask "
            f"verify {sweep_dir}` lists the damage, `resume` runs those runs again"
        )


def _survey(sweep_dir: Path, paths: list[str]) -> dict[str, FileInfo]:
    def footer(path: str) -> FileInfo:
        try:  # SweepDirError if the path (or a link on its way) leads outside
            metadata = pq.read_metadata(confined(sweep_dir, path, what="data file"))
        except (OSError, pa.ArrowException) as exc:
            raise SweepDirError(unreadable(sweep_dir, path, exc)) from None
        schema = metadata.schema.to_arrow_schema()
        column = schema.get_field_index("run_id")
        bounds = []
        for i in range(metadata.num_row_groups):
            stats = metadata.row_group(i).column(column).statistics
            known = stats is not None and stats.has_min_max
            bounds.append((stats.min, stats.max) if known else (0, np.iinfo(np.int64).max))
        lo, hi = np.array(bounds, dtype=np.int64).reshape(-1, 2).T
        return FileInfo(schema, outputs.meta_of(schema), lo, hi)

    return {path: footer(path) for path in paths}


def _groups(info: FileInfo, ids: np.ndarray) -> tuple[int, ...]:
    """Row groups of a file whose run_id range holds at least one of the sorted ``ids``."""
    at = np.searchsorted(ids, info.lo)
    hit = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] <= info.hi)
    return tuple(int(g) for g in np.flatnonzero(hit))


def _spec(
    start: int, stop: int, ids: dict[str, list[int]], markers: list, files: dict[str, FileInfo]
) -> PartitionSpec:
    reads = []
    for path, run_ids in ids.items():
        sorted_ids = np.unique(np.asarray(run_ids, dtype=np.int64))
        groups = _groups(files[path], sorted_ids)
        reads.append((path, tuple(int(i) for i in sorted_ids), groups))
    return PartitionSpec(start, stop, tuple(reads), tuple(markers))


def _partition(
    manifest: mf.Manifest,
    keys: list[str],
    files: dict[str, FileInfo],
    include_missing: bool,
    limits: tuple[int, int, int],
) -> list[PartitionSpec]:
    """Group runs in id order into partitions cut at row-group starts, within the limits."""
    target, max_rows, max_runs = limits
    breaks = {int(lo) for info in files.values() for lo in info.lo}
    specs: list[PartitionSpec] = []
    ids: dict[str, list[int]] = {}
    markers: list[tuple[int, str]] = []
    start, rows, runs = None, 0, 0
    for run_id in range(manifest.run_count):
        entry = manifest.entries.get(run_id)
        if entry is None and not include_missing:
            continue
        ok = entry is not None and entry["status"] == mf.OK
        found = (entry.get("outputs", {}).get(k) for k in keys) if ok else ()
        located = [loc for loc in found if loc and loc["rows"] > 0]
        if start is not None and (
            rows >= max_rows
            or runs >= max_runs
            or len(ids) >= 64
            or (rows >= target and run_id in breaks)
        ):
            specs.append(_spec(start, run_id, ids, markers, files))
            ids, markers, start, rows, runs = {}, [], None, 0, 0
        start = run_id if start is None else start
        runs += 1
        for loc in located:
            ids.setdefault(loc["path"], []).append(run_id)
            rows += loc["rows"]
        if not located:
            markers.append((run_id, entry["status"] if entry else MISSING))
            rows += 1
    if start is not None:
        specs.append(_spec(start, manifest.run_count, ids, markers, files))
    return specs


def source(frame: dd.DataFrame | dd.Series) -> PartitionReader:
    """The reader of the sweep output a frame, or anything derived from it, reads.

    Found by walking the frame's expression graph (``frame.expr.walk()``) for the
    ``from_map`` that calls a :class:`PartitionReader`.

    Raises:
        UsageError: ``frame`` does not read a sweep output (it was not opened by us).
    """
    for expr in frame.expr.walk():
        for operand in expr.operands:
            if isinstance(operand, PartitionReader):
                return operand
    raise UsageError("not a gmat-sweep-dask frame: open it with open_sweep() or sweep()")


def remove_with(frame: dd.DataFrame, path: Path) -> dd.DataFrame:
    """``frame``, with the directory ``path`` removed once neither it nor any frame
    derived from it (they share its reader) is left, at the latest at exit."""
    weakref.finalize(source(frame), shutil.rmtree, str(path), True)
    return frame


def sweep_path(frame: dd.DataFrame | dd.Series) -> Path:
    """The sweep directory ``frame`` (or anything derived from it) reads: e.g. the
    temporary one of ``sweep(..., out=None)``.

    Raises:
        UsageError: ``frame`` does not read a sweep output.
    """
    return Path(source(frame).sweep_dir)


def divisions(specs: list[PartitionSpec]) -> tuple[int, ...]:
    """Divisions of a frame whose partitions are ``specs`` (first run of each, last run)."""
    return (*(s.start for s in specs), specs[-1].stop - 1)

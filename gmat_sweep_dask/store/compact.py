"""Consolidate a sweep's many small batch files into few large, sorted Parquet files.

Workers write one file per batch (1 to a few hundred runs). Compaction merges the small
files of each output, in ``run_id`` order, into files of up to ``target_rows`` rows,
sorted by ``(run_id, key)`` with row groups of about ``row_group_rows`` rows that never
split a run, so DuckDB, Polars and pyarrow read ``data/<kind>/<Name>/*.parquet`` directly
and one run's rows sit in exactly one row group. Large files are never rewritten.

It is crash-safe, all-or-nothing and incremental, in three steps: (1) every merged file
is written beside the others and renamed into place, fsync'd (:mod:`.merge`); if any
merge fails (a damaged source, a full disk) the merged files written so far are removed
and the error is raised with the directory as it was; (2) the manifest records all moves
in one fsync'd write; (3) only then are the sources deleted. Files no manifest entry
points at (left by a crash at any step, or by a retried batch) are removed afterwards.
Every path is checked to lie inside the sweep directory before it is read, written or
deleted; a file behind a link leading out is never touched.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.merge import Merge, merge
from gmat_sweep_dask.store.reconcile import reconcile
from gmat_sweep_dask.store.reindex import missing_files, reindex
from gmat_sweep_dask.store.sweepdir import SweepDir
from gmat_sweep_dask.store.verify import unrecorded

COMPACT_PREFIX = "compact-"

__all__ = ["COMPACT_PREFIX", "CompactReport", "Merge", "compact", "compact_dir", "plan"]


@dataclass
class CompactReport:
    """What a compaction did."""

    merged_files: int = 0
    written_files: int = 0
    removed_orphans: int = 0


def plan(manifest: mf.Manifest, *, target_rows: int, row_group_rows: int) -> list[Merge]:
    """Group each output's small batch files, in run order, into merges of ~target_rows."""
    sweep_dir = manifest.path.parent.resolve()
    files: dict[str, dict[str, list[int]]] = {}
    rows: dict[str, int] = {}
    for run_id, entry in sorted(manifest.entries.items()):
        if entry.get("status") != mf.OK and not entry.get("outputs"):
            continue  # a failed run keeps outputs when only its postprocess hook failed
        for output, location in entry.get("outputs", {}).items():
            files.setdefault(output, {}).setdefault(location["path"], []).append(run_id)
            rows[location["path"]] = rows.get(location["path"], 0) + location["rows"]
    merges = []
    for output, by_file in files.items():
        small = [f for f in by_file if not Path(f).name.startswith(COMPACT_PREFIX)]
        small.sort(key=lambda f: by_file[f][0])
        groups: list[list[str]] = [[]]
        size = 0
        for path in small:
            groups[-1].append(path)
            size += rows[path]
            if size >= target_rows:
                groups.append([])
                size = 0
        for group in groups:
            if len(group) < 2:
                continue
            target = f"{COMPACT_PREFIX}{by_file[group[0]][0]:09d}-{uuid.uuid4().hex[:10]}.parquet"
            sources = tuple((f, tuple(by_file[f])) for f in group)
            size = sum(rows[f] for f in group)
            merges.append(Merge(str(sweep_dir), output, sources, target, row_group_rows, size))
    return merges


def compact(
    manifest: mf.Manifest,
    writer: ManifestWriter,
    *,
    client: Any = None,
    target_rows: int = 4_000_000,
    row_group_rows: int = 131_072,
    local_rows: int = 2_000_000,
) -> CompactReport:
    """Merge small batch files and drop orphans; the caller holds the sweep lock.

    Merges run as Dask tasks on ``client`` when given and there is more than
    ``local_rows`` rows to merge (below that, task overhead dominates), else here.

    Raises:
        SweepDirError: a source is missing, damaged or leads outside the sweep directory;
            nothing was changed.
        SweepDirWriteError: a merged file or the manifest could not be written (disk
            full...); nothing was changed.
    """
    report = CompactReport()
    jobs = plan(manifest, target_rows=target_rows, row_group_rows=row_group_rows)
    sweep_dir = manifest.path.parent.resolve()
    checked = {  # refuse before anything is written
        path: confined(sweep_dir, path, what="data file") for job in jobs for path, _ in job.sources
    }
    targets = _merge_all(sweep_dir, jobs, client, local_rows)
    moves = [([path for path, _ in job.sources], t) for job, t in zip(jobs, targets, strict=True)]
    try:
        writer.record_moves(moves)
    except BaseException:
        _remove(sweep_dir, targets)
        raise
    manifest.apply_moves({source: target for sources, target in moves for source in sources})
    for sources, _ in moves:
        for path in sources:
            checked[path].unlink(missing_ok=True)
        report.merged_files += len(sources)
        report.written_files += 1
    report.removed_orphans = remove_orphans(manifest)
    return report


def _merge_all(sweep_dir: Path, jobs: list[Merge], client: Any, local_rows: int) -> list[str]:
    """Run every merge; if one fails, remove the files the others wrote and raise."""
    written: list[str] = []
    failure: BaseException | None = None
    if client is not None and len(jobs) > 1 and sum(j.rows for j in jobs) > local_rows:
        from distributed import wait

        futures = client.map(merge, jobs, pure=False)
        wait(futures)
        for future in futures:
            try:
                written.append(future.result())
            except Exception as exc:
                failure = failure or exc
    else:
        for job in jobs:
            try:
                written.append(merge(job))
            except BaseException as exc:
                failure = exc
                break
    if failure is not None:
        _remove(sweep_dir, written)
        raise failure
    return written


def _remove(sweep_dir: Path, paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError, SweepDirError):
            confined(sweep_dir, path, what="merged file").unlink(missing_ok=True)


def remove_orphans(manifest: mf.Manifest) -> int:
    """Delete data files no entry points at (crash leftovers, retried batches).

    A file whose path leads outside the sweep directory (through a link) is left alone.
    """
    sweep_dir = manifest.path.parent.resolve()
    referenced = {
        location["path"]
        for entry in manifest.entries.values()
        for location in entry.get("outputs", {}).values()
    }
    removed = 0
    data = sweep_dir / layout.DATA
    for path in [*data.glob("*/*/*.parquet"), *data.glob("*/*/.*.tmp")]:
        relative = path.relative_to(sweep_dir).as_posix()
        if relative in referenced or (path.is_dir() and not path.is_symlink()):
            continue  # a directory under a data file's name is not ours to remove
        try:
            confined(sweep_dir, relative, what="data file").unlink(missing_ok=True)
        except SweepDirError:
            continue
        removed += 1
    for transient in (layout.OUTCOMES, layout.ATTEMPTS):
        with contextlib.suppress(OSError):  # absent, or holds records still to reconcile
            (sweep_dir / transient).rmdir()
    return removed


def compact_dir(sweep_dir: str | Path) -> CompactReport:
    """Take the sweep's lock, fold in unrecorded batches, and compact it in this process.

    Ok runs whose data file is gone are first looked up in the data files (a lost
    moved record), so their rows are not removed as orphans.

    Raises:
        SweepDirError: a data file holds rows of ok runs whose entries name no such
            output (:func:`~.verify.unrecorded`): merging would drop them.
    """
    sweep = SweepDir(sweep_dir)
    sweep.load()  # a clear error before taking the lock
    with sweep.locked():
        manifest = sweep.load()
        writer = ManifestWriter.reopen(manifest)
        try:
            reconcile(manifest, writer)
            lost = missing_files(manifest)
            if lost:
                reindex(manifest, writer, lost)
            for damage in unrecorded(sweep.path, manifest):  # compaction would drop the rows
                raise SweepDirError(
                    f"{sweep.path / damage.path}: {damage.describe().split(': ', 1)[1]}; "
                    f"`gmat-sweep-dask resume {sweep.path}` runs them again, then compact"
                )
            return compact(manifest, writer)
        finally:
            writer.close()

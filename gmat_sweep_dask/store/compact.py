"""Consolidate a sweep's many small batch files into few large, sorted Parquet files.

Workers write one file per batch (1 to a few hundred runs). Compaction merges the small
files of each output, in ``run_id`` order, into files of up to ``target_rows`` rows,
sorted by ``(run_id, key)`` with row groups of about ``row_group_rows`` rows that never
split a run, so DuckDB, Polars and pyarrow read ``data/<kind>/<Name>/*.parquet`` directly
and one run's rows sit in exactly one row group. It is crash-safe and incremental: a
merged file is written beside the others and renamed into place, the manifest then
records the move (fsync'd), and only then are the sources deleted; files no manifest
entry points at (left by a crash at any step, or by a retried batch) are removed
afterwards. Large files are never rewritten.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.durable import writing
from gmat_sweep_dask.store.lock import SweepLock
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.reconcile import reconcile

COMPACT_PREFIX = "compact-"


@dataclass(frozen=True)
class Merge:
    """One merge job: the runs to take from each source file, and the target file name."""

    sweep_dir: str
    output: str
    sources: tuple[tuple[str, tuple[int, ...]], ...]
    target: str
    row_group_rows: int
    rows: int


@dataclass
class CompactReport:
    """What a compaction did."""

    merged_files: int = 0
    written_files: int = 0
    removed_orphans: int = 0


def plan(manifest: mf.Manifest, *, target_rows: int, row_group_rows: int) -> list[Merge]:
    """Group each output's small batch files, in run order, into merges of ~target_rows."""
    sweep_dir = manifest.path.parent
    files: dict[str, dict[str, list[int]]] = {}
    rows: dict[str, int] = {}
    for run_id, entry in sorted(manifest.entries.items()):
        if entry.get("status") != mf.OK:
            continue
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


def merge(job: Merge) -> str:
    """Write the merged file of ``job`` (atomically); return its path relative to the sweep."""
    sweep_dir = Path(job.sweep_dir)
    tables, metas = [], []
    for path, run_ids in job.sources:
        table = pq.ParquetFile(sweep_dir / path).read(use_threads=False)
        wanted = pa.array(run_ids, type=pa.int64())
        if not pc.all(pc.is_in(pc.unique(table["run_id"]), value_set=wanted)).as_py():
            table = table.filter(pc.is_in(table["run_id"], value_set=wanted))  # runs redone
        tables.append(table)
        metas.append(outputs.meta_of(table.schema))
    schema = outputs.unify(t.schema for t in tables)
    table = pa.concat_tables([outputs.conform(t, schema) for t in tables])
    key = metas[0].get("key")
    order = [("run_id", "ascending")] + ([(key, "ascending")] if key in table.column_names else [])
    table = table.sort_by(order)
    meta = outputs.merge_meta(metas)
    table = table.replace_schema_metadata({outputs.META_KEY: outputs.json_bytes(meta)})
    directory = sweep_dir / Path(job.sources[0][0]).parent
    final = directory / job.target
    # always durable: the sources are deleted once the move is recorded
    with writing(final) as tmp, pq.ParquetWriter(tmp, table.schema) as writer:
        for start, stop in _run_aligned_groups(table["run_id"], job.row_group_rows):
            writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)
    return str(final.relative_to(sweep_dir))


def _run_aligned_groups(run_ids: pa.ChunkedArray, target: int) -> list[tuple[int, int]]:
    """Row ranges of about ``target`` rows that never split one run's rows (sorted ids)."""
    ids = run_ids.to_numpy()
    if len(ids) == 0:
        return [(0, 0)]
    starts = np.flatnonzero(np.diff(ids)) + 1  # first row of every run but the first
    groups, begin = [], 0
    for boundary in starts:
        if boundary - begin >= target:
            groups.append((begin, int(boundary)))
            begin = int(boundary)
    groups.append((begin, len(ids)))
    return groups


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
    """
    report = CompactReport()
    jobs = plan(manifest, target_rows=target_rows, row_group_rows=row_group_rows)
    if client is not None and len(jobs) > 1 and sum(j.rows for j in jobs) > local_rows:
        targets = client.gather(client.map(merge, jobs, pure=False))
    else:
        targets = [merge(job) for job in jobs]
    sweep_dir = manifest.path.parent
    for job, target in zip(jobs, targets, strict=True):
        sources = [path for path, _ in job.sources]
        writer.record_move(sources, target)
        moved = set(sources)
        for entry in manifest.entries.values():
            location = entry.get("outputs", {}).get(job.output)
            if location and location["path"] in moved:
                location["path"] = target
        for path in sources:
            (sweep_dir / path).unlink(missing_ok=True)
        report.merged_files += len(sources)
        report.written_files += 1
    report.removed_orphans = remove_orphans(manifest)
    return report


def remove_orphans(manifest: mf.Manifest) -> int:
    """Delete data files no entry points at (crash leftovers, retried batches)."""
    sweep_dir = manifest.path.parent
    referenced = {
        location["path"]
        for entry in manifest.entries.values()
        for location in entry.get("outputs", {}).values()
    }
    removed = 0
    data = sweep_dir / layout.DATA
    for path in data.glob("*/*/*.parquet"):
        if str(path.relative_to(sweep_dir)) not in referenced:
            path.unlink(missing_ok=True)
            removed += 1
    for path in data.glob("*/*/.*.tmp"):
        path.unlink(missing_ok=True)
        removed += 1
    for transient in (layout.OUTCOMES, layout.ATTEMPTS):
        with contextlib.suppress(OSError):  # absent, or holds records still to reconcile
            (sweep_dir / transient).rmdir()
    return removed


def compact_dir(sweep_dir: str | Path) -> CompactReport:
    """Take the sweep's lock, fold in unrecorded batches, and compact it in this process."""
    path = Path(sweep_dir).expanduser()
    if path.name == layout.MANIFEST:
        path = path.parent
    mf.Manifest.load(path / layout.MANIFEST)  # a clear error before taking the lock
    with SweepLock(path):
        manifest = mf.Manifest.load(path / layout.MANIFEST)
        writer = ManifestWriter.reopen(manifest)
        try:
            reconcile(manifest, writer)
            return compact(manifest, writer)
        finally:
            writer.close()

"""One compaction merge: several batch files of an output into one sorted file.

Sources are read with every page's checksum verified; the merged file is written with
page checksums, beside its final name, fsync'd and renamed into place. A merge either
leaves its complete file or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmat_sweep_dask.errors import SweepDirError, SweepDirWriteError
from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import writing
from gmat_sweep_dask.store.verify import read_error


@dataclass(frozen=True)
class Merge:
    """One merge job: the runs to take from each source file, and the target file name."""

    sweep_dir: str
    output: str
    sources: tuple[tuple[str, tuple[int, ...]], ...]
    target: str
    row_group_rows: int
    rows: int

    def target_path(self) -> str:
        """The merged file's path relative to the sweep (beside the first source)."""
        return str(PurePosixPath(self.sources[0][0]).parent / self.target)


def merge(job: Merge) -> str:
    """Write the merged file of ``job`` (atomically); return its path relative to the sweep.

    Raises:
        SweepDirError: a source is missing, unreadable, fails a page checksum, or leads
            outside the sweep directory (named, with the command that repairs it).
        SweepDirWriteError: the merged file cannot be written (e.g. the disk is full);
            nothing of it is left behind.
    """
    sweep_dir = Path(job.sweep_dir)
    tables, metas = [], []
    for path, run_ids in job.sources:
        table = _read(sweep_dir, path)
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
    relative = job.target_path()
    final = confined(sweep_dir, relative, what="merged file")
    try:  # always durable: the sources are deleted once the move is recorded
        with writing(final) as tmp, outputs.parquet_writer(tmp, table.schema) as writer:
            for start, stop in _run_aligned_groups(table["run_id"], job.row_group_rows):
                writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)
    except OSError as exc:
        raise SweepDirWriteError(f"cannot write {final}: {exc.strerror or exc}") from None
    return relative


def _read(sweep_dir: Path, path: str) -> pa.Table:
    try:
        handle = outputs.open_verified(confined(sweep_dir, path, what="data file"))
        return handle.read(use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise SweepDirError(
            f"{sweep_dir / path}: {read_error(exc)}; `gmat-sweep-dask resume {sweep_dir}` "
            "runs its runs again"
        ) from None


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

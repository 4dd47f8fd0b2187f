"""What one partition of a sweep frame reads, and the reader that reads it.

A partition covers runs ``start..stop-1``: the row groups of the data files that hold
them (:class:`PartitionSpec`) and one marker row per run without rows. The reader
(:class:`PartitionReader`) reads only those row groups and the projected columns, unifies
schemas across files, adds marker rows and the runs' parameter columns, and returns the
rows sorted by ``(run_id, key)``. Every file is checked to lie inside the sweep directory
when it is read, and every page read is checked against its checksum; a file that fails
either is a :class:`~gmat_sweep_dask.errors.SweepDirError` naming it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gmat_sweep_dask.design import Design
from gmat_sweep_dask.design.base import as_text
from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.verify import read_error

STATUS = "status"
PARAM_PREFIX = "param:"
MISSING = "missing"
SOLVER = "solver"
#: One file read of a partition: (path, run ids taken from it, row groups to read).
FileRead = tuple[str, tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class PartitionSpec:
    """Runs ``start..stop-1``: which row groups of which files hold them, which are markers."""

    start: int
    stop: int
    files: tuple[FileRead, ...]
    markers: tuple[tuple[int, str], ...]

    def __dask_tokenize__(self) -> tuple:
        """Unique among the partitions of one frame (whose reader's token is unique), and
        cheap: dask tokenizes every partition each time it rebuilds the frame's read."""
        reads = tuple((path, len(ids), groups) for path, ids, groups in self.files)
        return (self.start, self.stop, reads, len(self.markers))


@dataclass(frozen=True)
class FileInfo:
    """Footer facts of one data file: Arrow schema, our metadata, run_id range per row group."""

    schema: pa.Schema
    meta: dict[str, Any]
    lo: np.ndarray
    hi: np.ndarray


class PartitionReader:
    """Reads one :class:`PartitionSpec` into a pandas frame matching :attr:`meta`.

    Its ``columns=`` argument lets dask push column projection down to the Parquet read
    (``dask.dataframe.from_map`` does so for a function taking ``columns=``). Only the row
    groups listed in the spec are read (``ParquetFile.read_row_groups``). ``file_meta`` is
    the files' gmat-sweep-dask metadata merged by ``datafiles.merge_meta``: the time
    column's source and scale, the other epoch columns' scales.
    """

    def __init__(
        self, sweep_dir: str, design: Design, kind: str, files: dict[str, FileInfo]
    ) -> None:
        self.sweep_dir = sweep_dir
        self.design = design
        self.kind = kind
        self.key = outputs.KEY_COLUMN[kind]
        key_type = pa.timestamp("ns") if self.key == "time" else pa.int64()
        leading = (pa.field("run_id", pa.int64()), pa.field(self.key, key_type))
        self.schema = outputs.unify((info.schema for info in files.values()), leading)
        self.file_meta = outputs.merge_meta([info.meta for info in files.values()])
        renamed = f"{kind}_status"
        self.renames = {STATUS: renamed} if STATUS in self.schema.names else {}
        self.sort_keys = ["run_id", SOLVER, self.key] if kind == SOLVER else ["run_id", self.key]
        self.meta, self.params = self._meta()
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self._token

    def _meta(self) -> tuple[pd.DataFrame, dict[str, str]]:
        data = self.schema.empty_table().to_pandas().rename(columns=self.renames)
        if self.kind == SOLVER:
            data.insert(1, SOLVER, pd.Series(dtype="string"))
        for column in data.columns[1:]:
            if pd.api.types.is_integer_dtype(data[column].dtype):
                data[column] = data[column].astype("Int64")
            elif pd.api.types.is_bool_dtype(data[column].dtype):
                data[column] = data[column].astype("boolean")
        params = self.design.block(0, min(1, self.design.n_runs)).iloc[:0]
        columns = {f: PARAM_PREFIX + f if f in data.columns else f for f in params.columns}
        data[STATUS] = pd.Series(dtype="string")
        for field, column in columns.items():
            data[column] = params[field]
        return data.set_index("run_id"), columns

    def __call__(self, spec: PartitionSpec, columns: list[str] | None = None) -> pd.DataFrame:
        wanted = list(self.meta.columns) if columns is None else list(columns)
        sources = {self.renames.get(n, n): n for n in self.schema.names}
        read = [n for n in self.schema.names if n in (self.key, "run_id")]
        read += [sources[c] for c in wanted if c in sources and sources[c] not in read]
        target = pa.schema([self.schema.field(n) for n in read])
        tables = [self._read(path, ids, groups, target) for path, ids, groups in spec.files]
        table = pa.concat_tables(tables) if tables else target.empty_table()
        frame = table.to_pandas().rename(columns=self.renames)
        if STATUS in wanted:
            frame[STATUS] = mf.OK
        in_order = self.kind != SOLVER and _sorted(frame["run_id"], frame[self.key])
        if spec.markers:
            run_ids, statuses = zip(*spec.markers, strict=True)
            marks = pd.DataFrame({"run_id": np.array(run_ids, np.int64), STATUS: statuses})
            frame = pd.concat([frame, marks], ignore_index=True) if len(frame) else marks
            if in_order:  # a marker is the only row of its run: place it by run_id alone
                frame = frame.iloc[np.argsort(frame["run_id"].to_numpy(), kind="stable")]
        if not in_order:
            keys = [k for k in self.sort_keys if k in frame]  # markers alone lack the keys
            frame = frame.sort_values(keys, kind="stable", na_position="first")
        run_ids = frame["run_id"].to_numpy()
        fields = [f for f, c in self.params.items() if c in wanted]
        if fields:
            block = self.design.block(spec.start, spec.stop)
            for field in fields:
                values = block[field].to_numpy()[run_ids - spec.start]
                if values.dtype == object:  # list values as GMAT text: {Sun, Luna}
                    values = np.array([as_text(v) for v in values], dtype=object)
                frame[self.params[field]] = values
        frame = frame.set_index("run_id").reindex(columns=wanted)
        return frame.astype(self.meta[wanted].dtypes.to_dict())

    def _read(
        self, path: str, ids: tuple[int, ...], groups: tuple[int, ...], target: pa.Schema
    ) -> pa.Table:
        sweep_dir = Path(self.sweep_dir)
        try:  # confined again: a link may have been planted since the frame was opened
            located = confined(sweep_dir, path, what="data file")
            if not located.exists() and (moved := _moved(sweep_dir, path, ids)):
                # compacted since the frame was opened: read the runs where they are now
                return pa.concat_tables(self._read(*read, target) for read in moved)
            handle = outputs.open_verified(located)
            names = set(handle.schema_arrow.names)
            table = handle.read_row_groups(
                list(groups), columns=[n for n in target.names if n in names]
            )
        except (OSError, pa.ArrowException) as exc:
            raise SweepDirError(unreadable(sweep_dir, path, exc)) from None
        bounds = pc.min_max(table["run_id"]).as_py() if len(table) else {"min": ids[0]}
        inside = bounds["min"] >= ids[0] and bounds.get("max", ids[0]) <= ids[-1]
        if not (inside and ids[-1] - ids[0] + 1 == len(ids)):  # rows of other runs too
            table = table.filter(pc.is_in(table["run_id"], pa.array(ids, type=pa.int64())))
        table = outputs.conform(table, target)
        if self.kind == SOLVER:
            solver = pa.array(np.full(len(table), Path(path).parent.name, dtype=object))
            table = table.add_column(1, SOLVER, solver.cast(pa.string()))
        return table


def _moved(sweep_dir: Path, path: str, ids: tuple[int, ...]) -> list[FileRead]:
    """Where the runs ``ids`` of the vanished data file ``path`` are now, per the manifest
    as it is now (a compaction merged ``path`` into a file beside it); [] unless every
    one of them is still ok and in another file of the same output."""
    entries = mf.Manifest.load(sweep_dir / layout.MANIFEST).entries
    folder = PurePosixPath(path).parent
    now: dict[str, list[int]] = {}
    for run_id in ids:
        entry = entries.get(run_id) or {}
        paths = [loc["path"] for loc in entry.get("outputs", {}).values()]
        found = [p for p in paths if PurePosixPath(p).parent == folder and p != path]
        if entry.get("status") != mf.OK or len(found) != 1:
            return []
        now.setdefault(found[0], []).append(run_id)
    reads = []
    for moved, run_ids in now.items():
        metadata = pq.read_metadata(confined(sweep_dir, moved, what="data file"))
        column = metadata.schema.to_arrow_schema().get_field_index("run_id")
        groups = []
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(column).statistics
            known = stats is not None and stats.has_min_max
            if not known or (stats.min <= run_ids[-1] and stats.max >= run_ids[0]):
                groups.append(group)
        reads.append((moved, tuple(run_ids), tuple(groups)))
    return reads


def unreadable(sweep_dir: Path, path: str, exc: BaseException) -> str:
    """The one-line error for a data file that cannot be read, with what repairs it."""
    return (
        f"{sweep_dir / path}: cannot read this data file ({read_error(exc)}); "
        f"`gmat-sweep-dask verify {sweep_dir}` lists the damage, `resume` runs those runs again"
    )


def _sorted(run_id: pd.Series, key: pd.Series) -> bool:
    """Whether rows are in (run_id, key) order with no missing keys."""
    ids, values = run_id.to_numpy(), key.to_numpy()
    with np.errstate(invalid="ignore"):
        rising = (values[1:] >= values[:-1]) | (ids[1:] != ids[:-1])
    return bool((np.diff(ids) >= 0).all() and rising.all())

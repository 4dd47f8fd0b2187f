"""Lazy ``dask.dataframe`` views of a sweep's outputs, built from the manifest alone.

A frame has index ``run_id`` with known divisions, the output's key column (``time`` for
reports) then its data columns, a ``status`` column and one column per swept parameter.
Rows are sorted by ``(run_id, time)``. A run that has no rows in the output (failed, or ok
with zero rows) appears as one row with a missing ``time`` and its status, so it is never
silently absent. Opening a frame reads the manifest and one Parquet footer; partitions read
only their runs' row groups and only the projected columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from gmat_sweep_dask import manifest as mf
from gmat_sweep_dask.design import Design
from gmat_sweep_dask.errors import UsageError

STATUS = "status"
PARAM_PREFIX = "param:"
MISSING = "missing"


@dataclass(frozen=True)
class PartitionSpec:
    """Runs ``start..stop-1``: which batch files hold their rows, which need marker rows."""

    start: int
    stop: int
    files: tuple[tuple[str, tuple[int, ...], bool], ...]
    markers: tuple[tuple[int, str], ...]


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
) -> dd.DataFrame:
    """Build the lazy frame of one output of ``kind``.

    ``name`` may be omitted when the sweep wrote exactly one output of that kind.
    Runs never recorded in the manifest are left out unless ``include_missing``.

    Raises:
        UsageError: ``name`` is unknown, or omitted while several outputs exist.
    """
    names = output_names(manifest, kind)
    if name is None:
        if len(names) > 1:
            raise UsageError(f"the sweep wrote several {kind}s {names}; pick one with report=")
        name = names[0] if names else None
    elif name not in names:
        raise UsageError(f"no {kind} named {name!r} in this sweep; it wrote {names or 'none'}")
    key = f"{kind}/{name}"
    sweep_dir = manifest.path.parent
    specs = _partition(manifest, key, include_missing, max_partition_rows, max_partition_runs)
    sample = next((f for s in specs for f, _, _ in s.files), None)
    meta, params = _meta(sweep_dir / sample if sample else None, design)
    reader = PartitionReader(str(sweep_dir), design, meta, params)
    if not specs:
        return dd.from_pandas(meta, npartitions=1)
    divisions = (*tuple(s.start for s in specs), specs[-1].stop - 1)
    return dd.from_map(reader, specs, meta=meta, divisions=divisions, label=f"gmat-{name}")


def _partition(
    manifest: mf.Manifest, key: str, include_missing: bool, max_rows: int, max_runs: int
) -> list[PartitionSpec]:
    """Group runs in id order into partitions of bounded rows, runs and files."""
    per_file: dict[str, int] = {}
    for entry in manifest.entries.values():
        location = entry.get("outputs", {}).get(key)
        if location:
            per_file[location["path"]] = per_file.get(location["path"], 0) + 1
    specs: list[PartitionSpec] = []
    files: dict[str, list[int]] = {}
    markers: list[tuple[int, str]] = []
    start, rows, runs = None, 0, 0

    def close(stop: int) -> None:
        nonlocal files, markers, start, rows, runs
        if start is not None:
            specs.append(
                PartitionSpec(
                    start,
                    stop,
                    tuple((f, tuple(ids), len(ids) == per_file[f]) for f, ids in files.items()),
                    tuple(markers),
                )
            )
        files, markers, start, rows, runs = {}, [], None, 0, 0

    for run_id in range(manifest.run_count):
        entry = manifest.entries.get(run_id)
        if entry is None and not include_missing:
            continue
        if start is not None and (rows >= max_rows or runs >= max_runs or len(files) >= 64):
            close(run_id)
        if start is None:
            start = run_id
        runs += 1
        location = entry.get("outputs", {}).get(key) if entry else None
        if location and location["rows"] > 0 and entry["status"] == mf.OK:
            files.setdefault(location["path"], []).append(run_id)
            rows += location["rows"]
        else:
            markers.append((run_id, entry["status"] if entry else MISSING))
    close(manifest.run_count)
    return specs


def _meta(sample: Path | None, design: Design) -> tuple[pd.DataFrame, dict[str, str]]:
    """Empty frame with the columns and dtypes every partition produces.

    Also returns the frame column of each swept field: the field's own name, or
    ``param:<field>`` when the output already has a column of that name.
    """
    if sample is None:
        data = pd.DataFrame({"run_id": pd.Series(dtype="int64")})
    else:
        data = pq.read_schema(sample).empty_table().to_pandas()
    for column in data.columns:
        if column == "run_id":
            continue
        if pd.api.types.is_integer_dtype(data[column].dtype):
            data[column] = data[column].astype("Int64")
        elif pd.api.types.is_bool_dtype(data[column].dtype):
            data[column] = data[column].astype("boolean")
    params = design.block(0, min(1, design.n_runs)).iloc[:0]
    columns = {f: PARAM_PREFIX + f if f in data.columns else f for f in params.columns}
    data[STATUS] = pd.Series(dtype="string")
    for field, column in columns.items():
        data[column] = params[field]
    return data.set_index("run_id"), columns


class PartitionReader:
    """Reads one :class:`PartitionSpec` into a pandas frame matching ``meta``.

    Its ``columns=`` argument lets dask push column projection down to the Parquet read.
    """

    def __init__(
        self, sweep_dir: str, design: Design, meta: pd.DataFrame, params: dict[str, str]
    ) -> None:
        self.sweep_dir = sweep_dir
        self.design = design
        self.meta = meta
        self.params = params
        self.key = next((c for c in ("time", "interval_id", "iteration") if c in meta), None)
        self.data = [c for c in meta.columns if c != STATUS and c not in params.values()]

    def __call__(self, spec: PartitionSpec, columns: list[str] | None = None) -> pd.DataFrame:
        wanted = list(self.meta.columns) if columns is None else list(columns)
        keys = ["run_id"] + ([self.key] if self.key else [])
        read = list(dict.fromkeys(keys + [c for c in wanted if c in self.data]))
        parts = [self._read(path, ids, whole, read) for path, ids, whole in spec.files]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=read)
        frame[STATUS] = mf.OK
        if spec.markers:
            marks = pd.DataFrame(
                {
                    "run_id": np.array([m[0] for m in spec.markers], dtype=np.int64),
                    STATUS: [m[1] for m in spec.markers],
                }
            )
            frame = pd.concat([frame, marks], ignore_index=True) if len(frame) else marks
        frame = frame.sort_values(keys, kind="stable", na_position="first")
        fields = [f for f, c in self.params.items() if c in wanted]
        if fields:
            block = self.design.block(spec.start, spec.stop)[fields]
            values = block.reindex(frame["run_id"].to_numpy())
            for field in fields:
                frame[self.params[field]] = values[field].to_numpy()
        frame = frame.set_index("run_id").reindex(columns=wanted)
        return frame.astype(self.meta[wanted].dtypes.to_dict())

    def _read(
        self, path: str, ids: tuple[int, ...], whole: bool, columns: list[str]
    ) -> pd.DataFrame:
        filters = None if whole else [("run_id", "in", list(ids))]
        table = pq.read_table(Path(self.sweep_dir) / path, columns=columns, filters=filters)
        return table.to_pandas()

"""Turn gmat-run output frames into Parquet with one stable schema per output.

Normalisation rules (the same on every worker, so every batch file of an output agrees):

* a ``run_id`` int64 column comes first, then the output's key column: ``time`` for
  reports and ephemerides (the first epoch column, renamed; its source name and GMAT
  time scale are kept in the file's metadata), ``interval_id`` for contacts,
  ``iteration`` for solver histories;
* numeric columns become float64 (an int in one run and a float in another unify);
* datetimes stay ``timestamp[ns]``, durations ``duration[ns]``, booleans ``bool``;
  anything else becomes a string.

One batch file holds many runs, one row group per run.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask import layout

KEY_COLUMN = {
    "report": "time",
    "ephemeris": "time",
    "contact": "interval_id",
    "solver": "iteration",
}
META_KEY = b"gmat_sweep_dask"
_FALLBACK_TIME = ("ElapsedSecs", "ElapsedDays", "ModJulian")


def normalise(kind: str, frame: pd.DataFrame, run_id: int) -> tuple[pa.Table, dict[str, Any]]:
    """One run's output as an Arrow table plus the metadata describing its key column."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    key = KEY_COLUMN[kind]
    meta: dict[str, Any] = {"kind": kind, "key": key}
    scales = dict(frame.attrs.get("epoch_scales", {}))
    if key == "time" and "time" not in frame.columns:
        source = _time_source(frame)
        if source is None:
            frame.insert(0, "time", np.arange(len(frame), dtype=np.int64))
            meta["time_source"] = None
        else:
            frame = frame.rename(columns={source: "time"})
            meta["time_source"] = source
            meta["time_scale"] = scales.pop(source, None)
    elif key not in frame.columns:
        frame.insert(0, key, np.arange(len(frame), dtype=np.int64))
    meta["epoch_scales"] = scales
    columns = {"run_id": pa.array(np.full(len(frame), run_id, dtype=np.int64))}
    for name in frame.columns:
        columns[name] = _column(frame[name], keep_int=name == key and key != "time")
    order = ["run_id", key] + [c for c in frame.columns if c != key]
    return pa.table({c: columns[c] for c in order}), meta


def _time_source(frame: pd.DataFrame) -> str | None:
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            return name
    for suffix in _FALLBACK_TIME:
        for name in frame.columns:
            if name.endswith(suffix) and pd.api.types.is_numeric_dtype(frame[name]):
                return name
    return None


def _column(series: pd.Series, *, keep_int: bool) -> pa.Array:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(series.to_numpy(dtype=bool))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pa.array(series.to_numpy(dtype="datetime64[ns]"), type=pa.timestamp("ns"))
    if pd.api.types.is_timedelta64_dtype(dtype):
        return pa.array(series.to_numpy(dtype="timedelta64[ns]"), type=pa.duration("ns"))
    if pd.api.types.is_numeric_dtype(dtype):
        if keep_int:
            return pa.array(series.to_numpy(dtype=np.int64))
        return pa.array(series.to_numpy(dtype=np.float64, na_value=np.nan))
    return pa.array([None if pd.isna(v) else str(v) for v in series], type=pa.string())


def unify(tables: list[pa.Table]) -> pa.Schema:
    """A schema every table casts to: union of columns, conflicting types as string."""
    types: dict[str, pa.DataType] = {}
    for table in tables:
        for name, typ in zip(table.column_names, table.schema.types, strict=True):
            if name not in types:
                types[name] = typ
            elif types[name] != typ:
                types[name] = pa.string()
    return pa.schema(list(types.items()))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast ``table`` to ``schema``, adding all-null columns it lacks."""
    arrays = []
    for fld in schema:
        if fld.name in table.column_names:
            column = table[fld.name]
            arrays.append(column if column.type == fld.type else column.cast(fld.type))
        else:
            arrays.append(pa.nulls(len(table), type=fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_batch(
    sweep_dir: Path, kind: str, name: str, runs: list[tuple[pa.Table, dict[str, Any]]], tag: str
) -> str:
    """Write one output's tables of a batch as one Parquet file, a row group per run.

    The file appears atomically (written beside, then renamed). Returns its path
    relative to ``sweep_dir``.
    """
    directory = layout.output_dir(sweep_dir, kind, name)
    directory.mkdir(parents=True, exist_ok=True)
    schema = unify([table for table, _ in runs])
    meta = dict(runs[0][1])
    meta["epoch_scales"] = {k: v for _, m in runs for k, v in m["epoch_scales"].items()}
    schema = schema.with_metadata({META_KEY: json.dumps(meta).encode()})
    final = directory / f"part-{tag}.parquet"
    tmp = directory / f".part-{tag}.parquet.tmp"
    with pq.ParquetWriter(tmp, schema) as writer:
        for table, _ in runs:
            writer.write_table(conform(table, schema), row_group_size=max(1, len(table)))
    os.replace(tmp, final)
    return str(final.relative_to(sweep_dir))


def batch_tag(first_run_id: int) -> str:
    """A file name stem unique to one attempt at a batch starting at ``first_run_id``."""
    return f"{first_run_id:09d}-{uuid.uuid4().hex[:10]}"


def write_outcomes(sweep_dir: Path, tag: str, outcomes: list[dict[str, Any]]) -> Path:
    """Atomically write a batch's commit record; its presence means the batch is durable."""
    directory = sweep_dir / layout.OUTCOMES
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{tag}.json"
    tmp = directory / f".{tag}.json.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(outcomes, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return final


def read_meta(path: Path) -> dict[str, Any]:
    """The gmat-sweep-dask metadata stored in a batch file's schema."""
    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}

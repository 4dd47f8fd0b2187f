"""Turn gmat-run output frames into Parquet with one stable schema per output.

Normalisation rules (the same on every worker, so every batch file of an output agrees):

* a ``run_id`` int64 column comes first, then the output's key column: ``time`` for
  reports and ephemerides (the first epoch column, renamed; its source name and GMAT
  time scale are kept in the file's metadata), ``interval_id`` for contacts,
  ``iteration`` for solver histories, ``row`` (0) for a postprocess hook's metrics;
* numeric columns become float64 (an int in one run and a float in another unify);
* datetimes stay ``timestamp[ns]``, durations ``duration[ns]``, booleans ``bool``;
  anything else becomes a string.

One batch file holds many runs, one row group per run. Every page carries a CRC-32
checksum (``write_page_checksum``) that readers verify, so a flipped bit is an error,
never a silently different number.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import writing

KEY_COLUMN = {
    "report": "time",
    "ephemeris": "time",
    "contact": "interval_id",
    "solver": "iteration",
    "metrics": "row",
}
META_KEY = b"gmat_sweep_dask"
_FALLBACK_TIME = ("ElapsedSecs", "ElapsedDays", "ModJulian")


def normalise(kind: str, frame: pd.DataFrame, run_id: int) -> tuple[pa.Table, dict[str, Any]]:
    """One run's output as an Arrow table plus the metadata describing its key column."""
    key = KEY_COLUMN[kind]
    names = _unique_names([str(c) for c in frame.columns])
    scales = dict(frame.attrs.get("epoch_scales", {}))
    meta: dict[str, Any] = {"kind": kind, "key": key}
    try:
        table = pa.table([_arrow(series) for _, series in frame.items()], names=names)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects in a column
        table = pa.table({n: _strings(frame.iloc[:, i]) for i, n in enumerate(names)})
    if key == "time" and "time" not in names:
        source = _time_source(table)
        meta["time_source"] = source
        if source is None:
            table = table.add_column(0, "time", pa.array(np.arange(len(table), dtype=np.int64)))
        else:
            table = table.rename_columns(["time" if n == source else n for n in names])
            meta["time_scale"] = scales.pop(source, None)
    elif key not in names:
        table = table.add_column(0, key, pa.array(np.arange(len(table), dtype=np.int64)))
    meta["epoch_scales"] = scales
    columns = {
        n: _normal(table[n], keep_int=n == key and key != "time") for n in table.column_names
    }
    order = [key] + [n for n in table.column_names if n != key]
    run_ids = pa.array(np.full(len(table), run_id, dtype=np.int64))
    return pa.table({"run_id": run_ids, **{n: columns[n] for n in order}}), meta


def _arrow(series: pd.Series) -> pa.Array:
    """One column as ``pa.Table.from_pandas`` converts it (missing values null), without
    its per-call cost (~0.3 ms for a small report): plain numeric, boolean and datetime
    columns go through their NumPy array."""
    if series.dtype.kind in "biufmM" and isinstance(series.dtype, np.dtype):
        return pa.array(series.to_numpy(), from_pandas=True)
    return pa.array(series, from_pandas=True)


def _unique_names(names: list[str]) -> list[str]:
    """GMAT reports may repeat a column; later copies become ``name.1``, ``name.2``..."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique.append(name if count == 0 else f"{name}.{count}")
    return unique


def _time_source(table: pa.Table) -> str | None:
    for name, typ in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_timestamp(typ):
            return name
    for suffix in _FALLBACK_TIME:
        for name, typ in zip(table.column_names, table.schema.types, strict=True):
            if name.endswith(suffix) and (pa.types.is_integer(typ) or pa.types.is_floating(typ)):
                return name
    return None


def _normal(column: pa.ChunkedArray, *, keep_int: bool) -> pa.ChunkedArray:
    typ = column.type
    if pa.types.is_boolean(typ) or pa.types.is_duration(typ) or pa.types.is_null(typ):
        return column  # an all-missing column stays null-typed: unify() lets it give way
    if pa.types.is_timestamp(typ):
        return column.cast(pa.timestamp("ns"))
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return column.cast(pa.int64() if keep_int else pa.float64())
    if pa.types.is_string(typ):
        return column
    return column.cast(pa.string())


def _strings(series: pd.Series) -> pa.Array:
    return pa.array([None if pd.isna(v) else str(v) for v in series], type=pa.string())


def unify(schemas: Iterable[pa.Schema], leading: Sequence[pa.Field] = ()) -> pa.Schema:
    """The one schema-union rule, for writing, compaction and reading: a schema every
    input casts to (with :func:`conform`).

    Columns come in order of first appearance, the ``leading`` fields first (a leading
    field keeps its own type when no schema has that column). Per column: a null-typed
    (all-missing) column gives way to any other type; equal types stay; integers and
    floats together give float64; any other disagreement gives string; a column null in
    every schema is float64.
    """
    types: dict[str, set[pa.DataType]] = {field.name: set() for field in leading}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, set()).add(field.type)
    defaults = {field.name: field.type for field in leading}
    fields = []
    for name, found in types.items():
        found = {t for t in found if not pa.types.is_null(t)}
        if len(found) == 1:
            typ = found.pop()
        elif not found:
            typ = defaults.get(name, pa.float64())
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in found):
            typ = pa.float64()
        else:
            typ = pa.string()
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def merge_meta(metas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The one rule merging the metadata of several runs or files of one output.

    ``kind`` and ``key`` are taken from the first; ``time_source`` and ``time_scale`` are
    kept where all agree and None where any differs (or lacks it); ``epoch_scales`` is
    the union of every column's scale, None for a column whose scales differ.
    """
    merged: dict[str, Any] = dict(metas[0]) if metas else {}
    for field in ("time_source", "time_scale"):
        values = [m.get(field) for m in metas]
        if any(field in m for m in metas):
            merged[field] = values[0] if values.count(values[0]) == len(values) else None
    scales: dict[str, Any] = {}
    for meta in metas:
        for column, scale in meta.get("epoch_scales", {}).items():
            scales[column] = scale if scales.get(column, scale) == scale else None
    merged["epoch_scales"] = scales
    return merged


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
    sweep_dir: Path,
    kind: str,
    name: str,
    runs: list[tuple[pa.Table, dict[str, Any]]],
    tag: str,
    *,
    fsync: bool = True,
) -> str:
    """Write one output's tables of a batch as one Parquet file, a row group per run.

    The file appears atomically (written beside, then renamed), on disk when this returns
    with ``fsync``. Returns its path relative to ``sweep_dir``.

    Raises:
        SweepDirError: the output directory leads outside ``sweep_dir`` (a planted link);
            nothing is written.
    """
    directory = layout.output_dir(sweep_dir, kind, name)
    confined(sweep_dir, str(directory.relative_to(sweep_dir)), what="output directory")
    directory.mkdir(parents=True, exist_ok=True)
    schema = unify(table.schema for table, _ in runs)
    meta = merge_meta([meta for _, meta in runs])
    schema = schema.with_metadata({META_KEY: json_bytes(meta)})
    final = directory / f"part-{tag}.parquet"
    with writing(final, fsync=fsync) as tmp, parquet_writer(tmp, schema) as writer:
        for table, _ in runs:
            writer.write_table(conform(table, schema), row_group_size=max(1, len(table)))
    return str(final.relative_to(sweep_dir))


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The writer of every data file: page checksums on, so damage is detected on read.

    Only columns whose values repeat (run ids, text, integers, flags) are dictionary
    encoded: GMAT's floats and epochs hardly ever repeat, and trying a dictionary on them
    made writing ~5× slower and the files ~20% larger (``benchmarks/README.md``).
    """
    repeating = [f.name for f in schema if not _unique_valued(f.type)]
    return pq.ParquetWriter(
        path, schema, write_page_checksum=True, use_dictionary=repeating or False
    )


def _unique_valued(kind: pa.DataType) -> bool:
    return pa.types.is_floating(kind) or pa.types.is_temporal(kind)


def open_verified(path: Path) -> pq.ParquetFile:
    """Open a data file for reading with every page's checksum verified.

    Raises:
        OSError, pyarrow.ArrowException: the file is missing or its footer is unreadable
            (a page failing its checksum raises when that page is read).
    """
    return pq.ParquetFile(path, page_checksum_verification=True)


def batch_tag(first_run_id: int) -> str:
    """A file name stem unique to one attempt at a batch starting at ``first_run_id``."""
    return f"{first_run_id:09d}-{uuid.uuid4().hex[:10]}"


def write_outcomes(
    sweep_dir: Path, tag: str, outcomes: list[dict[str, Any]], *, fsync: bool = True
) -> Path:
    """Atomically write a batch's commit record (after its data files, so its presence
    means the batch is complete; durable with ``fsync``)."""
    directory = sweep_dir / layout.OUTCOMES
    confined(sweep_dir, layout.OUTCOMES, what="commit record directory")
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{tag}.json"
    text = json.dumps(outcomes)  # one C call; json.dump encodes in Python, ~10x slower
    with writing(final, fsync=fsync) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    return final


def json_bytes(meta: dict[str, Any]) -> bytes:
    """The encoding of the metadata stored under :data:`META_KEY`."""
    return json.dumps(meta, sort_keys=True).encode()


def meta_of(schema: pa.Schema) -> dict[str, Any]:
    """The gmat-sweep-dask metadata of an Arrow schema read from one of our files."""
    raw = (schema.metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}

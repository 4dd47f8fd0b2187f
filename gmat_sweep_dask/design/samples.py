"""An explicit table of runs: one DataFrame row per run, one column per field."""

from __future__ import annotations

import csv
import hashlib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask.design.base import (
    Design,
    as_text,
    check_field_name,
    check_value,
    hashable,
    native,
)
from gmat_sweep_dask.errors import SpecError, SweepDirError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import writing


class Samples(Design):
    """Row ``i`` of ``table`` is run ``i``; the table is stored once in the sweep directory."""

    kind: ClassVar[str] = "samples"

    def __init__(self, table: pd.DataFrame) -> None:
        if not isinstance(table, pd.DataFrame):
            raise SpecError(f"samples: expected a pandas DataFrame, got {type(table).__name__}")
        if table.shape[0] == 0 or table.shape[1] == 0:
            raise SpecError("samples: the table needs at least one row and one column")
        if not table.columns.is_unique:
            dup = table.columns[table.columns.duplicated()].tolist()
            raise SpecError(f"samples: duplicate column(s) {dup}")
        for name in table.columns:
            check_field_name(name, where="samples")
            column = table[name]
            if column.isna().any():
                row = int(column.isna().to_numpy().argmax())
                raise SpecError(f"samples: column {name!r} has a missing value in row {row}")
            if column.dtype == object or isinstance(column.dtype, pd.StringDtype):  # text:
                for row, value in enumerate(column):  # pandas 3 reads it as `str`, not object
                    check_value(value, where=f"samples {name} row {row}")
                _storable(name, column)
            elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                finite = np.isfinite(column.to_numpy(dtype="float64"))
                if not finite.all():
                    row = int((~finite).argmax())
                    raise SpecError(
                        f"samples: column {name!r} row {row}: value {native(column.iloc[row])!r} "
                        "is not finite (expected a finite number)"
                    )
            elif not pd.api.types.is_bool_dtype(column):
                raise SpecError(
                    f"samples: column {name!r} has dtype {column.dtype}; expected numbers, "
                    "text or booleans"
                )
        # the table as it reads back from the sweep directory (e.g. [1, 0.5] as floats)
        frame = _lists(pa.Table.from_pandas(table, preserve_index=False).to_pandas())
        frame.index.name = "run_id"
        self._table = frame

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self._table.columns)

    @property
    def n_runs(self) -> int:
        return len(self._table)

    def block(self, start: int, stop: int) -> pd.DataFrame:
        return self._table.iloc[start:stop]

    def distinct_values(self) -> dict[str, list[Any]]:
        values = {}
        for name in self._table.columns:
            column = self._table[name]
            if column.dtype == object:
                unique = dict.fromkeys(hashable(v) for v in column)
                values[name] = [list(v) if isinstance(v, tuple) else v for v in unique]
            else:
                values[name] = [native(column.iloc[0])]
        return values

    def header(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": layout.SAMPLES, "content_sha256": _digest(self._table)}

    def save(self, sweep_dir: Path) -> None:
        path = sweep_dir / layout.SAMPLES
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with writing(path) as tmp:  # on disk before the manifest that names it
            pq.write_table(pa.Table.from_pandas(self._table, preserve_index=False), tmp)

    def side_files(self) -> tuple[str, ...]:
        return (layout.SAMPLES,)

    @classmethod
    def from_header(cls, header: Mapping[str, Any], sweep_dir: Path) -> Samples:
        """Read back the table saved by :meth:`save`, checking its content hash.

        Raises:
            SweepDirError: the recorded path leads outside ``sweep_dir`` (links
                resolved), or the table is missing or differs from the recorded hash.
        """
        path = confined(Path(sweep_dir), header.get("path"), what="sample table")
        if not path.is_file():
            raise SweepDirError(f"{path}: the sweep's sample table is missing")
        try:
            samples = cls(pq.read_table(path).to_pandas())
        except (OSError, pa.ArrowException) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            reason = reason.removeprefix(f"Could not open Parquet input source '{path}': ")
            raise SweepDirError(
                f"{path}: the sweep's sample table cannot be read ({reason})"
            ) from None
        if _digest(samples._table) != header["content_sha256"]:
            raise SweepDirError(f"{path}: the sample table does not match the manifest's hash")
        return samples


def _storable(name: str, column: pd.Series) -> None:
    """Refuse a column Parquet cannot hold as one type (text mixed with numbers...)."""
    try:
        pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise SpecError(
            f"samples: column {name!r} mixes value types ({exc}); give each column "
            "numbers, text or booleans only"
        ) from None


def _lists(frame: pd.DataFrame) -> pd.DataFrame:
    """List cells as Python lists (Arrow reads them back as numpy arrays)."""
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[name]]
    return frame


def _digest(table: pd.DataFrame) -> str:
    """Content hash of the table's column names and values (not of file bytes; a list
    value hashes as its GMAT text)."""
    table = table.apply(lambda c: c.map(as_text) if c.dtype == object else c)
    digest = hashlib.sha256(repr(list(table.columns)).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def read_table(path: Path) -> pd.DataFrame:
    """The sample table in a ``.csv`` or ``.parquet`` file (one row per run).

    In a CSV file a list value is written as GMAT writes it, in braces: ``{Sun, Luna}``
    (quoted, as the cell holds commas) or ``{1 2 3}``; a Parquet file holds list columns.

    Raises:
        SpecError: another file type, or a file that cannot be read as one.
    """
    try:
        if path.suffix.lower() == ".parquet":
            table = pd.read_parquet(path)  # a named index (DataFrame.set_index) is a column
            return table.reset_index() if any(table.index.names) else table
        if path.suffix.lower() == ".csv":
            with warnings.catch_warnings():  # rows longer than the header: not read as
                warnings.simplefilter("error", pd.errors.ParserWarning)  # an index column
                table = pd.read_csv(path, index_col=False)  # shifting every value along
            return _braced(_unique_columns(table, path), path)
    except pd.errors.ParserWarning:
        raise SpecError(
            f"--samples {str(path)!r}: its rows have more cells than its header names columns"
        ) from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"--samples {str(path)!r}: cannot read it ({exc})") from None
    raise SpecError(f"--samples {str(path)!r}: expected a .csv or .parquet file")


def _unique_columns(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``table`` if no column name of the CSV file's header is repeated (pandas renames
    a second ``Sat.SMA`` to ``Sat.SMA.1``, a field that does not exist).

    Raises:
        SpecError: naming the repeated column.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise SpecError(f"column {repeated[0]!r} appears twice")
    return table


def _braced(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A CSV table with its ``{...}`` cells read as GMAT list values."""
    from gmat_sweep_dask.design.grid_grammar import gmat_list

    for name in table.columns:
        column = table[name]
        if not pd.api.types.is_numeric_dtype(column) and column.map(_braces).any():
            table[name] = [
                gmat_list(v.strip(), f"--samples {str(path)!r} column {name!r}")
                if isinstance(v, str) and v.strip().startswith("{")
                else v
                for v in column
            ]
    return table


def _braces(value: object) -> bool:
    return isinstance(value, str) and value.strip().startswith("{")

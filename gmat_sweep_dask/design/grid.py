"""Full-factorial grid over dotted GMAT fields, streamed by mixed-radix decoding."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gmat_sweep_dask.design.base import MAX_RUNS, Design, check_field_name, check_value, native
from gmat_sweep_dask.errors import SpecError

MAX_AXIS_VALUES = 1_000_000
"""Values per axis: each is recorded in the manifest header."""


class Grid(Design):
    """Every combination of the axis values; the last axis varies fastest.

    ``run_id`` decodes to one value index per axis (mixed radix), so any block of runs
    is produced in O(block) time and memory, whatever the grid's size.
    """

    kind: ClassVar[str] = "grid"

    def __init__(self, axes: Mapping[str, Iterable[Any]]) -> None:
        if not isinstance(axes, Mapping) or not axes:
            raise SpecError("grid: give at least one field, e.g. {'Sat.SMA': [7000, 7100]}")
        self._names: tuple[str, ...] = ()
        self._values: list[np.ndarray] = []
        for name, values in axes.items():
            check_field_name(name, where="grid")
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                raise SpecError(f"grid: values of {name!r} must be a list, got {values!r}")
            checked = [
                check_value(v, where=f"grid {name}")
                for v in itertools.islice(values, MAX_AXIS_VALUES + 1)
            ]
            if len(checked) > MAX_AXIS_VALUES:
                raise SpecError(
                    f"grid: field {name!r} has more than {MAX_AXIS_VALUES:,} values; "
                    "spread them over several fields, or give a samples= table"
                )
            if not checked:
                raise SpecError(f"grid: field {name!r} has no values")
            self._names += (name,)
            self._values.append(_as_array(checked))
        self._sizes = np.array([len(v) for v in self._values], dtype=object)
        total = 1
        for size in self._sizes:
            total *= int(size)
        if total > MAX_RUNS:
            raise SpecError(
                f"grid: {total:,} runs is more than this tool can index (at most 2**53)"
            )
        self._n = total

    @property
    def fields(self) -> tuple[str, ...]:
        return self._names

    @property
    def n_runs(self) -> int:
        return self._n

    def block(self, start: int, stop: int) -> pd.DataFrame:
        stop = min(stop, self._n)
        ids = np.arange(start, stop, dtype=np.int64)
        rest = ids.copy()
        columns: dict[str, np.ndarray] = {}
        for name, values in zip(reversed(self._names), reversed(self._values), strict=True):
            columns[name] = values[rest % len(values)]
            rest //= len(values)
        frame = pd.DataFrame({name: columns[name] for name in self._names}, index=ids)
        frame.index.name = "run_id"
        return frame

    def distinct_values(self) -> dict[str, list[Any]]:
        return {
            name: [native(v) for v in values]
            for name, values in zip(self._names, self._values, strict=True)
        }

    def header(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "axes": [
                [name, values.tolist()]
                for name, values in zip(self._names, self._values, strict=False)
            ],
        }

    @classmethod
    def from_header(cls, header: Mapping[str, Any], sweep_dir: Path) -> Grid:
        """Rebuild the grid recorded by :meth:`header`."""
        return cls({name: values for name, values in header["axes"]})


def _as_array(values: list[Any]) -> np.ndarray:
    """Pack one axis into the narrowest numpy dtype that holds every value exactly
    (an axis of list values is an object array whose elements are the lists)."""
    if any(isinstance(v, list) for v in values):
        packed = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):
            packed[i] = value
        return packed
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array(values, dtype=object)

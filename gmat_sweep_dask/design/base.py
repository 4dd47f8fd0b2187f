"""The contract every parameter space (design) fulfils.

A design maps each ``run_id`` in ``0..n_runs-1`` to the GMAT field overrides of that
run. It never materialises all runs: :meth:`Design.block` produces the overrides of a
contiguous range of runs as a DataFrame, vectorised, so a 100,000-run sweep is streamed
in blocks. A design serialises itself into the manifest header and is rebuilt from it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gmat_sweep_dask.errors import SpecError

#: The most runs a design may have: run ids stay exact in float64 and in int64 everywhere.
MAX_RUNS = 2**53


class Design(ABC):
    """A deterministic, indexable parameter space over dotted GMAT fields."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def fields(self) -> tuple[str, ...]:
        """The dotted GMAT fields each run overrides, in column order."""

    @property
    @abstractmethod
    def n_runs(self) -> int:
        """Number of runs; run ids are ``0..n_runs-1``."""

    @abstractmethod
    def block(self, start: int, stop: int) -> pd.DataFrame:
        """Overrides of runs ``start..stop-1``: index ``run_id``, one column per field."""

    @abstractmethod
    def header(self) -> dict[str, Any]:
        """JSON-able description for the manifest header; equal headers mean equal designs."""

    def save(self, sweep_dir: Path) -> None:  # noqa: B027 - optional hook, no-op by default
        """Write any side files :meth:`header` refers to (none by default), durably."""

    def side_files(self) -> tuple[str, ...]:
        """The sweep-relative files :meth:`save` writes (none by default)."""
        return ()

    def resolve(self, nominal: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Receive the script's own value of every field before the sweep starts.

        Designs that perturb around the nominal value bind it here, so the header
        records absolute values. The default ignores it.
        """

    def distinct_values(self) -> dict[str, list[Any]]:
        """Values of each field that together show every type the design writes to it.

        Used to check values against the fields' types before anything runs. The
        default takes run 0's values (designs whose fields have one type each).
        """
        if self.n_runs == 0:
            return {}
        return {name: [value] for name, value in self.overrides([0])[0].items()}

    @property
    def seed(self) -> int | None:
        """The seed that makes the design reproducible, if it draws random numbers."""
        return None

    def overrides(self, run_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Overrides for each id in ``run_ids`` (native Python values, JSON-able)."""
        if len(run_ids) == 0:
            return []
        ids = np.asarray(run_ids, dtype=np.int64)
        lo, hi = int(ids.min()), int(ids.max()) + 1
        if hi - lo == len(ids) and bool((np.diff(ids) == 1).all()):
            frame = self.block(lo, hi)  # the usual case: one contiguous batch, in order
        elif hi - lo <= 4 * len(ids):
            frame = self.block(lo, hi).loc[ids]
        else:
            frame = pd.concat([self.block(int(i), int(i) + 1) for i in ids])
        names = [str(name) for name in frame.columns]
        columns = [frame.iloc[:, i].tolist() for i in range(len(names))]
        return [
            {name: native(value) for name, value in zip(names, row, strict=True)}
            for row in zip(*columns, strict=True)
        ]


def native(value: Any) -> Any:
    """Convert numpy scalars to the Python value gmat-run and JSON expect."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_field_name(name: Any, *, where: str) -> str:
    """Return ``name`` if it is a dotted GMAT path like ``Sat.SMA``; else raise SpecError."""
    if not isinstance(name, str) or "." not in name:
        raise SpecError(
            f"{where}: field {name!r} is not a dotted GMAT path "
            "(expected 'Resource.Field' or 'Variable.Value')"
        )
    parts = name.split(".")
    if any(not p.strip() or p != p.strip() for p in parts):
        raise SpecError(f"{where}: field {name!r} has an empty or padded path segment")
    return name


def check_value(value: Any, *, where: str) -> Any:
    """Return ``value`` as a native value if it can be written to a GMAT field.

    A scalar is a finite number, text or a bool. A list value (a GMAT list field such as
    ``FM.PointMasses``, given as a list, tuple or 1-D array) is returned as a list of
    names (text) or of finite numbers, possibly empty; nested lists, bools and mixed
    lists are refused.
    """
    value = native(value)
    if isinstance(value, list | tuple | np.ndarray):
        return check_list(value, where=where)
    if isinstance(value, str):
        return check_text(value, where=where)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise SpecError(f"{where}: integer {value} is out of range; give it as a float")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where}: value {value!r} is not finite")
        return value
    raise SpecError(
        f"{where}: value {value!r} of type {type(value).__name__} is not a number, string, "
        "bool or list"
    )


def check_list(value: Any, *, where: str) -> list[Any]:
    """``value`` (a list, tuple or 1-D array) as a list of text or of finite numbers.

    Raises:
        SpecError: a nested list, a bool, a non-finite number, or text mixed with numbers.
    """
    items = [native(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    shown = list(items)
    for item in items:
        if isinstance(item, list | tuple | np.ndarray | dict):
            raise SpecError(f"{where}: list {shown!r} holds a list; nested lists are not supported")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise SpecError(
                f"{where}: list {shown!r} holds {item!r}; a list holds names (text) or numbers"
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise SpecError(f"{where}: list {shown!r} holds {item!r}, which is not finite")
        if isinstance(item, str):
            check_text(item, where=where)
        if isinstance(item, int) and not -(2**63) <= item < 2**63:
            raise SpecError(
                f"{where}: list {shown!r} holds the integer {item}, which is out of range; "
                "give it as a float"
            )
    texts = sum(isinstance(item, str) for item in items)
    if 0 < texts < len(items):
        raise SpecError(f"{where}: list {shown!r} mixes text and numbers")
    return items


def check_text(value: str, *, where: str) -> str:
    """``value`` if it is text GMAT can take: UTF-8 (a byte such as 0xff read from a
    command line or a file is a lone surrogate here, and failed the sweep mid-way).

    Raises:
        SpecError: naming the value, its undecodable bytes shown as ``\\xff``.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape" if _escaped(value) else "replace")
        raise SpecError(
            f"{where}: text '{shown.decode('utf-8', 'backslashreplace')}' is not valid "
            "UTF-8; GMAT takes UTF-8 text only"
        ) from None
    return value


def _escaped(value: str) -> bool:
    """Whether every lone surrogate in ``value`` stands for an undecodable byte."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


def as_text(value: Any) -> Any:
    """A list value as the GMAT script text the frame shows (``{Sun, Luna}``, ``[1 2 3]``);
    any other value unchanged."""
    if not isinstance(value, list | tuple | np.ndarray):
        return value
    from gmat_sweep_dask.wording import value as written

    return written([native(v) for v in value])


def hashable(value: Any) -> Any:
    """``value`` with lists made tuples, so it can be counted or compared in a set."""
    return tuple(value) if isinstance(value, list | np.ndarray) else value

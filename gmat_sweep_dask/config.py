"""Defaults read through ``dask.config`` under the ``gmat-sweep-dask`` namespace.

Override them like any Dask setting: ``~/.config/dask/gmat-sweep-dask.yaml``,
``DASK_GMAT_SWEEP_DASK__RETRIES=5``, or ``dask.config.set({"gmat-sweep-dask.retries": 5})``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask.config
import yaml

from gmat_sweep_dask.errors import UsageError

_DEFAULTS = Path(__file__).with_name("gmat-sweep-dask.yaml")

with open(_DEFAULTS, encoding="utf-8") as _handle:
    _DEFAULT_VALUES: dict[str, Any] = yaml.safe_load(_handle)
dask.config.update_defaults(_DEFAULT_VALUES)

_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True}
_BOOLEANS |= {"false": False, "no": False, "off": False, "0": False}


def get(key: str, override: Any = None) -> Any:
    """``override`` if given, else the configured value of ``gmat-sweep-dask.<key>``.

    A switch set from the environment as text or a number (``..._COMPACT=false``, ``=0``)
    reads as the boolean it spells; anything else for a switch raises :class:`UsageError`.
    So does a setting whose default is a number set to anything but a finite number ≥ 0
    (text, NaN, infinity, a negative value), and a count (``retries``, given or set) that
    is not an integer from 0 to 2**63-1.
    """
    if override is not None:
        _count(key, override, f"{key.replace('-', '_')}={override!r}")
        return override
    value = dask.config.get(f"gmat-sweep-dask.{key}")
    default = _DEFAULT_VALUES["gmat-sweep-dask"].get(key)
    if isinstance(default, bool) and not isinstance(value, bool):
        spelled = str(value).strip().lower()
        if spelled not in _BOOLEANS:
            raise UsageError(f"gmat-sweep-dask.{key} = {value!r}: expected true or false")
        return _BOOLEANS[spelled]
    if isinstance(default, int | float) and not isinstance(default, bool):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value >= 0):
            raise UsageError(f"gmat-sweep-dask.{key} = {value!r}: expected a number >= 0")
    _count(key, value, f"gmat-sweep-dask.{key} = {value!r}")
    return value


_COUNTS = frozenset({"retries"})
"""Settings Dask takes as integers only: 2.5 retries failed every run ("the Dask task
failed: AssertionError"), 2**64 of them hung the sweep (distributed cannot send them)."""


def _count(key: str, value: Any, named: str) -> None:
    """Refuse ``value`` for a :data:`_COUNTS` setting unless it is an integer 0..2**63-1."""
    if key in _COUNTS and not (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
    ):
        raise UsageError(f"{named:.80}: expected an integer from 0 to 2**63-1")


def check() -> None:
    """Read every setting once, so that a bad one is refused before anything starts (a
    cluster, an engine) rather than where it is first used; an unknown one (a typo that
    would silently leave its default in force) is refused too.

    Raises:
        UsageError: the first setting :func:`get` refuses, named with its value, or an
            unknown setting, named with the closest known one.
    """
    known = _DEFAULT_VALUES["gmat-sweep-dask"]
    settings = dask.config.get("gmat-sweep-dask", {})
    if not isinstance(settings, Mapping):
        raise UsageError(f"gmat-sweep-dask = {settings!r}: expected a mapping of settings")
    for key in settings:
        name = str(key).replace("_", "-")  # as dask.config itself reads keys
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"unknown setting gmat-sweep-dask.{key}{hint}; the settings are listed in "
                "docs/configuration.md"
            )
    for key in known:
        get(key)

"""The compact in-memory form of a manifest's run entries.

A loaded manifest keeps, per run, only what statuses, frames, verification and
compaction need (:data:`SLIM_FIELDS`). A million-run sweep holds a million of them, so
what runs have in common is held once: the status strings, the data file paths, and,
within one load, the whole ``outputs`` mapping of runs whose outputs are equal (the runs
of one batch that wrote the same number of rows). Shared ``outputs`` are never changed
in place except by :func:`~gmat_sweep_dask.store.manifest.Manifest.apply_moves`, which
re-points a path for every run that names it anyway.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

#: Entry fields kept in memory by default: what statuses, frames and compaction need.
SLIM_FIELDS = ("run_id", "status", "outputs", "error", "attempts", "context")
_SHARED_STRINGS = {"ok": "ok", "failed": "failed"}


class Slimmer:
    """Makes slim entries, sharing equal ``outputs`` among those it made (one load); with
    ``fields``, they keep those entry fields too (``started``, ``worker``...)."""

    def __init__(self, fields: Iterable[str] = ()) -> None:
        self._outputs: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._fields = tuple(dict.fromkeys((*SLIM_FIELDS, *fields)))

    def __call__(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The slim form of ``entry`` (a checked run entry)."""
        slim = {k: entry[k] for k in self._fields if k in entry}
        status = slim.get("status")
        if isinstance(status, str):
            slim["status"] = _SHARED_STRINGS.get(status, status)
        outputs = entry.get("outputs")
        if isinstance(outputs, dict):
            key = _key(outputs)
            if key is None:
                slim["outputs"] = _outputs(outputs)
            else:
                slim["outputs"] = self._outputs.get(key) or self._outputs.setdefault(
                    key, _outputs(outputs)
                )
        return slim


def slim(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The slim form of one ``entry``, sharing nothing with other entries' ``outputs``."""
    return Slimmer()(entry)


def _key(outputs: dict[str, Any]) -> tuple[Any, ...] | None:
    """What identifies ``outputs`` when every location is exactly ``{path, rows}``."""
    key: list[Any] = []
    for name, location in outputs.items():
        if not (isinstance(location, dict) and location.keys() == {"path", "rows"}):
            return None
        key += (name, location["path"], location["rows"])
    return tuple(key)


def _outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``outputs`` with its data file paths interned."""
    return {
        key: {**loc, "path": sys.intern(loc["path"])}
        if isinstance(loc, dict) and isinstance(loc.get("path"), str)
        else loc
        for key, loc in outputs.items()
    }

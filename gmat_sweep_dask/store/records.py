"""What a manifest line may hold: the header, a run entry, and their checks.

A run entry is the one record of a run's outcome, from the worker that produced it (in
the batch's commit record) to the manifest: ``run_id``, ``status`` (``ok``/``failed``),
``overrides``, ``outputs`` (``{"<kind>/<name>": {"path": "data/...parquet", "rows": n}}``),
timestamps, ``duration_s``, ``attempts``, ``worker``, ``batch``, ``error``, ``log_tail``,
and with a postprocess hook ``context`` (the run's JSON context) and ``files`` (the
files its hook added, ``runs/<run_id>/...``).
:func:`check_entry` is applied wherever one is read back from disk, so a damaged or
crafted record is refused with its file and line, and no path it names can lead out of
the sweep directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import ManifestCorruptError, SweepDirError
from gmat_sweep_dask.store import layout

SCHEMA_VERSION = 1
MAGIC = "gmat-sweep-dask manifest"
OK = "ok"
FAILED = "failed"


def check_header(path: Path, header: Mapping[str, Any]) -> None:
    if header.get("format") != MAGIC:
        raise ManifestCorruptError(path, 1, "not a gmat-sweep-dask manifest header")
    version = header.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ManifestCorruptError(path, 1, f"bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise SweepDirError(
            f"{path}: manifest schema version {version} is newer than this "
            f"gmat-sweep-dask understands ({SCHEMA_VERSION}); upgrade gmat-sweep-dask"
        )
    count = header.get("run_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ManifestCorruptError(path, 1, f"bad run_count {count!r}")
    design = header.get("design")
    if not (isinstance(design, dict) and isinstance(design.get("kind"), str)):
        raise ManifestCorruptError(path, 1, f"design {design!r} is not an object with a kind")
    for name, types in HEADER_TYPES.items():
        value = header.get(name)
        if name in header and not isinstance(value, types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ManifestCorruptError(path, 1, f"{name} {value!r} is not {expected}")
    snapshot = header.get("snapshot") or {}
    files = snapshot.get("files", {})
    if not (
        isinstance(snapshot.get("path", ""), str)
        and isinstance(files, dict)
        and all(isinstance(record, dict) for record in files.values())
    ):
        raise ManifestCorruptError(path, 1, f"snapshot {snapshot!r} is malformed")


#: Types of the header's fields that readers use (absent: a sweep from before they existed).
HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "script": (str,),
    "script_sha256": (str,),
    "snapshot": (dict,),
    "postprocess": (dict, type(None)),
    "gmat": (dict, type(None)),
    "keep_raw": (bool,),
    "isolate": (bool,),
}


def check_entry(path: Path, number: int, entry: Mapping[str, Any], run_count: int) -> None:
    run_id = entry.get("run_id")
    if not isinstance(run_id, int) or isinstance(run_id, bool) or not 0 <= run_id < run_count:
        raise ManifestCorruptError(path, number, f"run_id {run_id!r} outside 0..{run_count - 1}")
    if entry.get("status") not in (OK, FAILED):
        raise ManifestCorruptError(path, number, f"unknown status {entry.get('status')!r}")
    for name, types in ENTRY_TYPES.items():
        value = entry.get(name)
        if value is None and name in entry and name in _NOT_NULL:
            raise ManifestCorruptError(path, number, f"{name} is null")
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            expected = " or ".join(t.__name__ for t in types)
            raise ManifestCorruptError(path, number, f"{name} {value!r} is not {expected}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ManifestCorruptError(path, number, f"{name} {value!r} is not finite")
    for item in entry.get("files") or []:
        if not (isinstance(item, str) and item.startswith(f"{layout.RUNS}/{run_id}/")) or (
            not is_run_file(item)
        ):
            raise ManifestCorruptError(path, number, f"file {item!r} is not a file of run {run_id}")
    for key, loc in (entry.get("outputs") or {}).items():
        if not (isinstance(loc, dict) and isinstance(loc.get("path"), str)):
            raise ManifestCorruptError(path, number, f"output {key!r} has no path")
        if not is_data_path(loc["path"]):
            raise ManifestCorruptError(
                path, number, f"output {key!r}: path {loc['path']!r} is not a data file here"
            )
        rows = loc.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise ManifestCorruptError(path, number, f"output {key!r}: rows {rows!r}")


#: Types of an entry's optional fields; null is allowed except for those in _NOT_NULL.
ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "overrides": (dict,),
    "outputs": (dict,),
    "started": (str,),
    "ended": (str,),
    "duration_s": (int, float),
    "attempts": (int,),
    "worker": (str,),
    "batch": (str,),
    "error": (str,),
    "log_tail": (str,),
    "context": (dict,),
    "files": (list,),
}
_NOT_NULL = frozenset({"overrides", "outputs"})


def unrun_failure(
    run_id: int, overrides: Mapping[str, Any], error: str, *, attempts: int = 0
) -> dict[str, Any]:
    """The entry of a run recorded failed without outputs of its own: its task was lost
    (``attempts`` counts the real ones) or its recorded data was (``attempts`` 0)."""
    return {
        "run_id": run_id,
        "status": FAILED,
        "attempts": attempts,
        "overrides": dict(overrides),
        "outputs": {},
        "started": None,
        "ended": None,
        "duration_s": 0.0,
        "worker": None,
        "error": error,
        "log_tail": None,
    }


def is_run_file(relative: str) -> bool:
    """Whether ``relative`` names a file under ``runs/`` without leaving it."""
    parts = relative.split("/")
    return (
        parts[0] == layout.RUNS
        and len(parts) > 2
        and "\\" not in relative
        and all(part not in ("", ".", "..") and "\x00" not in part for part in parts)
    )


def is_data_path(relative: Any) -> bool:
    """Whether ``relative`` names a Parquet file under ``data/`` without leaving it."""
    if not isinstance(relative, str) or not relative.endswith(".parquet") or "\\" in relative:
        return False
    parts = relative.split("/")
    return (
        parts[0] == layout.DATA
        and len(parts) > 2
        and all(part not in ("", ".", "..") and "\x00" not in part for part in parts)
    )


def encode(record: Mapping[str, Any]) -> bytes:
    """One manifest line: compact JSON, sorted keys, newline-terminated.

    Raises:
        ValueError: the record holds a non-finite number (NaN and Infinity are not JSON)
            or an integer beyond 64 bits (it would read back as a float); every value is
            checked before it gets here, so this is a bug guard.
    """
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)
    wide = _wide_int(record)
    if wide is not None:
        raise ValueError(f"integer {wide} does not fit in 64 bits")
    return (text + "\n").encode()


INT64 = (-(2**63), 2**63 - 1)


def _wide_int(value: Any) -> int | None:
    """An integer in ``value`` (nested) that does not fit in int64, or None."""
    if isinstance(value, int):
        return None if INT64[0] <= value <= INT64[1] else value
    if isinstance(value, Mapping):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return None
    for item in value:
        wide = _wide_int(item)
        if wide is not None:
            return wide
    return None

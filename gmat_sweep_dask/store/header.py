"""The manifest header of a new sweep: what ran, with what, and how.

The header is line 1 of ``manifest.jsonl``. It records the schema version, the script
(its path as given, its canonical SHA-256, the sweep-relative snapshot the workers run
and the hashes of every file snapshotted), the design, the run count and seed, the run
options, and the versions of everything that shaped the results.
"""

from __future__ import annotations

import functools
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from gmat_sweep_dask.store.manifest import MAGIC, SCHEMA_VERSION


def new_header(
    *,
    script: str,
    script_sha256: str,
    snapshot: dict[str, Any],
    design: dict[str, Any],
    run_count: int,
    seed: int | None,
    options: dict[str, Any],
    gmat: dict[str, Any] | None,
) -> dict[str, Any]:
    """The header dict of a sweep about to be created (JSON-able, finite numbers only)."""
    return {
        "format": MAGIC,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "script": script,
        "script_sha256": script_sha256,
        "snapshot": snapshot,
        "design": design,
        "run_count": run_count,
        "seed": seed,
        **options,
        "gmat": gmat,
        "versions": versions(gmat or {}),
    }


@functools.cache
def version(name: str) -> str | None:
    """The installed version of distribution ``name`` (None: not installed); read once per
    process (``importlib.metadata`` scans every installed distribution: ~1 ms a call)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions(gmat: dict[str, Any]) -> dict[str, str | None]:
    """Versions of gmat-sweep-dask, gmat-run, GMAT, Dask and Python."""

    return {
        "gmat_sweep_dask": version("gmat-sweep-dask"),
        "gmat_run": version("gmat-run"),
        "gmat": gmat.get("version"),
        "dask": version("dask"),
        "distributed": version("distributed"),
        "python": platform.python_version(),
    }

"""Fold batches that finished on workers but never reached the manifest back into it.

Workers write a commit record per batch (``data/_outcomes/<tag>.json``) after its Parquet
files. The client deletes the record once the batch's entries are in the manifest, so a
record still present means the driver died in between. Reconciling appends the entries of
such runs (when the manifest does not already hold an ok entry for them and their output
files exist) and removes the record. Nothing completed is redone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import ManifestCorruptError, SweepDirError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.records import check_entry, encode


def reconcile(manifest: mf.Manifest, writer: ManifestWriter) -> int:
    """Append unrecorded outcomes found in commit records; return how many were added."""
    sweep_dir = manifest.path.parent
    added = 0
    for record in sorted((sweep_dir / layout.OUTCOMES).glob("[!.]*.json")):
        if record.is_dir() and not record.is_symlink():
            continue  # not a commit record: a directory is not ours to remove
        outcomes = _read(record)
        fresh = [o for o in outcomes if _wanted(manifest, record, o)]
        writer.append(fresh)
        for outcome in fresh:
            manifest.add(outcome)
        added += len(fresh)
        record.unlink()
    for marker in (sweep_dir / layout.ATTEMPTS).glob("*"):
        if not (marker.is_dir() and not marker.is_symlink()):
            marker.unlink(missing_ok=True)  # attempts of a previous driver's batches
    return added


def _read(record: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested too deep
        return []
    return [o for o in data if isinstance(o, dict)] if isinstance(data, list) else []


def _wanted(manifest: mf.Manifest, record: Path, outcome: dict[str, Any]) -> bool:
    """Whether ``outcome`` is a valid entry the manifest lacks, with its files in place.

    A malformed or crafted outcome (bad types, a path leading out of the sweep
    directory, a non-finite number) is left out: its run stays pending and runs again.
    """
    try:
        check_entry(record, 1, outcome, manifest.run_count)
        encode(outcome)
    except (ManifestCorruptError, ValueError, TypeError):
        return False
    run_id = outcome["run_id"]
    if manifest.entries.get(run_id, {}).get("status") == mf.OK:
        return False
    if run_id in manifest.entries and outcome.get("status") != mf.OK:
        return False
    sweep_dir = manifest.path.parent.resolve()
    for location in outcome.get("outputs", {}).values():
        try:
            if not confined(sweep_dir, location["path"], what="data file").is_file():
                return False
        except SweepDirError:
            return False
    return True


def drop_records(sweep_dir: Path, tags: list[str | None], key: str) -> None:
    """Remove the commit records ``tags`` and the attempt marker of batch ``key``.

    Called once their entries are in the manifest: the records are then redundant.
    """
    for tag in {t for t in tags if t}:
        (sweep_dir / layout.OUTCOMES / f"{tag}.json").unlink(missing_ok=True)
    (sweep_dir / layout.ATTEMPTS / key).unlink(missing_ok=True)

"""Before a sweep goes on: runs recorded ok whose data is lost are made to run again.

:func:`verified` checks every data file the ok runs point at (:mod:`.verify`, every
page's checksum). Files that are missing are first looked up in the data files
themselves (:mod:`.reindex`, e.g. after a lost ``moved`` record); the runs of every file
still missing, unreadable, failing a checksum or holding the wrong rows get a ``failed``
entry (``error`` ``data lost: <path>: <problem>``), so they are pending and run again.
One line on stderr says what was found. Nothing is written when nothing is damaged.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store import records
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.reindex import reindex
from gmat_sweep_dask.store.verify import (
    MISSING,
    Damage,
    check_files,
    needed,
    ranges,
    unrecorded,
)

if TYPE_CHECKING:
    from gmat_sweep_dask.design import Design

PREFIX = "gmat-sweep-dask: "


def verified(manifest: mf.Manifest, design: Design | None = None) -> mf.Manifest:
    """``manifest`` once every ok run whose data is lost is re-pointed or recorded failed.

    The caller holds the sweep's lock. ``design`` gives the failed entries their
    overrides. What is recorded is appended durably and applied to ``manifest``, which
    is returned.
    """
    sweep_dir = manifest.path.parent.resolve()
    files = needed(manifest)
    damaged = check_files(sweep_dir, files) + unrecorded(sweep_dir, manifest)
    if not damaged:
        return manifest
    writer = ManifestWriter.reopen(manifest)
    try:
        lost = {d.path: files[d.path] for d in damaged if d.problem == MISSING}
        moves = reindex(manifest, writer, lost) if lost else {}
        if moves:
            found = sorted({r for path in moves for r in files[path]})
            targets = sorted(set(moves.values()))
            _say(
                f"re-indexed {len(moves)} data files whose manifest record was lost: runs "
                f"{ranges(found)} are in {', '.join(targets)}"
            )
            refreshed = needed(manifest)
            damaged = [d for d in damaged if d.path not in moves]
            damaged += check_files(sweep_dir, {t: refreshed[t] for t in targets})
        if damaged:
            _record_failed(manifest, writer, damaged, design)
    finally:
        writer.close()
    return manifest


def _record_failed(
    manifest: mf.Manifest, writer: ManifestWriter, damaged: list[Damage], design: Design | None
) -> None:
    why: dict[int, str] = {}
    for damage in damaged:
        for run_id in damage.run_ids:
            why.setdefault(run_id, f"data lost: {damage.path}: {damage.problem}")
    run_ids = sorted(why)
    overrides = design.overrides(run_ids) if design is not None else [{}] * len(run_ids)
    entries = [
        records.unrun_failure(r, o, why[r]) | _context(manifest.entries.get(r))
        for r, o in zip(run_ids, overrides, strict=True)
    ]
    writer.append(entries)
    for entry in entries:
        manifest.add(entry)
    shown = "; ".join(f"{d.path}: {d.problem}" for d in damaged[:3])
    more = f"; and {len(damaged) - 3} more files" if len(damaged) > 3 else ""
    _say(
        f"{len(run_ids)} runs recorded ok lost their data and run again: runs "
        f"{ranges(run_ids)} ({shown}{more})"
    )


def _context(entry: dict[str, Any] | None) -> dict[str, Any]:
    """The recorded context of a run, carried into its new entry (resume restores it)."""
    return {"context": entry["context"]} if entry and "context" in entry else {}


def _say(message: str) -> None:
    print(PREFIX + message, file=sys.stderr, flush=True)

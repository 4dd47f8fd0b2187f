"""Plain-text summaries of a sweep directory, read from its manifest only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask import wording
from gmat_sweep_dask.analysis.failures import failure_rows
from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import layout, sessions
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.lock import held_by_live_driver


def _load(sweep_dir: Path, *, full: bool = False) -> mf.Manifest:
    path = Path(sweep_dir)
    manifest = path if path.name == layout.MANIFEST else path / layout.MANIFEST
    return mf.Manifest.load(manifest, full=full)


def _swept_fields(design: dict[str, Any], sweep_dir: Path) -> list[str]:
    """The fields a design header varies (read from the samples file for samples); none
    when the header is malformed (``verify``, ``open_sweep`` and ``resume`` say how)."""
    try:
        if "axes" in design:
            return [str(name) for name, _ in design["axes"]]
        if "perturb" in design:
            return [str(name) for name, _ in design["perturb"]]
        return list(pq.read_schema(confined(sweep_dir, design.get("path"))).names)
    except (OSError, SweepDirError, pa.ArrowInvalid, TypeError, ValueError):
        return []


def describe(sweep_dir: Path) -> str:
    """Counts per status, wall time (:func:`~gmat_sweep_dask.store.sessions.wall`), script,
    design, engine, outputs."""
    manifest = _load(sweep_dir)
    header = manifest.header
    counts = manifest.status_counts()
    running = held_by_live_driver(manifest.path.parent)
    timed = manifest  # the runs' timestamps only when the sessions do not say it all
    if sessions.needs_run_times(header, running=running):
        timed = _load(sweep_dir, full=True)
    wall = sessions.wall(header, timed.entries.values(), running=running).describe()
    outputs = sorted({k for e in manifest.entries.values() for k in e.get("outputs", {})})
    design = header["design"]
    fields = _swept_fields(design, manifest.path.parent)
    gmat = header.get("gmat") or {}
    engine = "GMAT stand-in engine" if gmat.get("standin") else f"GMAT {gmat.get('version')}"
    lines = [
        f"sweep:    {manifest.path.parent}",
        f"script:   {header['script']} (sha256 {header['script_sha256'][:12]}...)",
        f"design:   {design['kind']}, {wording.plural(header['run_count'], 'run')}"
        + (f" over {', '.join(fields)}" if fields else "")
        + (f", seed {design['seed']}" if design.get("seed") is not None else ""),
        f"engine:   {engine}",
        f"status:   {wording.counts(counts)}",
        f"wall:     {wall}",
        f"outputs:  {', '.join(outputs) or '-'}",
    ]
    if manifest.torn:
        lines.append(
            "note:     the manifest's last line is torn (a crash mid-write); resume repairs it"
        )
    if manifest.lost:
        shown = ", ".join(map(str, manifest.lost[:5])) + (", ..." if manifest.lost[5:] else "")
        lines.append(
            f"note:     manifest line(s) {shown} cannot be read (lost records); "
            "resume runs again any run only they recorded"
        )
    return "\n".join(lines)


def failed_runs(sweep_dir: Path) -> str:
    """A table of the failed runs: run id, overrides, the reason in words (with GMAT's own
    error line when there is one) and GMAT's log when the raw outputs were kept."""
    directory = Path(sweep_dir)
    rows = failure_rows(directory.parent if directory.name == layout.MANIFEST else directory)
    if not rows:
        return "no failed runs"
    title = f"{wording.plural(len(rows), 'failed run')}:"
    if all(row[3] == "-" for row in rows):  # no logs kept: no log column
        return title + "\n" + wording.table(["run", "overrides", "reason"], [r[:3] for r in rows])
    ordered = [[r[0], r[1], r[3], r[2]] for r in rows]  # the long reason last
    return title + "\n" + wording.table(["run", "overrides", "log", "reason"], ordered)

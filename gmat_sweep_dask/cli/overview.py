"""Plain-text summaries of a sweep directory, read from its manifest only."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined


def _load(sweep_dir: Path) -> mf.Manifest:
    path = Path(sweep_dir)
    manifest = path if path.name == layout.MANIFEST else path / layout.MANIFEST
    return mf.Manifest.load(manifest, full=True)


def _swept_fields(design: dict[str, Any], sweep_dir: Path) -> list[str]:
    """The fields a design header varies (read from the samples file for samples)."""
    if "axes" in design:
        return [name for name, _ in design["axes"]]
    if "perturb" in design:
        return [name for name, _ in design["perturb"]]
    try:
        return list(pq.read_schema(confined(sweep_dir, design.get("path"))).names)
    except (OSError, SweepDirError, pa.ArrowInvalid):
        return []


def describe(sweep_dir: Path) -> str:
    """Counts per status, wall time (first start to last end), script, design, outputs."""
    manifest = _load(sweep_dir)
    header = manifest.header
    counts = manifest.status_counts()
    starts = [e["started"] for e in manifest.entries.values() if e.get("started")]
    ends = [e["ended"] for e in manifest.entries.values() if e.get("ended")]
    wall = "-"
    with contextlib.suppress(ValueError, TypeError):  # a hand-edited timestamp: no wall
        seconds = datetime.fromisoformat(max(ends)) - datetime.fromisoformat(min(starts))
        wall = f"{seconds.total_seconds():.1f} s"
    outputs = sorted({k for e in manifest.entries.values() for k in e.get("outputs", {})})
    design = header["design"]
    fields = _swept_fields(design, manifest.path.parent)
    gmat = header.get("gmat") or {}
    engine = "GMAT stand-in engine" if gmat.get("standin") else f"GMAT {gmat.get('version')}"
    lines = [
        f"sweep:    {manifest.path.parent}",
        f"script:   {header['script']} (sha256 {header['script_sha256'][:12]}...)",
        f"design:   {design['kind']}, {header['run_count']} runs"
        + (f" over {', '.join(fields)}" if fields else "")
        + (f", seed {design['seed']}" if design.get("seed") is not None else ""),
        f"engine:   {engine}",
        "status:   " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
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
    """One line per failed run: id, overrides and the first line of its error."""
    manifest = _load(sweep_dir)
    lines = []
    for run_id in sorted(manifest.entries):
        entry = manifest.entries[run_id]
        if entry["status"] != mf.FAILED:
            continue
        error = (entry.get("error") or "").strip().splitlines()
        lines.append(f"run {run_id} {entry.get('overrides')}: {error[0] if error else '?'}")
    return "\n".join(lines) if lines else "no failed runs"

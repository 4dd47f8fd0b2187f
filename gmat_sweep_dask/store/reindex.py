"""Find the rows of runs whose recorded data file is gone, in the data files themselves.

When a ``moved`` record is lost (both copies), ok entries point at batch files that
compaction already deleted, while their rows sit in a merged file nothing points at.
Every data file carries its runs' ids (the ``run_id`` column, with per-row-group
statistics), so each missing file is looked up among the other files of its output
directory: if exactly one holds exactly the recorded rows of every ok run that pointed
at it, the manifest records a ``moved`` record from the missing file to that one (no
re-run); otherwise nothing is recorded and the runs are run again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa

from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.datafiles import open_verified
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.verify import needed


def missing_files(manifest: mf.Manifest) -> dict[str, dict[int, int]]:
    """The data files ok runs point at that do not exist: ``{path: {run_id: rows}}``.

    Paths leading outside the sweep directory are left to the caller's own checks.
    """
    sweep_dir = manifest.path.parent.resolve()
    missing = {}
    for path, wanted in needed(manifest).items():
        try:
            exists = confined(sweep_dir, path, what="data file").is_file()
        except SweepDirError:
            continue
        if not exists:
            missing[path] = wanted
    return missing


def reindex(
    manifest: mf.Manifest, writer: ManifestWriter, missing: Mapping[str, Mapping[int, int]]
) -> dict[str, str]:
    """Re-point each missing file whose runs one other file holds; return ``{old: new}``.

    The moves are recorded durably (one write, one record per file found, each twice)
    and applied to ``manifest``.
    """
    sweep_dir = manifest.path.parent.resolve()
    by_directory: dict[str, dict[str, Mapping[int, int]]] = {}
    for path, wanted in missing.items():
        if any(rows > 0 for rows in wanted.values()):
            by_directory.setdefault(str(PurePosixPath(path).parent), {})[path] = wanted
    moves: dict[str, str] = {}
    for directory, lost in by_directory.items():
        candidates = _run_counts(sweep_dir, directory, exclude=set(missing))
        for path, wanted in lost.items():
            holding = [
                candidate
                for candidate, counts in candidates.items()
                if all(counts.get(run_id, 0) == rows for run_id, rows in wanted.items())
            ]
            if len(holding) == 1:
                moves[path] = holding[0]
    if moves:
        grouped: dict[str, list[str]] = {}
        for old, new in moves.items():
            grouped.setdefault(new, []).append(old)
        writer.record_moves([(sorted(old), new) for new, old in grouped.items()])
        manifest.apply_moves(moves)
    return moves


def _run_counts(sweep_dir: Path, directory: str, exclude: set[str]) -> dict[str, Counter[int]]:
    """Rows per run of each readable data file in ``directory`` (a sweep-relative path)."""
    try:
        folder = confined(sweep_dir, directory, what="data directory")
    except SweepDirError:
        return {}
    counts: dict[str, Counter[int]] = {}
    for file in sorted(folder.glob("[!.]*.parquet")):
        relative = f"{directory}/{file.name}"
        if relative in exclude:
            continue
        try:
            handle = open_verified(confined(sweep_dir, relative, what="data file"))
            ids = handle.read(columns=["run_id"])["run_id"].to_numpy()
        except (OSError, pa.ArrowException, SweepDirError, KeyError):
            continue  # unreadable or not ours: it holds nothing we can trust
        values, rows = np.unique(ids, return_counts=True)
        counts[relative] = Counter(dict(zip(values.tolist(), rows.tolist(), strict=True)))
    return counts

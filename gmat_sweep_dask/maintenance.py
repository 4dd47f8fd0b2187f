"""Operations on a sweep directory that run without a cluster (compaction)."""

from __future__ import annotations

from pathlib import Path

from gmat_sweep_dask import layout
from gmat_sweep_dask import manifest as mf
from gmat_sweep_dask.compact import CompactReport, compact
from gmat_sweep_dask.lock import SweepLock
from gmat_sweep_dask.reconcile import reconcile


def compact_dir(sweep_dir: str | Path) -> CompactReport:
    """Take the sweep's lock, fold in unrecorded batches, and compact it in this process."""
    path = Path(sweep_dir).expanduser()
    if path.name == layout.MANIFEST:
        path = path.parent
    mf.Manifest.load(path / layout.MANIFEST)  # a clear error before taking the lock
    with SweepLock(path):
        manifest = mf.Manifest.load(path / layout.MANIFEST)
        writer = mf.ManifestWriter.reopen(manifest)
        try:
            reconcile(manifest, writer)
            return compact(manifest, writer)
        finally:
            writer.close()

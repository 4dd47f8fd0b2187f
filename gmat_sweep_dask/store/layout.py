"""Where things live inside a sweep directory.

A sweep directory holds::

    manifest.jsonl                 the client's append-only record (header + one entry per run)
    .lock                          owner of a live driver (pid, host)
    .creating                      only while a sweep is created: the files it writes
    design/samples.parquet         the explicit sample table, when the design has one
    data/<kind>/<Name>/part-*.parquet   outputs, one file per batch of runs, a row group per run
    data/_outcomes/*.json          worker commit records not yet folded into the manifest
    data/_attempts/<key>           one line per attempt at a batch still in flight
    runs/<run_id>/                 raw GMAT text outputs, only with ``keep_raw=True``

All paths recorded in the manifest are relative to the sweep directory, so a sweep
directory can be moved or opened from another machine.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = "manifest.jsonl"
LOCK = ".lock"
CREATING = ".creating"
DATA = "data"
OUTCOMES = "data/_outcomes"
ATTEMPTS = "data/_attempts"
RUNS = "runs"
SAMPLES = "design/samples.parquet"


def output_dir(sweep_dir: Path, kind: str, name: str) -> Path:
    """Directory holding the batch files of output ``name`` of ``kind`` (e.g. report)."""
    return sweep_dir / DATA / kind / name


def raw_run_dir(sweep_dir: Path, run_id: int) -> Path:
    """Directory where GMAT writes one run's raw text outputs when they are kept."""
    return sweep_dir / RUNS / str(run_id)

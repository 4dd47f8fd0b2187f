"""Compaction: run-aligned row groups, stale rows dropped, null columns giving way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gmat_sweep_dask import manifest as mf
from gmat_sweep_dask import outputs
from gmat_sweep_dask.compact import compact

HEADER = {"format": mf.MAGIC, "schema_version": 1, "run_count": 40, "design": {"kind": "grid"}}


def batch(sweep: Path, runs: list[int], rows: int, tag: str) -> list[dict]:
    """Write one batch file of ``runs`` and return their manifest entries."""
    tables = []
    for run_id in runs:
        frame = pd.DataFrame(
            {
                "Sat.UTCGregorian": pd.date_range("2026-01-01", periods=rows, freq="60s"),
                "Sat.X": np.arange(rows, dtype=float) + run_id,
            }
        )
        tables.append(outputs.normalise("report", frame, run_id))
    path = outputs.write_batch(sweep, "report", "Orbit", tables, tag)
    return [
        {"run_id": r, "status": "ok", "outputs": {"report/Orbit": {"path": path, "rows": rows}}}
        for r in runs
    ]


def test_row_groups_never_split_a_run_and_stale_rows_are_dropped(tmp_path: Path) -> None:
    writer = mf.ManifestWriter.create(tmp_path / "manifest.jsonl", HEADER)
    entries = []
    for first in range(0, 40, 4):
        entries += batch(tmp_path, list(range(first, first + 4)), 7, f"{first:09d}-a")
    # run 5 was redone in another batch: its rows in the first file are stale
    redo = batch(tmp_path, [5], 7, "000000005-b")
    writer.append(entries + redo)
    manifest = mf.Manifest.load(tmp_path / "manifest.jsonl")
    report = compact(manifest, writer, row_group_rows=20)
    writer.close()
    assert report.written_files == 1
    files = list((tmp_path / "data/report/Orbit").glob("*.parquet"))
    assert len(files) == 1
    parquet = pq.ParquetFile(files[0])
    seen = set()
    for group in range(parquet.num_row_groups):
        ids = set(parquet.read_row_group(group, columns=["run_id"])["run_id"].to_pylist())
        assert not ids & seen  # no run spans two row groups
        seen |= ids
    table = parquet.read()
    assert table.num_rows == 40 * 7  # the stale copy of run 5 is gone
    reloaded = mf.Manifest.load(tmp_path / "manifest.jsonl")
    assert {e["outputs"]["report/Orbit"]["path"] for e in reloaded.entries.values()} == {
        str(files[0].relative_to(tmp_path))
    }


def test_a_column_missing_in_one_run_keeps_its_type() -> None:
    present = pa.table({"run_id": [0], "x": pa.array([1.5])})
    missing = pa.table({"run_id": [1], "x": pa.nulls(1)})
    assert outputs.unify([missing, present]).field("x").type == pa.float64()
    assert outputs.unify([missing]).field("x").type == pa.float64()

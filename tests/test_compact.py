"""Compaction: run-aligned row groups, stale rows dropped, null columns giving way, the CLI
command, and a compaction SIGKILLed midway (nothing lost, redone by the next one)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import dask.config
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gmat_sweep_dask import Sweep, open_sweep
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.compact import compact
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

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
    writer = ManifestWriter.create(tmp_path / "manifest.jsonl", HEADER)
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
    assert outputs.unify([missing.schema, present.schema]).field("x").type == pa.float64()
    assert outputs.unify([missing.schema]).field("x").type == pa.float64()


def sweep_uncompacted(client, script: Path, out: Path) -> pd.DataFrame:
    """A 40-run sweep left as the workers wrote it (one file per batch); its frame."""
    with dask.config.set({"gmat-sweep-dask.compact": False}):
        grid = Grid({"Sat.SMA": [7000.0 + 5 * i for i in range(40)]})
        Sweep(script, grid, out).run(client, progress=False)
    return open_sweep(out).compute()


def data_files(out: Path) -> list[Path]:
    return sorted(p.relative_to(out) for p in (out / "data").rglob("*.parquet"))


def test_cli_compact_merges_batch_files_and_a_second_pass_rewrites_nothing(
    client, example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    expected = sweep_uncompacted(client, example_script, out)
    assert len(data_files(out)) > 3
    assert CliRunner().invoke(main, ["compact", str(out)]).exit_code == 0
    (merged,) = data_files(out)
    assert merged.name.startswith("compact-")
    written = (out / merged).stat().st_mtime_ns
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)
    assert CliRunner().invoke(main, ["compact", str(out)]).exit_code == 0
    assert data_files(out) == [merged] and (out / merged).stat().st_mtime_ns == written


KILL_COMPACTION = """
import os, signal, sys
from gmat_sweep_dask.store.compact import compact_dir
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

record_moves = ManifestWriter.record_moves

def killed(self, moves):
    if sys.argv[2] == "after-record":
        record_moves(self, moves)
    os.kill(os.getpid(), signal.SIGKILL)

ManifestWriter.record_moves = killed
compact_dir(sys.argv[1])
"""


@pytest.mark.parametrize("moment", ["before-record", "after-record"])
def test_a_compaction_killed_midway_loses_nothing_and_is_redone(
    client, example_script: Path, tmp_path: Path, moment: str
) -> None:
    out = tmp_path / "s"
    expected = sweep_uncompacted(client, example_script, out)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_COMPACTION, str(out), moment], timeout=120, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    assert (out / ".lock").exists()  # the dead process's lock is left behind
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)
    redone = CliRunner().invoke(main, ["compact", str(out)])
    assert redone.exit_code == 0, redone.output
    assert len(data_files(out)) == 1 and not (out / ".lock").exists()
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)


def test_directories_under_the_names_of_its_files_are_left_alone(
    client, example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    expected = sweep_uncompacted(client, example_script, out)
    planted = [
        out / "data/report/Orbit/part-000000999-0123456789.parquet",  # an "orphan" data file
        out / "data/_outcomes/000000999-0123456789.json",  # a "commit record"
        out / "data/_attempts/batch-key",  # an "attempt marker"
    ]
    for directory in planted:
        (directory / "inside").mkdir(parents=True)
    result = CliRunner().invoke(main, ["compact", str(out)])
    assert result.exit_code == 0, result.output  # was IsADirectoryError
    assert all((directory / "inside").is_dir() for directory in planted)
    assert len([f for f in data_files(out) if f.name.startswith("compact-")]) == 1
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)

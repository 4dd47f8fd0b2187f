"""DuckDB and Polars read a finished sweep's compacted Parquet directly and agree with us."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCRIPTS

from gmat_sweep_dask import open_sweep, sweep

duckdb = pytest.importorskip("duckdb")
polars = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def faulty(client, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leo_faults on the stand-in: 3 SMAs x StandinFault 0/1, so half the runs fail."""
    out = tmp_path_factory.mktemp("interop") / "s"
    grid = {"Sat.SMA": [7000.0, 7100.0, 7200.0], "StandinFault.Value": [0, 1]}
    sweep(SCRIPTS / "leo_faults.script", grid=grid, out=out, client=client, progress=False)
    return out


def ours(out: Path) -> pd.DataFrame:
    frame = open_sweep(out).compute()
    assert set(frame.loc[frame["StandinFault.Value"] == 1, "status"]) == {"failed"}
    ok = frame[frame["status"] == "ok"].reset_index()
    return ok[["run_id", "time", "Sat.X", "Sat.Y", "Sat.Z"]].reset_index(drop=True)


def test_duckdb_reads_the_consolidated_dataset(faulty: Path) -> None:
    files = sorted((faulty / "data" / "report" / "Positions").glob("*.parquet"))
    assert len(files) == 1  # compacted at the end of the sweep
    glob = f"{faulty}/data/report/Positions/*.parquet"
    theirs = duckdb.sql(
        f'select run_id, time, "Sat.X", "Sat.Y", "Sat.Z" from read_parquet(\'{glob}\') '
        "order by run_id, time"
    ).df()
    expected = ours(faulty)
    theirs["time"] = theirs["time"].astype(expected["time"].dtype)
    pd.testing.assert_frame_equal(theirs, expected, check_dtype=False)
    per_run = duckdb.sql(
        f"select run_id, max(\"Sat.Z\") as z from read_parquet('{glob}') group by run_id "
        "order by run_id"
    ).df()
    np.testing.assert_allclose(per_run["z"], expected.groupby("run_id")["Sat.Z"].max())


def test_polars_scans_the_consolidated_dataset(faulty: Path) -> None:
    glob = f"{faulty}/data/report/Positions/*.parquet"
    lazy = polars.scan_parquet(glob).select(["run_id", "time", "Sat.X", "Sat.Y", "Sat.Z"])
    theirs = lazy.sort(["run_id", "time"]).collect().to_pandas()
    expected = ours(faulty)
    theirs["time"] = theirs["time"].astype(expected["time"].dtype)
    pd.testing.assert_frame_equal(theirs, expected, check_dtype=False)
    one = polars.scan_parquet(glob).filter(polars.col("run_id") == 2).collect().to_pandas()
    mine = open_sweep(faulty).loc[2].compute()
    np.testing.assert_allclose(one["Sat.X"], mine["Sat.X"])

"""Lazy summaries: per-run reductions, bands over time, convergence, the runs table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SCRIPTS
from test_frames import RunOutputs, build_sweep, report

from gmat_sweep_dask import (
    Grid,
    Manifest,
    UsageError,
    bands,
    convergence,
    open_sweep,
    per_run,
    runs_table,
    sweep,
    time_scale,
)
from gmat_sweep_dask.analysis import frames as fr
from gmat_sweep_dask.cli import main

GRID = {"Sat.SMA": [7000.0, 7100.0, 7200.0, 7300.0], "Sat.ECC": [0.0, 0.1, 0.2]}


def varied_run(run_id: int, params: dict[str, Any]) -> RunOutputs:
    """Runs 4 and 9 fail, run 7 has no rows; even runs report every 60 s, odd every 45 s."""
    if run_id in (4, 9):
        return f"GmatRunError: run {run_id} failed"
    rows = 0 if run_id == 7 else 5
    step = 60.0 if run_id % 2 == 0 else 45.0
    elapsed = np.arange(rows) * step
    x = params["Sat.SMA"] + run_id + elapsed / 100.0
    return {("report", "R"): report(rows, step, **{"Sat.X": x, "Sat.VX": -x / 1000.0})}


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sweep(tmp_path_factory.mktemp("varied") / "s", GRID, varied_run, batch=3)


def split(out: Path) -> Any:
    """The sweep's frame cut into partitions of about 10 rows, so reductions cross them."""
    frame = fr.open_frame(Manifest.load(out / "manifest.jsonl"), Grid(GRID), partition_rows=10)
    assert frame.npartitions >= 4
    return frame


def test_per_run_gives_one_row_per_run_with_params_lazily(varied: Path) -> None:
    frame = split(varied)
    runs = per_run(frame, ["Sat.X"], how=("first", "last", "min", "max", "count"))
    assert runs.known_divisions and runs.divisions == frame.divisions
    table = runs.compute()
    data = frame.compute()
    assert list(table.index) == list(range(12))
    assert list(table.columns[:3]) == ["status", "Sat.SMA", "Sat.ECC"]
    ok = data[data["time"].notna()].groupby(level=0)["Sat.X"]
    pd.testing.assert_series_equal(table["Sat.X:last"].dropna(), ok.last(), check_names=False)
    pd.testing.assert_series_equal(table["Sat.X:min"].dropna(), ok.min(), check_names=False)
    assert table.loc[4, "status"] == "failed" and np.isnan(table.loc[4, "Sat.X:last"])
    assert table.loc[7, "status"] == "ok" and table.loc[7, "Sat.X:count"] == 0
    assert table.loc[11, "Sat.SMA"] == 7300.0 and table.loc[11, "Sat.ECC"] == 0.2
    default = per_run(open_sweep(varied)).compute()
    assert {"Sat.X:last", "Sat.VX:max"} <= set(default.columns)
    with pytest.raises(UsageError, match="unknown statistic"):
        per_run(frame, ["Sat.X"], how=("median",))


def test_bands_by_time_match_pandas_quantiles_across_partitions(varied: Path) -> None:
    frame = split(varied)
    result = bands(frame, ["Sat.X", "Sat.VX"], q=(0.1, 0.5, 0.9), include=("mean", "count"))
    assert result.npartitions == 1
    table = result.compute()
    data = frame.compute()
    ok = data[(data["status"] == "ok") & data["time"].notna()]
    expected = ok.groupby("time")["Sat.X"]
    assert table.index.name == "time" and table.index.is_monotonic_increasing
    pd.testing.assert_index_equal(table.index, expected.quantile(0.5).index)
    for level in (0.1, 0.5, 0.9):
        np.testing.assert_allclose(table[f"Sat.X:q{level:g}"], expected.quantile(level))
    np.testing.assert_allclose(table["Sat.X:mean"], expected.mean())
    np.testing.assert_array_equal(table["Sat.X:count"], expected.count())
    np.testing.assert_allclose(table["Sat.VX:q0.5"], ok.groupby("time")["Sat.VX"].median())


def test_bands_resampled_on_elapsed_time_line_up_runs_with_different_steps(varied: Path) -> None:
    table = bands(split(varied), ["Sat.X"], q=(0.5,), by="elapsed", step=90.0).compute()
    assert table.index.name == "elapsed"
    assert list(table.index) == [0.0, 90.0, 180.0]
    # x = SMA + run_id + elapsed/100 is linear, so interpolation is exact
    runs = [i for i in range(12) if i not in (4, 7, 9)]
    base = np.array([GRID["Sat.SMA"][i // 3] + i for i in runs])
    reach = np.array([240.0 if i % 2 == 0 else 180.0 for i in runs])
    for elapsed in (0.0, 90.0, 180.0):
        values = base[reach >= elapsed] + elapsed / 100.0
        assert table.loc[elapsed, "Sat.X:q0.5"] == pytest.approx(np.median(values))
        assert table.loc[elapsed, "Sat.X:count"] == len(values)
    exact = bands(split(varied), ["Sat.X"], q=(0.5,), by="elapsed").compute()
    assert list(exact.index) == [0.0, 45.0, 60.0, 90.0, 120.0, 135.0, 180.0, 240.0]
    with pytest.raises(UsageError):
        bands(split(varied), ["Sat.X"], q=(1.5,))


def test_convergence_is_a_stable_running_mean_over_ok_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    finals = 1e7 + rng.normal(0.0, 1e-3, 30)

    def make(run_id: int, params: dict[str, Any]) -> RunOutputs:
        if run_id == 5:
            return "GmatRunError: no"
        return {("report", "R"): report(3, **{"Miss": [0.0, 1.0, finals[run_id]]})}

    out = build_sweep(tmp_path / "s", {"Sat.SMA": list(range(30))}, make, batch=7)
    table = convergence(open_sweep(out), "Miss").compute()
    kept = np.delete(finals, 5)
    assert list(table.index) == [i for i in range(30) if i != 5]
    assert table["n"].tolist() == list(range(1, 30))
    expected = pd.Series(kept)
    np.testing.assert_allclose(table["running_mean"], expected.expanding().mean(), rtol=1e-15)
    exact = pd.Series(kept - 1e7).expanding().std()  # the subtraction is exact here
    np.testing.assert_allclose(table["running_std"].iloc[1:], exact.iloc[1:], rtol=1e-9)
    assert np.isnan(table["running_std"].iloc[0]) and np.isnan(table["se_mean"].iloc[0])
    np.testing.assert_allclose(table["se_mean"], table["running_std"] / np.sqrt(table["n"]))


def test_runs_table_of_a_real_sweep_with_failures(client, tmp_path: Path) -> None:
    out = tmp_path / "s"
    grid = {"StandinFault.Value": [0, 1], "Sat.SMA": [7000.0, 7100.0]}
    sweep(SCRIPTS / "leo_faults.script", grid=grid, out=out, client=client, progress=False)
    table = runs_table(out)
    assert list(table.index) == [0, 1, 2, 3]
    assert table["status"].tolist() == ["ok", "ok", "failed", "failed"]
    assert table["StandinFault.Value"].tolist() == [0, 0, 1, 1]
    assert table["error"].isna().tolist() == [True, True, False, False]
    assert table.loc[2, "error"].startswith("GmatRunError")
    assert (table["attempts"] == 1).all() and (table["duration_s"] > 0).all()
    assert table["worker"].str.startswith("tcp://127.0.0.1").all()
    assert (table["ended"] >= table["started"]).all()
    assert time_scale(out) == "UTC"


def test_runs_table_marks_runs_never_recorded_as_missing(tmp_path: Path) -> None:
    out = build_sweep(tmp_path / "s", GRID, varied_run, record=10)
    table = runs_table(out)
    assert len(table) == 12 and table["status"].tolist()[-3:] == ["failed", "missing", "missing"]
    assert table.loc[4, "error"] == "GmatRunError: run 4 failed"


def test_a_recorded_time_that_cannot_be_read_is_unknown_not_an_error(tmp_path: Path) -> None:
    out = build_sweep(tmp_path / "s", GRID, varied_run)
    manifest = out / "manifest.jsonl"
    entry = json.loads(manifest.read_text().splitlines()[-1])
    with manifest.open("a") as handle:  # e.g. hand-edited, or written by another tool
        handle.write(json.dumps({**entry, "started": "garbage", "ended": "2026-13-45"}) + "\n")
    table = runs_table(out)  # was ValueError: Time data garbage is not ISO8601 format
    run = entry["run_id"]
    assert pd.isna(table.loc[run, "started"]) and pd.isna(table.loc[run, "ended"])
    assert table["started"].notna().sum() == len(table) - 1
    result = CliRunner().invoke(main, ["show", str(out), "--where", "duration_s > 0"])
    assert result.exit_code == 0 and result.exception is None, result.output

"""fused_reports: several outputs of one sweep on one time axis, exact or as-of, lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from test_frames import RunOutputs, build_sweep, report

from gmat_sweep_dask import Grid, Manifest, UsageError, fused_reports, open_sweep, sweep
from gmat_sweep_dask.analysis import frames as fr

SCRIPT = REPO / "examples" / "leo_reports.script"
GRID = {"Sat.SMA": [7000, 7100, 7200], "StandinFault.Value": [0, 1]}  # fault 1 fails the run


@pytest.fixture(scope="module")
def outputs(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in sweep of two UTC ReportFiles, an A1 one and a 120 s ephemeris."""
    root = tmp_path_factory.mktemp("fuse")
    text = SCRIPT.read_text().replace(
        "BeginMissionSequence",
        "Create Variable StandinFault\nStandinFault = 0\n"
        "Create ReportFile Counts\nCounts.Filename = 'counts.txt'\n"
        "Counts.Add = {Sat.A1ModJulian, Sat.RMAG}\n\nBeginMissionSequence",
    )
    script = root / "reports.script"
    script.write_text(text)
    out = root / "sweep"
    sweep(script, grid=GRID, out=out, client=client, report="Orbit", progress=False)
    return out


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("time", append=True)


def test_exact_join_of_two_reports(outputs: Path) -> None:
    fused = fused_reports(outputs, ["Orbit", "Ground"])
    table = fused.compute()
    orbit, ground = open_sweep(outputs, "Orbit").compute(), open_sweep(outputs, "Ground").compute()
    assert list(table.columns) == [
        "time",
        "Sat.X",
        "Sat.Y",
        "Sat.Z",
        "Orbit/Sat.Earth.Altitude",
        "Sat.Earth.Latitude",
        "Sat.Earth.Longitude",
        "Ground/Sat.Earth.Altitude",
        "status",
        "Sat.SMA",
        "StandinFault.Value",
    ]
    assert len(table) == len(orbit)
    pd.testing.assert_frame_equal(
        keyed(table)[["Sat.X", "Sat.Earth.Latitude"]],
        keyed(orbit)[["Sat.X"]].join(keyed(ground)[["Sat.Earth.Latitude"]]),
    )
    ok = table[table["status"] == "ok"]
    np.testing.assert_array_equal(ok["Orbit/Sat.Earth.Altitude"], ok["Ground/Sat.Earth.Altitude"])
    failed = table[table["status"] == "failed"]
    assert sorted(failed.index) == [1, 3, 5] and failed["time"].isna().all()
    assert failed["Sat.Earth.Latitude"].isna().all() and (failed["StandinFault.Value"] == 1).all()


def reference_asof(anchor: pd.DataFrame, other: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """For each anchor row, the last row of ``other`` of its run at or before its time and
    no more than ``seconds`` earlier (a loop, not merge_asof)."""
    rows = []
    for run_id, t in zip(anchor.index, anchor["time"], strict=True):
        candidates = other.loc[[run_id]] if run_id in other.index else other.iloc[:0]
        gap = (t - candidates["time"]).dt.total_seconds()
        before = candidates[(gap >= 0) & (gap <= seconds)]
        missing = pd.Series({"time": pd.NaT, "X": np.nan})
        rows.append(before.iloc[-1][["time", "X"]] if len(before) else missing)
    return pd.DataFrame(rows, index=anchor.index)


@pytest.mark.parametrize("seconds", [60.0, 30.0])
def test_asof_join_with_an_ephemeris_within_a_tolerance(outputs: Path, seconds: float) -> None:
    fused = fused_reports(outputs, ["Orbit", "ephemeris/Eph"], tolerance=seconds).compute()
    orbit = open_sweep(outputs, "Orbit").compute()
    eph = open_sweep(outputs, kind="ephemeris").compute()
    assert "Eph/time" in fused.columns and len(fused) == len(orbit)
    ok = fused[fused["status"] == "ok"]
    expected = reference_asof(orbit[orbit["status"] == "ok"], eph, seconds)
    np.testing.assert_array_equal(ok["X"].to_numpy(), expected["X"].to_numpy(float))
    assert (ok["Eph/time"].isna() == expected["time"].isna()).all()
    matched = ok["Eph/time"].notna()
    same = matched & (ok["time"] == ok["Eph/time"])  # same epoch: the same state
    np.testing.assert_allclose(ok.loc[same, "Sat.X"], ok.loc[same, "X"], rtol=1e-12)
    if seconds == 30.0:  # rows at odd minutes are 60 s after the last ephemeris row
        assert matched.mean() == pytest.approx(0.5, abs=0.05)
    else:
        assert matched.all()


def test_asof_directions(outputs: Path) -> None:
    forward = fused_reports(outputs, ["Orbit", "ephemeris/Eph"], tolerance=60, direction="forward")
    table = forward.compute().loc[0]
    assert (table["Eph/time"] >= table["time"]).all()
    nearest = fused_reports(outputs, ["Orbit", "ephemeris/Eph"], tolerance=pd.Timedelta(0))
    exact = nearest.compute()
    assert exact["Eph/time"].dropna().eq(exact["time"][exact["Eph/time"].notna()]).all()


def test_outputs_on_different_time_scales_are_refused(outputs: Path) -> None:
    with pytest.raises(UsageError, match=r"not on one axis .*Orbit: .*UTC.*Counts: .*A1"):
        fused_reports(outputs, ["Orbit", "Counts"])


@pytest.mark.parametrize(
    ("names", "options", "message"),
    [
        (["Orbit"], {}, "two or more"),
        (["Orbit", "Orbit"], {}, "two or more different"),
        (["Orbit", "Nope"], {}, "no report named 'Nope'"),
        (["Orbit", "contact/Eph"], {}, "'ephemeris/Name'"),
        (["Orbit", "Ground"], {"tolerance": -5}, "tolerance=-5"),
        (["Orbit", "Ground"], {"tolerance": "soon"}, "tolerance='soon'"),
        (["Orbit", "Ground"], {"tolerance": 5, "direction": "up"}, "direction='up'"),
    ],
)
def test_bad_requests(outputs: Path, names: list, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        fused_reports(outputs, names, **options)


def two_reports(run_id: int, params: dict[str, Any]) -> RunOutputs:
    """Report A every 60 s, B every 90 s with a different number of rows per run."""
    if run_id % 7 == 3:
        return "GmatRunError: failed"
    rows_a, rows_b = 4 + run_id % 3, 3 + run_id % 4
    a = report(rows_a, 60.0, **{"Sat.X": np.arange(rows_a) + 10.0 * run_id})
    b = report(rows_b, 90.0, **{"Sat.X": -np.arange(rows_b) - 10.0 * run_id})
    return {("report", "A"): a, ("report", "B"): b}


def test_frames_cut_differently_fuse_as_single_partitions_do(tmp_path: Path) -> None:
    grid = {"Sat.SMA": [float(i) for i in range(30)]}
    out = build_sweep(tmp_path / "s", grid, two_reports, batch=4)
    manifest = Manifest.load(out / "manifest.jsonl")

    def opened(rows: int) -> dict[str, Any]:
        return {
            name: fr.open_frame(manifest, Grid(grid), name=name, partition_rows=rows)
            for name, rows in (("A", rows), ("B", 2 * rows + 3))
        }

    small = opened(7)
    assert small["A"].npartitions > 4 and small["A"].divisions != small["B"].divisions
    for tolerance in (None, 45.0):
        split = fused_reports(small, tolerance=tolerance).compute()
        whole = fused_reports(opened(10**6), tolerance=tolerance).compute()
        pd.testing.assert_frame_equal(split, whole)
        assert len(whole) == len(open_sweep(out, "A").compute())
    assert {"A/Sat.X", "B/Sat.X", "B/time"} <= set(split.columns)

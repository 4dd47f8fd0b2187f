"""sweep_diff: two sweeps compared row by row, lazily, on their shared run ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_frames import Reads, RunOutputs, build_sweep, report

from gmat_sweep_dask import Grid, Manifest, UsageError, per_run, sweep_diff
from gmat_sweep_dask.analysis import frames as fr

GRID_A = {"Sat.SMA": [7000.0 + i for i in range(12)]}
GRID_B = {"Sat.SMA": [7000.0 + i for i in range(9)]}  # shares runs 0..8 with A
SHIFTED, SCALED, FAILED_A, FAILED_B, LONGER, BURN = 0, 2, 4, 5, 6, 7


def make(side: str) -> Any:
    def run(run_id: int, params: dict[str, Any]) -> RunOutputs:
        if (side, run_id) in (("a", FAILED_A), ("b", FAILED_B)):
            return f"GmatRunError: run {run_id} failed"
        rows = 6 if side == "b" and run_id == LONGER else 5
        x = 100.0 * (run_id + 1) + np.arange(rows, dtype=float)
        y = -x / 10
        if side == "b" and run_id == SHIFTED:
            x = x + 1e-3
        if side == "b" and run_id == SCALED:
            x, y = x * (1 + 1e-6), y * (1 + 1e-6)
        frame = report(rows, 60.0, **{"Sat.X": x, "Sat.Y": y})
        if run_id == BURN:  # a second row at the last epoch: the state after a burn
            extra = frame.iloc[[-1]].copy()
            extra["Sat.X"] += 50.0 if side == "a" else 50.5
            frame = pd.concat([frame, extra], ignore_index=True)
        return {("report", "R"): frame}

    return run


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    root = tmp_path_factory.mktemp("diff")
    out_a = build_sweep(root / "a", GRID_A, make("a"), batch=5)
    out_b = build_sweep(root / "b", GRID_B, make("b"), batch=2)
    a = fr.open_frame(Manifest.load(out_a / "manifest.jsonl"), Grid(GRID_A), partition_rows=9)
    b = fr.open_frame(Manifest.load(out_b / "manifest.jsonl"), Grid(GRID_B), partition_rows=14)
    assert a.npartitions > 2 and b.npartitions > 2 and a.divisions != b.divisions
    return a, b


def test_diff_is_lazy_and_keeps_only_shared_runs(pair: Any, monkeypatch: Any) -> None:
    a, b = pair
    reads = Reads(monkeypatch)
    diff = sweep_diff(a, b)
    assert reads.calls == [] and diff.known_divisions
    table = diff.compute()
    assert sorted(set(table.index)) == list(range(9))
    assert list(table.columns[:7]) == [
        "time",
        "Sat.X:a",
        "Sat.X:b",
        "Sat.X:diff",
        "Sat.X:rel",
        "Sat.X:within",
        "Sat.Y:a",
    ]
    assert list(table.columns[-3:]) == ["present", "status_diff", "within"]
    exact = table.drop(index=[SHIFTED, SCALED, FAILED_A, FAILED_B, LONGER, BURN])
    assert exact["within"].all() and (exact["Sat.X:diff"] == 0).all()
    assert exact["status_diff"].isna().all() and (exact["present"] == "both").all()


def test_per_column_absolute_and_relative_differences(pair: Any) -> None:
    a, b = pair
    table = sweep_diff(a, b).compute()
    a_rows, b_rows = a.compute(), b.compute()
    shifted = table.loc[SHIFTED]
    np.testing.assert_allclose(shifted["Sat.X:diff"], 1e-3, rtol=1e-6)
    np.testing.assert_array_equal(shifted["Sat.X:a"], a_rows.loc[SHIFTED, "Sat.X"])
    np.testing.assert_array_equal(shifted["Sat.X:b"], b_rows.loc[SHIFTED, "Sat.X"])
    assert (shifted["Sat.Y:diff"] == 0).all() and not shifted["within"].any()
    scaled = table.loc[SCALED]
    np.testing.assert_allclose(scaled["Sat.X:rel"], 1e-6, rtol=1e-6)
    np.testing.assert_allclose(scaled["Sat.Y:rel"], -1e-6, rtol=1e-6)  # (b - a) / |a|
    burn = table.loc[BURN]
    assert len(burn) == 6 and (burn["present"] == "both").all()  # k-th row at an epoch pairs
    assert burn["Sat.X:diff"].tolist() == [0.0] * 5 + [0.5]


def test_rows_and_statuses_only_one_side_has(pair: Any) -> None:
    table = sweep_diff(*pair).compute()
    longer = table.loc[LONGER]
    assert longer["present"].tolist() == ["both"] * 5 + ["b"]
    assert np.isnan(longer["Sat.X:a"].iloc[-1]) and not longer["Sat.X:within"].iloc[-1]
    failed_a = table.loc[FAILED_A]
    assert set(failed_a["status_diff"]) == {"failed→ok"} and not failed_a["within"].any()
    assert failed_a["present"].tolist() == ["a"] + ["b"] * 5  # a's marker row, b's rows
    assert set(table.loc[FAILED_B, "status_diff"]) == {"ok→failed"}


def test_tolerances_absolute_relative_per_column_and_callable(pair: Any) -> None:
    a, b = pair

    def flagged(**options: Any) -> set[int]:
        table = sweep_diff(a, b, **options).compute()
        return set(table.index[~table["within"]])

    always = {FAILED_A, FAILED_B, LONGER}
    assert flagged() == always | {SHIFTED, SCALED, BURN}
    assert flagged(atol=2e-3) == always | {BURN}  # 1e-3 and <= 2e-3 (1e-6 relative) shifts
    assert flagged(rtol=2e-6) == always | {SHIFTED, BURN}  # 1e-3 of ~100 is 1e-5 relative
    assert flagged(atol={"Sat.X": 2e-3}) == always | {SCALED, BURN}  # Sat.Y keeps atol 0
    assert flagged(atol=1.0) == always

    def half_km(column: str, x: pd.Series, y: pd.Series) -> pd.Series:
        return (y - x).abs() <= (0.6 if column == "Sat.X" else 0.0)

    assert flagged(tolerance=half_km) == always | {SCALED}  # Sat.Y of run 2 differs


def test_per_run_frames_compare_one_row_per_run(pair: Any) -> None:
    a, b = pair
    diff = sweep_diff(per_run(a, ["Sat.X"], ("max",)), per_run(b, ["Sat.X"], ("max",)))
    table = diff.compute()
    assert list(table.index) == list(range(9)) and "time" not in table.columns
    assert table.loc[BURN, "Sat.X:max:diff"] == pytest.approx(0.5)
    assert table.loc[LONGER, "Sat.X:max:diff"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": ["Sat.Q"]}, r"\['Sat.Q'\] cannot be compared"),
        ({"columns": ["status"]}, "cannot be compared"),
        ({"atol": -1}, "atol=-1: expected a number >= 0"),
        ({"rtol": {"Sat.Q": 1.0}}, "rtol="),
        ({"tolerance": 0.1}, "expected a callable"),
        ({"keys": ["Sat.Q"]}, "keys"),
    ],
)
def test_bad_options_are_usage_errors(pair: Any, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        sweep_diff(*pair, **options)


def test_sweeps_without_shared_runs_give_an_empty_frame(tmp_path: Path) -> None:
    out = build_sweep(tmp_path / "c", {"Sat.SMA": [1.0]}, make("a"))
    a = fr.open_frame(Manifest.load(out / "manifest.jsonl"), Grid({"Sat.SMA": [1.0]}))
    b = a.loc[5:9]  # no runs
    assert len(sweep_diff(a, b).compute()) == 0

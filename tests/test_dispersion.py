"""Dispersion statistics at an epoch or event, each checked against numpy/scipy on the same
data: per-run states (interpolated), mean, covariance, percentiles, the 3-sigma ellipse and
ellipsoid, and the probability of violating a constraint with its intervals."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_frames import EPOCH, Reads, RunOutputs, build_sweep, report

from gmat_sweep_dask import (
    Grid,
    Manifest,
    UsageError,
    dispersion,
    per_run,
    state_at,
    violation_probability,
)
from gmat_sweep_dask.analysis import frames as fr

GRID = {"Sat.SMA": [7000.0 + i for i in range(20)], "Sat.ECC": [0.0, 0.1, 0.2]}
COLUMNS = ["Sat.X", "Sat.Y", "Sat.Z"]
FAILED, EMPTY, SHORT, BURN = (4, 33), 7, 12, 21


def dispersed_run(run_id: int, params: dict[str, Any]) -> RunOutputs:
    """Correlated random walks; a few runs failed, one empty, one ending early, one with an
    impulsive burn (two rows at the same epoch); odd runs report every 45 s, even every 60 s."""
    if run_id in FAILED:
        return f"GmatRunError: run {run_id} failed"
    rng = np.random.default_rng(run_id)
    rows = 0 if run_id == EMPTY else 3 if run_id == SHORT else 9
    step = 60.0 if run_id % 2 == 0 else 45.0
    base = rng.normal(size=(rows, 3)) @ np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0, 0, 0.2]])
    walk = base.cumsum(axis=0) + np.array([params["Sat.SMA"], 0.0, params["Sat.ECC"]])
    frame = report(rows, step, **{c: walk[:, i] for i, c in enumerate(COLUMNS)})
    if run_id == BURN:  # rows 0..8 at 0, 45, ..., 360 s, then one more row at 360 s
        extra = frame.iloc[[-1]].copy()
        extra[COLUMNS] = extra[COLUMNS].to_numpy() + 100.0
        frame = pd.concat([frame, extra], ignore_index=True)
    return {("report", "R"): frame}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sweep(tmp_path_factory.mktemp("disp") / "s", GRID, dispersed_run, batch=7)


def split(out: Path) -> dd.DataFrame:
    """The frame cut into many partitions, so every reduction crosses them."""
    frame = fr.open_frame(Manifest.load(out / "manifest.jsonl"), Grid(GRID), partition_rows=25)
    assert frame.npartitions >= 8
    return frame


def reference_states(frame: dd.DataFrame, target: Any) -> pd.DataFrame:
    """Each ok run's columns at ``target(run rows)`` by a per-run loop with np.interp."""
    data = frame.compute()
    rows = {}
    for run_id, run in data.groupby(level=0, sort=True):
        run = run[run["time"].notna()]
        if run.empty or run["status"].iloc[0] != "ok":
            rows[run_id] = [np.nan] * len(COLUMNS)
            continue
        t = (run["time"] - EPOCH).dt.total_seconds().to_numpy()
        when = target(run_id, t)
        if when is None or not t[0] <= when <= t[-1]:
            rows[run_id] = [np.nan] * len(COLUMNS)
        elif (hits := np.flatnonzero(t == when)).size:
            rows[run_id] = run[COLUMNS].to_numpy()[hits[-1]].tolist()
        else:
            rows[run_id] = [np.interp(when, t, run[c].to_numpy()) for c in COLUMNS]
    return pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)


def at_seconds(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("at", "target"),
    [
        ("last", lambda run_id, t: t[-1]),
        ("first", lambda run_id, t: t[0]),
        (at_seconds(200.0), lambda run_id, t: 200.0),  # between rows for every run
        ("2026-01-01 00:06:00", lambda run_id, t: 360.0),  # on a row; after the burn in 21
        (pd.Timedelta(seconds=100), lambda run_id, t: t[0] + 100.0),
    ],
    ids=["last", "first", "between-rows", "on-a-row", "elapsed"],
)
def test_state_at_matches_a_per_run_interpolation(sweep_dir: Path, at: Any, target: Any) -> None:
    frame = split(sweep_dir)
    states = state_at(frame, COLUMNS, at)
    assert states.known_divisions and states.divisions == frame.divisions
    table = states.compute()
    assert list(table.index) == list(range(60))
    assert list(table.columns) == ["status", "time", "Sat.SMA", "Sat.ECC", *COLUMNS]
    expected = reference_states(frame, target)
    np.testing.assert_allclose(table[COLUMNS].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert table.loc[FAILED[0], "status"] == "failed" and pd.isna(table.loc[FAILED[0], "time"])
    assert table.loc[EMPTY, "status"] == "ok" and np.isnan(table.loc[EMPTY, "Sat.X"])
    assert table.loc[5, "Sat.SMA"] == 7001.0 and table.loc[5, "Sat.ECC"] == 0.2


def test_state_at_an_epoch_outside_a_run_and_after_a_burn(sweep_dir: Path) -> None:
    table = state_at(split(sweep_dir), COLUMNS, at_seconds(360.0)).compute()
    assert np.isnan(table.loc[SHORT, "Sat.X"]) and pd.isna(table.loc[SHORT, "time"])  # ends at 90 s
    assert table.loc[0, "time"] == pd.Timestamp(at_seconds(360.0))
    burn = dispersed_run(BURN, {"Sat.SMA": 7007.0, "Sat.ECC": 0.0})[("report", "R")]
    assert table.loc[BURN, "Sat.X"] == burn["Sat.X"].iloc[-1]  # the row after the burn


def test_state_at_per_run_events_pandas_and_dask(sweep_dir: Path) -> None:
    frame = split(sweep_dir)
    seconds = {i: 30.0 + 7.0 * (i % 11) for i in range(60) if i != 10}  # run 10: no event
    events = pd.Series({i: pd.Timestamp(at_seconds(s)) for i, s in seconds.items()})
    expected = reference_states(frame, lambda run_id, t: seconds.get(run_id))
    lazy = dd.from_pandas(events.rename_axis("run_id"), npartitions=3, sort=True)
    for at in (events, lazy):
        table = state_at(frame, COLUMNS, at).compute()
        np.testing.assert_allclose(table[COLUMNS].to_numpy(), expected.to_numpy(), rtol=1e-12)
        assert pd.isna(table.loc[10, "time"]) and np.isnan(table.loc[10, "Sat.Y"])
        assert table.loc[3, "time"] == pd.Timestamp(at_seconds(seconds[3]))


def test_dispersion_matches_numpy_mean_cov_and_percentiles(sweep_dir: Path) -> None:
    frame = split(sweep_dir)
    q = (0.01, 0.25, 0.5, 0.9)
    result = dispersion(frame, COLUMNS, at_seconds(200.0), q=q)
    values = reference_states(frame, lambda run_id, t: 200.0).dropna()
    assert result.runs == 60 and result.used == len(values) == 60 - 2 - 1 - 1
    assert result.excluded == {"failed": 2, "no_value": 2}  # empty run, run ending at 90 s
    np.testing.assert_allclose(result.mean.to_numpy(), values.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(result.cov.to_numpy(), np.cov(values.to_numpy().T), rtol=1e-9)
    expected = np.percentile(values.to_numpy(), np.array(q) * 100, axis=0)
    np.testing.assert_allclose(result.percentiles.to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(result.std, values.std(ddof=1), rtol=1e-9)
    summary = result.summary()
    assert list(summary.columns) == ["mean", "std", "q0.01", "q0.25", "q0.5", "q0.9"]
    assert "58 of 60 runs" not in result._repr_html_() and "56 of 60 runs" in result._repr_html_()


def test_dispersion_reads_each_row_group_once_and_only_its_columns(
    sweep_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = split(sweep_dir)
    reads = Reads(monkeypatch)
    frame.compute(scheduler="sync")
    everything = sorted((name, groups) for name, groups, _ in reads.calls)
    reads.calls.clear()
    dispersion(frame, ["Sat.X", "Sat.Y"], at_seconds(200.0), q=(0.5,))
    assert sorted((name, groups) for name, groups, _ in reads.calls) == everything
    assert {columns for _, _, columns in reads.calls} == {("run_id", "time", "Sat.X", "Sat.Y")}


def test_dispersion_of_a_per_run_frame_and_without_percentiles(sweep_dir: Path) -> None:
    frame = split(sweep_dir)
    runs = per_run(frame, ["Sat.X", "Sat.Y"], how=("max",))
    result = dispersion(runs, ["Sat.X:max", "Sat.Y:max"], at=None, q=())
    data = runs.compute()
    values = data[data["status"] == "ok"][["Sat.X:max", "Sat.Y:max"]].dropna()
    np.testing.assert_allclose(result.cov.to_numpy(), np.cov(values.to_numpy().T), rtol=1e-9)
    assert result.used == len(values) and result.percentiles.empty
    with pytest.raises(UsageError, match="at=None"):
        dispersion(runs, ["Sat.X:max"])


def test_ellipse_and_ellipsoid_from_the_covariance(sweep_dir: Path) -> None:
    result = dispersion(split(sweep_dir), COLUMNS, "last")
    values = reference_states(split(sweep_dir), lambda run_id, t: t[-1]).dropna().to_numpy()
    ellipse = result.ellipsoid(["Sat.X", "Sat.Y"], n_sigma=3)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(values[:, :2].T))
    np.testing.assert_allclose(ellipse.semi_axes, 3 * np.sqrt(eigenvalues[::-1]), rtol=1e-9)
    major = eigenvectors[:, -1] * np.sign(eigenvectors[np.argmax(abs(eigenvectors[:, -1])), -1])
    np.testing.assert_allclose(ellipse.axes[:, 0], major, rtol=1e-9)
    slope = np.degrees(np.arctan(major[1] / major[0]))
    assert ellipse.angle_deg == pytest.approx(slope, abs=1e-9)
    assert ellipse.probability == pytest.approx(1 - np.exp(-4.5))  # chi2 with 2 dof at 9
    centred = values[:, :2] - values[:, :2].mean(axis=0)
    mahalanobis = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(np.cov(values[:, :2].T)), centred)
    np.testing.assert_array_equal(ellipse.contains(values[:, :2]), mahalanobis <= 9)
    ellipsoid = result.ellipsoid(n_sigma=2)
    assert ellipsoid.angle_deg is None and ellipsoid.axes.shape == (3, 3)
    np.testing.assert_allclose(ellipsoid.axes.T @ ellipsoid.axes, np.eye(3), atol=1e-12)
    values3 = np.linalg.eigvalsh(np.cov(values.T))[::-1]
    np.testing.assert_allclose(ellipsoid.semi_axes, 2 * np.sqrt(values3), rtol=1e-9)
    assert ellipsoid.probability == pytest.approx(stats.chi2.cdf(4, 3))
    with pytest.raises(UsageError, match="two or more"):
        result.ellipsoid(["Sat.X"])


def test_violation_probability_counts_and_intervals(sweep_dir: Path) -> None:
    frame = split(sweep_dir)
    data = per_run(frame, ["Sat.X", "Sat.Y"], how=("min",))
    table = data.compute()
    ok = table[(table["status"] == "ok") & table["Sat.Y:min"].notna()]
    k = int((ok["Sat.Y:min"] < -1.0).sum())
    result = violation_probability(data, "Sat.Y:min < -1")
    assert (result.violated, result.n, result.failed, result.undetermined) == (k, 57, 2, 1)
    assert 0 < k < 57
    test = stats.binomtest(k, 57)
    for method, interval in (("wilson", result.wilson), ("exact", result.clopper_pearson)):
        expected = test.proportion_ci(confidence_level=0.95, method=method)
        assert interval == pytest.approx((expected.low, expected.high), rel=1e-9)
    assert result.p == k / 57
    conservative = violation_probability(data, "Sat.Y:min < -1", unknown="violated")
    assert (conservative.violated, conservative.n) == (k + 3, 60)
    both = violation_probability(data, "Sat.Y:min < -1 and Sat.SMA >= 7010")
    assert both.violated == int(((ok["Sat.Y:min"] < -1) & (ok["Sat.SMA"] >= 7010)).sum())


def test_violation_probability_at_an_epoch_and_by_callable(sweep_dir: Path) -> None:
    frame = split(sweep_dir)
    values = reference_states(frame, lambda run_id, t: 200.0)
    expected = int((values["Sat.Z"] > 0.1).sum())
    at_epoch = violation_probability(frame, "Sat.Z > 0.1", at=at_seconds(200.0), conf_level=0.9)
    assert at_epoch.violated == expected and at_epoch.n == values["Sat.Z"].notna().sum()
    interval = stats.binomtest(expected, at_epoch.n).proportion_ci(0.9, method="exact")
    assert at_epoch.clopper_pearson == pytest.approx((interval.low, interval.high))

    def too_high(runs: pd.DataFrame) -> pd.Series:
        return runs["Sat.Z"] > 0.1

    by_callable = violation_probability(frame, too_high, at=at_seconds(200.0), columns=["Sat.Z"])
    assert (by_callable.violated, by_callable.n) == (at_epoch.violated, at_epoch.n)
    assert by_callable.constraint == "too_high"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: state_at(f, ["Sat.Q"]), r"no column\(s\) \['Sat.Q'\]"),
        (lambda f: state_at(f, ["Sat.X"], "middle"), "expected 'first', 'last'"),
        (lambda f: state_at(f, ["Sat.X"], 12.5), "time column is datetime"),
        (lambda f: state_at(f, ["Sat.X"], "2026-01-01T00:00:00+01:00"), "naive timestamp"),
        (lambda f: state_at(f, ["Sat.X"], pd.Series([1.0])), "do not fit a datetime"),
        (lambda f: dispersion(f, ["Sat.X"], q=(0.5, 1.0)), r"q in \(0, 1\)"),
        (lambda f: violation_probability(f, "Sat.Q < 1", at="last"), "names no column"),
        (lambda f: violation_probability(f, "Sat.X <", at="last"), "could not be evaluated"),
        (lambda f: violation_probability(f, "Sat.X < 1"), "no status column|at="),
        (lambda f: violation_probability(f, "Sat.X<0", at="last", unknown="drop"), "'exclude'"),
    ],
)
def test_bad_requests_are_one_line_usage_errors(sweep_dir: Path, call: Any, message: str) -> None:
    frame = split(sweep_dir)
    if "no status column" in message:
        frame = frame[["Sat.X"]]
    with pytest.raises(UsageError, match=message) as caught:
        call(frame)
    assert "\n" not in str(caught.value)

"""``monte_carlo(..., until=Converged(...))``: grow a Monte Carlo sweep until a mean is
known well enough, or a budget is spent; the result is the plain sweep of that size."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from test_signals import wait_for_entries

from gmat_sweep_dask import Converged, Manifest, SpecError, UsageError, monte_carlo, open_sweep
from gmat_sweep_dask.cli import main

PERTURB = {"Sat.SMA": ("normal", 7100.0, 40.0)}
METRIC = "Sat.Earth.Altitude:min"


def half_widths(values: np.ndarray, sizes: list[int], confidence: float = 0.95) -> np.ndarray:
    """numpy: the Student-t half-width of the mean of the first ``size`` values."""
    out = []
    for size in sizes:
        x = values[:size]
        t = stats.t.ppf(0.5 + confidence / 2, size - 1)
        out.append(t * np.std(x, ddof=1) / math.sqrt(size))
    return np.array(out)


def metric_values(frame) -> np.ndarray:
    data = frame.compute()
    return data.groupby(level=0)["Sat.Earth.Altitude"].min().to_numpy()


def test_until_stops_at_the_first_batch_end_where_the_half_width_crosses(
    client, example_script, tmp_path
) -> None:
    plain = monte_carlo(
        example_script,
        n=40,
        perturb=PERTURB,
        seed=3,
        out=tmp_path / "plain",
        client=client,
        progress=False,
    )
    values = metric_values(plain)
    sizes = list(range(8, 41, 4))
    widths = half_widths(values, sizes)
    # the first batch end whose half-width is below every earlier one, after two batches
    k = next(i for i in range(2, len(sizes)) if widths[i] < widths[:i].min())
    tolerance = (widths[k] + widths[:k].min()) / 2
    rule = Converged(METRIC, half_width=tolerance, max_runs=40, batch=4)
    frame = monte_carlo(
        example_script,
        n=8,
        perturb=PERTURB,
        seed=3,
        out=tmp_path / "until",
        client=client,
        until=rule,
        progress=False,
    )
    assert Manifest.load(tmp_path / "until" / "manifest.jsonl").run_count == sizes[k]
    estimate = rule.estimate(frame)
    assert estimate.converged and estimate.runs == sizes[k]
    assert estimate.half_width == pytest.approx(widths[k], rel=1e-9)
    assert estimate.mean == pytest.approx(values[: sizes[k]].mean(), rel=1e-12)
    # the same design as a plain Monte Carlo sweep of the final size
    fresh = monte_carlo(
        example_script,
        n=sizes[k],
        perturb=PERTURB,
        seed=3,
        out=tmp_path / "fresh",
        client=client,
        progress=False,
    )
    pd.testing.assert_frame_equal(frame.compute(), fresh.compute())


def test_until_stops_at_the_budget_and_a_second_call_runs_nothing(
    client, example_script, tmp_path
) -> None:
    out = tmp_path / "budget"
    rule = Converged(METRIC, half_width=1e-9, max_runs=19, batch=5)
    frame = monte_carlo(
        example_script,
        n=6,
        perturb=PERTURB,
        seed=4,
        out=out,
        client=client,
        until=rule,
        progress=False,
    )
    manifest = Manifest.load(out / "manifest.jsonl", full=True)
    assert manifest.run_count == 19  # 6, 11, 16, then cut to the budget
    assert manifest.status_counts() == {"ok": 19}
    assert not rule.estimate(frame).converged
    ended = {r: e["ended"] for r, e in manifest.entries.items()}
    monte_carlo(
        example_script,
        n=6,
        perturb=PERTURB,
        seed=4,
        out=out,
        client=client,
        until=rule,
        progress=False,
    )
    again = Manifest.load(out / "manifest.jsonl", full=True)
    assert {r: e["ended"] for r, e in again.entries.items()} == ended
    with pytest.raises(SpecError, match="already holds a sweep of 19 runs, more than max_runs=12"):
        monte_carlo(
            example_script,
            n=6,
            perturb=PERTURB,
            seed=4,
            out=out,
            client=client,
            until=Converged(METRIC, half_width=1e-9, max_runs=12),
            progress=False,
        )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"half_width": 0.0, "max_runs": 10}, "half_width=0.0"),
        ({"half_width": float("nan"), "max_runs": 10}, "half_width=nan"),
        ({"half_width": 1.0, "max_runs": 0}, "max_runs=0"),
        ({"half_width": 1.0, "max_runs": 10, "batch": 2.5}, "batch=2.5"),
        ({"half_width": 1.0, "max_runs": 10, "confidence": 1.0}, "confidence=1.0"),
    ],
)
def test_bad_rules_name_the_value(kwargs, needle) -> None:
    with pytest.raises(SpecError, match="until: " + needle.replace(".", r"\.")):
        Converged(METRIC, **kwargs)
    with pytest.raises(SpecError, match="unknown statistic 'median'"):
        Converged("Sat.X:median", half_width=1.0, max_runs=10)


def test_until_refuses_before_anything_runs(client, example_script, tmp_path) -> None:
    with pytest.raises(SpecError, match="max_runs=5 is below n=8"):
        monte_carlo(
            example_script,
            n=8,
            perturb=PERTURB,
            seed=1,
            out=tmp_path / "x",
            client=client,
            until=Converged(METRIC, half_width=1.0, max_runs=5),
            progress=False,
        )
    assert not (tmp_path / "x").exists()
    with pytest.raises(UsageError, match=r"no column 'Sat\.Nope'"):
        monte_carlo(
            example_script,
            n=4,
            perturb=PERTURB,
            seed=1,
            out=tmp_path / "y",
            client=client,
            until=Converged("Sat.Nope:last", half_width=1.0, max_runs=8),
            progress=False,
        )
    # the first batch ran and is recorded; nothing grew
    assert Manifest.load(tmp_path / "y" / "manifest.jsonl").run_count == 4


def _until_command(script: Path, out: Path, *extra: str) -> list[str]:
    return [
        *(sys.executable, "-m", "gmat_sweep_dask", "monte-carlo", str(script)),
        *("--n", "8", "--perturb", "Sat.SMA=normal:7100:40", "--seed", "9"),
        *("--out", str(out), "--workers", "2"),
        *("--until", METRIC, "--half-width", "1e-9", "--batch", "4", "--max-runs", "24"),
        *extra,
    ]


def test_a_killed_until_sweep_continues_to_the_same_final_design(
    client, example_script, tmp_path
) -> None:
    out = tmp_path / "killed"
    driver = subprocess.Popen(
        _until_command(example_script, out),
        env={**os.environ, "GMAT_STANDIN_DELAY": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 10)  # in the first extension
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    partial = Manifest.load(out / "manifest.jsonl", full=True)
    assert 8 < partial.run_count < 24
    done = {r: e["ended"] for r, e in partial.entries.items() if e["status"] == "ok"}
    again = subprocess.run(
        [*_until_command(example_script, out), "-q"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert "24 runs: 24 ok" in again.stdout
    final = Manifest.load(out / "manifest.jsonl", full=True)
    assert final.run_count == 24 and final.status_counts() == {"ok": 24}
    assert {r: final.entries[r]["ended"] for r in done} == done  # nothing finished was redone
    fresh = monte_carlo(
        example_script,
        n=24,
        perturb={"Sat.SMA": ("normal", 7100.0, 40.0)},
        seed=9,
        out=tmp_path / "fresh",
        client=client,
        progress=False,
    )
    pd.testing.assert_frame_equal(open_sweep(out).compute(), fresh.compute())


def test_cli_until_reports_each_batch_and_refuses_bad_flags(example_script, tmp_path) -> None:
    out = tmp_path / "cli"
    run = subprocess.run(
        _until_command(example_script, out, "--half-width", "1e9"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert f"until {METRIC}: mean" in run.stderr and "converged at 8 runs" in run.stderr
    assert "8 runs: 8 ok" in run.stdout
    runner = CliRunner()
    base = ["monte-carlo", str(example_script), "--n", "4", "--perturb", "Sat.SMA=normal:7100:40"]
    for extra, needle in [
        (["--until", METRIC, "--max-runs", "8"], "--until needs --half-width"),
        (["--half-width", "1", "--max-runs", "8"], "--half-width needs --until"),
        (["--until", METRIC, "--half-width", "-1", "--max-runs", "8"], "half_width=-1.0"),
    ]:
        bad = runner.invoke(main, [*base, *extra, "--out", str(tmp_path / "bad")])
        assert bad.exit_code == 2, bad.output
        assert needle in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output
    assert not (tmp_path / "bad").exists()


def test_ctrl_c_on_an_until_sweep_says_to_run_the_same_command(example_script, tmp_path) -> None:
    out = tmp_path / "interrupted"
    driver = subprocess.Popen(
        _until_command(example_script, out),
        env={**os.environ, "GMAT_STANDIN_DELAY": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 3)
        os.killpg(driver.pid, signal.SIGINT)
        _, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 130, stderr
    said = [line for line in stderr.splitlines() if line.strip()]
    assert said[-1] == "go on with: the same command (it continues to the same runs)", said
    assert not any("Traceback" in line for line in said), said

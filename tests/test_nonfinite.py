"""Non-finite numbers never reach a manifest: refused up front, with the value named."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCRIPTS
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gmat_sweep_dask import Manifest, SpecError, Sweep
from gmat_sweep_dask.design import Grid, MonteCarlo, Samples
from gmat_sweep_dask.store.records import encode


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--timeout", "nan"], "timeout"),
        (["--timeout", "inf"], "timeout"),
        (["--grid", "Sat.ECC=0.1,inf"], "not finite"),
        (["--grid", "Sat.ECC=[1e400]"], "not finite"),
    ],
)
def test_cli_numbers_must_be_finite(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "s"
    grid = [] if "--grid" in args else ["--grid", "Sat.SMA=7000"]
    result = cli("run", str(SCRIPTS / "leo.script"), *grid, *args, "--out", str(out))
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_sample_table_holding_1e400_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("Sat.SMA,Sat.ECC\n7000,0.001\n1e400,0.002\n")
    result = cli(
        "run", str(SCRIPTS / "leo.script"), "--samples", str(table), "--out", str(tmp_path / "s")
    )
    assert result.returncode == 2
    assert "column 'Sat.SMA' row 1: value inf is not finite" in result.stderr


def test_a_distribution_that_overflows_is_refused(tmp_path: Path) -> None:
    result = cli(
        "monte-carlo",
        str(SCRIPTS / "leo.script"),
        "--n",
        "10",
        "--perturb",
        "Sat.SMA=lognormal:0:100",
        "--out",
        str(tmp_path / "s"),
    )
    assert result.returncode == 2
    assert "perturb Sat.SMA: lognormal(0.0, 100.0) can draw values outside" in result.stderr


def test_the_writer_never_writes_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        encode({"run_id": 0, "duration_s": math.nan})


def test_a_manifest_already_holding_nan_tokens_still_loads(tmp_path: Path) -> None:
    header = {
        "format": "gmat-sweep-dask manifest",
        "schema_version": 1,
        "run_count": 1,
        "timeout": float("nan"),
        "design": {"kind": "grid", "axes": [["Sat.SMA", [1.0]]]},
        "script": "x",
        "script_sha256": "0",
    }
    entry = {"run_id": 0, "status": "failed", "overrides": {"Sat.SMA": 1.0}, "outputs": {}}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(header) + "\n" + json.dumps(entry) + "\n")
    manifest = Manifest.load(tmp_path / "manifest.jsonl")
    assert math.isnan(manifest.header["timeout"]) and manifest.status_counts() == {"failed": 1}


def test_timeout_must_be_finite_in_python_too() -> None:
    for bad in (math.nan, math.inf, -1, 0):
        with pytest.raises(SpecError, match="positive, finite number of seconds"):
            Sweep(SCRIPTS / "leo.script", Grid({"Sat.SMA": [7000]}), "unused", timeout=bad)


VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=4))
@example([[2**63]])  # found by hypothesis: a list value's integer beyond 64 bits
def test_any_grid_values_give_a_clean_refusal_or_a_finite_header(values: list) -> None:
    try:
        design = Grid({"Sat.SMA": values})
    except SpecError:
        return
    encode(design.header())  # raises on NaN/inf
    assert all(not isinstance(v, float) or math.isfinite(v) for v in values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=5))
def test_any_sample_column_gives_a_clean_refusal_or_finite_values(values: list) -> None:
    try:
        design = Samples(pd.DataFrame({"Sat.SMA": values}))
    except SpecError:
        assert not all(math.isfinite(v) for v in values)
        return
    assert all(math.isfinite(v) for v in design.block(0, len(values))["Sat.SMA"])


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["normal", "uniform", "lognormal"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_any_distribution_draws_finite_values_or_is_refused(name: str, a: float, b: float) -> None:
    try:
        design = MonteCarlo({"Sat.SMA": (name, a, b)}, 50, seed=1)
    except SpecError:
        return
    drawn = design.block(0, 50)["Sat.SMA"]
    assert drawn.map(math.isfinite).all()
    encode({"overrides": design.overrides([0, 49])})


def test_numbers_json_cannot_hold_are_refused_before_a_cluster(example_script, tmp_path) -> None:
    """A timeout or seed too large for the manifest's 64-bit integers once passed every
    check, started the cluster and then failed writing the header with a ValueError
    traceback (``monte-carlo --seed 99999999999999999999999999``: exit 1), leaving
    ``manifest.jsonl.new`` behind, so the same command with a good seed was refused."""
    import os
    import subprocess
    import sys

    from gmat_sweep_dask import monte_carlo, sweep
    from gmat_sweep_dask.errors import SpecError

    out = tmp_path / "mc"
    for seed in (2**63, 10**26, -1, 1.5, True):
        with pytest.raises(SpecError, match="seed must be an integer from 0 to 2"):
            monte_carlo(
                example_script, perturb={"Sat.SMA": "normal:7100:5"}, n=2, seed=seed, out=out
            )
    for timeout in (10**400, "5", True, float("nan"), 0):
        with pytest.raises(SpecError, match="expected a positive, finite number of seconds"):
            sweep(example_script, grid={"Sat.SMA": [7000.0]}, out=out, timeout=timeout)
    assert not out.exists()
    command = [sys.executable, "-m", "gmat_sweep_dask", "monte-carlo", str(example_script)]
    command += ["--n", "2", "--perturb", "Sat.SMA=normal:7100:5", "--out", str(out), "-q"]
    refused = subprocess.run([*command, "--seed", str(10**26)], capture_output=True, text=True)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("gmat-sweep-dask: error: monte_carlo: seed must be an integer")
    assert len(refused.stderr.splitlines()) == 1 and not out.exists()
    ran = subprocess.run([*command, "--seed", str(2**63 - 1), "--workers", "1"], text=True,
                         capture_output=True, env={**os.environ})  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    frame = sweep(example_script, grid={"Sat.SMA": [7000.0]}, out=tmp_path / "t", timeout=2**70)
    assert len(frame.compute()) > 0

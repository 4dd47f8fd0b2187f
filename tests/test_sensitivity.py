"""Sobol and Morris designs (deterministic, resumable, extendable) and their indices."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE
from gmat_standin import Gate
from hypothesis import given, settings
from hypothesis import strategies as st
from SALib.sample import sobol as salib_sobol
from test_durability import wait_for_entries

from gmat_sweep_dask import (
    Manifest,
    Morris,
    Sobol,
    SpecError,
    SweepDirError,
    UsageError,
    around,
    extend,
    morris,
    open_sweep,
    per_run,
    runs_table,
    sensitivity,
    sobol,
)
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import design_from_header
from gmat_sweep_dask.execute.sweep import Sweep

#: On the stand-in (two-body, spherical Earth) the minimum altitude is driven by the
#: semi-major axis (100 km of range), a little by the eccentricity (~7 km), not at all by
#: the inclination.
PERTURB = {
    "Sat.SMA": ("uniform", 6950.0, 7050.0),
    "Sat.ECC": ("uniform", 0.0005, 0.0015),
    "Sat.INC": ("uniform", 28.0, 29.0),
}
METRIC = "Sat.Earth.Altitude:min"


def test_sobol_unit_points_are_saltellis_layout() -> None:
    design = Sobol(PERTURB, 16, seed=5)
    problem = {"num_vars": 3, "names": list(PERTURB), "bounds": [[0, 1]] * 3}
    expected = salib_sobol.sample(problem, 16, seed=np.random.default_rng(5))
    assert design.n_runs == 16 * 8 and design.size == 8
    np.testing.assert_array_equal(design.unit(0, design.n_runs), expected)
    first_order = Sobol(PERTURB, 16, seed=5, second_order=False)
    expected = salib_sobol.sample(
        problem, 16, calc_second_order=False, seed=np.random.default_rng(5)
    )
    np.testing.assert_array_equal(first_order.unit(0, 16 * 5), expected)
    values = design.block(0, design.n_runs)
    assert values["Sat.SMA"].between(6950, 7050).all()
    np.testing.assert_allclose(values["Sat.SMA"], 6950 + 100 * expected_unit(design)[:, 0])


def expected_unit(design: Sobol) -> np.ndarray:
    return design.unit(0, design.n_runs)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    more=st.integers(1, 40),
    seed=st.integers(0, 2**63 - 1),
    cuts=st.lists(st.integers(0, 10_000), max_size=5),
    kind=st.sampled_from(["sobol", "morris"]),
)
def test_blocks_any_cut_and_extension_give_the_same_runs(
    n: int, more: int, seed: int, cuts: list[int], kind: str
) -> None:
    design = Sobol(PERTURB, n, seed) if kind == "sobol" else Morris(PERTURB, n, seed, levels=6)
    whole = design.block(0, design.n_runs)
    edges = sorted({0, design.n_runs, *(c % (design.n_runs + 1) for c in cuts)})
    pieces = pd.concat([design.block(a, b) for a, b in itertools.pairwise(edges)])
    pd.testing.assert_frame_equal(pieces, whole)
    grown = design.extended(more)
    assert grown.n_runs == (n + more) * design.size and grown.header()["kind"] == kind
    pd.testing.assert_frame_equal(grown.block(0, design.n_runs), whole)
    fresh = (
        Sobol(PERTURB, n + more, seed)
        if kind == "sobol"
        else Morris(PERTURB, n + more, seed, levels=6)
    )
    pd.testing.assert_frame_equal(fresh.block(0, fresh.n_runs), grown.block(0, grown.n_runs))
    assert fresh.header() == grown.header()


def test_morris_trajectories_move_one_field_one_step_at_a_time() -> None:
    design = Morris(PERTURB, 50, seed=9, levels=4)
    unit = design.unit(0, design.n_runs).reshape(50, 4, 3)
    grid = np.array([0, 1, 2, 3]) / 3
    assert np.isin(np.round(unit, 12), np.round(grid, 12)).all()
    steps = np.diff(unit, axis=1)
    moved = np.abs(steps) > 1e-12
    assert (moved.sum(axis=2) == 1).all()  # one field per step
    assert (moved.sum(axis=1) == 1).all()  # each field exactly once
    np.testing.assert_allclose(np.abs(steps[moved]), design.delta)  # 2/3 for 4 levels
    assert (steps[moved] > 0).any() and (steps[moved] < 0).any()
    values = design.block(0, design.n_runs)
    quantiles = {6962.5, 6987.5, 7012.5, 7037.5}  # 12.5, 37.5, 62.5, 87.5 % of the uniform
    assert set(np.round(values["Sat.SMA"], 6)) == quantiles
    normal = Morris({"Sat.INC": ("normal", 28.0, 1.0)}, 5, seed=1)
    assert np.isfinite(normal.block(0, normal.n_runs)["Sat.INC"]).all()


def test_headers_round_trip_and_a_different_sobol_sequence_is_refused(tmp_path: Path) -> None:
    for design in (Sobol(PERTURB, 8, 3, second_order=False), Morris(PERTURB, 8, 3, levels=8)):
        header = design.header()
        again = design_from_header(header, tmp_path)
        assert type(again) is type(design) and again.header() == header
        pd.testing.assert_frame_equal(again.block(0, again.n_runs), design.block(0, 64))
    tampered = {**Sobol(PERTURB, 8, 3).header(), "points_sha256": "0" * 64}
    with pytest.raises(SweepDirError, match="draws other Sobol points"):
        design_from_header(tampered, tmp_path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sobol({}, 4), "at least one field"),
        (lambda: Sobol(PERTURB, 0), "positive integer"),
        (lambda: Sobol(PERTURB, 4, second_order="yes"), "second_order"),
        (lambda: Morris(PERTURB, 4, levels=3), "even integer"),
        (lambda: Morris(PERTURB, 4).extended(0), "positive integer"),
    ],
)
def test_bad_designs_are_spec_errors(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        make()


@pytest.fixture(scope="module")
def sobol_sweep(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sobol") / "s"
    sobol(
        EXAMPLE,
        n=32,
        perturb=PERTURB,
        seed=4,
        out=out,
        client=client,
        progress=False,
    )
    return out


def test_sobol_ranks_the_dominant_field_first(sobol_sweep: Path) -> None:
    table = sensitivity(open_sweep(sobol_sweep), METRIC)
    assert list(table.index) == ["Sat.SMA", "Sat.ECC", "Sat.INC"]
    assert list(table.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    sma, ecc, inc = (table.loc[f] for f in table.index)
    assert sma["ST"] - sma["ST_conf"] > ecc["ST"] + ecc["ST_conf"]
    assert sma["S1"] > 0.8 and abs(inc["ST"]) < 1e-6
    assert table.attrs == {
        "method": "sobol",
        "metric": METRIC,
        "runs": 32 * 8,
        "dropped": 0,
        "conf_level": 0.95,
    }
    runs = per_run(open_sweep(sobol_sweep), ["Sat.Earth.Altitude"], how=("min",))
    same = sensitivity(runs, METRIC)  # from a per-run frame, the same numbers
    pd.testing.assert_frame_equal(same, table)
    pairs = sensitivity(sobol_sweep, METRIC, pairs=True)
    assert list(pairs[["field", "other"]].itertuples(index=False, name=None)) == [
        ("Sat.SMA", "Sat.ECC"),
        ("Sat.SMA", "Sat.INC"),
        ("Sat.ECC", "Sat.INC"),
    ]


def test_sobol_matches_salib_on_the_values_read_back(sobol_sweep: Path) -> None:
    from SALib.analyze import sobol as salib_analyze

    runs = per_run(open_sweep(sobol_sweep), ["Sat.Earth.Altitude"], how=("min",)).compute()
    problem = {"num_vars": 3, "names": list(PERTURB), "bounds": [[0, 1]] * 3}
    found = salib_analyze.analyze(
        problem, runs[METRIC].to_numpy(), num_resamples=200, conf_level=0.9, seed=3
    )
    table = sensitivity(sobol_sweep, METRIC, resamples=200, conf_level=0.9, seed=3)
    for i, field in enumerate(PERTURB):
        assert table.loc[field, "ST"] == found["ST"][i]
        assert table.loc[field, "S1_conf"] == found["S1_conf"][i]


def test_failed_runs_are_named_or_their_blocks_dropped(sobol_sweep: Path, tmp_path) -> None:
    runs = per_run(open_sweep(sobol_sweep), ["Sat.Earth.Altitude"], how=("min",))

    def lose(part: pd.DataFrame) -> pd.DataFrame:  # runs 3, 17 and 18 without a value
        return part.assign(**{METRIC: part[METRIC].where(~part.index.isin([3, 17, 18]))})

    broken = runs.map_partitions(lose, meta=runs._meta)
    with pytest.raises(UsageError, match=r"3 run\(s\) of 256 .*: 3, 17, 18; .*2 base sample"):
        sensitivity(broken, METRIC)
    kept = sensitivity(broken, METRIC, drop_failed=True)
    assert kept.attrs["runs"] == 30 * 8 and kept.attrs["dropped"] == 2
    assert kept.index[0] == "Sat.SMA"
    with pytest.raises(UsageError, match="Sobol or Morris sweep"):
        sensitivity(open_sweep(_grid_sweep(tmp_path)), METRIC)
    with pytest.raises(UsageError, match=r"no metric 'Sat\.Q:min'"):
        sensitivity(sobol_sweep, "Sat.Q:min")


def _grid_sweep(tmp_path: Path) -> Path:
    from test_frames import build_sweep, report

    return build_sweep(
        tmp_path / "grid",
        {"Sat.SMA": [7000.0, 7100.0]},
        lambda i, p: {("report", "R"): report(3, **{"Sat.Earth.Altitude": [1.0, 2, 3]})},
    )


def test_morris_ranks_the_dominant_field_first_and_extends(client: Any, tmp_path) -> None:
    perturb = {**PERTURB, "Sat.INC": around(("normal", 0.0, 0.5))}
    out = tmp_path / "m"
    first = morris(
        EXAMPLE,
        n=8,
        perturb=perturb,
        seed=2,
        out=out,
        client=client,
        progress=False,
    )
    table = sensitivity(first, METRIC)
    assert list(table.index) == ["Sat.SMA", "Sat.ECC", "Sat.INC"]
    assert list(table.columns) == ["mu", "mu_star", "mu_star_conf", "sigma"]
    assert table.loc["Sat.SMA", "mu_star"] > 5 * table.loc["Sat.ECC", "mu_star"] > 0
    assert table.loc["Sat.INC", "mu_star"] < 1e-6
    assert table.loc["Sat.SMA", "mu"] > 0  # a higher SMA raises the minimum altitude
    before = Manifest.load(out / "manifest.jsonl", full=True).entries
    grown = extend(out, n=4, client=client, progress=False)
    assert Manifest.load(out / "manifest.jsonl").run_count == 12 * 4
    fresh = morris(
        EXAMPLE,
        n=12,
        perturb=perturb,
        seed=2,
        out=tmp_path / "fresh",
        client=client,
        progress=False,
    )
    pd.testing.assert_frame_equal(grown.compute(), fresh.compute())
    after = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert all(after[i]["ended"] == e["ended"] for i, e in before.items())  # not re-run
    assert sensitivity(grown, METRIC).attrs["runs"] == 48


def test_the_same_seed_gives_the_same_sweep(sobol_sweep: Path, client: Any, tmp_path) -> None:
    again = sobol(
        EXAMPLE,
        n=32,
        perturb=PERTURB,
        seed=4,
        out=tmp_path / "again",
        client=client,
        progress=False,
    )
    pd.testing.assert_frame_equal(again.compute(), open_sweep(sobol_sweep).compute())
    other = Sobol(PERTURB, 32, seed=5).block(0, 256)
    assert not np.allclose(other["Sat.SMA"], runs_table(sobol_sweep)["Sat.SMA"])


def test_cli_sobol_killed_then_resumed_is_the_same_design(client: Any, tmp_path) -> None:
    out = tmp_path / "killed"
    command = [
        sys.executable, "-m", "gmat_sweep_dask", "sobol", str(EXAMPLE),
        "--n", "8", "--perturb", "Sat.SMA=uniform:6950:7050",
        "--perturb", "Sat.ECC=uniform:0.0005:0.0015", "--seed", "21",
        "--out", str(out), "--workers", "1", "--quiet",
    ]  # fmt: skip
    gate = Gate(tmp_path, free=2)  # the first two single-run tasks complete, the next is held
    driver = subprocess.Popen(
        command, env=gate.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_entries(out / "manifest.jsonl", 2)
        gate.wait_for_runs(3)
        os.kill(driver.pid, signal.SIGINT)
        _, stderr = driver.communicate(timeout=120)
    finally:
        gate.open()
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 130, stderr
    partial = Manifest.load(out / "manifest.jsonl", full=True)
    assert len(partial.entries) == 2
    resumed = Sweep.from_manifest(out).resume(client, progress=False)
    assert resumed.counts == {"ok": 48}
    design = Sobol(
        {"Sat.SMA": ("uniform", 6950.0, 7050.0), "Sat.ECC": ("uniform", 0.0005, 0.0015)},
        8,
        21,
    )
    recorded = runs_table(out)[list(design.fields)]
    pd.testing.assert_frame_equal(recorded, design.block(0, 48), check_names=False)
    entries = Manifest.load(out / "manifest.jsonl", full=True).entries
    for run_id, entry in entries.items():
        assert entry["overrides"] == design.overrides([run_id])[0]
    shown = CliRunner().invoke(main, ["sensitivity", str(out), "--metric", METRIC])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"sobol indices of {METRIC} over 48 runs")
    assert lines[2].split()[0] == "Sat.SMA"


def test_cli_morris_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "m"
    done = subprocess.run(
        [
            sys.executable, "-m", "gmat_sweep_dask", "morris", str(EXAMPLE),
            "--n", "3", "--levels", "6", "--perturb", "Sat.SMA=~uniform:-50:50",
            "--seed", "1", "--out", str(out), "--workers", "1", "-q",
        ],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 runs: 6 ok" in done.stdout
    header = Manifest.load(out / "manifest.jsonl").header["design"]
    assert header["kind"] == "morris" and header["levels"] == 6 and header["nominal"]
    bad = CliRunner().invoke(
        main,
        [
            "morris", str(EXAMPLE), "--n", "2", "--levels", "5",
            "--perturb", "Sat.SMA=uniform:1:2", "--out", str(tmp_path / "x"),
        ],
    )  # fmt: skip
    assert bad.exit_code == 2 and "levels must be an even integer" in bad.output
    assert not (tmp_path / "x").exists()
    wrong = CliRunner().invoke(main, ["sensitivity", str(out), "--metric", "Sat.Q:min"])
    assert wrong.exit_code == 2 and "no metric 'Sat.Q:min'" in wrong.output

"""End to end through the public Python API on a shared 2-worker LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmat_sweep_dask import Manifest, ScriptError, SpecError, SweepDirError, open_sweep, sweep
from gmat_sweep_dask.cli.overview import describe


def swept_angle(frame: pd.DataFrame) -> float:
    """Angle (rad) travelled in the orbit plane from the first to the last row."""
    first, last = frame.iloc[0], frame.iloc[-1]
    a = np.array([first["Sat.X"], first["Sat.Y"], first["Sat.Z"]])
    b = np.array([last["Sat.X"], last["Sat.Y"], last["Sat.Z"]])
    return float(np.arccos(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)))


@pytest.mark.gmat
def test_two_axis_grid_runs_every_combination_with_its_overrides(
    engine_client, example_script: Path, tmp_path: Path
) -> None:
    grid = {"Sat.SMA": [7000.0, 7400.0], "Sat.ECC": [0.001, 0.01], "Duration.Value": [1500]}
    frame = sweep(
        example_script, grid=grid, out=tmp_path / "s", client=engine_client, progress=False
    )
    assert frame.known_divisions
    data = frame.compute()
    assert sorted(data.index.unique()) == [0, 1, 2, 3]
    params = data.groupby(level=0)[["Sat.SMA", "Sat.ECC"]].first()
    assert params.to_numpy().tolist() == [[7000, 0.001], [7000, 0.01], [7400, 0.001], [7400, 0.01]]
    assert (data["status"] == "ok").all()
    # periapsis at t=0 lies on the x axis at SMA(1-ECC)
    first = data.groupby(level=0).first()
    expected = params["Sat.SMA"] * (1 - params["Sat.ECC"])
    np.testing.assert_allclose(first["Sat.X"], expected, rtol=1e-9)
    # a larger orbit is slower: less angle swept in the same time
    angles = {run: swept_angle(data.loc[run]) for run in range(4)}
    assert angles[2] < angles[0] and angles[3] < angles[1]
    # rows are sorted by (run_id, time)
    keys = data.reset_index()[["run_id", "time"]]
    assert keys.equals(keys.sort_values(["run_id", "time"], ignore_index=True))


@pytest.mark.gmat
def test_loc_returns_exactly_that_run(engine_client, example_script: Path, tmp_path: Path) -> None:
    frame = sweep(
        example_script,
        grid={"Sat.SMA": [7000, 7100, 7200, 7300, 7400]},
        out=tmp_path / "s",
        client=engine_client,
        progress=False,
    )
    everything = frame.compute()
    one = frame.loc[3].compute()
    assert set(one.index) == {3}
    pd.testing.assert_frame_equal(one, everything.loc[[3]])
    assert one["Sat.SMA"].eq(7300).all()


def test_failed_runs_are_recorded_and_visible(client, fault_script: Path, tmp_path: Path) -> None:
    table = pd.DataFrame({"StandinFault.Value": [0, 1, 0], "Sat.SMA": [7000.0, 7000.0, 0.0]})
    frame = sweep(fault_script, samples=table, out=tmp_path / "s", client=client, progress=False)
    manifest = Manifest.load(tmp_path / "s" / "manifest.jsonl", full=True)
    status = {run_id: e["status"] for run_id, e in manifest.entries.items()}
    assert status == {0: "ok", 1: "failed", 2: "failed"}
    assert "GmatRunError" in manifest.entries[1]["error"]
    assert manifest.entries[1]["log_tail"]
    assert "not an allowed value" in manifest.entries[2]["error"]
    assert "samples, 3 runs over StandinFault.Value, Sat.SMA" in describe(tmp_path / "s")
    data = frame.compute()
    assert data.loc[[1]]["status"].tolist() == ["failed"]
    assert data.loc[[1]]["time"].isna().all()
    assert (data.loc[[0]]["status"] == "ok").all() and len(data.loc[[0]]) > 1


def test_manifest_header_and_entries_have_the_documented_fields(
    client, example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    sweep(example_script, grid={"Sat.SMA": [7000, 7100]}, out=out, client=client, progress=False)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["schema_version"] == 1
    assert len(header["script_sha256"]) == 64
    assert header["run_count"] == 2
    assert header["design"] == {"kind": "grid", "axes": [["Sat.SMA", [7000, 7100]]]}
    assert set(header["versions"]) >= {"gmat_sweep_dask", "gmat_run", "gmat", "dask"}
    assert header["gmat"]["standin"] is True
    records = [json.loads(line) for line in lines[1:]]
    entries = [r for r in records if "run_id" in r]
    assert sorted(e["run_id"] for e in entries) == [0, 1]
    for e in entries:
        assert set(e) >= {
            "run_id",
            "overrides",
            "status",
            "outputs",
            "started",
            "ended",
            "duration_s",
            "worker",
            "error",
            "attempts",
            "log_tail",
        }
        assert e["attempts"] == 1
        assert e["worker"].startswith("tcp://127.0.0.1")
        assert not Path(e["outputs"]["report/Orbit"]["path"]).is_absolute()
    # compaction appends "moved" records; loading folds them into the entries
    for e in Manifest.load(out / "manifest.jsonl").entries.values():
        assert (out / e["outputs"]["report/Orbit"]["path"]).is_file()
    assert not (out / "data" / "_outcomes").exists()
    assert not (out / "data" / "_attempts").exists()


def test_rerunning_the_same_sweep_runs_nothing_new(client, example_script, tmp_path) -> None:
    out = tmp_path / "s"
    sweep(example_script, grid={"Sat.SMA": [7000, 7100]}, out=out, client=client, progress=False)
    before = (out / "manifest.jsonl").read_bytes()
    frame = sweep(
        example_script, grid={"Sat.SMA": [7000, 7100]}, out=out, client=client, progress=False
    )
    assert (out / "manifest.jsonl").read_bytes() == before
    assert frame.compute().index.nunique() == 2


def test_a_different_sweep_in_the_same_dir_is_refused_untouched(
    client, example_script, tmp_path
) -> None:
    out = tmp_path / "s"
    sweep(example_script, grid={"Sat.SMA": [7000, 7100]}, out=out, client=client, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(SweepDirError, match="different sweep"):
        sweep(example_script, grid={"Sat.SMA": [7500]}, out=out, client=client, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_unknown_field_fails_before_anything_is_written(client, example_script, tmp_path) -> None:
    with pytest.raises(ScriptError, match=r"Sat\.SMAA"):
        sweep(
            example_script,
            grid={"Sat.SMAA": [7000]},
            out=tmp_path / "s",
            client=client,
            progress=False,
        )
    assert not (tmp_path / "s").exists()
    with pytest.raises(SpecError):
        sweep(
            example_script,
            grid={"Sat.SMA": [7000]},
            samples=pd.DataFrame({"Sat.SMA": [1]}),
            out=tmp_path / "t",
            client=client,
        )


@pytest.mark.gmat
def test_open_sweep_reopens_a_finished_sweep(engine_client, example_script, tmp_path) -> None:
    out = tmp_path / "s"
    first = sweep(
        example_script,
        grid={"Sat.SMA": [7000, 7100]},
        out=out,
        client=engine_client,
        progress=False,
    ).compute()
    again = open_sweep(out)
    pd.testing.assert_frame_equal(again.compute(), first)
    column = open_sweep(out)["Sat.Z"].max().compute()
    assert column == first["Sat.Z"].max()
    by_sma = again.groupby("Sat.SMA")["Sat.Z"].max().compute()
    assert sorted(by_sma.index) == [7000, 7100]


def test_multi_index_recipe(client, example_script, tmp_path) -> None:
    frame = sweep(
        example_script,
        grid={"Sat.SMA": [7000, 7100]},
        out=tmp_path / "s",
        client=client,
        progress=False,
    )
    indexed = frame.compute().set_index("time", append=True)
    assert indexed.index.names == ["run_id", "time"]
    assert indexed.index.is_unique


def test_gmat_bootstraps_once_per_worker_process(
    client, example_script, tmp_path, standin_environment
) -> None:
    sweep(
        example_script,
        grid={"Sat.SMA": list(np.linspace(7000, 7400, 30))},
        out=tmp_path / "s",
        client=client,
        progress=False,
    )
    pids = (standin_environment / "setup.log").read_text().split()
    workers = client.run(lambda: __import__("os").getpid())
    for pid in workers.values():
        assert pids.count(str(pid)) <= 1
    assert len(set(pids)) == len(pids)


def test_a_multi_report_script_needs_report_before_anything_runs(client, tmp_path) -> None:
    from conftest import SCRIPTS

    script = SCRIPTS / "leo_outputs.script"
    with pytest.raises(ScriptError, match="several ReportFiles"):
        sweep(script, grid={"Sat.SMA": [7000]}, out=tmp_path / "a", client=client, progress=False)
    assert not (tmp_path / "a").exists()
    with pytest.raises(ScriptError, match="no ReportFile 'Nope'"):
        sweep(
            script,
            grid={"Sat.SMA": [7000]},
            out=tmp_path / "b",
            client=client,
            report="Nope",
            progress=False,
        )
    frame = sweep(
        script,
        grid={"Sat.SMA": [7000, 7100]},
        out=tmp_path / "c",
        client=client,
        report="Orbit",
        progress=False,
    )
    assert "Sat.Earth.SMA" in frame.columns
    ephemeris = open_sweep(tmp_path / "c", kind="ephemeris").compute()
    assert {"X", "VZ", "time"} <= set(ephemeris.columns)
    assert sorted(ephemeris.index.unique()) == [0, 1]
    contacts = open_sweep(tmp_path / "c", kind="contact").compute()
    assert "interval_id" in contacts.columns


def test_a_moved_sweep_opens_without_its_script(client, example_script, tmp_path) -> None:
    import shutil

    script = tmp_path / "copy.script"
    shutil.copy(example_script, script)
    sweep(script, grid={"Sat.SMA": [7000, 7100]}, out=tmp_path / "s", client=client, progress=False)
    expected = open_sweep(tmp_path / "s").compute()
    shutil.move(tmp_path / "s", tmp_path / "moved")
    script.unlink()
    pd.testing.assert_frame_equal(open_sweep(tmp_path / "moved").compute(), expected)

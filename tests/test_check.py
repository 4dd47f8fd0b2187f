"""``gmat-sweep-dask check`` and ``check()``: which GMAT, the fields the sweep sets with
their script values and types, one run timed, and an estimate of the whole sweep; no
cluster, nothing written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, SCRIPTS
from test_cli import one_line_error

from gmat_sweep_dask import CheckReport, check, open_sweep

EXE = [sys.executable, "-m", "gmat_sweep_dask"]


def run_check(*args: str, cwd: Path, root: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"GMAT_ROOT": str(root)} if root else {})}
    return subprocess.run(
        [*EXE, "check", *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


def labelled(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w[\w ]*?): +(.+)$", stdout, re.M))


@pytest.mark.gmat
def test_check_names_the_engine_lists_fields_runs_once_and_estimates(engine_root, tmp_path):
    result = run_check(
        str(EXAMPLE), "--grid", "Sat.SMA=7000:8000:20", "--grid", "Sat.ECC=0.001,0.01",
        "--workers", "2", cwd=tmp_path, root=engine_root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = labelled(result.stdout)
    if "gmat_standin" in str(engine_root):
        assert found["GMAT"].startswith("the GMAT stand-in engine (a test double for GMAT R2026a")
    else:
        assert found["GMAT"] == f"GMAT R2026a at {engine_root}"
    assert found["script"].startswith(f"{EXAMPLE} loads; starting GMAT and loading it took ")
    rows = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    assert ["field", "in the script", "type", "this sweep sets"] in rows
    assert ["Sat.SMA", "7000", "a number", "20 values, 7000 to 8000"] in rows
    assert ["Sat.ECC", "0.001", "a number", "2 values, 0.001 to 0.01"] in rows
    one = re.fullmatch(
        r"run 0 \(Sat\.SMA=7000 Sat\.ECC=0\.001\) ok in (?P<t>[\d.e-]+) s; "
        r"report/Orbit: (?P<rows>\d+) rows",
        found["one run"],
    )
    assert one and int(one["rows"]) > 1, found["one run"]
    estimate = re.fullmatch(
        r"40 runs × (?P<t>[\d.e-]+) s / 2 workers = (?P<runs>[\d.e-]+) s of GMAT, plus "
        r"(?P<start>[\d.]+) s to start the engines: about (?P<total>[\d.]+) s, plus the "
        r"cluster's own start-up",
        found["estimate"],
    )
    assert estimate and estimate["t"] == one["t"], found["estimate"]
    assert float(estimate["runs"]) == pytest.approx(40 * float(one["t"]) / 2, rel=0.1)
    assert float(estimate["total"]) == pytest.approx(
        float(estimate["runs"]) + float(estimate["start"]), abs=0.2
    )
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.gmat
def test_a_script_gmat_refuses_is_refused_with_gmat_s_own_reason(engine_root, tmp_path):
    # gmat-run only said "check the GMAT log file", a log no user can find.
    script = tmp_path / "elsewhere.script"
    text = EXAMPLE.read_text()
    assert "Orbit.Filename = 'orbit.txt'" in text
    script.write_text(text.replace("'orbit.txt'", "'orbit.txt'\nNobody.SMA = 7000"))
    line = 2 + text.splitlines().index("Orbit.Filename = 'orbit.txt'")
    result = run_check(str(script), "--grid", "Sat.SMA=7000,7100", cwd=tmp_path, root=engine_root)
    assert result.returncode == 2 and result.stdout == ""
    one_line_error(
        result,
        f"elsewhere.script: GMAT could not parse '{script}': Interpreter Exception: ",
        "Nobody",
        f"line {line}",
    )
    assert "log file" not in result.stderr


@pytest.mark.gmat
def test_an_output_directory_that_exists_nowhere_here_is_no_obstacle(engine_root, tmp_path):
    """A colleague's script writes its report to /home/them/results/orbit.txt: GMAT R2026a
    refuses to read it here (no such directory). Every run writes its outputs into the
    sweep directory anyway, so check and run go ahead, and nothing is made outside."""
    missing = tmp_path / "no such directory"
    script = tmp_path / "elsewhere.script"
    script.write_text(EXAMPLE.read_text().replace("'orbit.txt'", f"'{missing / 'orbit.txt'}'"))
    checked = run_check(str(script), "--grid", "Sat.SMA=7000,7100", cwd=tmp_path, root=engine_root)
    assert checked.returncode == 0, checked.stderr
    assert "run 0 (Sat.SMA=7000) ok in " in checked.stdout
    env = {**os.environ, "GMAT_ROOT": str(engine_root)}
    frames = {}
    for name, source in (("elsewhere", script), ("plain", EXAMPLE)):
        ran = subprocess.run(
            [*EXE, "run", str(source), "--grid", "Sat.SMA=7000,7100", "--out", str(tmp_path / name),
             "--workers", "1", "-q"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        frames[name] = open_sweep(tmp_path / name).compute()
    assert (frames["elsewhere"]["status"] == "ok").all() and len(frames["elsewhere"]) > 2
    pd.testing.assert_frame_equal(frames["elsewhere"], frames["plain"])
    assert not missing.exists()


def test_check_in_python_is_the_same_report(tmp_path: Path) -> None:
    report = check(EXAMPLE, grid={"Sat.SMA": [7000, 7100, 7200]}, workers=3)
    assert isinstance(report, CheckReport)
    assert report.gmat["standin"] is True and report.gmat["version"] == "R2026a"
    (field,) = report.fields
    assert (field.name, field.script_value, field.kind) == ("Sat.SMA", 7000.0, "a number")
    assert report.overrides == {"Sat.SMA": 7000} and report.status == "ok"
    assert report.outputs == {"report/Orbit": 101}
    assert report.estimate_s == pytest.approx(3 * report.run_s / 3 + report.start_s)
    assert "<td>Sat.SMA</td><td>7000</td><td>a number</td>" in report._repr_html_()
    assert str(report).splitlines()[-1].startswith("estimate: 3 runs × ")
    assert repr(report) == str(report)  # what an interactive session shows


def test_check_a_monte_carlo_runs_its_first_draw(tmp_path: Path) -> None:
    from gmat_sweep_dask.design import MonteCarlo

    perturb = {"Sat.SMA": ("normal", 7100, 50)}
    report = check(EXAMPLE, perturb=perturb, n=500, seed=3)
    assert report.overrides == MonteCarlo(perturb, 500, 3).overrides([0])[0]
    assert report.fields[0].sweep_sets.startswith("500 values, ")
    assert report.runs == 500


def test_a_failing_first_run_is_reported_with_gmat_s_error_and_exit_1(tmp_path: Path) -> None:
    result = run_check(
        str(SCRIPTS / "leo_faults.script"), "--grid", "StandinFault.Value=1,0", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert re.search(
        r"^one run: +run 0 \(StandinFault\.Value=1\) FAILED after [\d.e-]+ s: GMAT run failed: "
        r"Propagate::Execute\(\): StandinFault = 1",
        result.stdout,
        re.M,
    ), result.stdout


def test_values_that_do_not_fit_are_refused_in_one_line(tmp_path: Path) -> None:
    result = run_check(str(EXAMPLE), "--grid", "Sat.SMA=a,b", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    one_line_error(result, "Sat.SMA='a'", "a number")
    unknown = run_check(str(EXAMPLE), "--grid", "Sat.SMAA=7000", cwd=tmp_path)
    assert unknown.returncode == 2
    one_line_error(unknown, "Sat.SMAA")
    both = run_check(str(EXAMPLE), "--grid", "Sat.SMA=1", "--perturb", "Sat.ECC=uniform:0:1",
                     "--n", "3", cwd=tmp_path)  # fmt: skip
    assert both.returncode == 2
    one_line_error(both, "give one of --grid, --samples or --perturb")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.gmat
def test_check_writes_nothing_beside_the_script(engine_root, tmp_path: Path) -> None:
    """A field written through the script text (a list) needs a copy of the script beside
    it; check's run takes it from a copy of its own, as a sweep's runs do, so a script in a
    read-only directory can be checked and the user's directory is never touched."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    script = folder / "leo.script"
    script.write_bytes(EXAMPLE.read_bytes())
    os.utime(folder, ns=(10**18, 10**18))  # any file made or removed in it would change this
    result = run_check(
        str(script), "--grid", "EarthOnly.PointMasses={Earth, Luna},{Earth}", cwd=tmp_path,
        root=engine_root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "run 0 (EarthOnly.PointMasses={Earth, Luna}) ok in " in result.stdout, result.stdout
    assert os.stat(folder).st_mtime_ns == 10**18 and os.listdir(folder) == ["leo.script"]

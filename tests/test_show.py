"""``show`` as an analyst reads it: failed runs as a table with GMAT's own error line,
one run in full (``--run``), runs filtered by parameter or status (``--where``), and the
notebook display of a sweep's result. No Python dict repr anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SCRIPTS
from test_cli import cli, one_line_error

from gmat_sweep_dask import Sweep
from gmat_sweep_dask.analysis.failures import explain, gmat_error_line
from gmat_sweep_dask.design import Grid

# What real GMAT R2026a recorded for two failed runs of tests/gmat_real/scripts/reference.script
# (tests/test_real_gmat.py makes the same failures happen on the real engine).
REAL_RUN_ERROR = "GmatRunError: GMAT RunScript returned status 0; expected 1"
REAL_LOG_TAIL = """\
GMAT Build Date: Dec  3 2026 07:43:21

GMAT API Log: Created Thu Dec  3 09:17:22 2026


Logging to /tmp/x/runs/1/GmatLog.txt
Running mission...
Successfully set Planetary Source to use: DE405
Propagator Exception: PrinceDormand78: Accuracy settings will be violated with current \
step size values.

 This error occurred on line 36 of file: "/tmp/x/script/reference.script"


 *** Mission run failed.
===> Total Run Time: 0.017 seconds"""
REAL_FIELD_ERROR = (
    "GmatFieldError: GMAT rejected write to 'Sat.INC': GmatBase Exception Thrown: Utility "
    'Exception: The value of "500" for field "INC" on object "Sat" is not an allowed value.\n'
    "The allowed values are: [0.0 <= Real Number <= 180.0]"
)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six runs: two ok, two with a GMAT run-time error, two whose engine crashes; raw
    outputs (GMAT's logs) kept."""
    out = tmp_path_factory.mktemp("show") / "faults"
    result = cli(
        "run", str(SCRIPTS / "leo_faults.script"), "--grid", "StandinFault.Value=0,1,2",
        "--grid", "Sat.SMA=7000,7100", "--out", str(out), "--keep-raw", "--workers", "1",
        "--quiet",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    return out


def test_failed_runs_are_a_table_with_gmat_s_own_error_and_log(faults: Path) -> None:
    shown = cli("show", str(faults), "--failed")
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.split("4 failed runs:\n", 1)[1].splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["run", "overrides", "log", "reason"]
    rows = {int(line.split()[0]): line for line in table[1:]}
    assert sorted(rows) == [2, 3, 4, 5]
    assert "Sat.SMA=7000 StandinFault.Value=1" in rows[2]
    assert rows[2].endswith(
        "GMAT run failed: Propagate::Execute(): StandinFault = 1: injected GMAT run-time "
        "error (simulated integrator failure)"
    )
    assert f"{faults}/runs/2/GmatLog.txt" in rows[2] and (faults / "runs/2/GmatLog.txt").is_file()
    assert rows[5].endswith("GMAT engine crashed (signal SIGSEGV)")
    assert "{" not in shown.stdout and "RunScript returned status" not in shown.stdout


def test_gmat_s_own_error_line_replaces_gmat_run_s_status_message() -> None:
    run = explain(REAL_RUN_ERROR, REAL_LOG_TAIL)
    assert run.text() == (
        "GMAT run failed: Propagator Exception: PrinceDormand78: Accuracy settings will be "
        "violated with current step size values. (line 36 of reference.script)"
    )
    field = explain(REAL_FIELD_ERROR)
    assert field.text() == (
        'GMAT rejected a value of Sat.INC: The value of "500" for field "INC" on object "Sat" '
        "is not an allowed value. The allowed values are: [0.0 <= Real Number <= 180.0]"
    )
    assert explain("timeout: no result after 20.0 s").text() == "timed out after 20.0 s"
    no_log = explain("GmatRunError: GMAT RunScript returned status -2; expected 1")
    assert no_log.text().startswith("GMAT run failed (") and "no error line" in no_log.text()
    assert gmat_error_line("Running mission...\n*** Mission run failed.") is None


def test_a_value_gmat_did_not_keep_reads_as_its_sentence() -> None:
    recorded = (
        "ValueError: GMAT did not keep Sat.ECC = -0.46: it holds 0.46 once every override "
        "is written (GMAT changed or ignored it instead of refusing it)"
    )
    assert explain(recorded).text() == recorded.removeprefix("ValueError: ")


def test_the_script_interpreter_s_error_names_its_line() -> None:
    # GMAT R2026a's log when LoadScript refuses a script (captured from the real engine)
    log = (
        "Interpreting scripts from the file.\n***** file: /tmp/abs/abs.script\n"
        "1: /tmp/abs/abs.script: **** ERROR **** Subscriber Exception: Cannot open output "
        "REPORT_FILE '/tmp/abs/evil/Orbit.txt' in line:\n"
        "   \"  32: Orbit.Filename = '/tmp/abs/evil/Orbit.txt'\"\n"
        "2: /tmp/abs/abs.script: **** ERROR **** Interpreter Exception: second\n"
    )
    assert gmat_error_line(log) == (
        "Subscriber Exception: Cannot open output REPORT_FILE '/tmp/abs/evil/Orbit.txt' "
        "(line 32 of abs.script: Orbit.Filename = '/tmp/abs/evil/Orbit.txt')"
    )


def test_one_run_in_full(faults: Path) -> None:
    failed = cli("show", str(faults), "--run", "2")
    assert failed.returncode == 0, failed.stderr
    fields = dict(re.findall(r"^(\w[\w ]*?): +(.*)$", failed.stdout, re.M))
    assert fields["status"] == "failed after 1 attempt"
    assert fields["overrides"] == "Sat.SMA=7000 StandinFault.Value=1"
    assert fields["reason"].startswith("GMAT run failed: Propagate::Execute(): StandinFault = 1")
    assert fields["error"] == "GmatRunError: GMAT RunScript returned status -5; expected 1"
    assert fields["log"] == f"{faults}/runs/2/GmatLog.txt"
    assert re.match(r"(tcp|tls)://127\.0\.0\.1:\d+$", fields["worker"]), fields["worker"]
    assert "  | **** ERROR **** Propagate::Execute()" in failed.stdout
    ok = cli("show", str(faults), "--run", "1")
    assert "status:     ok after 1 attempt" in ok.stdout
    assert re.search(
        r"^output: +report/Positions: 3 rows in data/report/Positions/", ok.stdout, re.M
    )
    assert "reason:" not in ok.stdout and "{" not in failed.stdout + ok.stdout
    outside = cli("show", str(faults), "--run", "6")
    assert outside.returncode == 2
    one_line_error(outside, "--run 6", "0..5")


def test_where_filters_runs_by_parameter_and_status(faults: Path) -> None:
    shown = cli("show", str(faults), "--where", 'Sat.SMA > 7000 and status == "failed"')
    assert shown.returncode == 0, shown.stderr
    listing = shown.stdout.split('2 of 6 runs match Sat.SMA > 7000 and status == "failed"\n')[1]
    rows = listing.splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [3, 5]
    assert rows[1].endswith("GMAT engine crashed (signal SIGSEGV)")
    by_id = cli("show", str(faults), "--where", "run_id < 2 and `Sat.SMA` == 7100")
    assert "1 of 6 runs match" in by_id.stdout
    none = cli("show", str(faults), "--where", "attempts > 1")
    assert "0 of 6 runs match attempts > 1" in none.stdout
    for bad, needle in (("Sat.SMA +", "--where 'Sat.SMA +'"), ("Sat.SMA + 1", "not a condition")):
        refused = cli("show", str(faults), "--where", bad)
        assert refused.returncode == 2 and refused.stdout == ""
        one_line_error(refused, needle, "columns: run_id, StandinFault.Value, Sat.SMA, status")


def test_a_sweep_result_shows_itself_in_a_notebook(client, fault_script: Path, tmp_path: Path):
    out = tmp_path / "nb"
    result = Sweep(fault_script, Grid({"StandinFault.Value": [0, 1]}), out).run(
        client, progress=False
    )
    shown = result._repr_html_()
    assert shown.startswith("<table><caption>SweepResult: 1 not ok</caption>")
    assert "<td style='text-align:left'>1 ok, 1 failed</td>" in shown
    assert "<td>1</td><td>StandinFault.Value=1</td>" in shown
    assert "GMAT run failed: Propagate::Execute(): StandinFault = 1" in shown
    assert "{" not in shown


def test_a_value_gmat_s_script_reader_refuses_is_one_sentence(tmp_path: Path) -> None:
    # It read "GMAT could not load the script: GMAT could not parse the script with ...".
    out = tmp_path / "layout"
    script = Path(__file__).parent / "gmat_real" / "scripts" / "ephemeris.script"
    ran = cli("run", str(script), "--grid", "Orbit.LeftJustify=On,Sideways", "--out", str(out),
              "--workers", "1", "--quiet")  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    shown = cli("show", str(out), "--failed").stdout
    row = next(line for line in shown.splitlines() if line.startswith("1    "))
    reason = row.split("'Sideways'  ", 1)[1]
    assert reason.startswith("GMAT could not load the script: Interpreter Exception: ")
    assert reason.count("GMAT could not") == 1 and 'The value of "Sideways"' in reason
    unlogged = (
        "GmatLoadError: GMAT could not parse the script with Orbit.LeftJustify='Sideways' "
        "written into its text (GMAT logged no error line)"
    )
    assert explain(unlogged).text() == unlogged.removeprefix("GmatLoadError: ")

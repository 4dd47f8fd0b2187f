"""A ReportFile gmat-run cannot read back (no header line, columns not padded with spaces)
is refused before a sweep starts, or fails its run: never an ``ok`` run of garbage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_SCRIPTS
from test_cli import cli, one_line_error

from gmat_sweep_dask import Manifest, open_sweep, sweep

SCRIPT = REAL_SCRIPTS / "ephemeris.script"
NEEDS = "keep WriteHeaders = true, FixedWidth = true and Delimiter = ' '"


@pytest.mark.parametrize(
    ("axis", "named"),
    [
        ("Orbit.WriteHeaders=true,false", "Orbit.WriteHeaders = false writes a report"),
        ("Orbit.FixedWidth=false", "Orbit.FixedWidth = false writes a report"),
        ("Orbit.Delimiter=','", "Orbit.Delimiter = ',' writes a report"),
    ],
)
def test_a_design_value_no_report_reader_can_read_is_refused_before_anything_runs(
    tmp_path: Path, axis: str, named: str
) -> None:
    # On R2026a such a report read as one text column (or NaN columns) and every run was ok.
    out = tmp_path / "s"
    ran = cli("run", str(SCRIPT), "--grid", axis, "--out", str(out), "--quiet")
    assert ran.returncode == 2
    one_line_error(ran, named, NEEDS)
    assert not out.exists()


def test_a_script_whose_own_report_cannot_be_read_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "nohead.script"
    script.write_text(
        SCRIPT.read_text().replace("Orbit.WriteHeaders = true", "Orbit.WriteHeaders = false")
    )
    ran = cli("run", str(script), "--grid", "Sat.SMA=7000,7100", "--out", str(tmp_path / "s"))
    assert ran.returncode == 2
    one_line_error(ran, "Orbit.WriteHeaders = false writes a report", NEEDS)
    fixed = cli("run", str(script), "--grid", "Orbit.WriteHeaders=true", "--out",
                str(tmp_path / "t"), "--quiet")  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr  # the design sets it right: nothing to refuse


@pytest.mark.gmat
def test_a_run_left_with_such_a_report_fails_naming_the_field(engine_client, tmp_path):
    # A samples column of booleans is checked by its first value only before the sweep.
    out = tmp_path / "s"
    table = pd.DataFrame({"Orbit.WriteHeaders": [True, False], "Sat.SMA": [7000.0, 7100.0]})
    sweep(SCRIPT, samples=table, out=out, client=engine_client, report="Orbit", progress=False)
    recorded = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert recorded[0]["status"] == "ok" and recorded[1]["status"] == "failed"
    assert recorded[1]["error"].startswith("ValueError: Orbit.WriteHeaders = false writes a")
    data = open_sweep(out, report="Orbit").compute()
    assert list(data.columns[:6]) == ["time", "Sat.ElapsedSecs", "Sat.X", "Sat.Y", "Sat.Z",
                                      "Sat.Earth.Altitude"]  # fmt: skip

"""Notebook summaries (``_repr_html_``) of a sweep's result and of the dispersion results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import SCRIPTS

from gmat_sweep_dask import Grid, Sweep, SweepResult, open_sweep, per_run, violation_probability


def test_a_sweep_result_summarises_its_runs(client: Any, tmp_path: Path) -> None:
    grid = Grid({"Sat.SMA": [7000.0, 7100.0], "StandinFault.Value": [0, 1]})
    result = Sweep(SCRIPTS / "leo_faults.script", grid, tmp_path / "s<&>").run(
        client, progress=False
    )
    assert isinstance(result, SweepResult) and result.counts == {"ok": 2, "failed": 2}
    page = result._repr_html_()
    assert page.startswith("<table><caption>SweepResult: 2 not ok</caption>")
    assert "<td style='text-align:left'>2 ok, 2 failed</td>" in page
    assert "ran 4, recorded 0 without running" in page and "GMAT stand-in engine" in page
    assert "s&lt;&amp;&gt;" in page and "s<&>" not in page  # the path is escaped
    again = Sweep.from_manifest(tmp_path / "s<&>").run(client, progress=False)
    assert "ran 2," in again._repr_html_()  # only the failed runs ran again

    runs = per_run(open_sweep(tmp_path / "s<&>"), ["Sat.X"], how=("max",))
    violation = violation_probability(runs, "Sat.X:max > 7000")
    page = violation._repr_html_()
    assert "P(<code>Sat.X:max &gt; 7000</code>)" in page
    assert f"({violation.violated} of 2 runs; 2 failed, 0 undetermined: left out)" in page
    assert "95% Wilson [" in page and "Clopper-Pearson [" in page

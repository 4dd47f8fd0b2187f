"""``out=None``: a sweep in a temporary directory that lives as long as its frames."""

from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from gmat_sweep_dask import ScriptError, SpecError, monte_carlo, per_run, sweep, sweep_path
from gmat_sweep_dask.execute.temporary import PREFIX

GRID = {"Sat.SMA": [7000.0, 7100.0, 7200.0]}


def _collect() -> None:
    for _ in range(3):
        gc.collect()


def _gone(path: Path, timeout: float = 30) -> bool:
    """Whether ``path`` is removed once garbage is collected (a Dask client may let go
    of a computed graph a moment after ``compute`` returns)."""
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        _collect()
        time.sleep(0.1)
    return not path.exists()


def test_a_temporary_sweep_lives_as_long_as_any_frame_derived_from_it(
    client, example_script, tmp_path, capsys
) -> None:
    frame = sweep(example_script, grid=GRID, client=client)
    where = sweep_path(frame)
    assert where.parent == Path(tempfile.gettempdir()) and where.name.startswith(PREFIX)
    assert f"temporary sweep directory: {where}" in capsys.readouterr().err
    assert (where / "manifest.jsonl").is_file()
    expected = sweep(example_script, grid=GRID, out=tmp_path / "kept", client=client)
    finals = per_run(frame[["Sat.X", "status", "Sat.SMA"]], ["Sat.X"])
    del frame
    _collect()
    assert where.is_dir()  # a derived frame still reads it
    pd.testing.assert_frame_equal(
        finals.compute(), per_run(expected[["Sat.X", "status", "Sat.SMA"]], ["Sat.X"]).compute()
    )
    del finals
    assert _gone(where)


def test_a_temporary_sweep_is_removed_at_exit_and_when_the_call_fails(
    client, example_script, tmp_path, monkeypatch
) -> None:
    program = (
        "import sys\n"
        "from gmat_sweep_dask import monte_carlo, sweep_path\n"
        f"frame = monte_carlo({str(example_script)!r}, n=4, seed=1,\n"
        "    perturb={'Sat.SMA': ('normal', 7100, 10)}, progress=False)\n"
        "print(sweep_path(frame), len(frame.compute()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "if __name__ == '__main__':\n" + _indent(program)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    path, rows = done.stdout.split()
    assert int(rows) > 4 and Path(path).name.startswith(PREFIX)
    assert not Path(path).exists()  # the frame was alive at exit: removed then

    private = tmp_path / "tmp"  # this test's own temporary directory: others may run too
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    with pytest.raises(SpecError, match=r"Sat\.SMA"):
        monte_carlo(example_script, n=4, perturb={"Sat.SMA": ("normal", 7100, -1)}, client=client)
    with pytest.raises(ScriptError, match=r"Sat\.Nope"):
        sweep(example_script, grid={"Sat.Nope": [1.0]}, client=client, progress=False)
    assert not list(private.iterdir())


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())

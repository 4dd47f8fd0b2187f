"""The switches and timeout a sweep records: a wrong-typed one is refused by name before
anything starts (``keep_raw="no"`` used to read as True and keep every raw file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE

from gmat_sweep_dask import SpecError, sweep
from gmat_sweep_dask.execute.runoptions import checked_flag, checked_timeout


@pytest.mark.parametrize("value", ["no", "false", 0, 1, None, 1.0, [True]])
def test_a_switch_takes_true_or_false_only(value) -> None:
    with pytest.raises(SpecError, match=r"^isolate=.*: expected True or False$"):
        checked_flag("isolate", value)


def test_numpy_booleans_are_booleans() -> None:
    assert checked_flag("keep_raw", np.bool_(False)) is False
    assert checked_flag("keep_raw", True) is True


@pytest.mark.parametrize(("option", "value"), [("keep_raw", "no"), ("isolate", 0)])
def test_the_api_refuses_a_wrong_typed_switch_before_anything_starts(
    option: str, value: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gmat_sweep_dask.execute import cluster

    def no_cluster(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(cluster, "connect", no_cluster)
    out = tmp_path / "s"
    with pytest.raises(SpecError, match=f"{option}={value!r}: expected True or False"):
        sweep(EXAMPLE, grid={"Sat.SMA": [7000.0]}, out=out, progress=False, **{option: value})
    assert not out.exists()


def test_a_path_that_is_not_utf8_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """GMAT takes UTF-8 paths only: an output directory named with a byte like 0xff made
    every run fail (UnicodeEncodeError; real GMAT: TypeError in LoadScript), a script
    there, or a TMPDIR so named, failed the script check with an error naming the script
    (TypeError, UnicodeEncodeError). One line now, naming the path, exit 2."""
    import os
    import shutil
    import subprocess
    import sys

    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/odd\xff"))
    odd.mkdir()
    script = odd / "leo.script"
    shutil.copy(EXAMPLE, script)
    shown = f"{tmp_path}/odd\\xff"
    out = str(tmp_path / "out")
    for args, said, temp in [
        ([str(EXAMPLE), "--out", str(odd / "out")], f"output directory {shown}/out", None),
        ([str(script), "--out", out], f"script {shown}/leo.script", None),
        ([str(EXAMPLE), "--out", out], f"temporary directory (TMPDIR) {shown}", odd),
    ]:
        command = [sys.executable, "-m", "gmat_sweep_dask", "run", *args, "--grid", "Sat.SMA=7000"]
        env = {**os.environ, **({"TMPDIR": str(temp)} if temp else {})}
        result = subprocess.run(command, capture_output=True, timeout=300, env=env)
        assert result.returncode == 2
        assert result.stderr.decode().splitlines() == [
            f"gmat-sweep-dask: error: {said}: the path is not valid UTF-8 and GMAT takes "
            "only UTF-8 paths; rename it or choose another"
        ]
        assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == [odd.name]
    assert sorted(p.name for p in odd.iterdir()) == ["leo.script"]


def test_a_timeout_names_the_one_thing_wrong_with_it() -> None:
    assert checked_timeout(60, True) == 60
    with pytest.raises(SpecError, match=r"^timeout=nan: expected a positive, finite number"):
        checked_timeout(float("nan"), False)  # not also "needs isolation"
    with pytest.raises(SpecError) as refused:
        checked_timeout(60, False)
    assert "only with GMAT in its own process" in str(refused.value)
    assert "positive, finite" not in str(refused.value)

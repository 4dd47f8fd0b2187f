"""The switches and timeout a sweep records: a wrong-typed one is refused by name before
anything starts (``keep_raw="no"`` used to read as True and keep every raw file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE

from gmat_sweep_dask import SpecError, sweep
from gmat_sweep_dask.execute.runoptions import checked_flag


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

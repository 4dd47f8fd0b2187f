"""The sweep directory: a new sweep stopped before its manifest leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE

from gmat_sweep_dask import Sweep
from gmat_sweep_dask.design import Samples
from gmat_sweep_dask.store import snapshot


@pytest.mark.parametrize("where", ["new directory", "empty directory"])
def test_a_sweep_interrupted_while_creating_its_record_can_start_again(
    client, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or SIGTERM) after the script snapshot was copied but before the manifest
    was written once left ``script/`` (and ``design/``) behind: the same command then
    said "exists and is not an empty directory or a sweep directory"."""
    out = tmp_path / "sweep"
    if where == "empty directory":
        out.mkdir()
    design = Samples(pd.DataFrame({"Sat.SMA": [7000.0, 7100.0]}))
    take = snapshot.take

    def interrupted(*args, **kwargs):
        take(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(snapshot, "take", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Sweep(EXAMPLE, design, out).run(client, progress=False)
    if where == "new directory":
        assert not out.exists()
    else:
        assert list(out.iterdir()) == []
    monkeypatch.setattr(snapshot, "take", take)
    result = Sweep(EXAMPLE, design, out).run(client, progress=False)
    assert result.counts == {"ok": 2}

"""Files published durably: data fsync'd, then renamed into place, then the directory."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store.durable import publish


@pytest.fixture
def events(monkeypatch) -> list[tuple[str, str]]:
    """Every fsync (of the path behind the descriptor) and rename, in order."""
    seen: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        seen.append(("replace", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_publish_syncs_data_before_the_rename_and_the_directory_after(
    tmp_path: Path, events
) -> None:
    tmp, final = tmp_path / ".x.tmp", tmp_path / "x"
    tmp.write_text("data")
    publish(tmp, final)
    assert events == [("fsync", str(tmp)), ("replace", str(final)), ("fsync", str(tmp_path))]
    events.clear()
    tmp.write_text("more")
    publish(tmp, final, fsync=False)
    assert events == [("replace", str(final))] and final.read_text() == "more"


def test_batch_files_and_commit_records_are_synced_unless_fsync_is_off(
    tmp_path: Path, events
) -> None:
    frame = pd.DataFrame({"Sat.A1ModJulian": [1.0, 2.0], "Sat.X": [3.0, 4.0]})
    table = outputs.normalise("report", frame, 0)
    path = outputs.write_batch(tmp_path, "report", "R", [table], "000000000-a")
    record = outputs.write_outcomes(tmp_path, "000000000-a", [{"run_id": 0}])
    final = tmp_path / path
    synced = [target for kind, target in events if kind == "fsync"]
    assert any(s.endswith(".part-000000000-a.parquet.tmp") for s in synced)
    assert str(final.parent) in synced and str(record.parent) in synced
    assert any(s.endswith(".000000000-a.json.tmp") for s in synced)
    events.clear()
    outputs.write_batch(tmp_path, "report", "R", [table], "000000001-b", fsync=False)
    outputs.write_outcomes(tmp_path, "000000001-b", [{"run_id": 1}], fsync=False)
    assert [kind for kind, _ in events] == ["replace", "replace"]

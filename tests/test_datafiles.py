"""One schema-union rule and one metadata merge (store/datafiles.py), shared by the batch
writer, compaction and the frame reader, so a sweep reads the same before and after
compaction and no file or frame claims a time scale some of its runs do not have."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from test_frames import EPOCH, RunOutputs, build_sweep, mixed_run, report

from gmat_sweep_dask import epoch_info, open_sweep
from gmat_sweep_dask.store.compact import compact_dir
from gmat_sweep_dask.store.datafiles import merge_meta, unify


def test_the_union_rule() -> None:
    first = pa.schema([("a", pa.int64()), ("b", pa.null()), ("c", pa.timestamp("ns"))])
    second = pa.schema([("b", pa.float64()), ("a", pa.float64()), ("c", pa.string())])
    third = pa.schema([("d", pa.null()), ("a", pa.int32())])
    united = unify([first, second, third])
    assert united.names == ["a", "b", "c", "d"]  # order of first appearance
    assert united.types == [pa.float64(), pa.float64(), pa.string(), pa.float64()]
    leading = (pa.field("run_id", pa.int64()), pa.field("time", pa.timestamp("ns")))
    assert unify([third], leading).names == ["run_id", "time", "d", "a"]
    assert unify([], leading).types == [pa.int64(), pa.timestamp("ns")]
    assert unify([pa.schema([("time", pa.float64())])], leading).field("time").type == (
        pa.float64()
    )


def test_the_metadata_merge() -> None:
    utc = {"kind": "report", "key": "time", "time_source": "A.UTC", "time_scale": "UTC"}
    tai = {**utc, "time_source": "A.TAI", "time_scale": "TAI"}
    unknown = {**utc, "time_scale": None}
    assert merge_meta([utc, dict(utc)]) == {**utc, "epoch_scales": {}}
    assert merge_meta([utc, tai])["time_scale"] is None
    assert merge_meta([utc, tai])["time_source"] is None
    assert merge_meta([utc, unknown])["time_scale"] is None
    assert merge_meta([utc, unknown])["time_source"] == "A.UTC"
    contact = {"kind": "contact", "key": "interval_id"}
    assert "time_scale" not in merge_meta([contact, contact])
    scales = merge_meta(
        [
            {**contact, "epoch_scales": {"Start": "UTC", "Stop": "UTC"}},
            {**contact, "epoch_scales": {"Start": "UTC", "Stop": "TAI", "Peak": "A1"}},
        ]
    )["epoch_scales"]
    assert scales == {"Start": "UTC", "Stop": None, "Peak": "A1"}
    assert merge_meta([]) == {"epoch_scales": {}}


def tai_run(run_id: int, params: dict) -> RunOutputs:
    """Runs report in UTC, except run 1 whose only epoch column is in TAI."""
    if run_id != 1:
        return {("report", "R"): report(3, X=np.arange(3.0))}
    epochs = pd.to_datetime([EPOCH + timedelta(seconds=60 * i) for i in range(3)])
    frame = pd.DataFrame({"Sat.TAIGregorian": epochs, "X": np.arange(3.0)})
    frame.attrs["epoch_scales"] = {"Sat.TAIGregorian": "TAI"}
    return {("report", "R"): frame}


def test_a_batch_mixing_time_scales_does_not_claim_one(tmp_path: Path) -> None:
    # runs 0 and 1 share a batch file; its metadata used to be run 0's alone (UTC)
    out = build_sweep(tmp_path / "s", {"Sat.SMA": [7000.0, 7100.0, 7200.0, 7300.0]}, tai_run)
    assert epoch_info(out) == {"time_source": None, "time_scale": None, "epoch_scales": {}}
    compact_dir(out)
    assert epoch_info(out)["time_scale"] is None


def test_a_sweep_reads_the_same_before_and_after_compaction(tmp_path: Path) -> None:
    grid = {"Sat.SMA": [7000.0, 7100.0], "Sat.ECC": [0.0, 0.1, 0.2, 0.3]}
    out = build_sweep(tmp_path / "s", grid, mixed_run, batch=2)
    before = open_sweep(out).compute()
    info = epoch_info(out)
    assert len(list((out / "data").rglob("*.parquet"))) == 4
    compact_dir(out)
    assert len(list((out / "data").rglob("*.parquet"))) == 1
    pd.testing.assert_frame_equal(open_sweep(out).compute(), before)
    assert (
        epoch_info(out)
        == info
        == {
            "time_source": "Sat.UTCGregorian",
            "time_scale": "UTC",
            "epoch_scales": {},
        }
    )

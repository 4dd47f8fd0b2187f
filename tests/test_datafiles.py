"""One schema-union rule and one metadata merge (store/datafiles.py), shared by the batch
writer, compaction and the frame reader, so a sweep reads the same before and after
compaction and no file or frame claims a time scale some of its runs do not have."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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


def test_data_files_use_dictionaries_only_where_values_repeat(tmp_path: Path) -> None:
    """Run ids and text repeat; GMAT's floats and epochs do not (a dictionary there cost
    ~5x the write time): every data file, batch or compacted, is written that way."""
    out = build_sweep(tmp_path / "s", {"Sat.SMA": [7000.0, 7100.0, 7200.0, 7300.0]}, mixed_run)
    for compacted in (False, True):
        if compacted:
            compact_dir(out)
        files = sorted((out / "data").rglob("*.parquet"))
        assert files
        for path in files:
            group = pq.ParquetFile(path).metadata.row_group(0)
            kinds = pq.read_schema(path)
            for i in range(group.num_columns):
                column = group.column(i)
                kind = kinds.field(column.path_in_schema).type
                repeating = not (pa.types.is_floating(kind) or pa.types.is_temporal(kind))
                dictionary = "RLE_DICTIONARY" in column.encodings
                assert dictionary == repeating, (path.name, column.path_in_schema, kind)


def test_a_report_repeating_a_column_keeps_every_copy_under_its_own_name() -> None:
    """GMAT lets a ReportFile list a parameter twice; the run is stored, not failed."""
    from gmat_sweep_dask.store.datafiles import normalise

    frame = pd.DataFrame(
        [[EPOCH, 7000.0, 1.5], [EPOCH + timedelta(seconds=60), 7001.0, 2.5]],
        columns=["Sat.UTCGregorian", "Sat.X", "Sat.X"],
    )
    table, meta = normalise("report", frame, 4)
    assert table.column_names == ["run_id", "time", "Sat.X", "Sat.X.1"]
    assert table.column("Sat.X").to_pylist() == [7000.0, 7001.0]
    assert table.column("Sat.X.1").to_pylist() == [1.5, 2.5]
    assert meta["time_source"] == "Sat.UTCGregorian"


def test_normalised_columns_match_arrow_s_own_pandas_conversion() -> None:
    """The per-column conversion gives what ``pa.Table.from_pandas`` gives: NaN and NaT
    become null, types as Arrow maps them (then normalised)."""
    from gmat_sweep_dask.store.datafiles import normalise

    frame = pd.DataFrame(
        {
            "Sat.ElapsedSecs": [0.0, 60.0, 120.0],
            "Sat.X": [1.0, np.nan, 3.0],
            "Sat.Count": np.array([1, 2, 3], dtype=np.int32),
            "Sat.Name": ["a", None, "c"],
            "Sat.Flag": [True, False, True],
            "Sat.When": pd.to_datetime(["2020-01-01", None, "2020-01-03"]),
            "Sat.Small": np.array([1, 2, 3], dtype=np.float32),
            "Sat.Maybe": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    table, meta = normalise("report", frame, 9)
    assert meta["time_source"] == "Sat.When"  # the first datetime column is the key
    reference = pa.Table.from_pandas(frame, preserve_index=False)
    reference = reference.rename_columns(
        ["time" if n == "Sat.When" else n for n in reference.column_names]
    )
    rest = [n for n in reference.column_names if n != "time"]
    assert table.column_names == ["run_id", "time", *rest]
    assert table.column("Sat.X").null_count == 1 and table.column("Sat.Name").null_count == 1
    assert table.column("time").null_count == 1
    for name in reference.column_names:  # the same values as Arrow's own conversion
        assert (
            table.column(name).to_pylist()
            == reference.column(name).cast(table.schema.field(name).type).to_pylist()
        ), name

"""Designs: run numbering, streaming blocks, validation, header round trips."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmat_sweep_dask.design import Grid, Samples, design_from_header
from gmat_sweep_dask.errors import SpecError, SweepDirError


def test_grid_numbers_runs_like_itertools_product_last_axis_fastest() -> None:
    axes = {"Sat.SMA": [7000, 7100, 7200], "Sat.ECC": [0.001, 0.01], "Sat.Epoch": ["a", "b"]}
    grid = Grid(axes)
    expected = list(itertools.product(*axes.values()))
    block = grid.block(0, grid.n_runs)
    assert grid.n_runs == 12
    assert list(block.index) == list(range(12))
    assert [tuple(row) for row in block.itertuples(index=False)] == expected
    assert grid.overrides([5, 0]) == [
        dict(zip(axes, expected[5], strict=True)),
        dict(zip(axes, expected[0], strict=True)),
    ]


def test_grid_block_of_a_huge_grid_is_cheap_and_exact() -> None:
    grid = Grid({f"Sat.F{i}": list(range(100)) for i in range(6)})  # 10^12 runs
    assert grid.n_runs == 10**12
    block = grid.block(10**12 - 3, 10**12)
    assert block.shape == (3, 6)
    assert block.iloc[-1].tolist() == [99] * 6
    assert block.iloc[0].tolist() == [99, 99, 99, 99, 99, 97]


def test_grid_keeps_value_types() -> None:
    block = Grid({"Sat.SMA": [7000, 7100.5], "V.Value": [1, 2], "Sat.Flag": [True]}).block(0, 4)
    assert block["Sat.SMA"].dtype == np.float64
    assert block["V.Value"].dtype == np.int64
    assert block["Sat.Flag"].dtype == bool


@pytest.mark.parametrize(
    ("axes", "needle"),
    [
        ({}, "at least one field"),
        ({"SMA": [1]}, "'SMA'"),
        ({"Sat.SMA": []}, "no values"),
        ({"Sat.SMA": [float("nan")]}, "not finite"),
        ({"Sat.SMA": "7000"}, "must be a list"),
        ({"Sat..SMA": [1]}, "empty"),
        ({"Sat.SMA": [None]}, "None"),
    ],
)
def test_grid_rejects_bad_axes_naming_the_value(axes: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle.replace(".", r"\.")):
        Grid(axes)


def test_grid_header_round_trip(tmp_path) -> None:
    grid = Grid({"Sat.SMA": [7000.0, 7100.0], "Sat.Epoch": ["01 Jan 2026 00:00:00.000"]})
    again = design_from_header(grid.header(), tmp_path)
    assert again.header() == grid.header()
    pd.testing.assert_frame_equal(again.block(0, 2), grid.block(0, 2))


def test_samples_rows_are_runs_and_round_trip_through_the_sweep_dir(tmp_path) -> None:
    table = pd.DataFrame({"Sat.SMA": [7000.0, 7050.0, 7100.0], "Sat.ECC": [0.0, 0.1, 0.2]})
    samples = Samples(table.set_index(pd.Index([10, 11, 12])))
    assert samples.n_runs == 3
    assert samples.overrides([2]) == [{"Sat.SMA": 7100.0, "Sat.ECC": 0.2}]
    samples.save(tmp_path)
    again = design_from_header(samples.header(), tmp_path)
    pd.testing.assert_frame_equal(again.block(0, 3), samples.block(0, 3))


def test_samples_table_tampering_is_detected(tmp_path) -> None:
    samples = Samples(pd.DataFrame({"Sat.SMA": [7000.0, 7100.0]}))
    samples.save(tmp_path)
    header = samples.header()
    Samples(pd.DataFrame({"Sat.SMA": [1.0, 2.0]})).save(tmp_path / "other")
    (tmp_path / header["path"]).write_bytes((tmp_path / "other" / header["path"]).read_bytes())
    with pytest.raises(Exception, match="does not match"):
        design_from_header(header, tmp_path)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        (pd.DataFrame(), "at least one row"),
        (pd.DataFrame({"SMA": [1.0]}), "'SMA'"),
        (pd.DataFrame({"Sat.SMA": [1.0, None]}), "row 1"),
    ],
)
def test_samples_rejects_bad_tables(table: pd.DataFrame, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        Samples(table)


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ("grid", "unknown design kind"),
        ({"kind": "grid", "axes": 5}, "grid design cannot be rebuilt"),
        ({"kind": "grid", "axes": [["Sat.SMA"]]}, "grid design cannot be rebuilt"),
        ({"kind": "grid", "axes": [["Sat.SMA", 7000]]}, "must be a list"),
        ({"kind": "monte_carlo", "perturb": [["Sat.SMA", {}]], "n": 2}, "cannot be rebuilt"),
        (
            {"kind": "grid", "axes": [["Sat.SMA", [7000.0, 7100.0]]]},
            "defines 2 runs, its run_count is 3",
        ),
    ],
)
def test_a_malformed_recorded_design_is_a_sweep_dir_error(tmp_path, header, needle) -> None:
    with pytest.raises(SweepDirError, match=needle):
        design_from_header(header, tmp_path, run_count=3)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        # every row one cell longer than the header: pandas made the first column the
        # index, and the runs went ahead ok with each value under the next field's name
        ("Sat.SMA,Sat.ECC\n7000,0.01,5\n7100,0.02,6\n", "rows have more cells than its header"),
        ("Sat.SMA,Sat.SMA\n7000,7100\n", "column 'Sat.SMA' appears twice"),  # was Sat.SMA.1
    ],
)
def test_a_csv_table_whose_columns_do_not_line_up_is_refused(
    text: str, needle: str, tmp_path
) -> None:
    from gmat_sweep_dask.design.samples import read_table

    path = tmp_path / "samples.csv"
    path.write_text(text)
    with pytest.raises(SpecError, match=needle):
        read_table(path)
    path.write_text("\ufeffSat.SMA,Sat.ECC\r\n7000,0.01\r\n7100,0.02\r\n")  # BOM, CRLF: fine
    assert read_table(path).to_dict("list") == {"Sat.SMA": [7000, 7100], "Sat.ECC": [0.01, 0.02]}


@pytest.mark.parametrize("dtype", [object, pd.StringDtype(), "str"])
def test_samples_take_text_columns_whatever_pandas_calls_them(dtype, client, tmp_path) -> None:
    """pandas 3 reads text (a CSV's epochs, a frame of strings) as its ``str`` dtype, not
    ``object``: every sample table holding text was refused with "column 'Sat.Epoch' has
    dtype str; expected numbers, text or booleans"."""
    from conftest import EXAMPLE

    from gmat_sweep_dask import sweep

    epochs = ["01 Jan 2026 00:00:00.000", "02 Jan 2026 00:00:00.000"]
    table = pd.DataFrame({"Sat.Epoch": pd.Series(epochs, dtype=dtype), "Sat.SMA": [7e3, 7.1e3]})
    frame = sweep(EXAMPLE, samples=table, out=tmp_path / "s", client=client, progress=False)
    first = frame.compute().groupby(level=0).first()
    assert first["Sat.Epoch"].tolist() == epochs
    assert [t.day for t in first["time"]] == [1, 2]  # each run started at its own epoch
    csv = tmp_path / "epochs.csv"
    table.to_csv(csv, index=False)
    from gmat_sweep_dask.design.samples import read_table

    assert Samples(read_table(csv)).overrides([1]) == [{"Sat.Epoch": epochs[1], "Sat.SMA": 7100}]


def test_a_parquet_table_saved_with_a_field_as_its_index_keeps_that_field(tmp_path) -> None:
    """``table.set_index("Sat.SMA").to_parquet(...)`` once swept only the other columns:
    the index was dropped, and every run ran with the script's own SMA, recorded ok."""
    from gmat_sweep_dask.design.samples import read_table

    path = tmp_path / "samples.parquet"
    table = pd.DataFrame({"Sat.SMA": [7000.0, 7100.0], "Sat.ECC": [0.01, 0.02]})
    table.set_index("Sat.SMA").to_parquet(path)
    assert Samples(read_table(path)).overrides([1]) == [{"Sat.SMA": 7100.0, "Sat.ECC": 0.02}]
    table.set_index(pd.Index([5, 6], name="run_id")).to_parquet(path)
    with pytest.raises(SpecError, match="'run_id'"):  # a name that is no field: refused
        Samples(read_table(path))
    table.set_index(pd.Index([5, 6])).to_parquet(path)  # an unnamed index: not a field
    assert Samples(read_table(path)).overrides([0]) == [{"Sat.SMA": 7000.0, "Sat.ECC": 0.01}]


def test_text_that_is_not_utf8_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A grid value holding a byte like 0xff (a lone surrogate once Python decodes the
    command line) created the sweep directory, then ended in a UnicodeEncodeError
    traceback when the first batch was built. One line now, exit 2, nothing written."""
    import os
    import subprocess
    import sys

    from conftest import EXAMPLE

    with pytest.raises(SpecError, match=r"text 'Lu\\xffna' is not valid UTF-8"):
        Grid({"FM.PointMasses": [["Earth", os.fsdecode(b"Lu\xffna")]]})
    out = tmp_path / "s"
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(EXAMPLE), "--out", str(out)]
    result = subprocess.run(
        [*command, "--grid", os.fsdecode(b"Orbit.Filename=or\xffbit.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "gmat-sweep-dask: error: grid Orbit.Filename: text 'or\\xffbit.txt' is not valid "
        "UTF-8; GMAT takes UTF-8 text only"
    ]
    assert not out.exists()

"""Lazy frames: schema unification, visible failed/zero-row runs, partitioning, pushdown.

``build_sweep`` writes a sweep directory through the package's own writers (normalise,
write_batch, the manifest writer, compaction) so edge cases the stand-in engine cannot
produce are tested on the real file layout; the other analysis tests import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import EXAMPLE, SCRIPTS

from gmat_sweep_dask import Grid, Manifest, UsageError, epoch_info, open_sweep, sweep
from gmat_sweep_dask.analysis import frames as fr
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.compact import compact
from gmat_sweep_dask.store.datafiles import batch_tag, normalise, write_batch
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

EPOCH = datetime(2026, 1, 1)
#: What a synthetic run produces: {(kind, name): frame}, or the error text of a failed run.
RunOutputs = dict[tuple[str, str], pd.DataFrame] | str


def report(rows: int, step: float = 60.0, **columns: Any) -> pd.DataFrame:
    """A gmat-run-like report frame: a UTC epoch column then ``columns`` (arrays/scalars)."""
    epochs = [EPOCH + timedelta(seconds=step * i) for i in range(rows)]
    frame = pd.DataFrame({"Sat.UTCGregorian": pd.to_datetime(epochs), **columns})
    frame.attrs["epoch_scales"] = {"Sat.UTCGregorian": "UTC"}
    return frame


def build_sweep(
    out: Path,
    grid: dict[str, list[Any]],
    make: Callable[[int, dict[str, Any]], RunOutputs],
    *,
    batch: int = 4,
    row_group_rows: int | None = None,
    record: int | None = None,
) -> Path:
    """Write a sweep of ``grid`` whose run ``i`` outputs ``make(i, overrides)``.

    Runs are written ``batch`` at a time as workers do; ``row_group_rows`` then compacts
    into row groups of that many rows; ``record`` records only the first runs.
    """
    design = Grid(grid)
    out.mkdir(parents=True)
    header = {
        "format": mf.MAGIC,
        "schema_version": mf.SCHEMA_VERSION,
        "script": str(EXAMPLE),
        "script_sha256": "0" * 64,
        "design": design.header(),
        "run_count": design.n_runs,
        "seed": None,
        "keep_raw": False,
    }
    writer = ManifestWriter.create(out / "manifest.jsonl", header, fsync=False)
    count = design.n_runs if record is None else record
    for first in range(0, count, batch):
        ids = list(range(first, min(count, first + batch)))
        overrides = design.overrides(ids)
        results = {i: make(i, o) for i, o in zip(ids, overrides, strict=True)}
        tag = batch_tag(first)
        tables: dict[tuple[str, str], list] = {}
        for run_id, result in results.items():
            for key, frame in (result if isinstance(result, dict) else {}).items():
                tables.setdefault(key, []).append(normalise(key[0], frame, run_id))
        paths = {key: write_batch(out, *key, runs, tag) for key, runs in tables.items()}
        entries = []
        for (run_id, result), params in zip(results.items(), overrides, strict=True):
            ok = isinstance(result, dict)
            outputs = {
                f"{k}/{n}": {"path": paths[(k, n)], "rows": len(f)}
                for (k, n), f in (result.items() if ok else [])
            }
            entries.append(
                {
                    "run_id": run_id,
                    "overrides": params,
                    "status": mf.OK if ok else mf.FAILED,
                    "outputs": outputs,
                    "error": None if ok else result,
                    "attempts": 1,
                    "worker": "tcp://127.0.0.1:1",
                    "duration_s": 0.5 + run_id,
                    "started": "2026-01-01T00:00:00+00:00",
                    "ended": "2026-01-01T00:00:01+00:00",
                }
            )
        writer.append(entries)
    if row_group_rows:
        compact(Manifest.load(out / "manifest.jsonl"), writer, row_group_rows=row_group_rows)
    writer.close()
    return out


class Reads:
    """Records every ``ParquetFile.read_row_groups`` call: (file name, row groups, columns)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, tuple[int, ...], tuple[str, ...]]] = []
        calls = self.calls
        original = pq.ParquetFile

        class Recording(original):  # type: ignore[misc, valid-type]
            def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
                super().__init__(source, *args, **kwargs)
                self._name = Path(str(source)).name

            def read_row_groups(self, row_groups: Any, columns: Any = None, **kw: Any) -> Any:
                calls.append((self._name, tuple(row_groups), tuple(columns or ())))
                return super().read_row_groups(row_groups, columns=columns, **kw)

        monkeypatch.setattr(pq, "ParquetFile", Recording)

    @property
    def groups(self) -> int:
        return sum(len(groups) for _, groups, _ in self.calls)


def mixed_run(run_id: int, params: dict[str, Any]) -> RunOutputs:
    """Int in some runs and float in others, a late column, a string, failures, zero rows."""
    if run_id == 3:
        return "GmatRunError: injected"
    rows = 0 if run_id == 5 else 3
    count = np.arange(rows) if run_id % 2 == 0 else np.arange(rows) + 0.5
    columns: dict[str, Any] = {"Count": count, "Mode": ["coast"] * rows}
    if run_id >= 4:
        columns["Extra"] = np.full(rows, 7.0)
    columns["Flag"] = np.ones(rows) if run_id < 4 else ["on"] * rows
    return {("report", "R"): report(rows, **columns)}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixed") / "s"
    return build_sweep(
        out,
        {"Sat.SMA": [7000.0, 7100.0], "Sat.ECC": [0.0, 0.1, 0.2, 0.3]},
        mixed_run,
        batch=2,
        record=7,
    )


def test_schemas_unify_across_batch_files_and_every_run_is_visible(mixed: Path) -> None:
    frame = open_sweep(mixed)
    assert frame.known_divisions and frame.divisions[0] == 0
    data = frame.compute()
    assert data["Count"].dtype == "float64"
    assert data["Extra"].dtype == "float64" and data.loc[[0], "Extra"].isna().all()
    assert pd.api.types.is_string_dtype(data["Flag"]) and pd.api.types.is_string_dtype(data["Mode"])
    np.testing.assert_array_equal(data.loc[[1], "Count"], [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(data.loc[[2], "Count"], [0.0, 1.0, 2.0])
    assert data.loc[[3], "status"].tolist() == ["failed"] and data.loc[[3], "time"].isna().all()
    assert data.loc[[5], "status"].tolist() == ["ok"] and data.loc[[5], "time"].isna().all()
    assert sorted(data.index.unique()) == [0, 1, 2, 3, 4, 5, 6]
    assert data.loc[[6], "Sat.SMA"].eq(7100.0).all() and data.loc[[6], "Sat.ECC"].eq(0.2).all()
    everything = fr.open_frame(
        Manifest.load(mixed / "manifest.jsonl"),
        Grid({"Sat.SMA": [7000.0, 7100.0], "Sat.ECC": [0.0, 0.1, 0.2, 0.3]}),
        include_missing=True,
    ).compute()
    assert everything.loc[[7], "status"].tolist() == ["missing"]
    assert epoch_info(frame) == {
        "time_source": "Sat.UTCGregorian",
        "time_scale": "UTC",
        "epoch_scales": {},
    }


@pytest.fixture(scope="module")
def outputs_sweep(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leo_outputs on the stand-in: Orbits is 3 (an int) or 2.5; Duration 0 gives no contact."""
    out = tmp_path_factory.mktemp("outputs") / "s"
    grid = {"Sat.SMA": [7000, 7100], "Orbits.Value": [3, 2.5], "Duration.Value": [0, 900]}
    script = SCRIPTS / "leo_outputs.script"
    sweep(script, grid=grid, out=out, client=client, report="Orbit", progress=False)
    return out


def test_several_reports_ephemeris_and_contacts_of_a_real_sweep(outputs_sweep: Path) -> None:
    orbit = open_sweep(outputs_sweep, "Orbit")
    assert orbit.known_divisions and orbit.npartitions == 1
    data = orbit.compute()
    assert (data["status"] == "ok").all() and data.index.nunique() == 8
    assert data["time"].dtype == "datetime64[ns]"
    assert data.groupby(level=0).size().tolist() == [1, 16] * 4
    keys = data.reset_index()[["run_id", "time"]]
    assert keys.equals(keys.sort_values(["run_id", "time"], ignore_index=True))
    counts = open_sweep(outputs_sweep, "Counts").compute()
    assert counts["Orbits"].dtype == "float64"
    assert (counts["Orbits"] == counts["Orbits.Value"]).all()
    assert set(counts["Orbits"]) == {3.0, 2.5}
    assert epoch_info(outputs_sweep, "Counts")["time_source"] == "Sat.A1ModJulian"
    assert epoch_info(outputs_sweep, "Counts")["time_scale"] == "A1"
    assert epoch_info(orbit)["time_scale"] == "UTC"
    contacts = open_sweep(outputs_sweep, kind="contact")
    assert epoch_info(contacts)["epoch_scales"] == {"Start": "UTC", "Stop": "UTC"}
    contact = contacts.compute()
    none = contact[contact["Duration.Value"] == 0]
    assert len(none) == 4 and (none["status"] == "ok").all() and none["interval_id"].isna().all()
    some = contact[contact["Duration.Value"] == 900]
    assert some["interval_id"].notna().all() and some["Observer"].eq("Station").all()
    ephemeris = open_sweep(outputs_sweep, kind="ephemeris").compute()
    assert {"time", "X", "VZ", "Sat.SMA"} <= set(ephemeris.columns)
    assert epoch_info(outputs_sweep, kind="ephemeris")["time_scale"] == "UTC"
    with pytest.raises(UsageError, match="several reports"):
        open_sweep(outputs_sweep)
    solver = open_sweep(outputs_sweep, kind="solver").compute()  # none were written
    assert solver.index.nunique() == 8 and (solver["status"] == "ok").all()
    assert solver["solver"].isna().all() and solver["iteration"].isna().all()


def test_partitions_hold_many_runs_and_start_at_row_groups_at_100k_runs(tmp_path: Path) -> None:
    runs, rows, group = 100_000, 120, 131_072
    path = "data/report/R/compact-0.parquet"
    entries = {
        i: {"run_id": i, "status": "ok", "outputs": {"report/R": {"path": path, "rows": rows}}}
        for i in range(runs)
    }
    manifest = Manifest(tmp_path / "manifest.jsonl", {"run_count": runs}, entries)
    starts = np.arange(0, runs * rows, group)
    lo, hi = starts // rows, np.minimum(starts + group - 1, runs * rows - 1) // rows
    info = fr.FileInfo(None, {}, lo, hi)
    specs = fr._partition(manifest, ["report/R"], {path: info}, False, (100_000, 10**6, 2_000))
    assert 80 <= len(specs) <= 100
    assert [s.start for s in specs[1:]] == [int(v) for v in lo[1 : len(specs)]]
    assert all(len(s.files) == 1 and 1 <= len(s.files[0][2]) <= 2 for s in specs)
    assert sum(len(s.files[0][1]) for s in specs) == runs


@pytest.fixture(scope="module")
def compacted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 runs of 10 rows, compacted into row groups of 50 rows (5 runs each)."""
    out = tmp_path_factory.mktemp("compacted") / "s"

    def make(run_id: int, params: dict[str, Any]) -> RunOutputs:
        x = params["Sat.SMA"] + np.arange(10.0)
        return {("report", "R"): report(10, **{"Sat.X": x, "Sat.Y": -x, "Sat.Z": x * 0})}

    return build_sweep(out, {"Sat.SMA": list(np.arange(40.0) * 10)}, make, row_group_rows=50)


def test_projection_reads_only_the_used_columns(compacted: Path, monkeypatch) -> None:
    frame = open_sweep(compacted)
    reads = Reads(monkeypatch)
    assert frame["Sat.Y"].min().compute(scheduler="sync") == -399.0
    assert reads.calls and {c for _, _, cols in reads.calls for c in cols} == {
        "run_id",
        "time",
        "Sat.Y",
    }
    assert reads.groups == 8


def test_loc_reads_only_the_partitions_of_the_selected_runs(compacted: Path, monkeypatch) -> None:
    manifest = Manifest.load(compacted / "manifest.jsonl")
    grid = Grid({"Sat.SMA": list(np.arange(40.0) * 10)})
    frame = fr.open_frame(manifest, grid, partition_rows=50)  # one row group per partition
    assert frame.npartitions == 8 and frame.divisions == (0, 5, 10, 15, 20, 25, 30, 35, 39)
    everything = frame.compute()
    reads = Reads(monkeypatch)
    one = frame.loc[12].compute(scheduler="sync")
    pd.testing.assert_frame_equal(one, everything.loc[[12]])
    assert len(reads.calls) == 1 and reads.calls[0][1] == (2,)
    optimized = frame.loc[12].optimize()
    assert optimized.npartitions == 1
    reads.calls.clear()
    picked = frame.loc[[3, 31]].compute(scheduler="sync")
    pd.testing.assert_frame_equal(picked, everything.loc[[3, 31]])
    assert sorted(g for _, groups, _ in reads.calls for g in groups) == [0, 6]
    reads.calls.clear()
    window = frame.loc[9:11][["Sat.X"]].compute(scheduler="sync")  # dask projects this form
    pd.testing.assert_frame_equal(window, everything.loc[9:11, ["Sat.X"]])
    assert sorted(g for _, groups, _ in reads.calls for g in groups) == [1, 2]
    assert {c for _, _, cols in reads.calls for c in cols} == {"run_id", "time", "Sat.X"}


def solver_run(run_id: int, params: dict[str, Any]) -> RunOutputs:
    if run_id == 1:
        return "GmatRunError: did not converge"
    history = {}
    for name, iterations in (("DC1", 3), ("DC2", 2)):
        frame = pd.DataFrame(
            {
                "iteration": np.arange(iterations, dtype=np.int64)[::-1],
                "Burn.V": np.linspace(0.1, 0.2, iterations) * (run_id + 1),
                "status": ["iterating"] * (iterations - 1) + ["converged"],
            }
        )
        history[("solver", name)] = frame
    return history


def test_solver_histories_of_every_solver_in_one_frame(tmp_path: Path) -> None:
    out = build_sweep(tmp_path / "s", {"Sat.SMA": [7000.0, 7100.0, 7200.0]}, solver_run)
    frame = open_sweep(out, kind="solver")
    assert frame.known_divisions
    data = frame.compute()
    assert list(data.columns[:4]) == ["solver", "iteration", "Burn.V", "solver_status"]
    run0 = data.loc[[0]]
    assert run0["solver"].tolist() == ["DC1"] * 3 + ["DC2"] * 2
    assert run0["iteration"].tolist() == [0, 1, 2, 0, 1]
    assert data.loc[[1], "status"].tolist() == ["failed"]
    assert (data.loc[[0, 2], "status"] == "ok").all()
    one = open_sweep(out, "DC2", kind="solver").compute()
    assert set(one["solver"].dropna()) == {"DC2"} and len(one) == 5


def test_a_sweep_without_data_still_has_the_key_column(tmp_path: Path) -> None:
    def fail(run_id: int, params: dict[str, Any]) -> RunOutputs:
        return "GmatRunError: always"

    failed = open_sweep(build_sweep(tmp_path / "f", {"Sat.SMA": [1.0, 2.0]}, fail)).compute()
    assert list(failed.columns) == ["time", "status", "Sat.SMA"]
    assert failed["status"].tolist() == ["failed", "failed"] and failed["time"].isna().all()
    empty = open_sweep(build_sweep(tmp_path / "e", {"Sat.SMA": [1.0]}, fail, record=0))
    assert len(empty.compute()) == 0 and list(empty.columns) == ["time", "status", "Sat.SMA"]


def test_a_frame_opened_before_a_compaction_reads_the_merged_file(tmp_path: Path) -> None:
    def make(run_id: int, params: dict[str, Any]) -> RunOutputs:
        if run_id == 7:
            return "GmatRunError: failed"
        x = params["Sat.SMA"] + np.arange(10.0)
        return {("report", "R"): report(10, **{"Sat.X": x, "Sat.Y": -x, "Sat.Z": x * 0})}

    out = build_sweep(tmp_path / "s", {"Sat.SMA": list(np.arange(40.0) * 10)}, make)
    expected = open_sweep(out).compute()
    frame = open_sweep(out)  # e.g. in a notebook while the sweep still runs
    picked, column = frame.loc[[3, 31]], frame[["Sat.Y"]]
    manifest = Manifest.load(out / "manifest.jsonl")
    writer = ManifestWriter.reopen(manifest, fsync=False)
    compact(manifest, writer, row_group_rows=50)  # the sweep ends: its files are merged
    writer.close()
    assert len(list((out / "data").rglob("*.parquet"))) == 1
    pd.testing.assert_frame_equal(frame.compute(), expected)  # was "cannot read ... missing"
    pd.testing.assert_frame_equal(picked.compute(), expected.loc[[3, 31]])
    pd.testing.assert_frame_equal(column.compute(), expected[["Sat.Y"]])


def test_opening_while_a_compaction_merges_its_files_reads_the_merged_file(
    tmp_path: Path, monkeypatch
) -> None:
    def make(run_id: int, params: dict[str, Any]) -> RunOutputs:
        return {("report", "R"): report(10, **{"Sat.X": params["Sat.SMA"] + np.arange(10.0)})}

    out = build_sweep(tmp_path / "s", {"Sat.SMA": list(np.arange(12.0))}, make)
    expected = open_sweep(out).compute()
    survey = fr._survey

    def compacted_meanwhile(sweep_dir: Path, paths: list[str]) -> Any:
        # the manifest was read; the sweep ends and compacts before the footers are
        monkeypatch.setattr(fr, "_survey", survey)
        manifest = Manifest.load(out / "manifest.jsonl")
        writer = ManifestWriter.reopen(manifest, fsync=False)
        compact(manifest, writer, row_group_rows=50)
        writer.close()
        return survey(sweep_dir, paths)

    monkeypatch.setattr(fr, "_survey", compacted_meanwhile)
    frame = open_sweep(out)  # was SweepDirError: cannot read this data file (missing)
    assert len(list((out / "data").rglob("*.parquet"))) == 1
    pd.testing.assert_frame_equal(frame.compute(), expected)

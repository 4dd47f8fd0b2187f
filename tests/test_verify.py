"""Verify what is on disk (issue 12, item 8): page checksums, ``verify``, damaged data
re-run by ``resume``, and compaction failures that leave the directory as it was."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import dask.config
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gmat_sweep_dask import Manifest, Sweep, open_sweep
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.errors import SweepDirError

GRID = Grid({"Sat.SMA": [7000.0 + 25 * i for i in range(8)]})


@pytest.fixture(scope="module")
def clean(client, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A finished, compacted 8-run sweep and its frame."""
    out = tmp_path_factory.mktemp("verify") / "clean"
    script = Path(__file__).resolve().parents[1] / "examples" / "leo.script"
    with dask.config.set({"gmat-sweep-dask.max-batch-runs": 2}):
        Sweep(script, GRID, out).run(client, progress=False)
    assert len(data_files(out)) == 1
    return out, open_sweep(out).compute()


@pytest.fixture(scope="module")
def uncompacted(client, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The same sweep left as the workers wrote it: several batch files."""
    out = tmp_path_factory.mktemp("verify") / "batches"
    script = Path(__file__).resolve().parents[1] / "examples" / "leo.script"
    with dask.config.set({"gmat-sweep-dask.max-batch-runs": 2, "gmat-sweep-dask.compact": False}):
        Sweep(script, GRID, out).run(client, progress=False)
    assert len(data_files(out)) > 2
    return out, open_sweep(out).compute()


def data_files(out: Path) -> list[Path]:
    return sorted((out / "data").rglob("*.parquet"))


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def flip_a_data_page_byte(path: Path, column: str = "Sat.X") -> None:
    """Flip one byte inside the last data page of ``column`` in the first row group."""
    metadata = pq.read_metadata(path)
    index = metadata.schema.to_arrow_schema().get_field_index(column)
    chunk = metadata.row_group(0).column(index)
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + chunk.total_compressed_size - 3] ^= 0x5A
    path.write_bytes(bytes(data))


def resume(client, out: Path):
    return CliRunner().invoke(
        main, ["resume", str(out), "--scheduler", client.scheduler.address, "-q"]
    )


def listing(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` with its bytes (the lock aside)."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_a_clean_sweep_verifies(clean) -> None:
    from gmat_sweep_dask import verify

    out, _ = clean
    report = verify(out)
    assert report.ok and report.run_ids == [] and report.files == 1
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "no damage" in result.output


def test_a_flipped_bit_is_found_and_resume_runs_those_runs_again(
    client, clean, tmp_path: Path
) -> None:
    source, expected = clean
    out = copy(source, tmp_path / "flipped")
    (damaged,) = data_files(out)
    flip_a_data_page_byte(damaged)
    checked = copy(out, tmp_path / "checked")
    resumed = resume(client, out)
    assert resumed.exit_code == 0, resumed.output
    assert "runs 0-7" in resumed.stderr and damaged.name in resumed.stderr
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)

    from gmat_sweep_dask import verify

    assert verify(out).ok
    report = verify(checked)
    assert not report.ok and report.run_ids == list(range(8))
    (found,) = report.damaged
    assert found.path == str(damaged.relative_to(out)) and "checksum" in found.problem
    result = CliRunner().invoke(main, ["verify", str(checked)])
    assert result.exit_code == 1
    assert damaged.name in result.output and "runs 0-7" in result.output


def test_a_deleted_data_file_is_run_again(client, uncompacted, tmp_path: Path) -> None:
    source, expected = uncompacted
    out = copy(source, tmp_path / "deleted")
    gone = data_files(out)[1]
    runs = sorted(
        r
        for r, e in Manifest.load(out / "manifest.jsonl").entries.items()
        if e["outputs"]["report/Orbit"]["path"] == str(gone.relative_to(out))
    )
    gone.unlink()
    checked = copy(out, tmp_path / "checked")
    resumed = resume(client, out)
    assert resumed.exit_code == 0, resumed.output
    assert "missing" in resumed.stderr and gone.name in resumed.stderr
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)

    from gmat_sweep_dask import verify

    assert verify(out).ok
    report = verify(checked)
    assert report.run_ids == runs and "missing" in report.damaged[0].problem


def test_a_truncated_footer_is_damage(uncompacted, tmp_path: Path) -> None:
    from gmat_sweep_dask import verify

    source, _ = uncompacted
    out = copy(source, tmp_path / "truncated")
    target = data_files(out)[0]
    target.write_bytes(target.read_bytes()[:-20])
    (found,) = verify(out).damaged
    assert found.path == str(target.relative_to(out)) and found.run_ids


def test_a_full_disk_during_compaction_is_one_line_and_changes_nothing(
    uncompacted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, expected = uncompacted
    out = copy(source, tmp_path / "full")
    before = listing(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    result = CliRunner().invoke(main, ["compact", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "No space left on device" in result.stderr
    assert listing(out) == before
    monkeypatch.undo()
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)


def test_a_corrupt_batch_file_stops_compaction_with_one_line_and_changes_nothing(
    uncompacted, tmp_path: Path
) -> None:
    source, _ = uncompacted
    out = copy(source, tmp_path / "corrupt")
    bad = data_files(out)[-1]
    flip_a_data_page_byte(bad)
    before = listing(out)
    result = CliRunner().invoke(main, ["compact", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and bad.name in result.stderr
    assert listing(out) == before


def test_a_data_file_replaced_by_a_directory_is_run_again(client, clean, tmp_path: Path) -> None:
    source, expected = clean
    out = copy(source, tmp_path / "directory")
    (replaced,) = data_files(out)
    replaced.unlink()
    replaced.mkdir()
    report = CliRunner().invoke(main, ["verify", str(out)])
    assert report.exit_code == 1 and replaced.name in report.output
    resumed = resume(client, out)
    assert resumed.exit_code == 0, resumed.output  # was IsADirectoryError after the runs
    assert replaced.is_dir()  # not ours: left alone
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)


def test_a_compaction_running_meanwhile_is_no_damage(
    uncompacted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `verify` of a sweep whose driver compacts it meanwhile: the batch files the manifest
    # named when verify read it are gone when it looks; the runs are in the merged file.
    from gmat_sweep_dask import verify
    from gmat_sweep_dask.store import compact
    from gmat_sweep_dask.store import verify as verifying

    source, _ = uncompacted
    out = copy(source, tmp_path / "compacting")
    batches = data_files(out)
    check_files = verifying.check_files

    def compacted_first(sweep_dir, files, **kwargs):
        if data_files(out) == batches:
            compact.compact_dir(out)
        return check_files(sweep_dir, files, **kwargs)

    monkeypatch.setattr(verifying, "check_files", compacted_first)
    report = verify(out)
    assert len(data_files(out)) == 1 and report.damaged == [], report.damaged
    assert report.ok and report.runs == GRID.n_runs and report.files == 1
    data_files(out)[0].unlink()  # and a file really missing is still damage
    assert verify(out).run_ids == list(range(GRID.n_runs))


def emptied_outputs(out: Path, run_id: int) -> None:
    """Append a copy of run ``run_id``'s entry, still ok, with ``outputs: {}`` (a crafted
    or damaged record: the run's rows are still in its data file)."""
    path = out / "manifest.jsonl"
    for line in path.read_text().splitlines()[1:]:
        entry = json.loads(line)
        if entry.get("run_id") == run_id:
            with path.open("a") as handle:
                handle.write(json.dumps(entry | {"outputs": {}}) + "\n")
            return
    raise AssertionError(f"no entry of run {run_id}")


def test_an_ok_entry_whose_outputs_were_emptied_is_damage_not_a_shorter_frame(
    client, clean, tmp_path: Path
) -> None:
    from gmat_sweep_dask import verify

    source, expected = clean
    out = copy(source, tmp_path / "emptied")
    emptied_outputs(out, 3)
    (data,) = data_files(out)
    report = verify(out)
    assert report.run_ids == [3] and report.damaged[0].path == str(data.relative_to(out))
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"damaged: {data.relative_to(out)}: holds rows of runs recorded ok whose entries name "
        "no report/Orbit output (damaged or edited entries); runs 3",
        f"1 of 1 data files damaged, 1 run affected: runs 3; `gmat-sweep-dask resume {out}` "
        "runs them again",
    ]
    with pytest.raises(SweepDirError, match=r"name no report/Orbit output .*; runs 3; "):
        open_sweep(out).compute()
    resumed = resume(client, out)
    assert resumed.exit_code == 0, resumed.output
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)
    assert verify(out).ok


def test_compaction_refuses_to_drop_the_rows_of_an_emptied_entry(
    uncompacted, tmp_path: Path
) -> None:
    source, _ = uncompacted
    out = copy(source, tmp_path / "emptied")
    emptied_outputs(out, 0)
    before = listing(out)
    result = CliRunner().invoke(main, ["compact", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "runs 0; `gmat-sweep-dask resume" in result.stderr
    assert listing(out) == before


def test_a_sweep_whose_script_writes_no_output_verifies(client, tmp_path: Path) -> None:
    """Empty outputs are not damage by themselves: a script with no ReportFile has none."""
    from gmat_sweep_dask import verify

    text = (Path(__file__).resolve().parents[1] / "examples" / "leo.script").read_text()
    script = tmp_path / "silent.script"
    script.write_text("\n".join(line for line in text.splitlines() if "Orbit" not in line))
    out = tmp_path / "silent"
    Sweep(script, GRID, out).run(client, progress=False)
    entries = Manifest.load(out / "manifest.jsonl").entries
    assert {r: e["status"] for r, e in entries.items()} == dict.fromkeys(range(8), "ok")
    assert verify(out).ok


def test_damaged_first_bytes_of_a_data_file_are_damage(uncompacted, tmp_path: Path) -> None:
    """Readers look at a Parquet file's footer only; its leading magic bytes are checked."""
    from gmat_sweep_dask import verify

    source, _ = uncompacted
    out = copy(source, tmp_path / "head")
    target = data_files(out)[0]
    target.write_bytes(b"XXXX" + target.read_bytes()[4:])
    (found,) = verify(out).damaged
    assert found.path == str(target.relative_to(out)) and found.run_ids
    assert found.problem == "damaged: its first bytes are b'XXXX', not b'PAR1'"


def test_a_damaged_design_table_says_what_it_costs(client, tmp_path: Path) -> None:
    from gmat_sweep_dask import verify
    from gmat_sweep_dask.design import Samples

    script = Path(__file__).resolve().parents[1] / "examples" / "leo.script"
    out = tmp_path / "table"
    Sweep(script, Samples(pd.DataFrame({"Sat.SMA": [7000.0, 7100.0]})), out).run(
        client, progress=False
    )
    table = out / "design" / "samples.parquet"
    table.write_bytes(table.read_bytes()[:-4] + b"XXXX")
    report = verify(out)
    assert not report.ok and report.damaged == [] and report.design is not None
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "damaged: design/samples.parquet: the sweep's sample table cannot be read (Parquet "
        "magic bytes not found in footer. Either the file is corrupted or this is not a "
        "parquet file.)",
        "design/samples.parquet holds every run's parameters: no frame opens and no run can "
        "run again until it is restored from a copy of the sweep directory; the 1 data "
        "files are intact",
    ]

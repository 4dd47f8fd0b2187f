"""Confinement on read (issue 12, item 5): a path read back from disk is resolved, links
included, and must lie inside the sweep directory before anything reads, writes or
deletes it. Links that lead outside are refused by name and never followed."""

from __future__ import annotations

import shutil
from pathlib import Path

import dask.config
import pandas as pd
import pytest
from click.testing import CliRunner

from gmat_sweep_dask import Sweep, SweepDirError, open_sweep
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import Samples

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "leo.script"


@pytest.fixture(scope="module")
def batches(client, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 6-run samples sweep left uncompacted (several batch files)."""
    out = tmp_path_factory.mktemp("confine") / "s"
    table = pd.DataFrame({"Sat.SMA": [7000.0 + 30 * i for i in range(6)]})
    settings = {"gmat-sweep-dask.max-batch-runs": 2, "gmat-sweep-dask.compact": False}
    with dask.config.set(settings):
        Sweep(SCRIPT, Samples(table), out).run(client, progress=False)
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_data_file_linked_outside_is_refused_by_name(batches, tmp_path: Path) -> None:
    out = shutil.copytree(batches, tmp_path / "s")
    victim = sorted((out / "data").rglob("*.parquet"))[0]
    outside = tmp_path / "outside.parquet"
    shutil.move(victim, outside)
    victim.symlink_to(outside)
    with pytest.raises(SweepDirError, match=victim.name) as caught:
        open_sweep(out)
    assert "outside the sweep directory" in str(caught.value)
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 1 and victim.name in result.output


def test_a_link_into_a_sibling_whose_name_extends_the_sweep_s_is_refused(
    batches, tmp_path: Path
) -> None:
    """``<dir>/s2`` starts with ``<dir>/s`` as text but lies outside sweep ``<dir>/s``."""
    out = shutil.copytree(batches, tmp_path / "s")
    victim = sorted((out / "data").rglob("*.parquet"))[0]
    sibling = tmp_path / "s2" / victim.name
    sibling.parent.mkdir()
    shutil.move(victim, sibling)
    victim.symlink_to(sibling)
    with pytest.raises(SweepDirError, match=victim.name) as caught:
        open_sweep(out)
    assert "outside the sweep directory" in str(caught.value)


def test_a_link_made_after_opening_is_refused_when_read(batches, tmp_path: Path) -> None:
    out = shutil.copytree(batches, tmp_path / "s")
    frame = open_sweep(out)
    victim = sorted((out / "data").rglob("*.parquet"))[0]
    outside = tmp_path / "outside.parquet"
    shutil.move(victim, outside)
    victim.symlink_to(outside)
    with pytest.raises(SweepDirError, match=victim.name):
        frame.compute(scheduler="sync")


def test_compaction_never_writes_or_deletes_through_a_link(batches, tmp_path: Path) -> None:
    out = shutil.copytree(batches, tmp_path / "s")
    orbit = out / "data" / "report" / "Orbit"
    outside = tmp_path / "elsewhere"
    shutil.move(orbit, outside)
    orbit.symlink_to(outside, target_is_directory=True)
    stray = tmp_path / "stray"  # an unreferenced file behind another link: no orphan
    stray.mkdir()
    (stray / "part-000000000-0000000000.parquet").write_bytes(b"not ours")
    (out / "data" / "report" / "Stray").symlink_to(stray, target_is_directory=True)
    before = tree(tmp_path)
    result = CliRunner().invoke(main, ["compact", str(out)])
    assert result.exit_code == 2
    assert "outside the sweep directory" in result.stderr and "Orbit" in result.stderr
    assert tree(tmp_path) == before


def test_remove_orphans_leaves_files_behind_links_alone(batches, tmp_path: Path) -> None:
    from gmat_sweep_dask.store.compact import remove_orphans
    from gmat_sweep_dask.store.manifest import Manifest

    out = shutil.copytree(batches, tmp_path / "s")
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "part-000000000-0000000000.parquet").write_bytes(b"not ours")
    (out / "data" / "report" / "Stray").symlink_to(stray, target_is_directory=True)
    remove_orphans(Manifest.load(out / "manifest.jsonl"))
    assert (stray / "part-000000000-0000000000.parquet").read_bytes() == b"not ours"


def test_a_sample_table_linked_outside_is_refused(batches, tmp_path: Path) -> None:
    out = shutil.copytree(batches, tmp_path / "s")
    outside = tmp_path / "design-elsewhere"
    shutil.move(out / "design", outside)
    (out / "design").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SweepDirError, match=r"samples\.parquet"):
        open_sweep(out)


def test_a_sample_table_path_climbing_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_bytes(b"")
    (tmp_path / "s").mkdir()
    header = {"kind": "samples", "path": "../x.parquet", "content_sha256": "0" * 64}
    with pytest.raises(SweepDirError, match="outside the sweep directory"):
        Samples.from_header(header, tmp_path / "s")


def test_workers_never_write_data_through_a_link(tmp_path: Path) -> None:
    from gmat_sweep_dask.store import datafiles

    sweep = tmp_path / "s"
    (sweep / "data").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (sweep / "data" / "report").symlink_to(outside, target_is_directory=True)
    frame = pd.DataFrame({"Sat.ElapsedSecs": [0.0, 60.0], "Sat.X": [1.0, 2.0]})
    runs = [datafiles.normalise("report", frame, 0)]
    with pytest.raises(SweepDirError, match="outside the sweep directory"):
        datafiles.write_batch(sweep, "report", "Orbit", runs, "000000000-0123456789")
    (sweep / "data" / "_outcomes").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SweepDirError, match="outside the sweep directory"):
        datafiles.write_outcomes(sweep, "000000000-0123456789", [])
    assert list(outside.rglob("*")) == []


def test_a_manifest_linked_outside_is_read_but_never_appended_to(
    client, batches, tmp_path: Path
) -> None:
    original = shutil.copytree(batches, tmp_path / "original")
    copy = tmp_path / "copy"  # as `cp -rs original copy` makes it: the manifest a link
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("manifest.jsonl"))
    (copy / "manifest.jsonl").symlink_to(original / "manifest.jsonl")
    (copy / "data" / "_outcomes").mkdir(parents=True, exist_ok=True)  # something to record
    before = tree(original)
    assert CliRunner().invoke(main, ["show", str(copy)]).exit_code == 0  # reading is fine
    for command in (["compact"], ["resume", "--scheduler", client.scheduler.address]):
        result = CliRunner().invoke(main, [*command, str(copy)])
        assert result.exit_code == 2, result.output
        assert "manifest 'manifest.jsonl' leads outside the sweep directory" in result.stderr
    assert tree(original) == before  # was: the copy's records appended to this manifest

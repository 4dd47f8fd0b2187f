"""The script a sweep runs is frozen in the sweep directory when the sweep is created."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SCRIPTS
from gmat_standin import Gate

from gmat_sweep_dask import Manifest, ScriptError, Sweep, open_sweep
from gmat_sweep_dask.cli import main
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.store import snapshot


def test_editing_the_script_during_a_sweep_changes_nothing(client, tmp_path: Path) -> None:
    script = tmp_path / "m.script"
    script.write_text((SCRIPTS / "leo.script").read_text())
    out = tmp_path / "s"
    gate = Gate(tmp_path)  # runs wait until the script has been edited
    args = [
        sys.executable,
        "-m",
        "gmat_sweep_dask",
        "run",
        str(script),
        "--grid",
        "Sat.SMA=7000:7400:12",
        "--out",
        str(out),
        "-q",
        "--workers",
        "1",
    ]
    driver = subprocess.Popen(args, env=gate.env(), stderr=subprocess.PIPE, text=True)
    try:
        gate.wait_for_runs(1)  # the sweep is under way, its runs yet to run
        assert (out / "manifest.jsonl").is_file()
        script.write_text(script.read_text().replace("Sat.ECC = 0.001", "Sat.ECC = 0.2"))
    finally:
        gate.open()
    assert driver.wait(timeout=300) == 0, driver.stderr.read()
    frame = open_sweep(out).compute()
    clean = tmp_path / "clean"
    Sweep(
        SCRIPTS / "leo.script",
        Grid({"Sat.SMA": list(frame.groupby(level=0)["Sat.SMA"].first())}),
        clean,
    ).run(client, progress=False)
    cols = ["Sat.X", "Sat.Y", "Sat.Z"]
    assert frame[cols].equals(open_sweep(clean).compute()[cols])  # every run: ECC 0.001
    with pytest.raises(ScriptError, match=r"m\.script \(changed\)"):
        Sweep.from_manifest(out)


def test_a_moved_sweep_resumes_from_its_snapshot(client, tmp_path: Path) -> None:
    script = tmp_path / "gone.script"
    script.write_text((SCRIPTS / "leo.script").read_text())
    out = tmp_path / "s"
    Sweep(script, Grid({"Sat.SMA": [7000.0, 7100.0]}), out).run(client, progress=False)
    script.unlink()
    lines = (out / "manifest.jsonl").read_text().splitlines()
    entry = next(i for i, line in enumerate(lines) if '"run_id":1' in line)
    del lines[entry]  # run 1 to redo
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    resumed = Sweep.from_manifest(out).resume(client, progress=False)
    assert resumed.counts == {"ok": 2} and resumed.executed == 1


def test_included_files_are_frozen_beside_the_script(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "inc").mkdir(parents=True)
    (project / "inc" / "sat.txt").write_text("% the spacecraft\n")
    far = tmp_path / "far"
    far.mkdir()
    (far / "common.txt").write_text("#Include 'more.txt'\n")
    (far / "more.txt").write_text("% more\n")
    main = project / "main.script"
    main.write_text(f"#Include 'inc/sat.txt'\n#Include '{far / 'common.txt'}';\n% end\n")
    out = tmp_path / "s"
    out.mkdir()
    frozen = snapshot.take(main, out)
    assert frozen["path"] == "script/main.script"
    assert set(frozen["files"]) == {
        "script/main.script",
        "script/inc/sat.txt",
        "script/_include/002-common.txt",
        "script/_include/003-more.txt",
    }
    text = (out / "script" / "main.script").read_text()
    assert "#Include 'inc/sat.txt'" in text and "#Include '_include/002-common.txt';" in text
    assert (out / "script/_include/002-common.txt").read_text() == "#Include '003-more.txt'\n"
    assert snapshot.drift(frozen, None) == []
    (far / "more.txt").write_text("% edited\n")
    assert snapshot.drift(frozen, None) == [f"{far / 'more.txt'} (changed)"]


def test_a_missing_include_is_refused_before_anything_runs(tmp_path: Path) -> None:
    main = tmp_path / "main.script"
    main.write_text("#Include 'nope.txt'\n")
    with pytest.raises(ScriptError, match=r"#Include 'nope\.txt': no such file"):
        snapshot.take(main, tmp_path)


def test_the_header_records_the_snapshot(client, tmp_path: Path) -> None:
    out = tmp_path / "s"
    Sweep(SCRIPTS / "leo.script", Grid({"Sat.SMA": [7000.0]}), out).run(client, progress=False)
    header = Manifest.load(out / "manifest.jsonl").header
    recorded = header["snapshot"]["files"]["script/leo.script"]
    assert recorded["source"] == str(SCRIPTS / "leo.script")
    assert (
        recorded["sha256"]
        == header["script_sha256"]
        == snapshot.canonical_sha256(SCRIPTS / "leo.script")
    )


def run_1_to_redo(client, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A finished 3-run sweep in ``tmp_path/s`` whose run 1 is no longer recorded, and
    its frame as it was finished."""
    out = tmp_path / "s"
    Sweep(SCRIPTS / "leo.script", Grid({"Sat.SMA": [7000.0, 7100.0, 7200.0]}), out).run(
        client, progress=False
    )
    finished = open_sweep(out).compute()
    lines = (out / "manifest.jsonl").read_text().splitlines()
    del lines[next(i for i, line in enumerate(lines) if '"run_id":1' in line)]  # run 1 to redo
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return out, finished


def test_a_lost_snapshot_is_refused_before_any_run_and_restoring_it_resumes(
    client, tmp_path: Path
) -> None:
    out, expected = run_1_to_redo(client, tmp_path)
    before = (out / "manifest.jsonl").read_bytes()
    frozen = out / "script" / "leo.script"
    kept = frozen.read_bytes()
    frozen.unlink()
    scheduler = ["--scheduler", client.scheduler.address]
    again = ["run", str(SCRIPTS / "leo.script"), "--grid", "Sat.SMA=7000,7100,7200"]
    for command in (["resume", str(out), *scheduler], [*again, "--out", str(out), *scheduler]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output  # was: every pending run failed in GMAT
        assert "script snapshot script/leo.script is missing" in result.stderr
    assert (out / "manifest.jsonl").read_bytes() == before
    frozen.write_bytes(kept)
    result = CliRunner().invoke(main, ["resume", str(out), *scheduler])
    assert result.exit_code == 0, result.output
    assert open_sweep(out).compute().equals(expected)


def test_a_changed_snapshot_copy_is_found_includes_too(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "sat.txt").write_text("% the spacecraft\n")
    main = project / "main.script"
    main.write_text("#Include 'sat.txt'\n% end\n")
    out = tmp_path / "s"
    out.mkdir()
    frozen = snapshot.take(main, out)
    assert snapshot.damaged(frozen, out) == []  # copies with rewritten includes too
    (out / "script" / "sat.txt").write_text("% another spacecraft\n")
    (out / "script" / "main.script").unlink()
    assert snapshot.damaged(frozen, out) == [
        "script/main.script (missing)",
        "script/sat.txt (changed)",
    ]


def test_a_changed_snapshot_is_refused_before_any_run_and_verify_names_it(
    client, tmp_path: Path
) -> None:
    """The workers run the snapshot: an edited or damaged copy ran the runs still to run
    under other text than the manifest records, each recorded ok."""
    from gmat_sweep_dask import verify

    out, _ = run_1_to_redo(client, tmp_path)
    before = (out / "manifest.jsonl").read_bytes()
    frozen = out / "script" / "leo.script"
    kept = frozen.read_bytes()
    frozen.write_bytes(kept.replace(b"Sat.ECC = 0.001", b"Sat.ECC = 0.2"))
    assert frozen.read_bytes() != kept
    scheduler = ["--scheduler", client.scheduler.address]
    result = CliRunner().invoke(main, ["resume", str(out), *scheduler])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"gmat-sweep-dask: error: {out}: the sweep's script snapshot changed since it was "
        "written: script/leo.script (changed); the runs still to run would run other text "
        "than the manifest records: restore it from a copy of the sweep directory"
    ]
    assert (out / "manifest.jsonl").read_bytes() == before
    report = verify(out)
    assert not report.ok and [d.describe() for d in report.script] == [
        "script/leo.script: changed since it was written"
    ]
    frozen.write_bytes(kept)
    assert verify(out).ok
    result = CliRunner().invoke(main, ["resume", str(out), *scheduler])
    assert result.exit_code == 0, result.output

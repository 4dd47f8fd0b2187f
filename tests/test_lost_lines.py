"""Any single lost manifest line costs at most a re-run (issue 12, item 7).

A finished Monte Carlo sweep, compacted (moved records), extended once (a header update)
and compacted again, is damaged one line at a time: each line in turn is deleted, or cut
in half. ``gmat-sweep-dask resume`` must then complete and the frame must equal the
undamaged one. Lost moved records are also recovered from the data files themselves
(re-indexing, nothing re-run), and a run whose rows are nowhere runs again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dask.config
import pandas as pd
import pytest
from click.testing import CliRunner

from gmat_sweep_dask import Manifest, extend, monte_carlo, open_sweep
from gmat_sweep_dask.cli import main

PERTURB = {"Sat.SMA": ("normal", 7100.0, 50.0), "Sat.ECC": ("uniform", 0.001, 0.01)}


@pytest.fixture(scope="module")
def finished(client, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A compacted 6-run sweep extended to 10 runs and compacted again; its frame."""
    out = tmp_path_factory.mktemp("lost-lines") / "mc"
    script = Path(__file__).resolve().parents[1] / "examples" / "leo.script"
    with dask.config.set({"gmat-sweep-dask.max-batch-runs": 2}):  # several batch files
        monte_carlo(script, n=6, perturb=PERTURB, seed=7, out=out, client=client, progress=False)
        extend(out, n=4, client=client, progress=False)
    records = [kind(line) for line in lines_of(out)]
    assert records.count("update") >= 1 and records.count("moved") >= 2, records
    assert Manifest.load(out / "manifest.jsonl").status_counts() == {"ok": 10}
    return out, open_sweep(out).compute()


def lines_of(out: Path) -> list[bytes]:
    return (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)


def kind(line: bytes) -> str:
    for name in ("format", "update", "moved", "run_id"):
        if f'"{name}"'.encode() in line:
            return name
    return "?"


def damaged_copy(source: Path, target: Path, index: int, mode: str) -> str:
    """Copy the sweep to ``target`` with line ``index`` deleted or cut; describe it."""
    shutil.copytree(source, target)
    lines = lines_of(target)
    line = lines[index]
    if mode == "delete":
        lines[index] = b""
    else:  # half the line; a cut last line also loses its newline (a torn tail)
        last = index == len(lines) - 1
        lines[index] = line[: len(line) // 2] + (b"" if last else b"\n")
    (target / "manifest.jsonl").write_bytes(b"".join(lines))
    return f"line {index + 1} ({kind(line)}) {'deleted' if mode == 'delete' else 'cut in half'}"


def resume(client, out: Path) -> tuple[int, str]:
    address = client.scheduler.address
    result = CliRunner().invoke(main, ["resume", str(out), "--scheduler", address, "-q"])
    detail = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        detail += f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, detail


@pytest.mark.parametrize("mode", ["delete", "cut"])
def test_any_single_lost_line_costs_at_most_a_rerun(
    client, finished, tmp_path: Path, mode: str
) -> None:
    source, expected = finished
    problems = []
    for index in range(len(lines_of(source))):
        out = tmp_path / f"{mode}-{index}"
        what = damaged_copy(source, out, index, mode)
        code, detail = resume(client, out)
        if code != 0:
            problems.append(f"{what}: resume exit {code}: {detail.strip()}")
            continue
        try:
            pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)
        except Exception as exc:
            problems.append(f"{what}: frame differs: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)


def test_a_torn_last_moved_record_resumes_without_a_traceback(
    client, finished, tmp_path: Path
) -> None:
    """The issue's case: compaction's record was torn after it deleted the batch files."""
    source, expected = finished
    out = tmp_path / "torn"
    shutil.copytree(source, out)
    lines = lines_of(out)
    last_move = max(i for i, line in enumerate(lines) if kind(line) == "moved")
    assert all(kind(line) == "update" for line in lines[last_move + 1 :])  # the session's end
    data = b"".join(lines[: last_move + 1])  # killed while writing it: no session end after
    (out / "manifest.jsonl").write_bytes(data[: len(data) - 40])
    code, detail = resume(client, out)
    assert code == 0, detail
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)


def without_moves(out: Path) -> None:
    """Drop every moved record: the manifest then names only deleted batch files."""
    kept = [line for line in lines_of(out) if kind(line) != "moved"]
    (out / "manifest.jsonl").write_bytes(b"".join(kept))


def test_lost_moved_records_are_recovered_from_the_data_files(
    client, finished, tmp_path: Path
) -> None:
    source, expected = finished
    out = tmp_path / "reindex"
    shutil.copytree(source, out)
    without_moves(out)
    ended = {
        r: e["ended"] for r, e in Manifest.load(out / "manifest.jsonl", full=True).entries.items()
    }
    result = CliRunner().invoke(main, ["resume", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "nothing to run" in result.output  # no cluster needed, nothing re-run
    assert "re-indexed" in result.stderr
    after = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert {r: e["ended"] for r, e in after.items()} == ended
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)


def test_runs_whose_rows_are_nowhere_run_again(client, finished, tmp_path: Path) -> None:
    source, expected = finished
    out = tmp_path / "gone"
    shutil.copytree(source, out)
    without_moves(out)
    (merged,) = sorted((out / "data").rglob("compact-000000000-*.parquet"))
    merged.unlink()  # runs 0..5 now exist nowhere
    code, detail = resume(client, out)
    assert code == 0, detail
    assert "runs 0-5" in detail and "run again" in detail, detail
    pd.testing.assert_frame_equal(open_sweep(out).compute(), expected)

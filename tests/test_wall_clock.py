"""One wall-clock figure: the closing line, ``show`` and the manifest agree; progress and
counts are worded the same way everywhere, plurals right, and no ETA before it can be
estimated."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from test_cli import cli

from gmat_sweep_dask import Manifest, sweep, wording
from gmat_sweep_dask.execute.progress import ETA_MIN_RUNS, Progress
from gmat_sweep_dask.execute.progress_display import LogDisplay, TerminalDisplay
from gmat_sweep_dask.store import sessions

CLOSING = re.compile(
    r"^(?P<total>[\d,]+) runs?: (?P<counts>.+); ran (?P<ran>[\d,]+) in (?P<wall>[\d.]+) s", re.M
)
WALL = re.compile(r"^wall: +(?P<wall>[\d.]+) s(?P<rest>.*)$", re.M)


def recorded_sessions(out: Path) -> list[dict]:
    return Manifest.load(out / "manifest.jsonl").header["sessions"]


def test_closing_line_show_and_manifest_give_one_wall_time(fault_script: Path, tmp_path: Path):
    out = tmp_path / "faults"
    first = cli(
        "run", str(fault_script), "--grid", "StandinFault.Value=0,1,0", "--out", str(out),
        "--workers", "1", "--quiet",
    )  # fmt: skip
    assert first.returncode == 1, first.stderr
    closing = CLOSING.search(first.stdout)
    assert closing, first.stdout
    assert closing["total"] == "3" and closing["counts"] == "2 ok, 1 failed"
    assert closing["ran"] == "3"

    # the manifest records the session, with the same seconds
    (session,) = recorded_sessions(out)
    assert session["ran"] == 3
    assert wording.seconds(sessions.seconds(session)) == f"{closing['wall']} s"
    shown = cli("show", str(out))
    wall = WALL.search(shown.stdout)
    assert wall and wall["wall"] == closing["wall"] and wall["rest"] == "", shown.stdout
    assert re.search(r"^status: +2 ok, 1 failed$", shown.stdout, re.M), shown.stdout

    # a resume is a second session: show sums both and lists each
    again = cli("resume", str(out), "--workers", "1", "--quiet")
    assert again.returncode == 1, again.stderr
    second = CLOSING.search(again.stdout)
    assert second and second["ran"] == "1", again.stdout
    both = recorded_sessions(out)
    assert [s["ran"] for s in both] == [3, 1]
    assert [wording.seconds(sessions.seconds(s)) for s in both] == [
        f"{closing['wall']} s",
        f"{second['wall']} s",
    ]
    shown = cli("show", str(out))
    wall = WALL.search(shown.stdout)
    total = sum(sessions.seconds(s) for s in both)
    assert f"{wall['wall']} s" == wording.seconds(total), shown.stdout
    assert wall["rest"] == f" in 2 sessions ({closing['wall']} s, {second['wall']} s)"


def test_a_killed_session_counts_to_its_last_recorded_run(example_script: Path, tmp_path: Path):
    """A driver killed outright never records its end: show counts that session to the
    last run it recorded, and says so."""
    out = tmp_path / "one"
    assert cli("run", str(example_script), "--grid", "Sat.SMA=7000,7100", "--out", str(out),
               "--workers", "1", "--quiet").returncode == 0  # fmt: skip
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    # cut the session's end off (both copies: updates are written twice), as a SIGKILL
    # before it was written would
    last_update = lines[max(i for i, line in enumerate(lines) if '"update"' in line)]
    assert json.loads(last_update)["update"]["sessions"][-1]["ended"] is not None
    manifest.write_text("\n".join(line for line in lines if line != last_update) + "\n")
    entries = Manifest.load(manifest, full=True).entries.values()
    (session,) = recorded_sessions(out)
    assert session["ended"] is None
    expected = max(e["ended"] for e in entries)
    seconds = sessions.seconds({"started": session["started"], "ended": expected})
    shown = cli("show", str(out))
    wall = WALL.search(shown.stdout)
    assert f"{wall['wall']} s" == wording.seconds(seconds), shown.stdout
    assert "1 session killed: counted to its last recorded run" in wall["rest"]


def test_one_run_is_worded_in_the_singular(example_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "single"
    result = cli("run", str(example_script), "--grid", "Sat.SMA=7000", "--out", str(out),
                 "--workers", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"^1 run: 1 ok; ran 1 in [\d.]+ s", result.stdout, re.M), result.stdout
    assert "1/1 run: 1 ok" in result.stderr and "1/1 runs" not in result.stderr
    shown = cli("show", str(out))
    assert "design:   grid, 1 run over Sat.SMA" in shown.stdout


def test_the_api_result_is_the_recorded_session(client, example_script: Path, tmp_path: Path):
    from gmat_sweep_dask import Sweep
    from gmat_sweep_dask.design import Grid

    out = tmp_path / "api"
    result = Sweep(example_script, Grid({"Sat.SMA": [7000, 7100]}), out).run(client, progress=False)
    (session,) = recorded_sessions(out)
    assert result.wall_s == sessions.seconds(session)
    took = wording.seconds(result.wall_s)
    assert result.summary().startswith(f"2 runs: 2 ok; ran 2 in {took} (GMAT stand-in engine)")
    sweep(example_script, grid={"Sat.SMA": [7000, 7100]}, out=out, client=client, progress=False)
    assert len(recorded_sessions(out)) == 1  # nothing to run: no new session


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_eta_until_the_rate_can_be_estimated() -> None:
    """The first result arrives after the cluster and engines start (here 30 s); an ETA
    from it would be absurd. Rate and ETA appear after ETA_MIN_RUNS more runs and are
    measured from the first result on."""
    clock, stream = FakeClock(), Tty()
    bar = Progress(1000, stream=stream, clock=clock)
    assert isinstance(bar.display, TerminalDisplay)
    clock.now = 30.0
    bar.update(["ok"])
    assert "1/1,000 runs: 1 ok" in stream.getvalue() and "ETA" not in stream.getvalue()
    for _ in range(ETA_MIN_RUNS - 1):
        clock.now += 0.5
        bar.update(["ok"])
    assert "ETA" not in stream.getvalue()
    clock.now += 0.5
    bar.update(["failed"])  # 10 runs in 5 s since the first: 2 runs/s, 989 runs left
    last = stream.getvalue().rsplit("\r", 1)[-1]
    assert "11/1,000 runs: 10 ok, 1 failed; 2.0 runs/s, ETA 8 min 14 s" in last, last


def test_progress_in_a_log_prints_lines_and_the_final_state_once() -> None:
    clock, stream = FakeClock(), io.StringIO()
    bar = Progress(3, stream=stream, clock=clock)
    assert isinstance(bar.display, LogDisplay)
    bar.update(["ok"])
    clock.now = 1.0
    bar.update(["ok", "failed"])
    bar.close()
    assert stream.getvalue().splitlines() == ["1/3 runs: 1 ok", "3/3 runs: 2 ok, 1 failed"]


def test_the_eta_of_a_grid_too_large_to_finish_is_read_in_days_and_years() -> None:
    # A 10^12-run grid read "ETA 3366275 h 12 min".
    clock, stream = FakeClock(), io.StringIO()
    bar = Progress(10**12, stream=stream, clock=clock)
    for i in range(21):  # 10 runs/s for 2 s
        clock.now = i / 10
        bar.update(["ok"])
    assert bar.line(clock.now).endswith("; 10.0 runs/s, ETA 3,169 years")
    assert [wording.seconds(s) for s in (7380.0, 3 * 86400 + 4 * 3600, 1e300)] == [
        "2 h 03 min",
        "3 days 4 h",
        "over a million years",
    ]

"""The gmat-sweep-dask command line, as users call it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

from gmat_sweep_dask.cli import main

EXE = [sys.executable, "-m", "gmat_sweep_dask"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


def one_line_error(result: subprocess.CompletedProcess[str] | object, *needles: str) -> None:
    stderr = result.stderr if hasattr(result, "stderr") else result.output
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_run_and_show_end_to_end(example_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "sma"
    epochs = "Sat.Epoch='01 Jan 2026 00:00:00.000','02 Jan 2026 12:00:00.000'"
    result = cli(
        "run",
        str(example_script),
        "--grid",
        "Sat.SMA=7000:7400:3",
        "--grid",
        epochs,
        "--grid",
        "Duration.Value=600",
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "6 runs: 6 ok" in result.stdout
    assert "stand-in" in result.stdout
    shown = cli("show", str(out))
    assert shown.returncode == 0
    assert (
        "status:   6 ok\n" in shown.stdout and str(out) in shown.stdout and "wall:" in shown.stdout
    )

    from gmat_sweep_dask import open_sweep

    data = open_sweep(out).compute()
    starts = data.groupby(level=0)["time"].min()
    assert starts.loc[1] == pd.Timestamp("2026-01-02 12:00:00")
    assert starts.loc[0] == pd.Timestamp("2026-01-01 00:00:00")


def test_some_failed_runs_exit_1_and_show_lists_them(fault_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "f"
    result = cli(
        "run",
        str(fault_script),
        "--grid",
        "StandinFault.Value=0,1",
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    )
    assert result.returncode == 1, result.stderr
    assert "1 failed" in result.stdout and "1 ok" in result.stdout
    shown = cli("show", str(out), "--failed")
    assert "1    StandinFault.Value=1  GMAT run failed: Propagate::Execute()" in shown.stdout


def test_bad_input_needing_a_worker_is_one_line_and_writes_nothing(
    example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x"
    unknown = cli(
        "run",
        str(example_script),
        "--grid",
        "Sat.SMAA=7000,7100",
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    )
    assert unknown.returncode == 2
    one_line_error(unknown, "Sat.SMAA", "did you mean")
    assert not out.exists()


def test_a_dir_holding_another_sweep_is_refused(example_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert (
        cli(
            "run",
            str(example_script),
            "--grid",
            "Sat.SMA=7000",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ).returncode
        == 0
    )
    before = (out / "manifest.jsonl").read_bytes()
    other = cli(
        "run",
        str(example_script),
        "--grid",
        "Sat.SMA=7100",
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    )
    assert other.returncode == 2
    one_line_error(other, "different sweep", str(out))
    assert (out / "manifest.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["run", "nope.script", "--grid", "Sat.SMA=1", "--out", "o"], ["nope.script"]),
        (["run", "{script}", "--grid", "Sat.SMA=7000:8000", "--out", "o"], ["Sat.SMA=7000:8000"]),
        (["run", "{script}", "--grid", "SMA=1", "--out", "o"], ["'SMA'"]),
        (["run", "{script}", "--out", "o"], ["--grid"]),
        (
            ["run", "{script}", "--grid", "Sat.SMA=1", "--grid", "Sat.SMA=2", "--out", "o"],
            ["twice"],
        ),
        (["show", "{tmp}"], ["no manifest"]),
        (["resume", "{tmp}"], ["no manifest"]),
    ],
)
def test_input_errors_exit_2_with_one_line(
    args: list[str], needles: list[str], example_script: Path, tmp_path: Path
) -> None:
    args = [a.format(script=example_script, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    one_line_error(result, *needles)
    assert not (Path.cwd() / "o").exists()


def test_show_reports_a_corrupt_manifest_with_path_and_line(tmp_path: Path) -> None:
    header = {
        "format": "gmat-sweep-dask manifest",
        "schema_version": 1,
        "run_count": 2,
        "design": {"kind": "grid", "axes": []},
        "script": "x",
        "script_sha256": "0" * 64,
    }
    # a line that is not JSON is a lost record; one that is JSON but no record is corrupt
    bad = json.dumps({"run_id": "oops", "status": "ok"})
    (tmp_path / "manifest.jsonl").write_text(json.dumps(header) + f"\n{bad}\n" + "{oops\n")
    result = CliRunner().invoke(main, ["show", str(tmp_path)])
    assert result.exit_code == 2
    one_line_error(result, f"{tmp_path / 'manifest.jsonl'}:2")


@pytest.mark.parametrize("command", [[], ["run"], ["show"], ["resume"]])
def test_help_is_fast_and_complete(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_help_does_not_import_dask() -> None:
    code = "import sys; from gmat_sweep_dask.cli import main; print('dask' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
ENTRY_FIELDS = ["started", "ended", "outputs", "overrides", "error", "worker", "duration_s"]


@settings(max_examples=150, deadline=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {"run_id": st.integers(0, 3), "status": st.sampled_from(["ok", "failed"])},
            optional={name: JSON_VALUES for name in ENTRY_FIELDS},
        ),
        max_size=5,
    ),
    tail=st.binary(max_size=40),
)
def test_show_on_any_recorded_values_exits_cleanly(entries, tail) -> None:
    header = {
        "format": "gmat-sweep-dask manifest",
        "schema_version": 1,
        "created": "2026-12-02T00:00:00+00:00",
        "script": "x.script",
        "script_sha256": "0" * 64,
        "design": {"kind": "grid", "axes": [["Sat.SMA", [1.0, 2.0, 3.0, 4.0]]]},
        "run_count": 4,
        "seed": None,
        "keep_raw": False,
    }
    with tempfile.TemporaryDirectory() as tmp:
        lines = [json.dumps(header), *(json.dumps(e) for e in entries)]
        (Path(tmp) / "manifest.jsonl").write_bytes("\n".join(lines).encode() + b"\n" + tail)
        for args in (["show", tmp], ["show", tmp, "--failed"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code in (0, 2), result.output
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                result.exception
            )


def _newer_schema(text: str) -> str:
    header, rest = text.split("\n", 1)
    return json.dumps({**json.loads(header), "schema_version": 99}) + "\n" + rest


def _first_entry(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if '"run_id"' in line)


def _corrupt_record(text: str) -> str:
    """A valid JSON line that is no valid record (a line that is not JSON is a lost one):
    the first run entry with a run id that is no number."""
    lines = text.split("\n")
    first = _first_entry(lines)
    lines[first] = json.dumps({**json.loads(lines[first]), "run_id": "three"})
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("damage", "needle"),
    [(_newer_schema, "schema version 99 is newer"), (_corrupt_record, "manifest.jsonl:{line}:")],
)
def test_an_unreadable_manifest_is_refused_by_every_command_and_left_as_it_was(
    client, example_script: Path, tmp_path: Path, damage, needle: str
) -> None:
    from gmat_sweep_dask import Sweep
    from gmat_sweep_dask.design import Grid

    out = tmp_path / "s"
    Sweep(example_script, Grid({"Sat.SMA": [7000.0, 7100.0, 7200.0]}), out).run(
        client, progress=False
    )
    manifest = out / "manifest.jsonl"
    needle = needle.format(line=_first_entry(manifest.read_text().split("\n")) + 1)
    manifest.write_text(damage(manifest.read_text()))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    grid = ["--grid", "Sat.SMA=7000,7100,7200", "--out", str(out), "--workers", "1", "-q"]
    for args in (
        ["show", str(out)],
        ["compact", str(out)],
        ["resume", str(out), "--workers", "1", "-q"],
        ["run", str(example_script), *grid],
    ):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        one_line_error(result, needle)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["run", "--bogus"], ["--bogus"]),
        (["run"], ["SCRIPT"]),
        (["resume"], ["SWEEP_DIR"]),
        (["no-such-command"], ["no-such-command"]),
        (["run", "{script}", "--grid", "Sat.SMA=7000", "--out", "o", "--workers", "0"], ["0"]),
        (["show", "{tmp}", "--failed=yes"], ["--failed"]),
    ],
)
def test_usage_errors_are_one_line_with_where_to_find_help(
    args: list[str], needles: list[str], example_script: Path, tmp_path: Path
) -> None:
    args = [a.format(script=example_script, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    one_line_error(result, *needles, "--help")


def test_the_bare_command_shows_its_help() -> None:
    result = CliRunner().invoke(main, [])
    assert "Usage:" in result.output and "Commands:" in result.output
    assert "error" not in result.output


def test_a_usage_error_of_the_installed_command_is_one_line_and_exit_2() -> None:
    result = cli("run", "--bogus")
    assert result.returncode == 2
    one_line_error(result, "--bogus", "run --help")


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{script}", "--grid", "Sat.SMA=7000", "--out", "~{user}/x"],
        [
            "monte-carlo",
            "{script}",
            "--perturb",
            "Sat.SMA=normal:0:1",
            "--n",
            "2",
            "--out",
            "~{user}/x",
        ],
        ["run", "~{user}/leo.script", "--grid", "Sat.SMA=7000", "--out", "o"],
        ["resume", "~{user}/x"],
        ["show", "~{user}/x"],
        ["compact", "~{user}/x"],
    ],
)
def test_a_path_of_an_unknown_user_is_one_line(
    args: list[str], example_script: Path, tmp_path: Path
) -> None:
    user = "no-such-user-gmat-sweep-dask"
    args = [a.format(script=example_script, user=user) for a in args]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    one_line_error(result, f"~{user}")
    assert not (Path.cwd() / "o").exists()


def test_more_local_workers_than_the_machine_can_start_are_refused_before_any_start(
    example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "w"
    result = cli(
        "run",
        str(example_script),
        "--grid",
        "Sat.SMA=7000",
        "--out",
        str(out),
        "--workers",
        "1000000",
    )
    assert result.returncode == 2
    one_line_error(result, "--workers 1000000", "at most")
    assert "LocalCluster" not in result.stderr and not out.exists()


@pytest.fixture(scope="module")
def two_run_cli_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-run sweep made once by ``gmat-sweep-dask run``; tests damage copies."""
    out = tmp_path_factory.mktemp("cli-sweep") / "s"
    made = cli("run", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100", "--out", str(out))
    assert made.returncode == 0, made.stderr
    return out


@pytest.mark.parametrize(
    ("update", "needle"),
    [
        ({"design": "grid"}, "design 'grid' is not an object with a kind"),
        ({"design": {"kind": "grid", "axes": 5}}, "grid design cannot be rebuilt"),
        ({"design": {"kind": "grid", "axes": [["Sat.SMA", [7000.0]]]}}, "defines 1 runs"),
        ({"run_count": 3}, "defines 2 runs, its run_count is 3"),
        ({"script": None}, "script None is not str"),
        ({"snapshot": "script/leo.script"}, "snapshot 'script/leo.script' is not dict"),
        ({"postprocess": "os:system"}, "postprocess 'os:system' is not dict or null"),
        ({"gmat": "R2026a"}, "gmat 'R2026a' is not dict or null"),
    ],
)
def test_a_crafted_header_update_is_one_line_everywhere(
    client, two_run_cli_sweep: Path, tmp_path: Path, update: dict, needle: str
) -> None:
    from gmat_sweep_dask import open_sweep
    from gmat_sweep_dask.errors import UsageError

    out = tmp_path / "s"
    shutil.copytree(two_run_cli_sweep, out)  # one CLI sweep made per module, not per case
    line = json.dumps({"update": update}) + "\n"
    with (out / "manifest.jsonl").open("a") as manifest:
        manifest.write(line + line)
    before = (out / "manifest.jsonl").read_bytes()
    resume = ["resume", str(out), "--scheduler", client.scheduler.address]
    for args in (["show", str(out)], ["verify", str(out)]):  # no traceback, whatever they say
        result = CliRunner().invoke(main, args)
        assert isinstance(result.exception, SystemExit | None), (args, result.exception)
    result = CliRunner().invoke(main, resume)
    assert result.exit_code == 2 and needle in result.output, result.output
    with pytest.raises(UsageError, match=needle):
        open_sweep(out).compute()
    assert (out / "manifest.jsonl").read_bytes() == before


def test_a_sweep_made_without_isolation_resumes_isolated_with_a_timeout(
    client, example_script: Path, tmp_path: Path
) -> None:
    """A --no-isolate sweep whose runs hung could not be resumed with --timeout: the
    recorded isolate=False refused it, and there was no --isolate. It now resumes
    isolated; the header keeps the sweep's choice, the session records what it ran with."""
    from gmat_sweep_dask import Manifest

    out = tmp_path / "bare"
    where = ["--scheduler", client.scheduler.address, "-q"]
    command = ["run", str(example_script), "--grid", "Sat.SMA=7000,7100", "--out", str(out)]
    made = CliRunner().invoke(main, [*command, "--no-isolate", *where])
    assert made.exit_code == 0, made.output
    path = out / "manifest.jsonl"
    entry = Manifest.load(path, full=True).entries[1]
    with path.open("a") as handle:  # run 1 hung and was failed: it runs again
        handle.write(json.dumps(entry | {"status": "failed", "outputs": {}, "error": "hung"}))
        handle.write("\n")
    refused = CliRunner().invoke(main, ["resume", str(out), "--timeout", "60", *where])
    assert refused.exit_code == 2 and "only with GMAT in its own process" in refused.stderr
    resumed = CliRunner().invoke(main, ["resume", str(out), "--isolate", "--timeout", "60", *where])
    assert resumed.exit_code == 0, resumed.output
    manifest = Manifest.load(path)
    assert manifest.status_counts() == {"ok": 2}
    assert manifest.header["isolate"] is False and manifest.header["timeout"] is None
    first, last = manifest.header["sessions"]
    assert "options" not in first
    assert last["options"] == {"isolate": True, "timeout": 60.0} and last["ran"] == 1

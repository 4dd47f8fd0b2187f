"""The per-run postprocess hook, through the public API and the CLI.

Hooks live in ``tests/postprocess_hooks.py`` and are named ``postprocess_hooks:<func>``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gmat_sweep_dask import (
    Manifest,
    SpecError,
    Sweep,
    monte_carlo,
    open_sweep,
    sweep,
)

TESTS = Path(__file__).resolve().parent
GRID = {"Sat.SMA": [7000.0, 7200.0], "Duration.Value": [600]}


def entries(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


def run_sweep(script: Path, out: Path, client: object, hook: object, **options: object):
    return sweep(script, grid=GRID, out=out, client=client, progress=False, postprocess=hook,
                 **options)  # fmt: skip


def test_metrics_files_and_context_of_a_hook_by_name(example_script, client, tmp_path):
    out = tmp_path / "s"
    frame = run_sweep(
        example_script,
        out,
        client,
        "postprocess_hooks:final_radius",
        context=lambda run_id: {"label": f"r{run_id}"},
    )
    data = frame.compute()
    metrics = open_sweep(out, kind="metrics").compute()
    assert metrics.index.tolist() == [0, 1]
    assert (metrics["status"] == "ok").all()
    assert metrics["Sat.SMA"].tolist() == [7000.0, 7200.0]  # joined with the parameters
    for run_id in (0, 1):
        last = data.loc[run_id].iloc[-1]
        radius = math.sqrt(last["Sat.X"] ** 2 + last["Sat.Y"] ** 2 + last["Sat.Z"] ** 2)
        assert metrics.loc[run_id, "final_radius"] == radius
        assert metrics.loc[run_id, "rows"] == len(data.loc[run_id])
        assert metrics.loc[run_id, "label"] == f"r{run_id}"
        assert bool(metrics.loc[run_id, "high"]) is (radius > 7100)
        summary = out / "runs" / str(run_id) / "summary.txt"
        assert summary.read_text() == f"run {run_id} r{run_id} rows={len(data.loc[run_id])}\n"
        assert float.fromhex((out / "runs" / str(run_id) / "plots" / "radius.bin").read_text()) == (
            radius
        )
        entry = entries(out)[run_id]
        assert entry["context"] == {"label": f"r{run_id}"}
        assert sorted(entry["files"]) == [f"runs/{run_id}/plots/radius.bin",
                                          f"runs/{run_id}/summary.txt"]  # fmt: skip
    header = Manifest.load(out / "manifest.jsonl").header
    assert header["postprocess"] == {"hook": "postprocess_hooks:final_radius"}


def _rows(run):
    return {"rows": len(run.outputs["report/Orbit"]), "sma": run.overrides["Sat.SMA"]}


def test_a_python_callable_and_a_context_mapping(example_script, client, tmp_path):
    out = tmp_path / "c"
    context = {0: {"a": [1, 2]}, 1: {"a": None}}
    run_sweep(example_script, out, client, _rows, context=context, isolate=False)
    metrics = open_sweep(out, kind="metrics").compute()
    assert metrics["sma"].tolist() == [7000.0, 7200.0]
    assert [entries(out)[i]["context"] for i in (0, 1)] == [{"a": [1, 2]}, {"a": None}]
    assert Manifest.load(out / "manifest.jsonl").header["postprocess"]["callable"].endswith("_rows")


@pytest.mark.parametrize(
    ("hook", "needle"),
    [
        ("raises", "postprocess: ZeroDivisionError: division by zero (postprocess_hooks.py:"),
        ("not_finite", "postprocess: metric 'bad' is nan; metrics must be finite"),
        ("not_scalar", "postprocess: metric 'bad' is [1, 2, 3] (list)"),
        ("not_mapping", "postprocess: the hook returned 42.0 (float); expected a mapping"),
        ("climbs_out", "postprocess: file name '../x'"),
        ("absolute_file", "postprocess: file name '/etc/x'"),
    ],
)
def test_a_bad_hook_fails_its_runs_with_postprocess_as_the_reason(
    example_script, client, tmp_path, hook, needle
):
    out = tmp_path / hook
    run_sweep(example_script, out, client, f"postprocess_hooks:{hook}")
    recorded = entries(out)
    assert {e["status"] for e in recorded.values()} == {"failed"}
    for entry in recorded.values():
        assert entry["error"].startswith(needle), entry["error"]
        assert entry["outputs"], "the GMAT outputs are kept for a resume of the hook alone"
    assert not (tmp_path / "x").exists() and not list(out.glob("runs/*/x"))
    assert open_sweep(out, kind="metrics").compute()["status"].tolist() == ["failed"] * 2


def test_a_hook_that_cannot_be_imported_is_refused_before_anything_runs(example_script, tmp_path):
    for hook, needle in [
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("postprocess_hooks:missing", "has no attribute 'missing'"),
        ("postprocess_hooks:not_callable", "is not callable"),
        ("postprocess_hooks", "expected 'package.module:function'"),
    ]:
        with pytest.raises(SpecError, match=needle):
            sweep(example_script, grid=GRID, out=tmp_path / "x", postprocess=hook, progress=False)
        assert not (tmp_path / "x").exists()
    # not picklable: a hook closing over a lock
    import threading

    lock = threading.Lock()
    with pytest.raises(SpecError, match="picklable"):
        sweep(example_script, grid=GRID, out=tmp_path / "x", postprocess=lambda r: {"l": lock},
              progress=False)  # fmt: skip


def test_a_hook_the_workers_cannot_import_is_refused_before_any_run(
    example_script, client, tmp_path, monkeypatch
):
    package = tmp_path / "driveronly"
    package.mkdir()
    (package / "driver_only_hook.py").write_text("def f(run):\n    return {}\n")
    monkeypatch.syspath_prepend(str(package))
    out = tmp_path / "w"
    with pytest.raises(SpecError, match=r"driver_only_hook:f cannot be imported on worker"):
        run_sweep(example_script, out, client, "driver_only_hook:f")
    assert not (out / "manifest.jsonl").exists()


def test_the_timeout_covers_a_hanging_hook_and_a_hook_that_kills_its_process(
    example_script, client, tmp_path
):
    out = tmp_path / "hang"
    run_sweep(example_script, out, client, "postprocess_hooks:hangs", timeout=2)  # never returns
    assert {e["error"] for e in entries(out).values()} == {"timeout: no result after 2 s"}
    out = tmp_path / "kill"
    run_sweep(example_script, out, client, "postprocess_hooks:kills_itself")
    recorded = entries(out)
    assert recorded[0]["status"] == "ok"
    assert recorded[1]["status"] == "failed"
    assert recorded[1]["error"] == "GMAT engine crashed (signal SIGKILL)"


def test_resume_runs_only_the_hook_when_the_gmat_outputs_are_intact(
    example_script, client, tmp_path
):
    out = tmp_path / "gated"
    gate = tmp_path / "gate"
    design = {"Sat.SMA": np.linspace(7000, 7300, 4).tolist(), "Duration.Value": [600]}
    sweep(example_script, grid=design, out=out, client=client, progress=False,
          postprocess="postprocess_hooks:gated", context=lambda i: {"gate": str(gate)})  # fmt: skip
    before = entries(out)
    assert all(e["error"].startswith("postprocess: RuntimeError: gate") for e in before.values())
    report_files = sorted((out / "data" / "report" / "Orbit").iterdir())
    gate.touch()
    job = Sweep.from_manifest(out)  # the hook and every run's context come from the manifest
    result = job.resume(client, progress=False)
    assert result.counts == {"ok": 4}
    after = entries(out)
    for run_id, entry in after.items():
        assert entry["context"] == {"gate": str(gate)}
        # the GMAT outputs are those recorded before: GMAT did not run again
        assert entry["outputs"]["report/Orbit"] == before[run_id]["outputs"]["report/Orbit"]
        assert entry["started"] != before[run_id]["started"]
    assert sorted((out / "data" / "report" / "Orbit").iterdir()) == report_files
    metrics = open_sweep(out, kind="metrics").compute()
    report = open_sweep(out).compute()
    assert metrics["rows"].tolist() == report.groupby(level=0).size().tolist()
    assert metrics["run"].tolist() == [0, 1, 2, 3]


def test_monte_carlo_and_the_cli_take_a_hook(example_script, client, tmp_path):
    out = tmp_path / "mc"
    frame = monte_carlo(example_script, n=3, perturb={"Sat.SMA": ("normal", 7100, 20)}, seed=1,
                        out=out, client=client, progress=False,
                        postprocess="postprocess_hooks:final_radius")  # fmt: skip
    assert frame.compute()["status"].eq("ok").all()
    assert len(open_sweep(out, kind="metrics").compute()) == 3
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    cli_out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script), "--grid",
         "Sat.SMA=7000,7200", "--grid", "Duration.Value=600", "--out", str(cli_out),
         "--postprocess", "postprocess_hooks:final_radius", "--workers", "1", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert open_sweep(cli_out, kind="metrics").compute()["final_radius"].notna().all()
    bad = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "monte-carlo", str(example_script), "--n", "2",
         "--perturb", "Sat.SMA=normal:7100:20", "--out", str(tmp_path / "bad"),
         "--postprocess", "nowhere_xyz:f", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "nowhere_xyz" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_a_context_that_is_not_json_is_refused(example_script, tmp_path):
    with pytest.raises(SpecError, match="context of run 0"):
        sweep(example_script, grid=GRID, out=tmp_path / "x", progress=False,
              postprocess="postprocess_hooks:final_radius",
              context=lambda i: {"x": float("inf")})  # fmt: skip
    assert textwrap  # imported for hooks written inline by later tests


@pytest.mark.real_gmat
def test_a_hook_on_real_gmat_sees_the_published_first_row(real_client, tmp_path):
    script = TESTS / "gmat_real" / "scripts" / "reference.script"
    out = tmp_path / "real"
    grid = {"Sat.SMA": [7000.0, 7200.0], "Sat.ECC": [0.001]}
    sweep(script, grid=grid, out=out, client=real_client, progress=False,
          postprocess="postprocess_hooks:first_row")  # fmt: skip
    metrics = open_sweep(out, kind="metrics").compute()
    # periapsis on the x axis at SMA (1 - ECC); the reference rows: 0, 30 and 60 s
    assert metrics["x0"].tolist() == pytest.approx([6993.0, 7192.8], abs=1e-6)
    assert metrics["rows"].tolist() == [3.0, 3.0]


def test_a_hook_file_is_never_written_through_a_link_planted_in_the_sweep(
    example_script, client, tmp_path
):
    out, gate, elsewhere = tmp_path / "planted", tmp_path / "gate", tmp_path / "elsewhere"
    hook, context = "postprocess_hooks:gated_note", {0: {"gate": str(gate)}, 1: {"gate": str(gate)}}
    sweep(example_script, grid=GRID, out=out, client=client, progress=False, postprocess=hook,
          context=context)  # fmt: skip
    assert {e["status"] for e in entries(out).values()} == {"failed"}
    gate.touch()
    elsewhere.mkdir()
    (out / "runs").mkdir(exist_ok=True)
    (out / "runs" / "0").symlink_to(elsewhere, target_is_directory=True)
    Sweep.from_manifest(out).resume(client, progress=False)
    recorded = entries(out)
    assert recorded[0]["status"] == "failed"
    assert recorded[0]["error"].startswith("postprocess: ")
    assert "leads outside the sweep directory" in recorded[0]["error"]
    assert list(elsewhere.iterdir()) == []
    assert recorded[1]["status"] == "ok" and recorded[1]["files"] == ["runs/1/note.txt"]
    assert (out / "runs" / "1" / "note.txt").read_text() == "run 1\n"


def test_a_hook_s_import_is_not_run_time_even_after_a_crash(example_script, client, tmp_path):
    # A hook module taking 2 s to import under timeout=1: each fresh engine host imported
    # it inside its first run, which timed out, killing the host, so the next run's fresh
    # host did the same: every run failed "timeout" (10 ms runs). Run 1 crashes its host.
    out = tmp_path / "slow"
    design = {"Sat.SMA": [7000.0 + 20 * i for i in range(6)], "Duration.Value": [600]}
    sweep(example_script, grid=design, out=out, client=client, progress=False, timeout=1,
          postprocess="postprocess_slow_import:rows")  # fmt: skip
    recorded = entries(out)
    assert recorded[1]["error"] == "GMAT engine crashed (signal SIGKILL)"
    assert {r: e["error"] for r, e in recorded.items() if r != 1} == dict.fromkeys([0, 2, 3, 4, 5])

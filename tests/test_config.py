"""Settings read through dask.config: defaults, overrides, switches spelled as text."""

from __future__ import annotations

import re

import dask.config
import pytest

from gmat_sweep_dask import config
from gmat_sweep_dask.errors import UsageError


def test_defaults_come_from_the_packaged_yaml() -> None:
    assert config.get("retries") == 2 and config.get("compact") is True
    assert config.get("retries", 5) == 5


@pytest.mark.parametrize(("text", "value"), [("false", False), ("Off", False), ("1", True)])
def test_switches_set_as_text_in_the_environment_read_as_booleans(
    monkeypatch, text: str, value: bool
) -> None:
    monkeypatch.setenv("DASK_GMAT_SWEEP_DASK__COMPACT", text)
    dask.config.refresh()
    try:
        assert config.get("compact") is value
    finally:
        monkeypatch.delenv("DASK_GMAT_SWEEP_DASK__COMPACT")
        dask.config.refresh()


def test_a_switch_that_is_not_a_boolean_is_named() -> None:
    with (
        dask.config.set({"gmat-sweep-dask.fsync": "sometimes"}),
        pytest.raises(UsageError, match=r"gmat-sweep-dask.fsync = 'sometimes'.*true or false"),
    ):
        config.get("fsync")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5, "fast", True, None])
@pytest.mark.parametrize("key", ["min-task-seconds", "target-task-seconds", "max-batch-runs"])
def test_a_number_setting_that_is_not_a_finite_number_at_least_zero_is_named(
    key: str, value: object
) -> None:
    with (
        dask.config.set({f"gmat-sweep-dask.{key}": value}),
        pytest.raises(UsageError, match=rf"gmat-sweep-dask.{key} = .*expected a number >= 0"),
    ):
        config.get(key)


def test_a_number_setting_from_the_environment_reads_as_its_number(monkeypatch) -> None:
    monkeypatch.setenv("DASK_GMAT_SWEEP_DASK__MIN_TASK_SECONDS", "0.05")
    dask.config.refresh()
    try:
        assert config.get("min-task-seconds") == 0.05
        config.check()  # MIN_TASK_SECONDS is the known min-task-seconds
    finally:
        monkeypatch.delenv("DASK_GMAT_SWEEP_DASK__MIN_TASK_SECONDS")
        dask.config.refresh()


def _refuse_to_start(*_: object, **__: object) -> None:
    raise AssertionError("an engine or a cluster started despite a bad setting")


def test_a_bad_setting_stops_a_sweep_before_any_engine_or_cluster_starts(
    monkeypatch, example_script, tmp_path
) -> None:
    from gmat_sweep_dask import sweep
    from gmat_sweep_dask.execute import cluster, preflight

    monkeypatch.setattr(preflight, "start_locally", _refuse_to_start)
    monkeypatch.setattr(cluster, "connect", _refuse_to_start)
    with (
        dask.config.set({"gmat-sweep-dask.min-task-seconds": float("nan")}),
        pytest.raises(UsageError, match=r"gmat-sweep-dask.min-task-seconds = nan"),
    ):
        sweep(example_script, grid={"Sat.SMA": [7000.0]}, out=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_the_cli_refuses_a_bad_setting_by_name_before_it_starts_an_engine(
    monkeypatch, example_script, tmp_path
) -> None:
    from click.testing import CliRunner

    from gmat_sweep_dask.cli import main
    from gmat_sweep_dask.execute import isolation

    monkeypatch.setattr(isolation, "warm", _refuse_to_start)
    out = tmp_path / "s"
    args = ["run", str(example_script), "--grid", "Sat.SMA=7000", "--out", str(out), "-q"]
    with dask.config.set({"gmat-sweep-dask.window-per-worker": "two"}):
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "gmat-sweep-dask.window-per-worker = 'two'" in lines[0]
    assert not out.exists()


def test_an_unknown_setting_is_named_with_the_closest_known_one(
    monkeypatch, example_script, tmp_path
) -> None:
    from gmat_sweep_dask import sweep
    from gmat_sweep_dask.execute import preflight

    monkeypatch.setattr(preflight, "start_locally", _refuse_to_start)
    typo = r"unknown setting gmat-sweep-dask.min-task-secnds \(did you mean min-task-seconds\?\)"
    with (
        dask.config.set({"gmat-sweep-dask.min-task-secnds": 0.1}),
        pytest.raises(UsageError, match=typo),
    ):
        sweep(example_script, grid={"Sat.SMA": [7000.0]}, out=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_a_namespace_that_is_not_a_mapping_is_named() -> None:
    with (
        dask.config.set({"gmat-sweep-dask": 5}),
        pytest.raises(UsageError, match=r"gmat-sweep-dask = 5: expected a mapping"),
    ):
        config.check()


@pytest.mark.parametrize(
    ("setting", "given", "named"),
    [
        (2.5, None, "gmat-sweep-dask.retries = 2.5"),  # every run failed: AssertionError
        (None, 2**64, f"retries={2**64}"),  # the sweep hung: distributed cannot send it
        (None, 1.0, "retries=1.0"),
        (None, True, "retries=True"),
    ],
)
def test_retries_that_dask_cannot_take_are_refused_before_anything_starts(
    setting, given, named, monkeypatch, example_script, tmp_path
) -> None:
    from gmat_sweep_dask import sweep
    from gmat_sweep_dask.execute import cluster, preflight

    monkeypatch.setattr(preflight, "start_locally", _refuse_to_start)
    monkeypatch.setattr(cluster, "connect", _refuse_to_start)
    values = {} if setting is None else {"gmat-sweep-dask.retries": setting}
    with (
        dask.config.set(values),
        pytest.raises(UsageError, match=rf"^{re.escape(named)}: expected an integer from 0"),
    ):
        sweep(example_script, grid={"Sat.SMA": [7e3]}, out=tmp_path / "s", retries=given)
    assert not (tmp_path / "s").exists()
    assert config.get("retries", 2**63 - 1) == 2**63 - 1

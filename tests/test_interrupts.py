"""SIGINT and SIGTERM stop a sweep the same way, never inside a manifest append."""

from __future__ import annotations

import os
import signal

import pytest

from gmat_sweep_dask.execute.interrupts import Interrupted, guard


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_interrupts_at_once_outside_a_critical_section(signum: int) -> None:
    with pytest.raises(Interrupted) as stopped, guard():
        os.kill(os.getpid(), signum)
    assert stopped.value.signum == signum
    assert isinstance(stopped.value, KeyboardInterrupt)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_a_critical_section_waits_for_its_end(signum: int) -> None:
    finished = False
    with pytest.raises(Interrupted) as stopped, guard() as interrupts, interrupts.critical():
        os.kill(os.getpid(), signum)
        finished = True
    assert finished and stopped.value.signum == signum


def test_the_previous_handlers_come_back() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with guard():
        pass
    assert {s: signal.getsignal(s) for s in before} == before


def test_interrupt_hooks_run_before_the_interrupt_once_per_signal(monkeypatch) -> None:
    """The CLI silences logging through such a hook; a deferred signal calls it too."""
    from gmat_sweep_dask.execute import interrupts

    monkeypatch.setattr(interrupts, "_hooks", [])
    calls: list[str] = []

    def hook() -> None:
        calls.append("hook")

    interrupts.on_interrupt(hook)
    interrupts.on_interrupt(hook)  # registered once
    with pytest.raises(Interrupted), guard():
        os.kill(os.getpid(), signal.SIGINT)
    assert calls == ["hook"]
    with pytest.raises(Interrupted), guard() as state, state.critical():
        os.kill(os.getpid(), signal.SIGTERM)
        calls.append("critical section ended")
    assert calls == ["hook", "critical section ended", "hook"]


def test_an_interrupted_cli_command_silences_logging(tmp_path, monkeypatch) -> None:
    """After Ctrl-C a command says its own lines only: distributed's teardown logs nothing."""
    import logging

    from gmat_sweep_dask.cli.common import _quiet_teardown
    from gmat_sweep_dask.execute import interrupts

    monkeypatch.setattr(interrupts, "_hooks", [_quiet_teardown])
    try:
        with pytest.raises(Interrupted), guard():
            os.kill(os.getpid(), signal.SIGINT)
        assert not logging.getLogger("distributed.batched").isEnabledFor(logging.CRITICAL)
    finally:
        logging.disable(logging.NOTSET)

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

"""Stopping Dask workers that are threads of the driver (the LocalCluster of an isolated sweep).

A worker process is stopped by killing it: its engine host dies with it and the batch it
ran leaves no commit record, so its runs are simply run again at the next resume. A worker
thread cannot be killed, and closing its cluster waits for the batches it runs (a GMAT
run may take minutes). So when such a cluster is closed (the sweep finished, or stopped
by Ctrl-C, SIGTERM or an error), :func:`workers_in_this_process` first makes every batch
still running give up as a killed worker process would: the stop is declared, then the
engine hosts are stopped so that the runs they were running end at once, and a batch that
collects its runs after the stop was declared returns without writing its files or its
commit record (:func:`batch`, :func:`stopped`); a batch not yet started does not start.
Only once no batch runs any more is the cluster closed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_WAIT_S = 60.0
"""Longest wait for the running batches to give up before the cluster is closed anyway."""

_stop = threading.Event()
_running = 0
_changed = threading.Condition()


class SweepStopped(RuntimeError):
    """Raised by a batch that gives up because its in-process workers are being stopped."""


@contextmanager
def batch() -> Iterator[None]:
    """Around one batch: counted while it runs; refused if the workers are stopping.

    Raises:
        SweepStopped: the workers of this process are being stopped.
    """
    global _running
    check()
    with _changed:
        _running += 1
    try:
        yield
    finally:
        with _changed:
            _running -= 1
            _changed.notify_all()


def check() -> None:
    """Raise :class:`SweepStopped` if the workers of this process are being stopped: a
    batch calls it after collecting its runs and before writing anything.

    Raises:
        SweepStopped: the stop was declared (runs collected since may have been cut short).
    """
    if _stop.is_set():
        raise SweepStopped("the sweep's in-process workers are stopping")


@contextmanager
def workers_in_this_process(*, kept: bool = False) -> Iterator[None]:
    """Around the use of a cluster whose workers are threads of this process: on the way
    out, stop every batch still running (see the module docstring) before the cluster
    closes. ``kept``: the caller's own cluster (``Client(processes=False)``), which outlives
    the sweep: stopped only when the sweep is (Ctrl-C, an error); after a sweep that ended
    no batch runs any more and the warm engines are kept for the next one."""
    _stop.clear()
    try:
        yield
    except BaseException:
        _stop_batches()
        raise
    if not kept:
        _stop_batches()


def _stop_batches() -> None:
    """Declare the stop, end the engines' runs, and wait for the running batches to give up."""
    from gmat_sweep_dask.execute import isolation

    _stop.set()
    isolation.shutdown()
    with _changed:
        _changed.wait_for(lambda: _running == 0, timeout=STOP_WAIT_S)

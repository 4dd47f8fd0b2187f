"""Run GMAT in a child process of the Dask worker, so a crash or hang costs one run only.

Each worker process keeps one long-lived engine host (:mod:`gmat_sweep_dask.execute.enginehost`,
driven through :class:`~.hostlink.EngineHost`): GMAT bootstraps once in it and stays warm
across runs. A run that exceeds its timeout gets the host killed (SIGKILL) and is recorded
as failed with ``timeout``; a host that dies mid-run (e.g. a GMAT segfault, exit 139) fails
that run with the exit status. Either way the runs queued behind it go to a fresh host.
A timeout counts from when the host could start the run: it had bootstrapped GMAT and
answered every earlier request, so a cold start after a crash is never run time.
Requests go over a socketpair, not stdin/stdout, so whatever GMAT prints cannot corrupt
the protocol.

Requests from every thread of a worker share one ordered queue
(:class:`~.sharedengine.SharedEngine`) and are pipelined: the next run is already queued in
the host while the worker receives the last result, removes its scratch directory, or
writes the previous batch's files. There is one queue and host per Dask worker, whether
the worker is a process of its own or one of several threads of the driver (the
LocalCluster a sweep starts), and one for callers outside any worker (the driver's
checks). :func:`warm` starts hosts ahead of their workers' first runs.
Nothing waits forever: a host must be ready and a field check answered within
``engine_timeout`` (setting ``gmat-sweep-dask.engine-timeout``), a failure anywhere on
the reply path fails the request being answered and starts a fresh host, and a caller
whose answer can no longer come (the thread reading answers died) gets an error.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask import config
from gmat_sweep_dask.execute.hostlink import EngineError
from gmat_sweep_dask.execute.scratch import scratch_dir
from gmat_sweep_dask.execute.sharedengine import SharedEngine
from gmat_sweep_dask.execute.ticket import Ticket

if TYPE_CHECKING:  # pandas and pyarrow load when results arrive: engines start first
    from gmat_sweep_dask.execute.engine import RunResult
    from gmat_sweep_dask.execute.postprocess import Hook

RunRequest = tuple[int, dict[str, Any], Path | None]
"""``(run_id, overrides, working_dir)`` of one run; ``None`` runs in a scratch directory."""


@dataclass
class PendingRun:
    """A run queued in the engine host; :meth:`result` waits for it."""

    run_id: int
    ticket: Ticket
    scratch: Path | None

    def result(self) -> RunResult:
        """The run's result with normalised tables (the host normalised them); removes its
        scratch directory."""
        from gmat_sweep_dask.execute.engine import RunResult

        try:
            raw = self.ticket.reply()
        except EngineError as failure:
            ended = time.time()
            started = self.ticket.started_at or ended
            raw = RunResult(self.run_id, "failed", started, ended, error=str(failure))
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
        return raw


_engines: dict[str | None, SharedEngine] = {}
"""Each worker's engine, by worker address (None: callers outside any Dask worker)."""
_spares: list[SharedEngine] = []
"""Engines started ahead of the workers that will use them (:func:`warm`)."""
_lock = threading.Lock()


def _engine(worker: str | None = None) -> SharedEngine:
    """The engine of ``worker`` (default: the Dask worker running this thread, if any).

    A first request takes a warm spare engine if there is one.
    """
    key = worker if worker is not None else _worker_address()
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _spares.pop(0) if _spares else SharedEngine()
            _engines[key] = engine
        return engine


def _worker_address() -> str | None:
    """The address of the Dask worker running this thread; None outside a worker's task."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:
        return None


def warm(count: int) -> None:
    """Have ``count`` spare engines, their hosts started now (booting GMAT while the
    caller goes on); the next callers or workers to ask take them warm."""
    with _lock:
        fresh = [SharedEngine() for _ in range(count - len(_spares))]
        _spares.extend(fresh)
    for engine in fresh:
        engine.warm()


def hand_on() -> None:
    """Give this caller's engine (warm from a check) to the next worker that asks for one."""
    with _lock:
        engine = _engines.pop(None, None)
        if engine is not None:
            _spares.insert(0, engine)


def start_runs(
    script: str,
    runs: Sequence[RunRequest],
    timeout: float | None,
    engine_timeout: float | None = None,
    *,
    hook: Hook | None = None,
    contexts: Sequence[dict[str, Any]] | None = None,
) -> list[PendingRun]:
    """Queue ``runs`` in this worker's engine host, in order; returns at once.

    A run without a working directory gets a scratch directory here, removed when its
    result is collected. ``timeout`` counts from the moment the host could start the run
    and covers its postprocess ``hook`` too (each run's context in ``contexts``);
    ``engine_timeout`` bounds a fresh host's start (default: the ``engine-timeout`` setting).
    """
    start_limit = float(config.get("engine-timeout", engine_timeout))
    engine = _engine()
    pending = []
    for i, (run_id, overrides, working_dir) in enumerate(runs):
        scratch = scratch_dir(run_id) if working_dir is None else None
        context = contexts[i] if contexts is not None else {}
        arguments = (script, run_id, overrides, working_dir or scratch, hook, context)
        ticket = engine.submit("run", arguments, timeout, start_limit)
        pending.append(PendingRun(run_id, ticket, scratch))
    return pending


def start_request(operation: str, arguments: tuple[Any, ...], timeout: float | None) -> Ticket:
    """Queue one request of ``operation`` (see :mod:`~.enginehost`) in this process's
    engine host, answered within ``timeout``; returns at once."""
    return _engine().submit(operation, arguments, timeout, float(config.get("engine-timeout")))


def run_isolated(script: str, runs: Sequence[RunRequest], timeout: float | None) -> list[RunResult]:
    """Run ``runs`` in this worker's engine host and wait: one result per run, in order."""
    return [run.result() for run in start_runs(script, runs, timeout)]


def check_isolated(
    script: str, fields: list[str], engine_timeout: float | None = None, dask_worker: Any = None
) -> dict[str, Any]:
    """:func:`~gmat_sweep_dask.execute.engine.check_mission` in this worker's engine host.

    The host must start and answer within ``engine_timeout`` each (default: the
    ``engine-timeout`` setting). ``dask_worker`` (passed by ``Client.run``) names the
    worker whose engine checks, so that its runs find the engine warm.
    """
    worker = str(dask_worker.address) if dask_worker is not None else None
    return start_check(script, fields, engine_timeout, worker)()


def start_check(
    script: str, fields: list[str], engine_timeout: float | None = None, worker: str | None = None
) -> Callable[[], dict[str, Any]]:
    """Queue :func:`check_isolated`'s request now; the returned call waits for its answer.

    The engine host starts (and bootstraps GMAT) while the caller does other work.
    """
    limit = float(config.get("engine-timeout", engine_timeout))
    ticket = _engine(worker).submit("check", (script, fields), limit, limit)

    def answer() -> dict[str, Any]:
        try:
            return ticket.reply()
        except EngineError as failure:
            problem = f"the GMAT engine failed while checking the script: {failure}"
            return {"gmat": None, "values": {}, "reports": [], "errors": [problem]}

    return answer


def host_pid() -> int | None:
    """Process id of the calling worker's engine host (outside a worker: the caller's), if
    one is running."""
    return _engine().pid


def shutdown() -> None:
    """Stop every engine host of this process, spares included (also called at exit);
    the next request starts a fresh one."""
    with _lock:
        engines = [*_engines.values(), *_spares]
        _spares.clear()
    for engine in engines:
        engine.shutdown()


atexit.register(shutdown)

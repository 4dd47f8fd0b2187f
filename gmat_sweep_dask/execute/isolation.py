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

Requests from every thread of the process share one ordered queue (:class:`SharedEngine`)
and are pipelined: the next run is already queued in the host while the worker converts
the last result, removes its scratch directory, or writes the previous batch's files.
Nothing waits forever: a host must be ready and a field check answered within
``engine_timeout`` (setting ``gmat-sweep-dask.engine-timeout``), a failure anywhere on
the reply path fails the request being answered and starts a fresh host, and a caller
whose answer can no longer come (the thread reading answers died) gets an error.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmat_sweep_dask import config
from gmat_sweep_dask.execute.engine import RunResult, normalised
from gmat_sweep_dask.execute.hostlink import Answer, EngineError, EngineHost, EngineLost
from gmat_sweep_dask.execute.postprocess import Hook
from gmat_sweep_dask.execute.scratch import scratch_dir
from gmat_sweep_dask.execute.ticket import RECEIVER_DIED, Ticket

PIPELINE_DEPTH = 3
"""Requests sent to the engine host at once: the running one and two more, so a busy
worker that reads an answer late (its receiver thread never preempts) never starves it."""

RunRequest = tuple[int, dict[str, Any], Path | None]
"""``(run_id, overrides, working_dir)`` of one run; ``None`` runs in a scratch directory."""


class SharedEngine:
    """One engine host per process, fed in order by any thread, ``PIPELINE_DEPTH`` deep.

    Requests are answered strictly in the order they were submitted, whichever thread
    submitted them.

    A receiver thread waits for the answer to the head request (within its deadline);
    when the host is lost, the head request fails and the ones sent behind it, which
    never started, are sent again to a fresh host (all of them fail instead if the host
    never became ready). Hosts are started by the receiver thread only: a host dies with
    the thread that started it (Linux parent-death signal), and the receiver lives as
    long as the process.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._sent: deque[Ticket] = deque()
        self._host: EngineHost | None = None
        self._receiver: threading.Thread | None = None

    def submit(
        self,
        operation: str,
        arguments: tuple[Any, ...],
        timeout: float | None,
        engine_timeout: float,
    ) -> Ticket:
        """Queue one request behind every earlier one; returns at once."""
        with self._cond:
            ticket = Ticket(operation, arguments, timeout, engine_timeout, self._live_receiver())
            self._waiting.append(ticket)
            self._send()
            self._cond.notify_all()
        return ticket

    @property
    def pid(self) -> int | None:
        """Process id of the current host, if one is running."""
        with self._cond:
            return self._host.process.pid if self._host and self._host.alive else None

    def shutdown(self) -> None:
        """Stop the host (requests it was serving fail); the next request starts a fresh one."""
        with self._cond:
            host = self._host
        if host is not None:
            host.kill()

    def _live_receiver(self) -> threading.Thread:
        """The receiver thread; a dead one (its requests fail) is replaced."""
        if self._receiver is not None and self._receiver.is_alive():
            return self._receiver
        if self._receiver is not None:
            if self._host is not None:
                self._host.kill()
            dead = Answer(error=EngineLost(RECEIVER_DIED), host_lost=True)
            for ticket in (*self._sent, *self._waiting):
                ticket.resolve(dead)
            self._host, self._sent, self._waiting = None, deque(), deque()
        self._receiver = threading.Thread(
            target=self._receive, name="gmat-sweep-dask-engine", daemon=True
        )
        self._receiver.start()
        return self._receiver

    def _send(self) -> None:
        """Move waiting requests to a live host while fewer than PIPELINE_DEPTH are there.

        Without a live host nothing moves: the receiver starts a fresh one once nothing
        is left in flight, so a request is never answered by a host it was not sent to.
        """
        host = self._host
        if host is None or not host.alive:
            return
        while self._waiting and len(self._sent) < PIPELINE_DEPTH:
            ticket = self._waiting.popleft()
            with contextlib.suppress(OSError):  # a host that just died: the receiver sees EOF
                host.send(ticket.operation, ticket.arguments)
            if not self._sent and host.ready:
                ticket.begin()
            self._sent.append(ticket)

    def _start_host(self) -> None:
        """Start a fresh host for the waiting requests (receiver thread, lock held)."""
        if self._host is not None:
            self._host.kill()
        try:
            self._host = EngineHost()
        except Exception as exc:  # fork/exec failed (process or memory limits...)
            self._host = None
            failed = EngineLost(f"cannot start the GMAT engine process: {exc}")
            self._waiting.popleft().resolve(Answer(error=failed, host_lost=True, started=False))
            return
        self._send()

    def _receive(self) -> None:
        _never_preempt()
        while True:
            with self._cond:
                while not self._sent and not self._waiting:
                    self._cond.wait()
                if not self._sent:
                    self._start_host()
                    continue
                head, host = self._sent[0], self._host
            assert host is not None
            try:
                answer = host.answer(head)
            except Exception as exc:  # e.g. an answer that cannot be unpickled: never hang
                host.kill()
                reason = f"the reply path from the GMAT engine failed: {type(exc).__name__}: {exc}"
                answer = Answer(error=EngineLost(reason), host_lost=True)
            self._settle(head, answer)

    def _settle(self, head: Ticket, answer: Answer) -> None:
        """Hand ``answer`` to ``head`` and move the queue on."""
        with self._cond:
            self._sent.popleft()
            also_failed: list[Ticket] = []
            if answer.host_lost and answer.started:  # those behind never started: resend
                self._waiting.extendleft(reversed(self._sent))
                self._sent.clear()
            elif answer.host_lost:  # the host never became ready: nothing sent to it ran
                also_failed, self._sent = list(self._sent), deque()
            elif self._sent:
                self._sent[0].begin()
            self._send()
        for ticket in (head, *also_failed):
            ticket.resolve(answer)


def _never_preempt() -> None:
    """Make the calling thread SCHED_BATCH (Linux): its wake-ups never preempt the engine.

    The host's answer wakes this thread on the host's own CPU; a normal thread would
    preempt the host there (~0.6 ms per run), a batch thread waits its turn or for an
    idle CPU. Nothing here waits on this thread: the next request is already queued.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


@dataclass
class PendingRun:
    """A run queued in the engine host; :meth:`result` waits for it."""

    run_id: int
    ticket: Ticket
    scratch: Path | None

    def result(self) -> RunResult:
        """The run's result with normalised tables; removes its scratch directory."""
        try:
            raw = self.ticket.reply()
        except EngineError as failure:
            ended = time.time()
            started = self.ticket.started_at or ended
            raw = RunResult(self.run_id, "failed", started, ended, error=str(failure))
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
        return normalised(raw)


_engine = SharedEngine()


def start_runs(
    script: str,
    runs: Sequence[RunRequest],
    timeout: float | None,
    engine_timeout: float | None = None,
    *,
    hook: Hook | None = None,
    contexts: Sequence[dict[str, Any]] | None = None,
) -> list[PendingRun]:
    """Queue ``runs`` in this process's engine host, in order; returns at once.

    A run without a working directory gets a scratch directory here, removed when its
    result is collected. ``timeout`` counts from the moment the host could start the run
    and covers its postprocess ``hook`` too (each run's context in ``contexts``);
    ``engine_timeout`` bounds a fresh host's start (default: the ``engine-timeout`` setting).
    """
    start_limit = float(config.get("engine-timeout", engine_timeout))
    pending = []
    for i, (run_id, overrides, working_dir) in enumerate(runs):
        scratch = scratch_dir(run_id) if working_dir is None else None
        context = contexts[i] if contexts is not None else {}
        arguments = (script, run_id, overrides, working_dir or scratch, hook, context)
        ticket = _engine.submit("run", arguments, timeout, start_limit)
        pending.append(PendingRun(run_id, ticket, scratch))
    return pending


def start_request(operation: str, arguments: tuple[Any, ...], timeout: float | None) -> Ticket:
    """Queue one request of ``operation`` (see :mod:`~.enginehost`) in this process's
    engine host, answered within ``timeout``; returns at once."""
    return _engine.submit(operation, arguments, timeout, float(config.get("engine-timeout")))


def run_isolated(script: str, runs: Sequence[RunRequest], timeout: float | None) -> list[RunResult]:
    """Run ``runs`` in this process's engine host and wait: one result per run, in order."""
    return [run.result() for run in start_runs(script, runs, timeout)]


def check_isolated(
    script: str, fields: list[str], engine_timeout: float | None = None
) -> dict[str, Any]:
    """:func:`~gmat_sweep_dask.execute.engine.check_mission` in this process's engine host.

    The host must start and answer within ``engine_timeout`` each (default: the
    ``engine-timeout`` setting).
    """
    return start_check(script, fields, engine_timeout)()


def start_check(
    script: str, fields: list[str], engine_timeout: float | None = None
) -> Callable[[], dict[str, Any]]:
    """Queue :func:`check_isolated`'s request now; the returned call waits for its answer.

    The engine host starts (and bootstraps GMAT) while the caller does other work.
    """
    limit = float(config.get("engine-timeout", engine_timeout))
    ticket = _engine.submit("check", (script, fields), limit, limit)

    def answer() -> dict[str, Any]:
        try:
            return ticket.reply()
        except EngineError as failure:
            problem = f"the GMAT engine failed while checking the script: {failure}"
            return {"gmat": None, "values": {}, "reports": [], "errors": [problem]}

    return answer


def host_pid() -> int | None:
    """Process id of this process's engine host, if one is running."""
    return _engine.pid


def shutdown() -> None:
    """Stop this process's engine host (also called at interpreter exit)."""
    _engine.shutdown()


atexit.register(shutdown)

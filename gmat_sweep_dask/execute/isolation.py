"""Run GMAT in a child process of the Dask worker, so a crash or hang costs one run only.

Each worker process keeps one long-lived engine host (:mod:`gmat_sweep_dask.execute.enginehost`):
GMAT bootstraps once in it and stays warm across runs. A run that exceeds its timeout
gets the host killed (SIGKILL) and is recorded as failed with ``timeout``; a host that
dies mid-run (e.g. a GMAT segfault, exit 139) fails that run with the exit status. Either
way the runs queued behind it go to a fresh host. Requests go over a socketpair, not
stdin/stdout, so whatever GMAT prints cannot corrupt the protocol.

Requests from every thread of the process share one ordered queue (:class:`SharedEngine`)
and are pipelined: the next run is already queued in the host while the worker converts
the last result, removes its scratch directory, or writes the previous batch's files.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gmat_sweep_dask.execute.engine import RunResult, normalised, scratch_dir

PIPELINE_DEPTH = 3
"""Requests sent to the engine host at once: the running one and two more, so a busy
worker that reads an answer late (its receiver thread never preempts) never starves it."""

RunRequest = tuple[int, dict[str, Any], Path | None]
"""``(run_id, overrides, working_dir)`` of one run; ``None`` runs in a scratch directory."""


class EngineLost(Exception):
    """The engine host died, or was killed at its timeout, while serving a request."""


@dataclass(eq=False)
class Ticket:
    """One request to the engine host; :meth:`reply` waits for its answer."""

    operation: str
    arguments: tuple[Any, ...]
    timeout: float | None
    started_at: float = 0.0
    """When the host could start this request (it reached the head of the queue)."""
    _done: threading.Event = field(default_factory=threading.Event)
    _reply: Any = None
    _lost: EngineLost | None = None

    def begin(self) -> None:
        self.started_at = time.time()

    def resolve(self, reply: Any, lost: EngineLost | None) -> None:
        self._reply, self._lost = reply, lost
        self._done.set()

    def reply(self) -> Any:
        """The host's answer. Raises :class:`EngineLost` if the host was lost serving it."""
        self._done.wait()
        if self._lost is not None:
            raise self._lost
        return self._reply


class EngineHost:
    """A child Python process serving GMAT requests for this process."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gmat_sweep_dask.execute.enginehost", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())

    @property
    def alive(self) -> bool:
        """Whether the host process is still running."""
        return self.process.poll() is None and not self.conn.closed

    def hung(self, timeout: float | None) -> EngineLost:
        """Kill the host, which did not answer within ``timeout``; say why it was lost."""
        if self.process.poll() is not None:
            return self.died()
        self.kill()
        return EngineLost(f"timeout: no result after {timeout} s")

    def died(self) -> EngineLost:
        """Reap the host, which went away; say how it ended."""
        code = self.process.wait()
        self.conn.close()
        what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return EngineLost(f"GMAT engine crashed ({what})")

    def kill(self) -> None:
        """Stop the host at once."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if not self.conn.closed:
            self.conn.close()


class SharedEngine:
    """One engine host per process, fed in order by any thread, ``PIPELINE_DEPTH`` deep.

    Requests are answered strictly in the order they were submitted, whichever thread
    submitted them.

    A receiver thread waits for the answer to the head request (up to its timeout); when
    the host is lost, the head request fails and the ones sent behind it, which never
    started, are sent again to a fresh host.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._sent: deque[Ticket] = deque()
        self._host: EngineHost | None = None
        self._receiver: threading.Thread | None = None

    def submit(self, operation: str, arguments: tuple[Any, ...], timeout: float | None) -> Ticket:
        """Queue one request behind every earlier one; returns at once."""
        ticket = Ticket(operation, arguments, timeout)
        with self._cond:
            if self._receiver is None:
                self._receiver = threading.Thread(
                    target=self._receive, name="gmat-sweep-dask-engine", daemon=True
                )
                self._receiver.start()
            self._waiting.append(ticket)
            self._send()
        return ticket

    @property
    def pid(self) -> int | None:
        """Process id of the current host, if one is running."""
        with self._cond:
            return self._host.process.pid if self._host and self._host.alive else None

    def shutdown(self) -> None:
        """Stop the host (requests it was serving fail); the next request starts a fresh one."""
        with self._cond:
            if self._host is not None:
                self._host.kill()

    def _send(self) -> None:
        """Move waiting requests to the host while fewer than PIPELINE_DEPTH are there.

        A fresh host replaces a dead one only once nothing is left in flight, so a
        request is never answered by a host it was not sent to.
        """
        while self._waiting and len(self._sent) < PIPELINE_DEPTH:
            if not self._sent and (self._host is None or not self._host.alive):
                self._host = EngineHost()
            assert self._host is not None
            ticket = self._waiting.popleft()
            with contextlib.suppress(OSError):  # a host that just died: the receiver sees EOF
                self._host.conn.send((ticket.operation, ticket.arguments))
            if not self._sent:
                ticket.begin()
            self._sent.append(ticket)
            self._cond.notify_all()

    def _receive(self) -> None:
        _never_preempt()
        while True:
            with self._cond:
                while not self._sent:
                    self._cond.wait()
                head, host = self._sent[0], self._host
            assert host is not None
            reply, lost = None, None
            try:
                if host.conn.poll(_left(head)):
                    reply = host.conn.recv()
                else:
                    lost = host.hung(head.timeout)
            except (EOFError, OSError):
                lost = host.died()
            except Exception as exc:  # an answer that cannot be unpickled: never wait forever
                host.kill()
                lost = EngineLost(f"unreadable answer from the GMAT engine: {exc!r}")
            with self._cond:
                self._sent.popleft()
                if lost is not None:  # those sent behind the head never started: resend
                    self._waiting.extendleft(reversed(self._sent))
                    self._sent.clear()
                elif self._sent:
                    self._sent[0].begin()
                self._send()
            head.resolve(reply, lost)


def _never_preempt() -> None:
    """Make the calling thread SCHED_BATCH (Linux): its wake-ups never preempt the engine.

    The host's answer wakes this thread on the host's own CPU; a normal thread would
    preempt the host there (~0.6 ms per run), a batch thread waits its turn or for an
    idle CPU. Nothing here waits on this thread: the next request is already queued.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _left(ticket: Ticket) -> float | None:
    """Seconds ``ticket`` may still run before its timeout (None: no timeout)."""
    if ticket.timeout is None:
        return None
    return max(ticket.started_at + ticket.timeout - time.time(), 0.0)


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
        except EngineLost as lost:
            started = self.ticket.started_at
            raw = RunResult(self.run_id, "failed", started, time.time(), error=str(lost))
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
        return normalised(raw)


_engine = SharedEngine()


def start_runs(script: str, runs: Sequence[RunRequest], timeout: float | None) -> list[PendingRun]:
    """Queue ``runs`` in this process's engine host, in order; returns at once.

    A run without a working directory gets a scratch directory here, removed when its
    result is collected. ``timeout`` counts from the moment the host could start the run.
    """
    pending = []
    for run_id, overrides, working_dir in runs:
        scratch = scratch_dir(run_id) if working_dir is None else None
        ticket = _engine.submit("run", (script, run_id, overrides, working_dir or scratch), timeout)
        pending.append(PendingRun(run_id, ticket, scratch))
    return pending


def run_isolated(script: str, runs: Sequence[RunRequest], timeout: float | None) -> list[RunResult]:
    """Run ``runs`` in this process's engine host and wait: one result per run, in order."""
    return [run.result() for run in start_runs(script, runs, timeout)]


def check_isolated(script: str, fields: list[str]) -> dict[str, Any]:
    """:func:`~gmat_sweep_dask.execute.engine.check_mission` in this process's engine host."""
    try:
        return _engine.submit("check", (script, fields), None).reply()
    except EngineLost as lost:
        problem = f"the GMAT engine process died while loading the script ({lost})"
        return {"gmat": None, "values": {}, "reports": [], "errors": [problem]}


def host_pid() -> int | None:
    """Process id of this process's engine host, if one is running."""
    return _engine.pid


def shutdown() -> None:
    """Stop this process's engine host (also called at interpreter exit)."""
    _engine.shutdown()


atexit.register(shutdown)

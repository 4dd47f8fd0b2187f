"""One worker's engine host queue: requests from any thread, in order, pipelined.

:class:`SharedEngine` owns one engine host process at a time (started by its receiver
thread, so the host dies with it) and feeds it requests ``PIPELINE_DEPTH`` deep, so the
next run is already queued in the host while the worker receives the last result or
writes the previous batch's files. :mod:`~.isolation` keeps one per Dask worker.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from typing import Any

from gmat_sweep_dask.execute.hostlink import (
    STOPPED,
    Answer,
    EngineDiedStarting,
    EngineHost,
    EngineLost,
)
from gmat_sweep_dask.execute.ticket import RECEIVER_DIED, Ticket

PIPELINE_DEPTH = 3
"""Requests sent to the engine host at once: the running one and two more, so a busy
worker that reads an answer late (its receiver thread never preempts) never starves it."""


class SharedEngine:
    """One engine host for one worker, fed in order by any thread, ``PIPELINE_DEPTH`` deep.

    Requests are answered strictly in the order they were submitted, whichever thread
    submitted them.

    A receiver thread waits for the answer to the head request (within its deadline);
    when the host is lost, the head request fails and the ones sent behind it, which
    never started, are sent again to a fresh host (all of them fail instead if the host
    never became ready, unless it died starting for the first time in a row: they go
    to a fresh host again). Hosts are started by the receiver thread only: a host dies with
    the thread that started it (Linux parent-death signal), and the receiver lives as
    long as the process. :meth:`warm` starts a host before the first request.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._sent: deque[Ticket] = deque()
        self._host: EngineHost | None = None
        self._receiver: threading.Thread | None = None
        self._warm = False
        self._died_starting = False
        """Whether the last host died before it was ready (the next such death fails)."""

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

    def warm(self) -> None:
        """Start the host now, before any request, so GMAT bootstraps ahead of the first."""
        with self._cond:
            self._warm = True
            self._live_receiver()
            self._cond.notify_all()

    @property
    def pid(self) -> int | None:
        """Process id of the current host, if one is running."""
        with self._cond:
            return self._host.process.pid if self._host and self._host.alive else None

    def shutdown(self) -> None:
        """Stop the host: the request it was running and every one queued behind it fail
        (a stopped sweep runs nothing more, not even on a fresh host); the next request
        starts a fresh one."""
        stopped = Answer(error=EngineLost(STOPPED), host_lost=True, started=False)
        with self._cond:
            host, self._warm = self._host, False
            head = [self._sent.popleft()] if self._sent else []  # the receiver settles it
            doomed = [*self._sent, *self._waiting]
            self._sent, self._waiting = deque(head), deque()
        for ticket in doomed:
            ticket.resolve(stopped)
        if host is not None:
            host.stop()  # the receiver, reading from it, closes the link

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
            if self._waiting:
                self._waiting.popleft().resolve(Answer(error=failed, host_lost=True, started=False))
            return
        self._send()

    def _receive(self) -> None:
        _never_preempt()
        while True:
            with self._cond:
                while not self._sent and not self._waiting and not self._warm:
                    self._cond.wait()
                if not self._sent:  # no live host for the waiting requests, or warm()
                    warm_only, self._warm = not self._waiting, False
                    if not (warm_only and self._host is not None and self._host.alive):
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
        """Hand ``answer`` to ``head`` and move the queue on.

        A host that died before it was ready ran nothing: what was sent to it goes to one
        fresh host more, and fails only if that one dies starting too (a GMAT that cannot
        start must not restart forever).
        """
        with self._cond:
            also_failed: list[Ticket] = []
            if answer.host_lost and not answer.started:
                if isinstance(answer.error, EngineDiedStarting) and not self._died_starting:
                    self._died_starting = True
                    self._waiting.extendleft(reversed(self._sent))
                    self._sent.clear()
                    self._send()
                    return
                self._sent.popleft()
                also_failed, self._sent = list(self._sent), deque()
            else:
                self._died_starting = False
                self._sent.popleft()
                if answer.host_lost:  # those behind never started: resend
                    self._waiting.extendleft(reversed(self._sent))
                    self._sent.clear()
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

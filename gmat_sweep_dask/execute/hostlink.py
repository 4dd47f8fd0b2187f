"""The worker's handle on one engine host process: start it, read its answers, stop it.

Nothing here waits without a deadline: the host must say it is ready within
``engine_timeout`` of being started, and that it imported a postprocess hook within
``engine_timeout`` of reaching the first request carrying it; an answer must come within
the request's own timeout, counted from when the host could start the request (``None``:
a run without a timeout, which only the host's death ends); stopping or reaping a host waits at most
:data:`REAP_S` seconds. The host is started with this process's pid so that it dies with
it (:mod:`gmat_sweep_dask.execute.enginehost`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from gmat_sweep_dask.execute import scratch

REAP_S = 10.0
"""Longest wait for a killed or departing host process to be reaped."""

POLL_LIMIT_S = 86400.0
"""Longest single wait on the link: ``poll()`` takes at most about 24.8 days (2**31 ms),
so a longer timeout (``--timeout 1e9``, a user's "no limit") is waited in parts."""

STOPPED = "the GMAT engine was stopped (the sweep is stopping)"
"""Why a request failed whose host :meth:`EngineHost.stop` stopped (not a crash)."""


class EngineError(Exception):
    """A request to the engine host failed (the host itself may still be fine)."""


class EngineLost(EngineError):
    """The engine host died, was killed at a deadline, or broke the protocol."""


class EngineDiedStarting(EngineLost):
    """The engine host died before it was ready: nothing sent to it ran."""


@dataclass(frozen=True)
class Answer:
    """The outcome of one request: a value, a failed request, or a lost host."""

    value: Any = None
    error: EngineError | None = None
    host_lost: bool = False
    started: bool = True
    """False when the host never became ready: no request sent to it started."""


class Request(Protocol):
    """What :meth:`EngineHost.answer` needs of a queued request."""

    operation: str
    arguments: tuple[Any, ...]
    timeout: float | None
    engine_timeout: float

    def begin(self) -> None: ...

    def left(self) -> float | None: ...


class EngineHost:
    """A child Python process serving GMAT requests for this process."""

    def __init__(self) -> None:
        """Start the host process; raises ``OSError`` if it cannot be started."""
        self.temp = scratch.engine_temp_dir()  # its TMPDIR, removed once it is reaped
        parent, child = socket.socketpair()
        blocked = _block_sigint()  # until the host ignores it: a Ctrl-C while Python
        try:  # starts there would print a KeyboardInterrupt traceback
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gmat_sweep_dask.execute.enginehost",
                    str(child.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                env={**os.environ, "TMPDIR": str(self.temp)},
            )
        except BaseException:
            parent.close()
            shutil.rmtree(self.temp, ignore_errors=True)
            raise
        finally:
            child.close()
            if blocked is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.conn = Connection(parent.detach())
        self._closing = threading.Lock()
        self.started = time.monotonic()
        self.ready = False
        self._hooks: set[Any] = set()
        """The postprocess hooks the host has imported (see :func:`hook_of`)."""
        self.stopped = False
        """Whether :meth:`stop` ended the host: its death is then not reported as a crash."""

    @property
    def alive(self) -> bool:
        """Whether the host process is still running and connected."""
        return self.process.poll() is None and not self.conn.closed

    def send(self, operation: str, arguments: tuple[Any, ...]) -> None:
        """Queue one request in the host (raises ``OSError`` if it is gone)."""
        self.conn.send((operation, arguments))

    def answer(self, request: Request) -> Answer:
        """Wait for the answer to ``request``, the oldest one the host has not answered.

        Waits for the host to be ready first (then ``request`` begins). A lost host is
        killed and reaped before this returns.
        """
        try:
            if not self.ready:
                lost = self._await_ready(request.engine_timeout)
                if lost is not None:
                    return Answer(error=lost, host_lost=True, started=False)
                request.begin()
            hook = hook_of(request.operation, request.arguments)
            if hook is not None and hook not in self._hooks:  # the host imports it first
                self._hooks.add(hook)
                lost = self._await_begun(request.engine_timeout)
                if lost is not None:
                    return Answer(error=lost, host_lost=True)
                request.begin()
            if not _poll(self.conn, request.left):
                return Answer(error=self._hung(request.timeout), host_lost=True)
            message = self.conn.recv()
        except (EOFError, OSError):
            return Answer(error=self._died(), host_lost=True)
        match message:
            case ("reply", value):
                return Answer(value=value)
            case ("error", str(text)):
                return Answer(error=EngineError(text))
        return Answer(error=self._broke(message), host_lost=True)

    def kill(self) -> None:
        """Stop the host at once (waits at most :data:`REAP_S` for it to go) and close the
        link: for the thread that reads its answers (another thread calls :meth:`stop`)."""
        self._terminate()
        self._close()

    def stop(self) -> None:
        """Kill the host process and reap it (at most :data:`REAP_S`); safe from any thread.

        The request it was running fails with :data:`STOPPED`, not as a crash. The link
        stays open: the thread reading answers sees it end and closes it. Closing it here
        could race that thread's own close (one descriptor closed twice, the second time
        perhaps a file opened meanwhile) or its read of a reused descriptor.
        """
        self.stopped = True
        self._terminate()

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(REAP_S)
        self._tidy()

    def _tidy(self) -> None:
        """Remove the host's temporary directory once it has been reaped."""
        if self.process.returncode is not None:
            shutil.rmtree(self.temp, ignore_errors=True)

    def _close(self) -> None:
        with self._closing:  # Connection.close checks, then closes: not atomic on its own
            self.conn.close()

    def _await_ready(self, engine_timeout: float) -> EngineLost | None:
        if not _poll(self.conn, lambda: max(self.started + engine_timeout - time.monotonic(), 0)):
            if self.process.poll() is not None:
                return self._died_starting()
            self.kill()
            return EngineLost(f"the GMAT engine process did not start within {engine_timeout:g} s")
        try:
            message = self.conn.recv()
        except (EOFError, OSError):  # it died starting: no request sent to it ran
            return self._died_starting()
        if message != ("ready", None):
            return self._broke(message)
        self.ready = True
        return None

    def _died_starting(self) -> EngineLost:
        """Reap the host, which went away before it was ready; say how (stopped, or not)."""
        died = self._died()
        return died if self.stopped else EngineDiedStarting(f"{died} while starting")

    def _await_begun(self, engine_timeout: float) -> EngineLost | None:
        """Wait (at most ``engine_timeout``) for the host to import a request's hook."""
        if not _poll(self.conn, lambda: engine_timeout):
            if self.process.poll() is not None:
                return self._died()
            self.kill()
            return EngineLost(f"the postprocess hook did not load within {engine_timeout:g} s")
        message = self.conn.recv()
        return None if message == ("begun", None) else self._broke(message)

    def _hung(self, timeout: float | None) -> EngineLost:
        """Kill the host, which did not answer within ``timeout``; say why it was lost."""
        if self.process.poll() is not None:
            return self._died()
        self.kill()
        return EngineLost(f"timeout: no result after {timeout} s")

    def _died(self) -> EngineLost:
        """Reap the host, which went away; say how it ended."""
        try:
            code = self.process.wait(REAP_S)
        except subprocess.TimeoutExpired:  # it closed the socket but runs on
            self.kill()
            code = self.process.returncode
        self._tidy()
        self._close()
        if self.stopped:
            return EngineLost(STOPPED)
        if code is None:
            return EngineLost("GMAT engine stopped answering and could not be killed")
        if code >= 0:
            return EngineLost(f"GMAT engine crashed (exit code {code})")
        try:
            return EngineLost(f"GMAT engine crashed (signal {signal.Signals(-code).name})")
        except ValueError:  # a signal without a name
            return EngineLost(f"GMAT engine crashed (signal {-code})")

    def _broke(self, message: Any) -> EngineLost:
        """Kill the host, which sent something outside the protocol."""
        self.kill()
        return EngineLost(
            f"protocol error: unexpected message from the GMAT engine: {message!r:.200}"
        )


def hook_of(operation: str, arguments: tuple[Any, ...]) -> Any:
    """The postprocess hook a request carries (None: none). The host imports a hook before
    the first request that carries it and says ``("begun", None)``; that request's timeout
    counts from there, as a first request's counts from the host's ``("ready", None)``."""
    if operation == "run":
        return arguments[4]
    return arguments[0] if operation == "postprocess" else None


def _block_sigint() -> set[signal.Signals] | None:
    """Block SIGINT in this thread (a child started now inherits the mask, and keeps a
    Ctrl-C pending until it ignores SIGINT); return the previous mask (None: no masks)."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _poll(conn: Connection, left: Callable[[], float | None]) -> bool:
    """Whether ``conn`` has data before ``left()`` seconds (None: no deadline) run out,
    asking ``left`` again after each wait of at most :data:`POLL_LIMIT_S`."""
    while True:
        seconds = left()
        if seconds is not None and seconds <= POLL_LIMIT_S:
            return conn.poll(seconds)
        if conn.poll(POLL_LIMIT_S if seconds is not None else None):
            return True

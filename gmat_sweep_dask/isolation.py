"""Run GMAT in a child process of the Dask worker, so a crash or hang costs one run only.

Each worker process keeps one long-lived engine host (:mod:`gmat_sweep_dask.enginehost`):
GMAT bootstraps once in it and stays warm across runs. A run that exceeds its timeout
gets the host killed (SIGKILL) and is recorded as failed with ``timeout``; a host that
dies mid-run (e.g. a GMAT segfault, exit 139) fails that run with the exit status. Either
way the next run starts a fresh host. Requests go over a socketpair, not stdin/stdout,
so whatever GMAT prints cannot corrupt the protocol. A batch's requests are pipelined:
the next run is already queued in the host while the worker unpacks the last result.
"""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gmat_sweep_dask.engine import RunResult

PIPELINE_DEPTH = 2
"""Run requests queued in the engine host at once: the running one and the next."""

RunRequest = tuple[int, dict[str, Any], Path | None]
"""``(run_id, overrides, working_dir)`` of one run."""

_lock = threading.Lock()
_host: EngineHost | None = None


class EngineHost:
    """A child Python process serving GMAT runs for this process."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gmat_sweep_dask.enginehost", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())

    def run_pipelined(
        self, script: str, runs: Sequence[RunRequest], timeout: float | None
    ) -> list[RunResult]:
        """Run ``runs`` in order with the next request already queued in the host.

        While the worker unpacks one result, the host starts the next run, so the
        engine never waits on the worker. Returns the results of a prefix of ``runs``:
        all of them, or up to and including a run that timed out or crashed the host
        (this host is then dead and the caller continues on a fresh one). ``timeout``
        counts from the moment the host could start the run.
        """
        results: list[RunResult] = []
        sent = 0
        try:
            while len(results) < len(runs):
                while sent < len(runs) and sent - len(results) < PIPELINE_DEPTH:
                    self.conn.send(("run", (script, *runs[sent])))
                    sent += 1
                run_id = runs[len(results)][0]
                started = time.time()
                if not self.conn.poll(timeout):
                    results.append(self._hung(run_id, started, timeout))
                    return results
                results.append(self.conn.recv())
        except (EOFError, OSError):
            results.append(self._died(runs[len(results)][0], time.time()))
        return results

    def _hung(self, run_id: int, started: float, timeout: float | None) -> RunResult:
        if self.process.poll() is not None:
            return self._died(run_id, started)
        self.kill()
        return RunResult(
            run_id, "failed", started, time.time(), error=f"timeout: no result after {timeout} s"
        )

    def _died(self, run_id: int, started: float) -> RunResult:
        code = self.process.wait()
        self.conn.close()
        what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return RunResult(
            run_id, "failed", started, time.time(), error=f"GMAT engine crashed ({what})"
        )

    def check(self, script: str, fields: list[str]) -> dict[str, Any]:
        """Load ``script`` in the host and read ``fields`` (warms GMAT up as a side effect)."""
        try:
            self.conn.send(("check", (script, fields)))
            return self.conn.recv()
        except (EOFError, OSError):
            code = self.process.wait()
            problem = f"the GMAT engine process died while loading the script (exit {code})"
            return {"gmat": None, "values": {}, "reports": [], "errors": [problem]}

    @property
    def alive(self) -> bool:
        """Whether the host process is still running."""
        return self.process.poll() is None and not self.conn.closed

    def kill(self) -> None:
        """Stop the host at once."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if not self.conn.closed:
            self.conn.close()


def _current() -> EngineHost:
    global _host
    if _host is None or not _host.alive:
        _host = EngineHost()
    return _host


def check_isolated(script: str, fields: list[str]) -> dict[str, Any]:
    """:func:`~gmat_sweep_dask.engine.check_mission` in this process's engine host."""
    with _lock:
        return _current().check(script, fields)


def run_isolated(script: str, runs: Sequence[RunRequest], timeout: float | None) -> list[RunResult]:
    """Run ``runs`` (``(run_id, overrides, working_dir)`` each) in this process's engine
    host, in order, one result per run; a fresh host replaces one that crashed or hung.
    """
    results: list[RunResult] = []
    with _lock:
        while len(results) < len(runs):
            results += _current().run_pipelined(script, runs[len(results) :], timeout)
    return results


def shutdown() -> None:
    """Stop this process's engine host (called at interpreter exit)."""
    global _host
    if _host is not None:
        _host.kill()
        _host = None


atexit.register(shutdown)

"""Run GMAT in a child process of the Dask worker, so a crash or hang costs one run only.

Each worker process keeps one long-lived engine host (:mod:`gmat_sweep_dask.enginehost`):
GMAT bootstraps once in it and stays warm across runs. A run that exceeds its timeout
gets the host killed (SIGKILL) and is recorded as failed with ``timeout``; a host that
dies mid-run (e.g. a GMAT segfault, exit 139) fails that run with the exit status. Either
way the next run starts a fresh host. Requests go over a socketpair, not stdin/stdout,
so whatever GMAT prints cannot corrupt the protocol.
"""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gmat_sweep_dask.engine import RunResult

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

    def run(
        self,
        script: str,
        run_id: int,
        overrides: dict[str, Any],
        working_dir: Path | None,
        timeout: float | None,
    ) -> RunResult:
        """Run one mission in the host; a hang or crash becomes a failed result."""
        started = time.time()
        try:
            self.conn.send(("run", (script, run_id, overrides, working_dir)))
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError):
            return self._died(run_id, started)
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


def run_isolated(
    script: str,
    run_id: int,
    overrides: dict[str, Any],
    working_dir: Path | None,
    timeout: float | None,
) -> RunResult:
    """Run one mission in this process's engine host, starting a host if needed."""
    with _lock:
        return _current().run(script, run_id, overrides, working_dir, timeout)


def shutdown() -> None:
    """Stop this process's engine host (called at interpreter exit)."""
    global _host
    if _host is not None:
        _host.kill()
        _host = None


atexit.register(shutdown)

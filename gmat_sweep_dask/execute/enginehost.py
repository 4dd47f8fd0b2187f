"""Child process running GMAT for one Dask worker: ``python -m ...execute.enginehost FD PID``.

It never outlives its parent ``PID`` (the worker): on Linux the kernel SIGKILLs it when the
parent dies (``PR_SET_PDEATHSIG``), and a watchdog thread exits as soon as the worker's end
of the socket ``FD`` closes, even in the middle of a run. It ignores SIGINT, so a Ctrl-C
sent to the whole process group reaches only the driver, which stops the sweep; the
worker starts it with SIGINT blocked, so one sent while Python starts is not lost on it.

It bootstraps GMAT first and then says so with ``("ready", None)``: a run's timeout
counts from there, never through a cold start. It then answers requests received on
``FD`` until the socket closes. A request is a pickled ``(operation, arguments)``:
``("run", (script, run_id, overrides, working_dir, hook, context))`` is answered with
``("reply", RunResult)`` from :func:`~.engine.run_normalised`, its outputs normalised to
Arrow here (with the hook's metrics and files when there is a postprocess hook): an Arrow table
crosses the socket for a fraction of what a pickled pandas frame costs on both sides,
and 2 cores have no CPU to spare for the difference), ``("postprocess", (hook, result,
overrides, context))`` with the hook run on a result read back from the sweep's data
files (:func:`~.engine.postprocess_stored`), ``("check", (script, fields))``
with ``("reply", report)`` from :func:`~gmat_sweep_dask.execute.engine.check_mission`. A
request that raises, or whose answer cannot be sent, is answered with ``("error", text)``.
The first request to carry a given postprocess hook imports it first and then says
``("begun", None)``: a hook's import (scipy, astropy: seconds) is no more run time than
GMAT's bootstrap, or every run on a fresh host would time out importing it.
A crash or hang takes only this process with it; the worker side
(:mod:`gmat_sweep_dask.execute.isolation`) notices and starts a new one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from gmat_sweep_dask.execute.hostlink import hook_of

_PR_SET_PDEATHSIG = 1


def serve(fd: int, parent: int) -> None:
    """Bootstrap GMAT, say ready, answer requests on socket ``fd`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C held pending since we
    if hasattr(signal, "pthread_sigmask"):  # started (the worker blocked it) is dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with(parent, fd)
    with contextlib.suppress(AttributeError, OSError):  # not the SCHED_BATCH of a receiver
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))

    from gmat_sweep_dask.execute.engine import (
        bootstrap,
        check_mission,
        postprocess_stored,
        run_normalised,
    )

    with contextlib.suppress(Exception):  # reported by the first request, which needs GMAT
        bootstrap()
    operations = {
        "run": run_normalised,
        "check": check_mission,
        "postprocess": postprocess_stored,
    }
    conn = Connection(socket.socket(fileno=fd).detach())
    loaded: set[Any] = set()
    try:
        conn.send(("ready", None))
        while True:
            operation, arguments = conn.recv()
            hook = hook_of(operation, arguments)
            if hook is not None and hook not in loaded:  # its import is no run time
                loaded.add(hook)
                with contextlib.suppress(Exception):  # the run reports a hook that fails
                    hook.load()
                conn.send(("begun", None))
            try:
                conn.send(("reply", operations[operation](*arguments)))
            except (EOFError, OSError):
                raise
            except Exception as exc:  # e.g. an answer that cannot be pickled
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, OSError):  # the worker went away (closed, killed): so do we
        return


def _die_with(parent: int, fd: int) -> None:
    """Exit when process ``parent`` dies, or when its end of socket ``fd`` closes."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: the kernel kills us
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(0)
    hangup = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR | select.POLLNVAL
    poller = select.poll()
    poller.register(fd, hangup)

    def watch() -> None:
        while not any(events & hangup for _, events in poller.poll()):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="gmat-sweep-dask-watchdog", daemon=True).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))

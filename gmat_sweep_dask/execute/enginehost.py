"""Child process running GMAT for one Dask worker: ``python -m ...execute.enginehost FD``.

It bootstraps GMAT once (on its first request) and then serves requests received on the
socket ``FD`` until the socket closes. A request is a pickled ``(operation, arguments)``:
``("run", (script, run_id, overrides, working_dir))`` is answered with the
:class:`~.engine.RunResult` of :func:`~.engine.execute`
(outputs not yet normalised: the worker does that while this process runs the next
run), ``("check", (script, fields))`` with the report of
:func:`~gmat_sweep_dask.execute.engine.check_mission`. A crash or hang takes only
this process with it; the worker side (:mod:`gmat_sweep_dask.execute.isolation`) notices and
starts a new one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from multiprocessing.connection import Connection


def serve(fd: int) -> None:
    """Answer run requests on socket ``fd`` until the worker closes it."""
    from gmat_sweep_dask.execute.engine import check_mission, execute

    with contextlib.suppress(AttributeError, OSError):  # not the SCHED_BATCH of a receiver
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))

    operations = {"run": execute, "check": check_mission}
    sock = socket.socket(fileno=fd)
    conn = Connection(sock.detach())
    while True:
        try:
            operation, arguments = conn.recv()
            reply = operations[operation](*arguments)
            conn.send(reply)
        except (EOFError, OSError):  # the worker went away (closed, killed): so do we
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]))

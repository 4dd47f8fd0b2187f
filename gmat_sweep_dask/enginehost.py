"""Child process that runs GMAT for one Dask worker: ``python -m gmat_sweep_dask.enginehost FD``.

It bootstraps GMAT once (on its first run) and then serves run requests received on the
socket ``FD`` until the socket closes. Each request is a pickled
``(script, run_id, overrides, working_dir)``; each reply a pickled
:class:`~gmat_sweep_dask.engine.RunResult`. A crash or hang takes only this process with it;
the worker side (:mod:`gmat_sweep_dask.isolation`) notices and starts a new one.
"""

from __future__ import annotations

import socket
import sys
from multiprocessing.connection import Connection


def serve(fd: int) -> None:
    """Answer run requests on socket ``fd`` until the worker closes it."""
    from gmat_sweep_dask.engine import run_mission

    sock = socket.socket(fileno=fd)
    conn = Connection(sock.detach())
    while True:
        try:
            script, run_id, overrides, working_dir = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_mission(script, run_id, overrides, working_dir))


if __name__ == "__main__":
    serve(int(sys.argv[1]))

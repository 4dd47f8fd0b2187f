"""Dask worker preload of the LocalCluster gmat-sweep-dask starts: Ctrl-C is the driver's.

A Ctrl-C in a terminal sends SIGINT to the whole process group: the driver and the
worker processes its LocalCluster spawned. The driver stops the sweep, records what
finished and closes the cluster; a worker taking the signal itself would die mid-task
and print a traceback per worker. Loaded by name (``preload=[__name__]``), it makes the
worker process ignore SIGINT; SIGTERM still ends it.
"""

from __future__ import annotations

import signal
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by distributed in the worker process's main thread as the worker starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

"""Which Dask cluster a sweep runs on, and who owns (closes) it.

Precedence: an explicit ``client``; else a ``scheduler`` address to join; else the active
default client (``distributed.Client()`` created earlier in the session); else a new
``LocalCluster`` on 127.0.0.1 with one single-threaded worker process per core, closed
when the sweep ends. A client the caller passed or created is never closed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


@contextmanager
def connect(
    client: Client | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    announce: bool = True,
) -> Iterator[Client]:
    """Yield a connected client following the precedence above."""
    if client is not None:
        yield client
        return
    if scheduler is not None:
        with Client(scheduler) as joined:
            yield joined
        return
    active = _active_client()
    if active is not None:
        yield active
        return
    n_workers = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as local,
    ):
        if announce:
            print(
                f"gmat-sweep-dask: LocalCluster with {n_workers} workers; "
                f"dashboard {local.dashboard_link}",
                file=sys.stderr,
            )
        yield local


def _active_client() -> Client | None:
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None

"""Which Dask cluster a sweep runs on, who owns (closes) it, and how it is secured.

Precedence: an explicit ``client``; else a ``scheduler`` address to join (optionally over
TLS); else a ``dask-jobqueue`` cluster described by a :class:`ClusterSpec` (SLURM, PBS,
SGE, LSF; see :mod:`gmat_sweep_dask.execute.jobqueue`); else the active default client
(``distributed.Client()`` created earlier in the session); else a new ``LocalCluster`` on
127.0.0.1 with one single-threaded worker per core, its dashboard on 127.0.0.1. With GMAT
isolated in engine processes (the default) its workers are threads of the driver, each
feeding its own engine process: nothing to spawn but the engines, which start while the
driver checks the script (:func:`starts_local`). Without isolation they are processes
(GMAT must not run in the driver), which leave SIGINT to it (:mod:`~.workersignals`).
A cluster started here
is closed when the sweep ends and uses TLS with credentials made for it
(:mod:`gmat_sweep_dask.execute.security`) unless insecure; a client the caller passed or
created, or a scheduler it names, is used as it is and never closed; if its workers are
threads of this process, a stopped sweep stops the batches they run, as on its own cluster.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask import config
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.execute import inprocess, jobqueue, security
from gmat_sweep_dask.execute.clusterspec import ClusterSpec

if TYPE_CHECKING:  # imported when a cluster is needed: refusals before one stay fast
    from distributed import Client

WORKERS_PER_CORE = 8
"""Local worker processes per usable core at most: GMAT runs are CPU-bound, so more only
queue for the cores while holding memory."""
WORKER_MEMORY = 256 * 2**20
"""Memory a local worker process and its GMAT engine process need at least (about 250 MB
measured with the stand-in engine; a real GMAT engine needs more)."""

_PRELOAD = ["gmat_sweep_dask.execute.workersignals"]  # worker processes: Ctrl-C is the driver's

KEEP_LOST_WORKERS = "1h"
"""``distributed.deploy.lost-worker-timeout`` while a LocalCluster started here runs. A
LocalCluster gives up a worker for good when it is not back this long after it died
(default 15 s); its nanny restarts it, but on a busy machine, with a run that kills its
worker each time (``isolate=False``), restarts take longer and the cluster would lose
every worker and the sweep wait forever."""


@dataclass(frozen=True)
class TLS:
    """Client certificates for a TLS-secured scheduler (distributed's ``Security``)."""

    ca_file: str
    cert: str
    key: str | None = None

    def security(self) -> Any:
        """The ``distributed.security.Security`` object for these files."""
        from distributed.security import Security

        return Security(
            tls_ca_file=self.ca_file,
            tls_client_cert=self.cert,
            tls_client_key=self.key,
            require_encryption=True,
        )


@contextmanager
def connect(
    client: Client | None = None,
    workdir: Path | None = None,
    *,
    scheduler: str | None = None,
    spec: ClusterSpec | None = None,
    tls: TLS | None = None,
    announce: bool = True,
    threads: bool = False,
) -> Iterator[Client]:
    """Yield a connected client following the precedence in the module docstring.

    ``threads`` makes the workers of a new LocalCluster threads of this process (for
    isolated sweeps, whose GMAT runs in engine processes); else they are processes.

    ``workdir`` (default: the current directory) is where a dask-jobqueue cluster's
    workers find their TLS credentials: the sweep directory, which they must see anyway.
    ``announce`` prints the cluster banner on stderr: the scheduler's address, the jobs'
    resources and how to reach the dashboard.
    """
    if client is not None:
        with _stopped_with_the_sweep(client):
            yield client
        return
    import dask.config
    from distributed import Client, LocalCluster

    spec = spec or ClusterSpec()
    if scheduler is not None:
        if tls is None:
            security.warn_if_plain(scheduler, spec.insecure)
        with _join(scheduler, tls) as joined:
            yield joined
        return
    secure = security.wanted(spec.insecure)
    if spec.kind != "local":
        cluster = jobqueue.jobqueue_cluster(spec, secure=secure, workdir=workdir or Path.cwd())
        with cluster as started, Client(started) as queued:
            if announce:
                host = jobqueue.dashboard_address(spec).rsplit(":", 1)[0].strip("[]")
                tunnel = security.is_loopback(host)
                more = [jobqueue.describe(spec), _dashboard(queued, tunnel=tunnel)]
                _announce(f"{spec.kind} cluster", queued, secure, more)
            yield queued
        return
    active = _active_client()
    if active is not None:
        with _stopped_with_the_sweep(active):
            yield active
        return
    n_workers = local_workers(spec)
    kind = {"protocol": "tls://" if secure else "tcp://"} if threads else {"preload": _PRELOAD}
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": KEEP_LOST_WORKERS}),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=not threads,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
            security=security.temporary() if secure else None,
            **kind,
        ) as cluster,
        Client(cluster) as local,
    ):
        if announce:
            workers = f"{n_workers} worker" + ("" if n_workers == 1 else "s")
            _announce(f"LocalCluster with {workers}", local, secure, [_dashboard(local)])
        if not threads:
            yield local
            return
        with inprocess.workers_in_this_process():  # its batches give up before it closes
            yield local


def starts_local(client: Client | None, scheduler: str | None, spec: ClusterSpec | None) -> bool:
    """Whether :func:`connect` with these arguments starts a new LocalCluster."""
    if client is not None or scheduler is not None:
        return False
    if spec is not None and spec.kind != "local":
        return False
    return "distributed" not in sys.modules or _active_client() is None


def local_workers(spec: ClusterSpec | None) -> int:
    """How many workers a LocalCluster started for ``spec`` has (default: one per core).

    Raises:
        UsageError: more workers asked for than this machine can run (see
            :func:`check_local_workers`).
    """
    workers = spec.workers if spec is not None else None
    if workers is not None:
        check_local_workers(workers)
    return workers or os.cpu_count() or 1


def local_worker_limit() -> tuple[int, str]:
    """The most local worker processes this machine can run, and why: WORKERS_PER_CORE
    per usable core, and WORKER_MEMORY of the memory available now for each."""
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no CPU affinity on this platform
        cores = os.cpu_count() or 1
    available = psutil.virtual_memory().available
    limit = max(1, min(WORKERS_PER_CORE * cores, available // WORKER_MEMORY))
    why = (
        f"{WORKERS_PER_CORE} per usable core ({cores}) and {WORKER_MEMORY >> 20} MiB each of "
        f"the {available / 2**30:.1f} GiB of memory available"
    )
    return limit, why


def check_local_workers(workers: int) -> None:
    """Refuse, before anything starts, more local workers than this machine can run.

    Raises:
        UsageError: ``workers`` is above :func:`local_worker_limit`.
    """
    limit, why = local_worker_limit()
    if workers > limit:
        raise UsageError(
            f"--workers {workers}: more local workers than this machine can run; "
            f"at most {limit} here ({why})"
        )


@contextmanager
def _join(scheduler: str, tls: TLS | None) -> Iterator[Client]:
    """Connect to a running scheduler; a refusal or timeout is a one-line UsageError."""
    from distributed import Client

    credentials = tls.security() if tls else None
    timeout = config.get("connect-timeout")
    try:
        joined = Client(scheduler, security=credentials, timeout=timeout)
    except (OSError, TimeoutError, TypeError, ValueError) as exc:
        hint = "" if tls or not scheduler.startswith("tls://") else " (TLS needs --tls-* files)"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot connect to scheduler {scheduler}{hint}: {first}") from None
    with joined:
        yield joined


def _announce(what: str, client: Client, secure: bool, more: list[str]) -> None:
    """Print the banner: what runs where, how it is secured, then ``more`` lines."""
    address = client.scheduler.address
    how = "TLS, credentials made for this sweep" if secure else "no TLS: insecure"
    for line in [f"{what}, scheduler {address} ({how})", *more]:
        print(f"gmat-sweep-dask: {line}", file=sys.stderr)


def _dashboard(client: Client, *, tunnel: bool = False) -> str:
    """The dashboard link; with ``tunnel``, how to reach it from another machine by SSH."""
    try:
        import bokeh  # noqa: F401 - distributed serves its dashboard only with bokeh
    except ImportError:
        return "no dashboard (pip install 'gmat-sweep-dask[dashboard]')"
    port = client.scheduler_info()["services"]["dashboard"]
    if not tunnel:
        return f"dashboard {client.dashboard_link}"
    host = socket.gethostname()
    return (
        f"dashboard on {host} at http://127.0.0.1:{port}/status only; from your own machine: "
        f"ssh -N -L {port}:127.0.0.1:{port} {host}, then open http://localhost:{port}/status"
    )


@contextmanager
def _stopped_with_the_sweep(client: Client) -> Iterator[None]:
    """Around a sweep on the caller's ``client``: if its workers are threads of this process
    (``Client(processes=False)``), a stopped sweep stops the batches they still run, as a
    sweep's own LocalCluster does (:mod:`~.inprocess`), rather than each running on."""
    from distributed import LocalCluster

    cluster = getattr(client, "cluster", None)
    if not isinstance(cluster, LocalCluster) or cluster.processes:
        yield
        return
    with inprocess.workers_in_this_process(kept=True):
        yield


def _active_client() -> Client | None:
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None

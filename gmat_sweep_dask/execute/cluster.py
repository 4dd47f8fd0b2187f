"""Which Dask cluster a sweep runs on, and who owns (closes) it.

Precedence: an explicit ``client``; else a ``scheduler`` address to join (optionally over
TLS); else a ``dask-jobqueue`` cluster described by a :class:`ClusterSpec` (SLURM, PBS,
SGE, LSF), built from the usual ``jobqueue`` dask.config plus the spec's overrides; else
the active default client (``distributed.Client()`` created earlier in the session); else
a new ``LocalCluster`` on 127.0.0.1 with one single-threaded worker process per core
(its workers leave SIGINT to the driver: :mod:`~.workersignals`). A
cluster started here is closed when the sweep ends; a client the caller passed or created
is never closed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, LocalCluster

from gmat_sweep_dask import config
from gmat_sweep_dask.errors import UsageError

WORKERS_PER_CORE = 8
"""Local worker processes per usable core at most: GMAT runs are CPU-bound, so more only
queue for the cores while holding memory."""
WORKER_MEMORY = 256 * 2**20
"""Memory a local worker process and its GMAT engine process need at least (about 250 MB
measured with the stand-in engine; a real GMAT engine needs more)."""

JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
_ACCOUNT_NAMES = {"sge": "project", "lsf": "project"}


@dataclass(frozen=True)
class ClusterSpec:
    """How to build a cluster: ``kind`` is ``local`` or a dask-jobqueue scheduler name.

    ``jobs`` fixes the number of jobs; ``adapt=(min, max)`` scales between them instead.
    The other fields override dask-jobqueue's configured defaults when set.
    """

    kind: str = "local"
    workers: int | None = None
    jobs: int | None = None
    adapt: tuple[int, int] | None = None
    cores: int | None = None
    memory: str | None = None
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    job_extra: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


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
    *,
    scheduler: str | None = None,
    spec: ClusterSpec | None = None,
    tls: TLS | None = None,
    announce: bool = True,
) -> Iterator[Client]:
    """Yield a connected client following the precedence in the module docstring."""
    if client is not None:
        yield client
        return
    if scheduler is not None:
        with _join(scheduler, tls) as joined:
            yield joined
        return
    spec = spec or ClusterSpec()
    if spec.kind != "local":
        with _jobqueue_cluster(spec) as cluster, Client(cluster) as queued:
            _announce(announce, f"{spec.kind} cluster", queued)
            yield queued
        return
    active = _active_client()
    if active is not None:
        yield active
        return
    if spec.workers is not None:
        check_local_workers(spec.workers)
    n_workers = spec.workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
            preload=["gmat_sweep_dask.execute.workersignals"],  # Ctrl-C is the driver's
        ) as cluster,
        Client(cluster) as local,
    ):
        _announce(announce, f"LocalCluster with {n_workers} workers", local)
        yield local


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
    security = tls.security() if tls else None
    timeout = config.get("connect-timeout")
    try:
        joined = Client(scheduler, security=security, timeout=timeout)
    except (OSError, TimeoutError, TypeError, ValueError) as exc:
        hint = "" if tls or not scheduler.startswith("tls://") else " (TLS needs --tls-* files)"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot connect to scheduler {scheduler}{hint}: {first}") from None
    with joined:
        yield joined


def jobqueue_kwargs(spec: ClusterSpec) -> dict[str, Any]:
    """Keyword arguments for the dask-jobqueue cluster class of ``spec``.

    ``account`` becomes ``project`` for SGE and LSF, whose jobqueue classes call it so.
    Each job runs ``cores`` single-threaded worker processes (GMAT is one engine per
    process), and ``GMAT_ROOT`` is exported in the job script when it is set here.
    """
    kwargs: dict[str, Any] = dict(spec.options)
    for name in ("cores", "memory", "walltime", "queue", "account"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[_ACCOUNT_NAMES.get(spec.kind, name) if name == "account" else name] = value
    if spec.cores is not None:
        kwargs.setdefault("processes", spec.cores)
    if spec.job_extra:
        kwargs["job_extra_directives"] = list(spec.job_extra)
    prologue = list(kwargs.get("job_script_prologue", []))
    if os.environ.get("GMAT_ROOT"):
        prologue.append(f"export GMAT_ROOT={os.environ['GMAT_ROOT']}")
    if prologue:
        kwargs["job_script_prologue"] = prologue
    kwargs.setdefault("python", sys.executable)
    return kwargs


@contextmanager
def _jobqueue_cluster(spec: ClusterSpec) -> Iterator[Any]:
    if spec.kind not in JOBQUEUE:
        raise UsageError(f"--cluster {spec.kind!r}: expected local or one of {sorted(JOBQUEUE)}")
    try:
        import dask_jobqueue
    except ImportError:
        raise UsageError(
            f"--cluster {spec.kind} needs dask-jobqueue: pip install 'gmat-sweep-dask[jobqueue]'"
        ) from None
    cls = getattr(dask_jobqueue, JOBQUEUE[spec.kind])
    try:
        cluster = cls(**jobqueue_kwargs(spec))
    except (TypeError, ValueError) as exc:  # dask-jobqueue's complaints about its settings
        raise UsageError(f"--cluster {spec.kind}: {exc}") from None
    with cluster:
        if spec.adapt is not None:
            cluster.adapt(minimum_jobs=spec.adapt[0], maximum_jobs=spec.adapt[1])
        else:
            cluster.scale(jobs=spec.jobs or 1)
        yield cluster


def _announce(enabled: bool, what: str, client: Client) -> None:
    if not enabled:
        return
    try:
        import bokeh  # noqa: F401 - distributed serves its dashboard only with bokeh
    except ImportError:
        dashboard = "no dashboard (pip install 'gmat-sweep-dask[dashboard]')"
    else:
        dashboard = f"dashboard {client.dashboard_link}"
    print(f"gmat-sweep-dask: {what}; {dashboard}", file=sys.stderr)


def _active_client() -> Client | None:
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None

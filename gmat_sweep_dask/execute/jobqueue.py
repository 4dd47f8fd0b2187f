"""dask-jobqueue clusters for ``--cluster slurm|pbs|sge|lsf``: job resources, TLS, banner.

Job resources, in order of precedence: the :class:`ClusterSpec` (the command-line flags),
then dask-jobqueue's configuration (``jobqueue.<kind>.*``, e.g.
``~/.config/dask/jobqueue.yaml``), then gmat-sweep-dask's defaults of
:data:`DEFAULT_CORES` core and :data:`DEFAULT_MEMORY` per job. GMAT runs one
single-threaded engine per worker process, so a job runs as many single-threaded worker
processes as it has cores, unless ``processes`` is configured (``--cores`` always sets
both).

The scheduler runs in the driver's process and listens on the cluster network over TLS
with credentials made for this cluster (see :mod:`gmat_sweep_dask.execute.security`);
its dashboard listens on 127.0.0.1 of the driver's host only, unless
``jobqueue.<kind>.scheduler-options`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dask.config

from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.execute import security
from gmat_sweep_dask.execute.clusterspec import ClusterSpec

JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
DEFAULT_CORES = 1
DEFAULT_MEMORY = "2GB"
_ACCOUNT_NAMES = {"sge": "project", "lsf": "project"}
_DASHBOARD = "127.0.0.1:0"


def jobqueue_kwargs(spec: ClusterSpec) -> dict[str, Any]:
    """Keyword arguments for the dask-jobqueue cluster class of ``spec`` (without TLS).

    ``spec``'s fields override ``spec.options``; ``cores`` and ``memory`` fall back to
    the jobqueue configuration, then to this module's defaults; ``processes`` follows
    the cores unless configured. ``account`` becomes ``project`` for SGE and LSF, whose
    jobqueue classes call it so. ``GMAT_ROOT`` is exported in the job script when it is
    set here (after any configured ``job-script-prologue``), the workers run this Python
    interpreter unless ``python`` is configured, and the dashboard listens on 127.0.0.1
    unless ``scheduler-options`` say otherwise.
    """
    _cluster_class(spec.kind)  # dask-jobqueue's configuration defaults load with it
    kwargs: dict[str, Any] = dict(spec.options)
    for name in ("walltime", "queue", "account"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[_ACCOUNT_NAMES.get(spec.kind, name) if name == "account" else name] = value
    for name in _defaulted(spec):
        kwargs[name] = {"cores": DEFAULT_CORES, "memory": DEFAULT_MEMORY}[name]
    if spec.memory is not None:
        kwargs["memory"] = spec.memory
    if spec.cores is not None:
        kwargs["cores"] = spec.cores
        kwargs.setdefault("processes", spec.cores)
    elif _configured(spec.kind, "processes") is None:
        kwargs.setdefault("processes", kwargs.get("cores") or _configured(spec.kind, "cores"))
    if spec.job_extra:
        kwargs["job_extra_directives"] = list(spec.job_extra)
    prologue = list(
        kwargs.get("job_script_prologue") or _configured(spec.kind, "job-script-prologue") or []
    )
    if os.environ.get("GMAT_ROOT"):
        prologue.append(f"export GMAT_ROOT={os.environ['GMAT_ROOT']}")
    if prologue:
        kwargs["job_script_prologue"] = prologue
    kwargs["scheduler_options"] = {
        "dashboard_address": _DASHBOARD,
        **(_configured(spec.kind, "scheduler-options") or {}),
        **kwargs.get("scheduler_options", {}),
    }
    if _configured(spec.kind, "python") is None:
        kwargs.setdefault("python", sys.executable)
    return kwargs


@contextmanager
def jobqueue_cluster(spec: ClusterSpec, *, secure: bool, workdir: Path) -> Iterator[Any]:
    """Start the dask-jobqueue cluster of ``spec``, scaled or adaptive; close it on exit.

    With ``secure``, the cluster uses fresh TLS credentials whose worker half is handed
    to the jobs through a private directory in ``jobqueue.<kind>.shared-temp-directory``
    if configured, else in ``workdir`` (the sweep directory, which workers must see).
    """
    cls = _cluster_class(spec.kind)
    kwargs = jobqueue_kwargs(spec)
    with ExitStack() as stack:
        if secure and "security" not in kwargs:
            shared = _configured(spec.kind, "shared-temp-directory")
            parent = Path(os.path.expandvars(os.path.expanduser(shared))) if shared else workdir
            files = security.worker_files(security.temporary(), parent)
            kwargs["security"] = stack.enter_context(files)
        try:
            cluster = cls(**kwargs)
        except (TypeError, ValueError) as exc:  # dask-jobqueue's complaints about its settings
            raise UsageError(f"--cluster {spec.kind}: {exc}") from None
        stack.enter_context(cluster)
        if spec.adapt is not None:
            cluster.adapt(minimum_jobs=spec.adapt[0], maximum_jobs=spec.adapt[1])
        else:
            cluster.scale(jobs=spec.jobs or 1)
        yield cluster


def describe(spec: ClusterSpec) -> str:
    """The jobs and each job's resources, saying which values are our defaults."""
    kwargs = jobqueue_kwargs(spec)
    cores = kwargs.get("cores") or _configured(spec.kind, "cores")
    processes = kwargs.get("processes") or _configured(spec.kind, "processes")
    memory = kwargs.get("memory") or _configured(spec.kind, "memory")
    walltime = kwargs.get("walltime") or _configured(spec.kind, "walltime")
    if spec.adapt is not None:
        jobs = f"{spec.adapt[0]} to {spec.adapt[1]} {spec.kind} jobs (adaptive)"
    else:
        jobs = _plural(spec.jobs or 1, f"{spec.kind} job")
    line = (
        f"{jobs}, each {_plural(cores, 'core')}, {_plural(processes, 'worker process', 'es')}, "
        f"{memory} memory, walltime {walltime}"
    )
    defaulted = _defaulted(spec)
    if defaulted:
        names = " and ".join(defaulted)
        line += f" ({names}: gmat-sweep-dask's defaults; set --cores, --memory or jobqueue.yaml)"
    return line


def dashboard_address(spec: ClusterSpec) -> str:
    """Where the scheduler's dashboard listens (127.0.0.1 unless configured otherwise)."""
    return str(jobqueue_kwargs(spec)["scheduler_options"]["dashboard_address"])


def _defaulted(spec: ClusterSpec) -> list[str]:
    """Which of cores and memory neither ``spec`` nor the jobqueue configuration sets."""
    return [
        name
        for name in ("cores", "memory")
        if getattr(spec, name) is None
        and name not in spec.options
        and _configured(spec.kind, name) is None
    ]


def _configured(kind: str, key: str) -> Any:
    return dask.config.get(f"jobqueue.{kind}.{key}", None)


def _plural(count: Any, noun: str, suffix: str = "s") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}{suffix}"


def _cluster_class(kind: str) -> Any:
    if kind not in JOBQUEUE:
        raise UsageError(f"--cluster {kind!r}: expected local or one of {sorted(JOBQUEUE)}")
    try:
        import dask_jobqueue
    except ImportError:
        raise UsageError(
            f"--cluster {kind} needs dask-jobqueue: pip install 'gmat-sweep-dask[jobqueue]'"
        ) from None
    return getattr(dask_jobqueue, JOBQUEUE[kind])

"""What cluster a sweep asks for: :class:`ClusterSpec`, built by the CLI's cluster flags.

Read by :mod:`gmat_sweep_dask.execute.cluster` (which cluster to use or start) and
:mod:`gmat_sweep_dask.execute.jobqueue` (the jobs of a dask-jobqueue cluster).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ClusterSpec:
    """How to build a cluster: ``kind`` is ``local`` or a dask-jobqueue scheduler name.

    ``jobs`` fixes the number of jobs; ``adapt=(min, max)`` scales between them instead.
    The other job fields override dask-jobqueue's configured values when set.
    ``insecure`` (None: ``gmat-sweep-dask.insecure``) starts the cluster without TLS and
    silences the warning about a plain ``scheduler`` on another host.
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
    insecure: bool | None = None

"""Recording a sweep as it runs: batches submitted, one manifest entry per run, compaction.

:func:`record_runs` is the part of a run that needs the cluster: it folds in batches that
finished unrecorded, submits the pending runs through :class:`~.submit.Executor`, appends
each batch's entries to the manifest as they arrive (a signal is deferred until the
append is complete, so a line is never torn by Ctrl-C), and compacts at the end. The
call is one session of the sweep (:mod:`gmat_sweep_dask.store.sessions`): its beginning
and its end are recorded in the manifest header, the end even when the call is stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from gmat_sweep_dask import config
from gmat_sweep_dask.execute.interrupts import Guard
from gmat_sweep_dask.execute.progress import Progress
from gmat_sweep_dask.execute.result import SweepResult
from gmat_sweep_dask.execute.submit import BatchPlanner, Executor
from gmat_sweep_dask.execute.task import Batch
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store import sessions
from gmat_sweep_dask.store.compact import compact
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.reconcile import drop_records, reconcile


def record_runs(
    client: Any,
    manifest: mf.Manifest,
    writer: ManifestWriter,
    make_batch: Callable[[Sequence[int]], Batch],
    interrupts: Guard,
    *,
    started: str,
    progress: bool = True,
    retries: int | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[int, int, dict[str, Any]]:
    """Run every pending run of ``manifest`` on ``client``; return (executed, reconciled, session).

    ``executed`` counts the runs submitted by this call, ``reconciled`` the runs that had
    finished before a crash and were recorded from their commit records instead;
    ``session`` is this call's session (begun at ``started``, with the run ``options``
    that differ from the header's) as recorded at its end.
    """
    sessions.record_begin(manifest, writer, started, options)
    ran = [0]  # runs recorded so far by this call, kept up to date by _record
    try:
        executed, reconciled = _record(
            client, manifest, writer, make_batch, interrupts, ran, progress, retries
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the stopped session's end, if it can be written
            sessions.record_end(manifest, writer, started, ran[0])
        raise
    return executed, reconciled, sessions.record_end(manifest, writer, started, ran[0])


def _record(
    client: Any,
    manifest: mf.Manifest,
    writer: ManifestWriter,
    make_batch: Callable[[Sequence[int]], Batch],
    interrupts: Guard,
    ran: list[int],
    progress: bool,
    retries: int | None,
) -> tuple[int, int]:
    sweep_dir = manifest.path.parent
    reconciled = reconcile(manifest, writer)
    pending = manifest.pending()
    bar = Progress(len(pending), enabled=progress)

    def record(batch: Batch, outcomes: list[dict[str, Any]]) -> None:
        with interrupts.critical():
            writer.append(outcomes)
            for outcome in outcomes:
                manifest.add(outcome)
            drop_records(sweep_dir, [o.get("batch") for o in outcomes], batch.key)
            ran[0] += len(outcomes)
        bar.update([o["status"] for o in outcomes])

    Executor(
        client,
        BatchPlanner(
            pending,
            target_task_seconds=config.get("target-task-seconds"),
            min_task_seconds=config.get("min-task-seconds"),
            max_batch_runs=config.get("max-batch-runs"),
        ),
        make_batch,
        record,
        retries=config.get("retries", retries),
        window_per_worker=config.get("window-per-worker"),
        min_inflight=config.get("min-inflight"),
    ).run()
    bar.close()
    if config.get("compact"):
        compact(manifest, writer, client=client)
    return len(pending), reconciled


def settle(manifest: mf.Manifest, fsync: bool, started: str) -> SweepResult:
    """Tidy up a sweep with nothing left to run, without a cluster: fold in batches that
    finished unrecorded and compact; return the call's result (begun at ``started``)."""
    writer = ManifestWriter.reopen(manifest, fsync=fsync)
    try:
        reconciled = reconcile(manifest, writer)
        if config.get("compact"):
            compact(manifest, writer)
    finally:
        writer.close()
    wall = sessions.seconds({"started": started, "ended": sessions.now()}) or 0.0
    return SweepResult(manifest.path.parent, manifest.status_counts(), wall, 0, {}, reconciled)

"""The Dask task: run a batch of GMAT runs on a worker and persist their outputs.

A batch is a few runs executed one after another in one task (tiny runs amortise Dask's
per-task cost). Runs go through the worker's engine host process (crash and hang
isolation, optional per-run timeout) unless ``isolate`` is off. Each attempt appends a
``start`` line to ``data/_attempts/<key>`` (so an outcome knows how many times Dask ran
its batch) and a ``ran`` line once its runs are done, so the client can tell a worker
that died while running the batch's GMAT runs from one that died while it queued or wrote.
Its outputs are written as one Parquet file per GMAT output, then a
commit record (``data/_outcomes/<tag>.json``) is written atomically: a batch whose
commit record exists is durable even if the client never heard of it. The task returns
one outcome dict per run, packed into bytes (:mod:`~.outcomes`), which the client
appends to the manifest. Once its last run has started, the task leaves the worker's
thread slot to the next batch, so the engine runs on while it writes.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gmat_sweep_dask.errors import SweepDirError, SweepDirWriteError
from gmat_sweep_dask.execute import hooked, inprocess
from gmat_sweep_dask.execute.engine import RunResult
from gmat_sweep_dask.execute.outcomes import pack_outcomes
from gmat_sweep_dask.execute.postprocess import Hook
from gmat_sweep_dask.store import datafiles as outputs
from gmat_sweep_dask.store import layout

_WRITERS: dict[str, threading.Lock] = {}
"""By worker address: held by the one batch of that worker writing its files off its slot."""


@dataclass(frozen=True)
class Batch:
    """Everything a worker needs to run some runs of a sweep (small and picklable)."""

    key: str
    sweep_dir: str
    script: str
    run_ids: tuple[int, ...]
    overrides: tuple[dict[str, Any], ...]
    keep_raw: bool = False
    isolate: bool = True
    timeout: float | None = None
    fsync: bool = True
    """Make the batch's files durable (fsync) before its commit record and before returning."""
    previous_attempts: int = 0
    """Attempts at these runs made by earlier batches (a batch run again, or split up)."""
    hook: Hook | None = None
    """The postprocess hook run on each ok run (:mod:`~.postprocess`)."""
    contexts: tuple[dict[str, Any], ...] = ()
    """Each run's context (JSON), given to the hook and recorded; empty: none."""
    stored: tuple[dict[str, Any] | None, ...] = ()
    """Per run, the recorded GMAT outputs of a run only its hook failed: the hook alone runs
    again on them (None, or empty: the run runs in full)."""

    def context(self, index: int) -> dict[str, Any]:
        """The context of the batch's ``index``-th run (``{}`` without one)."""
        return dict(self.contexts[index]) if self.contexts else {}

    def again(self, previous_attempts: int) -> list[Batch]:
        """Each run of this batch as a fresh batch of its own (new task keys)."""
        return [
            dataclasses.replace(
                self,
                key=batch_key(run_id),
                run_ids=(run_id,),
                overrides=(overrides,),
                previous_attempts=previous_attempts,
                contexts=self.contexts[i : i + 1],
                stored=self.stored[i : i + 1],
            )
            for i, (run_id, overrides) in enumerate(zip(self.run_ids, self.overrides, strict=True))
        ]


def batch_key(first_run_id: int) -> str:
    """A fresh Dask task key for a batch starting at run ``first_run_id``."""
    return f"gmat-run-{first_run_id}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Attempts:
    """What the attempt log of a batch says: attempts started, and those that ran to the end."""

    started: int
    ran: int

    @property
    def died_running(self) -> int:
        """Attempts whose worker died while they ran GMAT (for a batch that never finished)."""
        return self.started - self.ran


_RAN = "ran "


def attempts_of(batch: Batch) -> Attempts:
    """Read the attempt log of ``batch`` (no log: no attempt started)."""
    try:
        lines = (Path(batch.sweep_dir) / layout.ATTEMPTS / batch.key).read_text().splitlines()
    except OSError:
        lines = []
    ran = sum(line.startswith(_RAN) for line in lines)
    return Attempts(len(lines) - ran, ran)


def run_batch(batch: Batch) -> bytes:
    """Run every run of ``batch``, write its outputs, return one outcome per run, packed
    (:func:`~.outcomes.unpack_outcomes` unpacks them).

    Raises:
        SweepDirError: this worker cannot see the sweep directory (no shared file system);
            nothing is written then, and the client records the batch's runs as failed.
        SweepDirWriteError: writing into the sweep directory failed (disk full,
            read-only...); no partial file is left, and the client stops the sweep.
        SweepStopped: its worker is a thread of a driver stopping the sweep; nothing is
            written (:mod:`~.inprocess`).
    """
    with inprocess.batch():  # counted, so that in-process workers stop cleanly
        return pack_outcomes(_run_batch(batch))


def _run_batch(batch: Batch) -> list[dict[str, Any]]:
    sweep_dir = Path(batch.sweep_dir)
    check_shared(sweep_dir)
    attempts = batch.previous_attempts + _log_attempt(sweep_dir, batch.key, "start ")
    work = hooked.Work.of(batch, sweep_dir)
    if not batch.isolate:
        results = work.run_here()
        _log_attempt(sweep_dir, batch.key, _RAN)
        with _slot_handed_on():
            return _persist(batch, sweep_dir, results, attempts, work)
    pending = work.start()
    results = [run.result() for run in pending[:-1]]
    with _slot_handed_on():  # the last run has started: the next batch can queue behind it
        results.append(pending[-1].result())
        _log_attempt(sweep_dir, batch.key, _RAN)
        return _persist(batch, sweep_dir, results, attempts, work)


def _persist(
    batch: Batch, sweep_dir: Path, results: list[RunResult], attempts: int, work: hooked.Work
) -> list[dict[str, Any]]:
    """Write the batch's output files (the hooks' files too), then its commit record;
    return its outcomes.

    Raises:
        SweepStopped: the batch's in-process worker is stopping; nothing is written.
    """
    inprocess.check()
    tag = outputs.batch_tag(batch.run_ids[0])
    worker = _worker_name()
    with _writing(sweep_dir):
        files = {r.run_id: hooked.write_files(sweep_dir, r, batch.fsync) for r in results}
        locations = _write_outputs(sweep_dir, [work.to_write(r) for r in results], tag, batch.fsync)
        outcomes = [
            _outcome(result, overrides, work.outputs(result, locations), worker, tag, attempts)
            | work.recorded(i, files[result.run_id])
            for i, (result, overrides) in enumerate(zip(results, batch.overrides, strict=True))
        ]
        outputs.write_outcomes(sweep_dir, tag, outcomes, fsync=batch.fsync)
    return outcomes


@contextmanager
def _slot_handed_on() -> Iterator[None]:
    """Let the worker start its next task while this one finishes its last run and writes.

    Inside a Dask worker the task secedes from the thread pool, so the next batch queues
    its runs in the engine host behind this one's last run, and the engine keeps running
    while this batch writes and fsyncs (it would otherwise idle through every batch's
    writes and Dask's hand-over to the next task). At most one batch per worker is
    past this point at a time: a second waits, holding its slot, so slow disks throttle
    the worker instead of piling up threads. Outside a worker this does nothing.
    """
    try:
        from distributed import get_worker, secede

        worker = get_worker()
    except (ImportError, ValueError):
        yield
        return
    with _WRITERS.setdefault(str(worker.address), threading.Lock()):
        secede()
        yield


@contextmanager
def _writing(sweep_dir: Path) -> Iterator[None]:
    """Turn an OSError while writing into the sweep directory into SweepDirWriteError."""
    try:
        yield
    except OSError as exc:
        raise SweepDirWriteError(
            f"worker {_worker_name()} cannot write to the sweep directory {sweep_dir}: "
            f"{exc.strerror or exc}"
        ) from None


def check_shared(sweep_dir: Path) -> None:
    """Raise unless this process sees the sweep directory the driver created."""
    if not (sweep_dir / layout.MANIFEST).is_file():
        raise SweepDirError(
            f"worker {_worker_name()} cannot see the sweep directory {sweep_dir} "
            "(no manifest there): workers and the driver must share a file system"
        )


def _log_attempt(sweep_dir: Path, key: str, what: str) -> int:
    """Append ``what`` (an attempt's start, or that it ran) to the attempt log of batch
    ``key``; return how many attempts started."""
    directory = sweep_dir / layout.ATTEMPTS
    with _writing(sweep_dir):
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / key, "a+", encoding="utf-8") as handle:
            handle.write(f"{what}{_worker_name()}\n")
            handle.flush()
            handle.seek(0)
            return sum(not line.startswith(_RAN) for line in handle.read().splitlines())


def _write_outputs(
    sweep_dir: Path, results: list[RunResult], tag: str, fsync: bool
) -> dict[int, dict[str, dict[str, Any]]]:
    """Write each output the batch's runs hold (a run failed by its hook keeps its GMAT
    outputs); map run_id → {"kind/name": {path, rows}}."""
    grouped: dict[tuple[str, str], list[tuple[int, Any]]] = {}
    for result in results:
        for key, normalised in result.tables.items():
            grouped.setdefault(key, []).append((result.run_id, normalised))
    locations: dict[int, dict[str, dict[str, Any]]] = {}
    for (kind, name), runs in grouped.items():
        tables = [table for _, table in runs]
        path = outputs.write_batch(sweep_dir, kind, name, tables, tag, fsync=fsync)
        for run_id, (table, _) in runs:
            locations.setdefault(run_id, {})[f"{kind}/{name}"] = {
                "path": path,
                "rows": table.num_rows,
            }
    return locations


def _outcome(
    result: RunResult,
    overrides: dict[str, Any],
    locations: dict[str, Any],
    worker: str,
    tag: str,
    attempts: int,
) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "batch": tag,
        "attempts": attempts,
        "status": result.status,
        "overrides": dict(overrides),
        "outputs": locations,
        "started": _iso(result.started),
        "ended": _iso(result.ended),
        "duration_s": round(result.ended - result.started, 6),
        "worker": worker,
        "error": result.error,
        "log_tail": result.log_tail,
    }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"

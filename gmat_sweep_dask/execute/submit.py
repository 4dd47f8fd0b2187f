"""Turn a sweep's pending runs into Dask tasks and keep the cluster busy.

Runs are grouped into batches by *guided self-scheduling*: a batch holds
``remaining / (guide × workers)`` runs, capped so that one task lasts about
``target_task_seconds`` once run times are known (the first tasks hold one run each).
Batches therefore start large and shrink near the end, so no worker idles behind a
straggler; they shrink to single runs, or to ``min_task_seconds`` of tiny runs. Tasks are
submitted through a sliding window of ``max(window_per_worker × workers, min_inflight)``
futures: the scheduler always has work queued (enough for adaptive clusters to see demand
and scale up; the floor applies once the first result has sized the batches), but a
100,000-run sweep never holds 100,000 futures.

Losses are distributed's to handle: a task that *raises* is retried ``retries`` times
(Dask's task retries); a task whose *worker dies* under it is rescheduled until
``distributed.scheduler.allowed-failures`` workers died with it, when Dask gives up
(``KilledWorker``). Then a batch of several runs is submitted again as one task per run,
so one run that kills its worker cannot fail its batch mates; a single run whose worker
died every time while running it is recorded failed ("worker died N times running it");
a single run that was only queued or writing when its workers died is submitted again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client, Future, KilledWorker, as_completed

from gmat_sweep_dask.errors import SweepDirWriteError
from gmat_sweep_dask.execute.outcomes import unpack_outcomes
from gmat_sweep_dask.execute.task import Batch, attempts_of, run_batch
from gmat_sweep_dask.store import layout, records

GUIDE = 2
_WORKER_POLL_S = 1.0


@dataclass
class BatchPlanner:
    """Hands out contiguous slices of ``pending`` sized by guided self-scheduling."""

    pending: Sequence[int]
    target_task_seconds: float = 0.5
    min_task_seconds: float = 0.0
    max_batch_runs: int = 256
    position: int = 0
    run_seconds: float | None = None

    @property
    def remaining(self) -> int:
        """Runs not yet handed out."""
        return len(self.pending) - self.position

    def next_batch(self, workers: int) -> Sequence[int] | None:
        """The next run ids to submit as one task, or None when all are handed out."""
        if self.remaining <= 0:
            return None
        size = math.ceil(self.remaining / (GUIDE * max(1, workers)))
        if self.run_seconds is None:
            cap = 1
        else:
            per_run = max(self.run_seconds, 1e-6)
            cap = int(self.target_task_seconds / per_run)
            size = max(size, math.ceil(self.min_task_seconds / per_run))
        size = max(1, min(size, cap, self.max_batch_runs))
        ids = self.pending[self.position : self.position + size]
        self.position += size
        return ids

    def observe(self, runs: int, seconds: float) -> None:
        """Fold a finished task's per-run time into the estimate (moving average)."""
        if runs <= 0:
            return
        per_run = seconds / runs
        if self.run_seconds is None:
            self.run_seconds = per_run
        else:
            self.run_seconds = 0.7 * self.run_seconds + 0.3 * per_run


@dataclass
class Executor:
    """Submits batches through a sliding window and reports outcomes as they arrive."""

    client: Client
    planner: BatchPlanner
    make_batch: Callable[[Sequence[int]], Batch]
    on_outcomes: Callable[[Batch, list[dict[str, Any]]], None]
    retries: int = 2
    window_per_worker: int = 2
    min_inflight: int = 64
    _inflight: dict[str, Batch] = field(default_factory=dict)
    _workers: int = 1
    _polled: float = 0.0

    def run(self) -> None:
        """Run every pending run; returns when all outcomes were handed to ``on_outcomes``.

        On any exception (Ctrl-C included) the tasks still queued are cancelled before
        the exception propagates; outcomes already delivered stay delivered.
        """
        completed = as_completed(loop=self.client.loop)
        try:
            self._fill(completed)
            for done in completed.batches():
                for future, result in zip(done, self._results(done), strict=True):
                    batch = self._inflight.pop(future.key)
                    if result is not None:
                        self.planner.observe(len(result), sum(o["duration_s"] for o in result))
                        self.on_outcomes(batch, result)
                    elif (again := self._killed_again(batch, future)) is not None:
                        for single in again:
                            self._submit(single, completed)
                    else:
                        self.on_outcomes(batch, self._lost(batch, future))
                    self._fill(completed)
        except BaseException:
            self.client.cancel(list(completed.futures), force=True)
            raise

    def _results(self, done: list[Future]) -> list[list[dict[str, Any]] | None]:
        """The outcomes of each future of ``done``; None for one that failed or was cancelled.

        Gathered here, tolerating errors, not by ``as_completed(with_results=True)``: there a
        result lost with its worker before it was fetched, whose recomputation then fails,
        is never delivered and the sweep waits forever (dask/distributed#7331). Here such a
        future is waited for again and comes back None, failed. Every future of ``done`` is
        gathered whatever its status now: one that finished and was then lost with its
        worker (status ``lost`` or ``pending`` by now) is recomputed, and its outcome is
        the recomputation's, not a failure.
        """
        got = self.client.gather({f.key: f for f in done}, errors="skip")
        packed = [got.get(f.key) for f in done]  # a skipped one: absent, or None
        return [None if p is None else unpack_outcomes(p) for p in packed]

    def _fill(self, completed: as_completed) -> None:
        floor = self.min_inflight if self.planner.run_seconds is not None else 1
        window = max(self.window_per_worker * self._worker_count(), floor)
        while len(self._inflight) < window:
            ids = self.planner.next_batch(self._workers)
            if ids is None:
                return
            self._submit(self.make_batch(ids), completed)

    def _submit(self, batch: Batch, completed: as_completed) -> None:
        future = self.client.submit(
            run_batch, batch, key=batch.key, pure=False, retries=self.retries
        )
        self._inflight[future.key] = batch
        completed.add(future)

    @staticmethod
    def _killed_again(batch: Batch, future: Future) -> list[Batch] | None:
        """The batches to run instead of ``batch``, whose workers kept dying (KilledWorker):
        each of its runs alone, unless it is one run that was running every time its worker
        died (None: it is recorded failed). Its attempt log is removed."""
        if not isinstance(_error_of(future), KilledWorker):
            return None
        attempts = attempts_of(batch)
        killer = len(batch.run_ids) == 1 and attempts.died_running >= attempts.started > 0
        if killer:
            return None
        (Path(batch.sweep_dir) / layout.ATTEMPTS / batch.key).unlink(missing_ok=True)
        return batch.again(batch.previous_attempts + attempts.started)

    def _worker_count(self) -> int:
        now = time.monotonic()
        if now - self._polled > _WORKER_POLL_S:
            self._workers = max(1, sum(self.client.nthreads().values()))
            self._polled = now
        return self._workers

    @staticmethod
    def _lost(batch: Batch, future: Future) -> list[dict[str, Any]]:
        """Failed outcomes for a batch whose task itself failed (after Dask's retries), or
        for the run whose workers died every time while running it.

        Raises:
            SweepDirWriteError: the task could not write into the sweep directory; the
                sweep stops rather than fail every remaining run the same way.
        """
        error = _error_of(future)
        if isinstance(error, SweepDirWriteError):
            raise error
        attempts = attempts_of(batch)
        if isinstance(error, KilledWorker):
            allowed = error.allowed_failures
            deaths = attempts.died_running
            text = (
                f"worker died {deaths} time{'s' if deaths != 1 else ''} running it "
                f"(distributed.scheduler.allowed-failures={allowed}); "
                f"the last was {error.last_worker.address}"
            )
        else:
            text = f"task failed: {type(error).__name__}: {error}"
        return [
            records.unrun_failure(
                run_id, overrides, text, attempts=batch.previous_attempts + attempts.started
            )
            | ({"context": batch.context(i)} if batch.contexts else {})
            for i, (run_id, overrides) in enumerate(
                zip(batch.run_ids, batch.overrides, strict=True)
            )
        ]


def _error_of(future: Future) -> BaseException:
    """The exception a failed (or cancelled) future ended with."""
    try:
        return future.exception()
    except Exception as exc:  # cancelled futures raise on .exception()
        return exc

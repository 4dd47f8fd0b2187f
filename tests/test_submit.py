"""Guided batch planning (every run exactly once, in order, batches shrinking at the end)
and the executor's delivery of every outcome, even of a result lost with its worker."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cloudpickle
from distributed import Client, LocalCluster
from hypothesis import given
from hypothesis import strategies as st

from gmat_sweep_dask.execute import submit
from gmat_sweep_dask.execute.outcomes import pack_outcomes
from gmat_sweep_dask.execute.submit import BatchPlanner, Executor
from gmat_sweep_dask.execute.task import Batch, batch_key


@given(
    n=st.integers(1, 3000),
    workers=st.integers(1, 64),
    per_run=st.floats(1e-4, 2.0),
    shortest=st.floats(0.0, 1.0),
)
def test_planner_hands_out_every_run_once_in_order(
    n: int, workers: int, per_run: float, shortest: float
) -> None:
    planner = BatchPlanner(
        range(n), target_task_seconds=0.5, min_task_seconds=shortest, max_batch_runs=256
    )
    handed: list[int] = []
    sizes = []
    while (batch := planner.next_batch(workers)) is not None:
        handed.extend(batch)
        sizes.append(len(batch))
        planner.observe(len(batch), per_run * len(batch))
    assert handed == list(range(n))
    assert max(sizes) <= 256
    assert sizes[0] == 1  # nothing is known about run time before the first result


def test_batches_grow_for_fast_runs_and_shrink_to_one_at_the_end() -> None:
    planner = BatchPlanner(range(10_000), target_task_seconds=0.5, max_batch_runs=256)
    planner.observe(1, 0.005)
    sizes = []
    while (batch := planner.next_batch(2)) is not None:
        sizes.append(len(batch))
    assert sizes[0] == 100  # 0.5 s / 5 ms
    assert sizes[-1] == 1
    assert sizes == sorted(sizes, reverse=True)


def test_tiny_runs_end_in_batches_lasting_min_task_seconds_not_single_runs() -> None:
    planner = BatchPlanner(range(200), target_task_seconds=1.0, min_task_seconds=0.02)
    planner.observe(1, 0.0025)
    sizes = []
    while (batch := planner.next_batch(2)) is not None:
        sizes.append(len(batch))
    assert sum(sizes) == 200
    assert min(sizes[:-1]) == 8  # 0.02 s / 2.5 ms; only the remainder is smaller
    assert sizes == sorted(sizes, reverse=True)


def test_slow_runs_get_one_run_per_task() -> None:
    planner = BatchPlanner(list(range(50)), target_task_seconds=0.5)
    planner.observe(1, 2.0)
    assert len(planner.next_batch(2)) == 1


@contextmanager
def _one_worker_cluster() -> Iterator[tuple[LocalCluster, Client]]:
    """A one-worker process cluster whose worker can unpickle this module's functions."""
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    try:
        with (
            LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield cluster, client
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


class _KillsTheWorkerThatSendsIt:
    """A task result whose serialisation, when the driver fetches it, kills the worker."""

    def __reduce__(self) -> Any:
        os._exit(1)


def _finishes_then_fails_when_recomputed(batch: Batch) -> Any:
    """Stands in for ``run_batch``: the first attempt finishes with a result that is lost
    with its worker as the driver fetches it; the recomputation Dask then starts fails."""
    first = Path(batch.sweep_dir) / f"{batch.key}.ran"
    if first.exists():
        raise RuntimeError("the recomputation failed")
    first.touch()
    return _KillsTheWorkerThatSendsIt()


def test_a_result_lost_with_its_worker_whose_recomputation_fails_is_delivered_failed(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """dask/distributed#7331: ``as_completed(with_results=True)`` never delivers such a
    future, and the sweep waited for it forever (seen once in a full CI run)."""
    monkeypatch.setattr(submit, "run_batch", _finishes_then_fails_when_recomputed)
    outcomes: dict[int, dict[str, Any]] = {}

    def make_batch(ids: Sequence[int]) -> Batch:
        return Batch(
            batch_key(ids[0]), str(tmp_path), "unused.script", tuple(ids), ({},) * len(ids)
        )

    with _one_worker_cluster() as (_, client):
        executor = Executor(
            client,
            BatchPlanner([0]),
            make_batch,
            lambda _, delivered: outcomes.update({o["run_id"]: o for o in delivered}),
            retries=0,
        )
        running = threading.Thread(target=executor.run, daemon=True)
        running.start()
        running.join(120)
        assert not running.is_alive(), "the executor waits forever for the lost result"
    assert list(outcomes) == [0]
    assert outcomes[0]["status"] == "failed"
    assert outcomes[0]["error"] == "task failed: RuntimeError: the recomputation failed"


def _outcome_of_attempt(batch: Batch) -> bytes:
    """Stands in for ``run_batch``: one ok outcome naming the attempt that made it."""
    attempt = Path(batch.sweep_dir) / f"{batch.key}.attempts"
    with attempt.open("a") as log:
        log.write("x")
    return pack_outcomes([{"run_id": batch.run_ids[0], "attempt": attempt.stat().st_size}])


def test_a_result_lost_with_its_worker_after_it_finished_is_the_recomputations(
    tmp_path: Path,
) -> None:
    """A future can finish, be handed out by ``as_completed`` and then be lost with its
    worker before its result is fetched (seen in a CI run: an innocent run recorded
    ``task failed: NoneType: None`` while Dask recomputed it successfully)."""
    batch = Batch(batch_key(7), str(tmp_path), "unused.script", (7,), ({},))
    with _one_worker_cluster() as (cluster, client):
        future = client.submit(_outcome_of_attempt, batch, key=batch.key, pure=False)
        future.exception()  # wait until it finished
        (holder,) = client.who_has([future])[future.key]
        nanny = next(n for n in cluster.workers.values() if n.worker_address == holder)
        os.kill(nanny.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while future.status == "finished" and time.monotonic() < deadline:
            time.sleep(0.01)  # no public event for "lost": poll the status
        assert future.status in ("lost", "pending"), future.status
        executor = Executor(client, BatchPlanner([]), lambda _: batch, lambda *_: None)
        (result,) = executor._results([future])
    assert result == [{"run_id": 7, "attempt": 2}]

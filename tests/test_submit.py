"""Guided batch planning: every run exactly once, in order, batches shrinking at the end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gmat_sweep_dask.execute.submit import BatchPlanner


@given(n=st.integers(1, 3000), workers=st.integers(1, 64), per_run=st.floats(1e-4, 2.0))
def test_planner_hands_out_every_run_once_in_order(n: int, workers: int, per_run: float) -> None:
    planner = BatchPlanner(range(n), target_task_seconds=0.5, max_batch_runs=256)
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


def test_slow_runs_get_one_run_per_task() -> None:
    planner = BatchPlanner(list(range(50)), target_task_seconds=0.5)
    planner.observe(1, 2.0)
    assert len(planner.next_batch(2)) == 1

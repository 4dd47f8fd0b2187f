"""Pending runs are ranges: a 10^12-run design costs memory only for what is recorded."""

from __future__ import annotations

import tracemalloc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gmat_sweep_dask.execute.contexts import PerRun, contexts_for
from gmat_sweep_dask.execute.submit import BatchPlanner
from gmat_sweep_dask.store.pending import PendingRuns


def test_a_huge_design_with_some_runs_recorded_is_a_few_ranges() -> None:
    tracemalloc.start()
    try:
        pending = PendingRuns.excluding(10**12, [*range(1000), 5000, 10**12 - 1])
        planner = BatchPlanner(pending, target_task_seconds=1.0, max_batch_runs=256)
        first = planner.next_batch(workers=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(pending) == 10**12 - 1002
    assert pending.ranges == [(1000, 5000), (5001, 10**12 - 1)]
    assert list(first) == [1000]
    assert list(pending.take(3999, 3)) == [4999, 5001, 5002]
    assert peak < 5 * 2**20  # bytes: nothing proportional to the design


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=300),
    st.sets(st.integers(min_value=-5, max_value=320)),
    st.integers(min_value=0, max_value=320),
    st.integers(min_value=0, max_value=50),
)
def test_ranges_agree_with_the_plain_list(count: int, done: set, start: int, size: int) -> None:
    pending = PendingRuns.excluding(count, done)
    plain = [i for i in range(count) if i not in done]
    assert len(pending) == len(plain) and list(pending) == plain
    assert pending[start : start + size].tolist() == plain[start : start + size]
    assert pending.take(start, size).dtype == np.int64
    assert [i in pending for i in range(-2, count + 2)] == [
        i in plain for i in range(-2, count + 2)
    ]


def test_a_huge_sweep_without_contexts_does_not_walk_its_runs_before_it_starts(
    tmp_path, monkeypatch
) -> None:
    """``run --grid 'Sat.SMA=7000:8000:1000000' --grid 'Sat.ECC=0:0.1:1000000'`` (10^12
    runs) sat silent for hours before its first run: working out each run's context went
    through every pending run id, though no run had one."""

    def walked(self):
        raise AssertionError("went through every pending run")

    monkeypatch.setattr(PendingRuns, "__iter__", walked)
    per_run = PerRun()
    per_run.prepare(tmp_path, None, PendingRuns.excluding(10**12, []))
    assert per_run.contexts == {}
    recorded = {3: {"status": "failed", "context": {"a": 1}}, 5: {"status": "ok", "context": {}}}
    assert contexts_for(None, PendingRuns.excluding(10**12, [5]), recorded) == {3: {"a": 1}}

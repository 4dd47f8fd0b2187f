"""The engine host: pipelined runs, and a crash or hang costing exactly one run."""

from __future__ import annotations

import os
from pathlib import Path

from gmat_sweep_dask import isolation


def test_pipelined_runs_survive_a_crash_and_a_hang_in_the_middle(fault_script: Path) -> None:
    faults = [0, 2, 0, 3, 0, 0]  # 2: the engine segfaults; 3: it hangs
    runs = [
        (run_id, {"StandinFault.Value": fault, "Sat.SMA": 7000.0 + run_id}, None)
        for run_id, fault in enumerate(faults)
    ]
    try:
        first = isolation._current().process.pid
        results = isolation.run_isolated(str(fault_script), runs, timeout=3.0)
        last = isolation._current().process.pid
        alone = {
            run[0]: isolation.run_isolated(str(fault_script), [run], None)[0] for run in runs[4:]
        }
    finally:
        isolation.shutdown()
    assert [r.run_id for r in results] == list(range(len(faults)))
    assert [r.status for r in results] == ["ok", "failed", "ok", "failed", "ok", "ok"]
    assert "crashed (signal SIGSEGV)" in results[1].error
    assert results[3].error.startswith("timeout")
    for run_id, single in alone.items():  # pipelined results are each run's own
        assert results[run_id].tables.keys() == single.tables.keys()
        for key, (table, _) in single.tables.items():
            assert results[run_id].tables[key][0].equals(table)
    assert (
        not results[4]
        .tables[("report", "Positions")][0]
        .equals(results[5].tables[("report", "Positions")][0])
    )
    assert first != last  # two hosts were replaced on the way
    assert os.getpid() not in (first, last)

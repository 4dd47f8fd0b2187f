"""Worker loss: distributed's allowed-failures decides, and a poisonous run fails alone."""

from __future__ import annotations

from pathlib import Path

import dask.config
import pandas as pd

from gmat_sweep_dask import Manifest, Sweep
from gmat_sweep_dask.design import Samples
from gmat_sweep_dask.execute.clusterspec import ClusterSpec


def test_a_run_that_kills_its_worker_every_time_fails_alone_with_the_reason(
    fault_script: Path, tmp_path: Path
) -> None:
    """Without isolation the stand-in's segfault takes the Dask worker down, every time
    (on the LocalCluster gmat-sweep-dask starts, which keeps restarting its workers)."""
    poison = 9
    faults = [2 if run_id == poison else 0 for run_id in range(16)]
    table = pd.DataFrame({"StandinFault.Value": faults, "Sat.SMA": [7000.0 + i for i in range(16)]})
    out = tmp_path / "s"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):  # read by its scheduler
        result = Sweep(fault_script, Samples(table), out, isolate=False).run(
            cluster=ClusterSpec(workers=2), progress=False
        )
    entries = Manifest.load(out / "manifest.jsonl", full=True).entries
    failed = {r: e["error"] for r, e in entries.items() if e["status"] != "ok"}
    assert list(failed) == [poison], failed  # its batch mates were run again, alone
    assert failed[poison].startswith(
        "worker died 2 times running it (distributed.scheduler.allowed-failures=1)"
    )
    assert entries[poison]["attempts"] >= 2  # every start of it, counted where it ran
    assert result.counts == {"ok": 15, "failed": 1}

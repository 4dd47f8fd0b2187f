"""The worker task: the next batch feeds the engine while the previous one writes."""

from __future__ import annotations

import itertools
import json
import os
from datetime import datetime
from pathlib import Path

import dask.config

from gmat_sweep_dask import Manifest, sweep


def _slow_writes(log: str | None) -> None:
    """On a worker: make every batch-file write take 0.3 s and log when each ran."""
    import os
    import time

    from gmat_sweep_dask.store import datafiles as outputs

    original = getattr(outputs, "_original_write_batch", outputs.write_batch)
    if log is None:
        outputs.write_batch = original
        return

    def slow(*args, **kwargs):
        began = time.time()
        time.sleep(0.3)
        path = original(*args, **kwargs)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "began": began,
                        "ended": time.time(),
                        "tag": args[4] if len(args) > 4 else kwargs["tag"],
                    }
                )
                + "\n"
            )
        return path

    outputs._original_write_batch = original
    outputs.write_batch = slow


def test_the_next_batch_runs_while_the_previous_one_writes_one_writer_at_a_time(
    client, fault_script: Path, tmp_path: Path
) -> None:
    log = tmp_path / "writes.jsonl"
    client.run(_slow_writes, str(log))
    try:
        with dask.config.set({"gmat-sweep-dask.compact": False}):
            frame = sweep(
                fault_script,
                grid={"Sat.SMA": [7000.0 + i for i in range(16)]},
                out=tmp_path / "sweep",
                client=client,
                progress=False,
            )
    finally:
        client.run(_slow_writes, None)
    manifest = Manifest.load(tmp_path / "sweep" / "manifest.jsonl", full=True)
    assert manifest.status_counts() == {"ok": 16}
    assert sorted(frame.index.unique().compute()) == list(range(16))

    writes = [json.loads(line) for line in log.read_text().splitlines()]
    by_pid: dict[int, list[dict]] = {}
    for write in writes:
        by_pid.setdefault(write["pid"], []).append(write)
    for own in by_pid.values():  # at most one batch per worker process writes at a time
        own.sort(key=lambda w: w["began"])
        for before, after in itertools.pairwise(own):
            assert after["began"] >= before["ended"]

    def started(entry: dict) -> float:
        return datetime.fromisoformat(entry["started"]).timestamp()

    pids = client.run(os.getpid)
    overlapping = [
        entry
        for entry in manifest.entries.values()
        for write in writes
        if pids[entry["worker"]] == write["pid"]  # the same worker process
        and entry["batch"] != write["tag"]
        and write["began"] < started(entry) < write["ended"]
    ]
    assert overlapping, "no run started on a worker while it wrote another batch's files"

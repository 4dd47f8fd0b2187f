"""A batch's runs with their postprocess hook: run in full, or the hook alone on kept outputs.

A run whose GMAT outputs are recorded but whose hook failed (its entry is ``failed`` with
an error starting ``postprocess:`` and its ``outputs`` kept) is not run again on resume:
its outputs are read back from the sweep's data files (every row of the run, checksums
verified, the recorded row count checked) and the hook alone runs on them, in the engine
host like a fresh run's hook, within the run's timeout. Its new entry points at the same
data files, plus its new metrics. If its outputs cannot be read back intact, the run runs
in full instead. The files a hook adds are written here, under ``runs/<run_id>/`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.execute import isolation
from gmat_sweep_dask.execute.engine import RunResult, postprocess_stored, run_mission
from gmat_sweep_dask.execute.hookcall import METRICS, REASON
from gmat_sweep_dask.store import datafiles, layout
from gmat_sweep_dask.store.confine import confined
from gmat_sweep_dask.store.durable import writing

if TYPE_CHECKING:
    from gmat_sweep_dask.execute.isolation import PendingRun

#: A :class:`~gmat_sweep_dask.execute.task.Batch` (not imported: the task imports us).
Batch = Any

_METRICS_KEY = "/".join(METRICS)


@dataclass
class Work:
    """What a batch runs: each run in full, or its hook alone on its kept outputs."""

    batch: Batch
    sweep_dir: Path
    kept: dict[int, tuple[RunResult, dict[str, Any]]] = field(default_factory=dict)
    """Batch index → (the run's outputs read back, their recorded locations)."""

    @classmethod
    def of(cls, batch: Batch, sweep_dir: Path) -> Work:
        work = cls(batch, sweep_dir)
        if batch.hook is not None:
            for i, stored in enumerate(batch.stored):
                if stored:
                    result = _read_back(sweep_dir, batch.run_ids[i], stored)
                    if result is not None:
                        work.kept[i] = (result, stored)
        return work

    def run_here(self) -> list[RunResult]:
        """Run every run in this process, in order."""
        batch, hook = self.batch, self._hook()
        results = []
        for i, (run_id, overrides) in enumerate(zip(batch.run_ids, batch.overrides, strict=True)):
            if i in self.kept:
                kept = self.kept[i][0]
                results.append(postprocess_stored(hook, kept, dict(overrides), batch.context(i)))
            else:
                work = self._raw(run_id)
                results.append(
                    run_mission(batch.script, run_id, dict(overrides), work, hook, batch.context(i))
                )
        return results

    def start(self) -> list[PendingRun]:
        """Queue every run in this process's engine host, in order; returns at once."""
        batch, hook = self.batch, self._hook()
        pending = []
        for i, (run_id, overrides) in enumerate(zip(batch.run_ids, batch.overrides, strict=True)):
            if i in self.kept:
                kept = self.kept[i][0]
                arguments = (hook, kept, dict(overrides), batch.context(i))
                ticket = isolation.start_request("postprocess", arguments, batch.timeout)
                pending.append(isolation.PendingRun(run_id, ticket, None))
            else:
                request = [(run_id, dict(overrides), self._raw(run_id))]
                (run,) = isolation.start_runs(
                    batch.script, request, batch.timeout, hook=hook, contexts=[batch.context(i)]
                )
                pending.append(run)
        return pending

    def to_write(self, result: RunResult) -> RunResult:
        """``result`` as far as it still has to be written (a kept run: its metrics only)."""
        if self._index(result) not in self.kept:
            return result
        tables = {k: v for k, v in result.tables.items() if k == METRICS}
        return RunResult(result.run_id, result.status, result.started, result.ended, tables)

    def outputs(self, result: RunResult, locations: dict[int, dict[str, Any]]) -> dict[str, Any]:
        """The outputs the entry of ``result`` records (a kept run: its recorded ones too)."""
        written = locations.get(result.run_id, {})
        index = self._index(result)
        if index not in self.kept:
            return written
        return {**self.kept[index][1], **written}

    def recorded(self, index: int, files: list[str]) -> dict[str, Any]:
        """The entry fields of the hook: the run's context and the files its hook added."""
        if self.batch.hook is None:
            return {"context": self.batch.context(index)} if self.batch.contexts else {}
        return {"context": self.batch.context(index), "files": files}

    def _index(self, result: RunResult) -> int:
        return self.batch.run_ids.index(result.run_id)

    def _hook(self) -> Any:
        return self.batch.hook.on_path() if self.batch.hook is not None else None

    def _raw(self, run_id: int) -> Path | None:
        return layout.raw_run_dir(self.sweep_dir, run_id) if self.batch.keep_raw else None


def kept_outputs(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The GMAT outputs of a run whose hook alone failed (its hook runs again on them)."""
    if entry is None or entry.get("status") == "ok":
        return None
    if not str(entry.get("error") or "").startswith(REASON):
        return None
    kept = {k: v for k, v in (entry.get("outputs") or {}).items() if k != _METRICS_KEY}
    return kept or None


def write_files(sweep_dir: Path, result: RunResult, fsync: bool) -> list[str]:
    """Write the files ``result``'s hook added under ``runs/<run_id>/``; their paths.

    A file that would land outside the sweep directory (a planted link) fails the run.
    """
    written: list[str] = []
    for name, data in sorted(result.files.items()):
        relative = f"{layout.RUNS}/{result.run_id}/{name}"
        try:
            target = confined(sweep_dir, relative, what="postprocess file")
        except SweepDirError as exc:
            result.status, result.error = "failed", f"{REASON}{exc}"
            result.tables = {k: v for k, v in result.tables.items() if k != METRICS}
            return written
        target.parent.mkdir(parents=True, exist_ok=True)
        with writing(target, fsync=fsync) as tmp:
            tmp.write_bytes(data)
        written.append(relative)
    return written


def _read_back(sweep_dir: Path, run_id: int, stored: dict[str, Any]) -> RunResult | None:
    """The run's outputs as recorded, read back; None if any cannot be read intact."""
    tables: dict[tuple[str, str], Any] = {}
    try:
        for key, location in stored.items():
            kind, name = key.split("/", 1)
            path = confined(sweep_dir, location["path"], what="data file")
            handle = datafiles.open_verified(path)
            groups = _groups_of(handle, run_id)
            table = handle.read_row_groups(groups) if groups else None
            if table is None:
                return None
            table = table.filter(pc.equal(table["run_id"], pa.scalar(run_id, pa.int64())))
            if table.num_rows != location["rows"]:
                return None
            meta = datafiles.meta_of(table.schema)
            tables[(kind, name)] = (table.replace_schema_metadata(None), meta)
    except (OSError, ValueError, KeyError, SweepDirError, pa.ArrowException):
        return None
    import time

    now = time.time()
    return RunResult(run_id, "ok", now, now, tables)


def _groups_of(handle: Any, run_id: int) -> list[int]:
    """Row groups of a data file whose run_id statistics may hold ``run_id``."""
    metadata = handle.metadata
    column = handle.schema_arrow.get_field_index("run_id")
    groups = []
    for i in range(metadata.num_row_groups):
        stats = metadata.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max or stats.min <= run_id <= stats.max:
            groups.append(i)
    return groups

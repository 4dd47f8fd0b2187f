"""A sweep bound to its directory: create or reopen it, run what is pending, record it.

:class:`Sweep` is the orchestration layer: it validates the request, checks the script on
a worker before anything is written, takes the directory lock, writes the manifest header,
folds in finished-but-unrecorded batches, and drives :class:`~.submit.Executor`,
appending one manifest entry per run as results arrive.
"""

from __future__ import annotations

import functools
import platform
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import dask.dataframe as dd
from distributed import Client

from gmat_sweep_dask import config
from gmat_sweep_dask.analysis import frames
from gmat_sweep_dask.design import Design, design_from_header
from gmat_sweep_dask.errors import ScriptError, SpecError, SweepDirError
from gmat_sweep_dask.execute.cluster import TLS, ClusterSpec, connect
from gmat_sweep_dask.execute.engine import check_mission
from gmat_sweep_dask.execute.interrupts import guard
from gmat_sweep_dask.execute.isolation import check_isolated
from gmat_sweep_dask.execute.progress import Progress
from gmat_sweep_dask.execute.submit import BatchPlanner, Executor
from gmat_sweep_dask.execute.task import Batch
from gmat_sweep_dask.script import canonical_sha256, resolve_script
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store.compact import compact
from gmat_sweep_dask.store.lock import SweepLock
from gmat_sweep_dask.store.reconcile import reconcile


@dataclass
class SweepResult:
    """Counts after a sweep ran: runs per status, wall time of this call, where it lives.

    ``executed`` runs were run by this call; ``reconciled`` had finished on workers
    before a crash and were recorded from their commit records without running again.
    """

    out: Path
    counts: dict[str, int]
    wall_s: float
    executed: int
    gmat: dict[str, Any] = field(default_factory=dict)
    reconciled: int = 0

    @property
    def failed(self) -> int:
        """Runs whose latest entry is failed or that were never recorded."""
        return sum(v for k, v in self.counts.items() if k != mf.OK)


class Sweep:
    """A parameter sweep of one GMAT script into one output directory."""

    def __init__(
        self,
        script: str | Path,
        design: Design,
        out: str | Path,
        *,
        keep_raw: bool | None = None,
        timeout: float | None = None,
        isolate: bool | None = None,
    ) -> None:
        """Bind ``script`` and ``design`` to the sweep directory ``out``.

        ``timeout`` (seconds) fails a run that takes longer (its engine process is
        killed); ``isolate=False`` runs GMAT inside the Dask worker process itself
        (fastest, but an engine crash or hang then takes the worker down and there is
        no timeout). Unset options come from dask.config ``gmat-sweep-dask.*``.
        """
        self.script = resolve_script(script)
        self.design = design
        self.out = Path(out).expanduser().resolve()
        self.keep_raw = bool(config.get("keep-raw", keep_raw))
        self.timeout = config.get("timeout", timeout)
        self.isolate = bool(config.get("isolate", isolate))
        if self.timeout is not None and (self.timeout <= 0 or not self.isolate):
            raise SpecError(
                f"timeout={self.timeout!r}: needs a positive number of seconds and isolate=True"
            )
        self.manifest: mf.Manifest | None = None
        self._recorded_design: dict[str, Any] | None = None

    @classmethod
    def from_manifest(
        cls,
        out: str | Path,
        *,
        script: str | Path | None = None,
        allow_script_drift: bool = False,
        keep_raw: bool | None = None,
        timeout: float | None = None,
        isolate: bool | None = None,
    ) -> Sweep:
        """Reopen the sweep recorded in ``out`` (a sweep directory or its manifest file).

        The design is rebuilt from the manifest header. The script is the recorded path
        unless ``script`` is given; its canonical SHA-256 must match the recorded one.
        Options left unset default to the recorded ones (``keep_raw``, ``timeout``,
        ``isolate``).

        Raises:
            ScriptError: the script changed (both hashes shown) and drift is not allowed.
        """
        path = Path(out).expanduser()
        sweep_dir = path.parent if path.name == layout.MANIFEST else path
        manifest = mf.Manifest.load(sweep_dir / layout.MANIFEST)
        header = manifest.header
        design = design_from_header(header["design"], sweep_dir.resolve())
        sweep = cls(
            script or header["script"],
            design,
            sweep_dir,
            keep_raw=header["keep_raw"] if keep_raw is None else keep_raw,
            timeout=header.get("timeout") if timeout is None else timeout,
            isolate=header.get("isolate") if isolate is None else isolate,
        )
        recorded, current = header["script_sha256"], canonical_sha256(sweep.script)
        if recorded != current and not allow_script_drift:
            raise ScriptError(
                f"script {sweep.script} changed since the sweep started "
                f"(recorded sha256 {recorded}, now {current}); "
                "pass allow_script_drift=True / --allow-script-drift to run it anyway"
            )
        sweep.manifest = manifest
        return sweep

    def grow(self, design: Design) -> None:
        """Replace the design by a larger one that keeps every existing run unchanged.

        Takes effect at the next :meth:`run`, which durably records the new design and
        run count in the manifest (as a header update) before running the new runs. The
        caller (e.g. a Monte Carlo extension) guarantees runs ``0..old_n-1`` are identical.

        Raises:
            SpecError: the sweep was not reopened from its manifest, or ``design`` is not
                larger than the current one.
        """
        if self.manifest is None:
            raise SpecError("only a sweep reopened with Sweep.from_manifest can grow")
        if design.n_runs <= self.design.n_runs:
            raise SpecError(
                f"the new design has {design.n_runs} runs; it must have more than "
                f"{self.design.n_runs}"
            )
        if self._recorded_design is None:
            self._recorded_design = self.design.header()
        self.design = design

    def run(
        self,
        client: Client | None = None,
        *,
        scheduler: str | None = None,
        cluster: ClusterSpec | None = None,
        tls: TLS | None = None,
        progress: bool = True,
        retries: int | None = None,
        report: str | None = None,
        require_report: bool = False,
    ) -> SweepResult:
        """Run every run not yet recorded as ok, appending manifest entries as they finish.

        The cluster is chosen by :func:`gmat_sweep_dask.execute.cluster.connect` from ``client``,
        ``scheduler`` (+ ``tls``) or ``cluster``. Nothing is written before the script and
        every swept field were checked on the workers; with ``require_report`` the
        ReportFile the caller will read (``report``, or the only one) is checked too.
        Returns the counts of the whole sweep after this call.

        Raises:
            ScriptError: a worker cannot load the script or a swept field does not exist.
            SweepDirError: ``out`` holds another sweep, or cannot be written.
            SweepLockedError: another live driver is running this sweep.
        """
        start = time.monotonic()
        existing = self._existing_manifest()
        with connect(
            client, scheduler=scheduler, spec=cluster, tls=tls, announce=progress
        ) as active:
            gmat = self._check_on_worker(active, report if require_report else False)
            self._make_dir()
            fsync = bool(config.get("fsync"))
            with SweepLock(self.out), guard() as interrupts:
                manifest, writer = self._open(existing, gmat, fsync)
                try:
                    _check_shared(active, self.out)
                    reconciled = reconcile(manifest, writer)
                    pending = manifest.pending_ids()
                    bar = Progress(len(pending), enabled=progress)

                    def record(batch: Batch, outcomes: list[dict[str, Any]]) -> None:
                        with interrupts.critical():
                            writer.append(outcomes)
                            for outcome in outcomes:
                                manifest.add(outcome)
                            _drop_records(self.out, batch, outcomes)
                        bar.update([o["status"] for o in outcomes])

                    Executor(
                        active,
                        BatchPlanner(
                            pending,
                            target_task_seconds=config.get("target-task-seconds"),
                            max_batch_runs=config.get("max-batch-runs"),
                        ),
                        functools.partial(self._make_batch, fsync=fsync),
                        record,
                        retries=config.get("retries", retries),
                        window_per_worker=config.get("window-per-worker"),
                        min_inflight=config.get("min-inflight"),
                    ).run()
                    bar.close()
                    if config.get("compact"):
                        compact(manifest, writer, client=active)
                finally:
                    writer.close()
        self.manifest = manifest
        counts = manifest.status_counts()
        wall = time.monotonic() - start
        return SweepResult(self.out, counts, wall, len(pending), gmat, reconciled)

    def resume(self, client: Client | None = None, **options: Any) -> SweepResult:
        """Run exactly the runs whose latest entry is not ok, plus those never recorded.

        The same as :meth:`run` (which always runs only what is pending); named for
        sweeps reopened with :meth:`from_manifest`. Unrecorded batches that finished
        before a crash are reconciled into the manifest first and not run again.
        """
        return self.run(client, **options)

    def frame(self, report: str | None = None, *, kind: str = "report") -> dd.DataFrame:
        """The lazy frame of one output (see :func:`gmat_sweep_dask.analysis.frames.open_frame`)."""
        manifest = self.manifest or mf.Manifest.load(self.out / layout.MANIFEST)
        return frames.open_frame(manifest, self.design, kind=kind, name=report)

    # -- steps -------------------------------------------------------------------------

    def _existing_manifest(self) -> mf.Manifest | None:
        """The manifest already in ``out`` if it records this very sweep; else None."""
        path = self.out / layout.MANIFEST
        if not path.exists():
            if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
                raise SweepDirError(
                    f"output directory {self.out} exists and is not an empty directory "
                    "or a sweep directory"
                )
            return None
        manifest = mf.Manifest.load(path)
        header = manifest.header
        sha = canonical_sha256(self.script)
        design = self._recorded_design or self.design.header()
        drift_ok = self.manifest is not None  # reopened: from_manifest checked the script
        if (header["script_sha256"] != sha and not drift_ok) or header["design"] != design:
            raise SweepDirError(
                f"output directory {self.out} holds a different sweep "
                f"(script {header['script']}, {header['run_count']} runs); "
                "choose another output directory, or resume that sweep"
            )
        return manifest

    def _check_on_worker(self, client: Client, report: str | bool | None) -> dict[str, Any]:
        """Load the script and read every swept field on every worker; raise on problems.

        With isolation this also starts each worker's warm GMAT engine process, in
        parallel, before the first run is submitted.
        """
        check = check_isolated if self.isolate else check_mission
        args = (str(self.script), list(self.design.fields))
        if client.nthreads():
            reports = client.run(check, *args)
        else:  # an adaptive cluster at zero, or jobs still queued: the first worker answers
            print("gmat-sweep-dask: waiting for the first Dask worker to join...", file=sys.stderr)
            reports = {"worker": client.submit(check, *args, pure=False).result()}
        errors = sorted({e for r in reports.values() for e in r["errors"]})
        if errors:
            raise ScriptError(f"{self.script.name}: " + "; ".join(errors))
        first = next(iter(reports.values()))
        if report is not False:
            _check_report(self.script.name, report, first["reports"])
        self.design.resolve(first["values"])
        return first["gmat"]

    def _make_dir(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SweepDirError(f"cannot create {self.out}: {exc.strerror}") from exc

    def _open(
        self, existing: mf.Manifest | None, gmat: dict[str, Any], fsync: bool
    ) -> tuple[mf.Manifest, mf.ManifestWriter]:
        path = self.out / layout.MANIFEST
        if existing is None and not path.exists():
            self.design.save(self.out)
            header = self._header(gmat)
            writer = mf.ManifestWriter.create(path, header, fsync=fsync)
            return mf.Manifest(path, header), writer
        manifest = mf.Manifest.load(path)  # reread under the lock
        writer = mf.ManifestWriter.reopen(manifest, fsync=fsync)
        if self._recorded_design is not None:
            self.design.save(self.out)
            update = {"design": self.design.header(), "run_count": self.design.n_runs}
            writer.update_header(update)
            manifest.header.update(update)
            self._recorded_design = None
        return manifest, writer

    def _header(self, gmat: dict[str, Any]) -> dict[str, Any]:
        return {
            "format": mf.MAGIC,
            "schema_version": mf.SCHEMA_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "script": str(self.script),
            "script_sha256": canonical_sha256(self.script),
            "design": self.design.header(),
            "run_count": self.design.n_runs,
            "seed": self.design.seed,
            "keep_raw": self.keep_raw,
            "timeout": self.timeout,
            "isolate": self.isolate,
            "gmat": gmat,
            "versions": _versions(gmat),
        }

    def _make_batch(self, run_ids: Any, *, fsync: bool) -> Batch:
        ids = tuple(int(i) for i in run_ids)
        return Batch(
            key=f"gmat-run-{ids[0]}-{uuid.uuid4().hex[:10]}",
            sweep_dir=str(self.out),
            script=str(self.script),
            run_ids=ids,
            overrides=tuple(self.design.overrides(ids)),
            keep_raw=self.keep_raw,
            isolate=self.isolate,
            timeout=self.timeout,
            fsync=fsync,
        )


def _check_shared(client: Client, sweep_dir: Path) -> None:
    """Fail fast if a connected worker cannot see the sweep directory."""
    if not client.nthreads():
        return
    blind = [
        worker
        for worker, sees in client.run(_sees, str(sweep_dir / layout.MANIFEST)).items()
        if not sees
    ]
    if blind:
        raise SweepDirError(
            f"worker(s) {', '.join(sorted(blind))} cannot see {sweep_dir}: workers and the "
            "driver must share a file system for the sweep directory"
        )


def _sees(path: str) -> bool:
    return Path(path).is_file()


def _check_report(script: str, wanted: str | None, available: list[str]) -> None:
    """Refuse, before anything runs, a report choice the frame could not honour."""
    if not available:
        return
    if wanted is None and len(available) > 1:
        raise ScriptError(f"{script} writes several ReportFiles {available}; pass report=NAME")
    if wanted is not None and wanted not in available:
        raise ScriptError(f"{script} has no ReportFile {wanted!r}; it has {available}")


def _drop_records(sweep_dir: Path, batch: Batch, outcomes: list[dict[str, Any]]) -> None:
    """Remove a batch's commit record and attempt marker once it is in the manifest."""
    for tag in {o.get("batch") for o in outcomes if o.get("batch")}:
        (sweep_dir / layout.OUTCOMES / f"{tag}.json").unlink(missing_ok=True)
    (sweep_dir / layout.ATTEMPTS / batch.key).unlink(missing_ok=True)


def _versions(gmat: dict[str, Any]) -> dict[str, str | None]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "gmat_sweep_dask": version("gmat-sweep-dask"),
        "gmat_run": version("gmat-run"),
        "gmat": gmat.get("version"),
        "dask": version("dask"),
        "distributed": version("distributed"),
        "python": platform.python_version(),
    }

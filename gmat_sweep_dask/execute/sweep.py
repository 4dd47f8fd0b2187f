"""A sweep bound to its directory: create or reopen it, run what is pending, record it.

:meth:`Sweep.run` decides everything before a cluster starts: it takes the directory's
lock first (a second driver is refused at once, naming the first), reads the manifest
under it, returns at once when nothing is left to do, and checks GMAT, the script, the
fields and the values (:mod:`~.preflight`). Only then does it start or join a cluster,
write the header and the script snapshot the workers run, and record the runs
(:mod:`~.recording`: one manifest entry per run as results arrive; compaction ends it).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask import config
from gmat_sweep_dask.design import Design, MonteCarlo
from gmat_sweep_dask.errors import SpecError, SweepDirError
from gmat_sweep_dask.execute import contexts, preflight, runoptions
from gmat_sweep_dask.execute.interrupts import guard
from gmat_sweep_dask.execute.postprocess import hook_from
from gmat_sweep_dask.execute.reopen import recorded_here
from gmat_sweep_dask.execute.result import SweepResult
from gmat_sweep_dask.execute.task import Batch, batch_key
from gmat_sweep_dask.store import manifest as mf
from gmat_sweep_dask.store import sessions
from gmat_sweep_dask.store.manifest_writer import ManifestWriter
from gmat_sweep_dask.store.sweepdir import SweepDir

if TYPE_CHECKING:  # Dask is imported once a cluster is needed: early refusals stay fast
    import dask.dataframe as dd
    from distributed import Client

    from gmat_sweep_dask.execute.cluster import TLS, ClusterSpec


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
        postprocess: Any = None,
        context: contexts.Contexts = None,
    ) -> None:
        """Bind ``script`` and ``design`` to the sweep directory ``out``.

        ``timeout`` (seconds) fails a run that takes longer (its engine process is
        killed); ``isolate=False`` runs GMAT inside the Dask worker process itself
        (fastest, but an engine crash or hang then takes the worker down and there is
        no timeout). Unset options come from dask.config ``gmat-sweep-dask.*``.
        ``postprocess`` (``"package.module:function"`` or a picklable callable) runs on
        each ok run with its ``context`` (see :mod:`~.postprocess`, :mod:`~.contexts`).

        Raises:
            SpecError: a bad ``timeout`` (not positive and finite, or without isolation),
                ``postprocess`` (cannot be imported or pickled) or ``context``.
            ScriptError: the script does not exist or cannot be read.
            SweepDirError: ``out`` cannot name a directory (e.g. ``~unknownuser``), or its
                path is not UTF-8 (GMAT could not run the snapshot there).
        """
        self.dir = SweepDir(out)
        self.out = self.dir.path
        self.script = preflight.resolve_script(script)
        runoptions.check_gmat_path(self.out, "output directory", SweepDirError)  # GMAT runs
        self.design = design
        self.keep_raw = runoptions.checked_flag("keep_raw", config.get("keep-raw", keep_raw))
        self.isolate = runoptions.checked_flag("isolate", config.get("isolate", isolate))
        self.timeout = runoptions.checked_timeout(config.get("timeout", timeout), self.isolate)
        self.per_run = contexts.PerRun(hook_from(postprocess), contexts.check_given(context))
        self.manifest: mf.Manifest | None = None
        self._recorded_design: dict[str, Any] | None = None
        self._reopened = False
        self._drifted = False
        self._run_script: Path | None = None

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
        postprocess: Any = None,
        context: contexts.Contexts = None,
    ) -> Sweep:
        """Reopen the sweep recorded in ``out`` (a sweep directory or its manifest file).

        The design is rebuilt from the manifest header, and options left unset default
        to the recorded ones (``keep_raw``, ``timeout``, ``isolate``, the header's hook; see
        :func:`~.reopen.reopen` for ``postprocess`` and ``context``). The workers run the
        script snapshot frozen in the sweep directory; the user's script (the
        recorded path, or ``script``) must still match it unless ``allow_script_drift``,
        which snapshots the current text for the runs still to run. A sweep whose
        script is gone (moved, another machine) runs its snapshot.

        Raises:
            ScriptError: the script changed (each changed file named) and drift is not
                allowed.
        """
        from gmat_sweep_dask.execute.reopen import reopen

        options = {"keep_raw": keep_raw, "timeout": timeout, "isolate": isolate}
        per_run = {"postprocess": postprocess, "context": context}
        sweep, manifest, drifted = reopen(cls, out, script, allow_script_drift, options, per_run)
        sweep._reopened, sweep._drifted, sweep.manifest = True, drifted, manifest
        return sweep

    @classmethod
    def extended(cls, out: str | Path, n: int, **reopen: Any) -> Sweep:
        """The sweep in ``out`` reopened (see :meth:`from_manifest`) with ``n`` more runs
        (base samples, trajectories) in its design; they run at the next :meth:`run`.

        Raises:
            SpecError: the design cannot grow (grids, samples, Latin hypercubes).
        """
        job = cls.from_manifest(out, **reopen)
        if not isinstance(job.design, MonteCarlo):
            kind = job.design.kind
            raise SpecError(f"{out}: only Monte Carlo sweeps extend, this one is a {kind} sweep")
        job.grow(job.design.extended(n))
        return job

    def grow(self, design: Design) -> None:
        """Replace the design by a larger one that keeps every existing run unchanged.

        Takes effect at the next :meth:`run`, which durably records the new design and
        run count in the manifest (as a header update) before running the new runs. The
        caller (e.g. a Monte Carlo extension) guarantees runs ``0..old_n-1`` are identical.

        Raises:
            SpecError: the sweep was not reopened from its manifest, or ``design`` is not
                larger than the current one.
        """
        from gmat_sweep_dask.execute.reopen import check_growth

        check_growth(self.design, design, reopened=self._reopened)
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

        The cluster is chosen by :func:`~.cluster.connect` from ``client``, ``scheduler``
        (+ ``tls``) or ``cluster``. Before one starts, the lock is taken and the script is
        checked here (on a running cluster's workers instead); nothing is written before
        the checks pass, but ok runs without intact data are recorded failed (``store/
        repair.py``). With ``require_report`` the ReportFile to read (``report``, or the
        only one) is checked too. Returns the whole sweep's counts.

        Raises:
            UsageError: a ``gmat-sweep-dask.*`` setting is not of its kind (named).
            SweepLockedError: another live driver is running this sweep (named).
            GmatMissingError: GMAT is not installed where it would run.
            ScriptError: the script does not load, a field does not exist, or a value
                does not fit its field.
            SweepDirError: ``out`` holds another sweep, or cannot be written.
        """
        from gmat_sweep_dask.execute.cluster import connect, local_workers, starts_local

        config.check()  # a bad setting is refused before a cluster or an engine starts
        retries = config.get("retries", retries)  # so is a bad count of retries
        start = sessions.now()
        fsync = bool(config.get("fsync"))
        wanted = report if require_report else False
        local = starts_local(client, scheduler, cluster)  # threads: workers of this process
        threads, started = local and self.isolate, None  # GMAT boots while we lock:
        if local or (cluster is not None and cluster.kind != "local"):  # a cluster to start
            engines = local_workers(cluster) if threads else 1
            started = preflight.start_locally(self.script, self.design, engines)
        with self.dir.locked(create=True), preflight.stopping_engine(started is not None):
            existing = recorded_here(
                self.dir, self.script, self.design, self._recorded_design, reopened=self._reopened
            )
            if existing is not None and not existing.pending() and not self._changes_header():
                from gmat_sweep_dask.execute.recording import settle

                self.manifest = existing  # nothing to run: tidied up without a cluster
                return settle(existing, fsync, start)
            gmat = started and preflight.check_locally(
                started, self.script, self.design, wanted, required=local, keep_warm=threads
            )
            pending = existing.pending() if existing is not None else range(self.design.n_runs)
            self.per_run.prepare(self.out, existing, pending)
            from gmat_sweep_dask.execute.recording import record_runs

            where = {"scheduler": scheduler, "spec": cluster, "tls": tls, "threads": threads}
            with (
                guard() as interrupts,
                connect(client, self.out, announce=progress, **where) as active,
            ):
                if not threads:  # the workers see GMAT, the script, the hook (engines warm)
                    on_workers = preflight.check_on_workers(
                        active, self.script, self.design, wanted, self.isolate, self.per_run.hook
                    )
                    gmat = gmat or on_workers
                manifest, writer = self._open(existing, gmat, fsync)
                try:
                    if not threads:
                        preflight.check_shared(active, self.out)
                    executed, reconciled, session = record_runs(
                        active,
                        manifest,
                        writer,
                        functools.partial(self._make_batch, fsync=fsync),
                        interrupts,
                        started=start,
                        progress=progress,
                        retries=retries,
                        options=self._options(),
                    )
                finally:
                    writer.close()
        self.manifest = manifest
        wall = sessions.seconds(session) or 0.0
        return SweepResult(self.out, manifest.status_counts(), wall, executed, gmat, reconciled)

    def resume(self, client: Client | None = None, **options: Any) -> SweepResult:
        """Run exactly the runs whose latest entry is not ok, plus those never recorded.

        The same as :meth:`run` (which always runs only what is pending); named for
        sweeps reopened with :meth:`from_manifest`. Unrecorded batches that finished
        before a crash are reconciled into the manifest first and not run again.
        """
        return self.run(client, **options)

    def frame(self, report: str | None = None, *, kind: str = "report") -> dd.DataFrame:
        """The lazy frame of one output (see :func:`gmat_sweep_dask.analysis.frames.open_frame`)."""
        from gmat_sweep_dask.analysis import frames

        manifest = self.manifest or self.dir.load()
        return frames.open_frame(manifest, self.design, kind=kind, name=report)

    # -- steps -------------------------------------------------------------------------

    def _changes_header(self) -> bool:
        """Whether this run grows the design or snapshots a changed script."""
        return self._recorded_design is not None or self._drifted

    def _open(
        self, existing: mf.Manifest | None, gmat: dict[str, Any], fsync: bool
    ) -> tuple[mf.Manifest, ManifestWriter]:
        """Create the sweep's record (design files, script snapshot, manifest) or reopen it."""
        if existing is None:
            options = self._options() | {"postprocess": self.per_run.record()}
            manifest, writer = self.dir.create(self.script, self.design, options, gmat, fsync=fsync)
        else:
            manifest = existing
            grown = self.design if self._recorded_design is not None else None
            drifted = self.script if self._drifted else None
            writer = self.dir.reopen(manifest, grown=grown, script=drifted, fsync=fsync)
            self._recorded_design, self._drifted = None, False
        self._run_script = self.dir.run_script(manifest) or self.script
        return manifest, writer

    def _options(self) -> dict[str, Any]:
        """The run options a header (and a session run with others) records."""
        return {"keep_raw": self.keep_raw, "timeout": self.timeout, "isolate": self.isolate}

    def _make_batch(self, run_ids: Any, *, fsync: bool) -> Batch:
        ids = tuple(int(i) for i in run_ids)
        return Batch(
            key=batch_key(ids[0]),
            sweep_dir=str(self.out),
            script=str(self._run_script or self.script),
            run_ids=ids,
            overrides=tuple(self.design.overrides(ids)),
            keep_raw=self.keep_raw,
            isolate=self.isolate,
            timeout=self.timeout,
            fsync=fsync,
            **self.per_run.batch_fields(ids),
        )

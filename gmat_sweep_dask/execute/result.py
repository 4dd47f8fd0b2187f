"""What a sweep call returns: counts, its wall time, where it lives; shown in notebooks too."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmat_sweep_dask import wording
from gmat_sweep_dask.store import manifest as mf

#: Failed runs a notebook display lists at most.
HTML_FAILED_ROWS = 10


@dataclass
class SweepResult:
    """Counts after a sweep ran: runs per status, wall time of this call, where it lives.

    ``executed`` runs were run by this call; ``reconciled`` had finished on workers
    before a crash and were recorded from their commit records without running again.
    ``wall_s`` is this call's session as recorded in the manifest
    (:mod:`gmat_sweep_dask.store.sessions`), the figure ``show`` reports too.
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

    @property
    def total(self) -> int:
        """Runs of the whole sweep."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """The closing line: ``40 runs: 38 ok, 2 failed; ran 40 in 12.0 s (GMAT stand-in
        engine) — output: DIR``, or ``nothing to run`` for a sweep that was done."""
        if not (self.executed or self.reconciled or self.failed):
            every = wording.plural(self.total, "run")
            return f"nothing to run: all {every} are ok — output: {self.out}"
        engine = " (GMAT stand-in engine)" if self.gmat.get("standin") else ""
        return (
            f"{wording.plural(self.total, 'run')}: {wording.counts(self.counts)}; "
            f"ran {self.executed:,} in {wording.seconds(self.wall_s)}{engine} — output: {self.out}"
        )

    def _repr_html_(self) -> str:
        """A small table for notebooks: the sweep, its runs per status, this call, the
        engine; then the failed runs (at most :data:`HTML_FAILED_ROWS`) and why."""
        from gmat_sweep_dask.analysis.failures import failure_rows

        engine = "GMAT stand-in engine" if self.gmat.get("standin") else self.gmat.get("version")
        rows = [
            ("sweep", str(self.out)),
            ("runs", wording.counts(self.counts)),
            ("this call", f"ran {self.executed:,}, recorded {self.reconciled:,} without "
             f"running, {wording.seconds(self.wall_s)}"),
            ("engine", engine or "GMAT"),
        ]  # fmt: skip
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        state = "all ok" if not self.failed else f"{self.failed:,} not ok"
        page = f"<table><caption>SweepResult: {state}</caption>{body}</table>"
        if not self.counts.get(mf.FAILED):
            return page
        try:
            failed = failure_rows(self.out, limit=HTML_FAILED_ROWS)
        except Exception:  # the sweep directory gone or unreadable since: the counts only
            return page
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in failed
        )
        more = self.counts[mf.FAILED] - len(failed)
        tail = f"<p>... and {wording.plural(more, 'more failed run')}</p>" if more > 0 else ""
        return (
            page + "<table><caption>failed runs</caption><tr><th>run</th><th>overrides</th>"
            f"<th>reason</th><th>log</th></tr>{cells}</table>{tail}"
        )

"""What a sweep run reports back: :class:`SweepResult`, with a notebook summary."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmat_sweep_dask.store import manifest as mf


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

    def _repr_html_(self) -> str:
        """A small table for notebooks: the sweep, its runs per status, this call."""
        engine = "GMAT stand-in engine" if self.gmat.get("standin") else self.gmat.get("version")
        rows = [
            ("sweep", str(self.out)),
            ("runs", ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))),
            ("this call", f"ran {self.executed}, recorded {self.reconciled} without running, "
             f"{self.wall_s:.1f} s"),
            ("engine", engine or "GMAT"),
        ]  # fmt: skip
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        state = "all ok" if not self.failed else f"{self.failed} not ok"
        return f"<table><caption>SweepResult: {state}</caption>{body}</table>"

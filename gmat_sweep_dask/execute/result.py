"""What one call that runs a sweep reports back."""

from __future__ import annotations

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

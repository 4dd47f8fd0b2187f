"""The progress of a running sweep: runs done, per status, rate and ETA, in one line.

The line reads like the sweep's closing line (``12/40 runs: 11 ok, 1 failed; 19.6 runs/s,
ETA 1.4 s``). The rate and the ETA appear only once they can be estimated: they are
measured from the first result on (the first result waits for the cluster and the
engines to start, which says nothing about the rate), after at least
:data:`ETA_MIN_RUNS` more runs and :data:`ETA_MIN_SECONDS`.

Where it is drawn is chosen once (:func:`~gmat_sweep_dask.execute.progress_display.choose`):
redrawn in place on a terminal, a live bar in a Jupyter notebook, a line every ~10 s in
a log file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from gmat_sweep_dask import wording
from gmat_sweep_dask.execute.progress_display import Display, choose

ETA_MIN_RUNS = 10
"""Runs that must finish after the first result before a rate and an ETA are shown."""
ETA_MIN_SECONDS = 2.0
"""Seconds that must pass after the first result before a rate and an ETA are shown."""


class Progress:
    """Counts finished runs by status and draws the progress line when due."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        display: Display | None = None,
    ) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.counts: dict[str, int] = {}
        self._clock = clock
        self._drawn: float | None = None
        self._shown = -1
        self._first: tuple[float, int] | None = None
        self.display = (display or choose(stream)) if self.enabled else None

    @property
    def done(self) -> int:
        """Runs finished so far."""
        return sum(self.counts.values())

    def update(self, statuses: list[str]) -> None:
        """Count newly finished runs by status and redraw if due."""
        for status in statuses:
            self.counts[status] = self.counts.get(status, 0) + 1
        now = self._clock()
        if self._first is None:
            self._first = (now, self.done)
        if self.display is not None and (
            self._drawn is None or now - self._drawn >= self.display.interval
        ):
            self._draw(now)

    def close(self) -> None:
        """Draw the final state (unless it is drawn already) and end the display."""
        if self.display is not None:
            if self._shown != self.done:
                self._draw(self._clock())
            self.display.close()

    def _draw(self, now: float) -> None:
        assert self.display is not None
        self._drawn, self._shown = now, self.done
        self.display.show(self.done, self.total, self.line(now))

    def rate(self, now: float) -> float | None:
        """Runs per second since the first result, once it can be estimated (else None)."""
        if self._first is None:
            return None
        since, first_done = self._first
        runs, elapsed = self.done - first_done, now - since
        if runs < ETA_MIN_RUNS or elapsed < ETA_MIN_SECONDS:
            return None
        return runs / elapsed

    def line(self, now: float) -> str:
        """``12/40 runs: 11 ok, 1 failed; 19.6 runs/s, ETA 1.4 s`` (rate and ETA when known)."""
        text = f"{self.done:,}/{wording.plural(self.total, 'run')}: {wording.counts(self.counts)}"
        rate = self.rate(now)
        if rate is not None:
            text += f"; {rate:.1f} runs/s"
            if self.done < self.total:
                text += f", ETA {wording.seconds((self.total - self.done) / rate)}"
        return text

"""A one-line progress display on stderr: runs done, ok/failed, rate and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws in place on a terminal; prints a line every ~10 s otherwise."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self.counts: dict[str, int] = {}
        self._start = time.monotonic()
        self._drawn = 0.0
        self._tty = self.stream.isatty()

    def update(self, statuses: list[str]) -> None:
        """Count newly finished runs by status and redraw if due."""
        for status in statuses:
            self.counts[status] = self.counts.get(status, 0) + 1
        now = time.monotonic()
        if self.enabled and now - self._drawn >= (0.2 if self._tty else 10.0):
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.monotonic())
            if self._tty:
                self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        self._drawn = now
        done = sum(self.counts.values())
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * done / self.total)
        bar = "#" * filled + "." * (width - filled)
        detail = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        line = f"[{bar}] {done}/{self.total} runs  {detail}  {rate:.1f} runs/s  ETA {eta:.0f} s"
        self.stream.write(("\r" + line + "\033[K") if self._tty else line + "\n")
        self.stream.flush()

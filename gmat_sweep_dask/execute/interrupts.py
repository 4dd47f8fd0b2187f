"""Ctrl-C handling that never tears a manifest write.

While :func:`guard` is active, SIGINT raises ``KeyboardInterrupt`` at once, except inside
:meth:`Guard.critical` (a manifest append), where it is deferred to the section's end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Guard:
    """Defers SIGINT out of critical sections."""

    def __init__(self) -> None:
        self._critical = False
        self._pending = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT handler: interrupt now, or after the current critical section."""
        if self._critical:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def critical(self) -> Iterator[None]:
        """Run the body without being interrupted part-way."""
        self._critical = True
        try:
            yield
        finally:
            self._critical = False
            if self._pending:
                self._pending = False
                raise KeyboardInterrupt


@contextmanager
def guard() -> Iterator[Guard]:
    """Install the deferring SIGINT handler (main thread only) for the body's duration."""
    state = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.signal(signal.SIGINT, state.handle)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)

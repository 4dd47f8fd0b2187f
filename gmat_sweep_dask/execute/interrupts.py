"""Ctrl-C (SIGINT) and SIGTERM handling that never tears a manifest write.

SIGTERM is what a batch system sends a driver at its walltime or on ``scancel``; it stops
a sweep exactly like Ctrl-C. While :func:`guard` is active either signal raises
:class:`Interrupted` (a ``KeyboardInterrupt`` naming the signal) at once, except inside
:meth:`Guard.critical` (a manifest append), where it is deferred to the section's end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_hooks: list[Callable[[], None]] = []


def on_interrupt(hook: Callable[[], None]) -> None:
    """Call ``hook`` whenever a guarded signal is about to stop the body (once per signal;
    registering the same hook again does nothing). The CLI silences logging with it: the
    teardown that follows is not the user's concern."""
    if hook not in _hooks:
        _hooks.append(hook)


def _interrupt(signum: int) -> Interrupted:
    for hook in _hooks:
        hook()
    return Interrupted(signum)


class Interrupted(KeyboardInterrupt):
    """The sweep was stopped by ``signum`` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Guard:
    """Defers SIGINT and SIGTERM out of critical sections."""

    def __init__(self) -> None:
        self._critical = False
        self._pending: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: interrupt now, or after the current critical section."""
        if self._critical:
            self._pending = signum
        else:
            raise _interrupt(signum)

    @contextmanager
    def critical(self) -> Iterator[None]:
        """Run the body without being interrupted part-way."""
        self._critical = True
        try:
            yield
        finally:
            self._critical = False
            if self._pending is not None:
                signum, self._pending = self._pending, None
                raise _interrupt(signum)


@contextmanager
def guard() -> Iterator[Guard]:
    """Install the deferring handler of SIGINT and SIGTERM (main thread only) for the
    body's duration; the previous handlers come back after it."""
    state = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {signum: signal.signal(signum, state.handle) for signum in SIGNALS}
    try:
        yield state
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""One request to a worker's engine host, and the wait for its answer.

A :class:`Ticket` is queued by :class:`~.isolation.SharedEngine`; it knows when the host
could start it (its timeout counts from there) and never lets its caller wait forever:
if the thread that reads the host's answers dies, the wait ends with an error.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gmat_sweep_dask.execute.hostlink import Answer, EngineLost

RECEIVER_DIED = "the thread reading the GMAT engine's answers died"
_LIVENESS_S = 1.0
"""How often a caller waiting for an answer checks that the receiver thread still runs."""


@dataclass(eq=False)
class Ticket:
    """One request to the engine host; :meth:`reply` waits for its answer."""

    operation: str
    arguments: tuple[Any, ...]
    timeout: float | None
    engine_timeout: float
    receiver: threading.Thread
    started_at: float | None = None
    """Wall-clock time the host could start this request (None: it never could)."""
    _clock: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _answer: Answer | None = None

    def begin(self) -> None:
        """The host can start this request now: its timeout counts from here."""
        self.started_at, self._clock = time.time(), time.monotonic()

    def left(self) -> float | None:
        """Seconds this request may still run before its timeout (None: no timeout)."""
        if self.timeout is None:
            return None
        return max(self._clock + self.timeout - time.monotonic(), 0.0)

    def resolve(self, answer: Answer) -> None:
        self._answer = answer
        self._done.set()

    def reply(self) -> Any:
        """The host's answer.

        Raises:
            EngineError: the request failed in the host, or the host was lost serving it
                (:class:`EngineLost`), or no answer can come any more.
        """
        while not self._done.wait(_LIVENESS_S):
            if not self.receiver.is_alive() and not self._done.is_set():
                raise EngineLost(RECEIVER_DIED)
        assert self._answer is not None
        if self._answer.error is not None:
            raise self._answer.error
        return self._answer.value

"""The runs of a sweep still to run, held as ranges so their number costs no memory.

A 10^12-run grid with a few thousand runs recorded is a handful of ranges, not a list
of 10^12 ids: memory grows with what the manifest records, never with the design.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator

import numpy as np


class PendingRuns:
    """Ascending run ids, as disjoint half-open ranges ``[start, stop)``."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        self.ranges = [(int(a), int(b)) for a, b in ranges if b > a]
        self._offsets = [0]
        for start, stop in self.ranges:
            self._offsets.append(self._offsets[-1] + stop - start)

    @classmethod
    def excluding(cls, run_count: int, done: Iterable[int]) -> PendingRuns:
        """Every id in ``0..run_count-1`` except those in ``done``."""
        ranges, start = [], 0
        for run_id in sorted(i for i in set(done) if 0 <= i < run_count):
            if run_id > start:
                ranges.append((start, run_id))
            start = run_id + 1
        if start < run_count:
            ranges.append((start, run_count))
        return cls(ranges)

    def __len__(self) -> int:
        return self._offsets[-1]

    def __contains__(self, run_id: object) -> bool:
        if not isinstance(run_id, int | np.integer):
            return False
        index = bisect.bisect_right(self.ranges, (int(run_id), math.inf)) - 1
        return index >= 0 and self.ranges[index][0] <= run_id < self.ranges[index][1]

    def __iter__(self) -> Iterator[int]:
        for start, stop in self.ranges:
            yield from range(start, stop)

    def take(self, position: int, count: int) -> np.ndarray:
        """The ``count`` ids from ``position`` on (in this order), as int64."""
        position, end = max(position, 0), min(position + count, len(self))
        parts = []
        while position < end:
            index = bisect.bisect_right(self._offsets, position) - 1
            start, stop = self.ranges[index]
            first = start + position - self._offsets[index]
            last = min(stop, first + end - position)
            parts.append(np.arange(first, last, dtype=np.int64))
            position += last - first
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def __getitem__(self, key: slice) -> np.ndarray:
        """A contiguous slice of the ids (steps are not supported)."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("PendingRuns supports contiguous slices only")
        start, stop, _ = key.indices(len(self))
        return self.take(start, max(stop - start, 0))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PendingRuns):
            return self.ranges == other.ranges
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(f"{a}..{b - 1}" for a, b in self.ranges[:4])
        more = ", ..." if len(self.ranges) > 4 else ""
        return f"PendingRuns({len(self)} runs: {shown}{more})"

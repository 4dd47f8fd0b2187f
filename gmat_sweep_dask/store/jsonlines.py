"""A JSON Lines file read one complete line at a time, with what its end looked like.

A manifest of a million runs is a few hundred MB: reading it whole and splitting it
held it twice in memory before the first line was parsed. :class:`Lines` yields each
complete line (without its newline) as it is read; once read to the end, ``tail`` is an
unterminated last line (a write cut short, or a record whose newline never reached the
disk), ``valid`` the bytes before it and ``count`` the complete lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from gmat_sweep_dask.errors import SweepDirError


class Lines:
    """The complete lines of the open file ``handle`` (one iteration: a header read
    first, the rest after it).

    Raises (while iterating):
        SweepDirError: the file cannot be read (an I/O error), naming ``path``.
    """

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path, self.handle = path, handle
        self.tail, self.valid, self.count = b"", 0, 0
        self._read = self._generate()

    def __iter__(self) -> Iterator[bytes]:
        return self._read

    def _generate(self) -> Iterator[bytes]:
        try:
            for raw in self.handle:
                if not raw.endswith(b"\n"):
                    self.tail = raw
                    return
                self.valid += len(raw)
                self.count += 1
                yield raw[:-1]
        except OSError as exc:
            raise SweepDirError(f"{self.path}: cannot read the manifest: {exc.strerror}") from exc

"""One exception hierarchy for gmat-sweep-dask.

Every error the library raises on purpose derives from :class:`GmatSweepDaskError`.
Errors caused by what the user asked for (a malformed grid, a missing script, an
output directory holding another sweep) derive from :class:`UsageError`; the CLI maps
those to exit code 2 with a one-line message.
"""

from __future__ import annotations

from pathlib import Path


class GmatSweepDaskError(Exception):
    """Base class of every error raised by gmat-sweep-dask."""


class UsageError(GmatSweepDaskError, ValueError):
    """The request itself is invalid: nothing was run and nothing on disk changed."""


class SpecError(UsageError):
    """A parameter space (grid, samples, distribution) or a CLI token is invalid."""


class ScriptError(UsageError):
    """The GMAT script is missing, unreadable, or rejects a swept field."""


class GmatMissingError(UsageError):
    """No usable GMAT install where the runs would happen (``GMAT_ROOT`` unset or wrong)."""


class SweepDirError(UsageError):
    """The output directory cannot hold this sweep (another sweep, not writable...)."""


class SweepDirWriteError(SweepDirError):
    """Writing into the sweep directory failed (disk full, read-only, no permission).

    The sweep stops; everything recorded in the manifest before stays intact.
    """


class SweepLockedError(SweepDirError):
    """Another live driver holds the sweep directory's lock."""


class ManifestCorruptError(UsageError):
    """A manifest line other than a torn final line is not a valid record."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: corrupt manifest record ({reason})")

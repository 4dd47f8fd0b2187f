"""The one rule for paths read back from disk: they must stay inside the sweep directory.

A path taken from the manifest, a commit record or a design header is relative to the
sweep directory. Before anything reads, writes or deletes the file it names, it must be
a plain relative path (no ``..``, not absolute) and, symlinks resolved, lie inside the
directory: a link planted in ``data/`` that points elsewhere is refused, never followed.
"""

from __future__ import annotations

import os
from pathlib import Path

from gmat_sweep_dask.errors import SweepDirError


def confined(base: Path, relative: object, *, what: str = "path") -> Path:
    """The path of ``relative`` under ``base`` if it lies inside ``base``.

    ``base`` is the sweep directory (made absolute and resolved here if it is not).
    The returned path is ``base / relative`` unresolved (a link inside that stays inside
    is allowed; deleting it removes the link).

    Raises:
        SweepDirError: ``relative`` is not a plain relative path, or it (or a link on
            its way) leads outside ``base``; the message names the path.
    """
    base = base if base.is_absolute() else base.resolve()
    if not is_confined(relative):
        raise SweepDirError(f"{base}: {what} {relative!r} lies outside the sweep directory")
    target = base / str(relative)
    try:
        resolved = target.resolve()
        root = base.resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise SweepDirError(f"{base}: {what} {relative!r} cannot be resolved: {exc}") from None
    if not _within(str(resolved), str(root)):
        raise SweepDirError(
            f"{base}: {what} {relative!r} leads outside the sweep directory (to {resolved})"
        )
    return target


def _within(resolved: str, root: str) -> bool:
    """Whether resolved absolute path ``resolved`` is ``root`` or lies under it (by whole
    components: ``/a/bc`` is not under ``/a/b``)."""
    return resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep)


def is_confined(relative: object) -> bool:
    """Whether ``relative`` is a plain relative path that cannot climb out of its base."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        return False
    if relative.startswith(("/", "\\")) or ":" in relative.split("/", 1)[0]:
        return False
    parts = relative.replace("\\", "/").split("/")
    return all(part not in ("", ".", "..") for part in parts)

"""Output file names of a script that would leave a run's directory, and what they become.

In a sweep an absolute output file name (``/data/orbit.txt``) or one that climbs out
(``../orbit.txt``) is always wrong: every run would write the same file outside the sweep
directory. Such a name becomes ``<resource>-<file name>`` (``Orbit-orbit.txt``) in the
run's own directory: after loading, for any output GMAT holds (:mod:`~gmat_sweep_dask.
execute.confine`), and in the text of the script copy a sweep runs
(:mod:`~gmat_sweep_dask.store.snapshot`), where the name is rewritten before GMAT reads
it. GMAT R2026a refuses, while reading a script, an output file whose directory does not
exist: a script written on another machine loads only so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath

#: Resource types whose ``Filename`` names a file the run writes.
OUTPUT_TYPES = ("ReportFile", "EphemerisFile", "ContactLocator", "EclipseLocator")

_BEGIN = re.compile(r"^\s*BeginMissionSequence\b")
_CREATE = re.compile(r"^\s*Create\s+(\w+)\s+([\w\s,]+?)\s*;?\s*(?:%.*)?$")
_FILENAME = re.compile(
    r"""^(\s*(?:GMAT\s+)?(\w+)\.Filename\s*=\s*)(['"]?)([^'";%]*?)\3(\s*;?\s*(?:%.*)?)$"""
)


def escapes(name: str) -> bool:
    """Whether an output file name is absolute or climbs out of its directory."""
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(name)
        if path.is_absolute() or path.drive or ".." in path.parts:
            return True
    return name.startswith("~")


def confined_name(resource: str, declared: str) -> str:
    """The plain file name an escaping output file name of ``resource`` becomes."""
    leaf = PureWindowsPath(declared).name.lstrip(".") or "output"
    return f"{resource}-{leaf}"


def confined(resource: str, declared: object) -> str | None:
    """The name an output file name ``declared`` of ``resource`` becomes, if it escapes
    (:func:`confined_name`); None for any other value (relative, empty, not text)."""
    if isinstance(declared, str) and declared and escapes(declared):
        return confined_name(resource, declared)
    return None


def output_resources(texts: Iterable[str]) -> set[str]:
    """Names of the resources the script ``texts`` (a script and its includes) create as
    one of :data:`OUTPUT_TYPES`."""
    names: set[str] = set()
    for text in texts:
        for line in _resources_section(text):
            created = _CREATE.match(line)
            if created and created[1] in OUTPUT_TYPES:
                names.update(name for name in re.split(r"[\s,]+", created[2]) if name)
    return names


def confine_text(text: str, outputs: set[str]) -> str:
    """``text`` with each escaping ``Filename`` of ``outputs`` assigned before
    ``BeginMissionSequence`` replaced by its :func:`confined_name` (quoted)."""
    lines = text.split("\n")
    for index, line in enumerate(_resources_section(text)):
        found = _FILENAME.match(line)
        if found and found[2] in outputs and (name := confined(found[2], found[4])):
            lines[index] = f"{found[1]}'{name}'{found[5]}"
    return "\n".join(lines)


def in_sequence(text: str, outputs: set[str]) -> list[tuple[int, str]]:
    """``(line number, line)`` of each assignment of a ``Filename`` of ``outputs`` after
    ``BeginMissionSequence`` in ``text``. GMAT would write that output there while the run
    runs, beyond the reach of any confinement: an absolute name where it says, a plain one
    in the process's current directory."""
    lines = text.split("\n")
    start = len(_resources_section(text))
    return [
        (number, line)
        for number, line in enumerate(lines[start:], start=start + 1)
        if (found := _FILENAME.match(line)) and found[2] in outputs
    ]


def _resources_section(text: str) -> list[str]:
    """The lines of ``text`` before its ``BeginMissionSequence`` (all of an include's)."""
    lines = text.split("\n")
    end = next((i for i, line in enumerate(lines) if _BEGIN.match(line)), len(lines))
    return lines[:end]

"""Keep every file a run writes inside that run's own working directory.

gmat-run redirects relative output file names into a run's working directory, keeps
absolute ones (the user's chosen destination) and refuses names that climb out with
``..``. In a sweep an absolute name is always wrong: every run would write the same
file outside the sweep directory and read back another run's rows. So before each run
every output file name that is absolute or climbs out (``Filename`` of ReportFile,
EphemerisFile, ContactLocator, EclipseLocator and any other output subscriber or event
locator, ``ReportFile`` of a solver) becomes ``<resource>-<file name>`` in the working
directory. Relative names inside it are left to gmat-run, which keeps them there.
"""

from __future__ import annotations

import contextlib
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

#: GMAT object-type enum name → the field naming the file objects of that type write.
OUTPUT_FIELDS = {"SUBSCRIBER": "Filename", "EVENT_LOCATOR": "Filename", "SOLVER": "ReportFile"}


def confine_outputs(mission: Any) -> dict[str, str]:
    """Point every escaping output file name of ``mission`` into its working directory.

    Returns ``{"<resource>.<field>": "<new name>"}`` for each name changed. Resources
    without such a field (plots, views) are skipped.
    """
    gmat = mission.gmat
    moderator = gmat.Moderator.Instance()
    changed: dict[str, str] = {}
    for enum, field in OUTPUT_FIELDS.items():
        type_id = getattr(gmat, enum, None)
        if type_id is None:
            continue
        try:
            names = list(moderator.GetListOfObjects(type_id))
        except Exception:  # an engine without this list: nothing of this kind to confine
            continue
        for name in names:
            dotted = f"{name}.{field}"
            try:
                declared = mission[dotted]
            except Exception:  # this resource writes no file
                continue
            if isinstance(declared, str) and declared and escapes(declared):
                confined = f"{name}-{_file_name(declared)}"
                with contextlib.suppress(Exception):
                    mission[dotted] = confined
                    changed[dotted] = confined
    return changed


def escapes(name: str) -> bool:
    """Whether an output file name is absolute or climbs out of its directory."""
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(name)
        if path.is_absolute() or path.drive or ".." in path.parts:
            return True
    return name.startswith("~")


def _file_name(name: str) -> str:
    leaf = PureWindowsPath(name).name or "output"
    return leaf.lstrip(".") or "output"

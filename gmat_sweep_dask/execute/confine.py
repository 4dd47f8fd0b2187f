"""Keep every file a run writes inside that run's own working directory.

gmat-run redirects relative output file names into a run's working directory, keeps
absolute ones (the user's chosen destination) and refuses names that climb out with
``..``. In a sweep an absolute name is always wrong: every run would write the same
file outside the sweep directory and read back another run's rows. So before each run
every output file name that is absolute or climbs out (``Filename`` of ReportFile,
EphemerisFile, ContactLocator, EclipseLocator and any other output subscriber or event
locator, ``ReportFile`` of a solver) becomes ``<resource>-<file name>`` in the working
directory. Relative names inside it are left to gmat-run, which keeps them there.

GMAT also stages some files in its temporary directory (``TMP``, else ``TMPDIR``, else
``/tmp``) under their bare file name: an STK ephemeris is written there first and copied
to its ``Filename`` when the run ends. Shared, that name meets every other GMAT process
writing the same file name at the same time (each overwrites the other's file: empty or
mixed ephemerides) or a stale entry of that name (the run hangs). While a run runs,
:func:`private_temp_dir` makes GMAT's temporary directory a directory of its own inside
its working directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gmat_sweep_dask.execute.scratch import is_scratch
from gmat_sweep_dask.store.outputnames import confined

#: GMAT's temporary directory during a run, inside the run's working directory.
GMAT_TMP = ".gmat-tmp"

#: GMAT object-type enum name → the field naming the file objects of that type write.
OUTPUT_FIELDS = {"SUBSCRIBER": "Filename", "EVENT_LOCATOR": "Filename", "SOLVER": "ReportFile"}


def confine_outputs(mission: Any) -> dict[str, str]:
    """Point every escaping output file name of ``mission`` into its working directory.

    Returns ``{"<resource>.<field>": "<new name>"}`` for each name changed. Resources
    without such a field (plots, views) are skipped.
    """
    changed: dict[str, str] = {}
    for dotted in _output_fields(mission):
        try:
            declared = mission[dotted]
        except Exception:  # this resource writes no file
            continue
        name = confined(dotted.split(".", 1)[0], declared)
        if name is not None:
            with contextlib.suppress(Exception):
                mission[dotted] = name
                changed[dotted] = name
    return changed


def confined_overrides(mission: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` with each escaping output file name already confined, as
    :func:`confine_outputs` would leave it: GMAT refuses the write of one whose directory
    does not exist (``/home/them/results/orbit.txt``), though no run would write there."""
    named = [k for k in overrides if k.endswith((".Filename", ".ReportFile"))]
    if not named:
        return overrides
    outputs = set(_output_fields(mission))
    written = dict(overrides)
    for dotted in named:
        name = confined(dotted.split(".", 1)[0], overrides[dotted])
        if dotted in outputs and name is not None:
            written[dotted] = name
    return written


def _output_fields(mission: Any) -> Iterator[str]:
    """``"<resource>.<field>"`` of each file-naming field of ``mission``'s output
    resources (subscribers, event locators, solvers)."""
    gmat = mission.gmat
    moderator = gmat.Moderator.Instance()
    for enum, field in OUTPUT_FIELDS.items():
        type_id = getattr(gmat, enum, None)
        if type_id is None:
            continue
        try:
            names = list(moderator.GetListOfObjects(type_id))
        except Exception:  # an engine without this list: nothing of this kind to confine
            continue
        yield from (f"{name}.{field}" for name in names)


@contextlib.contextmanager
def private_temp_dir(working_dir: Path) -> Iterator[Path]:
    """Make ``<working_dir>/.gmat-tmp`` GMAT's temporary directory for the ``with`` block.

    GMAT reads ``TMP`` each time it stages a file, so ``TMP`` is set for the block (the
    caller holds the GMAT lock: one run per process at a time) and restored after it; the
    directory is removed afterwards, unless the working directory is a scratch directory
    (:func:`~.scratch.is_scratch`), which its worker removes whole once the run's outputs
    are read (removing a directory can take a millisecond: not in the engine's time).
    Python's own temporary directory is settled first, so it never becomes this one.
    """
    tempfile.gettempdir()
    private = Path(working_dir) / GMAT_TMP
    shutil.rmtree(private, ignore_errors=True)
    private.mkdir(parents=True)
    saved = os.environ.get("TMP")
    os.environ["TMP"] = str(private)
    try:
        yield private
    finally:
        if saved is None:
            os.environ.pop("TMP", None)
        else:
            os.environ["TMP"] = saved
        if not is_scratch(Path(working_dir)):
            shutil.rmtree(private, ignore_errors=True)

"""Load a script through gmat-run and, when GMAT refuses it, say why in GMAT's own words.

gmat-run reports a script GMAT cannot parse as "check the GMAT log file", but between
runs it points GMAT's log at the null device, so there is no log for a user to read. A
refused script is therefore read once more with GMAT's log in a temporary file (only on
that failure: a script that loads costs nothing extra), and the ``GmatLoadError`` raised
names GMAT's first error and carries the whole log as ``log``, which a failed run records
as its log tail.

One refusal is not final: an output file (a ReportFile's, an EphemerisFile's) whose
absolute or ``..`` path names a directory that does not exist here. Every run confines
such a file into its own directory anyway (:mod:`.confine`), so the script is loaded
again from a copy with those names confined in its text, as a sweep's runs run it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

#: GMAT's wording when an output file's directory does not exist where it reads the script.
_MISSING_DIRECTORY = ("Cannot open output", "Cannot resolve ephemeris output path")
_OUTPUT_HINT = (
    " (GMAT checks that an output file's directory exists when it reads the script; "
    "gmat-sweep-dask writes every output into the sweep directory whatever its path: "
    "create that directory, or give the file a plain name such as 'orbit.txt')"
)


def load_mission(script: str | Path, *, described: str | None = None) -> Any:
    """gmat-run's ``Mission.load(script)``; the caller holds the process's GMAT lock.

    Raises:
        GmatLoadError: GMAT refused the script; the message names the script (as
            ``described`` when given, else its path) and GMAT's first logged error, and
            ``.log`` holds GMAT's log of the refusal. Other gmat-run errors propagate.
    """
    from gmat_run import Mission
    from gmat_run.errors import GmatLoadError

    try:
        return Mission.load(script)
    except GmatLoadError as exc:
        log = _refusal_log(script)
        if log is None:  # GMAT itself did not start: nothing more to learn
            raise
        from gmat_sweep_dask.analysis.failures import gmat_error_line

        if _missing_directory(gmat_error_line(log)):
            mission = _load_confined(Path(script))
            if mission is not None:
                return mission
        error = GmatLoadError(_message(script, described, log))
        error.log = log  # type: ignore[attr-defined]
        raise error from exc


def _missing_directory(said: str | None) -> bool:
    """Whether GMAT's error line ``said`` refuses an output file whose directory is missing."""
    return said is not None and any(mark in said for mark in _MISSING_DIRECTORY)


def _load_confined(script: Path) -> Any:
    """``script`` loaded from a copy of it (and its includes) taken as a sweep takes its
    own, which confines each escaping output file name in the text (the file's directory
    exists nowhere here, so GMAT refused the script as written); None if GMAT refuses the
    copy too. The copy is made in a temporary directory and removed."""
    from gmat_run import Mission
    from gmat_run.errors import GmatLoadError

    from gmat_sweep_dask.errors import ScriptError
    from gmat_sweep_dask.store import snapshot

    try:
        with snapshot.temporary(script) as copy:
            return Mission.load(copy)
    except (GmatLoadError, ScriptError, OSError):
        return None


def _refusal_log(script: str | Path) -> str | None:
    """GMAT's log of loading ``script`` again, or None when GMAT cannot be started."""
    from gmat_run import bootstrap, locate_gmat

    try:
        gmat = bootstrap(locate_gmat())  # cached: the GMAT this process already runs
    except Exception:
        return None
    with tempfile.TemporaryDirectory(prefix="gmat-sweep-dask-load-") as tmp:
        path = Path(tmp) / "GmatLog.txt"
        try:
            gmat.UseLogFile(str(path))
            gmat.LoadScript(str(script))
        except Exception:  # the log holds what GMAT said before it gave up
            pass
        finally:
            gmat.UseLogFile(os.devnull)  # GMAT holds its log open: let the directory go
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


def _message(script: str | Path, described: str | None, log: str) -> str:
    from gmat_sweep_dask.analysis.failures import gmat_error_line

    name = described or repr(str(script))
    said = gmat_error_line(log)
    if said is None:
        return f"GMAT could not parse {name} (GMAT logged no error line)"
    hint = _OUTPUT_HINT if _missing_directory(said) else ""
    return f"GMAT could not parse {name}: {said}{hint}"

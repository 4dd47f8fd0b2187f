"""Why a run failed, in words an analyst reads, with GMAT's own error line when it has one.

A failed run's manifest entry holds the error as recorded (``GmatRunError: GMAT RunScript
returned status -5; expected 1``, ``timeout: no result after 20 s``, ...) and, for a
failure inside GMAT, the tail of GMAT's log. :func:`explain` turns the two into a
:class:`Failure`: a short reason (``GMAT run failed``, ``GMAT rejected a value of
Sat.INC``, ``timed out after 20 s``, ``GMAT engine crashed (signal SIGSEGV)``...) and the
line of GMAT's log (or exception) that says what went wrong, e.g. ``Propagator
Exception: PrinceDormand78: Accuracy settings will be violated with current step size
values. (line 36 of reference.script)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gmat_sweep_dask import wording
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf

GMAT_LOG = "GmatLog.txt"
LOAD_FAILED = "GMAT could not load the script"

_ERROR_MARK = re.compile(r"^(?:\s*\d+: (.+?): )?\s*\*+\s*ERROR\s*\*+\s*(.+?)(?: in line:)?$")
_EXCEPTION_LINE = re.compile(r"^\s*([A-Z]\w*(?: \w+)* Exception(?: Thrown)?:\s*.+)$")
_WHERE = re.compile(r'This error occurred on line (\d+) of file:\s*"?([^"]+?)"?\s*$')
_QUOTED_LINE = re.compile(r'^\s*"\s*(\d+): (.*)"\s*$')  # the script interpreter's
_CHAINED = re.compile(r"^(?:\w+(?: \w+)* Exception(?: Thrown)?:\s*)+")
_TYPED = re.compile(r"^([A-Za-z_]\w*(?:Error|Exception|Lost)): (.*)$", re.S)
_REJECTED = re.compile(r"^GMAT rejected write to '([^']+)':\s*(.*)$", re.S)


@dataclass(frozen=True)
class Failure:
    """Why one run failed: ``reason`` in words, ``gmat_says`` GMAT's own message if any."""

    reason: str
    gmat_says: str | None = None

    def text(self) -> str:
        """``reason: GMAT's message`` on one line."""
        return f"{self.reason}: {self.gmat_says}" if self.gmat_says else self.reason


def explain(error: str | None, log_tail: str | None = None) -> Failure:
    """The :class:`Failure` of a run whose entry records ``error`` and ``log_tail``."""
    text = " ".join((error or "").split()) if error else ""
    from_log = gmat_error_line(log_tail or "")
    typed = _TYPED.match(error.strip()) if error else None
    kind, message = (typed[1], " ".join(typed[2].split())) if typed else ("", text)
    if kind == "GmatRunError":
        if from_log:
            return Failure("GMAT run failed", from_log)
        return Failure(f"GMAT run failed ({message}; GMAT logged no error line)")
    if kind == "GmatFieldError":
        rejected = _REJECTED.match(message)
        if rejected:
            return Failure(f"GMAT rejected a value of {rejected[1]}", _plain(rejected[2]))
        return Failure("field error", message)
    if kind == "GmatLoadError":
        if from_log:
            return Failure(LOAD_FAILED, from_log)
        if message.startswith("GMAT could not "):  # one sentence already: no prefix twice
            return Failure(message)
        return Failure(LOAD_FAILED, message)
    if kind == "ValueError":  # a run's own check (a value GMAT did not keep, ...): a sentence
        return Failure(message, from_log)
    if kind == "GmatOutputParseError":
        return Failure("an output of GMAT could not be read", message)
    if text.startswith("timeout: no result after "):
        return Failure(f"timed out after {text.removeprefix('timeout: no result after ')}")
    if text.startswith("task failed: "):
        return Failure("the Dask task failed", text.removeprefix("task failed: "))
    if not text:
        return Failure("no reason recorded")
    return Failure(text if not kind else f"{kind}: {message}", from_log)


def gmat_error_line(log: str) -> str | None:
    """The first error GMAT logged (``**** ERROR ****`` or ``... Exception: ...``),
    with the script line it names, if any; None when the log holds no error."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        marked = _ERROR_MARK.match(line)
        found = marked[2] if marked else None
        if found is None:
            exception = _EXCEPTION_LINE.match(line)
            found = exception[1] if exception else None
        if found is None:
            continue
        quoted = _QUOTED_LINE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if quoted and marked and marked[1]:  # the script interpreter: "  32: Sat.X = 1"
            found += f" (line {quoted[1]} of {Path(marked[1]).name}: {quoted[2].strip()})"
        else:
            for later in lines[i + 1 : i + 4]:
                where = _WHERE.search(later)
                if where:
                    found += f" (line {where[1]} of {Path(where[2]).name})"
                    break
        return " ".join(found.split())
    return None


def _plain(message: str) -> str:
    """GMAT's message without its chain of ``... Exception Thrown:`` prefixes."""
    return " ".join(_CHAINED.sub("", message.strip()).split())


def log_path(sweep_dir: Path, run_id: int) -> Path | None:
    """GMAT's log of a run, when its raw outputs were kept (``--keep-raw``)."""
    path = layout.raw_run_dir(Path(sweep_dir), run_id) / GMAT_LOG
    return path if path.is_file() else None


def failure_rows(sweep_dir: str | Path, *, limit: int | None = None) -> list[list[str]]:
    """``[run, overrides, reason, log]`` of each failed run of ``sweep_dir`` (run order).

    ``log`` is the path of GMAT's log under ``sweep_dir`` as given, or ``-`` when the
    run's raw outputs were not kept.
    """
    directory = Path(sweep_dir)
    failed = lambda entry: entry["status"] == mf.FAILED  # noqa: E731 - only those whole
    manifest = mf.Manifest.load(directory / layout.MANIFEST, full=failed)
    rows = []
    for run_id in sorted(manifest.entries):
        entry = manifest.entries[run_id]
        if entry["status"] != mf.FAILED:
            continue
        failure = explain(entry.get("error"), entry.get("log_tail"))
        log = log_path(directory, run_id)
        rows.append(
            [
                str(run_id),
                wording.overrides(entry.get("overrides")),
                failure.text(),
                str(log) if log else "-",
            ]
        )
        if limit is not None and len(rows) >= limit:
            break
    return rows

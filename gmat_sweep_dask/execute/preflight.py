"""Checks made before a cluster starts: GMAT is there, the script loads, fields and values fit.

:func:`check_locally` loads the script once in a GMAT engine host process of the
driver (a crash there cannot take the driver down) and reads every swept field; the
design's values are then checked against the type of each field's value in the script
(numbers for real and integer fields, text for string fields, text or numbers for a
string field holding a number, as an EphemerisFile's ``StepSize = 60`` does, true/false for
boolean ones), so a wrong-typed value fails the request before anything runs. Where GMAT is not
installed on the driver's machine but the workers may have it (a scheduler or batch
cluster), :func:`check_on_workers` makes the same checks on a worker instead.
"""

from __future__ import annotations

import contextlib
import math
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gmat_sweep_dask.design import Design
from gmat_sweep_dask.errors import GmatMissingError, ScriptError, SweepDirError, UsageError
from gmat_sweep_dask.execute import reportlayout
from gmat_sweep_dask.execute.kept import number
from gmat_sweep_dask.execute.runoptions import check_gmat_path
from gmat_sweep_dask.store import layout, snapshot

GET_GMAT = (
    "set GMAT_ROOT to a GMAT R2025a/R2026a install (the directory holding bin/gmatpy/ "
    "and api/load_gmat.py); no GMAT yet? `bash tests/gmat_real/build.sh` in a "
    "gmat-sweep-dask checkout builds one"
)


def resolve_script(path: str | Path) -> Path:
    """The absolute path of an existing, readable script file.

    Raises:
        ScriptError: it does not exist, is not a file, cannot be read, or its path is
            not UTF-8 (GMAT cannot load it); its mission sequence names an output file.
        UsageError: the temporary directory GMAT's runs work in is not UTF-8.
    """
    try:
        script = Path(path).expanduser()
    except RuntimeError as exc:  # ~otheruser without such a user
        raise ScriptError(f"script {str(path)!r}: {exc}") from None
    check_gmat_path(script.absolute(), "script", ScriptError)
    check_gmat_path(Path(tempfile.gettempdir()), "temporary directory (TMPDIR)", UsageError)
    if not script.is_file():
        raise ScriptError(f"script {str(path)!r} does not exist or is not a file")
    try:
        script.read_bytes()
    except OSError as exc:
        raise ScriptError(f"script {str(path)!r} cannot be read: {exc.strerror}") from exc
    redirected = snapshot.outputs_redirected(script)
    if redirected:
        raise ScriptError(
            f"{redirected[0]}: an output file named in the mission sequence is written "
            "there while the run runs, outside the sweep directory; name it where the "
            "resource is created, before BeginMissionSequence"
        )
    return script.resolve()


def start_locally(script: Path, design: Design, spares: int = 0) -> Callable[[], dict[str, Any]]:
    """Start loading ``script`` in a local engine host; pass the result to
    :func:`check_locally`. GMAT bootstraps meanwhile (the lock, the manifest...), and so
    do ``spares`` more engine hosts, for the workers of a LocalCluster in this process."""
    from gmat_sweep_dask.execute import isolation

    answer = isolation.start_check(str(script), list(design.fields))
    isolation.warm(spares)
    return answer


@contextlib.contextmanager
def stopping_engine(started: bool = True) -> Iterator[None]:
    """Stop the engine hosts :func:`start_locally` started (if ``started``) when the body
    ends, however it ends (a refusal before the check, a sweep with nothing to run)."""
    from gmat_sweep_dask.execute import isolation

    try:
        yield
    finally:
        if started:
            isolation.shutdown()


def check_locally(
    started: Callable[[], dict[str, Any]],
    script: Path,
    design: Design,
    report: str | bool | None,
    *,
    required: bool,
    keep_warm: bool = False,
) -> dict[str, Any] | None:
    """Check ``script`` and ``design`` on this machine; return the GMAT engine's facts.

    ``started`` is the check :func:`start_locally` began. ``report`` is the ReportFile
    the caller will read (``None``: the only one; ``False``: not checked). Returns None
    when GMAT is not installed here and not ``required`` (the workers are elsewhere and
    are checked by :func:`check_on_workers` instead). ``keep_warm`` hands the engine
    host that checked to the first worker of this process instead of stopping it.

    Raises:
        GmatMissingError: GMAT is not installed here and ``required``.
        ScriptError: the script does not load, a field does not exist, a value does not
            fit its field, or the report choice cannot be honoured.
    """
    from gmat_sweep_dask.execute import isolation

    try:
        answer = started()
    finally:
        if keep_warm:  # a worker of this process takes it
            isolation.hand_on()
        else:  # the driver needs no warm engine
            isolation.shutdown()
    checked = _checked(script, design, report, answer, required=required)
    return checked["gmat"] if checked else None


def inspect_locally(
    script: Path, design: Design | None, report: str | bool | None, *, required: bool = True
) -> dict[str, Any] | None:
    """The checks of :func:`check_locally`, leaving this process's engine host warm.

    Returns the engine's whole answer: ``gmat`` (root, version, standin), ``values``
    (the script's value of each swept field) and ``reports``; None as in
    :func:`check_locally`. ``design`` None checks the script as written (no fields).
    Raises as :func:`check_locally` does.
    """
    from gmat_sweep_dask.execute import isolation

    fields = list(design.fields) if design is not None else []
    answer = isolation.check_isolated(str(script), fields)
    return _checked(script, design, report, answer, required=required)


def _checked(
    script: Path,
    design: Design | None,
    report: str | bool | None,
    answer: dict[str, Any],
    *,
    required: bool,
) -> dict[str, Any] | None:
    """``answer`` once concluded; None when GMAT is missing here and not ``required``."""
    if answer.get("gmat_missing"):
        if required:
            raise GmatMissingError(f"GMAT is not installed here ({_why(answer)}): {GET_GMAT}")
        return None
    _conclude(script, design, report, answer)
    return answer


def check_on_workers(
    client: Any,
    script: Path,
    design: Design,
    report: str | bool | None,
    isolate: bool,
    hook: Any = None,
) -> dict[str, Any]:
    """The checks of :func:`check_locally`, made on the cluster's workers instead, and
    that every worker can import the postprocess ``hook``.

    With isolation this also starts each worker's warm engine host, in parallel.

    Raises:
        SpecError: a worker cannot load the hook (before any run).
    """
    if hook is not None:
        from gmat_sweep_dask.execute.postprocess import check_on_workers as check_hook

        check_hook(client, hook)
    from gmat_sweep_dask.execute.engine import check_mission
    from gmat_sweep_dask.execute.isolation import check_isolated

    check = check_isolated if isolate else check_mission
    args = (str(script), list(design.fields))
    if client.nthreads():
        answers = list(client.run(check, *args).values())
    else:  # an adaptive cluster at zero, or jobs still queued: the first worker answers
        print("gmat-sweep-dask: waiting for the first Dask worker to join...", file=sys.stderr)
        answers = [client.submit(check, *args, pure=False).result()]
    missing = [a for a in answers if a.get("gmat_missing")]
    if missing:
        where = f"GMAT is not installed on the workers ({_why(missing[0])})"
        raise GmatMissingError(f"{where}: {GET_GMAT}")
    errors = sorted({e for answer in answers for e in answer["errors"]})
    return _conclude(script, design, report, {**answers[0], "errors": errors})


def _why(answer: dict[str, Any]) -> str:
    """gmat-run's account of where it looked for GMAT, on one line."""
    text = " ".join(answer["errors"]).split("GmatNotFoundError:", 1)[-1]
    text = text.replace("No usable GMAT install found.", "").replace("Search results:", "")
    return " ".join(text.split()).removeprefix("- ").replace(" - ", "; ")


def _conclude(
    script: Path, design: Design | None, report: str | bool | None, answer: dict[str, Any]
) -> dict[str, Any]:
    if answer["errors"]:
        raise ScriptError(f"{script.name}: " + "; ".join(answer["errors"]))
    if report is not False:
        _check_report(script.name, report, answer["reports"])
    if design is not None:
        design.resolve(answer["values"])
        check_types(design, answer["values"])
        unreadable = reportlayout.refused(design.distinct_values(), answer["reports"])
        if unreadable is not None:
            raise ScriptError(unreadable)
    return answer["gmat"]


def check_types(design: Design, nominal: dict[str, Any]) -> None:
    """Refuse design values whose type does not fit the field's value in the script.

    Raises:
        ScriptError: naming the field, the value and what the field takes.
    """
    for field, values in design.distinct_values().items():
        if field not in nominal:
            continue
        expected, fits = _kind(nominal[field])
        for value in values:
            if not fits(value):
                raise ScriptError(
                    f"{field}={value!r}: expected {expected} like the script's value of "
                    f"{field} ({nominal[field]!r})"
                )


def kind_of(value: Any) -> str:
    """The type of a field's value in words (``a number``, ``text``...), as errors say it."""
    return _kind(value)[0]


def _kind(nominal: Any) -> tuple[str, Any]:
    """A name for the type of ``nominal`` and a predicate for values that fit it."""

    def numeric(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    if isinstance(nominal, bool):
        return "a boolean (true/false)", lambda v: isinstance(v, bool)
    if isinstance(nominal, int):
        return "an integer", lambda v: numeric(v) and float(v).is_integer()
    if isinstance(nominal, float):
        return "a number", numeric
    if isinstance(nominal, str) and number(nominal) is not None:  # StepSize = 60: a script
        return "text or a number", lambda v: isinstance(v, str) or numeric(v)  # line takes it
    if isinstance(nominal, str):
        return "text", lambda v: isinstance(v, str)
    if isinstance(nominal, list):
        if nominal and all(isinstance(v, str) for v in nominal):
            return (
                "a list of names",
                lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            )
        if nominal and all(numeric(v) for v in nominal):
            return "a list of numbers", lambda v: isinstance(v, list) and all(map(numeric, v))
        return "a list", lambda v: isinstance(v, list)
    return type(nominal).__name__, lambda v: True


def _check_report(script: str, wanted: str | bool | None, available: list[str]) -> None:
    """Refuse, before anything runs, a report choice the frame could not honour."""
    if not available:
        return
    if wanted is None and len(available) > 1:
        names = ", ".join(available)
        raise ScriptError(f"{script} writes several ReportFiles ({names}); pass report=NAME")
    if wanted is not None and wanted not in available:
        raise ScriptError(f"{script} has no ReportFile {wanted!r}; it has {', '.join(available)}")


def check_shared(client: Any, sweep_dir: Path) -> None:
    """Fail fast if a connected worker cannot see the sweep directory."""
    if not client.nthreads():
        return
    blind = [
        worker
        for worker, sees in client.run(_sees, str(sweep_dir / layout.MANIFEST)).items()
        if not sees
    ]
    if blind:
        raise SweepDirError(
            f"worker(s) {', '.join(sorted(blind))} cannot see {sweep_dir}: workers and the "
            "driver must share a file system for the sweep directory"
        )


def _sees(path: str) -> bool:
    return Path(path).is_file()

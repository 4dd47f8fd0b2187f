"""ReportFile layouts gmat-run can read back: checked before every run and every sweep.

gmat-run reads a report by its header line and splits its columns on runs of two or
more spaces. On GMAT R2026a a ReportFile with ``WriteHeaders = false`` loses its first
row to the header (its values become column names), ``FixedWidth = false`` separates
columns by one space and ``Delimiter = ','`` pads them with commas: the report then reads
as one text column, or as columns of NaN, and the run would be recorded ``ok``. So a
ReportFile must keep the layout of :data:`READABLE`: :func:`check_readable` fails a run
whose report does not (after its overrides are written), and :func:`refused` names such a
value in a design before a sweep starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gmat_sweep_dask import wording

#: The ReportFile fields whose value gmat-run needs, and that value (GMAT's defaults).
READABLE: dict[str, Any] = {"WriteHeaders": True, "FixedWidth": True, "Delimiter": " "}


def report_names(gmat: Any) -> list[str]:
    """Names of the loaded script's ReportFile resources, sorted."""
    try:
        names = gmat.Moderator.Instance().GetListOfObjects(gmat.SUBSCRIBER)
        return sorted(n for n in names if gmat.GetObject(n).GetTypeName() == "ReportFile")
    except Exception:  # an engine without this introspection: nothing to validate against
        return []


def check_readable(mission: Any, skip: Iterable[str] = ()) -> None:
    """Raise unless each ReportFile of ``mission`` that writes keeps the :data:`READABLE`
    layout; fields named in ``skip`` (``Orbit.WriteHeaders``) are not checked.

    Raises:
        ValueError: naming the report, the field and its value (:func:`problem`).
    """
    skipped = set(skip)
    for name in report_names(mission.gmat):
        if _read(mission, f"{name}.WriteReport") is False:
            continue  # writes no file: nothing to read
        for field, value in READABLE.items():
            held = _read(mission, f"{name}.{field}")
            if f"{name}.{field}" not in skipped and held is not None and held != value:
                raise ValueError(problem(f"{name}.{field}", held))


def refused(values: dict[str, list[Any]], reports: Iterable[str]) -> str | None:
    """The :func:`problem` of the first design value (``values``: field → its values)
    that gives one of ``reports`` a layout gmat-run cannot read; None if there is none."""
    for report in reports:
        for field, value in READABLE.items():
            wrong = [v for v in values.get(f"{report}.{field}", []) if v != value]
            if wrong:
                return problem(f"{report}.{field}", wrong[0])
    return None


def problem(field: str, value: Any) -> str:
    """Why ``field = value`` leaves a report gmat-run cannot read, in one sentence."""
    return (
        f"{field} = {wording.value(value)} writes a report gmat-sweep-dask cannot read back "
        "(it reads the header line and columns padded with spaces): keep WriteHeaders = "
        "true, FixedWidth = true and Delimiter = ' '"
    )


def _read(mission: Any, field: str) -> Any:
    try:
        return mission[field]
    except Exception:  # an engine without the field: nothing to check
        return None

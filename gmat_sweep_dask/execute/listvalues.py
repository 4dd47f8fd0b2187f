"""List-valued overrides (``FM.PointMasses = {Sun, Luna}``) written the way GMAT reads them.

GMAT R2026a's API does not write list fields: ``GmatBase::SetField`` for a string list is
an unimplemented stub (it prints a message and changes nothing; for some fields, such as
a ForceModel's ``PointMasses``, it crashes the process), so gmat-run's
``mission[field] = [...]`` cannot set them. GMAT's script interpreter does: a run with
list overrides loads a copy of the script in which each such field's assignment (before
``BeginMissionSequence``) reads ``Field = {Sun, Luna}`` (``[1 2 3]`` for numbers); a field
the script does not assign gets that line before ``BeginMissionSequence``. The copy sits
beside the script (relative paths and ``#Include`` lines resolve as before) and is removed
once GMAT has loaded it. After loading, each list field is read back: a value GMAT did not
take fails the run, never a run recorded ``ok`` with the script's own value.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gmat_sweep_dask import wording

_BEGIN = re.compile(r"^\s*BeginMissionSequence\b", re.IGNORECASE)


def gmat_text(value: list[Any]) -> str:
    """A list as GMAT script text: ``{Sun, Luna}`` for names, ``[1 2.5 3]`` for numbers."""
    return wording.value(value)


def lists_of(overrides: dict[str, Any]) -> dict[str, list[Any]]:
    """The list-valued overrides among ``overrides``."""
    return {k: v for k, v in overrides.items() if isinstance(v, list)}


@contextlib.contextmanager
def script_with(script: str, lists: dict[str, list[Any]]) -> Iterator[str]:
    """The path of a copy of ``script`` that assigns each of ``lists``; removed afterwards.

    Raises:
        ValueError: a field is assigned on a line this cannot rewrite safely (several
            statements on one line), naming the line.
    """
    path = Path(script)
    lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    for field, value in lists.items():
        lines = _assigned(lines, field, f"{field} = {gmat_text(value)}")
    copy = path.with_name(f".{path.stem}-{uuid.uuid4().hex[:12]}{path.suffix}")
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    try:
        yield str(copy)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(copy)


def _assigned(lines: list[str], field: str, statement: str) -> list[str]:
    """``lines`` with ``field``'s resource-section assignments replaced by ``statement``."""
    target = re.compile(rf"^\s*(?:GMAT\s+)?{re.escape(field)}\s*=")
    out: list[str] = []
    placed = False
    index = 0
    begin = next((i for i, line in enumerate(lines) if _BEGIN.match(line)), len(lines))
    while index < len(lines):
        line = lines[index]
        if index < begin and target.match(line):
            code = line.split("%", 1)[0]
            if code.count("=") > 1 or ";" in code.rstrip().rstrip(";"):
                raise ValueError(
                    f"cannot set the list field {field}: its line {index + 1} holds several "
                    f"statements ({line.strip()!r}); give it a line of its own"
                )
            while code.rstrip().endswith("...") and index + 1 < begin:  # continued lines
                index += 1
                code = lines[index].split("%", 1)[0]
            if not placed:
                out.append(statement)
                placed = True
        else:
            if index == begin and not placed:
                out.append(statement)
                placed = True
            out.append(line)
        index += 1
    if not placed:
        out.append(statement)
    return out


def check_taken(mission: Any, lists: dict[str, list[Any]]) -> None:
    """Raise unless GMAT holds each list value as set (read back through gmat-run).

    Raises:
        ValueError: naming the field, the value set and the value GMAT holds.
    """
    for field, value in lists.items():
        held = mission[field]
        same = (
            isinstance(held, list)
            and len(held) == len(value)
            and all(
                h == v or (isinstance(v, str) and str(h) == v)
                for h, v in zip(held, value, strict=True)
            )
        )
        if not same:
            raise ValueError(
                f"GMAT did not take the list {field} = {gmat_text(value)}: it holds {held!r}"
            )

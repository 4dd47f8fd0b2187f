"""Overrides GMAT's API cannot apply, written into a copy of the script text instead.

Three kinds, each found on GMAT R2026a, where ``mission[field] = value`` leaves the run as
the script had it or is refused:

* **List values** (``FM.PointMasses = {Sun, Luna}``): GMAT's ``SetField`` for a string
  list is an unimplemented stub (it prints a message and changes nothing; for a
  ForceModel's ``PointMasses`` it crashes the process).
* **Fields held by a copy** (:data:`HELD_BY_COPY`): every field of a ForceModel
  (``CentralBody``, ``ErrorControl``, ``GravityField.Earth.Degree``, ``Drag...``), a
  Propagator's ``Type`` and ``FM``, and a Spacecraft's ``CoordinateSystem``. The
  Propagator takes its own copy of its force model and integrator when the script is
  read, so a later write reads back as set but the run flies the script's own (or, for
  ``Type``, is ignored); a ``CoordinateSystem`` written later converts the state instead
  of reading the script's elements in the new frame. Every field of a CoordinateSystem
  too: its ``Axes`` are an object made when the script is read, so a later ``Axes``
  write is ignored (and an ``Origin`` written later would not move a state given in it).
* **On/Off fields** (:func:`rule`): a ReportFile's ``LeftJustify`` and ``ZeroFill``, whose
  ``SetField`` takes no text (so no value at all through gmat-run).

A number for a text field that holds numbers as text (an EphemerisFile's ``StepSize``,
``60`` or ``IntegratorSteps``; gmat-run writes only text there) takes an API write of its
text instead (:func:`api_value`).

GMAT's script interpreter applies all three: such a run loads a copy of the script in which
each field's assignment (before ``BeginMissionSequence``) reads ``Field = value``
(:func:`literal`); a field the script does not assign gets that line before
``BeginMissionSequence``. The copy sits beside the script (relative paths and
``#Include`` lines resolve as before) and is removed once GMAT has loaded it. After
loading, each value is read back: a list GMAT did not take (:func:`check_taken`) or any
other value it did not keep (:mod:`.kept`) fails the run, never a run recorded ``ok``
with the script's own value.
"""

from __future__ import annotations

import contextlib
import hashlib
import numbers
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gmat_sweep_dask import wording
from gmat_sweep_dask.execute.kept import number

_BEGIN = re.compile(r"^\s*BeginMissionSequence\b", re.IGNORECASE)


def lists_of(overrides: dict[str, Any]) -> dict[str, list[Any]]:
    """The list-valued overrides among ``overrides``."""
    return {k: v for k, v in overrides.items() if isinstance(v, list)}


#: GMAT type name → the fields a run must write through the script text (``None``: all of
#: them). The stand-in names a ForceModel by its class, ``ODEModel``. A Propagator's other
#: fields (``Accuracy``, step sizes) take API writes.
HELD_BY_COPY: dict[str, frozenset[str] | None] = {
    "ForceModel": None,
    "ODEModel": None,
    "PropSetup": frozenset({"Type", "FM"}),
    "Spacecraft": frozenset({"CoordinateSystem"}),
    "CoordinateSystem": None,
}


#: How an override of a field reaches GMAT (:func:`rule`): in the script text, by an API
#: write of its text when it is a number (a text field), or by API write.
TEXT, NUMBERS, API = "text", "numbers", "api"


def rule(gmat: Any, field: str) -> str:
    """How an override of ``field`` reaches the script ``gmat`` has loaded: :data:`TEXT` for
    a field GMAT reads only from the text (:data:`HELD_BY_COPY`) or whose API write takes no
    text (an On/Off field), :data:`NUMBERS` for a text field (gmat-run writes text only:
    :func:`api_value`),
    :data:`API` otherwise (a field GMAT or gmat-run cannot name here fails its API write)."""
    name, _, rest = field.partition(".")
    try:
        resource = gmat.GetObject(name)
        fields = HELD_BY_COPY.get(resource.GetTypeName(), frozenset())
    except Exception:  # no such resource: its write fails with gmat-run's own error
        return API
    if fields is None or rest in fields:
        return TEXT
    try:
        kind = resource.GetParameterType(resource.GetParameterID(rest))
    except Exception:  # a nested field (GravityField.Earth.Degree): left to the API write
        return API
    if kind == getattr(gmat, "ON_OFF_TYPE", None):
        return TEXT
    text = {getattr(gmat, name, None) for name in ("STRING_TYPE", "ENUMERATION_TYPE")}
    return NUMBERS if kind in text - {None} else API


def in_text(overrides: dict[str, Any], rules: dict[str, str]) -> dict[str, Any]:
    """The overrides among ``overrides`` (but lists) a run writes into the script text,
    by the :func:`rule` of each field in ``rules``."""
    return {f: v for f, v in overrides.items() if not isinstance(v, list) and rules[f] == TEXT}


def api_value(value: Any, kind: str) -> Any:
    """``value`` as the API write of a field of :func:`rule` ``kind`` takes it: a number for
    a text field as its script text (``120`` → ``'120'``), anything else as it is.

    Such a number is written through the API, not the script text, so that it keeps its
    place among the run's other writes: ``Sat.Epoch = 27745.5`` after ``Sat.DateFormat =
    UTCModJulian`` is a UTC date, not one in the script's own format.
    """
    number = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    return literal(value) if kind == NUMBERS and number else value


class Rules:
    """Each field's :func:`rule`, remembered per script content (its bytes' SHA-256; an
    ``#Include``d file is not part of it): a run whose fields are all known loads its script
    once, with every value its text takes. At most ``limit`` fields are remembered."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._rules: dict[tuple[bytes, str], str] = {}

    @staticmethod
    def key(script: str) -> bytes:
        """The content key of the script at path ``script``."""
        return hashlib.sha256(Path(script).read_bytes()).digest()

    def known(self, key: bytes, fields: Iterable[str]) -> dict[str, str] | None:
        """The rule of each of ``fields`` for script ``key``; None unless all are known."""
        try:
            return {field: self._rules[key, field] for field in fields}
        except KeyError:
            return None

    def learn(self, key: bytes, gmat: Any, fields: Iterable[str]) -> dict[str, str]:
        """The rule of each of ``fields`` in the script ``gmat`` has loaded, remembered."""
        found = {field: rule(gmat, field) for field in fields}
        if len(self._rules) + len(found) > self.limit:
            self._rules.clear()
        self._rules.update({(key, field): kind for field, kind in found.items()})
        return found


def literal(value: Any) -> str:
    """``value`` as the right-hand side of a script assignment: numbers, ``true``/``false``
    and names (``On``, ``Luna``, ``RungeKutta89``) bare, other text quoted, lists braced.

    Raises:
        ValueError: text holding a quote or a line break, which no script line can hold.
    """
    if isinstance(value, str):
        if "'" in value or "\n" in value or "\r" in value:
            raise ValueError(
                f"cannot write {value!r} into a script: it holds a quote or a line break"
            )
        if _NAME.fullmatch(value) or number(value) is not None:
            return value
        return f"'{value}'"
    return wording.value(value)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@contextlib.contextmanager
def script_with(script: str, values: dict[str, Any]) -> Iterator[str]:
    """The path of a copy of ``script`` that assigns each of ``values``; removed afterwards.

    Raises:
        ValueError: a field is assigned on a line this cannot rewrite safely (several
            statements on one line), naming the line; a value no script line can hold.
    """
    path = Path(script)
    lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    for field, value in values.items():
        lines = _assigned(lines, field, f"{field} = {literal(value)}")
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
                    f"cannot set {field} in the script text: its line {index + 1} holds several "
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
                f"GMAT did not take the list {field} = {wording.value(value)}: it holds {held!r}"
            )

"""The CLI's mini-grammar for parameter axes.

``--grid`` takes ``NAME=SPEC`` where SPEC is one of:

* ``LO:HI:COUNT`` — ``COUNT`` evenly spaced values from ``LO`` to ``HI`` inclusive
  (``Sat.SMA=7000:8000:11``);
* ``V1,V2,...`` — explicit values; each is an int, a float, ``true``/``false`` or a bare
  string, and a value quoted with ``'...'`` or ``"..."`` is a string taken verbatim, so
  it may contain ``:`` or ``,`` (``Sat.Epoch='01 Jan 2026 00:00:00.000','02 Jan 2026
  00:00:00.000'``);
* ``[...]`` — a JSON list (``Sat.Epoch=["01 Jan 2026 00:00:00.000"]``; a JSON list of
  lists gives list values: ``FM.PointMasses=[["Sun"], ["Sun", "Luna"]]``).

In ``V1,V2,...`` a value in braces is a GMAT list value, as a script writes it: its items
are separated by commas or spaces and are all numbers or all names
(``FM.PointMasses={Sun, Luna},{Sun},{}``; ``Arr.Value={1 2 3}``). Commas inside braces do
not separate values.

Every error is a :class:`~gmat_sweep_dask.errors.SpecError` naming the offending token.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from gmat_sweep_dask.design.base import check_field_name, check_value
from gmat_sweep_dask.design.grid import MAX_AXIS_VALUES
from gmat_sweep_dask.errors import SpecError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LINSPACE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*:\s*(\d+)\s*$")


def parse_axes(tokens: Iterable[str], option: str = "--grid") -> dict[str, list[Any]]:
    """Parse repeated ``NAME=SPEC`` tokens into an ordered ``{field: values}`` mapping."""
    axes: dict[str, list[Any]] = {}
    for token in tokens:
        name, values = parse_axis(token, option)
        if name in axes:
            raise SpecError(f"{option} {token!r}: field {name!r} is given twice")
        axes[name] = values
    return axes


def parse_axis(token: str, option: str = "--grid") -> tuple[str, list[Any]]:
    """Parse one ``NAME=SPEC`` token."""
    name, sep, spec = token.partition("=")
    name = name.strip()
    where = f"{option} {token!r}"
    if not sep or not name:
        raise SpecError(f"{where}: expected NAME=VALUES, e.g. Sat.SMA=7000:8000:11")
    check_field_name(name, where=where)
    if not spec.strip():
        raise SpecError(f"{where}: no values after '='")
    stripped = spec.strip()
    if stripped.startswith("["):
        return name, _json_values(stripped, where)
    match = _LINSPACE.match(stripped)
    if match:
        return name, _linspace(match, where)
    return name, [_scalar(part, where) for part in _split(stripped, where)]


def gmat_list(text: str, where: str) -> list[Any]:
    """A GMAT list value ``{a, b}`` / ``{1 2 3}``: all numbers, else all names.

    Raises:
        SpecError: braces not closed, nested, or the items are not all of one kind.
    """
    if not (text.startswith("{") and text.endswith("}")) or "{" in text[1:-1] or "}" in text[1:-1]:
        raise SpecError(f"{where}: {text!r} is not a list value like {{Sun, Luna}}")
    items = [item.strip("'\"") for item in re.split(r"[,\s]+", text[1:-1].strip()) if item]
    numbers = []
    for item in items:
        try:
            numbers.append(int(item))
        except ValueError:
            try:
                numbers.append(float(item))
            except ValueError:
                break
    return check_value(numbers if len(numbers) == len(items) and items else items, where=where)


def _linspace(match: re.Match[str], where: str) -> list[float]:
    lo, hi, count = float(match[1]), float(match[2]), int(match[3])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SpecError(f"{where}: bounds must be finite")
    if count < 1 or (count == 1 and lo != hi):
        raise SpecError(f"{where}: COUNT must be >= 2 (got {count}) in LO:HI:COUNT")
    if count > MAX_AXIS_VALUES:
        raise SpecError(
            f"{where}: COUNT {count:,} is more than {MAX_AXIS_VALUES:,} values per field; "
            "spread them over several fields, or give a --samples table"
        )
    return [float(v) for v in np.linspace(lo, hi, count)]


def _json_values(spec: str, where: str) -> list[Any]:
    try:
        values = json.loads(spec)
    except ValueError as exc:
        raise SpecError(f"{where}: not a valid JSON list ({exc})") from None
    if not isinstance(values, list) or not values:
        raise SpecError(f"{where}: expected a non-empty JSON list")
    return [check_value(v, where=where) for v in values]


def _split(spec: str, where: str) -> list[tuple[str, bool]]:
    """Split on commas outside quotes; each part is (text, was_quoted)."""
    parts: list[tuple[str, bool]] = []
    buf: list[str] = []
    quote: str | None = None
    quoted = False
    depth = 0
    for char in spec:
        if depth and not quote:
            depth += {"{": 1, "}": -1}.get(char, 0)
            buf.append(char)
        elif char == "{" and not quote and not quoted:
            depth = 1
            buf.append(char)
        elif quote:
            if char == quote:
                quote = None
            else:
                buf.append(char)
        elif char in "'\"":
            if "".join(buf).strip():
                raise SpecError(f"{where}: a quote must start a value ({''.join(buf)!r}...)")
            buf, quote, quoted = [], char, True
        elif char == ",":
            parts.append(_finish(buf, quoted, where))
            buf, quoted = [], False
        else:
            if quoted and char.strip():
                raise SpecError(f"{where}: text after a closing quote")
            buf.append(char)
    if quote:
        raise SpecError(f"{where}: unterminated quote {quote}")
    if depth:
        raise SpecError(f"{where}: unclosed '{{' in a list value")
    parts.append(_finish(buf, quoted, where))
    return parts


def _finish(buf: list[str], quoted: bool, where: str) -> tuple[str, bool]:
    text = "".join(buf)
    if not quoted:
        text = text.strip()
        if not text:
            raise SpecError(f"{where}: empty value in the list")
    return text, quoted


def _scalar(part: tuple[str, bool], where: str) -> Any:
    text, quoted = part
    if quoted:
        return text
    if text.startswith("{"):
        return gmat_list(text, where)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return check_value(cast(text), where=where)
        except ValueError as exc:
            if isinstance(exc, SpecError):
                raise
    if ":" in text:
        raise SpecError(
            f"{where}: value {text!r} contains ':' but is not LO:HI:COUNT; "
            "quote it ('...') or give a JSON list"
        )
    return text

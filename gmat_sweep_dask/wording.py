"""How numbers, counts and values are written in everything users read (CLI, progress, HTML).

One place, so the closing line of a sweep, its progress line, ``show`` and the notebook
displays say the same thing the same way: ``1 run``, ``2 runs``, ``38 ok, 2 failed``,
``12.0 s``, ``Sat.SMA=7000 Sat.ECC=0.001``. Nothing here prints Python reprs of dicts or
lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

INTERRUPTED_EARLY = (
    "gmat-sweep-dask: interrupted by SIGINT before the command started; nothing changed"
)
"""What a Ctrl-C says that comes while a command still loads (nothing ran yet)."""

#: The order statuses are listed in; any other status follows, alphabetically.
STATUS_ORDER = ("ok", "failed", "missing")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 run"``, ``"2 runs"``, ``"0 runs"`` (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def counts(by_status: Mapping[str, int]) -> str:
    """Runs per status, ``"38 ok, 2 failed"``, in :data:`STATUS_ORDER`; ``"none"`` if empty."""
    order = {status: i for i, status in enumerate(STATUS_ORDER)}
    ranked = sorted(by_status.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return ", ".join(f"{n:,} {status}" for status, n in ranked if n) or "none"


def seconds(value: float | None) -> str:
    """A duration as users read it: ``0.016 s``, ``12.0 s``, ``3 min 05 s``, ``2 h 03 min``,
    ``3 days 4 h``, ``384 years``, ``over a million years`` (an ETA of a grid too large
    to finish)."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 1:
        return f"{value:.2g} s"
    if value < 120:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 2 * DAY_S:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole < 2 * YEAR_S:
        hours = round(value / 3600)
        return f"{hours // 24:,} days {hours % 24} h"
    if value < 1e6 * YEAR_S:
        return f"{value / YEAR_S:,.0f} years"
    return "over a million years"


DAY_S = 86400
YEAR_S = 365.25 * DAY_S


def value(v: Any) -> str:
    """One field value as GMAT scripts write it: numbers plain, text quoted, lists braced."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        text = repr(v) if math.isfinite(v) else str(v)
        return text.removesuffix(".0")
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, list | tuple):  # names bare, as in {Sun, Luna}; numbers as [1 2 3]
        if v and all(isinstance(i, int | float) and not isinstance(i, bool) for i in v):
            return "[" + " ".join(value(item) for item in v) + "]"
        return "{" + ", ".join(str(item) for item in v) + "}"
    return str(v)


def overrides(fields: Mapping[str, Any] | None) -> str:
    """A run's overrides as ``Sat.SMA=7000.0 Sat.ECC=0.001`` (``-`` when there are none)."""
    if not fields:
        return "-"
    return " ".join(f"{name}={value(v)}" for name, v in fields.items())


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: a header line, then one line per row, columns space-aligned.

    The last column is not padded (it may be long: an error message).
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = []
    for cells in (headers, *rows):
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    return "\n".join(lines)

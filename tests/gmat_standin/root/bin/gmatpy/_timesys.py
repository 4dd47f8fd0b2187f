"""Time scales and epoch text formats of the GMAT stand-in engine.

Internally every epoch is a float: seconds of **UTC** since J2000 (2000-01-01 12:00:00 UTC).
Scales are fixed offsets from UTC (approximations, but self-consistent):

* ``TAI = UTC + 37 s`` — the leap-second count valid since 2017; there is no leap-second
  table, so epochs before 2017 are off by the missing leap seconds.
* ``A1 = TAI + 0.0343817 s`` (GMAT's A.1 atomic time).
* ``TT = TAI + 32.184 s``; ``TDB`` is taken equal to ``TT`` (they differ by < 2 ms).

``ModJulian`` is GMAT's modified Julian date: days since JD 2430000.0 (1941-01-05 12:00), so
J2000 is 21545.0. Gregorian text is GMAT's ``DD Mon YYYY HH:MM:SS.mmm`` (English month
abbreviations, millisecond resolution, rounded to the nearest millisecond).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

__all__ = [
    "DATE_FORMATS",
    "format_epoch",
    "gregorian",
    "iso8601",
    "modjulian",
    "parse_epoch",
    "scale_offset",
]

OFFSETS: dict[str, float] = {
    "UTC": 0.0,
    "TAI": 37.0,
    "A1": 37.0343817,
    "TT": 69.184,
    "TDB": 69.184,
}
MJD_J2000 = 21545.0
DAY = 86400.0
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_INDEX = {m.lower(): i + 1 for i, m in enumerate(MONTHS)}
_J2000_ORDINAL = _dt.date(2000, 1, 1).toordinal()
_GREGORIAN_RE = re.compile(
    r"^\s*(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2}(?:\.\d*)?)\s*$"
)

#: Every ``Spacecraft.DateFormat`` the stand-in accepts.
DATE_FORMATS: tuple[str, ...] = tuple(
    f"{scale}{kind}" for scale in OFFSETS for kind in ("ModJulian", "Gregorian")
)


def split_format(date_format: str) -> tuple[str, str]:
    """Split ``'UTCGregorian'`` into ``('UTC', 'Gregorian')``; raise ValueError if unknown."""
    for kind in ("ModJulian", "Gregorian"):
        if date_format.endswith(kind) and date_format[: -len(kind)] in OFFSETS:
            return date_format[: -len(kind)], kind
    raise ValueError(f"unknown date format {date_format!r}")


def scale_offset(scale: str) -> float:
    """Seconds to add to a UTC time to get the same instant in ``scale``."""
    return OFFSETS[scale]


def parse_epoch(text: str, date_format: str) -> float:
    """Parse epoch ``text`` written in ``date_format``; return UTC seconds since J2000.

    Raises ValueError for malformed text (bad month, day out of range, 24:00, ...).
    """
    scale, kind = split_format(date_format)
    text = text.strip().strip("'\"")
    if kind == "ModJulian":
        mjd = float(text)
        if not math.isfinite(mjd):
            raise ValueError(f"non-finite ModJulian epoch {text!r}")
        return (mjd - MJD_J2000) * DAY - OFFSETS[scale]
    match = _GREGORIAN_RE.match(text)
    if match is None:
        raise ValueError(f"epoch {text!r} is not 'DD Mon YYYY HH:MM:SS.mmm'")
    day, mon, year, hour, minute, sec = match.groups()
    month = _MONTH_INDEX.get(mon.lower())
    if month is None:
        raise ValueError(f"unknown month {mon!r} in epoch {text!r}")
    date = _dt.date(int(year), month, int(day))  # raises ValueError on day out of range
    h, m, s = int(hour), int(minute), float(sec)
    if h > 23 or m > 59 or s >= 60.0:
        raise ValueError(f"time of day out of range in epoch {text!r}")
    seconds = (date.toordinal() - _J2000_ORDINAL) * DAY + h * 3600.0 + m * 60.0 + s - 43200.0
    return seconds - OFFSETS[scale]


def _split_ms(seconds: float) -> tuple[_dt.date, int, int, int, int]:
    """Split seconds since J2000 (any scale) into (date, h, m, s, ms), rounded to 1 ms."""
    total_ms = round(seconds * 1000.0) + 43_200_000
    days, rem = divmod(total_ms, 86_400_000)
    hour, rem = divmod(rem, 3_600_000)
    minute, rem = divmod(rem, 60_000)
    sec, ms = divmod(rem, 1000)
    return _dt.date.fromordinal(_J2000_ORDINAL + days), hour, minute, sec, ms


def gregorian(t_utc: float, scale: str = "UTC") -> str:
    """GMAT Gregorian text (``01 Jan 2026 00:00:30.000``) of UTC time ``t_utc`` in ``scale``."""
    d, h, m, s, ms = _split_ms(t_utc + OFFSETS[scale])
    return f"{d.day:02d} {MONTHS[d.month - 1]} {d.year} {h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def iso8601(t_utc: float, scale: str = "UTC") -> str:
    """ISO-8601 text (``2026-01-01T00:00:30.000``) of UTC time ``t_utc`` in ``scale``."""
    d, h, m, s, ms = _split_ms(t_utc + OFFSETS[scale])
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def modjulian(t_utc: float, scale: str = "UTC") -> float:
    """GMAT ModJulian date of UTC time ``t_utc`` in ``scale``."""
    return (t_utc + OFFSETS[scale]) / DAY + MJD_J2000


def format_epoch(t_utc: float, date_format: str) -> str:
    """Render UTC time ``t_utc`` the way GMAT shows ``Spacecraft.Epoch`` in ``date_format``."""
    scale, kind = split_format(date_format)
    if kind == "Gregorian":
        return gregorian(t_utc, scale)
    return f"{modjulian(t_utc, scale):.11f}".rstrip("0").rstrip(".")

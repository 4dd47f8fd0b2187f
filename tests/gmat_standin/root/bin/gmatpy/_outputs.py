"""Output files of the GMAT stand-in, in the text formats GMAT writes.

* ReportFile: optional header line of the parameter names, then one row per report
  instant; columns padded to ``max(ColumnWidth, widest cell)``, left-justified and followed
  by three spaces (``LeftJustify = On``) or right-justified after three spaces (``Off``);
  reals printed with ``Precision`` significant digits (``%.<Precision>g``, so integral
  values print as integers, like GMAT; ``ZeroFill = On`` keeps the trailing zeros:
  ``6993.000000000000``); Gregorian epochs as ``01 Jan 2026 00:00:30.000``.
* EphemerisFile ``CCSDS-OEM``: OEM 1.0, one segment, UTC, ``EME2000``, ISO epochs (ms).
* ContactLocator ``Legacy``: ``Target:`` line, per observer an ``Observer:`` block with a
  ``Start Time (UTC) / Stop Time (UTC) / Duration (s)`` table and ``Number of events : N``.
  Visibility is geometric elevation above the station's ``MinimumElevationAngle`` on a
  spherical rotating Earth (no light time, aberration or occultation), sampled every
  ``StepSize`` seconds and refined by bisection to 1e-4 s; passes shorter than ``StepSize``
  can be missed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import TextIO

import numpy as np

from . import _kepler, _timesys


def format_values(values: object, precision: int, zero_fill: bool = False) -> list[str]:
    """Cells for one report column: strings pass through, reals as ``%.<precision>g``
    (``%#.<precision>g``, trailing zeros kept, with ``zero_fill``)."""
    if isinstance(values, list):
        return values
    arr = np.asarray(values, dtype=float) + 0.0  # no "-0"
    layout = "%#.*g" if zero_fill else "%.*g"
    return [layout % (precision, x) for x in arr.tolist()]


class Report:
    """Rows collected for one ReportFile during a run."""

    def __init__(
        self, headers: list[str], column_width: int, write_headers: bool, left: bool = True
    ) -> None:
        self.headers, self.column_width, self.write_headers = headers, column_width, write_headers
        self.left = left
        self.chunks: list[list[list[str]]] = []  # chunks of columns

    def add(self, columns: list[list[str]]) -> None:
        """Append a batch of rows given column-wise."""
        self.chunks.append(columns)

    def rows(self) -> list[list[str]]:
        """All rows, row-wise."""
        return [list(row) for chunk in self.chunks for row in zip(*chunk, strict=True)]

    def write(self, path: str, limit: int | None = None) -> None:
        """Write the report (only the first ``limit`` rows if given)."""
        rows = self.rows()[:limit]
        widths = [max(self.column_width, len(h)) for h in self.headers]
        for row in rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        with open(path, "w", encoding="utf-8") as fh:
            if self.write_headers:
                fh.write(_line(self.headers, widths, self.left))
            fh.writelines(_line(row, widths, self.left) for row in rows)


def _line(cells: Sequence[str], widths: Sequence[int], left: bool = True) -> str:
    if not left:
        return "".join("   " + c.rjust(w) for c, w in zip(cells, widths, strict=True)) + "\n"
    padded = (c.ljust(w) + "   " for c, w in zip(cells, widths, strict=True))
    return "".join(padded).rstrip() + "\n"


def write_oem(
    path: str,
    object_name: str,
    object_id: str,
    t: np.ndarray,
    r: np.ndarray,
    v: np.ndarray,
    interpolation_degree: int,
) -> None:
    """Write a CCSDS-OEM 1.0 ephemeris (one segment, UTC, EME2000)."""
    stamps = [_timesys.iso8601(x) for x in t.tolist()]
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"CCSDS_OEM_VERS = 1.0\nCREATION_DATE  = {created}\n")
        fh.write("ORIGINATOR     = GMAT stand-in engine\n\nMETA_START\n")
        meta = [
            ("OBJECT_NAME", object_name),
            ("OBJECT_ID", object_id),
            ("CENTER_NAME", "Earth"),
            ("REF_FRAME", "EME2000"),
            ("TIME_SYSTEM", "UTC"),
            ("START_TIME", stamps[0]),
            ("USEABLE_START_TIME", stamps[0]),
            ("USEABLE_STOP_TIME", stamps[-1]),
            ("STOP_TIME", stamps[-1]),
            ("INTERPOLATION", "LAGRANGE"),
            ("INTERPOLATION_DEGREE", interpolation_degree),
        ]
        fh.writelines(f"{k:<20} = {val}\n" for k, val in meta)
        fh.write("META_STOP\n\n")
        for stamp, pos, vel in zip(stamps, r.tolist(), v.tolist(), strict=True):
            cells = " ".join(f"{x + 0.0: .15e}" for x in (*pos, *vel))
            fh.write(f"{stamp} {cells}\n")


def contact_events(
    segments: Iterable[tuple[float, float, _kepler.Orbit]],
    station_fixed: np.ndarray,
    min_elevation_deg: float,
    step: float,
) -> list[tuple[float, float]]:
    """Intervals ``(start, stop)`` (UTC s) when elevation >= the minimum, over ``segments``."""
    sin_min = math.sin(math.radians(min_elevation_deg))
    events: list[tuple[float, float]] = []
    for t0, t1, orbit in segments:
        if t1 <= t0:
            continue
        count = max(math.ceil((t1 - t0) / step), 1)
        t = np.append(t0 + step * np.arange(count), t1)
        t = t[t <= t1]
        up = _margin(t, orbit, station_fixed, sin_min) >= 0.0
        idx = np.flatnonzero(up[1:] != up[:-1])
        edges = _bisect(t[idx], t[idx + 1], up[idx], orbit, station_fixed, sin_min).tolist()
        start = t0 if up[0] else None
        for i, edge in zip(idx.tolist(), edges, strict=True):
            if up[i + 1]:
                start = edge
            else:
                events.append((start, edge))  # type: ignore[arg-type]
                start = None
        if start is not None:
            events.append((start, t1))
    merged: list[tuple[float, float]] = []
    for ev in events:  # join passes split only by a segment boundary
        if merged and ev[0] - merged[-1][1] < 1e-6:
            merged[-1] = (merged[-1][0], ev[1])
        else:
            merged.append(ev)
    return merged


def _margin(t: np.ndarray, orbit: _kepler.Orbit, fixed: np.ndarray, sin_min: float) -> np.ndarray:
    r, _ = orbit.states(t)
    s = _kepler.station_inertial(t, fixed)
    rho = r - s
    up = s / np.linalg.norm(s, axis=1)[:, None]
    return np.einsum("ij,ij->i", rho, up) / np.linalg.norm(rho, axis=1) - sin_min


def _bisect(
    a: np.ndarray,
    b: np.ndarray,
    up_a: np.ndarray,
    orbit: _kepler.Orbit,
    fixed: np.ndarray,
    sin_min: float,
) -> np.ndarray:
    """Visibility edges inside each bracket ``[a, b]`` (all refined together), to 1e-4 s."""
    if a.size == 0:
        return a
    while float(np.max(b - a)) > 1e-4:
        mid = 0.5 * (a + b)
        same = (_margin(mid, orbit, fixed, sin_min) >= 0.0) == up_a
        a, b = np.where(same, mid, a), np.where(same, b, mid)
    return 0.5 * (a + b)


def write_contacts(
    fh: TextIO, target: str, blocks: list[tuple[str, list[tuple[float, float]]]]
) -> None:
    """Write a Legacy-format ContactLocator report."""
    fh.write(f"Target: {target}\n\n")
    for observer, events in blocks:
        fh.write(f"Observer: {observer}\n")
        fh.write(f"{'Start Time (UTC)':<28}{'Stop Time (UTC)':<30}{'Duration (s)':<21}\n")
        for start, stop in events:
            fh.write(
                f"{_timesys.gregorian(start):<28}{_timesys.gregorian(stop):<30}"
                f"{stop - start:<21.8f}\n"
            )
        fh.write(f"\n\nNumber of events : {len(events)}\n\n\n")

"""Whether GMAT kept every value a run set, read back once all are written.

GMAT adjusts some values it considers inconsistent instead of refusing them. On an
ellipse (R2026a, and the stand-in that follows it) ``Sat.SMA = -7000`` becomes 7000 and
``Sat.ECC = -0.1`` becomes 0.1; a Cartesian override after a Keplerian one moves the
Keplerian element (``Sat.SMA = 7100`` with ``Sat.X = 7000`` holds 6916.2); and it ignores
some writes outright (``Prop.Type = RungeKutta89`` through the API keeps
``PrinceDormand78``, which is why :mod:`.scripttext` writes it into the script). Such a run
would fly another mission than its parameters say and be recorded ``ok``. So after every
override is written, each is read back through gmat-run and a value GMAT did not keep fails
the run, naming the field, the value set and the value held.

What counts as kept, from R2026a's read-back:

* a number within :data:`REL_TOL` of the value set, or :data:`ABS_TOL` of it near zero.
  GMAT holds the state as Cartesian and converts back: ``Sat.ECC = 5e-12`` reads
  ``4.99998e-12``, and mean elements, found by iteration, ``Sat.BrouwerLongAOP = 20`` reads
  ``19.99996`` (2.2e-6 apart) and ``Sat.BrouwerShortMA = 10`` reads ``9.9999984``. The
  changes this check is for are gross (a sign, a value replaced), never this small;
* an orbit angle (:data:`ANGLES`) equal modulo 360 degrees (``Sat.TA = -90`` reads 270),
  within :data:`REL_TOL` of a full turn;
* text equal once stripped (``On``/``Off`` in any case), or the same number or the same
  Gregorian instant as GMAT rewrites it (``Sat.Epoch = '1 Jan 2026 00:00:00'`` reads
  ``'01 Jan 2026 00:00:00.000'``).

Not kept: ``RAAN`` on an equatorial orbit or ``AOP`` on a circular one, which GMAT holds
as 0, moving the angle into the next one (``Sat.INC = 0, Sat.RAAN = 30`` holds
``AOP = 30``): whether the position survives depends on the order the fields are
written in (a later ``Sat.AOP = 0`` undoes it), so such a run fails too.

List values are checked by :func:`.scripttext.check_taken`; output file names are read
back before :mod:`.confine` moves them on purpose. A field gmat-run cannot read back is not
compared. A write GMAT holds but does not use cannot be seen here: :mod:`.scripttext`
writes those fields (a ForceModel's) through the script text.
"""

from __future__ import annotations

import math
import numbers
from datetime import datetime
from typing import Any

import numpy as np

from gmat_sweep_dask import wording

#: Relative difference within which a number read back is the number set.
REL_TOL = 1e-6
#: Absolute difference within which a number near zero read back is the number set.
ABS_TOL = 1e-12
#: GMAT's Gregorian epoch text, with and without fractional seconds.
GREGORIAN = ("%d %b %Y %H:%M:%S.%f", "%d %b %Y %H:%M:%S")
#: An On/Off field's values, taken in any case and held capitalised.
ON_OFF = frozenset({"on", "off"})
#: Orbit angles (degrees) GMAT may wrap, compared modulo 360: the last part of a field's
#: dotted name (Keplerian, spherical, equinoctial, asymptote and mean elements).
ANGLES = frozenset(
    {"RAAN", "AOP", "TA", "MA", "EA", "HA", "RA", "DEC", "AZI", "RAV", "DECV", "MLONG"}
    | {"TLONG", "IncomingRHA", "OutgoingRHA", "IncomingBVAZI", "OutgoingBVAZI"}
    | {f"Brouwer{kind}{angle}" for kind in ("Short", "Long") for angle in ("RAAN", "AOP", "MA")}
)


def check_kept(mission: Any, overrides: dict[str, Any]) -> None:
    """Raise unless ``mission`` holds every value of ``overrides`` (but lists) as set.

    Call it after every override has been written: GMAT may change an earlier value
    when a later one is written.

    Raises:
        ValueError: naming the first field not kept, the value set and the value held.
    """
    for field, value in overrides.items():
        if isinstance(value, list):  # read back by scripttext.check_taken
            continue
        try:
            held = mission[field]
        except Exception:  # a field gmat-run cannot read back: nothing to compare
            continue
        if not kept(field, value, held):
            raise ValueError(
                f"GMAT did not keep {field} = {wording.value(value)}: it holds {held!r} once "
                "every override is written (GMAT changed or ignored it instead of refusing it)"
            )


def kept(field: str, value: Any, held: Any) -> bool:
    """Whether ``held``, read back from GMAT, is ``value`` as set on ``field``."""
    if isinstance(value, bool | np.bool_):
        return isinstance(held, bool | np.bool_) and bool(held) == bool(value)
    if isinstance(value, str):
        return _same_text(value, held)
    if isinstance(held, str):
        try:
            held = float(held)
        except ValueError:
            return False
    if isinstance(held, bool | np.bool_) or not isinstance(held, numbers.Real):
        return False
    want, have = float(value), float(held)
    if not math.isfinite(have):
        return False
    if _close(want, have):
        return True
    if field.rpartition(".")[2] in ANGLES:
        apart = abs(math.fmod(have, 360.0) - math.fmod(want, 360.0)) % 360.0
        return min(apart, 360.0 - apart) <= REL_TOL * 360.0
    return False


def _same_text(value: str, held: Any) -> bool:
    """Text as set against text (or a number) read back: equal, or the same number or
    Gregorian instant written GMAT's way."""
    if isinstance(held, bool | np.bool_):
        return value.strip().lower() == str(bool(held)).lower()
    if not isinstance(held, str | numbers.Real):
        return False
    if isinstance(held, str) and held.strip() == value.strip():
        return True
    if isinstance(held, str) and {held.lower(), value.strip().lower()} <= ON_OFF:
        return held.lower() == value.strip().lower()  # GMAT's reader holds `off` as Off
    as_numbers = number(value), number(held)
    if None not in as_numbers:
        return _close(*as_numbers)
    instants = _instant(value), _instant(held)
    return None not in instants and instants[0] == instants[1]


def number(text: Any) -> float | None:
    """``text`` (or a real number) as a finite float; None when it is not one."""
    if isinstance(text, numbers.Real):
        return float(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _instant(text: Any) -> datetime | None:
    """A GMAT Gregorian epoch (``01 Jan 2026 00:00:00.000``), else None."""
    if not isinstance(text, str):
        return None
    for layout in GREGORIAN:
        try:
            return datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
    return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)

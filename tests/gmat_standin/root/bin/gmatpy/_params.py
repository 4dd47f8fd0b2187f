"""Report parameters (``Sat.X``, ``Sat.Earth.Altitude``, ``V``...) of the GMAT stand-in.

:func:`compile_param` resolves a parameter name once (at load/run initialisation) into an
evaluator; evaluators take a :class:`Frame` (the spacecraft states at a batch of report
instants) and return a float array, or a list of strings for Gregorian epochs.

Spacecraft parameters: epochs ``{UTC,A1,TAI,TT,TDB}{Gregorian,ModJulian}``, ``ElapsedSecs``,
``ElapsedDays`` (since the spacecraft epoch at the start of the run); Cartesian
``X Y Z VX VY VZ`` (optionally ``Sat.EarthMJ2000Eq.X`` or ``Sat.EarthFixed.X``); Keplerian
``SMA ECC INC RAAN AOP TA MA EA`` (optionally ``Sat.Earth.SMA``); ``RadPer RadApo`` and their
aliases ``Periapsis Apoapsis`` (radii, km); ``OrbitPeriod Energy C3Energy HMAG MM``;
``RMAG VMAG``; ``Altitude Latitude Longitude`` (geodetic, see ``_kepler``); and any
numeric Spacecraft field (``Sat.DryMass``). A Variable is reported by its bare name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _kepler, _timesys
from ._base import GmatObject
from ._resources import CoordinateSystem, Spacecraft, StringVar, Variable

Values = Any  # np.ndarray of floats, or list[str]
Evaluator = Callable[["Frame"], Values]

_CART = {"X": (0, 0), "Y": (0, 1), "Z": (0, 2), "VX": (1, 0), "VY": (1, 1), "VZ": (1, 2)}
_ORBIT = (
    "SMA",
    "ECC",
    "INC",
    "RAAN",
    "AOP",
    "TA",
    "MA",
    "EA",
    "RadPer",
    "RadApo",
    "Energy",
    "HMAG",
)
_ALIASES = {"Periapsis": "RadPer", "Apoapsis": "RadApo"}
_DERIVED = ("OrbitPeriod", "C3Energy", "MM", "RMAG", "VMAG", "Altitude", "Latitude", "Longitude")


class Frame:
    """Spacecraft states at ``n`` report instants.

    ``lookup(name)`` returns ``(t_utc, r, v, t_initial)`` for spacecraft ``name`` with arrays
    of length ``n``; ``objects`` are the run-time objects (for Variables and fields).
    """

    def __init__(
        self, n: int, lookup: Callable[[str], tuple], objects: dict[str, GmatObject]
    ) -> None:
        self.n, self._lookup, self.objects = n, lookup, objects
        self._cache: dict[str, tuple] = {}

    def state(self, sat: str) -> tuple:
        """``(t, r, v, t_initial)`` of ``sat``."""
        if sat not in self._cache:
            self._cache[sat] = self._lookup(sat)
        return self._cache[sat]


def compile_param(text: str, objects: dict[str, GmatObject]) -> Evaluator:
    """Resolve report parameter ``text``; raise ValueError if the stand-in cannot report it."""
    parts = text.split(".")
    owner = objects.get(parts[0])
    if owner is None:
        raise ValueError(f"report parameter {text!r}: no resource named {parts[0]!r}")
    name = parts[0]
    if isinstance(owner, (Variable, StringVar)) and parts[1:] in ([], ["Value"]):
        if isinstance(owner, StringVar):
            return lambda f: [str(f.objects[name].get_value("Value"))] * f.n
        return lambda f: np.full(f.n, float(f.objects[name].get_value("Value")))
    if isinstance(owner, Spacecraft) and len(parts) in (2, 3):
        dep = parts[1] if len(parts) == 3 else None
        evaluator = _spacecraft_param(name, dep, parts[-1], objects)
        if evaluator is not None:
            return evaluator
    if len(parts) == 2:
        spec = owner.spec(parts[1])
        if spec is not None and isinstance(spec.default, (int, float)):
            field = parts[1]
            return lambda f: np.full(f.n, float(f.objects[name].get_value(field)))
    raise ValueError(f"report parameter {text!r} is not supported by the GMAT stand-in")


def _spacecraft_param(
    sat: str, dep: str | None, param: str, objects: dict[str, GmatObject]
) -> Evaluator | None:
    param = _ALIASES.get(param, param)
    if dep is None:
        for kind in ("Gregorian", "ModJulian"):
            if param.endswith(kind) and param[: -len(kind)] in _timesys.OFFSETS:
                return _epoch_param(sat, param[: -len(kind)], kind)
        if param in ("ElapsedSecs", "ElapsedDays"):
            scale = 1.0 if param == "ElapsedSecs" else 1.0 / _timesys.DAY
            return lambda f: (f.state(sat)[0] - f.state(sat)[3]) * scale
        if param == "CurrA1MJD":
            return _epoch_param(sat, "A1", "ModJulian")
    axes = _axes(dep, objects)
    if axes is None:
        return None
    if param in _CART:
        which, col = _CART[param]
        if axes == "BodyFixed":
            return lambda f: _fixed(f.state(sat))[which][:, col]
        return lambda f: f.state(sat)[1 + which][:, col]
    if axes != "MJ2000Eq":
        return None
    if param in _ORBIT:
        return lambda f: _kepler.elements(f.state(sat)[1], f.state(sat)[2])[param]
    if param in _DERIVED:
        return lambda f: _derived(param, f.state(sat))
    return None


def _axes(dep: str | None, objects: dict[str, GmatObject]) -> str | None:
    """Axes of a parameter dependency: None/Earth mean Earth-centred MJ2000Eq."""
    if dep in (None, "Earth"):
        return "MJ2000Eq"
    cs = objects.get(dep)
    if isinstance(cs, CoordinateSystem) and cs.get_value("Origin") == "Earth":
        axes = cs.get_value("Axes")
        return axes if axes in ("MJ2000Eq", "BodyFixed") else None
    return None


def _epoch_param(sat: str, scale: str, kind: str) -> Evaluator:
    if kind == "Gregorian":
        return lambda f: [_timesys.gregorian(t, scale) for t in f.state(sat)[0].tolist()]
    offset = _timesys.OFFSETS[scale]
    return lambda f: (f.state(sat)[0] + offset) / _timesys.DAY + _timesys.MJD_J2000


def _fixed(state: tuple) -> tuple[np.ndarray, np.ndarray]:
    return _kepler.to_fixed(state[0], state[1], state[2])


def _derived(param: str, state: tuple) -> np.ndarray:
    t, r, v = state[0], state[1], state[2]
    rmag = np.linalg.norm(r, axis=1)
    if param == "RMAG":
        return rmag
    if param == "VMAG":
        return np.linalg.norm(v, axis=1)
    if param == "Altitude":
        return _kepler.geodetic(r)[1]
    if param == "Latitude":
        return np.degrees(_kepler.geodetic(r)[0])
    if param == "Longitude":
        rf, _ = _kepler.to_fixed(t, r, v)
        return np.degrees(np.arctan2(rf[:, 1], rf[:, 0]))
    el = _kepler.elements(r, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        if param == "C3Energy":
            return 2.0 * el["Energy"]
        mean_motion = np.sqrt(_kepler.MU / np.abs(el["SMA"]) ** 3)
        if param == "MM":
            return mean_motion
        return np.where(el["ECC"] < 1.0, 2.0 * np.pi / mean_motion, np.inf)  # OrbitPeriod

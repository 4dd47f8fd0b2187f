"""Resource types of the GMAT stand-in and their field schemas.

Known script types: Spacecraft, ForceModel (GMAT class ``ODEModel``), Propagator (GMAT class
``PropSetup``), ReportFile, EphemerisFile, ContactLocator, GroundStation, CoordinateSystem,
Variable, String, ImpulsiveBurn and DifferentialCorrector. Any other ``Create <Type>`` makes
a :class:`GenericResource` whose fields are typed from the script values. A known type also
accepts script fields outside its schema (GUI-saved scripts carry dozens of cosmetic ones):
they become generic fields.

Spacecraft state: Keplerian (``SMA ECC INC RAAN AOP TA``) and Cartesian (``X .. VZ``) fields
are both always readable and writable; the representation last written is the stored one
and the other is converted on demand (two-body, MJ2000Eq, Earth). Keplerian writes follow
GMAT R2026a: ``SMA`` within 0.001 km of 0, ``ECC`` = 1 (or -1) and ``INC`` outside
[0, 180] are rejected; a negative ``ECC`` is read as its magnitude; the sign of ``SMA``
follows ``ECC`` (negative exactly when ``ECC > 1``), so ``SMA = -5`` on an ellipse means
5 km and ``ECC = 1.5`` on a 7000 km orbit makes ``SMA = -7000``. A periapsis inside the
Earth is accepted; ``Cd`` and ``Cr`` are not checked.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from . import _kepler, _timesys
from ._base import (
    BOOLEAN_TYPE,
    COLOR_TYPE,
    FILENAME_TYPE,
    INTEGER_TYPE,
    OBJECT_TYPE,
    OBJECTARRAY_TYPE,
    ON_OFF_TYPE,
    REAL_TYPE,
    STRING_TYPE,
    STRINGARRAY_TYPE,
    APIException,
    FieldSpec,
    GmatObject,
    at_least,
    between,
    enum,
    not_allowed,
    one_of,
    real,
)

KEPLERIAN = ("SMA", "ECC", "INC", "RAAN", "AOP", "TA")
CARTESIAN = ("X", "Y", "Z", "VX", "VY", "VZ")
_DEFAULT_CART = [7100.0, 0.0, 1300.0, 0.0, 7.35, 1.0]  # GMAT's default spacecraft state


def _text(name: str, default: str, type_code: int = STRING_TYPE) -> FieldSpec:
    return FieldSpec(name, type_code, default)


def _int(name: str, default: int, low: int | None = None) -> FieldSpec:
    return FieldSpec(name, INTEGER_TYPE, default, None if low is None else at_least(low))


def _bool(name: str, default: bool) -> FieldSpec:
    return FieldSpec(name, BOOLEAN_TYPE, default)


def _names(name: str, default: list[str], type_code: int = OBJECTARRAY_TYPE) -> FieldSpec:
    return FieldSpec(name, type_code, default)


class Spacecraft(GmatObject):
    """A spacecraft: epoch, two-body state, and physical properties (unused by physics)."""

    TYPE_NAME = "Spacecraft"
    ANCESTORS = ("SpaceObject", "SpacePoint")
    CATEGORIES = ("SPACECRAFT", "SPACEOBJECT", "SPACE_POINT")
    SCHEMA = (
        enum("DateFormat", "TAIModJulian", _timesys.DATE_FORMATS),
        _text("Epoch", "21545"),
        _text("CoordinateSystem", "EarthMJ2000Eq", OBJECT_TYPE),
        enum("DisplayStateType", "Cartesian", ("Cartesian", "Keplerian")),
        *(real(n, 0.0) for n in CARTESIAN),
        *(real(n, 0.0) for n in KEPLERIAN),
        real("DryMass", 850, at_least(0)),
        real("Cd", 2.2),
        real("Cr", 1.8),
        real("DragArea", 15, at_least(0)),
        real("SRPArea", 1, at_least(0)),
        _text("Id", "SatId"),
        _int("NAIFId", -10000001),
        enum("Attitude", "CoordinateSystemFixed"),
        _text("OrbitColor", "Red", COLOR_TYPE),
        _text("TargetColor", "Teal", COLOR_TYPE),
        _names("Tanks", []),
        _names("Thrusters", []),
    )

    def __init__(self, name: str, type_name: str | None = None) -> None:
        super().__init__(name, type_name)
        self._rep = "cart"
        self._state = list(_DEFAULT_CART)
        self._epoch = _timesys.parse_epoch("21545", "TAIModJulian")
        self._values["Epoch"] = "21545"

    def clone(self) -> Spacecraft:
        twin = super().clone()
        assert isinstance(twin, Spacecraft)
        twin._state = list(self._state)
        return twin

    # --- state -------------------------------------------------------------------------------
    @property
    def epoch(self) -> float:
        """Epoch as UTC seconds since J2000."""
        return self._epoch

    def keplerian(self) -> list[float]:
        """``[SMA, ECC, INC, RAAN, AOP, TA]``; raises APIException if not representable."""
        if self._rep == "kep":
            return list(self._state)
        try:
            return _kepler.cart_to_kep(self._state[:3], self._state[3:])
        except _kepler.OrbitError as exc:
            raise APIException(f"Spacecraft {self._name}: {exc}") from None

    def cartesian(self) -> list[float]:
        """``[X, Y, Z, VX, VY, VZ]`` in EarthMJ2000Eq; raises APIException if invalid."""
        if self._rep == "cart":
            return list(self._state)
        try:
            pos, vel = _kepler.kep_to_cart(*self._state)
        except _kepler.OrbitError as exc:
            raise APIException(f"Spacecraft {self._name}: {exc}") from None
        return pos + vel

    def set_cartesian(self, state: list[float]) -> None:
        """Replace the state by a Cartesian one (used by the run-time sandbox)."""
        self._rep, self._state = "cart", [float(x) for x in state]

    def get_value(self, field: str) -> Any:
        if field in KEPLERIAN:
            return self.keplerian()[KEPLERIAN.index(field)]
        if field in CARTESIAN:
            return self.cartesian()[CARTESIAN.index(field)]
        return super().get_value(field)

    def set_value(self, field: str, value: Any) -> None:
        if field in KEPLERIAN:
            number = self.coerce(self._require(field), value)
            try:
                kep = self.keplerian()
            except APIException:
                kep = [7000.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            allowed = _write_element(field, number, kep)
            if allowed is not None:
                raise not_allowed(self, field, number, allowed)
            self._rep, self._state = "kep", kep
        elif field in CARTESIAN:
            number = self.coerce(self._require(field), value)
            try:
                cart = self.cartesian()
            except APIException:
                cart = list(_DEFAULT_CART)
            cart[CARTESIAN.index(field)] = number
            self._rep, self._state = "cart", cart
        elif field == "Epoch":
            text = str(value).strip().strip("'\"")
            try:
                self._epoch = _timesys.parse_epoch(text, self._values["DateFormat"])
            except ValueError:
                if self._values["DateFormat"].endswith("Gregorian"):  # GMAT's own words
                    raise APIException(f'Gregorian date "{text}" is not valid.') from None
                raise not_allowed(
                    self, field, text, f"an epoch in the {self._values['DateFormat']} format"
                ) from None
            self._values["Epoch"] = text
        elif field == "DateFormat":
            super().set_value(field, value)
            self._values["Epoch"] = _timesys.format_epoch(self._epoch, self._values[field])
        else:
            super().set_value(field, value)


def _write_element(field: str, value: float, kep: list[float]) -> str | None:
    """Write one Keplerian element into ``kep`` as GMAT reads it (see the module doc).

    Returns None, or GMAT's "allowed values" text for a rejected write (``kep`` untouched).
    """
    if field not in ("SMA", "ECC"):
        if field == "INC" and not 0.0 <= value <= 180.0:
            return "0.0 <= Real Number <= 180.0"
        kep[KEPLERIAN.index(field)] = value
        return None
    sma, ecc = kep[0], kep[1]
    if field == "SMA":
        if abs(value) < 0.001:
            return "Real Number != 0 (tolerance = 0.001)"
        sma = value
    else:
        ecc = abs(value)
        if ecc == 1.0:
            return "Real Number != 1.0"
    kep[0], kep[1] = (-abs(sma) if ecc > 1.0 else abs(sma)), ecc
    return None


class ForceModel(GmatObject):
    """A force model; the stand-in always applies point-mass Earth gravity only."""

    TYPE_NAME = "ODEModel"
    ANCESTORS = ("PhysicalModel",)
    CATEGORIES = ("ODE_MODEL",)
    SCHEMA = (
        _text("CentralBody", "Earth", OBJECT_TYPE),
        _names("PrimaryBodies", []),
        _names("PointMasses", []),
        _text("Drag", "None", OBJECT_TYPE),
        _text("SRP", "Off", ON_OFF_TYPE),
        _text("RelativisticCorrection", "Off", ON_OFF_TYPE),
        enum("ErrorControl", "RSSStep"),
    )


class Propagator(GmatObject):
    """A propagator (GMAT PropSetup); InitialStepSize is the report step of the stand-in."""

    TYPE_NAME = "PropSetup"
    CATEGORIES = ("PROP_SETUP",)
    SCHEMA = (
        _text("FM", "", OBJECT_TYPE),
        enum("Type", "RungeKutta89"),
        real("InitialStepSize", 60, at_least(0, strict=True)),
        real("Accuracy", 1e-11, at_least(0, strict=True)),
        real("MinStep", 0.001, at_least(0)),
        real("MaxStep", 2700, at_least(0, strict=True)),
        _int("MaxStepAttempts", 50, 1),
        _bool("StopIfAccuracyIsViolated", True),
    )

    def SetField(self, field: str | int, value: Any) -> bool | None:
        """As GMAT R2026a: an API write of ``Type`` changes nothing (the integrator was
        made when the script was read; only script text sets it)."""
        if self._field_name(field) == "Type":
            return True
        return super().SetField(field, value)


def output_directory_refusal(obj: GmatObject) -> str | None:
    """GMAT R2026a's words when ``obj`` (a ReportFile or an EphemerisFile) names an
    absolute output file whose directory does not exist, else None. R2026a checks it while
    reading the script and on an API write of ``Filename`` alike."""
    path = str(obj.get_value("Filename"))
    if not os.path.isabs(path) or os.path.isdir(os.path.dirname(path)):
        return None
    if obj.TYPE_NAME == "ReportFile":
        return f"Cannot open output REPORT_FILE '{path}'"
    return (
        f"Cannot resolve ephemeris output path '{path}'. "
        "Select a filename in an existing directory."
    )


class _OutputFile(GmatObject):
    """An output subscriber: an API write of a ``Filename`` in no directory is refused."""

    def SetField(self, field: str | int, value: Any) -> bool | None:
        if self._field_name(field) != "Filename":
            return super().SetField(field, value)
        before = self.get_value("Filename")
        done = super().SetField(field, value)
        refusal = output_directory_refusal(self)
        if refusal is not None:
            self.set_value("Filename", before)
            raise APIException(refusal)
        return done


class ReportFile(_OutputFile):
    """A text report of parameters at every propagation step (GMAT's ReportFile)."""

    TYPE_NAME = "ReportFile"
    ANCESTORS = ("Subscriber",)
    CATEGORIES = ("SUBSCRIBER", "REPORT_FILE")
    SCHEMA = (
        _text("Filename", "", FILENAME_TYPE),
        _int("Precision", 16, 1),
        _bool("WriteHeaders", True),
        _text("LeftJustify", "On", ON_OFF_TYPE),
        _text("ZeroFill", "Off", ON_OFF_TYPE),
        _bool("FixedWidth", True),
        _text("Delimiter", " "),
        _int("ColumnWidth", 23, 1),
        _bool("WriteReport", True),
        enum("SolverIterations", "Current"),
        # GMAT refuses a script that sets an empty list: ``R.Add = {}`` does not load
        FieldSpec("Add", OBJECTARRAY_TYPE, [], lambda v, obj: None if v else "{Param, ...}"),
    )

    def __init__(self, name: str, type_name: str | None = None) -> None:
        super().__init__(name, type_name)
        self._values["Filename"] = f"{name}.txt"


class EphemerisFile(_OutputFile):
    """A spacecraft ephemeris (the stand-in writes CCSDS-OEM only)."""

    TYPE_NAME = "EphemerisFile"
    ANCESTORS = ("Subscriber",)
    CATEGORIES = ("SUBSCRIBER", "EPHEMERIS_FILE")
    SCHEMA = (
        _text("Spacecraft", "", OBJECT_TYPE),
        _text("Filename", "", FILENAME_TYPE),
        FieldSpec("FileFormat", STRING_TYPE, "CCSDS-OEM", one_of(("CCSDS-OEM",))),
        enum("EpochFormat", "UTCGregorian"),
        _text("InitialEpoch", "InitialSpacecraftEpoch"),
        _text("FinalEpoch", "FinalSpacecraftEpoch"),
        FieldSpec("StepSize", STRING_TYPE, "IntegratorSteps", lambda v, o: _step_size(v)),
        enum("Interpolator", "Lagrange"),
        _int("InterpolationOrder", 7, 1),
        enum("StateType", "Cartesian", ("Cartesian",)),
        _text("CoordinateSystem", "EarthMJ2000Eq", OBJECT_TYPE),
        _bool("WriteEphemeris", True),
        enum("OutputFormat", "LittleEndian"),
        _bool("IncludeEventBoundaries", True),
    )

    def __init__(self, name: str, type_name: str | None = None) -> None:
        super().__init__(name, type_name)
        self._values["Filename"] = f"{name}.eph"


def _step_size(value: str) -> str | None:
    if value == "IntegratorSteps":
        return None
    try:
        ok = float(value) > 0 and math.isfinite(float(value))
    except ValueError:
        ok = False
    return None if ok else "IntegratorSteps, or Real Number > 0"


class ContactLocator(GmatObject):
    """Ground-station contact intervals of a spacecraft (Legacy report format only)."""

    TYPE_NAME = "ContactLocator"
    ANCESTORS = ("EventLocator",)
    CATEGORIES = ("EVENT_LOCATOR",)
    SCHEMA = (
        _text("Target", "", OBJECT_TYPE),
        _text("Filename", "", FILENAME_TYPE),
        _names("Observers", []),
        _names("OccultingBodies", []),
        FieldSpec("ReportFormat", STRING_TYPE, "Legacy", one_of(("Legacy",))),
        enum("ReportTimeFormat", "UTCGregorian"),
        enum("LightTimeDirection", "Transmit"),
        _bool("UseLightTimeDelay", True),
        _bool("UseStellarAberration", True),
        _bool("UseEntireInterval", True),
        _bool("WriteReport", True),
        enum("RunMode", "Automatic"),
        enum("InputEpochFormat", "TAIModJulian"),
        _text("InitialEpoch", "21545"),
        _text("FinalEpoch", "21545.138"),
        real("StepSize", 10, at_least(0, strict=True)),
        real("TimeTolerance", 0.05, at_least(0, strict=True)),
    )

    def __init__(self, name: str, type_name: str | None = None) -> None:
        super().__init__(name, type_name)
        self._values["Filename"] = f"{name}.txt"


class GroundStation(GmatObject):
    """An Earth-fixed ground station (spherical Earth)."""

    TYPE_NAME = "GroundStation"
    ANCESTORS = ("BodyFixedPoint", "SpacePoint")
    CATEGORIES = ("GROUND_STATION", "BODY_FIXED_POINT", "SPACE_POINT")
    SCHEMA = (
        _text("CentralBody", "Earth", OBJECT_TYPE),
        enum("StateType", "Cartesian", ("Cartesian", "Spherical")),
        enum("HorizonReference", "Sphere", ("Sphere", "Ellipsoid")),
        real("Location1", _kepler.R_EARTH),
        real("Location2", 0),
        real("Location3", 0),
        _text("Id", "StationId"),
        real("MinimumElevationAngle", 7, between(-90, 90)),
        _names("AddHardware", []),
    )

    def fixed_position(self) -> np.ndarray:
        """Earth-fixed Cartesian position (km); raises ValueError for a bad location."""
        loc = [float(self._values[f"Location{i}"]) for i in (1, 2, 3)]
        if self._values["StateType"] == "Spherical":
            if not -90.0 <= loc[0] <= 90.0:
                raise ValueError(f"GroundStation {self._name}: latitude {loc[0]:g} not in ±90")
            return _kepler.geodetic_to_fixed(*loc)
        return np.array(loc)


class CoordinateSystem(GmatObject):
    """A coordinate system; the stand-in computes in Earth-centred MJ2000Eq / BodyFixed."""

    TYPE_NAME = "CoordinateSystem"
    CATEGORIES = ("COORDINATE_SYSTEM",)
    SCHEMA = (_text("Origin", "Earth", OBJECT_TYPE), enum("Axes", "MJ2000Eq"))


class Variable(GmatObject):
    """A script ``Variable``: one Real ``Value``."""

    TYPE_NAME = "Variable"
    ANCESTORS = ("Parameter",)
    CATEGORIES = ("PARAMETER", "VARIABLE")
    SCHEMA = (real("Value", 0),)


class StringVar(GmatObject):
    """A script ``String``: one text ``Value``."""

    TYPE_NAME = "String"
    ANCESTORS = ("Parameter",)
    CATEGORIES = ("PARAMETER", "STRING")
    SCHEMA = (_text("Value", ""),)


class ImpulsiveBurn(GmatObject):
    """An impulsive burn: a velocity change of ``Element1..3`` km/s applied by ``Maneuver``
    (see ``_solver.maneuver`` for the axes the stand-in supports)."""

    TYPE_NAME = "ImpulsiveBurn"
    ANCESTORS = ("Burn",)
    CATEGORIES = ("BURN", "IMPULSIVE_BURN")
    SCHEMA = (
        _text("CoordinateSystem", "Local", OBJECT_TYPE),
        _text("Origin", "Earth", OBJECT_TYPE),
        enum("Axes", "VNB", ("VNB", "LVLH", "MJ2000Eq", "SpacecraftBody")),
        real("Element1", 0.0),
        real("Element2", 0.0),
        real("Element3", 0.0),
        _bool("DecrementMass", False),
        _names("Tank", []),
        real("Isp", 300, at_least(0, strict=True)),
        real("GravitationalAccel", 9.81, at_least(0, strict=True)),
        enum("VectorFormat", "Cartesian", ("Cartesian", "Spherical")),
    )


class DifferentialCorrector(GmatObject):
    """GMAT's DifferentialCorrector solver (run by ``Target`` blocks, see ``_solver``)."""

    TYPE_NAME = "DifferentialCorrector"
    ANCESTORS = ("Solver",)
    CATEGORIES = ("SOLVER",)
    SCHEMA = (
        _bool("ShowProgress", True),
        enum("ReportStyle", "Normal", ("Normal", "Concise", "Verbose", "Debug")),
        _text("ReportFile", "", FILENAME_TYPE),
        _int("MaximumIterations", 25, 1),
        enum(
            "DerivativeMethod",
            "ForwardDifference",
            ("ForwardDifference", "CentralDifference", "BackwardDifference"),
        ),
        enum("Algorithm", "NewtonRaphson", ("NewtonRaphson", "Broyden", "ModifiedBroyden")),
    )

    def __init__(self, name: str, type_name: str | None = None) -> None:
        super().__init__(name, type_name)
        self._values["ReportFile"] = f"DifferentialCorrector{name}.data"


class GenericResource(GmatObject):
    """Any other resource type: fields are accepted and typed from their script values."""

    TYPE_NAME = "GmatBase"
    CATEGORIES = ("GENERIC_OBJECT",)


#: Script type name -> class.
TYPES: dict[str, type[GmatObject]] = {
    "Spacecraft": Spacecraft,
    "ForceModel": ForceModel,
    "ODEModel": ForceModel,
    "Propagator": Propagator,
    "PropSetup": Propagator,
    "ReportFile": ReportFile,
    "EphemerisFile": EphemerisFile,
    "ContactLocator": ContactLocator,
    "GroundStation": GroundStation,
    "CoordinateSystem": CoordinateSystem,
    "Variable": Variable,
    "String": StringVar,
    "ImpulsiveBurn": ImpulsiveBurn,
    "DifferentialCorrector": DifferentialCorrector,
}

#: Type codes a generic field may take, from the kind of its script value.
GENERIC_TYPES = {
    "num": REAL_TYPE,
    "bool": BOOLEAN_TYPE,
    "list": STRINGARRAY_TYPE,
    "str": STRING_TYPE,
    "ident": STRING_TYPE,
    "raw": STRING_TYPE,
}


def create(type_name: str, name: str) -> GmatObject:
    """Instantiate a resource of script type ``type_name``."""
    cls = TYPES.get(type_name)
    if cls is None:
        return GenericResource(name, type_name)
    return cls(name)


def default_objects() -> dict[str, GmatObject]:
    """GMAT's built-in coordinate systems (configured before any script)."""
    out: dict[str, GmatObject] = {}
    for name, axes in (
        ("EarthMJ2000Eq", "MJ2000Eq"),
        ("EarthMJ2000Ec", "MJ2000Ec"),
        ("EarthFixed", "BodyFixed"),
        ("EarthICRF", "ICRF"),
    ):
        cs = CoordinateSystem(name)
        cs.set_value("Axes", axes)
        cs.built_in = True  # a script may not assign any of its fields (see _script.assign)
        out[name] = cs
    return out

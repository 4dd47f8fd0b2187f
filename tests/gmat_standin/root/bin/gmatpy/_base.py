"""Object model of the GMAT stand-in: type codes, APIException and the GmatBase surface.

Every configured resource is a :class:`GmatObject` with a schema of typed fields. The
methods mirror the gmatpy (SWIG) surface gmat-run uses: ``GetParameterID`` raises
:class:`APIException` for an unknown field, ``SetField`` raises it with "is not an allowed
value" for a value GMAT would reject, ``GetField`` returns text, ``GetNumber`` a float.
Field *values* are stored as Python types (float, int, bool, str, list[str]).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

# Gmat::ParameterType codes (same numbering as GMAT's gmatdefs.hpp).
INTEGER_TYPE, UNSIGNED_INT_TYPE, UNSIGNED_INTARRAY_TYPE, INTARRAY_TYPE = 0, 1, 2, 3
REAL_TYPE, REAL_ELEMENT_TYPE, STRING_TYPE, STRINGARRAY_TYPE = 4, 5, 6, 7
BOOLEAN_TYPE, BOOLEANARRAY_TYPE, RVECTOR_TYPE, RMATRIX_TYPE = 8, 9, 10, 11
TIME_TYPE, OBJECT_TYPE, OBJECTARRAY_TYPE, ON_OFF_TYPE = 12, 13, 14, 15
ENUMERATION_TYPE, FILENAME_TYPE, COLOR_TYPE, GMATTIME_TYPE = 16, 17, 18, 19
UNKNOWN_PARAMETER_TYPE = -1

_TYPE_NAMES = {
    INTEGER_TYPE: "Integer",
    REAL_TYPE: "Real",
    STRING_TYPE: "String",
    STRINGARRAY_TYPE: "StringArray",
    BOOLEAN_TYPE: "Boolean",
    RVECTOR_TYPE: "Rvector",
    OBJECT_TYPE: "Object",
    OBJECTARRAY_TYPE: "ObjectArray",
    ON_OFF_TYPE: "OnOff",
    ENUMERATION_TYPE: "Enumeration",
    FILENAME_TYPE: "Filename",
    COLOR_TYPE: "Color",
}
TEXT_TYPES = frozenset(
    {STRING_TYPE, OBJECT_TYPE, ON_OFF_TYPE, ENUMERATION_TYPE, FILENAME_TYPE, COLOR_TYPE}
)
ARRAY_TYPES = frozenset({STRINGARRAY_TYPE, OBJECTARRAY_TYPE})

# Gmat::ObjectType codes (the stand-in's own numbering; only identity matters).
_OBJECT_TYPE_NAMES = (
    "SPACECRAFT",
    "FORMATION",
    "SPACEOBJECT",
    "GROUND_STATION",
    "BURN",
    "IMPULSIVE_BURN",
    "FINITE_BURN",
    "COMMAND",
    "PROPAGATOR",
    "ODE_MODEL",
    "PHYSICAL_MODEL",
    "SOLAR_SYSTEM",
    "SPACE_POINT",
    "CELESTIAL_BODY",
    "PARAMETER",
    "VARIABLE",
    "ARRAY",
    "STRING",
    "SOLVER",
    "SUBSCRIBER",
    "REPORT_FILE",
    "EPHEMERIS_FILE",
    "PROP_SETUP",
    "COORDINATE_SYSTEM",
    "BODY_FIXED_POINT",
    "EVENT_LOCATOR",
    "GENERIC_OBJECT",
    "UNKNOWN_OBJECT",
)
OBJECT_TYPES: dict[str, int] = {name: 1001 + i for i, name in enumerate(_OBJECT_TYPE_NAMES)}
OBJECT_TYPES["FORCE_MODEL"] = OBJECT_TYPES["ODE_MODEL"]


class APIException(Exception):
    """The exception gmatpy raises for engine errors (rejected values, unknown fields...)."""

    def GetMessage(self) -> str:
        """The error text (as real gmatpy's APIException)."""
        return str(self)


def fmt_real(value: float) -> str:
    """A real as GMAT writes it in field text: up to 16 significant digits."""
    return "%.16g" % (value + 0.0)


def not_allowed(obj: GmatObject, field: str, value: Any, allowed: str) -> APIException:
    """GMAT's "is not an allowed value" error for a rejected field write."""
    text = fmt_real(value) if isinstance(value, float) else str(value)
    return APIException(
        f'The value of "{text}" for field "{field}" on object "{obj.GetName()}" is not an '
        f"allowed value.\nThe allowed values are: [ {allowed} ]."
    )


#: A check returns None when ``value`` is allowed, else the "allowed values" description.
Check = Callable[[Any, "GmatObject"], "str | None"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a resource type: name, parameter type code, default and check."""

    name: str
    type: int
    default: Any
    check: Check | None = None


def real(name: str, default: float, check: Check | None = None) -> FieldSpec:
    """A Real field."""
    return FieldSpec(name, REAL_TYPE, float(default), check)


def enum(name: str, default: str, allowed: tuple[str, ...] | None = None) -> FieldSpec:
    """An Enumeration field (any text if ``allowed`` is None)."""
    check = None if allowed is None else one_of(allowed)
    return FieldSpec(name, ENUMERATION_TYPE, default, check)


def one_of(allowed: tuple[str, ...]) -> Check:
    """A check accepting exactly the listed strings."""
    text = ", ".join(allowed)
    return lambda value, obj: None if value in allowed else text


def at_least(low: float, *, strict: bool = False) -> Check:
    """A check for ``value >= low`` (``> low`` when strict)."""
    text = f"Real Number {'>' if strict else '>='} {low:g}"
    return lambda value, obj: None if (value > low if strict else value >= low) else text


def between(low: float, high: float) -> Check:
    """A check for ``low <= value <= high``."""
    return lambda value, obj: None if low <= value <= high else f"{low:g} <= Real <= {high:g}"


def parse_list(text: str) -> list[str]:
    """Parse ``{a, 'b', c}`` (or a bare ``a``) into a list of names."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    return [item.strip().strip("'\"") for item in body.split(",") if item.strip()]


def parse_bool(value: Any) -> bool:
    """Coerce GMAT boolean spellings (true/false/on/off/1/0); raise ValueError otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "on", "1"):
        return True
    if text in ("false", "off", "0"):
        return False
    raise ValueError(value)


class GmatObject:
    """A configured GMAT resource with a typed field schema (the GmatBase surface)."""

    TYPE_NAME = "GmatBase"
    ANCESTORS: tuple[str, ...] = ()
    CATEGORIES: tuple[str, ...] = ("GENERIC_OBJECT",)
    SCHEMA: tuple[FieldSpec, ...] = ()
    _SPECS: ClassVar[dict[str, FieldSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._SPECS = {spec.name: spec for spec in cls.SCHEMA}

    def __init__(self, name: str, type_name: str | None = None) -> None:
        self._name = name
        self._type_name = type_name or self.TYPE_NAME
        self._extra: dict[str, FieldSpec] = {}
        self._values: dict[str, Any] = {s.name: _copy(s.default) for s in self.SCHEMA}
        self.object_types = frozenset(OBJECT_TYPES[c] for c in self.CATEGORIES) | {
            OBJECT_TYPES["UNKNOWN_OBJECT"]
        }

    def clone(self) -> GmatObject:
        """An independent copy (the run-time "sandbox" copy of a configured object)."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._extra = dict(self._extra)
        twin._values = {k: _copy(v) for k, v in self._values.items()}
        return twin

    # --- schema ---------------------------------------------------------------------------
    def spec(self, field: str) -> FieldSpec | None:
        """The field's spec, or None if this object has no such field."""
        return self._SPECS.get(field) or self._extra.get(field)

    def _names(self) -> list[str]:
        return [s.name for s in self.SCHEMA] + list(self._extra)

    def add_field(self, field: str, type_code: int, value: Any) -> None:
        """Declare a generic field (for script fields outside the known schema)."""
        self._extra[field] = FieldSpec(field, type_code, value)
        self._values[field] = value

    def _require(self, field: str) -> FieldSpec:
        spec = self.spec(field)
        if spec is None:
            raise APIException(
                f'The field "{field}" is not a parameter of {self._type_name} "{self._name}"'
            )
        return spec

    def _field_name(self, pid_or_name: int | str) -> str:
        if isinstance(pid_or_name, str):
            return self._require(pid_or_name).name
        names = self._names()
        if not 0 <= int(pid_or_name) < len(names):
            raise APIException(f"parameter id {pid_or_name} is out of range on {self._name}")
        return names[int(pid_or_name)]

    # --- typed access (subclasses override get_value/set_value for computed fields) -------
    def get_value(self, field: str) -> Any:
        """The Python-typed value of ``field``."""
        self._require(field)
        return self._values[field]

    def set_value(self, field: str, value: Any) -> None:
        """Coerce ``value`` to the field's type, check it and store it (or raise)."""
        spec = self._require(field)
        coerced = self.coerce(spec, value)
        if spec.check is not None:
            allowed = spec.check(coerced, self)
            if allowed is not None:
                raise not_allowed(self, field, coerced, allowed)
        self._values[field] = coerced

    def coerce(self, spec: FieldSpec, value: Any) -> Any:
        """Convert ``value`` to ``spec``'s Python type or raise "is not an allowed value"."""
        try:
            if spec.type == REAL_TYPE:
                if isinstance(value, bool):
                    raise ValueError(value)
                out = float(value)
                if not math.isfinite(out):
                    raise ValueError(value)
                return out
            if spec.type in (INTEGER_TYPE, UNSIGNED_INT_TYPE):
                if isinstance(value, bool):
                    raise ValueError(value)
                number = float(value)
                if not number.is_integer():
                    raise ValueError(value)
                return int(number)
            if spec.type == BOOLEAN_TYPE:
                return parse_bool(value)
            if spec.type == ON_OFF_TYPE:  # GMAT's reader takes any case, holds On / Off
                if str(value).lower() not in ("on", "off"):
                    raise ValueError(value)
                return str(value).capitalize()
            if spec.type in ARRAY_TYPES:
                if isinstance(value, (list, tuple)):
                    return [str(x) for x in value]
                return parse_list(str(value))
            if isinstance(value, float):
                return fmt_real(value)
            return str(value)
        except (TypeError, ValueError):
            kind = _TYPE_NAMES.get(spec.type, "value")
            raise not_allowed(self, spec.name, value, f"{kind}") from None

    def text(self, field: str) -> str:
        """The field's value as GMAT text."""
        value = self.get_value(field)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return fmt_real(value)
        if isinstance(value, list):
            return "{" + ", ".join(value) + "}"
        return str(value)

    # --- gmatpy surface ---------------------------------------------------------------------
    def GetName(self) -> str:
        """The resource name."""
        return self._name

    def GetTypeName(self) -> str:
        """GMAT's class name (``Spacecraft``, ``PropSetup``, ``ODEModel``, ``ReportFile``...)."""
        return self._type_name

    def IsOfType(self, type_name: str) -> bool:
        """True for the class name or any GMAT ancestor class name."""
        return type_name in (self._type_name, *self.ANCESTORS, "GmatBase")

    def GetParameterCount(self) -> int:
        """Number of fields."""
        return len(self.SCHEMA) + len(self._extra)

    def GetParameterText(self, pid: int) -> str:
        """Field name of parameter id ``pid``."""
        return self._field_name(int(pid))

    def GetParameterID(self, field: str) -> int:
        """Parameter id of ``field``; raises APIException if there is no such field."""
        self._require(field)
        return self._names().index(field)

    def GetParameterType(self, pid: int) -> int:
        """Parameter type code (``REAL_TYPE``, ``STRING_TYPE``...) of ``pid``."""
        return self._require(self._field_name(pid)).type

    def GetParameterTypeString(self, pid: int) -> str:
        """Parameter type name of ``pid``."""
        return _TYPE_NAMES.get(self.GetParameterType(pid), "Unknown")

    def IsParameterReadOnly(self, pid_or_name: int | str) -> bool:
        """Never read-only in the stand-in."""
        self._field_name(pid_or_name)
        return False

    def GetField(self, field: str | int) -> str:
        """The field's value as text."""
        return self.text(self._field_name(field))

    def SetField(self, field: str | int, value: Any) -> bool | None:
        """Write ``value``; raises APIException ("is not an allowed value") if rejected.

        A list is what GMAT R2026a's ``GmatBase::SetField(StringArray/RealArray)`` does
        with it: nothing, but print a message (for a field that is not an Rvector; the
        real stub's message has an unfilled ``%s``, and for a ForceModel's PointMasses the
        real process crashes). Lists reach GMAT fields through script text only. An OnOff
        field (``LeftJustify``, ``SRP``) refuses every write, as R2026a's does a string.
        """
        if isinstance(value, (list, tuple)):
            self._field_name(field)
            if not all(isinstance(v, (int, float)) for v in value):  # RealArray: silent
                print("Called SetField for StringArray %s", flush=True)
            return None
        name = self._field_name(field)
        if self._require(name).type == ON_OFF_TYPE:  # R2026a's SetField takes no text for it
            raise APIException(
                "GmatBase Exception Thrown: Error setting field value; "
                f"{name} expects a OnOff value, but the received value is a string."
            )
        self.set_value(name, value)
        return True

    def GetNumber(self, field: str | int) -> float:
        """A numeric field as float."""
        value = self.get_value(self._field_name(field))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise APIException(f'Field "{field}" on "{self._name}" is not numeric')
        return float(value)

    def GetRealParameter(self, field: str | int) -> float:
        """Same as GetNumber."""
        return self.GetNumber(field)

    def GetIntegerParameter(self, field: str | int) -> int:
        """An Integer field."""
        return int(self.GetNumber(field))

    def GetBooleanParameter(self, field: str | int) -> bool:
        """A Boolean field."""
        return bool(parse_bool(self.get_value(self._field_name(field))))

    def GetStringParameter(self, field: str | int) -> str:
        """A text field."""
        return self.GetField(field)

    def GetStringArrayParameter(self, field: str | int) -> list[str]:
        """A StringArray / ObjectArray field as a list."""
        value = self.get_value(self._field_name(field))
        return list(value) if isinstance(value, list) else parse_list(str(value))

    def SetRealParameter(self, field: str | int, value: float) -> float:
        """Write a Real field; returns the stored value."""
        self.SetField(field, value)
        return self.GetNumber(field)

    def SetIntegerParameter(self, field: str | int, value: int) -> int:
        """Write an Integer field."""
        self.SetField(field, value)
        return int(self.GetNumber(field))

    def SetBooleanParameter(self, field: str | int, value: bool) -> bool:
        """Write a Boolean field."""
        return self.SetField(field, value)

    def SetStringParameter(self, field: str | int, value: str) -> bool:
        """Write a text field."""
        return self.SetField(field, value)

    def Initialize(self) -> bool:
        """Nothing to resolve up front in the stand-in; always True."""
        return True

    def GetGeneratingString(self, *args: Any) -> str:
        """The resource as GMAT script text."""
        lines = [f"Create {self._type_name} {self._name};"]
        for name in self._names():
            try:
                value = self.text(name)
            except APIException:
                continue
            spec = self._require(name)
            if spec.type in TEXT_TYPES - {OBJECT_TYPE, ENUMERATION_TYPE, ON_OFF_TYPE}:
                value = f"'{value}'"
            lines.append(f"GMAT {self._name}.{name} = {value};")
        return "\n".join(lines) + "\n"

    def Help(self) -> str:
        """A field listing."""
        text = self.GetGeneratingString()
        print(text)
        return text

    def __repr__(self) -> str:
        return f"<stand-in {self._type_name} {self._name!r}>"


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value

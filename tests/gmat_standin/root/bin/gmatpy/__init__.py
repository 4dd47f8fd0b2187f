"""gmatpy STAND-IN: a pure-Python test double for NASA GMAT's Python API (not real GMAT).

It implements the slice of the gmatpy surface that gmat-run drives (``Setup``,
``LoadScript``, ``GetObject``, ``Moderator.Instance().GetListOfObjects/GetFirstCommand``,
field access on objects, ``UseLogFile``, ``RunScript``, ``APIException`` and the type-code
constants) on top of a small GMAT-script interpreter with exact two-body Kepler physics, and
writes ReportFile / CCSDS-OEM EphemerisFile / Legacy ContactLocator files in GMAT's text
formats. See the submodules for the script subset (``_script``), physics and approximations
(``_kepler``, ``_timesys``), outputs (``_outputs``), targeting (``_targeter``: Target, Vary,
Achieve, Maneuver; ``_solver``: the DifferentialCorrector) and fault injection (``_engine``).

``__gmat_standin__ = True`` tells callers this is not a real GMAT.
"""

from __future__ import annotations

from typing import Any

from . import _base, _resources
from ._base import (
    BOOLEAN_TYPE,
    BOOLEANARRAY_TYPE,
    COLOR_TYPE,
    ENUMERATION_TYPE,
    FILENAME_TYPE,
    GMATTIME_TYPE,
    INTARRAY_TYPE,
    INTEGER_TYPE,
    OBJECT_TYPE,
    OBJECTARRAY_TYPE,
    ON_OFF_TYPE,
    REAL_ELEMENT_TYPE,
    REAL_TYPE,
    RMATRIX_TYPE,
    RVECTOR_TYPE,
    STRING_TYPE,
    STRINGARRAY_TYPE,
    TIME_TYPE,
    UNKNOWN_PARAMETER_TYPE,
    UNSIGNED_INT_TYPE,
    UNSIGNED_INTARRAY_TYPE,
    APIException,
    GmatObject,
)
from ._engine import ENGINE, VERSION_TAG
from ._script import Command

__gmat_standin__ = True
__version__ = f"{VERSION_TAG}-standin"

__all__ = [
    "BOOLEANARRAY_TYPE",
    "BOOLEAN_TYPE",
    "COLOR_TYPE",
    "ENUMERATION_TYPE",
    "FILENAME_TYPE",
    "GMATTIME_TYPE",
    "INTARRAY_TYPE",
    "INTEGER_TYPE",
    "OBJECTARRAY_TYPE",
    "OBJECT_TYPE",
    "ON_OFF_TYPE",
    "REAL_ELEMENT_TYPE",
    "REAL_TYPE",
    "RMATRIX_TYPE",
    "RVECTOR_TYPE",
    "STRINGARRAY_TYPE",
    "STRING_TYPE",
    "TIME_TYPE",
    "UNKNOWN_PARAMETER_TYPE",
    "UNSIGNED_INTARRAY_TYPE",
    "UNSIGNED_INT_TYPE",
    "APIException",
    "Clear",
    "Construct",
    "EchoLogFile",
    "GetObject",
    "GetRuntimeObject",
    "Initialize",
    "LoadScript",
    "Moderator",
    "RunScript",
    "Setup",
    "ShowObjects",
    "UseLogFile",
]

# Object-type enum values (SPACECRAFT, SUBSCRIBER, EVENT_LOCATOR, SOLVER, UNKNOWN_OBJECT...).
globals().update(_base.OBJECT_TYPES)


def Setup(startup_file: str | None = None) -> None:
    """Initialise the engine from ``startup_file`` (appends the pid to GMAT_STANDIN_SETUP_LOG)."""
    ENGINE.setup(startup_file)


def LoadScript(path: str) -> bool:
    """Load a GMAT script, replacing the previous one; False (reason logged) on failure."""
    return ENGINE.load_script(_std_string("LoadScript", path))


def RunScript() -> int:
    """Run the loaded mission; 1 on success, -2 / -5 on initialisation / run-time errors."""
    return ENGINE.run_script()


def UseLogFile(path: str) -> None:
    """Direct engine messages to ``path`` (truncated)."""
    ENGINE.use_log_file(_std_string("UseLogFile", path))


def _std_string(method: str, value: object) -> str:
    """``value`` as GMAT's SWIG wrappers take a ``std::string``: text that encodes as
    UTF-8 (a path with undecodable bytes, ``'\\udcff'``, is refused as R2026a does)."""
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError(f"in method '{method}', argument 1 of type 'std::string const &'") from None
    return str(value)


def EchoLogFile(echo: bool = True) -> None:
    """Also print every log message to stderr."""
    ENGINE.echo = bool(echo)


def GetObject(name: str) -> GmatObject | None:
    """The configured object ``name``, or None."""
    return ENGINE.objects.get(name)


def GetRuntimeObject(name: str) -> GmatObject | None:
    """The object as the last run left it (its sandbox copy), else the configured one."""
    if ENGINE.sandbox is not None and name in ENGINE.sandbox.objects:
        return ENGINE.sandbox.objects[name]
    return GetObject(name)


def Construct(type_name: str, name: str) -> GmatObject:
    """Create and configure a resource (as ``Create <type_name> <name>``)."""
    if name in ENGINE.objects:
        raise APIException(f'An object named "{name}" already exists')
    obj = _resources.create(type_name, name)
    ENGINE.objects[name] = obj
    return obj


def Initialize() -> bool:
    """Check the configuration like GMAT's sandbox initialisation; raise APIException."""
    from ._sandbox import RunError, Sandbox

    try:
        Sandbox(ENGINE.objects, ENGINE.commands, lambda text: None)
    except RunError as exc:
        raise APIException(str(exc)) from None
    return True


def Clear(name: str = "") -> bool:
    """Remove one configured object, or (no name) every script object and command."""
    if name:
        return ENGINE.objects.pop(name, None) is not None
    ENGINE.objects, ENGINE.commands = _resources.default_objects(), []
    ENGINE.script_path = None
    return True


def ShowObjects(type_name: str = "") -> str:
    """List configured objects (optionally of one GMAT type) and print the list."""
    names = [n for n, o in ENGINE.objects.items() if not type_name or o.IsOfType(type_name)]
    text = "Current configured objects:\n" + "".join(f"   {n}\n" for n in names)
    print(text, end="")
    return text


class Moderator:
    """GMAT's Moderator singleton: configured-object lists and the command sequence."""

    _instance: Moderator | None = None

    @classmethod
    def Instance(cls) -> Moderator:
        """The singleton."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def GetListOfObjects(self, type_id: int) -> list[str]:
        """Names of configured objects of ``type_id`` (UNKNOWN_OBJECT: all), in script order."""
        return [n for n, o in ENGINE.objects.items() if type_id in o.object_types]

    def GetConfiguredObject(self, name: str) -> GmatObject | None:
        """Same as gmatpy.GetObject."""
        return GetObject(name)

    def GetFirstCommand(self, sandbox_num: int = 1) -> Command | None:
        """Head of the mission sequence (a NoOp, then BeginMissionSequence), or None."""
        return ENGINE.commands[0] if ENGINE.commands else None

    def RunScript(self, sandbox_num: int = 1) -> int:
        """Same as gmatpy.RunScript."""
        return RunScript()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the GMAT stand-in Moderator has no {name!r}")

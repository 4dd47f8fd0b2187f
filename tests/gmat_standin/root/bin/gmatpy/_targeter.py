"""Targeting commands of the GMAT stand-in: ``Target``/``Vary``/``Achieve``/``EndTarget``
and ``Maneuver``, parsed into :class:`Command` nodes (:func:`parse_command`) and checked
(:func:`nest`); ``_solver`` checks their references and runs them (a DifferentialCorrector).

Accepted, as GMAT R2026a writes them::

    Target DC {SolveMode = Solve, ExitMode = SaveAndContinue}
       Vary DC(TOI.Element1 = Guess, {Perturbation = 0.0001, Lower = 0, Upper = 3, MaxStep = 0.2})
       Maneuver TOI(Sat)
       Propagate Prop(Sat) {Sat.Earth.Apoapsis}
       Achieve DC(Sat.Earth.RMAG = 12000, {Tolerance = 0.1})
    EndTarget

A Vary's initial value is a number, a Variable or a ``Resource.Field``; its options and an
Achieve's ``Tolerance`` take numbers or Variables (GMAT's defaults when left out).
``SolveMode = RunInitialGuess``, ``ExitMode`` other than ``SaveAndContinue``, scale factors
and nested Targets are refused as unsupported by the stand-in, never approximated.
"""

from __future__ import annotations

import re
from typing import Any

from ._script import Command, ScriptError, Token, token
from ._script import _split_top as split_top

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CALL_RE = re.compile(rf"^({_IDENT})\s*\((.*)\)\s*$")
_TARGET_RE = re.compile(rf"^Target\s+({_IDENT})\s*(\{{.*\}})?\s*$")
_MANEUVER_RE = re.compile(rf"^Maneuver\s+({_IDENT})\s*\(\s*({_IDENT})\s*\)\s*$")
_PATH_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*$")

HEADS = ("Target", "Vary", "Achieve", "EndTarget", "Maneuver")
BIG = 9.999999e300  # GMAT's "unbounded" default for Lower/Upper/MaxStep
VARY_DEFAULTS = {
    "Perturbation": 0.0001,
    "Lower": -BIG,
    "Upper": BIG,
    "MaxStep": BIG,
    "AdditiveScaleFactor": 0.0,
    "MultiplicativeScaleFactor": 1.0,
}
ACHIEVE_DEFAULTS = {"Tolerance": 0.1}
TARGET_DEFAULTS = {"SolveMode": "Solve", "ExitMode": "DiscardAndContinue"}


class TargetCmd(Command):
    """``Target Solver {options}``; ``body`` holds the commands up to its EndTarget."""

    def __init__(self, text: str, lineno: int, solver: str, options: dict[str, Token]) -> None:
        super().__init__("Target", text, lineno)
        self.solver, self.options = solver, options
        self.body: list[Command] = []


class VaryCmd(Command):
    """``Vary Solver(Resource.Field = initial, {options})``."""

    def __init__(
        self, text: str, lineno: int, solver: str, path: str, initial: Token, options: dict
    ) -> None:
        super().__init__("Vary", text, lineno)
        self.solver, self.path, self.initial, self.options = solver, path, initial, options


class AchieveCmd(Command):
    """``Achieve Solver(Parameter = desired, {Tolerance = t})``."""

    def __init__(
        self, text: str, lineno: int, solver: str, param: str, desired: Token, options: dict
    ) -> None:
        super().__init__("Achieve", text, lineno)
        self.solver, self.param, self.desired, self.options = solver, param, desired, options


class ManeuverCmd(Command):
    """``Maneuver Burn(Spacecraft)``: an impulsive burn applied at once."""

    def __init__(self, text: str, lineno: int, burn: str, sat: str) -> None:
        super().__init__("Maneuver", text, lineno)
        self.burn, self.sat = burn, sat


def parse_command(lineno: int, stmt: str) -> Command:
    """One targeting or Maneuver statement; raise ScriptError."""
    head = stmt.split(None, 1)[0].rstrip("(")
    if head == "EndTarget":
        if stmt != "EndTarget":
            raise ScriptError(lineno, f"cannot parse {stmt!r}")
        return Command("EndTarget", stmt, lineno)
    if head == "Target":
        match = _TARGET_RE.match(stmt)
        if match is None:
            raise ScriptError(lineno, f"cannot parse Target command: {stmt!r}")
        options = _options(lineno, match.group(2), TARGET_DEFAULTS)
        return TargetCmd(stmt, lineno, match.group(1), options)
    if head == "Maneuver":
        match = _MANEUVER_RE.match(stmt)
        if match is None:
            raise ScriptError(lineno, f"cannot parse Maneuver command: {stmt!r}")
        return ManeuverCmd(stmt, lineno, match.group(1), match.group(2))
    match = _CALL_RE.match(stmt[len(head) :].strip())
    if match is None:
        raise ScriptError(lineno, f"cannot parse {head} command: {stmt!r}")
    solver, parts = match.group(1), split_top(match.group(2), ",")
    lhs, eq, rhs = parts[0].partition("=")
    if not eq or not _PATH_RE.match(lhs.strip()) or len(parts) > 2:
        raise ScriptError(lineno, f"{head} needs 'Name = value' and options: {stmt!r}")
    braces = parts[1].strip() if len(parts) == 2 else None
    if head == "Vary":
        options = _options(lineno, braces, VARY_DEFAULTS)
        return VaryCmd(stmt, lineno, solver, lhs.strip(), token(rhs), options)
    options = _options(lineno, braces, ACHIEVE_DEFAULTS)
    return AchieveCmd(stmt, lineno, solver, lhs.strip(), token(rhs), options)


def _options(lineno: int, braces: str | None, known: dict[str, Any]) -> dict[str, Token]:
    """``{Key = value, ...}`` into tokens; keys must be among ``known``."""
    if braces is None:
        return {}
    if not (braces.startswith("{") and braces.endswith("}")):
        raise ScriptError(lineno, f"expected {{Option = value, ...}}, got {braces!r}")
    out: dict[str, Token] = {}
    for item in split_top(braces[1:-1], ","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not item.strip():
            continue
        if not eq or key not in known:
            raise ScriptError(lineno, f"unknown option {item.strip()!r}; known: {', '.join(known)}")
        out[key] = token(value)
    return out


def nest(commands: list[Command]) -> None:
    """Pair each Target with its EndTarget (``body``); Vary/Achieve only inside a Target of
    their solver; raise ScriptError naming the line."""
    current: TargetCmd | None = None
    for cmd in commands:
        if isinstance(cmd, TargetCmd):
            if current is not None:
                raise ScriptError(cmd.lineno, "nested Target commands are not supported")
            current = cmd
        elif cmd.type_name == "EndTarget":
            if current is None:
                raise ScriptError(cmd.lineno, "EndTarget without a Target")
            current = None
        elif current is not None:
            current.body.append(cmd)
            cmd.in_branch = True  # type: ignore[attr-defined]
            if isinstance(cmd, VaryCmd | AchieveCmd) and cmd.solver != current.solver:
                raise ScriptError(
                    cmd.lineno, f"{cmd.type_name} uses {cmd.solver}, its Target {current.solver}"
                )
        elif isinstance(cmd, VaryCmd | AchieveCmd):
            raise ScriptError(cmd.lineno, f"{cmd.type_name} outside a Target ... EndTarget")
    if current is not None:
        raise ScriptError(current.lineno, "Target without EndTarget")

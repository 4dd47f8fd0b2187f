"""Parser for the subset of GMAT script syntax the stand-in understands.

Accepted: ``%`` comments, ``...`` line continuations, optional trailing ``;`` (several
statements may share a line), an optional ``GMAT`` prefix on assignments,
``Create <Type> <Name> [<Name2> ...]``, ``Name.Field[.Sub] = value`` (numbers, quoted
strings, ``{a, b}`` lists, ``true``/``false``, bare identifiers and enums, or raw text such
as an unquoted epoch), ``Var = value`` for a Variable/String, ``BeginMissionSequence``, and
in the mission sequence ``Propagate [BackProp|Synchronized] Prop(Sat[, Sat2]) {stop, ...}``
(stop conditions ``Sat.ElapsedSecs = <number|Variable>``, ``Sat.ElapsedDays = ...``,
``Sat[.Earth].Periapsis``, ``Sat[.Earth].Apoapsis``; the old in-parenthesis form works too)
assignments (``Sat.SMA = 7100``, ``V = 3``, ``V = W``), ``Maneuver Burn(Sat)`` and
``Target``/``Vary``/``Achieve``/``EndTarget`` blocks (see ``_targeter``). Anything else raises
:class:`ScriptError` with the line number.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from ._base import TEXT_TYPES, APIException, GmatObject
from ._resources import GENERIC_TYPES, StringVar, Variable, create, output_directory_refusal

OUTPUT_FILES = ("ReportFile", "EphemerisFile")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_IDENT_RE = re.compile(rf"^{_IDENT}$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TARGET_RE = re.compile(rf"^({_IDENT})((?:\.{_IDENT})*)$")
_STOP_RE = re.compile(rf"^({_IDENT})\.(?:(Earth)\.)?({_IDENT})\s*(?:=\s*(.+))?$")
_STOP_PARAMS = ("ElapsedSecs", "ElapsedDays", "Periapsis", "Apoapsis")


class ScriptError(Exception):
    """A script line the stand-in cannot accept."""

    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")


@dataclass(frozen=True)
class Token:
    """A parsed right-hand-side value: kind is num/str/list/bool/ident/raw."""

    kind: str
    value: Any
    raw: str


@dataclass(frozen=True)
class StopCondition:
    """``Sat.ElapsedSecs = 60`` etc; ``value`` is a number, a Variable name, or None."""

    sat: str
    param: str
    value: float | str | None


class Command:
    """A mission-sequence command node (the GmatCommand surface gmat-run walks)."""

    def __init__(self, type_name: str, text: str, lineno: int) -> None:
        self.type_name, self.text, self.lineno = type_name, text, lineno
        self.next: Command | None = None

    def GetTypeName(self) -> str:
        """Command class name (``Propagate``, ``Assignment``, ``BeginMissionSequence``)."""
        return self.type_name

    def GetName(self) -> str:
        """Commands are unnamed."""
        return ""

    def GetNext(self) -> Command | None:
        """The next command in the sequence, or None."""
        return self.next

    def GetChildCommand(self, index: int = 0) -> None:
        """No branch commands in the stand-in."""
        return None

    def IsOfType(self, type_name: str) -> bool:
        """True for the command's own type and ``GmatCommand``."""
        return type_name in (self.type_name, "GmatCommand", "GmatBase")

    def GetGeneratingString(self, *args: Any) -> str:
        """The command as script text."""
        return self.text if self.text.endswith(";") else self.text + ";"


class Propagate(Command):
    """``Propagate Prop(Sats) {stops}``."""

    def __init__(self, text: str, lineno: int, prop: str) -> None:
        super().__init__("Propagate", text, lineno)
        self.prop = prop
        self.sats: list[str] = []
        self.stops: list[StopCondition] = []


class Assignment(Command):
    """``Target.Field = value`` / ``Var = value``, executed at run time."""

    def __init__(self, text: str, lineno: int, target: str, field_name: str, value: Token) -> None:
        super().__init__("Assignment", text, lineno)
        self.target, self.field_name, self.value = target, field_name, value


@dataclass
class Script:
    """A parsed script: resources in creation order and the command list."""

    objects: dict[str, GmatObject]
    commands: list[Command]


def statements(text: str) -> list[tuple[int, str]]:
    """Split script text into ``(lineno, statement)``: comments, ``...`` and ``;`` handled."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(line).strip()
        if not pending:
            start = lineno
        if line.endswith("..."):
            pending += line[:-3] + " "
            continue
        line, pending = pending + line, ""
        for part in _split_top(line, ";"):
            if part.strip():
                out.append((start, part.strip()))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _strip_comment(line: str) -> str:
    quote = False
    for i, ch in enumerate(line):
        if ch == "'":
            quote = not quote
        elif ch == "%" and not quote:
            return line[:i]
    return line


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes, braces, brackets and parentheses."""
    parts, depth, quote, cur = [], 0, False, []
    for ch in text:
        if ch == "'":
            quote = not quote
        elif not quote and ch in "{[(":
            depth += 1
        elif not quote and ch in "}])":
            depth -= 1
        if ch == sep and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def token(raw: str) -> Token:
    """Classify a right-hand-side value."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return Token("str", text[1:-1], text)
    if text.startswith("{") and text.endswith("}"):
        items = [i.strip().strip("'") for i in _split_top(text[1:-1], ",") if i.strip()]
        return Token("list", items, text)
    if _NUMBER_RE.match(text):
        return Token("num", float(text), text)
    if text.lower() in ("true", "false"):
        return Token("bool", text.lower() == "true", text)
    if _IDENT_RE.match(text):
        return Token("ident", text, text)
    return Token("raw", text, text)


def parse(text: str, objects: dict[str, GmatObject]) -> Script:
    """Parse script ``text`` on top of the built-in ``objects``; raise ScriptError."""
    from . import _targeter  # it builds on this module's Command and tokens

    objects = dict(objects)
    commands: list[Command] = [Command("NoOp", "", 0)]
    in_mission = False
    for lineno, stmt in statements(text):
        head = stmt.split(None, 1)[0]
        if head == "Create":
            if in_mission:
                raise ScriptError(lineno, "'Create' is not allowed after BeginMissionSequence")
            _create(lineno, stmt, objects)
        elif stmt == "BeginMissionSequence":
            if in_mission:
                raise ScriptError(lineno, "BeginMissionSequence appears twice")
            in_mission = True
            commands.append(Command("BeginMissionSequence", stmt, lineno))
        elif head == "Propagate" or head in _targeter.HEADS:
            if not in_mission:  # GMAT starts the mission sequence implicitly
                in_mission = True
                commands.append(Command("BeginMissionSequence", "BeginMissionSequence", lineno))
            if head == "Propagate":
                commands.append(_propagate(lineno, stmt))
            else:
                commands.append(_targeter.parse_command(lineno, stmt))
        elif "=" in stmt:
            body = stmt[5:] if stmt.startswith("GMAT ") else stmt
            target, _, value = body.partition("=")
            path, tok = _target(lineno, target.strip(), objects), token(value)
            if in_mission:
                commands.append(Assignment(stmt, lineno, path[0], path[1], tok))
            else:
                assign(objects[path[0]], path[1], tok, objects, lineno)
        else:
            where = "mission sequence" if in_mission else "resource section"
            raise ScriptError(lineno, f"unsupported {where} statement: {stmt!r}")
    _targeter.nest(commands)
    for prev, nxt in itertools.pairwise(commands):
        prev.next = nxt
    return Script(objects, commands)


def _create(lineno: int, stmt: str, objects: dict[str, GmatObject]) -> None:
    words = stmt.replace(",", " ").split()
    if len(words) < 3:
        raise ScriptError(lineno, f"'Create' needs a type and a name: {stmt!r}")
    for name in words[2:]:
        if not _IDENT_RE.match(name):
            raise ScriptError(lineno, f"invalid resource name {name!r}")
        if name in objects:
            raise ScriptError(lineno, f"a resource named {name!r} already exists")
        objects[name] = create(words[1], name)


def _target(lineno: int, target: str, objects: dict[str, GmatObject]) -> tuple[str, str]:
    match = _TARGET_RE.match(target)
    if match is None:
        raise ScriptError(lineno, f"cannot parse assignment target {target!r}")
    name, rest = match.group(1), match.group(2)[1:]
    obj = objects.get(name)
    if obj is None:
        raise ScriptError(lineno, f"unknown resource {name!r}")
    if not rest:
        if not isinstance(obj, (Variable, StringVar)):
            raise ScriptError(lineno, f"{name!r} is not a Variable or String")
        rest = "Value"
    return name, rest


def assign(
    obj: GmatObject, field_name: str, tok: Token, objects: dict[str, GmatObject], lineno: int
) -> None:
    """Apply one script assignment to ``obj`` (adding a generic field if unknown).

    As GMAT R2026a, a built-in coordinate system refuses every assignment, even of the
    value it holds."""
    if getattr(obj, "built_in", False):
        raise ScriptError(
            lineno,
            "CoordinateSystem exception: Modifications to built-in coordinate system "
            f"{obj.GetName()} are not allowed.",
        )
    spec = obj.spec(field_name)
    if spec is None:
        value = tok.value if tok.kind in ("num", "bool", "list", "str") else tok.raw
        obj.add_field(field_name, GENERIC_TYPES[tok.kind], value)
        return
    value: Any = tok.value
    if tok.kind == "ident" and isinstance(objects.get(tok.value), Variable):
        value = objects[tok.value].get_value("Value")
    elif tok.kind in ("num", "raw") and spec.type in TEXT_TYPES:
        value = tok.raw
    try:
        obj.set_value(field_name, value)
    except APIException as exc:
        raise ScriptError(lineno, str(exc)) from None
    if field_name == "Filename":
        _check_output_directory(lineno, obj)


def _check_output_directory(lineno: int, obj: GmatObject) -> None:
    """GMAT R2026a refuses, while reading the script, an absolute output path whose
    directory does not exist (as it does an API write of one)."""
    refusal = output_directory_refusal(obj) if obj.TYPE_NAME in OUTPUT_FILES else None
    if refusal is not None:
        raise ScriptError(lineno, f"Subscriber Exception: {refusal}")


def _propagate(lineno: int, stmt: str) -> Propagate:
    rest = stmt[len("Propagate") :].strip()
    words = rest.split(None, 1)
    if words and words[0] in ("BackProp", "Synchronized"):
        raise ScriptError(lineno, f"Propagate mode {words[0]!r} is not supported by the stand-in")
    match = re.match(rf"^({_IDENT})\s*\((.*)\)\s*(\{{.*\}})?\s*$", rest)
    if match is None:
        raise ScriptError(lineno, f"cannot parse Propagate command: {stmt!r}")
    cmd = Propagate(stmt, lineno, prop=match.group(1))
    braces = [match.group(3)] if match.group(3) else []
    for item in _split_top(match.group(2), ","):
        item = item.strip()
        if item.startswith("{"):
            braces.append(item)
        elif _IDENT_RE.match(item):
            cmd.sats.append(item)
        else:
            raise ScriptError(lineno, f"cannot parse propagated object {item!r}")
    if not cmd.sats:
        raise ScriptError(lineno, "Propagate needs at least one spacecraft")
    for brace in braces:
        for cond in _split_top(brace.strip()[1:-1], ","):
            cmd.stops.append(_stop(lineno, cond.strip()))
    return cmd


def _stop(lineno: int, text: str) -> StopCondition:
    match = _STOP_RE.match(text)
    if match is None or match.group(3) not in _STOP_PARAMS:
        raise ScriptError(
            lineno,
            f"unsupported stop condition {text!r} (the stand-in supports "
            "Sat.ElapsedSecs/ElapsedDays = value and Sat.Periapsis/Apoapsis)",
        )
    sat, param, raw = match.group(1), match.group(3), match.group(4)
    if param in ("ElapsedSecs", "ElapsedDays"):
        if raw is None:
            raise ScriptError(lineno, f"stop condition {text!r} needs a value")
        tok = token(raw)
        if tok.kind not in ("num", "ident"):
            raise ScriptError(lineno, f"stop value {raw!r} must be a number or a Variable")
        return StopCondition(sat, param, tok.value)
    if raw is not None:
        raise ScriptError(lineno, f"stop condition {param} takes no value")
    return StopCondition(sat, param, None)

"""One mission run of the GMAT stand-in: copy the configured objects and execute commands.

Like GMAT's Sandbox, a run works on clones, so the configured objects (what gmat-run reads
and writes) are unchanged by the run. Each spacecraft carries its current epoch and
Cartesian state; ``Propagate`` advances the listed spacecraft analytically and publishes a
report row at the start, every ``InitialStepSize`` seconds and exactly at the stop
condition (stop conditions are relative to the start of that Propagate; several in one
command stop at the earliest). Ephemerides and contacts are computed from the recorded
trajectory segments when the run ends.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _kepler, _outputs, _params, _solver, _timesys
from ._base import APIException, GmatObject
from ._resources import (
    CARTESIAN,
    KEPLERIAN,
    ContactLocator,
    CoordinateSystem,
    EphemerisFile,
    ForceModel,
    GroundStation,
    Propagator,
    ReportFile,
    Spacecraft,
    StringVar,
    Variable,
)
from ._script import Assignment, Command, Propagate, Token

Log = Callable[[str], None]


class RunError(Exception):
    """A run-time error, reported GMAT-style in the log."""


class _Sat:
    """Run-time state of one spacecraft: epoch, r, v and the segments flown."""

    def __init__(self, obj: Spacecraft) -> None:
        cart = obj.cartesian()
        self.obj, self.t, self.t_initial = obj, obj.epoch, obj.epoch
        self.r, self.v = np.array(cart[:3]), np.array(cart[3:])
        self.segments: list[tuple[float, float, _kepler.Orbit]] = []


class Sandbox:
    """Initialised run: objects cloned, references checked, report parameters compiled."""

    def __init__(self, objects: dict[str, GmatObject], commands: list[Command], log: Log):
        self.log = log
        self.objects = {name: obj.clone() for name, obj in objects.items()}
        self.commands = commands
        self.sats: dict[str, _Sat] = {}
        self.publishing = True  # solver passes publish no report rows
        self.solver_files: set[str] = set()
        self.reports: dict[str, tuple[ReportFile, list[_params.Evaluator], _outputs.Report]] = {}
        try:
            self._initialize()
        except (APIException, ValueError) as exc:
            raise RunError(str(exc)) from None

    def _get(self, name: str, cls: type, what: str) -> Any:
        obj = self.objects.get(name)
        if not isinstance(obj, cls):
            raise RunError(f"{what} {name!r} is not a {cls.__name__} in this script")
        return obj

    def _initialize(self) -> None:
        for name, obj in self.objects.items():
            if isinstance(obj, Spacecraft):
                cs = self._get(
                    obj.get_value("CoordinateSystem"),
                    CoordinateSystem,
                    f"Spacecraft {name}: CoordinateSystem",
                )
                if (cs.get_value("Origin"), cs.get_value("Axes")) != ("Earth", "MJ2000Eq"):
                    raise RunError(
                        f"Spacecraft {name}: the stand-in supports only Earth-centred "
                        "MJ2000Eq coordinate systems"
                    )
                self.sats[name] = _Sat(obj)
            elif isinstance(obj, ForceModel):
                self._check_force_model(obj)
            elif isinstance(obj, ReportFile):
                evaluators = [_params.compile_param(p, self.objects) for p in obj.get_value("Add")]
                report = _outputs.Report(
                    list(obj.get_value("Add")),
                    int(obj.get_value("ColumnWidth")),
                    bool(obj.get_value("WriteHeaders")),
                    obj.get_value("LeftJustify") == "On",
                )
                self.reports[name] = (obj, evaluators, report)
            elif isinstance(obj, EphemerisFile):
                self._get(obj.get_value("Spacecraft"), Spacecraft, f"EphemerisFile {name}: target")
                cs = obj.get_value("CoordinateSystem")
                if cs != "EarthMJ2000Eq":
                    raise RunError(f"EphemerisFile {name}: only EarthMJ2000Eq is supported")
            elif isinstance(obj, ContactLocator):
                self._get(obj.get_value("Target"), Spacecraft, f"ContactLocator {name}: Target")
                for obs in obj.get_value("Observers"):
                    station = self._get(obs, GroundStation, f"ContactLocator {name}: observer")
                    station.fixed_position()
        for cmd in self.commands:
            where = f"line {cmd.lineno}: {cmd.type_name}"
            if isinstance(cmd, Propagate):
                prop = self._get(cmd.prop, Propagator, f"{where}: propagator")
                if prop.get_value("FM"):
                    self._get(prop.get_value("FM"), ForceModel, f"Propagator {cmd.prop}: FM")
                for sat in cmd.sats + [s.sat for s in cmd.stops]:
                    self._get(sat, Spacecraft, f"{where}: spacecraft")
                for stop in cmd.stops:
                    if isinstance(stop.value, str):
                        self._get(stop.value, Variable, f"{where}: stop condition value")
            elif isinstance(cmd, Assignment) and cmd.target not in self.objects:
                raise RunError(f"{where}: unknown resource {cmd.target!r}")
            elif cmd.type_name in ("Target", "Vary", "Achieve", "Maneuver"):
                _solver.check(self, cmd, where)

    def _check_force_model(self, fm: ForceModel) -> None:
        if fm.get_value("CentralBody") != "Earth":
            raise RunError(f"ForceModel {fm.GetName()}: the stand-in supports CentralBody Earth")
        ignored = [b for b in fm.get_value("PointMasses") if b != "Earth"]
        if ignored or fm.get_value("Drag") not in ("None", "") or fm.get_value("SRP") == "On":
            self.log(
                f"Warning: ForceModel {fm.GetName()}: the GMAT stand-in engine ignores "
                "drag, SRP, harmonics and third bodies (point-mass Earth only)"
            )

    # --- execution ----------------------------------------------------------------------------
    def execute(self) -> None:
        """Run every command (a Target runs its block); raises RunError."""
        for cmd in self.commands:
            if not getattr(cmd, "in_branch", False):
                self.run_command(cmd)

    def run_command(self, cmd: Command) -> None:
        """Run one command (Vary and Achieve run only inside their Target); raises RunError."""
        try:
            if isinstance(cmd, Propagate):
                self._propagate(cmd)
            elif isinstance(cmd, Assignment):
                self._assign(cmd)
            elif cmd.type_name == "Maneuver":
                _solver.maneuver(self, cmd)  # type: ignore[arg-type]
            elif cmd.type_name == "Target":
                _solver.run_target(self, cmd)  # type: ignore[arg-type]
        except (_kepler.OrbitError, APIException, ValueError) as exc:
            raise RunError(
                f"{cmd.type_name} command failed on line {cmd.lineno} "
                f"({cmd.text.rstrip(';')}): {exc}"
            ) from None

    def snapshot(self) -> dict[str, tuple]:
        """Every spacecraft's epoch, state and segments (a solver pass starts from them)."""
        return {n: (s.t, s.r.copy(), s.v.copy(), list(s.segments)) for n, s in self.sats.items()}

    def restore(self, saved: dict[str, tuple]) -> None:
        """Put the spacecraft back as :meth:`snapshot` saw them."""
        for name, (t, r, v, segments) in saved.items():
            sat = self.sats[name]
            sat.t, sat.r, sat.v, sat.segments = t, r.copy(), v.copy(), list(segments)

    def frame_now(self) -> _params.Frame:
        """A one-instant frame of the current states (for an Achieve's parameter)."""
        return _params.Frame(1, lambda name: self._still(name, 1), self.objects)

    def _stop_seconds(self, cmd: Propagate, orbits: dict[str, _kepler.Orbit]) -> float:
        if not cmd.stops:  # GMAT takes one step
            return float(self.objects[cmd.prop].get_value("InitialStepSize"))
        best = math.inf
        for stop in cmd.stops:
            sat = self.sats[stop.sat]
            orbit = orbits.get(stop.sat) or _kepler.Orbit(sat.t, sat.r, sat.v)
            if stop.param in ("ElapsedSecs", "ElapsedDays"):
                value = stop.value
                if isinstance(value, str):
                    value = self.objects[value].get_value("Value")
                seconds = float(value) * (86400.0 if stop.param == "ElapsedDays" else 1.0)
                if seconds < 0:
                    raise RunError(
                        f"{stop.param} = {value:g} < 0: backwards propagation is not "
                        "supported by the stand-in"
                    )
            else:
                target = 0.0 if stop.param == "Periapsis" else math.pi
                if stop.param == "Apoapsis" and orbit.e >= 1.0:
                    raise RunError(f"{stop.sat}.Apoapsis is never reached: the orbit is open")
                seconds = orbit.time_to_anomaly(target, sat.t)
            best = min(best, seconds)
        return best

    def _propagate(self, cmd: Propagate) -> None:
        prop = self.objects[cmd.prop]
        step = float(prop.get_value("InitialStepSize"))
        for name in cmd.sats if prop.get_value("FM") else ():
            if float(self.sats[name].obj.get_value("DryMass")) <= 0.0:  # GMAT's ODEModel check
                raise RunError(
                    f"ODEModel Exception Thrown: Total spacecraft mass is less than zero for "
                    f'Spacecraft "{name}" used by Forcemodel "{prop.get_value("FM")}"'
                )
        orbits = {
            n: _kepler.Orbit(self.sats[n].t, self.sats[n].r, self.sats[n].v) for n in cmd.sats
        }
        duration = self._stop_seconds(cmd, orbits)
        count = math.floor(duration / step * (1.0 + 1e-12)) + 1
        if count > 20_000_000:
            raise RunError(f"{count} report steps: InitialStepSize is too small for the span")
        taus = step * np.arange(count, dtype=float)
        if duration - taus[-1] > 1e-9 * max(1.0, duration):
            taus = np.append(taus, duration)
        else:
            taus[-1] = duration
        states: dict[str, tuple] = {}
        for name, orbit in orbits.items():
            sat = self.sats[name]
            t = sat.t + taus
            r, v = orbit.states(t)
            states[name] = (t, r, v, sat.t_initial)
        self._publish(len(taus), states)
        for name, orbit in orbits.items():
            sat = self.sats[name]
            t, r, v, _ = states[name]
            sat.segments.append((sat.t, float(t[-1]), orbit))
            sat.t, sat.r, sat.v = float(t[-1]), r[-1].copy(), v[-1].copy()
        if self.publishing:  # GMAT logs nothing of a solver's passes
            self.log(f"{cmd.text.rstrip(';')}: {len(taus)} report steps over {duration:.16g} s")

    def _still(self, name: str, n: int) -> tuple:
        """``n`` copies of spacecraft ``name``'s current state (as a frame looks it up)."""
        sat = self.sats[name]
        return (np.full(n, sat.t), np.tile(sat.r, (n, 1)), np.tile(sat.v, (n, 1)), sat.t_initial)

    def _publish(self, n: int, states: dict[str, tuple]) -> None:
        if not self.publishing:
            return

        def lookup(name: str) -> tuple:
            return states[name] if name in states else self._still(name, n)

        frame = _params.Frame(n, lookup, self.objects)
        for obj, evaluators, report in self.reports.values():
            precision = int(obj.get_value("Precision"))
            fill = obj.get_value("ZeroFill") == "On"
            report.add([_outputs.format_values(ev(frame), precision, fill) for ev in evaluators])

    def _assign(self, cmd: Assignment) -> None:
        self._set(cmd.target, cmd.field_name, self._rhs(cmd.value))

    def set_path(self, path: str, value: Any) -> None:
        """Set ``Resource.Field`` (or a Variable) at run time, as a Vary does."""
        owner, _, field = path.partition(".")
        self._set(owner, field or "Value", value)

    def _set(self, target: str, field_name: str, value: Any) -> None:
        obj, sat = self.objects[target], self.sats.get(target)
        if sat is not None and field_name in KEPLERIAN + CARTESIAN:
            sat.obj.set_cartesian([*sat.r.tolist(), *sat.v.tolist()])
            sat.obj.set_value(field_name, value)
            cart = sat.obj.cartesian()
            sat.r, sat.v = np.array(cart[:3]), np.array(cart[3:])
        elif sat is not None and field_name == "Epoch":
            raise RunError("changing a spacecraft Epoch in the mission sequence is not supported")
        else:
            obj.set_value(field_name, value)

    def _rhs(self, tok: Token | None) -> Any:
        assert tok is not None
        if tok.kind == "ident" and isinstance(self.objects.get(tok.value), (Variable, StringVar)):
            return self.objects[tok.value].get_value("Value")
        return tok.value

    # --- outputs ------------------------------------------------------------------------------
    def write_outputs(self, report_limit: float = 1.0) -> None:
        """Write every output; ``report_limit`` < 1 writes only that fraction of report rows."""
        for obj, _, report in self.reports.values():
            if obj.get_value("WriteReport"):
                total = sum(len(chunk[0]) if chunk else 0 for chunk in report.chunks)
                limit = None if report_limit >= 1.0 else max(1, int(total * report_limit))
                report.write(self._path(obj), limit)
        if report_limit < 1.0:
            return
        for obj in self.objects.values():
            if isinstance(obj, EphemerisFile) and obj.get_value("WriteEphemeris"):
                self._write_ephemeris(obj)
            elif isinstance(obj, ContactLocator) and obj.get_value("WriteReport"):
                self._write_contacts(obj)

    def _path(self, obj: GmatObject) -> str:
        return os.path.abspath(str(obj.get_value("Filename")))

    def _write_ephemeris(self, eph: EphemerisFile) -> None:
        sat = self.sats[eph.get_value("Spacecraft")]
        if not sat.segments:
            raise RunError(f"EphemerisFile {eph.GetName()}: {sat.obj.GetName()} never propagated")
        step_text = eph.get_value("StepSize")
        if step_text == "IntegratorSteps":
            props = [o for o in self.objects.values() if isinstance(o, Propagator)]
            step = float(props[0].get_value("InitialStepSize")) if props else 60.0
        else:
            step = float(step_text)
        t_start, first, last = self._ephemeris_span(eph, sat)
        times, pos, vel = [], [], []
        for t0, t1, orbit in sat.segments:
            k0 = math.ceil((t0 - t_start) / step - 1e-9)
            grid = t_start + step * np.arange(k0, math.floor((t1 - t_start) / step + 1e-9) + 1)
            t = np.unique(np.concatenate([[t0], grid[(grid > t0) & (grid < t1)], [t1]]))
            if times and abs(t[0] - times[-1][-1]) < 5e-4:
                t = t[1:]
            # R2026a: from InitialEpoch on its grid, to FinalEpoch's last grid point
            keep = (t >= t_start - 5e-4) & (t <= last + 5e-4)
            if first is not None or last != math.inf:
                keep &= np.isin(t, grid) | ((t == t1) & (last == math.inf))
            t = t[keep]
            if not len(t):
                continue
            r, v = orbit.states(t)
            times.append(t)
            pos.append(r)
            vel.append(v)
        if not times:
            raise RunError(f"EphemerisFile {eph.GetName()}: no step between its epochs")
        _outputs.write_oem(
            self._path(eph),
            sat.obj.GetName(),
            str(sat.obj.get_value("Id")),
            np.concatenate(times),
            np.concatenate(pos),
            np.concatenate(vel),
            int(eph.get_value("InterpolationOrder")),
        )

    @staticmethod
    def _ephemeris_span(eph: EphemerisFile, sat: _Sat) -> tuple[float, float | None, float]:
        """The grid's origin, the InitialEpoch (None: the spacecraft's) and the FinalEpoch
        (inf: the spacecraft's) of an ephemeris, UTC seconds since J2000."""
        layout = str(eph.get_value("EpochFormat"))
        first_text, last_text = eph.get_value("InitialEpoch"), eph.get_value("FinalEpoch")
        first = None
        if first_text != "InitialSpacecraftEpoch":
            first = _timesys.parse_epoch(str(first_text).strip("'"), layout)
        last = math.inf
        if last_text != "FinalSpacecraftEpoch":
            last = _timesys.parse_epoch(str(last_text).strip("'"), layout)
        return (sat.segments[0][0] if first is None else first), first, last

    def _write_contacts(self, loc: ContactLocator) -> None:
        target = loc.get_value("Target")
        segments = self.sats[target].segments
        blocks = []
        for name in loc.get_value("Observers"):
            station = self.objects[name]
            assert isinstance(station, GroundStation)
            events = _outputs.contact_events(
                segments,
                station.fixed_position(),
                float(station.get_value("MinimumElevationAngle")),
                float(loc.get_value("StepSize")),
            )
            blocks.append((name, events))
        with open(self._path(loc), "w", encoding="utf-8") as fh:
            _outputs.write_contacts(fh, target, blocks)

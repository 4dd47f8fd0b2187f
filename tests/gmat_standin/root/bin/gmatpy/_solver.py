"""GMAT's DifferentialCorrector in the stand-in: run a ``Target`` block, write its ``.data``.

Like GMAT R2026a (``DifferentialCorrector``, Newton-Raphson), for a Target block with
variables ``x`` (its Vary commands) and goals (its Achieve commands):

1. each *nominal pass* restores the spacecraft to their state at the Target, sets the
   variables, runs the block and records each goal's achieved value there;
2. the targeter has converged when every ``|achieved - desired| <= tolerance``; it stops
   there, or after ``MaximumIterations`` nominal passes without converging;
3. otherwise one *perturbation pass* per variable (``x_i + Perturbation``; central and
   backward differences as ``DerivativeMethod`` says) gives the Jacobian
   ``J[i][j] = d goal_j / d x_i``, and the next variables are
   ``x + (desired - achieved) @ inverse(J)``, each step cut to ``MaxStep`` and each value
   to ``[Lower, Upper]``;
4. after the last nominal pass the block runs once more with its variables (the final
   pass), publishing report rows; solver passes publish nothing. The mission goes on
   from there (``ExitMode = SaveAndContinue``).

The solver's text file (``ReportFile``, default ``DifferentialCorrector<Name>.data``) is
written in GMAT's "Targeter Text File" format, numbers as C++ streams print them at
precision 16 (``%.16g``); the log gets GMAT's progress lines (``%.12g``) and its verdict
(``*** The Targeter converged!`` or ``!!! WARNING: Targeter did NOT converge!``). A
non-converged run still succeeds, as in GMAT.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _params
from ._resources import DifferentialCorrector, ImpulsiveBurn, Spacecraft, Variable
from ._targeter import (
    ACHIEVE_DEFAULTS,
    TARGET_DEFAULTS,
    VARY_DEFAULTS,
    AchieveCmd,
    ManeuverCmd,
    TargetCmd,
    VaryCmd,
)

if TYPE_CHECKING:
    from ._sandbox import Sandbox

RULE = "*" * 56


def check(sandbox: Sandbox, cmd: Any, where: str) -> None:
    """Reference checks of a targeting or Maneuver command at initialisation."""
    from ._sandbox import RunError

    if isinstance(cmd, ManeuverCmd):
        sandbox._get(cmd.burn, ImpulsiveBurn, f"{where}: burn")
        sandbox._get(cmd.sat, Spacecraft, f"{where}: spacecraft")
    elif isinstance(cmd, TargetCmd):
        solver = sandbox._get(cmd.solver, DifferentialCorrector, f"{where}: solver")
        if solver.get_value("Algorithm") != "NewtonRaphson":
            raise RunError(f"{where}: the stand-in's DifferentialCorrector is NewtonRaphson only")
        mode = _text(sandbox, cmd.options, "SolveMode", TARGET_DEFAULTS)
        exit_mode = _text(sandbox, cmd.options, "ExitMode", TARGET_DEFAULTS)
        if (mode, exit_mode) != ("Solve", "SaveAndContinue"):
            raise RunError(
                f"{where}: SolveMode = {mode}, ExitMode = {exit_mode} is not supported by the "
                "stand-in (only SolveMode = Solve, ExitMode = SaveAndContinue)"
            )
        varies = [c for c in cmd.body if isinstance(c, VaryCmd)]
        goals = [c for c in cmd.body if isinstance(c, AchieveCmd)]
        if not varies or not goals:
            raise RunError(f"{where}: a Target needs at least one Vary and one Achieve")
    elif isinstance(cmd, VaryCmd):
        owner, _, field = cmd.path.partition(".")
        obj = sandbox.objects.get(owner)
        if obj is None or obj.spec(field or "Value") is None:
            raise RunError(f"{where}: no field {cmd.path!r} to vary")
        scales = [_number(sandbox, cmd.options, k, VARY_DEFAULTS) for k in VARY_DEFAULTS]
        if scales[4:] != [0.0, 1.0]:
            raise RunError(f"{where}: Vary scale factors are not supported by the stand-in")
    elif isinstance(cmd, AchieveCmd):
        try:
            _params.compile_param(cmd.param, sandbox.objects)
        except ValueError as exc:
            raise RunError(f"{where}: {exc}") from None


def maneuver(sandbox: Sandbox, cmd: ManeuverCmd) -> None:
    """Apply an impulsive burn: ``Element1..3`` (km/s) along V, N, B of the spacecraft's
    velocity (VNB: V along v, N along r x v, B = V x N) or MJ2000Eq axes."""
    from ._sandbox import RunError

    burn, sat = sandbox.objects[cmd.burn], sandbox.sats[cmd.sat]
    dv = np.array([float(burn.get_value(f"Element{i}")) for i in (1, 2, 3)])
    axes = burn.get_value("Axes")
    if burn.get_value("DecrementMass"):
        raise RunError(f"ImpulsiveBurn {cmd.burn}: DecrementMass is not supported by the stand-in")
    if axes == "VNB" and burn.get_value("CoordinateSystem") == "Local":
        v_hat = sat.v / np.linalg.norm(sat.v)
        h = np.cross(sat.r, sat.v)
        n_hat = h / np.linalg.norm(h)
        dv = dv[0] * v_hat + dv[1] * n_hat + dv[2] * np.cross(v_hat, n_hat)
    elif burn.get_value("CoordinateSystem") != "EarthMJ2000Eq":
        raise RunError(
            f"ImpulsiveBurn {cmd.burn}: the stand-in supports Local VNB axes and EarthMJ2000Eq"
        )
    sat.v = sat.v + dv


def run_target(sandbox: Sandbox, cmd: TargetCmd) -> None:
    """Run ``cmd`` as GMAT's DifferentialCorrector does (module docstring)."""
    from ._sandbox import RunError

    solver = sandbox.objects[cmd.solver]
    varies = [c for c in cmd.body if isinstance(c, VaryCmd)]
    goals = [c for c in cmd.body if isinstance(c, AchieveCmd)]
    names = [v.path for v in varies]
    opts = [{k: _number(sandbox, v.options, k, VARY_DEFAULTS) for k in VARY_DEFAULTS}
            for v in varies]  # fmt: skip
    tolerance = np.array(
        [_number(sandbox, g.options, "Tolerance", ACHIEVE_DEFAULTS) for g in goals]
    )
    max_iterations = int(solver.get_value("MaximumIterations"))
    method = solver.get_value("DerivativeMethod")
    x = np.array([_initial(sandbox, v) for v in varies])
    saved = sandbox.snapshot()
    text = _Text(names, [g.param for g in goals])
    log = sandbox.log
    log(f'{RULE}\n*** Performing Differential Correction (using "{cmd.solver}")')
    log(f"*** {len(names)} variables; {len(goals)} goals")
    log(f"   Variables:  {', '.join(names)}\n   Goals:  {', '.join(g.param for g in goals)}")
    log(f"   SolverMode:  Solve\n{RULE}")

    def run_pass(values: np.ndarray, publish: bool = False) -> tuple[np.ndarray, np.ndarray]:
        sandbox.restore(saved)
        sandbox.publishing = publish
        try:
            achieved, desired = [], []
            for node in cmd.body:
                if isinstance(node, VaryCmd):
                    sandbox.set_path(node.path, float(values[varies.index(node)]))
                elif isinstance(node, AchieveCmd):
                    achieved.append(_evaluate(sandbox, node.param))
                    desired.append(_number(sandbox, {"v": node.desired}, "v", {}))
                else:
                    sandbox.run_command(node)
        finally:
            sandbox.publishing = True
        return np.array(achieved), np.array(desired)

    iteration = 0
    while True:
        iteration += 1
        achieved, desired = run_pass(x)
        text.iteration(iteration, x, desired, achieved, tolerance)
        log(f"{cmd.solver} Iteration {iteration}; Nominal Pass")
        log("   Variables:  " + ", ".join(f"{n} = {v:.12g}" for n, v in zip(names, x, strict=True)))
        log("   Goals and achieved values:")
        for goal, d, a in zip(goals, desired, achieved, strict=True):
            log(f"      {goal.param}  Desired: {d:.12g}  Achieved: {a:.12g}  "
                f"Variance: {d - a:.12g}")  # fmt: skip
        log("")
        converged = bool(np.all(np.abs(achieved - desired) <= tolerance))
        if converged or iteration >= max_iterations:
            break
        jacobian = np.empty((len(x), len(goals)))
        for i, opt in enumerate(opts):
            step = np.zeros(len(x))
            step[i] = opt["Perturbation"]
            if method == "CentralDifference":
                ahead, behind = run_pass(x + step)[0], run_pass(x - step)[0]
                jacobian[i] = (ahead - behind) / (2.0 * step[i])
            elif method == "BackwardDifference":
                jacobian[i] = (achieved - run_pass(x - step)[0]) / step[i]
            else:
                jacobian[i] = (run_pass(x + step)[0] - achieved) / step[i]
            moved = f"{names[i]} = {x[i] + step[i]:.12g}"
            log(f"   Completed iteration {iteration}, pert {i + 1} ({moved})")
        log("")
        try:
            inverse = np.linalg.inv(jacobian) if len(x) == len(goals) else np.linalg.pinv(jacobian)
        except np.linalg.LinAlgError:
            raise RunError(f"Target {cmd.solver}: the Jacobian is singular") from None
        delta = (desired - achieved) @ inverse
        for i, opt in enumerate(opts):
            delta[i] = float(np.clip(delta[i], -opt["MaxStep"], opt["MaxStep"]))
        x = np.array([np.clip(x[i] + delta[i], o["Lower"], o["Upper"]) for i, o in enumerate(opts)])
        text.update(jacobian, inverse, x)
    text.finish(iteration)
    _write(solver, text, sandbox)
    if converged:
        log(f"\n*** Targeting Completed in {iteration} iterations.\n*** The Targeter converged!")
    else:
        log(f"\nDifferential corrector {cmd.solver} has exceeded the maximum number of "
            "allowed iterations.")  # fmt: skip
        log(f"\n*** Targeting did not converge in {iteration} iterations\n{'!' * 60}")
        log(f"!!! WARNING: Targeter did NOT converge!\n{'!' * 60}")
    finals = (f"   {n} = {v:.12g}" for n, v in zip(names, x, strict=True))
    log("Final Variable values:\n" + "\n".join(finals))
    run_pass(x, publish=True)  # the final pass, with the last nominal pass's variables


class _Text:
    """The Targeter Text File, line by line."""

    def __init__(self, names: list[str], goals: list[str]) -> None:
        self.lines = [
            RULE,
            "*** Targeter Text File",
            "*** ",
            "*** Using Differential Correction",
            "***",
            f"*** {len(names)} variables",
            f"*** {len(goals)} goals",
            "***",
            "*** Variables:",
            *(f"***    {n}" for n in names),
            "***    ",
            "*** Goals:",
            *(f"***    {g}" for g in goals),
            "***    ",
            "*** SolverMode:  Solve",
            "***    ",
            RULE,
            "",
        ]
        self.names, self.goals = names, goals

    def iteration(self, k: int, x: Any, desired: Any, achieved: Any, tolerance: Any) -> None:
        self.lines += [f"Iteration {k}", "Running Nominal Pass", "Variables:"]
        self.lines += [f"   {n} = {v:.16g}" for n, v in zip(self.names, x, strict=True)] + ["   "]
        self.lines.append("Goals and achieved values:")
        for goal, d, a, t in zip(self.goals, desired, achieved, tolerance, strict=True):
            self.lines.append(f"   {goal}  Desired: {d:.16g} Achieved: {a:.16g}")
            self.lines.append(f"   Tolerance: {t:.16g}")
        self.lines += ["   ", RULE, ""]

    def update(self, jacobian: Any, inverse: Any, x: Any) -> None:
        self.lines += ["", "Jacobian (Sensitivity matrix):"]
        self.lines += ["   " + "   ".join(f"{v:.16g}" for v in row) for row in jacobian]
        self.lines += ["", "", "Inverse Jacobian:"]
        self.lines += ["   " + "   ".join(f"{v:.16g}" for v in row) for row in inverse]
        self.lines += ["", "", "New scaled variable estimates:"]
        self.lines += [f"   {n} = {v:.16g}" for n, v in zip(self.names, x, strict=True)] + ["   "]

    def finish(self, iterations: int) -> None:
        self.lines += ["", RULE, f"*** Targeting Completed in {iterations} iterations", RULE, ""]


def _write(solver: Any, text: _Text, sandbox: Sandbox) -> None:
    path = os.path.abspath(str(solver.get_value("ReportFile")))
    mode = "a" if path in sandbox.solver_files else "w"
    sandbox.solver_files.add(path)
    with open(path, mode, encoding="utf-8") as fh:
        fh.write("\n".join(text.lines) + "\n")


def _evaluate(sandbox: Sandbox, param: str) -> float:
    """The value of report parameter ``param`` now."""
    evaluator = _params.compile_param(param, sandbox.objects)
    return float(np.asarray(evaluator(sandbox.frame_now()))[0])


def _initial(sandbox: Sandbox, vary: VaryCmd) -> float:
    tok = vary.initial
    if tok.kind == "raw" and "." in tok.raw:
        owner, _, field = tok.raw.partition(".")
        return float(sandbox.objects[owner].get_value(field))
    return _number(sandbox, {"v": tok}, "v", {})


def _number(sandbox: Sandbox, options: dict, key: str, defaults: dict) -> float:
    """An option's value: a number or a Variable's value; the default when not given."""
    from ._sandbox import RunError

    tok = options.get(key)
    if tok is None:
        return float(defaults[key])
    if tok.kind == "num":
        return float(tok.value)
    obj = sandbox.objects.get(tok.value) if tok.kind == "ident" else None
    if isinstance(obj, Variable):
        return float(obj.get_value("Value"))
    raise RunError(f"{key} = {tok.raw!r} is not a number or a Variable")


def _text(sandbox: Sandbox, options: dict, key: str, defaults: dict) -> str:
    tok = options.get(key)
    return str(defaults[key]) if tok is None else str(tok.value)

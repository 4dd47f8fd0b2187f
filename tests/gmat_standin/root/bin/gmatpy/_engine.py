"""Process-global engine state of the GMAT stand-in: Setup, logging, LoadScript, RunScript.

Like real gmatpy there is one engine per process: one loaded script at a time
(``LoadScript`` replaces it) and one log file (``UseLogFile``).

Fault injection (read when ``RunScript`` starts; the script Variables win over the env):

* ``StandinDelay`` Variable / ``GMAT_STANDIN_DELAY`` env (seconds): sleep that long inside
  ``RunScript``. The Variable applies when nonzero, else the env value.
* ``StandinFault`` Variable / ``GMAT_STANDIN_FAULT`` env: 0 none; 1 a GMAT run-time error
  (``**** ERROR ****`` in the log, ``RunScript`` returns -5 like GMAT's Moderator does for
  an exception during the run); 2 an engine crash: report files get their first rows, then
  the process kills itself with SIGSEGV (exit status -11 / 139); 3 a hang: sleep until
  killed.
* ``GMAT_STANDIN_FAULT_ONCE=<dir>``: each fault code fires once per directory: the first
  run asking for fault ``k`` creates ``<dir>/fault-<k>`` and faults, later runs asking for
  it run normally (a transient fault, for tests that resume after it).
* ``GMAT_STANDIN_GATE=<path>``: ``RunScript`` waits until ``<path>`` exists before it runs
  (after the run log line, before the delay): a test keeps runs in flight for exactly as
  long as it needs, then creates the file to let them all finish. With
  ``GMAT_STANDIN_GATE_FREE=<n>`` the first ``n`` runs pass the closed gate (each claims a
  ``<path>.free-<k>`` file with O_EXCL, so exactly ``n`` pass however many engines race).
* ``GMAT_STANDIN_BOOT_DELAY`` env (seconds): ``Setup()`` takes that long, like real GMAT
  loading its plugins and data files (a cold engine start costs seconds).
* ``GMAT_STANDIN_SETUP_LOG=<path>``: each ``Setup()`` appends ``<pid>``.
* ``GMAT_STANDIN_RUN_LOG=<path>``: each ``RunScript()`` appends ``<pid> <run dir>`` where the
  run dir is the directory of the current log file (gmat-run's working directory).

``RunScript`` returns 1 on success, -2 for an initialisation error (bad references,
unsupported settings, an invalid orbit) and -5 for an error during the run; the log of a
failed run ends like GMAT's: `` *** Mission run failed.`` and the total run time.

Like the standalone gmatpy of GMAT R2026a, ``Setup`` raises RuntimeError in a process
forked after ``gmatpy`` was imported; an engine started before the fork still runs.

Like GMAT R2026a, whose Propagators copy their force model when the script is read, a run
flies each ForceModel as the script set it: a later API write reads back as written but
changes nothing in the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import TextIO

from . import _resources, _script
from ._base import GmatObject
from ._sandbox import RunError, Sandbox

VERSION_TAG = "R2026a"
_IMPORT_PID = os.getpid()
BANNER = f"GMAT stand-in engine (a test double for GMAT {VERSION_TAG}; two-body Kepler physics)"


class Engine:
    """The process-global engine (what gmatpy's Moderator and MessageInterface hold)."""

    def __init__(self) -> None:
        self.objects: dict[str, GmatObject] = _resources.default_objects()
        self._as_read: dict[str, GmatObject] = {}  # force models as the script set them
        self.commands: list[_script.Command] = []
        self.script_path: str | None = None
        self.startup: dict[str, str] = {}
        self.setup_done = False
        self.sandbox: Sandbox | None = None
        # Script text -> validated (objects, commands) template; loads clone the objects.
        self._parsed: dict[str, tuple[dict[str, GmatObject], list[_script.Command]]] = {}
        self._log_path: str | None = None
        self._log: TextIO | None = None
        self.echo = False

    # --- messages -----------------------------------------------------------------------------
    def use_log_file(self, path: str) -> None:
        """Send messages to ``path`` (truncated), closing the previous log."""
        if self._log is not None:
            self._log.close()
        self._log_path, self._log = path, open(path, "w", encoding="utf-8")  # noqa: SIM115
        self.message(f"{BANNER}\nLog file: {path}\n")

    def message(self, text: str) -> None:
        """Write one message to the log (and to stderr if echo). Like GMAT R2026a, an error
        with no log file set goes to no console."""
        line = text if text.endswith("\n") else text + "\n"
        if self._log is not None:
            self._log.write(line)
            self._log.flush()
        if self.echo:
            sys.stderr.write(line)

    # --- lifecycle ----------------------------------------------------------------------------
    def setup(self, startup_file: str | None) -> None:
        """Read the startup file (``KEY = VALUE`` lines) and note the bootstrap."""
        if os.getpid() != _IMPORT_PID:
            raise RuntimeError(
                "GMAT cannot be used after fork; use multiprocessing's spawn context"
            )
        if startup_file and os.path.isfile(startup_file):
            with open(startup_file, encoding="utf-8") as fh:
                for line in fh:
                    key, sep, value = line.partition("=")
                    if sep and not key.strip().startswith("#"):
                        self.startup[key.strip()] = value.strip()
        with contextlib.suppress(ValueError):  # like GMAT loading plugins and data files
            time.sleep(max(float(os.environ.get("GMAT_STANDIN_BOOT_DELAY") or 0), 0.0))
        self.setup_done = True
        _append(os.environ.get("GMAT_STANDIN_SETUP_LOG"), f"{os.getpid()}\n")

    def load_script(self, path: str) -> bool:
        """Parse ``path`` into fresh configured objects; False (reason logged) on failure."""
        if not self.setup_done:
            self.setup(None)
        self.objects, self.commands, self.sandbox = _resources.default_objects(), [], None
        self.script_path = None
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            self.message(f"**** ERROR **** Cannot open script file {path}: {exc}")
            return False
        template = self._parsed.get(text)
        if template is None:
            try:
                script = _script.parse(text, self.objects)
                Sandbox(script.objects, script.commands, lambda text: None)  # check references
            except (_script.ScriptError, RunError) as exc:
                self.message(f"**** ERROR **** Interpreter Exception: {path}: {exc}")
                return False
            template = (script.objects, script.commands)
            if len(self._parsed) > 64:
                self._parsed.clear()
            self._parsed[text] = template
        self.objects = {name: obj.clone() for name, obj in template[0].items()}
        self.commands, self.script_path = template[1], path
        self._as_read = {
            name: obj for name, obj in template[0].items() if isinstance(obj, _resources.ForceModel)
        }
        return True

    def run_script(self) -> int:
        """Run the loaded mission; 1 on success, negative on error (see module doc)."""
        started = time.perf_counter()
        run_dir = os.path.dirname(self._log_path) if self._log_path else os.getcwd()
        _append(os.environ.get("GMAT_STANDIN_RUN_LOG"), f"{os.getpid()} {run_dir}\n")
        if self.script_path is None:
            self.message("**** ERROR **** No script is loaded; call LoadScript first")
            return -1
        self.message(f"Running mission from {self.script_path}...")
        try:
            flown = {**self.objects, **{n: fm.clone() for n, fm in self._as_read.items()}}
            sandbox = Sandbox(flown, self.commands, self.message)
        except RunError as exc:
            self.message(f"**** ERROR **** Sandbox initialization failed: {exc}")
            return self._failed(started, -2)
        self.sandbox = sandbox
        fault, delay = self._knobs()
        _wait_at_gate(
            os.environ.get("GMAT_STANDIN_GATE"), int(os.environ.get("GMAT_STANDIN_GATE_FREE") or 0)
        )
        if delay > 0:
            time.sleep(delay)
        if fault == 3:
            self.message("StandinFault = 3: the engine hangs (until killed)")
            while True:
                time.sleep(3600)
        if fault == 1:
            self.message(
                "**** ERROR **** Propagate::Execute(): StandinFault = 1: injected GMAT "
                "run-time error (simulated integrator failure)",
            )
            return self._failed(started, -5)
        if fault not in (0, 2):
            self.message(f"**** ERROR **** unknown StandinFault code {fault}")
            return self._failed(started, -5)
        try:
            sandbox.execute()
            if fault == 2:
                sandbox.write_outputs(report_limit=0.5)
                self.message("StandinFault = 2: the engine crashes with SIGSEGV")
                _crash()
            sandbox.write_outputs()
        except (RunError, OSError) as exc:
            self.message(f"**** ERROR **** {exc}")
            return self._failed(started, -5)
        self.message("Mission run completed.")
        self.message(f"===> Total Run Time: {time.perf_counter() - started:f} seconds")
        return 1

    def _failed(self, started: float, status: int) -> int:
        """End a failed run's log as GMAT does; return ``status``."""
        self.message("\n *** Mission run failed.")
        self.message(f"===> Total Run Time: {time.perf_counter() - started:f} seconds")
        return status

    def _knobs(self) -> tuple[int, float]:
        def var(name: str) -> float:
            obj = self.objects.get(name)
            return float(obj.get_value("Value")) if isinstance(obj, _resources.Variable) else 0.0

        def env(name: str) -> float:
            try:
                return float(os.environ.get(name) or 0)
            except ValueError:
                self.message(f"Warning: ignoring {name}={os.environ[name]!r} (not a number)")
                return 0.0

        fault = round(var("StandinFault") or env("GMAT_STANDIN_FAULT"))
        delay = var("StandinDelay") or env("GMAT_STANDIN_DELAY")
        once = os.environ.get("GMAT_STANDIN_FAULT_ONCE")
        if fault and once:
            try:  # O_EXCL: exactly one run per directory gets the fault
                os.close(os.open(os.path.join(once, f"fault-{fault}"), os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                fault = 0
        return fault, max(delay, 0.0)


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def _wait_at_gate(gate: str | None, free: int) -> None:
    """Return once ``gate`` exists, at once when no gate is set or a free pass is left."""
    if not gate:
        return
    for k in range(free):
        try:
            os.close(os.open(f"{gate}.free-{k}", os.O_CREAT | os.O_EXCL))
            return
        except FileExistsError:
            continue
    while not os.path.exists(gate):
        time.sleep(0.05)


def _crash() -> None:
    """Die like a segfaulting GMAT: SIGSEGV with default action, no core file."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(5)
    os._exit(139)


ENGINE = Engine()

"""The GMAT stand-in engine for tests: a GMAT_ROOT layout with a pure-Python ``gmatpy``.

``ROOT`` is the absolute path to point ``GMAT_ROOT`` at; ``environ()`` builds an environment
for a subprocess (or a Dask worker) that uses the stand-in, with its fault-injection knobs.
The engine itself lives in ``root/bin/gmatpy`` (see its docstrings); test scripts live in
``SCRIPTS``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = [
    "FAULT_CRASH",
    "FAULT_ERROR",
    "FAULT_HANG",
    "FAULT_NONE",
    "ROOT",
    "SCRIPTS",
    "Gate",
    "environ",
]

#: Absolute path of the stand-in GMAT_ROOT.
ROOT: Path = (Path(__file__).resolve().parent / "root").resolve()
#: Test mission scripts for the stand-in.
SCRIPTS: Path = Path(__file__).resolve().parent / "scripts"

#: Values of the ``StandinFault`` script Variable (and ``GMAT_STANDIN_FAULT``).
FAULT_NONE, FAULT_ERROR, FAULT_CRASH, FAULT_HANG = 0, 1, 2, 3


def environ(
    *,
    delay: float | None = None,
    fault: int | None = None,
    setup_log: str | os.PathLike[str] | None = None,
    run_log: str | os.PathLike[str] | None = None,
    gate: str | os.PathLike[str] | None = None,
    **overrides: str,
) -> dict[str, str]:
    """A copy of ``os.environ`` with ``GMAT_ROOT`` set to the stand-in.

    ``delay`` (s) sets ``GMAT_STANDIN_DELAY``, ``fault`` sets ``GMAT_STANDIN_FAULT``,
    ``setup_log`` / ``run_log`` set ``GMAT_STANDIN_SETUP_LOG`` / ``GMAT_STANDIN_RUN_LOG``,
    ``gate`` sets ``GMAT_STANDIN_GATE`` (runs wait until that file exists);
    any other keyword is set verbatim (e.g. ``PYTHONPATH="..."``).
    """
    env = dict(os.environ)
    env["GMAT_ROOT"] = str(ROOT)
    knobs = {
        "GMAT_STANDIN_DELAY": delay,
        "GMAT_STANDIN_FAULT": fault,
        "GMAT_STANDIN_SETUP_LOG": setup_log,
        "GMAT_STANDIN_RUN_LOG": run_log,
        "GMAT_STANDIN_GATE": gate,
    }
    for key, value in knobs.items():
        if value is not None:
            env[key] = str(value)
    env.update({key: str(value) for key, value in overrides.items()})
    return env


@dataclass(frozen=True)
class Gate:
    """Stand-in runs held in flight until the test opens the gate (``GMAT_STANDIN_GATE``).

    Processes started with :meth:`env` log each run as it starts (``GMAT_STANDIN_RUN_LOG``)
    and then wait in ``RunScript`` until :meth:`open` creates the gate file: a sweep stays
    alive, with runs in progress, for exactly as long as the test needs. The first ``free``
    runs pass the closed gate (``GMAT_STANDIN_GATE_FREE``): exactly that many complete,
    the next ones are held in flight. A driver must then plan one run per task
    (:attr:`SINGLE_RUN_TASKS`; :meth:`env` sets it for a driver it starts): a batch holding
    a free run and a held one is never recorded, so how many runs are recorded would
    otherwise depend on how a loaded machine orders the engines' first runs.
    """

    SINGLE_RUN_TASKS: ClassVar[dict[str, int]] = {"gmat-sweep-dask.max-batch-runs": 1}

    directory: Path
    free: int = 0

    @property
    def file(self) -> Path:
        return self.directory / "gate"

    @property
    def run_log(self) -> Path:
        return self.directory / "runs.log"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) plus the gate and run-log knobs."""
        return {
            **(os.environ if base is None else base),
            "GMAT_STANDIN_GATE": str(self.file),
            "GMAT_STANDIN_RUN_LOG": str(self.run_log),
            "GMAT_STANDIN_GATE_FREE": str(self.free),
            "DASK_GMAT_SWEEP_DASK__MAX_BATCH_RUNS": "1",
        }

    def started(self) -> int:
        """How many runs have reached ``RunScript`` so far."""
        return len(self.run_log.read_text().splitlines()) if self.run_log.exists() else 0

    def wait_for_runs(self, count: int = 1, timeout: float = 240) -> None:
        """Return once ``count`` runs are held at the gate (or past it); else AssertionError."""
        deadline = time.monotonic() + timeout
        while self.started() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.started()} of {count} runs started in {timeout} s")
            time.sleep(0.05)

    def open(self) -> None:
        """Let every held run, and every later one, go on."""
        self.file.touch()

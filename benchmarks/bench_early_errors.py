"""How fast each refusal that needs no cluster comes, from CLI launch to exit.

    python benchmarks/bench_early_errors.py --repeats 5

Each case launches ``gmat-sweep-dask`` as a user would (a fresh process) and times it to
exit; the exit code and the first words of stderr are checked so a case that stopped
being an early refusal fails loudly instead of being timed. Cases: a directory locked by
a live driver, an unknown field, a value of the wrong type, no GMAT, a finished sweep
resumed. A ``--version`` launch is the floor (Python and click start-up alone). The
engine is the stand-in unless ``GMAT_ROOT`` names a real GMAT.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo.script"
sys.path.insert(0, str(REPO))


def launch(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return time.perf_counter() - start, done.returncode, done.stderr + done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("GMAT_ROOT", str(REPO / "tests" / "gmat_standin" / "root"))
    from gmat_sweep_dask.store.lock import SweepLock

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        finished = base / "finished"
        first = launch(
            ["run", str(SCRIPT), "--grid", "Sat.SMA=7000,7100", "--out", str(finished), "-q"], env
        )
        assert first[1] == 0, first[2]
        locked = base / "locked"
        locked.mkdir()
        run = ["run", str(SCRIPT), "--out"]
        cases = {
            "--version (floor)": (["--version"], env, 0, "version"),
            "locked directory": (
                [*run, str(locked), "--grid", "Sat.SMA=7000"],
                env,
                2,
                "gmat-sweep-dask: error:",
            ),
            "unknown field": (
                [*run, str(base / "u"), "--grid", "Sat.Nope=1"],
                env,
                2,
                "gmat-sweep-dask: error:",
            ),
            "wrong type (Sat.SMA=abc)": (
                [*run, str(base / "w"), "--grid", "Sat.SMA=abc"],
                env,
                2,
                "gmat-sweep-dask: error:",
            ),
            "no GMAT": (
                [*run, str(base / "g"), "--grid", "Sat.SMA=7000"],
                {**env, "GMAT_ROOT": str(base / "nowhere")},
                2,
                "gmat-sweep-dask: error:",
            ),
            "resume a finished sweep": (["resume", str(finished)], env, 0, "nothing to run"),
        }
        print(f"{'case':28} {'median s':>9} {'min s':>7}  (n={options.repeats})")
        with SweepLock(locked):
            for name, (args, case_env, code, needle) in cases.items():
                times = []
                for _ in range(options.repeats):
                    seconds, returncode, output = launch(args, case_env)
                    assert returncode == code and needle in output, (name, returncode, output)
                    times.append(seconds)
                print(f"{name:28} {statistics.median(times):9.2f} {min(times):7.2f}")


if __name__ == "__main__":
    main()

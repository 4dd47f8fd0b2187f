"""Design generation: n=100,000 runs × 6 perturbed fields, ours vs gmat-sweep 0.6.0.

* ``gsd mc``         ``MonteCarlo(...).block(0, n)``: every draw, vectorised;
* ``gsd mc blocks``  the same in blocks of 4,096 runs, as the sweep submits them;
* ``gsd lhs``        ``LatinHypercube(...).block(0, n)``;
* ``gs mc``          gmat-sweep's ``expand_monte_carlo_to_run_specs`` (a RunSpec per run,
  one scipy ``rvs`` call per run and field);
* ``gs lhs``         gmat-sweep's ``latin_hypercube_samples``.

    python benchmarks/bench_design.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

PERTURB = {
    "Sat.SMA": ("normal", 7100.0, 50.0),
    "Sat.ECC": ("uniform", 0.0, 0.02),
    "Sat.INC": ("normal", 28.5, 0.1),
    "Sat.RAAN": ("uniform", 0.0, 360.0),
    "Sat.AOP": ("uniform", 0.0, 360.0),
    "Sat.DryMass": ("lognormal", 6.0, 0.1),
}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.n

    from gmat_sweep.grids import expand_monte_carlo_to_run_specs, latin_hypercube_samples

    from gmat_sweep_dask.design import LatinHypercube, MonteCarlo

    with tempfile.TemporaryDirectory() as tmp:
        script = f"{tmp}/x.script"
        open(script, "w").close()
        tools = {
            "gsd mc": lambda: MonteCarlo(PERTURB, n, 42).block(0, n),
            "gsd mc blocks": lambda: [
                MonteCarlo(PERTURB, n, 42).block(a, a + 4096) for a in range(0, n, 4096)
            ],
            "gsd lhs": lambda: LatinHypercube(PERTURB, n, 42).block(0, n),
            "gs mc": lambda: expand_monte_carlo_to_run_specs(PERTURB, n, 42, script, tmp),
            "gs lhs": lambda: latin_hypercube_samples(PERTURB, n, 42),
        }
        for name in ("gsd mc", "gsd lhs"):  # warm up: imports and first-call caches
            tools[name]()
        times = {
            name: statistics.median(timed(fn) for _ in range(args.repeats))
            for name, fn in tools.items()
        }
    print(f"n={n} × {len(PERTURB)} fields, median of {args.repeats}")
    print("| design | gmat-sweep-dask (s) | gmat-sweep 0.6.0 (s) | ratio |")
    print("|---|---|---|---|")
    for label, ours, theirs in (
        ("Monte Carlo, all runs at once", "gsd mc", "gs mc"),
        ("Monte Carlo, blocks of 4,096", "gsd mc blocks", "gs mc"),
        ("Latin hypercube", "gsd lhs", "gs lhs"),
    ):
        ratio = times[theirs] / times[ours]
        print(f"| {label} | {times[ours]:.3f} | {times[theirs]:.3f} | {ratio:,.0f}× faster |")


if __name__ == "__main__":
    main()

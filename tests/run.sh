#!/usr/bin/env bash
# The test command: install the package with its test extras into .venv (if needed),
# bring up a private single-node SLURM for the `slurm` tests when possible, build (once) or
# reuse the real GMAT R2026a engine for the `real_gmat` tier, lint, and run the whole suite.
# pytest's "no tests collected" (exit 5) counts as a failure.
#
# The real engine: tests/gmat_real/build.sh compiles it from PyPI's gmatpy sdist the first
# time (about 10 minutes on 2 cores; cached under ~/.cache/gmat-sweep-dask, later calls take
# a second) and its GMAT_ROOT goes to the tier in GMAT_SWEEP_DASK_REAL_GMAT_ROOT. A machine
# that cannot build it (no root to install the Debian packages, no suitable Python) skips the
# tier and says why; a build that fails fails the tier. GMAT_SWEEP_DASK_NO_REAL_GMAT=1 skips
# the build and the tier.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [ ! -f .venv/.test-deps ] || [ pyproject.toml -nt .venv/.test-deps ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test,jobqueue,plot]'
    touch .venv/.test-deps
fi

if [ -z "${GMAT_SWEEP_DASK_NO_SLURM:-}" ] && [ -x tests/cluster/slurm-up.sh ]; then
    if up="$(tests/cluster/slurm-up.sh)"; then
        eval "$(printf '%s\n' "$up" | tail -n 1)"
    else
        echo "tests/run.sh: SLURM could not be started; slurm tests will be skipped" >&2
    fi
fi

unset GMAT_SWEEP_DASK_REAL_GMAT_ROOT GMAT_SWEEP_DASK_REAL_GMAT_SKIP GMAT_SWEEP_DASK_REAL_GMAT_ERROR
if [ -n "${GMAT_SWEEP_DASK_NO_REAL_GMAT:-}" ]; then
    export GMAT_SWEEP_DASK_REAL_GMAT_SKIP="GMAT_SWEEP_DASK_NO_REAL_GMAT is set: no real GMAT"
else
    echo "tests/run.sh: real GMAT engine: tests/gmat_real/build.sh (the first build takes ~10 min)" >&2
    build_status=0
    built="$(GMAT_REAL_PYTHON="$repo/.venv/bin/python" tests/gmat_real/build.sh)" || build_status=$?
    last="$(printf '%s\n' "$built" | tail -n 1)"
    if [ "$build_status" -eq 0 ]; then
        GMAT_SWEEP_DASK_REAL_GMAT_ROOT="$(eval "$last" && printf '%s' "$GMAT_ROOT")"
        export GMAT_SWEEP_DASK_REAL_GMAT_ROOT
    elif [ "$build_status" -eq 3 ]; then
        export GMAT_SWEEP_DASK_REAL_GMAT_SKIP="tests/gmat_real/build.sh: $last"
        echo "tests/run.sh: $last; the real_gmat tests will be skipped" >&2
    else
        export GMAT_SWEEP_DASK_REAL_GMAT_ERROR="tests/gmat_real/build.sh failed (exit $build_status; see its message above)"
        echo "tests/run.sh: the real GMAT build FAILED; the real_gmat tests will fail" >&2
    fi
fi

export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"   # derandomized: see tests/conftest.py
.venv/bin/ruff check gmat_sweep_dask tests benchmarks examples
.venv/bin/ruff format --check --quiet gmat_sweep_dask tests benchmarks examples
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "tests/run.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"

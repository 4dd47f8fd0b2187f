#!/usr/bin/env bash
# The test command: install the package with its test extras into .venv (if needed),
# bring up a private single-node SLURM for the `slurm` tests when possible, lint, and run
# the whole suite. pytest's "no tests collected" (exit 5) counts as a failure.
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

.venv/bin/ruff check gmat_sweep_dask tests benchmarks examples
.venv/bin/ruff format --check --quiet gmat_sweep_dask tests benchmarks examples
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "tests/run.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"

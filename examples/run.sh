#!/usr/bin/env bash
# The main job: install gmat-sweep-dask into .venv (if needed) and run a real sweep of the
# bundled example mission, then summarise it and analyse it lazily.
#
#   bash examples/run.sh                 # uses GMAT_ROOT if set, else the stand-in engine
#   eval "$(tests/gmat_real/build.sh | tail -n 1)"   # no GMAT? build one (once, ~10 min)
#   OUT=runs/my-sweep bash examples/run.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [ ! -x .venv/bin/gmat-sweep-dask ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
fi

if [ -n "${GMAT_ROOT:-}" ]; then
    echo "engine: real GMAT from GMAT_ROOT=$GMAT_ROOT"
else
    export GMAT_ROOT="$repo/tests/gmat_standin/root"
    echo "engine: GMAT is not installed here (GMAT_ROOT unset), so this runs on the test"
    echo "        suite's GMAT STAND-IN engine (two-body Kepler, GMAT's file formats)."
    echo "        Set GMAT_ROOT to a GMAT install to use the real engine. No GMAT yet? Build"
    echo "        one from PyPI (about 10 minutes once, cached in ~/.cache/gmat-sweep-dask):"
    echo "            eval \"\$(tests/gmat_real/build.sh | tail -n 1)\" && bash examples/run.sh"
fi

out="${OUT:-runs/example-$(date +%Y%m%d-%H%M%S)}"
status=0
.venv/bin/gmat-sweep-dask run examples/leo.script \
    --grid 'Sat.SMA=6800:7600:41' --grid 'Sat.ECC=0.0005,0.005,0.02' \
    --out "$out" || status=$?
.venv/bin/gmat-sweep-dask show "$out"
.venv/bin/python - "$out" <<'PY'
import sys
from gmat_sweep_dask import open_sweep
from gmat_sweep_dask.wording import plural

frame = open_sweep(sys.argv[1])
lowest = frame.groupby(["Sat.SMA", "Sat.ECC"])["Sat.Earth.Altitude"].min().compute()
print(f"lazy frame: {plural(frame.npartitions, 'partition')}; lowest altitude per (SMA, ECC), km:")
print(lowest.unstack().round(1).head(8).to_string())
PY
exit "$status"

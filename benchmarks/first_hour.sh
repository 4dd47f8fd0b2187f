#!/usr/bin/env bash
# A new user's first sweep, timed: git clone, the README's set-up command, then the README's
# command-line quick start prerequisites, `check` and a 100-run grid (the stand-in engine).
#
#   bash benchmarks/first_hour.sh [REPOSITORY [WORKDIR]]   # default: this checkout, a temp dir
set -euo pipefail
src="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
echo "load before: $(uptime)"
t0=$(date +%s.%N)
git clone -q "$src" gmat-sweep-dask
cd gmat-sweep-dask
echo "commit: $(git log --oneline -1)"
t1=$(date +%s.%N)
bash examples/run.sh > setup.log 2>&1
t2=$(date +%s.%N)
# shellcheck disable=SC1091
source .venv/bin/activate
export GMAT_ROOT=$PWD/tests/gmat_standin/root
grid=(--grid 'Sat.SMA=7000:8000:50' --grid 'Sat.ECC=0.001,0.01')
gmat-sweep-dask check examples/leo.script "${grid[@]}"
t3=$(date +%s.%N)
gmat-sweep-dask run examples/leo.script "${grid[@]}" --out runs/first100 --quiet
t4=$(date +%s.%N)
gmat-sweep-dask show runs/first100 | grep -E "^(status|wall):"
echo "load after: $(uptime)"
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" <<'PY'
import sys

t = [float(x) for x in sys.argv[1:]]
print(
    f"clone {t[1] - t[0]:.1f} s; set-up (bash examples/run.sh: venv, pip install -e ., its "
    f"123-run example) {t[2] - t[1]:.1f} s; check {t[3] - t[2]:.1f} s; the 100-run `run` "
    f"{t[4] - t[3]:.1f} s; clone to a finished 100-run sweep {t[4] - t[0]:.1f} s"
)
PY

#!/usr/bin/env bash
# Stop the private SLURM started by slurm-up.sh: cancel its jobs, stop its daemons.
set -uo pipefail
dir="${SLURM_TEST_DIR:-/tmp/gmat-sweep-dask-slurm}"
export SLURM_CONF="$dir/slurm.conf"
[ -f "$SLURM_CONF" ] && timeout 10 scancel --full --user="$(id -un)" 2>/dev/null
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$pidfile"
done
exit 0

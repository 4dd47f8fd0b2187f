#!/usr/bin/env bash
# Install (if needed) and start a private single-node SLURM for the `slurm` tests.
#
# Idempotent: when the instance already answers, it only re-checks it. Everything lives
# under $SLURM_TEST_DIR (default /tmp/gmat-sweep-dask-slurm): config, munge key and socket,
# state, spool, logs and pid files; /etc is left alone. The last line printed is
#   export SLURM_CONF=<path>
# so callers can `eval "$(tests/cluster/slurm-up.sh | tail -n 1)"`.
set -euo pipefail

dir="${SLURM_TEST_DIR:-/tmp/gmat-sweep-dask-slurm}"
conf="$dir/slurm.conf"
node="$(hostname -s)"
say() { echo "slurm-up: $*" >&2; }

if [ -f "$conf" ] && SLURM_CONF="$conf" timeout 5 sinfo -h -n "$node" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    say "already running ($conf)"
    echo "export SLURM_CONF=$conf"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$dir"/{state,spool,log,munge}
chown munge:munge "$dir/munge" 2>/dev/null || true
chmod 711 "$dir/munge"

# munge: a private key, socket and pid file, run as the munge user
if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
fi
chown munge:munge "$dir/munge/munge.key" && chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
if ! munge -n --socket="$socket" 2>/dev/null | unmunge --socket="$socket" >/dev/null 2>&1; then
    [ -f "$dir/munge/munged.pid" ] && kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
    runuser -u munge -- munged --socket="$socket" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed" --force
fi

mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=gsdtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

export SLURM_CONF="$conf"
for daemon in slurmctld slurmd; do
    [ -f "$dir/$daemon.pid" ] && kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
done
sleep 0.5
slurmctld -c -i -f "$conf"
slurmd -f "$conf" -N "$node"

for _ in $(seq 1 60); do
    if timeout 5 sinfo -h -n "$node" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
        say "up: node $node idle ($conf)"
        echo "export SLURM_CONF=$conf"
        exit 0
    fi
    sleep 1
done
say "SLURM did not come up within 60 s; log tails:"
tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 1

#!/usr/bin/env bash
# A one-machine Slurm (munged, slurmctld and two slurmds from Debian's slurm-wlm and munge) for
# trying the example jobs and for tests/test_slurm.py; not for production. Two nodes, both this
# machine: `hostname -s` in partition gpu and localhost in partition cpu, so that the heterogeneous
# job (impala-het.sbatch) has a node for each component: the backfill scheduler, the only one that
# starts heterogeneous jobs, plans whole nodes for a pending component, so two components never
# start on one node.
#
#   cluster/slurm/local_slurm.sh start [STATE_DIR]   # prints the SLURM_CONF to export
#   cluster/slurm/local_slurm.sh stop  [STATE_DIR]
#
# Needs root and `apt-get install slurm-wlm munge` (Debian 12: Slurm 22.05). Everything it writes is
# under STATE_DIR (default /tmp/impala-slurm) but munge's key and socket, in munge's usual places.
# Slurm's daemons listen on ports 6817-6819 of every interface: run it on a private machine.
set -euo pipefail

action=${1:?usage: $0 start|stop [STATE_DIR]}
state=${2:-/tmp/impala-slurm}
conf=$state/slurm.conf

descendants() {  # The processes under process $1, deepest first.
  local child
  for child in $(pgrep -P "$1"); do
    descendants "$child"
    echo "$child"
  done
}

stop() {
  # The jobs first: their processes (slurmstepd, the batch script, the tasks) outlive the daemons,
  # and would talk to the next start's, whose job ids begin at 1 again (a script's `scontrol
  # requeue 1` requeued a new job 1). Cancelled, then any left killed: a slurmstepd of this state
  # directory's Slurm is found by the SLURM_CONF its slurmd gave it.
  local jobs
  jobs=$(SLURM_CONF=$conf squeue -h -o %A 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    SLURM_CONF=$conf scancel --full $jobs 2>/dev/null || true
    for _ in $(seq 30); do
      [ -z "$(SLURM_CONF=$conf squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  local stepd
  for stepd in $(pgrep -x slurmstepd); do
    if tr '\0' '\n' < "/proc/$stepd/environ" 2>/dev/null | grep -Fqx "SLURM_CONF=$conf"; then
      kill -KILL $(descendants "$stepd") "$stepd" 2>/dev/null || true
    fi
  done
  # The daemons of this state directory, found by their command line (a pid file is gone if a
  # daemon was started twice); SIGTERM, then SIGKILL for any still there after 10 s.
  local pattern="^(slurmctld|slurmd) -f $conf( -N [^ ]+)?\$"
  pkill -TERM -f "$pattern" 2>/dev/null || true
  for _ in $(seq 20); do
    pgrep -f "$pattern" >/dev/null || break
    sleep 0.5
  done
  pkill -KILL -f "$pattern" 2>/dev/null || true
  rm -f "$state"/*.pid
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi
[ "$action" = start ] || { echo "usage: $0 start|stop [STATE_DIR]" >&2; exit 2; }

missing=$(for program in munged slurmctld slurmd sbatch; do
  command -v $program >/dev/null || [ -x /usr/sbin/$program ] || echo $program; done)
if [ -n "$missing" ]; then
  echo "Slurm is not installed (missing: $(echo $missing)): apt-get install slurm-wlm munge" >&2
  exit 3
fi
if [ "$(id -u)" != 0 ]; then
  echo "Starting Slurm's daemons needs root" >&2
  exit 3
fi
export PATH=$PATH:/usr/sbin

# munge: the key that authenticates Slurm's messages, and its daemon, run as its own user.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge /var/lib/munge /var/log/munge
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- munged
fi

stop
host=$(hostname -s)
rm -rf "$state/spool" "$state/ctld"  # A fresh cluster: no node state or job left from before.
mkdir -p "$state/spool/$host" "$state/spool/localhost" "$state/ctld"
# Each node claims 16 CPUs whatever the machine has (config_overrides lets slurmd accept that): the
# example job's learner and actor tasks wait on each other much of the time, and a 2-core test
# machine must still be able to run its 4 tasks. cred_expire is also how long a requeued job waits
# to start again (120 s by default); KillWait, how long a cancelled job's processes have after
# SIGTERM (30 s by default). bf_interval: the backfill scheduler every second (30 s by default).
cat > "$conf" <<EOF
ClusterName=impala
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
KillWait=5
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool/%n
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd-%n.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host CPUs=16 State=UNKNOWN Port=6818
NodeName=localhost NodeHostname=$host CPUs=16 State=UNKNOWN Port=6819
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf
slurmctld -f "$conf"
slurmd -f "$conf" -N "$host"
slurmd -f "$conf" -N localhost
for _ in $(seq 60); do
  if [ "$(sinfo --noheader -N -o %t 2>/dev/null | grep -c idle)" = 2 ]; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 1
done
echo "Slurm did not come up within 60 s; its logs: $state/slurmctld.log, $state/slurmd-*.log" >&2
exit 1

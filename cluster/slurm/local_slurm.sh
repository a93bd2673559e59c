#!/usr/bin/env bash
# A one-machine Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm and munge) for trying the
# example job and for tests/test_slurm.py; not for production.
#
#   cluster/slurm/local_slurm.sh start [STATE_DIR]   # prints the SLURM_CONF to export
#   cluster/slurm/local_slurm.sh stop  [STATE_DIR]
#
# Needs root and `apt-get install slurm-wlm munge` (Debian 12: Slurm 22.05). Everything it writes is
# under STATE_DIR (default /tmp/impala-slurm) but munge's key and socket, in munge's usual places.
# Slurm's daemons listen on ports 6817 and 6818 of every interface: run it on a private machine.
set -euo pipefail

action=${1:?usage: $0 start|stop [STATE_DIR]}
state=${2:-/tmp/impala-slurm}
conf=$state/slurm.conf

stop() {
  # The daemons of this state directory, found by their command line (a pid file is gone if a
  # daemon was started twice); SIGTERM, then SIGKILL for any still there after 10 s.
  local pattern="^(slurmctld|slurmd) -f $conf\$"
  pkill -TERM -f "$pattern" 2>/dev/null || true
  for _ in $(seq 20); do
    pgrep -f "$pattern" >/dev/null || break
    sleep 0.5
  done
  pkill -KILL -f "$pattern" 2>/dev/null || true
  rm -f "$state/slurmctld.pid" "$state/slurmd.pid"
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
rm -rf "$state/spool" "$state/ctld"  # A fresh cluster: no node state or job left from before.
mkdir -p "$state/spool" "$state/ctld"
host=$(hostname -s)
# The node claims 16 CPUs whatever it has (config_overrides lets slurmd accept that): the example
# job's learner and actor tasks wait on each other much of the time, and a 2-core test machine
# must still be able to run its 4 tasks.
cat > "$conf" <<EOF
ClusterName=impala
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host CPUs=16 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 60); do
  if sinfo --noheader -o %t 2>/dev/null | grep -q idle; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 1
done
echo "Slurm did not come up within 60 s; its logs: $state/slurmctld.log, $state/slurmd.log" >&2
exit 1

#!/usr/bin/env bash
# A single-node Slurm cluster on this machine (this host is controller and compute
# node), for the Slurm launcher's tests: `cluster.sh install` installs Debian's
# slurm-wlm and munge when missing; `cluster.sh start` does that too and starts
# munged, slurmctld and slurmd; `cluster.sh stop` shuts them down. Needs root. State lives in its own folder
# (/var/lib/l2softmax-slurm), so it never meets another cluster's state.
# See /work/shared/notes/slurm.md for the steps and pitfalls.
set -euo pipefail
STATE=/var/lib/l2softmax-slurm
CONF=/etc/slurm/slurm.conf
CLUSTER=l2softmax-test

need_root() {
  if [ "$(id -u)" != 0 ]; then echo "slurm-cluster: needs root (it installs packages and starts daemons)" >&2; exit 3; fi
}

install() {
  command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v munged >/dev/null && return
  echo "slurm-cluster: installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  [ -f /etc/munge/munge.key ] || mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown -R munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge
  chmod 0700 /etc/munge
  su -s /bin/sh munge -c /usr/sbin/munged
  munge -n | unmunge >/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname -s); cpus=$(nproc); mem=$(( $(free -m | awk '/Mem:/{print $2}') - 1024 ))
  mkdir -p "$STATE/ctld" "$STATE/d" /var/log/slurm /etc/slurm
  cat > "$CONF" <<CONF
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
# No accounting database: ended jobs stay known to scontrol for an hour.
MinJobAge=3600
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  need_root
  install
  start_munge
  if scontrol ping 2>/dev/null | grep -q UP && sinfo -h -o %t 2>/dev/null | grep -q -E 'idle|mix|alloc'; then
    echo "slurm-cluster: already up"; return
  fi
  write_conf
  slurmctld
  for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  slurmd
  for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q -E '^(idle|mix|alloc)' && break; sleep 0.2; done
  sinfo -h -o %t | grep -q -E '^(idle|mix|alloc)' || { echo "slurm-cluster: the node did not come up:" >&2; sinfo >&2; exit 1; }
  echo "slurm-cluster: up ($(sinfo -h -o '%P %D %t'))"
}

stop() {
  need_root
  scontrol shutdown 2>/dev/null || true
  for _ in $(seq 50); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.2; done
  if [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
  echo "slurm-cluster: stopped"
}

case "${1:-}" in
  install) need_root; install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac

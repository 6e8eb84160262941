#!/usr/bin/env bash
# slurm-local.sh — a throw-away, one-node Slurm cluster on this machine.
#
# What it is for: the project's Slurm integration test, and trying
# `actsweep slurm` (job arrays of `actsweep run --shard I/N`, then a dependent
# `actsweep collect`) locally without a real cluster. It targets Debian
# (bookworm ships Slurm 22.05) run as root with no systemd: the daemons are
# started by hand, not as services.
#
# Usage:
#   scripts/slurm-local.sh install            # apt-get the packages (idempotent)
#   scripts/slurm-local.sh start [STATE_DIR]  # (re)start the cluster, wait for it
#   scripts/slurm-local.sh status [STATE_DIR] # daemons, sinfo, squeue; exit 1 if down
#   scripts/slurm-local.sh stop [STATE_DIR]   # cancel its jobs, stop its daemons
#
#   eval "$(scripts/slurm-local.sh start)"    # sets SLURM_CONF in this shell
#
# `start` waits (SLURM_LOCAL_TIMEOUT, default 60 s) for `sinfo` to report the
# node idle. On failure it prints the tails of the munged, slurmctld and
# slurmd logs and `sinfo -R`, stops what it started and exits 1.
#
# STATE_DIR defaults to /tmp/actsweep-slurm (or $ACTSWEEP_SLURM_DIR). Every
# file the cluster writes lives under it: slurm.conf, env, ctld-state/
# (StateSaveLocation), slurmd-spool/, log/ (slurmctld.log, slurmd.log,
# jobcomp.log), run/ (pid files) and munge/ (a private munged's socket, pid,
# log and seed). Only /etc/munge/munge.key is outside; it is created if
# missing and never changed otherwise.
#
# Client commands (sbatch, squeue, sinfo, scancel, scontrol) must find this
# cluster's config: `start` prints `export SLURM_CONF=STATE_DIR/slurm.conf` as
# the only line on stdout (everything else goes to stderr) and writes the same
# line to STATE_DIR/env.
#
# `start` always begins by stopping whatever an earlier `start` with the same
# STATE_DIR left running (it does not reuse it: a restart takes seconds and
# always applies the current config), and slurmctld starts with -c (no saved
# jobs are recovered), so every start is a fresh, predictable cluster. Job ids
# still keep counting up across starts with the same STATE_DIR, so output
# files named after %j/%A do not collide. The previous start's logs are kept
# as *.log.prev.
#
# `stop` cancels all of the cluster's jobs (they are only ever test jobs),
# then stops slurmd, slurmctld and munged by the pid files under STATE_DIR
# (SIGTERM to all three at once, then SIGKILL after 15 s; a pid whose process
# is not that daemon any more is ignored). It removes no files, so logs stay for
# inspection, and does nothing when nothing is running.
#
# Settings chosen, and why:
#   SlurmctldHost=<short host>(127.0.0.1), NodeAddr=127.0.0.1
#       Daemons talk over loopback; nothing depends on the host name resolving.
#       Node and controller names are `uname -n` cut at the first dot, which
#       is what slurmctld and slurmd compare themselves with.
#   ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
#   JobAcctGatherType=jobacct_gather/none
#       No cgroup plugin: containers, VMs and hybrid cgroup v1/v2 mounts
#       without systemd make cgroup plugins fail; a test needs no confinement.
#   SelectType=select/cons_tres, SelectTypeParameters=CR_Core
#       Cores are the consumable; array tasks share the node, one per core
#       (or per --cpus-per-task). Memory is not consumable, so --mem requests
#       are only checked against RealMemory (90% of MemTotal, so slurmd, which
#       measures the real memory, never drains the node for "low memory").
#   CPUs=<nproc>, plus Boards/SocketsPerBoard/CoresPerSocket/ThreadsPerCore
#       from `slurmd -C` when it counts the same CPUs: what the node really
#       has (a larger value would get it drained), and with the layout given
#       slurmctld does not guess one socket per CPU. On a machine with
#       hyper-threads CR_Core gives each job whole cores (2 CPUs).
#   AccountingStorageType=accounting_storage/none
#       No slurmdbd/database; sacct therefore does not work. Finished jobs stay
#       visible to `scontrol show job` for MinJobAge (300 s), and each one's end
#       state and exit code is appended to STATE_DIR/log/jobcomp.log
#       (JobCompType=jobcomp/filetxt) for tests to read.
#   SlurmUser=root, SlurmdUser=root
#       The script runs as root; no slurm user or directory ownership needed.
#   AuthType=auth/munge with AuthInfo=socket=STATE_DIR/munge/munge.socket
#       A private munged (run as the munge user, with the system key) serves
#       only this cluster, so `stop` can stop it without disturbing any other
#       munge user, and no /run/munge or init script is needed.
#   ReturnToService=2
#       A node that was DOWN (e.g. slurmd restarted) comes back as soon as it
#       registers with a valid configuration.
#   SchedulerParameters=batch_sched_delay=0
#       Pending jobs start within about a second of resources (or a
#       dependency) freeing up instead of about three, which shortens tests.
#   MpiDefault=none, SwitchType=switch/none, KillWait=5, MailProg=/bin/true
#       Plain serial jobs; quick cancels; no "MailProg is invalid" error where
#       no mail program is installed.
#   Ports 6817 (slurmctld) and 6818 (slurmd), the defaults; override with
#       SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_SLURMD_PORT. `start` fails with a
#       clear message when one is already taken by another program.

set -euo pipefail

PROG=${0##*/}
DEFAULT_STATE_DIR=${ACTSWEEP_SLURM_DIR:-/tmp/actsweep-slurm}
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-6818}
START_TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
MUNGE_KEY=/etc/munge/munge.key
PACKAGES=(slurmctld slurmd slurm-client munge)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    cat >&2 <<EOF
usage: $PROG install
       $PROG start [STATE_DIR]
       $PROG status [STATE_DIR]
       $PROG stop [STATE_DIR]
STATE_DIR defaults to $DEFAULT_STATE_DIR.
EOF
    exit 2
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (uid 0); this is uid $(id -u). Try: sudo $0 $*"
}

# Finds a program in PATH or in the sbin directories (root's PATH may lack them).
find_prog() {
    local name=$1 dir
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return 0
    fi
    for dir in /usr/sbin /sbin /usr/local/sbin /usr/bin /usr/local/bin; do
        if [[ -x $dir/$name ]]; then
            printf '%s\n' "$dir/$name"
            return 0
        fi
    done
    return 1
}

have_all() {
    local p
    for p in sbatch slurmctld slurmd munged; do
        find_prog "$p" >/dev/null || return 1
    done
}

cmd_install() {
    require_root install
    if have_all; then
        log "already installed: $(find_prog slurmctld) ($("$(find_prog slurmctld)" -V 2>/dev/null || echo '?'))"
        return 0
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}")
    log "installing ${PACKAGES[*]}"
    if ! "${apt[@]}" >&2; then
        log "install failed; running apt-get update and trying again"
        env DEBIAN_FRONTEND=noninteractive apt-get update >&2 || die "apt-get update failed"
        "${apt[@]}" >&2 || die "apt-get install ${PACKAGES[*]} failed"
    fi
    have_all || die "installed ${PACKAGES[*]} but sbatch/slurmctld/slurmd/munged are still missing"
    log "installed: $("$(find_prog slurmctld)" -V 2>/dev/null || echo slurm)"
}

# Sets the globals derived from STATE_DIR.
set_paths() {
    local dir=${1:-$DEFAULT_STATE_DIR}
    [[ -n $dir ]] || die "empty STATE_DIR"
    [[ $dir == /* ]] || dir=$PWD/$dir
    # slurm.conf has no quoting for paths.
    [[ $dir != *[[:space:]#=]* ]] || die "STATE_DIR must not contain whitespace, '#' or '=': $dir"
    dir=${dir%/}
    STATE_DIR=$dir
    CONF=$STATE_DIR/slurm.conf
    RUN_DIR=$STATE_DIR/run
    LOG_DIR=$STATE_DIR/log
    MUNGE_DIR=$STATE_DIR/munge
    MUNGE_SOCKET=$MUNGE_DIR/munge.socket
    CTLD_PID=$RUN_DIR/slurmctld.pid
    SLURMD_PID=$RUN_DIR/slurmd.pid
    MUNGED_PID=$MUNGE_DIR/munged.pid
}

# Prints the pid recorded in $2 when that process is alive and is $1.
live_pid() {
    local name=$1 pidfile=$2 pid comm
    [[ -r $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    comm=$(<"/proc/$pid/comm")
    [[ $comm == "$name" ]] || return 1
    printf '%s\n' "$pid"
}

# Stops the daemons named as NAME=PIDFILE arguments together: SIGTERM to
# each that is alive, a wait of up to 15 s, then SIGKILL to any left.
stop_daemons() {
    local arg name pidfile pid i alive
    local -a pids=() names=()
    for arg in "$@"; do
        name=${arg%%=*}
        pidfile=${arg#*=}
        if pid=$(live_pid "$name" "$pidfile"); then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        fi
    done
    for ((i = 0; i < 150; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            [[ -d /proc/$pid ]] && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        if [[ -d /proc/${pids[i]} ]]; then
            log "${names[i]} (pid ${pids[i]}) ignored SIGTERM for 15 s; sending SIGKILL"
            kill -KILL "${pids[i]}" 2>/dev/null || true
        fi
    done
    for arg in "$@"; do
        rm -f "${arg#*=}"
    done
}

# Cancels every job of the cluster (while slurmctld answers) and waits for
# them to leave the queue, so no slurmstepd outlives the daemons.
cancel_jobs() {
    local jobs i
    live_pid slurmctld "$CTLD_PID" >/dev/null || return 0
    jobs=$(SLURM_CONF=$CONF timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || return 0
    [[ -n ${jobs// /} ]] || return 0
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086  # word splitting of the id list is intended
    SLURM_CONF=$CONF timeout 10 scancel $jobs 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        jobs=$(SLURM_CONF=$CONF timeout 10 squeue -h -o %A 2>/dev/null) || return 0
        [[ -z $jobs ]] && return 0
        sleep 0.5
    done
    log "warning: jobs still in the queue after cancelling: ${jobs//$'\n'/ }"
}

cmd_stop() {
    require_root stop
    set_paths "${1:-}"
    if [[ ! -d $STATE_DIR ]]; then
        log "nothing to stop: $STATE_DIR does not exist"
        return 0
    fi
    cancel_jobs
    stop_daemons slurmd="$SLURMD_PID" slurmctld="$CTLD_PID" munged="$MUNGED_PID"
    log "stopped the cluster in $STATE_DIR"
}

# True when something listens on TCP port $1 (IPv4 or IPv6).
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    # Field 2 is local addr:port, field 4 the state (0A = LISTEN).
    awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

write_conf() {
    local host=$1 node_hw=$2 mem=$3
    cat >"$CONF.tmp" <<EOF
# Written by $PROG start; rewritten on every start. See the script's header.
ClusterName=actsweep
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE_DIR/ctld-state
SlurmdSpoolDir=$STATE_DIR/slurmd-spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
MpiDefault=none
SwitchType=switch/none
LaunchType=launch/slurm
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
TmpFS=/tmp
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 $node_hw RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mv -f "$CONF.tmp" "$CONF"
}

# Prints the node's CPUs= (and, when `slurmd -C` agrees with nproc, its
# socket/core/thread layout, so that slurmctld need not guess it).
node_topology() {
    local slurmd=$1 cpus=$2 line field out=
    line=$("$slurmd" -C 2>/dev/null | head -n 1) || line=
    if [[ " $line " == *" CPUs=$cpus "* ]]; then
        for field in $line; do
            case $field in
                CPUs=* | Boards=* | SocketsPerBoard=* | CoresPerSocket=* | ThreadsPerCore=*)
                    out+=${out:+ }$field ;;
            esac
        done
        printf '%s\n' "$out"
    else
        printf 'CPUs=%s\n' "$cpus"
    fi
}

ensure_munge_key() {
    if [[ -s $MUNGE_KEY ]]; then
        return 0
    fi
    log "creating $MUNGE_KEY"
    install -d -o munge -g munge -m 0700 "${MUNGE_KEY%/*}"
    if command -v mungekey >/dev/null 2>&1 || [[ -x /usr/sbin/mungekey ]]; then
        "$(find_prog mungekey)" --create --keyfile="$MUNGE_KEY" --force >&2
    else
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
}

start_munged() {
    local munged i
    munged=$(find_prog munged) || die "munged not found; run: $0 install"
    ensure_munge_key
    install -d -o munge -g munge -m 0755 "$MUNGE_DIR"
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    log "starting munged (socket $MUNGE_SOCKET)"
    runuser -u munge -- "$munged" \
        --socket="$MUNGE_SOCKET" \
        --key-file="$MUNGE_KEY" \
        --pid-file="$MUNGED_PID" \
        --log-file="$MUNGE_DIR/munged.log" \
        --seed-file="$MUNGE_DIR/munged.seed" \
        || fail "munged did not start"
    for ((i = 0; i < 50; i++)); do
        if munge -S "$MUNGE_SOCKET" -n 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    fail "munged does not answer on $MUNGE_SOCKET"
}

show_logs() {
    local f
    for f in "$MUNGE_DIR/munged.log" "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log"; do
        [[ -f $f ]] || continue
        printf '==> %s (last 30 lines) <==\n' "$f" >&2
        tail -n 30 "$f" >&2 || true
    done
    if live_pid slurmctld "$CTLD_PID" >/dev/null; then
        printf '==> sinfo -R <==\n' >&2
        SLURM_CONF=$CONF timeout 10 sinfo -R >&2 || true
    fi
}

fail() {
    log "error: $*"
    show_logs
    log "stopping the daemons that did start; their logs stay in $LOG_DIR and $MUNGE_DIR"
    cmd_stop "$STATE_DIR" || true
    exit 1
}

cmd_start() {
    require_root start
    set_paths "${1:-}"
    have_all || die "Slurm is not installed; run: $0 install"
    local host cpus node_hw mem_kb mem state i t0 slurmctld slurmd
    t0=$SECONDS
    slurmctld=$(find_prog slurmctld)
    slurmd=$(find_prog slurmd)

    cmd_stop "$STATE_DIR"
    for i in "$CTLD_PORT" "$SLURMD_PORT"; do
        if port_in_use "$i"; then
            die "TCP port $i is already in use (another slurmctld/slurmd?); stop it or set SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_SLURMD_PORT"
        fi
    done

    host=$(uname -n)
    host=${host%%.*}
    cpus=$(nproc)
    node_hw=$(node_topology "$slurmd" "$cpus")
    mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
    mem=$((mem_kb * 9 / 10240))
    ((mem >= 1)) || mem=1

    install -d -m 0755 "$STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$STATE_DIR/ctld-state" "$STATE_DIR/slurmd-spool"
    # Each start gets fresh logs (so tests can read jobcomp.log); keep one old set.
    for i in "$LOG_DIR"/*.log "$MUNGE_DIR/munged.log"; do
        if [[ -f $i ]]; then mv -f "$i" "$i.prev"; fi
    done
    write_conf "$host" "$node_hw" "$mem"
    printf 'export SLURM_CONF=%s\n' "$CONF" >"$STATE_DIR/env"
    export SLURM_CONF=$CONF

    start_munged

    log "starting slurmctld (host $host, port $CTLD_PORT)"
    "$slurmctld" -c -f "$CONF" >&2 || fail "slurmctld did not start"
    for ((i = 0; ; i++)); do
        state=$(timeout 10 scontrol ping 2>/dev/null) || state=
        [[ $state == *"is UP"* ]] && break
        ((i < 10 * START_TIMEOUT)) || fail "slurmctld does not answer after ${START_TIMEOUT}s"
        live_pid slurmctld "$CTLD_PID" >/dev/null || ((i < 20)) || fail "slurmctld exited"
        sleep 0.1
    done

    log "starting slurmd (node $host: $node_hw RealMemory=$mem; port $SLURMD_PORT)"
    "$slurmd" -c -f "$CONF" -N "$host" >&2 || fail "slurmd did not start"
    state=
    for ((i = 0; ; i++)); do
        state=$(timeout 10 sinfo -h -o %T 2>/dev/null | head -n 1) || state=
        [[ $state == idle ]] && break
        ((i < 5 * START_TIMEOUT)) || fail "node is '${state:-?}', not idle, after ${START_TIMEOUT}s"
        sleep 0.2
    done
    log "cluster up in $((SECONDS - t0))s: node $host idle, partition debug; state in $STATE_DIR"
    printf 'export SLURM_CONF=%s\n' "$CONF"
}

cmd_status() {
    set_paths "${1:-}"
    local name pidfile pid
    for name in munged slurmctld slurmd; do
        case $name in
            munged) pidfile=$MUNGED_PID ;;
            slurmctld) pidfile=$CTLD_PID ;;
            slurmd) pidfile=$SLURMD_PID ;;
        esac
        if pid=$(live_pid "$name" "$pidfile"); then
            printf '%-10s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-10s not running\n' "$name"
        fi
    done
    if live_pid slurmctld "$CTLD_PID" >/dev/null; then
        SLURM_CONF=$CONF timeout 10 sinfo || true
        SLURM_CONF=$CONF timeout 10 squeue || true
        printf 'export SLURM_CONF=%s\n' "$CONF"
    else
        return 1
    fi
}

main() {
    (($# >= 1)) || usage
    local cmd=$1
    shift
    case $cmd in
        install) (($# == 0)) || usage; cmd_install ;;
        start) (($# <= 1)) || usage; cmd_start "$@" ;;
        stop) (($# <= 1)) || usage; cmd_stop "$@" ;;
        status) (($# <= 1)) || usage; cmd_status "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"

# Guest-side control of the NFS servers under test (sourced by guest jobs).
#
#   srv_start NAME DIR    export DIR (read-write, no root squash; sluice: read-only) and
#                         start server NAME
#   srv_start NAME        with SRV_EXPORTS set: serve several exports, all read-write, one
#                         line "DIR ID SQUASH" each (SQUASH: none | root | all; squashed
#                         callers become uid/gid 65534); used by guest-rw.sh
#   srv_stop NAME         stop it and free port 2049
#   srv_kill9 NAME        kill it without warning (SIGKILL) and wait until 2049 is free; knfsd
#                         has no process to kill: its threads are stopped (`rpc.nfsd 0`), which
#                         drops every client's state just as a crash does
#   srv_restart NAME      start it again after srv_kill9, with the same configuration; no wait
#                         for the grace period (the clients must cope with it)
#
# Every server shows DIR to NFSv4 clients at the same path, so a client mounts 127.0.0.1:DIR.
# NAME is one of: knfsd (the kernel server, `sync` export), ganesha (NFS-Ganesha, FSAL_VFS),
# sluice (the sluiced binary carried in the job as /job/sluiced).
# Grace periods are cut short (10 s for knfsd, Graceless for Ganesha) so that tests do not
# wait 90 s for the first OPEN; idmapping is numeric on every server, as knfsd does by default.

SRV_LOG_DIR=${SRV_LOG_DIR:-/job/out}

_wait_port() { # wait until something listens on TCP 2049
    local i
    for i in $(seq 1 100); do
        ss -Htln 'sport = :2049' | grep -q . && return 0
        sleep 0.2
    done
    echo "servers: nothing listens on 2049" >&2
    return 1
}

_wait_port_free() {
    local i
    for i in $(seq 1 100); do
        ss -Htln 'sport = :2049' | grep -q . || return 0
        sleep 0.2
    done
    echo "servers: 2049 still busy" >&2
    return 1
}

_ensure_rpcbind() {
    pgrep -x rpcbind >/dev/null || rpcbind -w
}

# _spawn NAME LOG CMD...: start CMD in the background, its output appended to LOG. Its pid goes
# to /run/srv-NAME.pid and, when it ends, its exit status to /run/srv-NAME.rc, written by a small
# watcher shell. The status thus reaches srv_stop whichever shell started the server: after
# srv_kill9 and srv_restart run from a hook of rw-battery.sh (a separate bash), the server is no
# child of the job's shell, and `wait` there could not collect it.
_spawn() {
    local name=$1 log=$2 i
    shift 2
    rm -f "/run/srv-$name.pid" "/run/srv-$name.rc"
    (
        "$@" >> "$log" 2>&1 < /dev/null &
        echo $! > "/run/srv-$name.pid.new"
        mv "/run/srv-$name.pid.new" "/run/srv-$name.pid"
        wait $!
        echo $? > "/run/srv-$name.rc.new"
        mv "/run/srv-$name.rc.new" "/run/srv-$name.rc"
    ) > /dev/null 2>&1 &
    for i in $(seq 1 100); do
        [ -s "/run/srv-$name.pid" ] && return 0
        sleep 0.05
    done
    echo "servers: $name did not start" >&2
    return 1
}

# _wait_gone NAME: wait (up to 10 s) until the watcher of _spawn has recorded the exit status;
# prints it (255 when it never came).
_wait_gone() {
    local i
    for i in $(seq 1 100); do
        [ -f "/run/srv-$1.rc" ] && { cat "/run/srv-$1.rc"; return 0; }
        sleep 0.1
    done
    echo 255
}

# _exports DIR: the export list, "DIR ID SQUASH" per line: $SRV_EXPORTS, or the single export
# of the old two-argument call (id 1, no squash).
_exports() {
    if [ -n "${SRV_EXPORTS:-}" ]; then
        printf '%s\n' "$SRV_EXPORTS" | grep -vE '^[[:space:]]*(#|$)'
    else
        echo "$1 1 none"
    fi
}

_knfsd_start() {
    rpc.nfsd -N 3 8
    _wait_port
}

_ganesha_start() {
    mkdir -p /run/ganesha /var/lib/nfs/ganesha
    _spawn ganesha "$SRV_LOG_DIR/ganesha.out" \
        ganesha.nfsd -F -f /etc/ganesha/sluice-test.conf -L "$SRV_LOG_DIR/ganesha.log" \
        -p /run/ganesha/ganesha.pid || return 1
    _wait_port
}

_sluice_start() {
    [ -x /job/sluiced ] || { echo "servers: no /job/sluiced in this job" >&2; return 1; }
    _spawn sluice "$SRV_LOG_DIR/sluiced.log" /job/sluiced -c /run/sluice-test.conf || return 1
    _wait_port
}

srv_start() {
    local name=$1 dir=${2:-} d id sq access
    if [ -z "${SRV_EXPORTS:-}" ] && [ -z "$dir" ]; then
        echo "servers: srv_start $name: no DIR and no SRV_EXPORTS" >&2; return 1
    fi
    case "$name" in
    knfsd)
        _ensure_rpcbind
        mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
        # Lease and grace must be set before the threads start.
        echo 10 > /proc/fs/nfsd/nfsv4leasetime
        echo 10 > /proc/fs/nfsd/nfsv4gracetime
        _exports "$dir" | while read -r d id sq; do
            case "$sq" in
            none) sq=no_root_squash ;;
            root) sq=root_squash,anonuid=65534,anongid=65534 ;;
            all)  sq=all_squash,anonuid=65534,anongid=65534 ;;
            *) echo "servers: bad squash '$sq' for $d" >&2; sq=BAD ;;
            esac
            echo "$d 127.0.0.1(rw,sync,no_subtree_check,$sq,insecure,fsid=$id)"
        done > /etc/exports
        grep -q BAD /etc/exports && return 1
        exportfs -ra
        rpc.mountd -F -N 3 -p 20048 > "$SRV_LOG_DIR/mountd.log" 2>&1 &
        echo $! > /run/srv-mountd.pid
        _knfsd_start || return 1
        # Wait out the (shortened) grace period so the first OPEN is not delayed by retries.
        sleep 11
        ;;
    ganesha)
        _ensure_rpcbind
        {
            cat <<EOF
NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; Enable_RQUOTA = false; }
NFSV4 { Graceless = true; Lease_Lifetime = 10; Only_Numeric_Owners = true; Allow_Numeric_Owners = true; Minor_Versions = 0, 1, 2; }
LOG { Default_Log_Level = EVENT; }
EOF
            _exports "$dir" | while read -r d id sq; do
                case "$sq" in
                none) sq=No_Root_Squash ;;
                root) sq=Root_Squash ;;
                all)  sq=All_Squash ;;
                *) echo "servers: bad squash '$sq' for $d" >&2; sq=BAD ;;
                esac
                cat <<EOF
EXPORT {
    Export_Id = $id; Path = "$d"; Pseudo = "$d";
    Access_Type = RW; Squash = $sq; Anonymous_Uid = 65534; Anonymous_Gid = 65534;
    SecType = sys; Protocols = 4; Transports = TCP;
    FSAL { Name = VFS; }
}
EOF
            done
        } > /etc/ganesha/sluice-test.conf
        grep -q BAD /etc/ganesha/sluice-test.conf && return 1
        : > "$SRV_LOG_DIR/ganesha.out"
        _ganesha_start
        ;;
    sluice)
        # Each export sits at the same path in the pseudo fs as on disk, so the client mounts
        # 127.0.0.1:DIR as with knfsd and Ganesha. The old two-argument call (guest-e2e.sh)
        # keeps its export read-only on purpose: the read battery must not need write support.
        access=rw
        [ -z "${SRV_EXPORTS:-}" ] && access=ro
        {
            cat <<EOF
lease_time = 15
grace_time = 15
state_dir = /run/sluice-state
log_level = ${SLUICE_LOG_LEVEL:-info}
EOF
            _exports "$dir" | while read -r d id sq; do
                case "$sq" in none|root|all) ;; *) echo "servers: bad squash '$sq' for $d" >&2; sq=BAD ;; esac
                echo "export $d {"
                echo "    id = $id"
                echo "    pseudo = $d"
                echo "    access = $access"
                echo "    squash = $sq"
                if [ "$sq" != none ]; then
                    echo "    anonuid = 65534"
                    echo "    anongid = 65534"
                fi
                echo "}"
            done
        } > /run/sluice-test.conf
        grep -q BAD /run/sluice-test.conf && return 1
        : > "$SRV_LOG_DIR/sluiced.log"
        # A new server starts without client records (the previous test's clients would
        # start a grace period); srv_restart keeps them, so that its clients reclaim.
        rm -rf /run/sluice-state
        _sluice_start
        ;;
    *) echo "servers: unknown server $name" >&2; return 1 ;;
    esac
}

srv_kill9() {
    local name=$1 pid
    case "$name" in
    knfsd)
        # No process to kill: stopping every thread drops all NFSv4 state (clients, opens,
        # the write verifier), as a crash would; the export table and mountd stay.
        rpc.nfsd 0
        ;;
    ganesha|sluice)
        pid=$(cat "/run/srv-$name.pid") || return 1
        kill -KILL "$pid" || return 1
        _wait_gone "$name" > /dev/null
        ;;
    *) echo "servers: unknown server $name" >&2; return 1 ;;
    esac
    _wait_port_free
}

srv_restart() {
    case "$1" in
    knfsd) _knfsd_start ;;
    ganesha) _ganesha_start ;;
    sluice) _sluice_start ;;
    *) echo "servers: unknown server $1" >&2; return 1 ;;
    esac
}

srv_stop() {
    local name=$1
    case "$name" in
    knfsd)
        rpc.nfsd 0
        exportfs -ua
        kill -TERM "$(cat /run/srv-mountd.pid)" 2>/dev/null
        wait "$(cat /run/srv-mountd.pid)" 2>/dev/null
        rm -f /run/srv-mountd.pid
        ;;
    ganesha|sluice)
        local pid rc=0
        pid=$(cat "/run/srv-$name.pid")
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
        # The exit status, from the watcher of _spawn (137 after the SIGKILL above).
        rc=$(_wait_gone "$name")
        rm -f "/run/srv-$name.pid" "/run/srv-$name.rc"
        _wait_port_free
        # sluice must stop cleanly on SIGTERM, and a sanitizer build must have said nothing.
        if [ "$name" = sluice ]; then
            local log="$SRV_LOG_DIR/sluiced.log"
            if [ $rc -ne 0 ]; then
                echo "servers: sluiced exited with status $rc after SIGTERM" >&2; tail -20 "$log" >&2; return 1
            fi
            if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$log"; then
                echo "servers: sanitizer report in sluiced.log" >&2; grep -A30 -E 'ERROR: |runtime error:' "$log" | head -60 >&2; return 1
            fi
        fi
        return 0
        ;;
    esac
    _wait_port_free
}

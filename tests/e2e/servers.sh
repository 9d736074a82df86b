# Guest-side control of the NFS servers under test (sourced by guest jobs).
#
#   srv_start NAME DIR    export DIR (read-write, no root squash) and start server NAME
#   srv_stop NAME         stop it and free port 2049
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

srv_start() {
    local name=$1 dir=$2
    case "$name" in
    knfsd)
        _ensure_rpcbind
        mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
        # Lease and grace must be set before the threads start.
        echo 10 > /proc/fs/nfsd/nfsv4leasetime
        echo 10 > /proc/fs/nfsd/nfsv4gracetime
        echo "$dir 127.0.0.1(rw,sync,no_subtree_check,no_root_squash,insecure,fsid=1)" > /etc/exports
        exportfs -ra
        rpc.mountd -F -N 3 -p 20048 > "$SRV_LOG_DIR/mountd.log" 2>&1 &
        echo $! > /run/srv-mountd.pid
        rpc.nfsd -N 3 8
        _wait_port
        # Wait out the (shortened) grace period so the first OPEN is not delayed by retries.
        sleep 11
        ;;
    ganesha)
        _ensure_rpcbind
        mkdir -p /run/ganesha /var/lib/nfs/ganesha
        cat > /etc/ganesha/sluice-test.conf <<EOF
NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; Enable_RQUOTA = false; }
NFSV4 { Graceless = true; Lease_Lifetime = 10; Only_Numeric_Owners = true; Allow_Numeric_Owners = true; Minor_Versions = 0, 1, 2; }
EXPORT {
    Export_Id = 1; Path = "$dir"; Pseudo = "$dir";
    Access_Type = RW; Squash = No_Root_Squash; SecType = sys; Protocols = 4; Transports = TCP;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
        ganesha.nfsd -F -f /etc/ganesha/sluice-test.conf -L "$SRV_LOG_DIR/ganesha.log" \
            -p /run/ganesha/ganesha.pid &
        echo $! > /run/srv-ganesha.pid
        _wait_port
        ;;
    sluice)
        [ -x /job/sluiced ] || { echo "servers: no /job/sluiced in this job" >&2; return 1; }
        # The export sits at the same path in the pseudo fs as on disk, so the client mounts
        # 127.0.0.1:$dir as with knfsd and Ganesha.
        cat > /run/sluice-test.conf <<EOF
lease_time = 15
grace_time = 15
state_dir = /run/sluice-state
log_level = ${SLUICE_LOG_LEVEL:-info}
export $dir {
    id = 1
    pseudo = $dir
    access = ro
    squash = none
}
EOF
        /job/sluiced -c /run/sluice-test.conf > "$SRV_LOG_DIR/sluiced.log" 2>&1 &
        echo $! > /run/srv-sluice.pid
        _wait_port
        ;;
    *) echo "servers: unknown server $name" >&2; return 1 ;;
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
        wait "$pid" 2>/dev/null || rc=$?
        rm -f "/run/srv-$name.pid"
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

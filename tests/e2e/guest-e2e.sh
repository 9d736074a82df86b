#!/bin/bash
# Guest job: run the e2e battery against each server in $SERVERS, mounted with each NFSv4
# minor version in $VERSIONS. Carried in by tests/e2e/run.sh with the e2e/ directory.
#
# CAPTURE=1 also records the NFS traffic for tests/e2e/pcap-check.sh (tshark, on the host):
# before the full battery of each server and version, a separate short pass runs under
# tcpdump (lo, -s 0, tcp port 2049) into /job/out/capture/SERVER-vVERSION.pcap, from the
# mount to the umount: the listing, the small files' bytes, the readdir of the
# 100,000-entry directory, symlinks and names. That pass runs the battery with --skip-big,
# because the full battery reads the 2 GiB file (and every minor version reads it again):
# recorded whole, the capture would be several GB per version, too big for the job disk and
# for tshark, while the big file's READs add nothing to a check of the XDR that the small
# files' READs do not already cover. The full battery then runs unrecorded, as without
# CAPTURE. A capture that lost packets (tcpdump's "dropped by kernel") counts as a failure:
# a check of it would prove less than it claims.
set -uo pipefail
. /job/env
. /job/e2e/servers.sh
SERVERS=${SERVERS:-knfsd}
VERSIONS=${VERSIONS:-4.0 4.1 4.2}
CAPTURE=${CAPTURE:-0}
export=/data
fail=0
mnt_opts() { echo "vers=$1,hard,timeo=600"; }

# capture_pass SRV VERS: the short battery under tcpdump; returns non-zero on any failure.
capture_pass() {
    local srv=$1 v=$2 dir=/job/out/capture pcap tpid rc=0 i dropped
    mkdir -p "$dir"
    pcap="$dir/$srv-v$v.pcap"
    # -Z root: tcpdump would otherwise drop to user tcpdump, who cannot write to /job/out.
    # -B: a 64 MiB kernel buffer, so that the bursts of READDIR replies are not dropped.
    tcpdump -i lo -s 0 -B 65536 -U -Z root -w "$pcap" 'tcp port 2049' 2> "$pcap.log" &
    tpid=$!
    for i in $(seq 1 100); do
        grep -q 'listening on' "$pcap.log" && break
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q 'listening on' "$pcap.log"; then
        echo "not ok - tcpdump did not start:"; sed 's/^/#   /' "$pcap.log"
        kill -TERM "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
        return 1
    fi
    echo "### $srv vers=$v (captured, --skip-big)"
    if mount -t nfs -o "$(mnt_opts "$v")" "127.0.0.1:$export" /mnt/nfs; then
        bash /job/e2e/battery.sh --skip-big /mnt/nfs/tree /data/tree /data/MANIFEST.sha256 /data/many.names \
            || rc=1
        umount /mnt/nfs || umount -f /mnt/nfs
    else
        echo "not ok - mount $srv vers=$v (captured)"; rc=1
    fi
    sleep 1   # the replies to the last calls of the umount
    kill -INT "$tpid"; wait "$tpid"
    sed 's/^/# tcpdump: /' "$pcap.log"
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$pcap.log")
    if [ "${dropped:-x}" != 0 ]; then
        echo "not ok - the capture of $srv vers=$v is incomplete (dropped by kernel: ${dropped:-unknown})"
        rc=1
    fi
    echo "# capture: $pcap, $(stat -c %s "$pcap") bytes"
    return $rc
}

for srv in $SERVERS; do
    echo "### server $srv"
    if ! srv_start "$srv" "$export"; then
        echo "not ok - $srv did not start"; fail=$((fail + 1)); continue
    fi
    for v in $VERSIONS; do
        mkdir -p /mnt/nfs
        if [ "$CAPTURE" = 1 ]; then
            if capture_pass "$srv" "$v"; then
                echo "## PASS $srv vers=$v (captured pass)"
            else
                echo "## FAIL $srv vers=$v (captured pass)"; fail=$((fail + 1))
            fi
        fi
        echo "### $srv vers=$v"
        if ! mount -t nfs -o "$(mnt_opts "$v")" "127.0.0.1:$export" /mnt/nfs; then
            echo "not ok - mount $srv vers=$v"; fail=$((fail + 1)); continue
        fi
        grep ' /mnt/nfs ' /proc/mounts | sed 's/^/# /'
        bash /job/e2e/battery.sh /mnt/nfs/tree /data/tree /data/MANIFEST.sha256 /data/many.names
        rc=$?
        [ $rc -eq 0 ] && echo "## PASS $srv vers=$v" || { echo "## FAIL $srv vers=$v ($rc checks)"; fail=$((fail + 1)); }
        umount /mnt/nfs || umount -f /mnt/nfs
    done
    # sluice must stop cleanly (exit 0, no sanitizer report); the reference servers' stop is
    # only best effort, as before.
    if ! srv_stop "$srv" && [ "$srv" = sluice ]; then
        echo "not ok - $srv did not stop cleanly"; fail=$((fail + 1))
    fi
done
echo "## e2e: $fail failing server/version combinations"
exit $(( fail > 0 ))

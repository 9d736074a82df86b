#!/bin/bash
# Guest job: run the e2e battery against each server in $SERVERS, mounted with each NFSv4
# minor version in $VERSIONS. Carried in by tests/e2e/run.sh with the e2e/ directory.
set -uo pipefail
. /job/env
. /job/e2e/servers.sh
SERVERS=${SERVERS:-knfsd}
VERSIONS=${VERSIONS:-4.0 4.1 4.2}
export=/data
fail=0
for srv in $SERVERS; do
    echo "### server $srv"
    if ! srv_start "$srv" "$export"; then
        echo "not ok - $srv did not start"; fail=$((fail + 1)); continue
    fi
    for v in $VERSIONS; do
        mkdir -p /mnt/nfs
        echo "### $srv vers=$v"
        if ! mount -t nfs -o "vers=$v,hard,timeo=600" "127.0.0.1:$export" /mnt/nfs; then
            echo "not ok - mount $srv vers=$v"; fail=$((fail + 1)); continue
        fi
        grep ' /mnt/nfs ' /proc/mounts | sed 's/^/# /'
        bash /job/e2e/battery.sh /mnt/nfs/tree /data/tree /data/MANIFEST.sha256 /data/many.names
        rc=$?
        [ $rc -eq 0 ] && echo "## PASS $srv vers=$v" || { echo "## FAIL $srv vers=$v ($rc checks)"; fail=$((fail + 1)); }
        umount /mnt/nfs || umount -f /mnt/nfs
    done
    srv_stop "$srv"
done
echo "## e2e: $fail failing server/version combinations"
exit $(( fail > 0 ))

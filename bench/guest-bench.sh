#!/bin/bash
# Guest job of bench/run: lay out the data once on the scratch disk, measure the ceilings, then
# run every fio job against each server in $SERVERS, one after the other in this same boot on
# this same disk. Raw results (fio JSON, timings) go to /job/out for bench/report.py.
#
# Cache state: every job starts cold (client and server caches dropped with drop_caches;
# a server with its own cache is restarted), except "warm" runs, which repeat a job at once.
set -uo pipefail
. /job/env
. /job/e2e/servers.sh
SERVERS=${SERVERS:-knfsd ganesha}
JOBS=${JOBS:-seqread randread smallfiles ckptwrite}
LSL_ENTRIES=${LSL_ENTRIES:-20000}
VERS=${VERS:-4.2}
out=/job/out
exp=/scratch/export
# one export, read-write (the checkpoint job writes), identities as sent, for every server
export SRV_EXPORTS="$exp 1 none"
mkdir -p "$exp" /mnt/nfs
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# peak resident memory of a user-space server so far (knfsd lives in the kernel: none)
_rss() {
    local pid
    pid=$(cat "/run/srv-$1.pid" 2>/dev/null) || return 0
    grep VmHWM "/proc/$pid/status" >> "$out/$1-rss.txt" 2>/dev/null || true
}

# per thread of a user-space server: name, utime, stime (clock ticks)
_cpu() {
    local pid t
    # the whole guest first (user nice system idle iowait irq softirq, in clock ticks): a
    # kernel server's threads do not show below, so compare servers by this line
    awk '/^cpu / { print "all", $2, $3, $4, $5, $6, $7, $8 }' /proc/stat
    pid=$(cat "/run/srv-$1.pid" 2>/dev/null) || return 0
    for t in /proc/"$pid"/task/*; do
        awk '{ sub(/^[0-9]+ \(/, ""); n = $0; sub(/\).*/, "", n); sub(/^[^)]*\) /, "");
               print n, $12, $13 }' "$t/stat" 2>/dev/null
    done
}

echo "# laying out data on the scratch disk"
for j in $JOBS; do
    mkdir -p "$exp/$j"
    [ "$j" = ckptwrite ] && continue
    fio --create_only=1 --directory="$exp/$j" "/job/jobs/$j.fio" >/dev/null || echo "layout of $j failed"
done
mkdir -p "$exp/lsl"
(cd "$exp/lsl" && seq -f 'f%06g' 1 "$LSL_ENTRIES" | xargs touch)
sync

echo "# ceilings"
iperf3 -s -1 -D -B 127.0.0.1 >/dev/null
sleep 1
iperf3 -c 127.0.0.1 -t 10 -J > "$out/ceiling-iperf3.json" 2>/dev/null || echo "iperf3 failed"
for j in seqread randread; do
    cold
    fio --output-format=json --output="$out/local-$j.json" --directory="$exp/$j" "/job/jobs/$j.fio" \
        || echo "local fio $j failed"
done

for srv in $SERVERS; do
    echo "# server $srv"
    srv_start "$srv" "$exp" || { echo "$srv did not start"; continue; }
    if ! mount -t nfs -o "vers=$VERS,hard,rsize=1048576,wsize=1048576" "127.0.0.1:$exp" /mnt/nfs; then
        echo "mount of $srv failed"; srv_stop "$srv"; continue
    fi
    for j in $JOBS; do
        cold
        echo "#   $srv $j"
        # the client's per-op counts and times around each job (which ops a job's time goes to)
        cp /proc/self/mountstats "$out/$srv-$j-mountstats-before.txt"
        fio --output-format=json --output="$out/$srv-$j.json" --directory="/mnt/nfs/$j" "/job/jobs/$j.fio" \
            || echo "fio $j on $srv failed"
        cp /proc/self/mountstats "$out/$srv-$j-mountstats-after.txt"
        if [ "$j" = smallfiles ]; then # the same files again, caches warm
            fio --output-format=json --output="$out/$srv-smallfiles-warm.json" --directory="/mnt/nfs/$j" \
                "/job/jobs/$j.fio" || echo "fio smallfiles warm on $srv failed"
            cp /proc/self/mountstats "$out/$srv-smallfiles-warm-mountstats-after.txt"
        fi
        [ "$j" = ckptwrite ] && rm -f "$exp/ckptwrite/"*
        _rss "$srv"
    done
    # ls -l of a big directory, cold: wall time, one READDIR stream plus attributes.
    # The client's own per-op counts and times (RTT, execute) before and after, to tell
    # where an ls -l's time goes (READDIR vs GETATTR); a user-space server's CPU time per
    # thread too (utime and stime in clock ticks: is it busy, or waiting between hops?).
    cold
    cp /proc/self/mountstats "$out/$srv-lsl-mountstats-before.txt"
    _cpu "$srv" > "$out/$srv-lsl-cpu-before.txt"
    t=$(now); n=$(ls -l /mnt/nfs/lsl | wc -l); echo "$(elapsed "$t") $n" > "$out/$srv-lsl.txt"
    cp /proc/self/mountstats "$out/$srv-lsl-mountstats-after.txt"
    _cpu "$srv" > "$out/$srv-lsl-cpu-after.txt"
    _rss "$srv"
    if [ "$srv" = sluice ]; then # its own counters (STATE_DIR/stats on SIGUSR1)
        kill -USR1 "$(cat /run/srv-sluice.pid)" && sleep 1 && cp /run/sluice-state/stats "$out/$srv-stats.txt"
    fi
    umount /mnt/nfs
    srv_stop "$srv"
done
echo "# done"

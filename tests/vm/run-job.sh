#!/bin/bash
# Run one job script inside a fresh qemu guest and return its exit status.
#
#   run-job.sh [options] JOB.sh [FILE-OR-DIR...]
#     --timeout S     the job's time limit inside the guest (default 600)
#     --data IMG      attach IMG (ext4, label sluice-data) at /data; writes are discarded
#     --data-rw IMG   the same, but writes go to IMG (used to build the dataset once)
#     --scratch SIZE  attach a fresh empty ext4 disk of SIZE (e.g. 8G) at /scratch
#     --mem SIZE      guest memory (default 6G)
#     --out DIR       copy the job's /job/out (log, rc, anything it wrote) to DIR
#     --env NAME=VAL  add a line to /job/env, which the job may source (repeatable)
#
# JOB.sh runs as /job/job.sh; each FILE-OR-DIR is carried into /job/ under its basename.
# The guest has no network (-nic none): servers and clients talk over its own loopback.
# The root image is attached with snapshot=on, so no run changes it.
#
# Boot watchdog: a guest that has not reached its init's "running job" line within
# $BOOT_LIMIT seconds (default 300; a boot takes 20-60 s under the software CPU) is killed
# and booted once more with a fresh job disk. A CI run once lost 43 minutes to a guest that
# printed nothing at all until the host's limit; a hung boot says nothing about the job.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

envs=() timeout=600 data="" data_mode="snapshot=on" scratch="" mem=6G out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --data-rw) data=$2; data_mode="cache=writeback"; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "run-job: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: run-job.sh [options] JOB.sh [FILE...]" >&2; exit 2; }
job=$1; shift

image=$("$here/build-image.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-job.XXXXXX")
qpid=""
# A test runner that gives up on this script (ctest's TIMEOUT) must not leave qemu behind.
trap '[ -z "$qpid" ] || kill -TERM "$qpid" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 143' TERM INT
mkdir -p "$work/job/out"
install -m 0755 "$job" "$work/job/job.sh"
for f in "$@"; do cp -a "$f" "$work/job/"; done
echo "$timeout" > "$work/job/timeout"
for e in "${envs[@]}"; do printf '%s=%q\n' "${e%%=*}" "${e#*=}"; done > "$work/job/env"
job_mb=$(( $(du -sm "$work/job" | cut -f1) + 512 ))
# The job disk (and a scratch disk) are made afresh for every boot.
make_disks() {
    rm -f "$work/job.img" "$work/scratch.img"
    mke2fs -q -t ext4 -L sluice-job -d "$work/job" "$work/job.img" "${job_mb}M"
    if [ -n "$scratch" ]; then
        truncate -s "$scratch" "$work/scratch.img"
        mke2fs -q -t ext4 -L sluice-scratch -E lazy_itable_init=1,lazy_journal_init=1 "$work/scratch.img"
    fi
}

drives=(-drive "file=$image/root.img,if=virtio,format=raw,snapshot=on"
        -drive "file=$work/job.img,if=virtio,format=raw")
if [ -n "$data" ]; then
    drives+=(-drive "file=$data,if=virtio,format=raw,$data_mode")
fi
if [ -n "$scratch" ]; then
    drives+=(-drive "file=$work/scratch.img,if=virtio,format=raw,cache=unsafe")
fi

# KVM only where the CPU really offers VMX/SVM; qemu's software CPU (MTTCG) otherwise.
if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ -w /dev/kvm ]; then
    accel=(-accel kvm -cpu host)
else
    accel=(-accel tcg,thread=multi -cpu max)
fi

# One boot: the console goes to a file that tail echoes here (and the watchdog reads).
# Sets rc to qemu's exit status, or to 200 when the boot watchdog killed the guest.
boot_limit=${BOOT_LIMIT:-300}
console="$work/console.log"
boot() {
    local tpid t=0 booted=0
    : > "$console"
    # The host-side limit covers boot and power-off on top of the job's own limit.
    timeout -k 10 $((timeout + 180)) qemu-system-x86_64 "${accel[@]}" -smp 2 -m "$mem" \
        -nodefaults -display none -nic none -serial "file:$console" -no-reboot \
        -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
        -append "root=LABEL=sluice-root rw console=ttyS0 quiet loglevel=3 init=/sbin/sluice-init panic=-1" \
        "${drives[@]}" </dev/null &
    qpid=$!
    tail -n +1 -f --pid="$qpid" "$console" &
    tpid=$!
    while kill -0 "$qpid" 2>/dev/null; do
        if grep -q 'sluice-init: running job' "$console"; then booted=1; break; fi
        if [ $t -ge "$boot_limit" ]; then
            echo "run-job: no \"running job\" from the guest after ${boot_limit}s: boot hung, killing qemu" >&2
            kill -TERM "$qpid" 2>/dev/null || true
            break
        fi
        sleep 2; t=$((t + 2))
    done
    rc=0
    wait "$qpid" || rc=$?
    qpid=""
    wait "$tpid" 2>/dev/null || true
    if [ $booted = 0 ] && [ $t -ge "$boot_limit" ]; then rc=200; fi
}

rc=0
for attempt in 1 2; do
    make_disks
    boot
    [ $rc -eq 200 ] && [ $attempt -eq 1 ] && { echo "run-job: booting once more" >&2; continue; }
    break
done
if [ $rc -ne 0 ]; then
    echo "run-job: qemu exited with status $rc (124: host time limit; 200: boot watchdog)" >&2
fi

debugfs -R "rdump /out $work" "$work/job.img" >/dev/null 2>&1 || true
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp -a "$work/out/." "$out/" 2>/dev/null || true
fi
if [ ! -f "$work/out/rc" ]; then
    echo "run-job: the guest left no exit status (crashed or timed out)" >&2
    exit 125
fi
exit "$(cat "$work/out/rc")"

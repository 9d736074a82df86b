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
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/job/out"
install -m 0755 "$job" "$work/job/job.sh"
for f in "$@"; do cp -a "$f" "$work/job/"; done
echo "$timeout" > "$work/job/timeout"
for e in "${envs[@]}"; do printf '%s=%q\n' "${e%%=*}" "${e#*=}"; done > "$work/job/env"
job_mb=$(( $(du -sm "$work/job" | cut -f1) + 512 ))
mke2fs -q -t ext4 -L sluice-job -d "$work/job" "$work/job.img" "${job_mb}M"

drives=(-drive "file=$image/root.img,if=virtio,format=raw,snapshot=on"
        -drive "file=$work/job.img,if=virtio,format=raw")
if [ -n "$data" ]; then
    drives+=(-drive "file=$data,if=virtio,format=raw,$data_mode")
fi
if [ -n "$scratch" ]; then
    truncate -s "$scratch" "$work/scratch.img"
    mke2fs -q -t ext4 -L sluice-scratch -E lazy_itable_init=1,lazy_journal_init=1 "$work/scratch.img"
    drives+=(-drive "file=$work/scratch.img,if=virtio,format=raw,cache=unsafe")
fi

# KVM only where the CPU really offers VMX/SVM; qemu's software CPU (MTTCG) otherwise.
if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ -w /dev/kvm ]; then
    accel=(-accel kvm -cpu host)
else
    accel=(-accel tcg,thread=multi -cpu max)
fi

# The host-side limit covers boot and power-off on top of the job's own limit.
rc=0
timeout -k 10 $((timeout + 180)) qemu-system-x86_64 "${accel[@]}" -smp 2 -m "$mem" \
    -nodefaults -display none -nic none -serial stdio -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append "root=LABEL=sluice-root rw console=ttyS0 quiet loglevel=3 init=/sbin/sluice-init panic=-1" \
    "${drives[@]}" </dev/null || rc=$?
if [ $rc -ne 0 ]; then
    echo "run-job: qemu exited with status $rc (124: host time limit)" >&2
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

#!/bin/bash
# Host side: boot a guest and run the read-write battery (issue 4) against the given servers.
#   run-rw.sh [--sluiced PATH] [--out DIR] SERVER...     SERVER: knfsd ganesha sluice
#     --sluiced PATH  carry this sluiced binary into the guest (needed for SERVER sluice)
#     --out DIR       keep the job's output (log, rc, server logs) in DIR
# Environment: VERSIONS (default "4.0 4.1 4.2"), RW_TIMEOUT (the guest job's limit, seconds).
# The guest gets a fresh 8 GiB scratch disk: the source tree (~1.1 GiB) and, per version, its
# copy through the mount, a server-side copy of 1 GiB and the fio files (~3 GiB at most).
# The exit status is the guest job's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm="$here/../vm"
carry=("$here")
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --sluiced) carry+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    -*) echo "run-rw.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: run-rw.sh [--sluiced PATH] [--out DIR] SERVER..." >&2; exit 2; }
args=(--timeout "${RW_TIMEOUT:-1800}" --scratch 8G
      --env "SERVERS=$*" --env "VERSIONS=${VERSIONS:-4.0 4.1 4.2}")
[ -n "$out" ] && args+=(--out "$out")
exec "$vm/run-job.sh" "${args[@]}" "$here/guest-rw.sh" "${carry[@]}"

#!/bin/bash
# Host side: boot a guest and run the e2e battery against the given servers.
#   run.sh [--sluiced PATH] [--capture] [--out DIR] SERVER...     SERVER: knfsd ganesha sluice
#     --sluiced PATH  carry this sluiced binary into the guest (needed for SERVER sluice)
#     --capture       also record each server and minor version's metadata traffic with
#                     tcpdump in the guest (a short pass without the 2 GiB file; see
#                     guest-e2e.sh) and check every capture with pcap-check.sh (tshark) here;
#                     the same as CAPTURE=1 in the environment
#     --out DIR       keep the job's output (log, rc, capture/*.pcap) in DIR; without it a
#                     capture is kept in a temporary directory only when its check fails
# The exit status is the guest job's, or 1 if that passed but a capture check failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm="$here/../vm"
carry=("$here")
capture=${CAPTURE:-0} out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --sluiced) carry+=("$2"); shift 2 ;;
    --capture) capture=1; shift ;;
    --out) out=$2; shift 2 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: run.sh [--sluiced PATH] [--capture] [--out DIR] SERVER..." >&2; exit 2; }
[ "$capture" = 1 ] || capture=0
if [ "$capture" = 1 ]; then
    command -v tshark >/dev/null || { echo "run.sh: --capture needs tshark on this host" >&2; exit 2; }
fi
data=$("$vm/make-dataset.sh")
args=(--timeout "${E2E_TIMEOUT:-1200}" --data "$data"
      --env "SERVERS=$*" --env "VERSIONS=${VERSIONS:-4.0 4.1 4.2}" --env "CAPTURE=$capture")
if [ "$capture" = 0 ] && [ -z "$out" ]; then
    exec "$vm/run-job.sh" "${args[@]}" "$here/guest-e2e.sh" "${carry[@]}"
fi

keep=$out
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX")
rc=0
"$vm/run-job.sh" "${args[@]}" --out "$out" "$here/guest-e2e.sh" "${carry[@]}" || rc=$?
[ "$capture" = 1 ] || exit "$rc"

pcaps=()
for f in "$out"/capture/*.pcap; do [ -f "$f" ] && pcaps+=("$f"); done
crc=0
if [ ${#pcaps[@]} -eq 0 ]; then
    echo "run.sh: --capture, but the guest left no capture in $out/capture" >&2
    crc=1
else
    echo "# captures: $(du -ch "${pcaps[@]}" | tail -n1 | cut -f1) in ${#pcaps[@]} file(s) under $out/capture"
    for f in "${pcaps[@]}"; do
        "$here/pcap-check.sh" "$f" || crc=1
    done
fi
if [ -z "$keep" ]; then
    if [ $rc -eq 0 ] && [ $crc -eq 0 ]; then rm -rf "$out"; else echo "# kept for inspection: $out"; fi
fi
[ $rc -ne 0 ] && exit "$rc"
exit "$crc"

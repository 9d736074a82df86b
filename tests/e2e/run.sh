#!/bin/bash
# Host side: boot a guest and run the e2e battery against the given servers.
#   run.sh [--sluiced PATH] SERVER...     SERVER: knfsd ganesha sluice
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm="$here/../vm"
carry=("$here")
if [ "${1:-}" = --sluiced ]; then carry+=("$2"); shift 2; fi
data=$("$vm/make-dataset.sh")
exec "$vm/run-job.sh" --timeout "${E2E_TIMEOUT:-2400}" --data "$data" \
    --env "SERVERS=$*" --env "VERSIONS=${VERSIONS:-4.0 4.1 4.2}" \
    "$here/guest-e2e.sh" "${carry[@]}"

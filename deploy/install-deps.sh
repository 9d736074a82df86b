#!/bin/bash
# Install from Debian what sluice needs. Idempotent and quiet when everything is there.
#   install-deps.sh          build and run the server
#   install-deps.sh --test   also the test suite, the qemu guest harness and the guest benchmarks
#   install-deps.sh --bench  --test, and NFS-Ganesha on this host for bench/native/run
set -euo pipefail
build=(build-essential cmake ninja-build pkg-config
       libev-dev liburing-dev libtirpc-dev libjemalloc-dev rpcsvc-proto)
test=(libcmocka-dev
      qemu-system-x86 mmdebstrap e2fsprogs openssl util-linux iproute2
      libnfs-utils libnfs-dev fio iperf3 tshark
      clang libclang-rt-14-dev libfuzzer-14-dev python3)
bench=(nfs-ganesha nfs-ganesha-vfs)
want=("${build[@]}")
case "${1:-}" in
--test) want+=("${test[@]}") ;;
--bench) want+=("${test[@]}" "${bench[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

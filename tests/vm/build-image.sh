#!/bin/bash
# Build (once) the qemu guest image used by every client-side test and benchmark.
#
# The image lives outside the repository, in $SLUICE_VM_CACHE (default /var/cache/sluice-vm),
# and is rebuilt only when it is missing or stale: its key is the hash of packages.txt, the
# guest init and this script. Packages come from the apt sources this machine is configured
# with (read at run time; no mirror is ever written into the repository).
#
# Prints the image directory on stdout. Needs root (mmdebstrap in root mode).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SLUICE_VM_CACHE:-/var/cache/sluice-vm}
key=$(cat "$here/packages.txt" "$here/init" "$here/build-image.sh" | sha256sum | cut -c1-16)
dir="$cache/image-$key"

if [ -f "$dir/ready" ]; then
    echo "$dir"
    exit 0
fi

log() { echo "build-image: $*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
[ -f "$dir/ready" ] && { echo "$dir"; exit 0; }

# The host's own Debian sources (deb822 or one-line format), whatever mirror they name.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -qE '^[^#]*bookworm' "$f" && grep -qiE '^[^#]*debian' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { log "no Debian bookworm apt source configured on this host"; exit 1; }

pkgs=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building guest image $key (packages: $pkgs)"
mmdebstrap --quiet --mode=root --variant=minbase --include="$pkgs" \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
    --aptopt='Acquire::Languages "none"' \
    --customize-hook='rm -f "$1"/etc/machine-id; echo sluice-guest > "$1"/etc/hostname' \
    bookworm "$work/root" "${sources[@]}" >&2

install -m 0755 "$here/init" "$work/root/sbin/sluice-init"
# Users the tests use for identity checks (uid 1000 and 1234) and for server ownership.
chroot "$work/root" /usr/sbin/groupadd -g 1000 alice
chroot "$work/root" /usr/sbin/useradd -u 1000 -g 1000 -M -d /tmp alice
chroot "$work/root" /usr/sbin/groupadd -g 5678 bobgrp
chroot "$work/root" /usr/sbin/useradd -u 1234 -g 5678 -M -d /tmp bob
# Ganesha reads the mount table through /etc/mtab.
ln -sf /proc/self/mounts "$work/root/etc/mtab"
# knfsd: legacy v4 client tracking directory, so it does not complain about nfsdcld.
mkdir -p "$work/root/var/lib/nfs/v4recovery" "$work/root/var/lib/nfs/ganesha" "$work/root/run/ganesha"

kernel=$(ls "$work/root"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$work/root"/boot/initrd.img-* | sort -V | tail -n1)
mkdir -p "$work/out"
cp "$kernel" "$work/out/vmlinuz"
cp "$initrd" "$work/out/initrd.img"
size_mb=$(( $(du -sm "$work/root" | cut -f1) + 1024 ))
mke2fs -q -t ext4 -L sluice-root -d "$work/root" "$work/out/root.img" "${size_mb}M" >&2
chroot "$work/root" dpkg-query -W -f '${Package} ${Version}\n' > "$work/out/packages.lock"
rm -rf "$dir"
mv "$work/out" "$dir"
touch "$dir/ready"
# Older images are stale now.
for old in "$cache"/image-*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
done
log "image ready in $dir"
echo "$dir"

#!/bin/bash
# Build (once) the e2e dataset disk: an ext4 image labelled sluice-data that the guest mounts
# at /data and that every server under test exports. It is made here on the host, where it
# is fast, and cached beside the guest image ($SLUICE_VM_CACHE); its key is this script's hash.
#
# /data/tree                 the tree the battery compares through NFS with the local view:
#   files/                   sizes around page and block edges, modes, owners, mtimes (ns)
#   links/                   relative, absolute, dangling and directory symlinks, hard links
#   names/                   spaces, UTF-8, a 255-byte name, a deep path
#   many/                    100,000 entries (f000000 .. f099999), made in the guest
#   big/2g.bin               2 GiB of pseudo-random data
# /data/MANIFEST.sha256      sha256 of every regular file under tree/ (paths relative to it)
# /data/many.names           the expected names in tree/many, sorted
# Every timestamp is set with nanoseconds (in the guest), so truncation shows up.
#
# Prints the image path on stdout. Needs root (for ownership).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SLUICE_VM_CACHE:-/var/cache/sluice-vm}
key=$(cat "$here/make-dataset.sh" "$here/dataset-finish.sh" | sha256sum | cut -c1-16)
img="$cache/dataset-$key.img"
if [ -f "$img.ready" ]; then echo "$img"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.dataset.lock"
flock 9
if [ -f "$img.ready" ]; then echo "$img"; exit 0; fi

log() { echo "make-dataset: $*" >&2; }
work=$(mktemp -d "$cache/dataset.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
t="$root/tree"
mkdir -p "$t"

# Deterministic pseudo-random bytes: AES-CTR keystream of a named seed.
# (openssl dies of SIGPIPE when head has enough: only head's status counts.)
prng() { (set +o pipefail; openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$1" -in /dev/zero 2>/dev/null | head -c "$2"); }

log "files"
mkdir -p "$t/files/sub/subsub" "$t/files/empty-dir"
for n in 0 1 511 4095 4096 4097 65535 65536 131073 1048575 1048576 1048577 10485763; do
    prng "size-$n" "$n" > "$t/files/size-$n"
done
printf 'sluice e2e dataset\n' > "$t/files/readme.txt"
prng sub 300000 > "$t/files/sub/data.bin"
prng subsub 77777 > "$t/files/sub/subsub/deep.bin"
chmod 0600 "$t/files/size-1";   chown 1000:1000 "$t/files/size-1"
chmod 0640 "$t/files/size-511"; chown 1234:5678 "$t/files/size-511"
chmod 0755 "$t/files/size-4095"
chmod 0444 "$t/files/size-4096"
chmod 0700 "$t/files/size-4097"; chown 65534:65534 "$t/files/size-4097"
chmod 4755 "$t/files/size-65535"
chmod 2755 "$t/files/size-65536"
chmod 0000 "$t/files/size-131073"
chmod 0700 "$t/files/sub/subsub"; chown 1000:1000 "$t/files/sub/subsub"
mkdir -p "$t/files/sticky" "$t/files/setgid"
chmod 1777 "$t/files/sticky"; chmod 2775 "$t/files/setgid"; chown 0:5678 "$t/files/setgid"

log "links"
mkdir -p "$t/links/dir"
prng target 12345 > "$t/links/dir/target.bin"
ln -s dir/target.bin "$t/links/rel-file"
ln -s dir "$t/links/rel-dir"
ln -s /data/tree/links/dir/target.bin "$t/links/abs-file"
ln -s does/not/exist "$t/links/dangling"
ln -s "$(printf 'x%.0s' $(seq 1 200))/long/target" "$t/links/long-target"
ln "$t/links/dir/target.bin" "$t/links/hard-1"
ln "$t/links/dir/target.bin" "$t/links/hard-2"
ln -s ../files/readme.txt "$t/links/up-file"

log "names"
mkdir -p "$t/names/a/b/c/d/e/f/g/h/i/j"
prng deep 4321 > "$t/names/a/b/c/d/e/f/g/h/i/j/leaf"
printf 'space\n' > "$t/names/with space"
printf 'utf8\n' > "$t/names/caf$(printf '\xc3\xa9')-$(printf '\xe6\x97\xa5\xe6\x9c\xac')"
printf 'long\n' > "$t/names/$(printf 'n%.0s' $(seq 1 255))"
printf 'dash\n' > "$t/names/-leading-dash"
printf 'dots\n' > "$t/names/...three"

log "big (2 GiB)"
mkdir -p "$t/big"
prng big $((2 * 1024 * 1024 * 1024)) > "$t/big/2g.bin"

log "manifest"
(cd "$t" && find . -type f ! -path './many/*' -print0 | sort -z | xargs -0 sha256sum) > "$root/MANIFEST.sha256"

log "image"
mke2fs -q -t ext4 -L sluice-data -N 200000 -d "$root" "$img.tmp" 4G
# The rest is done inside the guest, on the image itself: mke2fs -d drops nanoseconds from
# timestamps and links entries one by one (quadratic in a 100,000-entry directory).
log "finishing in the guest (100,000 entries, timestamps)"
"$here/run-job.sh" --timeout 900 --data-rw "$img.tmp" "$here/dataset-finish.sh" >&2
mv "$img.tmp" "$img"
touch "$img.ready"
for old in "$cache"/dataset-*.img; do
    [ "$old" = "$img" ] || rm -f "$old" "$old.ready"
done
log "dataset ready: $img"
echo "$img"

#!/bin/bash
# The client-side e2e battery: checks what a user sees through an NFS mount against the
# source tree on the server's local disk. Server-agnostic: run it inside the guest against
# any server whose export of SRC is mounted at MNT.
#
#   battery.sh [--skip-big] MNT SRC MANIFEST MANY_NAMES
#     --skip-big  leave out the bytes of big/ (the 2 GiB file: its sha256 and step 3); the
#                 rest, metadata included, is checked as usual. guest-e2e.sh uses it for the
#                 short pass it records with tcpdump (CAPTURE=1).
#     MNT         the mounted tree (e.g. /mnt/nfs/tree)
#     SRC         the same tree on local disk (e.g. /data/tree)
#     MANIFEST    sha256sum lines of every regular file, paths relative to SRC
#     MANY_NAMES  the expected names of SRC/many, sorted
#
# Output is TAP; the exit status is the number of failed checks (capped at 100).
set -uo pipefail
skip_big=""
[ "${1:-}" = --skip-big ] && { skip_big=1; shift; }
mnt=$1 src=$2 manifest=$3 many_names=$4
n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
t0=$(date +%s)
lap() { echo "# $1 took $(( $(date +%s) - t0 ))s"; t0=$(date +%s); }

# 1. The listing: names, types, sizes, modes, owners, groups, mtimes (ns), link counts and
#    symlink targets, as ls -lR would show them. The entries of many/ are checked by name in
#    step 4 (a stat of each of 100,000 entries takes minutes under the guest's software CPU;
#    bench/ times ls -l of a big directory).
listing() {
    local fmt='%p\t%y\t%s\t%m\t%U\t%G\t%T@\t%n\t%l\n'
    (cd "$1" && find . -path ./many -printf "$fmt" -prune -o -printf "$fmt" | LC_ALL=C sort)
}
listing "$src" > /tmp/list.src
listing "$mnt" > /tmp/list.mnt
if cmp -s /tmp/list.src /tmp/list.mnt; then
    ok "listing of $(wc -l < /tmp/list.src) entries equals the source (name type size mode uid gid mtime nlink target)"
else
    not_ok "listing differs from the source"
    diff /tmp/list.src /tmp/list.mnt | head -40 | sed 's/^/#   /'
fi
lap listing

# 2. Every byte: sha256 of every regular file (the 2 GiB file included) against the manifest.
if [ -n "$skip_big" ]; then
    grep -v '  \./big/' "$manifest" > /tmp/manifest.used
    echo "# --skip-big: $(( $(wc -l < "$manifest") - $(wc -l < /tmp/manifest.used) )) file(s) under big/ not read"
else
    cp "$manifest" /tmp/manifest.used
fi
if (cd "$mnt" && sha256sum --quiet --strict -c /tmp/manifest.used) > /tmp/sha.out 2>&1; then
    ok "sha256 of $(wc -l < /tmp/manifest.used) files matches the manifest"
else
    not_ok "sha256 mismatch"
    head -20 /tmp/sha.out | sed 's/^/#   /'
fi
lap sha256

# 3. The 2 GiB file: exact size, and a read at its very end.
check "big/2g.bin is exactly 2 GiB" test "$(stat -c %s "$mnt/big/2g.bin")" = 2147483648
if [ -z "$skip_big" ]; then
    check "the last 4 KiB of big/2g.bin read back equal" \
        cmp <(tail -c 4096 "$src/big/2g.bin") <(tail -c 4096 "$mnt/big/2g.bin")
fi

# 4. The 100,000-entry directory through plain readdir (no stat): no duplicate, no gap.
ls -f "$mnt/many" | grep -vxE '\.|\.\.' > /tmp/many.raw
LC_ALL=C sort /tmp/many.raw > /tmp/many.sorted
dups=$(uniq -d /tmp/many.sorted | wc -l)
check "many/: $(wc -l < /tmp/many.raw) names read, no duplicates ($dups)" test "$dups" -eq 0
if cmp -s /tmp/many.sorted "$many_names"; then
    ok "many/: exactly the 100,000 expected names"
else
    not_ok "many/: names differ from the expected set"
    diff "$many_names" /tmp/many.sorted | head -10 | sed 's/^/#   /'
fi
lap readdir

# 5. Symlinks: targets read back, followed links reach the right bytes, dangling stays dangling.
for l in rel-file rel-dir abs-file dangling long-target up-file; do
    check "readlink links/$l" test "$(readlink "$mnt/links/$l")" = "$(readlink "$src/links/$l")"
done
check "links/rel-file reads the target's bytes" cmp "$mnt/links/rel-file" "$src/links/dir/target.bin"
check "links/rel-dir/target.bin is reachable" cmp "$mnt/links/rel-dir/target.bin" "$src/links/dir/target.bin"
check "links/dangling stays dangling" test ! -e "$mnt/links/dangling" -a -L "$mnt/links/dangling"
check "hard links share one inode" test "$(stat -c %i "$mnt/links/hard-1")" = "$(stat -c %i "$mnt/links/hard-2")"
check "hard links have nlink 3" test "$(stat -c %h "$mnt/links/hard-1")" = 3

# 6. Names: UTF-8, spaces, the 255-byte name and the deep path are all readable.
check "deep path reads back" cmp "$mnt/names/a/b/c/d/e/f/g/h/i/j/leaf" "$src/names/a/b/c/d/e/f/g/h/i/j/leaf"
check "UTF-8 name reads back" cmp "$mnt/names/café-日本" "$src/names/café-日本"
check "255-byte name reads back" cmp "$mnt/names/$(printf 'n%.0s' $(seq 1 255))" "$src/names/$(printf 'n%.0s' $(seq 1 255))"
check "a missing name gives ENOENT" bash -c "stat '$mnt/no-such-file' 2>&1 | grep -q 'No such file or directory'"
lap links-and-names

echo "1..$n"
echo "# battery: $((n - failed)) of $n passed"
exit $(( failed > 100 ? 100 : failed ))

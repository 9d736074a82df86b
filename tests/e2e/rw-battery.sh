#!/bin/bash
# The client-side read-write battery (issue 4, "Acceptance" 1-7): what users, training jobs
# and csi-driver-nfs do through a mount, checked against the server's local disk. Server-
# agnostic: run it inside the guest against any server, after mounting its exports.
#
#   rw-battery.sh [options] VERS
#     VERS              the NFSv4 minor version the mounts use (4.0, 4.1 or 4.2): selects the
#                       4.2-only checks (ALLOCATE, DEALLOCATE, SEEK, COPY)
#     --src DIR         local source data (guest-rw.sh makes it): DIR/tree, the tree to copy
#                       in, and DIR/r64m.bin, 64 MiB of random bytes
#     --quick           the subset for a second-rank version (4.0): the tree without
#                       DIR/tree/big (the >= 1 GiB part) and one fio job instead of four
#     --main MNT:DIR    the export used for most checks (rw, no_root_squash) mounted at MNT;
#                       DIR is the same directory on the server's disk
#     --rsq MNT:DIR     an export with root_squash (anon 65534) whose DIR is mode 1777
#     --asq MNT:DIR     an export with all_squash (anon 65534) whose DIR is mode 1777
#     --small MNT:DIR   an export of its own small (tens of MiB) filesystem, for ENOSPC
#     --outside DIR     a directory outside every export, a sibling of --main's DIR
#     --local DIR       a directory on a local ext4 filesystem, for "as on local ext4"
#     --server HOST     the server's address, for the extra mounts of the escape checks
#     --restart-cmd CMD run by bash to kill the server with SIGKILL and start it again (the
#                       check of item 4 is skipped, and counted as failed, without it)
# Needs root, the users alice and bob (different uids and primary groups) and a group "proj"
# that alice is a member of and bob is not; python3, fio, rsync.
#
# The battery works under a directory vVERS of each export and removes it at the end.
# Output is TAP; the exit status is the number of failed checks (capped at 100).
set -uo pipefail
export TZ=UTC LC_ALL=C

quick="" src="" main="" rsq="" asq="" small="" outside="" local_dir="" server=127.0.0.1 restart_cmd=""
notify_lock=""
while [ $# -gt 0 ]; do
    case "$1" in
    --src) src=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --main) main=$2; shift 2 ;;
    --rsq) rsq=$2; shift 2 ;;
    --asq) asq=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --outside) outside=$2; shift 2 ;;
    --local) local_dir=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    --restart-cmd) restart_cmd=$2; shift 2 ;;
    --notify-lock) notify_lock=1; shift ;;
    -*) echo "rw-battery: unknown option $1" >&2; exit 100 ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] && [ -n "$src" ] && [ -n "$main" ] && [ -n "$rsq" ] && [ -n "$asq" ] && [ -n "$small" ] \
    && [ -n "$outside" ] && [ -n "$local_dir" ] \
    || { echo "usage: rw-battery.sh --src DIR --main MNT:DIR --rsq MNT:DIR --asq MNT:DIR --small MNT:DIR --outside DIR --local DIR [--quick] [--server HOST] [--restart-cmd CMD] [--notify-lock] VERS" >&2; exit 100; }
vers=$1
M=${main%%:*} MD=${main#*:}          # main export: mount point, server directory
RQ=${rsq%%:*} RQD=${rsq#*:}
AQ=${asq%%:*} AQD=${asq#*:}
SM=${small%%:*} SMD=${small#*:}
R64=$src/r64m.bin
# Per-version working directories: through the mount (W*) and on the server's disk (S*).
W=$M/v$vers S=$MD/v$vers
WR=$RQ/v$vers SR=$RQD/v$vers
WA=$AQ/v$vers SA=$AQD/v$vers
WS=$SM/v$vers SS=$SMD/v$vers
L=$local_dir/v$vers
tmp=$(mktemp -d /tmp/rw-battery.XXXXXX)

n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
t0=$(date +%s) tstart=$(date +%s)
lap() { echo "# $1 took $(( $(date +%s) - t0 ))s"; t0=$(date +%s); }

# expect_err WANT DESC CMD...: CMD must fail, and its output must contain WANT (the error text
# a local program would print: the NFS error has to map back to the right errno).
expect_err() {
    local want=$1 d=$2 out rc
    shift 2
    out=$("$@" 2>&1); rc=$?
    if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$out"; then
        ok "$d"
    else
        not_ok "$d"
        echo "#   exit $rc, wanted a failure with '$want'; output: $(head -c 400 <<<"$out" | tr '\n' ' ')"
    fi
}
# same A B DESC: A and B must be equal strings (both are shown when not).
same() {
    if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; echo "#   got '$1', expected '$2'"; fi
}
# Run a command as a local user: real and effective ids and the user's supplementary groups,
# which the client sends in AUTH_SYS.
asuser() { local u=$1; shift; setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups -- "$@"; }
# sread FILE: the file's bytes as the server has them now: O_DIRECT reads bypass the client's
# page cache, which would otherwise answer from what the client itself wrote.
sread() { dd if="$1" bs=1M iflag=direct status=none; }
# dropc: forget every cached page, dentry and attribute (client and, for knfsd, server side),
# so that what follows is read back from the server.
dropc() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# listing DIR [PRUNE]: one line per entry: path, type, size (not for directories, whose size
# is the file system's business), mode, uid, gid, mtime (ns), link count, symlink target.
listing() {
    local fmt='%p\t%y\t%s\t%m\t%U\t%G\t%T@\t%n\t%l\n'
    if [ -n "${2:-}" ]; then
        (cd "$1" && find . -path "./$2" -prune -o -printf "$fmt")
    else
        (cd "$1" && find . -printf "$fmt")
    fi | awk -F'\t' -v OFS='\t' -v pruned="${2:-}" '
        $2 == "d" { $3 = "-" }
        pruned != "" && $1 == "." { $8 = "-" }   # the pruned directory counts in its link count
        { print }' | sort
}
# hlgroups DIR: each multiply-linked file with the first name (in path order) of its inode,
# so that hard-link groups compare between trees whatever the inode numbers.
hlgroups() {
    (cd "$1" && find . -type f -links +1 -printf '%i\t%p\n') | sort -t$'\t' -k2 |
        awk -F'\t' '{ if (!($1 in g)) g[$1] = $2; print $2 "\t" g[$1] }'
}
# cmp_lists DESC A B: two listings must be equal; the first differences are shown.
cmp_lists() {
    if cmp -s "$2" "$3"; then
        ok "$1 ($(wc -l < "$2") entries)"
    else
        not_ok "$1"
        diff "$2" "$3" | head -20 | sed 's/^/#   /'
    fi
}
# segmap FILE: the file's data segments as SEEK_DATA/SEEK_HOLE report them, and its size.
segmap() {
    python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
end = os.fstat(fd).st_size
off, segs = 0, []
while off < end:
    try:
        d = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break                       # ENXIO: no data after off
    h = os.lseek(fd, d, os.SEEK_HOLE)
    segs.append("%d-%d" % (d, h))
    off = h
print(" ".join(segs) or "no-data", "size", end)' "$1"
}
# blocks FILE: allocated bytes (st_blocks * 512).
blocks() { echo $(( $(stat -c %b "$1") * 512 )); }
# opstats MNT: "READ-bytes-received WRITE-bytes-sent COPY-calls" of this mount, from
# /proc/self/mountstats (per-op lines: ops trans timeouts bytes_sent bytes_recv ...).
opstats() {
    awk -v m="$1" '
        $1 == "device" { here = ($5 == m) }
        here && $1 == "READ:"  { r = $6 }
        here && $1 == "WRITE:" { w = $5 }
        here && $1 == "COPY:"  { c = $2 }
        END { print r + 0, w + 0, c + 0 }' /proc/self/mountstats
}

excl_tar=() excl_rsync=() excl_diff=() prune=""
if [ -n "$quick" ]; then
    excl_tar=(--exclude=./big) excl_rsync=(--exclude=/big) excl_diff=(-x big) prune=big
fi
echo "# rw-battery: vers=$vers${quick:+ (quick)} main=$main rsq=$rsq asq=$asq small=$small"
for u in alice bob; do id "$u" > /dev/null || { echo "Bail out! no user $u"; exit 100; }; done
getent group proj > /dev/null || { echo "Bail out! no group proj"; exit 100; }
for d in "$MD" "$RQD" "$AQD" "$SMD"; do
    [ -d "$d" ] || { echo "Bail out! no server directory $d"; exit 100; }
done
rm -rf "$S" "$SR" "$SA" "$SS" "$L"
mkdir -p "$L"
# The squashed exports' work directories are made on the server's disk: through the mount,
# root is nobody there. Mode 1777, so that any user can create in them.
mkdir -p "$SR" "$SA"; chmod 1777 "$SR" "$SA"

# ---- 7a. df through the mount equals the export's file system -----------------------------
# Size, used and available bytes, each within 1% of the file system's size (the client
# computes them from the server's space_total/space_free/space_avail; "used" may be tiny, so
# the tolerance is relative to the size), plus one block of the client's statfs: the Linux
# client rounds each figure up to its block size (the wsize, 1 MiB), more than 1% of the small
# file system. Taken first, while nothing else writes.
dfcmp() { # MNT DIR
    local a b i ok=1 tol
    sync
    read -r -a a < <(df -B1 --output=size,used,avail "$1" | tail -n1)
    read -r -a b < <(df -B1 --output=size,used,avail "$2" | tail -n1)
    tol=$(( b[0] / 100 + $(stat -f -c %S "$1") ))
    for i in 0 1 2; do
        local d=$(( a[i] - b[i] )); d=${d#-}
        [ "$d" -le "$tol" ] || ok=0
    done
    if [ $ok = 1 ]; then ok "df of $1 matches $2 within 1% (size used avail: ${a[*]} vs ${b[*]})"
    else not_ok "df of $1 matches $2 within 1%"; echo "#   size used avail: ${a[*]} (nfs) vs ${b[*]} (local)"; fi
}
dfcmp "$M" "$MD"
dfcmp "$SM" "$SMD"
lap df

# ---- 6. Escapes --------------------------------------------------------------------------
# The Linux client resolves symlinks itself, against its own namespace, and refuses RENAME
# and LINK between two mounts before sending anything. So what can reach the server is:
# OPEN/LOOKUP of the symlink object itself (the server must not follow it), and LOOKUP in the
# pseudo file system of names that are no export. Each check says which side it exercises.
secret=$outside/secret
echo "secret of v$vers, must stay" > "$secret"
touch -d '2000-01-01 00:00:00' "$secret"
secret_sum=$(sha256sum < "$secret") secret_mtime=$(stat -c %Y "$secret")
if [ "$(dirname "$outside")" != "$(dirname "$MD")" ]; then
    not_ok "--outside $outside is not a sibling of $MD (the relative escape links need that)"
fi
ob=$(basename "$outside")
ln -sfn "../$ob" "$MD/esc-v$vers"              # escapes by "..": the client resolves it to
ln -sfn "../$ob/secret" "$MD/escf-v$vers"      # $(dirname $M)/$ob, which must not exist
ln -sfn /etc "$MD/etc-v$vers"                  # absolute: resolved in the client's namespace
if [ -e "$(dirname "$M")/$ob" ]; then
    not_ok "precondition: $(dirname "$M")/$ob must not exist on the client"
fi
dropc   # cold dentries: the OPENs below go to the server by name, before any LOOKUP
# [server] An OPEN with create of a name that is a symlink must not follow it (NFS4ERR_SYMLINK
# or a lookup answer that it is a link); the client then resolves it to a missing path.
expect_err "No such file or directory" "[server] writing through an escaping symlink (cold OPEN by name) fails" \
    bash -c "echo pwned > '$M/escf-v$vers'"
expect_err "No such file or directory" "[server] appending through it fails too" \
    bash -c "echo pwned >> '$M/escf-v$vers'"
# [server] LOOKUP returns the symlinks themselves, with their text.
same "$(stat -c %F "$M/esc-v$vers" 2>&1)" "symbolic link" "[server] the escaping link is seen as a symlink, not followed"
same "$(readlink "$M/esc-v$vers")" "../$ob" "[server] its target text is intact"
same "$(stat -c %F "$M/etc-v$vers" 2>&1)" "symbolic link" "[server] the link to /etc is seen as a symlink"
same "$(readlink "$M/etc-v$vers")" "/etc" "[server] its target text is /etc"
# [client] Following them from the client reaches nothing of the server's outside.
expect_err "No such file or directory" "[client] cat MNT/esc/secret fails" cat "$M/esc-v$vers/secret"
mkdir -p "$W"
echo movable > "$W/movable"
check "[client] mv into the escaping link fails and the file stays" \
    bash -c "! mv '$W/movable' '$M/esc-v$vers/' 2>/dev/null && test -f '$S/movable' -a ! -e '$outside/movable'"
# [server] The pseudo file system shows the exports' ancestors, not their other children.
pseudo=$(dirname "$MD") pm=/mnt/rw-pseudo-$$
mkdir -p "$pm"
if mount -t nfs -o "vers=$vers,hard,timeo=600" "$server:$pseudo" "$pm"; then
    ls -a "$pm" > "$tmp/pseudo.ls" 2>&1
    check "[server] the pseudo directory $pseudo lists the export $(basename "$MD")" grep -qx "$(basename "$MD")" "$tmp/pseudo.ls"
    if grep -qx "$ob" "$tmp/pseudo.ls"; then not_ok "[server] the pseudo directory hides $ob"; sed 's/^/#   /' "$tmp/pseudo.ls"
    else ok "[server] the pseudo directory hides $ob"; fi
    expect_err "No such file or directory" "[server] LOOKUP of $ob in the pseudo fs fails" cat "$pm/$ob/secret"
    umount "$pm" || umount -f "$pm"
else
    not_ok "mount of the pseudo directory $server:$pseudo"
fi
# [server] Mounting the outside directory, directly or by ".." from an export, fails or shows
# nothing of it (the client walks ".." in its own dcache, the final LOOKUP is the server's).
for p in "$outside" "$MD/../$ob"; do
    if mount -t nfs -o "vers=$vers,hard,timeo=600" "$server:$p" "$pm" 2> "$tmp/mnt.err"; then
        if [ -e "$pm/secret" ]; then not_ok "[server] mount of $p must not reach $ob"
        else ok "[server] mount of $p succeeded but shows nothing of $ob"; fi
        umount "$pm" || umount -f "$pm"
    elif grep -qE 'No such file or directory|access denied' "$tmp/mnt.err"; then
        ok "[server] mount of $p is refused ($(head -n1 "$tmp/mnt.err"))"
    else
        not_ok "[server] mount of $p is refused as missing or denied"; sed 's/^/#   /' "$tmp/mnt.err"
    fi
done
rmdir "$pm"
# [client] RENAME and LINK between two exports: EXDEV. The Linux VFS refuses them between two
# mounts before any RPC (a raw-RPC test of NFS4ERR_XDEV belongs to tests/hostile). mv would fall
# back to copy+delete, so rename(2) and link(2) are called directly.
echo "in main" > "$W/xdev-a"; asuser alice bash -c "echo 'in asq' > '$WA/xdev-b'"
expect_err "Invalid cross-device link" "[client] rename(2) between two exports gives EXDEV" \
    python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$W/xdev-a" "$WA/xdev-a"
expect_err "Invalid cross-device link" "[client] link(2) between two exports gives EXDEV" \
    ln "$W/xdev-a" "$WA/xdev-link"
check "both files are untouched after the cross-export attempts" \
    test "$(cat "$S/xdev-a" "$SA/xdev-b" 2>&1)" = "$(printf 'in main\nin asq')" -a ! -e "$SA/xdev-a" -a ! -e "$SA/xdev-link"
lap escapes

# ---- 1. Data and metadata of a big tree ----------------------------------------------------
# tar x of the source tree into the mount, then diff -r (bytes) and the listing (metadata)
# against the source, read back after dropping every cache.
mkdir -p "$W/t"
tfiles() { (cd "$src/tree" && find . ${prune:+-path ./$prune -prune -o} "$@"); }
tsize=$(tfiles -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
# --format=posix: the pax headers carry nanosecond times (the default GNU format has seconds).
if (tar -C "$src/tree" "${excl_tar[@]}" --format=posix -cf - . | tar -C "$W/t" -xf -) 2> "$tmp/tar.err"; then
    ok "tar x of $((tsize / 1048576)) MiB ($(tfiles -print | wc -l) entries) into the mount"
else
    not_ok "tar x into the mount"; head -10 "$tmp/tar.err" | sed 's/^/#   /'
fi
lap "tar-x-$((tsize / 1048576))MiB"
dropc
# special/ holds a fifo and a device node: diff would open them; the listing checks them.
if diff -r --no-dereference -x special "${excl_diff[@]}" "$src/tree" "$W/t" > "$tmp/diff.out" 2>&1; then
    ok "diff -r of the tree against the source: identical"
else
    not_ok "diff -r of the tree against the source"; head -20 "$tmp/diff.out" | sed 's/^/#   /'
fi
lap diff-r
listing "$src/tree" "$prune" > "$tmp/l.src"
listing "$W/t" "$prune" > "$tmp/l.mnt"
listing "$S/t" "$prune" > "$tmp/l.srv"
cmp_lists "listing through the mount equals the source (type size mode owner group mtime nlink target)" "$tmp/l.src" "$tmp/l.mnt"
cmp_lists "listing on the server's disk equals the source" "$tmp/l.src" "$tmp/l.srv"
hlgroups "$src/tree" > "$tmp/h.src"; hlgroups "$W/t" > "$tmp/h.mnt"
cmp_lists "hard-link groups are the source's" "$tmp/h.src" "$tmp/h.mnt"
same "$(stat -c '%F %t:%T' "$W/t/special/null" 2>&1)" "character special file 1:3" "device node type and numbers"
same "$(stat -c '%F' "$W/t/special/fifo" 2>&1)" "fifo" "fifo type"
lap listing

# cp -a within the mount keeps modes, owners, times, symlinks and hard links. The metadata-rich
# parts are copied (big/'s bytes are copied server-side in section 5).
mkdir -p "$W/c"
if cp -a "$W/t/meta" "$W/t/small" "$W/t/special" "$W/c/" 2> "$tmp/cp.err"; then ok "cp -a of meta/ small/ special/ within the mount"
else not_ok "cp -a within the mount"; head -10 "$tmp/cp.err" | sed 's/^/#   /'; fi
for d in meta small special; do listing "$W/t/$d"; done > "$tmp/l.t"
for d in meta small special; do listing "$W/c/$d"; done > "$tmp/l.c"
for d in meta small special; do listing "$S/c/$d"; done > "$tmp/l.cs"
cmp_lists "cp -a copy: listing equals the original's" "$tmp/l.t" "$tmp/l.c"
cmp_lists "cp -a copy: listing on the server's disk equals the original's" "$tmp/l.t" "$tmp/l.cs"
hlgroups "$W/t/meta" > "$tmp/h.t"; hlgroups "$W/c/meta" > "$tmp/h.c"
check "cp -a copy: hard links kept ($(wc -l < "$tmp/h.t") names in groups)" cmp -s "$tmp/h.t" "$tmp/h.c"
dropc
if diff -r --no-dereference "$src/tree/meta" "$W/c/meta" > "$tmp/d.out" 2>&1 &&
   diff -r "$src/tree/small" "$W/c/small" >> "$tmp/d.out" 2>&1; then ok "cp -a copy: bytes equal the source"
else not_ok "cp -a copy: bytes equal the source"; head -10 "$tmp/d.out" | sed 's/^/#   /'; fi
lap cp-a

# rsync -a from the source onto the tar'ed tree: the second run must find nothing to do (the
# first one may touch what tar left different; it is shown).
rs() { rsync -a --stats --out-format='CHANGE %i %n' "${excl_rsync[@]}" "$src/tree/" "$W/t/"; }
rs > "$tmp/rs1.out" 2>&1 || { echo "# first rsync failed:"; tail -5 "$tmp/rs1.out" | sed 's/^/#   /'; }
echo "# first rsync -a: $(grep -c '^CHANGE' "$tmp/rs1.out") itemized changes"
grep '^CHANGE' "$tmp/rs1.out" | head -5 | sed 's/^/#   /'
rs > "$tmp/rs2.out" 2>&1; rc=$?
nchg=$(grep -c '^CHANGE' "$tmp/rs2.out")
nxfer=$(sed -n 's/^Number of regular files transferred: \([0-9,]*\)$/\1/p' "$tmp/rs2.out")
if [ $rc -eq 0 ] && [ "$nchg" = 0 ] && [ "$nxfer" = 0 ]; then ok "a second rsync -a transfers nothing (0 files, 0 itemized changes)"
else not_ok "a second rsync -a transfers nothing (exit $rc, $nchg changes, ${nxfer:-?} files)"; grep '^CHANGE' "$tmp/rs2.out" | head -10 | sed 's/^/#   /'; fi
lap rsync

# mv across directories: a file (same inode, same bytes), a directory, and over an existing file.
ino=$(stat -c %i "$W/t/small/d00/f000")
mv "$W/t/small/d00/f000" "$W/t/small/d01/moved"
check "mv of a file across directories keeps its inode" test "$(stat -c %i "$W/t/small/d01/moved")" = "$ino"
check "... and its bytes, read from the server" cmp <(sread "$W/t/small/d01/moved") "$src/tree/small/d00/f000"
check "... and the old name is gone (mount and server disk)" test ! -e "$W/t/small/d00/f000" -a ! -e "$S/t/small/d00/f000" -a -f "$S/t/small/d01/moved"
nd=$(ls "$src/tree/small/d02" | wc -l)
mv "$W/t/small/d02" "$W/t/meta/d02-moved"
check "mv of a directory across directories: all $nd entries follow" \
    test "$(ls "$W/t/meta/d02-moved" | wc -l)" = "$nd" -a ! -e "$S/t/small/d02" -a "$(ls "$S/t/meta/d02-moved" | wc -l)" = "$nd"
mv -f "$W/t/small/d03/f001" "$W/t/small/d04/f001"
check "mv over an existing file replaces it" cmp <(sread "$W/t/small/d04/f001") "$src/tree/small/d03/f001"
check "... and the source name is gone" test ! -e "$W/t/small/d03/f001" -a ! -e "$S/t/small/d03/f001"

# truncate down then up: the kept bytes stay, the new tail reads as zeros.
head -c $((1048576 + 123)) "$R64" > "$W/trunc"
truncate -s 5000 "$W/trunc"
check "truncate down to 5000: size and bytes (from the server)" \
    cmp <(sread "$W/trunc") <(head -c 5000 "$R64")
truncate -s 3M "$W/trunc"
check "truncate up to 3 MiB: the old bytes, then zeros (from the server)" \
    cmp <(sread "$W/trunc") <(head -c 5000 "$R64"; head -c $((3145728 - 5000)) /dev/zero)
check "... the same on the server's disk" cmp "$S/trunc" <(head -c 5000 "$R64"; head -c $((3145728 - 5000)) /dev/zero)

# touch -d: times set by the client (ns), atime apart, a symlink's own time; touch without -d
# asks for the server's time.
touch -d '2001-02-03 04:05:06.123456789' "$W/touch"
touch -a -d '2002-03-04 05:06:07.5' "$W/touch"
touch -h -d '1999-12-31 23:59:59.25' "$W/t/meta/sym-rel"
dropc
same "$(stat -c '%y|%x' "$W/touch")" "2001-02-03 04:05:06.123456789 +0000|2002-03-04 05:06:07.500000000 +0000" "touch -d / -a -d: mtime and atime through the mount"
same "$(stat -c '%y|%x' "$S/touch")" "2001-02-03 04:05:06.123456789 +0000|2002-03-04 05:06:07.500000000 +0000" "... and on the server's disk"
same "$(stat -c %y "$S/t/meta/sym-rel")" "1999-12-31 23:59:59.250000000 +0000" "touch -h sets a symlink's own mtime"
touch "$W/touch"
now=$(date +%s) mt=$(stat -c %Y "$S/touch")
check "touch without -d sets the current time ($mt vs $now)" test $(( now - mt )) -le 60 -a $(( mt - now )) -le 60
lap mv-truncate-touch

# ---- 2. Identity ------------------------------------------------------------------------
I=$W/id IS=$S/id
alice_ug="$(id -u alice):$(id -g alice)" bob_ug="$(id -u bob):$(id -g bob)"
mkdir -p "$I/shared" "$I/sgid" "$I/proj"
chmod 1777 "$I/shared"
asuser alice bash -c "echo alice-secret > '$I/shared/a600' && chmod 0600 '$I/shared/a600' && echo alice-public > '$I/shared/a644'"
same "$(stat -c %u:%g "$IS/shared/a600" 2>&1)" "$alice_ug" "a file alice creates is owned by alice on the server's disk"
same "$(stat -c %u:%g "$I/shared/a600" 2>&1)" "$alice_ug" "... and through the mount"
same "$(asuser alice cat "$I/shared/a600" 2>&1)" "alice-secret" "alice reads her 0600 file"
expect_err "Permission denied" "bob reading alice's 0600 file gets EACCES" asuser bob cat "$I/shared/a600"
expect_err "Permission denied" "bob writing alice's 0644 file gets EACCES" asuser bob bash -c "echo x >> '$I/shared/a644'"
check "bob can create a file in the 1777 directory" asuser bob bash -c "echo bob > '$I/shared/b'"
same "$(stat -c %u:%g "$IS/shared/b" 2>&1)" "$bob_ug" "... owned by bob on the server's disk"
expect_err "Operation not permitted" "bob cannot delete alice's file in the sticky directory (EPERM)" asuser bob rm -f "$I/shared/a600"
expect_err "Operation not permitted" "bob cannot rename alice's file in the sticky directory (EPERM)" asuser bob mv "$I/shared/a644" "$I/shared/stolen"
expect_err "Operation not permitted" "bob cannot chmod alice's file (EPERM)" asuser bob chmod 0666 "$I/shared/a644"
check "alice's files are all still there, unchanged" \
    test "$(cat "$IS/shared/a600" "$IS/shared/a644")" = "$(printf 'alice-secret\nalice-public')" -a "$(stat -c %a "$IS/shared/a644")" = 644
check "alice can delete her own file in the sticky directory" asuser alice rm "$I/shared/a644"
# setgid directory: new entries take its group, subdirectories its setgid bit.
chown "root:$(id -g bob)" "$I/sgid"; chmod 2777 "$I/sgid"
asuser alice bash -c "echo x > '$I/sgid/f' && mkdir '$I/sgid/d'"
same "$(stat -c %u:%g "$IS/sgid/f" 2>&1)" "$(id -u alice):$(id -g bob)" "a file created in a setgid directory takes its group"
same "$(stat -c %a:%g "$IS/sgid/d" 2>&1)" "2755:$(id -g bob)" "a directory created there takes its group and the setgid bit"
# Supplementary groups travel in AUTH_SYS: proj (alice's, not bob's) opens a 0770 directory.
chown root:proj "$I/proj"; chmod 0770 "$I/proj"
check "alice, through her supplementary group proj, creates a file in a root:proj 0770 directory" \
    asuser alice bash -c "echo x > '$I/proj/f'"
expect_err "Permission denied" "bob, not in proj, cannot" asuser bob bash -c "echo x > '$I/proj/g'"
# root_squash: root's new files belong to the anon id, and root reads as nobody.
echo rootdata > "$WR/rootfile"
same "$(stat -c %u:%g "$SR/rootfile" 2>&1)" "65534:65534" "root_squash: root's new file is owned by 65534:65534 on the server's disk"
asuser alice bash -c "echo alice > '$WR/afile' && chmod 0600 '$WR/afile'"
same "$(stat -c %u:%g "$SR/afile" 2>&1)" "$alice_ug" "root_squash: alice's new file is alice's"
expect_err "Permission denied" "root_squash: root cannot read alice's 0600 file" cat "$WR/afile"
# all_squash: everyone is the anon id.
asuser alice bash -c "echo alice > '$WA/afile'"
same "$(stat -c %u:%g "$SA/afile" 2>&1)" "65534:65534" "all_squash: alice's new file is owned by 65534:65534"
lap identity

# ---- 3. The csi-driver-nfs sequence ------------------------------------------------------
# CreateVolume: MkdirAll(base/ns/team/pvc, 0777) then Chmod(0777); the pod writes, as its own
# user; CreateSnapshot: tar czf of the volume; restore: tar xzf into a new volume; clone: cp -a;
# DeleteVolume with archiveOnDelete: rename to archived-<name>, then a recursive delete; the
# emptied parents are removed.
C=$W/csi CS=$S/csi vol=pvc-0001
mkdir -p "$C/snapshots" "$C/restored" "$C/cloned"
(umask 022; mkdir -p -m 0777 "$C/ns-a/team/$vol") && chmod 0777 "$C/ns-a/team/$vol"
same "$(stat -c %a "$C/ns-a/team/$vol" 2>&1)|$(stat -c %a "$CS/ns-a/team/$vol" 2>&1)" "777|777" "csi: volume directory mode 0777 (mount|disk)"
asuser alice bash -c "
    set -e
    cd '$C/ns-a/team/$vol'
    mkdir data && head -c 300000 '$R64' > data/shard-0 && echo log > train.log && ln -s data/shard-0 latest
    d=deep; for i in \$(seq 1 50); do d=\$d/l\$i; done; mkdir -p \$d
    d=deep; for i in \$(seq 1 50); do d=\$d/l\$i; echo \$i > \$d/f; done"
check "csi: the pod (alice) wrote its data and a 50-level tree" test -f "$CS/ns-a/team/$vol/deep/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15/l16/l17/l18/l19/l20/l21/l22/l23/l24/l25/l26/l27/l28/l29/l30/l31/l32/l33/l34/l35/l36/l37/l38/l39/l40/l41/l42/l43/l44/l45/l46/l47/l48/l49/l50/f"
chmod 0775 "$C/ns-a/team/$vol/data"
same "$(stat -c %a "$CS/ns-a/team/$vol/data")" 775 "csi: chmod"
check "csi: tar czf snapshot" tar -C "$C/ns-a/team/$vol" -czf "$C/snapshots/snap-$vol.tar.gz" .
check "csi: tar xzf restore into a new volume" tar -C "$C/restored" -xzf "$C/snapshots/snap-$vol.tar.gz"
# (tar czf, as the driver runs it, writes the GNU format: times to the second.)
secs() { awk -F'\t' -v OFS='\t' '{ $7 = int($7) } { print }' "$1"; }
listing "$C/ns-a/team/$vol" > "$tmp/csi.orig"
listing "$C/restored" > "$tmp/csi.rest"
secs "$tmp/csi.orig" > "$tmp/csi.orig.s"; secs "$tmp/csi.rest" > "$tmp/csi.rest.s"
cmp_lists "csi: the restored volume equals the original (times to the second)" "$tmp/csi.orig.s" "$tmp/csi.rest.s"
check "csi: cp -a clone" cp -a "$C/ns-a/team/$vol/." "$C/cloned/"
listing "$C/cloned" > "$tmp/csi.clone"
cmp_lists "csi: the clone equals the original" "$tmp/csi.orig" "$tmp/csi.clone"
check "csi: clone bytes" cmp <(sread "$C/cloned/data/shard-0") <(head -c 300000 "$R64")
check "csi: rename to archived-$vol" mv "$C/ns-a/team/$vol" "$C/ns-a/team/archived-$vol"
check "csi: the archived volume keeps its content, the old name is gone" \
    test -f "$CS/ns-a/team/archived-$vol/train.log" -a ! -e "$CS/ns-a/team/$vol"
expect_err "Directory not empty" "csi: rmdir of a non-empty directory gives ENOTEMPTY" rmdir "$C/ns-a/team/archived-$vol"
check "csi: recursive delete of the archived volume (50 levels deep)" rm -rf "$C/ns-a/team/archived-$vol"
check "csi: it is gone on the server's disk" test ! -e "$CS/ns-a/team/archived-$vol"
check "csi: rmdir -p of the emptied parents" bash -c "cd '$C' && rmdir -p ns-a/team"
check "csi: the parents are gone, the rest stays" test ! -e "$CS/ns-a" -a -d "$CS/restored" -a -d "$CS/cloned"
lap csi

# ---- locks (issue 5, acceptance 1): byte-range locks between processes and clients ------
# plock OP FILE r|w START LEN [HOLD]: fcntl byte-range locks from perl (perl-base is in every
# Debian system; python is not in the guest). OP set: F_SETLK, exit 1 if refused (EAGAIN or
# EACCES: a conflicting lock; any other error is exit 3); wait:
# F_SETLKW; with HOLD the lock is held that many seconds after FILE.held appears, then
# unlocked, and FILE.released gets the time of the unlock (epoch seconds). OP get:
# F_GETLK, prints "none" or "read|write START LEN" of a conflicting lock.
cat > "$tmp/plock.pl" <<'EOF'
use Fcntl;
my ($op, $f, $t, $s, $l, $h) = @ARGV;
open(my $fh, ($t eq "w" ? "+<" : "<"), $f) or exit 2;
my $fl = pack("s s x4 q q l x4", ($t eq "w" ? F_WRLCK : F_RDLCK), 0, $s, $l, 0);
if ($op eq "get") {
    fcntl($fh, F_GETLK, $fl) or exit 2;
    my ($ty, $wh, $st, $ln) = unpack("s s x4 q q", $fl);
    print(($ty == F_UNLCK ? "none" : $ty == F_WRLCK ? "write" : "read") . " $st $ln\n");
    exit 0;
}
fcntl($fh, $op eq "wait" ? F_SETLKW : F_SETLK, $fl) or exit(($!{EAGAIN} || $!{EACCES}) ? 1 : 3);
if ($h) {
    open(my $m, ">", "$f.held"); close $m; sleep $h;
    # unlock, then say when (whole seconds): the waiter's lag after the release
    fcntl($fh, F_SETLK, pack("s s x4 q q l x4", F_UNLCK, 0, $s, $l, 0)) or exit 3;
    open($m, ">", "$f.released"); print $m time(), "\n"; close $m;
}
exit 0;
EOF
plock() { perl "$tmp/plock.pl" "$@"; }
# A holder in the background is perl itself (not the function in a subshell, which would
# not pass on a SIGTERM while it waits for perl), so that kill ends it and its lock.
refused() { plock "$@"; [ $? -eq 1 ]; }
held_wait() { for _ in $(seq 1 300); do [ -e "$1.held" ] && return 0; sleep 0.1; done; return 1; }
LK=$W/locks
mkdir -p "$LK"
head -c 4096 "$R64" > "$LK/f"
# A second, independent client: the Linux client keeps one client record per server address
# and names it after the host name (4.1+) or both addresses (4.0), so a mount through another
# loopback address from another UTS namespace is another NFSv4 client to the server.
M2=$tmp/peer
mkdir -p "$M2"
mount_peer() { unshare -u bash -c "hostname lockpeer && mount -t nfs -o vers=$vers,hard,timeo=600 127.0.0.2:$MD '$M2'"; }
peer_ok=0
mount_peer && peer_ok=1
check "[locks] a second client mounts the export (127.0.0.2, host name lockpeer)" test $peer_ok = 1
P=$M2/v$vers/locks
perl "$tmp/plock.pl" set "$LK/f" w 0 100 25 & lpid=$!
check "[locks] process A takes a write lock on [0,100)" held_wait "$LK/f"
check "[locks] process B on the same client is refused an overlapping write lock [50,60)" refused set "$LK/f" w 50 10
check "[locks] ... and a read lock on [0,10)" refused set "$LK/f" r 0 10
check "[locks] ... but gets the adjacent range [100,200)" plock set "$LK/f" w 100 100
same "$(plock get "$LK/f" w 0 4096)" "write 0 100" "[locks] F_GETLK (LOCKT) names A's lock and range"
if [ $peer_ok = 1 ]; then
    check "[locks] the second client is refused a write lock on [99,100)" refused set "$P/f" w 99 1
    check "[locks] ... and gets one on [100,4096)" plock set "$P/f" w 100 3996
    same "$(plock get "$P/f" r 0 1)" "write 0 100" "[locks] the second client's F_GETLK sees A's lock"
    tb=$(date +%s)
    check "[locks] the second client's blocking F_SETLKW waits for A and then gets the lock" timeout 180 perl "$tmp/plock.pl" wait "$P/f" w 0 100
    tg=$(date +%s)
    waited=$(( tg - tb ))
    rel=$(cat "$LK/f.released" 2>/dev/null || echo 0)
    lag=$(( tg - rel ))
    check "[locks] ... it was granted only after A's lock went (waited ${waited}s, ${lag}s after the unlock)" \
        bash -c "[ $rel -gt 0 ] && [ $lag -ge 0 ]"
    # NFSv4.1+: the server tells the waiting client with CB_NOTIFY_LOCK (RFC 8881 §20.11),
    # so it need not wait for its next poll (the Linux client waits up to 30 s between
    # tries). --notify-lock: the server remembers the waiter across those 30 s; knfsd
    # forgets it after one lease (10 s in the guest: then it too is late), so it is not
    # asked of knfsd here.
    if [ "$vers" != 4.0 ] && [ -n "$notify_lock" ]; then
        check "[locks] ... promptly: notified by CB_NOTIFY_LOCK (${lag}s after the unlock, limit 5s)" \
            test "$lag" -le 5
    fi
else
    for _ in 1 2 3 4 5; do not_ok "[locks] second-client check skipped: no second mount"; done
fi
wait $lpid
check "[locks] A held its lock to the end without error" test $? -eq 0
check "[locks] with A gone, B takes a write lock over the whole file" plock set "$LK/f" w 0 0
[ $peer_ok = 1 ] && { umount "$M2" || umount -f "$M2"; }
rm -rf "$LK"
lap locks

# ---- delegations (issue 5, acceptance 3): a read delegation, recalled by another client's write
# Client 1 (the main mount) reads a file and keeps it open; a server that grants it a read
# delegation lets it open the file again without asking (no OPEN in this mount's mountstats).
# A second client (127.0.0.2, as for the locks) then rewrites the file: the server must recall
# the delegation (CB_RECALL) and let the write through once client 1 has answered with
# DELEGRETURN, well within the lease, not by waiting it out; client 1 then reads the new bytes.
# opcount MNT OP...: how many calls of these operations this mount has sent, in all
# (/proc/self/mountstats: ops is field 2). The client counts an OPEN by file handle (CLAIM_FH,
# 4.1 and later) as OPEN_NOATTR.
opcount() {
    local m=$1
    shift
    awk -v m="$m" -v ops=" $* " '
        $1 == "device" { here = ($5 == m) }
        here && $1 ~ /:$/ && index(ops, " " substr($1, 1, length($1) - 1) " ") { c += $2 }
        END { print c + 0 }' /proc/self/mountstats
}
DL=$W/dlg
mkdir -p "$DL"
peer_ok=0
mount_peer && peer_ok=1
check "[deleg] a second client mounts the export (127.0.0.2, host name lockpeer)" test $peer_ok = 1
echo "v$vers: written by client 1" > "$DL/f"
# The holder reads the file through a read-only descriptor, then becomes sleep (exec: the same
# pid, killed below) with the descriptor still open; sleep bounds it if the kill never comes.
bash -c 'exec 3< "$1" && cat <&3 > /dev/null && exec sleep 300' dlg-holder "$DL/f" & hpid=$!
holding() {
    for _ in $(seq 1 100); do
        [ "$(cat /proc/$hpid/comm 2>/dev/null)" = sleep ] && [ "$(readlink /proc/$hpid/fd/3)" = "$DL/f" ] && return 0
        sleep 0.1
    done
    return 1
}
check "[deleg] a process on client 1 opens the file read-only, reads it and keeps it open" holding
# One more open first: an OPEN is where the server hands out the delegation (a 4.0 server gives
# none to an open owner it has not confirmed yet); the one after it is the evidence.
timeout -k 5 60 cat "$DL/f" > /dev/null
o0=$(opcount "$M" OPEN OPEN_NOATTR)
got=$(timeout -k 5 60 cat "$DL/f" 2>&1)
o1=$(opcount "$M" OPEN OPEN_NOATTR)
if [ "$got" = "v$vers: written by client 1" ] && [ $o1 -eq $o0 ]; then
    ok "[deleg] client 1 holds a read delegation: another open and read of the file sends no OPEN (OPEN + OPEN_NOATTR calls: $o0 before and after)"
else
    not_ok "[deleg] client 1 holds a read delegation: another open and read of the file sends no OPEN"
    echo "#   $((o1 - o0)) OPEN or OPEN_NOATTR calls; read '$got'"
fi
if [ $peer_ok = 1 ]; then
    d0=$(opcount "$M" DELEGRETURN)
    tw=$(date +%s%N)
    timeout -k 5 120 bash -c "echo 'v$vers: rewritten by client 2' > '$M2/v$vers/dlg/f'" 2> "$tmp/dlg.err"; rc=$?
    tw=$(( ($(date +%s%N) - tw) / 1000000 ))
    tws=$(printf '%d.%03d' $((tw / 1000)) $((tw % 1000)))
    if [ $rc -eq 0 ] && [ $tw -lt 90000 ]; then
        ok "[deleg] the second client's open, truncate, write and close complete within the lease (${tws}s, limit 90s)"
    else
        not_ok "[deleg] the second client's open, truncate, write and close complete within the lease (exit $rc after ${tws}s, limit 90s)"
        sed 's/^/#   /' "$tmp/dlg.err"
    fi
    # The DELEGRETURN reply may be counted a moment after the server has seen it.
    tend=$(( $(date +%s) + 5 ))
    while d1=$(opcount "$M" DELEGRETURN); [ $d1 -le $d0 ] && [ $(date +%s) -lt $tend ]; do sleep 0.2; done
    check "[deleg] client 1 returned the delegation (DELEGRETURN calls $d0 -> $d1)" test $d1 -gt $d0
    got=$(timeout -k 5 60 cat "$DL/f" 2>&1)
    same "$got" "v$vers: rewritten by client 2" "[deleg] client 1 then opens the file afresh and reads the second client's content"
    [ "$got" = "v$vers: rewritten by client 2" ] || echo "#   on the server's disk: '$(cat "$S/dlg/f" 2>&1)'"
else
    for _ in 1 2 3; do not_ok "[deleg] second-client check skipped: no second mount"; done
fi
kill -TERM $hpid 2>/dev/null; wait $hpid 2>/dev/null
[ $peer_ok = 1 ] && { umount "$M2" || umount -f "$M2"; }
rm -rf "$DL"
lap delegations

# ---- 4. fio write-then-verify, and bytes acknowledged before a SIGKILL -------------------
# Each job verifies right after writing (do_verify), then again with verify_only after all
# caches are dropped, so that the buffered case's bytes are read back from the server. Sizes:
# O_DIRECT 4 KiB writes are one synchronous RPC each (~4 ms under the guest's software CPU),
# so that job is kept to 8 MiB; the others go by 1 MiB RPCs.
combos="4k:0:64M 4k:1:8M 1M:0:64M 1M:1:64M"
[ -n "$quick" ] && combos="1M:0:64M"
for combo in $combos; do
    IFS=: read -r bs direct size <<< "$combo"
    {
        f=$W/fio-$bs-$direct
        args=(--name=v --filename="$f" --size=$size --rw=write --bs=$bs --direct=$direct --ioengine=psync
              --verify=crc32c --verify_fatal=1)
        if fio "${args[@]}" --do_verify=1 > "$tmp/fio.out" 2>&1; then
            dropc
            if fio "${args[@]}" --verify_only > "$tmp/fio2.out" 2>&1; then
                ok "fio write+verify crc32c bs=$bs direct=$direct size=$size, and verify_only after dropping caches"
            else
                not_ok "fio verify_only bs=$bs direct=$direct after dropping caches"; tail -8 "$tmp/fio2.out" | sed 's/^/#   /'
            fi
        else
            not_ok "fio write+verify crc32c bs=$bs direct=$direct size=$size"; tail -8 "$tmp/fio.out" | sed 's/^/#   /'
        fi
        rm -f "$f"
        lap "fio-$bs-direct$direct"
    }
done

# dd conv=fsync, then the server is killed (SIGKILL) and restarted while a second writer is in
# the middle of its file: the hard mount carries on; both files must read back intact.
# Issue 5, acceptance 2: across the same kill a process holds a write lock and fio writes with
# verify; the client must reclaim the lock in the grace period, a second client must not get it
# meanwhile, and fio must finish without error.
K=$W/kill KS=$S/kill
mkdir -p "$K"
check "dd conv=fsync of 64 MiB" dd if="$R64" of="$K/acked" bs=1M conv=fsync status=none
if [ -z "$restart_cmd" ]; then
    not_ok "server kill and restart: no --restart-cmd given"
else
    : > "$K/lockf"
    perl "$tmp/plock.pl" set "$K/lockf" w 0 0 900 & holder=$!
    check "[restart] a process holds a write lock on the whole of kill/lockf" held_wait "$K/lockf"
    peer_ok=0
    mount_peer && peer_ok=1
    check "[restart] a second client mounts the export (127.0.0.2)" test $peer_ok = 1
    fio --name=rst --filename="$K/fio-rst" --size=96M --bs=1M --rw=write --ioengine=psync \
        --verify=crc32c --do_verify=1 --verify_fatal=1 > "$tmp/fio-rst.out" 2>&1 &
    fpid=$!
    ( cat "$R64" "$R64" | dd of="$K/inflight" bs=1M iflag=fullblock conv=fsync status=none
      echo $? > "$tmp/dd2.rc" ) 2> "$tmp/dd2.err" &
    wpid=$!
    for i in $(seq 1 600); do
        [ "$(stat -c %s "$KS/inflight" 2>/dev/null || echo 0)" -ge $((16 << 20)) ] && break
        [ -f "$tmp/dd2.rc" ] && break
        sleep 0.1
    done
    midway=0; [ -f "$tmp/dd2.rc" ] || midway=1
    tk=$(date +%s)
    bash -c "$restart_cmd" > "$tmp/restart.out" 2>&1; rc=$?
    if [ $rc -eq 0 ]; then ok "server killed with SIGKILL and restarted ($restart_cmd)"
    else not_ok "server killed with SIGKILL and restarted (exit $rc)"; tail -5 "$tmp/restart.out" | sed 's/^/#   /'; fi
    check "the kill came while the second writer was writing (at $(( $(stat -c %s "$KS/inflight" 2>/dev/null || echo 0) >> 20 )) MiB of 128)" test $midway = 1
    if [ $peer_ok = 1 ]; then
        # Right after the restart: the second client's non-blocking lock either waits out the
        # grace period (NFS4ERR_GRACE is retried by the client) or is refused, and must not
        # be granted: the first client reclaims its lock.
        tp=$(date +%s)
        check "[restart] the second client does not get the lock held across the restart" \
            refused set "$M2/v$vers/kill/lockf" w 0 1
        echo "# the second client's answer came $(( $(date +%s) - tp ))s after the restart"
    else
        not_ok "[restart] second-client check skipped: no second mount"
    fi
    wait $fpid
    frc=$?
    same "$frc" 0 "[restart] fio write+verify (crc32c, 96 MiB) across the kill finishes without error and verifies"
    [ "$frc" = 0 ] || tail -8 "$tmp/fio-rst.out" | sed 's/^/#   /'
    check "[restart] the lock holder is still running" kill -0 $holder
    if [ $peer_ok = 1 ]; then
        check "[restart] after the grace period the second client is still refused the lock" \
            refused set "$M2/v$vers/kill/lockf" w 0 1
        kill -TERM $holder 2>/dev/null; wait $holder 2>/dev/null
        check "[restart] once the holder is gone the second client gets the lock" \
            plock set "$M2/v$vers/kill/lockf" w 0 1
        umount "$M2" || umount -f "$M2"
    else
        kill -TERM $holder 2>/dev/null; wait $holder 2>/dev/null
    fi
    wait $wpid
    same "$(cat "$tmp/dd2.rc" 2>/dev/null)" 0 "the writer interrupted by the restart finishes without error ($(( $(date +%s) - tk ))s after the kill)"
    [ -s "$tmp/dd2.err" ] && sed 's/^/#   dd: /' "$tmp/dd2.err"
    dropc
    check "the file fsync'ed before the kill reads back intact" cmp <(sread "$K/acked") "$R64"
    check "the file written across the kill reads back intact (128 MiB)" cmp <(sread "$K/inflight") <(cat "$R64" "$R64")
    check "both are intact on the server's disk" bash -c "cmp '$KS/acked' '$R64' && cmp '$KS/inflight' <(cat '$R64' '$R64')"
fi
rm -rf "$K"
lap kill-restart

# ---- 5. Sparse files, fallocate, SEEK, server-side copy ----------------------------------
# The same operations on a local ext4 file give the reference ("as on local ext4").
mksparse() { # FILE: 10 MiB, data at [0,1M) and [8M,9M), holes elsewhere
    truncate -s 10M "$1"
    dd if="$R64" of="$1" bs=1M count=1 conv=notrunc status=none
    dd if="$R64" of="$1" bs=1M count=1 seek=8 skip=8 conv=notrunc status=none
}
mksparse "$W/sparse"; mksparse "$L/sparse"; sync
same "$(segmap "$S/sparse")" "$(segmap "$L/sparse")" "a file written with holes is sparse on the server's disk as on local ext4"
# cp --sparse=always (any version: the client finds the zeros, the server must keep the holes):
# of the sparse file, and of a file of zeros written densely.
dd if=/dev/zero of="$W/zeros" bs=1M count=4 conv=fsync status=none
dd if=/dev/zero of="$L/zeros" bs=1M count=4 conv=fsync status=none
cp --sparse=always "$W/sparse" "$W/sparse.cp"; cp --sparse=always "$W/zeros" "$W/zeros.cp"
cp --sparse=always "$L/sparse" "$L/sparse.cp"; cp --sparse=always "$L/zeros" "$L/zeros.cp"
sync
check "cp --sparse=always: the copy's bytes equal the original's" \
    bash -c "cmp <(dd if='$W/sparse.cp' bs=1M iflag=direct status=none) '$L/sparse' && cmp <(dd if='$W/zeros.cp' bs=1M iflag=direct status=none) '$L/zeros'"
same "$(segmap "$S/sparse.cp") / $(segmap "$S/zeros.cp")" "$(segmap "$L/sparse.cp") / $(segmap "$L/zeros.cp")" \
    "cp --sparse=always: the copies' holes on the server's disk are as on local ext4"
same "$(blocks "$S/zeros.cp")" "$(blocks "$L/zeros.cp")" "cp --sparse=always of zeros: allocated bytes as on local ext4"
if [ "$vers" = 4.2 ]; then
    # SEEK_DATA/SEEK_HOLE through the mount (SEEK; before 4.2 the client answers by itself).
    same "$(segmap "$W/sparse")" "$(segmap "$L/sparse")" "SEEK_DATA/SEEK_HOLE through the mount as on local ext4"
    # fallocate (ALLOCATE): a new file, and a range inside a hole.
    fallocate -l 8M "$W/falloc"; fallocate -l 8M "$L/falloc"
    same "$(stat -c %s "$W/falloc") $(blocks "$W/falloc")" "$(stat -c %s "$L/falloc") $(blocks "$L/falloc")" "fallocate -l 8M: size and allocated bytes as on local ext4"
    same "$(blocks "$S/falloc")" "$(blocks "$L/falloc")" "... and on the server's disk"
    fallocate -o 3M -l 1M "$W/sparse"; fallocate -o 3M -l 1M "$L/sparse"
    # fallocate -p (DEALLOCATE): punch a hole into data; the range reads as zeros.
    fallocate -p -o 256K -l 512K "$W/sparse"; fallocate -p -o 256K -l 512K "$L/sparse"
    # The maps first, with nothing cached: ext4 reports an unwritten (fallocated) range as
    # data once the page cache holds pages of it, as reading the file would leave.
    dropc
    same "$(segmap "$W/sparse")" "$(segmap "$L/sparse")" "fallocate -o/-p: SEEK_DATA/SEEK_HOLE through the mount as on local ext4"
    same "$(blocks "$S/sparse")" "$(blocks "$L/sparse")" "fallocate -o/-p: allocated bytes on the server's disk as on local ext4"
    check "fallocate -o/-p: the bytes are as on local ext4 (zeros in the punched range)" cmp <(sread "$W/sparse") "$L/sparse"
    lap sparse-fallocate-seek
    # A 1 GiB cp within the mount is a server-side COPY: the bytes do not cross the
    # connection (READ and WRITE byte counters of this mount barely move).
    if [ -z "$quick" ]; then
        big=$W/t/big/1g.bin
        read -r r0 w0 c0 < <(opstats "$M")
        cp "$big" "$W/cp1g"; rc=$?
        read -r r1 w1 c1 < <(opstats "$M")
        check "cp of the 1 GiB file within the mount (exit $rc)" test $rc -eq 0
        check "... was done with COPY ($((c1 - c0)) calls)" test $((c1 - c0)) -ge 1
        check "... and moved no data over the connection (READ $(( (r1 - r0) >> 10 )) KiB, WRITE $(( (w1 - w0) >> 10 )) KiB, limit 16 MiB)" \
            test $((r1 - r0)) -lt $((16 << 20)) -a $((w1 - w0)) -lt $((16 << 20))
        check "... and the copy is byte-exact on the server's disk" cmp "$S/t/big/1g.bin" "$S/cp1g"
        rm -f "$W/cp1g"
        lap server-side-copy
    fi
else
    echo "# SEEK, ALLOCATE, DEALLOCATE and COPY are NFSv4.2 operations: skipped with vers=$vers"
    lap sparse
fi

# ---- 7b. ENOSPC on a full file system -----------------------------------------------------
# File A is written and fsync'ed (acknowledged), then writers fill the small file system until
# ENOSPC, buffered (the error comes from WRITE/COMMIT replies via write(2) or fsync(2)) and
# O_DIRECT; A must be unchanged, and freeing the space must bring it back.
mkdir -p "$WS"
check "small fs: dd conv=fsync of file A (8 MiB)" dd if="$R64" of="$WS/A" bs=1M count=8 conv=fsync status=none
avail0=$(df -B1 --output=avail "$SM" | tail -n1)
for mode in conv=fsync oflag=direct; do
    timeout 600 dd if=/dev/zero of="$WS/fill" bs=1M count=256 $mode > "$tmp/fill.out" 2>&1; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "No space left on device" "$tmp/fill.out"; then
        ok "small fs: dd $mode until full gets ENOSPC ($(grep -m1 'No space' "$tmp/fill.out"))"
    else
        not_ok "small fs: dd $mode until full gets ENOSPC (exit $rc)"; sed 's/^/#   /' "$tmp/fill.out"
    fi
    check "small fs: A is unchanged after the $mode writer hit ENOSPC" cmp <(sread "$WS/A") <(head -c 8M "$R64")
    rm -f "$WS/fill"
done
check "small fs: A is intact on the server's disk" cmp "$SS/A" <(head -c 8M "$R64")
# The server may free the blocks of a removed file a little later (open-file caches).
for i in $(seq 1 30); do
    avail1=$(df -B1 --output=avail "$SM" | tail -n1)
    [ $(( avail0 - avail1 )) -lt $((1 << 20)) ] && break
    sleep 1
done
check "small fs: the space is back after removing the filler ($((avail1 >> 20)) vs $((avail0 >> 20)) MiB)" \
    test $(( avail0 - avail1 )) -lt $((1 << 20)) -a $(( avail1 - avail0 )) -lt $((1 << 20))
lap enospc

# ---- cleanup, through the mount: a recursive delete of everything written above ----------
# (The squashed exports' directories hold files their squashed root may not delete: they are
# removed on the server's disk.)
check "rm -rf of this version's work directories" rm -rf "$W" "$WS" "$M/esc-v$vers" "$M/escf-v$vers" "$M/etc-v$vers"
check "nothing of them is left on the server's disk" test ! -e "$S" -a ! -e "$SS" -a ! -L "$MD/esc-v$vers" -a ! -L "$MD/escf-v$vers"
rm -rf "$L" "$SR" "$SA"
lap cleanup

# The outside file, last: nothing above may have changed it.
same "$(sha256sum < "$secret") $(stat -c %Y "$secret")" "$secret_sum $secret_mtime" "the file outside the exports is untouched (bytes, mtime)"

rm -rf "$tmp"
echo "1..$n"
echo "# rw-battery vers=$vers: $((n - failed)) of $n passed in $(( $(date +%s) - tstart ))s"
exit $(( failed > 100 ? 100 : failed ))

#!/bin/bash
# host.libnfs: libnfs's command-line client against sluiced, on the host (no VM needed).
#
#   libnfs.sh SLUICED
#
# A second NFSv4 client, independent of the Linux kernel's: Debian's libnfs-utils 4.0 in its
# NFSv4 mode (it speaks NFSv4.0: SETCLIENTID, PUTROOTFH/LOOKUP, READDIR, OPEN/READ/CLOSE).
# It makes a scratch export (sizes around page edges, 1 MiB + 3, 5 MiB of random bytes,
# nested and empty directories, symlinks, names with spaces and UTF-8), starts SLUICED on a
# free loopback port, and checks that
#   - nfs-ls (plain, of a subdirectory, and -R) shows every name with its type and size,
#   - nfs-cat reads every regular file (and one through a symlink) byte for byte (sha256),
#   - every file read again (new clients: OPEN, READ, CLOSE) comes from sluice's page cache
#     (its counters: hits, no misses),
#   - a missing name is an error, and sluiced is still up after all of it,
#   - SIGTERM stops sluiced within a few seconds with exit status 0.
#
# libnfs 4.0 URL syntax (libnfs.h, "URL parsing functions"; checked against this version):
#   nfs://127.0.0.1/PATH?version=4&nfsport=PORT
#   version=4  NFSv4 (the default is v3); nfsport=PORT connects there directly, without asking
#   a portmapper (NFSv4 uses no MOUNT protocol, so no mountport is needed).
#   nfs-ls takes a directory: nfs://127.0.0.1/?... is the root of the pseudo-fs (our export).
#   nfs-cat splits the URL at its last '/' into a "mount path" and a file, and the mount path
#   must start with '/': a file in the root is nfs://127.0.0.1//NAME (two slashes), so every
#   file here is read as nfs://127.0.0.1//REL/PATH. Names are not percent-decoded: spaces and
#   UTF-8 go into the URL as they are ('?' and '&' in a name would not; none is used).
#
# Output is TAP-like; exit 0 when every check passed, 77 (skipped) when not root or a tool is
# missing, 1 otherwise. On failure the tail of sluiced's log is printed.
set -uo pipefail

sluiced=${1:-}
[ -n "$sluiced" ] || { echo "usage: libnfs.sh SLUICED" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root (sluiced needs open_by_handle_at)"; exit 77
fi
for tool in nfs-ls nfs-cat ss sha256sum timeout; do
    command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool missing (apt-get install libnfs-utils iproute2)"; exit 77; }
done
[ -x "$sluiced" ] || { echo "Bail out! $sluiced is not an executable"; exit 1; }

n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
indent() { sed 's/^/#   /'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-libnfs.XXXXXX")
exp="$work/export"
log="$work/sluiced.log"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
log_tail() {
    echo "# last lines of sluiced's log ($log):"
    tail -n 40 "$log" 2>/dev/null | indent
}
finish() {
    echo "1..$n"
    echo "# libnfs: $((n - failed)) of $n passed"
    [ "$failed" -eq 0 ] || log_tail
    exit $(( failed > 0 ))
}

# --- the scratch export -------------------------------------------------------------------
mkdir -p "$exp/dir/sub/deeper" "$exp/empty" "$exp/with space"
for s in 0 1 4095 4096 4097 $((1048576 + 3)) $((5 * 1048576)); do
    head -c "$s" /dev/urandom > "$exp/size-$s"
done
head -c 10000 /dev/urandom > "$exp/dir/inner.bin"
head -c 70001 /dev/urandom > "$exp/dir/sub/deep.bin"
head -c 777 /dev/urandom > "$exp/with space/file with space.bin"
utf8="caf$(printf '\xc3\xa9')-$(printf '\xe6\x97\xa5\xe6\x9c\xac').txt"
head -c 6000 /dev/urandom > "$exp/$utf8"
ln -s size-4097 "$exp/link-file"
ln -s dir "$exp/link-dir"
ln -s no/such/target "$exp/dangling"
# The expected view: type (- d l, as ls shows it), size and path of every entry.
expect() { # expect DIR MAXDEPTH -> "TYPE<TAB>SIZE<TAB>PATH" lines, sorted
    (cd "$1" && find . -mindepth 1 ${2:+-maxdepth "$2"} -printf '%y\t%s\t%P\n') |
        sed 's/^f\t/-\t/' | LC_ALL=C sort
}
expect "$exp" > "$work/expect.all"
expect "$exp" 1 > "$work/expect.top"
(cd "$exp/with space" && find . -mindepth 1 -printf '%y\t%s\t%P\n' | sed 's/^f\t/-\t/' | LC_ALL=C sort) > "$work/expect.sub"
echo "# export $exp: $(wc -l < "$work/expect.all") entries, $(find "$exp" -type f | wc -l) files"

# --- start sluiced on a free loopback port --------------------------------------------------
port_busy() { ss -Htan "( sport = :$1 )" | grep -q .; }
port_accepts() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
started=""
for attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_busy "$port" && continue
    "$sluiced" --export "$exp" -l "127.0.0.1:$port" --state-dir "$work/state" --log-level debug > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        port_accepts "$port" && { started=yes; break; }
        sleep 0.1
    done
    [ -n "$started" ] && break
    if kill -0 "$pid" 2>/dev/null; then
        break   # alive but not accepting after 10 s: no point in another port
    fi
    wait "$pid" 2>/dev/null; rc=$?
    pid=""
    grep -qi 'in use' "$log" || { echo "# sluiced exited with status $rc before listening"; break; }
    echo "# port $port was taken meanwhile (attempt $attempt), trying another"
done
if [ -z "$started" ]; then
    not_ok "sluiced --export $exp -l 127.0.0.1:${port:-?} accepts connections"
    echo "Bail out! sluiced is not serving"
    finish
fi
ok "sluiced (pid $pid) accepts connections on 127.0.0.1:$port"

q="?version=4&nfsport=$port"
base="nfs://127.0.0.1"

# --- listings -----------------------------------------------------------------------------
# nfs-ls prints "MODE NLINK UID GID SIZE PATH"; PATH (relative to the listed directory) may
# hold spaces, so it is the rest of the line. -> "TYPE<TAB>SIZE<TAB>PATH", sorted.
parse_ls() {
    local mode nlink uid gid size path
    while read -r mode nlink uid gid size path; do
        [ -n "$mode" ] || continue
        printf '%s\t%s\t%s\n' "${mode:0:1}" "$size" "$path"
    done | LC_ALL=C sort
}
listing_check() { # listing_check WHAT URL EXPECTED [nfs-ls options]
    local what=$1 url=$2 expected=$3; shift 3
    local out="$work/ls.out" err="$work/ls.err" rc=0
    timeout 60 nfs-ls "$@" "$url" > "$out" 2> "$err" || rc=$?
    if [ $rc -ne 0 ]; then
        not_ok "nfs-ls${*:+ $*} $what exits 0 (got $rc)"; indent < "$err"; return
    fi
    parse_ls < "$out" > "$out.parsed"
    if cmp -s "$expected" "$out.parsed"; then
        ok "nfs-ls${*:+ $*} $what shows all $(wc -l < "$expected") entries with type and size"
    else
        not_ok "nfs-ls${*:+ $*} $what differs from the export (< expected, > nfs-ls)"
        diff "$expected" "$out.parsed" | head -30 | indent
    fi
}
listing_check "of the root" "$base/$q" "$work/expect.top"
listing_check "of 'with space/'" "$base/with space$q" "$work/expect.sub"
listing_check "of the root" "$base/$q" "$work/expect.all" -R

# --- reads --------------------------------------------------------------------------------
cat_check() { # cat_check REL [LOCAL-REL]: nfs-cat REL, compare with LOCAL-REL's bytes
    local rel=$1 local_rel=${2:-$1} rc=0 want got
    timeout 60 nfs-cat "$base//$rel$q" > "$work/cat.out" 2> "$work/cat.err" || rc=$?
    want=$(sha256sum < "$exp/$local_rel" | cut -c1-64)
    got=$(sha256sum < "$work/cat.out" | cut -c1-64)
    if [ $rc -eq 0 ] && [ "$want" = "$got" ]; then
        ok "nfs-cat $rel: $(stat -c %s "$exp/$local_rel") bytes, sha256 ${want:0:16}…"
    else
        not_ok "nfs-cat $rel (exit $rc, $(stat -c %s "$work/cat.out") of $(stat -c %s "$exp/$local_rel") bytes, sha256 ${got:0:16}… want ${want:0:16}…)"
        head -5 "$work/cat.err" | indent
    fi
}
while IFS= read -r -d '' f; do
    cat_check "${f#./}"
done < <(cd "$exp" && find . -type f -print0 | LC_ALL=C sort -z)
cat_check link-file size-4097
cat_check link-dir/inner.bin dir/inner.bin

# --- a second epoch: every file again, from sluice's page cache -------------------------------
# Each nfs-cat is a new client: OPEN (which checks the file against the disk), READ, CLOSE.
# A file first read by the pass above must now be served from the cache: no demand read goes
# to the disk (sluice's own counters, STATE_DIR/stats on SIGUSR1). This caught pages kept
# under a generation that the next OPEN's check threw away.
stat_snap() { # stat_snap NAME... -> the counters' values now, from one dump, on one line
    rm -f "$work/state/stats"
    kill -USR1 "$pid"
    for _ in $(seq 1 50); do [ -s "$work/state/stats" ] && break; sleep 0.1; done
    awk -v keys="$*" 'BEGIN { n = split(keys, k, " ") } { v[$1] = $2 }
        END { for (i = 1; i <= n; i++) printf "%s%s", v[k[i]], (i < n ? " " : "\n") }' \
        "$work/state/stats"
}
read -r hits0 miss0 < <(stat_snap sluice_cache_hits_total sluice_cache_misses_total)
bad=0
while IFS= read -r -d '' f; do
    timeout 60 nfs-cat "$base//${f#./}$q" 2>/dev/null | cmp -s - "$exp/$f" || bad=$((bad + 1))
done < <(cd "$exp" && find . -type f -print0 | LC_ALL=C sort -z)
read -r hits1 miss1 < <(stat_snap sluice_cache_hits_total sluice_cache_misses_total)
check "second epoch: every file read again byte for byte ($bad differ)" test "$bad" -eq 0
check "second epoch from the cache: $((hits1 - hits0)) page hits, $((miss1 - miss0)) misses" \
    test -n "$hits1" -a -n "$miss1" -a "$((hits1 - hits0))" -ge 80 -a "$miss1" = "$miss0"

rc=0
timeout 60 nfs-cat "$base//no-such-file$q" > /dev/null 2> "$work/cat.err" || rc=$?
check "nfs-cat of a missing name fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124

# --- stop ---------------------------------------------------------------------------------
check "sluiced is still running after the client's work" kill -0 "$pid"
kill -TERM "$pid" 2>/dev/null
stopped=""
for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { stopped=yes; break; }
    sleep 0.1
done
if [ -n "$stopped" ]; then
    wait "$pid"; rc=$?
    pid=""
    check "SIGTERM: sluiced exits with status 0 (got $rc)" test "$rc" -eq 0
else
    not_ok "SIGTERM: sluiced still running after 5 s (killed)"
fi
check "nothing listens on 127.0.0.1:$port any more" bash -c "! ss -Htln '( sport = :$port )' | grep -q ."
finish

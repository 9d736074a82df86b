#!/bin/bash
# Guest job: the read-write battery (rw-battery.sh, issue 4) against each server in $SERVERS,
# mounted with each NFSv4 minor version in $VERSIONS. Carried in by tests/e2e/run-rw.sh with
# the e2e/ directory; needs the fresh scratch disk at /scratch (run-job.sh --scratch).
#
# Layout on the scratch disk (one ext4 file system, the server's "local disk"):
#   /scratch/src      the source data, made once per job: tree/ (>= 1 GiB: big/ holds 1 GiB of
#                     it) and r64m.bin (64 MiB of random bytes)
#   /scratch/exp      export 1, no_root_squash: most checks
#   /scratch/rsq      export 2, root_squash          (mode 1777)
#   /scratch/asq      export 3, all_squash           (mode 1777)
#   /scratch/small    export 4, no_root_squash, its own 64 MiB ext4 (loop) file system: ENOSPC
#   /scratch/outside  not exported, next to the exports: the target of the escape attempts
#   /scratch/local    local ext4 reference for the "as on local ext4" checks
# 4.0 runs the battery's --quick subset: the tree without big/ (the 1 GiB part is required for
# 4.1 and 4.2) and one fio job instead of four, which keeps the whole job within its budget;
# its own state handling (SETCLIENTID, open seqids, the restart's recovery) is all exercised.
set -uo pipefail
. /job/env
. /job/e2e/servers.sh
SERVERS=${SERVERS:-knfsd}
VERSIONS=${VERSIONS:-4.0 4.1 4.2}
fail=0
t0=$(date +%s)
lap() { echo "# $1 took $(( $(date +%s) - t0 ))s"; t0=$(date +%s); }

# Users: alice and bob (the image may already have them, with other uids for bob), and a
# group proj that only alice belongs to (supplementary groups in AUTH_SYS).
id alice > /dev/null 2>&1 || { groupadd -g 1000 alice && useradd -u 1000 -g 1000 -M -d /tmp alice; }
id bob > /dev/null 2>&1 || { groupadd -g 1001 bob && useradd -u 1001 -g 1001 -M -d /tmp bob; }
getent group proj > /dev/null || groupadd -g 2000 proj
usermod -a -G proj alice
echo "# users: $(id alice); $(id bob)"

# The source data, on the local disk. The 1 GiB file is written by fio with --refill_buffers
# (fresh pseudo-random bytes in every 1 MiB block, no two 4 KiB blocks alike): under the guest's
# software CPU that is about 1.5x as fast as /dev/urandom, which makes the smaller files. The
# small files and the metadata are made by one python3 process (a shell loop would fork
# thousands of times). Directory times are set last.
mkdir -p /scratch/src/tree/big
head -c 64M /dev/urandom > /scratch/src/r64m.bin
fio --name=gen --filename=/scratch/src/tree/big/1g.bin --size=1G --rw=write --bs=1M \
    --ioengine=psync --refill_buffers --randseed=4 > /dev/null ||
    { echo "not ok - fio could not write the 1 GiB source file"; exit 1; }
head -c 12345679 /dev/urandom > /scratch/src/tree/big/odd.bin
python3 - /scratch/src/tree "$(id -u alice)" "$(id -g alice)" "$(id -u bob)" "$(id -g bob)" <<'PY'
import os, random, stat, sys
root = sys.argv[1]
au, ag, bu, bg = map(int, sys.argv[2:6])
rnd = random.Random(4)
os.chdir(root)
def past():                         # a random time in the past, to the nanosecond
    return rnd.randrange(946684800, 1600000000) * 10**9 + rnd.randrange(10**9)
def w(path, n, mode=0o644):
    with open(path, "wb") as f:
        f.write(rnd.randbytes(n))
    os.chmod(path, mode)
    t = past()
    os.utime(path, ns=(t, t))
# small/: 500 files of 0..64 KiB, odd sizes around the 4 KiB block size included. (Each file
# costs a few synchronous metadata operations on the server, ~80 ms under the guest's software
# CPU with knfsd's sync export: more files would not find more, only take longer.)
for d in range(5):
    os.makedirs("small/d%02d" % d)
    for i in range(100):
        n = rnd.choice([0, 1, 4095, 4096, 4097, rnd.randrange(65536), rnd.randrange(16384)])
        w("small/d%02d/f%03d" % (d, i), n)
# meta/: modes, owners, times, names, links.
os.makedirs("meta/sub")
for m in (0o000, 0o444, 0o600, 0o751, 0o777, 0o4755, 0o2755, 0o6711):
    w("meta/mode-%04o" % m, 100 + m, m)
    os.chmod("meta/mode-%04o" % m, m)  # chmod again: the setuid/setgid bits survive no write
for m in (0o1777, 0o2775, 0o700, 0o555):
    os.makedirs("meta/dir-%04o" % m)
    w("meta/dir-%04o/f" % m, 1000)
    os.chmod("meta/dir-%04o" % m, m)
os.chown("meta/dir-2775", 0, bg)
w("meta/owned-alice", 123); os.chown("meta/owned-alice", au, ag)
w("meta/owned-bob", 456, 0o640); os.chown("meta/owned-bob", bu, bg)
os.makedirs("meta/dir-alice"); w("meta/dir-alice/f", 789); os.chown("meta/dir-alice/f", au, ag)
os.chown("meta/dir-alice", au, ag)
for name, t in (("time-1999", 946684799123456789), ("time-2040", 2208988800 * 10**9 + 1),
                ("time-1969", -14182940 * 10**9 + 500000000)):
    w("meta/" + name, 10)
    os.utime("meta/" + name, ns=(t, t))
w("meta/empty-file", 0)
os.makedirs("meta/empty-dir")
for name in ("space name", "café-日本", "n" * 255):
    w("meta/" + name, 77)
os.symlink("../small/d00/f000", "meta/sym-rel")
os.symlink("/etc/hostname", "meta/sym-abs")
os.symlink("no/such/target", "meta/sym-dangling")
os.symlink("dir-0700", "meta/sym-dir")
os.symlink("x" * 1000, "meta/sym-long")
os.lchown("meta/sym-rel", au, ag)
w("meta/hard-1", 5000)
os.link("meta/hard-1", "meta/sub/hard-2")
os.link("meta/hard-1", "meta/hard-3")
d = "meta/deep"
for c in "abcdefghijklmnopqrst":
    d += "/" + c
os.makedirs(d)
w(d + "/leaf", 42)
# special/: what tar, cp -a and rsync -a must recreate, not read.
os.makedirs("special")
os.mkfifo("special/fifo", 0o640)
os.mknod("special/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
# Times of symlinks and special files, then of every directory, deepest first.
for top, dirs, files in os.walk(".", topdown=False):
    for f in files + dirs:          # (a symlink to a directory is listed among dirs)
        p = os.path.join(top, f)
        if os.path.islink(p) or not (os.path.isfile(p) or os.path.isdir(p)):
            t = past()
            os.utime(p, ns=(t, t), follow_symlinks=False)
    t = past()
    os.utime(top, ns=(t, t))
PY
rc=$?
[ $rc -eq 0 ] || { echo "not ok - the source tree could not be made"; echo "## rw: source tree failed"; exit 1; }
echo "# source tree: $(du -sh /scratch/src/tree | cut -f1), $(find /scratch/src/tree | wc -l) entries"
lap source-tree

# Export directories, and the small file system on a loop device.
mkdir -p /scratch/exp /scratch/rsq /scratch/asq /scratch/outside /scratch/local /scratch/small
chmod 1777 /scratch/rsq /scratch/asq
modprobe loop     # not loaded on demand in this guest: mount -o loop fails without it
truncate -s 64M /scratch/small.img
mkfs.ext4 -q -F /scratch/small.img && mount -o loop /scratch/small.img /scratch/small ||
    { echo "not ok - the small file system could not be made"; exit 1; }
export SRV_EXPORTS="/scratch/exp 1 none
/scratch/rsq 2 root
/scratch/asq 3 all
/scratch/small 4 none"
mnts="exp rsq asq small"
mnt_opts() { echo "vers=$1,hard,timeo=600"; }
sync
lap setup

for srv in $SERVERS; do
    echo "### server $srv"
    if ! srv_start "$srv"; then
        echo "not ok - $srv did not start"; fail=$((fail + 1)); continue
    fi
    for v in $VERSIONS; do
        echo "### $srv vers=$v"
        tv=$(date +%s) mounted=""
        for e in $mnts; do
            mkdir -p "/mnt/rw/$e"
            if mount -t nfs -o "$(mnt_opts "$v")" "127.0.0.1:/scratch/$e" "/mnt/rw/$e"; then
                mounted="$mounted $e"
            else
                echo "not ok - mount $srv vers=$v /scratch/$e"
            fi
        done
        if [ "$mounted" != " $mnts" ]; then
            fail=$((fail + 1))
        else
            grep ' /mnt/rw/exp ' /proc/mounts | sed 's/^/# /'
            quick=()
            [ "$v" = 4.0 ] && quick=(--quick)
            [ "$srv" = sluice ] && quick+=(--notify-lock)
            bash /job/e2e/rw-battery.sh --src /scratch/src "${quick[@]}" \
                --main /mnt/rw/exp:/scratch/exp --rsq /mnt/rw/rsq:/scratch/rsq \
                --asq /mnt/rw/asq:/scratch/asq --small /mnt/rw/small:/scratch/small \
                --outside /scratch/outside --local /scratch/local --server 127.0.0.1 \
                --restart-cmd ". /job/e2e/servers.sh && srv_kill9 $srv && srv_restart $srv" "$v"
            rc=$?
            if [ $rc -eq 0 ]; then echo "## PASS $srv vers=$v ($(( $(date +%s) - tv ))s)"
            else echo "## FAIL $srv vers=$v ($rc checks, $(( $(date +%s) - tv ))s)"; fail=$((fail + 1)); fi
        fi
        for e in $mounted; do umount "/mnt/rw/$e" || umount -f "/mnt/rw/$e"; done
        # Whatever a failed battery left behind, so that the next version starts clean.
        rm -rf /scratch/exp/* /scratch/rsq/* /scratch/asq/* /scratch/small/v* /scratch/local/*
    done
    # sluice must stop cleanly (exit 0, no sanitizer report); the reference servers' stop is
    # only best effort, as in guest-e2e.sh.
    if ! srv_stop "$srv" && [ "$srv" = sluice ]; then
        echo "not ok - $srv did not stop cleanly"; fail=$((fail + 1))
    fi
done
umount /scratch/small
echo "## rw: $fail failing server/version combinations"
exit $(( fail > 0 ))

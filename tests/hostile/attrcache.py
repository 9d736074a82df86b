#!/usr/bin/env python3
"""host.attrcache: GETATTR answered from the attributes READDIR read (config attr_cache).

    attrcache.py SLUICED

A GETATTR by handle of an entry READDIR just listed is answered from the attributes READDIR's
statx read, without a syscall (server/object.h, obj_attr_cached), for at most attr_cache
seconds and only while no op that can change a file has begun or ended since that statx.
This test starts SLUICED twice on free ports of 127.0.0.1 with generated configurations (a
read-write export, squash none, attr_cache = 3 and attr_cache = 0) and checks over raw RPC
(NFSv4.0 COMPOUNDs, AUTH_SYS root):

  1. a GETATTR after READDIR is answered from the table (sluice_attr_cache_hits_total, read
     from STATE_DIR/stats after SIGUSR1, goes up by one) with the file's real size;
  2. every kind of change made through sluice is seen by the very next GETATTR: WRITE (size),
     SETATTR (mode), RENAME (the directory's change attribute), REMOVE (the handle is
     NFS4ERR_STALE), CREATE (the directory again);
  3. a change made on the disk behind sluice's back is seen once attr_cache seconds have
     passed, and (attr_cache = 0) at once, with no answer from the table at all.

Every check prints one TAP line; the last line is the summary. Exit 0 when all passed, 77
(skipped) when not root (sluiced needs open_by_handle_at), 1 otherwise.
"""
import os
import re
import signal
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
from harness import Client, Tap, free_port, serve_checked, tap_main, \
    write_test_config  # noqa: E402

TTL = 3                   # attr_cache of the first server, seconds
CRED = R.auth_sys(uid=0, gid=0, machine="host-attrcache")
FATTR4_CHANGE = 3
tap = Tap()


def counter(srv, state, name):
    """A counter of sluiced's own (SIGUSR1 writes STATE_DIR/stats)."""
    path = os.path.join(state, "stats")
    if os.path.exists(path):
        os.unlink(path)
    srv.p.send_signal(signal.SIGUSR1)
    for _ in range(100):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            break
        time.sleep(0.05)
    with open(path) as f:
        m = re.search(r"^sluice_%s (\d+)$" % name, f.read(), re.M)
    return int(m.group(1)) if m else None


def listing(c, path=("d",)):
    """READDIR (FILEHANDLE only) of the directory at path: {name: handle}."""
    ops = [R.putrootfh()] + [R.lookup(p) for p in path]
    cr = c.compound(ops + [R.readdir(bits=(R.FATTR4_FILEHANDLE,))])
    if cr.status != 0:
        raise AssertionError("READDIR: " + cr.describe())
    return {name.decode(): R.Reader(vals).opaque() for name, _m, vals in cr.results[-1].entries}


def getattr_u(c, fh, bit, fmt):
    """One attribute of fh (size and change: ">Q", mode: ">I"), or the status name."""
    cr = c.compound([R.putfh(fh), R.getattr_(bit)])
    if cr.status != 0:
        return R.status_name(cr.status)
    return struct.unpack(fmt, cr.results[-1].attrs[:struct.calcsize(fmt)])[0]


def size(c, fh):
    return getattr_u(c, fh, R.FATTR4_SIZE, ">Q")


def mode(c, fh):
    m = getattr_u(c, fh, R.FATTR4_MODE, ">I")
    return m if isinstance(m, str) else oct(m)


def change(c, fh):
    return getattr_u(c, fh, FATTR4_CHANGE, ">Q")


def ok_status(cr, what):
    if cr.status != 0:
        raise AssertionError("%s: %s" % (what, cr.describe()))


def dir_changed(c, d, what, ops):
    """List the root (d's attributes into the table), run ops in d, and check that d's next
    GETATTR has a new change attribute."""
    listing(c, ())
    before = change(c, d)
    ok_status(c.compound([R.putrootfh(), R.lookup("d")] + ops), what)
    after = change(c, d)
    tap.ok(isinstance(before, int) and isinstance(after, int) and after != before,
           "%s through sluice: the directory's next GETATTR has a new change attribute" % what,
           "change %r -> %r" % (before, after))


def first_server(srv, state, exp):
    with Client(srv.port, cred=CRED) as c:
        d = listing(c, ())["d"]
        fhs = listing(c)
        hits = counter(srv, state, "attr_cache_hits_total")
        got = size(c, fhs["a.txt"])
        hits2 = counter(srv, state, "attr_cache_hits_total")
        tap.ok(got == 10 and hits is not None and hits2 == hits + 1,
               "a GETATTR right after READDIR is answered from its attributes",
               "size %r (want 10), attr_cache_hits_total %r -> %r (want +1)" % (got, hits, hits2))

        listing(c)
        cr = c.compound([R.putfh(fhs["a.txt"]),
                         R.op("WRITE", R.ANON_STATEID + R.u64(0) + R.u32(2) + R.opaque(b"w" * 100))])
        ok_status(cr, "WRITE")
        got = size(c, fhs["a.txt"])
        tap.ok(got == 100, "WRITE through sluice: the next GETATTR has the new size",
               "size %r, want 100" % got)

        listing(c)
        cr = c.compound([R.putfh(fhs["b.txt"]), R.setattr_mode(0o600)])
        ok_status(cr, "SETATTR")
        got = mode(c, fhs["b.txt"])
        tap.ok(got == "0o600", "SETATTR through sluice: the next GETATTR has the new mode",
               "mode %r, want 0o600" % got)

        dir_changed(c, d, "RENAME", [R.op("SAVEFH"), R.op("RENAME", R.string("c.txt") +
                                                             R.string("c2.txt"))])

        listing(c)
        cr = c.compound([R.putrootfh(), R.lookup("d"), R.op("REMOVE", R.string("victim.txt"))])
        ok_status(cr, "REMOVE")
        got = size(c, fhs["victim.txt"])
        tap.ok(got == "STALE", "REMOVE through sluice: the removed file's handle is stale",
               "GETATTR: %r" % got)

        dir_changed(c, d, "CREATE", [R.op("CREATE", R.u32(2) + R.string("sub") +  # NF4DIR
                                          R.bitmap() + R.opaque(b""))])          # no attrs

        # Behind sluice's back: seen once attr_cache seconds have passed.
        fhs = listing(c)
        with open(os.path.join(exp, "d", "e.txt"), "a") as f:
            f.write("more bytes")
        soon = size(c, fhs["e.txt"])
        time.sleep(TTL + 1.5)
        late = size(c, fhs["e.txt"])
        tap.ok(soon == 10 and late == 20,
               "a change on the disk by another program is seen after attr_cache (%d s)" % TTL,
               "size at once %r (the listed 10 expected), after %d s %r (want 20)" %
               (soon, TTL + 1.5, late))


def second_server(srv, state, exp):
    with Client(srv.port, cred=CRED) as c:
        fhs = listing(c)
        with open(os.path.join(exp, "d", "f.txt"), "a") as f:
            f.write("more bytes")
        got = size(c, fhs["f.txt"])
        hits = counter(srv, state, "attr_cache_hits_total")
        tap.ok(got == 20 and hits == 0,
               "attr_cache = 0: a change on the disk is seen at once, nothing from the table",
               "size %r (want 20), attr_cache_hits_total %r (want 0)" % (got, hits))


def run(sluiced, work, n, ttl, body):
    exp = os.path.join(work, "export%d" % n)
    state = os.path.join(work, "state%d" % n)
    os.makedirs(os.path.join(exp, "d"))
    for name in ("a.txt", "b.txt", "c.txt", "victim.txt", "e.txt", "f.txt"):
        with open(os.path.join(exp, "d", name), "w") as f:
            f.write("0123456789")
    conf = os.path.join(work, "sluice%d.conf" % n)
    write_test_config(conf, "attrcache", free_port(), state, exp, "attr_cache = %d\n" % ttl,
                      "    access = rw\n    squash = none\n")
    serve_checked(tap, sluiced, conf, os.path.join(work, "sluiced%d.log" % n),
                  "attr_cache = %d" % ttl, lambda srv: body(srv, state, exp))


def both(sluiced, work):
    run(sluiced, work, 1, TTL, first_server)
    run(sluiced, work, 2, 0, second_server)


if __name__ == "__main__":
    sys.exit(tap_main(tap, "attrcache", both))

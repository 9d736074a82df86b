#!/usr/bin/env python3
"""host.hostile: hostile RPC input against sluiced, each followed by proof that it still serves.

    hostile.py SLUICED

Starts SLUICED on a scratch export (small files, a 1 MiB file, a directory, a symlink) on a
free port of 127.0.0.1 and, for every case, opens a fresh connection, sends the hostile input
and checks the reaction the RFCs prescribe (RFC 5531 for the RPC layer, RFC 7530 for NFSv4.0,
RFC 8881 for 4.1). After EACH case a second, independent connection must get a NULL ping and a
PUTROOTFH+GETATTR COMPOUND answered. At the end: SIGTERM, exit status 0, and the server's log
names the bad inputs.

Output is TAP with a summary line; exit 0 when every check passed, 77 (skipped) when not
root (sluiced needs open_by_handle_at), 1 otherwise (the tail of the server's log is shown).
Stdlib only; the message encoders are in rpcmsg.py, the raw client and the server
harness in harness.py, next to this file.
"""
import ctypes
import ctypes.util
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
from harness import Client, Closed, Server, Tap, cannot_run, next_xid  # noqa: E402

MIB = 1024 * 1024

tap = Tap()


# ---- checks shared by the cases ---------------------------------------------------------------

def getattr_type(res):
    """The type attribute (fattr4 bit 1) out of a GETATTR result asking for type and size."""
    if not res.attrmask or not res.attrmask[0] & (1 << R.FATTR4_TYPE):
        return None
    return struct.unpack(">I", res.attrs[:4])[0]


def still_serving(srv, after):
    """A second, independent connection: NULL ping, then PUTROOTFH + GETATTR."""
    problems = []
    if not srv.alive():
        tap.ok(False, "after %s: sluiced is still running" % after,
               "exited with status %s" % srv.p.returncode)
        return False
    try:
        with Client(srv.port) as c:
            xid = next_xid()
            rep = c.rpc(R.call(xid, proc=R.NFSPROC4_NULL))
            if rep.xid != xid or rep.stat != R.MSG_ACCEPTED or rep.accept != R.SUCCESS \
                    or rep.body != b"":
                problems.append("NULL: " + rep.describe())
            cr = c.compound([R.putrootfh(), R.getattr_(R.FATTR4_TYPE, R.FATTR4_SIZE)])
            if cr.status != R.NFS4_OK or cr.n != 2 or getattr_type(cr.results[1]) != 2:
                problems.append("PUTROOTFH+GETATTR: " + cr.describe())
    except (OSError, Closed, ValueError, AssertionError) as e:
        problems.append("%s: %s" % (type(e).__name__, e))
    return tap.ok(not problems, "after %s: another client is served (NULL, PUTROOTFH+GETATTR)"
                  % after, "\n".join(problems))


def expect_reply(rep, xid, stat, accept=None, reject=None, auth=None, low=None, high=None):
    want = [("xid", rep.xid, xid), ("reply_stat", rep.stat, stat)]
    if accept is not None:
        want.append(("accept_stat", rep.accept, accept))
    if reject is not None:
        want.append(("reject_stat", rep.reject, reject))
    if auth is not None:
        want.append(("auth_stat", rep.auth, auth))
    if low is not None:
        want += [("low", rep.low, low), ("high", rep.high, high)]
    bad = ["%s %s, want %s" % (k, got, exp) for k, got, exp in want if got != exp]
    return not bad, "; ".join(bad) + "\ngot: " + rep.describe()


def one_call(srv, payload):
    with Client(srv.port) as c:
        return c.rpc(payload)


# ---- the cases --------------------------------------------------------------------------------
# Each returns (ok, diagnostics) or a list of such pairs with descriptions: [(ok, desc, diag)].

CASES = []


def case(desc):
    def reg(fn):
        CASES.append((desc, fn))
        return fn
    return reg


@case("truncated record: the mark says 1000 bytes, 100 come, then EOF")
def truncated(srv, ctx):
    out = []
    # A stalled half record must not hold up anyone else: check another client while it hangs.
    with Client(srv.port) as c:
        payload = R.call(next_xid(), R.compound([R.putrootfh()] * 200))
        c.send(R.u32(R.RECMARK_LAST | 1000) + payload[:100])
        time.sleep(0.2)
        out.append((still_serving_quiet(srv), "while a record is half sent, another client "
                    "is served", ""))
        c.s.shutdown(socket.SHUT_WR)
        closed, data = c.wait_closed()
        out.append((closed, "the server closes the connection without a reply",
                    "got %r" % (data,)))
    # The same with the fragment header itself cut in two.
    with Client(srv.port) as c:
        c.send(b"\x80\x00")
        c.s.shutdown(socket.SHUT_WR)
        closed, data = c.wait_closed()
        out.append((closed, "a record mark cut after 2 bytes, then EOF: closed without a reply",
                    "got %r" % (data,)))
    return out


def still_serving_quiet(srv):
    try:
        with Client(srv.port) as c:
            xid = next_xid()
            rep = c.rpc(R.call(xid, proc=R.NFSPROC4_NULL))
            return rep.xid == xid and rep.accept == R.SUCCESS
    except (OSError, Closed, ValueError):
        return False


@case("record length 0x7fffffff")
def huge_record(srv, ctx):
    out = []
    for mark, what in ((0xffffffff, "last fragment"), (0x7fffffff, "first of several")):
        hwm0, peak0 = srv.status("VmHWM"), srv.status("VmPeak")
        with Client(srv.port) as c:
            # the mark and the start of a plausible call; the rest never comes
            c.send(R.u32(mark) + R.call(next_xid(), R.compound([R.putrootfh()])))
            closed, data = c.wait_closed()
            out.append((closed, "mark 0x%08x (%s, 2 GiB - 1): the server closes the "
                        "connection without a reply" % (mark, what), "got %r" % (data,)))
        hwm1, peak1 = srv.status("VmHWM"), srv.status("VmPeak")
        out.append((hwm1 - hwm0 < 64 * 1024 and peak1 - peak0 < 512 * 1024,
                    "mark 0x%08x: nothing of that size was allocated (RSS high-water +%d KiB, "
                    "virtual peak +%d KiB)" % (mark, hwm1 - hwm0, peak1 - peak0),
                    "VmHWM %d -> %d KiB, VmPeak %d -> %d KiB" % (hwm0, hwm1, peak0, peak1)))
    # Fragments that add up past the record limit: each small, the sum too big.
    with Client(srv.port) as c:
        frag = b"\0" * 65536
        try:
            for _ in range(40):   # 2.5 MiB, more than the 1 MiB + 64 KiB limit
                c.send(R.u32(len(frag)) + frag)
        except OSError:
            pass
        closed, data = c.wait_closed()
        out.append((closed, "64 KiB fragments adding up to 2.5 MiB: the connection is closed "
                    "without a reply", "got %r" % (data,)))
    return out


@case("wrong program (100005, MOUNT)")
def wrong_program(srv, ctx):
    xid = next_xid()
    rep = one_call(srv, R.call(xid, prog=100005, vers=3, proc=0))
    return expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.PROG_UNAVAIL)


@case("wrong program version (NFS version 3)")
def wrong_version(srv, ctx):
    out = []
    for vers in (3, 2, 5, 0xffffffff):
        xid = next_xid()
        rep = one_call(srv, R.call(xid, vers=vers, proc=0))
        ok, diag = expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.PROG_MISMATCH, low=4, high=4)
        out.append((ok, "NFS version %d: MSG_ACCEPTED PROG_MISMATCH low 4 high 4" % vers, diag))
    return out


@case("wrong RPC version (3)")
def wrong_rpcvers(srv, ctx):
    xid = next_xid()
    rep = one_call(srv, R.call(xid, rpcvers=3, proc=0))
    return expect_reply(rep, xid, R.MSG_DENIED, reject=R.RPC_MISMATCH, low=2, high=2)


@case("unknown procedure (2) of NFSv4")
def wrong_proc(srv, ctx):
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=2))
    return expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.PROC_UNAVAIL)


@case("garbage COMPOUND header: GARBAGE_ARGS")
def garbage_header(srv, ctx):
    out = []
    bodies = [
        (b"", "an empty body"),
        (b"\x00\x00", "a 2-byte body"),
        (R.u32(0) + R.u32(0), "tag and minor version, no op count"),
        (R.u32(0xfffffff0) + b"abcd" + R.u32(0) + R.u32(1), "a tag claiming 4 GiB - 16"),
        (R.u32(MIB) + b"x" * 64 + R.u32(0) + R.u32(1) + R.putrootfh(),
         "a tag claiming 1 MiB in a 100-byte record"),
        (R.u32(5) + b"abcde", "a tag whose XDR padding is missing"),
    ]
    for body, what in bodies:
        xid = next_xid()
        rep = one_call(srv, R.call(xid, body))
        ok, diag = expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.GARBAGE_ARGS)
        out.append((ok, "%s: MSG_ACCEPTED GARBAGE_ARGS" % what, diag))
    return out


@case("garbage inside a COMPOUND: a bad op in the middle")
def garbage_op(srv, ctx):
    out = []
    first = [R.putrootfh(), R.getattr_()]
    tests = [
        # LOOKUP whose name claims 4 GiB: its arguments do not decode
        (R.op("LOOKUP", R.u32(0xffffff00) + b"abcd"), "LOOKUP with a name claiming 4 GiB",
         R.OP["LOOKUP"], R.NFS4ERR["BADXDR"]),
        # READ cut in the middle of its stateid
        (R.op("READ", b"\0" * 6), "READ cut inside its stateid", R.OP["READ"],
         R.NFS4ERR["BADXDR"]),
        # GETATTR with a bitmap claiming 2^30 words
        (R.op("GETATTR", R.u32(1 << 30) + R.u32(3)), "GETATTR with a bitmap of 2^30 words",
         R.OP["GETATTR"], R.NFS4ERR["BADXDR"]),
    ]
    for garbage, what, op, st in tests:
        peak0 = srv.status("VmPeak")
        with Client(srv.port) as c:
            cr = c.compound(first + [garbage, R.putrootfh()])
        peak1 = srv.status("VmPeak")
        got = cr.statuses()
        want = [(R.OP["PUTROOTFH"], 0), (R.OP["GETATTR"], 0), (op, st)]
        out.append((got == want and cr.status == st,
                    "%s as op 3 of 4: two results OK, then %s with %s, nothing after" %
                    (what, R.OP_NAME[op], R.status_name(st)), cr.describe()))
        out.append((peak1 - peak0 < 512 * 1024,
                    "%s: no allocation of the claimed size (virtual peak +%d KiB)" %
                    (what, peak1 - peak0), "VmPeak %d -> %d KiB" % (peak0, peak1)))
    # More ops announced than sent: the missing one is an ILLEGAL op with BADXDR.
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh(), R.getattr_()], numops=5)
    want = [(R.OP["PUTROOTFH"], 0), (R.OP["GETATTR"], 0), (R.OP["ILLEGAL"], R.NFS4ERR["BADXDR"])]
    out.append((cr.statuses() == want and cr.status == R.NFS4ERR["BADXDR"],
                "5 ops announced, 2 sent: the third result is ILLEGAL with BADXDR",
                cr.describe()))
    return out


@case("unknown op number 99999")
def unknown_op(srv, ctx):
    out = []
    for minor in (0, 1):
        first = [R.putrootfh()] if minor == 0 else []
        ops = first + [R.op(99999, b"\0" * 16), R.putrootfh()]
        with Client(srv.port) as c:
            cr = c.compound(ops, minor=minor)
        want = [(o, s) for o, s in [(R.OP["PUTROOTFH"], 0)] if minor == 0] + \
            [(R.OP["ILLEGAL"], R.NFS4ERR["OP_ILLEGAL"])]
        out.append((cr.statuses() == want and cr.status == R.NFS4ERR["OP_ILLEGAL"],
                    "minor version %d: op 99999 is answered as OP_ILLEGAL with "
                    "NFS4ERR_OP_ILLEGAL, nothing after it" % minor, cr.describe()))
    # opcodes 0..2 are no ops of the protocol either
    with Client(srv.port) as c:
        cr = c.compound([R.op(1)])
    out.append((cr.statuses() == [(R.OP["ILLEGAL"], R.NFS4ERR["OP_ILLEGAL"])],
                "op 1 is OP_ILLEGAL too", cr.describe()))
    return out


@case("COMPOUND with minor version 7")
def minor7(srv, ctx):
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh(), R.getattr_()], minor=7)
    # RFC 8881 §16.2.3, §15.1.3 (MINOR_VERS_MISMATCH): that status and no results
    return cr.status == R.NFS4ERR["MINOR_VERS_MISMATCH"] and cr.n == 0 and cr.tag == b"hostile", \
        cr.describe()


@case("10,000 ops in one COMPOUND")
def many_ops(srv, ctx):
    out = []
    n = 10000
    # 4.0: RFC 7530 §13.1 (NFS4ERR_RESOURCE): more ops than the server handles
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh()] * n, minor=0)
    res_ok = cr.status == R.NFS4ERR["RESOURCE"] and 1 <= cr.n < n and \
        all(s == 0 for _, s in cr.statuses()[:-1]) and \
        cr.statuses()[-1][1] == R.NFS4ERR["RESOURCE"]
    out.append((res_ok, "4.0, 10,000 x PUTROOTFH: NFS4ERR_RESOURCE, %d result(s)" % cr.n,
                cr.describe()))
    # 4.1 without SEQUENCE: RFC 8881 §18.46.3 (PUTROOTFH may not start a COMPOUND)
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh()] * n, minor=1)
    out.append((cr.statuses() == [(R.OP["PUTROOTFH"], R.NFS4ERR["OP_NOT_IN_SESSION"])],
                "4.1, 10,000 x PUTROOTFH without SEQUENCE: NFS4ERR_OP_NOT_IN_SESSION at op 1",
                cr.describe()))
    # 4.1 starting with SEQUENCE: more ops than any session allows (RFC 8881 §18.46.3,
    # §2.10.6.4: TOO_MANY_OPS; a server may look at the unknown session first: BADSESSION)
    with Client(srv.port) as c:
        cr = c.compound([R.sequence(b"\0" * 16)] + [R.putrootfh()] * (n - 1), minor=1)
    out.append((cr.n == 1 and cr.results[0].op == R.OP["SEQUENCE"] and
                cr.results[0].status in (R.NFS4ERR["TOO_MANY_OPS"], R.NFS4ERR["BADSESSION"]),
                "4.1, SEQUENCE + 9,999 ops: SEQUENCE fails (TOO_MANY_OPS or BADSESSION), "
                "nothing after it", cr.describe()))
    # 4.0 with the count word claiming 10,000 but only 3 ops present
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh()] * 3, minor=0, numops=n)
    out.append((cr.status in (R.NFS4ERR["RESOURCE"], R.NFS4ERR["BADXDR"]) and cr.n <= 4,
                "4.0, op count 10,000 with 3 ops sent: RESOURCE or BADXDR", cr.describe()))
    return out


@case("PUTFH with a 1-byte and a 200-byte file handle")
def bad_fh(srv, ctx):
    out = []
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(b"\xa1"), R.getattr_()])
    # RFC 8881 §18.19.3 / §15.1.2.1: a handle that fails the server's checks is BADHANDLE
    out.append((cr.statuses() == [(R.OP["PUTFH"], R.NFS4ERR["BADHANDLE"])],
                "1-byte handle: PUTFH fails with NFS4ERR_BADHANDLE", cr.describe()))
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(b"\xa1" * 200), R.getattr_()])
    # nfs_fh4 is opaque<NFS4_FHSIZE = 128>: 200 bytes are not valid XDR (§15.1.1.1 BADXDR)
    out.append((cr.statuses() == [(R.OP["PUTFH"], R.NFS4ERR["BADXDR"])],
                "200-byte handle (> NFS4_FHSIZE): PUTFH fails with NFS4ERR_BADXDR",
                cr.describe()))
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(b"")])
    out.append((cr.statuses() == [(R.OP["PUTFH"], R.NFS4ERR["BADHANDLE"])],
                "0-byte handle: PUTFH fails with NFS4ERR_BADHANDLE", cr.describe()))
    # 128 bytes of a well-formed header with a kernel handle the file system rejects
    fh = ctx["bigfh"]
    forged = fh[:9] + bytes([118]) + b"\xee" * 118
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(forged), R.getattr_()])
    out.append((len(cr.results) == 2 and cr.results[0].status == 0 and
                cr.results[1].status in (R.NFS4ERR["BADHANDLE"], R.NFS4ERR["STALE"]),
                "128-byte forged handle of the export: GETATTR fails with BADHANDLE or STALE",
                cr.describe()))
    return out


@case("READ at offset 2^64-1 of a 1 MiB file")
def read_far(srv, ctx):
    out = []
    fh = ctx["bigfh"]
    for off, count in ((2**64 - 1, 4096), (2**64 - 4096, 8192), (2**63 - 1, 65536),
                       (2**63, 1), (MIB, 4096)):
        with Client(srv.port) as c:
            cr = c.compound([R.putfh(fh), R.read(off, count)])
        r = cr.results[-1] if cr.results else None
        # RFC 8881 §18.22.3 / RFC 7530 §16.23.4: beyond the end of the file: OK, eof, 0 bytes
        out.append((cr.status == 0 and cr.n == 2 and r.eof is True and r.data == b"",
                    "READ offset %#x count %d: NFS4_OK, eof, no data" % (off, count),
                    cr.describe() + (" eof %s, %d bytes" % (r.eof, len(r.data or b""))
                                     if r and r.status == 0 else "")))
    # and the last byte of the file still reads right
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(fh), R.read(MIB - 1, 4096)])
    r = cr.results[-1]
    out.append((cr.status == 0 and r.eof and r.data == ctx["big"][-1:],
                "READ of the last byte: 1 byte, eof", cr.describe()))
    return out


@case("AUTH_SYS credentials with 17 gids")
def gids17(srv, ctx):
    out = []
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=0, cred=R.auth_sys(gids=range(17))))
    ok, diag = expect_reply(rep, xid, R.MSG_DENIED, reject=R.AUTH_ERROR, auth=R.AUTH_BADCRED)
    out.append((ok, "17 gids (authsys_parms allows 16): MSG_DENIED AUTH_ERROR AUTH_BADCRED", diag))
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=0, cred=R.auth_sys(gids=range(16))))
    ok, diag = expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.SUCCESS)
    out.append((ok, "16 gids: accepted", diag))
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=0, cred=R.u32(R.AUTH_SYS) + R.opaque(b"x" * 404)))
    ok, diag = expect_reply(rep, xid, R.MSG_DENIED, reject=R.AUTH_ERROR, auth=R.AUTH_BADCRED)
    out.append((ok, "a 404-byte credential (opaque_auth allows 400): AUTH_BADCRED", diag))
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=0, cred=R.u32(R.AUTH_SYS) +
                               R.opaque(R.authsys_body(machine="m" * 300))))
    ok, diag = expect_reply(rep, xid, R.MSG_DENIED, reject=R.AUTH_ERROR, auth=R.AUTH_BADCRED)
    out.append((ok, "a 300-byte machine name (authsys_parms allows 255): AUTH_BADCRED", diag))
    xid = next_xid()
    rep = one_call(srv, R.call(xid, proc=0, cred=R.u32(R.AUTH_SYS) + R.u32(2000) + b"\0" * 20))
    ok, diag = expect_reply(rep, xid, R.MSG_DENIED, reject=R.AUTH_ERROR, auth=R.AUTH_BADCRED)
    out.append((ok, "a credential length past the end of the record: AUTH_BADCRED", diag))
    return out


@case("records that are not calls, and odd record marking")
def not_calls(srv, ctx):
    out = []
    with Client(srv.port) as c:
        # a REPLY, an empty record and 3 bytes: nothing to answer; then a NULL call on the
        # same connection is answered (the stream stays in step).
        c.send(R.record(R.call(next_xid(), mtype=R.REPLY)) + R.record(b"") + R.record(b"abc"))
        xid = next_xid()
        rep = c.rpc(R.call(xid, proc=0))
        ok, diag = expect_reply(rep, xid, R.MSG_ACCEPTED, accept=R.SUCCESS)
        out.append((ok, "a REPLY, an empty record and a 3-byte record get no answer; the "
                    "NULL call after them on the same connection does", diag))
    with Client(srv.port) as c:
        xid = next_xid()
        c.send(R.fragments(R.call(xid, R.compound([R.putrootfh(), R.getattr_()])), 4))
        rep = R.Reply(c.recv_record())
        cr = R.CompoundReply(rep.body) if rep.accept == R.SUCCESS else None
        out.append((rep.xid == xid and cr is not None and cr.status == 0 and cr.n == 2,
                    "a COMPOUND sent in 4-byte fragments is answered",
                    rep.describe() + ("; " + cr.describe() if cr else "")))
    with Client(srv.port) as c:
        # 200 calls written at once, answered in order with their own xids
        xids = [next_xid() for _ in range(200)]
        c.send(b"".join(R.record(R.call(x, proc=0)) for x in xids))
        got = [R.Reply(c.recv_record()).xid for _ in xids]
        out.append((got == xids, "200 pipelined NULL calls get 200 replies in order",
                    "first differences: %r" % [(a, b) for a, b in zip(xids, got) if a != b][:5]))
    return out


@case("names that would leave the export")
def escape_by_name(srv, ctx):
    out = []
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh(), R.op("LOOKUPP"), R.getfh()])
    # RFC 8881 §18.14 (LOOKUPP): at the root of the server's namespace it is NOENT
    out.append((cr.statuses() == [(R.OP["PUTROOTFH"], 0), (R.OP["LOOKUPP"], R.NFS4ERR["NOENT"])],
                "LOOKUPP at the root: NFS4ERR_NOENT", cr.describe()))
    for name in ("..", ".", "dir/sub", "dir/../.."):
        with Client(srv.port) as c:
            cr = c.compound([R.putrootfh(), R.lookup(name), R.getfh()])
        # RFC 8881 §18.13 (LOOKUP): "." and ".." are no names of the protocol, nor is one
        # with a "/" in it: BADNAME (NOENT would do), never a handle
        refused = (R.NFS4ERR["BADNAME"], R.NFS4ERR["NOENT"])
        out.append((cr.n == 2 and cr.results[1].status in refused,
                    "LOOKUP %r: NFS4ERR_BADNAME or NOENT" % name, cr.describe()))
    return out


def name_to_handle(path):
    """(handle_type, bytes) of path via name_to_handle_at(2), or None."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    class FileHandle(ctypes.Structure):
        _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                    ("f_handle", ctypes.c_ubyte * 128)]
    fh = FileHandle()
    fh.handle_bytes = 128
    mount_id = ctypes.c_int()
    AT_FDCWD = -100
    if libc.name_to_handle_at(AT_FDCWD, path.encode(), ctypes.byref(fh),
                              ctypes.byref(mount_id), 0) != 0:
        return None
    return fh.handle_type, bytes(fh.f_handle[:fh.handle_bytes])


@case("a forged handle naming a file outside the export")
def outside_export(srv, ctx):
    kh = name_to_handle(ctx["secret_path"])
    if kh is None:
        return True, "name_to_handle_at not available (skipped)"
    ktype, kbytes = kh
    fh = ctx["bigfh"][:5] + struct.pack(">I", ktype) + bytes([len(kbytes)]) + kbytes
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(fh), R.read(0, 4096)])
    leaked = cr.status == 0 and any(r.data for r in cr.results if r.data)
    # docs/ARCHITECTURE.md: "the server must check that a resolved object lies under its
    # export". RFC 8881 §15.1.2.7 (STALE) or §15.1.2.1 (BADHANDLE), or ACCESS: not the bytes.
    return not leaked, cr.describe() + (" -- read %r" % cr.results[-1].data[:40]
                                        if leaked else "")


@case("a handle READDIR lists for a mount point in the export is still checked")
def listed_mount_point(srv, ctx):
    # export/mnt is a bind mount of a directory outside the export. READDIR's handle for it
    # names that directory; a handle READDIR lists is trusted to lie inside the export
    # (obj_warm skips the containment check), so a mount point's must not be.
    if not ctx.get("mnt"):
        return True, "bind mount not available (skipped)"
    with Client(srv.port) as c:
        cr = c.compound([R.putrootfh(), R.readdir(bits=(R.FATTR4_FILEHANDLE,))])
    fh = None
    for name, _mask, vals in (cr.results[-1].entries or []) if cr.status == 0 else []:
        if name == b"mnt" and vals:
            fh = R.Reader(vals).opaque()
    if not fh:
        return False, "READDIR of the root gave no handle for mnt: " + cr.describe()
    with Client(srv.port) as c:
        cr = c.compound([R.putfh(fh), R.readdir()])
    names = [e[0] for e in cr.results[-1].entries or []] if cr.status == 0 else []
    return cr.status != 0, cr.describe() + (" -- listed %r" % names if names else "")


# ---- main -------------------------------------------------------------------------------------

def make_export(work):
    exp = os.path.join(work, "export")
    os.makedirs(os.path.join(exp, "dir", "sub"))
    big = bytes((i * 7 + (i >> 12)) & 0xff for i in range(MIB))
    with open(os.path.join(exp, "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(exp, "small.txt"), "w") as f:
        f.write("hello, hostile world\n")
    with open(os.path.join(exp, "dir", "inner.txt"), "w") as f:
        f.write("inner\n")
    open(os.path.join(exp, "empty"), "w").close()
    os.symlink("small.txt", os.path.join(exp, "link"))
    secret = os.path.join(work, "secret.txt")   # same file system, outside the export
    with open(secret, "w") as f:
        f.write("SECRET: outside the export\n")
    return exp, big, secret


def bind_outside(work, exp):
    """export/mnt: a bind mount of work/outside (holding outside.txt); None where the
    sandbox allows no mounts."""
    outside, mnt = os.path.join(work, "outside"), os.path.join(exp, "mnt")
    os.makedirs(outside)
    os.makedirs(mnt)
    with open(os.path.join(outside, "outside.txt"), "w") as f:
        f.write("outside\n")
    if subprocess.run(["mount", "--bind", outside, mnt], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return None
    return mnt


def main():
    if len(sys.argv) != 2:
        print("usage: hostile.py SLUICED", file=sys.stderr)
        return 2
    sluiced = sys.argv[1]
    rc = cannot_run(sluiced)
    if rc is not None:
        return rc
    work = tempfile.mkdtemp(prefix="sluice-hostile.")
    srv = None
    mnt = None
    try:
        exp, big, secret = make_export(work)
        mnt = bind_outside(work, exp)
        srv = Server(sluiced, os.path.join(work, "sluiced.log"), export=exp)
        if not tap.ok(srv.port is not None, "sluiced (pid %d) listens on 127.0.0.1" % srv.p.pid):
            print("Bail out! sluiced is not serving")
            return finish(srv)
        tap.note("sluiced pid %d on 127.0.0.1:%d, export %s" % (srv.p.pid, srv.port, exp))
        with Client(srv.port) as c:
            cr = c.compound([R.putrootfh(), R.lookup("big.bin"), R.getfh()])
        if not tap.ok(cr.status == 0 and cr.results[-1].fh, "PUTROOTFH+LOOKUP+GETFH of big.bin",
                      cr.describe()):
            print("Bail out! no handle for big.bin")
            return finish(srv)
        ctx = {"bigfh": cr.results[-1].fh, "big": big, "secret_path": secret, "mnt": mnt}
        if not still_serving(srv, "start"):
            print("Bail out! sluiced does not answer a plain client")
            return finish(srv)

        for desc, fn in CASES:
            tap.note(desc)
            try:
                res = fn(srv, ctx)
            except (OSError, Closed, ValueError, AssertionError) as e:
                res = (False, "%s: %s" % (type(e).__name__, e))
            if isinstance(res, tuple):
                tap.ok(res[0], desc, res[1])
            else:
                for ok, d, diag in res:
                    tap.ok(ok, "%s: %s" % (desc.split(":")[0], d), diag)
            if not still_serving(srv, desc.split(":")[0]):
                if not srv.alive():
                    print("Bail out! sluiced died")
                    return finish(srv)

        # The bad inputs are in the log (info/warn; the debug ones need --log-level debug).
        log = srv.log()
        for pat, what in (
                (r"record larger than \d+ bytes, closing", "the 2 GiB record mark"),
                (r"closed in the middle of a record", "the truncated record"),
                (r"refused: prog_unavail", "the wrong program"),
                (r"refused: prog_mismatch", "the wrong version"),
                (r"refused: rpc_mismatch", "the wrong RPC version"),
                (r"refused: proc_unavail", "the unknown procedure"),
                (r"refused: auth_error AUTH_BADCRED", "the 17 gids"),
                (r"undecodable COMPOUND header", "the garbage COMPOUND header"),
                (r"is not an RPC call: dropped", "the records that are not calls"),
                (r"PUTFH: malformed handle of 1 bytes", "the 1-byte handle"),
                (r"ILLEGAL -> 10044", "the unknown op"),
                (r"-> 10036", "the undecodable op (BADXDR)")):
            tap.ok(re.search(pat, log) is not None, "the log names %s (/%s/)" % (what, pat))

        rc = srv.stop()
        tap.ok(rc == 0, "SIGTERM: sluiced exits with status 0 (got %s)" % rc)
        tap.ok(re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:",
                         srv.log()) is None, "no sanitizer report in the log")
        return finish(srv)
    finally:
        if srv:
            srv.kill()
        if mnt:
            subprocess.run(["umount", mnt])
        shutil.rmtree(work, ignore_errors=True)


def finish(srv):
    print("1..%d" % tap.n)
    print("# hostile: %d of %d passed%s" % (tap.n - tap.failed, tap.n,
                                             ", %d FAILED" % tap.failed if tap.failed else ""))
    if tap.failed and srv:
        print("# last lines of sluiced's log:")
        for line in srv.log().splitlines()[-60:]:
            print("#   " + line)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())

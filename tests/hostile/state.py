#!/usr/bin/env python3
"""host.state: NFSv4 state over raw RPC -- replays, stateids, leases, locks, a restart.

    state.py SLUICED

Starts SLUICED with a generated configuration (lease_time and grace_time 10 s, the minimum,
one read-write export as the pseudo-root, a state directory) on a free port of 127.0.0.1 and
drives it as several clients at once, NFSv4.0 (RFC 7530) and NFSv4.1 (RFC 8881):

  1. 4.0 seqid replay: OPEN_CONFIRM, OPEN, CLOSE, LOCK (open_to_lock_owner) and LOCKU sent a
     second time with the same seqid under a NEW xid (so it is the open-/lock-owner's replay
     cache that answers, not an RPC duplicate cache) get the same COMPOUND4res bytes; a seqid
     that is neither the last nor the next one is NFS4ERR_BAD_SEQID.
  2. 4.1 slot replay: a retried SEQUENCE (same slot and seqid, new xid) gets the same reply
     bytes; seqid two ahead: SEQ_MISORDERED; a slot past the table: BADSLOT; an unknown
     session: BADSESSION.
  3. Stateids: made up, forged, of another client, older than the current one (after an
     OPEN upgrade), of an earlier server instance (after SIGKILL and a restart on the same
     port, export and state directory).
  4. Leases: a 4.0 client that stays silent for longer than the lease loses its state
     (RENEW, its stateid, its share reservation and its locks).
  5. Byte-range locks between two clients (A on 4.0, B on 4.1): conflicts with LOCK4denied,
     LOCKT, ranges at the end of the 64-bit space, INVAL ranges, LOCKU splitting a range,
     RELEASE_LOCKOWNER with and without locks; share reservations (SHARE_DENIED).
  6. Reclaim (RFC 8881 §8.4.2, §8.4.2.1, §18.51; RFC 7530 §9.6.2), on servers of its own
     (own ports and state directories): the client records (STATE_DIR/clients) of a 4.1, a
     4.0 and a stateless client; after SIGKILL and a restart the grace period (GRACE for
     new OPEN, LOCK, LOCKT, REMOVE, RENAME, anonymous WRITE; NO_GRACE for reclaims by
     clients the previous run did not know or after RECLAIM_COMPLETE), OPEN CLAIM_PREVIOUS
     and LOCK reclaim by both, the reclaimed locks and share reservation holding after it,
     its length (grace_time: the 4.0 client never sends RECLAIM_COMPLETE); an early end
     once every client of the previous run (all 4.1) sent RECLAIM_COMPLETE, also after a
     second crash within the grace period; clients that expired before a restart are
     forgotten (no grace period at all); a 4.1 OPEN before the client's RECLAIM_COMPLETE
     is GRACE even then (RFC 8881 §18.51.3).

A grace period after a (re)start of the main server is waited out (the first OPEN or READ
that is not refused with NFS4ERR_GRACE ends it). Every check prints one TAP line with what
was expected and what came back; the last line is the summary "host.state: N checks, M
failed". Exit 0 when all passed, 77 (skipped) when not root (sluiced needs
open_by_handle_at), 1 otherwise (with the tail of the server's log). Stdlib only; encoders
and decoders in rpcmsg.py, the raw client and the server harness in harness.py, next to this
file.
"""
import os
import re
import shutil
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
from harness import Client, Closed, Server, Tap, cannot_run, free_port  # noqa: E402

LEASE = 10   # lease_time: the minimum conf/config.c allows
GRACE = 10   # grace_time: its minimum, and it may not be shorter than lease_time
# server/server.c sweeps expired clients every lease_time / 4 seconds; 2.5 s more for a
# slow (ASan) build and a margin.
SWEEP_SLACK = LEASE / 4.0 + 2.5
GRACE_LIMIT = GRACE + 15   # how long to wait for the end of a grace period at most

E = R.NFS4ERR
OK = R.NFS4_OK
ALL = R.UINT64_MAX   # a lock length of all ones: to the end of the file
CRED = R.auth_sys(uid=0, gid=0, machine="host-state")   # squash = none: root

tap = Tap()
lock_failures = []   # descriptions of the failed checks that need LOCK, LOCKT, LOCKU ...


# ---- checks -----------------------------------------------------------------------------------

def names(statuses):
    return " or ".join(R.status_name(s) for s in statuses)


def check(cond, desc, expected, got, lock=False, diag=None):
    """One check, one line: what was expected and what was received."""
    if not cond and lock:
        lock_failures.append(desc)
    return tap.ok(cond, "%s: expected %s, got %s" % (desc, expected, got), diag)


def result(cr, opname):
    """The result of the last op opname in a COMPOUND reply, or None."""
    for res in reversed(cr.results if cr else []):
        if res.op == R.OP[opname]:
            return res
    return None


def expect(cr, opname, allowed, desc, lock=False, pred=None, pred_desc=""):
    """The result of opname has one of the statuses allowed; with pred (a function of the
    result returning (ok, what was seen)) also that."""
    allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
    res = result(cr, opname)
    want = names(allowed) + (" " + pred_desc if pred_desc else "")
    if res is None:
        return check(False, desc, want, "no %s result (%s)" % (
            opname, cr.describe() if cr else "no reply"), lock)
    got = R.status_name(res.status)
    ok = res.status in allowed
    if ok and pred is not None:
        ok, seen = pred(res)
        got += " " + seen
    return check(ok, desc, want, got, lock)


def same_bytes(rep1, rep2, desc, orig, lock=False):
    """A replay: the COMPOUND4res bytes (everything after the RPC reply header) are equal.
    orig: (CompoundReply, op name) of the original, whose op must have succeeded (the
    replay of a failure proves nothing)."""
    a, b = rep1.body, rep2.body
    res = result(orig[0], orig[1])
    if res is None or res.status != OK:
        return check(False, desc, "the same COMPOUND4res bytes as a successful %s" % orig[1],
                     "the original %s failed: %s" % (orig[1], orig[0].describe()), lock)
    if a == b:
        return check(True, desc, "the same COMPOUND4res bytes", "%d identical bytes" % len(a),
                     lock)
    first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    got = "%d and %d bytes, first difference at byte %d" % (len(a), len(b), first)
    diag = "original: %s\nreplay:   %s\nas parsed: %s\n           %s" % (
        a.hex(), b.hex(), R.CompoundReply(a).describe(), R.CompoundReply(b).describe())
    return check(False, desc, "the same COMPOUND4res bytes", got, lock, diag)


def span(offset, length):
    """The bytes [first, last] of a lock range (length all ones: to the end of the file)."""
    return offset, (ALL if length == ALL else offset + length - 1)


def denied_by(holder_clientid, holder, held, asked, locktype=R.WRITE_LT):
    """A pred for expect(): LOCK4denied names the holder's client ID and lock-owner and
    the lock type, and a conflicting lock: a range that overlaps the one asked for and lies
    within what the holder holds (held: (offset, length) ranges, which a server may keep
    merged or apart), or, RFC 8881 §18.10.4, the range asked for itself."""
    def pred(res):
        if res.denied is None:
            return False, "without LOCK4denied"
        off, length, lt, cid, name = res.denied
        seen = "denied {offset %d, length %#x, type %d, owner (%#x, %r)}" % (
            off, length, lt, cid, name)
        if cid != holder_clientid or name != holder or lt != locktype or length == 0:
            return False, seen
        first, last = span(off, length)
        a_first, a_last = span(*asked)
        covered, pos = True, first
        for h_first, h_last in sorted(span(*h) for h in held):
            if h_first <= pos <= h_last:
                if h_last >= last:
                    break
                pos = h_last + 1
        else:
            covered = False
        overlaps = first <= a_last and a_first <= last
        return (off, length) == asked or (covered and overlaps), seen
    return pred


def stateid_pred(other=None, seqid=None):
    def pred(res):
        if res.stateid is None:
            return False, "without a stateid"
        s, o = R.stateid_seqid(res.stateid), R.stateid_other(res.stateid)
        ok = (other is None or o == other) and (seqid is None or s == seqid)
        return ok, "stateid seqid %d other %s" % (s, o.hex())
    return pred


def section_failed(name, e):
    tap.ok(False, "%s: the section stopped early: %s: %s" % (name, type(e).__name__, e),
           traceback.format_exc())


# ---- clients ----------------------------------------------------------------------------------

class V40:
    """An NFSv4.0 client: one connection, one client ID (SETCLIENTID + CONFIRM)."""

    def __init__(self, port, name):
        self.port = port
        self.name = name
        self.verifier = os.urandom(8)
        self.cid = None
        self.c = Client(port, cred=CRED)

    def reconnect(self, port):
        self.c.close()
        self.c = Client(port, cred=CRED)

    def close(self):
        self.c.close()

    def body(self, ops):
        return R.compound(ops, minor=0, tag=b"state40")

    def send(self, body):
        return self.c.compound_body(body)

    def call(self, ops):
        return self.send(self.body(ops))[1]

    def setclientid(self):
        """SETCLIENTID and SETCLIENTID_CONFIRM; the CONFIRM's reply (or the failed one)."""
        cr = self.call([R.setclientid(self.verifier, self.name.encode())])
        res = result(cr, "SETCLIENTID")
        if res is None or res.status != OK:
            return cr
        self.cid = res.clientid
        return self.call([R.setclientid_confirm(res.clientid, res.verifier)])

    def open(self, name, owner, seqid, access=R.SHARE_ACCESS_READ, deny=R.SHARE_DENY_NONE):
        return self.call([R.putrootfh(), R.open_(name, owner, self.cid, seqid, access, deny),
                          R.getfh()])

    def open_confirmed(self, name, owner, seqid, access=R.SHARE_ACCESS_READ,
                       deny=R.SHARE_DENY_NONE):
        """OPEN by a new open-owner and its OPEN_CONFIRM (seqid + 1): (stateid, fh), or
        raises with what went wrong."""
        cr = self.open(name, owner, seqid, access, deny)
        res, fh = result(cr, "OPEN"), result(cr, "GETFH")
        if res is None or res.status != OK or fh is None:
            raise AssertionError("OPEN %s: %s" % (name, cr.describe()))
        sid = res.stateid
        if res.rflags & R.OPEN4_RESULT_CONFIRM:
            cr = self.call([R.putfh(fh.fh), R.open_confirm(sid, seqid + 1)])
            res = result(cr, "OPEN_CONFIRM")
            if res is None or res.status != OK:
                raise AssertionError("OPEN_CONFIRM %s: %s" % (name, cr.describe()))
            sid = res.stateid
        return sid, fh.fh

    def renew(self):
        return self.call([R.renew(self.cid)])


class V41:
    """An NFSv4.1 client: one connection, EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE
    (RFC 8881 §18.51.3: before its first non-reclaim OPEN or LOCK). Tracks the seqid of
    each slot it uses."""

    def __init__(self, port, name):
        self.port = port
        self.name = name
        self.c = Client(port, cred=CRED)
        self.cid = None
        self.sessionid = None
        self.nslots = None
        self.slots = {}
        self.setup = []   # (what, CompoundReply) of the three steps

    def start(self, verifier=None, reclaim_complete=True):
        """EXCHANGE_ID (verifier None: a new random one), CREATE_SESSION and, unless told
        not to (a client about to reclaim), RECLAIM_COMPLETE. True when each was OK."""
        self.verifier = verifier or os.urandom(8)
        cr = self.call_plain([R.exchange_id(owner=self.name.encode(), verifier=self.verifier)])
        self.setup.append(("EXCHANGE_ID", cr))
        res = result(cr, "EXCHANGE_ID")
        if res is None or res.status != OK:
            return False
        self.cid = res.clientid
        cr = self.call_plain([R.create_session(self.cid, res.seqid)])
        self.setup.append(("CREATE_SESSION", cr))
        res = result(cr, "CREATE_SESSION")
        if res is None or res.status != OK:
            return False
        self.sessionid, self.nslots = res.sessionid, res.nslots
        if not reclaim_complete:
            return True
        cr = self.call([R.reclaim_complete()])
        self.setup.append(("RECLAIM_COMPLETE", cr))
        res = result(cr, "RECLAIM_COMPLETE")
        return res is not None and res.status == OK

    def reconnect(self, port):
        self.c.close()
        self.c = Client(port, cred=CRED)

    def close(self):
        self.c.close()

    def call_plain(self, ops):
        return self.c.compound(ops, minor=1, tag=b"state41")

    def body(self, ops, slot=0, seqid=None, cachethis=False, sessionid=None):
        """SEQUENCE + ops; seqid None: the slot's next one (and the slot moves on)."""
        if seqid is None:
            seqid = self.slots.get(slot, 0) + 1
            self.slots[slot] = seqid
        seq = R.sequence(sessionid or self.sessionid, seqid, slot, 0, cachethis)
        return R.compound([seq] + list(ops), minor=1, tag=b"state41")

    def send(self, body):
        return self.c.compound_body(body)

    def call(self, ops, **kw):
        return self.send(self.body(ops, **kw))[1]

    def open(self, name, owner, access=R.SHARE_ACCESS_READ, deny=R.SHARE_DENY_NONE):
        return self.call([R.putrootfh(), R.open_(name, owner, self.cid, 0, access, deny),
                          R.getfh()])

    def renew(self):
        return self.call([])


class Locks41:
    """A 4.1 lock-owner on one open file. Its lock stateid, once it has one, is kept current
    from every LOCK and LOCKU reply (RFC 8881 §8.2.2: each change bumps the seqid and an
    older one is OLD_STATEID); 4.1 ignores the seqids (§18.10.3), they go as 0."""

    def __init__(self, v, fh, open_sid, name):
        self.v, self.fh, self.open_sid, self.name = v, fh, open_sid, name
        self.sid = None

    def lock(self, locktype, offset, length):
        if self.sid:
            op = R.lock(locktype, offset, length, exist=(self.sid, 0))
        else:
            op = R.lock(locktype, offset, length,
                        new=(0, self.open_sid, 0, self.v.cid, self.name))
        return self._run(op, "LOCK")

    def locku(self, offset, length):
        return self._run(R.locku(self.sid or self.open_sid, 0, offset, length), "LOCKU")

    def lockt(self, locktype, offset, length):
        return self.v.call([R.putfh(self.fh), R.lockt(locktype, offset, length, self.v.cid,
                                                      self.name)])

    def _run(self, op, name):
        cr = self.v.call([R.putfh(self.fh), op])
        res = result(cr, name)
        if res is not None and res.status == OK and res.stateid:
            self.sid = res.stateid
        return cr


def start_v41(port, name, what, verifier=None, reclaim_complete=True):
    """A 4.1 client with its session; one check that it got there."""
    v = V41(port, name)
    ok = v.start(verifier, reclaim_complete)
    check(ok, "%s: EXCHANGE_ID, CREATE_SESSION%s" % (
        what, ", RECLAIM_COMPLETE" if reclaim_complete else ""), "NFS4_OK each",
          ", ".join("%s %s" % (w, R.status_name(result(cr, w).status) if result(cr, w)
                               else cr.describe()) for w, cr in v.setup))
    if not ok:
        raise AssertionError("no 4.1 session for %s" % name)
    return v


def start_v40(port, name, what, verifier=None):
    v = V40(port, name)
    if verifier:
        v.verifier = verifier
    cr = v.setclientid()
    res = result(cr, "SETCLIENTID_CONFIRM")
    ok = res is not None and res.status == OK
    check(ok, "%s: SETCLIENTID, SETCLIENTID_CONFIRM" % what, "NFS4_OK",
          R.status_name(res.status) if res else cr.describe())
    if not ok:
        raise AssertionError("no 4.0 client ID for %s" % name)
    return v


def lookup_fh(v, name):
    cr = v.call([R.putrootfh(), R.lookup(name), R.getfh()])
    res = result(cr, "GETFH")
    if res is None or res.status != OK:
        raise AssertionError("LOOKUP %s: %s" % (name, cr.describe()))
    return res.fh


def read_ops(fh, sid):
    return [R.putfh(fh), R.read(0, 16, sid)]


def pause(seconds, keep):
    """Sleep, renewing the leases of the clients in keep every 2 s (RENEW for 4.0, a
    SEQUENCE alone for 4.1: RFC 7530 §9.5, RFC 8881 §8.3)."""
    end = time.time() + seconds
    while True:
        left = end - time.time()
        if left <= 0:
            return
        time.sleep(min(2.0, left))
        for v in keep:
            v.renew()


def wait_grace_end(port, what):
    """Wait until the server is out of its grace period: a non-reclaim OPEN and a READ
    (RFC 7530 §9.6.2, RFC 8881 §8.4.2: both refused with NFS4ERR_GRACE during it) are
    served. The seconds waited, or None when it did not end within GRACE_LIMIT."""
    t0 = time.time()
    v = V41(port, "host-state-grace-probe-%d" % int(t0 * 1000))
    if not v.start():
        tap.note("%s: the grace probe got no session: %s" % (
            what, "; ".join("%s %s" % (w, cr.describe()) for w, cr in v.setup)))
        v.close()
        return None
    n = 0
    try:
        while True:
            n += 1
            cr = v.open("probe.bin", "probe-%d" % n)
            o = result(cr, "OPEN")
            if o is not None and o.status == OK:
                v.call([R.putfh(result(cr, "GETFH").fh), R.close(o.stateid)])
            cr2 = v.call([R.putrootfh(), R.lookup("probe.bin"), R.read(0, 1)])
            rd = result(cr2, "READ")
            grace = (o is not None and o.status == E["GRACE"]) or \
                (rd is not None and rd.status == E["GRACE"])
            if not grace:
                waited = time.time() - t0
                if n > 1:
                    tap.note("%s: grace period over after %.1f s" % (what, waited))
                return waited
            if time.time() - t0 > GRACE_LIMIT:
                return None
            time.sleep(1.0)
    finally:
        # the probe leaves nothing behind (RFC 8881 §18.37, §18.50)
        try:
            v.call_plain([R.destroy_session(v.sessionid)])
            v.call_plain([R.destroy_clientid(v.cid)])
        except (OSError, Closed, ValueError, AssertionError):
            pass
        v.close()


# ---- 1. NFSv4.0 seqid replay ------------------------------------------------------------------

def seqid40(ctx):
    """RFC 7530 §9.1.7 (sequencing of lock requests), §9.1.8 (recovery from replayed
    requests): the server keeps the last seqid of each open-owner and its reply; a request
    with that seqid again gets that reply, anything but the last and the next is
    NFS4ERR_BAD_SEQID."""
    what = "4.0 seqid"
    a = start_v40(ctx["port"], "host-state-A40", what)
    ctx["close"].append(a)
    # RFC 7530 §9.1.11 (use of OPEN_CONFIRM): a new open-owner's first seqid may be any value
    s = 7
    cr = a.open("replay.bin", "A40-open", s, R.SHARE_ACCESS_READ)
    expect(cr, "OPEN", OK, "%s: OPEN by a new open-owner (seqid %d)" % (what, s),
           pred=lambda r: (bool(r.rflags & R.OPEN4_RESULT_CONFIRM), "rflags %#x" % r.rflags),
           pred_desc="with OPEN4_RESULT_CONFIRM (RFC 7530 §16.16, §16.18)")
    sid0, fh = result(cr, "OPEN").stateid, result(cr, "GETFH").fh

    s += 1
    body = a.body([R.putfh(fh), R.open_confirm(sid0, s)])
    rep1, cr1 = a.send(body)
    expect(cr1, "OPEN_CONFIRM", OK, "%s: OPEN_CONFIRM (seqid %d)" % (what, s),
           pred=stateid_pred(R.stateid_other(sid0), R.stateid_seqid(sid0) + 1),
           pred_desc="with the OPEN's stateid, seqid + 1")
    sid1 = result(cr1, "OPEN_CONFIRM").stateid
    rep2, cr2 = a.send(body)
    same_bytes(rep1, rep2, "%s: OPEN_CONFIRM sent again (same seqid, new xid)" % what,
               (cr1, "OPEN_CONFIRM"))

    # An OPEN upgrade by the same open-owner keeps "other" and bumps the seqid (RFC 7530
    # §9.1.4.2 / §16.16.5); its replay gets the stored reply.
    s += 1
    body = a.body([R.putrootfh(), R.open_("replay.bin", "A40-open", a.cid, s,
                                          R.SHARE_ACCESS_BOTH), R.getfh()])
    rep1, cr1 = a.send(body)
    expect(cr1, "OPEN", OK, "%s: OPEN upgrade READ -> BOTH (seqid %d)" % (what, s),
           pred=stateid_pred(R.stateid_other(sid1), R.stateid_seqid(sid1) + 1),
           pred_desc="with the same other, seqid + 1")
    sid2 = result(cr1, "OPEN").stateid
    rep2, cr2 = a.send(body)
    same_bytes(rep1, rep2, "%s: the OPEN upgrade sent again (same seqid, new xid)" % what,
               (cr1, "OPEN"))

    # RFC 7530 §9.1.4.4 (stateid lifetime and validation): a seqid below the current one is
    # OLD_STATEID, one above it BAD_STATEID.
    expect(a.call(read_ops(fh, sid1)), "READ", E["OLD_STATEID"],
           "stateid: 4.0 READ with the open stateid of before the upgrade (seqid %d < %d)" %
           (R.stateid_seqid(sid1), R.stateid_seqid(sid2)))
    expect(a.call(read_ops(fh, sid2)), "READ", OK,
           "stateid: 4.0 READ with the current open stateid")
    expect(a.call(read_ops(fh, R.stateid_with_seqid(sid2, R.stateid_seqid(sid2) + 1))),
           "READ", E["BAD_STATEID"],
           "stateid: 4.0 READ with a stateid seqid above the current one")

    # Neither the last seqid (s) nor the next (s + 1): BAD_SEQID, and the seqid stays.
    for bad in (s + 2, s - 1):
        cr = a.open("replay.bin", "A40-open", bad, R.SHARE_ACCESS_BOTH)
        expect(cr, "OPEN", E["BAD_SEQID"],
               "%s: OPEN with seqid %d (the last is %d, the next %d)" % (what, bad, s, s + 1))

    s += 1
    body = a.body([R.putfh(fh), R.close(sid2, s)])
    rep1, cr1 = a.send(body)
    expect(cr1, "CLOSE", OK, "%s: CLOSE (seqid %d)" % (what, s))
    rep2, cr2 = a.send(body)
    same_bytes(rep1, rep2, "%s: CLOSE sent again (same seqid, new xid)" % what, (cr1, "CLOSE"))
    # RFC 7530 §9.1.4.4: a stateid that designates no state any more is BAD_STATEID
    expect(a.call(read_ops(fh, sid2)), "READ", E["BAD_STATEID"],
           "stateid: 4.0 READ with the stateid of a closed open")


# ---- 2. NFSv4.1 slots -------------------------------------------------------------------------

def slots41(ctx):
    """RFC 8881 §2.10.6 (exactly once semantics) and §18.46.3 (SEQUENCE)."""
    what = "4.1 slot"
    v = start_v41(ctx["port"], "host-state-S41", what)
    ctx["close"].append(v)
    check(v.nslots is not None and v.nslots >= 1, "%s: CREATE_SESSION grants slots" % what,
          "ca_maxrequests >= 1", v.nslots)

    # §2.10.6.1.1: a retry (same slot, same seqid) of a request whose reply was cached
    # (sa_cachethis) gets that reply.
    body = v.body([R.putrootfh(), R.getattr_(R.FATTR4_TYPE, R.FATTR4_SIZE)], cachethis=True)
    rep1, cr1 = v.send(body)
    expect(cr1, "GETATTR", OK, "%s: SEQUENCE + PUTROOTFH + GETATTR, cachethis" % what)
    rep2, cr2 = v.send(body)
    same_bytes(rep1, rep2, "%s: SEQUENCE + PUTROOTFH + GETATTR sent again (same slot and "
               "seqid, new xid)" % what, (cr1, "GETATTR"))

    body = v.body([R.putrootfh(), R.open_("slot.bin", "S41-open", v.cid, 0),
                   R.getfh()], cachethis=True)
    rep1, cr1 = v.send(body)
    expect(cr1, "OPEN", OK, "%s: SEQUENCE + OPEN, cachethis" % what)
    rep2, cr2 = v.send(body)
    same_bytes(rep1, rep2, "%s: SEQUENCE + OPEN sent again (same slot and seqid, new xid)" %
               what, (cr1, "OPEN"))
    o = result(cr1, "OPEN")
    if o is not None and o.status == OK:
        # the replay was answered from the cache, not run again: the next OPEN of the same
        # open-owner is the first upgrade (stateid seqid 2, RFC 8881 §8.2.2)
        cr = v.open("slot.bin", "S41-open")
        expect(cr, "OPEN", OK, "%s: the OPEN after the replayed one" % what,
               pred=stateid_pred(R.stateid_other(o.stateid), R.stateid_seqid(o.stateid) + 1),
               pred_desc="with seqid %d (the replay did not open again)" %
               (R.stateid_seqid(o.stateid) + 1))

    # §2.10.6.1.3 / §18.46.3: a retry whose reply was not to be cached: the reply again, or
    # NFS4ERR_RETRY_UNCACHED_REP.
    body = v.body([R.putrootfh(), R.getattr_(R.FATTR4_TYPE)], cachethis=False)
    rep1, cr1 = v.send(body)
    rep2, cr2 = v.send(body)
    sq = result(cr2, "SEQUENCE")
    check(rep1.body == rep2.body or (sq is not None and sq.status == E["RETRY_UNCACHED_REP"]),
          "%s: retry of a request sent without cachethis" % what,
          "the same bytes or SEQUENCE NFS4ERR_RETRY_UNCACHED_REP",
          "the same bytes" if rep1.body == rep2.body else cr2.describe())

    # §18.46.3: a seqid that is neither the slot's last nor last + 1: SEQ_MISORDERED, and
    # the slot stays where it was.
    last = v.slots[0]
    for bad, why in ((last + 2, "two ahead of"), (last - 1, "one behind")):
        cr = v.call([R.putrootfh()], seqid=bad)
        expect(cr, "SEQUENCE", E["SEQ_MISORDERED"],
               "%s: SEQUENCE with seqid %d, %s the slot's %d" % (what, bad, why, last))
    expect(v.call([R.putrootfh()]), "SEQUENCE", OK,
           "%s: then the slot's next seqid (%d) is served" % (what, last + 1))

    # §18.46.3: a slot ID past the highest one the server gave out: BADSLOT
    if v.nslots is not None:
        for slot in (v.nslots, 0xffffffff):
            expect(v.call([R.putrootfh()], slot=slot, seqid=1), "SEQUENCE", E["BADSLOT"],
                   "%s: SEQUENCE on slot %d (the session has %d slots)" % (what, slot,
                                                                          v.nslots))
    # §18.46.3, §2.10.3: a session ID the server does not know
    expect(v.call([R.putrootfh()], seqid=1, sessionid=os.urandom(16)), "SEQUENCE",
           E["BADSESSION"], "%s: SEQUENCE with a made-up session ID" % what)


# ---- 3. stateids ------------------------------------------------------------------------------

def forged(sid):
    """A stateid the server never issued: a real one with bytes 8..11 of its "other"
    inverted (what the server uses to recognise its own instance is left alone)."""
    other = bytearray(R.stateid_other(sid))
    for i in range(8, 12):
        other[i] ^= 0xff
    return R.stateid(R.stateid_seqid(sid), bytes(other))


def stateids(ctx):
    """RFC 7530 §9.1.4.4 and RFC 8881 §8.2.4 (stateid lifetime and validation)."""
    what = "stateid"
    port = ctx["port"]
    a = start_v40(port, "host-state-sid40", what + " 4.0")
    ctx["close"].append(a)
    sid_a, fh = a.open_confirmed("data.bin", "sid40-open", 0)
    b = start_v41(port, "host-state-sid41", what + " 4.1")
    ctx["close"].append(b)

    made_up = R.stateid(1, os.urandom(12))
    # A made-up "other" cannot be told from one of an earlier server instance, which 4.0
    # reports as NFS4ERR_STALE_STATEID (RFC 7530 §9.1.4.4, §13.1.5); 4.1 has no stale
    # stateids, the session shows the restart (RFC 8881 §15.1.16.5).
    expect(a.call(read_ops(fh, made_up)), "READ", (E["BAD_STATEID"], E["STALE_STATEID"]),
           "%s: 4.0 READ with a made-up stateid (random other)" % what)
    expect(b.call(read_ops(fh, made_up)), "READ", E["BAD_STATEID"],
           "%s: 4.1 READ with a made-up stateid (random other)" % what)
    expect(a.call(read_ops(fh, forged(sid_a))), "READ", E["BAD_STATEID"],
           "%s: 4.0 READ with a forged stateid (a real one, 4 bytes of other inverted)" % what)
    # RFC 8881 §8.2.4: a stateid is valid only for the client (the session) that got it
    expect(b.call(read_ops(fh, sid_a)), "READ", E["BAD_STATEID"],
           "%s: 4.1 READ with the open stateid of another client" % what)

    # RFC 8881 §8.2.2, §8.2.4: an OPEN upgrade bumps the seqid; the older one is
    # OLD_STATEID, seqid 0 means the current one, a seqid ahead is BAD_STATEID.
    cr = b.open("data.bin", "sid41-open", R.SHARE_ACCESS_READ)
    o1 = result(cr, "OPEN")
    expect(cr, "OPEN", OK, "%s: 4.1 OPEN for READ" % what)
    cr = b.open("data.bin", "sid41-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: 4.1 OPEN upgrade to BOTH" % what,
           pred=stateid_pred(R.stateid_other(o1.stateid), R.stateid_seqid(o1.stateid) + 1),
           pred_desc="with the same other, seqid + 1")
    cur = result(cr, "OPEN").stateid
    expect(b.call(read_ops(fh, o1.stateid)), "READ", E["OLD_STATEID"],
           "%s: 4.1 READ with the open stateid of before the upgrade" % what)
    expect(b.call(read_ops(fh, R.stateid_with_seqid(cur, 0))), "READ", OK,
           "%s: 4.1 READ with seqid 0 (the current one, RFC 8881 §8.2.2)" % what)
    expect(b.call(read_ops(fh, R.stateid_with_seqid(cur, R.stateid_seqid(cur) + 1))), "READ",
           E["BAD_STATEID"], "%s: 4.1 READ with a stateid seqid above the current one" % what)
    expect(b.call(read_ops(fh, forged(cur))), "READ", E["BAD_STATEID"],
           "%s: 4.1 READ with a forged stateid (a real one, 4 bytes of other inverted)" % what)


# ---- 4. locks and share reservations ----------------------------------------------------------

def locks(ctx):
    """Byte-range locks (RFC 7530 §9.2-9.4, §16.10-16.12, §16.37; RFC 8881 §18.10-18.12)
    between client A (4.0) and client B (4.1), and share reservations (RFC 7530 §9.9,
    RFC 8881 §9.7). B stays for the lease and restart sections."""
    what = "lock"
    port = ctx["port"]
    a = start_v40(port, "host-state-lockA", what + " A (4.0)")
    ctx["close"].append(a)
    b = start_v41(port, "host-state-lockB", what + " B (4.1)")
    ctx["B"] = b
    A_LOCK, B1, B2 = b"A-lock", b"B-lock-1", b"B-lock-2"

    os_a, fh = a.open_confirmed("locks.bin", "A-open", 0, R.SHARE_ACCESS_BOTH)
    aseq = 1   # the open-owner's last seqid (OPEN 0, OPEN_CONFIRM 1)
    cr = b.open("locks.bin", "B-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: B opens the same file" % what)
    os_b = result(cr, "OPEN").stateid

    # A: WRITE_LT [0, 100) by a new lock-owner (open_to_lock_owner4: the open-owner's next
    # seqid, the lock-owner's first, which is 0: RFC 7530 §9.1.7). Sent twice: the second
    # is a replay of both seqids and gets the stored reply (RFC 7530 §9.1.8).
    aseq += 1
    lseq = 0
    body = a.body([R.putfh(fh), R.lock(R.WRITE_LT, 0, 100,
                                       new=(aseq, os_a, lseq, a.cid, A_LOCK))])
    rep1, cr1 = a.send(body)
    expect(cr1, "LOCK", OK, "%s: A LOCK WRITE_LT [0, 100) (4.0, new lock-owner)" % what,
           lock=True)
    ls_a = result(cr1, "LOCK").stateid if result(cr1, "LOCK") else None
    rep2, cr2 = a.send(body)
    same_bytes(rep1, rep2, "%s: A's LOCK (open_to_lock_owner) sent again (same seqids, new "
               "xid)" % what, (cr1, "LOCK"), lock=True)

    # B: the range overlaps A's: DENIED with A's lock in LOCK4denied (RFC 8881 §18.10.3:
    # the conflicting lock's owner, offset and length, the clientid set; §18.10.4: when the
    # server cannot tell the range, the one asked for).
    b1 = Locks41(b, fh, os_b, B1)
    expect(b1.lock(R.WRITE_LT, 50, 10), "LOCK", E["DENIED"],
           "%s: B LOCK WRITE_LT [50, 10) over A's [0, 100)" % what, lock=True,
           pred=denied_by(a.cid, A_LOCK, [(0, 100)], (50, 10)),
           pred_desc="naming A's lock-owner, WRITE_LT, [0, 100)")
    expect(b1.lockt(R.READ_LT, 200, 10), "LOCKT", OK,
           "%s: B LOCKT READ_LT [200, 10), outside A's range" % what, lock=True)
    expect(b1.lockt(R.WRITE_LT, 90, 20), "LOCKT", E["DENIED"],
           "%s: B LOCKT WRITE_LT [90, 20)" % what, lock=True,
           pred=denied_by(a.cid, A_LOCK, [(0, 100)], (90, 20)),
           pred_desc="naming A's lock-owner, WRITE_LT, [0, 100)")

    # A unlocks the middle [40, 60): its lock splits in two (POSIX semantics; RFC 7530
    # §16.12.5 allows LOCK_RANGE only to servers without sub-range support). LOCKU sent
    # twice: the second is a replay (RFC 7530 §9.1.8).
    lseq += 1
    body = a.body([R.putfh(fh), R.locku(ls_a or os_a, lseq, 40, 20)])
    rep1, cr1 = a.send(body)
    expect(cr1, "LOCKU", OK, "%s: A LOCKU [40, 20) inside its [0, 100)" % what, lock=True,
           pred=stateid_pred(R.stateid_other(ls_a) if ls_a else None),
           pred_desc="with its lock stateid")
    if result(cr1, "LOCKU") and result(cr1, "LOCKU").stateid:
        ls_a = result(cr1, "LOCKU").stateid
    rep2, cr2 = a.send(body)
    same_bytes(rep1, rep2, "%s: A's LOCKU sent again (same seqid, new xid)" % what,
               (cr1, "LOCKU"), lock=True)

    b2 = Locks41(b, fh, os_b, B2)
    expect(b2.lock(R.WRITE_LT, 40, 20), "LOCK", OK,
           "%s: B LOCK WRITE_LT [40, 20), the part A unlocked" % what, lock=True)
    for off in (0, 60):
        expect(b2.lock(R.WRITE_LT, off, 10), "LOCK", E["DENIED"],
               "%s: B LOCK WRITE_LT [%d, 10), still A's" % (what, off), lock=True,
               pred=denied_by(a.cid, A_LOCK, [(0, 40), (60, 40)], (off, 10)),
               pred_desc="naming A's lock-owner, WRITE_LT, [0, 40) or [60, 100)")

    # RFC 7530 §9.1.7: a lock seqid two ahead is BAD_SEQID (and does not advance it)
    cr = a.call([R.putfh(fh), R.lock(R.WRITE_LT, 0, 10, exist=(ls_a or os_a, lseq + 2))])
    expect(cr, "LOCK", E["BAD_SEQID"], "%s: A LOCK with a lock seqid two ahead (%d, the last "
           "is %d)" % (what, lseq + 2, lseq), lock=True)

    # RFC 7530 §16.37.4: RELEASE_LOCKOWNER of an owner that holds locks: LOCKS_HELD
    cr = a.call([R.release_lockowner(a.cid, A_LOCK)])
    expect(cr, "RELEASE_LOCKOWNER", E["LOCKS_HELD"],
           "%s: RELEASE_LOCKOWNER while A holds [0, 40) and [60, 100)" % what, lock=True)
    for off, length in ((0, 40), (60, 40)):
        lseq += 1
        cr = a.call([R.putfh(fh), R.locku(ls_a or os_a, lseq, off, length)])
        expect(cr, "LOCKU", OK, "%s: A LOCKU [%d, %d)" % (what, off, length), lock=True)
        if result(cr, "LOCKU") and result(cr, "LOCKU").stateid:
            ls_a = result(cr, "LOCKU").stateid
    cr = a.call([R.release_lockowner(a.cid, A_LOCK)])
    expect(cr, "RELEASE_LOCKOWNER", OK, "%s: RELEASE_LOCKOWNER once A holds no locks" % what,
           lock=True)
    expect(b2.lock(R.WRITE_LT, 0, 100), "LOCK", OK,
           "%s: B LOCK WRITE_LT [0, 100) after A unlocked" % what, lock=True)
    expect(b2.locku(0, ALL), "LOCKU", OK, "%s: B LOCKU [0, end of file)" % what, lock=True)

    # -- the ends of the 64-bit range (B, a file and lock-owner of its own) ------------
    # RFC 8881 §18.10.3, RFC 7530 §16.10.4: length all ones locks to the end of the file;
    # NFS4ERR_INVAL for a length of 0, and for a length that is not all ones and that,
    # added to the offset, exceeds NFS4_UINT64_MAX. So [2^64-2, 1) is the highest one-byte
    # range there is, and the byte at 2^64-1 is locked as [2^64-1, all ones), not as
    # [2^64-1, 1) (offset + length = 2^64 exceeds the maximum).
    cr = b.open("range.bin", "B-ropen", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: B opens range.bin" % what)
    os_r, fh_r = result(cr, "OPEN").stateid, result(cr, "GETFH").fh
    BR = b"B-range"
    br = Locks41(b, fh_r, os_r, BR)
    expect(br.lock(R.WRITE_LT, ALL - 1, 1), "LOCK", OK,
           "%s: B LOCK WRITE_LT offset 2^64-2 length 1" % what, lock=True)
    for off, length, want, why in (
            (ALL, ALL, OK, "offset 2^64-1 length all ones (the last byte)"),
            (10, ALL, OK, "offset 10 length all ones (to the end of the file)"),
            (ALL, 1, E["INVAL"], "offset 2^64-1 length 1 (offset + length = 2^64)"),
            (ALL, 2, E["INVAL"], "offset 2^64-1 length 2 (offset + length overflows)"),
            (2**63, 2**63, E["INVAL"], "offset 2^63 length 2^63 (offset + length = 2^64)"),
            (0, 0, E["INVAL"], "length 0"),
            (100, 0, E["INVAL"], "offset 100 length 0")):
        expect(br.lock(R.WRITE_LT, off, length), "LOCK", want,
               "%s: B LOCK WRITE_LT %s" % (what, why), lock=True)
    for off, length, why in ((0, 0, "length 0"), (ALL, 2, "offset 2^64-1 length 2")):
        expect(b.call([R.putfh(fh_r), R.lockt(R.WRITE_LT, off, length, b.cid, b"B-test")]),
               "LOCKT", E["INVAL"], "%s: LOCKT %s (the ranges of LOCK, RFC 8881 §18.11.3)" %
               (what, why), lock=True)
    # A (4.0) sees B's lock at the top of the range; RFC 8881 §18.10.3: the clientid in
    # LOCK4denied is the one of the client that holds the lock.
    fh_r40 = lookup_fh(a, "range.bin")
    cr = a.call([R.putfh(fh_r40), R.lockt(R.WRITE_LT, ALL - 1, 1, a.cid, b"A-test")])
    expect(cr, "LOCKT", E["DENIED"], "%s: A LOCKT WRITE_LT [2^64-2, 1)" % what, lock=True,
           pred=denied_by(b.cid, BR, [(10, ALL)], (ALL - 1, 1)),
           pred_desc="naming B's client ID and lock-owner")
    expect(br.locku(0, ALL), "LOCKU", OK, "%s: B LOCKU [0, end of file) of range.bin" % what,
           lock=True)

    # -- share reservations -------------------------------------------------------------
    # RFC 7530 §9.9, RFC 8881 §9.7: an OPEN whose access another open denies, or whose
    # deny covers another open's access, is NFS4ERR_SHARE_DENIED.
    sw = "share"
    os_s, fh_s = a.open_confirmed("share.bin", "A-share", 0, R.SHARE_ACCESS_BOTH,
                                  R.SHARE_DENY_WRITE)
    expect(b.open("share.bin", "B-share", R.SHARE_ACCESS_WRITE), "OPEN", E["SHARE_DENIED"],
           "%s: B OPEN for WRITE while A's open denies WRITE" % sw)
    expect(b.open("share.bin", "B-share", R.SHARE_ACCESS_READ, R.SHARE_DENY_READ), "OPEN",
           E["SHARE_DENIED"], "%s: B OPEN for READ denying READ while A reads" % sw)
    expect(b.open("share.bin", "B-share", R.SHARE_ACCESS_READ), "OPEN", OK,
           "%s: B OPEN for READ, denying nothing" % sw)
    expect(a.call([R.putfh(fh_s), R.close(os_s, 2)]), "CLOSE", OK, "%s: A CLOSE" % sw)
    expect(b.open("share.bin", "B-share", R.SHARE_ACCESS_WRITE), "OPEN", OK,
           "%s: B OPEN for WRITE once A closed" % sw)


# ---- 5. an expired lease ----------------------------------------------------------------------

def lease(ctx):
    """A 4.0 client C holds an open (denying WRITE) and a lock, then stays silent for longer
    than the lease (plus the server's sweep interval) while B keeps renewing."""
    what = "lease"
    port = ctx["port"]
    b = ctx.get("B") or start_v41(port, "host-state-leaseB", what + " B (4.1)")
    ctx["B"] = b
    c = start_v40(port, "host-state-C-silent", what + " C (4.0)")
    ctx["close"].append(c)
    os_c, fh = c.open_confirmed("expire.bin", "C-open", 0, R.SHARE_ACCESS_BOTH,
                                R.SHARE_DENY_WRITE)
    cr = c.call([R.putfh(fh), R.lock(R.WRITE_LT, 0, ALL, new=(2, os_c, 0, c.cid, b"C-lock"))])
    expect(cr, "LOCK", OK, "%s: C LOCK WRITE_LT [0, end of file)" % what, lock=True)

    expect(b.open("expire.bin", "B-exp", R.SHARE_ACCESS_WRITE), "OPEN", E["SHARE_DENIED"],
           "%s: B OPEN for WRITE while C's open denies WRITE" % what)
    cr = b.open("expire.bin", "B-exp", R.SHARE_ACCESS_READ)
    expect(cr, "OPEN", OK, "%s: B OPEN for READ" % what)
    os_b = result(cr, "OPEN").stateid
    expect(Locks41(b, fh, os_b, b"B-exp-1").lock(R.READ_LT, 0, 10), "LOCK", E["DENIED"],
           "%s: B LOCK READ_LT [0, 10) while C holds the file" % what, lock=True,
           pred=denied_by(c.cid, b"C-lock", [(0, ALL)], (0, 10)),
           pred_desc="naming C's lock-owner, WRITE_LT, [0, end of file)")
    expect(c.call(read_ops(fh, os_c)), "READ", OK, "%s: C READ with its open stateid" % what)

    wait = LEASE + SWEEP_SLACK
    tap.note("%s: C stays silent for %.1f s (lease %d s + the sweep), B renews" % (
        what, wait, LEASE))
    pause(wait, [b])

    # RFC 7530 §9.6.3 (network partitions and recovery): when a client whose lease ran out
    # reaches the server again, "all I/O submitted by the client with the now invalid
    # stateids will fail with the server returning the error NFS4ERR_EXPIRED". Its client
    # ID: NFS4ERR_EXPIRED too, or NFS4ERR_STALE_CLIENTID from a server that released it
    # (§9.1.2; both are errors of RENEW, §16.28).
    expect(c.call([R.renew(c.cid)]), "RENEW", (E["EXPIRED"], E["STALE_CLIENTID"]),
           "%s: C RENEW after %.1f s of silence" % (what, wait))
    expect(c.call(read_ops(fh, os_c)), "READ", E["EXPIRED"],
           "%s: C READ with its open stateid after the lease ran out" % what)
    # its locks and its share reservation went with the lease (RFC 7530 §9.6.1, §9.8)
    expect(Locks41(b, fh, os_b, b"B-exp-2").lock(R.READ_LT, 0, 10), "LOCK", OK,
           "%s: B LOCK READ_LT [0, 10) once C's lease ran out" % what, lock=True)
    expect(b.open("expire.bin", "B-exp", R.SHARE_ACCESS_WRITE), "OPEN", OK,
           "%s: B OPEN for WRITE once C's lease ran out" % what)


# ---- 6. restart -------------------------------------------------------------------------------

def restart(ctx):
    """SIGKILL the server and start it again on the same port, export and state directory.
    RFC 7530 §9.1.4.4 and §9.6.2: a stateid of the earlier instance is STALE_STATEID; during
    the grace period the server may refuse a READ with GRACE before it looks at the stateid;
    a client ID of the earlier instance is STALE_CLIENTID. RFC 8881 §8.4.2, §18.46.3,
    §18.36.4: a 4.1 session is gone (BADSESSION) and its client ID is stale."""
    what = "restart"
    port = ctx["port"]
    r = start_v40(port, "host-state-R-restart", what + " R (4.0)")
    os_r, fh = r.open_confirmed("restart.bin", "R-open", 0)
    expect(r.call(read_ops(fh, os_r)), "READ", OK, "%s: R READ before the restart" % what)
    b = ctx.get("B")

    srv = ctx["srv"]
    pid = srv.p.pid
    srv.kill()
    tap.note("%s: sluiced pid %d killed with SIGKILL" % (what, pid))
    srv = ctx["start"](2)
    ctx["srv"] = srv
    if not check(srv.port == port, "%s: sluiced listens again on port %d" % (what, port),
                 port, srv.port):
        raise AssertionError("the server did not come back on port %d" % port)
    tap.note("%s: sluiced pid %d" % (what, srv.p.pid))

    r.reconnect(port)
    expect(r.call(read_ops(fh, os_r)), "READ", (E["STALE_STATEID"], E["GRACE"]),
           "%s: R READ with the stateid of before the restart, right after it" % what)
    expect(r.call([R.renew(r.cid)]), "RENEW", E["STALE_CLIENTID"],
           "%s: R RENEW with the client ID of before the restart" % what)
    if b is not None:
        b.reconnect(port)
        expect(b.call([R.putrootfh()]), "SEQUENCE", E["BADSESSION"],
               "%s: B SEQUENCE on its session of before the restart" % what)
        expect(b.call_plain([R.create_session(b.cid, 2)]), "CREATE_SESSION",
               E["STALE_CLIENTID"],
               "%s: B CREATE_SESSION with its client ID of before the restart" % what)

    waited = wait_grace_end(port, what)
    check(waited is not None, "%s: the grace period ends" % what,
          "within %d s" % GRACE_LIMIT, "%.1f s" % waited if waited is not None else "not over")
    expect(r.call(read_ops(fh, os_r)), "READ", E["STALE_STATEID"],
           "%s: R READ with the stateid of before the restart, after the grace period" % what)
    # R starts over (RFC 7530 §9.6.2): a new client ID, a new open, served
    r2 = start_v40(port, "host-state-R-restart", what + " R again (new verifier)")
    ctx["close"].append(r2)
    sid, fh2 = r2.open_confirmed("restart.bin", "R-open", 0)
    expect(r2.call(read_ops(fh2, sid)), "READ", OK,
           "%s: R READ with a new open stateid after the restart" % what)
    r.close()


# ---- 7. reclaim: client records, the grace period, reclaims -----------------------------------

CLAIM_PREVIOUS = 1          # open_claim_type4
OPEN_DELEGATE_NONE = 0
COMPLETE_ALREADY = 10054    # NFS4ERR_COMPLETE_ALREADY (RFC 8881 §15.1.9.1)
R.STATUS_NAME.setdefault(COMPLETE_ALREADY, "COMPLETE_ALREADY")
GRACE_LINE = re.compile(r"grace period: (\d+) client\(s\) of the previous run")


def open_previous(owner, clientid=0, seqid=0, access=R.SHARE_ACCESS_BOTH,
                  deny=R.SHARE_DENY_NONE):
    """OPEN CLAIM_PREVIOUS (RFC 7530 §16.16, RFC 8881 §18.16): the file is the current FH,
    the claim carries the delegation type held before (none)."""
    return R.op("OPEN", R.u32(seqid) + R.u32(access) + R.u32(deny) + R.owner4(clientid, owner) +
                R.u32(0) + R.u32(CLAIM_PREVIOUS) + R.u32(OPEN_DELEGATE_NONE))


def write_anon(offset, data):
    """WRITE with the anonymous stateid (RFC 8881 §8.2.3), FILE_SYNC4."""
    return R.op("WRITE", R.ANON_STATEID + R.u64(offset) + R.u32(2) + R.opaque(data))


def remove(name):
    return R.op("REMOVE", R.string(name))


def rename(old, new):
    return R.op("RENAME", R.string(old) + R.string(new))


def records(state_dir):
    """STATE_DIR/clients (server/clientrec.h: "+HEX" a client confirmed, "-HEX" it went):
    (its lines, the set of names it leaves recorded), or (None, the error)."""
    try:
        with open(os.path.join(state_dir, "clients"), "rb") as f:
            lines = f.read().decode("ascii", "replace").splitlines()
    except OSError as e:
        return None, str(e)
    live = set()
    for line in lines:
        try:
            name = bytes.fromhex(line[1:])
        except ValueError:
            continue
        if line[:1] == "+":
            live.add(name)
        elif line[:1] == "-":
            live.discard(name)
    return lines, live


def show_names(names):
    return "{%s}" % ", ".join(sorted(n.decode("ascii", "replace") for n in names))


def show_lines(lines):
    def one(line):
        try:
            return line[0] + bytes.fromhex(line[1:]).decode("ascii", "replace")
        except ValueError:
            return repr(line)
    return "[%s]" % ", ".join(one(x) for x in lines)


def check_records(state_dir, want, desc, exact_lines=True):
    """The record log names exactly the clients want (names as bytes); exact_lines: and
    it is one "+" line per client, nothing else (as after a compaction)."""
    lines, live = records(state_dir)
    if lines is None:
        return check(False, desc, show_names(want), "no record log: %s" % live)
    ok = live == set(want)
    if exact_lines:
        ok = ok and sorted(lines) == sorted("+" + n.hex() for n in want)
    return check(ok, desc, ("one +HEX line for each of " if exact_lines else "recorded: ") +
                 show_names(want), "%s (%d line(s): %s)" % (show_names(live), len(lines),
                                                           show_lines(lines)))


def grace_count(srv):
    """N of the start-up line "grace period: N client(s) of the previous run", or None."""
    m = GRACE_LINE.search(srv.log())
    return int(m.group(1)) if m else None


def expired_count(srv):
    return sum(int(n) for n in re.findall(r"lease expired for (\d+) client", srv.log()))


def reclaim(ctx):
    """Client records on stable storage and the grace period (RFC 8881 §8.4.2, §8.4.2.1,
    §18.51; RFC 7530 §9.6.2), on servers of their own (own ports and state directories,
    the same export): run 1 makes state, SIGKILL, run 2 is in grace for the clients of
    run 1 (its end measured); a second pair of runs whose clients are all 4.1 and send
    RECLAIM_COMPLETE (the grace ends early); and a server whose only clients expired before
    its restart (no grace at all), its lease waited out while the others run."""
    what = "reclaim"
    work, exp = ctx["work"], ctx["exp"]

    def server(port, state, tag, n):
        conf = os.path.join(work, "sluice-%s.conf" % tag)
        if n == 1:
            write_config(conf, port, exp, state)
        srv = ctx["server"](conf, "sluiced.%s%d.log" % (tag, n))
        if not check(srv.port == port, "%s: sluiced (%s, run %d, pid %d) listens on port %d" %
                     (what, tag, n, srv.p.pid, port), port, srv.port):
            raise AssertionError("sluiced (%s, run %d) is not serving" % (tag, n))
        return srv

    def no_grace_line(srv, desc):
        n = grace_count(srv)
        return check(n is None, desc, "no \"grace period: N client(s)\" line",
                     "none" if n is None else "N = %d" % n)

    def fh_of(cr):
        res = result(cr, "GETFH")
        if res is None or res.status != OK:
            raise AssertionError("no file handle: %s" % cr.describe())
        return res.fh

    # -- expiry, first part: clients that expire before a restart (server X) -----------
    wx = "expiry"
    px, dir_x = free_port(), os.path.join(work, "state-x")
    sx = server(px, dir_x, "x", 1)
    x40 = start_v40(px, "host-state-X40", wx + " X40 (4.0)")
    x41 = start_v41(px, "host-state-X41", wx + " X41 (4.1)")
    ctx["close"] += [x40, x41]
    os_x40, fh_x = x40.open_confirmed("rc-x.bin", "X40-open", 0, R.SHARE_ACCESS_BOTH)
    expect(x40.call([R.putfh(fh_x), R.lock(R.WRITE_LT, 0, 100,
                                           new=(2, os_x40, 0, x40.cid, b"X40-lock"))]),
           "LOCK", OK, "%s: X40 LOCK WRITE_LT [0, 100)" % wx, lock=True)
    cr = x41.open("rc-x.bin", "X41-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: X41 opens rc-x.bin" % wx)
    if result(cr, "OPEN") and result(cr, "OPEN").status == OK:
        expect(Locks41(x41, fh_x, result(cr, "OPEN").stateid, b"X41-lock").lock(
            R.WRITE_LT, 200, 100), "LOCK", OK, "%s: X41 LOCK WRITE_LT [200, 300)" % wx, lock=True)
    t_x = time.time()   # the last time X40 and X41 said anything: their leases run from here
    check_records(dir_x, [b"host-state-X40", b"host-state-X41"],
                  "%s: STATE_DIR/clients once X40 and X41 are confirmed" % wx)
    tap.note("%s: X40 and X41 go silent now; their leases are checked at the end" % wx)

    # -- run 1 makes state (A 4.1, B 4.0, C without state, U unconfirmed) --------------
    pr, dir_r = free_port(), os.path.join(work, "state-reclaim")
    s1 = server(pr, dir_r, "r", 1)
    no_grace_line(s1, "%s: run 1 starts with an empty state directory" % what)
    VA = b"verif-A!"
    a = start_v41(pr, "A", what + " run 1: A (4.1)", verifier=VA)
    ctx["close"].append(a)
    cr = a.open("rc-a.bin", "A-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: run 1: A opens rc-a.bin" % what)
    os_a1, fh_a = result(cr, "OPEN").stateid, fh_of(cr)
    expect(Locks41(a, fh_a, os_a1, b"A-lock").lock(R.WRITE_LT, 0, 100), "LOCK", OK,
           "%s: run 1: A LOCK WRITE_LT [0, 100) of rc-a.bin" % what, lock=True)
    NB = "host-state-reclaim-B"
    b = start_v40(pr, NB, what + " run 1: B (4.0)")
    ctx["close"].append(b)
    os_b1, fh_b = b.open_confirmed("rc-b.bin", "B-open", 0, R.SHARE_ACCESS_BOTH,
                                   R.SHARE_DENY_WRITE)
    expect(b.call([R.putfh(fh_b), R.lock(R.WRITE_LT, 100, 100,
                                         new=(2, os_b1, 0, b.cid, b"B-lock"))]),
           "LOCK", OK, "%s: run 1: B LOCK WRITE_LT [100, 200) of rc-b.bin" % what, lock=True)
    NC = "host-state-reclaim-C"
    c = start_v41(pr, NC, what + " run 1: C (4.1, no state)")
    ctx["close"].append(c)
    u = V40(pr, "host-state-reclaim-U")
    ctx["close"].append(u)
    cr = u.call([R.setclientid(u.verifier, u.name.encode())])
    expect(cr, "SETCLIENTID", OK, "%s: run 1: U (4.0) SETCLIENTID, never confirmed" % what)
    # RFC 8881 §8.4.2.1, RFC 7530 §9.6.2: a record for each client that may hold state
    # (server/clientrec.h: made at the confirmation, SETCLIENTID_CONFIRM or CREATE_SESSION)
    check_records(dir_r, [b"A", NB.encode(), NC.encode()],
                  "%s: run 1: STATE_DIR/clients (A, B and C confirmed, U not)" % what)

    # -- SIGKILL, run 2 ----------------------------------------------------------------
    pid = s1.p.pid
    s1.kill()
    tap.note("%s: sluiced pid %d killed with SIGKILL" % (what, pid))
    # Restart just before a whole second of CLOCK_MONOTONIC (time.monotonic() on Linux):
    # a grace period counted in whole seconds from there, rounded down, would be almost
    # a second short, which the measurement below sees.
    while time.monotonic() % 1.0 < 0.85:
        time.sleep(0.01)
    t_r2 = time.time()
    s2 = server(pr, dir_r, "r", 2)
    n = grace_count(s2)
    check(n == 3, "%s: run 2 logs \"grace period: N client(s) of the previous run\"" % what,
          "N = 3 (A, B, C)", "no such line" if n is None else "N = %d" % n)
    check_records(dir_r, [b"A", NB.encode(), NC.encode()],
                  "%s: run 2: STATE_DIR/clients compacted at the start" % what)

    # -- clients unknown to run 1 during the grace period ------------------------------
    # RFC 8881 §8.4.2.1: a reclaim by a client the previous instance did not know:
    # NFS4ERR_NO_GRACE; §8.4.2, §18.16.4, §18.11.4: new opens and LOCKT: NFS4ERR_GRACE.
    ND = "host-state-reclaim-D"
    d = start_v41(pr, ND, what + " run 2: D (4.1, new)", reclaim_complete=False)
    ctx["close"].append(d)
    expect(d.call([R.putfh(fh_a), open_previous("D-prev")]), "OPEN", E["NO_GRACE"],
           "%s: run 2, in grace: D OPEN CLAIM_PREVIOUS of rc-a.bin (D is not of run 1)" % what)
    expect(d.call([R.reclaim_complete()]), "RECLAIM_COMPLETE", OK,
           "%s: run 2, in grace: D RECLAIM_COMPLETE (nothing to reclaim)" % what)
    expect(d.call([R.putrootfh(), R.open_("rc-d.bin", "D-open", d.cid, 0, R.SHARE_ACCESS_BOTH)]),
           "OPEN", E["GRACE"], "%s: run 2, in grace: D OPEN CLAIM_NULL of rc-d.bin" % what)
    expect(d.call([R.putfh(fh_a), R.lockt(R.WRITE_LT, 0, 100, d.cid, b"D-test")]), "LOCKT",
           E["GRACE"], "%s: run 2, in grace: D LOCKT WRITE_LT [0, 100) of rc-a.bin" % what,
           lock=True)
    # RFC 7530 §9.6.2, RFC 8881 §8.4.2: READ and WRITE in the grace period only when the
    # server can tell that no reclaim could conflict. B's open of run 1 denied WRITE and
    # is not reclaimed yet; an anonymous WRITE, which a share reservation refuses
    # (NFS4ERR_LOCKED, RFC 7530 §9.1.4.3), cannot be judged: GRACE (knfsd:
    # check_special_stateids).
    expect(d.call([R.putfh(fh_b), write_anon(0, b"D was here")]), "WRITE", E["GRACE"],
           "%s: run 2, in grace: D WRITE with the anonymous stateid to rc-b.bin (B's open of "
           "run 1 denied WRITE, not reclaimed yet)" % what)
    expect(d.call([R.putrootfh(), remove("rc-victim.bin")]), "REMOVE", E["GRACE"],
           "%s: run 2, in grace: D REMOVE rc-victim.bin" % what)
    expect(d.call([R.putrootfh(), R.op("SAVEFH"), rename("rc-victim.bin", "rc-victim.2")]),
           "RENAME", E["GRACE"], "%s: run 2, in grace: D RENAME rc-victim.bin" % what)
    d40 = start_v40(pr, "host-state-reclaim-D40", what + " run 2: D40 (4.0, new)")
    ctx["close"].append(d40)
    expect(d40.open("rc-d.bin", "D40-open", 0, R.SHARE_ACCESS_BOTH), "OPEN", E["GRACE"],
           "%s: run 2, in grace: D40 OPEN CLAIM_NULL of rc-d.bin" % what)
    expect(d40.call([R.putfh(fh_b), open_previous("D40-prev", d40.cid, 0)]), "OPEN",
           E["NO_GRACE"], "%s: run 2, in grace: D40 OPEN CLAIM_PREVIOUS of rc-b.bin (D40 is "
           "not of run 1)" % what)

    # -- A (4.1) reclaims --------------------------------------------------------------
    # RFC 8881 §8.4.2.1, §18.16.3 (CLAIM_PREVIOUS: the file is the current FH), §18.10.3
    # (reclaim TRUE), §18.51.3 (after RECLAIM_COMPLETE no reclaim: NO_GRACE)
    a.close()
    a2 = start_v41(pr, "A", what + " run 2: A again (same owner and verifier)", verifier=VA,
                   reclaim_complete=False)
    ctx["close"].append(a2)
    cr = a2.call([R.putfh(fh_a), open_previous("A-open", a2.cid), R.getfh()])
    expect(cr, "OPEN", OK, "%s: run 2, in grace: A OPEN CLAIM_PREVIOUS of rc-a.bin (BOTH)" %
           what, pred=lambda r: (r.stateid is not None and
                                 R.stateid_other(r.stateid) != R.stateid_other(os_a1),
                                 "stateid other %s (run 1's: %s)" % (
                                     R.stateid_other(r.stateid).hex() if r.stateid else "-",
                                     R.stateid_other(os_a1).hex())),
           pred_desc="with a new stateid")
    o = result(cr, "OPEN")
    os_a2 = o.stateid if o is not None and o.status == OK else os_a1
    expect(a2.call(read_ops(fh_a, os_a2)), "READ", OK,
           "%s: run 2, in grace: A READ with its reclaimed open stateid" % what)
    cr = a2.call([R.putfh(fh_a), R.lock(R.WRITE_LT, 0, 100, reclaim=True,
                                        new=(0, os_a2, 0, a2.cid, b"A-lock"))])
    expect(cr, "LOCK", OK, "%s: run 2, in grace: A LOCK WRITE_LT [0, 100) reclaim TRUE "
           "(open_to_lock_owner)" % what, lock=True)
    ls_a2 = result(cr, "LOCK").stateid if result(cr, "LOCK") else None
    exist_a = (ls_a2, 0) if ls_a2 else None
    if exist_a:
        expect(a2.call([R.putfh(fh_a), R.lock(R.WRITE_LT, 200, 10, exist=exist_a)]), "LOCK",
               E["GRACE"], "%s: run 2, in grace: A LOCK WRITE_LT [200, 210) reclaim FALSE" %
               what, lock=True)
    expect(a2.call([R.reclaim_complete()]), "RECLAIM_COMPLETE", OK,
           "%s: run 2, in grace: A RECLAIM_COMPLETE" % what)
    expect(a2.call([R.putfh(fh_a), open_previous("A-open", a2.cid)]), "OPEN", E["NO_GRACE"],
           "%s: run 2, in grace: A OPEN CLAIM_PREVIOUS after its RECLAIM_COMPLETE" % what)
    if exist_a:
        expect(a2.call([R.putfh(fh_a), R.lock(R.WRITE_LT, 300, 10, reclaim=True,
                                              exist=exist_a)]),
               "LOCK", E["NO_GRACE"], "%s: run 2, in grace: A LOCK reclaim TRUE after its "
               "RECLAIM_COMPLETE" % what, lock=True)
    # the grace period is the server's: B and C have not finished
    expect(a2.call([R.putrootfh(), R.open_("rc-d.bin", "A-new", a2.cid, 0)]), "OPEN",
           E["GRACE"], "%s: run 2, in grace: A OPEN CLAIM_NULL after its RECLAIM_COMPLETE "
           "(B and C have not finished)" % what)
    expect(a2.call([R.reclaim_complete()]), "RECLAIM_COMPLETE", COMPLETE_ALREADY,
           "%s: run 2: A's second RECLAIM_COMPLETE (RFC 8881 §18.51.3)" % what)

    # -- B (4.0) reclaims --------------------------------------------------------------
    # RFC 7530 §9.6.2, §16.16.5 (CLAIM_PREVIOUS: the current FH is the file; a new
    # open-owner may have to confirm), §16.10.4 (reclaim TRUE)
    b.close()
    b2 = start_v40(pr, NB, what + " run 2: B again (same name and verifier)", verifier=b.verifier)
    ctx["close"].append(b2)
    cr = b2.call([R.putfh(fh_b), open_previous("B-open", b2.cid, 0, R.SHARE_ACCESS_BOTH,
                                               R.SHARE_DENY_WRITE)])
    expect(cr, "OPEN", OK, "%s: run 2, in grace: B OPEN CLAIM_PREVIOUS of rc-b.bin (4.0, "
           "BOTH, denying WRITE)" % what)
    o = result(cr, "OPEN")
    bseq, os_b2 = 0, None
    if o is not None and o.status == OK:
        os_b2 = o.stateid
        if o.rflags & R.OPEN4_RESULT_CONFIRM:
            bseq += 1
            cr = b2.call([R.putfh(fh_b), R.open_confirm(os_b2, bseq)])
            expect(cr, "OPEN_CONFIRM", OK, "%s: run 2, in grace: B OPEN_CONFIRM of the "
                   "reclaimed open" % what)
            if result(cr, "OPEN_CONFIRM") and result(cr, "OPEN_CONFIRM").status == OK:
                os_b2 = result(cr, "OPEN_CONFIRM").stateid
    ls_b2 = None
    if os_b2 is not None:
        bseq += 1
        cr = b2.call([R.putfh(fh_b), R.lock(R.WRITE_LT, 100, 100, reclaim=True,
                                            new=(bseq, os_b2, 0, b2.cid, b"B-lock"))])
        expect(cr, "LOCK", OK, "%s: run 2, in grace: B LOCK WRITE_LT [100, 200) reclaim TRUE"
               % what, lock=True)
        ls_b2 = result(cr, "LOCK").stateid if result(cr, "LOCK") else None
    lseq_b = 0
    if ls_b2:
        lseq_b += 1
        expect(b2.call([R.putfh(fh_b), R.lock(R.WRITE_LT, 300, 10, exist=(ls_b2, lseq_b))]),
               "LOCK", E["GRACE"], "%s: run 2, in grace: B LOCK WRITE_LT [300, 310) reclaim "
               "FALSE" % what, lock=True)

    expect(d.call([R.putfh(fh_b), write_anon(0, b"D was here")]), "WRITE",
           (E["GRACE"], E["LOCKED"]), "%s: run 2, in grace: D WRITE with the anonymous "
           "stateid to rc-b.bin once B reclaimed its open denying WRITE" % what)

    # -- the grace period runs to grace_time (B is 4.0, C never came back) -------------
    # RFC 8881 §8.4.2.1: it may end early only once every client of run 1 finished.
    deadline = t_r2 + GRACE_LIMIT
    last_renew = time.time()
    os_d = None
    while time.time() < deadline:
        cr = d.call([R.putrootfh(), R.open_("rc-d.bin", "D-open", d.cid, 0,
                                            R.SHARE_ACCESS_BOTH)])
        o = result(cr, "OPEN")
        if o is None or o.status != E["GRACE"]:
            break
        if time.time() - last_renew >= 2.0:
            for v in (a2, b2, d40):
                v.renew()
            last_renew = time.time()
        time.sleep(0.1)
    waited = time.time() - t_r2
    expect(cr, "OPEN", OK, "%s: run 2: D OPEN CLAIM_NULL once the grace period is over" % what)
    if o is not None and o.status == OK:
        os_d = o.stateid
    # RFC 7530 §9.6.2, RFC 8881 §8.4.2: the grace period lasts (at least) a lease period;
    # here grace_time. waited counts from before the process started: it cannot be shorter
    # than the grace period.
    check(GRACE <= waited <= GRACE + 3, "%s: run 2: the grace period lasts grace_time "
          "(B is 4.0, C did not come back)" % what, "new opens served %d to %d s after the "
          "restart" % (GRACE, GRACE + 3), "after %.2f s" % waited)
    # the records of the clients that did not come back (C) go at the end of the grace
    check_records(dir_r, [b"A", NB.encode(), ND.encode(), b"host-state-reclaim-D40"],
                  "%s: run 2: STATE_DIR/clients after the grace period (C forgotten)" % what)
    if os_d is not None:
        dl = Locks41(d, fh_a, None, b"D-lock")
        cr = d.open("rc-a.bin", "D-open-a", R.SHARE_ACCESS_BOTH)
        expect(cr, "OPEN", OK, "%s: run 2, after grace: D opens rc-a.bin" % what)
        if result(cr, "OPEN") and result(cr, "OPEN").status == OK:
            dl.open_sid = result(cr, "OPEN").stateid
            expect(dl.lock(R.WRITE_LT, 50, 10), "LOCK", E["DENIED"],
                   "%s: run 2, after grace: D LOCK WRITE_LT [50, 60) of rc-a.bin" % what,
                   lock=True, pred=denied_by(a2.cid, b"A-lock", [(0, 100)], (50, 10)),
                   pred_desc="naming A's reclaimed lock")
        expect(d.open("rc-b.bin", "D-open-b", R.SHARE_ACCESS_WRITE), "OPEN",
               E["SHARE_DENIED"], "%s: run 2, after grace: D OPEN rc-b.bin for WRITE (B's "
               "reclaimed open denies WRITE)" % what)
        expect(d.call([R.putfh(fh_b), write_anon(0, b"D was here")]), "WRITE", E["LOCKED"],
               "%s: run 2, after grace: D WRITE with the anonymous stateid to rc-b.bin" % what)
        cr = d.open("rc-b.bin", "D-open-b", R.SHARE_ACCESS_READ)
        expect(cr, "OPEN", OK, "%s: run 2, after grace: D opens rc-b.bin for READ" % what)
        if result(cr, "OPEN") and result(cr, "OPEN").status == OK:
            expect(Locks41(d, fh_b, result(cr, "OPEN").stateid, b"D-lock-b").lock(
                R.READ_LT, 150, 10), "LOCK", E["DENIED"],
                "%s: run 2, after grace: D LOCK READ_LT [150, 160) of rc-b.bin" % what,
                lock=True, pred=denied_by(b2.cid, b"B-lock", [(100, 100)], (150, 10)),
                pred_desc="naming B's reclaimed lock")
    if ls_b2:
        lseq_b += 1
        expect(b2.call([R.putfh(fh_b), R.lock(R.WRITE_LT, 300, 10, reclaim=True,
                                              exist=(ls_b2, lseq_b))]),
               "LOCK", E["NO_GRACE"], "%s: run 2, after grace: B LOCK reclaim TRUE" % what,
               lock=True)
    expect(d.call([R.putrootfh(), R.lookup("rc-victim.bin")]), "LOOKUP", OK,
           "%s: run 2, after grace: rc-victim.bin is still there (REMOVE and RENAME were "
           "refused)" % what)
    expect(d.call([R.putrootfh(), remove("rc-victim.bin")]), "REMOVE", OK,
           "%s: run 2, after grace: D REMOVE rc-victim.bin" % what)
    end = time.time() + SWEEP_SLACK + 1
    while "grace period over" not in s2.log() and time.time() < end:
        time.sleep(0.2)
    check("grace period over" in s2.log(), "%s: run 2 logs the end of the grace period" % what,
          "\"grace period over\"", "found" if "grace period over" in s2.log() else "not found")

    # -- early end: all clients of the previous run are 4.1 and send RECLAIM_COMPLETE --
    # RFC 8881 §8.4.2.1: the grace period may end once every client of the previous
    # instance sent RECLAIM_COMPLETE; §8.4.3: after a second crash during the grace period
    # the clients that had not reclaimed yet may still reclaim.
    w7 = "early end"
    pid = s2.p.pid
    s2.kill()
    tap.note("%s: run 2 (pid %d) killed; runs 3 to 5 on port %d with a new state directory" %
             (w7, pid, pr))
    dir_7 = os.path.join(work, "state-early")
    NG, NH, NE = "host-state-early-G", "host-state-early-H", "host-state-early-E"
    s3 = server(pr, dir_7, "e", 1)
    V7 = b"verif-7!"
    g = start_v41(pr, NG, w7 + " run 3: G (4.1)", verifier=V7)
    h = start_v41(pr, NH, w7 + " run 3: H (4.1, no state)", verifier=V7)
    ctx["close"] += [g, h]
    cr = g.open("rc-e.bin", "G-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: run 3: G opens rc-e.bin" % w7)
    fh_e = fh_of(cr)
    expect(Locks41(g, fh_e, result(cr, "OPEN").stateid, b"G-lock").lock(R.WRITE_LT, 0, 100),
           "LOCK", OK, "%s: run 3: G LOCK WRITE_LT [0, 100)" % w7, lock=True)
    pid = s3.p.pid
    s3.kill()
    tap.note("%s: run 3 (pid %d) killed with SIGKILL" % (w7, pid))
    s4 = server(pr, dir_7, "e", 2)
    n = grace_count(s4)
    check(n == 2, "%s: run 4 logs \"grace period: N client(s) of the previous run\"" % w7,
          "N = 2 (G, H)", "no such line" if n is None else "N = %d" % n)
    e = start_v41(pr, NE, w7 + " run 4: E (4.1, new)")
    ctx["close"].append(e)
    expect(e.open("rc-e.bin", "E-open", R.SHARE_ACCESS_BOTH), "OPEN", E["GRACE"],
           "%s: run 4, in grace: E OPEN CLAIM_NULL" % w7)
    g.close()
    h.close()

    def reclaim_g(run):
        v = start_v41(pr, NG, "%s run %d: G again" % (w7, run), verifier=V7,
                      reclaim_complete=False)
        ctx["close"].append(v)
        cr = v.call([R.putfh(fh_e), open_previous("G-open", v.cid)])
        expect(cr, "OPEN", OK, "%s: run %d, in grace: G OPEN CLAIM_PREVIOUS" % (w7, run))
        if result(cr, "OPEN") and result(cr, "OPEN").status == OK:
            expect(v.call([R.putfh(fh_e), R.lock(R.WRITE_LT, 0, 100, reclaim=True,
                                                 new=(0, result(cr, "OPEN").stateid, 0,
                                                      v.cid, b"G-lock"))]),
                   "LOCK", OK, "%s: run %d, in grace: G LOCK reclaim TRUE [0, 100)" %
                   (w7, run), lock=True)
        expect(v.call([R.reclaim_complete()]), "RECLAIM_COMPLETE", OK,
               "%s: run %d, in grace: G RECLAIM_COMPLETE" % (w7, run))
        return v

    g2 = reclaim_g(4)
    expect(e.open("rc-e.bin", "E-open", R.SHARE_ACCESS_BOTH), "OPEN", E["GRACE"],
           "%s: run 4: E OPEN CLAIM_NULL after G's RECLAIM_COMPLETE (H has not sent one)" % w7)

    # a second crash in the grace period: G reclaimed, H did not, E is new; all three
    # were confirmed in run 4 and may reclaim in run 5 (H's right is not lost)
    pid = s4.p.pid
    s4.kill()
    tap.note("%s: run 4 (pid %d) killed with SIGKILL during its grace period" % (w7, pid))
    t_r5 = time.time()
    s5 = server(pr, dir_7, "e", 3)
    n = grace_count(s5)
    check(n == 3, "%s: run 5 (after a crash in run 4's grace period) logs \"grace period: N "
          "client(s) of the previous run\"" % w7, "N = 3 (G, H, E)",
          "no such line" if n is None else "N = %d" % n)
    check_records(dir_7, [NG.encode(), NH.encode(), NE.encode()],
                  "%s: run 5: STATE_DIR/clients compacted at the start" % w7)
    g2.close()
    e.close()
    g3 = reclaim_g(5)
    e2 = start_v41(pr, NE, w7 + " run 5: E again, RECLAIM_COMPLETE")
    ctx["close"].append(e2)
    expect(e2.open("rc-e.bin", "E-open", R.SHARE_ACCESS_BOTH), "OPEN", E["GRACE"],
           "%s: run 5: E OPEN CLAIM_NULL after G's and E's RECLAIM_COMPLETE (H has not sent "
           "one)" % w7)
    # H comes back and has nothing to reclaim: its RECLAIM_COMPLETE is the last one, and
    # the grace period ends with it (server/state.c st_reclaim_done)
    h2 = start_v41(pr, NH, w7 + " run 5: H again, RECLAIM_COMPLETE", verifier=V7)
    ctx["close"].append(h2)
    t_done = time.time()
    cr = e2.open("rc-e.bin", "E-open", R.SHARE_ACCESS_BOTH)
    t_open = time.time()
    expect(cr, "OPEN", OK, "%s: run 5: E OPEN CLAIM_NULL right after H's RECLAIM_COMPLETE" %
           w7)
    check(t_open - t_r5 < GRACE / 2.0, "%s: run 5: the grace period ends early" % w7,
          "new opens served well before grace_time (%d s) after the restart" % GRACE,
          "%.1f s after the restart, %.2f s after the last RECLAIM_COMPLETE" %
          (t_open - t_r5, t_open - t_done))
    o = result(cr, "OPEN")
    if o is not None and o.status == OK:
        expect(Locks41(e2, fh_e, o.stateid, b"E-lock").lock(R.WRITE_LT, 50, 10), "LOCK",
               E["DENIED"], "%s: run 5: E LOCK WRITE_LT [50, 60)" % w7, lock=True,
               pred=denied_by(g3.cid, b"G-lock", [(0, 100)], (50, 10)),
               pred_desc="naming G's reclaimed lock")
    check_records(dir_7, [NG.encode(), NH.encode(), NE.encode()],
                  "%s: run 5: STATE_DIR/clients after the early end" % w7)

    # -- expiry, second part: X40 and X41 expired; the restart has no grace period -----
    end = t_x + LEASE + SWEEP_SLACK + 5
    while expired_count(sx) < 2 and time.time() < end:
        time.sleep(0.2)
    check(expired_count(sx) >= 2, "%s: the server logs the expiry of X40 and X41" % wx,
          "\"lease expired for N client(s)\", 2 in all", "%d, %.1f s after their last call" %
          (expired_count(sx), time.time() - t_x))
    check_records(dir_x, [], "%s: STATE_DIR/clients once X40 and X41 expired" % wx,
                  exact_lines=False)
    pid = sx.p.pid
    sx.kill()
    tap.note("%s: sluiced pid %d killed with SIGKILL" % (wx, pid))
    sx2 = server(px, dir_x, "x", 2)
    no_grace_line(sx2, "%s: the restart after X40 and X41 expired has no grace period" % wx)
    y = start_v41(px, "host-state-Y", wx + " Y (4.1, new)", reclaim_complete=False)
    ctx["close"].append(y)
    # RFC 8881 §18.51.3: "Whenever a client establishes a new client ID and before it does
    # the first non-reclaim operation that obtains a lock, it MUST send a RECLAIM_COMPLETE
    # ... If non-reclaim locking operations are done before the RECLAIM_COMPLETE, an
    # NFS4ERR_GRACE error will be returned." (knfsd: nfsd4_open)
    expect(y.open("rc-x.bin", "Y-open", R.SHARE_ACCESS_BOTH), "OPEN", E["GRACE"],
           "%s: Y OPEN CLAIM_NULL before its RECLAIM_COMPLETE (RFC 8881 §18.51.3)" % wx)
    expect(y.call([R.reclaim_complete()]), "RECLAIM_COMPLETE", OK,
           "%s: Y RECLAIM_COMPLETE with no grace period" % wx)
    cr = y.open("rc-x.bin", "Y-open", R.SHARE_ACCESS_BOTH)
    expect(cr, "OPEN", OK, "%s: Y OPEN CLAIM_NULL right after the restart" % wx)
    if result(cr, "OPEN") and result(cr, "OPEN").status == OK:
        expect(Locks41(y, fh_x, result(cr, "OPEN").stateid, b"Y-lock").lock(R.WRITE_LT, 0, ALL),
               "LOCK", OK, "%s: Y LOCK WRITE_LT [0, end of file) (X40's and X41's locks are "
               "gone)" % wx, lock=True)
    x40.close()
    x40b = start_v40(px, "host-state-X40", wx + " X40 again", verifier=x40.verifier)
    ctx["close"].append(x40b)
    expect(x40b.call([R.putfh(fh_x), open_previous("X40-open", x40b.cid, 0)]), "OPEN",
           E["NO_GRACE"], "%s: X40 OPEN CLAIM_PREVIOUS (no grace period)" % wx)

    for srv, tag in ((s5, "early end run 5"), (sx2, "expiry run 2")):
        rc = srv.stop()
        check(rc == 0, "%s: SIGTERM: sluiced (%s) exits" % (what, tag), "status 0", rc)


# ---- main -------------------------------------------------------------------------------------

def make_export(work):
    exp = os.path.join(work, "export")
    os.makedirs(exp)
    for name in ("replay.bin", "slot.bin", "data.bin", "locks.bin", "range.bin", "share.bin",
                 "expire.bin", "restart.bin", "probe.bin", "rc-a.bin", "rc-b.bin", "rc-d.bin",
                 "rc-victim.bin", "rc-e.bin", "rc-x.bin"):
        with open(os.path.join(exp, name), "wb") as f:
            f.write(("%s: some bytes to read\n" % name).encode() * 8)
    state = os.path.join(work, "state")
    os.makedirs(state)
    return exp, state


def write_config(path, port, exp, state):
    with open(path, "w") as f:
        f.write("# host.state: generated by tests/hostile/state.py\n"
                "listen = 127.0.0.1:%d\n"
                "log_level = debug\n"
                "state_dir = %s\n"
                "lease_time = %d\n"
                "grace_time = %d\n"
                "export %s {\n"
                "    id = 7\n"
                "    pseudo = /\n"
                "    access = rw\n"
                "    squash = none\n"
                "}\n" % (port, state, LEASE, GRACE, exp))


def main():
    if len(sys.argv) != 2:
        print("usage: state.py SLUICED", file=sys.stderr)
        return 2
    sluiced = sys.argv[1]
    rc = cannot_run(sluiced)
    if rc is not None:
        return rc
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="sluice-state.")
    exp, state = make_export(work)
    conf = os.path.join(work, "sluice.conf")
    ctx = {"close": [], "logs": [], "servers": [], "work": work, "exp": exp}

    def start(n):
        log = os.path.join(work, "sluiced.%d.log" % n)
        ctx["logs"].append(log)
        return Server(sluiced, log, config=conf)

    def server(config, logname):
        """Another sluiced, for the reclaim section (killed at the end)."""
        log = os.path.join(work, logname)
        ctx["logs"].append(log)
        srv = Server(sluiced, log, config=config)
        ctx["servers"].append(srv)
        return srv

    ctx["start"] = start
    ctx["server"] = server
    try:
        # The port is chosen once and kept: the restart must come back on the same one.
        ctx["port"] = free_port()
        write_config(conf, ctx["port"], exp, state)
        srv = ctx["srv"] = start(1)
        if not tap.ok(srv.port == ctx["port"], "sluiced (pid %d) listens on 127.0.0.1:%d" %
                      (srv.p.pid, ctx["port"])):
            print("Bail out! sluiced is not serving")
            return finish(ctx, t0)
        tap.note("sluiced pid %d on 127.0.0.1:%d, lease %d s, grace %d s, export %s" % (
            srv.p.pid, ctx["port"], LEASE, GRACE, exp))
        waited = wait_grace_end(ctx["port"], "start")
        if not tap.ok(waited is not None, "start: not in a grace period, or it ended within "
                      "%d s" % GRACE_LIMIT):
            print("Bail out! the server stays in its grace period")
            return finish(ctx, t0)

        for name, fn in (("4.0 seqid", seqid40), ("4.1 slot", slots41),
                         ("stateid", stateids), ("lock", locks), ("lease", lease),
                         ("restart", restart), ("reclaim", reclaim)):
            tap.note("---- %s" % name)
            try:
                fn(ctx)
            except Exception as e:  # noqa: BLE001 -- one section's failure, then the next
                section_failed(name, e)
            if not ctx["srv"].alive():
                tap.ok(False, "after %s: sluiced is still running" % name,
                       "exited with status %s" % ctx["srv"].p.returncode)
                print("Bail out! sluiced died")
                return finish(ctx, t0)

        srv = ctx["srv"]
        rc = srv.stop()
        tap.ok(rc == 0, "SIGTERM: sluiced exits with status 0 (got %s)" % rc)
        for log in ctx["logs"]:
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            tap.ok(re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:",
                             text) is None, "no sanitizer report in %s" % os.path.basename(log))
        return finish(ctx, t0)
    finally:
        for v in ctx["close"] + ([ctx["B"]] if "B" in ctx else []):
            v.close()
        if "srv" in ctx:
            ctx["srv"].kill()
        for srv in ctx["servers"]:
            srv.kill()
        shutil.rmtree(work, ignore_errors=True)


def finish(ctx, t0):
    print("1..%d" % tap.n)
    if tap.failed and "srv" in ctx:
        print("# last lines of sluiced's log:")
        for line in ctx["srv"].log().splitlines()[-60:]:
            print("#   " + line)
    if lock_failures:
        print("# %d of the failed checks need LOCK, LOCKT, LOCKU or RELEASE_LOCKOWNER" %
              len(lock_failures))
    print("host.state: %d checks, %d failed (%.0f s)" % (tap.n, tap.failed, time.time() - t0))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())

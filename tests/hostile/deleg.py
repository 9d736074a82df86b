#!/usr/bin/env python3
"""host.deleg: the NFSv4.1 backchannel and read delegations over raw RPC.

    deleg.py SLUICED

Starts SLUICED as tests/hostile/state.py does (a generated configuration: lease_time and
grace_time 10 s, one read-write export as the pseudo-root, a state directory, a free port of
127.0.0.1) and drives it as several clients whose connections also carry the backchannel
(harness.CbClient: a record from the server is either the reply to a call or a CALL of its
own, which the client records and answers, holds, or never answers):

  1. Backchannel (RFC 8881 §2.10.3.1, §18.36): CREATE_SESSION with CONN_BACK_CHAN and an
     AUTH_SYS csa_sec_parms gets CONN_BACK_CHAN in csr_flags; the next SEQUENCE brings a
     CB_NULL (the client's callback program, version 1, procedure 0, AUTH_SYS with the ids
     the client gave) on the same connection. An OPEN for reading gets no delegation before
     the probe is answered, nor on a session without a backchannel; once it is answered it
     gets OPEN_DELEGATE_READ. BACKCHANNEL_CTL is accepted.
  2. Recall (RFC 8881 §10.2, §10.4, §20.2, §20.9): the holder READs with the delegation
     stateid, WRITE with it is OPENMODE, another client using it gets BAD_STATEID. Another
     4.1 client's OPEN for writing gets NFS4ERR_DELAY and the holder a CB_COMPOUND of
     CB_SEQUENCE (its session, sequence id 1, slot 0) and CB_RECALL (the stateid, the file
     handle); an anonymous WRITE, SETATTR, REMOVE, RENAME onto the file and a 4.0 client's
     OPEN for writing get DELAY too. The holder's OPEN CLAIM_DELEG_CUR_FH still works;
     DELEGRETURN is OK, the retried OPEN then succeeds, a second DELEGRETURN is BAD_STATEID.
  3. Revocation and a dead callback path, side by side (§10.2.1, §8.3, §18.46.3, §18.34):
     a holder that answers CB_RECALL but keeps the delegation (and renews its lease) loses
     it about a lease after the recall -- the other client's OPEN then goes through, its
     SEQUENCE shows RECALLABLE_STATE_REVOKED, TEST_STATEID says DELEG_REVOKED, FREE_STATEID
     frees it and the flag goes; a holder that never answers the CB_RECALL sees
     CB_PATH_DOWN after the server's callback timeout (10 s), binds a new connection with
     BIND_CONN_TO_SESSION (CDFC4_BACK_OR_BOTH: CDFS4_BOTH) and gets a new CB_NULL on it.
  4. Hostile callback replies: a REPLY with an xid that answers nothing, short REPLYs, a
     truncated reply to CB_NULL, garbage after the reply header of CB_NULL and of a
     CB_COMPOUND's reply: the server logs them and keeps serving (NULL and COMPOUND
     afterwards).
  5. NFSv4.0 callbacks (RFC 7530 §10.2.1, §16.33, §17): the client listens on 127.0.0.1
     (harness.CbListener) and gives the universal address (RFC 5665) in SETCLIENTID; after
     SETCLIENTID_CONFIRM the server connects to it and sends a CB_NULL (the client's
     program, AUTH_SYS). An OPEN for reading gets no delegation before it is answered,
     OPEN_DELEGATE_READ after; READ with the delegation stateid works, WRITE is OPENMODE.
     A 4.1 and a 4.0 client's OPEN for writing get DELAY and the holder one CB_COMPOUND on
     the server's connection: minorversion 0, its callback_ident, CB_RECALL alone (no
     CB_SEQUENCE); it answers, DELEGRETURN (PUTFH, DELEGRETURN) is OK and the retried OPEN
     goes through. Callback addresses on another host (192.0.2.1, and 127.0.0.2 with a
     listener) and unparsable ones (host:port, netid udp, a port octet of 256, no address)
     are never connected to, logged, and give OPEN_DELEGATE_NONE. A callback port that
     refuses: no delegation, the server keeps serving, no new attempt for CB_RETRY40 (30 s)
     even once the port listens, then one at an OPEN, a CB_NULL, and a delegation.
  6. CB_NOTIFY_LOCK (RFC 8881 §20.11, §18.16.4, §9.6): H (4.1, no backchannel) holds
     WRITE_LT [0,100) of two files; its OPEN has no OPEN4_RESULT_MAY_NOTIFY_LOCK (0x20) in
     rflags, W's (backchannel up) has it. W is DENIED a blocking WRITEW_LT on the first and
     a non-blocking WRITE_LT on the second; both clients renew for 25 s (more than a lease:
     the server keeps a waiter for max(lease, 60 s) after its last DENIED), then H's LOCKU
     of the first brings W, within 2 s, a CB_COMPOUND of CB_SEQUENCE (its session, slot 0)
     and CB_NOTIFY_LOCK (the file handle, W's client ID and lock-owner), which W answers;
     its LOCK then goes through. The release of the second file brings nothing (WRITE_LT
     registers no waiter), nor does W's own LOCKU once it has its lock.

Every check prints one TAP line with what was expected and what came back; the last line is
the summary "host.deleg: N checks, M failed". About 80 s (one lease and the callback timeout,
waited out together, then the 4.0 retry interval, then the 25 s of section 6). Exit 0 when all passed, 77 (skipped)
when not root (sluiced needs open_by_handle_at), 1 otherwise (with the tail of the server's
log). Stdlib only; encoders and decoders in rpcmsg.py, the raw clients, the 4.0 callback
listener and the server harness in harness.py, the checks and the 4.0 and 4.1 clients shared
with state.py.
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
import state as S  # noqa: E402  -- its checks, clients and configuration
from harness import CbClient, CbListener, Server, next_xid  # noqa: E402

LEASE = S.LEASE            # 10 s, the minimum
CB_TIMEOUT = 10            # server/deleg.c: seconds a callback waits for its reply
SWEEP_SLACK = S.SWEEP_SLACK  # the server's sweep (lease / 4) and a margin
POLL = 1.0                 # seconds between the retries while waiting for a revocation

E = R.NFS4ERR
OK = R.NFS4_OK
CRED = S.CRED
CB_UID, CB_GID = 4321, 8765   # the ids in csa_sec_parms, to be found in the callbacks

tap = S.tap
check, expect, result = S.check, S.expect, S.result

FILES = ("probe.bin", "nob.bin", "pre.bin", "d1.bin", "other.bin", "d2.bin", "d3.bin", "w.bin",
         "c40.bin", "d40.bin", "n40.bin", "z40.bin", "nl.bin", "nl2.bin")
CONTENT = b"host.deleg: some bytes to read\n" * 8


# ---- a 4.1 client with a backchannel ------------------------------------------------------

class V41CB(S.V41):
    """S.V41 whose connection carries its backchannel: mode "answer" answers every callback
    (rpcmsg.cb_answer), "hold" keeps them in held unanswered (answer_held() later), "ignore"
    never answers. back=False: a session without CONN_BACK_CHAN."""

    def __init__(self, port, name, mode="answer", back=True):
        self.port = port
        self.name = name
        self.mode = mode
        self.back = back
        self.held = []
        self.c = CbClient(port, cred=CRED, on_call=self._on_call)
        self.conns = [self.c]
        self.cid = None
        self.sessionid = None
        self.nslots = None
        self.csflags = None
        self.slots = {}
        self.setup = []

    def _on_call(self, k):
        if self.mode == "answer":
            return R.cb_answer(k)
        if self.mode == "hold":
            self.held.append(k)
        return None

    def answer_held(self):
        for k in self.held:
            self.c.answer(k, R.cb_answer(k))
        self.held = []

    def connect(self):
        """Another connection of this client (the old ones stay open); calls go on it."""
        self.c = CbClient(self.port, cred=CRED, on_call=self._on_call)
        self.conns.append(self.c)
        return self.c

    def close(self):
        for c in self.conns:
            c.close()

    def start(self, verifier=None, reclaim_complete=True):
        self.verifier = verifier or os.urandom(8)
        cr = self.call_plain([R.exchange_id(owner=self.name.encode(), verifier=self.verifier)])
        self.setup.append(("EXCHANGE_ID", cr))
        res = result(cr, "EXCHANGE_ID")
        if res is None or res.status != OK:
            return False
        self.cid = res.clientid
        flags = R.CREATE_SESSION4_FLAG_CONN_BACK_CHAN if self.back else 0
        cr = self.call_plain([R.create_session(
            self.cid, res.seqid, flags, R.CB_PROGRAM,
            [R.cb_sec_sys(CB_UID, CB_GID, machine="host-deleg-cb")])])
        self.setup.append(("CREATE_SESSION", cr))
        res = result(cr, "CREATE_SESSION")
        if res is None or res.status != OK:
            return False
        self.sessionid, self.nslots, self.csflags = res.sessionid, res.nslots, res.csflags
        if not reclaim_complete:
            return True
        cr = self.call([R.reclaim_complete()])
        self.setup.append(("RECLAIM_COMPLETE", cr))
        res = result(cr, "RECLAIM_COMPLETE")
        return res is not None and res.status == OK

    def pump(self, timeout, until=None):
        return self.c.pump(timeout, until)

    def flags(self):
        """SEQUENCE alone: its sr_status_flags (None when it failed)."""
        res = result(self.call([]), "SEQUENCE")
        return res.seq[4] if res is not None and res.status == OK and res.seq else None


def start_cb(port, name, what, mode="answer", back=True):
    v = V41CB(port, name, mode, back)
    ok = v.start()
    check(ok, "%s: EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE" % what, "NFS4_OK each",
          ", ".join("%s %s" % (w, R.status_name(result(cr, w).status) if result(cr, w)
                               else cr.describe()) for w, cr in v.setup))
    if not ok:
        raise AssertionError("no 4.1 session for %s" % name)
    return v


def is_null(k):
    return k.proc == R.CB_PROC_NULL


def is_recall(k):
    return k.proc == R.CB_PROC_COMPOUND and k.op("CB_RECALL") is not None


def open_read(v, name, owner):
    """OPEN for reading: (CompoundReply, OPEN result, fh)."""
    cr = v.open(name, owner, R.SHARE_ACCESS_READ)
    fh = result(cr, "GETFH")
    return cr, result(cr, "OPEN"), fh.fh if fh is not None else None


def deleg_desc(res):
    if res is None:
        return "no OPEN result"
    if res.status != OK:
        return R.status_name(res.status)
    s = "NFS4_OK, delegation_type %s" % res.deleg
    if res.deleg_sid:
        s += " stateid %s" % res.deleg_sid.hex()
    return s


def got_deleg(res):
    return res is not None and res.status == OK and res.deleg == R.OPEN_DELEGATE_READ and \
        res.deleg_sid is not None and R.stateid_other(res.deleg_sid) != \
        R.stateid_other(res.stateid)


def null_rpc(c):
    """RPC NULL of NFS on connection c: served?"""
    xid = next_xid()
    rep = c.rpc(R.call(xid, b"", proc=R.NFSPROC4_NULL, cred=CRED))
    return rep.xid == xid and rep.stat == R.MSG_ACCEPTED and rep.accept == R.SUCCESS, \
        rep.describe()


def flags_desc(f):
    if f is None:
        return "SEQUENCE failed"
    return "sr_status_flags %#x" % f


def log_has(ctx, pattern, since):
    """pattern occurs in the server's log after offset since."""
    return re.search(pattern, ctx["srv"].log()[since:]) is not None


# ---- 1. the backchannel -------------------------------------------------------------------

def backchannel(ctx):
    what = "backchannel"
    port = ctx["port"]
    n = start_cb(port, "host-deleg-N-noback", what + " N (no CONN_BACK_CHAN)", back=False)
    ctx["close"].append(n)
    check(not (n.csflags or 0) & R.CREATE_SESSION4_FLAG_CONN_BACK_CHAN,
          "%s: N's csr_flags" % what, "without CONN_BACK_CHAN", "%#x" % (n.csflags or 0))
    k = n.pump(1.0)
    check(not n.c.calls, "%s: N gets no callback after its SEQUENCE" % what, "none",
          "; ".join(x.describe() for x in n.c.calls) or "none")
    cr, res, _ = open_read(n, "nob.bin", "N-nob")
    check(res is not None and res.status == OK and res.deleg in (R.OPEN_DELEGATE_NONE,
                                                               R.OPEN_DELEGATE_NONE_EXT),
          "%s: N OPEN nob.bin for reading" % what, "NFS4_OK without a delegation",
          deleg_desc(res))

    a = ctx["A"] = start_cb(port, "host-deleg-A", what + " A (CONN_BACK_CHAN, AUTH_SYS)",
                            mode="hold")
    ctx["close"].append(a)
    check((a.csflags or 0) & R.CREATE_SESSION4_FLAG_CONN_BACK_CHAN,
          "%s: A's csr_flags" % what, "CONN_BACK_CHAN (0x2)", "%#x" % (a.csflags or 0))
    k = a.pump(5.0, is_null) if not a.held else a.held[0]
    check(k is not None and k.prog == R.CB_PROGRAM and k.vers == R.CB_VERSION and
          k.proc == R.CB_PROC_NULL and k.rpcvers == 2,
          "%s: A's first SEQUENCE brings a CB_NULL on its connection" % what,
          "prog %#x vers 1 proc 0" % R.CB_PROGRAM,
          k.describe() if k else "nothing within 5 s (%d call(s))" % len(a.c.calls))
    if k is not None:
        check(k.cred_flavor == R.AUTH_SYS and k.uid == CB_UID and k.gid == CB_GID,
              "%s: CB_NULL's credential" % what,
              "AUTH_SYS uid %d gid %d (csa_sec_parms)" % (CB_UID, CB_GID),
              "flavor %s uid %s gid %s machine %r" % (k.cred_flavor, k.uid, k.gid, k.machine))
    cr, res, _ = open_read(a, "pre.bin", "A-pre")
    check(res is not None and res.status == OK and res.deleg in (R.OPEN_DELEGATE_NONE,
                                                               R.OPEN_DELEGATE_NONE_EXT),
          "%s: A OPEN pre.bin for reading before the CB_NULL is answered" % what,
          "NFS4_OK without a delegation", deleg_desc(res))
    a.answer_held()
    a.mode = "answer"
    cr, res, fh = open_read(a, "d1.bin", "A-d1")
    check(got_deleg(res), "%s: A OPEN d1.bin for reading once CB_NULL is answered" % what,
          "NFS4_OK, OPEN_DELEGATE_READ (1) with a stateid of its own", deleg_desc(res))
    if got_deleg(res):
        ctx["d1"] = (res.deleg_sid, fh, res.stateid)
    cr = a.call([R.backchannel_ctl(R.CB_PROGRAM, [R.cb_sec_sys(CB_UID, CB_GID)])])
    expect(cr, "BACKCHANNEL_CTL", OK, "%s: A BACKCHANNEL_CTL (same program, AUTH_SYS)" % what)


# ---- 2. recall ----------------------------------------------------------------------------

def recall(ctx):
    what = "recall"
    port = ctx["port"]
    a = ctx["A"]
    if "d1" not in ctx:
        raise AssertionError("A holds no delegation of d1.bin (see above)")
    dsid, fh, osid = ctx["d1"]
    cr = a.call([R.putfh(fh), R.read(0, 16, dsid)])
    expect(cr, "READ", OK, "%s: A READ with its delegation stateid" % what,
           pred=lambda r: (r.data == CONTENT[:16], "data %r" % r.data), pred_desc="the data")
    cr = a.call([R.putfh(fh), R.write(0, b"x", dsid)])
    expect(cr, "WRITE", E["OPENMODE"], "%s: A WRITE with its (read) delegation stateid" % what)

    b = ctx["B"] = start_cb(port, "host-deleg-B", what + " B (4.1, no backchannel)",
                            back=False)
    ctx["close"].append(b)
    cr = b.call([R.putfh(fh), R.read(0, 16, dsid)])
    expect(cr, "READ", E["BAD_STATEID"], "%s: B READ with A's delegation stateid" % what)
    d40 = S.start_v40(port, "host-deleg-D40", what + " D40 (4.0)")
    ctx["close"].append(d40)

    cr = b.open("d1.bin", "B-d1", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: B OPEN d1.bin for writing while A holds a read "
           "delegation" % what)
    k = a.pump(5.0, is_recall)
    check(k is not None and k.prog == R.CB_PROGRAM and k.vers == R.CB_VERSION,
          "%s: A gets a CB_COMPOUND with CB_RECALL" % what, "within 5 s",
          k.describe() if k else "nothing (%s)" % "; ".join(x.describe() for x in a.c.calls))
    if k is not None:
        seq = k.op("CB_SEQUENCE")
        first = k.ops[0][0] if k.ops else None
        check(first == R.CB_OP["CB_SEQUENCE"] and seq is not None and
              seq["sessionid"] == a.sessionid and seq["sequenceid"] == 1 and
              seq["slotid"] == 0,
              "%s: the CB_COMPOUND starts with CB_SEQUENCE" % what,
              "A's session %s, sequenceid 1, slot 0" % a.sessionid.hex(),
              ("session %s sequenceid %d slot %d" % (seq["sessionid"].hex(), seq["sequenceid"],
                                                     seq["slotid"])) if seq else k.describe())
        rc = k.op("CB_RECALL")
        check(rc["stateid"] == dsid and rc["fh"] == fh,
              "%s: CB_RECALL names the delegation and the file" % what,
              "stateid %s fh %s" % (dsid.hex(), fh.hex()),
              "stateid %s fh %s" % (rc["stateid"].hex(), rc["fh"].hex()))
        check(k.cred_flavor == R.AUTH_SYS and k.uid == CB_UID,
              "%s: CB_COMPOUND's credential" % what, "AUTH_SYS uid %d" % CB_UID,
              "flavor %s uid %s" % (k.cred_flavor, k.uid))

    cr = b.call([R.putfh(fh), R.write(0, b"y")])
    expect(cr, "WRITE", E["DELAY"], "%s: B WRITE with the anonymous stateid" % what)
    cr = b.call([R.putfh(fh), R.setattr_mode(0o640)])
    expect(cr, "SETATTR", E["DELAY"], "%s: B SETATTR mode" % what)
    cr = b.call([R.putrootfh(), R.remove("d1.bin")])
    expect(cr, "REMOVE", E["DELAY"], "%s: B REMOVE d1.bin" % what)
    cr = b.call([R.putrootfh(), R.op("SAVEFH"),
                 R.rename("other.bin", "d1.bin")])
    expect(cr, "RENAME", E["DELAY"], "%s: B RENAME other.bin onto d1.bin" % what)
    cr = d40.open("d1.bin", "D40-d1", 1, R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: D40 (4.0) OPEN d1.bin for writing" % what)
    a.pump(0.5)
    n = sum(1 for x in a.c.calls if is_recall(x))
    check(n == 1, "%s: CB_RECALLs A got for its one delegation" % what, "1", str(n))

    cr = a.call([R.putfh(fh), R.open_deleg_cur_fh("A-d1", dsid)])
    expect(cr, "OPEN", OK, "%s: A OPEN CLAIM_DELEG_CUR_FH while the delegation is being "
           "recalled" % what)
    cr = a.call([R.putfh(fh), R.delegreturn(dsid)])
    expect(cr, "DELEGRETURN", OK, "%s: A DELEGRETURN" % what)
    cr = b.open("d1.bin", "B-d1", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", OK, "%s: B OPEN d1.bin for writing again after the DELEGRETURN" % what)
    cr = a.call([R.putfh(fh), R.delegreturn(dsid)])
    expect(cr, "DELEGRETURN", E["BAD_STATEID"], "%s: A DELEGRETURN of the same stateid "
           "again" % what)


# ---- 3. revocation and a dead callback path -----------------------------------------------

def revoke(ctx):
    what = "revoke"
    port = ctx["port"]
    a, b = ctx["A"], ctx["B"]
    cr, res, fh2 = open_read(a, "d2.bin", "A-d2")
    check(got_deleg(res), "%s: A OPEN d2.bin for reading" % what, "OPEN_DELEGATE_READ",
          deleg_desc(res))
    if not got_deleg(res):
        raise AssertionError("no delegation for A")
    d2 = res.deleg_sid
    q = ctx["Q"] = start_cb(port, "host-deleg-Q-silent", what + " Q (CONN_BACK_CHAN)")
    ctx["close"].append(q)
    if not any(is_null(x) for x in q.c.calls):
        q.pump(5.0, is_null)
    cr, res, fh3 = open_read(q, "d3.bin", "Q-d3")
    check(got_deleg(res), "%s: Q OPEN d3.bin for reading" % what, "OPEN_DELEGATE_READ",
          deleg_desc(res))
    if not got_deleg(res):
        raise AssertionError("no delegation for Q")
    d3 = res.deleg_sid
    q.mode = "ignore"   # from now on Q answers no callback

    cr = b.open("d2.bin", "B-d2", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: B OPEN d2.bin for writing" % what)
    ka = a.pump(5.0, is_recall)
    t_a = ka.t if ka else time.time()
    seq = ka.op("CB_SEQUENCE") if ka else None
    check(ka is not None and ka.op("CB_RECALL")["stateid"] == d2 and seq is not None and
          seq["sequenceid"] == 2 and seq["slotid"] == 0,
          "%s: A gets CB_RECALL of d2.bin (answered; the delegation is kept)" % what,
          "CB_SEQUENCE sequenceid 2 (the slot's second call), slot 0, CB_RECALL of its stateid",
          ka.describe() + (" sequenceid %d" % seq["sequenceid"] if seq else "")
          if ka else "nothing within 5 s")
    cr = b.open("d3.bin", "B-d3", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: B OPEN d3.bin for writing" % what)
    kq = q.pump(5.0, is_recall)
    t_q = kq.t if kq else time.time()
    check(kq is not None and kq.op("CB_RECALL")["stateid"] == d3,
          "%s: Q gets CB_RECALL of d3.bin (never answered)" % what, "CB_RECALL of its stateid",
          kq.describe() if kq else "nothing within 5 s")

    tap.note("%s: A keeps d2.bin's delegation and renews, Q ignores its CB_RECALL and renews; "
             "B retries its OPENs every %.0f s" % (what, POLL))
    ev = {}   # name: seconds since the recall it belongs to
    a_delays = q_flags0 = None
    deadline = time.time() + max(LEASE, CB_TIMEOUT) + SWEEP_SLACK + 4
    while time.time() < deadline and len(ev) < 5:
        time.sleep(POLL)
        now = time.time()
        fa = a.flags()
        if fa is not None and fa & R.SEQ4_STATUS_RECALLABLE_STATE_REVOKED and "A flag" not in ev:
            ev["A flag"] = now - t_a
        fq = q.flags()
        if q_flags0 is None:
            q_flags0 = fq
        if fq is not None and fq & R.SEQ4_STATUS_CB_PATH_DOWN and "Q down" not in ev:
            ev["Q down"] = now - t_q
        if fq is not None and fq & R.SEQ4_STATUS_RECALLABLE_STATE_REVOKED and "Q flag" not in ev:
            ev["Q flag"] = now - t_q
        if "B d2" not in ev:
            o = result(b.open("d2.bin", "B-d2", R.SHARE_ACCESS_WRITE), "OPEN")
            if o is not None and o.status == OK:
                ev["B d2"] = now - t_a
            elif o is not None and o.status != E["DELAY"]:
                ev["B d2"] = None
                a_delays = R.status_name(o.status)
        if "B d3" not in ev:
            o = result(b.open("d3.bin", "B-d3", R.SHARE_ACCESS_WRITE), "OPEN")
            if o is not None and o.status == OK:
                ev["B d3"] = now - t_q
    tap.note("%s: seconds after the recall: %s" % (what, ", ".join(
        "%s %s" % (k, "-" if v is None else "%.1f" % v) for k, v in sorted(ev.items()))))

    lo, hi = LEASE - 1.0, LEASE + SWEEP_SLACK + POLL + 1.0

    def when(name, lo=lo, hi=hi):
        v = ev.get(name)
        return (v is not None and lo <= v <= hi), \
            ("never" if name not in ev else a_delays if v is None else "after %.1f s" % v)

    ok, got = when("B d2")
    check(ok, "%s: B's OPEN d2.bin for writing goes through once A's delegation is revoked" %
          what, "NFS4_OK %.0f-%.0f s after the recall (DELAY before)" % (lo, hi), got)
    ok, got = when("A flag")
    check(ok, "%s: A's SEQUENCE shows SEQ4_STATUS_RECALLABLE_STATE_REVOKED (0x40)" % what,
          "%.0f-%.0f s after the recall" % (lo, hi), got)
    cr = a.call([R.test_stateid(d2)])
    expect(cr, "TEST_STATEID", OK, "%s: A TEST_STATEID of the revoked delegation" % what,
           pred=lambda r: (r.codes == [E["DELEG_REVOKED"]], "codes %s" % [
               R.status_name(c) for c in (r.codes or [])]),
           pred_desc="codes [DELEG_REVOKED]")
    cr = a.call([R.putfh(fh2), R.read(0, 16, d2)])
    expect(cr, "READ", E["DELEG_REVOKED"], "%s: A READ with the revoked delegation" % what)
    cr = a.call([R.free_stateid(d2)])
    expect(cr, "FREE_STATEID", OK, "%s: A FREE_STATEID of the revoked delegation" % what)
    fa = a.flags()
    check(fa is not None and not fa & R.SEQ4_STATUS_RECALLABLE_STATE_REVOKED,
          "%s: A's SEQUENCE after the FREE_STATEID" % what,
          "without RECALLABLE_STATE_REVOKED", flags_desc(fa))
    cr = a.call([R.test_stateid(d2)])
    expect(cr, "TEST_STATEID", OK, "%s: A TEST_STATEID of the freed delegation" % what,
           pred=lambda r: (r.codes == [E["BAD_STATEID"]], "codes %s" % [
               R.status_name(c) for c in (r.codes or [])]),
           pred_desc="codes [BAD_STATEID]")

    # Q: the callback path
    check(q_flags0 is not None and not q_flags0 & R.SEQ4_STATUS_CB_PATH_DOWN,
          "%s: Q's first SEQUENCE after the unanswered CB_RECALL" % what,
          "without CB_PATH_DOWN (the callback is young)", flags_desc(q_flags0))
    ok, got = when("Q down", CB_TIMEOUT - 1.0, CB_TIMEOUT + SWEEP_SLACK + POLL + 1.0)
    check(ok, "%s: Q's SEQUENCE shows SEQ4_STATUS_CB_PATH_DOWN (0x1)" % what,
          "%.0f-%.0f s after the CB_RECALL" % (CB_TIMEOUT - 1.0,
                                               CB_TIMEOUT + SWEEP_SLACK + POLL + 1.0), got)
    ok, got = when("B d3")
    check(ok, "%s: B's OPEN d3.bin for writing goes through once Q's delegation is revoked" %
          what, "NFS4_OK %.0f-%.0f s after the recall" % (lo, hi), got)

    q.mode = "answer"
    old = q.c
    c2 = q.connect()
    cr = c2.compound([R.bind_conn_to_session(q.sessionid, R.CDFC4_BACK_OR_BOTH)], minor=1)
    expect(cr, "BIND_CONN_TO_SESSION", OK,
           "%s: Q BIND_CONN_TO_SESSION CDFC4_BACK_OR_BOTH on a new connection" % what,
           pred=lambda r: (r.dir == R.CDFS4_BOTH and r.sessionid == q.sessionid,
                           "dir %s session %s" % (r.dir, (r.sessionid or b"").hex())),
           pred_desc="CDFS4_BOTH (3), its session")
    n_old = len(old.calls)
    q.flags()
    k = q.pump(5.0, is_null) if not any(is_null(x) for x in c2.calls) else \
        next(x for x in c2.calls if is_null(x))
    check(k is not None, "%s: a new CB_NULL on the new connection after a SEQUENCE" % what,
          "CB_NULL", k.describe() if k else "nothing within 5 s (new connection: %s)" % (
              "; ".join(x.describe() for x in c2.calls) or "no calls"))
    q.pump(1.0)
    fq = q.flags()
    check(fq is not None and not fq & R.SEQ4_STATUS_CB_PATH_DOWN,
          "%s: Q's SEQUENCE once the new connection's CB_NULL is answered" % what,
          "without CB_PATH_DOWN", flags_desc(fq))
    tap.note("%s: Q: %d call(s) on the old connection after the bind, on the new one: %s" % (
        what, len(old.calls) - n_old, "; ".join(x.describe() for x in c2.calls)))


# ---- 4. hostile callback replies ----------------------------------------------------------

def hostile(ctx):
    what = "hostile"
    port = ctx["port"]
    b = ctx["B"]
    w = start_cb(port, "host-deleg-W", what + " W (CONN_BACK_CHAN)", mode="hold")
    ctx["close"].append(w)
    if not w.held:
        w.pump(5.0, is_null)
    if not w.held:
        raise AssertionError("W got no CB_NULL")
    k = w.held.pop()

    def served(desc):
        ok, got = null_rpc(w.c)
        check(ok, "%s: %s, then NULL on that connection" % (what, desc),
              "accepted, SUCCESS", got)
        res = result(w.call([R.putrootfh(), R.getfh()]), "GETFH")
        check(res is not None and res.status == OK and ctx["srv"].alive(),
              "%s: %s, then a COMPOUND on that connection" % (what, desc), "NFS4_OK",
              R.status_name(res.status) if res else "no GETFH")

    mark = len(ctx["srv"].log())
    w.c.send(R.record(R.rpc_reply(k.xid ^ 0x5a5a5a5a)))
    served("a REPLY whose xid answers no callback")
    time.sleep(0.2)
    check(log_has(ctx, r"answers no callback", mark), "%s: the server logs the stray "
          "REPLY" % what, "\"reply xid ... answers no callback: ignored\"", "see the log")
    w.c.send(R.record(R.u32(k.xid ^ 0x0f0f0f0f) + R.u32(R.REPLY)))
    served("an 8-byte REPLY (xid and msg_type only)")
    w.c.send(R.record(R.u32(k.xid ^ 0x0f0f0f0e) + R.u32(R.REPLY) + R.u32(7) + os.urandom(9)))
    served("a REPLY with reply_stat 7 and odd bytes")

    mark = len(ctx["srv"].log())
    # the probe's xid, cut short after the verifier's flavor
    w.c.send(R.record(R.rpc_reply(k.xid)[:16]))
    served("a truncated reply to CB_NULL")
    time.sleep(0.2)
    check(log_has(ctx, r"undecodable reply to CB_NULL", mark),
          "%s: the server logs the truncated reply" % what,
          "\"undecodable reply to CB_NULL\"", "see the log")
    fw = w.flags()
    check(fw is not None and fw & R.SEQ4_STATUS_CB_PATH_DOWN,
          "%s: W's SEQUENCE after its CB_NULL got a truncated reply" % what,
          "CB_PATH_DOWN (the probe failed)", flags_desc(fw))

    cr = w.call_plain([R.bind_conn_to_session(w.sessionid, R.CDFC4_BACK_OR_BOTH)])
    expect(cr, "BIND_CONN_TO_SESSION", OK, "%s: W binds its connection again" % what,
           pred=lambda r: (r.dir == R.CDFS4_BOTH, "dir %s" % r.dir), pred_desc="CDFS4_BOTH")
    w.flags()
    if not w.held:
        w.pump(5.0, is_null)
    if not w.held:
        raise AssertionError("W got no second CB_NULL")
    k = w.held.pop()
    w.c.send(R.record(R.rpc_reply(k.xid) + os.urandom(64)))
    served("64 bytes of garbage after a CB_NULL reply's header")
    w.mode = "answer"
    cr, res, fh = open_read(w, "w.bin", "W-w")
    tap.note("%s: W OPEN w.bin after the CB_NULL reply with garbage: %s" % (what,
                                                                        deleg_desc(res)))
    if not got_deleg(res):
        return   # no CB_COMPOUND to answer badly
    wsid = res.deleg_sid
    w.mode = "hold"
    cr = b.open("w.bin", "B-w", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: B OPEN w.bin for writing" % what)
    if not w.held:
        w.pump(5.0, is_recall)
    if not w.held:
        check(False, "%s: W gets CB_RECALL" % what, "within 5 s", "nothing")
        return
    k = w.held.pop()
    mark = len(ctx["srv"].log())
    # accepted, SUCCESS, then a CB_COMPOUND4res whose tag claims 2 GB
    w.c.send(R.record(R.rpc_reply(k.xid, R.u32(OK) + R.u32(0x7fffffff) + os.urandom(40))))
    served("garbage after a CB_COMPOUND reply's header")
    time.sleep(0.2)
    check(log_has(ctx, r"undecodable reply to CB_RECALL", mark),
          "%s: the server logs the bad CB_COMPOUND reply" % what,
          "\"undecodable reply to CB_RECALL\"", "see the log")
    cr = w.call([R.putfh(fh), R.delegreturn(wsid)])
    expect(cr, "DELEGRETURN", OK, "%s: W DELEGRETURN" % what)
    cr = b.open("w.bin", "B-w", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", OK, "%s: B OPEN w.bin for writing after it" % what)


# ---- 5. NFSv4.0: the callback path the server opens ---------------------------------------

CB40_PROGRAM = 0x40000040   # the 4.0 clients' callback program (not the 4.1 clients' one)
CB40_IDENT = 0x0d40c0de     # their callback_ident, to be found in every CB_COMPOUND
CB40_RETRY = 30             # server/deleg.c CB_RETRY40: seconds between connection attempts
OTHER_HOST = "192.0.2.1"    # TEST-NET-1 (RFC 5737): nobody's host


class V40CB(S.V40):
    """S.V40 whose SETCLIENTID names a callback service (RFC 7530 §16.33): listener (a
    harness.CbListener: its universal address; the server's CALLs on the connection it
    opens are answered in mode "answer", kept in held in mode "hold") or netid and addr
    as they are. Its own connection is a CbClient too, so that a CALL the server sent on it
    (none is expected) would be recorded. Tracks the seqid of each open-owner."""

    def __init__(self, port, name, listener=None, netid="tcp", addr=None, mode="answer"):
        super().__init__(port, name)
        self.c.close()
        self.c = CbClient(port, cred=CRED, on_call=lambda k: None)
        self.listener = listener
        self.netid = netid
        self.addr = listener.uaddr if listener is not None else addr
        self.mode = mode
        self.held = []
        self.seqids = {}
        if listener is not None:
            listener.on_call = self._on_call

    def _on_call(self, k):
        if self.mode == "answer":
            return R.cb_answer(k)
        if self.mode == "hold":
            self.held.append(k)
        return None

    def answer_held(self, conn):
        for k in self.held:
            conn.answer(k, R.cb_answer(k))
        self.held = []

    def close(self):
        super().close()
        if self.listener is not None:
            self.listener.close()

    def setclientid(self):
        cr = self.call([R.setclientid(self.verifier, self.name.encode(), CB40_PROGRAM,
                                      self.netid, self.addr, CB40_IDENT)])
        res = result(cr, "SETCLIENTID")
        if res is None or res.status != OK:
            return cr
        self.cid = res.clientid
        return self.call([R.setclientid_confirm(res.clientid, res.verifier)])

    def open_read(self, name, owner):
        """OPEN name for reading by open-owner owner, and its OPEN_CONFIRM when the owner is
        new: (CompoundReply, OPEN result, fh)."""
        seqid = self.seqids.get(owner, 0)
        cr = self.open(name, owner, seqid, R.SHARE_ACCESS_READ)
        res, fh = result(cr, "OPEN"), result(cr, "GETFH")
        if res is None or res.status != OK or fh is None:
            return cr, res, None
        self.seqids[owner] = seqid + 1
        if res.rflags & R.OPEN4_RESULT_CONFIRM:
            cf = result(self.call([R.putfh(fh.fh), R.open_confirm(res.stateid, seqid + 1)]),
                        "OPEN_CONFIRM")
            if cf is None or cf.status != OK:
                raise AssertionError("OPEN_CONFIRM %s: %s" % (name, cf))
            self.seqids[owner] = seqid + 2
        return cr, res, fh.fh


def start_v40cb(ctx, name, what, **kw):
    v = V40CB(ctx["port"], name, **kw)
    ctx["close"].append(v)
    cr = v.setclientid()
    res = result(cr, "SETCLIENTID_CONFIRM")
    check(res is not None and res.status == OK,
          "%s: SETCLIENTID (callback %s %r), SETCLIENTID_CONFIRM" % (what, v.netid, v.addr),
          "NFS4_OK", R.status_name(res.status) if res else cr.describe())
    if res is None or res.status != OK:
        raise AssertionError("no 4.0 client ID for %s" % name)
    return v


def no_deleg(res):
    return res is not None and res.status == OK and res.deleg == R.OPEN_DELEGATE_NONE


def wait_log(ctx, pattern, since, timeout):
    """Wait up to timeout seconds for pattern in the server's log after offset since."""
    deadline = time.time() + timeout
    while True:
        if log_has(ctx, pattern, since):
            return True
        if time.time() >= deadline:
            return False
        time.sleep(0.1)


def tcp_to(ip):
    """The lines of /proc/net/tcp whose remote address is ip (a connection, or an attempt,
    to it from anyone in this network namespace)."""
    want = "%08X:" % int.from_bytes(socket.inet_aton(ip), "little")
    try:
        with open("/proc/net/tcp") as f:
            return [ln.strip() for ln in f.readlines()[1:] if ln.split()[2].startswith(want)]
    except OSError:
        return []


def v40(ctx):
    what = "4.0"
    port = ctx["port"]

    # Z: a callback port that refuses (bound, nobody listens): its retry is checked at the
    # end of the section, CB_RETRY40 s later
    dead = CbListener(listen=False)
    mark_z = len(ctx["srv"].log())
    z = start_v40cb(ctx, "host-deleg-Z40-refused", what + " Z (callback port refuses)",
                    listener=dead)
    t_z = time.time()
    cr, res, _ = z.open_read("z40.bin", "Z-z")
    check(no_deleg(res), "%s: Z OPEN z40.bin for reading (its callback port refuses)" % what,
          "NFS4_OK, OPEN_DELEGATE_NONE (0)", deleg_desc(res))

    # C: a callback service that answers
    lst = CbListener()
    mark = len(ctx["srv"].log())
    c = ctx["C40"] = start_v40cb(ctx, "host-deleg-C40", what + " C", listener=lst,
                                 mode="hold")
    cb = lst.accept(5.0)
    check(cb is not None and lst.peers[0][0] == "127.0.0.1",
          "%s: the server connects to C's callback address %s after SETCLIENTID_CONFIRM" % (
              what, c.addr), "a connection from 127.0.0.1 within 5 s",
          "from %s port %d" % lst.peers[0] if cb else "none")
    if cb is None:
        raise AssertionError("no callback connection for C")
    k = cb.pump(5.0, is_null) if not c.held else c.held[0]
    check(k is not None and k.rpcvers == 2 and k.prog == CB40_PROGRAM and
          k.vers == R.CB_VERSION and k.proc == R.CB_PROC_NULL,
          "%s: a CB_NULL on the callback connection" % what,
          "prog %#x (SETCLIENTID's) vers 1 proc 0" % CB40_PROGRAM,
          k.describe() if k else "nothing within 5 s")
    if k is not None:
        check(k.cred_flavor == R.AUTH_SYS, "%s: CB_NULL's credential" % what, "AUTH_SYS",
              "flavor %s uid %s gid %s" % (k.cred_flavor, k.uid, k.gid))
    cr, res, _ = c.open_read("c40.bin", "C-own")
    check(no_deleg(res), "%s: C OPEN c40.bin for reading (new open-owner) before the "
          "CB_NULL is answered" % what, "NFS4_OK, OPEN_DELEGATE_NONE (0)", deleg_desc(res))
    c.answer_held(cb)
    c.mode = "answer"
    ok = wait_log(ctx, r"backchannel to client %016x up" % c.cid, mark, 3.0)
    check(ok, "%s: the server logs C's callback path up" % what,
          "\"backchannel to client %016x up\"" % c.cid, "found" if ok else "not within 3 s")
    cr, res, fh = c.open_read("d40.bin", "C-own")
    check(got_deleg(res), "%s: C OPEN d40.bin for reading (confirmed open-owner) once the "
          "CB_NULL is answered" % what,
          "NFS4_OK, OPEN_DELEGATE_READ (1) with a stateid of its own", deleg_desc(res))
    if not got_deleg(res):
        raise AssertionError("C holds no delegation of d40.bin")
    dsid = res.deleg_sid
    cr = c.call([R.putfh(fh), R.read(0, 16, dsid)])
    expect(cr, "READ", OK, "%s: C READ with its delegation stateid" % what,
           pred=lambda r: (r.data == CONTENT[:16], "data %r" % r.data), pred_desc="the data")
    cr = c.call([R.putfh(fh), R.write(0, b"x", dsid)])
    expect(cr, "WRITE", E["OPENMODE"], "%s: C WRITE with its (read) delegation stateid" % what)

    e = start_cb(port, "host-deleg-E41", what + " E (4.1, no backchannel)", back=False)
    ctx["close"].append(e)
    cr = e.open("d40.bin", "E-d40", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: E (4.1) OPEN d40.bin for writing while C holds a "
           "read delegation" % what)
    k = cb.pump(5.0, is_recall)
    check(k is not None and k.prog == CB40_PROGRAM and k.vers == R.CB_VERSION,
          "%s: C gets a CB_COMPOUND with CB_RECALL on the callback connection" % what,
          "within 5 s, prog %#x vers 1" % CB40_PROGRAM,
          k.describe() if k else "nothing (%s)" % (
              "; ".join(x.describe() for x in cb.calls) or "no calls"))
    if k is not None:
        check(k.error is None and k.minor == 0 and k.ident == CB40_IDENT and
              [o for o, _ in k.ops] == [R.CB_OP["CB_RECALL"]],
              "%s: the CB_COMPOUND is 4.0's" % what,
              "minorversion 0, callback_ident %#x, one op CB_RECALL (no CB_SEQUENCE)" %
              CB40_IDENT, "minorversion %s callback_ident %s ops %s%s" % (
                  k.minor, "%#x" % k.ident if k.ident is not None else None,
                  [R.CB_OP_NAME.get(o, o) for o, _ in k.ops],
                  " (%s)" % k.error if k.error else ""))
        rc = k.op("CB_RECALL")
        check(rc is not None and rc["stateid"] == dsid and rc["fh"] == fh and
              rc["truncate"] == 0, "%s: CB_RECALL names the delegation and the file" % what,
              "stateid %s truncate 0 fh %s" % (dsid.hex(), fh.hex()),
              "stateid %s truncate %d fh %s" % (rc["stateid"].hex(), rc["truncate"],
                                                rc["fh"].hex()) if rc else k.describe())
        check(k.cred_flavor == R.AUTH_SYS, "%s: CB_COMPOUND's credential" % what,
              "AUTH_SYS", "flavor %s uid %s" % (k.cred_flavor, k.uid))
        check(k.answered, "%s: C answers the CB_RECALL (NFS4_OK)" % what, "sent",
              "sent" if k.answered else "not sent")
        time.sleep(0.2)
        pat = r"(undecodable reply to CB_RECALL|client %016x: CB_RECALL \(xid %08x\) " \
            r"answered)" % (c.cid, k.xid)
        m = re.search(pat, ctx["srv"].log()[mark:])
        check(m is None, "%s: the server takes C's reply to the CB_RECALL" % what,
              "no \"undecodable reply\" nor \"answered status\" line",
              m.group(0) if m else "none")
    d40 = S.start_v40(port, "host-deleg-D40b", what + " D (4.0, no callback)")
    ctx["close"].append(d40)
    cr = d40.open("d40.bin", "D-d40", 1, R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", E["DELAY"], "%s: D (4.0) OPEN d40.bin for writing" % what)
    cb.pump(0.5)
    n = sum(1 for x in cb.calls if is_recall(x))
    check(n == 1, "%s: CB_RECALLs C got for its one delegation" % what, "1", str(n))
    cr = c.call([R.putfh(fh), R.delegreturn(dsid)])
    expect(cr, "DELEGRETURN", OK, "%s: C DELEGRETURN (PUTFH, DELEGRETURN)" % what)
    cr = e.open("d40.bin", "E-d40", R.SHARE_ACCESS_WRITE)
    expect(cr, "OPEN", OK, "%s: E OPEN d40.bin for writing again after the DELEGRETURN" %
           what)
    cr = c.call([R.putfh(fh), R.delegreturn(dsid)])
    expect(cr, "DELEGRETURN", E["BAD_STATEID"], "%s: C DELEGRETURN of the same stateid "
           "again" % what)
    check(not c.c.calls, "%s: no CALL on C's own connection (4.0 has no backchannel on "
          "it)" % what, "none", "; ".join(x.describe() for x in c.c.calls) or "none")
    check(len(lst.conns) == 1 and lst.poll() == 0,
          "%s: connections the server opened to C's callback address" % what, "one",
          str(len(lst.conns)))

    # callback addresses that are not to be called: another host, unparsable
    try:
        other = CbListener("127.0.0.2")
    except OSError as ex:
        other = None
        tap.note("%s: no listener on 127.0.0.2 (%s): that case is left out" % (what, ex))
    bad = CbListener()
    cases = [("tcp", OTHER_HOST + ".8.1", "another host (%s)" % OTHER_HOST,
              "not the client's host")]
    if other is not None:
        cases.append(("tcp", other.uaddr, "another host (127.0.0.2, listening)",
                      "not the client's host"))
    cases += [("tcp", "127.0.0.1:%d" % bad.port, "host:port, not a universal address",
               "unusable"),
              ("udp", bad.uaddr, "netid udp", "unusable"),
              ("tcp", "127.0.0.1.256.%d" % (bad.port & 0xff), "a port octet of 256",
               "unusable"),
              ("tcp", "not.an.address", "no address at all", "unusable")]
    for i, (netid, addr, desc, logged) in enumerate(cases):
        mark = len(ctx["srv"].log())
        v = start_v40cb(ctx, "host-deleg-X40-%d" % i, "%s X%d (%s)" % (what, i, desc),
                        netid=netid, addr=addr)
        cr, res, _ = v.open_read("n40.bin", "X-%d" % i)
        check(no_deleg(res), "%s: X%d (callback: %s) OPEN n40.bin for reading" % (
            what, i, desc), "NFS4_OK, OPEN_DELEGATE_NONE (0)", deleg_desc(res))
        pat = (r"client %016x: callback address \S+ is not the client's host"
               if logged.startswith("not") else
               r"client %016x: callback \S+ \S+ unusable") % v.cid
        ok = wait_log(ctx, pat, mark, 1.0)
        check(ok, "%s: the server logs X%d's callback as %s" % (what, i, logged), pat,
              "found" if ok else "no such line")
    time.sleep(1.0)
    check(bad.poll() == 0, "%s: connections to 127.0.0.1:%d (named by the unparsable "
          "callback addresses)" % (what, bad.port), "none", str(len(bad.conns)))
    if other is not None:
        check(other.poll() == 0, "%s: connections to 127.0.0.2:%d (a host the client does "
              "not call from)" % (what, other.port), "none", str(len(other.conns)))
        other.close()
    bad.close()
    conns = tcp_to(OTHER_HOST)
    check(not conns, "%s: TCP connections to %s (/proc/net/tcp)" % (what, OTHER_HOST),
          "none", "; ".join(conns) or "none")
    ok, got = null_rpc(z.c)
    check(ok, "%s: NULL after the unusable callback addresses" % what, "accepted, SUCCESS",
          got)

    # Z: the refused port
    ok = wait_log(ctx, r"client %016x: (callback address \S+: |no answer to CB_NULL)" %
                  z.cid, mark_z, SWEEP_SLACK + 1)
    check(ok, "%s: the server logs Z's refused callback connection" % what,
          "\"callback address ...: <error>\" or \"no answer to CB_NULL\"",
          "found" if ok else "no such line")
    cr, res, _ = z.open_read("z40.bin", "Z-z")
    check(no_deleg(res), "%s: Z OPEN z40.bin again once its callback path failed" % what,
          "NFS4_OK, OPEN_DELEGATE_NONE (0)", deleg_desc(res))
    ok, got = null_rpc(z.c)
    check(ok, "%s: NULL after Z's refused callback connection" % what, "accepted, SUCCESS",
          got)
    dead.listen()
    cr, res, _ = z.open_read("z40.bin", "Z-z")
    n = 1 if dead.accept(1.0) is not None else 0
    check(no_deleg(res) and n == 0, "%s: Z OPEN z40.bin %.0f s after its SETCLIENTID_CONFIRM, "
          "its port listening now" % (what, time.time() - t_z),
          "no delegation and no new connection (one attempt every %d s)" % CB40_RETRY,
          "%s, %d connection(s)" % (deleg_desc(res), n))
    wait = t_z + CB40_RETRY + 1.5 - time.time()
    tap.note("%s: %.0f s until Z's callback path may be tried again (Z renews)" % (what, wait))
    S.pause(wait, [z])
    cr, res, _ = z.open_read("z40.bin", "Z-z")
    zc = dead.accept(5.0)
    check(zc is not None, "%s: Z OPEN z40.bin %.0f s after the first attempt: the server "
          "connects again" % (what, time.time() - t_z), "a connection within 5 s",
          "from %s port %d" % dead.peers[-1] if zc else "none")
    if zc is None:
        return
    k = zc.pump(5.0, is_null) if not any(is_null(x) for x in zc.calls) else zc.calls[0]
    check(k is not None and k.prog == CB40_PROGRAM and k.answered,
          "%s: a CB_NULL on Z's new callback connection, answered" % what, "CB_NULL",
          k.describe() if k else "nothing within 5 s")
    wait_log(ctx, r"backchannel to client %016x up" % z.cid, mark_z, 3.0)
    cr, res, zfh = z.open_read("z40.bin", "Z-z")
    check(got_deleg(res), "%s: Z OPEN z40.bin once the new CB_NULL is answered" % what,
          "NFS4_OK, OPEN_DELEGATE_READ (1)", deleg_desc(res))
    if got_deleg(res):
        cr = z.call([R.putfh(zfh), R.delegreturn(res.deleg_sid)])
        expect(cr, "DELEGRETURN", OK, "%s: Z DELEGRETURN" % what)


# ---- 6. CB_NOTIFY_LOCK --------------------------------------------------------------------

NL_WAIT = 25      # seconds between W's DENIED and the release: longer than a lease
NL_WITHIN = 2.0   # seconds within which the CB_NOTIFY_LOCK is to come


def is_notify_lock(k):
    return k.proc == R.CB_PROC_COMPOUND and k.op("CB_NOTIFY_LOCK") is not None


def open_rw(v, name, owner):
    """OPEN for reading and writing: (CompoundReply, OPEN result, fh)."""
    cr = v.open(name, owner, R.SHARE_ACCESS_BOTH)
    res, fh = result(cr, "OPEN"), result(cr, "GETFH")
    if res is None or res.status != OK or fh is None:
        raise AssertionError("OPEN %s: %s" % (name, cr.describe()))
    return cr, res, fh.fh


def notify_lock(ctx):
    what = "notify-lock"
    port = ctx["port"]
    h = start_cb(port, "host-deleg-H-holder", what + " H (holder, no backchannel)", back=False)
    ctx["close"].append(h)
    w = start_cb(port, "host-deleg-NW-waiter", what + " W (CONN_BACK_CHAN)")
    ctx["close"].append(w)
    if not any(is_null(x) for x in w.c.calls):
        w.pump(5.0, is_null)

    cr, hres, hfh = open_rw(h, "nl.bin", "H-nl")
    check(not hres.rflags & R.OPEN4_RESULT_MAY_NOTIFY_LOCK,
          "%s: H (no backchannel) OPEN nl.bin: rflags" % what,
          "without OPEN4_RESULT_MAY_NOTIFY_LOCK (0x20)", "%#x" % hres.rflags)
    hl = S.Locks41(h, hfh, hres.stateid, "H-lo")
    expect(hl.lock(R.WRITE_LT, 0, 100), "LOCK", OK, "%s: H LOCK WRITE_LT [0,100) of nl.bin" %
           what)
    cr, hres2, hfh2 = open_rw(h, "nl2.bin", "H-nl2")
    hl2 = S.Locks41(h, hfh2, hres2.stateid, "H-lo2")
    expect(hl2.lock(R.WRITE_LT, 0, 100), "LOCK", OK, "%s: H LOCK WRITE_LT [0,100) of nl2.bin" %
           what)

    cr, wres, wfh = open_rw(w, "nl.bin", "W-nl")
    check(wres.rflags & R.OPEN4_RESULT_MAY_NOTIFY_LOCK,
          "%s: W (backchannel up) OPEN nl.bin: rflags" % what,
          "with OPEN4_RESULT_MAY_NOTIFY_LOCK (0x20)", "%#x" % wres.rflags)
    check(wfh == hfh, "%s: W's and H's file handles of nl.bin" % what, "the same",
          "%s / %s" % (wfh.hex(), hfh.hex()))
    wl = S.Locks41(w, wfh, wres.stateid, "W-lo")
    expect(wl.lock(R.WRITEW_LT, 0, 10), "LOCK", E["DENIED"],
           "%s: W LOCK WRITEW_LT (blocking) [0,10) of nl.bin" % what,
           pred=S.denied_by(h.cid, b"H-lo", [(0, 100)], (0, 10)),
           pred_desc="LOCK4denied naming H's lock")
    t_denied = time.time()
    cr, wres2, wfh2 = open_rw(w, "nl2.bin", "W-nl2")
    wl2 = S.Locks41(w, wfh2, wres2.stateid, "W-lo2")
    expect(wl2.lock(R.WRITE_LT, 0, 10), "LOCK", E["DENIED"],
           "%s: W LOCK WRITE_LT (not blocking) [0,10) of nl2.bin" % what)

    tap.note("%s: %d s with H's locks held (more than a lease), H and W renew" % (what, NL_WAIT))
    S.pause(NL_WAIT - (time.time() - t_denied), [h, w])
    early = [x.describe() for x in w.c.calls if is_notify_lock(x)]
    check(not early, "%s: CB_NOTIFY_LOCKs W got while H held its locks" % what, "none",
          "; ".join(early) or "none")

    mark = len(ctx["srv"].log())
    t_rel = time.time()
    expect(hl.locku(0, 100), "LOCKU", OK, "%s: H LOCKU [0,100) of nl.bin, %.0f s after W's "
           "DENIED" % (what, t_rel - t_denied))
    k = w.pump(NL_WITHIN, is_notify_lock)
    check(k is not None, "%s: W gets a CB_COMPOUND with CB_NOTIFY_LOCK" % what,
          "within %.0f s of the LOCKU" % NL_WITHIN,
          "after %.1f s: %s" % (k.t - t_rel, k.describe()) if k else
          "nothing (%s)" % ("; ".join(x.describe() for x in w.c.calls) or "no calls"))
    if k is not None:
        seq = k.op("CB_SEQUENCE")
        check(k.ops and k.ops[0][0] == R.CB_OP["CB_SEQUENCE"] and seq is not None and
              seq["sessionid"] == w.sessionid and seq["slotid"] == 0 and
              [o for o, _ in k.ops] == [R.CB_OP["CB_SEQUENCE"], R.CB_OP["CB_NOTIFY_LOCK"]],
              "%s: the CB_COMPOUND is CB_SEQUENCE, CB_NOTIFY_LOCK" % what,
              "W's session %s, slot 0" % w.sessionid.hex(),
              "ops %s, %s" % ([R.CB_OP_NAME.get(o, o) for o, _ in k.ops],
                              "session %s sequenceid %d slot %d" % (
                                  seq["sessionid"].hex(), seq["sequenceid"], seq["slotid"])
                              if seq else "no CB_SEQUENCE"))
        n = k.op("CB_NOTIFY_LOCK")
        check(n["fh"] == wfh and n["clientid"] == w.cid and n["owner"] == b"W-lo",
              "%s: CB_NOTIFY_LOCK names the file and W's lock-owner" % what,
              "fh %s, lock-owner (%#x, %r)" % (wfh.hex(), w.cid, b"W-lo"),
              "fh %s, lock-owner (%#x, %r)" % (n["fh"].hex(), n["clientid"], n["owner"]))
        check(k.cred_flavor == R.AUTH_SYS and k.uid == CB_UID,
              "%s: CB_COMPOUND's credential" % what, "AUTH_SYS uid %d" % CB_UID,
              "flavor %s uid %s" % (k.cred_flavor, k.uid))
        check(k.answered, "%s: W answers the CB_NOTIFY_LOCK (NFS4_OK)" % what, "sent",
              "sent" if k.answered else "not sent")
        time.sleep(0.2)
        pat = r"(undecodable reply to CB_NOTIFY_LOCK|client %016x: CB_NOTIFY_LOCK \(xid " \
            r"%08x\) answered)" % (w.cid, k.xid)
        m = re.search(pat, ctx["srv"].log()[mark:])
        check(m is None, "%s: the server takes W's reply to the CB_NOTIFY_LOCK" % what,
              "no \"undecodable reply\" nor \"answered status\" line",
              m.group(0) if m else "none")
    expect(wl.lock(R.WRITEW_LT, 0, 10), "LOCK", OK,
           "%s: W LOCK WRITEW_LT [0,10) of nl.bin again after the notification" % what)

    n0 = len(w.c.calls)
    expect(hl2.locku(0, 100), "LOCKU", OK, "%s: H LOCKU [0,100) of nl2.bin" % what)
    w.pump(NL_WITHIN)
    w.flags()
    late = [x.describe() for x in w.c.calls[n0:] if is_notify_lock(x)]
    check(not late, "%s: CB_NOTIFY_LOCKs W got after the release of nl2.bin (its DENIED was "
          "WRITE_LT, not blocking)" % what, "none within %.0f s" % NL_WITHIN,
          "; ".join(late) or "none")
    expect(wl2.lock(R.WRITE_LT, 0, 10), "LOCK", OK,
           "%s: W LOCK WRITE_LT [0,10) of nl2.bin after the release" % what)
    n1 = len(w.c.calls)
    expect(wl.locku(0, 10), "LOCKU", OK, "%s: W LOCKU [0,10) of nl.bin" % what)
    w.pump(1.0)
    again = [x.describe() for x in w.c.calls[n1:] if is_notify_lock(x)]
    check(not again, "%s: CB_NOTIFY_LOCKs W got for its own LOCKU (it waits no more)" % what,
          "none", "; ".join(again) or "none")


# ---- main ---------------------------------------------------------------------------------

def make_export(work):
    exp = os.path.join(work, "export")
    os.makedirs(exp)
    for name in FILES:
        with open(os.path.join(exp, name), "wb") as f:
            f.write(CONTENT)
    state = os.path.join(work, "state")
    os.makedirs(state)
    return exp, state


def main():
    if len(sys.argv) != 2:
        print("usage: deleg.py SLUICED", file=sys.stderr)
        return 2
    sluiced = sys.argv[1]
    rc = S.cannot_run(sluiced)
    if rc is not None:
        return rc
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="sluice-deleg.")
    exp, state = make_export(work)
    conf = os.path.join(work, "sluice.conf")
    log = os.path.join(work, "sluiced.log")
    ctx = {"close": [], "work": work, "exp": exp}
    try:
        ctx["port"] = S.free_port()
        S.write_config(conf, ctx["port"], exp, state)
        srv = ctx["srv"] = Server(sluiced, log, config=conf)
        if not tap.ok(srv.port == ctx["port"], "sluiced (pid %d) listens on 127.0.0.1:%d" %
                      (srv.p.pid, ctx["port"])):
            print("Bail out! sluiced is not serving")
            return finish(ctx, t0)
        tap.note("sluiced pid %d on 127.0.0.1:%d, lease %d s, export %s" % (
            srv.p.pid, ctx["port"], LEASE, exp))
        waited = S.wait_grace_end(ctx["port"], "start")
        if not tap.ok(waited is not None, "start: not in a grace period, or it ended within "
                      "%d s" % S.GRACE_LIMIT):
            print("Bail out! the server stays in its grace period")
            return finish(ctx, t0)

        for name, fn in (("backchannel", backchannel), ("recall", recall),
                         ("revoke", revoke), ("hostile", hostile), ("v40", v40),
                         ("notify-lock", notify_lock)):
            tap.note("---- %s (%.0f s)" % (name, time.time() - t0))
            try:
                fn(ctx)
            except Exception as e:  # noqa: BLE001 -- one section's failure
                S.section_failed(name, e)
            if not ctx["srv"].alive():
                tap.ok(False, "after %s: sluiced is still running" % name,
                       "exited with status %s" % ctx["srv"].p.returncode)
                print("Bail out! sluiced died")
                return finish(ctx, t0)

        rc = srv.stop()
        tap.ok(rc == 0, "SIGTERM: sluiced exits with status 0 (got %s)" % rc)
        tap.ok(re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:",
                         srv.log()) is None, "no sanitizer report in sluiced's log")
        return finish(ctx, t0)
    finally:
        for v in ctx["close"]:
            v.close()
        if "srv" in ctx:
            ctx["srv"].kill()
        shutil.rmtree(work, ignore_errors=True)


def finish(ctx, t0):
    print("1..%d" % tap.n)
    if tap.failed and "srv" in ctx:
        print("# last lines of sluiced's log:")
        for line in ctx["srv"].log().splitlines()[-60:]:
            print("#   " + line)
    print("host.deleg: %d checks, %d failed (%.0f s)" % (tap.n, tap.failed, time.time() - t0))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())

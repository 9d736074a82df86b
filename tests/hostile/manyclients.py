#!/usr/bin/env python3
"""host.manyclients: 10,000 clients with opens and locks go silent; their state and memory go.

    manyclients.py SLUICED [--clients N] [--warmup N] [--conns N] [--wrap CMD] [--keep]

Starts SLUICED with the shortest lease the configuration allows (lease_time = grace_time =
10 s) on a scratch export of a few files, on a free port of 127.0.0.1. Then:

  1. warm-up: a hundred clients open, lock and expire, so that what the server allocates
     once (hash table buckets, caches, the allocator's own structures) is in the baseline;
     the baseline is sluiced's VmRSS after they expired;
  2. N clients (default 10,000), half NFSv4.1 (EXCHANGE_ID; CREATE_SESSION; SEQUENCE +
     PUTROOTFH + OPEN share BOTH + LOCK WRITE_LT with open_to_lock_owner4 through the current
     stateid) and half NFSv4.0 (SETCLIENTID; SETCLIENTID_CONFIRM + PUTROOTFH + OPEN; PUTFH +
     OPEN_CONFIRM + LOCK WRITE_LT with open_to_lock_owner4). Each client locks its own 4 KiB
     range of one of the files, so no two locks conflict; every reply must be NFS4_OK. The
     calls go over several TCP connections, pipelined: each step of all the connection's
     clients is streamed with up to WINDOW calls unanswered (Conn says why not more);
  3. while they hold their locks, another client's LOCKT of the whole of each file is DENIED
     (the locks are really there, so the check after the lease means something);
  4. silence: no call renews any of those leases. The server sweeps every lease_time / 4
     (server/server.c on_sweep) and logs "lease expired for K client(s)"; the K must add up
     to every client made, within lease + sweep period + margin;
  5. the state is gone: old 4.1 sessions get BADSESSION, old 4.0 client IDs are stale, old
     4.0 lock stateids are refused, the client records in STATE_DIR/clients name none of them,
     and a new client OPENs each file and LOCKs all of it (0, UINT64_MAX) for writing;
  6. memory: sluiced's VmRSS comes back to within max(8 MiB, 10% of the peak's growth) of
     the baseline. jemalloc returns freed pages after its dirty/muzzy decay (10 s by
     default), so VmRSS is polled for up to 60 s; see RSS_NOTE below for what the poll does.

Output: one TAP line per check, the measurements as "#" lines, and the summary line
"host.manyclients: N checks, M failed". Exit 0 when every check passed, 77 (skipped) when not
root (sluiced needs open_by_handle_at), 1 otherwise (with the tail of the server's log).
Stdlib only; message encoders from rpcmsg.py, Tap and Server from harness.py (next to this).

--wrap CMD runs the server under CMD (e.g. "valgrind --leak-check=full
--soname-synonyms=somalloc=*jemalloc*"): a debugging aid for a smaller --clients. Under a
wrapper, and for an AddressSanitizer build (no jemalloc; ASan keeps freed memory in its
quarantine), the RSS bound is not meaningful: it is reported, not checked.
"""
import argparse
import os
import re
import shlex
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
from harness import Server, Tap, cannot_run  # noqa: E402

LEASE = 10           # conf/config.c: lease_time 10..3600
GRACE = 10           # grace_time 10..3600, at least lease_time
SWEEP = LEASE / 4.0  # server/server.c server_run: the sweep timer's period for lease >= 8
NFILES = 4
RANGE = 4096         # bytes each client locks
IO_TIMEOUT = 120.0
WINDOW = 64           # unanswered calls per connection (see Conn)
RSS_SLACK_MIB = 8    # the bound: max(8 MiB, 10% of the peak's growth) over the baseline
RSS_SLACK_FRAC = 0.10
RSS_POLL = 60.0      # seconds for the allocator to hand freed pages back

# RSS_NOTE: jemalloc (linked into sluiced) hands freed pages back on its decay clock
# (dirty_decay_ms 10 s). sluiced runs jemalloc's background thread (malloc_conf in
# server/main.c) for that: without it the clock is only looked at when allocations tick it,
# and a server whose every client went silent kept its freed pages however long it idled
# (measured before: +16.9 MiB over the baseline for 35 s of idling after 10,000 clients
# expired). So the poll sends nothing: an idle server must give the memory back by itself.
# Measured (jemalloc stats through gdb, 10,000 clients): after the expiry "allocated" is back
# to +0.8 MiB (the state's hash tables, which grow and never shrink).

tap = Tap()
_XID = [0x6d000000]
_XID_LOCK = threading.Lock()


def next_xid():
    with _XID_LOCK:
        _XID[0] = (_XID[0] + 1) & 0xffffffff
        return _XID[0]


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


# ---- a pipelining connection --------------------------------------------------------------

class Conn:
    """One TCP connection that pipelines a list of calls: a second thread sends them while
    this one reads the replies, with at most WINDOW calls unanswered. The window keeps the
    server's queue of unsent replies short: a queued reply holds its whole request's memory
    (server/dispatch.c req_sent, at least a 64 KiB arena chunk), so an unbounded pipeline
    would measure that queue instead of the clients' state at the peak."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def exchange(self, calls):
        """calls: [(xid, rpc call payload)]. Returns {xid: R.Reply}."""
        recs = [R.record(p) for _, p in calls]
        window = threading.Semaphore(WINDOW)
        stop = threading.Event()
        errs = []

        def sender():
            i = 0
            try:
                while i < len(recs) and not stop.is_set():
                    if not window.acquire(timeout=IO_TIMEOUT):
                        raise OSError("no reply for %.0f s" % IO_TIMEOUT)
                    batch = [recs[i]]
                    i += 1
                    while i < len(recs) and len(batch) < WINDOW and \
                            window.acquire(blocking=False):
                        batch.append(recs[i])
                        i += 1
                    self.s.sendall(b"".join(batch))
            except OSError as e:
                errs.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        replies = {}
        rec = bytearray()
        try:
            while len(replies) < len(calls):
                if errs:
                    raise errs[0]
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    raise OSError("connection closed by the server after %d of %d replies"
                                  % (len(replies), len(calls)))
                self.buf += chunk
                pos, n = 0, len(self.buf)
                while n - pos >= 4:
                    hdr = struct.unpack_from(">I", self.buf, pos)[0]
                    flen = hdr & 0x7fffffff
                    if n - pos - 4 < flen:
                        break
                    rec += self.buf[pos + 4:pos + 4 + flen]
                    pos += 4 + flen
                    if hdr & R.RECMARK_LAST:
                        rep = R.Reply(bytes(rec))
                        replies[rep.xid] = rep
                        rec = bytearray()
                        window.release()
                del self.buf[:pos]
        finally:
            stop.set()
            for _ in range(WINDOW):
                window.release()   # wake a sender waiting for the window
            t.join()
        if errs:
            raise errs[0]
        return replies


def run_step(conns, per_conn):
    """per_conn[i]: [(xid, payload, on_reply)] for conns[i], all connections at once.
    on_reply(R.Reply or None) is called for each call, in this thread."""
    results = [None] * len(conns)

    def work(i):
        try:
            results[i] = conns[i].exchange([(x, p) for x, p, _ in per_conn[i]])
        except (OSError, ValueError) as e:
            results[i] = e

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(conns))
               if per_conn[i]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = []
    for i, calls in enumerate(per_conn):
        res = results[i]
        if isinstance(res, Exception):
            errors.append("connection %d: %s: %s" % (i, type(res).__name__, res))
            res = {}
        for xid, _, on_reply in calls:
            on_reply(res.get(xid) if res is not None else None)
    return errors


# ---- clients --------------------------------------------------------------------------------

class Fleet:
    """Clients of one phase and what went wrong with them."""

    def __init__(self, tag):
        self.tag = tag
        self.failures = 0
        self.diags = []
        self.made = 0        # clients the server gave a client ID (they all must expire)
        self.locked = 0

    def fail(self, cl, what):
        cl.dead = True
        self.failures += 1
        if len(self.diags) < 8:
            self.diags.append("client %d (%s): %s" % (cl.idx, "4.1" if cl.v41 else "4.0", what))


class Cl:
    __slots__ = ("idx", "v41", "name", "fno", "offset", "clientid", "verf", "sessionid",
                 "open_sid", "lock_sid", "dead")

    def __init__(self, idx, v41, prefix, fno, offset):
        self.idx = idx
        self.v41 = v41
        self.name = ("%s-%d" % (prefix, idx)).encode()
        self.fno = fno
        self.offset = offset
        self.clientid = self.verf = self.sessionid = self.open_sid = self.lock_sid = None
        self.dead = False


def compound_reply(rep):
    """The CompoundReply of an accepted reply, or a string saying what is wrong."""
    if rep is None:
        return "no reply"
    if rep.stat != R.MSG_ACCEPTED or rep.accept != R.SUCCESS:
        return "RPC not accepted: " + rep.describe()
    try:
        return R.CompoundReply(rep.body)
    except ValueError as e:
        return "undecodable COMPOUND reply: %s" % e


def all_ok(cr, nops):
    if isinstance(cr, str):
        return cr
    if cr.status != R.NFS4_OK or cr.n != nops or any(r.status for r in cr.results):
        return cr.describe()
    return None


# AUTH_SYS root: the export squashes no one, so OPEN for writing is allowed on the files
CRED = R.auth_sys(uid=0, gid=0, machine="manyclients")


def call(ops, minor):
    xid = next_xid()
    return xid, R.call(xid, R.compound(ops, minor=minor, tag=b"manyclients"), cred=CRED)


def make_clients(n, prefix, base_idx, offset_base):
    out = []
    for i in range(n):
        idx = base_idx + i
        out.append(Cl(idx, i % 2 == 0, prefix, i % NFILES, offset_base + i * RANGE))
    return out


def step1(fleet, cl):
    """EXCHANGE_ID (4.1) or SETCLIENTID (4.0)."""
    if cl.v41:
        xid, p = call([R.exchange_id(owner=cl.name, verifier=b"mc-verf1")], 1)

        def on(rep):
            cr = compound_reply(rep)
            bad = all_ok(cr, 1)
            if bad:
                return fleet.fail(cl, "EXCHANGE_ID: " + bad)
            cl.clientid = cr.results[0].clientid
            fleet.made += 1
    else:
        xid, p = call([R.setclientid(verifier=b"mc-verf0", cid=cl.name)], 0)

        def on(rep):
            cr = compound_reply(rep)
            bad = all_ok(cr, 1)
            if bad:
                return fleet.fail(cl, "SETCLIENTID: " + bad)
            cl.clientid = cr.results[0].clientid
            cl.verf = cr.results[0].verifier
            fleet.made += 1
    return xid, p, on


def step2(fleet, cl, files):
    """CREATE_SESSION (4.1) or SETCLIENTID_CONFIRM + PUTROOTFH + OPEN (4.0)."""
    if cl.v41:
        xid, p = call([R.create_session(cl.clientid, seq=1)], 1)

        def on(rep):
            cr = compound_reply(rep)
            bad = all_ok(cr, 1)
            if bad:
                return fleet.fail(cl, "CREATE_SESSION: " + bad)
            cl.sessionid = cr.results[0].sessionid
    else:
        xid, p = call([R.setclientid_confirm(cl.clientid, cl.verf), R.putrootfh(),
                       R.open_(files[cl.fno][0], b"open-owner", clientid=cl.clientid, seqid=1,
                               access=R.SHARE_ACCESS_BOTH)], 0)

        def on(rep):
            cr = compound_reply(rep)
            bad = all_ok(cr, 3)
            if bad:
                return fleet.fail(cl, "SETCLIENTID_CONFIRM+PUTROOTFH+OPEN: " + bad)
            res = cr.results[2]
            if not res.rflags & R.OPEN4_RESULT_CONFIRM:
                return fleet.fail(cl, "OPEN of a new 4.0 open-owner without "
                                  "OPEN4_RESULT_CONFIRM (rflags 0x%x)" % res.rflags)
            cl.open_sid = res.stateid
    return xid, p, on


def step3(fleet, cl, files):
    """SEQUENCE + RECLAIM_COMPLETE + PUTROOTFH + OPEN + LOCK (4.1) or PUTFH + OPEN_CONFIRM +
    LOCK (4.0)."""
    name, fh = files[cl.fno]
    if cl.v41:
        cur = R.stateid(1, b"\0" * 12)   # the current stateid: OPEN's (RFC 8881 §16.2.3.1.2)
        # RFC 8881 §18.51.3: RECLAIM_COMPLETE before the first OPEN (else GRACE)
        ops = [R.sequence(cl.sessionid, seqid=1, slot=0), R.reclaim_complete(), R.putrootfh(),
               R.open_(name, b"open-owner", clientid=cl.clientid, access=R.SHARE_ACCESS_BOTH),
               R.lock(R.WRITE_LT, cl.offset, RANGE,
                      new=(0, cur, 0, cl.clientid, b"lock-owner"))]
        xid, p = call(ops, 1)
        what = "SEQUENCE+RECLAIM_COMPLETE+PUTROOTFH+OPEN+LOCK"
    else:
        confirmed = R.stateid_with_seqid(cl.open_sid, R.stateid_seqid(cl.open_sid) + 1)
        ops = [R.putfh(fh), R.open_confirm(cl.open_sid, 2),
               R.lock(R.WRITE_LT, cl.offset, RANGE,
                      new=(3, confirmed, 1, cl.clientid, b"lock-owner"))]
        xid, p = call(ops, 0)
        what = "PUTFH+OPEN_CONFIRM+LOCK"

    def on(rep):
        cr = compound_reply(rep)
        bad = all_ok(cr, len(ops))
        if bad:
            return fleet.fail(cl, what + ": " + bad)
        cl.lock_sid = cr.results[-1].stateid
        if not cl.v41:
            cl.open_sid = cr.results[1].stateid
        fleet.locked += 1
    return xid, p, on


def create_fleet(port, clients, files, nconns, fleet, times):
    conns = [Conn(port) for _ in range(nconns)]
    errors = []
    try:
        for name, mk in (("EXCHANGE_ID / SETCLIENTID", lambda c: step1(fleet, c)),
                         ("CREATE_SESSION / SETCLIENTID_CONFIRM+OPEN",
                          lambda c: step2(fleet, c, files)),
                         ("OPEN+LOCK / OPEN_CONFIRM+LOCK", lambda c: step3(fleet, c, files))):
            t0 = time.time()
            per_conn = [[] for _ in conns]
            for i, cl in enumerate(clients):
                if not cl.dead:
                    per_conn[i % nconns].append(mk(cl))
            errors += run_step(conns, per_conn)
            times.append(("%s: %s" % (fleet.tag, name), time.time() - t0))
    finally:
        for c in conns:
            c.close()
    return errors


# ---- single clients for the probes ---------------------------------------------------------

class One:
    """One plain connection for the probes: a call, its reply."""

    def __init__(self, port):
        self.c = Conn(port)

    def compound(self, ops, minor):
        xid, p = call(ops, minor)
        rep = self.c.exchange([(xid, p)]).get(xid)
        return compound_reply(rep)

    def close(self):
        self.c.close()


def new41(one, name):
    """EXCHANGE_ID + CREATE_SESSION: (clientid, sessionid) or a string."""
    cr = one.compound([R.exchange_id(owner=name, verifier=b"mc-probe")], 1)
    bad = all_ok(cr, 1)
    if bad:
        return "EXCHANGE_ID: " + bad
    clientid = cr.results[0].clientid
    cr = one.compound([R.create_session(clientid, seq=1)], 1)
    bad = all_ok(cr, 1)
    if bad:
        return "CREATE_SESSION: " + bad
    return clientid, cr.results[0].sessionid


# ---- the server --------------------------------------------------------------------------------

def write_config(work, export, state_dir):
    path = os.path.join(work, "sluice.conf")
    with open(path, "w") as f:
        f.write("listen = 127.0.0.1:0\n"
                "log_level = info\n"
                "state_dir = %s\n"
                "lease_time = %d\n"
                "grace_time = %d\n"
                "export %s {\n"
                "    id = 1\n"
                "    pseudo = /\n"
                "    access = rw\n"
                "    squash = none\n"
                "}\n" % (state_dir, LEASE, GRACE, export))
    return path


class WrappedServer(Server):
    """harness.Server with a command in front of sluiced (valgrind ...)."""

    def __init__(self, wrap, sluiced, log, config):
        import subprocess
        self.log_path = log
        self.logf = open(log, "wb")
        self.p = subprocess.Popen(shlex.split(wrap) + [sluiced, "-c", config],
                                  stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline and self.p.poll() is None:
            m = re.search(r"listening on .*?\bport (\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.1)


def recorded_clients(state_dir):
    """Client names STATE_DIR/clients still records (server/clientrec.c: lines "+HEX" for a
    client confirmed, "-HEX" for one gone; the last line of a name wins): (set, error)."""
    live = set()
    try:
        with open(os.path.join(state_dir, "clients")) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line[0] not in "+-":
                    return live, "malformed line %r" % line[:80]
                name = bytes.fromhex(line[1:]).decode("utf-8", "replace")
                if line[0] == "+":
                    live.add(name)
                else:
                    live.discard(name)
    except (OSError, ValueError) as e:
        return live, "%s: %s" % (type(e).__name__, e)
    return live, None


EXPIRED_RE = re.compile(r"lease expired for (\d+) client\(s\)")


def expired_since(srv, offset):
    return sum(int(m.group(1)) for m in EXPIRED_RE.finditer(srv.log()[offset:]))


def wait_expired(srv, offset, want, deadline):
    """Poll the log until the expiries after offset add up to want (or deadline)."""
    n = expired_since(srv, offset)
    while n < want and time.time() < deadline and srv.alive():
        time.sleep(0.25)
        n = expired_since(srv, offset)
    return n


def make_export(work):
    exp = os.path.join(work, "export")
    os.makedirs(exp)
    names = []
    for i in range(NFILES):
        name = "locked-%d.bin" % i
        with open(os.path.join(exp, name), "wb") as f:
            f.write(b"x" * 65536)
        names.append(name)
    return exp, names


# ---- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sluiced")
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--wrap", default="", help="command to run sluiced under (debugging)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    rc = cannot_run(args.sluiced)
    if rc is not None:
        return rc
    work = tempfile.mkdtemp(prefix="sluice-manyclients.")
    try:
        return run(args, work)
    finally:
        if args.keep:
            print("# scratch directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def is_asan(path):
    """Is the executable an AddressSanitizer build (build type ASAN)?"""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()   # instrumented code calls it


def run(args, work):
    args.rss_checked = not args.wrap and not is_asan(args.sluiced)
    exp, names = make_export(work)
    state_dir = os.path.join(work, "state")
    os.makedirs(state_dir)
    conf = write_config(work, exp, state_dir)
    log = os.path.join(work, "sluiced.log")
    if args.wrap:
        srv = WrappedServer(args.wrap, args.sluiced, log, conf)
    else:
        srv = Server(args.sluiced, log, config=conf)
    try:
        if not tap.ok(srv.port is not None, "sluiced (pid %d) listens on 127.0.0.1, lease_time "
                      "%d s" % (srv.p.pid, LEASE)):
            return finish(srv)
        tap.note("sluiced pid %d on 127.0.0.1:%d, export %s, lease %d s, sweep every %.1f s"
                 % (srv.p.pid, srv.port, exp, LEASE, SWEEP))
        try:
            Run(args, srv, names, state_dir).all()
        except (OSError, ValueError, AssertionError) as e:
            tap.ok(False, "the run went to its end", "%s: %s" % (type(e).__name__, e))
        return finish(srv)
    finally:
        srv.kill()


class Run:
    """The phases, in order; each leaves what the later ones need in self."""

    def __init__(self, args, srv, names, state_dir):
        self.state_dir = state_dir
        self.args = args
        self.srv = srv
        self.pid = srv.p.pid
        self.names = names
        self.times = []
        self.t_start = time.time()

    def rss(self):
        return status_kib(self.pid, "VmRSS")

    def all(self):
        if not self.handles():
            return
        self.warm_up()
        self.fleet()
        self.locks_held()
        self.silence()
        self.state_gone()
        self.new_client()
        self.memory()
        rc = self.srv.stop()
        tap.ok(rc == 0, "SIGTERM: sluiced exits with status 0 (got %s)" % rc)
        tap.ok(re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                         r"definitely lost: [1-9]", self.srv.log()) is None,
               "no sanitizer or valgrind report in the log")
        self.times.append(("total", time.time() - self.t_start))
        for what, secs in self.times:
            tap.note("time: %-50s %6.1f s" % (what, secs))

    def handles(self):
        one = One(self.srv.port)
        self.files = []
        for name in self.names:
            cr = one.compound([R.putrootfh(), R.lookup(name), R.getfh()], 0)
            bad = all_ok(cr, 3)
            if bad:
                tap.ok(False, "PUTROOTFH+LOOKUP+GETFH of %s" % name, bad)
                return False
            self.files.append((name, cr.results[2].fh))
        one.close()
        return True

    def warm_up(self):
        """A few clients open, lock and expire; then the baseline."""
        t0 = time.time()
        n = self.args.warmup
        warm = Fleet("warm-up")
        errs = create_fleet(self.srv.port, make_clients(n, "mc-warm", 0, 1 << 40), self.files,
                            min(self.args.conns, max(1, n)), warm, self.times)
        tap.ok(not errs and warm.failures == 0 and warm.locked == n,
               "warm-up: %d clients opened and locked (%d failures)" % (n, warm.failures),
               "\n".join(errs + warm.diags))
        got = wait_expired(self.srv, 0, warm.made, time.time() + LEASE + 2 * SWEEP + 10)
        tap.ok(got == warm.made, "warm-up: the sweeper expired all %d warm-up clients (log: %d)"
               % (warm.made, got))
        self.times.append(("warm-up: wait for the expiry", time.time() - t0))
        time.sleep(1)
        self.baseline = self.rss()
        tap.note("baseline VmRSS %s (after %d warm-up clients expired)"
                 % (mib(self.baseline), n))

    def fleet(self):
        """The clients, then the peak."""
        n = self.args.clients
        self.log_off = len(self.srv.log())
        t0 = time.time()
        fl = Fleet("main")
        self.clients = make_clients(n, "mc-client", 0, 0)
        errs = create_fleet(self.srv.port, self.clients, self.files, self.args.conns, fl,
                            self.times)
        secs = time.time() - t0
        n41 = sum(1 for c in self.clients if c.v41)
        tap.ok(not errs and fl.failures == 0 and fl.locked == n,
               "%d clients (%d NFSv4.1, %d NFSv4.0) each opened a file and locked a range: "
               "every reply NFS4_OK (%d failures, %.1f s, %.0f clients/s)"
               % (n, n41, n - n41, fl.failures, secs, n / max(secs, 1e-6)),
               "\n".join(errs + fl.diags))
        self.made = fl.made
        self.peak = self.rss()
        tap.note("peak VmRSS %s (VmHWM %s): +%s for %d clients, %.0f bytes per client"
                 % (mib(self.peak), mib(status_kib(self.pid, "VmHWM")),
                    mib(self.peak - self.baseline), n,
                    (self.peak - self.baseline) * 1024.0 / max(n, 1)))
        tap.note("state counters: sluiced logs none (state_stats() has no caller); the lease "
                 "expiries are counted from its log")

    def locks_held(self):
        """Another client's LOCKT of the whole of each file is DENIED."""
        one = One(self.srv.port)
        pr = new41(one, b"mc-prober")
        if isinstance(pr, str):
            tap.ok(False, "a prober client (4.1) gets a session", pr)
            one.close()
            return
        self.made += 1   # it expires with the others
        clid, sess = pr
        denied, diag = 0, []
        for seq, (name, fh) in enumerate(self.files, start=1):
            cr = one.compound([R.sequence(sess, seqid=seq), R.putfh(fh),
                               R.lockt(R.WRITE_LT, 0, R.UINT64_MAX, clid, b"prober")], 1)
            if isinstance(cr, str):
                diag.append("%s: %s" % (name, cr))
            elif cr.status == R.NFS4ERR["DENIED"] and cr.results[-1].denied:
                denied += 1
            else:
                diag.append("%s: %s" % (name, cr.describe()))
        one.close()
        tap.ok(denied == len(self.files), "while the clients hold their locks, LOCKT WRITE of "
               "the whole of each of the %d files by another client is DENIED"
               % len(self.files), "\n".join(diag))

    def silence(self):
        """No renewals: the sweeper's log lines must add up to every client made."""
        t0 = time.time()
        wait = LEASE + 2 * SWEEP + 10
        tap.note("silence: waiting up to %.0f s for %d client(s) to expire" % (wait, self.made))
        got = wait_expired(self.srv, self.log_off, self.made, t0 + wait)
        secs = time.time() - t0
        self.times.append(("silence until all expired", secs))
        tap.ok(got == self.made, "the sweeper expired all %d clients (log: %d) within %.1f s of "
               "the last call (lease %d s + sweep %.1f s)" % (self.made, got, secs, LEASE, SWEEP),
               "log lines: %s%s" % (EXPIRED_RE.findall(self.srv.log()[self.log_off:]),
                                    "" if self.srv.alive() else
                                    "\nsluiced exited with status %s" % self.srv.p.returncode))
        self.after_expiry = self.rss()

    def state_gone(self):
        """Old sessions, client IDs and lock stateids are refused."""
        sample = []   # 25 clients of each version, spread over the whole fleet
        for v41 in (True, False):
            kind = [c for c in self.clients if c.v41 == v41 and not c.dead]
            sample += kind[:: max(1, len(kind) // 25)][:25]
        one = One(self.srv.port)
        bad = []
        for cl in sample:
            if cl.v41:
                cr = one.compound([R.sequence(cl.sessionid, seqid=2)], 1)
                want = (R.NFS4ERR["BADSESSION"],)
            else:
                cr = one.compound([R.renew(cl.clientid)], 0)
                want = (R.NFS4ERR["STALE_CLIENTID"], R.NFS4ERR["EXPIRED"])
            if isinstance(cr, str) or cr.status not in want:
                bad.append("client %d: %s" % (cl.idx, cr if isinstance(cr, str) else
                                              cr.describe()))
        tap.ok(sample and not bad, "old clients are gone: 4.1 SEQUENCE is BADSESSION, 4.0 "
               "RENEW is STALE_CLIENTID (%d of each sampled)" % (len(sample) // 2),
               "\n".join(bad[:8]))
        bad = []
        for cl in (c for c in sample if not c.v41):
            cr = one.compound([R.putfh(self.files[cl.fno][1]),
                               R.locku(cl.lock_sid, 2, cl.offset, RANGE)], 0)
            if isinstance(cr, str) or cr.status not in (R.NFS4ERR["BAD_STATEID"],
                                                        R.NFS4ERR["EXPIRED"]):
                bad.append("client %d: %s" % (cl.idx, cr if isinstance(cr, str) else
                                              cr.describe()))
        one.close()
        tap.ok(sample and not bad, "old 4.0 lock stateids are refused (LOCKU: BAD_STATEID)",
               "\n".join(bad[:8]))
        live, err = recorded_clients(self.state_dir)
        tap.ok(err is None and not live, "the client records on stable storage (STATE_DIR/"
               "clients) keep none of the expired clients", err or "still recorded: %d, e.g. %s"
               % (len(live), sorted(live)[:5]))

    def new_client(self):
        """A new client OPENs each file and write-LOCKs all of it: no old lock is left."""
        one = One(self.srv.port)
        nc = new41(one, b"mc-after")
        if isinstance(nc, str):
            tap.ok(False, "after the expiry a new client (4.1) gets a session", nc)
            one.close()
            return
        clid, sess = nc
        cur = R.stateid(1, b"\0" * 12)
        diag = []
        for seq, (name, fh) in enumerate(self.files, start=1):
            first = [R.reclaim_complete()] if seq == 1 else []   # RFC 8881 §18.51.3
            cr = one.compound([R.sequence(sess, seqid=seq)] + first + [R.putrootfh(),
                               R.open_(name, b"after-open", clientid=clid,
                                       access=R.SHARE_ACCESS_BOTH),
                               R.lock(R.WRITE_LT, 0, R.UINT64_MAX,
                                      new=(0, cur, 0, clid, b"after-lock"))], 1)
            bad = all_ok(cr, 4 + len(first))
            if bad:
                diag.append("%s: %s" % (name, bad))
        one.close()
        tap.ok(not diag, "after the expiry a new client OPENs each file and LOCKs all of it "
               "(0, UINT64_MAX) for writing", "\n".join(diag))

    def memory(self):
        """VmRSS back near the baseline, the server left idle (see RSS_NOTE)."""
        t0 = time.time()
        growth = max(self.peak - self.baseline, 0)
        slack = max(RSS_SLACK_MIB * 1024, int(RSS_SLACK_FRAC * growth))
        final = self.rss()
        poll = RSS_POLL if self.args.rss_checked else 10.0
        while final - self.baseline > slack and time.time() - t0 < poll and self.srv.alive():
            time.sleep(0.5)
            final = self.rss()
        secs = time.time() - t0
        self.times.append(("RSS back to the baseline", secs))
        tap.note("VmRSS: baseline %s, peak %s (+%s), after the expiry %s, final %s (%+.1f MiB "
                 "over the baseline after %.1f s; bound %s)"
                 % (mib(self.baseline), mib(self.peak), mib(growth), mib(self.after_expiry),
                    mib(final), (final - self.baseline) / 1024.0, secs, mib(slack)))
        ok = final - self.baseline <= slack
        if not self.args.rss_checked:
            tap.note("under --wrap or AddressSanitizer the RSS bound is reported only: %s"
                     % ("met" if ok else "not met"))
            return
        tap.ok(ok, "sluiced's VmRSS returns to within %s of its baseline (%s -> peak %s -> %s)"
               % (mib(slack), mib(self.baseline), mib(self.peak), mib(final)))


def finish(srv):
    print("1..%d" % tap.n)
    if tap.failed and srv:
        print("# last lines of sluiced's log:")
        for line in srv.log().splitlines()[-40:]:
            print("#   " + line)
    print("host.manyclients: %d checks, %d failed" % (tap.n, tap.failed), flush=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""What the raw-RPC tests share: TAP output, a raw TCP client, and sluiced on a loopback port.

Used by tests/hostile/hostile.py (hostile input), tests/hostile/state.py (NFSv4 state:
seqid and slot replays, stateids, leases, locks, restart) and tests/hostile/deleg.py
(callbacks and delegations: CbClient, CbListener). Stdlib only; the message encoders and
decoders are in rpcmsg.py next to this file.
"""
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import rpcmsg as R

IO_TIMEOUT = 20.0      # seconds for one reply (ASan builds are slower)
START_TIMEOUT = 30.0   # seconds until the server listens


class Tap:
    """TAP lines: "ok N - what" or "not ok N - what", diagnostics as "#" lines."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, desc), flush=True)
        if diag and not cond:
            for line in str(diag).splitlines():
                print("#   " + line, flush=True)
        return cond

    def note(self, msg):
        print("# " + msg, flush=True)


_XID = [0x5a000000]


def next_xid():
    _XID[0] = (_XID[0] + 1) & 0xffffffff
    return _XID[0]


# ---- a raw client -----------------------------------------------------------------------------

def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on now (for a configuration file)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cannot_run(sluiced):
    """The exit status when this test cannot run here (77: skipped, not root; 1: no such
    sluiced), after saying why in TAP; None when it can."""
    if os.geteuid() != 0:
        print("1..0 # SKIP not root (sluiced needs open_by_handle_at)")
        return 77
    if not os.access(sluiced, os.X_OK):
        print("Bail out! %s is not an executable" % sluiced)
        return 1
    return None


class Closed(Exception):
    pass


class Client:
    """One TCP connection. cred: the RPC credential of its calls (None: AUTH_NONE). sock: a
    connected socket to use (one the server opened: CbListener) instead of connecting to
    port."""

    def __init__(self, port, timeout=IO_TIMEOUT, cred=None, sock=None):
        self.cred = cred
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        else:
            sock.settimeout(timeout)
        self.s = sock
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.s.sendall(data)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("connection closed by the server after %d of %d bytes" %
                             (len(buf), n))
            buf += chunk
        return buf

    def recv_record(self):
        rec = b""
        while True:
            hdr = struct.unpack(">I", self._recv_exact(4))[0]
            rec += self._recv_exact(hdr & 0x7fffffff)
            if hdr & R.RECMARK_LAST:
                return rec

    def rpc(self, payload):
        self.send(R.record(payload))
        return R.Reply(self.recv_record())

    def compound_body(self, body):
        """Send one COMPOUND4args (already encoded) under a new xid: (Reply, CompoundReply).
        The Reply's body is the COMPOUND4res exactly as the server sent it."""
        xid = next_xid()
        rep = self.rpc(R.call(xid, body, cred=self.cred))
        if rep.xid != xid or rep.stat != R.MSG_ACCEPTED or rep.accept != R.SUCCESS:
            raise AssertionError("COMPOUND not answered with SUCCESS: " + rep.describe())
        return rep, R.CompoundReply(rep.body)

    def compound(self, ops, minor=0, **kw):
        return self.compound_body(R.compound(ops, minor=minor, **kw))[1]

    def wait_closed(self, timeout=IO_TIMEOUT):
        """True when the server closes the connection (EOF or reset) within timeout,
        without sending anything first."""
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(4096)
        except ConnectionResetError:
            return True, b""
        except socket.timeout:
            return False, None
        return data == b"", data


class CbClient(Client):
    """A connection that also carries the backchannel (RFC 8881 §2.10.3.1): what the server
    sends on it is either the REPLY to one of its calls or a CALL of its own (a callback).
    Every CALL is kept in calls (an rpcmsg.CbCall, with .t the time it arrived) and handed to
    on_call, which returns the reply's payload to send (rpcmsg.cb_answer ...) or None to
    leave it unanswered (for now: answer() later)."""

    def __init__(self, port, timeout=IO_TIMEOUT, cred=None, on_call=None, sock=None):
        super().__init__(port, timeout, cred, sock)
        self.timeout = timeout
        self.on_call = on_call
        self.calls = []

    def _take(self, rec):
        """rec when it is not a CALL; a CALL is recorded and answered (or not): None."""
        if not R.is_call(rec):
            return rec
        k = R.CbCall(rec)
        k.t = time.time()
        self.calls.append(k)
        payload = self.on_call(k) if self.on_call else None
        if payload is not None:
            self.answer(k, payload)
        return None

    def answer(self, k, payload):
        self.send(R.record(payload))
        k.answered = True

    def rpc(self, payload):
        """Send a call; its reply (callbacks that arrive before it are taken in passing)."""
        self.send(R.record(payload))
        while True:
            rec = self._take(self.recv_record())
            if rec is not None:
                return R.Reply(rec)

    def pump(self, timeout, until=None):
        """Take the callbacks that arrive within timeout seconds; stop at the first for
        which until(call) is true and return it (None: none came). A REPLY arriving here
        answers nothing this client sent: AssertionError."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            # wait for a record's first byte, then read the whole record (a timeout in its
            # middle would lose the stream)
            ready, _, _ = select.select([self.s], [], [], left)
            if not ready:
                return None
            n = len(self.calls)
            rec = self._take(self.recv_record())
            if rec is not None:
                raise AssertionError("a reply that answers no call: " + R.Reply(rec).describe())
            if until is not None and len(self.calls) > n and until(self.calls[-1]):
                return self.calls[-1]


class CbListener:
    """An NFSv4.0 client's callback service (RFC 7530 §10.2.1, §16.33): a TCP socket bound to
    host and a free port, listening unless listen=False (then a connection to it is
    refused until listen() is called). uaddr is its universal address for SETCLIENTID's
    r_addr; accept() takes the server's connection as a CbClient (the server's CALLs go to
    on_call, the client's REPLYs go back on it); conns are the connections accepted so far
    (poll() takes any that are waiting without blocking)."""

    def __init__(self, host="127.0.0.1", on_call=None, listen=True):
        self.host = host
        self.on_call = on_call
        self.conns = []
        self.peers = []
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((host, 0))
        self.port = self.s.getsockname()[1]
        self.uaddr = R.uaddr(host, self.port)
        self.listening = False
        if listen:
            self.listen()

    def listen(self):
        self.s.listen(8)
        self.listening = True

    def accept(self, timeout):
        """The next connection within timeout seconds (a CbClient), or None."""
        if not self.listening:
            return None
        ready, _, _ = select.select([self.s], [], [], timeout)
        if not ready:
            return None
        sock, peer = self.s.accept()
        c = CbClient(None, on_call=self.on_call, sock=sock)
        self.conns.append(c)
        self.peers.append(peer)
        return c

    def poll(self):
        """Take the connections waiting now; how many there were."""
        n = 0
        while self.accept(0) is not None:
            n += 1
        return n

    def close(self):
        for c in self.conns:
            c.close()
        try:
            self.s.close()
        except OSError:
            pass


# ---- the server -------------------------------------------------------------------------------

class Server:
    """sluiced in the background, its output in log. Either export (demo mode, listening on
    listen) or config (a configuration file, which names the listen address)."""

    def __init__(self, sluiced, log, export=None, config=None, listen="127.0.0.1:0"):
        self.log_path = log
        self.logf = open(log, "wb")
        if config:
            args = [sluiced, "-c", config]
        else:
            # client records beside the log, not in the default /var/lib/sluice (records of
            # an earlier run would start a grace period)
            args = [sluiced, "--export", export, "-l", listen, "--log-level", "debug",
                    "--state-dir", os.path.join(os.path.dirname(os.path.abspath(log)), "state")]
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline and self.p.poll() is None:
            m = re.search(r"listening on .*?\bport (\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.p.poll() is None

    def status(self, key):
        """A field of /proc/PID/status in KiB (VmRSS, VmHWM, VmPeak), or 0."""
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self, timeout=30):
        """SIGTERM; its exit status, or None when it had to be killed."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return None
        return self.p.returncode

    def kill(self):
        """SIGKILL (a crash, as far as the server can tell) and reap it."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.logf.close()


def serve_checked(tap, sluiced, conf, log, what, body):
    """Start sluiced with the configuration file conf, check that it listens, run body(srv),
    and check that it stops on SIGTERM with status 0; what names this server in the TAP
    lines. An exception of body (a lost connection, a failed step) is one failed check."""
    srv = Server(sluiced, log, config=conf)
    try:
        if not tap.ok(srv.port is not None, "sluiced with %s listens" % what, srv.log()[-2000:]):
            return
        try:
            body(srv)
        except (OSError, Closed, AssertionError, KeyError) as e:
            tap.ok(False, "%s: the checks ran to the end" % what, "%s: %s" % (type(e).__name__, e))
        rc = srv.stop()
        tap.ok(rc == 0, "%s: SIGTERM, exit status 0 (got %s)" % (what, rc))
        if rc != 0 or tap.failed:
            tap.note("last lines of the log:\n" + "\n".join(srv.log().splitlines()[-15:]))
    finally:
        srv.kill()


def tap_main(tap, name, body):
    """The main() of a test script run as `NAME.py SLUICED`: body(sluiced, work) in a fresh
    temporary directory, then the TAP plan and a summary line. 0 when every check passed,
    77 (skipped) when sluiced cannot run here, 2 on a wrong command line, 1 otherwise."""
    if len(sys.argv) != 2:
        print("usage: %s.py SLUICED" % name, file=sys.stderr)
        return 2
    rc = cannot_run(sys.argv[1])
    if rc is not None:
        return rc
    work = tempfile.mkdtemp(prefix="sluice-%s." % name)
    try:
        body(sys.argv[1], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1..%d" % tap.n)
    print("# host.%s: %d checks, %d failed" % (name, tap.n, tap.failed))
    return 1 if tap.failed else 0


def write_test_config(path, test, port, state, exp, settings="", export_settings=""):
    """A configuration for host.TEST: listen on 127.0.0.1:PORT, debug log, state_dir STATE,
    the global lines settings, and one export of EXP at / (id 3) with export_settings."""
    with open(path, "w") as f:
        f.write("# host.%s: generated by tests/hostile/%s.py\n"
                "listen = 127.0.0.1:%d\n"
                "log_level = debug\n"
                "state_dir = %s\n"
                "%s"
                "export %s {\n"
                "    id = 3\n"
                "    pseudo = /\n"
                "%s"
                "}\n" % (test, test, port, state, settings, exp, export_settings))

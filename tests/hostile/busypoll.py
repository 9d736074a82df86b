#!/usr/bin/env python3
"""host.busypoll: the loop polls for a while after an event (at most busy_poll), then sleeps.

    busypoll.py SLUICED

After its last event a loop thread keeps polling its sockets for a window of at most busy_poll
microseconds, which adapts to the gaps between requests, so a client that sends one request at
a time finds it awake (server/server.c, poll_or_sleep); then it sleeps: an idle server must
use no CPU. This test starts SLUICED twice on free ports of
127.0.0.1 (busy_poll = 100000, i.e. 0.1 s, and busy_poll = 0) and reads the loop thread's own
CPU time (/proc/PID/task/PID/schedstat, nanoseconds on a CPU) over the second after one
GETATTR:

  1. busy_poll = 0.1 s: at least 20 ms (it polled after the request) and at most 0.6 s (it
     stopped polling and slept); a loop that never stops would use about a whole second;
  2. the window adapts (server.c, poll_or_sleep): after requests a second apart it has
     shrunk (under 12 ms after the 9th, expected ~3); after requests 30 ms apart it has
     grown again to cover that gap (at least 20 ms, expected ~37);
  3. busy_poll = 0: under 20 ms (it slept at once), and over several such seconds too;
  4. both answer every request and stop with status 0 on SIGTERM.

The bounds are wide on purpose (the expected values are 0.1 s and ~0): this checks what the
loop does, not how fast it is. Every check prints one TAP line; the last line is the summary.
Exit 0 when all passed, 77 (skipped) when not root (sluiced needs open_by_handle_at), 1
otherwise.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpcmsg as R  # noqa: E402
from harness import Client, Tap, free_port, serve_checked, tap_main, \
    write_test_config  # noqa: E402

CRED = R.auth_sys(uid=0, gid=0, machine="host-busypoll")
tap = Tap()


def loop_cpu_ns(pid):
    """Nanoseconds the main thread (the loop) has run on a CPU."""
    with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
        return int(f.read().split()[0])


def getattr_root(c):
    cr = c.compound([R.putrootfh(), R.getattr_(R.FATTR4_SIZE)])
    if cr.status != 0:
        raise AssertionError("GETATTR: " + cr.describe())


def cpu_after_request(srv, c):
    """One GETATTR of the root, then the loop's CPU time over the next second, in ms."""
    getattr_root(c)
    before = loop_cpu_ns(srv.p.pid)
    time.sleep(1.0)
    return (loop_cpu_ns(srv.p.pid) - before) / 1e6


def polling(srv):
    with Client(srv.port, cred=CRED) as c:
        cpu_after_request(srv, c)  # the first request's one-time work out of the way
        first = cpu_after_request(srv, c)
        tap.ok(20 <= first <= 600,
               "busy_poll = 0.1 s: the loop polls after a request, then sleeps",
               "loop CPU over the second after a GETATTR: %.1f ms (want 20..600)" % first)
        # Requests a second apart: every sleep is longer than busy_poll. From the 4th long
        # sleep in a row (the 5th request) the window halves each time: 50, 25, 12.5, 6.25
        # and 3.1 ms after the 9th.
        for _ in range(6):
            cpu_after_request(srv, c)
        last = cpu_after_request(srv, c)
        tap.ok(last < 12 and last < first / 3,
               "requests a second apart: the poll window shrinks",
               "loop CPU after the 9th request %.1f ms, after the 2nd %.1f ms (want < 12 and "
               "< a third of it)" % (last, first))
        # Requests 30 ms apart: the loop woke 30 ms after it went to sleep, less than
        # busy_poll, so the window grows to cover that (~37 ms) and the loop stays awake.
        for _ in range(15):
            getattr_root(c)
            time.sleep(0.03)
        grown = cpu_after_request(srv, c)
        tap.ok(20 <= grown <= 600, "requests 30 ms apart: the poll window grows again",
               "loop CPU over the second after the last: %.1f ms (want 20..600)" % grown)


def sleeping(srv):
    with Client(srv.port, cred=CRED) as c:
        cpu_after_request(srv, c)
        worst = max(cpu_after_request(srv, c) for _ in range(3))
        tap.ok(worst < 20, "busy_poll = 0: the loop sleeps right after a request",
               "most loop CPU over a second after a GETATTR: %.1f ms (want < 20)" % worst)


def run(sluiced, work, n, busy_poll, body):
    exp = os.path.join(work, "export%d" % n)
    state = os.path.join(work, "state%d" % n)
    os.makedirs(exp)
    conf = os.path.join(work, "sluice%d.conf" % n)
    write_test_config(conf, "busypoll", free_port(), state, exp, "busy_poll = %d\n" % busy_poll)
    serve_checked(tap, sluiced, conf, os.path.join(work, "sluiced%d.log" % n),
                  "busy_poll = %d" % busy_poll, body)


def both(sluiced, work):
    run(sluiced, work, 1, 100000, polling)
    run(sluiced, work, 2, 0, sleeping)


if __name__ == "__main__":
    sys.exit(tap_main(tap, "busypoll", both))

#!/usr/bin/env python3
"""Self-test of tests/e2e/pcap-check.sh: it must pass a well-formed NFSv4 exchange and fail a
corrupted one and a capture with no NFS in it, so that a green capture check means something.

  pcap-check-selftest.py                 make the three captures, run the checker on each (TAP)
  pcap-check-selftest.py corrupt IN OUT [call|reply]
                                         copy a capture, corrupting its first NFSv4 COMPOUND
                                         call (default) or reply

Corruption: the first COMPOUND call (or reply) that starts a TCP segment gets 1000 more
operations in its op count than it carries, so the dissector runs out of data (malformed).
Flipping random bytes would prove little: most bytes of an NFS capture are file data that no
dissector can judge.
The captures are classic pcap, link type Ethernet, as tcpdump writes them on lo.
Needs only python3 and tshark; exits 77 (skipped) without tshark.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "pcap-check.sh")
LOOP = bytes([127, 0, 0, 1])
NFS_PROG, NFS_V4, COMPOUND = 100003, 4, 1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(sport, dport, seq, ack, flags, payload=b""):
    """Ethernet (zero MACs, as on lo) + IPv4 + TCP, checksums right."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = LOOP + LOOP + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64, 6, 0, LOOP, LOOP)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\0" * 12 + b"\x08\x00" + ip + tcp + payload


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i * 1000, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit(f"{path}: not a little-endian classic pcap (pcapng is not handled)")
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, expected 1 (Ethernet)")
    recs, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        recs.append(off + 16)          # where the frame starts in data
        off += 16 + incl
    return data, recs


def xdr_u32(v):
    return struct.pack("!I", v)


def xdr_opaque(b):
    return xdr_u32(len(b)) + b + b"\0" * (-len(b) % 4)


def rpc_record(body):
    return xdr_u32(0x80000000 | len(body)) + body


def nfs_exchange():
    """An NFSv4.0 COMPOUND {PUTROOTFH, GETFH} call and its reply, as two record-marked bodies."""
    xid = 0x5EED0001
    cred = xdr_u32(1) + xdr_opaque(xdr_u32(0) + xdr_opaque(b"selftest") + xdr_u32(0) + xdr_u32(0) + xdr_u32(0))
    verf = xdr_u32(0) + xdr_opaque(b"")
    call = (xdr_u32(xid) + xdr_u32(0) + xdr_u32(2) + xdr_u32(NFS_PROG) + xdr_u32(NFS_V4)
            + xdr_u32(COMPOUND) + cred + verf
            + xdr_opaque(b"") + xdr_u32(0) + xdr_u32(2) + xdr_u32(24) + xdr_u32(10))
    reply = (xdr_u32(xid) + xdr_u32(1) + xdr_u32(0) + verf + xdr_u32(0)
             + xdr_u32(0) + xdr_opaque(b"") + xdr_u32(2)
             + xdr_u32(24) + xdr_u32(0)
             + xdr_u32(10) + xdr_u32(0) + xdr_opaque(b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    return rpc_record(call), rpc_record(reply)


def session(payloads):
    """SYN, SYN/ACK, ACK, then the payloads alternating client->server, server->client, FINs."""
    c, s, cseq, sseq = 800, 2049, 1000, 5000
    out = [frame(c, s, cseq, 0, 0x02), frame(s, c, sseq, cseq + 1, 0x12), frame(c, s, cseq + 1, sseq + 1, 0x10)]
    cseq += 1
    sseq += 1
    for i, p in enumerate(payloads):
        if i % 2 == 0:
            out.append(frame(c, s, cseq, sseq, 0x18, p))
            cseq += len(p)
        else:
            out.append(frame(s, c, sseq, cseq, 0x18, p))
            sseq += len(p)
    out.append(frame(c, s, cseq, sseq, 0x11))
    out.append(frame(s, c, sseq, cseq + 1, 0x11))
    out.append(frame(c, s, cseq + 1, sseq + 1, 0x10))
    return out


def corrupt(src, dst, which="call"):
    """Copy src to dst with the op count of its first COMPOUND call (reply) raised by 1000."""
    data, recs = read_pcap(src)
    calls = set()                                       # xids of COMPOUND calls seen
    for start in recs:
        eth = data[start:start + 14]
        if eth[12:14] != b"\x08\x00":
            continue
        ip = start + 14
        ihl = (data[ip] & 0x0F) * 4
        if data[ip + 9] != 6:
            continue
        tcp = ip + ihl
        sport, dport = struct.unpack("!HH", data[tcp:tcp + 4])
        pay = tcp + (data[tcp + 12] >> 4) * 4
        if 2049 not in (sport, dport) or len(data) - pay < 32:
            continue
        p = pay + 4                                     # skip the record mark
        xid, mtype = struct.unpack("!II", data[p:p + 8])
        if mtype == 0 and dport == 2049:
            rpcv, prog, vers, proc = struct.unpack("!4I", data[p + 8:p + 24])
            if (rpcv, prog, vers, proc) != (2, NFS_PROG, NFS_V4, COMPOUND):
                continue
            calls.add(xid)
            if which != "call":
                continue
            p += 24
            for _ in range(2):                          # credential, verifier
                p += 8 + (struct.unpack("!I", data[p + 4:p + 8])[0] + 3) // 4 * 4
            p += 4 + (struct.unpack("!I", data[p:p + 4])[0] + 3) // 4 * 4   # tag
            p += 4                                      # minorversion
        elif mtype == 1 and sport == 2049 and which == "reply" and xid in calls:
            reply_stat = struct.unpack("!I", data[p + 8:p + 12])[0]
            if reply_stat != 0:
                continue
            p += 12
            p += 8 + (struct.unpack("!I", data[p + 4:p + 8])[0] + 3) // 4 * 4   # verifier
            if struct.unpack("!I", data[p:p + 4])[0] != 0:                      # accept_stat
                continue
            p += 8                                      # accept_stat, status
            p += 4 + (struct.unpack("!I", data[p:p + 4])[0] + 3) // 4 * 4   # tag
        else:
            continue
        numops = struct.unpack("!I", data[p:p + 4])[0]
        data[p:p + 4] = struct.pack("!I", numops + 1000)
        with open(dst, "wb") as f:
            f.write(data)
        print(f"# corrupted the {which} of xid {xid:#x}: op count {numops} -> {numops + 1000}")
        return True
    return False


def run_check(path):
    r = subprocess.run([CHECK, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in r.stdout.splitlines():
        print("#   " + line)
    return r.returncode


def selftest():
    if not shutil.which("tshark"):
        print("1..0 # SKIP tshark missing (apt-get install tshark)")
        return 77
    tmp = tempfile.mkdtemp(prefix="pcap-selftest.")
    try:
        good, badc, badr, none = (os.path.join(tmp, n) for n in
                                  ("good.pcap", "bad-call.pcap", "bad-reply.pcap", "no-nfs.pcap"))
        write_pcap(good, session(list(nfs_exchange())))
        write_pcap(none, session([]))
        if not corrupt(good, badc, "call") or not corrupt(good, badr, "reply"):
            print("Bail out! no COMPOUND call or reply found to corrupt")
            return 1
        cases = [(good, 0, "a well-formed NFSv4 COMPOUND exchange passes"),
                 (badc, 1, "a COMPOUND call with a wrong op count fails"),
                 (badr, 1, "a COMPOUND reply with a wrong op count fails"),
                 (none, 1, "a capture with no NFS in it fails")]
        failed = 0
        for i, (path, want, what) in enumerate(cases, 1):
            got = run_check(path)
            if got == want:
                print(f"ok {i} - {what}")
            else:
                failed += 1
                print(f"not ok {i} - {what} (exit {got}, want {want})")
        print(f"1..{len(cases)}")
        print(f"# pcap-check self-test: {len(cases) - failed} of {len(cases)} passed")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "corrupt" and sys.argv[4:] in ([], ["call"], ["reply"]):
        sys.exit(0 if corrupt(sys.argv[2], sys.argv[3], *sys.argv[4:]) else 1)
    if len(sys.argv) == 1:
        sys.exit(selftest())
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    sys.exit(2)

#!/usr/bin/env python3
"""Seed corpus of fuzz_record: valid RPC records (no record mark), one per file.

    make-seeds.py DIR

NULL calls, NFSv4.0 COMPOUNDs over the scratch export of fuzz_record.c (PUTROOTFH GETATTR;
LOOKUP GETFH READ; READDIR; READLINK; OPEN/CLOSE; SETCLIENTID ...), NFSv4.1 EXCHANGE_ID /
CREATE_SESSION / SEQUENCE ones and a few the RPC layer refuses. "@clid40@", "@clid41@" and
"@@sluice-sess@@@" are placeholders the fuzz target fills with live ids (see fuzz_record.c).
The encoders are shared with the hostile-input test (tests/hostile/rpcmsg.py).
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import rpcmsg as R  # noqa: E402

CLID40 = b"@clid40@"
CLID41 = b"@clid41@"
SESSION = b"@@sluice-sess@@@"
CUR_STATEID = R.u32(1) + b"\0" * 12   # RFC 8881 §16.2.3.1.2: the current stateid

ALL_ATTRS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 13, 19, 20, 33, 35, 36, 37, 41, 45, 47, 52, 53, 55)


def u64(v):
    return R.u64(v)


def op_open(seqid, owner_clid, owner, name=None, access=1, deny=0):
    claim = (R.u32(0) + R.string(name)) if name is not None else R.u32(4)  # CLAIM_NULL / CLAIM_FH
    return R.op("OPEN", R.u32(seqid) + R.u32(access) + R.u32(deny) + owner_clid +
                R.opaque(owner) + R.u32(0) + claim)


def op_close(seqid, stateid):
    return R.op("CLOSE", R.u32(seqid) + stateid)


def fattr(bits, vals):
    return R.bitmap(*bits) + R.opaque(vals)


SEEDS = {}


def seed(name, payload):
    SEEDS[name] = payload


def c40(name, ops, xid=0x1000):
    seed(name, R.call(xid + len(SEEDS), R.compound(ops, minor=0, tag=b"seed")))


def c41(name, ops, minor=1, xid=0x4100):
    seed(name, R.call(xid + len(SEEDS), R.compound(ops, minor=minor, tag=b"")))


def build():
    seed("null", R.call(1, proc=0))
    seed("null-authsys", R.call(2, proc=0, cred=R.auth_sys(1000, 1000, (4, 24, 27))))
    seed("prog-unavail", R.call(3, prog=100005, vers=3, proc=0))
    seed("compound-authsys", R.call(4, R.compound([R.putrootfh(), R.getattr_()]),
                                    cred=R.auth_sys(0, 0, range(16))))

    c40("getattr-root", [R.putrootfh(), R.getattr_(*ALL_ATTRS)])
    c40("lookup-read", [R.putrootfh(), R.lookup("small.txt"), R.getfh(), R.read(0, 4096),
                        R.getattr_(1, 4, 20)])
    c40("read-big", [R.putrootfh(), R.lookup("big.bin"), R.read(200000, 200000),
                     R.read(2**64 - 1, 10)])
    c40("readdir-root", [R.putrootfh(), R.readdir(bits=ALL_ATTRS)])
    c40("readdir-dir", [R.putrootfh(), R.lookup("dir"), R.readdir(0, 200, 400, (1, 4, 20)),
                        R.readdir(3, 8192, 8192, ())])
    c40("readlink", [R.putrootfh(), R.lookup("link"), R.readlink(), R.putrootfh(),
                     R.lookup("dangling"), R.readlink()])
    c40("savefh-lookupp", [R.putrootfh(), R.lookup("dir"), R.op("SAVEFH"), R.lookup("sub"),
                           R.op("LOOKUPP"), R.op("RESTOREFH"), R.getfh(), R.access()])
    c40("verify", [R.putrootfh(), R.op("VERIFY", fattr((1,), R.u32(2))),
                   R.op("NVERIFY", fattr((4,), u64(1))), R.getattr_(1)])
    c40("secinfo", [R.putrootfh(), R.op("SECINFO", R.string("dir"))])
    c40("lookup-outside", [R.putrootfh(), R.lookup("dir"), R.lookup("up"), R.lookup(".."),
                           R.lookup("noaccess"), R.lookup("secret"), R.read(0, 10)])
    c40("fifo", [R.putrootfh(), R.lookup("fifo"), R.read(0, 10), R.getattr_(1)])
    c40("setclientid", [R.setclientid()])
    c40("renew", [R.op("RENEW", CLID40)])
    c40("open-close", [R.putrootfh(), op_open(1, CLID40, b"owner-1", "small.txt"), R.getfh(),
                       R.read(0, 100), op_close(2, R.u32(1) + b"\0" * 12)])
    c40("open-confirm", [R.putrootfh(), op_open(7, CLID40, b"owner-2", "page"),
                         R.op("OPEN_CONFIRM", R.u32(1) + b"\0" * 12 + R.u32(8))])
    c40("many-ops", [R.putrootfh()] * 130)

    c41("exchange-id", [R.exchange_id()])
    c41("create-session", [R.op("CREATE_SESSION", CLID41 + R.u32(1) + R.u32(0) +
                                R.channel_attrs() + R.channel_attrs(4096, 4096, 0, 2, 1) +
                                R.u32(0x40000000) + R.u32(1) + R.u32(0))])
    c41("sequence-getattr", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(),
                             R.getattr_(*ALL_ATTRS)])
    c41("sequence-read", [R.sequence(SESSION, 1, 1, 1, cachethis=True), R.putrootfh(),
                          R.lookup("big.bin"), R.read(0, 65536)])
    c41("sequence-open", [R.sequence(SESSION, 1, 0, 0, cachethis=True), R.putrootfh(),
                          op_open(0, CLID41, b"o41", "small.txt", access=0x301),
                          R.read(0, 50, CUR_STATEID), op_close(0, CUR_STATEID)])
    c41("sequence-open-fh", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(), R.lookup("page"),
                             op_open(0, CLID41, b"o41b", None, access=3, deny=1),
                             R.op("TEST_STATEID", R.u32(1) + CUR_STATEID),
                             R.op("FREE_STATEID", CUR_STATEID)])
    c41("sequence-replay", [R.sequence(SESSION, 1, 0, 0, cachethis=True), R.putrootfh()])
    c41("reclaim-complete", [R.sequence(SESSION, 1, 0, 0), R.reclaim_complete()])
    c41("secinfo-no-name", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(), R.lookup("dir"),
                            R.secinfo_no_name(0), R.putrootfh(), R.secinfo_no_name(1)])
    c41("bind-conn", [R.op("BIND_CONN_TO_SESSION", SESSION + R.u32(3) + R.u32(0))])
    c41("destroy-session", [R.op("DESTROY_SESSION", SESSION)])
    c41("destroy-clientid", [R.op("DESTROY_CLIENTID", CLID41)])
    c41("minor2-readdir", [R.sequence(SESSION, 1, 2, 3), R.putrootfh(), R.readdir()],
        minor=2)
    c41("not-in-session", [R.putrootfh(), R.getattr_()])

    # The write path (the scratch export is writable): create, write, set attributes,
    # namespace changes and the 4.2 data ops, under AUTH_SYS ids as well as root.
    zero_sid = R.u32(0) + b"\0" * 12
    mode = fattr((33,), R.u32(0o640))
    times = fattr((48, 54), R.u32(1) + u64(1234567890) + R.u32(5) + R.u32(0))
    create_open = (R.u32(0) + R.u32(3) + R.u32(0) + CLID41 + R.opaque(b"w41") + R.u32(1) +
                   R.u32(0) + mode + R.u32(0) + R.string("new.txt"))   # UNCHECKED4, CLAIM_NULL
    c41("write-create", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(),
                         R.op("OPEN", create_open),
                         R.op("WRITE", CUR_STATEID + u64(0) + R.u32(2) + R.opaque(b"x" * 300)),
                         R.op("COMMIT", u64(0) + R.u32(0)),
                         R.op("SETATTR", CUR_STATEID + fattr((4,), u64(10))),
                         op_close(0, CUR_STATEID)])
    c41("namespace", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(),
                      R.op("CREATE", R.u32(2) + R.string("d") + mode),          # NF4DIR
                      R.op("SAVEFH"), R.putrootfh(),
                      R.op("CREATE", R.u32(5) + R.string("../x") + R.string("l") + fattr((), b"")),
                      R.putrootfh(), R.op("SAVEFH"),
                      R.op("RENAME", R.string("small.txt") + R.string("moved.txt")),
                      R.op("LINK", R.string("hard")), R.op("REMOVE", R.string("moved.txt")),
                      R.op("SETATTR", zero_sid + times)])
    c41("v42", [R.sequence(SESSION, 1, 0, 0), R.putrootfh(), R.lookup("big.bin"),
                R.op("SEEK", zero_sid + u64(0) + R.u32(1)),
                R.op("ALLOCATE", zero_sid + u64(4096) + u64(8192)),
                R.op("DEALLOCATE", zero_sid + u64(0) + u64(4096)),
                R.op("READ_PLUS", zero_sid + u64(0) + R.u32(65536)),
                R.op("SAVEFH"), R.putrootfh(), R.lookup("page"),
                R.op("COPY", zero_sid + zero_sid + u64(0) + u64(0) + u64(0) + R.u32(1) +
                     R.u32(1) + R.u32(0)),
                R.op("CLONE", zero_sid + zero_sid + u64(0) + u64(0) + u64(0))], minor=2)
    seed("write-authsys", R.call(0x5000, R.compound(
        [R.putrootfh(), R.op("CREATE", R.u32(2) + R.string("u") + mode),
         R.op("REMOVE", R.string("u"))], minor=0, tag=b""),
        cred=R.auth_sys(1000, 1000, (4, 24))))


def main():
    if len(sys.argv) != 2:
        print("usage: make-seeds.py DIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    build()
    for name, payload in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ONC RPC (RFC 5531) and NFSv4 COMPOUND (RFC 7530, RFC 8881) messages, by hand.

A raw client's view of the wire, stdlib only: it builds calls that a polite client never
sends (wrong versions, bad lengths, garbage in the middle of a COMPOUND) and takes replies
apart field by field. Used by tests/hostile/hostile.py and, for the seed corpus of the
fuzz target, by tests/fuzz/make-seeds.py; for the state machine (OPEN, LOCK, SEQUENCE ...)
by tests/hostile/state.py; the backchannel (callbacks the server calls the client with, and
the client's replies: RFC 8881 §2.10.3.1, §20) by tests/hostile/deleg.py.
"""
import struct

# RFC 5531 §9
CALL, REPLY = 0, 1
MSG_ACCEPTED, MSG_DENIED = 0, 1
SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR = range(6)
RPC_MISMATCH, AUTH_ERROR = 0, 1
AUTH_OK, AUTH_BADCRED, AUTH_REJECTEDCRED, AUTH_BADVERF, AUTH_REJECTEDVERF, AUTH_TOOWEAK = range(6)
AUTH_NONE, AUTH_SYS, RPCSEC_GSS = 0, 1, 6
RECMARK_LAST = 0x80000000

NFS_PROGRAM, NFS_V4 = 100003, 4
NFSPROC4_NULL, NFSPROC4_COMPOUND = 0, 1

# nfs_opnum4 (xdr/nfs4.x)
OP = dict(ACCESS=3, CLOSE=4, COMMIT=5, CREATE=6, DELEGRETURN=8, GETATTR=9, GETFH=10, LINK=11,
          LOCK=12, LOCKT=13, LOCKU=14, LOOKUP=15,
          LOOKUPP=16, NVERIFY=17, OPEN=18, OPEN_CONFIRM=20, OPEN_DOWNGRADE=21, PUTFH=22,
          PUTPUBFH=23, PUTROOTFH=24, READ=25, READDIR=26, READLINK=27, REMOVE=28, RENAME=29,
          RENEW=30, RESTOREFH=31, SAVEFH=32, SECINFO=33, SETATTR=34, SETCLIENTID=35,
          SETCLIENTID_CONFIRM=36, VERIFY=37, WRITE=38, RELEASE_LOCKOWNER=39,
          BACKCHANNEL_CTL=40, BIND_CONN_TO_SESSION=41,
          EXCHANGE_ID=42, CREATE_SESSION=43,
          DESTROY_SESSION=44, FREE_STATEID=45, SECINFO_NO_NAME=52, SEQUENCE=53,
          TEST_STATEID=55, DESTROY_CLIENTID=57, RECLAIM_COMPLETE=58, ALLOCATE=59, COPY=60,
          DEALLOCATE=62, READ_PLUS=68, SEEK=69, CLONE=71, ILLEGAL=10044)

OP_NAME = {v: k for k, v in OP.items()}

# nfsstat4 values the tests look at
NFS4_OK = 0
NFS4ERR = dict(NOENT=2, ACCESS=13, ISDIR=21, INVAL=22, FBIG=27, STALE=70, BADHANDLE=10001,
               NOTSUPP=10004, SERVERFAULT=10006, DELAY=10008, DENIED=10010, EXPIRED=10011,
               LOCKED=10012, GRACE=10013, SHARE_DENIED=10015, CLID_INUSE=10017,
               RESOURCE=10018, NOFILEHANDLE=10020, MINOR_VERS_MISMATCH=10021,
               STALE_CLIENTID=10022, STALE_STATEID=10023, OLD_STATEID=10024,
               BAD_STATEID=10025, BAD_SEQID=10026, LOCK_RANGE=10028, NO_GRACE=10033,
               BADXDR=10036, LOCKS_HELD=10037, OPENMODE=10038, BAD_RANGE=10042,
               LOCK_NOTSUPP=10043, OP_ILLEGAL=10044, DEADLOCK=10045, ADMIN_REVOKED=10047,
               BADSESSION=10052, BADSLOT=10053, SEQ_MISORDERED=10063,
               RETRY_UNCACHED_REP=10068, TOO_MANY_OPS=10070, OP_NOT_IN_SESSION=10071,
               NOT_ONLY_OP=10081, BADNAME=10041, DELEG_REVOKED=10087)
STATUS_NAME = {v: k for k, v in NFS4ERR.items()}
STATUS_NAME[0] = "NFS4_OK"


def status_name(st):
    return STATUS_NAME.get(st, str(st))


# ---- XDR ------------------------------------------------------------------------------------

def u32(v):
    return struct.pack(">I", v & 0xffffffff)


def u64(v):
    return struct.pack(">Q", v & 0xffffffffffffffff)


def pad(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def opaque(b, claimed=None):
    """Variable-length opaque; claimed overrides the length word (lies about the size)."""
    return u32(len(b) if claimed is None else claimed) + pad(b)


def string(s, claimed=None):
    return opaque(s.encode() if isinstance(s, str) else s, claimed)


def bitmap(*bits):
    words = [0] * (max(bits) // 32 + 1 if bits else 0)
    for b in bits:
        words[b // 32] |= 1 << (b % 32)
    return u32(len(words)) + b"".join(u32(w) for w in words)


# ---- RPC call headers -----------------------------------------------------------------------

def auth_none():
    return u32(AUTH_NONE) + opaque(b"")


def authsys_body(uid=0, gid=0, gids=(), machine="hostile", stamp=1):
    return u32(stamp) + string(machine) + u32(uid) + u32(gid) + u32(len(gids)) + \
        b"".join(u32(g) for g in gids)


def auth_sys(uid=0, gid=0, gids=(), machine="hostile"):
    return u32(AUTH_SYS) + opaque(authsys_body(uid, gid, gids, machine))


def call(xid, body=b"", prog=NFS_PROGRAM, vers=NFS_V4, proc=NFSPROC4_COMPOUND,
         rpcvers=2, cred=None, verf=None, mtype=CALL):
    """An RPC call message (the record's payload, without the record mark)."""
    return (u32(xid) + u32(mtype) + u32(rpcvers) + u32(prog) + u32(vers) + u32(proc) +
            (auth_none() if cred is None else cred) + (auth_none() if verf is None else verf) +
            body)


def record(payload, last=True):
    """One record in a single fragment (RFC 5531 §11)."""
    return u32((RECMARK_LAST if last else 0) | len(payload)) + payload


def fragments(payload, size):
    """One record cut into fragments of size bytes."""
    out = b""
    for i in range(0, max(len(payload), 1), size):
        chunk = payload[i:i + size]
        out += u32((RECMARK_LAST if i + size >= len(payload) else 0) | len(chunk)) + chunk
    return out


# ---- COMPOUND arguments ---------------------------------------------------------------------

def compound(ops, minor=0, tag=b"hostile", numops=None):
    """COMPOUND4args: tag, minorversion, argarray (numops overrides the count word)."""
    return string(tag) + u32(minor) + u32(len(ops) if numops is None else numops) + b"".join(ops)


def op(name, args=b""):
    return u32(OP[name] if isinstance(name, str) else name) + args


def putrootfh():
    return op("PUTROOTFH")


def putfh(fh):
    return op("PUTFH", opaque(fh))


def getfh():
    return op("GETFH")


def lookup(name):
    return op("LOOKUP", string(name))


# fattr4 bits: type(1), size(4), fileid(20), mode(33)
FATTR4_TYPE, FATTR4_SIZE, FATTR4_FILEHANDLE, FATTR4_FILEID, FATTR4_MODE = 1, 4, 19, 20, 33


def getattr_(*bits):
    return op("GETATTR", bitmap(*(bits or (FATTR4_TYPE, FATTR4_SIZE))))


ANON_STATEID = u32(0) + b"\0" * 12


def read(offset, count, stateid=ANON_STATEID):
    return op("READ", stateid + u64(offset) + u32(count))


def readdir(cookie=0, dircount=8192, maxcount=32768, bits=(FATTR4_TYPE, FATTR4_SIZE)):
    return op("READDIR", u64(cookie) + b"\0" * 8 + u32(dircount) + u32(maxcount) + bitmap(*bits))


def readlink():
    return op("READLINK")


def access(bits=0x3f):
    return op("ACCESS", u32(bits))


def secinfo_no_name(style=0):
    return op("SECINFO_NO_NAME", u32(style))


def exchange_id(owner=b"hostile-client", verifier=b"12345678", flags=0x1):
    # client_owner4, eia_flags, state_protect4_a SP4_NONE, eia_client_impl_id<1> empty
    return op("EXCHANGE_ID", verifier + opaque(owner) + u32(flags) + u32(0) + u32(0))


def channel_attrs(maxreq=1049600, maxresp=1049600, maxresp_cached=16384, maxops=16, maxreqs=8):
    return u32(0) + u32(maxreq) + u32(maxresp) + u32(maxresp_cached) + u32(maxops) + \
        u32(maxreqs) + u32(0)


# CREATE_SESSION4_FLAG_CONN_BACK_CHAN (RFC 8881 §18.36): this connection carries callbacks
CREATE_SESSION4_FLAG_CONN_BACK_CHAN = 0x2
CB_PROGRAM = 0x40000000   # the callback program number the tests' clients use


def cb_sec_none():
    """callback_sec_parms4 (RFC 8881 §18.36) for AUTH_NONE."""
    return u32(AUTH_NONE)


def cb_sec_sys(uid=0, gid=0, gids=(), machine="hostile-cb", stamp=1):
    """callback_sec_parms4 for AUTH_SYS: the flavor, then authsys_parms itself (not an
    opaque around it)."""
    return u32(AUTH_SYS) + authsys_body(uid, gid, gids, machine, stamp)


def create_session(clientid, seq=1, flags=0, cb_program=CB_PROGRAM, sec_parms=None):
    """sec_parms: a list of callback_sec_parms4 (default: one AUTH_NONE)."""
    secs = [cb_sec_none()] if sec_parms is None else list(sec_parms)
    return op("CREATE_SESSION", u64(clientid) + u32(seq) + u32(flags) + channel_attrs() +
              channel_attrs(4096, 4096, 0, 2, 1) + u32(cb_program) + u32(len(secs)) +
              b"".join(secs))


def backchannel_ctl(cb_program=CB_PROGRAM, sec_parms=None):
    secs = [cb_sec_none()] if sec_parms is None else list(sec_parms)
    return op("BACKCHANNEL_CTL", u32(cb_program) + u32(len(secs)) + b"".join(secs))


# channel_dir_from_client4 and channel_dir_from_server4 (RFC 8881 §18.34)
CDFC4_FORE, CDFC4_BACK, CDFC4_FORE_OR_BOTH, CDFC4_BACK_OR_BOTH = 1, 2, 3, 7
CDFS4_FORE, CDFS4_BACK, CDFS4_BOTH = 1, 2, 3


def bind_conn_to_session(sessionid, direction=CDFC4_BACK_OR_BOTH, rdma=False):
    return op("BIND_CONN_TO_SESSION", sessionid + u32(direction) + u32(int(rdma)))


def sequence(sessionid, seqid=1, slot=0, highest=0, cachethis=False):
    return op("SEQUENCE", sessionid + u32(seqid) + u32(slot) + u32(highest) + u32(int(cachethis)))


def reclaim_complete(one_fs=False):
    return op("RECLAIM_COMPLETE", u32(int(one_fs)))


def setclientid(verifier=b"hostile!", cid=b"hostile-40-client", cb_program=CB_PROGRAM,
                netid="tcp", addr="127.0.0.1.0.0", ident=1):
    """nfs_client_id4, cb_client4 (program, netaddr4 r_netid r_addr), callback_ident. The
    default callback address has port 0: no callback path (RFC 7530 §16.33.4)."""
    return op("SETCLIENTID", verifier + opaque(cid) + u32(cb_program) + string(netid) +
              string(addr) + u32(ident))


def uaddr(host, port):
    """RFC 5665 §5.2.3.4: the universal address of an IPv4 host and TCP port,
    "h1.h2.h3.h4.p1.p2"."""
    return "%s.%d.%d" % (host, port >> 8, port & 0xff)


def setclientid_confirm(clientid, verifier):
    return op("SETCLIENTID_CONFIRM", u64(clientid) + verifier)


def renew(clientid):
    return op("RENEW", u64(clientid))


def destroy_session(sessionid):
    return op("DESTROY_SESSION", sessionid)


def destroy_clientid(clientid):
    return op("DESTROY_CLIENTID", u64(clientid))


# sr_status_flags bits (RFC 8881 §18.46.3)
SEQ4_STATUS_CB_PATH_DOWN = 0x1
SEQ4_STATUS_RECALLABLE_STATE_REVOKED = 0x40
SEQ4_STATUS_CB_PATH_DOWN_SESSION = 0x200


# ---- open and lock state (RFC 7530 §16.16-16.18, §16.10-16.12, §16.37; RFC 8881 §18) ------

# stateid4: seqid (4 bytes) and other (12 bytes), kept together as 16 bytes
STATEID_SIZE = 16
SHARE_ACCESS_READ, SHARE_ACCESS_WRITE, SHARE_ACCESS_BOTH = 1, 2, 3
SHARE_DENY_NONE, SHARE_DENY_READ, SHARE_DENY_WRITE, SHARE_DENY_BOTH = 0, 1, 2, 3
OPEN4_RESULT_CONFIRM = 0x2
OPEN4_RESULT_MAY_NOTIFY_LOCK = 0x20   # RFC 8881 §18.16.4: CB_NOTIFY_LOCK for blocked locks
CLAIM_NULL, CLAIM_PREVIOUS, CLAIM_DELEGATE_CUR, CLAIM_FH, CLAIM_DELEG_CUR_FH = 0, 1, 2, 4, 5
OPEN_DELEGATE_NONE, OPEN_DELEGATE_READ, OPEN_DELEGATE_WRITE, OPEN_DELEGATE_NONE_EXT = 0, 1, 2, 3
READ_LT, WRITE_LT, READW_LT, WRITEW_LT = 1, 2, 3, 4
UINT64_MAX = 2**64 - 1


def stateid(seqid, other):
    return u32(seqid) + other


def stateid_seqid(sid):
    return struct.unpack(">I", sid[:4])[0]


def stateid_other(sid):
    return sid[4:16]


def stateid_with_seqid(sid, seqid):
    return u32(seqid) + sid[4:16]


def owner4(clientid, owner):
    """state_owner4 (open_owner4, lock_owner4): clientid and an opaque name."""
    return u64(clientid) + opaque(owner.encode() if isinstance(owner, str) else owner)


def open_(name, owner, clientid=0, seqid=0, access=SHARE_ACCESS_READ, deny=SHARE_DENY_NONE):
    """OPEN of an existing file by name (OPEN4_NOCREATE, CLAIM_NULL) in the current
    directory. 4.1 ignores seqid and takes the client from the session."""
    return op("OPEN", u32(seqid) + u32(access) + u32(deny) + owner4(clientid, owner) +
              u32(0) + u32(CLAIM_NULL) + string(name))


def open_deleg_cur_fh(owner, deleg_sid, clientid=0, seqid=0, access=SHARE_ACCESS_READ,
                      deny=SHARE_DENY_NONE):
    """OPEN CLAIM_DELEG_CUR_FH (RFC 8881 §18.16): the holder of a delegation opens the file
    that is the current FH under the delegation's stateid."""
    return op("OPEN", u32(seqid) + u32(access) + u32(deny) + owner4(clientid, owner) +
              u32(0) + u32(CLAIM_DELEG_CUR_FH) + deleg_sid)


def delegreturn(sid):
    return op("DELEGRETURN", sid)


def test_stateid(*sids):
    return op("TEST_STATEID", u32(len(sids)) + b"".join(sids))


def free_stateid(sid):
    return op("FREE_STATEID", sid)


def write(offset, data, stateid=ANON_STATEID, stable=2):
    """WRITE, FILE_SYNC4 unless told otherwise."""
    return op("WRITE", stateid + u64(offset) + u32(stable) + opaque(data))


def setattr_mode(mode, stateid=ANON_STATEID):
    """SETATTR of the mode alone."""
    return op("SETATTR", stateid + bitmap(FATTR4_MODE) + opaque(u32(mode)))


def remove(name):
    return op("REMOVE", string(name))


def rename(old, new):
    return op("RENAME", string(old) + string(new))


def open_confirm(sid, seqid):
    return op("OPEN_CONFIRM", sid + u32(seqid))


def close(sid, seqid=0):
    return op("CLOSE", u32(seqid) + sid)


def lock(locktype, offset, length, new=None, exist=None, reclaim=False):
    """LOCK. new: (open_seqid, open_stateid, lock_seqid, clientid, owner) for the first
    lock of a lock-owner (open_to_lock_owner4); exist: (lock_stateid, lock_seqid)."""
    if new is not None:
        open_seqid, open_sid, lock_seqid, clientid, owner = new
        locker = u32(1) + u32(open_seqid) + open_sid + u32(lock_seqid) + owner4(clientid, owner)
    else:
        lock_sid, lock_seqid = exist
        locker = u32(0) + lock_sid + u32(lock_seqid)
    return op("LOCK", u32(locktype) + u32(int(reclaim)) + u64(offset) + u64(length) + locker)


def lockt(locktype, offset, length, clientid, owner):
    return op("LOCKT", u32(locktype) + u64(offset) + u64(length) + owner4(clientid, owner))


def locku(sid, seqid, offset, length, locktype=WRITE_LT):
    return op("LOCKU", u32(locktype) + u32(seqid) + sid + u64(offset) + u64(length))


def release_lockowner(clientid, owner):
    return op("RELEASE_LOCKOWNER", owner4(clientid, owner))


# ---- replies --------------------------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def left(self):
        return len(self.d) - self.p

    def u32(self):
        if self.left() < 4:
            raise ValueError("reply ends at byte %d, a 32-bit word was expected" % self.p)
        v = struct.unpack_from(">I", self.d, self.p)[0]
        self.p += 4
        return v

    def u64(self):
        return self.u32() << 32 | self.u32()

    def fixed(self, n):
        if self.left() < n:
            raise ValueError("reply ends at byte %d, %d bytes were expected" % (self.p, n))
        b = self.d[self.p:self.p + n]
        self.p += n + (4 - n % 4) % 4
        return b

    def opaque(self):
        return self.fixed(self.u32())


class Reply:
    """An RPC reply taken apart: xid, stat (MSG_ACCEPTED/MSG_DENIED), then either accept
    (with low/high for PROG_MISMATCH) or reject (with low/high for RPC_MISMATCH, auth for
    AUTH_ERROR), and body: the procedure results after a SUCCESS header."""

    def __init__(self, data):
        r = Reader(data)
        self.raw = data
        self.xid = r.u32()
        self.mtype = r.u32()
        self.stat = r.u32()
        self.accept = self.reject = self.auth = self.low = self.high = None
        self.body = b""
        if self.stat == MSG_ACCEPTED:
            r.u32()          # verifier flavor
            r.opaque()       # verifier body
            self.accept = r.u32()
            if self.accept == PROG_MISMATCH:
                self.low, self.high = r.u32(), r.u32()
            self.body = data[r.p:]
        elif self.stat == MSG_DENIED:
            self.reject = r.u32()
            if self.reject == RPC_MISMATCH:
                self.low, self.high = r.u32(), r.u32()
            elif self.reject == AUTH_ERROR:
                self.auth = r.u32()

    def describe(self):
        if self.stat == MSG_ACCEPTED:
            s = "MSG_ACCEPTED accept_stat %d" % self.accept
        elif self.stat == MSG_DENIED:
            s = "MSG_DENIED reject_stat %d" % self.reject
            if self.auth is not None:
                s += " auth_stat %d" % self.auth
        else:
            s = "reply_stat %d" % self.stat
        if self.low is not None:
            s += " low %d high %d" % (self.low, self.high)
        return "xid %08x %s" % (self.xid, s)


class OpResult:
    def __init__(self, op, status):
        self.op = op
        self.status = status
        self.fh = None        # GETFH
        self.eof = None       # READ
        self.data = None      # READ
        self.entries = None   # READDIR: (name, attrmask, attr_vals bytes) per entry
        self.attrmask = None  # GETATTR
        self.attrs = None     # GETATTR: attr_vals bytes
        self.clientid = None  # EXCHANGE_ID, SETCLIENTID
        self.seqid = None     # EXCHANGE_ID
        self.verifier = None  # SETCLIENTID
        self.sessionid = None  # CREATE_SESSION, SEQUENCE
        self.stateid = None   # OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, LOCK, LOCKU
        self.rflags = None    # OPEN
        self.cinfo = None     # OPEN: (atomic, before, after)
        self.deleg = None     # OPEN: open_delegation_type4
        self.deleg_sid = None  # OPEN: the delegation's stateid (READ, WRITE)
        self.csflags = None   # CREATE_SESSION: csr_flags
        self.codes = None     # TEST_STATEID: the status of each stateid
        self.dir = None       # BIND_CONN_TO_SESSION: channel_dir_from_server4
        self.denied = None    # LOCK, LOCKT with NFS4ERR_DENIED: (offset, length, locktype,
                              # clientid, owner)
        self.nslots = None    # CREATE_SESSION: the fore channel's ca_maxrequests
        self.seq = None       # SEQUENCE: (sequenceid, slotid, highest, target, status_flags)

    def __repr__(self):
        return "%s:%s" % (OP_NAME.get(self.op, self.op), status_name(self.status))


class CompoundReply:
    """COMPOUND4res: status, tag and the results. The results of the ops the tests use are
    parsed; parsing stops (self.partial) at the first other op that succeeded."""

    def __init__(self, body):
        r = Reader(body)
        self.status = r.u32()
        self.tag = r.opaque()
        self.n = r.u32()
        self.results = []
        self.partial = False
        for _ in range(self.n):
            res = OpResult(r.u32(), r.u32())
            self.results.append(res)
            if res.status == NFS4ERR["DENIED"] and res.op in (OP["LOCK"], OP["LOCKT"]):
                res.denied = (r.u64(), r.u64(), r.u32(), r.u64(), r.opaque())
                continue
            if res.op == OP["SETATTR"]:
                [r.u32() for _ in range(r.u32())]   # attrsset: there whatever the status
                continue
            if res.status != NFS4_OK:
                # status-only results, except SETCLIENTID's CLID_INUSE
                continue
            o = res.op
            if o in (OP["PUTROOTFH"], OP["PUTFH"], OP["PUTPUBFH"], OP["LOOKUP"],
                     OP["LOOKUPP"], OP["SAVEFH"], OP["RESTOREFH"], OP["RECLAIM_COMPLETE"],
                     OP["SETCLIENTID_CONFIRM"], OP["RENEW"], OP["DESTROY_SESSION"],
                     OP["DESTROY_CLIENTID"], OP["RELEASE_LOCKOWNER"], OP["LOCKT"],
                     OP["DELEGRETURN"], OP["FREE_STATEID"], OP["BACKCHANNEL_CTL"]):
                pass
            elif o in (OP["OPEN_CONFIRM"], OP["OPEN_DOWNGRADE"], OP["CLOSE"], OP["LOCK"],
                       OP["LOCKU"]):
                res.stateid = r.fixed(STATEID_SIZE)
            elif o == OP["OPEN"]:
                res.stateid = r.fixed(STATEID_SIZE)
                res.cinfo = (bool(r.u32()), r.u64(), r.u64())
                res.rflags = r.u32()
                [r.u32() for _ in range(r.u32())]   # attrset
                res.deleg = r.u32()
                if res.deleg == 3:                  # OPEN_DELEGATE_NONE_EXT (4.1)
                    if r.u32() in (1, 2):           # WND4_CONTENTION, WND4_RESOURCE
                        r.u32()
                elif res.deleg in (OPEN_DELEGATE_READ, OPEN_DELEGATE_WRITE):
                    res.deleg_sid = r.fixed(STATEID_SIZE)
                    r.u32()                         # recall
                    if res.deleg == OPEN_DELEGATE_WRITE:
                        # nfs_space_limit4: NFS_LIMIT_SIZE (1) a size, else blocks
                        r.u64() if r.u32() == 1 else (r.u32(), r.u32())
                    r.u32(), r.u32(), r.u32(), r.opaque()   # nfsace4 permissions
                elif res.deleg != 0:
                    self.partial = True
                    break
            elif o == OP["SEQUENCE"]:
                res.sessionid = r.fixed(16)
                res.seq = (r.u32(), r.u32(), r.u32(), r.u32(), r.u32())
            elif o == OP["GETFH"]:
                res.fh = r.opaque()
            elif o == OP["WRITE"]:
                r.u32(), r.u32(), r.fixed(8)   # count, committed, writeverf
            elif o == OP["REMOVE"]:
                r.u32(), r.u64(), r.u64()      # change_info4
            elif o == OP["RENAME"]:
                r.u32(), r.u64(), r.u64(), r.u32(), r.u64(), r.u64()
            elif o == OP["TEST_STATEID"]:
                res.codes = [r.u32() for _ in range(r.u32())]
            elif o == OP["BIND_CONN_TO_SESSION"]:
                res.sessionid = r.fixed(16)
                res.dir = r.u32()
                r.u32()   # bctsr_use_conn_in_rdma_mode
            elif o == OP["READ"]:
                res.eof = bool(r.u32())
                res.data = r.opaque()
            elif o == OP["READDIR"]:
                r.fixed(8)   # cookieverf
                res.entries = []
                while r.u32():   # value_follows
                    r.u64()      # cookie
                    name = r.opaque()
                    mask = [r.u32() for _ in range(r.u32())]
                    res.entries.append((name, mask, r.opaque()))
                res.eof = bool(r.u32())
            elif o == OP["GETATTR"]:
                res.attrmask = [r.u32() for _ in range(r.u32())]
                res.attrs = r.opaque()
            elif o == OP["ACCESS"]:
                r.u32()
                r.u32()
            elif o == OP["SETCLIENTID"]:
                res.clientid = r.u64()
                res.verifier = r.fixed(8)
            elif o == OP["EXCHANGE_ID"]:
                res.clientid = r.u64()
                res.seqid = r.u32()
                self.partial = True   # the rest is not needed
                break
            elif o == OP["CREATE_SESSION"]:
                res.sessionid = r.fixed(16)
                r.u32()   # csr_sequence
                res.csflags = r.u32()
                for chan in range(2):
                    attrs = [r.u32() for _ in range(6)]   # headerpad .. maxrequests
                    [r.u32() for _ in range(r.u32())]     # ca_rdma_ird<1>
                    if chan == 0:
                        res.nslots = attrs[5]
            else:
                self.partial = True
                break

    def statuses(self):
        return [(r.op, r.status) for r in self.results]

    def describe(self):
        return "status %s, %d result(s): %s%s" % (
            status_name(self.status), self.n,
            " ".join(repr(r) for r in self.results[:6]) + (" ..." if self.n > 6 else ""),
            " (rest not parsed)" if self.partial else "")


# ---- the backchannel: callbacks from the server (RFC 8881 §20, §2.10.3.1) -------------------

CB_VERSION = 1
CB_PROC_NULL, CB_PROC_COMPOUND = 0, 1
# nfs_cb_opnum4
CB_OP = dict(CB_GETATTR=3, CB_RECALL=4, CB_LAYOUTRECALL=5, CB_NOTIFY=6, CB_PUSH_DELEG=7,
             CB_RECALL_ANY=8, CB_RECALLABLE_OBJ_AVAIL=9, CB_RECALL_SLOT=10, CB_SEQUENCE=11,
             CB_WANTS_CANCELLED=12, CB_NOTIFY_LOCK=13, CB_NOTIFY_DEVICEID=14, CB_OFFLOAD=15,
             CB_ILLEGAL=10044)
CB_OP_NAME = {v: k for k, v in CB_OP.items()}


def is_call(rec):
    """A record the server sent is an RPC CALL (msg_type 0 after the xid), not a reply."""
    return len(rec) >= 8 and struct.unpack_from(">I", rec, 4)[0] == CALL


class CbCall:
    """An RPC CALL from the server taken apart: xid, prog, vers, proc, the credential
    (cred_flavor, cred body; for AUTH_SYS also uid, gid, machine) and, for CB_COMPOUND,
    tag, minor, ident and ops: a list of (opnum, dict of its arguments) for CB_SEQUENCE
    (sessionid, sequenceid, slotid, highest_slotid, cachethis, nrefs), CB_RECALL
    (stateid, truncate, fh) and CB_NOTIFY_LOCK (fh, and the lock-owner: clientid, owner);
    parsing stops at another op. error: what did not parse.
    A 4.0 CB_COMPOUND (RFC 7530 §16.33, §17) has minor 0, the callback_ident the client gave
    in SETCLIENTID and no CB_SEQUENCE; 4.1's callback_ident is ignored."""

    def __init__(self, data):
        self.raw = data
        self.error = None
        self.tag = self.minor = self.ident = None
        self.uid = self.gid = self.machine = None
        self.ops = []
        self.answered = False
        self.xid = self.mtype = self.rpcvers = self.prog = self.vers = self.proc = None
        self.cred_flavor = self.cred = self.body = None
        r = Reader(data)
        try:
            (self.xid, self.mtype, self.rpcvers, self.prog, self.vers,
             self.proc) = (r.u32() for _ in range(6))
            self.cred_flavor = r.u32()
            self.cred = r.opaque()
            self.verf_flavor = r.u32()
            r.opaque()
            self.body = data[r.p:]
            if self.cred_flavor == AUTH_SYS:
                c = Reader(self.cred)
                c.u32()   # stamp
                self.machine = c.opaque()
                self.uid, self.gid = c.u32(), c.u32()
            if self.proc == CB_PROC_COMPOUND:
                self.tag = r.opaque()
                self.minor, self.ident = r.u32(), r.u32()
                for _ in range(r.u32()):
                    o = r.u32()
                    if o == CB_OP["CB_SEQUENCE"]:
                        a = dict(sessionid=r.fixed(16), sequenceid=r.u32(), slotid=r.u32(),
                                 highest_slotid=r.u32(), cachethis=r.u32())
                        nrefs = r.u32()
                        for _ in range(nrefs):
                            r.fixed(16)
                            [r.u64() for _ in range(r.u32())]   # (sequenceid, slotid) pairs
                        a["nrefs"] = nrefs
                    elif o == CB_OP["CB_RECALL"]:
                        a = dict(stateid=r.fixed(STATEID_SIZE), truncate=r.u32(), fh=r.opaque())
                    elif o == CB_OP["CB_NOTIFY_LOCK"]:
                        # CB_NOTIFY_LOCK4args (RFC 8881 §20.11): cnla_fh, cnla_lock_owner
                        a = dict(fh=r.opaque(), clientid=r.u64(), owner=r.opaque())
                    else:
                        self.ops.append((o, {}))
                        break
                    self.ops.append((o, a))
        except ValueError as e:
            self.error = str(e)

    def op(self, name):
        """The arguments of the first op name (CB_SEQUENCE, CB_RECALL ...), or None."""
        for o, a in self.ops:
            if o == CB_OP[name]:
                return a
        return None

    def describe(self):
        if self.proc is None:
            return "unparsable call (%s)" % self.error
        s = "xid %08x prog %#x vers %d proc %d" % (self.xid, self.prog, self.vers, self.proc)
        if self.ops:
            s += " ops " + " ".join(CB_OP_NAME.get(o, str(o)) for o, _ in self.ops)
        if self.error:
            s += " (%s)" % self.error
        return s


def rpc_reply(xid, body=b"", accept=SUCCESS, verf=None):
    """An accepted RPC reply (the record's payload): the client's answer to a callback."""
    return u32(xid) + u32(REPLY) + u32(MSG_ACCEPTED) + (auth_none() if verf is None else verf) + \
        u32(accept) + body


def cb_sequence_res(sessionid, sequenceid, slotid=0, highest=0, target=0, status=NFS4_OK):
    """nfs_cb_resop4 for CB_SEQUENCE: CB_SEQUENCE4res (RFC 8881 §20.9)."""
    out = u32(CB_OP["CB_SEQUENCE"]) + u32(status)
    if status == NFS4_OK:
        out += sessionid + u32(sequenceid) + u32(slotid) + u32(highest) + u32(target)
    return out


def cb_status_res(opname, status=NFS4_OK):
    """nfs_cb_resop4 of an op whose result is a status alone (CB_RECALL4res ...)."""
    return u32(CB_OP[opname]) + u32(status)


def cb_compound_res(results, status=NFS4_OK, tag=b""):
    """CB_COMPOUND4res: status, tag, resarray."""
    return u32(status) + opaque(tag) + u32(len(results)) + b"".join(results)


def cb_answer(call, status=NFS4_OK):
    """The reply a polite client sends to call: SUCCESS; for CB_COMPOUND a result for each
    op it understood (CB_SEQUENCE echoing its slot, the others status), status for each but
    CB_SEQUENCE."""
    if call.proc != CB_PROC_COMPOUND:
        return rpc_reply(call.xid)
    res = []
    for o, a in call.ops:
        if o == CB_OP["CB_SEQUENCE"]:
            res.append(cb_sequence_res(a["sessionid"], a["sequenceid"], a["slotid"],
                                       a["highest_slotid"], a["highest_slotid"]))
        else:
            res.append(u32(o) + u32(status))
    return rpc_reply(call.xid, cb_compound_res(res, status, call.tag or b""))

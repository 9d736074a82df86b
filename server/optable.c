/*
 * The NFSv4 operation table (see optable.h): names, flags, reply-size estimates and the
 * minor versions of every op of RFC 7530 (4.0), RFC 8881 (4.1), RFC 7862 and RFC 8276 (4.2).
 */
#include "optable.h"

#include <string.h>

/* Sizes of the pieces results are made of, in XDR bytes. */
#define SZ_HDR 8u                            /* resop + status */
#define SZ_STATEID 16u
#define SZ_VERIFIER 8u
#define SZ_CINFO 20u                         /* change_info4: atomic, before, after */
#define SZ_BITMAP 16u                        /* bitmap4 of 3 words */
#define SZ_OPAQUE(n) (4u + (((n) + 3u) & ~3u)) /* opaque<n> at its largest */
#define SZ_OWNER (8u + SZ_OPAQUE(NFS4_OPAQUE_LIMIT))
#define SZ_DENIED (8u + 8u + 4u + SZ_OWNER)  /* LOCK4denied */
#define SZ_ATTRS 1024u                       /* a typical fattr4 answer, masks included */
#define SZ_DELEG 128u                        /* open_delegation4 with a short ACE who */

#define FH OPF_NEEDS_FH
#define MOD OPF_MODIFIES
#define FIRST OPF_ALLOWED_FIRST
#define CACHE OPF_SESSION_CACHEABLE
#define FS OPF_CHANGES_FS

#define OP(num, flg, rs, lo, hi) [num] = {NULL, (flg), #num + 3, (rs), (lo), (hi)}

/*
 * Flags, after RFC 8881 §18 (and RFC 7530 §16 for the 4.0-only ops):
 * - NEEDS_FH for the ops whose arguments start from the current filehandle ("(cfh)" in the
 *   op's SYNOPSIS). RESTOREFH needs a saved one instead and checks that itself; LAYOUTRETURN
 *   and RECLAIM_COMPLETE need one only for some arguments and check it themselves too.
 * - MODIFIES for the ops that change server or file state (DESIGN: reply-size check before
 *   non-idempotent ops).
 * - ALLOWED_FIRST: SEQUENCE and the ops that may run without a session (RFC 8881 §18.46.3).
 *   Every other op in a 4.1+ COMPOUND needs SEQUENCE first.
 * - SESSION_CACHEABLE: every op of 4.1+ that runs inside a session; not the session-less
 *   ops (EXCHANGE_ID, CREATE_SESSION, DESTROY_SESSION, BIND_CONN_TO_SESSION,
 *   DESTROY_CLIENTID) whose effects are not replayed from a slot, and not the 4.0-only ops.
 * - CHANGES_FS for the MODIFIES ops that can change a file's data or attributes or a
 *   directory's entries (OPEN can create and truncate; COMMIT can change space_used);
 *   not those that change only server state (CLOSE, LOCK, sessions, delegations).
 * Minor versions: the 4.0 ops that NFSv4.1 MUST NOT implement (RFC 8881 §17, "MNI") end at
 * 0; the 4.1 ops start at 1; the 4.2 ops (RFC 7862, and RFC 8276 for xattrs) start at 2.
 */
static const struct op_desc proto_ops[OPTABLE_SIZE] = {
	OP(OP_ACCESS, FH | CACHE, SZ_HDR + 8, 0, 2),
	OP(OP_CLOSE, FH | MOD | CACHE, SZ_HDR + SZ_STATEID, 0, 2),
	OP(OP_COMMIT, FH | MOD | FS | CACHE, SZ_HDR + SZ_VERIFIER, 0, 2),
	OP(OP_CREATE, FH | MOD | FS | CACHE, SZ_HDR + SZ_CINFO + SZ_BITMAP, 0, 2),
	OP(OP_DELEGPURGE, MOD | CACHE, SZ_HDR, 0, 2),
	OP(OP_DELEGRETURN, FH | MOD | CACHE, SZ_HDR, 0, 2),
	OP(OP_GETATTR, FH | CACHE, SZ_HDR + SZ_ATTRS, 0, 2),
	OP(OP_GETFH, FH | CACHE, SZ_HDR + SZ_OPAQUE(NFS4_FHSIZE), 0, 2),
	OP(OP_LINK, FH | MOD | FS | CACHE, SZ_HDR + SZ_CINFO, 0, 2),
	OP(OP_LOCK, FH | MOD | CACHE, SZ_HDR + SZ_DENIED, 0, 2),
	OP(OP_LOCKT, FH | CACHE, SZ_HDR + SZ_DENIED, 0, 2),
	OP(OP_LOCKU, FH | MOD | CACHE, SZ_HDR + SZ_STATEID, 0, 2),
	OP(OP_LOOKUP, FH | CACHE, SZ_HDR, 0, 2),
	OP(OP_LOOKUPP, FH | CACHE, SZ_HDR, 0, 2),
	OP(OP_NVERIFY, FH | CACHE, SZ_HDR, 0, 2),
	OP(OP_OPEN, FH | MOD | FS | CACHE, SZ_HDR + SZ_STATEID + SZ_CINFO + 4 + SZ_BITMAP + SZ_DELEG, 0, 2),
	OP(OP_OPENATTR, FH | MOD | FS | CACHE, SZ_HDR, 0, 2),
	OP(OP_OPEN_CONFIRM, FH | MOD, SZ_HDR + SZ_STATEID, 0, 0),
	OP(OP_OPEN_DOWNGRADE, FH | MOD | CACHE, SZ_HDR + SZ_STATEID, 0, 2),
	OP(OP_PUTFH, CACHE, SZ_HDR, 0, 2),
	OP(OP_PUTPUBFH, CACHE, SZ_HDR, 0, 2),
	OP(OP_PUTROOTFH, CACHE, SZ_HDR, 0, 2),
	OP(OP_READ, FH | CACHE, SZ_HDR + 4 + 4 + 3, 0, 2), /* eof, length, padding */
	OP(OP_READDIR, FH | CACHE, SZ_HDR + SZ_VERIFIER + 4 + 4, 0, 2),
	OP(OP_READLINK, FH | CACHE, SZ_HDR + SZ_OPAQUE(4096), 0, 2),
	OP(OP_REMOVE, FH | MOD | FS | CACHE, SZ_HDR + SZ_CINFO, 0, 2),
	OP(OP_RENAME, FH | MOD | FS | CACHE, SZ_HDR + 2 * SZ_CINFO, 0, 2),
	OP(OP_RENEW, 0, SZ_HDR, 0, 0),
	OP(OP_RESTOREFH, CACHE, SZ_HDR, 0, 2),
	OP(OP_SAVEFH, FH | CACHE, SZ_HDR, 0, 2),
	OP(OP_SECINFO, FH | CACHE, SZ_HDR + 4 + 4 * (4 + SZ_OPAQUE(16) + 8), 0, 2),
	OP(OP_SETATTR, FH | MOD | FS | CACHE, SZ_HDR + SZ_BITMAP, 0, 2),
	OP(OP_SETCLIENTID, MOD, SZ_HDR + 8 + SZ_VERIFIER + 2 * SZ_OPAQUE(128), 0, 0),
	OP(OP_SETCLIENTID_CONFIRM, MOD, SZ_HDR, 0, 0),
	OP(OP_VERIFY, FH | CACHE, SZ_HDR, 0, 2),
	OP(OP_WRITE, FH | MOD | FS | CACHE, SZ_HDR + 4 + 4 + SZ_VERIFIER, 0, 2),
	OP(OP_RELEASE_LOCKOWNER, MOD, SZ_HDR, 0, 0),
	OP(OP_BACKCHANNEL_CTL, MOD | CACHE, SZ_HDR, 1, 2),
	OP(OP_BIND_CONN_TO_SESSION, FIRST | MOD, SZ_HDR + 16 + 4 + 4, 1, 2),
	OP(OP_EXCHANGE_ID, FIRST | MOD,
	   SZ_HDR + 8 + 4 + 4 + 4 + 8 + 3 * SZ_OPAQUE(NFS4_OPAQUE_LIMIT) + 4 + 12, 1, 2),
	OP(OP_CREATE_SESSION, FIRST | MOD, SZ_HDR + 16 + 4 + 4 + 2 * (7 * 4 + 4), 1, 2),
	OP(OP_DESTROY_SESSION, FIRST | MOD, SZ_HDR, 1, 2),
	OP(OP_FREE_STATEID, MOD | CACHE, SZ_HDR, 1, 2),
	OP(OP_GET_DIR_DELEGATION, FH | MOD | CACHE,
	   SZ_HDR + 4 + SZ_VERIFIER + SZ_STATEID + 2 * SZ_BITMAP, 1, 2),
	OP(OP_GETDEVICEINFO, CACHE, SZ_HDR + 4 + SZ_OPAQUE(1024) + SZ_BITMAP, 1, 2),
	OP(OP_GETDEVICELIST, FH | CACHE, SZ_HDR + 8 + SZ_VERIFIER + 4 + 16 * 16 + 4, 1, 2),
	OP(OP_LAYOUTCOMMIT, FH | MOD | FS | CACHE, SZ_HDR + 4 + 8, 1, 2),
	OP(OP_LAYOUTGET, FH | MOD | CACHE, SZ_HDR + 4 + SZ_STATEID + 4 + 1024, 1, 2),
	OP(OP_LAYOUTRETURN, MOD | CACHE, SZ_HDR + 4 + SZ_STATEID, 1, 2),
	OP(OP_SECINFO_NO_NAME, FH | CACHE, SZ_HDR + 4 + 4 * (4 + SZ_OPAQUE(16) + 8), 1, 2),
	OP(OP_SEQUENCE, FIRST | CACHE, SZ_HDR + 16 + 4 * 5, 1, 2),
	OP(OP_SET_SSV, MOD | CACHE, SZ_HDR + SZ_OPAQUE(64), 1, 2),
	OP(OP_TEST_STATEID, CACHE, SZ_HDR + 4 + 4 * 16, 1, 2),
	OP(OP_WANT_DELEGATION, FH | MOD | CACHE, SZ_HDR + SZ_DELEG, 1, 2),
	OP(OP_DESTROY_CLIENTID, FIRST | MOD, SZ_HDR, 1, 2),
	OP(OP_RECLAIM_COMPLETE, MOD | CACHE, SZ_HDR, 1, 2),
	OP(OP_ALLOCATE, FH | MOD | FS | CACHE, SZ_HDR, 2, 2),
	OP(OP_COPY, FH | MOD | FS | CACHE, SZ_HDR + 4 + SZ_STATEID + 8 + 4 + SZ_VERIFIER + 8, 2, 2),
	OP(OP_COPY_NOTIFY, FH | MOD | CACHE, SZ_HDR + 12 + SZ_STATEID + 4 + 2 * SZ_OPAQUE(128), 2, 2),
	OP(OP_DEALLOCATE, FH | MOD | FS | CACHE, SZ_HDR, 2, 2),
	OP(OP_IO_ADVISE, FH | CACHE, SZ_HDR + 4 + 4, 2, 2),
	OP(OP_LAYOUTERROR, FH | CACHE, SZ_HDR, 2, 2),
	OP(OP_LAYOUTSTATS, FH | CACHE, SZ_HDR, 2, 2),
	OP(OP_OFFLOAD_CANCEL, FH | MOD | CACHE, SZ_HDR, 2, 2),
	OP(OP_OFFLOAD_STATUS, FH | CACHE, SZ_HDR + 8 + 4 + 4, 2, 2),
	OP(OP_READ_PLUS, FH | CACHE, SZ_HDR + 4 + 4 + 4 + 8 + 4 + 3, 2, 2),
	OP(OP_SEEK, FH | CACHE, SZ_HDR + 4 + 8, 2, 2),
	OP(OP_WRITE_SAME, FH | MOD | FS | CACHE, SZ_HDR + 4 + SZ_STATEID + 8 + 4 + SZ_VERIFIER, 2, 2),
	OP(OP_CLONE, FH | MOD | FS | CACHE, SZ_HDR, 2, 2),
	OP(OP_GETXATTR, FH | CACHE, SZ_HDR + SZ_OPAQUE(256), 2, 2),
	OP(OP_SETXATTR, FH | MOD | FS | CACHE, SZ_HDR + SZ_CINFO, 2, 2),
	OP(OP_LISTXATTRS, FH | CACHE, SZ_HDR + 8 + 4 + 4 + 4, 2, 2),
	OP(OP_REMOVEXATTR, FH | MOD | FS | CACHE, SZ_HDR + SZ_CINFO, 2, 2),
};

void optable_init(struct op_table *t)
{
	memcpy(t->ops, proto_ops, sizeof(t->ops));
}

const struct op_desc *optable_lookup(const struct op_table *t, uint32_t op)
{
	if (op >= OPTABLE_SIZE || !t->ops[op].name)
		return NULL;
	return &t->ops[op];
}

bool optable_set_handler(struct op_table *t, uint32_t op, op_handler_fn handler)
{
	if (!optable_lookup(t, op))
		return false;
	t->ops[op].handler = handler;
	return true;
}

const char *optable_name(const struct op_table *t, uint32_t op)
{
	const struct op_desc *d = optable_lookup(t, op);

	if (d)
		return d->name;
	return op == OP_ILLEGAL ? "ILLEGAL" : "UNKNOWN";
}

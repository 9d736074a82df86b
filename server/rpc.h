/*
 * ONC RPC v2 call and reply headers (RFC 5531) for the NFSv4 program.
 *
 * rpc_decode_call() checks one record's call header in the order a reply has to report
 * problems: message type, RPC version, credentials and verifier, then program, version and
 * procedure. It copies nothing: call->body points at the procedure arguments inside the
 * record. The encoders write the fixed reply header; the procedure results follow it.
 * The protocol enums (accept_stat, reject_stat, auth_stat) are libtirpc's.
 */
#ifndef SLUICE_RPC_H
#define SLUICE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <rpc/rpc.h>

/* RFC 5531 §9: the only RPC version. */
#define RPC_VERSION 2

/*
 * RFC 7530 §15 / RFC 8881 §16: program 100003, version 4 (minor versions travel inside
 * COMPOUND), procedures NULL and COMPOUND. Own names, so this header does not clash with
 * the rpcgen output of xdr/nfs4.x (NFS4_PROGRAM, NFS_V4, NFSPROC4_*).
 */
#define RPC_NFS_PROGRAM 100003u
#define RPC_NFS_VERSION 4u
#define RPC_NFSPROC_NULL 0u
#define RPC_NFSPROC_COMPOUND 1u

/* RFC 5531 §8.2: struct opaque_auth { auth_flavor flavor; opaque body<400>; } */
#define RPC_AUTH_BODY_MAX 400u

/* RFC 5531 appendix A: struct authsys_parms { ... string machinename<255>; ... gids<16>; } */
#define RPC_AUTHSYS_NAME_MAX 255u
#define RPC_AUTHSYS_NGIDS_MAX 16u

/* Reply header sizes: SUCCESS (results follow) and the largest header we ever write. */
#define RPC_REPLY_ACCEPT_SIZE 24u /* xid, REPLY, MSG_ACCEPTED, verf(flavor, len), stat */
#define RPC_REPLY_HDR_MAX 32u     /* ... plus mismatch_info { low, high } */

struct rpc_authsys {
	uint32_t stamp;
	uint32_t uid;
	uint32_t gid;
	uint32_t ngids;
	uint32_t gids[RPC_AUTHSYS_NGIDS_MAX];
	uint32_t machinename_len;
	/* NUL-terminated for logging; may contain NULs of its own, so trust machinename_len. */
	char machinename[RPC_AUTHSYS_NAME_MAX + 1];
};

struct rpc_call {
	uint32_t xid;
	uint32_t rpcvers;
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	uint32_t cred_flavor;     /* AUTH_NONE or AUTH_SYS when accepted */
	uint32_t verf_flavor;
	struct rpc_authsys sys;   /* valid when cred_flavor == AUTH_SYS */
	enum auth_stat auth_why;  /* with RPC_CALL_AUTH_ERROR: what to tell the client */
	const uint8_t *body;      /* procedure arguments, inside the record */
	size_t body_len;
};

/* What rpc_decode_call() concluded, and so which reply (if any) the call gets. */
enum rpc_verdict {
	RPC_CALL_OK = 0,        /* run call->proc on call->body */
	RPC_CALL_DROP,          /* no xid or not a CALL: nothing can be answered */
	RPC_CALL_RPC_MISMATCH,  /* MSG_DENIED RPC_MISMATCH, low = high = 2 */
	RPC_CALL_AUTH_ERROR,    /* MSG_DENIED AUTH_ERROR, call->auth_why */
	RPC_CALL_PROG_UNAVAIL,  /* MSG_ACCEPTED PROG_UNAVAIL */
	RPC_CALL_PROG_MISMATCH, /* MSG_ACCEPTED PROG_MISMATCH, low = high = 4 */
	RPC_CALL_PROC_UNAVAIL,  /* MSG_ACCEPTED PROC_UNAVAIL */
};

/*
 * Decode the call header at the start of rec[0..len). Returns RPC_CALL_OK with call filled
 * in and call->body/body_len set to the arguments, or another verdict; call->xid is valid
 * for every verdict except RPC_CALL_DROP. Never allocates. A header cut short before the
 * credentials is RPC_CALL_DROP (there is no reply status for it); a malformed or oversize
 * credential is AUTH_BADCRED, a malformed verifier AUTH_BADVERF.
 */
enum rpc_verdict rpc_decode_call(const uint8_t *rec, size_t len, struct rpc_call *call);

/*
 * Write an accepted-reply header into buf[0..cap): xid, REPLY, MSG_ACCEPTED, an AUTH_NONE
 * verifier and stat (with mismatch_info low = high = 4 for PROG_MISMATCH). For SUCCESS the
 * procedure results follow directly; GARBAGE_ARGS and SYSTEM_ERR are the caller's to choose
 * when the arguments do not decode or the server fails. Returns the bytes written
 * (RPC_REPLY_ACCEPT_SIZE, or 8 more for PROG_MISMATCH), 0 when cap is too small.
 */
size_t rpc_encode_accept(uint8_t *buf, size_t cap, uint32_t xid, enum accept_stat stat);

/*
 * Write a rejected-reply header: xid, REPLY, MSG_DENIED, then mismatch_info (low = high = 2)
 * for RPC_MISMATCH or why for AUTH_ERROR. why is ignored for RPC_MISMATCH. The export layer
 * uses this with AUTH_TOOWEAK when a flavor is valid but not allowed by the export.
 * Returns the bytes written, 0 when cap is too small.
 */
size_t rpc_encode_reject(uint8_t *buf, size_t cap, uint32_t xid, enum reject_stat stat,
			 enum auth_stat why);

/*
 * The complete reply for a verdict other than RPC_CALL_OK (these replies carry no results).
 * Returns the bytes written, or 0 for RPC_CALL_OK, RPC_CALL_DROP and a too small buffer.
 */
size_t rpc_encode_verdict(uint8_t *buf, size_t cap, const struct rpc_call *call,
			  enum rpc_verdict verdict);

/* Short names for logs. */
const char *rpc_verdict_name(enum rpc_verdict verdict);
const char *rpc_auth_stat_name(enum auth_stat why);

#endif

/*
 * ONC RPC v2 call decoding and reply header encoding (RFC 5531), with libtirpc's xdrmem
 * streams. See rpc.h for the API.
 *
 * Wire input is never trusted: every length is checked against what is left of the record
 * before it is used, and nothing here asserts on the contents of a record.
 */
#include "rpc.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* An opaque_auth as found on the wire, body pointing into the record. */
struct auth_ref {
	uint32_t flavor;
	uint32_t len;
	const uint8_t *body;
};

static size_t xdr_pad(size_t len)
{
	return (len + 3) & ~(size_t)3;
}

/*
 * RFC 5531 §8.2: struct opaque_auth { auth_flavor flavor; opaque body<400>; }.
 * Returns false when the length is over 400 or runs past the end of the record.
 */
static bool decode_auth(XDR *x, const uint8_t *rec, size_t len, struct auth_ref *a)
{
	u_int pos;

	if (!xdr_uint32_t(x, &a->flavor) || !xdr_uint32_t(x, &a->len))
		return false;
	if (a->len > RPC_AUTH_BODY_MAX)
		return false;
	pos = xdr_getpos(x);
	if (xdr_pad(a->len) > len - pos)
		return false;
	a->body = rec + pos;
	return xdr_setpos(x, pos + (u_int)xdr_pad(a->len));
}

/*
 * RFC 5531 appendix A:
 *   struct authsys_parms {
 *      unsigned int stamp; string machinename<255>;
 *      unsigned int uid; unsigned int gid; unsigned int gids<16>;
 *   };
 * Anything that does not decode, exceeds a bound, or leaves bytes over is AUTH_BADCRED.
 */
static enum auth_stat decode_authsys(const struct auth_ref *a, struct rpc_authsys *sys)
{
	enum auth_stat why = AUTH_BADCRED;
	uint32_t namelen;
	XDR x;

	/* The body is only read; xdrmem wants a mutable pointer for both directions. */
	xdrmem_create(&x, (char *)(uintptr_t)a->body, a->len, XDR_DECODE);
	if (!xdr_uint32_t(&x, &sys->stamp) || !xdr_uint32_t(&x, &namelen))
		goto out;
	if (namelen > RPC_AUTHSYS_NAME_MAX || !xdr_opaque(&x, sys->machinename, namelen))
		goto out;
	sys->machinename[namelen] = '\0';
	sys->machinename_len = namelen;
	if (!xdr_uint32_t(&x, &sys->uid) || !xdr_uint32_t(&x, &sys->gid) ||
	    !xdr_uint32_t(&x, &sys->ngids))
		goto out;
	if (sys->ngids > RPC_AUTHSYS_NGIDS_MAX)
		goto out;
	for (uint32_t i = 0; i < sys->ngids; i++)
		if (!xdr_uint32_t(&x, &sys->gids[i]))
			goto out;
	/* Trailing bytes mean the client encoded something else: do not guess. */
	if (xdr_getpos(&x) != a->len)
		goto out;
	why = AUTH_OK;
out:
	xdr_destroy(&x);
	return why;
}

/*
 * Credentials we accept: AUTH_NONE (its body is undefined, RFC 5531 §10.1, so any body up to
 * 400 bytes is fine) and AUTH_SYS. Any other flavor (AUTH_SHORT, AUTH_DH, RPCSEC_GSS, ...) is
 * valid RPC that this server does not speak: AUTH_REJECTEDCRED, as libtirpc's svc does. It
 * tells the client to start over with other credentials, which is also exactly what
 * RFC 5531 appendix A prescribes for an AUTH_SHORT handle the server does not know (we never
 * hand out any). AUTH_BADCRED is kept for credentials that are broken, and AUTH_TOOWEAK for
 * the export layer (a valid flavor that an export does not allow).
 */
static enum auth_stat check_cred(const struct auth_ref *cred, struct rpc_call *call)
{
	switch (cred->flavor) {
	case AUTH_NONE:
		return AUTH_OK;
	case AUTH_SYS:
		return decode_authsys(cred, &call->sys);
	default:
		return AUTH_REJECTEDCRED;
	}
}

enum rpc_verdict rpc_decode_call(const uint8_t *rec, size_t len, struct rpc_call *call)
{
	enum rpc_verdict verdict = RPC_CALL_DROP;
	struct auth_ref cred, verf;
	uint32_t mtype;
	XDR x;

	memset(call, 0, sizeof(*call));
	/* recmark bounds records far below this; xdrmem counts in u_int. */
	if (len > UINT_MAX)
		return RPC_CALL_DROP;
	xdrmem_create(&x, (char *)(uintptr_t)rec, (u_int)len, XDR_DECODE);

	/* RFC 5531 §9: struct rpc_msg { unsigned int xid; union switch (msg_type mtype) ... } */
	if (!xdr_uint32_t(&x, &call->xid) || !xdr_uint32_t(&x, &mtype))
		goto out;
	/*
	 * A REPLY (or anything else) arriving at the server is not ours to answer. NFSv4.1
	 * backchannel replies share the connection; the caller routes those before this.
	 */
	if (mtype != CALL)
		goto out;

	/* call_body: rpcvers first, so a v3 caller learns the range without us parsing on. */
	if (!xdr_uint32_t(&x, &call->rpcvers))
		goto out;
	if (call->rpcvers != RPC_VERSION) {
		verdict = RPC_CALL_RPC_MISMATCH;
		goto out;
	}
	if (!xdr_uint32_t(&x, &call->prog) || !xdr_uint32_t(&x, &call->vers) ||
	    !xdr_uint32_t(&x, &call->proc))
		goto out;

	/*
	 * Authentication before program dispatch (as Linux sunrpc does): a caller without
	 * acceptable credentials learns nothing about which programs are served.
	 */
	verdict = RPC_CALL_AUTH_ERROR;
	if (!decode_auth(&x, rec, len, &cred)) {
		call->auth_why = AUTH_BADCRED;
		goto out;
	}
	call->cred_flavor = cred.flavor;
	call->auth_why = check_cred(&cred, call);
	if (call->auth_why != AUTH_OK)
		goto out;
	/*
	 * RFC 5531 §10.1 (AUTH_NONE) and appendix A (AUTH_SYS): the verifier that goes with
	 * these credentials has flavor AUTH_NONE. Anything else is a verifier we cannot check.
	 */
	if (!decode_auth(&x, rec, len, &verf) || verf.flavor != AUTH_NONE) {
		call->auth_why = AUTH_BADVERF;
		goto out;
	}
	call->verf_flavor = verf.flavor;

	if (call->prog != RPC_NFS_PROGRAM) {
		verdict = RPC_CALL_PROG_UNAVAIL;
		goto out;
	}
	if (call->vers != RPC_NFS_VERSION) {
		verdict = RPC_CALL_PROG_MISMATCH;
		goto out;
	}
	if (call->proc != RPC_NFSPROC_NULL && call->proc != RPC_NFSPROC_COMPOUND) {
		verdict = RPC_CALL_PROC_UNAVAIL;
		goto out;
	}

	call->body = rec + xdr_getpos(&x);
	call->body_len = len - xdr_getpos(&x);
	verdict = RPC_CALL_OK;
out:
	xdr_destroy(&x);
	return verdict;
}

static bool put32(XDR *x, uint32_t v)
{
	return xdr_uint32_t(x, &v);
}

/* Common start of every reply: RFC 5531 §9, struct rpc_msg with mtype REPLY. */
static bool put_reply_start(XDR *x, uint32_t xid, enum reply_stat stat)
{
	return put32(x, xid) && put32(x, REPLY) && put32(x, stat);
}

size_t rpc_encode_accept(uint8_t *buf, size_t cap, uint32_t xid, enum accept_stat stat)
{
	size_t n = 0;
	XDR x;

	xdrmem_create(&x, (char *)buf, cap > UINT_MAX ? UINT_MAX : (u_int)cap, XDR_ENCODE);
	/* accepted_reply: opaque_auth verf (AUTH_NONE, empty body), then reply_data. */
	if (!put_reply_start(&x, xid, MSG_ACCEPTED) || !put32(&x, AUTH_NONE) || !put32(&x, 0) ||
	    !put32(&x, stat))
		goto out;
	/* PROG_MISMATCH: the lowest and highest versions of the program we serve. */
	if (stat == PROG_MISMATCH &&
	    (!put32(&x, RPC_NFS_VERSION) || !put32(&x, RPC_NFS_VERSION)))
		goto out;
	n = xdr_getpos(&x);
out:
	xdr_destroy(&x);
	return n;
}

size_t rpc_encode_reject(uint8_t *buf, size_t cap, uint32_t xid, enum reject_stat stat,
			 enum auth_stat why)
{
	size_t n = 0;
	XDR x;

	xdrmem_create(&x, (char *)buf, cap > UINT_MAX ? UINT_MAX : (u_int)cap, XDR_ENCODE);
	if (!put_reply_start(&x, xid, MSG_DENIED) || !put32(&x, stat))
		goto out;
	if (stat == RPC_MISMATCH) {
		/* rejected_reply RPC_MISMATCH: mismatch_info, we speak version 2 only. */
		if (!put32(&x, RPC_VERSION) || !put32(&x, RPC_VERSION))
			goto out;
	} else if (!put32(&x, why)) {
		goto out;
	}
	n = xdr_getpos(&x);
out:
	xdr_destroy(&x);
	return n;
}

size_t rpc_encode_verdict(uint8_t *buf, size_t cap, const struct rpc_call *call,
			  enum rpc_verdict verdict)
{
	switch (verdict) {
	case RPC_CALL_RPC_MISMATCH:
		return rpc_encode_reject(buf, cap, call->xid, RPC_MISMATCH, AUTH_OK);
	case RPC_CALL_AUTH_ERROR:
		return rpc_encode_reject(buf, cap, call->xid, AUTH_ERROR, call->auth_why);
	case RPC_CALL_PROG_UNAVAIL:
		return rpc_encode_accept(buf, cap, call->xid, PROG_UNAVAIL);
	case RPC_CALL_PROG_MISMATCH:
		return rpc_encode_accept(buf, cap, call->xid, PROG_MISMATCH);
	case RPC_CALL_PROC_UNAVAIL:
		return rpc_encode_accept(buf, cap, call->xid, PROC_UNAVAIL);
	case RPC_CALL_OK:
	case RPC_CALL_DROP:
		break;
	}
	return 0;
}

const char *rpc_verdict_name(enum rpc_verdict verdict)
{
	switch (verdict) {
	case RPC_CALL_OK:
		return "ok";
	case RPC_CALL_DROP:
		return "drop";
	case RPC_CALL_RPC_MISMATCH:
		return "rpc_mismatch";
	case RPC_CALL_AUTH_ERROR:
		return "auth_error";
	case RPC_CALL_PROG_UNAVAIL:
		return "prog_unavail";
	case RPC_CALL_PROG_MISMATCH:
		return "prog_mismatch";
	case RPC_CALL_PROC_UNAVAIL:
		return "proc_unavail";
	}
	return "?";
}

const char *rpc_auth_stat_name(enum auth_stat why)
{
	switch (why) {
	case AUTH_OK:
		return "AUTH_OK";
	case AUTH_BADCRED:
		return "AUTH_BADCRED";
	case AUTH_REJECTEDCRED:
		return "AUTH_REJECTEDCRED";
	case AUTH_BADVERF:
		return "AUTH_BADVERF";
	case AUTH_REJECTEDVERF:
		return "AUTH_REJECTEDVERF";
	case AUTH_TOOWEAK:
		return "AUTH_TOOWEAK";
	default:
		return "AUTH_?";
	}
}

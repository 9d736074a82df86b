/*
 * Callback calls and replies on the wire (callback.h). The CB_COMPOUND arguments are
 * encoded by the generated XDR code; the RPC header around them is RFC 5531 §9's CALL
 * with an AUTH_SYS (§A) or AUTH_NONE credential and an AUTH_NONE verifier.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rpc/rpc.h>

#include "callback.h"

#define CB_MACHINE "sluice" /* AUTH_SYS machinename: the server, not a user */

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int cb_encode_call(uint32_t xid, uint32_t prog, const struct cb_sec *sec,
		   const CB_COMPOUND4args *args, uint8_t **out, size_t *len)
{
	/* header: xid, CALL, rpcvers, prog, vers, proc (24); credential: flavor, length and
	 * for AUTH_SYS stamp, machinename (padded), uid, gid, no gids; verifier (8) */
	size_t mlen = sizeof(CB_MACHINE) - 1, mpad = (mlen + 3) & ~(size_t)3;
	size_t cred = sec->flavor == AUTH_SYS ? 4 + 4 + mpad + 12 : 0;
	size_t hdr = 24 + 8 + cred + 8;
	size_t body = args ? xdr_sizeof((xdrproc_t)xdr_CB_COMPOUND4args, (void *)args) : 0;
	uint8_t *buf, *p;
	XDR x;

	if (args && !body)
		return -EINVAL;
	buf = calloc(1, hdr + body);
	if (!buf)
		return -ENOMEM;
	p = buf;
	p += put32(p, xid);
	p += put32(p, CALL);
	p += put32(p, 2); /* RFC 5531 §9: RPC version 2 */
	p += put32(p, prog);
	p += put32(p, CB_VERSION);
	p += put32(p, args ? CB_PROC_COMPOUND : CB_PROC_NULL);
	p += put32(p, sec->flavor == AUTH_SYS ? AUTH_SYS : AUTH_NONE);
	p += put32(p, (uint32_t)cred);
	if (cred) {
		p += put32(p, 0); /* stamp */
		p += put32(p, (uint32_t)mlen);
		memcpy(p, CB_MACHINE, mlen);
		p += mpad;
		p += put32(p, sec->uid);
		p += put32(p, sec->gid);
		p += put32(p, 0); /* no supplementary groups */
	}
	p += put32(p, AUTH_NONE);
	p += put32(p, 0);
	if (args) {
		xdrmem_create(&x, (char *)p, (u_int)body, XDR_ENCODE);
		if (!xdr_CB_COMPOUND4args(&x, (CB_COMPOUND4args *)args)) {
			xdr_destroy(&x);
			free(buf);
			return -EINVAL;
		}
		body = xdr_getpos(&x);
		xdr_destroy(&x);
	}
	*out = buf;
	*len = hdr + body;
	return 0;
}

bool cb_reply_xid(const uint8_t *rec, size_t len, uint32_t *xid)
{
	if (len < 8)
		return false;
	*xid = get32(rec);
	return true;
}

bool cb_decode_reply(const uint8_t *rec, size_t len, bool compound, struct cb_reply *out)
{
	size_t off = 8, vlen, tlen;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	out->status = out->seq_status = NFS4ERR_SERVERFAULT;
	/* xid, REPLY, reply_stat; an accepted reply then has a verifier and accept_stat */
	if (len < 12 || get32(rec + 4) != REPLY)
		return false;
	if (get32(rec + off) != MSG_ACCEPTED)
		return true; /* denied: not ok */
	off += 4;
	if (len - off < 8)
		return false;
	vlen = get32(rec + off + 4);
	if (vlen > 400 || len - off - 8 < ((vlen + 3) & ~(size_t)3) + 4)
		return false;
	off += 8 + ((vlen + 3) & ~(size_t)3);
	if (get32(rec + off) != SUCCESS)
		return true;
	off += 4;
	out->ok = true;
	if (!compound) {
		out->status = NFS4_OK;
		return true;
	}
	/* CB_COMPOUND4res: status, tag, resarray (RFC 8881 §20, §19.2) */
	if (len - off < 8)
		return false;
	out->status = (nfsstat4)get32(rec + off);
	tlen = get32(rec + off + 4);
	off += 8;
	if (tlen > len - off)
		return false;
	off += (tlen + 3) & ~(size_t)3;
	if (off > len || len - off < 4)
		return true;
	n = get32(rec + off);
	off += 4;
	/* the first result: opnum, then CB_SEQUENCE4res's status */
	if (n >= 1 && len - off >= 8 && get32(rec + off) == OP_CB_SEQUENCE) {
		out->seq_status = (nfsstat4)get32(rec + off + 4);
		out->seq_done = out->seq_status == NFS4_OK;
	}
	return true;
}

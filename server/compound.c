/*
 * The COMPOUND engine (see compound.h).
 *
 * The header (tag, minorversion, op count) is decoded with xdrmem over the call body; the
 * ops are then decoded one at a time when their turn comes, so a client's op count never
 * sizes an allocation, an op after the first failure is never decoded at all, and each op's
 * arguments are freed as soon as it is done. Each result is encoded into the reply right
 * after its op, so "the results so far" are bytes in the reply, not an array.
 */
#include "compound.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <string.h>

#define REPLY_FIRST_ROOM 4096u   /* first buffer chunk, after header and rpc_reserve */
#define REPLY_CHUNK (60u * 1024u) /* later chunks: within one arena chunk */
#define ERR_RESERVE 8u           /* kept free after every result: one status-only result */
#define XDR_PAD(n) ((4u - ((n) & 3u)) & 3u)

void compound_config_default(struct compound_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->minor_min = 0;
	cfg->minor_max = 2;
	cfg->max_ops = 128;
	cfg->max_reply = (1u << 20) + 8192u;
	cfg->rpc_reserve = 64;
	cfg->arena_chunk = ARENA_CHUNK_DEFAULT;
	cfg->arena_cap = 4u << 20;
}

/* ---- reply buffer ----------------------------------------------------------------------- */

static bool iov_push(struct compound *c, void *base, size_t len)
{
	if (c->niov == c->iov_cap) {
		unsigned cap = c->iov_cap ? c->iov_cap * 2 : 8;
		struct iovec *n = arena_alloc(&c->arena, cap * sizeof(*n));

		if (!n)
			return false;
		if (c->niov)
			memcpy(n, c->iov, c->niov * sizeof(*n));
		c->iov = n;
		c->iov_cap = cap;
	}
	c->iov[c->niov].iov_base = base;
	c->iov[c->niov].iov_len = len;
	c->niov++;
	return true;
}

/* End the buffer segment being written: what was encoded since seg_start becomes an iovec. */
static bool seg_close(struct compound *c)
{
	if (c->buf_used > c->seg_start &&
	    !iov_push(c, c->buf + c->seg_start, c->buf_used - c->seg_start))
		return false;
	c->seg_start = c->buf_used;
	return true;
}

/* Make sure need bytes are free in the current chunk, starting a new one if not. */
static bool reply_ensure(struct compound *c, size_t need)
{
	size_t cap;
	char *b;

	if (c->buf_cap - c->buf_used >= need)
		return true;
	if (!seg_close(c))
		return false;
	cap = need > REPLY_CHUNK ? need : REPLY_CHUNK;
	b = arena_alloc(&c->arena, cap);
	if (!b)
		return false;
	c->buf = b;
	c->buf_cap = cap;
	c->buf_used = 0;
	c->seg_start = 0;
	return true;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* Encode res into the reply, leaving reserve bytes free behind it. The common case encodes
 * straight into the free part of the chunk; only when that is too small is the exact size
 * computed (xdr_sizeof) and a chunk that fits started. */
static bool encode_res(struct compound *c, nfs_resop4 *res, size_t reserve)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t room = c->buf_cap - c->buf_used;
		unsigned long need;
		XDR x;

		if (room > reserve) {
			bool ok;
			u_int n = 0;

			xdrmem_create(&x, c->buf + c->buf_used, (u_int)(room - reserve),
				      XDR_ENCODE);
			ok = xdr_nfs_resop4(&x, res);
			if (ok)
				n = xdr_getpos(&x);
			xdr_destroy(&x);
			if (ok) {
				c->buf_used += n;
				c->reply_len += n;
				return true;
			}
		}
		if (attempt)
			break;
		need = xdr_sizeof((xdrproc_t)xdr_nfs_resop4, res);
		if (!need || !reply_ensure(c, need + reserve))
			return false;
	}
	return false;
}

/* After the header of a result with out-of-line data: the data iovecs, then the opaque's
 * XDR padding in the buffer (reply_ensure'd by the caller), where the next segment starts. */
static bool push_payload(struct compound *c, u_int pad)
{
	if (!seg_close(c))
		return false;
	for (unsigned i = 0; i < c->npay; i++)
		if (!iov_push(c, c->pay[i].iov_base, c->pay[i].iov_len))
			return false;
	c->reply_len += c->pay_len;
	memset(c->buf + c->buf_used, 0, pad);
	c->buf_used += pad;
	c->reply_len += pad;
	return true;
}

/*
 * A successful READ whose data went out of line: resop, status, READ4resok.eof and the data
 * length written here, then the data iovecs, then the XDR padding of the opaque in the
 * buffer, where the next segment starts.
 */
static bool encode_read_ok(struct compound *c)
{
	bool_t eof = c->res.nfs_resop4_u.opread.READ4res_u.resok4.eof;
	nfs_opnum4 op = OP_READ;
	nfsstat4 st = NFS4_OK;
	u_int len = (u_int)c->pay_len;
	u_int pad = XDR_PAD(len);
	bool ok;
	XDR x;

	if (c->pay_len > UINT32_MAX || !reply_ensure(c, 16 + pad + ERR_RESERVE))
		return false;
	xdrmem_create(&x, c->buf + c->buf_used, 16, XDR_ENCODE);
	ok = xdr_nfs_opnum4(&x, &op) && xdr_nfsstat4(&x, &st) && xdr_bool(&x, &eof) &&
	     xdr_u_int(&x, &len);
	xdr_destroy(&x);
	if (!ok)
		return false;
	c->buf_used += 16;
	c->reply_len += 16;
	return push_payload(c, pad);
}

/* ---- limits ----------------------------------------------------------------------------- */

static size_t reply_total(const struct compound *c)
{
	return (size_t)c->cfg->rpc_reserve + c->reply_len;
}

/* The size limit on this reply and the error for passing it. */
static size_t reply_limit(const struct compound *c, bool cacheable, nfsstat4 *err)
{
	if (c->in_session) {
		/* RFC 8881 §2.10.6.4, §18.46.3: a reply the slot is to cache must fit
		 * ca_maxresponsesize_cached, any reply ca_maxresponsesize. */
		if (c->sess.cachethis && cacheable && c->sess.maxresp_cached < c->sess.maxresp) {
			*err = NFS4ERR_REP_TOO_BIG_TO_CACHE;
			return c->sess.maxresp_cached;
		}
		*err = NFS4ERR_REP_TOO_BIG;
		return c->sess.maxresp;
	}
	/* No session: the server's own limit. NFSv4.0 has no REP_TOO_BIG; running out of
	 * the resources of COMPOUND processing is NFS4ERR_RESOURCE (RFC 7530 §13.1). */
	*err = c->minor == 0 ? NFS4ERR_RESOURCE : NFS4ERR_REP_TOO_BIG;
	return c->cfg->max_reply;
}

/* NFS4_OK when add more bytes still fit the reply, else the error to answer. */
static nfsstat4 size_check(const struct compound *c, size_t add)
{
	bool cacheable = c->desc && (c->desc->flags & OPF_SESSION_CACHEABLE);
	nfsstat4 err;
	size_t limit = reply_limit(c, cacheable, &err);

	if (reply_total(c) + add > limit) {
		/* Past ca_maxresponsesize as well: that is the error to give. */
		if (err == NFS4ERR_REP_TOO_BIG_TO_CACHE && reply_total(c) + add > c->sess.maxresp)
			err = NFS4ERR_REP_TOO_BIG;
		return err;
	}
	return NFS4_OK;
}

size_t compound_reply_room(const struct compound *c)
{
	bool cacheable = c->desc && (c->desc->flags & OPF_SESSION_CACHEABLE);
	nfsstat4 err;
	size_t limit = reply_limit(c, cacheable, &err);
	size_t total = reply_total(c);

	return total < limit ? limit - total : 0;
}

/* ---- one op ----------------------------------------------------------------------------- */

/* Every nfs_resop4 arm starts with its nfsstat4. */
static void res_set_status(nfs_resop4 *res, nfsstat4 st)
{
	memcpy(&res->nfs_resop4_u, &st, sizeof(st));
}

/*
 * Decode the next op and check it against the generic rules; run its handler when they
 * pass. Returns the op's status (the handler's, or the rule it broke), or OP_PARKED.
 * c->res.resop is the op's number, or OP_ILLEGAL for an op that is not valid here.
 */
static nfsstat4 op_begin(struct compound *c)
{
	const struct op_desc *d;
	u_int pos = xdr_getpos(&c->dec);
	uint32_t opnum;
	nfsstat4 st;

	c->opnum = OP_ILLEGAL;
	c->desc = NULL;
	memset(&c->res, 0, sizeof(c->res));
	c->res.resop = OP_ILLEGAL;
	c->npay = 0;
	c->pay_len = 0;

	/* The body ends before this op: its opcode cannot be read, so it is answered as
	 * an ILLEGAL op with NFS4ERR_BADXDR (RFC 8881 §15.1.1, BADXDR). */
	if (!xdr_u_int(&c->dec, &opnum))
		return NFS4ERR_BADXDR;

	/* RFC 8881 §16.2.3 / §15.1.3 (OP_ILLEGAL): an opcode that is no op of the protocol
	 * is answered with resop OP_ILLEGAL and NFS4ERR_OP_ILLEGAL; the loop stops there. An
	 * op of a later minor version is no op of this one (its number is outside this
	 * version's nfs_opnum4), so it is ILLEGAL too. */
	d = optable_lookup(c->ops, opnum);
	if (!d || c->minor < d->min_minor)
		return NFS4ERR_OP_ILLEGAL;
	c->opnum = opnum;
	c->desc = d;
	c->res.resop = (nfs_opnum4)opnum;

	/* RFC 8881 §15.1.1 (NOTSUPP): also the status of an op that MUST NOT be implemented
	 * in the minor version used (SETCLIENTID, SETCLIENTID_CONFIRM, RENEW, OPEN_CONFIRM,
	 * RELEASE_LOCKOWNER in 4.1+, RFC 8881 §17). */
	if (c->minor > d->max_minor)
		return NFS4ERR_NOTSUPP;

	if (c->minor == 0) {
		/* RFC 7530 §13.1 (NFS4ERR_RESOURCE): a COMPOUND with more ops than this
		 * server handles is refused at its first op, before anything has run. */
		if (c->index == 0 && c->numops > c->cfg->max_ops)
			return NFS4ERR_RESOURCE;
	} else {
		/* RFC 8881 §18.46.3: SEQUENCE is first or nowhere. */
		if (opnum == OP_SEQUENCE && c->index > 0)
			return NFS4ERR_SEQUENCE_POS;
		if (c->index == 0) {
			/* RFC 8881 §18.46.3: only SEQUENCE and the session-less ops may
			 * start a COMPOUND. */
			if (!(d->flags & OPF_ALLOWED_FIRST))
				return NFS4ERR_OP_NOT_IN_SESSION;
			/* RFC 8881 §18.34.3, §18.35.3, §18.36.3, §18.37.3, §18.50.3: without
			 * SEQUENCE in front, BIND_CONN_TO_SESSION, EXCHANGE_ID,
			 * CREATE_SESSION, DESTROY_SESSION and DESTROY_CLIENTID must be the
			 * only op. */
			if (opnum != OP_SEQUENCE && c->numops > 1)
				return NFS4ERR_NOT_ONLY_OP;
			/* RFC 8881 §18.36.3 (ca_maxoperations) / §2.10.6.4: no session of
			 * ours allows more than max_ops, so SEQUENCE can refuse before it
			 * looks at the session. Smaller session limits are checked by
			 * compound_session_begin(). */
			if (opnum == OP_SEQUENCE && c->numops > c->cfg->max_ops)
				return NFS4ERR_TOO_MANY_OPS;
		}
	}

	/* Not implemented: the engine's answer, not a stub handler's. */
	if (!d->handler)
		return NFS4ERR_NOTSUPP;

	/* RFC 8881 §15.1.1 (BADXDR): arguments that do not decode fail this op only. */
	if (!xdr_setpos(&c->dec, pos))
		return NFS4ERR_BADXDR;
	memset(&c->arg, 0, sizeof(c->arg));
	c->arg_live = true;
	if (!xdr_nfs_argop4(&c->dec, &c->arg))
		return NFS4ERR_BADXDR;

	/* RFC 8881 §15.1.2 (NOFILEHANDLE). */
	if ((d->flags & OPF_NEEDS_FH) && !c->cfh.set)
		return NFS4ERR_NOFILEHANDLE;

	/* RFC 8881 §2.10.6.4, §18.46.3: an op whose reply would not fit is not run (for an
	 * op that modifies state, running it and then failing the reply would lose what it
	 * did). */
	st = size_check(c, d->rsize);
	if (st != NFS4_OK)
		return st;

	if ((d->flags & OPF_CHANGES_FS) && c->cfg->on_change)
		c->cfg->on_change(c);
	c->in_handler = true;
	st = d->handler(c, &c->arg, &c->res);
	c->in_handler = false;
	return st;
}

/*
 * A successful READ_PLUS (RFC 7862 §15.10) whose one data segment went out of line: resop,
 * status, rpr_eof, a contents count of 1, NFS4_CONTENT_DATA, d_offset and the data length,
 * then the data iovecs and the padding, as encode_read_ok. The handler sets rpr_eof and
 * rpr_contents[0].d_offset in the result as usual.
 */
static bool encode_read_plus_ok(struct compound *c)
{
	const read_plus_res4 *ok = &c->res.nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	bool_t eof = ok->rpr_eof;
	nfs_opnum4 op = OP_READ_PLUS;
	nfsstat4 st = NFS4_OK;
	u_int count = 1, len = (u_int)c->pay_len, pad = XDR_PAD(len);
	data_content4 what = NFS4_CONTENT_DATA;
	offset4 off;
	bool good;
	XDR x;

	if (ok->rpr_contents.rpr_contents_len != 1 || c->pay_len > UINT32_MAX ||
	    !reply_ensure(c, 32 + pad + ERR_RESERVE))
		return false;
	off = ok->rpr_contents.rpr_contents_val[0].read_plus_content_u.rpc_data.d_offset;
	xdrmem_create(&x, c->buf + c->buf_used, 32, XDR_ENCODE);
	good = xdr_nfs_opnum4(&x, &op) && xdr_nfsstat4(&x, &st) && xdr_bool(&x, &eof) &&
	       xdr_u_int(&x, &count) && xdr_data_content4(&x, &what) && xdr_offset4(&x, &off) &&
	       xdr_u_int(&x, &len);
	xdr_destroy(&x);
	if (!good)
		return false;
	c->buf_used += 32;
	c->reply_len += 32;
	return push_payload(c, pad);
}

/* Put the op's result into the reply; returns the status the reply carries for it. */
static nfsstat4 op_encode(struct compound *c, nfsstat4 st)
{
	char *m_buf = c->buf;
	size_t m_cap = c->buf_cap, m_used = c->buf_used, m_seg = c->seg_start;
	size_t m_len = c->reply_len;
	unsigned m_niov = c->niov;
	bool ok;

	if (st == NFS4_OK && c->npay) {
		assert(c->opnum == OP_READ || c->opnum == OP_READ_PLUS);
		ok = c->opnum == OP_READ ? encode_read_ok(c) : encode_read_plus_ok(c);
	} else {
		ok = encode_res(c, &c->res, ERR_RESERVE);
	}

	if (ok) {
		/* The real size, now known, against the limit. A status-only result stays:
		 * replacing it would not make the reply any smaller. */
		nfsstat4 over = size_check(c, 0);

		if (over == NFS4_OK || c->reply_len - m_len <= 8)
			return st;
		st = over;
	} else {
		st = NFS4ERR_SERVERFAULT;
	}

	/* Take the result back out and answer with its status alone. A status-only
	 * result always fits: ERR_RESERVE bytes stay free after every result. */
	c->buf = m_buf;
	c->buf_cap = m_cap;
	c->buf_used = m_used;
	c->seg_start = m_seg;
	c->reply_len = m_len;
	c->niov = m_niov;
	memset(&c->res.nfs_resop4_u, 0, sizeof(c->res.nfs_resop4_u));
	res_set_status(&c->res, st);
	if (!encode_res(c, &c->res, 0))
		c->broken = true;
	return st;
}

static void op_finish(struct compound *c, nfsstat4 st)
{
	assert(st != OP_PARKED);

	/* A successful SEQUENCE opens the session part of the COMPOUND. If its handler did
	 * not install the session's limits, the server's own apply. */
	if (c->opnum == OP_SEQUENCE && st == NFS4_OK && !c->in_session) {
		c->in_session = true;
		c->sess.maxops = c->cfg->max_ops;
		c->sess.maxresp = c->cfg->max_reply;
		c->sess.maxresp_cached = c->cfg->max_reply;
		c->sess.cachethis = false;
	}

	res_set_status(&c->res, st);
	st = op_encode(c, st);

	if (c->arg_live) {
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&c->arg);
		c->arg_live = false;
	}
	if (c->desc && !(c->desc->flags & OPF_SESSION_CACHEABLE))
		c->cacheable = false;
	c->npay = 0;
	c->pay_len = 0;
	c->nres++;
	c->status = st;
	if (c->desc && (c->desc->flags & OPF_CHANGES_FS) && c->cfg->on_change)
		c->cfg->on_change(c);
	if (c->cfg->on_op)
		c->cfg->on_op(c, (uint32_t)c->res.resop, st);
	c->index++;
	/* RFC 8881 §16.2.3: processing stops at the first op that does not succeed. */
	if (st != NFS4_OK)
		c->stop = true;
}

/* ---- the loop --------------------------------------------------------------------------- */

static void compound_destroy(struct compound *c);

/* Write the header words, close the last segment, and hand the compound back. */
static void finish(struct compound *c)
{
	put_be32(c->status_word, (uint32_t)c->status);
	put_be32(c->count_word, c->nres);
	if (!seg_close(c))
		c->broken = true;
	c->done = true;
	if (c->abandoned)
		compound_destroy(c);
	else if (c->on_done)
		c->on_done(c); /* may free c */
}

static void run(struct compound *c)
{
	nfsstat4 st;

	c->in_loop = true;
	while (!c->stop && c->index < c->numops && !c->broken) {
		st = op_begin(c);
		if (st == OP_PARKED) {
			if (!c->resume_pending) {
				c->parked = true;
				c->in_loop = false;
				return;
			}
			c->resume_pending = false;
			st = c->resume_status;
		}
		assert(!c->resume_pending);
		op_finish(c, st);
	}
	c->in_loop = false;
	finish(c);
}

void compound_resume(struct compound *c, nfsstat4 status)
{
	assert(status != OP_PARKED);
	if (c->in_handler) {
		/* Completed before the handler returned OP_PARKED: the loop picks it up. */
		assert(!c->resume_pending);
		c->resume_pending = true;
		c->resume_status = status;
		return;
	}
	assert(c->parked);
	c->parked = false;
	op_finish(c, status);
	run(c);
}

/* ---- the call --------------------------------------------------------------------------- */

struct compound *compound_new(const struct compound_config *cfg, const struct op_table *ops,
			      const void *body, size_t body_len,
			      void (*on_done)(struct compound *c), void *user)
{
	struct arena a;
	struct compound *c;

	arena_init(&a, cfg->arena_chunk, cfg->arena_cap);
	c = arena_zalloc(&a, sizeof(*c));
	if (!c) {
		arena_release(&a);
		return NULL;
	}
	c->arena = a;
	c->cfg = cfg;
	c->ops = ops;
	c->on_done = on_done;
	c->user = user;
	c->body = body;
	c->body_len = body_len;
	c->status = NFS4_OK;
	c->cacheable = true;
	c->opnum = OP_ILLEGAL;
	return c;
}

/* tag, minorversion, numops: RFC 8881 §16.2.1. The tag stays in the body. */
static bool decode_header(struct compound *c)
{
	u_int taglen, pos;

	if (c->body_len > UINT32_MAX)
		return false;
	xdrmem_create(&c->dec, (char *)(uintptr_t)c->body, (u_int)c->body_len, XDR_DECODE);
	if (!xdr_u_int(&c->dec, &taglen))
		return false;
	pos = xdr_getpos(&c->dec);
	if (taglen > c->body_len - pos || XDR_PAD(taglen) > c->body_len - pos - taglen)
		return false;
	c->tag = (const char *)c->body + pos;
	c->tag_len = taglen;
	if (!xdr_setpos(&c->dec, pos + taglen + XDR_PAD(taglen)))
		return false;
	return xdr_u_int(&c->dec, &c->minor) && xdr_u_int(&c->dec, &c->numops);
}

/* The first chunk: rpc_reserve, then status, tag and the result count, whose words are
 * written when the compound is done. */
static bool reply_begin(struct compound *c)
{
	size_t head = 4 + 4 + c->tag_len + XDR_PAD(c->tag_len) + 4;
	size_t cap = c->cfg->rpc_reserve + head + REPLY_FIRST_ROOM;
	unsigned char *p;

	c->buf = arena_alloc(&c->arena, cap);
	if (!c->buf)
		return false;
	c->buf_cap = cap;
	c->buf_used = c->cfg->rpc_reserve;
	c->seg_start = c->buf_used;
	p = (unsigned char *)c->buf + c->buf_used;
	c->status_word = p;
	put_be32(p + 4, c->tag_len);
	if (c->tag_len)
		memcpy(p + 8, c->tag, c->tag_len);
	memset(p + 8 + c->tag_len, 0, XDR_PAD(c->tag_len));
	c->count_word = p + head - 4;
	c->buf_used += head;
	c->reply_len = head;
	return true;
}

int compound_start(struct compound *c)
{
	if (!decode_header(c))
		return -EBADMSG;
	if (!reply_begin(c))
		return -ENOMEM;

	/* RFC 8881 §16.2.3, §15.1.3 (MINOR_VERS_MISMATCH): an unsupported minor version is
	 * answered with that status and no results at all. */
	if (c->minor < c->cfg->minor_min || c->minor > c->cfg->minor_max) {
		c->status = NFS4ERR_MINOR_VERS_MISMATCH;
		finish(c);
		return 0;
	}
	run(c);
	return 0;
}

const struct iovec *compound_reply(struct compound *c, unsigned *niov, size_t *len)
{
	if (!c->done || c->broken)
		return NULL;
	*niov = c->niov;
	*len = c->reply_len + c->prepended;
	return c->iov;
}

void *compound_reply_prepend(struct compound *c, size_t n)
{
	if (!c->done || c->broken || !c->niov || n > c->cfg->rpc_reserve - c->prepended)
		return NULL;
	c->iov[0].iov_base = (char *)c->iov[0].iov_base - n;
	c->iov[0].iov_len += n;
	c->prepended += n;
	return c->iov[0].iov_base;
}

nfsstat4 compound_status(const struct compound *c)
{
	return c->status;
}

uint32_t compound_nresults(const struct compound *c)
{
	return c->nres;
}

bool compound_reply_cacheable(const struct compound *c)
{
	return c->in_session && c->sess.cachethis && c->cacheable;
}

static void compound_destroy(struct compound *c)
{
	struct compound_release *r = c->releases;
	struct arena a;

	while (r) {
		r->fn(r->arg);
		r = r->next;
	}
	if (c->arg_live)
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&c->arg);
	a = c->arena; /* c lives in it */
	arena_release(&a);
}

void compound_free(struct compound *c)
{
	if (!c)
		return;
	if (c->in_loop || c->parked) {
		c->abandoned = true;
		return;
	}
	compound_destroy(c);
}

/* ---- for handlers ----------------------------------------------------------------------- */

void *compound_alloc(struct compound *c, size_t size)
{
	return arena_alloc(&c->arena, size);
}

nfs_resop4 *compound_result(struct compound *c)
{
	return &c->res;
}

bool compound_set_fh(struct compound *c, const void *fh, uint32_t len)
{
	if (len > NFS4_FHSIZE)
		return false;
	memcpy(c->cfh.data, fh, len);
	c->cfh.len = len;
	c->cfh.set = true;
	return true;
}

nfsstat4 compound_session_begin(struct compound *c, const struct compound_session_limits *lim)
{
	assert(c->opnum == OP_SEQUENCE && c->index == 0);
	c->in_session = true;
	c->sess = *lim;
	/* RFC 8881 §18.36.3: more ops than ca_maxoperations is NFS4ERR_TOO_MANY_OPS. */
	if (c->numops > lim->maxops)
		return NFS4ERR_TOO_MANY_OPS;
	return NFS4_OK;
}

int compound_add_payload(struct compound *c, const void *base, size_t len)
{
	if (c->opnum != OP_READ && c->opnum != OP_READ_PLUS)
		return -EINVAL;
	if (c->npay == c->pay_cap) {
		unsigned cap = c->pay_cap ? c->pay_cap * 2 : 16;
		struct iovec *n = arena_alloc(&c->arena, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (c->npay)
			memcpy(n, c->pay, c->npay * sizeof(*n));
		c->pay = n;
		c->pay_cap = cap;
	}
	c->pay[c->npay].iov_base = (void *)(uintptr_t)base;
	c->pay[c->npay].iov_len = len;
	c->npay++;
	c->pay_len += len;
	return 0;
}

int compound_on_release(struct compound *c, void (*fn)(void *arg), void *arg)
{
	struct compound_release *r = arena_alloc(&c->arena, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->arg = arg;
	r->next = c->releases;
	c->releases = r;
	return 0;
}

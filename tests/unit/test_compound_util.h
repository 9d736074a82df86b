/* Helpers shared by the cmocka tests of the COMPOUND engine: building call bodies with the
 * generated encoder, toy op handlers in a test op table, running a compound, and decoding
 * its whole reply (all iovecs) back with the generated COMPOUND4res decoder. */
#ifndef TEST_COMPOUND_UTIL_H
#define TEST_COMPOUND_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compound.h"

#define BODY_MAX (256u * 1024u)
#define UTF8(s) {.utf8string_len = sizeof(s) - 1, .utf8string_val = (char *)(s)}

/* one XDR word, big-endian, as bytes */
#define W(v)                                                                                   \
	(unsigned char)((uint32_t)(v) >> 24), (unsigned char)((uint32_t)(v) >> 16),            \
		(unsigned char)((uint32_t)(v) >> 8), (unsigned char)(uint32_t)(v)

static char root_fh[] = {'r', 'o', 'o', 't'};

/* ---- toy handlers --------------------------------------------------------------------- */

static unsigned calls[OPTABLE_SIZE];          /* handler calls by opcode */
static struct compound_session_limits t_lim;  /* what SEQUENCE installs */
static u_int t_attr_len;                      /* bytes of attributes GETATTR answers */
static struct compound *t_parked;             /* the compound READ parked */
static bool t_resume_inline;                  /* READ completes before returning */
static nfsstat4 t_inline_status;

static inline nfsstat4 h_sequence(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SEQUENCE4args *a = &arg->nfs_argop4_u.opsequence;
	SEQUENCE4resok *ok = &res->nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	struct compound_session_limits lim = t_lim;
	nfsstat4 st;

	calls[OP_SEQUENCE]++;
	lim.cachethis = a->sa_cachethis;
	st = compound_session_begin(c, &lim);
	if (st != NFS4_OK)
		return st;
	memcpy(ok->sr_sessionid, a->sa_sessionid, sizeof(ok->sr_sessionid));
	ok->sr_sequenceid = a->sa_sequenceid;
	ok->sr_slotid = a->sa_slotid;
	ok->sr_highest_slotid = 63;
	ok->sr_target_highest_slotid = 63;
	return NFS4_OK;
}

static inline nfsstat4 h_putfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const nfs_fh4 *fh = &arg->nfs_argop4_u.opputfh.object;

	(void)res;
	calls[OP_PUTFH]++;
	return compound_set_fh(c, fh->nfs_fh4_val, fh->nfs_fh4_len) ? NFS4_OK : NFS4ERR_BADHANDLE;
}

static inline nfsstat4 h_putrootfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)arg;
	(void)res;
	calls[OP_PUTROOTFH]++;
	compound_set_fh(c, root_fh, sizeof(root_fh));
	return NFS4_OK;
}

static inline nfsstat4 h_getfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	nfs_fh4 *o = &res->nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object;

	(void)arg;
	calls[OP_GETFH]++;
	o->nfs_fh4_len = c->cfh.len;
	o->nfs_fh4_val = compound_alloc(c, c->cfh.len);
	if (!o->nfs_fh4_val)
		return NFS4ERR_SERVERFAULT;
	memcpy(o->nfs_fh4_val, c->cfh.data, c->cfh.len);
	return NFS4_OK;
}

/* LOOKUP "missing" fails; any other name succeeds and keeps the filehandle. */
static inline nfsstat4 h_lookup(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const component4 *n = &arg->nfs_argop4_u.oplookup.objname;

	(void)c;
	(void)res;
	calls[OP_LOOKUP]++;
	if (n->utf8string_len == 7 && !memcmp(n->utf8string_val, "missing", 7))
		return NFS4ERR_NOENT;
	return NFS4_OK;
}

/* t_attr_len bytes of attribute values, byte i = i & 0xff, under a one-word mask. */
static inline nfsstat4 h_getattr(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	fattr4 *a = &res->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes;
	uint32_t *mask = compound_alloc(c, 4);
	char *vals = compound_alloc(c, t_attr_len);

	(void)arg;
	calls[OP_GETATTR]++;
	if (!mask || !vals)
		return NFS4ERR_SERVERFAULT;
	mask[0] = 1u << FATTR4_TYPE;
	for (u_int i = 0; i < t_attr_len; i++)
		vals[i] = (char)(i & 0xff);
	a->attrmask.bitmap4_len = 1;
	a->attrmask.bitmap4_val = mask;
	a->attr_vals.attrlist4_len = t_attr_len;
	a->attr_vals.attrlist4_val = vals;
	return NFS4_OK;
}

static inline nfsstat4 h_write(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	WRITE4resok *ok = &res->nfs_resop4_u.opwrite.WRITE4res_u.resok4;

	(void)c;
	calls[OP_WRITE]++;
	ok->count = arg->nfs_argop4_u.opwrite.data.data_len;
	ok->committed = FILE_SYNC4;
	return NFS4_OK;
}

/* READ parks; the test plays the storage completion. With t_resume_inline the completion
 * comes before the handler returns, as a synchronous cache hit would. */
static inline nfsstat4 h_read(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)arg;
	(void)res;
	calls[OP_READ]++;
	t_parked = c;
	if (t_resume_inline)
		compound_resume(c, t_inline_status);
	return OP_PARKED;
}

static inline nfsstat4 h_ok(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)c;
	(void)arg;
	calls[res->resop]++;
	return NFS4_OK;
}

static struct op_table table;
static struct compound_config cfg;

static inline void reset_world(void)
{
	memset(calls, 0, sizeof(calls));
	t_lim.maxops = 16;
	t_lim.maxresp = 1u << 20;
	t_lim.maxresp_cached = 1u << 20;
	t_lim.cachethis = false;
	t_attr_len = 12;
	t_parked = NULL;
	t_resume_inline = false;
	t_inline_status = NFS4_OK;
	compound_config_default(&cfg);
	optable_init(&table);
	optable_set_handler(&table, OP_SEQUENCE, h_sequence);
	optable_set_handler(&table, OP_PUTFH, h_putfh);
	optable_set_handler(&table, OP_PUTROOTFH, h_putrootfh);
	optable_set_handler(&table, OP_GETFH, h_getfh);
	optable_set_handler(&table, OP_LOOKUP, h_lookup);
	optable_set_handler(&table, OP_GETATTR, h_getattr);
	optable_set_handler(&table, OP_WRITE, h_write);
	optable_set_handler(&table, OP_READ, h_read);
	optable_set_handler(&table, OP_EXCHANGE_ID, h_ok);
	optable_set_handler(&table, OP_SETCLIENTID, h_ok);
	optable_set_handler(&table, OP_ALLOCATE, h_ok);
}

static inline int setup(void **state)
{
	(void)state;
	reset_world();
	return 0;
}

/* ---- building calls ------------------------------------------------------------------- */

static char body[BODY_MAX];

static inline u_int encode_call(const char *tag, uint32_t minor, nfs_argop4 *ops, u_int n)
{
	COMPOUND4args a;
	XDR x;
	u_int len;

	memset(&a, 0, sizeof(a));
	a.tag.utf8string_len = (u_int)strlen(tag);
	a.tag.utf8string_val = (char *)tag;
	a.minorversion = minor;
	a.argarray.argarray_len = n;
	a.argarray.argarray_val = ops;
	xdrmem_create(&x, body, BODY_MAX, XDR_ENCODE);
	assert_true(xdr_COMPOUND4args(&x, &a));
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	return len;
}

static inline nfs_argop4 op_plain(nfs_opnum4 op)
{
	nfs_argop4 a;

	memset(&a, 0, sizeof(a));
	a.argop = op;
	return a;
}

static const unsigned char sessid[NFS4_SESSIONID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8,
							   9, 10, 11, 12, 13, 14, 15, 16};

static inline nfs_argop4 op_sequence(bool cachethis)
{
	nfs_argop4 a = op_plain(OP_SEQUENCE);

	memcpy(a.nfs_argop4_u.opsequence.sa_sessionid, sessid, sizeof(sessid));
	a.nfs_argop4_u.opsequence.sa_sequenceid = 5;
	a.nfs_argop4_u.opsequence.sa_slotid = 1;
	a.nfs_argop4_u.opsequence.sa_highest_slotid = 1;
	a.nfs_argop4_u.opsequence.sa_cachethis = cachethis;
	return a;
}

static inline nfs_argop4 op_lookup(const char *name)
{
	nfs_argop4 a = op_plain(OP_LOOKUP);

	a.nfs_argop4_u.oplookup.objname.utf8string_len = (u_int)strlen(name);
	a.nfs_argop4_u.oplookup.objname.utf8string_val = (char *)name;
	return a;
}

static inline nfs_argop4 op_putfh(char *fh, u_int len)
{
	nfs_argop4 a = op_plain(OP_PUTFH);

	a.nfs_argop4_u.opputfh.object.nfs_fh4_len = len;
	a.nfs_argop4_u.opputfh.object.nfs_fh4_val = fh;
	return a;
}

static inline nfs_argop4 op_getattr(void)
{
	static uint32_t words[1] = {1u << FATTR4_TYPE};
	nfs_argop4 a = op_plain(OP_GETATTR);

	a.nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 1;
	a.nfs_argop4_u.opgetattr.attr_request.bitmap4_val = words;
	return a;
}

static inline nfs_argop4 op_read(uint64_t off, uint32_t count)
{
	nfs_argop4 a = op_plain(OP_READ);

	a.nfs_argop4_u.opread.offset = off;
	a.nfs_argop4_u.opread.count = count;
	return a;
}

static inline nfs_argop4 op_write(char *data, u_int len)
{
	nfs_argop4 a = op_plain(OP_WRITE);

	a.nfs_argop4_u.opwrite.stable = FILE_SYNC4;
	a.nfs_argop4_u.opwrite.data.data_len = len;
	a.nfs_argop4_u.opwrite.data.data_val = data;
	return a;
}

/* ---- running -------------------------------------------------------------------------- */

static unsigned done_calls;
static struct compound *done_c;

static inline void on_done(struct compound *c)
{
	done_calls++;
	done_c = c;
}

/* New compound over body[0..len), started; on_done must have fired unless parks is set. */
static inline struct compound *run_body(u_int len, bool parks)
{
	struct compound *c;

	done_calls = 0;
	done_c = NULL;
	c = compound_new(&cfg, &table, body, len, on_done, NULL);
	assert_non_null(c);
	assert_int_equal(compound_start(c), 0);
	if (parks) {
		assert_int_equal(done_calls, 0);
	} else {
		assert_int_equal(done_calls, 1);
		assert_ptr_equal(done_c, c);
	}
	return c;
}

static inline struct compound *run_ops(uint32_t minor, nfs_argop4 *ops, u_int n)
{
	return run_body(encode_call("t", minor, ops, n), false);
}

/* The reply's iovecs joined into one malloc'd buffer; its length in *len. */
static inline char *reply_flat(struct compound *c, size_t *len)
{
	const struct iovec *iov;
	unsigned niov;
	size_t total, off = 0;
	char *flat;

	iov = compound_reply(c, &niov, &total);
	assert_non_null(iov);
	flat = malloc(total ? total : 1);
	assert_non_null(flat);
	for (unsigned i = 0; i < niov; i++) {
		assert_true(off + iov[i].iov_len <= total);
		memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	assert_int_equal(off, total);
	*len = total;
	return flat;
}

/* Decode the whole reply; every byte must be consumed. Free res with xdr_free. */
static inline void reply_decode(struct compound *c, COMPOUND4res *res)
{
	size_t len;
	char *flat = reply_flat(c, &len);
	XDR x;

	assert_int_equal(len % 4, 0);
	memset(res, 0, sizeof(*res));
	xdrmem_create(&x, flat, (u_int)len, XDR_DECODE);
	assert_true(xdr_COMPOUND4res(&x, res));
	assert_int_equal(xdr_getpos(&x), len);
	xdr_destroy(&x);
	free(flat);
	/* the engine's own view agrees with the bytes */
	assert_int_equal(res->status, compound_status(c));
	assert_int_equal(res->resarray.resarray_len, compound_nresults(c));
}

static inline nfsstat4 res_status(const nfs_resop4 *r)
{
	nfsstat4 st;

	memcpy(&st, &r->nfs_resop4_u, sizeof(st));
	return st;
}

/* Run, decode, and check the reply's status, result count and the last result. */
static inline void expect(struct compound *c, nfsstat4 status, u_int nres, nfs_opnum4 last_op)
{
	COMPOUND4res res;

	reply_decode(c, &res);
	assert_int_equal(res.status, status);
	assert_int_equal(res.resarray.resarray_len, nres);
	if (nres) {
		assert_int_equal(res.resarray.resarray_val[nres - 1].resop, last_op);
		assert_int_equal(res_status(&res.resarray.resarray_val[nres - 1]), status);
		for (u_int i = 0; i + 1 < nres; i++)
			assert_int_equal(res_status(&res.resarray.resarray_val[i]), NFS4_OK);
	}
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
}

#endif

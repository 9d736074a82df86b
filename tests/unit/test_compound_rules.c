/* cmocka tests of the generic COMPOUND loop: op position rules of 4.1, current filehandle,
 * stop at the first error, op count and minor version limits, ILLEGAL and BADXDR ops, ops
 * outside their minor version, unimplemented ops and the reply size limits. Every reply
 * is decoded back with the generated COMPOUND4res decoder. */
#include "test_compound_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

/* ---- 4.1 op position rules (RFC 8881 §18.46.3 and the session-less ops) ---------------- */

static void test_sequence_first_ok(void **state)
{
	nfs_argop4 ops[] = {op_sequence(false), op_plain(OP_PUTROOTFH), op_plain(OP_GETFH)};
	struct compound *c;
	COMPOUND4res res;
	nfs_fh4 *fh;

	(void)state;
	for (uint32_t minor = 1; minor <= 2; minor++) {
		c = run_ops(minor, ops, 3);
		reply_decode(c, &res);
		assert_int_equal(res.status, NFS4_OK);
		assert_int_equal(res.resarray.resarray_len, 3);
		assert_int_equal(res.resarray.resarray_val[0].resop, OP_SEQUENCE);
		assert_memory_equal(res.resarray.resarray_val[0]
					    .nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4
					    .sr_sessionid,
				    sessid, sizeof(sessid));
		fh = &res.resarray.resarray_val[2].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object;
		assert_int_equal(fh->nfs_fh4_len, sizeof(root_fh));
		assert_memory_equal(fh->nfs_fh4_val, root_fh, sizeof(root_fh));
		assert_int_equal(res.tag.utf8string_len, 1);
		assert_memory_equal(res.tag.utf8string_val, "t", 1);
		xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
		compound_free(c);
	}
	assert_int_equal(calls[OP_SEQUENCE], 2);
}

static void test_op_not_in_session(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	c = run_ops(1, ops, 2);
	expect(c, NFS4ERR_OP_NOT_IN_SESSION, 1, OP_PUTROOTFH);
	compound_free(c);
	assert_int_equal(calls[OP_PUTROOTFH], 0);
	assert_int_equal(calls[OP_GETFH], 0);

	/* the same ops are fine in 4.0, which has no sessions */
	c = run_ops(0, ops, 2);
	expect(c, NFS4_OK, 2, OP_GETFH);
	compound_free(c);
}

static void test_sequence_pos(void **state)
{
	nfs_argop4 ops[] = {op_sequence(false), op_plain(OP_PUTROOTFH), op_sequence(false),
			    op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	c = run_ops(1, ops, 4);
	expect(c, NFS4ERR_SEQUENCE_POS, 3, OP_SEQUENCE);
	compound_free(c);
	assert_int_equal(calls[OP_SEQUENCE], 1);
	assert_int_equal(calls[OP_GETFH], 0);
}

static void test_not_only_op(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_EXCHANGE_ID), op_plain(OP_PUTROOTFH)};
	nfs_argop4 seq_ops[] = {op_sequence(false), op_plain(OP_EXCHANGE_ID)};
	struct compound *c;

	(void)state;
	/* a session-less op first, and not alone */
	c = run_ops(1, ops, 2);
	expect(c, NFS4ERR_NOT_ONLY_OP, 1, OP_EXCHANGE_ID);
	compound_free(c);
	assert_int_equal(calls[OP_EXCHANGE_ID], 0);

	/* alone it runs */
	c = run_ops(1, ops, 1);
	expect(c, NFS4_OK, 1, OP_EXCHANGE_ID);
	compound_free(c);
	assert_int_equal(calls[OP_EXCHANGE_ID], 1);

	/* and after SEQUENCE it may have company */
	c = run_ops(1, seq_ops, 2);
	expect(c, NFS4_OK, 2, OP_EXCHANGE_ID);
	compound_free(c);
	assert_int_equal(calls[OP_EXCHANGE_ID], 2);
}

/* ---- current filehandle, first error ----------------------------------------------------- */

static void test_nofilehandle(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_GETFH), op_plain(OP_PUTROOTFH), op_plain(OP_GETFH)};
	nfs_argop4 seq_ops[] = {op_sequence(false), op_lookup("a"), op_plain(OP_PUTROOTFH)};
	struct compound *c;

	(void)state;
	c = run_ops(0, ops, 3);
	expect(c, NFS4ERR_NOFILEHANDLE, 1, OP_GETFH);
	compound_free(c);
	assert_int_equal(calls[OP_GETFH], 0);
	assert_int_equal(calls[OP_PUTROOTFH], 0);

	c = run_ops(1, seq_ops, 3);
	expect(c, NFS4ERR_NOFILEHANDLE, 2, OP_LOOKUP);
	compound_free(c);
	assert_int_equal(calls[OP_LOOKUP], 0);
	assert_int_equal(calls[OP_PUTROOTFH], 0);
}

static void test_stop_at_first_error(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_lookup("a"), op_lookup("missing"),
			    op_lookup("b"), op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	c = run_ops(0, ops, 5);
	expect(c, NFS4ERR_NOENT, 3, OP_LOOKUP);
	compound_free(c);
	assert_int_equal(calls[OP_LOOKUP], 2);
	assert_int_equal(calls[OP_GETFH], 0);

	/* no error: every op runs */
	ops[2] = op_lookup("c");
	c = run_ops(0, ops, 5);
	expect(c, NFS4_OK, 5, OP_GETFH);
	compound_free(c);
}

/* ---- minor versions ---------------------------------------------------------------------- */

static void test_minor_version_range(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH)};
	struct compound *c;

	(void)state;
	c = run_ops(3, ops, 1);
	expect(c, NFS4ERR_MINOR_VERS_MISMATCH, 0, OP_ILLEGAL);
	compound_free(c);
	c = run_ops(0xffffffffu, ops, 1);
	expect(c, NFS4ERR_MINOR_VERS_MISMATCH, 0, OP_ILLEGAL);
	compound_free(c);
	assert_int_equal(calls[OP_PUTROOTFH], 0);

	/* the range is configuration */
	cfg.minor_max = 1;
	ops[0] = op_sequence(false);
	c = run_ops(2, ops, 1);
	expect(c, NFS4ERR_MINOR_VERS_MISMATCH, 0, OP_ILLEGAL);
	compound_free(c);
	c = run_ops(1, ops, 1);
	expect(c, NFS4_OK, 1, OP_SEQUENCE);
	compound_free(c);
}

/* Ops outside the compound's minor version. */
static void test_ops_of_other_minor_versions(void **state)
{
	nfs_argop4 ops[3];
	struct compound *c;

	(void)state;
	/* a 4.1 op in 4.0: not an op of that version */
	ops[0] = op_sequence(false);
	c = run_ops(0, ops, 1);
	expect(c, NFS4ERR_OP_ILLEGAL, 1, OP_ILLEGAL);
	compound_free(c);

	/* a 4.0-only op in 4.1: NOTSUPP, though the table has a handler for it */
	ops[0] = op_sequence(false);
	ops[1] = op_plain(OP_SETCLIENTID);
	ops[1].nfs_argop4_u.opsetclientid.callback.cb_location.na_r_netid = (char *)"tcp";
	ops[1].nfs_argop4_u.opsetclientid.callback.cb_location.na_r_addr = (char *)"1.2.3.4.8.1";
	c = run_ops(1, ops, 2);
	expect(c, NFS4ERR_NOTSUPP, 2, OP_SETCLIENTID);
	compound_free(c);
	assert_int_equal(calls[OP_SETCLIENTID], 0);
	c = run_ops(0, ops + 1, 1);
	expect(c, NFS4_OK, 1, OP_SETCLIENTID);
	compound_free(c);
	assert_int_equal(calls[OP_SETCLIENTID], 1);

	/* a 4.2 op in 4.1: ILLEGAL; in 4.2 it runs */
	ops[1] = op_plain(OP_PUTROOTFH);
	ops[2] = op_plain(OP_ALLOCATE);
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_OP_ILLEGAL, 3, OP_ILLEGAL);
	compound_free(c);
	c = run_ops(2, ops, 3);
	expect(c, NFS4_OK, 3, OP_ALLOCATE);
	compound_free(c);
	assert_int_equal(calls[OP_ALLOCATE], 1);
}

/* An op without a handler is NOTSUPP, answered by the engine. */
static void test_unimplemented_is_notsupp(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_plain(OP_READLINK), op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	c = run_ops(0, ops, 3);
	expect(c, NFS4ERR_NOTSUPP, 2, OP_READLINK);
	compound_free(c);
	assert_int_equal(calls[OP_GETFH], 0);

	/* and with a handler installed it runs */
	optable_set_handler(&table, OP_READLINK, h_ok);
	c = run_ops(0, ops, 3);
	expect(c, NFS4_OK, 3, OP_GETFH);
	compound_free(c);
	assert_int_equal(calls[OP_READLINK], 1);
}

/* ---- undecodable input ------------------------------------------------------------------- */

/* Replace the opcode word at byte offset off of the body. */
static void patch_word(u_int off, uint32_t v)
{
	uint32_t be = htonl(v);

	memcpy(body + off, &be, 4);
}

static void test_illegal_opcode(void **state)
{
	/* header "t": 4 + 4 (tag) + 4 (minor) + 4 (numops) = 16; PUTROOTFH is one word */
	static const uint32_t bad[] = {9999, 0, 1, 2, OP_REMOVEXATTR + 1, OP_ILLEGAL,
				       OP_CB_GETATTR + 10000};
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_plain(OP_GETFH), op_plain(OP_GETFH)};
	struct compound *c;
	u_int len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = encode_call("t", 0, ops, 3);
		patch_word(20, bad[i]); /* the second op */
		c = run_body(len, false);
		expect(c, NFS4ERR_OP_ILLEGAL, 2, OP_ILLEGAL);
		compound_free(c);
	}
	assert_int_equal(calls[OP_GETFH], 0);
	assert_int_equal(calls[OP_PUTROOTFH], sizeof(bad) / sizeof(bad[0]));

	/* in 4.1, after SEQUENCE, the same */
	ops[0] = op_sequence(false);
	len = encode_call("t", 1, ops, 3);
	patch_word(16 + 4 + 16 + 16, 9999);
	c = run_body(len, false);
	expect(c, NFS4ERR_OP_ILLEGAL, 2, OP_ILLEGAL);
	compound_free(c);
}

static void test_badxdr_in_args(void **state)
{
	static char fh[NFS4_FHSIZE + 8];
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_putfh(fh, 8), op_plain(OP_GETFH)};
	struct compound *c;
	u_int len;

	(void)state;
	/* a filehandle longer than NFS4_FHSIZE: PUTFH gets BADXDR, the call is not garbage */
	ops[1] = op_putfh(fh, 8);
	len = encode_call("t", 0, ops, 2);
	patch_word(20 + 4, NFS4_FHSIZE + 1);
	memset(body + len, 0, NFS4_FHSIZE + 8);
	c = run_body(len + NFS4_FHSIZE, false);
	expect(c, NFS4ERR_BADXDR, 2, OP_PUTFH);
	compound_free(c);
	assert_int_equal(calls[OP_PUTFH], 0);

	/* arguments cut short by the end of the body */
	len = encode_call("t", 0, ops, 3);
	c = run_body(len - 4 - 4, false); /* GETFH gone, and half of the handle */
	expect(c, NFS4ERR_BADXDR, 2, OP_PUTFH);
	compound_free(c);

	/* more ops announced than sent: the missing one is ILLEGAL with BADXDR */
	len = encode_call("t", 0, ops, 3);
	patch_word(12, 4);
	c = run_body(len, false);
	expect(c, NFS4ERR_BADXDR, 4, OP_ILLEGAL);
	compound_free(c);
	assert_int_equal(calls[OP_GETFH], 1);

	/* a union arm the IDL does not define (OPEN's claim type) */
	optable_set_handler(&table, OP_OPEN, h_ok);
	ops[1] = op_plain(OP_OPEN);
	ops[1].nfs_argop4_u.opopen.share_access = OPEN4_SHARE_ACCESS_READ;
	ops[1].nfs_argop4_u.opopen.claim.claim = CLAIM_NULL;
	ops[1].nfs_argop4_u.opopen.claim.open_claim4_u.file = (component4)UTF8("f");
	len = encode_call("t", 0, ops, 2);
	c = run_body(len, false);
	expect(c, NFS4_OK, 2, OP_OPEN);
	compound_free(c);
	assert_int_equal(calls[OP_OPEN], 1);
	/* opcode, seqid, access, deny, clientid (2 words), owner length, opentype, claim */
	patch_word(20 + 4 * 8, 99);
	c = run_body(len, false);
	expect(c, NFS4ERR_BADXDR, 2, OP_OPEN);
	compound_free(c);
	assert_int_equal(calls[OP_OPEN], 1);
}

static void test_garbage_header(void **state)
{
	static const unsigned char huge_tag[] = {W(0xfffffff0), 't', 0, 0, 0, W(0), W(1)};
	static const unsigned char short_tag[] = {W(9), 't', 'a', 'g', 0, W(0), W(1)};
	static const unsigned char no_count[] = {W(0), W(0)};
	static const unsigned char ok[] = {W(0), W(0), W(0)};
	const unsigned char *bad[] = {huge_tag, short_tag, no_count};
	size_t bad_len[] = {sizeof(huge_tag), sizeof(short_tag), sizeof(no_count)};
	struct compound *c;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		done_calls = 0;
		c = compound_new(&cfg, &table, bad[i], bad_len[i], on_done, NULL);
		assert_non_null(c);
		assert_int_equal(compound_start(c), -EBADMSG);
		assert_int_equal(done_calls, 0);
		compound_free(c);
	}
	/* every prefix of a valid header is garbage too */
	for (size_t cut = 0; cut < sizeof(ok); cut++) {
		c = compound_new(&cfg, &table, ok, cut, on_done, NULL);
		assert_int_equal(compound_start(c), -EBADMSG);
		compound_free(c);
	}
	/* and the whole header with no ops is an empty, successful COMPOUND */
	memcpy(body, ok, sizeof(ok));
	c = run_body(sizeof(ok), false);
	expect(c, NFS4_OK, 0, OP_ILLEGAL);
	compound_free(c);
}

/* ---- op count ---------------------------------------------------------------------------- */

/* A call of n ops, SEQUENCE first when minor > 0, built by hand (the encoder would want an
 * array of n nfs_argop4). */
static u_int huge_call(uint32_t minor, uint32_t n)
{
	static const unsigned char seq[] = {
		W(OP_SEQUENCE), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		W(5), W(1), W(1), W(0),
	};
	u_int pos = 0;

	patch_word(pos, 1);
	memcpy(body + 4, "t\0\0\0", 4);
	patch_word(8, minor);
	patch_word(12, n);
	pos = 16;
	if (minor) {
		memcpy(body + pos, seq, sizeof(seq));
		pos += sizeof(seq);
		n--;
	}
	for (uint32_t i = 0; i < n; i++, pos += 4) {
		assert_true(pos + 4 <= BODY_MAX);
		patch_word(pos, OP_PUTROOTFH);
	}
	return pos;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_ten_thousand_ops(void **state)
{
	struct compound *c;
	double t0;
	u_int len;

	(void)state;
	/* 4.1: SEQUENCE refuses before it runs; nothing sized by the op count */
	len = huge_call(1, 10000);
	t0 = now_s();
	c = run_body(len, false);
	assert_true(now_s() - t0 < 0.5);
	expect(c, NFS4ERR_TOO_MANY_OPS, 1, OP_SEQUENCE);
	assert_true(c->arena.total <= 64u * 1024u);
	assert_true(c->arena.used < 10000u * sizeof(nfs_argop4) / 16);
	compound_free(c);
	assert_int_equal(calls[OP_SEQUENCE], 0);
	assert_int_equal(calls[OP_PUTROOTFH], 0);

	/* 4.0: refused at the first op with RESOURCE */
	len = huge_call(0, 10000);
	t0 = now_s();
	c = run_body(len, false);
	assert_true(now_s() - t0 < 0.5);
	expect(c, NFS4ERR_RESOURCE, 1, OP_PUTROOTFH);
	assert_true(c->arena.total <= 64u * 1024u);
	compound_free(c);
	assert_int_equal(calls[OP_PUTROOTFH], 0);

	/* a count claimed, not sent: the same answer, no allocation for it */
	len = huge_call(0, 1);
	patch_word(12, 0xffffffffu);
	c = run_body(len, false);
	expect(c, NFS4ERR_RESOURCE, 1, OP_PUTROOTFH);
	assert_true(c->arena.total <= 64u * 1024u);
	compound_free(c);
}

static void test_op_count_limits(void **state)
{
	struct compound *c;

	(void)state;
	/* the session's ca_maxoperations */
	t_lim.maxops = 4;
	c = run_body(huge_call(1, 5), false);
	expect(c, NFS4ERR_TOO_MANY_OPS, 1, OP_SEQUENCE);
	compound_free(c);
	assert_int_equal(calls[OP_SEQUENCE], 1);
	assert_int_equal(calls[OP_PUTROOTFH], 0);
	c = run_body(huge_call(1, 4), false);
	expect(c, NFS4_OK, 4, OP_PUTROOTFH);
	compound_free(c);
	assert_int_equal(calls[OP_PUTROOTFH], 3);

	/* the server's max_ops for 4.0, at the limit and one past it */
	cfg.max_ops = 8;
	c = run_body(huge_call(0, 8), false);
	expect(c, NFS4_OK, 8, OP_PUTROOTFH);
	compound_free(c);
	c = run_body(huge_call(0, 9), false);
	expect(c, NFS4ERR_RESOURCE, 1, OP_PUTROOTFH);
	compound_free(c);
	assert_int_equal(calls[OP_PUTROOTFH], 3 + 8);
}

/* ---- reply size -------------------------------------------------------------------------- */

static void test_rep_too_big(void **state)
{
	static char data[16];
	nfs_argop4 ops[] = {op_sequence(false), op_plain(OP_PUTROOTFH), op_getattr()};
	struct compound *c;

	(void)state;
	/* the estimate alone does not fit: GETATTR is not run */
	t_lim.maxresp = 512;
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_REP_TOO_BIG, 3, OP_GETATTR);
	compound_free(c);
	assert_int_equal(calls[OP_GETATTR], 0);

	/* nor is a WRITE, which would change the file for nothing */
	ops[2] = op_write(data, sizeof(data));
	t_lim.maxresp = 140;
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_REP_TOO_BIG, 3, OP_WRITE);
	compound_free(c);
	assert_int_equal(calls[OP_WRITE], 0);
	t_lim.maxresp = 200;
	c = run_ops(1, ops, 3);
	expect(c, NFS4_OK, 3, OP_WRITE);
	compound_free(c);
	assert_int_equal(calls[OP_WRITE], 1);

	/* the estimate fits, the real result does not: replaced after encoding */
	ops[2] = op_getattr();
	t_lim.maxresp = 2048;
	t_attr_len = 4000;
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_REP_TOO_BIG, 3, OP_GETATTR);
	compound_free(c);
	assert_int_equal(calls[OP_GETATTR], 1);
	t_attr_len = 1500;
	c = run_ops(1, ops, 3);
	expect(c, NFS4_OK, 3, OP_GETATTR);
	compound_free(c);
}

static void test_rep_too_big_to_cache(void **state)
{
	nfs_argop4 ops[] = {op_sequence(true), op_plain(OP_PUTROOTFH), op_getattr()};
	struct compound *c;

	(void)state;
	t_lim.maxresp_cached = 256;
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_REP_TOO_BIG_TO_CACHE, 3, OP_GETATTR);
	compound_free(c);
	assert_int_equal(calls[OP_GETATTR], 0);

	/* the same without sa_cachethis is fine */
	ops[0] = op_sequence(false);
	c = run_ops(1, ops, 3);
	expect(c, NFS4_OK, 3, OP_GETATTR);
	assert_false(compound_reply_cacheable(c));
	compound_free(c);

	/* and a cached reply that fits says so */
	ops[0] = op_sequence(true);
	t_lim.maxresp_cached = 4096;
	c = run_ops(1, ops, 3);
	expect(c, NFS4_OK, 3, OP_GETATTR);
	assert_true(compound_reply_cacheable(c));
	compound_free(c);

	/* past both limits, REP_TOO_BIG wins */
	t_lim.maxresp_cached = 256;
	t_lim.maxresp = 300;
	c = run_ops(1, ops, 3);
	expect(c, NFS4ERR_REP_TOO_BIG, 3, OP_GETATTR);
	compound_free(c);
}

static void test_reply_limit_v40(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH), op_getattr()};
	struct compound *c;

	(void)state;
	cfg.max_reply = 2048;
	t_attr_len = 3000;
	c = run_ops(0, ops, 2);
	expect(c, NFS4ERR_RESOURCE, 2, OP_GETATTR);
	compound_free(c);
	t_attr_len = 100;
	c = run_ops(0, ops, 2);
	expect(c, NFS4_OK, 2, OP_GETATTR);
	compound_free(c);
}

/* The trace hook sees every result, in order, with the table's names. */
static char trace[256];

static void trace_op(struct compound *c, uint32_t op, nfsstat4 st)
{
	size_t n = strlen(trace);

	snprintf(trace + n, sizeof(trace) - n, "%s%s:%d", n ? " " : "", optable_name(c->ops, op),
		 (int)st);
}

static void test_on_op_hook(void **state)
{
	nfs_argop4 ops[] = {op_sequence(false), op_plain(OP_PUTROOTFH), op_lookup("missing"),
			    op_plain(OP_GETFH)};
	struct compound *c;
	u_int len;

	(void)state;
	cfg.on_op = trace_op;
	trace[0] = 0;
	c = run_ops(1, ops, 4);
	compound_free(c);
	assert_string_equal(trace, "SEQUENCE:0 PUTROOTFH:0 LOOKUP:2");

	trace[0] = 0;
	len = encode_call("t", 0, ops + 1, 2);
	patch_word(20, 9999);
	c = run_body(len, false);
	compound_free(c);
	assert_string_equal(trace, "PUTROOTFH:0 ILLEGAL:10044");
}

/* The op table itself: names and the rules' flags. */
static void test_optable(void **state)
{
	struct op_table t;

	(void)state;
	optable_init(&t);
	assert_string_equal(optable_name(&t, OP_ACCESS), "ACCESS");
	assert_string_equal(optable_name(&t, OP_READ), "READ");
	assert_string_equal(optable_name(&t, OP_REMOVEXATTR), "REMOVEXATTR");
	assert_string_equal(optable_name(&t, OP_ILLEGAL), "ILLEGAL");
	assert_string_equal(optable_name(&t, 2), "UNKNOWN");
	assert_string_equal(optable_name(&t, 9999), "UNKNOWN");
	for (uint32_t op = 0; op < OPTABLE_SIZE; op++) {
		const struct op_desc *d = optable_lookup(&t, op);

		if (op < OP_ACCESS) {
			assert_null(d);
			continue;
		}
		assert_non_null(d);
		assert_null(d->handler);
		assert_true(d->rsize >= 8);
		assert_true(d->min_minor <= d->max_minor && d->max_minor <= 2);
	}
	for (uint32_t op = OP_ACCESS; op < OPTABLE_SIZE; op++) {
		bool first = op == OP_SEQUENCE || op == OP_EXCHANGE_ID ||
			     op == OP_CREATE_SESSION || op == OP_DESTROY_SESSION ||
			     op == OP_BIND_CONN_TO_SESSION || op == OP_DESTROY_CLIENTID;
		bool v40 = op == OP_SETCLIENTID || op == OP_SETCLIENTID_CONFIRM ||
			   op == OP_RENEW || op == OP_OPEN_CONFIRM || op == OP_RELEASE_LOCKOWNER;

		assert_int_equal(!!(t.ops[op].flags & OPF_ALLOWED_FIRST), first);
		assert_int_equal(t.ops[op].max_minor == 0, v40);
		assert_int_equal(t.ops[op].min_minor,
				 op >= OP_ALLOCATE ? 2 : op >= OP_BACKCHANNEL_CTL ? 1 : 0);
	}
	assert_true(t.ops[OP_READ].flags & OPF_NEEDS_FH);
	assert_false(t.ops[OP_PUTFH].flags & OPF_NEEDS_FH);
	assert_true(t.ops[OP_WRITE].flags & OPF_MODIFIES);
	assert_false(t.ops[OP_READ].flags & OPF_MODIFIES);
	assert_false(optable_set_handler(&t, 9999, h_ok));
	assert_false(optable_set_handler(&t, 1, h_ok));
	assert_true(optable_set_handler(&t, OP_READ, h_ok));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sequence_first_ok, setup),
		cmocka_unit_test_setup(test_op_not_in_session, setup),
		cmocka_unit_test_setup(test_sequence_pos, setup),
		cmocka_unit_test_setup(test_not_only_op, setup),
		cmocka_unit_test_setup(test_nofilehandle, setup),
		cmocka_unit_test_setup(test_stop_at_first_error, setup),
		cmocka_unit_test_setup(test_minor_version_range, setup),
		cmocka_unit_test_setup(test_ops_of_other_minor_versions, setup),
		cmocka_unit_test_setup(test_unimplemented_is_notsupp, setup),
		cmocka_unit_test_setup(test_illegal_opcode, setup),
		cmocka_unit_test_setup(test_badxdr_in_args, setup),
		cmocka_unit_test_setup(test_garbage_header, setup),
		cmocka_unit_test_setup(test_ten_thousand_ops, setup),
		cmocka_unit_test_setup(test_op_count_limits, setup),
		cmocka_unit_test_setup(test_rep_too_big, setup),
		cmocka_unit_test_setup(test_rep_too_big_to_cache, setup),
		cmocka_unit_test_setup(test_reply_limit_v40, setup),
		cmocka_unit_test_setup(test_on_op_hook, setup),
		cmocka_unit_test_setup(test_optable, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

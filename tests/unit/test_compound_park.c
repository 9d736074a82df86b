/* cmocka tests of parking and of the reply: an op parks, the compound waits, a completion
 * resumes it and the loop carries on; READ data leaves as iovecs of its own; the whole
 * reply (RPC header room, buffer segments, data iovecs) decodes back with the generated
 * COMPOUND4res decoder. */
#include "test_compound_util.h"

static char fh5[] = {1, 2, 3, 4, 5};
static char part1[] = "hello ";
static char part2[] = "world"; /* 11 bytes in all: one byte of XDR padding */
static unsigned released;

static void on_release(void *arg)
{
	assert_ptr_equal(arg, &released);
	released++;
}

/* The storage completion of a READ: data from two "cache pages", pinned until freed. */
static void complete_read(struct compound *c, bool eof)
{
	nfs_resop4 *r = compound_result(c);

	assert_int_equal(r->resop, OP_READ);
	r->nfs_resop4_u.opread.READ4res_u.resok4.eof = eof;
	assert_int_equal(compound_add_payload(c, part1, 6), 0);
	assert_int_equal(compound_add_payload(c, part2, 5), 0);
	assert_int_equal(compound_on_release(c, on_release, &released), 0);
}

static bool iov_points_at(struct compound *c, const void *p, size_t len)
{
	const struct iovec *iov;
	unsigned niov;
	size_t total;

	iov = compound_reply(c, &niov, &total);
	for (unsigned i = 0; i < niov; i++)
		if (iov[i].iov_base == p && iov[i].iov_len == len)
			return true;
	return false;
}

static void test_park_and_resume_read(void **state)
{
	nfs_argop4 ops[] = {op_sequence(false), op_putfh(fh5, sizeof(fh5)), op_read(0, 11),
			    op_plain(OP_GETFH)};
	struct compound *c;
	COMPOUND4res res;
	READ4resok *rd;
	nfs_fh4 *fh;
	const struct iovec *iov;
	unsigned niov;
	size_t len, len2;
	unsigned char *hdr;

	(void)state;
	released = 0;
	c = run_body(encode_call("park", 1, ops, 4), true);
	assert_ptr_equal(t_parked, c);
	assert_int_equal(compound_nresults(c), 2);
	assert_null(compound_reply(c, &niov, &len)); /* not done yet */
	assert_int_equal(calls[OP_GETFH], 0);

	/* later, from the io_uring completion */
	complete_read(c, true);
	compound_resume(c, NFS4_OK);
	assert_int_equal(done_calls, 1);
	assert_ptr_equal(done_c, c);
	assert_int_equal(calls[OP_GETFH], 1);

	/* the data was not copied: its iovecs point at the "pages" */
	assert_true(iov_points_at(c, part1, 6));
	assert_true(iov_points_at(c, part2, 5));

	reply_decode(c, &res);
	assert_int_equal(res.status, NFS4_OK);
	assert_int_equal(res.tag.utf8string_len, 4);
	assert_memory_equal(res.tag.utf8string_val, "park", 4);
	assert_int_equal(res.resarray.resarray_len, 4);
	assert_int_equal(res.resarray.resarray_val[2].resop, OP_READ);
	rd = &res.resarray.resarray_val[2].nfs_resop4_u.opread.READ4res_u.resok4;
	assert_true(rd->eof);
	assert_int_equal(rd->data.data_len, 11);
	assert_memory_equal(rd->data.data_val, "hello world", 11);
	fh = &res.resarray.resarray_val[3].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object;
	assert_int_equal(fh->nfs_fh4_len, sizeof(fh5));
	assert_memory_equal(fh->nfs_fh4_val, fh5, sizeof(fh5));
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);

	/* the RPC layer puts its header in front, inside the first iovec */
	iov = compound_reply(c, &niov, &len);
	hdr = compound_reply_prepend(c, 28);
	assert_non_null(hdr);
	memset(hdr, 0xee, 28);
	iov = compound_reply(c, &niov, &len2);
	assert_int_equal(len2, len + 28);
	assert_ptr_equal(iov[0].iov_base, hdr);
	assert_null(compound_reply_prepend(c, cfg.rpc_reserve)); /* no more room than that */
	assert_non_null(compound_reply_prepend(c, cfg.rpc_reserve - 28));

	assert_int_equal(released, 0);
	compound_free(c);
	assert_int_equal(released, 1);
}

/* The completion arrives before the handler has returned OP_PARKED (a cache hit handled
 * inline): the compound carries on without waiting, and on_done fires inside start. */
static void test_resume_before_return(void **state)
{
	nfs_argop4 ops[] = {op_putfh(fh5, sizeof(fh5)), op_read(0, 0), op_plain(OP_GETFH)};
	struct compound *c;
	COMPOUND4res res;

	(void)state;
	t_resume_inline = true;
	c = run_ops(0, ops, 3);
	reply_decode(c, &res);
	assert_int_equal(res.status, NFS4_OK);
	assert_int_equal(res.resarray.resarray_len, 3);
	assert_int_equal(res.resarray.resarray_val[1].nfs_resop4_u.opread.READ4res_u.resok4
				 .data.data_len,
			 0);
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	compound_free(c);

	/* and an inline failure stops the compound as usual */
	t_inline_status = NFS4ERR_IO;
	c = run_ops(0, ops, 3);
	expect(c, NFS4ERR_IO, 2, OP_READ);
	compound_free(c);
	assert_int_equal(calls[OP_GETFH], 1);
}

/* A READ that fails after parking: its data (if any was attached) stays out of the reply,
 * the compound stops, the release callbacks still run. */
static void test_resume_with_error(void **state)
{
	nfs_argop4 ops[] = {op_putfh(fh5, sizeof(fh5)), op_read(0, 11), op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	released = 0;
	c = run_body(encode_call("t", 0, ops, 3), true);
	complete_read(c, false);
	compound_resume(c, NFS4ERR_IO);
	assert_int_equal(done_calls, 1);
	expect(c, NFS4ERR_IO, 2, OP_READ);
	assert_false(iov_points_at(c, part1, 6));
	compound_free(c);
	assert_int_equal(released, 1);
	assert_int_equal(calls[OP_GETFH], 0);
}

/* The connection goes away while an op is parked: free marks the compound, the completion
 * finishes it without on_done, and then it is really freed (ASan checks the rest). */
static void test_free_while_parked(void **state)
{
	nfs_argop4 ops[] = {op_putfh(fh5, sizeof(fh5)), op_read(0, 11), op_plain(OP_GETFH)};
	struct compound *c;

	(void)state;
	released = 0;
	c = run_body(encode_call("t", 0, ops, 3), true);
	compound_free(c);
	assert_int_equal(released, 0);
	complete_read(c, true);
	compound_resume(c, NFS4_OK);
	assert_int_equal(done_calls, 0);
	assert_int_equal(released, 1);
}

/* Several parks in one compound, each resumed later. */
static void test_two_parks(void **state)
{
	nfs_argop4 ops[] = {op_sequence(false), op_putfh(fh5, sizeof(fh5)), op_read(0, 11),
			    op_read(11, 11), op_plain(OP_GETFH)};
	struct compound *c;
	COMPOUND4res res;

	(void)state;
	released = 0;
	c = run_body(encode_call("t", 2, ops, 5), true);
	complete_read(c, false);
	compound_resume(c, NFS4_OK);
	assert_int_equal(done_calls, 0);
	assert_int_equal(compound_nresults(c), 3);
	complete_read(c, true);
	compound_resume(c, NFS4_OK);
	assert_int_equal(done_calls, 1);
	reply_decode(c, &res);
	assert_int_equal(res.resarray.resarray_len, 5);
	for (int i = 2; i <= 3; i++) {
		READ4resok *rd =
			&res.resarray.resarray_val[i].nfs_resop4_u.opread.READ4res_u.resok4;

		assert_int_equal(rd->data.data_len, 11);
		assert_memory_equal(rd->data.data_val, "hello world", 11);
		assert_int_equal(rd->eof, i == 3);
	}
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	compound_free(c);
	assert_int_equal(released, 2);
}

/* Data lengths 0..8 exercise every XDR padding; READ data of 1 MiB counts against the
 * reply limit though it is not in the buffer. */
static void test_read_padding_and_limit(void **state)
{
	static char big[1u << 20];
	nfs_argop4 ops[] = {op_putfh(fh5, sizeof(fh5)), op_read(0, 0), op_plain(OP_GETFH)};
	struct compound *c;
	COMPOUND4res res;

	(void)state;
	for (size_t n = 0; n <= 8; n++) {
		c = run_body(encode_call("t", 0, ops, 3), true);
		compound_result(c)->nfs_resop4_u.opread.READ4res_u.resok4.eof = TRUE;
		if (n)
			assert_int_equal(compound_add_payload(c, "abcdefgh", n), 0);
		compound_resume(c, NFS4_OK);
		reply_decode(c, &res);
		assert_int_equal(res.resarray.resarray_len, 3);
		assert_int_equal(res.resarray.resarray_val[1]
					 .nfs_resop4_u.opread.READ4res_u.resok4.data.data_len,
				 n);
		if (n)
			assert_memory_equal(res.resarray.resarray_val[1]
						    .nfs_resop4_u.opread.READ4res_u.resok4.data
						    .data_val,
					    "abcdefgh", n);
		xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
		compound_free(c);
	}

	/* a payload past max_reply: the READ is answered with the limit error instead */
	cfg.max_reply = 64 * 1024;
	c = run_body(encode_call("t", 0, ops, 3), true);
	assert_true(compound_reply_room(c) < 64 * 1024);
	assert_int_equal(compound_add_payload(c, big, sizeof(big)), 0);
	compound_resume(c, NFS4_OK);
	expect(c, NFS4ERR_RESOURCE, 2, OP_READ);
	assert_false(iov_points_at(c, big, sizeof(big)));
	compound_free(c);

	/* payload is for READ only */
	ops[1] = op_plain(OP_GETFH);
	c = run_ops(0, ops, 2);
	assert_int_equal(compound_add_payload(c, big, 1), -EINVAL);
	compound_free(c);
}

/* Results that overflow the first reply chunk go on in new chunks; the bytes decode whole. */
static void test_reply_spans_chunks(void **state)
{
	nfs_argop4 ops[41];
	struct compound *c;
	COMPOUND4res res;
	const struct iovec *iov;
	unsigned niov;
	size_t len;

	(void)state;
	t_attr_len = 999; /* odd: padded */
	ops[0] = op_plain(OP_PUTROOTFH);
	for (int i = 1; i < 41; i++)
		ops[i] = op_getattr();
	c = run_ops(0, ops, 41);
	iov = compound_reply(c, &niov, &len);
	assert_non_null(iov);
	assert_true(niov >= 1);
	assert_true(len > 40 * 1000);
	reply_decode(c, &res);
	assert_int_equal(res.status, NFS4_OK);
	assert_int_equal(res.resarray.resarray_len, 41);
	for (int i = 1; i < 41; i++) {
		fattr4 *a = &res.resarray.resarray_val[i]
				     .nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes;

		assert_int_equal(a->attr_vals.attrlist4_len, 999);
		for (u_int k = 0; k < 999; k++)
			assert_int_equal((unsigned char)a->attr_vals.attrlist4_val[k], k & 0xff);
	}
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	compound_free(c);

	/* one result bigger than a whole chunk */
	t_attr_len = 200 * 1024;
	c = run_ops(0, ops, 3);
	reply_decode(c, &res);
	assert_int_equal(res.resarray.resarray_len, 3);
	assert_int_equal(res.resarray.resarray_val[2]
				 .nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes
				 .attr_vals.attrlist4_len,
			 200 * 1024);
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	compound_free(c);

	/* past the arena's cap: SERVERFAULT for that op, the reply still decodes */
	cfg.arena_cap = 128 * 1024;
	c = run_ops(0, ops, 3);
	expect(c, NFS4ERR_SERVERFAULT, 2, OP_GETATTR);
	compound_free(c);
}

/* Every reply, even an error one, leaves rpc_reserve bytes in front for the RPC header. */
static void test_minor_mismatch_reply_room(void **state)
{
	nfs_argop4 ops[] = {op_plain(OP_PUTROOTFH)};
	struct compound *c;
	unsigned char *hdr;
	const struct iovec *iov;
	unsigned niov;
	size_t len;

	(void)state;
	c = run_ops(7, ops, 1);
	iov = compound_reply(c, &niov, &len);
	assert_non_null(iov);
	assert_int_equal(len, 4 + 8 + 4); /* status, tag "t", no results */
	hdr = compound_reply_prepend(c, 24);
	assert_non_null(hdr);
	iov = compound_reply(c, &niov, &len);
	assert_int_equal(len, 24 + 16);
	assert_int_equal(niov, 1);
	compound_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_park_and_resume_read, setup),
		cmocka_unit_test_setup(test_resume_before_return, setup),
		cmocka_unit_test_setup(test_resume_with_error, setup),
		cmocka_unit_test_setup(test_free_while_parked, setup),
		cmocka_unit_test_setup(test_two_parks, setup),
		cmocka_unit_test_setup(test_read_padding_and_limit, setup),
		cmocka_unit_test_setup(test_reply_spans_chunks, setup),
		cmocka_unit_test_setup(test_minor_mismatch_reply_room, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cmocka tests of RPC call decoding and reply headers (server/rpc.c).
 *
 * Calls are built by hand, big-endian word by word, so the tests do not share the code's
 * use of libtirpc: a misunderstanding of XDR in one would not cancel out in the other.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

struct msg {
	uint8_t b[2048];
	size_t n;
};

static void w32(struct msg *m, uint32_t v)
{
	assert_true(m->n + 4 <= sizeof(m->b));
	m->b[m->n++] = (uint8_t)(v >> 24);
	m->b[m->n++] = (uint8_t)(v >> 16);
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

static void wbytes(struct msg *m, const void *p, size_t len)
{
	assert_true(m->n + len + 3 <= sizeof(m->b));
	memcpy(m->b + m->n, p, len);
	m->n += len;
	while (m->n % 4)
		m->b[m->n++] = 0;
}

/* opaque<> / string<>: length, bytes, padding. */
static void wopaque(struct msg *m, const void *p, size_t len)
{
	w32(m, (uint32_t)len);
	wbytes(m, p, len);
}

struct call_spec {
	uint32_t xid, mtype, rpcvers, prog, vers, proc;
	uint32_t cred_flavor;
	const struct msg *cred_body; /* NULL: empty */
	uint32_t verf_flavor;
	const char *args; /* procedure arguments, NULL for none */
};

static struct call_spec nfs_call(void)
{
	return (struct call_spec){
		.xid = 0x01020304,
		.mtype = CALL,
		.rpcvers = 2,
		.prog = 100003,
		.vers = 4,
		.proc = 0,
		.cred_flavor = AUTH_NONE,
		.verf_flavor = AUTH_NONE,
	};
}

static void build(struct msg *m, const struct call_spec *s)
{
	m->n = 0;
	w32(m, s->xid);
	w32(m, s->mtype);
	w32(m, s->rpcvers);
	w32(m, s->prog);
	w32(m, s->vers);
	w32(m, s->proc);
	w32(m, s->cred_flavor);
	if (s->cred_body)
		wopaque(m, s->cred_body->b, s->cred_body->n);
	else
		w32(m, 0);
	w32(m, s->verf_flavor);
	w32(m, 0);
	if (s->args)
		wbytes(m, s->args, strlen(s->args));
}

/* RFC 5531 appendix A authsys_parms. */
static void authsys(struct msg *m, uint32_t stamp, const char *name, size_t namelen, uint32_t uid,
		    uint32_t gid, uint32_t ngids)
{
	m->n = 0;
	w32(m, stamp);
	wopaque(m, name, namelen);
	w32(m, uid);
	w32(m, gid);
	w32(m, ngids);
	for (uint32_t i = 0; i < ngids; i++)
		w32(m, 1000 + i);
}

static enum rpc_verdict decode(const struct call_spec *s, struct rpc_call *call, struct msg *m)
{
	build(m, s);
	return rpc_decode_call(m->b, m->n, call);
}

/* The reply bytes as words, for byte-exact comparisons. */
static void expect_words(const uint8_t *buf, size_t n, const uint32_t *words, size_t nwords)
{
	struct msg want = {0};

	for (size_t i = 0; i < nwords; i++)
		w32(&want, words[i]);
	assert_int_equal(n, want.n);
	assert_memory_equal(buf, want.b, n);
}

static void test_null_call_accepted(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	(void)state;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_OK);
	assert_int_equal(call.xid, 0x01020304);
	assert_int_equal(call.proc, RPC_NFSPROC_NULL);
	assert_int_equal(call.cred_flavor, AUTH_NONE);
	assert_int_equal(call.body_len, 0);
	assert_ptr_equal(call.body, m.b + m.n);

	/* The NULL reply is the bare accepted header: RFC 5531 §9, AUTH_NONE verifier. */
	n = rpc_encode_accept(out, sizeof(out), call.xid, SUCCESS);
	assert_int_equal(n, RPC_REPLY_ACCEPT_SIZE);
	expect_words(out, n, (const uint32_t[]){0x01020304, REPLY, MSG_ACCEPTED, AUTH_NONE, 0,
						 SUCCESS},
		     6);
	assert_memory_equal(out, "\x01\x02\x03\x04\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
}

static void test_body_points_into_record(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;

	(void)state;
	s.proc = RPC_NFSPROC_COMPOUND;
	s.args = "COMPOUND4args...";
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_OK);
	assert_int_equal(call.proc, RPC_NFSPROC_COMPOUND);
	assert_int_equal(call.body_len, 16);
	assert_ptr_equal(call.body, m.b + 40);
	assert_memory_equal(call.body, "COMPOUND4args...", 16);
}

static void test_authsys_good(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m, cred;
	char name[255];

	(void)state;
	authsys(&cred, 77, "client1", 7, 1001, 100, 3);
	s.cred_flavor = AUTH_SYS;
	s.cred_body = &cred;
	s.proc = RPC_NFSPROC_COMPOUND;
	s.args = "args";
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_OK);
	assert_int_equal(call.cred_flavor, AUTH_SYS);
	assert_int_equal(call.sys.stamp, 77);
	assert_int_equal(call.sys.machinename_len, 7);
	assert_string_equal(call.sys.machinename, "client1");
	assert_int_equal(call.sys.uid, 1001);
	assert_int_equal(call.sys.gid, 100);
	assert_int_equal(call.sys.ngids, 3);
	assert_int_equal(call.sys.gids[0], 1000);
	assert_int_equal(call.sys.gids[2], 1002);
	assert_int_equal(call.body_len, 4);
	assert_memory_equal(call.body, "args", 4);

	/* The limits themselves are fine: a 255-byte name and 16 groups (340 bytes). */
	memset(name, 'n', sizeof(name));
	authsys(&cred, 1, name, 255, 0, 0, 16);
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_OK);
	assert_int_equal(call.sys.machinename_len, 255);
	assert_int_equal(strlen(call.sys.machinename), 255);
	assert_int_equal(call.sys.ngids, 16);
	assert_int_equal(call.sys.gids[15], 1015);

	/* An empty name and no groups. */
	authsys(&cred, 1, "", 0, 5, 6, 0);
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_OK);
	assert_int_equal(call.sys.uid, 5);
	assert_int_equal(call.sys.ngids, 0);
}

static void expect_auth_error(const struct call_spec *s, enum auth_stat why)
{
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	assert_int_equal(decode(s, &call, &m), RPC_CALL_AUTH_ERROR);
	assert_int_equal(call.auth_why, why);
	assert_int_equal(call.xid, s->xid);
	n = rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_AUTH_ERROR);
	expect_words(out, n, (const uint32_t[]){s->xid, REPLY, MSG_DENIED, AUTH_ERROR, why}, 5);
}

static void test_authsys_too_many_gids(void **state)
{
	struct call_spec s = nfs_call();
	struct msg cred;

	(void)state;
	authsys(&cred, 1, "c", 1, 0, 0, 17);
	s.cred_flavor = AUTH_SYS;
	s.cred_body = &cred;
	expect_auth_error(&s, AUTH_BADCRED);
}

static void test_authsys_long_machinename(void **state)
{
	struct call_spec s = nfs_call();
	struct msg cred;
	char name[256];

	(void)state;
	memset(name, 'n', sizeof(name));
	authsys(&cred, 1, name, 256, 0, 0, 0);
	s.cred_flavor = AUTH_SYS;
	s.cred_body = &cred;
	expect_auth_error(&s, AUTH_BADCRED);
}

static void test_authsys_malformed(void **state)
{
	struct call_spec s = nfs_call();
	struct msg cred, m;
	struct rpc_call call;

	(void)state;
	s.cred_flavor = AUTH_SYS;
	s.cred_body = &cred;

	/* Cut short: the gids count promises more than the body holds. */
	authsys(&cred, 1, "c", 1, 0, 0, 4);
	cred.n -= 8;
	expect_auth_error(&s, AUTH_BADCRED);

	/* Bytes left over after the last gid. */
	authsys(&cred, 1, "c", 1, 0, 0, 1);
	w32(&cred, 0xdeadbeef);
	expect_auth_error(&s, AUTH_BADCRED);

	/* machinename length larger than the whole credential. */
	cred.n = 0;
	w32(&cred, 1);
	w32(&cred, 200);
	w32(&cred, 0);
	expect_auth_error(&s, AUTH_BADCRED);

	/* An empty AUTH_SYS body. */
	cred.n = 0;
	expect_auth_error(&s, AUTH_BADCRED);

	/* A credential body over the 400 bytes of opaque_auth (RFC 5531 §8.2). */
	cred.n = 0;
	for (int i = 0; i < 101; i++)
		w32(&cred, 0);
	s.cred_flavor = AUTH_NONE;
	expect_auth_error(&s, AUTH_BADCRED);

	/* A credential length running past the end of the record. */
	s = nfs_call();
	build(&m, &s);
	m.b[7 * 4 + 3] = 64; /* cred length: 64 bytes, the record has 8 left */
	assert_int_equal(rpc_decode_call(m.b, m.n, &call), RPC_CALL_AUTH_ERROR);
	assert_int_equal(call.auth_why, AUTH_BADCRED);
}

static void test_unsupported_flavors(void **state)
{
	struct call_spec s = nfs_call();
	struct msg cred;

	(void)state;
	cred.n = 0;
	w32(&cred, 1);
	w32(&cred, 2);
	s.cred_body = &cred;
	/* RPCSEC_GSS, AUTH_SHORT, AUTH_DH, something unassigned: a valid call we do not speak. */
	s.cred_flavor = RPCSEC_GSS;
	expect_auth_error(&s, AUTH_REJECTEDCRED);
	s.cred_flavor = AUTH_SHORT;
	expect_auth_error(&s, AUTH_REJECTEDCRED);
	s.cred_flavor = AUTH_DH;
	expect_auth_error(&s, AUTH_REJECTEDCRED);
	s.cred_flavor = 390003; /* a pseudo-flavor never travels on the wire */
	expect_auth_error(&s, AUTH_REJECTEDCRED);
}

static void test_bad_verifier(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;

	(void)state;
	s.verf_flavor = AUTH_SYS;
	expect_auth_error(&s, AUTH_BADVERF);

	/* A verifier cut off by the end of the record. */
	s = nfs_call();
	build(&m, &s);
	assert_int_equal(rpc_decode_call(m.b, m.n - 2, &call), RPC_CALL_AUTH_ERROR);
	assert_int_equal(call.auth_why, AUTH_BADVERF);
}

static void test_rpc_mismatch(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	(void)state;
	s.rpcvers = 3;
	s.cred_flavor = 12345; /* the version is checked first: nothing after it matters */
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_RPC_MISMATCH);
	assert_int_equal(call.xid, s.xid);
	n = rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_RPC_MISMATCH);
	/* RFC 5531 §9 rejected_reply: RPC_MISMATCH with mismatch_info low = high = 2. */
	expect_words(out, n, (const uint32_t[]){0x01020304, REPLY, MSG_DENIED, RPC_MISMATCH, 2, 2},
		     6);
	assert_memory_equal(out, "\x01\x02\x03\x04\0\0\0\x01\0\0\0\x01\0\0\0\0\0\0\0\x02\0\0\0\x02",
			    24);

	/* Even when the record ends right after rpcvers. */
	assert_int_equal(rpc_decode_call(m.b, 12, &call), RPC_CALL_RPC_MISMATCH);
}

static void test_prog_unavail(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	(void)state;
	s.prog = 100005; /* MOUNT: NFSv4 has no MOUNT protocol */
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_PROG_UNAVAIL);
	n = rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_PROG_UNAVAIL);
	expect_words(out, n,
		     (const uint32_t[]){s.xid, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, PROG_UNAVAIL}, 6);

	/* Credentials are judged before the program (a stranger learns nothing). */
	s.cred_flavor = RPCSEC_GSS;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_AUTH_ERROR);
}

static void test_prog_mismatch(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	(void)state;
	s.vers = 3;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_PROG_MISMATCH);
	n = rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_PROG_MISMATCH);
	/* accepted_reply PROG_MISMATCH: mismatch_info low = high = 4. */
	expect_words(out, n,
		     (const uint32_t[]){s.xid, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, PROG_MISMATCH, 4,
					4},
		     8);
	assert_int_equal(n, RPC_REPLY_HDR_MAX);
}

static void test_proc_unavail(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];
	size_t n;

	(void)state;
	s.proc = 2;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_PROC_UNAVAIL);
	n = rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_PROC_UNAVAIL);
	expect_words(out, n,
		     (const uint32_t[]){s.xid, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, PROC_UNAVAIL}, 6);
	s.proc = 0xffffffff;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_PROC_UNAVAIL);
}

static void test_dropped(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m;
	uint8_t out[64];

	(void)state;
	/* A REPLY sent to the server. */
	s.mtype = REPLY;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_DROP);
	s.mtype = 7;
	assert_int_equal(decode(&s, &call, &m), RPC_CALL_DROP);
	/* Too short for an xid and a message type, or cut inside prog/vers/proc. */
	s = nfs_call();
	build(&m, &s);
	assert_int_equal(rpc_decode_call(m.b, 0, &call), RPC_CALL_DROP);
	assert_int_equal(rpc_decode_call(m.b, 7, &call), RPC_CALL_DROP);
	assert_int_equal(rpc_decode_call(m.b, 8, &call), RPC_CALL_DROP);
	assert_int_equal(rpc_decode_call(m.b, 20, &call), RPC_CALL_DROP);
	/* Nothing to say for OK and DROP. */
	assert_int_equal(rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_DROP), 0);
	assert_int_equal(rpc_encode_verdict(out, sizeof(out), &call, RPC_CALL_OK), 0);
}

static void test_every_truncation_is_safe(void **state)
{
	struct call_spec s = nfs_call();
	struct rpc_call call;
	struct msg m, cred;

	(void)state;
	authsys(&cred, 9, "host.example", 12, 1, 2, 5);
	s.cred_flavor = AUTH_SYS;
	s.cred_body = &cred;
	s.proc = 1;
	s.args = "abcdefgh";
	build(&m, &s);
	/* ASan watches the reads; none may return OK with a body outside the record. */
	for (size_t len = 0; len <= m.n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		enum rpc_verdict v;

		memcpy(copy, m.b, len);
		v = rpc_decode_call(copy, len, &call);
		if (len < m.n - 8)
			assert_int_not_equal(v, RPC_CALL_OK);
		if (v == RPC_CALL_OK)
			assert_true(call.body >= copy && call.body + call.body_len == copy + len);
		free(copy);
	}
}

static void test_encoders(void **state)
{
	uint8_t out[64];
	size_t n;

	(void)state;
	n = rpc_encode_accept(out, sizeof(out), 42, GARBAGE_ARGS);
	expect_words(out, n,
		     (const uint32_t[]){42, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, GARBAGE_ARGS}, 6);
	n = rpc_encode_accept(out, sizeof(out), 42, SYSTEM_ERR);
	expect_words(out, n, (const uint32_t[]){42, REPLY, MSG_ACCEPTED, AUTH_NONE, 0, SYSTEM_ERR},
		     6);
	/* The export layer's answer to a flavor it does not allow. */
	n = rpc_encode_reject(out, sizeof(out), 43, AUTH_ERROR, AUTH_TOOWEAK);
	expect_words(out, n, (const uint32_t[]){43, REPLY, MSG_DENIED, AUTH_ERROR, AUTH_TOOWEAK},
		     5);
	/* No room: nothing claimed written. */
	assert_int_equal(rpc_encode_accept(out, RPC_REPLY_ACCEPT_SIZE - 1, 1, SUCCESS), 0);
	assert_int_equal(rpc_encode_accept(out, RPC_REPLY_ACCEPT_SIZE + 4, 1, PROG_MISMATCH), 0);
	assert_int_equal(rpc_encode_reject(out, 12, 1, RPC_MISMATCH, AUTH_OK), 0);
	assert_int_equal(rpc_encode_accept(out, RPC_REPLY_ACCEPT_SIZE, 1, SUCCESS),
			 RPC_REPLY_ACCEPT_SIZE);
	assert_string_equal(rpc_verdict_name(RPC_CALL_PROG_MISMATCH), "prog_mismatch");
	assert_string_equal(rpc_auth_stat_name(AUTH_REJECTEDCRED), "AUTH_REJECTEDCRED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_call_accepted),
		cmocka_unit_test(test_body_points_into_record),
		cmocka_unit_test(test_authsys_good),
		cmocka_unit_test(test_authsys_too_many_gids),
		cmocka_unit_test(test_authsys_long_machinename),
		cmocka_unit_test(test_authsys_malformed),
		cmocka_unit_test(test_unsupported_flavors),
		cmocka_unit_test(test_bad_verifier),
		cmocka_unit_test(test_rpc_mismatch),
		cmocka_unit_test(test_prog_unavail),
		cmocka_unit_test(test_prog_mismatch),
		cmocka_unit_test(test_proc_unavail),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_every_truncation_is_safe),
		cmocka_unit_test(test_encoders),
	};
	return cmocka_run_group_tests_name("rpc_header", tests, NULL, NULL);
}

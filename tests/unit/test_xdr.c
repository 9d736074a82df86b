/* cmocka tests of the NFSv4 codec generated from xdr/nfs4.x by rpcgen: round trips through
 * xdrmem for the arguments and results a read-only server needs first, a few encodings checked
 * byte for byte, truncated input, and the bounds the IDL puts on opaque data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "nfs4.h"

#define WIRE_MAX 16384

/* one XDR word, big-endian, as bytes of an expected encoding */
#define W(v)                                                                                   \
	(unsigned char)((uint32_t)(v) >> 24), (unsigned char)((uint32_t)(v) >> 16),            \
		(unsigned char)((uint32_t)(v) >> 8), (unsigned char)(uint32_t)(v)

#define UTF8(s) {.utf8string_len = sizeof(s) - 1, .utf8string_val = (char *)(s)}

static const unsigned char sessid[NFS4_SESSIONID_SIZE] = {0, 1, 2,  3,  4,  5,  6,  7,
							   8, 9, 10, 11, 12, 13, 14, 15};
static char fh5[] = {1, 2, 3, 4, 5};
static uint32_t getattr_words[2] = {0x0010011a, 0x00b0a23a};
/* attribute values for mask {TYPE, SIZE}: type NF4DIR, size 4096 */
static char type_size_vals[12] = {0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x10, 0};
static uint32_t type_size_mask[1] = {(1u << FATTR4_TYPE) | (1u << FATTR4_SIZE)};

/* ---- helpers -------------------------------------------------------------------------- */

static u_int xdr_encode_obj(xdrproc_t proc, void *obj, char *buf, u_int cap)
{
	XDR x;
	u_int len;

	xdrmem_create(&x, buf, cap, XDR_ENCODE);
	assert_true(proc(&x, obj));
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	return len;
}

static bool_t xdr_decode_obj(xdrproc_t proc, void *obj, const char *buf, u_int len)
{
	XDR x;
	bool_t ok;

	xdrmem_create(&x, (char *)buf, len, XDR_DECODE);
	ok = proc(&x, obj);
	xdr_destroy(&x);
	return ok;
}

/* Encode in, decode it into out (zeroed first), encode out again: both encodings must match.
 * The first encoding is left in wire; returns its length. The caller checks and frees out. */
static u_int round_trip(xdrproc_t proc, void *in, void *out, size_t out_size, char *wire)
{
	static char again[WIRE_MAX];
	u_int len, len2;

	len = xdr_encode_obj(proc, in, wire, WIRE_MAX);
	assert_true(len > 0);
	assert_int_equal(len % 4, 0);
	memset(out, 0, out_size);
	assert_true(xdr_decode_obj(proc, out, wire, len));
	len2 = xdr_encode_obj(proc, out, again, WIRE_MAX);
	assert_int_equal(len2, len);
	assert_memory_equal(again, wire, len);
	return len;
}

/* Every strict prefix of a valid encoding must fail to decode, and what was decoded before the
 * failure must be freeable. */
static void assert_prefixes_fail(xdrproc_t proc, const char *wire, u_int len, size_t obj_size)
{
	void *obj = test_malloc(obj_size);

	for (u_int cut = 0; cut < len; cut++) {
		memset(obj, 0, obj_size);
		assert_false(xdr_decode_obj(proc, obj, wire, cut));
		xdr_free(proc, obj);
	}
	test_free(obj);
}

static void assert_bytes(const void *got, const void *want, size_t len)
{
	if (len)
		assert_memory_equal(got, want, len);
}

static void assert_utf8(const utf8string *s, const char *want)
{
	assert_int_equal(s->utf8string_len, strlen(want));
	assert_bytes(s->utf8string_val, want, strlen(want));
}

static void assert_fh(const nfs_fh4 *fh, const char *want, u_int len)
{
	assert_int_equal(fh->nfs_fh4_len, len);
	assert_bytes(fh->nfs_fh4_val, want, len);
}

static stateid4 mkstateid(uint32_t seq, char fill)
{
	stateid4 s;

	s.seqid = seq;
	memset(s.other, fill, sizeof(s.other));
	return s;
}

static void assert_stateid(const stateid4 *s, uint32_t seq, char fill)
{
	stateid4 want = mkstateid(seq, fill);

	assert_int_equal(s->seqid, seq);
	assert_memory_equal(s->other, want.other, sizeof(want.other));
}

static fattr4 type_size_attrs(void)
{
	fattr4 a;

	a.attrmask.bitmap4_len = 1;
	a.attrmask.bitmap4_val = type_size_mask;
	a.attr_vals.attrlist4_len = sizeof(type_size_vals);
	a.attr_vals.attrlist4_val = type_size_vals;
	return a;
}

static void assert_type_size_attrs(const fattr4 *a)
{
	assert_int_equal(a->attrmask.bitmap4_len, 1);
	assert_int_equal(a->attrmask.bitmap4_val[0], type_size_mask[0]);
	assert_int_equal(a->attr_vals.attrlist4_len, sizeof(type_size_vals));
	assert_memory_equal(a->attr_vals.attrlist4_val, type_size_vals, sizeof(type_size_vals));
}

static SEQUENCE4args seq_args(void)
{
	SEQUENCE4args s;

	memcpy(s.sa_sessionid, sessid, sizeof(sessid));
	s.sa_sequenceid = 7;
	s.sa_slotid = 2;
	s.sa_highest_slotid = 9;
	s.sa_cachethis = TRUE;
	return s;
}

/* ---- exact encodings ------------------------------------------------------------------ */

/* SEQUENCE, PUTFH, LOOKUP, GETFH, GETATTR: the usual shape of a 4.1 lookup. */
static void test_compound_args_bytes(void **state)
{
	static const unsigned char want[] = {
		W(2), 'l', 's', 0, 0,	       /* tag */
		W(1),			       /* minorversion */
		W(5),			       /* 5 operations */
		W(OP_SEQUENCE), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		W(7), W(2), W(9), W(1),	       /* sequenceid, slot, highest slot, cachethis */
		W(OP_PUTFH), W(5), 1, 2, 3, 4, 5, 0, 0, 0,
		W(OP_LOOKUP), W(3), 'e', 't', 'c', 0,
		W(OP_GETFH),
		W(OP_GETATTR), W(2), W(0x0010011a), W(0x00b0a23a),
	};
	static char wire[WIRE_MAX];
	nfs_argop4 ops[5];
	COMPOUND4args in = {.tag = UTF8("ls"), .minorversion = 1}, out;
	u_int len;

	(void)state;
	memset(ops, 0, sizeof(ops));
	ops[0].argop = OP_SEQUENCE;
	ops[0].nfs_argop4_u.opsequence = seq_args();
	ops[1].argop = OP_PUTFH;
	ops[1].nfs_argop4_u.opputfh.object.nfs_fh4_len = sizeof(fh5);
	ops[1].nfs_argop4_u.opputfh.object.nfs_fh4_val = fh5;
	ops[2].argop = OP_LOOKUP;
	ops[2].nfs_argop4_u.oplookup.objname = (component4)UTF8("etc");
	ops[3].argop = OP_GETFH;
	ops[4].argop = OP_GETATTR;
	ops[4].nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 2;
	ops[4].nfs_argop4_u.opgetattr.attr_request.bitmap4_val = getattr_words;
	in.argarray.argarray_len = 5;
	in.argarray.argarray_val = ops;

	len = round_trip((xdrproc_t)xdr_COMPOUND4args, &in, &out, sizeof(out), wire);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(wire, want, sizeof(want));

	assert_utf8(&out.tag, "ls");
	assert_int_equal(out.minorversion, 1);
	assert_int_equal(out.argarray.argarray_len, 5);
	assert_int_equal(out.argarray.argarray_val[3].argop, OP_GETFH);
	assert_fh(&out.argarray.argarray_val[1].nfs_argop4_u.opputfh.object, fh5, sizeof(fh5));
	assert_utf8(&out.argarray.argarray_val[2].nfs_argop4_u.oplookup.objname, "etc");
	assert_int_equal(out.argarray.argarray_val[4].nfs_argop4_u.opgetattr.attr_request
				 .bitmap4_val[1],
			 0x00b0a23a);
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&out);
}

/* The matching reply, with a READ of "hello" at the end. */
static void test_compound_res_bytes(void **state)
{
	static const unsigned char want[] = {
		W(NFS4_OK),
		W(2), 'l', 's', 0, 0,
		W(6),
		W(OP_SEQUENCE), W(NFS4_OK), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		W(7), W(2), W(63), W(63), W(0),
		W(OP_PUTFH), W(NFS4_OK),
		W(OP_LOOKUP), W(NFS4_OK),
		W(OP_GETFH), W(NFS4_OK), W(5), 1, 2, 3, 4, 5, 0, 0, 0,
		W(OP_GETATTR), W(NFS4_OK), W(1), W(0x12), W(12), W(NF4DIR), W(0), W(4096),
		W(OP_READ), W(NFS4_OK), W(1), W(5), 'h', 'e', 'l', 'l', 'o', 0, 0, 0,
	};
	static char wire[WIRE_MAX];
	nfs_resop4 res[6];
	COMPOUND4res in = {.status = NFS4_OK, .tag = UTF8("ls")}, out;
	SEQUENCE4resok *sr;
	u_int len;

	(void)state;
	memset(res, 0, sizeof(res));
	res[0].resop = OP_SEQUENCE;
	sr = &res[0].nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	memcpy(sr->sr_sessionid, sessid, sizeof(sessid));
	sr->sr_sequenceid = 7;
	sr->sr_slotid = 2;
	sr->sr_highest_slotid = 63;
	sr->sr_target_highest_slotid = 63;
	res[1].resop = OP_PUTFH;
	res[2].resop = OP_LOOKUP;
	res[3].resop = OP_GETFH;
	res[3].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object.nfs_fh4_len = sizeof(fh5);
	res[3].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object.nfs_fh4_val = fh5;
	res[4].resop = OP_GETATTR;
	res[4].nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes = type_size_attrs();
	res[5].resop = OP_READ;
	res[5].nfs_resop4_u.opread.READ4res_u.resok4.eof = TRUE;
	res[5].nfs_resop4_u.opread.READ4res_u.resok4.data.data_len = 5;
	res[5].nfs_resop4_u.opread.READ4res_u.resok4.data.data_val = (char *)"hello";
	in.resarray.resarray_len = 6;
	in.resarray.resarray_val = res;

	len = round_trip((xdrproc_t)xdr_COMPOUND4res, &in, &out, sizeof(out), wire);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(wire, want, sizeof(want));

	assert_int_equal(out.resarray.resarray_len, 6);
	sr = &out.resarray.resarray_val[0].nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	assert_memory_equal(sr->sr_sessionid, sessid, sizeof(sessid));
	assert_int_equal(sr->sr_target_highest_slotid, 63);
	assert_type_size_attrs(&out.resarray.resarray_val[4]
					.nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes);
	assert_true(out.resarray.resarray_val[5].nfs_resop4_u.opread.READ4res_u.resok4.eof);
	assert_memory_equal(
		out.resarray.resarray_val[5].nfs_resop4_u.opread.READ4res_u.resok4.data.data_val,
		"hello", 5);
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&out);
}

/* OPEN by name without create: the shape of a read-only open. */
static void test_open_args_bytes(void **state)
{
	static const unsigned char want[] = {
		W(OP_OPEN),
		W(0),				/* seqid */
		W(OPEN4_SHARE_ACCESS_READ), W(OPEN4_SHARE_DENY_NONE),
		W(0), W(0x1234),		/* owner.clientid */
		W(4), 'o', 'w', 'n', '1',	/* owner.owner */
		W(OPEN4_NOCREATE),
		W(CLAIM_NULL), W(8), 'd', 'a', 't', 'a', '.', 'b', 'i', 'n',
	};
	static char wire[WIRE_MAX];
	nfs_argop4 in, out;
	OPEN4args *o = &in.nfs_argop4_u.opopen;
	u_int len;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.argop = OP_OPEN;
	o->seqid = 0;
	o->share_access = OPEN4_SHARE_ACCESS_READ;
	o->share_deny = OPEN4_SHARE_DENY_NONE;
	o->owner.clientid = 0x1234;
	o->owner.owner.owner_len = 4;
	o->owner.owner.owner_val = (char *)"own1";
	o->openhow.opentype = OPEN4_NOCREATE;
	o->claim.claim = CLAIM_NULL;
	o->claim.open_claim4_u.file = (component4)UTF8("data.bin");

	len = round_trip((xdrproc_t)xdr_nfs_argop4, &in, &out, sizeof(out), wire);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(wire, want, sizeof(want));
	assert_utf8(&out.nfs_argop4_u.opopen.claim.open_claim4_u.file, "data.bin");
	xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&out);
}

/* ---- every argument a read-only 4.1 server decodes first ------------------------------ */

static nfs_argop4 args41[30];
static stateid4 test_stateids[2];
static nfs_impl_id4 client_impl;
static callback_sec_parms4 cb_sec[2];
static gid_t cb_gids[2] = {100, 27};
static uint32_t rdma_ird[1] = {4};

static void build_args41(COMPOUND4args *c)
{
	nfs_argop4 *op = args41;
	OPEN4args *o;
	READDIR4args *rd;
	EXCHANGE_ID4args *ei;
	CREATE_SESSION4args *cs;

	memset(args41, 0, sizeof(args41));
	memset(cb_sec, 0, sizeof(cb_sec));

	op->argop = OP_SEQUENCE;
	op->nfs_argop4_u.opsequence = seq_args();
	op++;
	op->argop = OP_PUTROOTFH;
	op++;
	op->argop = OP_PUTFH;
	op->nfs_argop4_u.opputfh.object.nfs_fh4_len = sizeof(fh5);
	op->nfs_argop4_u.opputfh.object.nfs_fh4_val = fh5;
	op++;
	op->argop = OP_GETFH;
	op++;
	op->argop = OP_LOOKUP;
	op->nfs_argop4_u.oplookup.objname = (component4)UTF8("datasets");
	op++;
	op->argop = OP_LOOKUPP;
	op++;
	op->argop = OP_SAVEFH;
	op++;
	op->argop = OP_RESTOREFH;
	op++;
	op->argop = OP_GETATTR;
	op->nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 2;
	op->nfs_argop4_u.opgetattr.attr_request.bitmap4_val = getattr_words;
	op++;
	op->argop = OP_ACCESS;
	op->nfs_argop4_u.opaccess.access = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_EXECUTE;
	op++;
	op->argop = OP_READDIR;
	rd = &op->nfs_argop4_u.opreaddir;
	rd->cookie = 0x0102030405060708ULL;
	memcpy(rd->cookieverf, "cookiev!", NFS4_VERIFIER_SIZE);
	rd->dircount = 8192;
	rd->maxcount = 32768;
	rd->attr_request.bitmap4_len = 2;
	rd->attr_request.bitmap4_val = getattr_words;
	op++;
	op->argop = OP_READLINK;
	op++;
	op->argop = OP_OPEN; /* CLAIM_NULL, no create */
	o = &op->nfs_argop4_u.opopen;
	o->share_access = OPEN4_SHARE_ACCESS_READ;
	o->share_deny = OPEN4_SHARE_DENY_NONE;
	o->owner.clientid = 0xfeedULL;
	o->owner.owner.owner_len = 9;
	o->owner.owner.owner_val = (char *)"open id:1";
	o->openhow.opentype = OPEN4_NOCREATE;
	o->claim.claim = CLAIM_NULL;
	o->claim.open_claim4_u.file = (component4)UTF8("shard-0001.tar");
	op++;
	op->argop = OP_OPEN; /* CLAIM_FH */
	o = &op->nfs_argop4_u.opopen;
	o->share_access = OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
	o->share_deny = OPEN4_SHARE_DENY_WRITE;
	o->owner.clientid = 0xfeedULL;
	o->owner.owner.owner_len = 9;
	o->owner.owner.owner_val = (char *)"open id:2";
	o->openhow.opentype = OPEN4_NOCREATE;
	o->claim.claim = CLAIM_FH;
	op++;
	op->argop = OP_CLOSE;
	op->nfs_argop4_u.opclose.seqid = 0;
	op->nfs_argop4_u.opclose.open_stateid = mkstateid(1, 'o');
	op++;
	op->argop = OP_READ;
	op->nfs_argop4_u.opread.stateid = mkstateid(1, 'o');
	op->nfs_argop4_u.opread.offset = 1ULL << 40;
	op->nfs_argop4_u.opread.count = 1u << 20;
	op++;
	op->argop = OP_SECINFO;
	op->nfs_argop4_u.opsecinfo.name = (component4)UTF8("private");
	op++;
	op->argop = OP_SECINFO_NO_NAME;
	op->nfs_argop4_u.opsecinfo_no_name = SECINFO_STYLE4_PARENT;
	op++;
	op->argop = OP_VERIFY;
	op->nfs_argop4_u.opverify.obj_attributes = type_size_attrs();
	op++;
	op->argop = OP_NVERIFY;
	op->nfs_argop4_u.opnverify.obj_attributes = type_size_attrs();
	op++;
	op->argop = OP_TEST_STATEID;
	test_stateids[0] = mkstateid(1, 'a');
	test_stateids[1] = mkstateid(0xffffffff, 'b');
	op->nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_len = 2;
	op->nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_val = test_stateids;
	op++;
	op->argop = OP_FREE_STATEID;
	op->nfs_argop4_u.opfree_stateid.fsa_stateid = mkstateid(3, 'f');
	op++;
	op->argop = OP_EXCHANGE_ID;
	ei = &op->nfs_argop4_u.opexchange_id;
	memcpy(ei->eia_clientowner.co_verifier, "bootverf", NFS4_VERIFIER_SIZE);
	ei->eia_clientowner.co_ownerid.co_ownerid_len = 17;
	ei->eia_clientowner.co_ownerid.co_ownerid_val = (char *)"Linux NFSv4.2 vm1";
	ei->eia_flags = EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_BIND_PRINC_STATEID;
	ei->eia_state_protect.spa_how = SP4_NONE;
	client_impl.nii_domain = (utf8str_cis)UTF8("kernel.org");
	client_impl.nii_name = (utf8str_cs)UTF8("Linux 6.1.0");
	client_impl.nii_date.seconds = -2; /* signed hyper */
	client_impl.nii_date.nseconds = 999999999;
	ei->eia_client_impl_id.eia_client_impl_id_len = 1;
	ei->eia_client_impl_id.eia_client_impl_id_val = &client_impl;
	op++;
	op->argop = OP_CREATE_SESSION;
	cs = &op->nfs_argop4_u.opcreate_session;
	cs->csa_clientid = 0x1122334455667788ULL;
	cs->csa_sequence = 1;
	cs->csa_flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
	cs->csa_fore_chan_attrs = (channel_attrs4){0, 1049620, 1049480, 7584, 16, 64, {0, NULL}};
	cs->csa_back_chan_attrs = (channel_attrs4){0, 4096, 4096, 0, 2, 16, {1, rdma_ird}};
	cs->csa_cb_program = 0x40000000;
	cb_sec[0].cb_secflavor = AUTH_NONE;
	cb_sec[1].cb_secflavor = AUTH_SYS;
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_time = 12345;
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_machname = (char *)"client1";
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_uid = 1000;
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_gid = 100;
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_len = 2;
	cb_sec[1].callback_sec_parms4_u.cbsp_sys_cred.aup_gids = cb_gids;
	cs->csa_sec_parms.csa_sec_parms_len = 2;
	cs->csa_sec_parms.csa_sec_parms_val = cb_sec;
	op++;
	op->argop = OP_BIND_CONN_TO_SESSION;
	memcpy(op->nfs_argop4_u.opbind_conn_to_session.bctsa_sessid, sessid, sizeof(sessid));
	op->nfs_argop4_u.opbind_conn_to_session.bctsa_dir = CDFC4_BACK_OR_BOTH;
	op->nfs_argop4_u.opbind_conn_to_session.bctsa_use_conn_in_rdma_mode = FALSE;
	op++;
	op->argop = OP_RECLAIM_COMPLETE;
	op->nfs_argop4_u.opreclaim_complete.rca_one_fs = FALSE;
	op++;
	op->argop = OP_DESTROY_SESSION;
	memcpy(op->nfs_argop4_u.opdestroy_session.dsa_sessionid, sessid, sizeof(sessid));
	op++;
	op->argop = OP_DESTROY_CLIENTID;
	op->nfs_argop4_u.opdestroy_clientid.dca_clientid = 0x1122334455667788ULL;
	op++;

	memset(c, 0, sizeof(*c));
	c->tag = (utf8str_cs)UTF8("kitchen sink 4.1");
	c->minorversion = 1;
	c->argarray.argarray_len = (u_int)(op - args41);
	c->argarray.argarray_val = args41;
}

static void test_compound_args41_round_trip(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4args in, out;
	nfs_argop4 *a;
	OPEN4args *o;
	EXCHANGE_ID4args *ei;
	CREATE_SESSION4args *cs;
	authsys_parms *cred;
	u_int n;

	(void)state;
	build_args41(&in);
	round_trip((xdrproc_t)xdr_COMPOUND4args, &in, &out, sizeof(out), wire);

	assert_utf8(&out.tag, "kitchen sink 4.1");
	assert_int_equal(out.minorversion, 1);
	n = out.argarray.argarray_len;
	assert_int_equal(n, in.argarray.argarray_len);
	a = out.argarray.argarray_val;
	for (u_int i = 0; i < n; i++)
		assert_int_equal(a[i].argop, args41[i].argop);

	assert_int_equal(a[0].nfs_argop4_u.opsequence.sa_sequenceid, 7);
	assert_true(a[0].nfs_argop4_u.opsequence.sa_cachethis);
	assert_fh(&a[2].nfs_argop4_u.opputfh.object, fh5, sizeof(fh5));
	assert_utf8(&a[4].nfs_argop4_u.oplookup.objname, "datasets");
	assert_int_equal(a[8].nfs_argop4_u.opgetattr.attr_request.bitmap4_len, 2);
	assert_int_equal(a[9].nfs_argop4_u.opaccess.access,
			 ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_EXECUTE);
	assert_true(a[10].nfs_argop4_u.opreaddir.cookie == 0x0102030405060708ULL);
	assert_memory_equal(a[10].nfs_argop4_u.opreaddir.cookieverf, "cookiev!", 8);
	assert_int_equal(a[10].nfs_argop4_u.opreaddir.maxcount, 32768);

	o = &a[12].nfs_argop4_u.opopen;
	assert_int_equal(o->openhow.opentype, OPEN4_NOCREATE);
	assert_int_equal(o->claim.claim, CLAIM_NULL);
	assert_utf8(&o->claim.open_claim4_u.file, "shard-0001.tar");
	assert_int_equal(o->owner.owner.owner_len, 9);
	assert_memory_equal(o->owner.owner.owner_val, "open id:1", 9);
	o = &a[13].nfs_argop4_u.opopen;
	assert_int_equal(o->claim.claim, CLAIM_FH);
	assert_int_equal(o->share_access,
			 OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG);
	assert_int_equal(o->share_deny, OPEN4_SHARE_DENY_WRITE);

	assert_stateid(&a[14].nfs_argop4_u.opclose.open_stateid, 1, 'o');
	assert_true(a[15].nfs_argop4_u.opread.offset == 1ULL << 40);
	assert_int_equal(a[15].nfs_argop4_u.opread.count, 1u << 20);
	assert_utf8(&a[16].nfs_argop4_u.opsecinfo.name, "private");
	assert_int_equal(a[17].nfs_argop4_u.opsecinfo_no_name, SECINFO_STYLE4_PARENT);
	assert_type_size_attrs(&a[18].nfs_argop4_u.opverify.obj_attributes);
	assert_type_size_attrs(&a[19].nfs_argop4_u.opnverify.obj_attributes);
	assert_int_equal(a[20].nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_len, 2);
	assert_stateid(&a[20].nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_val[1],
		       0xffffffff, 'b');
	assert_stateid(&a[21].nfs_argop4_u.opfree_stateid.fsa_stateid, 3, 'f');

	ei = &a[22].nfs_argop4_u.opexchange_id;
	assert_memory_equal(ei->eia_clientowner.co_verifier, "bootverf", 8);
	assert_int_equal(ei->eia_clientowner.co_ownerid.co_ownerid_len, 17);
	assert_int_equal(ei->eia_state_protect.spa_how, SP4_NONE);
	assert_int_equal(ei->eia_client_impl_id.eia_client_impl_id_len, 1);
	assert_utf8(&ei->eia_client_impl_id.eia_client_impl_id_val[0].nii_name, "Linux 6.1.0");
	assert_true(ei->eia_client_impl_id.eia_client_impl_id_val[0].nii_date.seconds == -2);

	cs = &a[23].nfs_argop4_u.opcreate_session;
	assert_true(cs->csa_clientid == 0x1122334455667788ULL);
	assert_int_equal(cs->csa_fore_chan_attrs.ca_maxrequestsize, 1049620);
	assert_int_equal(cs->csa_fore_chan_attrs.ca_rdma_ird.ca_rdma_ird_len, 0);
	assert_int_equal(cs->csa_back_chan_attrs.ca_rdma_ird.ca_rdma_ird_len, 1);
	assert_int_equal(cs->csa_back_chan_attrs.ca_rdma_ird.ca_rdma_ird_val[0], 4);
	assert_int_equal(cs->csa_sec_parms.csa_sec_parms_len, 2);
	assert_int_equal(cs->csa_sec_parms.csa_sec_parms_val[0].cb_secflavor, AUTH_NONE);
	assert_int_equal(cs->csa_sec_parms.csa_sec_parms_val[1].cb_secflavor, AUTH_SYS);
	cred = &cs->csa_sec_parms.csa_sec_parms_val[1].callback_sec_parms4_u.cbsp_sys_cred;
	assert_int_equal(cred->aup_time, 12345);
	assert_string_equal(cred->aup_machname, "client1");
	assert_int_equal(cred->aup_uid, 1000);
	assert_int_equal(cred->aup_len, 2);
	assert_int_equal(cred->aup_gids[1], 27);

	assert_memory_equal(a[24].nfs_argop4_u.opbind_conn_to_session.bctsa_sessid, sessid, 16);
	assert_int_equal(a[24].nfs_argop4_u.opbind_conn_to_session.bctsa_dir, CDFC4_BACK_OR_BOTH);
	assert_false(a[25].nfs_argop4_u.opreclaim_complete.rca_one_fs);
	assert_memory_equal(a[26].nfs_argop4_u.opdestroy_session.dsa_sessionid, sessid, 16);
	assert_true(a[27].nfs_argop4_u.opdestroy_clientid.dca_clientid ==
		    0x1122334455667788ULL);

	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&out);
}

/* ---- NFSv4.0 client setup and OPEN_CONFIRM ------------------------------------------- */

static nfs_argop4 args40[6];

static void build_args40(COMPOUND4args *c)
{
	SETCLIENTID4args *sc;

	memset(args40, 0, sizeof(args40));
	args40[0].argop = OP_SETCLIENTID;
	sc = &args40[0].nfs_argop4_u.opsetclientid;
	memcpy(sc->client.verifier, "verifier", NFS4_VERIFIER_SIZE);
	sc->client.id.id_len = 21;
	sc->client.id.id_val = (char *)"0.0.0.0/10.0.0.1 tcp";
	sc->callback.cb_program = 0x40000000;
	sc->callback.cb_location.na_r_netid = (char *)"tcp";
	sc->callback.cb_location.na_r_addr = (char *)"10.0.0.1.3.232";
	sc->callback_ident = 1;
	args40[1].argop = OP_SETCLIENTID_CONFIRM;
	args40[1].nfs_argop4_u.opsetclientid_confirm.clientid = 0xabcdefULL;
	memcpy(args40[1].nfs_argop4_u.opsetclientid_confirm.setclientid_confirm, "confirm!",
	       NFS4_VERIFIER_SIZE);
	args40[2].argop = OP_RENEW;
	args40[2].nfs_argop4_u.oprenew.clientid = 0xabcdefULL;
	args40[3].argop = OP_PUTFH;
	args40[3].nfs_argop4_u.opputfh.object.nfs_fh4_len = sizeof(fh5);
	args40[3].nfs_argop4_u.opputfh.object.nfs_fh4_val = fh5;
	args40[4].argop = OP_OPEN_CONFIRM;
	args40[4].nfs_argop4_u.opopen_confirm.open_stateid = mkstateid(1, 'c');
	args40[4].nfs_argop4_u.opopen_confirm.seqid = 2;
	args40[5].argop = OP_ILLEGAL;

	memset(c, 0, sizeof(*c));
	c->tag = (utf8str_cs)UTF8("v4.0");
	c->minorversion = 0;
	c->argarray.argarray_len = 6;
	c->argarray.argarray_val = args40;
}

static void test_compound_args40_round_trip(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4args in, out;
	nfs_argop4 *a;
	SETCLIENTID4args *sc;

	(void)state;
	build_args40(&in);
	round_trip((xdrproc_t)xdr_COMPOUND4args, &in, &out, sizeof(out), wire);

	assert_int_equal(out.minorversion, 0);
	assert_int_equal(out.argarray.argarray_len, 6);
	a = out.argarray.argarray_val;
	sc = &a[0].nfs_argop4_u.opsetclientid;
	assert_memory_equal(sc->client.verifier, "verifier", 8);
	assert_int_equal(sc->client.id.id_len, 21);
	assert_int_equal(sc->callback.cb_program, 0x40000000);
	assert_string_equal(sc->callback.cb_location.na_r_netid, "tcp");
	assert_string_equal(sc->callback.cb_location.na_r_addr, "10.0.0.1.3.232");
	assert_int_equal(sc->callback_ident, 1);
	assert_memory_equal(a[1].nfs_argop4_u.opsetclientid_confirm.setclientid_confirm,
			    "confirm!", 8);
	assert_true(a[2].nfs_argop4_u.oprenew.clientid == 0xabcdefULL);
	assert_stateid(&a[4].nfs_argop4_u.opopen_confirm.open_stateid, 1, 'c');
	assert_int_equal(a[4].nfs_argop4_u.opopen_confirm.seqid, 2);
	assert_int_equal(a[5].argop, OP_ILLEGAL);
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&out);
}

/* ---- the matching results ------------------------------------------------------------- */

static nfs_resop4 res41[28];
static entry4 dir_entries[2];
static secinfo4 secinfo_flavors[2];
static char krb5_oid[] = {0x2a, (char)0x86, 0x48, (char)0x86, (char)0xf7, 0x12, 0x01, 0x02, 0x02};
static nfsstat4 test_codes[2] = {NFS4_OK, NFS4ERR_BAD_STATEID};
static nfs_impl_id4 server_impl;

static void build_res41(COMPOUND4res *c)
{
	nfs_resop4 *r = res41;
	READDIR4resok *rd;
	OPEN4resok *ok;
	EXCHANGE_ID4resok *ei;
	CREATE_SESSION4resok *cs;
	SEQUENCE4resok *sq;

	memset(res41, 0, sizeof(res41));
	memset(dir_entries, 0, sizeof(dir_entries));
	memset(secinfo_flavors, 0, sizeof(secinfo_flavors));

	r->resop = OP_SEQUENCE;
	sq = &r->nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	memcpy(sq->sr_sessionid, sessid, sizeof(sessid));
	sq->sr_sequenceid = 7;
	sq->sr_highest_slotid = 63;
	sq->sr_target_highest_slotid = 31;
	sq->sr_status_flags = SEQ4_STATUS_RECALLABLE_STATE_REVOKED;
	r++;
	r->resop = OP_PUTROOTFH;
	r++;
	r->resop = OP_PUTFH;
	r++;
	r->resop = OP_GETFH;
	r->nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object.nfs_fh4_len = sizeof(fh5);
	r->nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object.nfs_fh4_val = fh5;
	r++;
	r->resop = OP_LOOKUP;
	r++;
	r->resop = OP_LOOKUPP;
	r++;
	r->resop = OP_SAVEFH;
	r++;
	r->resop = OP_RESTOREFH;
	r++;
	r->resop = OP_GETATTR;
	r->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes = type_size_attrs();
	r++;
	r->resop = OP_ACCESS;
	r->nfs_resop4_u.opaccess.ACCESS4res_u.resok4.supported = ACCESS4_READ | ACCESS4_LOOKUP;
	r->nfs_resop4_u.opaccess.ACCESS4res_u.resok4.access = ACCESS4_READ;
	r++;
	r->resop = OP_READDIR;
	rd = &r->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	memcpy(rd->cookieverf, "dirverf!", NFS4_VERIFIER_SIZE);
	dir_entries[0].cookie = 3;
	dir_entries[0].name = (component4)UTF8("a");
	dir_entries[0].attrs = type_size_attrs();
	dir_entries[0].nextentry = &dir_entries[1];
	dir_entries[1].cookie = 4;
	dir_entries[1].name = (component4)UTF8("bb");
	dir_entries[1].attrs.attrmask.bitmap4_len = 0;
	dir_entries[1].nextentry = NULL;
	rd->reply.entries = &dir_entries[0];
	rd->reply.eof = TRUE;
	r++;
	r->resop = OP_READLINK;
	r->nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link.linktext4_len = 9;
	r->nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link.linktext4_val = (char *)"../target";
	r++;
	r->resop = OP_OPEN; /* no delegation */
	ok = &r->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	ok->stateid = mkstateid(1, 'o');
	ok->cinfo.atomic = TRUE;
	ok->cinfo.before = 10;
	ok->cinfo.after = 10;
	ok->rflags = OPEN4_RESULT_LOCKTYPE_POSIX;
	ok->delegation.delegation_type = OPEN_DELEGATE_NONE;
	r++;
	r->resop = OP_OPEN; /* none, and why */
	ok = &r->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	ok->stateid = mkstateid(2, 'p');
	ok->delegation.delegation_type = OPEN_DELEGATE_NONE_EXT;
	ok->delegation.open_delegation4_u.od_whynone.ond_why = WND4_CONTENTION;
	ok->delegation.open_delegation4_u.od_whynone.open_none_delegation4_u
		.ond_server_will_push_deleg = TRUE;
	r++;
	r->resop = OP_CLOSE;
	r->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid = mkstateid(2, 'o');
	r++;
	r->resop = OP_READ;
	r->nfs_resop4_u.opread.READ4res_u.resok4.eof = FALSE;
	r->nfs_resop4_u.opread.READ4res_u.resok4.data.data_len = 3;
	r->nfs_resop4_u.opread.READ4res_u.resok4.data.data_val = (char *)"abc";
	r++;
	r->resop = OP_SECINFO;
	secinfo_flavors[0].flavor = RPCSEC_GSS;
	secinfo_flavors[0].secinfo4_u.flavor_info.oid.sec_oid4_len = sizeof(krb5_oid);
	secinfo_flavors[0].secinfo4_u.flavor_info.oid.sec_oid4_val = krb5_oid;
	secinfo_flavors[0].secinfo4_u.flavor_info.qop = 0;
	secinfo_flavors[0].secinfo4_u.flavor_info.service = RPC_GSS_SVC_PRIVACY;
	secinfo_flavors[1].flavor = AUTH_SYS;
	r->nfs_resop4_u.opsecinfo.SECINFO4res_u.resok4.SECINFO4resok_len = 2;
	r->nfs_resop4_u.opsecinfo.SECINFO4res_u.resok4.SECINFO4resok_val = secinfo_flavors;
	r++;
	r->resop = OP_SECINFO_NO_NAME;
	r->nfs_resop4_u.opsecinfo_no_name.SECINFO4res_u.resok4.SECINFO4resok_len = 1;
	r->nfs_resop4_u.opsecinfo_no_name.SECINFO4res_u.resok4.SECINFO4resok_val =
		&secinfo_flavors[1];
	r++;
	r->resop = OP_VERIFY;
	r++;
	r->resop = OP_NVERIFY;
	r->nfs_resop4_u.opnverify.status = NFS4ERR_SAME;
	r++;
	r->resop = OP_TEST_STATEID;
	r->nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4.tsr_status_codes
		.tsr_status_codes_len = 2;
	r->nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4.tsr_status_codes
		.tsr_status_codes_val = test_codes;
	r++;
	r->resop = OP_FREE_STATEID;
	r++;
	r->resop = OP_EXCHANGE_ID;
	ei = &r->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	ei->eir_clientid = 0x1122334455667788ULL;
	ei->eir_sequenceid = 1;
	ei->eir_flags = EXCHGID4_FLAG_USE_NON_PNFS | EXCHGID4_FLAG_CONFIRMED_R;
	ei->eir_state_protect.spr_how = SP4_NONE;
	ei->eir_server_owner.so_minor_id = 0;
	ei->eir_server_owner.so_major_id.so_major_id_len = 6;
	ei->eir_server_owner.so_major_id.so_major_id_val = (char *)"sluice";
	ei->eir_server_scope.eir_server_scope_len = 6;
	ei->eir_server_scope.eir_server_scope_val = (char *)"sluice";
	server_impl.nii_domain = (utf8str_cis)UTF8("sluice.invalid");
	server_impl.nii_name = (utf8str_cs)UTF8("sluiced 0.1.0");
	server_impl.nii_date.seconds = 1700000000;
	ei->eir_server_impl_id.eir_server_impl_id_len = 1;
	ei->eir_server_impl_id.eir_server_impl_id_val = &server_impl;
	r++;
	r->resop = OP_CREATE_SESSION;
	cs = &r->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4;
	memcpy(cs->csr_sessionid, sessid, sizeof(sessid));
	cs->csr_sequence = 1;
	cs->csr_flags = 0;
	cs->csr_fore_chan_attrs = (channel_attrs4){0, 1049620, 1049480, 7584, 16, 64, {0, NULL}};
	cs->csr_back_chan_attrs = (channel_attrs4){0, 4096, 4096, 0, 2, 1, {0, NULL}};
	r++;
	r->resop = OP_BIND_CONN_TO_SESSION;
	memcpy(r->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u.bctsr_resok4
		       .bctsr_sessid,
	       sessid, sizeof(sessid));
	r->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u.bctsr_resok4.bctsr_dir =
		CDFS4_BOTH;
	r++;
	r->resop = OP_RECLAIM_COMPLETE;
	r->nfs_resop4_u.opreclaim_complete.rcr_status = NFS4ERR_COMPLETE_ALREADY;
	r++;
	r->resop = OP_DESTROY_SESSION;
	r++;
	r->resop = OP_DESTROY_CLIENTID;
	r->nfs_resop4_u.opdestroy_clientid.dcr_status = NFS4ERR_CLIENTID_BUSY;
	r++;

	memset(c, 0, sizeof(*c));
	c->status = NFS4ERR_CLIENTID_BUSY; /* the status of the last result */
	c->tag = (utf8str_cs)UTF8("kitchen sink 4.1");
	c->resarray.resarray_len = (u_int)(r - res41);
	c->resarray.resarray_val = res41;
}

static void test_compound_res41_round_trip(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4res in, out;
	nfs_resop4 *r;
	READDIR4resok *rd;
	OPEN4resok *ok;
	SECINFO4resok *si;
	EXCHANGE_ID4resok *ei;
	CREATE_SESSION4resok *cs;
	u_int n;

	(void)state;
	build_res41(&in);
	round_trip((xdrproc_t)xdr_COMPOUND4res, &in, &out, sizeof(out), wire);

	assert_int_equal(out.status, NFS4ERR_CLIENTID_BUSY);
	n = out.resarray.resarray_len;
	assert_int_equal(n, in.resarray.resarray_len);
	r = out.resarray.resarray_val;
	for (u_int i = 0; i < n; i++)
		assert_int_equal(r[i].resop, res41[i].resop);

	assert_int_equal(r[0].nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4.sr_status_flags,
			 SEQ4_STATUS_RECALLABLE_STATE_REVOKED);
	assert_fh(&r[3].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object, fh5, sizeof(fh5));
	assert_type_size_attrs(&r[8].nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes);
	assert_int_equal(r[9].nfs_resop4_u.opaccess.ACCESS4res_u.resok4.access, ACCESS4_READ);

	rd = &r[10].nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	assert_memory_equal(rd->cookieverf, "dirverf!", 8);
	assert_true(rd->reply.eof);
	assert_non_null(rd->reply.entries);
	assert_true(rd->reply.entries->cookie == 3);
	assert_utf8(&rd->reply.entries->name, "a");
	assert_type_size_attrs(&rd->reply.entries->attrs);
	assert_non_null(rd->reply.entries->nextentry);
	assert_utf8(&rd->reply.entries->nextentry->name, "bb");
	assert_null(rd->reply.entries->nextentry->nextentry);

	assert_int_equal(r[11].nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link.linktext4_len, 9);
	ok = &r[12].nfs_resop4_u.opopen.OPEN4res_u.resok4;
	assert_stateid(&ok->stateid, 1, 'o');
	assert_true(ok->cinfo.atomic);
	assert_int_equal(ok->rflags, OPEN4_RESULT_LOCKTYPE_POSIX);
	assert_int_equal(ok->delegation.delegation_type, OPEN_DELEGATE_NONE);
	ok = &r[13].nfs_resop4_u.opopen.OPEN4res_u.resok4;
	assert_int_equal(ok->delegation.delegation_type, OPEN_DELEGATE_NONE_EXT);
	assert_int_equal(ok->delegation.open_delegation4_u.od_whynone.ond_why, WND4_CONTENTION);
	assert_true(ok->delegation.open_delegation4_u.od_whynone.open_none_delegation4_u
			    .ond_server_will_push_deleg);
	assert_stateid(&r[14].nfs_resop4_u.opclose.CLOSE4res_u.open_stateid, 2, 'o');
	assert_false(r[15].nfs_resop4_u.opread.READ4res_u.resok4.eof);
	assert_int_equal(r[15].nfs_resop4_u.opread.READ4res_u.resok4.data.data_len, 3);

	si = &r[16].nfs_resop4_u.opsecinfo.SECINFO4res_u.resok4;
	assert_int_equal(si->SECINFO4resok_len, 2);
	assert_int_equal(si->SECINFO4resok_val[0].flavor, RPCSEC_GSS);
	assert_int_equal(si->SECINFO4resok_val[0].secinfo4_u.flavor_info.oid.sec_oid4_len,
			 sizeof(krb5_oid));
	assert_int_equal(si->SECINFO4resok_val[0].secinfo4_u.flavor_info.service,
			 RPC_GSS_SVC_PRIVACY);
	assert_int_equal(si->SECINFO4resok_val[1].flavor, AUTH_SYS);
	si = &r[17].nfs_resop4_u.opsecinfo_no_name.SECINFO4res_u.resok4;
	assert_int_equal(si->SECINFO4resok_len, 1);
	assert_int_equal(r[18].nfs_resop4_u.opverify.status, NFS4_OK);
	assert_int_equal(r[19].nfs_resop4_u.opnverify.status, NFS4ERR_SAME);
	assert_int_equal(r[20].nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4
				 .tsr_status_codes.tsr_status_codes_val[1],
			 NFS4ERR_BAD_STATEID);
	assert_int_equal(r[21].nfs_resop4_u.opfree_stateid.fsr_status, NFS4_OK);

	ei = &r[22].nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	assert_true(ei->eir_clientid == 0x1122334455667788ULL);
	assert_int_equal(ei->eir_flags, EXCHGID4_FLAG_USE_NON_PNFS | EXCHGID4_FLAG_CONFIRMED_R);
	assert_int_equal(ei->eir_server_owner.so_major_id.so_major_id_len, 6);
	assert_int_equal(ei->eir_server_impl_id.eir_server_impl_id_len, 1);
	assert_utf8(&ei->eir_server_impl_id.eir_server_impl_id_val[0].nii_domain,
		    "sluice.invalid");
	cs = &r[23].nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4;
	assert_memory_equal(cs->csr_sessionid, sessid, 16);
	assert_int_equal(cs->csr_fore_chan_attrs.ca_maxoperations, 16);
	assert_int_equal(cs->csr_back_chan_attrs.ca_maxrequests, 1);
	assert_int_equal(r[24].nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u
				 .bctsr_resok4.bctsr_dir,
			 CDFS4_BOTH);
	assert_int_equal(r[25].nfs_resop4_u.opreclaim_complete.rcr_status,
			 NFS4ERR_COMPLETE_ALREADY);
	assert_int_equal(r[26].nfs_resop4_u.opdestroy_session.dsr_status, NFS4_OK);
	assert_int_equal(r[27].nfs_resop4_u.opdestroy_clientid.dcr_status, NFS4ERR_CLIENTID_BUSY);

	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&out);
}

static nfs_resop4 res40[6];

static void build_res40(COMPOUND4res *c)
{
	memset(res40, 0, sizeof(res40));
	res40[0].resop = OP_SETCLIENTID;
	res40[0].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4.clientid = 0xabcdefULL;
	memcpy(res40[0].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4.setclientid_confirm,
	       "confirm!", NFS4_VERIFIER_SIZE);
	res40[1].resop = OP_SETCLIENTID;
	res40[1].nfs_resop4_u.opsetclientid.status = NFS4ERR_CLID_INUSE;
	res40[1].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_netid =
		(char *)"tcp6";
	res40[1].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_addr =
		(char *)"::1.8.1";
	res40[2].resop = OP_SETCLIENTID_CONFIRM;
	res40[3].resop = OP_RENEW;
	res40[3].nfs_resop4_u.oprenew.status = NFS4ERR_EXPIRED;
	res40[4].resop = OP_OPEN_CONFIRM;
	res40[4].nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid =
		mkstateid(2, 'c');
	res40[5].resop = OP_LOOKUP;
	res40[5].nfs_resop4_u.oplookup.status = NFS4ERR_NOENT;

	memset(c, 0, sizeof(*c));
	c->status = NFS4ERR_NOENT;
	c->tag = (utf8str_cs)UTF8("v4.0");
	c->resarray.resarray_len = 6;
	c->resarray.resarray_val = res40;
}

static void test_compound_res40_round_trip(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4res in, out;
	nfs_resop4 *r;

	(void)state;
	build_res40(&in);
	round_trip((xdrproc_t)xdr_COMPOUND4res, &in, &out, sizeof(out), wire);

	assert_int_equal(out.status, NFS4ERR_NOENT);
	r = out.resarray.resarray_val;
	assert_int_equal(out.resarray.resarray_len, 6);
	assert_true(r[0].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4.clientid ==
		    0xabcdefULL);
	assert_int_equal(r[1].nfs_resop4_u.opsetclientid.status, NFS4ERR_CLID_INUSE);
	assert_string_equal(r[1].nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_addr,
			    "::1.8.1");
	assert_int_equal(r[2].nfs_resop4_u.opsetclientid_confirm.status, NFS4_OK);
	assert_int_equal(r[3].nfs_resop4_u.oprenew.status, NFS4ERR_EXPIRED);
	assert_stateid(&r[4].nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid, 2,
		       'c');
	assert_int_equal(r[5].nfs_resop4_u.oplookup.status, NFS4ERR_NOENT);
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&out);
}

/* ---- malformed input ------------------------------------------------------------------ */

static void test_truncated_input_fails(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4args args;
	COMPOUND4res res;
	u_int len;

	(void)state;
	build_args41(&args);
	len = xdr_encode_obj((xdrproc_t)xdr_COMPOUND4args, &args, wire, WIRE_MAX);
	assert_prefixes_fail((xdrproc_t)xdr_COMPOUND4args, wire, len, sizeof(COMPOUND4args));

	build_args40(&args);
	len = xdr_encode_obj((xdrproc_t)xdr_COMPOUND4args, &args, wire, WIRE_MAX);
	assert_prefixes_fail((xdrproc_t)xdr_COMPOUND4args, wire, len, sizeof(COMPOUND4args));

	build_res41(&res);
	len = xdr_encode_obj((xdrproc_t)xdr_COMPOUND4res, &res, wire, WIRE_MAX);
	assert_prefixes_fail((xdrproc_t)xdr_COMPOUND4res, wire, len, sizeof(COMPOUND4res));

	build_res40(&res);
	len = xdr_encode_obj((xdrproc_t)xdr_COMPOUND4res, &res, wire, WIRE_MAX);
	assert_prefixes_fail((xdrproc_t)xdr_COMPOUND4res, wire, len, sizeof(COMPOUND4res));
}

/* A COMPOUND4args of one PUTFH whose handle claims fh_len bytes, all present on the wire. */
static u_int putfh_wire(char *wire, uint32_t fh_len)
{
	static const unsigned char head[] = {W(0), W(1), W(1), W(OP_PUTFH)};
	u_int pos = 0;
	uint32_t be = htonl(fh_len);

	memcpy(wire + pos, head, sizeof(head));
	pos += sizeof(head);
	memcpy(wire + pos, &be, 4);
	pos += 4;
	memset(wire + pos, 0xab, (fh_len + 3) & ~3u);
	return pos + ((fh_len + 3) & ~3u);
}

static void test_opaque_bounds(void **state)
{
	static char wire[WIRE_MAX];
	COMPOUND4args c;
	nfs_argop4 op;
	u_int len;

	(void)state;
	/* nfs_fh4<NFS4_FHSIZE>: 128 bytes decode, 129 do not */
	len = putfh_wire(wire, NFS4_FHSIZE);
	memset(&c, 0, sizeof(c));
	assert_true(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, wire, len));
	assert_int_equal(c.argarray.argarray_val[0].nfs_argop4_u.opputfh.object.nfs_fh4_len,
			 NFS4_FHSIZE);
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);

	len = putfh_wire(wire, NFS4_FHSIZE + 1);
	memset(&c, 0, sizeof(c));
	assert_false(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, wire, len));
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);

	/* a huge length on a bounded opaque is refused before any allocation */
	len = putfh_wire(wire, 0);
	{
		uint32_t be = htonl(0xfffffff0u);
		memcpy(wire + 16, &be, 4);
	}
	memset(&c, 0, sizeof(c));
	assert_false(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, wire, len));
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);

	/* client_owner4.co_ownerid<NFS4_OPAQUE_LIMIT> and eia_client_impl_id<1> */
	build_args41(&c);
	op = args41[22];
	assert_int_equal(op.argop, OP_EXCHANGE_ID);
	{
		static char owner[NFS4_OPAQUE_LIMIT + 1];
		nfs_argop4 out;
		EXCHANGE_ID4args *ei = &op.nfs_argop4_u.opexchange_id;

		memset(owner, 'x', sizeof(owner));
		ei->eia_clientowner.co_ownerid.co_ownerid_val = owner;
		ei->eia_clientowner.co_ownerid.co_ownerid_len = NFS4_OPAQUE_LIMIT;
		len = round_trip((xdrproc_t)xdr_nfs_argop4, &op, &out, sizeof(out), wire);
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&out);

		/* the encoder enforces the bound too, so patch the length on the wire:
		 * opcode, verifier, then the owner's length */
		{
			uint32_t be = htonl(NFS4_OPAQUE_LIMIT + 1);
			memcpy(wire + 4 + NFS4_VERIFIER_SIZE, &be, 4);
		}
		memset(&out, 0, sizeof(out));
		assert_false(xdr_decode_obj((xdrproc_t)xdr_nfs_argop4, &out, wire, len + 4));
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&out);

		/* eia_client_impl_id<1>: patch its count to 2 (after opcode, verifier, a
		 * 4-byte owner with its length, eia_flags and spa_how = SP4_NONE) */
		ei->eia_clientowner.co_ownerid.co_ownerid_len = 4;
		len = round_trip((xdrproc_t)xdr_nfs_argop4, &op, &out, sizeof(out), wire);
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&out);
		{
			uint32_t be = htonl(2);
			memcpy(wire + 4 + NFS4_VERIFIER_SIZE + 4 + 4 + 4 + 4, &be, 4);
		}
		memset(&out, 0, sizeof(out));
		assert_false(xdr_decode_obj((xdrproc_t)xdr_nfs_argop4, &out, wire, WIRE_MAX));
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&out);

		/* and the encoder refuses to write it */
		ei->eia_client_impl_id.eia_client_impl_id_len = 2;
		{
			XDR x;

			xdrmem_create(&x, wire, WIRE_MAX, XDR_ENCODE);
			assert_false(xdr_nfs_argop4(&x, &op));
			xdr_destroy(&x);
		}
	}
}

/* xdr/xdr_bounds.c: a length the stream cannot hold fails before libtirpc allocates it (the
 * real xdr_bytes would have set *cpp to a fresh buffer of the claimed size, then failed). */
static void test_claim_checked_before_allocation(void **state)
{
	uint32_t wire[3] = {htonl(1u << 20), 0, 0}; /* claims 1 MiB, 8 bytes follow */
	char *p = NULL, *s = NULL;
	caddr_t arr = NULL;
	u_int n = 0;
	XDR x;

	(void)state;
	xdrmem_create(&x, (char *)wire, sizeof(wire), XDR_DECODE);
	assert_false(xdr_bytes(&x, &p, &n, ~0u));
	assert_null(p);
	assert_int_equal(xdr_getpos(&x), 0); /* the length word was only peeked at */
	assert_false(xdr_string(&x, &s, ~0u));
	assert_null(s);
	assert_false(xdr_array(&x, &arr, &n, ~0u, sizeof(uint32_t), (xdrproc_t)xdr_u_int));
	assert_null(arr);
	xdr_destroy(&x);

	/* a length that does fit still decodes */
	wire[0] = htonl(8);
	memcpy(&wire[1], "abcdefgh", 8);
	xdrmem_create(&x, (char *)wire, sizeof(wire), XDR_DECODE);
	assert_true(xdr_bytes(&x, &p, &n, ~0u));
	assert_int_equal(n, 8);
	assert_memory_equal(p, "abcdefgh", 8);
	free(p);
	xdr_destroy(&x);

	/* arrays: each element takes at least 4 bytes, so 3 elements need 12 */
	wire[0] = htonl(3);
	xdrmem_create(&x, (char *)wire, sizeof(wire), XDR_DECODE);
	assert_false(xdr_array(&x, &arr, &n, ~0u, sizeof(uint32_t), (xdrproc_t)xdr_u_int));
	assert_null(arr);
	xdr_destroy(&x);
}

static void test_unknown_opcode_fails(void **state)
{
	static const unsigned char bad[] = {W(0), W(1), W(1), W(OP_REMOVEXATTR + 1)};
	static const unsigned char zero[] = {W(0), W(1), W(1), W(0)};
	static const unsigned char illegal[] = {W(0), W(1), W(1), W(OP_ILLEGAL)};
	COMPOUND4args c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_false(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, (const char *)bad,
				    sizeof(bad)));
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);
	memset(&c, 0, sizeof(c));
	assert_false(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, (const char *)zero,
				    sizeof(zero)));
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);
	memset(&c, 0, sizeof(c));
	assert_true(xdr_decode_obj((xdrproc_t)xdr_COMPOUND4args, &c, (const char *)illegal,
				   sizeof(illegal)));
	assert_int_equal(c.argarray.argarray_val[0].argop, OP_ILLEGAL);
	xdr_free((xdrproc_t)xdr_COMPOUND4args, (char *)&c);
}

/* A few numbers from the IDL, against the RFCs. */
static void test_protocol_numbers(void **state)
{
	(void)state;
	assert_int_equal(NFS4_PROGRAM, 100003);
	assert_int_equal(NFS_V4, 4);
	assert_int_equal(NFSPROC4_COMPOUND, 1);
	assert_int_equal(OP_ACCESS, 3);
	assert_int_equal(OP_RELEASE_LOCKOWNER, 39);
	assert_int_equal(OP_RECLAIM_COMPLETE, 58);
	assert_int_equal(OP_ALLOCATE, 59);
	assert_int_equal(OP_CLONE, 71);
	assert_int_equal(OP_REMOVEXATTR, 75);
	assert_int_equal(OP_ILLEGAL, 10044);
	assert_int_equal(OP_CB_OFFLOAD, 15);
	assert_int_equal(NFS4ERR_CB_PATH_DOWN, 10048);
	assert_int_equal(NFS4ERR_DELEG_REVOKED, 10087);
	assert_int_equal(NFS4ERR_OFFLOAD_NO_REQS, 10094);
	assert_int_equal(FATTR4_FILEHANDLE, 19);
	assert_int_equal(FATTR4_MOUNTED_ON_FILEID, 55);
	assert_int_equal(FATTR4_SUPPATTR_EXCLCREAT, 75);
	assert_int_equal(FATTR4_FS_CHARSET_CAP, 76);
	assert_int_equal(FATTR4_SEC_LABEL, 80);
	assert_int_equal(ACE4_GENERIC_READ,
			 ACE4_READ_ACL | ACE4_READ_DATA | ACE4_READ_ATTRIBUTES | ACE4_SYNCHRONIZE);
	assert_int_equal(ACE4_GENERIC_WRITE, ACE4_READ_ACL | ACE4_WRITE_DATA |
						     ACE4_WRITE_ATTRIBUTES | ACE4_WRITE_ACL |
						     ACE4_APPEND_DATA | ACE4_SYNCHRONIZE);
	assert_int_equal(ACE4_GENERIC_EXECUTE, ACE4_READ_ACL | ACE4_READ_ATTRIBUTES |
						       ACE4_EXECUTE | ACE4_SYNCHRONIZE);
	assert_int_equal(sizeof(stateid4), 16);
	assert_int_equal(sizeof(sessionid4), 16);
	assert_int_equal(sizeof(verifier4), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compound_args_bytes),
		cmocka_unit_test(test_compound_res_bytes),
		cmocka_unit_test(test_open_args_bytes),
		cmocka_unit_test(test_compound_args41_round_trip),
		cmocka_unit_test(test_compound_args40_round_trip),
		cmocka_unit_test(test_compound_res41_round_trip),
		cmocka_unit_test(test_compound_res40_round_trip),
		cmocka_unit_test(test_truncated_input_fails),
		cmocka_unit_test(test_opaque_bounds),
		cmocka_unit_test(test_claim_checked_before_allocation),
		cmocka_unit_test(test_unknown_opcode_fails),
		cmocka_unit_test(test_protocol_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

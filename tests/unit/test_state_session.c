/* cmocka tests of NFSv4.1 client IDs and sessions (RFC 8881 §18.35 - §18.37, §18.46,
 * §18.50, §18.51, §18.34): EXCHANGE_ID cases, CREATE_SESSION and its reply cache, SEQUENCE
 * with the slot reply cache, DESTROY_SESSION / DESTROY_CLIENTID, RECLAIM_COMPLETE,
 * BIND_CONN_TO_SESSION, leases. Real COMPOUNDs through the engine. */
#include "test_state_util.h"

static void test_happy_path(void **state)
{
	nfs_argop4 xop = op_exchange_id("linux-client", "verifier", EXCHGID4_FLAG_SUPP_MOVED_REFER);
	EXCHANGE_ID4resok *x;
	CREATE_SESSION4resok *cs;
	SEQUENCE4resok *sq;
	nfs_argop4 op;
	clientid4 id;
	char sessid[NFS4_SESSIONID_SIZE];
	struct tc t;

	(void)state;
	tc_run(&t, 1, &xop, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	x = &tc_res(&t, 0)->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	id = x->eir_clientid;
	assert_int_equal(id >> 32, T_BOOT);
	assert_int_equal(x->eir_sequenceid, 1);
	assert_int_equal(x->eir_flags, EXCHGID4_FLAG_USE_NON_PNFS);
	assert_int_equal(x->eir_state_protect.spr_how, SP4_NONE);
	assert_int_equal(x->eir_server_owner.so_major_id.so_major_id_len, 11);
	assert_memory_equal(x->eir_server_owner.so_major_id.so_major_id_val, "test-server", 11);
	assert_int_equal(x->eir_server_scope.eir_server_scope_len, 11);
	assert_memory_equal(x->eir_server_scope.eir_server_scope_val, "test-server", 11);
	assert_int_equal(x->eir_server_impl_id.eir_server_impl_id_len, 0);
	tc_free(&t);
	assert_int_equal(t_stats().unconfirmed, 1);
	assert_int_equal(t_stats().clients, 0);

	op = op_create_session(id, 1);
	op.nfs_argop4_u.opcreate_session.csa_flags |= CREATE_SESSION4_FLAG_PERSIST;
	tc_run(&t, 1, &op, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	cs = &tc_res(&t, 0)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4;
	assert_int_equal(cs->csr_sequence, 1);
	assert_int_equal(cs->csr_flags, 0); /* no backchannel, no persistence */
	assert_int_equal(cs->csr_fore_chan_attrs.ca_maxrequests, T_SLOTS);
	assert_int_equal(cs->csr_fore_chan_attrs.ca_maxoperations, 16);
	assert_int_equal(cs->csr_fore_chan_attrs.ca_maxresponsesize_cached, T_CACHED);
	assert_int_equal(cs->csr_fore_chan_attrs.ca_maxrequestsize, 1u << 20);
	assert_int_equal(cs->csr_back_chan_attrs.ca_maxrequests, 1);
	assert_int_equal(cs->csr_back_chan_attrs.ca_maxoperations, 2);
	memcpy(sessid, cs->csr_sessionid, sizeof(sessid));
	tc_free(&t);
	assert_int_equal(t_stats().clients, 1);
	assert_int_equal(t_stats().unconfirmed, 0);
	assert_int_equal(t_stats().sessions, 1);

	op = op_sequence(sessid, 1, 0, false);
	tc_run(&t, 1, &op, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	sq = &tc_res(&t, 0)->nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	assert_memory_equal(sq->sr_sessionid, sessid, NFS4_SESSIONID_SIZE);
	assert_int_equal(sq->sr_sequenceid, 1);
	assert_int_equal(sq->sr_slotid, 0);
	assert_int_equal(sq->sr_highest_slotid, T_SLOTS - 1);
	assert_int_equal(sq->sr_target_highest_slotid, T_SLOTS - 1);
	assert_int_equal(sq->sr_status_flags, 0);
	tc_free(&t);

	/* the same owner and verifier again: the confirmed client ID (case 2) */
	tc_run(&t, 1, &xop, 1);
	x = &tc_res(&t, 0)->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	assert_int_equal(x->eir_clientid, id);
	assert_int_equal(x->eir_flags, EXCHGID4_FLAG_USE_NON_PNFS | EXCHGID4_FLAG_CONFIRMED_R);
	tc_free(&t);
}

static void test_sequence_replay_identical(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[2];
	struct tc a, b;

	(void)state;
	t_client41("c", sessid);
	ops[0] = op_sequence(sessid, 1, 3, true);
	ops[1] = op_putfh("fileA");
	tc_run(&a, 1, ops, 2);
	assert_int_equal(a.res.status, NFS4_OK);
	assert_false(a.replayed);

	tc_run(&b, 1, ops, 2);
	assert_true(b.replayed);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.flat, a.flat, a.len);
	assert_int_equal(b.res.resarray.resarray_len, 2);
	tc_free(&b);

	/* and again: the cache stays until the next request in the slot */
	tc_run(&b, 1, ops, 2);
	assert_true(b.replayed);
	assert_memory_equal(b.flat, a.flat, a.len);
	tc_free(&b);
	tc_free(&a);

	ops[0] = op_sequence(sessid, 2, 3, false);
	assert_int_equal(t_status(1, ops, 2), NFS4_OK);
	/* the uncached request replaced the cache */
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_RETRY_UNCACHED_REP);
}

static void test_sequence_uncached(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[2];
	struct tc t;

	(void)state;
	t_client41("c", sessid);
	ops[0] = op_sequence(sessid, 1, 0, false);
	ops[1] = op_putfh("f");
	assert_int_equal(t_status(1, ops, 2), NFS4_OK);
	tc_run(&t, 1, ops, 2);
	assert_false(t.replayed);
	assert_int_equal(t.res.status, NFS4ERR_RETRY_UNCACHED_REP);
	assert_int_equal(t.res.resarray.resarray_len, 1);
	tc_free(&t);

	/* EXCHANGE_ID is not SESSION_CACHEABLE: asked to cache, the slot still has nothing */
	ops[0] = op_sequence(sessid, 2, 0, true);
	ops[1] = op_exchange_id("c", "verifier", 0);
	assert_int_equal(t_status(1, ops, 2), NFS4_OK);
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_RETRY_UNCACHED_REP);
}

static void test_sequence_misordered(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 op;

	(void)state;
	t_client41("c", sessid);
	/* RFC 8881 §18.36.4: a fresh slot holds seqid 0 with a cached SEQ_MISORDERED */
	op = op_sequence(sessid, 0, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_SEQ_MISORDERED);
	op = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_SEQ_MISORDERED);
	op = op_sequence(sessid, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	op = op_sequence(sessid, 3, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_SEQ_MISORDERED);
	op = op_sequence(sessid, 0xffffffffu, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_SEQ_MISORDERED);
	/* the errors changed nothing: 2 is next */
	op = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	/* slots are independent */
	op = op_sequence(sessid, 1, 5, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
}

static void test_sequence_bad_slot_and_session(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], other[NFS4_SESSIONID_SIZE];
	nfs_argop4 op;

	(void)state;
	t_client41_bare("c", sessid);
	op = op_sequence(sessid, 1, T_SLOTS, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSLOT);
	op = op_sequence(sessid, 1, 0xffffffffu, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSLOT);
	op = op_sequence(sessid, 1, T_SLOTS - 1, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);

	memcpy(other, sessid, sizeof(other));
	other[15] ^= 1;
	op = op_sequence(other, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);
	memset(other, 0, sizeof(other));
	op = op_sequence(other, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);
}

static void test_too_many_ops(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	EXCHANGE_ID4resok x;
	nfs_argop4 ops[5];
	struct tc t;

	(void)state;
	assert_int_equal(t_exchange_id("c", "verifier", 0, &x), NFS4_OK);
	ops[0] = op_create_session(x.eir_clientid, 1);
	ops[0].nfs_argop4_u.opcreate_session.csa_fore_chan_attrs.ca_maxoperations = 3;
	tc_run(&t, 1, ops, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	memcpy(sessid, tc_res(&t, 0)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4.csr_sessionid,
	       NFS4_SESSIONID_SIZE);
	assert_int_equal(tc_res(&t, 0)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4
				 .csr_fore_chan_attrs.ca_maxoperations,
			 3);
	tc_free(&t);

	ops[0] = op_sequence(sessid, 1, 0, false);
	ops[1] = ops[2] = ops[3] = op_putfh("f");
	tc_run(&t, 1, ops, 4);
	assert_int_equal(t.res.status, NFS4ERR_TOO_MANY_OPS);
	assert_int_equal(t.res.resarray.resarray_len, 1);
	tc_free(&t);
	/* the slot was not used: seqid 1 is still the next one */
	assert_int_equal(t_status(1, ops, 3), NFS4_OK);
}

static void test_create_session_replay(void **state)
{
	char s1[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE], s3[NFS4_SESSIONID_SIZE];
	EXCHANGE_ID4resok x;
	nfs_argop4 op;

	(void)state;
	assert_int_equal(t_exchange_id("c", "verifier", 0, &x), NFS4_OK);
	/* unconfirmed: the contrived cached reply of seqid 0, and a gap */
	assert_int_equal(t_create_session(x.eir_clientid, 0, NULL), NFS4ERR_SEQ_MISORDERED);
	assert_int_equal(t_create_session(x.eir_clientid, 2, NULL), NFS4ERR_SEQ_MISORDERED);
	assert_int_equal(t_create_session(x.eir_clientid, 1, s1), NFS4_OK);
	/* a retry gets the same session, not a new one */
	assert_int_equal(t_create_session(x.eir_clientid, 1, s2), NFS4_OK);
	assert_memory_equal(s1, s2, sizeof(s1));
	assert_int_equal(t_stats().sessions, 1);
	assert_int_equal(t_create_session(x.eir_clientid, 3, NULL), NFS4ERR_SEQ_MISORDERED);
	assert_int_equal(t_create_session(x.eir_clientid, 2, s3), NFS4_OK);
	assert_memory_not_equal(s1, s3, sizeof(s1));
	assert_int_equal(t_stats().sessions, 2);
	/* a replay with the session's SEQUENCE in front is fine too */
	{
		nfs_argop4 ops[] = {op_sequence(s1, 1, 0, false), op_create_session(x.eir_clientid, 2)};
		struct tc t;

		tc_run(&t, 1, ops, 2);
		assert_int_equal(t.res.status, NFS4_OK);
		assert_memory_equal(tc_res(&t, 1)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u
					    .csr_resok4.csr_sessionid,
				    s3, NFS4_SESSIONID_SIZE);
		tc_free(&t);
	}

	/* unknown, earlier-run and 4.0 client IDs */
	assert_int_equal(t_create_session(x.eir_clientid + 1000, 1, NULL), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_create_session((x.eir_clientid & 0xffffffffu) | (uint64_t)(T_BOOT - 1) << 32, 1, NULL),
			 NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_create_session(t_client40("old", "verifier"), 1, NULL), NFS4ERR_STALE_CLIENTID);

	/* bad arguments */
	op = op_create_session(x.eir_clientid, 3);
	op.nfs_argop4_u.opcreate_session.csa_fore_chan_attrs.ca_maxresponsesize = 16;
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_TOOSMALL);
	op = op_create_session(x.eir_clientid, 3);
	op.nfs_argop4_u.opcreate_session.csa_flags = 0x100;
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_INVAL);
	/* another principal */
	t_uid = 1000;
	assert_int_equal(t_create_session(x.eir_clientid, 3, NULL), NFS4ERR_CLID_INUSE);
	t_uid = 0;
	assert_int_equal(t_create_session(x.eir_clientid, 3, NULL), NFS4_OK);
}

static void test_destroy_session_clientid(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[3];
	clientid4 id;

	(void)state;
	id = t_client41("c", sessid);
	ops[0] = op_plain(OP_DESTROY_CLIENTID);
	ops[0].nfs_argop4_u.opdestroy_clientid.dca_clientid = id;
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_CLIENTID_BUSY);

	/* DESTROY_SESSION not last in a COMPOUND on its own session */
	ops[0] = op_sequence(sessid, 1, 0, false);
	ops[1] = op_plain(OP_DESTROY_SESSION);
	memcpy(ops[1].nfs_argop4_u.opdestroy_session.dsa_sessionid, sessid, NFS4_SESSIONID_SIZE);
	ops[2] = op_putfh("f");
	assert_int_equal(t_status(1, ops, 3), NFS4ERR_NOT_ONLY_OP);
	/* last: fine, and the slot's end comes after the session's */
	ops[0] = op_sequence(sessid, 2, 0, true);
	assert_int_equal(t_status(1, ops, 2), NFS4_OK);
	assert_int_equal(t_stats().sessions, 0);
	ops[0] = op_sequence(sessid, 3, 0, false);
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_BADSESSION);
	assert_int_equal(t_status(1, &ops[1], 1), NFS4ERR_BADSESSION);

	/* no sessions left: the client ID can go, unless the request runs in its session */
	assert_int_equal(t_create_session(id, 2, s2), NFS4_OK);
	ops[0] = op_sequence(s2, 1, 0, false);
	ops[1] = op_plain(OP_DESTROY_CLIENTID);
	ops[1].nfs_argop4_u.opdestroy_clientid.dca_clientid = id;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_CLIENTID_BUSY);
	ops[0] = op_plain(OP_DESTROY_SESSION);
	memcpy(ops[0].nfs_argop4_u.opdestroy_session.dsa_sessionid, s2, NFS4_SESSIONID_SIZE);
	assert_int_equal(t_status(1, ops, 1), NFS4_OK);
	assert_int_equal(t_status(1, &ops[1], 1), NFS4_OK);
	assert_int_equal(t_stats().clients, 0);
	assert_int_equal(t_status(1, &ops[1], 1), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_create_session(id, 3, NULL), NFS4ERR_STALE_CLIENTID);
}

static void test_reclaim_complete(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[3];

	(void)state;
	t_client41_bare("c", sessid);
	ops[0] = op_sequence(sessid, 1, 0, false);
	ops[1] = op_plain(OP_RECLAIM_COMPLETE);
	assert_int_equal(t_status(1, ops, 2), NFS4_OK);
	ops[0] = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_COMPLETE_ALREADY);
	/* the per-file-system form needs a current FH */
	ops[0] = op_sequence(sessid, 3, 0, false);
	ops[1].nfs_argop4_u.opreclaim_complete.rca_one_fs = TRUE;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_NOFILEHANDLE);
	ops[0] = op_sequence(sessid, 4, 0, false);
	ops[2] = ops[1];
	ops[1] = op_putfh("f");
	assert_int_equal(t_status(1, ops, 3), NFS4_OK);
	/* without SEQUENCE it is not allowed at all */
	assert_int_equal(t_status(1, &ops[2], 1), NFS4ERR_OP_NOT_IN_SESSION);
}

static void test_bind_conn_to_session(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[2];
	struct tc t;

	(void)state;
	t_client41("c", sessid);
	ops[0] = op_plain(OP_BIND_CONN_TO_SESSION);
	memcpy(ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_sessid, sessid, NFS4_SESSIONID_SIZE);
	ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_dir = CDFC4_FORE_OR_BOTH;
	tc_run(&t, 1, ops, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	assert_int_equal(tc_res(&t, 0)->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u
				 .bctsr_resok4.bctsr_dir,
			 CDFS4_FORE);
	assert_memory_equal(tc_res(&t, 0)->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u
				    .bctsr_resok4.bctsr_sessid,
			    sessid, NFS4_SESSIONID_SIZE);
	tc_free(&t);
	ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_dir = CDFC4_FORE;
	assert_int_equal(t_status(1, ops, 1), NFS4_OK);
	ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_dir = CDFC4_BACK;
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_INVAL);
	ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_dir = CDFC4_FORE;
	ops[0].nfs_argop4_u.opbind_conn_to_session.bctsa_sessid[0] ^= 1;
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_BADSESSION);
	/* only op, even after SEQUENCE */
	ops[1] = ops[0];
	ops[0] = op_sequence(sessid, 1, 0, false);
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_NOT_ONLY_OP);
}

static void test_exchange_id_cases(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE];
	EXCHANGE_ID4resok x, y;
	nfs_argop4 op;
	clientid4 id;

	(void)state;
	/* case 7: update without a confirmed record */
	assert_int_equal(t_exchange_id("c", "verifier", EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, NULL), NFS4ERR_NOENT);
	/* case 4: an unconfirmed record is replaced, with a new client ID */
	assert_int_equal(t_exchange_id("c", "verifier", 0, &x), NFS4_OK);
	assert_int_equal(t_exchange_id("c", "verifier", 0, &y), NFS4_OK);
	assert_true(x.eir_clientid != y.eir_clientid);
	assert_int_equal(t_create_session(x.eir_clientid, 1, NULL), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_stats().unconfirmed, 1);
	assert_int_equal(t_create_session(y.eir_clientid, 1, sessid), NFS4_OK);
	id = y.eir_clientid;

	/* case 6, 8, 9: updates */
	assert_int_equal(t_exchange_id("c", "verifier", EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, &x), NFS4_OK);
	assert_int_equal(x.eir_clientid, id);
	assert_true(x.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
	assert_int_equal(t_exchange_id("c", "verifie2", EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, NULL), NFS4ERR_NOT_SAME);
	t_uid = 7;
	assert_int_equal(t_exchange_id("c", "verifier", EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, NULL), NFS4ERR_PERM);
	/* case 3: another principal while the client has state */
	assert_int_equal(t_exchange_id("c", "verifier", 0, NULL), NFS4ERR_CLID_INUSE);
	t_uid = 0;

	/* bad flags, state protection */
	assert_int_equal(t_exchange_id("c", "verifier", EXCHGID4_FLAG_CONFIRMED_R, NULL), NFS4ERR_INVAL);
	assert_int_equal(t_exchange_id("c", "verifier", 0x1000, NULL), NFS4ERR_INVAL);
	op = op_exchange_id("c", "verifier", 0);
	op.nfs_argop4_u.opexchange_id.eia_state_protect.spa_how = SP4_MACH_CRED;
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_INVAL);

	/* case 5: the client restarted (new verifier). The old client ID works until the
	 * new one is confirmed, then it is gone with its sessions. */
	assert_int_equal(t_exchange_id("c", "verifie2", 0, &x), NFS4_OK);
	assert_true(x.eir_clientid != id);
	assert_false(x.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
	op = op_sequence(sessid, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	assert_int_equal(t_create_session(x.eir_clientid, x.eir_sequenceid, s2), NFS4_OK);
	op = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);
	op = op_sequence(s2, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	assert_int_equal(t_stats().clients, 1);
	assert_int_equal(t_stats().sessions, 1);

	/* case 3 without state: the old record is dropped */
	op = op_plain(OP_DESTROY_SESSION);
	memcpy(op.nfs_argop4_u.opdestroy_session.dsa_sessionid, s2, NFS4_SESSIONID_SIZE);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	t_uid = 7;
	assert_int_equal(t_exchange_id("c", "verifie2", 0, &y), NFS4_OK);
	assert_true(y.eir_clientid != x.eir_clientid);
	assert_int_equal(t_stats().clients, 0);
	assert_int_equal(t_create_session(y.eir_clientid, 1, NULL), NFS4_OK);
}

static void test_lease_expiry(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE];
	nfs_argop4 op;
	clientid4 id, id2;

	(void)state;
	id = t_client41("a", sessid);
	id2 = t_client41("b", s2);
	(void)id2;
	assert_int_equal(t_exchange_id("unconfirmed", "verifier", 0, NULL), NFS4_OK);

	t_now += T_LEASE - 1;
	op = op_sequence(sessid, 1, 0, false); /* renews a */
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	assert_int_equal(state_sweep(S), 0);
	t_now += 1;
	/* b and the unconfirmed record ran out; a was renewed */
	assert_int_equal(state_sweep(S), 2);
	assert_int_equal(t_stats().clients, 1);
	assert_int_equal(t_stats().unconfirmed, 0);
	op = op_sequence(s2, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);

	/* without a sweep, the next use notices */
	t_now += T_LEASE;
	op = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);
	assert_int_equal(t_create_session(id, 2, NULL), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_stats().clients, 0);
	assert_int_equal(state_sweep(S), 0);
}

static void test_busy_slot(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[3];
	stateid4 anon = {0};
	struct tc p, t;

	(void)state;
	t_client41("c", sessid);
	ops[0] = op_sequence(sessid, 1, 0, true);
	ops[1] = op_putfh("f");
	ops[2] = op_read(&anon);
	t_park = true;
	tc_start(&p, 1, ops, 3);
	assert_false(p.done);
	assert_non_null(t_parked);
	t_park = false;

	/* the retry of a request still in progress, the next seqid on the busy slot, and
	 * one that is neither */
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_DELAY);
	ops[0] = op_sequence(sessid, 2, 0, false);
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_DELAY);
	ops[0] = op_sequence(sessid, 3, 0, false);
	assert_int_equal(t_status(1, ops, 1), NFS4ERR_SEQ_MISORDERED);
	ops[0] = op_sequence(sessid, 1, 1, false);
	assert_int_equal(t_status(1, ops, 1), NFS4_OK);

	compound_resume(t_parked, NFS4_OK);
	assert_true(p.done);
	assert_int_equal(p.res.status, NFS4_OK);
	ops[0] = op_sequence(sessid, 1, 0, true);
	tc_run(&t, 1, ops, 3);
	assert_true(t.replayed);
	assert_memory_equal(t.flat, p.flat, p.len);
	tc_free(&t);
	tc_free(&p);

	/* a client holding a slot is not expired under it */
	ops[0] = op_sequence(sessid, 2, 0, false);
	t_park = true;
	tc_start(&p, 1, ops, 3);
	t_park = false;
	assert_false(p.done);
	t_now += 3 * T_LEASE;
	assert_int_equal(state_sweep(S), 0);
	assert_int_equal(t_stats().clients, 1);
	compound_resume(t_parked, NFS4_OK);
	assert_true(p.done);
	tc_free(&p);
	/* idle now, and its lease is long gone */
	assert_int_equal(state_sweep(S), 1);
}

static void test_destroy_while_in_use(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[3];
	stateid4 anon = {0};
	struct tc p;

	(void)state;
	t_client41("c", sessid);
	ops[0] = op_sequence(sessid, 1, 0, true);
	ops[1] = op_putfh("f");
	ops[2] = op_read(&anon);
	t_park = true;
	tc_start(&p, 1, ops, 3);
	t_park = false;
	assert_false(p.done);

	/* the session goes while a request runs in it, then the client too (a new
	 * incarnation confirmed) */
	ops[0] = op_plain(OP_DESTROY_SESSION);
	memcpy(ops[0].nfs_argop4_u.opdestroy_session.dsa_sessionid, sessid, NFS4_SESSIONID_SIZE);
	assert_int_equal(t_status(1, ops, 1), NFS4_OK);
	assert_int_equal(t_stats().sessions, 0);
	{
		EXCHANGE_ID4resok x;

		assert_int_equal(t_exchange_id("c", "verifie2", 0, &x), NFS4_OK);
		assert_int_equal(t_create_session(x.eir_clientid, 1, NULL), NFS4_OK);
	}
	assert_int_equal(t_stats().clients, 1);
	/* the parked request ends in its dead session: nothing cached, nothing leaked */
	compound_resume(t_parked, NFS4_OK);
	assert_true(p.done);
	tc_free(&p);
}

static void test_restart_stale(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 op;
	clientid4 id;

	(void)state;
	id = t_client41("c", sessid);
	state_destroy(S);
	S = t_state(T_BOOT + 1);
	assert_int_equal(t_create_session(id, 2, NULL), NFS4ERR_STALE_CLIENTID);
	op = op_sequence(sessid, 1, 0, false);
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_BADSESSION);
	op = op_plain(OP_DESTROY_CLIENTID);
	op.nfs_argop4_u.opdestroy_clientid.dca_clientid = id;
	assert_int_equal(t_status(1, &op, 1), NFS4ERR_STALE_CLIENTID);
}

static void test_create_config(void **state)
{
	struct state_config c = t_scfg;
	struct nfs_state *s;

	(void)state;
	c.lease_time = 0;
	assert_int_equal(state_create(&s, &c), -EINVAL);
	c = t_scfg;
	c.server_owner = "";
	assert_int_equal(state_create(&s, &c), -EINVAL);
	c = t_scfg;
	c.max_resp = 10;
	assert_int_equal(state_create(&s, &c), -EINVAL);
	c = t_scfg;
	c.now = NULL;
	assert_int_equal(state_create(&s, &c), 0);
	state_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_happy_path, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_replay_identical, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_uncached, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_misordered, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_bad_slot_and_session, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_too_many_ops, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_create_session_replay, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_session_clientid, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_complete, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bind_conn_to_session, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_exchange_id_cases, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lease_expiry, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_busy_slot, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_in_use, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_restart_stale, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_create_config, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

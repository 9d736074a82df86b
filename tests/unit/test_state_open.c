/* cmocka tests of open state and stateids: state_open() (through a toy OPEN handler),
 * state_check_io() (toy READ/WRITE), state_stateid_arg(), CLOSE, OPEN_CONFIRM, TEST_STATEID,
 * FREE_STATEID; share reservations; old, bad and stale stateids (RFC 8881 §8.2, §9.7,
 * §16.2.3.1.2, §18.2, §18.38, §18.48; RFC 7530 §9.1, §16.18). */
#include "test_state_util.h"

static const stateid4 cur_sid = {1, {0}};   /* the current-stateid special value */
static const stateid4 anon_sid = {0, {0}};  /* anonymous */

static stateid4 bypass_sid(void)
{
	stateid4 s;

	s.seqid = UINT32_MAX;
	memset(s.other, 0xff, sizeof(s.other));
	return s;
}

static nfsstat4 read41(const char *sessid, uint32_t seq, const char *fh, const stateid4 *sid)
{
	nfs_argop4 ops[] = {op_sequence(sessid, seq, 1, false), op_putfh(fh), op_read(sid)};

	return t_status(1, ops, 3);
}

static nfsstat4 write41(const char *sessid, uint32_t seq, const char *fh, const stateid4 *sid)
{
	nfs_argop4 ops[] = {op_sequence(sessid, seq, 1, false), op_putfh(fh), op_write(sid)};

	return t_status(1, ops, 3);
}

static void test_open_read_close_current(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[5];
	stateid4 sid, out;
	struct tc t;

	(void)state;
	t_client41("c", sessid);
	/* OPEN, READ and CLOSE with the current stateid (RFC 8881 §16.2.3.1.2, Figure 4) */
	ops[0] = op_sequence(sessid, 1, 0, false);
	ops[1] = op_putfh("fileA");
	ops[2] = op_open(0, "owner", 0, OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
			 OPEN4_SHARE_DENY_NONE, NULL);
	ops[3] = op_read(&cur_sid);
	ops[4] = op_close(0, &cur_sid);
	tc_run(&t, 1, ops, 5);
	assert_int_equal(t.res.status, NFS4_OK);
	sid = tc_res(&t, 2)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	assert_int_equal(sid.seqid, 1);
	assert_int_equal(tc_res(&t, 2)->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags, 0);
	out = tc_res(&t, 4)->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid;
	/* RFC 8881 §18.2.4: the special invalid stateid comes back */
	assert_int_equal(out.seqid, UINT32_MAX);
	assert_memory_equal(out.other, anon_sid.other, NFS4_OTHER_SIZE);
	tc_free(&t);
	assert_int_equal(t_stats().opens, 0);
	assert_int_equal(t_stats().owners, 0);
	/* the closed stateid is gone */
	assert_int_equal(read41(sessid, 1, "fileA", &sid), NFS4ERR_BAD_STATEID);

	/* the current stateid after PUTFH alone is (0, 0): not usable (Figure 6) */
	assert_int_equal(read41(sessid, 2, "fileA", &cur_sid), NFS4ERR_BAD_STATEID);
	/* nor without any op that set one */
	ops[0] = op_sequence(sessid, 2, 0, false);
	ops[1] = op_plain(OP_FREE_STATEID);
	ops[1].nfs_argop4_u.opfree_stateid.fsa_stateid = cur_sid;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_BAD_STATEID);
	/* after CLOSE the current stateid is the invalid special one */
	assert_int_equal(t_open41(sessid, 3, "fileA", "owner", OPEN4_SHARE_ACCESS_READ, 0, &sid), NFS4_OK);
	ops[0] = op_sequence(sessid, 4, 0, false);
	ops[1] = op_putfh("fileA");
	ops[2] = op_close(0, &sid);
	ops[3] = op_read(&cur_sid);
	tc_run(&t, 1, ops, 4);
	assert_int_equal(t.res.status, NFS4ERR_BAD_STATEID);
	assert_int_equal(t.res.resarray.resarray_len, 4);
	tc_free(&t);
}

static void test_open_upgrade_and_modes(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	stateid4 a, b, x;

	(void)state;
	t_client41("c", sessid);
	assert_int_equal(t_open41(sessid, 1, "f", "owner", OPEN4_SHARE_ACCESS_READ, 0, &a), NFS4_OK);
	assert_int_equal(read41(sessid, 1, "f", &a), NFS4_OK);
	assert_int_equal(write41(sessid, 2, "f", &a), NFS4ERR_OPENMODE);
	/* the same owner again: the same stateid, upgraded */
	assert_int_equal(t_open41(sessid, 2, "f", "owner", OPEN4_SHARE_ACCESS_WRITE, 0, &b), NFS4_OK);
	assert_memory_equal(a.other, b.other, NFS4_OTHER_SIZE);
	assert_int_equal(b.seqid, 2);
	assert_int_equal(t_stats().opens, 1);
	assert_int_equal(read41(sessid, 3, "f", &a), NFS4ERR_OLD_STATEID);
	x = b;
	x.seqid = 3;
	assert_int_equal(read41(sessid, 4, "f", &x), NFS4ERR_BAD_STATEID);
	x.seqid = 0; /* "the current one" */
	assert_int_equal(write41(sessid, 5, "f", &x), NFS4_OK);
	assert_int_equal(write41(sessid, 6, "f", &b), NFS4_OK);
	/* on another file, and as another owner: separate stateids */
	assert_int_equal(read41(sessid, 7, "g", &b), NFS4ERR_BAD_STATEID);
	assert_int_equal(t_open41(sessid, 3, "g", "owner", OPEN4_SHARE_ACCESS_READ, 0, &x), NFS4_OK);
	assert_memory_not_equal(x.other, b.other, NFS4_OTHER_SIZE);
	assert_int_equal(t_open41(sessid, 4, "f", "owner2", OPEN4_SHARE_ACCESS_READ, 0, &x), NFS4_OK);
	assert_memory_not_equal(x.other, b.other, NFS4_OTHER_SIZE);
	assert_int_equal(t_stats().opens, 3);
	assert_int_equal(t_stats().owners, 2);
	/* invalid share values */
	assert_int_equal(t_open41(sessid, 5, "f", "owner", 0, 0, &x), NFS4ERR_INVAL);
	assert_int_equal(t_open41(sessid, 6, "f", "owner", OPEN4_SHARE_ACCESS_READ, 4, &x), NFS4ERR_INVAL);
	/* a stateid of another client (4.1: the session's client only) */
	{
		char s2[NFS4_SESSIONID_SIZE];

		t_client41("d", s2);
		assert_int_equal(read41(s2, 1, "f", &b), NFS4ERR_BAD_STATEID);
	}
}

static void test_share_reservations(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE];
	stateid4 a, b, bypass = bypass_sid();

	(void)state;
	t_client41("c", sessid);
	t_client41("d", s2);
	assert_int_equal(t_open41(sessid, 1, "f", "o1", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE, &a),
			 NFS4_OK);
	/* another client's owner may not write, nor deny reading */
	assert_int_equal(t_open41(s2, 1, "f", "o2", OPEN4_SHARE_ACCESS_BOTH, 0, &b), NFS4ERR_SHARE_DENIED);
	assert_int_equal(t_open41(s2, 2, "f", "o2", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_READ, &b),
			 NFS4ERR_SHARE_DENIED);
	assert_int_equal(t_stats().owners, 1); /* the refused owner was not kept */
	assert_int_equal(t_open41(s2, 3, "f", "o2", OPEN4_SHARE_ACCESS_READ, 0, &b), NFS4_OK);
	/* nor can the first one upgrade to deny reading now */
	assert_int_equal(t_open41(sessid, 2, "f", "o1", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_BOTH, &b),
			 NFS4ERR_SHARE_DENIED);
	/* anonymous I/O under a deny: write refused, read fine; READ bypass reads */
	assert_int_equal(write41(s2, 1, "f", &anon_sid), NFS4ERR_LOCKED);
	assert_int_equal(write41(s2, 2, "f", &bypass), NFS4ERR_LOCKED);
	assert_int_equal(read41(s2, 3, "f", &anon_sid), NFS4_OK);
	assert_int_equal(read41(s2, 4, "f", &bypass), NFS4_OK);
	assert_int_equal(write41(s2, 5, "other-file", &anon_sid), NFS4_OK);
	/* other special values are not stateids */
	{
		stateid4 x = anon_sid;

		x.seqid = 2;
		assert_int_equal(read41(s2, 6, "f", &x), NFS4ERR_BAD_STATEID);
		x = bypass;
		x.seqid = 0;
		assert_int_equal(read41(s2, 7, "f", &x), NFS4ERR_BAD_STATEID);
	}
}

static void test_test_and_free_stateid(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE], s2[NFS4_SESSIONID_SIZE];
	stateid4 a, old, other, ids[6];
	nfs_argop4 ops[3];
	TEST_STATEID4resok *ok;
	struct tc t;

	(void)state;
	t_client41("c", sessid);
	t_client41("d", s2);
	assert_int_equal(t_open41(sessid, 1, "f", "o", OPEN4_SHARE_ACCESS_READ, 0, &old), NFS4_OK);
	assert_int_equal(t_open41(sessid, 2, "f", "o", OPEN4_SHARE_ACCESS_WRITE, 0, &a), NFS4_OK);
	assert_int_equal(t_open41(s2, 1, "g", "o", OPEN4_SHARE_ACCESS_READ, 0, &other), NFS4_OK);
	ids[0] = a;
	ids[1] = old;
	ids[2] = anon_sid;
	ids[3] = a;
	ids[3].other[11] ^= 0x55;
	ids[4] = other;
	ids[5] = a;
	ids[5].seqid = 0;
	ops[0] = op_sequence(sessid, 3, 0, false);
	ops[1] = op_plain(OP_TEST_STATEID);
	ops[1].nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_len = 6;
	ops[1].nfs_argop4_u.optest_stateid.ts_stateids.ts_stateids_val = ids;
	tc_run(&t, 1, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	ok = &tc_res(&t, 1)->nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4;
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_len, 6);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[0], NFS4_OK);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[1], NFS4ERR_OLD_STATEID);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[2], NFS4ERR_BAD_STATEID);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[3], NFS4ERR_BAD_STATEID);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[4], NFS4ERR_BAD_STATEID);
	assert_int_equal(ok->tsr_status_codes.tsr_status_codes_val[5], NFS4_OK);
	tc_free(&t);

	/* an open is a lock: not free-able; after CLOSE it is gone */
	ops[0] = op_sequence(sessid, 4, 0, false);
	ops[1] = op_plain(OP_FREE_STATEID);
	ops[1].nfs_argop4_u.opfree_stateid.fsa_stateid = a;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_LOCKS_HELD);
	ops[0] = op_sequence(sessid, 5, 0, false);
	ops[1].nfs_argop4_u.opfree_stateid.fsa_stateid = other;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_BAD_STATEID);
	ops[0] = op_sequence(sessid, 6, 0, false);
	ops[1] = op_putfh("f");
	ops[2] = op_close(0, &old);
	assert_int_equal(t_status(1, ops, 3), NFS4ERR_OLD_STATEID);
	ops[0] = op_sequence(sessid, 7, 0, false);
	ops[2] = op_close(0, &a);
	assert_int_equal(t_status(1, ops, 3), NFS4_OK);
	ops[0] = op_sequence(sessid, 8, 0, false);
	ops[1] = op_plain(OP_FREE_STATEID);
	ops[1].nfs_argop4_u.opfree_stateid.fsa_stateid = a;
	assert_int_equal(t_status(1, ops, 2), NFS4ERR_BAD_STATEID);
	/* CLOSE of another client's stateid, or on the wrong file */
	ops[0] = op_sequence(sessid, 9, 0, false);
	ops[1] = op_putfh("g");
	ops[2] = op_close(0, &other);
	assert_int_equal(t_status(1, ops, 3), NFS4ERR_BAD_STATEID);
	ops[0] = op_sequence(s2, 2, 0, false);
	ops[1] = op_putfh("f");
	assert_int_equal(t_status(1, ops, 3), NFS4ERR_BAD_STATEID);
	assert_int_equal(t_stats().opens, 1);
}

/* The 4.0 open-owner life: OPEN with OPEN4_RESULT_CONFIRM, OPEN_CONFIRM, seqids,
 * retransmissions, CLOSE. */
static void test_open40_confirm_close(void **state)
{
	clientid4 id;
	nfs_argop4 ops[3];
	stateid4 s1, s2, s3, sc;
	struct tc t;

	(void)state;
	id = t_client40("linux", "verifier");
	ops[0] = op_putfh("f");
	ops[1] = op_open(id, "owner", 7, OPEN4_SHARE_ACCESS_READ, 0, "f");
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	s1 = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	assert_int_equal(tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags, OPEN4_RESULT_CONFIRM);
	tc_free(&t);
	/* not usable, nor closable, before OPEN_CONFIRM */
	ops[1] = op_read(&s1);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_STATEID);

	ops[1] = op_plain(OP_OPEN_CONFIRM);
	ops[1].nfs_argop4_u.opopen_confirm.open_stateid = s1;
	ops[1].nfs_argop4_u.opopen_confirm.seqid = 9;
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_SEQID);
	ops[1].nfs_argop4_u.opopen_confirm.seqid = 8;
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	s2 = tc_res(&t, 1)->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid;
	assert_int_equal(s2.seqid, 2);
	assert_memory_equal(s2.other, s1.other, NFS4_OTHER_SIZE);
	tc_free(&t);
	/* retransmitted: the same answer, nothing changes */
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	assert_memory_equal(&tc_res(&t, 1)->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid,
			    &s2, sizeof(s2));
	tc_free(&t);
	/* confirming again with the next seqid: the owner is confirmed already */
	ops[1].nfs_argop4_u.opopen_confirm.open_stateid = s2;
	ops[1].nfs_argop4_u.opopen_confirm.seqid = 9;
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_STATEID);
	/* BAD_STATEID left the seqid alone: 9 is still next */

	ops[1] = op_read(&s2);
	assert_int_equal(t_status(0, ops, 2), NFS4_OK);
	ops[1] = op_read(&s1);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_OLD_STATEID);
	ops[1] = op_write(&s2);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_OPENMODE);
	/* in 4.0, seqid 0 and (1, 0) are nothing special */
	sc = s2;
	sc.seqid = 0;
	ops[1] = op_read(&sc);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_OLD_STATEID);
	ops[1] = op_read(&cur_sid);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_STATEID);

	/* an upgrade, and its retransmission */
	ops[1] = op_open(id, "owner", 9, OPEN4_SHARE_ACCESS_WRITE, 0, "f");
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	s3 = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	assert_int_equal(s3.seqid, 3);
	assert_int_equal(tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags, 0);
	tc_free(&t);
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	assert_memory_equal(&tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid, &s3, sizeof(s3));
	tc_free(&t);
	/* a seqid out of order */
	ops[1] = op_open(id, "owner", 12, OPEN4_SHARE_ACCESS_READ, 0, "f");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_SEQID);
	/* a failed OPEN still takes its seqid, and its retransmission fails the same way */
	ops[1] = op_open(id, "owner", 10, OPEN4_SHARE_ACCESS_READ, 0, "missing");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_NOENT);
	ops[1] = op_open(id, "owner", 10, OPEN4_SHARE_ACCESS_READ, 0, "f");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_NOENT);

	/* CLOSE with the next seqid (11), its retransmission, and the stateid is gone */
	ops[1] = op_close(11, &s3);
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	sc = tc_res(&t, 1)->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid;
	assert_int_equal(sc.seqid, 4);
	tc_free(&t);
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	assert_memory_equal(&tc_res(&t, 1)->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid, &sc, sizeof(sc));
	tc_free(&t);
	assert_int_equal(t_stats().opens, 0);
	ops[1] = op_read(&s3);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_BAD_STATEID);
	/* the owner is kept for retransmissions a while, then swept */
	assert_int_equal(t_stats().owners, 1);
	t_now += T_LEASE - 1;
	assert_int_equal(state_sweep(S), 0);
	{
		nfs_argop4 r = op_renew(id);

		assert_int_equal(t_status(0, &r, 1), NFS4_OK);
	}
	t_now += 1;
	assert_int_equal(state_sweep(S), 0);
	assert_int_equal(t_stats().owners, 0);
	assert_int_equal(t_stats().clients, 1);
}

/* An unconfirmed 4.0 owner is replaced by its next OPEN; OPEN of an unknown client. */
static void test_open40_unconfirmed_and_stale(void **state)
{
	clientid4 id;
	nfs_argop4 ops[2];
	stateid4 s1, s2;
	struct tc t;

	(void)state;
	id = t_client40("linux", "verifier");
	ops[0] = op_putfh("f");
	ops[1] = op_open(id, "owner", 1, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE, "f");
	tc_run(&t, 0, ops, 2);
	s1 = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	tc_free(&t);
	ops[1] = op_open(id, "owner", 50, OPEN4_SHARE_ACCESS_READ, 0, "f");
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	s2 = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	assert_int_equal(tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags, OPEN4_RESULT_CONFIRM);
	tc_free(&t);
	assert_memory_not_equal(s1.other, s2.other, NFS4_OTHER_SIZE);
	assert_int_equal(t_stats().opens, 1);
	/* the deny of the replaced open is gone with it */
	ops[1] = op_write(&anon_sid);
	assert_int_equal(t_status(0, ops, 2), NFS4_OK);

	ops[1] = op_open(id + 99, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "f");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_STALE_CLIENTID);
	/* a failed first OPEN leaves no owner */
	ops[1] = op_open(id, "new-owner", 1, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "missing");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_NOENT);
	assert_int_equal(t_stats().owners, 1);

	/* a lease that ran out: OPEN and I/O answer EXPIRED, and the state is gone */
	t_now += T_LEASE;
	ops[1] = op_read(&s2);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_EXPIRED);
	/* and again once the state is gone: its client is gone, so still EXPIRED (RFC 7530
	 * §9.6.3; knfsd too), not BAD_STATEID */
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_EXPIRED);
	ops[1] = op_open(id, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "f");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_stats().opens, 0);
}

static void test_open40_expired_open(void **state)
{
	clientid4 id;
	nfs_argop4 ops[2];

	(void)state;
	id = t_client40("linux", "verifier");
	t_now += T_LEASE;
	ops[0] = op_putfh("f");
	ops[1] = op_open(id, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "f");
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_EXPIRED);
	assert_int_equal(t_stats().clients, 0);
}

/* Stateids of an earlier server run: STALE_STATEID in 4.0, BAD_STATEID in 4.1. */
static void test_stale_stateids(void **state)
{
	char sessid[NFS4_SESSIONID_SIZE];
	nfs_argop4 ops[3];
	stateid4 s40, s41;
	clientid4 id;
	struct tc t;

	(void)state;
	t_client41("c", sessid);
	assert_int_equal(t_open41(sessid, 1, "f", "o", OPEN4_SHARE_ACCESS_READ, 0, &s41), NFS4_OK);
	id = t_client40("linux", "verifier");
	ops[0] = op_putfh("f");
	ops[1] = op_open(id, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "f");
	tc_run(&t, 0, ops, 2);
	s40 = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	tc_free(&t);

	state_destroy(S);
	S = t_state(T_BOOT + 1);
	ops[1] = op_read(&s40);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_STALE_STATEID);
	ops[1] = op_close(2, &s40);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_STALE_STATEID);
	ops[1] = op_plain(OP_OPEN_CONFIRM);
	ops[1].nfs_argop4_u.opopen_confirm.open_stateid = s40;
	ops[1].nfs_argop4_u.opopen_confirm.seqid = 2;
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_STALE_STATEID);
	/* a stateid of this run whose client is unknown: EXPIRED (4.0) */
	s40.other[0] = (char)((T_BOOT + 1) >> 24);
	s40.other[1] = (char)((T_BOOT + 1) >> 16);
	s40.other[2] = (char)((T_BOOT + 1) >> 8);
	s40.other[3] = (char)(T_BOOT + 1);
	ops[1] = op_read(&s40);
	assert_int_equal(t_status(0, ops, 2), NFS4ERR_EXPIRED);

	t_client41("c", sessid);
	assert_int_equal(read41(sessid, 1, "f", &s41), NFS4ERR_BAD_STATEID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_read_close_current, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_open_upgrade_and_modes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_share_reservations, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_test_and_free_stateid, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_open40_confirm_close, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_open40_unconfirmed_and_stale, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_open40_expired_open, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stale_stateids, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

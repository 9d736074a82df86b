/* cmocka tests of NFSv4.0 client IDs (RFC 7530 §16.33, §16.34, §16.28): SETCLIENTID and
 * SETCLIENTID_CONFIRM in their cases, CLID_INUSE, RENEW, stale client IDs after a restart,
 * lease expiry. Real COMPOUNDs through the engine. */
#include "test_state_util.h"

static SETCLIENTID4resok setclientid(const char *id, const char *verf, const char *addr, nfsstat4 want)
{
	nfs_argop4 op = op_setclientid(id, verf, addr);
	SETCLIENTID4resok ok;
	struct tc t;

	memset(&ok, 0, sizeof(ok));
	tc_run(&t, 0, &op, 1);
	assert_int_equal(t.res.status, want);
	if (want == NFS4_OK)
		ok = tc_res(&t, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4;
	tc_free(&t);
	return ok;
}

static nfsstat4 confirm(clientid4 id, const char *verf)
{
	nfs_argop4 op = op_setclientid_confirm(id, verf);

	return t_status(0, &op, 1);
}

static nfsstat4 renew(clientid4 id)
{
	nfs_argop4 op = op_renew(id);

	return t_status(0, &op, 1);
}

static void test_setclientid_confirm_renew(void **state)
{
	SETCLIENTID4resok a;
	char wrong[NFS4_VERIFIER_SIZE];

	(void)state;
	a = setclientid("linux", "verifier", "127.0.0.1.3.4", NFS4_OK);
	assert_int_equal(a.clientid >> 32, T_BOOT);
	assert_int_equal(t_stats().unconfirmed, 1);
	/* not usable before it is confirmed */
	assert_int_equal(renew(a.clientid), NFS4ERR_STALE_CLIENTID);
	memcpy(wrong, a.setclientid_confirm, sizeof(wrong));
	wrong[0] ^= 1;
	assert_int_equal(confirm(a.clientid, wrong), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(confirm(a.clientid + 1, a.setclientid_confirm), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	assert_int_equal(t_stats().clients, 1);
	assert_int_equal(t_stats().unconfirmed, 0);
	assert_int_equal(renew(a.clientid), NFS4_OK);
	/* a retransmitted confirm changes nothing */
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	assert_int_equal(t_stats().clients, 1);
	/* 4.0 ops in 4.1 are NOTSUPP (the engine) */
	{
		nfs_argop4 op = op_renew(a.clientid);
		char sessid[NFS4_SESSIONID_SIZE];
		nfs_argop4 ops[2];

		t_client41("other", sessid);
		ops[0] = op_sequence(sessid, 1, 0, false);
		ops[1] = op;
		assert_int_equal(t_status(1, ops, 2), NFS4ERR_NOTSUPP);
		/* and a 4.1 client ID is no 4.0 one */
		assert_int_equal(renew(t_client41("x", sessid)), NFS4ERR_STALE_CLIENTID);
	}
}

static void test_setclientid_clid_inuse(void **state)
{
	nfs_argop4 op = op_setclientid("linux", "verifier", "10.0.0.2.8.1");
	SETCLIENTID4resok a;
	struct tc t;

	(void)state;
	a = setclientid("linux", "verifier", "10.0.0.1.8.1", NFS4_OK);
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	t_uid = 1000;
	tc_run(&t, 0, &op, 1);
	assert_int_equal(t.res.status, NFS4ERR_CLID_INUSE);
	assert_string_equal(tc_res(&t, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_addr,
			    "10.0.0.1.8.1");
	assert_string_equal(tc_res(&t, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_netid,
			    "tcp");
	tc_free(&t);
	/* another principal cannot confirm someone else's record either */
	t_uid = 0;
	a = setclientid("other", "verifier", "10.0.0.1.8.1", NFS4_OK);
	t_uid = 1000;
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4ERR_CLID_INUSE);
	t_uid = 0;
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	/* once the lease ran out the id string is free again */
	t_now += T_LEASE;
	t_uid = 1000;
	a = setclientid("linux", "verifier", "10.0.0.2.8.1", NFS4_OK);
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	/* an over-long callback address */
	{
		char addr[ST_NETADDR_MAX + 2];

		memset(addr, '1', sizeof(addr) - 1);
		addr[sizeof(addr) - 1] = 0;
		setclientid("long", "verifier", addr, NFS4ERR_INVAL);
	}
}

static void test_setclientid_callback_update(void **state)
{
	SETCLIENTID4resok a, b, c;
	nfs_argop4 ops[3];
	stateid4 sid;
	struct tc t;

	(void)state;
	a = setclientid("linux", "verifier", "10.0.0.1.8.1", NFS4_OK);
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	/* an open, to see that the state survives */
	ops[0] = op_putfh("file");
	ops[1] = op_open(a.clientid, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "file");
	tc_run(&t, 0, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	sid = tc_res(&t, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	tc_free(&t);

	/* same verifier: the same client ID, a new confirm verifier */
	b = setclientid("linux", "verifier", "10.0.0.1.9.1", NFS4_OK);
	assert_int_equal(b.clientid, a.clientid);
	assert_memory_not_equal(b.setclientid_confirm, a.setclientid_confirm, NFS4_VERIFIER_SIZE);
	/* until it is confirmed the old confirm verifier still answers */
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	assert_int_equal(confirm(b.clientid, b.setclientid_confirm), NFS4_OK);
	assert_int_equal(confirm(b.clientid, b.setclientid_confirm), NFS4_OK); /* retransmission */
	assert_int_equal(t_stats().opens, 1);
	assert_int_equal(t_stats().clients, 1);
	/* the new callback is the one shown to a colliding principal */
	t_uid = 5;
	ops[0] = op_setclientid("linux", "verifier", "x");
	tc_run(&t, 0, ops, 1);
	assert_int_equal(t.res.status, NFS4ERR_CLID_INUSE);
	assert_string_equal(tc_res(&t, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.client_using.na_r_addr,
			    "10.0.0.1.9.1");
	tc_free(&t);
	t_uid = 0;

	/* another pending update replaced by a newer one: only the newest confirms */
	b = setclientid("linux", "verifier", "10.0.0.1.9.2", NFS4_OK);
	c = setclientid("linux", "verifier", "10.0.0.1.9.3", NFS4_OK);
	assert_int_equal(confirm(c.clientid, b.setclientid_confirm), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(confirm(c.clientid, c.setclientid_confirm), NFS4_OK);
	(void)sid;
}

static void test_setclientid_reboot(void **state)
{
	SETCLIENTID4resok a, b, c;
	nfs_argop4 ops[2];

	(void)state;
	a = setclientid("linux", "verifier", "10.0.0.1.8.1", NFS4_OK);
	assert_int_equal(confirm(a.clientid, a.setclientid_confirm), NFS4_OK);
	ops[0] = op_putfh("file");
	ops[1] = op_open(a.clientid, "owner", 1, OPEN4_SHARE_ACCESS_READ, 0, "file");
	assert_int_equal(t_status(0, ops, 2), NFS4_OK);

	/* a new incarnation: a new client ID; the old one lives until the new is confirmed */
	b = setclientid("linux", "verifie2", "10.0.0.1.8.1", NFS4_OK);
	assert_true(b.clientid != a.clientid);
	assert_int_equal(renew(a.clientid), NFS4_OK);
	/* replaced again before confirmation (the unconfirmed record goes) */
	c = setclientid("linux", "verifie3", "10.0.0.1.8.1", NFS4_OK);
	assert_true(c.clientid != b.clientid);
	assert_int_equal(confirm(b.clientid, b.setclientid_confirm), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(confirm(c.clientid, c.setclientid_confirm), NFS4_OK);
	assert_int_equal(renew(a.clientid), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(renew(c.clientid), NFS4_OK);
	assert_int_equal(t_stats().clients, 1);
	assert_int_equal(t_stats().opens, 0);
	assert_int_equal(t_stats().owners, 0);
}

static void test_stale_after_restart(void **state)
{
	clientid4 id;

	(void)state;
	id = t_client40("linux", "verifier");
	assert_int_equal(renew(id), NFS4_OK);
	state_destroy(S);
	S = t_state(T_BOOT + 7);
	assert_int_equal(renew(id), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(confirm(id, "whatever"), NFS4ERR_STALE_CLIENTID);
	/* and the client starts over */
	id = t_client40("linux", "verifier");
	assert_int_equal(id >> 32, T_BOOT + 7);
	assert_int_equal(renew(id), NFS4_OK);
}

static void test_lease_expiry(void **state)
{
	clientid4 a, b;
	SETCLIENTID4resok u;

	(void)state;
	a = t_client40("a", "verifier");
	b = t_client40("b", "verifier");
	u = setclientid("u", "verifier", "x", NFS4_OK);
	t_now += T_LEASE / 2;
	assert_int_equal(renew(a), NFS4_OK);
	t_now += T_LEASE / 2;
	/* b ran out: expired at its next use, then unknown */
	assert_int_equal(renew(b), NFS4ERR_EXPIRED);
	assert_int_equal(renew(b), NFS4ERR_STALE_CLIENTID);
	/* the unconfirmed record is dropped by the sweep */
	assert_int_equal(t_stats().unconfirmed, 1);
	assert_int_equal(state_sweep(S), 1);
	assert_int_equal(confirm(u.clientid, u.setclientid_confirm), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(renew(a), NFS4_OK);
	t_now += T_LEASE;
	assert_int_equal(state_sweep(S), 1);
	assert_int_equal(renew(a), NFS4ERR_STALE_CLIENTID);
	assert_int_equal(t_stats().clients, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setclientid_confirm_renew, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_setclientid_clid_inuse, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_setclientid_callback_update, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_setclientid_reboot, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stale_after_restart, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_lease_expiry, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cmocka tests of the client records and the grace period after a restart (state.h,
 * clientrec.h; RFC 8881 §8.4.2, §8.4.2.1, §18.51; RFC 7530 §9.6.2), through real COMPOUNDs:
 * a run is state_create on a state directory, a restart state_destroy + state_create on the
 * same one (with another boot time). Which clients are recorded when (4.1: CREATE_SESSION,
 * 4.0: SETCLIENTID_CONFIRM), the grace period of a run that found records (reclaims by the
 * previous run's clients only, NFS4ERR_GRACE for the rest, NFS4ERR_NO_GRACE for reclaims
 * that may not be), its early end by RECLAIM_COMPLETE and its end by time, the records then,
 * clients that went (DESTROY_CLIENTID, lease expiry), new incarnations, a stop, a restart
 * inside the grace period, state_boot_info.
 *
 * The tests named *_rfc hold the server to an RFC passage where the code, at the time of
 * writing, does something else; each names the passage. They run last. */
#include "test_state_util.h"
#include "test_tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_GRACE 30u
#define NOCHK 0xdeadbeefu /* a seqid 4.1 must ignore */

static char base[256];   /* mkdtemp */
static char sdir[512];   /* base/state: the state directory, made by state_create */
static uint64_t boot;    /* boot time of the running "server" */

/* ---- runs ------------------------------------------------------------------------------- */

static int setup(void **state)
{
	t_setup(state);
	state_destroy(S);
	snprintf(base, sizeof(base), "/tmp/ug-grace-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(sdir, sizeof(sdir), "%s/state", base);
	t_scfg.state_dir = sdir;
	t_scfg.grace_time = T_GRACE;
	boot = T_BOOT;
	S = t_state(boot);
	return 0;
}

static int teardown(void **state)
{
	t_teardown(state);
	t_rm_tree(base);
	return 0;
}

/* The server stops (or crashes: everything of the records is on disk) and starts again. */
static void restart(void)
{
	state_destroy(S);
	S = NULL;
	t_now += 5;
	S = t_state(++boot);
}

static struct state_boot boot_info(void)
{
	struct state_boot b;

	memset(&b, 0xee, sizeof(b));
	state_boot_info(S, &b);
	return b;
}

/* ---- the records file ------------------------------------------------------------------- */

static char *slurp(void)
{
	return t_read_file(sdir, "clients", NULL);
}

static void write_records(const char *content)
{
	char path[600];
	FILE *f;

	assert_true(mkdir(sdir, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/clients", sdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	fclose(f);
}

static void hex_line(char *out, char op, const char *name)
{
	*out++ = op;
	for (; *name; name++)
		out += sprintf(out, "%02x", (unsigned char)*name);
	*out = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file is exactly the lines "+HEX(name)" of names (NULL-terminated), in any order, each
 * once (what a rewrite leaves). */
static void records_are(const char *const *names)
{
	char *buf = slurp(), *p, *got[32], *want[32], lines[32][80];
	unsigned ngot = 0, nwant = 0;

	for (p = buf; *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl);
		*nl = 0;
		assert_true(ngot < 32);
		got[ngot++] = p;
		p = nl + 1;
	}
	for (; names[nwant]; nwant++) {
		assert_true(nwant < 32);
		hex_line(lines[nwant], '+', names[nwant]);
		want[nwant] = lines[nwant];
	}
	qsort(got, ngot, sizeof(got[0]), cmp_str);
	qsort(want, nwant, sizeof(want[0]), cmp_str);
	if (ngot != nwant)
		fail_msg("%u lines in the records, want %u", ngot, nwant);
	for (unsigned i = 0; i < ngot; i++)
		if (strcmp(got[i], want[i]))
			fail_msg("record line %s, want %s", got[i], want[i]);
	free(buf);
}

#define RECORDS(...) records_are((const char *const[]){__VA_ARGS__, NULL})
#define NO_RECORDS() records_are((const char *const[]){NULL})

/* The names the log stands for when replayed ("+" adds, "-" takes away), as a set. */
static void replay_is(const char *const *names)
{
	char *buf = slurp(), *p, set[32][80];
	unsigned n = 0, k;

	for (p = buf; *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl);
		*nl = 0;
		assert_true(*p == '+' || *p == '-');
		for (k = 0; k < n && strcmp(set[k], p + 1); k++)
			;
		if (*p == '+' && k == n) {
			assert_true(n < 32 && strlen(p) < sizeof(set[0]));
			strcpy(set[n++], p + 1);
		} else if (*p == '-' && k < n) {
			memmove(set[k], set[k + 1], (n - k - 1) * sizeof(set[0]));
			n--;
		}
		p = nl + 1;
	}
	for (k = 0; names[k]; k++) {
		char line[80];
		unsigned j;

		hex_line(line, '+', names[k]);
		for (j = 0; j < n && strcmp(set[j], line + 1); j++)
			;
		if (j == n)
			fail_msg("%s is not in the replayed records", names[k]);
	}
	if (k != n)
		fail_msg("%u names in the replayed records, want %u", n, k);
	free(buf);
}

#define REPLAY(...) replay_is((const char *const[]){__VA_ARGS__, NULL})
#define REPLAY_EMPTY() replay_is((const char *const[]){NULL})

/* ---- clients and calls ------------------------------------------------------------------ */

struct cl {
	uint32_t minor;
	clientid4 id;
	char sessid[NFS4_SESSIONID_SIZE];
	uint32_t seq;   /* 4.1: slot 0's next sequence id */
	struct {        /* 4.0: the next seqid of each open-owner */
		const char *name;
		seqid4 next;
	} ow[8];
	unsigned now;
};

/* 4.0: the seqid that open-owner's next op takes (a new owner starts at 1), advanced. */
static seqid4 oseq(struct cl *c, const char *owner)
{
	unsigned i;

	for (i = 0; i < c->now && strcmp(c->ow[i].name, owner); i++)
		;
	if (i == c->now) {
		assert_true(c->now < 8);
		c->ow[c->now].name = owner;
		c->ow[c->now++].next = 1;
	}
	return c->ow[i].next++;
}

static struct cl cl41v(const char *name, const char *verf)
{
	EXCHANGE_ID4resok ok;
	struct cl c;

	memset(&c, 0, sizeof(c));
	c.minor = 1;
	assert_int_equal(t_exchange_id(name, verf, 0, &ok), NFS4_OK);
	assert_int_equal(t_create_session(ok.eir_clientid, ok.eir_sequenceid, c.sessid), NFS4_OK);
	c.id = ok.eir_clientid;
	c.seq = 1;
	return c;
}

static struct cl cl41(const char *name)
{
	return cl41v(name, "verifier");
}

static struct cl cl40v(const char *name, const char *verf)
{
	struct cl c;

	memset(&c, 0, sizeof(c));
	c.id = t_client40(name, verf);
	return c;
}

static struct cl cl40(const char *name)
{
	return cl40v(name, "verifier");
}

/* SEQUENCE (4.1), PUTFH fh and op; op's status, and its stateid in *sid when it has one. */
static nfsstat4 one(struct cl *c, const char *fh, nfs_argop4 op, stateid4 *sid, uint32_t *rflags)
{
	nfs_argop4 ops[3];
	nfs_resop4 *x;
	struct tc t;
	u_int k = 0;
	nfsstat4 st;

	if (c->minor)
		ops[k++] = op_sequence(c->sessid, c->seq++, 0, false);
	if (fh)
		ops[k++] = op_putfh(fh);
	ops[k] = op;
	tc_run(&t, c->minor, ops, k + 1);
	for (u_int i = 0; i < k; i++)
		assert_int_equal(tc_op_status(&t, i), NFS4_OK);
	assert_int_equal(t.res.resarray.resarray_len, k + 1);
	st = tc_op_status(&t, k);
	assert_int_equal(t.res.status, st);
	x = tc_res(&t, k);
	if (st == NFS4_OK && sid) {
		switch (op.argop) {
		case OP_OPEN:
			*sid = x->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
			if (rflags)
				*rflags = x->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags;
			break;
		case OP_OPEN_CONFIRM:
			*sid = x->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid;
			break;
		case OP_LOCK:
			*sid = x->nfs_resop4_u.oplock.LOCK4res_u.resok4.lock_stateid;
			break;
		default:
			break;
		}
	}
	tc_free(&t);
	return st;
}

/* OPEN of fh by owner: a reclaim (CLAIM_PREVIOUS) or not (4.1 CLAIM_FH, 4.0 CLAIM_NULL);
 * 4.0 with the client's next seqid and OPEN_CONFIRM when the server asks for it (never for
 * a reclaim). */
static nfsstat4 open_(struct cl *c, const char *fh, const char *owner, uint32_t access, uint32_t deny,
		      bool reclaim, stateid4 *sid)
{
	nfs_argop4 op = op_open(c->id, owner, c->minor ? NOCHK : oseq(c, owner), access, deny, c->minor ? NULL : fh);
	stateid4 local;
	uint32_t rflags = 0;
	nfsstat4 st;

	if (!sid)
		sid = &local;
	if (reclaim) {
		op.nfs_argop4_u.opopen.claim.claim = CLAIM_PREVIOUS;
		op.nfs_argop4_u.opopen.claim.open_claim4_u.delegate_type = OPEN_DELEGATE_NONE;
	}
	st = one(c, fh, op, sid, &rflags);
	/* a reclaim's owner is confirmed at once (the Linux client's reclaim OPEN has no GETFH
	 * and could not send OPEN_CONFIRM; knfsd does not ask) */
	if (reclaim && st == NFS4_OK)
		assert_false(rflags & OPEN4_RESULT_CONFIRM);
	if (st == NFS4_OK && (rflags & OPEN4_RESULT_CONFIRM)) {
		assert_int_equal(c->minor, 0);
		op = op_plain(OP_OPEN_CONFIRM);
		op.nfs_argop4_u.opopen_confirm.open_stateid = *sid;
		op.nfs_argop4_u.opopen_confirm.seqid = oseq(c, owner);
		assert_int_equal(one(c, fh, op, sid, NULL), NFS4_OK);
	}
	return st;
}

static nfsstat4 open_new(struct cl *c, const char *fh, const char *owner, stateid4 *sid)
{
	return open_(c, fh, owner, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, false, sid);
}

static nfsstat4 open_prev(struct cl *c, const char *fh, const char *owner, stateid4 *sid)
{
	return open_(c, fh, owner, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, true, sid);
}

/* The first LOCK of lock-owner lo through open osid of open-owner oo (4.0: its seqid). */
static nfsstat4 lock_new(struct cl *c, const char *fh, bool reclaim, uint64_t off, const stateid4 *osid,
			 const char *oo, const char *lo, stateid4 *lsid)
{
	seqid4 os = c->minor ? NOCHK : oseq(c, oo);

	return one(c, fh, op_lock_new(WRITE_LT, reclaim, off, 1, os, osid, c->minor ? NOCHK : 0, c->id, lo),
		   lsid, NULL);
}

static nfsstat4 lockt(struct cl *c, const char *fh)
{
	return one(c, fh, op_lockt(WRITE_LT, 0, 10, c->id, "nobody"), NULL, NULL);
}

static nfsstat4 reclaim_complete(struct cl *c)
{
	return one(c, NULL, op_plain(OP_RECLAIM_COMPLETE), NULL, NULL);
}

/* DESTROY_SESSION then DESTROY_CLIENTID, each alone (RFC 8881 §18.50.3). */
static void destroy41(struct cl *c)
{
	nfs_argop4 op = op_plain(OP_DESTROY_SESSION);

	memcpy(op.nfs_argop4_u.opdestroy_session.dsa_sessionid, c->sessid, NFS4_SESSIONID_SIZE);
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
	op = op_plain(OP_DESTROY_CLIENTID);
	op.nfs_argop4_u.opdestroy_clientid.dca_clientid = c->id;
	assert_int_equal(t_status(1, &op, 1), NFS4_OK);
}

static nfsstat4 renew(struct cl *c)
{
	nfs_argop4 op = op_renew(c->id);

	return t_status(0, &op, 1);
}


static void records_text(const char *want)
{
	char *got = slurp();

	assert_string_equal(got, want);
	free(got);
}

static const stateid4 anon_sid; /* all zeros: the anonymous stateid */

/* ---- (a) the first run ------------------------------------------------------------------ */

/* No records: no grace period. Clients are recorded when confirmed (CREATE_SESSION,
 * SETCLIENTID_CONFIRM), not before; opens and locks do not touch the records. */
static void test_first_run(void **state)
{
	struct state_boot b = boot_info();
	struct cl a, x;
	stateid4 o;
	struct stat st;

	(void)state;
	assert_int_equal(b.previous, 0);
	assert_int_equal(b.bad_lines, 0);
	assert_false(state_in_grace(S));
	assert_int_equal(stat(sdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	records_text("");

	/* unconfirmed client records are not recorded */
	assert_int_equal(t_exchange_id("U", "verifier", 0, NULL), NFS4_OK);
	{
		nfs_argop4 op = op_setclientid("V", "verifier", "127.0.0.1.3.4");

		assert_int_equal(t_status(0, &op, 1), NFS4_OK);
	}
	assert_int_equal(t_stats().unconfirmed, 2);
	records_text("");

	a = cl41("A");
	records_text("+41\n");
	x = cl40("X");
	records_text("+41\n+58\n");
	assert_int_equal(t_stats().clients, 2);

	/* no grace period: new opens and locks go, reclaims are NO_GRACE */
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&a, "f", "o1", &o), NFS4_OK);
	assert_int_equal(lock_new(&a, "f", true, 0, &o, "o1", "lo1", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(lock_new(&a, "f", false, 0, &o, "o1", "lo1", NULL), NFS4_OK);
	assert_int_equal(lockt(&a, "g"), NFS4_OK);
	assert_int_equal(open_prev(&x, "g", "o2", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&x, "g", "o2", &o), NFS4_OK);
	assert_int_equal(lock_new(&x, "g", true, 0, &o, "o2", "lo2", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(lock_new(&x, "g", false, 0, &o, "o2", "lo2", NULL), NFS4_OK);
	assert_int_equal(lockt(&x, "h"), NFS4_OK);
	assert_false(state_in_grace(S));
	assert_int_equal(state_sweep(S), 0);
	records_text("+41\n+58\n");
}

/* ---- (b) the grace period --------------------------------------------------------------- */

/* 4.1 clients only: reclaims by the previous run's clients, GRACE for everything new,
 * NO_GRACE for a client unknown to the previous run and after RECLAIM_COMPLETE; the
 * RECLAIM_COMPLETE of the last previous client ends the grace period at once. */
static void test_grace_41_reclaim_complete(void **state)
{
	struct cl a, b, c;
	stateid4 o, l;
	struct state_boot bi;

	(void)state;
	a = cl41("A");
	b = cl41("B");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4_OK);
	restart();
	bi = boot_info();
	assert_int_equal(bi.previous, 2);
	assert_int_equal(bi.bad_lines, 0);
	assert_true(state_in_grace(S));
	RECORDS("A", "B"); /* compacted at the start */

	a = cl41("A");
	c = cl41("C");
	assert_true(state_in_grace(S));
	/* a client of the previous run: reclaims only */
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4ERR_GRACE);
	assert_int_equal(open_prev(&a, "f", "o1", &o), NFS4_OK);
	assert_int_equal(t_stats().opens, 1);
	assert_int_equal(lock_new(&a, "f", false, 0, &o, "o1", "lo1", NULL), NFS4ERR_GRACE);
	assert_int_equal(lock_new(&a, "f", true, 0, &o, "o1", "lo1", &l), NFS4_OK);
	assert_int_equal(one(&a, "f", op_lock_exist(WRITE_LT, false, 5, 1, &l, NOCHK), NULL, NULL), NFS4ERR_GRACE);
	assert_int_equal(one(&a, "f", op_lock_exist(WRITE_LT, true, 5, 1, &l, NOCHK), &l, NULL), NFS4_OK);
	assert_int_equal(t_stats().ranges, 2);
	assert_int_equal(lockt(&a, "f"), NFS4ERR_GRACE);
	assert_int_equal(lockt(&a, "nostate"), NFS4ERR_GRACE);
	/* a client unknown to the previous run: no reclaims, no new state either */
	assert_int_equal(open_prev(&c, "g", "o3", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&c, "g", "o3", NULL), NFS4ERR_GRACE);
	assert_int_equal(lockt(&c, "f"), NFS4ERR_GRACE);
	assert_int_equal(reclaim_complete(&c), NFS4_OK);
	assert_true(state_in_grace(S)); /* C was none of the previous run's */
	assert_int_equal(open_new(&c, "g", "o3", NULL), NFS4ERR_GRACE);
	/* A is done: no more reclaims from it, and no new state while B may still reclaim */
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_true(state_in_grace(S));
	assert_int_equal(reclaim_complete(&a), NFS4ERR_COMPLETE_ALREADY);
	assert_int_equal(open_prev(&a, "g", "o2", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(lock_new(&a, "f", true, 10, &o, "o1", "lo2", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(one(&a, "f", op_lock_exist(WRITE_LT, true, 6, 1, &l, NOCHK), NULL, NULL),
			 NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&a, "g", "o2", NULL), NFS4ERR_GRACE);
	/* B comes back, reclaims and is done: the last one, the grace period ends now */
	b = cl41("B");
	assert_int_equal(open_prev(&b, "h", "o4", NULL), NFS4_OK);
	assert_true(state_in_grace(S));
	assert_int_equal(reclaim_complete(&b), NFS4_OK);
	assert_false(state_in_grace(S));

	/* after it: new state, and reclaims are NO_GRACE */
	assert_int_equal(open_new(&a, "g", "o2", NULL), NFS4_OK);
	assert_int_equal(open_new(&c, "g", "o3", NULL), NFS4_OK);
	assert_int_equal(open_prev(&b, "h", "o5", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(lock_new(&a, "f", false, 20, &o, "o1", "lo3", NULL), NFS4_OK);
	assert_int_equal(lock_new(&b, "f", true, 30, &o, "o1", "lo4", NULL), NFS4ERR_BAD_STATEID); /* A's open */
	assert_int_equal(lockt(&c, "nostate"), NFS4_OK);
	assert_int_equal(lockt(&c, "f"), NFS4ERR_DENIED);
	/* the records: this run's clients only, once each */
	RECORDS("A", "B", "C");
	restart();
	assert_int_equal(boot_info().previous, 3);
	assert_true(state_in_grace(S));
}

/* A 4.0 client among the previous run's: it cannot say RECLAIM_COMPLETE, so the grace period
 * lasts its grace_time; then the clients that did not come back are forgotten. */
static void test_grace_40_runs_out(void **state)
{
	struct cl a, x, d, z, stale;
	stateid4 o;
	uint64_t start;

	(void)state;
	a = cl41("A");
	x = cl40("X");
	d = cl41("D");
	stale = x;
	restart();
	start = t_now;
	assert_int_equal(boot_info().previous, 3);
	RECORDS("A", "X", "D");
	a = cl41("A");
	x = cl40("X");
	z = cl40("Z");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_true(state_in_grace(S));

	/* 4.0: the same rules */
	assert_int_equal(open_new(&x, "f", "o1", NULL), NFS4ERR_GRACE);
	assert_int_equal(open_prev(&x, "f", "o1", &o), NFS4_OK);
	assert_int_equal(lock_new(&x, "f", false, 0, &o, "o1", "lo1", NULL), NFS4ERR_GRACE);
	assert_int_equal(lock_new(&x, "f", true, 0, &o, "o1", "lo2", NULL), NFS4_OK);
	assert_int_equal(t_stats().ranges, 1);
	assert_int_equal(lockt(&x, "g"), NFS4ERR_GRACE);
	assert_int_equal(open_prev(&z, "g", "o2", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&z, "g", "o2", NULL), NFS4ERR_GRACE);
	/* a client ID of the previous run is STALE_CLIENTID (RFC 7530 §9.6.2), grace or not */
	assert_int_equal(open_prev(&stale, "g", "o3", NULL), NFS4ERR_STALE_CLIENTID);

	/* the end comes with time */
	t_now = start + T_GRACE - 1;
	assert_int_equal(state_sweep(S), 0);
	assert_true(state_in_grace(S));
	assert_int_equal(open_new(&x, "g", "o4", NULL), NFS4ERR_GRACE);
	REPLAY("A", "X", "D", "Z"); /* the compacted log and this run's additions */
	t_now = start + T_GRACE;
	assert_int_equal(state_sweep(S), 0);
	assert_false(state_in_grace(S));
	/* D did not come back: forgotten */
	RECORDS("A", "X", "Z");
	assert_int_equal(open_prev(&x, "g", "o4", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&x, "g", "o4", NULL), NFS4_OK);
	assert_int_equal(lock_new(&x, "f", true, 5, &o, "o1", "lo5", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(lockt(&x, "g"), NFS4_OK);
	d = cl41("D");
	assert_int_equal(open_prev(&d, "h", "o5", NULL), NFS4ERR_NO_GRACE);
	REPLAY("A", "X", "Z", "D");
	restart();
	assert_int_equal(boot_info().previous, 4);
}

/* The grace period ends on time also when nothing but state_in_grace looks (no sweep). */
static void test_grace_ends_without_sweep(void **state)
{
	struct cl a;
	uint64_t start;

	(void)state;
	a = cl41("A");
	restart();
	start = t_now;
	assert_true(state_in_grace(S));
	t_now = start + T_GRACE;
	a = cl41("A");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4_OK);
	assert_false(state_in_grace(S));
	RECORDS("A");
}

/* A restart inside the grace period: the previous run's clients that have not come back
 * may still reclaim in the next run, and so may those that came back. */
static void test_restart_in_grace(void **state)
{
	struct cl a, b;

	(void)state;
	a = cl41("A");
	b = cl41("B");
	restart();
	a = cl41("A");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4_OK);
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_true(state_in_grace(S));
	restart();
	assert_int_equal(boot_info().previous, 2);
	assert_true(state_in_grace(S));
	b = cl41("B");
	assert_int_equal(open_prev(&b, "g", "o2", NULL), NFS4_OK);
	a = cl41("A");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4_OK);
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(reclaim_complete(&b), NFS4_OK);
	assert_false(state_in_grace(S));
	RECORDS("A", "B");
}

/* A previous-run client that said RECLAIM_COMPLETE stays done: its next incarnation, or
 * the same client back after its lease ran out, reclaims nothing (RFC 8881 §18.51.3). A
 * grace period longer than the lease here, for the second. */
static void test_done_stays_done(void **state)
{
	struct cl a, b;

	(void)state;
	t_scfg.grace_time = 3 * T_LEASE;
	a = cl41("A");
	b = cl41("B");
	restart();
	a = cl41("A");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	a = cl41v("A", "verifie2");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(reclaim_complete(&a), NFS4_OK); /* a new client ID: its own */
	assert_true(state_in_grace(S));               /* B may still come */
	t_now += T_LEASE;
	assert_int_equal(state_sweep(S), 1);
	assert_true(state_in_grace(S));
	a = cl41("A");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	b = cl41("B");
	assert_int_equal(open_prev(&b, "g", "o2", NULL), NFS4_OK);
	assert_int_equal(reclaim_complete(&b), NFS4_OK);
	assert_false(state_in_grace(S));
}

/* ---- compaction while running ---------------------------------------------------------- */

/* n 4.0 clients named "c<i>" (confirmed, so recorded). */
static void churn40(unsigned from, unsigned n)
{
	char name[16];

	for (unsigned i = from; i < from + n; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		t_client40(name, "verifier");
	}
}

static unsigned log_lines(void)
{
	char *buf = slurp();
	unsigned n = 0;

	for (char *p = buf; *p; p++)
		n += *p == '\n';
	free(buf);
	return n;
}

/* Out of grace a sweep compacts a log that grew far past the clients it records (more than
 * 2 x recorded + 1024 lines); a short one is left alone. */
static void test_compaction_while_running(void **state)
{
	struct cl p;

	(void)state;
	churn40(0, 5);
	t_now += T_LEASE;
	p = cl41("P");
	assert_int_equal(state_sweep(S), 5);
	assert_int_equal(state_sweep(S), 0);
	assert_int_equal(log_lines(), 11); /* 5 + P + 5 -: short, kept */
	REPLAY("P");
	churn40(5, 600);
	t_now += T_LEASE - 1;
	assert_int_equal(reclaim_complete(&p), NFS4_OK); /* P's lease renewed */
	t_now += 1;
	assert_int_equal(state_sweep(S), 600);
	assert_int_equal(state_sweep(S), 0);
	records_text("+50\n");
	/* appends go on after it */
	p = cl41("Q");
	records_text("+50\n+51\n");
	restart();
	assert_int_equal(boot_info().previous, 2);
}

/* In the grace period the log keeps the previous run's names, however long it grows: they
 * must survive a crash until they reclaimed or the grace period ended. */
static void test_no_compaction_in_grace(void **state)
{
	uint64_t start;
	char verf[16];

	(void)state;
	cl41("A");
	cl41("B");
	restart();
	start = t_now;
	assert_true(state_in_grace(S));
	/* a 4.0 client that reboots over and over: "-" and "+" each time, one recorded */
	for (unsigned i = 0; i < 600; i++) {
		snprintf(verf, sizeof(verf), "v%07u", i);
		t_client40("c", verf);
	}
	assert_int_equal(t_stats().clients, 1);
	assert_true(log_lines() > 1200);
	assert_int_equal(state_sweep(S), 0);
	assert_true(state_in_grace(S));
	assert_true(log_lines() > 1200);
	REPLAY("A", "B", "c");
	/* its end forgets A and B */
	t_now = start + T_GRACE;
	assert_int_equal(state_sweep(S), 0);
	assert_false(state_in_grace(S));
	records_text("+63\n");
}

/* ---- (c) clients that went -------------------------------------------------------------- */

static void test_gone_clients_forgotten(void **state)
{
	struct cl a, b, x, y;
	nfs_argop4 op = op_setclientid("U", "verifier", "127.0.0.1.3.4");

	(void)state;
	a = cl41("A");
	records_text("+41\n");
	destroy41(&a);
	records_text("+41\n-41\n");
	b = cl41("B");
	x = cl40("X");
	y = cl40("Y");
	assert_int_equal(t_status(0, &op, 1), NFS4_OK); /* unconfirmed: never recorded */
	REPLAY("B", "X", "Y");
	t_now += T_LEASE;
	/* Y's lease ran out: gone at its next use */
	assert_int_equal(renew(&y), NFS4ERR_EXPIRED);
	REPLAY("B", "X");
	/* B and X (and the unconfirmed U) by the sweep */
	assert_int_equal(state_sweep(S), 3);
	REPLAY_EMPTY();
	(void)b;
	(void)x;
	restart();
	assert_int_equal(boot_info().previous, 0);
	assert_false(state_in_grace(S));
	records_text("");
	a = cl41("A");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4_OK);
}

/* A previous-run client that comes back in the grace period and then goes is forgotten too. */
static void test_gone_in_grace(void **state)
{
	struct cl a, b;

	(void)state;
	a = cl41("A");
	b = cl41("B");
	restart();
	a = cl41("A");
	destroy41(&a);
	REPLAY("B");
	restart();
	assert_int_equal(boot_info().previous, 1);
	a = cl41("A");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	b = cl41("B");
	assert_int_equal(open_prev(&b, "f", "o1", NULL), NFS4_OK);
}

/* ---- (d) new incarnations --------------------------------------------------------------- */

static void test_new_incarnation(void **state)
{
	struct cl a, x;
	uint64_t start;

	(void)state;
	a = cl41("A");
	x = cl40("X");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4_OK);
	assert_int_equal(open_new(&x, "g", "o2", NULL), NFS4_OK);
	/* both clients reboot: new verifiers */
	a = cl41v("A", "verifie2");
	x = cl40v("X", "verifie2");
	assert_int_equal(t_stats().clients, 2);
	assert_int_equal(t_stats().unconfirmed, 0);
	assert_int_equal(t_stats().opens, 0);
	REPLAY("A", "X");
	restart();
	start = t_now;
	assert_int_equal(boot_info().previous, 2);
	RECORDS("A", "X");
	/* again in the grace period, twice for A */
	a = cl41v("A", "verifie3");
	a = cl41v("A", "verifie4");
	x = cl40v("X", "verifie3");
	assert_int_equal(t_stats().clients, 2);
	REPLAY("A", "X");
	assert_int_equal(open_prev(&a, "f", "o1", NULL), NFS4_OK);
	assert_int_equal(open_prev(&x, "g", "o2", NULL), NFS4_OK);
	t_now = start + T_GRACE;
	assert_int_equal(state_sweep(S), 0);
	assert_false(state_in_grace(S));
	RECORDS("A", "X");
	/* and once more after it */
	x = cl40v("X", "verifie4");
	REPLAY("A", "X");
	restart();
	assert_int_equal(boot_info().previous, 2);
	RECORDS("A", "X");
}

/* ---- (e) a stop ------------------------------------------------------------------------- */

static void test_stop_keeps_records(void **state)
{
	struct cl a, x;
	char *before, *after;

	(void)state;
	a = cl41("A");
	x = cl40("X");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4_OK);
	assert_int_equal(open_new(&x, "g", "o2", NULL), NFS4_OK);
	before = slurp();
	assert_string_equal(before, "+41\n+58\n");
	state_destroy(S);
	S = NULL;
	after = slurp();
	assert_string_equal(after, before);
	free(before);
	free(after);
	S = t_state(++boot);
	assert_int_equal(boot_info().previous, 2);
	assert_true(state_in_grace(S));
	/* a stop inside the grace period keeps the ones that have not come back */
	a = cl41("A");
	state_destroy(S);
	S = NULL;
	REPLAY("A", "X");
	S = t_state(++boot);
	assert_int_equal(boot_info().previous, 2);
}

/* ---- (f) state_boot_info and the state directory --------------------------------------- */

static void test_boot_info(void **state)
{
	struct state_boot b;
	struct cl aa, bb;

	(void)state;
	state_destroy(S);
	S = NULL;
	/* aa twice, bb added and removed, a garbage line, cc, "+6464\n" cut by a crash */
	write_records("+6161\n+6262\nxyz\n-6262\n+6363\n+6161\n+646");
	S = t_state(++boot);
	b = boot_info();
	assert_int_equal(b.previous, 2);
	assert_int_equal(b.bad_lines, 2);
	assert_true(state_in_grace(S));
	RECORDS("aa", "cc");
	aa = cl41("aa");
	assert_int_equal(open_prev(&aa, "f", "o1", NULL), NFS4_OK);
	bb = cl41("bb");
	assert_int_equal(open_prev(&bb, "g", "o2", NULL), NFS4ERR_NO_GRACE);
	/* the compaction dropped the cut line: the additions after it are whole lines */
	restart();
	b = boot_info();
	assert_int_equal(b.previous, 3);
	assert_int_equal(b.bad_lines, 0);
	RECORDS("aa", "bb", "cc");

	/* without a state directory: nothing found, never a grace period */
	state_destroy(S);
	S = NULL;
	t_scfg.state_dir = NULL;
	S = t_state(++boot);
	b = boot_info();
	assert_int_equal(b.previous, 0);
	assert_int_equal(b.bad_lines, 0);
	assert_false(state_in_grace(S));
	aa = cl41("aa");
	assert_int_equal(open_prev(&aa, "f", "o1", NULL), NFS4ERR_NO_GRACE);
	t_scfg.state_dir = sdir;
}

static void test_state_dir_unusable(void **state)
{
	struct state_config c = t_scfg;
	struct nfs_state *s = (struct nfs_state *)(uintptr_t)1;
	char file[600], sub[700];
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/plain", base);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(sub, sizeof(sub), "%s/state", file);
	c.state_dir = sub;
	assert_int_equal(state_create(&s, &c), -ENOTDIR);
	assert_null(s);
	s = (struct nfs_state *)(uintptr_t)1;
	c.state_dir = file;
	assert_int_equal(state_create(&s, &c), -ENOTDIR);
	assert_null(s);
}

/* ---- held to the RFC -------------------------------------------------------------------- */

/* RFC 8881 §18.51.3: "Whenever a client establishes a new client ID and before it does the
 * first non-reclaim operation that obtains a lock, it MUST send a RECLAIM_COMPLETE with
 * rca_one_fs set to FALSE, even if there are no locks to reclaim. If non-reclaim locking
 * operations are done before the RECLAIM_COMPLETE, an NFS4ERR_GRACE error will be
 * returned." (and §8.4.2.1: NFS4ERR_GRACE must always be returned to a client attempting a
 * non-reclaim lock request before its own global RECLAIM_COMPLETE). knfsd does so in OPEN.
 * At commit c03538e a 4.1 OPEN outside the grace period passed without RECLAIM_COMPLETE. */
static void test_open_before_reclaim_complete_rfc(void **state)
{
	struct cl a;
	stateid4 o;

	(void)state;
	a = cl41("A");
	assert_false(state_in_grace(S));
	assert_int_equal(open_new(&a, "f", "o1", NULL), NFS4ERR_GRACE);
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_new(&a, "f", "o1", &o), NFS4_OK);
}

/* RFC 8881 §8.4.2.1 (RFC 7530 §9.6.2 likewise): in the grace period the server must reject
 * READ and WRITE with NFS4ERR_GRACE unless it can guarantee that no reclaim could conflict
 * with them. Share reservations hold against I/O with the anonymous stateid here
 * (NFS4ERR_LOCKED), so such a WRITE in the grace period may well conflict with a deny mode
 * that is still to be reclaimed. At commit c03538e it passed (state_check_io had no grace
 * rule, the real READ/WRITE handlers neither). */
static void test_anonymous_io_in_grace_rfc(void **state)
{
	struct cl a, c;

	(void)state;
	a = cl41("A");
	c = cl41("C");
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(open_(&a, "f", "o1", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_WRITE, false, NULL),
			 NFS4_OK);
	assert_int_equal(one(&c, "f", op_write(&anon_sid), NULL, NULL), NFS4ERR_LOCKED);
	restart();
	assert_true(state_in_grace(S));
	c = cl41("C");
	assert_int_equal(one(&c, "f", op_write(&anon_sid), NULL, NULL), NFS4ERR_GRACE);
	a = cl41("A");
	assert_int_equal(open_(&a, "f", "o1", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_WRITE, true, NULL),
			 NFS4_OK);
	assert_int_equal(one(&c, "f", op_write(&anon_sid), NULL, NULL), NFS4ERR_GRACE);
	assert_int_equal(one(&c, "g", op_read(&anon_sid), NULL, NULL), NFS4ERR_GRACE);
	assert_int_equal(reclaim_complete(&a), NFS4_OK);
	assert_int_equal(reclaim_complete(&c), NFS4_OK);
	assert_false(state_in_grace(S));
	/* after it the reclaimed deny mode holds */
	assert_int_equal(one(&c, "f", op_write(&anon_sid), NULL, NULL), NFS4ERR_LOCKED);
	assert_int_equal(one(&c, "g", op_read(&anon_sid), NULL, NULL), NFS4_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grace_41_reclaim_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grace_40_runs_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grace_ends_without_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_in_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_stays_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_compaction_in_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_clients_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_in_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_incarnation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_keeps_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_before_reclaim_complete_rfc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_io_in_grace_rfc, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

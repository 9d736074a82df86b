/* Helpers shared by the cmocka tests of the state module: a fake clock, an op table with the
 * state handlers and toy PUTFH / OPEN / READ / WRITE handlers that use the state API the way
 * the real ones do, a dispatcher stand-in (state_slot_done, replays) and op builders.
 * Every call is encoded with the generated xdr_COMPOUND4args and every reply decoded with
 * xdr_COMPOUND4res. */
#ifndef TEST_STATE_UTIL_H
#define TEST_STATE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define T_BOOT 0x5eed0001u
#define T_LEASE 90u
#define T_SLOTS 8u
#define T_CACHED 2048u
#define T_BODY_MAX (64u * 1024u)

#define T_CONTAINER(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

static uint64_t t_now = 1000;
static uint32_t t_uid;                 /* AUTH_SYS uid of the next calls */
static bool t_park;                    /* toy READ parks */
static struct compound *t_parked;
static struct op_table t_table;
static struct compound_config t_cfg;
static struct state_config t_scfg;
static struct nfs_state *S;

static inline uint64_t t_clock(void)
{
	return t_now;
}

/* ---- toy handlers ------------------------------------------------------------------------ */

/* PUTFH: the handle is the current FH; RFC 8881 §16.2.3.1.2: the current stateid is (0, 0). */
static inline nfsstat4 t_putfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const nfs_fh4 *fh = &arg->nfs_argop4_u.opputfh.object;

	(void)res;
	if (!compound_set_fh(c, fh->nfs_fh4_val, fh->nfs_fh4_len))
		return NFS4ERR_BADHANDLE;
	memset(&c->cur_stateid, 0, sizeof(c->cur_stateid));
	c->cur_stateid_set = true;
	return NFS4_OK;
}

/* OPEN of the current FH (the claim only decides reclaim or not). First the grace rules,
 * as the real OPEN does: state_open_claim (CLAIM_PREVIOUS is a reclaim; state.h says when
 * a non-reclaim OPEN gets NFS4ERR_GRACE), a failure advancing a 4.0 owner's seqid through
 * state_open_failed. A CLAIM_NULL name "missing" then fails like a lookup that found
 * nothing, before state_open (as the real OPEN does). */
static inline nfsstat4 t_open(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN4args *a = &arg->nfs_argop4_u.opopen;
	OPEN4resok *ok = &res->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	uint32_t rflags = 0;
	nfsstat4 st;

	st = state_open_claim(req_of(c), &a->owner, a->claim.claim == CLAIM_PREVIOUS);
	if (st != NFS4_OK) {
		state_open_failed(req_of(c), &a->owner, a->seqid, st);
		return st;
	}
	if (a->claim.claim == CLAIM_NULL && a->claim.open_claim4_u.file.utf8string_len == 7 &&
	    !memcmp(a->claim.open_claim4_u.file.utf8string_val, "missing", 7)) {
		state_open_failed(req_of(c), &a->owner, a->seqid, NFS4ERR_NOENT);
		return NFS4ERR_NOENT;
	}
	st = state_open(req_of(c), &a->owner, a->seqid, c->cfh.data, c->cfh.len, a->share_access,
			a->share_deny, a->claim.claim == CLAIM_PREVIOUS, &ok->stateid, &rflags);
	if (st != NFS4_OK)
		return st;
	ok->rflags = rflags;
	ok->attrset.bitmap4_len = 0;
	ok->delegation.delegation_type = OPEN_DELEGATE_NONE;
	c->cur_stateid = ok->stateid;
	c->cur_stateid_set = true;
	return NFS4_OK;
}

static inline nfsstat4 t_read(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	stateid4 sid;
	nfsstat4 st;

	if (t_park) {
		t_parked = c;
		return OP_PARKED;
	}
	st = state_stateid_arg(c, &arg->nfs_argop4_u.opread.stateid, &sid);
	if (st == NFS4_OK)
		st = state_check_io(req_of(c), &sid, c->cfh.data, c->cfh.len, false);
	res->nfs_resop4_u.opread.READ4res_u.resok4.eof = TRUE;
	return st;
}

static inline nfsstat4 t_write(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	WRITE4resok *ok = &res->nfs_resop4_u.opwrite.WRITE4res_u.resok4;
	stateid4 sid;
	nfsstat4 st;

	st = state_stateid_arg(c, &arg->nfs_argop4_u.opwrite.stateid, &sid);
	if (st == NFS4_OK)
		st = state_check_io(req_of(c), &sid, c->cfh.data, c->cfh.len, true);
	ok->count = arg->nfs_argop4_u.opwrite.data.data_len;
	ok->committed = FILE_SYNC4;
	return st;
}

/* ---- the world --------------------------------------------------------------------------- */

static inline struct nfs_state *t_state(uint64_t boot)
{
	struct nfs_state *s;

	t_scfg.boot_time = boot;
	assert_int_equal(state_create(&s, &t_scfg), 0);
	return s;
}

static inline int t_setup(void **state)
{
	(void)state;
	t_now = 1000;
	t_uid = 0;
	t_park = false;
	t_parked = NULL;
	compound_config_default(&t_cfg);
	optable_init(&t_table);
	state_register_ops(&t_table);
	optable_set_handler(&t_table, OP_PUTFH, t_putfh);
	optable_set_handler(&t_table, OP_OPEN, t_open);
	optable_set_handler(&t_table, OP_READ, t_read);
	optable_set_handler(&t_table, OP_WRITE, t_write);
	memset(&t_scfg, 0, sizeof(t_scfg));
	t_scfg.lease_time = T_LEASE;
	t_scfg.max_slots = T_SLOTS;
	t_scfg.max_ops = 16;
	t_scfg.max_req = 1u << 20;
	t_scfg.max_resp = 1u << 20;
	t_scfg.max_resp_cached = T_CACHED;
	t_scfg.server_owner = "test-server";
	t_scfg.now = t_clock;
	S = t_state(T_BOOT);
	return 0;
}

static inline int t_teardown(void **state)
{
	(void)state;
	state_destroy(S);
	S = NULL;
	return 0;
}

/* ---- one call, as the dispatcher runs it -------------------------------------------------- */

struct tc {
	struct nfs_req r;
	char *body;
	struct compound *c;
	bool done;
	bool replayed;          /* the bytes are the slot's cached reply */
	char *flat;             /* what the dispatcher sends (COMPOUND4res) */
	size_t len;
	COMPOUND4res res;
};

static inline void tc_done(struct compound *c)
{
	struct tc *t = T_CONTAINER(req_of(c), struct tc, r);
	const struct iovec *iov;
	unsigned niov;
	size_t len, off = 0;
	XDR x;

	t->done = true;
	if (t->r.replay) {
		assert_null(t->r.slot);
		t->replayed = true;
		t->len = t->r.replay_len;
		t->flat = malloc(t->len);
		assert_non_null(t->flat);
		memcpy(t->flat, t->r.replay, t->len);
	} else {
		iov = compound_reply(c, &niov, &len);
		assert_non_null(iov);
		if (t->r.slot)
			state_slot_done(&t->r, iov, niov, len, compound_reply_cacheable(c));
		assert_null(t->r.slot);
		t->len = len;
		t->flat = malloc(len);
		assert_non_null(t->flat);
		for (unsigned i = 0; i < niov; i++) {
			memcpy(t->flat + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		assert_int_equal(off, len);
	}
	memset(&t->res, 0, sizeof(t->res));
	xdrmem_create(&x, t->flat, (u_int)t->len, XDR_DECODE);
	assert_true(xdr_COMPOUND4res(&x, &t->res));
	assert_int_equal(xdr_getpos(&x), t->len);
	xdr_destroy(&x);
}

/* Start a COMPOUND; unless it parks, it is done (and decoded) on return. */
static inline void tc_start(struct tc *t, uint32_t minor, nfs_argop4 *ops, u_int n)
{
	COMPOUND4args a;
	XDR x;
	u_int len;

	memset(t, 0, sizeof(*t));
	t->r.state = S;
	t->r.cred.flavor = AUTH_SYS;
	t->r.cred.uid = t_uid;
	t->body = malloc(T_BODY_MAX);
	assert_non_null(t->body);
	memset(&a, 0, sizeof(a));
	a.tag.utf8string_len = 1;
	a.tag.utf8string_val = (char *)"t";
	a.minorversion = minor;
	a.argarray.argarray_len = n;
	a.argarray.argarray_val = ops;
	xdrmem_create(&x, t->body, T_BODY_MAX, XDR_ENCODE);
	assert_true(xdr_COMPOUND4args(&x, &a));
	len = xdr_getpos(&x);
	xdr_destroy(&x);
	t->c = compound_new(&t_cfg, &t_table, t->body, len, tc_done, &t->r);
	assert_non_null(t->c);
	t->r.c = t->c;
	assert_int_equal(compound_start(t->c), 0);
}

static inline void tc_run(struct tc *t, uint32_t minor, nfs_argop4 *ops, u_int n)
{
	tc_start(t, minor, ops, n);
	assert_true(t->done);
}

static inline void tc_free(struct tc *t)
{
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&t->res);
	compound_free(t->c);
	free(t->body);
	free(t->flat);
	memset(t, 0, sizeof(*t));
}

static inline nfsstat4 tc_op_status(const struct tc *t, u_int i)
{
	nfsstat4 st;

	assert_true(i < t->res.resarray.resarray_len);
	memcpy(&st, &t->res.resarray.resarray_val[i].nfs_resop4_u, sizeof(st));
	return st;
}

static inline nfs_resop4 *tc_res(struct tc *t, u_int i)
{
	assert_true(i < t->res.resarray.resarray_len);
	return &t->res.resarray.resarray_val[i];
}

/* Run and return the COMPOUND status; the results are dropped. */
static inline nfsstat4 t_status(uint32_t minor, nfs_argop4 *ops, u_int n)
{
	struct tc t;
	nfsstat4 st;

	tc_run(&t, minor, ops, n);
	st = t.res.status;
	tc_free(&t);
	return st;
}

/* ---- op builders ------------------------------------------------------------------------- */

static inline nfs_argop4 op_plain(nfs_opnum4 op)
{
	nfs_argop4 a;

	memset(&a, 0, sizeof(a));
	a.argop = op;
	return a;
}

static inline nfs_argop4 op_exchange_id(const char *owner, const char *verf, uint32_t flags)
{
	nfs_argop4 a = op_plain(OP_EXCHANGE_ID);
	EXCHANGE_ID4args *e = &a.nfs_argop4_u.opexchange_id;

	memcpy(e->eia_clientowner.co_verifier, verf, NFS4_VERIFIER_SIZE);
	e->eia_clientowner.co_ownerid.co_ownerid_len = (u_int)strlen(owner);
	e->eia_clientowner.co_ownerid.co_ownerid_val = (char *)owner;
	e->eia_flags = flags;
	e->eia_state_protect.spa_how = SP4_NONE;
	return a;
}

static inline nfs_argop4 op_create_session(clientid4 id, uint32_t seq)
{
	nfs_argop4 a = op_plain(OP_CREATE_SESSION);
	CREATE_SESSION4args *cs = &a.nfs_argop4_u.opcreate_session;

	cs->csa_clientid = id;
	cs->csa_sequence = seq;
	cs->csa_flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
	cs->csa_fore_chan_attrs.ca_maxrequestsize = 1u << 20;
	cs->csa_fore_chan_attrs.ca_maxresponsesize = 1u << 20;
	cs->csa_fore_chan_attrs.ca_maxresponsesize_cached = 8192;
	cs->csa_fore_chan_attrs.ca_maxoperations = 16;
	cs->csa_fore_chan_attrs.ca_maxrequests = 64;
	cs->csa_back_chan_attrs.ca_maxrequestsize = 4096;
	cs->csa_back_chan_attrs.ca_maxresponsesize = 4096;
	cs->csa_back_chan_attrs.ca_maxresponsesize_cached = 0;
	cs->csa_back_chan_attrs.ca_maxoperations = 2;
	cs->csa_back_chan_attrs.ca_maxrequests = 1;
	cs->csa_cb_program = 0x40000000;
	return a;
}

static inline nfs_argop4 op_sequence(const char *sessid, uint32_t seq, uint32_t slot, bool cache)
{
	nfs_argop4 a = op_plain(OP_SEQUENCE);
	SEQUENCE4args *s = &a.nfs_argop4_u.opsequence;

	memcpy(s->sa_sessionid, sessid, NFS4_SESSIONID_SIZE);
	s->sa_sequenceid = seq;
	s->sa_slotid = slot;
	s->sa_highest_slotid = slot;
	s->sa_cachethis = cache;
	return a;
}

static inline nfs_argop4 op_putfh(const char *fh)
{
	nfs_argop4 a = op_plain(OP_PUTFH);

	a.nfs_argop4_u.opputfh.object.nfs_fh4_len = (u_int)strlen(fh);
	a.nfs_argop4_u.opputfh.object.nfs_fh4_val = (char *)fh;
	return a;
}

static inline nfs_argop4 op_open(clientid4 id, const char *owner, uint32_t seqid, uint32_t access,
				 uint32_t deny, const char *name)
{
	nfs_argop4 a = op_plain(OP_OPEN);
	OPEN4args *o = &a.nfs_argop4_u.opopen;

	o->seqid = seqid;
	o->share_access = access;
	o->share_deny = deny;
	o->owner.clientid = id;
	o->owner.owner.owner_len = (u_int)strlen(owner);
	o->owner.owner.owner_val = (char *)owner;
	o->openhow.opentype = OPEN4_NOCREATE;
	if (name) {
		o->claim.claim = CLAIM_NULL;
		o->claim.open_claim4_u.file.utf8string_len = (u_int)strlen(name);
		o->claim.open_claim4_u.file.utf8string_val = (char *)name;
	} else {
		o->claim.claim = CLAIM_FH;
	}
	return a;
}

static inline nfs_argop4 op_read(const stateid4 *sid)
{
	nfs_argop4 a = op_plain(OP_READ);

	a.nfs_argop4_u.opread.stateid = *sid;
	a.nfs_argop4_u.opread.count = 10;
	return a;
}

static inline nfs_argop4 op_write(const stateid4 *sid)
{
	nfs_argop4 a = op_plain(OP_WRITE);

	a.nfs_argop4_u.opwrite.stateid = *sid;
	a.nfs_argop4_u.opwrite.stable = FILE_SYNC4;
	a.nfs_argop4_u.opwrite.data.data_len = 3;
	a.nfs_argop4_u.opwrite.data.data_val = (char *)"abc";
	return a;
}

static inline nfs_argop4 op_close(uint32_t seqid, const stateid4 *sid)
{
	nfs_argop4 a = op_plain(OP_CLOSE);

	a.nfs_argop4_u.opclose.seqid = seqid;
	a.nfs_argop4_u.opclose.open_stateid = *sid;
	return a;
}

static inline nfs_argop4 op_setclientid(const char *id, const char *verf, const char *addr)
{
	nfs_argop4 a = op_plain(OP_SETCLIENTID);
	SETCLIENTID4args *s = &a.nfs_argop4_u.opsetclientid;

	memcpy(s->client.verifier, verf, NFS4_VERIFIER_SIZE);
	s->client.id.id_len = (u_int)strlen(id);
	s->client.id.id_val = (char *)id;
	s->callback.cb_program = 0x40000000;
	s->callback.cb_location.na_r_netid = (char *)"tcp";
	s->callback.cb_location.na_r_addr = (char *)addr;
	s->callback_ident = 1;
	return a;
}

static inline nfs_argop4 op_setclientid_confirm(clientid4 id, const char *verf)
{
	nfs_argop4 a = op_plain(OP_SETCLIENTID_CONFIRM);

	a.nfs_argop4_u.opsetclientid_confirm.clientid = id;
	memcpy(a.nfs_argop4_u.opsetclientid_confirm.setclientid_confirm, verf, NFS4_VERIFIER_SIZE);
	return a;
}

static inline nfs_argop4 op_renew(clientid4 id)
{
	nfs_argop4 a = op_plain(OP_RENEW);

	a.nfs_argop4_u.oprenew.clientid = id;
	return a;
}

/* LOCK with open_to_lock_owner4: the first lock of lock-owner (id, owner) through an open. */
static inline nfs_argop4 op_lock_new(nfs_lock_type4 type, bool reclaim, uint64_t off, uint64_t len,
				     seqid4 open_seqid, const stateid4 *open_sid, seqid4 lock_seqid,
				     clientid4 id, const char *owner)
{
	nfs_argop4 a = op_plain(OP_LOCK);
	LOCK4args *l = &a.nfs_argop4_u.oplock;
	open_to_lock_owner4 *o = &l->locker.locker4_u.open_owner;

	l->locktype = type;
	l->reclaim = reclaim;
	l->offset = off;
	l->length = len;
	l->locker.new_lock_owner = TRUE;
	o->open_seqid = open_seqid;
	o->open_stateid = *open_sid;
	o->lock_seqid = lock_seqid;
	o->lock_owner.clientid = id;
	o->lock_owner.owner.owner_len = (u_int)strlen(owner);
	o->lock_owner.owner.owner_val = (char *)owner;
	return a;
}

/* LOCK with exist_lock_owner4: a further lock through a lock stateid. */
static inline nfs_argop4 op_lock_exist(nfs_lock_type4 type, bool reclaim, uint64_t off, uint64_t len,
				       const stateid4 *lock_sid, seqid4 lock_seqid)
{
	nfs_argop4 a = op_plain(OP_LOCK);
	LOCK4args *l = &a.nfs_argop4_u.oplock;

	l->locktype = type;
	l->reclaim = reclaim;
	l->offset = off;
	l->length = len;
	l->locker.new_lock_owner = FALSE;
	l->locker.locker4_u.lock_owner.lock_stateid = *lock_sid;
	l->locker.locker4_u.lock_owner.lock_seqid = lock_seqid;
	return a;
}

static inline nfs_argop4 op_lockt(nfs_lock_type4 type, uint64_t off, uint64_t len, clientid4 id,
				  const char *owner)
{
	nfs_argop4 a = op_plain(OP_LOCKT);
	LOCKT4args *l = &a.nfs_argop4_u.oplockt;

	l->locktype = type;
	l->offset = off;
	l->length = len;
	l->owner.clientid = id;
	l->owner.owner.owner_len = (u_int)strlen(owner);
	l->owner.owner.owner_val = (char *)owner;
	return a;
}

static inline nfs_argop4 op_locku(nfs_lock_type4 type, seqid4 seqid, const stateid4 *sid, uint64_t off,
				  uint64_t len)
{
	nfs_argop4 a = op_plain(OP_LOCKU);
	LOCKU4args *l = &a.nfs_argop4_u.oplocku;

	l->locktype = type;
	l->seqid = seqid;
	l->lock_stateid = *sid;
	l->offset = off;
	l->length = len;
	return a;
}

static inline nfs_argop4 op_release_lockowner(clientid4 id, const char *owner)
{
	nfs_argop4 a = op_plain(OP_RELEASE_LOCKOWNER);
	lock_owner4 *o = &a.nfs_argop4_u.oprelease_lockowner.lock_owner;

	o->clientid = id;
	o->owner.owner_len = (u_int)strlen(owner);
	o->owner.owner_val = (char *)owner;
	return a;
}

static inline nfs_argop4 op_free_stateid(const stateid4 *sid)
{
	nfs_argop4 a = op_plain(OP_FREE_STATEID);

	a.nfs_argop4_u.opfree_stateid.fsa_stateid = *sid;
	return a;
}

/* ---- common conversations ---------------------------------------------------------------- */

/* EXCHANGE_ID; returns the status, the result in *ok when there is one. */
static inline nfsstat4 t_exchange_id(const char *owner, const char *verf, uint32_t flags,
				     EXCHANGE_ID4resok *ok)
{
	nfs_argop4 op = op_exchange_id(owner, verf, flags);
	struct tc t;
	nfsstat4 st;

	tc_run(&t, 1, &op, 1);
	st = t.res.status;
	if (st == NFS4_OK && ok) {
		*ok = tc_res(&t, 0)->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
		/* pointers die with t */
		memset(&ok->eir_server_owner.so_major_id, 0, sizeof(ok->eir_server_owner.so_major_id));
		memset(&ok->eir_server_scope, 0, sizeof(ok->eir_server_scope));
		memset(&ok->eir_server_impl_id, 0, sizeof(ok->eir_server_impl_id));
	}
	tc_free(&t);
	return st;
}

/* CREATE_SESSION alone; the session id in sessid when it worked. */
static inline nfsstat4 t_create_session(clientid4 id, uint32_t seq, char *sessid)
{
	nfs_argop4 op = op_create_session(id, seq);
	struct tc t;
	nfsstat4 st;

	tc_run(&t, 1, &op, 1);
	st = t.res.status;
	if (st == NFS4_OK && sessid)
		memcpy(sessid, tc_res(&t, 0)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u
				       .csr_resok4.csr_sessionid,
		       NFS4_SESSIONID_SIZE);
	tc_free(&t);
	return st;
}

/* A 4.1 client with a confirmed client ID and one session, without RECLAIM_COMPLETE. */
static inline clientid4 t_client41_bare(const char *owner, char *sessid)
{
	EXCHANGE_ID4resok ok;

	assert_int_equal(t_exchange_id(owner, "verifier", 0, &ok), NFS4_OK);
	assert_int_equal(t_create_session(ok.eir_clientid, ok.eir_sequenceid, sessid), NFS4_OK);
	return ok.eir_clientid;
}

/* A 4.1 client with a confirmed client ID and one session that has sent RECLAIM_COMPLETE,
 * as every client does before its first OPEN or LOCK (RFC 8881 §18.51.3: GRACE before it).
 * The RECLAIM_COMPLETE goes through the last slot (T_SLOTS - 1, seqid 1): the tests count
 * slot 0's seqids from 1. */
static inline clientid4 t_client41(const char *owner, char *sessid)
{
	clientid4 id = t_client41_bare(owner, sessid);
	nfs_argop4 ops[2] = {op_sequence(sessid, 1, T_SLOTS - 1, false), op_plain(OP_RECLAIM_COMPLETE)};
	struct tc t;

	ops[1].nfs_argop4_u.opreclaim_complete.rca_one_fs = FALSE;
	tc_run(&t, 1, ops, 2);
	assert_int_equal(t.res.status, NFS4_OK);
	tc_free(&t);
	return id;
}

/* A confirmed 4.0 client ID. */
static inline clientid4 t_client40(const char *id, const char *verf)
{
	nfs_argop4 op = op_setclientid(id, verf, "127.0.0.1.3.4");
	SETCLIENTID4resok ok;
	struct tc t;

	tc_run(&t, 0, &op, 1);
	assert_int_equal(t.res.status, NFS4_OK);
	ok = tc_res(&t, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4;
	tc_free(&t);
	op = op_setclientid_confirm(ok.clientid, ok.setclientid_confirm);
	assert_int_equal(t_status(0, &op, 1), NFS4_OK);
	return ok.clientid;
}

/* SEQUENCE + PUTFH fh + OPEN (4.1) by owner; the open stateid. */
static inline nfsstat4 t_open41(const char *sessid, uint32_t seq, const char *fh, const char *owner,
				uint32_t access, uint32_t deny, stateid4 *sid)
{
	nfs_argop4 ops[] = {op_sequence(sessid, seq, 0, false), op_putfh(fh),
			    op_open(0, owner, 0, access, deny, NULL)};
	struct tc t;
	nfsstat4 st;

	tc_run(&t, 1, ops, 3);
	st = t.res.status;
	if (st == NFS4_OK)
		*sid = tc_res(&t, 2)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	tc_free(&t);
	return st;
}

static inline struct state_stats t_stats(void)
{
	struct state_stats st;

	state_stats(S, &st);
	return st;
}

#endif

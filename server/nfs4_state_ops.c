/*
 * The op handlers of client, session and open state (state.h): NFSv4.1+ EXCHANGE_ID,
 * CREATE_SESSION, SEQUENCE, DESTROY_SESSION, DESTROY_CLIENTID, BIND_CONN_TO_SESSION,
 * RECLAIM_COMPLETE, TEST_STATEID, FREE_STATEID (RFC 8881 §18); NFSv4.0 SETCLIENTID,
 * SETCLIENTID_CONFIRM, RENEW, OPEN_CONFIRM (RFC 7530 §16); CLOSE for both.
 *
 * Not offered: state protection other than SP4_NONE (no RPCSEC_GSS), persistent sessions
 * and RDMA, connection binding enforcement. The backchannel itself is deleg.c's.
 */
#include "state.h"

#include <string.h>

/* RFC 8881 §18.35.3: the eia_flags a client may set. */
#define EXID_FLAGS_ARG                                                                        \
	(EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |                     \
	 EXCHGID4_FLAG_SUPP_FENCE_OPS | EXCHGID4_FLAG_BIND_PRINC_STATEID |                     \
	 EXCHGID4_FLAG_MASK_PNFS | EXCHGID4_FLAG_UPD_CONFIRMED_REC_A)

#define CS_FLAGS_ARG                                                                          \
	(CREATE_SESSION4_FLAG_PERSIST | CREATE_SESSION4_FLAG_CONN_BACK_CHAN |                 \
	 CREATE_SESSION4_FLAG_CONN_RDMA)

static struct nfs_state *state_of(struct compound *c)
{
	return req_of(c)->state;
}

void *st_dup_res(struct compound *c, const void *p, size_t len)
{
	void *d = compound_alloc(c, len);

	if (d && len)
		memcpy(d, p, len);
	return d;
}

/* ---- EXCHANGE_ID ----------------------------------------------------------------------- */

/* RFC 8881 §18.35: register a client owner, return its client ID (the nine cases of
 * §18.35.4). Only SP4_NONE state protection. */
static nfsstat4 op_exchange_id(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const EXCHANGE_ID4args *a = &arg->nfs_argop4_u.opexchange_id;
	EXCHANGE_ID4resok *ok = &res->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	const char *name = a->eia_clientowner.co_ownerid.co_ownerid_val;
	uint32_t len = a->eia_clientowner.co_ownerid.co_ownerid_len;
	bool update = a->eia_flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
	struct nfs_client *conf, *unconf, *cl;
	uint32_t flags = 0;
	struct st_princ p;

	/* §18.35.3: undefined bits, and CONFIRMED_R, which only the server sets. */
	if (a->eia_flags & ~(uint32_t)EXID_FLAGS_ARG)
		return NFS4ERR_INVAL;
	/* §18.35.3: SP4_MACH_CRED and SP4_SSV MUST be asked for with RPCSEC_GSS integrity or
	 * privacy; this server has AUTH_NONE and AUTH_SYS only, so such a request breaks
	 * that rule. */
	if (a->eia_state_protect.spa_how != SP4_NONE)
		return NFS4ERR_INVAL;
	st_princ_of(r, &p);

	conf = st_client_by_name(s, name, len, true);
	/* A record whose lease ran out is gone (§18.35.4 case 3: "or if there is state but
	 * the lease has expired"). */
	if (conf && st_client_lapsed(s, conf))
		conf = NULL;
	if (conf) {
		bool princ_ok = st_princ_eq(&conf->princ, &p);
		bool verf_ok = !memcmp(conf->verf, a->eia_clientowner.co_verifier, NFS4_VERIFIER_SIZE);

		if (update) {
			if (conf->v40)
				return NFS4ERR_INVAL; /* not a client ID EXCHANGE_ID made */
			if (!princ_ok)
				return NFS4ERR_PERM;     /* case 9: update, wrong principal */
			if (!verf_ok)
				return NFS4ERR_NOT_SAME; /* case 8: update, wrong verifier */
			cl = conf;                       /* case 6: update */
			flags = EXCHGID4_FLAG_CONFIRMED_R;
			st_client_renew(s, cl);
			goto reply;
		}
		if (!princ_ok) {
			/* case 3: client collision */
			if (st_client_has_state(conf))
				return NFS4ERR_CLID_INUSE;
			st_client_destroy(s, conf);
		} else if (verf_ok && !conf->v40) {
			/* case 2: non-update on an existing client ID */
			cl = conf;
			flags = EXCHGID4_FLAG_CONFIRMED_R;
			st_client_renew(s, cl);
			goto reply;
		}
		/* case 5: client restart. The confirmed record stays until CREATE_SESSION
		 * confirms the new one (§18.36.4). */
	} else if (update) {
		return NFS4ERR_NOENT; /* case 7: update but no confirmed record */
	}
	/* case 4 (and the strategy §18.35.4 case 5 suggests): an unconfirmed record of this
	 * owner is replaced by a new one with a new client ID. */
	unconf = st_client_by_name(s, name, len, false);
	if (unconf)
		st_client_destroy(s, unconf);
	/* case 1: new owner ID */
	cl = st_client_new(s, name, len, a->eia_clientowner.co_verifier, &p, false);
	if (!cl)
		return NFS4ERR_SERVERFAULT;
reply:
	ok->eir_clientid = cl->id;
	/* §18.35.4 / §18.36.4: the sequence id CREATE_SESSION has to use next. */
	ok->eir_sequenceid = cl->cs_seqid + 1;
	/* §13.1: not a pNFS server */
	ok->eir_flags = EXCHGID4_FLAG_USE_NON_PNFS | flags;
	ok->eir_state_protect.spr_how = SP4_NONE;
	ok->eir_server_owner.so_minor_id = 0;
	ok->eir_server_owner.so_major_id.so_major_id_len = s->server_owner_len;
	ok->eir_server_owner.so_major_id.so_major_id_val =
		st_dup_res(c, s->server_owner, s->server_owner_len);
	ok->eir_server_scope.eir_server_scope_len = s->server_owner_len;
	ok->eir_server_scope.eir_server_scope_val = ok->eir_server_owner.so_major_id.so_major_id_val;
	/* §18.35.3: clients MUST accept an empty eir_server_impl_id. */
	ok->eir_server_impl_id.eir_server_impl_id_len = 0;
	ok->eir_server_impl_id.eir_server_impl_id_val = NULL;
	if (!ok->eir_server_owner.so_major_id.so_major_id_val)
		return NFS4ERR_SERVERFAULT;
	return NFS4_OK;
}

/* ---- CREATE_SESSION -------------------------------------------------------------------- */

/* RFC 8881 §18.36: create a session (and confirm the client ID), in the four phases of
 * §18.36.4, with the CREATE_SESSION reply cache of one slot per client. */
static nfsstat4 op_create_session(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const CREATE_SESSION4args *a = &arg->nfs_argop4_u.opcreate_session;
	CREATE_SESSION4resok *ok = &res->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	const channel_attrs4 *fore = &a->csa_fore_chan_attrs;
	const channel_attrs4 *back = &a->csa_back_chan_attrs;
	struct nfs_client *cl, *old;
	struct nfs_session *ses;
	struct st_princ p;

	if (a->csa_flags & ~(uint32_t)CS_FLAGS_ARG)
		return NFS4ERR_INVAL;
	/* §18.36.3: callbacks need a security flavor both sides have (no RPCSEC_GSS here).
	 * An empty list offers none: the session simply gets no backchannel. */
	if ((a->csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) && a->csa_sec_parms.csa_sec_parms_len &&
	    !st_cbchan_sec_ok(a->csa_sec_parms.csa_sec_parms_val, a->csa_sec_parms.csa_sec_parms_len))
		return NFS4ERR_ENCR_ALG_UNSUPP;
	/* §18.36.3 (ca_maxrequestsize, ca_maxresponsesize): sizes in which no SEQUENCE
	 * fits could never be used. */
	if (fore->ca_maxrequestsize < ST_MIN_REQ || fore->ca_maxresponsesize < ST_MIN_RESP)
		return NFS4ERR_TOOSMALL;

	/* phase 1: client record look up */
	cl = st_client_by_id(s, a->csa_clientid);
	if (!cl || cl->v40 || st_client_lapsed(s, cl))
		return NFS4ERR_STALE_CLIENTID;

	/* phase 2: sequence id processing */
	if (a->csa_sequence == cl->cs_seqid) {
		/* A replay: the cached reply. Before the first CREATE_SESSION that is the
		 * contrived NFS4ERR_SEQ_MISORDERED; only successes are cached after it. */
		if (!cl->cs_cached)
			return NFS4ERR_SEQ_MISORDERED;
		*ok = cl->cs_res;
		return NFS4_OK;
	}
	if (a->csa_sequence != cl->cs_seqid + 1)
		return NFS4ERR_SEQ_MISORDERED;

	/* phase 3: client ID confirmation ("Unsuccessful Confirmation": another principal) */
	st_princ_of(r, &p);
	if (!st_princ_eq(&cl->princ, &p))
		return NFS4ERR_CLID_INUSE;

	/* phase 4: session creation. Nothing has changed yet when it fails. */
	if (cl->nsessions >= ST_SESSIONS_PER_CLIENT)
		return NFS4ERR_NOSPC;
	ses = st_session_new(s, cl, fore);
	if (!ses)
		return NFS4ERR_NOSPC;
	if (!cl->confirmed) {
		/* "Successful Confirmation": the record of the previous incarnation goes
		 * with its state (§18.35.4 case 5). */
		old = st_client_by_name(s, cl->name, cl->name_len, true);
		if (old)
			st_client_destroy(s, old);
		st_client_confirm(s, cl);
	} else {
		st_client_renew(s, cl);
	}
	cl->cs_seqid = a->csa_sequence;

	memset(ok, 0, sizeof(*ok));
	memcpy(ok->csr_sessionid, ses->id, NFS4_SESSIONID_SIZE);
	ok->csr_sequence = a->csa_sequence;
	/* No persistent reply cache and no RDMA (§18.36.3: a flag not granted is cleared in
	 * csr_flags). CONN_BACK_CHAN: this connection carries the callbacks (§2.10.3.1). */
	ok->csr_flags = 0;
	if ((a->csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) && a->csa_sec_parms.csa_sec_parms_len &&
	    r->conn) {
		st_cbchan_sec(cl, a->csa_cb_program, a->csa_sec_parms.csa_sec_parms_val,
			      a->csa_sec_parms.csa_sec_parms_len);
		st_cbchan_bind(s, cl, ses->id, r->conn, c->minor);
		ok->csr_flags |= CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
	}
	ok->csr_fore_chan_attrs.ca_headerpadsize = 0;
	ok->csr_fore_chan_attrs.ca_maxrequestsize = ses->maxreq;
	ok->csr_fore_chan_attrs.ca_maxresponsesize = ses->maxresp;
	ok->csr_fore_chan_attrs.ca_maxresponsesize_cached = ses->maxresp_cached;
	ok->csr_fore_chan_attrs.ca_maxoperations = ses->maxops;
	ok->csr_fore_chan_attrs.ca_maxrequests = ses->nslots;
	/* §18.36.3: the backchannel's ca_maxoperations and ca_maxrequests MUST NOT be
	 * changed: the offer is echoed (the server uses one slot, two ops a CB_COMPOUND). */
	ok->csr_back_chan_attrs = *back;
	ok->csr_back_chan_attrs.ca_headerpadsize = 0;
	ok->csr_back_chan_attrs.ca_rdma_ird.ca_rdma_ird_len = 0;
	ok->csr_back_chan_attrs.ca_rdma_ird.ca_rdma_ird_val = NULL;
	cl->cs_res = *ok;
	cl->cs_cached = true;
	return NFS4_OK;
}

/* ---- SEQUENCE -------------------------------------------------------------------------- */

/* RFC 8881 §18.46 (and §2.10.6): session and slot, exactly-once semantics through the
 * slot's reply cache, lease renewal. */
static nfsstat4 op_sequence(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SEQUENCE4args *a = &arg->nfs_argop4_u.opsequence;
	SEQUENCE4resok *ok = &res->nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct compound_session_limits lim;
	struct nfs_session *ses;
	struct nfs_client *cl;
	struct nfs_slot *sl;
	nfsstat4 st;

	ses = st_session_find(s, a->sa_sessionid);
	if (!ses)
		return NFS4ERR_BADSESSION;
	cl = ses->cl;
	/* §8.4.3: a client whose lease ran out loses its sessions and client ID (the
	 * client then gets NFS4ERR_STALE_CLIENTID from CREATE_SESSION). */
	if (st_client_lapsed(s, cl))
		return NFS4ERR_BADSESSION;
	if (a->sa_slotid >= ses->nslots)
		return NFS4ERR_BADSLOT;

	lim.maxops = ses->maxops;
	lim.maxresp = ses->maxresp;
	lim.maxresp_cached = ses->maxresp_cached;
	lim.cachethis = a->sa_cachethis;
	st = compound_session_begin(c, &lim);
	if (st != NFS4_OK)
		return st;

	/* §18.46.3: the three cases of sa_sequenceid against the slot's. An error leaves
	 * the slot and the lease alone. */
	sl = &ses->slots[a->sa_slotid];
	if (sl->busy) {
		/* The slot's request is still being worked on: its retry, or the next
		 * request of a client that gave up waiting for it (an interrupted call),
		 * are to come back later (§2.10.6.2); any other seqid is misordered. */
		if (a->sa_sequenceid == sl->seqid || a->sa_sequenceid == sl->seqid + 1)
			return NFS4ERR_DELAY;
		return NFS4ERR_SEQ_MISORDERED;
	}
	if (a->sa_sequenceid == sl->seqid) {
		void *copy;

		/* §18.36.4: a slot starts at sequence id 0 with a cached SEQ_MISORDERED. */
		if (sl->seqid == 0)
			return NFS4ERR_SEQ_MISORDERED;
		/* §2.10.6.1.3: a retry whose reply was not kept. */
		if (!sl->cached)
			return NFS4ERR_RETRY_UNCACHED_REP;
		/* §2.10.6.1.1: a retry gets the cached reply. The dispatcher sends it
		 * instead of this COMPOUND's reply, which stops here. */
		copy = st_dup_res(c, sl->buf, sl->len);
		if (!copy)
			return NFS4ERR_SERVERFAULT;
		r->replay = copy;
		r->replay_len = sl->len;
		st_client_renew(s, cl);
		return NFS4ERR_DELAY;
	}
	if (a->sa_sequenceid != sl->seqid + 1)
		return NFS4ERR_SEQ_MISORDERED;

	sl->seqid = a->sa_sequenceid;
	sl->cached = false;
	st_slot_take(r, ses, sl);
	st_client_renew(s, cl);

	memcpy(ok->sr_sessionid, a->sa_sessionid, NFS4_SESSIONID_SIZE);
	ok->sr_sequenceid = a->sa_sequenceid;
	ok->sr_slotid = a->sa_slotid;
	ok->sr_highest_slotid = ses->nslots - 1;
	ok->sr_target_highest_slotid = ses->nslots - 1;
	/* §18.46.3: a backchannel the client asked for that does not work, delegations
	 * revoked. A channel not yet known to work is probed (CB_NULL). */
	ok->sr_status_flags = st_cbchan_flags(cl);
	st_cbchan_probe(s, cl);
	return NFS4_OK;
}

/* ---- DESTROY_SESSION, DESTROY_CLIENTID, BIND_CONN_TO_SESSION --------------------------- */

/* RFC 8881 §18.37: destroy a session and its reply cache; the client's lease and state
 * stay. The session's memory lives on while a COMPOUND still runs in one of its slots. */
static nfsstat4 op_destroy_session(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const DESTROY_SESSION4args *a = &arg->nfs_argop4_u.opdestroy_session;
	struct nfs_req *r = req_of(c);
	struct nfs_session *ses;

	(void)res;
	ses = st_session_find(r->state, a->dsa_sessionid);
	if (!ses)
		return NFS4ERR_BADSESSION;
	/* §18.37.3: in a COMPOUND on the same session it MUST be the last op. */
	if (ses == r->session && c->index + 1 != c->numops)
		return NFS4ERR_NOT_ONLY_OP;
	st_session_kill(r->state, ses);
	return NFS4_OK;
}

/* RFC 8881 §18.50: destroy a client ID that has no state left. */
static nfsstat4 op_destroy_clientid(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const DESTROY_CLIENTID4args *a = &arg->nfs_argop4_u.opdestroy_clientid;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_client *cl;

	(void)res;
	cl = st_client_by_id(s, a->dca_clientid);
	if (!cl || cl->v40)
		return NFS4ERR_STALE_CLIENTID;
	/* §18.50.3: not the client of the SEQUENCE in front, nor one with sessions or
	 * opens under an unexpired lease. */
	if (cl == r->client || cl->busy)
		return NFS4ERR_CLIENTID_BUSY;
	if (st_client_lapsed(s, cl))
		return NFS4_OK;
	if (st_client_has_state(cl))
		return NFS4ERR_CLIENTID_BUSY;
	st_client_destroy(s, cl);
	return NFS4_OK;
}

/* RFC 8881 §18.34: associate the connection with a session. With SP4_NONE any COMPOUND
 * with SEQUENCE does that for the fore channel already; a connection asked to carry the
 * backchannel becomes the client's callback path (the client does this when SEQUENCE says
 * SEQ4_STATUS_CB_PATH_DOWN, e.g. after it reconnected). */
static nfsstat4 op_bind_conn_to_session(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const BIND_CONN_TO_SESSION4args *a = &arg->nfs_argop4_u.opbind_conn_to_session;
	BIND_CONN_TO_SESSION4resok *ok =
		&res->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u.bctsr_resok4;
	struct nfs_state *s = state_of(c);
	struct nfs_session *ses;

	/* §18.34.3: it MUST be the only operation (also after a SEQUENCE). */
	if (c->numops != 1)
		return NFS4ERR_NOT_ONLY_OP;
	ses = st_session_find(s, a->bctsa_sessid);
	if (!ses || st_client_lapsed(s, ses->cl))
		return NFS4ERR_BADSESSION;
	switch (a->bctsa_dir) {
	case CDFC4_FORE:
		ok->bctsr_dir = CDFS4_FORE;
		break;
	case CDFC4_FORE_OR_BOTH:
	case CDFC4_BACK_OR_BOTH:
	case CDFC4_BACK:
		/* §18.34.3: the _OR_BOTH forms get both when the server can */
		if (req_of(c)->conn) {
			st_cbchan_bind(s, ses->cl, ses->id, req_of(c)->conn, c->minor);
			ok->bctsr_dir = a->bctsa_dir == CDFC4_BACK ? CDFS4_BACK : CDFS4_BOTH;
		} else if (a->bctsa_dir == CDFC4_FORE_OR_BOTH) {
			ok->bctsr_dir = CDFS4_FORE; /* no connection to call back on (fuzzing) */
		} else {
			return NFS4ERR_INVAL;
		}
		break;
	default:
		return NFS4ERR_INVAL;
	}
	memcpy(ok->bctsr_sessid, ses->id, NFS4_SESSIONID_SIZE);
	ok->bctsr_use_conn_in_rdma_mode = FALSE;
	st_client_renew(s, ses->cl);
	return NFS4_OK;
}

/* ---- RECLAIM_COMPLETE, TEST_STATEID, FREE_STATEID -------------------------------------- */

/* RFC 8881 §18.51: the client has reclaimed what it will: no more reclaims from it, and the
 * grace period ends early once every client of the previous run has said so (state.h). A
 * second global one is NFS4ERR_COMPLETE_ALREADY. */
static nfsstat4 op_reclaim_complete(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const RECLAIM_COMPLETE4args *a = &arg->nfs_argop4_u.opreclaim_complete;
	struct nfs_client *cl = req_of(c)->client;

	(void)res;
	if (!cl || cl->dead)
		return NFS4ERR_BADSESSION;
	/* §18.51.3: the per-file-system form names its file system by the current FH. */
	if (a->rca_one_fs)
		return c->cfh.set ? NFS4_OK : NFS4ERR_NOFILEHANDLE;
	if (cl->reclaim_complete)
		return NFS4ERR_COMPLETE_ALREADY;
	cl->reclaim_complete = true;
	st_reclaim_done(state_of(c), cl);
	return NFS4_OK;
}

/* RFC 8881 §18.48.3: the status a stateid would get, for the session's client. */
static nfsstat4 test_one(struct nfs_req *r, const stateid4 *sid)
{
	struct nfs_open *o;
	nfsstat4 st;

	struct nfs_lock *lk;
	struct nfs_deleg *d;

	if (st_sid_special(sid))
		return NFS4ERR_BAD_STATEID; /* special stateids are always invalid here */
	st = st_open_find(r->state, sid, 1, &o);
	if (st == NFS4_OK)
		return o->owner->cl != r->client ? NFS4ERR_BAD_STATEID : st_sid_seqid(&o->sid, sid, 1);
	if (st_lock_find(r->state, sid, 1, &lk) == NFS4_OK)
		return lk->owner->cl != r->client ? NFS4ERR_BAD_STATEID : st_sid_seqid(&lk->sid, sid, 1);
	if (st == NFS4ERR_BAD_STATEID && st_deleg_find(r->state, sid, &d) == NFS4_OK) {
		if (d->cl != r->client)
			return NFS4ERR_BAD_STATEID;
		/* §18.48.3: a revoked delegation is DELEG_REVOKED until FREE_STATEID */
		return d->revoked ? NFS4ERR_DELEG_REVOKED : st_sid_seqid(&d->sid, sid, 1);
	}
	return st;
}

static nfsstat4 op_test_stateid(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const TEST_STATEID4args *a = &arg->nfs_argop4_u.optest_stateid;
	TEST_STATEID4resok *ok = &res->nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4;
	struct nfs_req *r = req_of(c);
	u_int n = a->ts_stateids.ts_stateids_len;
	nfsstat4 *codes;

	if (!r->client || r->client->dead)
		return NFS4ERR_BADSESSION;
	/* n came out of the call body (16 bytes a stateid): bounded by the record size */
	codes = compound_alloc(c, (size_t)n * sizeof(*codes));
	if (!codes)
		return NFS4ERR_SERVERFAULT;
	for (u_int i = 0; i < n; i++)
		codes[i] = test_one(r, &a->ts_stateids.ts_stateids_val[i]);
	ok->tsr_status_codes.tsr_status_codes_len = n;
	ok->tsr_status_codes.tsr_status_codes_val = codes;
	return NFS4_OK;
}

/* RFC 8881 §18.38: free a stateid that holds no locks. An open stateid is a lock itself
 * (§18.38.3): a valid one is NFS4ERR_LOCKS_HELD, a closed one is gone already
 * (NFS4ERR_BAD_STATEID). A lock stateid with no ranges left goes (the Linux client frees
 * its lock stateids so after the last LOCKU); with ranges it is NFS4ERR_LOCKS_HELD. */
static nfsstat4 op_free_stateid(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const FREE_STATEID4args *a = &arg->nfs_argop4_u.opfree_stateid;
	struct nfs_req *r = req_of(c);
	struct nfs_open *o;
	struct nfs_lock *lk;
	struct nfs_deleg *d;
	stateid4 sid;
	nfsstat4 st;

	(void)res;
	st = state_stateid_arg(c, &a->fsa_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_open_find(r->state, &sid, c->minor, &o);
	if (st == NFS4ERR_BAD_STATEID && st_lock_find(r->state, &sid, c->minor, &lk) == NFS4_OK) {
		struct nfs_owner *lo = lk->owner;

		if (lo->cl != r->client)
			return NFS4ERR_BAD_STATEID;
		st = st_sid_seqid(&lk->sid, &sid, c->minor);
		if (st != NFS4_OK)
			return st;
		if (lk->ranges.n)
			return NFS4ERR_LOCKS_HELD;
		st_lock_free(r->state, lk);
		if (st_owner_idle(lo))
			st_owner_free(r->state, lo);
		return NFS4_OK;
	}
	if (st == NFS4ERR_BAD_STATEID && st_deleg_find(r->state, &sid, &d) == NFS4_OK) {
		if (d->cl != r->client)
			return NFS4ERR_BAD_STATEID;
		st = st_sid_seqid(&d->sid, &sid, c->minor);
		if (st != NFS4_OK)
			return st;
		/* §18.38.3, §8.3: a revoked delegation is freed; a held one is returned
		 * with DELEGRETURN (a lock of sorts: LOCKS_HELD) */
		if (!d->revoked)
			return NFS4ERR_LOCKS_HELD;
		st_deleg_free(r->state, d);
		return NFS4_OK;
	}
	if (st != NFS4_OK)
		return st;
	if (o->owner->cl != r->client)
		return NFS4ERR_BAD_STATEID;
	st = st_sid_seqid(&o->sid, &sid, c->minor);
	if (st != NFS4_OK)
		return st;
	return NFS4ERR_LOCKS_HELD;
}

/* ---- SETCLIENTID, SETCLIENTID_CONFIRM, RENEW (4.0) ------------------------------------- */

static int cb_set(struct st_cb *cb, const SETCLIENTID4args *a)
{
	const char *netid = a->callback.cb_location.na_r_netid;
	const char *addr = a->callback.cb_location.na_r_addr;

	st_cb_clear(cb);
	cb->program = a->callback.cb_program;
	cb->ident = a->callback_ident;
	cb->netid = strdup(netid ? netid : "");
	cb->addr = strdup(addr ? addr : "");
	return cb->netid && cb->addr ? 0 : -1;
}

static bool netaddr_ok(const char *str)
{
	return !str || strnlen(str, ST_NETADDR_MAX + 1) <= ST_NETADDR_MAX;
}

/* RFC 7530 §16.33: negotiate a client ID, in the cases of §16.33.5 (confirmed and
 * unconfirmed records { v, x, c, k, s }). The callback is stored, not used. */
static nfsstat4 op_setclientid(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SETCLIENTID4args *a = &arg->nfs_argop4_u.opsetclientid;
	SETCLIENTID4res *out = &res->nfs_resop4_u.opsetclientid;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	const char *name = a->client.id.id_val;
	uint32_t len = a->client.id.id_len;
	struct nfs_client *conf, *unconf, *cl;
	struct st_princ p;

	if (!netaddr_ok(a->callback.cb_location.na_r_netid) ||
	    !netaddr_ok(a->callback.cb_location.na_r_addr))
		return NFS4ERR_INVAL;
	st_princ_of(r, &p);
	conf = st_client_by_name(s, name, len, true);
	if (conf && st_client_lapsed(s, conf))
		conf = NULL;
	if (conf && (conf->v40 ? !st_princ_eq(&conf->princ, &p) : st_client_has_state(conf))) {
		/* §16.33.5: a confirmed record of this id string under another principal
		 * (or one that EXCHANGE_ID made and that holds state) is in use; the reply
		 * names the callback address of the one using it. */
		clientaddr4 *u = &out->SETCLIENTID4res_u.client_using;
		const char *netid = conf->cb.netid ? conf->cb.netid : "";
		const char *addr = conf->cb.addr ? conf->cb.addr : "";

		u->na_r_netid = st_dup_res(c, netid, strlen(netid) + 1);
		u->na_r_addr = st_dup_res(c, addr, strlen(addr) + 1);
		if (!u->na_r_netid || !u->na_r_addr)
			return NFS4ERR_SERVERFAULT;
		return NFS4ERR_CLID_INUSE;
	}
	/* Any unconfirmed record of x is replaced (§16.33.5, every case). */
	unconf = st_client_by_name(s, name, len, false);
	if (unconf)
		st_client_destroy(s, unconf);
	if (conf && conf->v40 && !memcmp(conf->verf, a->client.verifier, NFS4_VERIFIER_SIZE)) {
		/* Same verifier: a probable callback update. The clientid stays c, the new
		 * callback k waits under a new confirm verifier t for SETCLIENTID_CONFIRM
		 * { c, t }; the client's state is not touched. */
		if (cb_set(&conf->pend_cb, a))
			return NFS4ERR_RESOURCE;
		st_random(s, conf->pend_confirm, sizeof(conf->pend_confirm));
		conf->cb_pending = true;
		out->SETCLIENTID4res_u.resok4.clientid = conf->id;
		memcpy(out->SETCLIENTID4res_u.resok4.setclientid_confirm, conf->pend_confirm,
		       NFS4_VERIFIER_SIZE);
		return NFS4_OK;
	}
	/* A new client, or a new incarnation of x (other verifier): an unconfirmed
	 * { v, x, d, k, t }; the confirmed record and its state stay until it is confirmed. */
	cl = st_client_new(s, name, len, a->client.verifier, &p, true);
	if (!cl)
		return NFS4ERR_RESOURCE;
	if (cb_set(&cl->cb, a)) {
		st_client_destroy(s, cl);
		return NFS4ERR_RESOURCE;
	}
	out->SETCLIENTID4res_u.resok4.clientid = cl->id;
	memcpy(out->SETCLIENTID4res_u.resok4.setclientid_confirm, cl->confirm, NFS4_VERIFIER_SIZE);
	return NFS4_OK;
}

/* RFC 7530 §16.34: confirm a client ID or a callback update (§16.34.5 cases). */
static nfsstat4 op_setclientid_confirm(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SETCLIENTID_CONFIRM4args *a = &arg->nfs_argop4_u.opsetclientid_confirm;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_client *cl, *old;
	struct st_princ p;

	(void)res;
	st_princ_of(r, &p);
	cl = st_client_by_id(s, a->clientid);
	if (!cl || !cl->v40)
		return NFS4ERR_STALE_CLIENTID;
	if (cl->confirmed) {
		if (cl->cb_pending && !memcmp(a->setclientid_confirm, cl->pend_confirm, NFS4_VERIFIER_SIZE)) {
			/* Callback update confirmed: the new callback replaces the old, the
			 * state stays. */
			if (!st_princ_eq(&cl->princ, &p))
				return NFS4ERR_CLID_INUSE;
			st_cb_clear(&cl->cb);
			cl->cb = cl->pend_cb;
			memset(&cl->pend_cb, 0, sizeof(cl->pend_cb));
			memcpy(cl->confirm, cl->pend_confirm, NFS4_VERIFIER_SIZE);
			cl->cb_pending = false;
			st_cbchan_v40(s, cl, req_of(c)->conn); /* the new callback path */
			return NFS4_OK;
		}
		if (!memcmp(a->setclientid_confirm, cl->confirm, NFS4_VERIFIER_SIZE)) {
			/* A retransmission whose reply was lost: nothing changes. */
			return st_princ_eq(&cl->princ, &p) ? NFS4_OK : NFS4ERR_CLID_INUSE;
		}
		return NFS4ERR_STALE_CLIENTID;
	}
	if (memcmp(a->setclientid_confirm, cl->confirm, NFS4_VERIFIER_SIZE))
		return NFS4ERR_STALE_CLIENTID; /* no record { *, *, c, *, s } */
	if (!st_princ_eq(&cl->princ, &p))
		return NFS4ERR_CLID_INUSE;
	/* The unconfirmed record becomes the confirmed one; a confirmed record of the same
	 * id string (an earlier incarnation) goes with its state. */
	old = st_client_by_name(s, cl->name, cl->name_len, true);
	if (old) {
		if (!st_princ_eq(&old->princ, &p) && st_client_has_state(old) && !st_client_lapsed(s, old))
			return NFS4ERR_CLID_INUSE;
		st_client_destroy(s, old);
	}
	st_client_confirm(s, cl);
	st_cbchan_v40(s, cl, req_of(c)->conn); /* RFC 7530 §10.2.1: probe the callback path */
	return NFS4_OK;
}

/* RFC 7530 §16.28: renew the lease of a client ID. NFS4ERR_CB_PATH_DOWN is never said: a
 * delegation whose recall cannot reach the client is revoked a lease after the recall. */
static nfsstat4 op_renew(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct nfs_client *cl;

	(void)res;
	return st_client40(state_of(c), arg->nfs_argop4_u.oprenew.clientid, &cl);
}

/* ---- OPEN_CONFIRM (4.0), CLOSE ---------------------------------------------------------- */

void st_set_current(struct compound *c, const stateid4 *sid)
{
	/* RFC 8881 §16.2.3.1.2: an op that returns a stateid makes it the current one. */
	c->cur_stateid = *sid;
	c->cur_stateid_set = true;
}

/* The reply stored for a retransmitted seqid op of a 4.0 open-owner (RFC 7530 §9.1.9). */
static nfsstat4 owner_replay(const struct nfs_owner *ow, uint32_t op, stateid4 *sid)
{
	if (ow->last_op != op)
		return NFS4ERR_BAD_SEQID;
	if (ow->last_status == NFS4_OK)
		*sid = ow->last_sid;
	return ow->last_status;
}

/* RFC 7530 §16.18: confirm a new open-owner's first OPEN. */
static nfsstat4 op_open_confirm(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_CONFIRM4args *a = &arg->nfs_argop4_u.opopen_confirm;
	stateid4 *out = &res->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid;
	struct nfs_state *s = state_of(c);
	struct nfs_owner *ow;
	struct nfs_open *o;
	stateid4 sid = {0};
	nfsstat4 st;

	/* RFC 7530 §9.1.7: BAD/STALE stateids are found before the seqid is looked at,
	 * and leave it alone. */
	st = st_open_find(s, &a->open_stateid, 0, &o);
	if (st != NFS4_OK)
		return st;
	ow = o->owner;
	switch (st_owner_seqid(ow, a->seqid)) {
	case ST_SEQ_REPLAY:
		st = owner_replay(ow, OP_OPEN_CONFIRM, out);
		if (st == NFS4_OK)
			st_set_current(c, out);
		return st;
	case ST_SEQ_BAD:
		return NFS4ERR_BAD_SEQID;
	case ST_SEQ_NEW:
		break;
	}
	if (st_client_lapsed(s, ow->cl))
		return NFS4ERR_EXPIRED; /* the client and its opens are gone now */
	st_client_renew(s, ow->cl);
	if (!st_open_fh_is(o, c->cfh.data, c->cfh.len) || ow->confirmed)
		st = NFS4ERR_BAD_STATEID;
	else
		st = st_sid_seqid(&o->sid, &a->open_stateid, 0);
	if (st == NFS4_OK) {
		ow->confirmed = true;
		o->sid.seqid = st_seqid_next(o->sid.seqid);
		sid = o->sid;
		*out = sid;
		st_set_current(c, out);
	}
	st_owner_done(s, ow, a->seqid, OP_OPEN_CONFIRM, st, &sid, 0, c->cfh.data, c->cfh.len);
	return st;
}

/* RFC 8881 §18.2, RFC 7530 §16.2: release an open-owner's share reservation on the file. */
static nfsstat4 op_close(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const CLOSE4args *a = &arg->nfs_argop4_u.opclose;
	stateid4 *out = &res->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_owner *ow;
	struct nfs_open *o;
	stateid4 sid, done = {0};
	nfsstat4 st;

	st = state_stateid_arg(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_open_find(s, &sid, c->minor, &o);
	if (st == NFS4ERR_BAD_STATEID && !c->minor) {
		/* RFC 7530 §9.1.9: a retransmitted CLOSE gets the reply of the original. */
		ow = st_closed_owner(s, &sid);
		if (ow && st_owner_seqid(ow, a->seqid) == ST_SEQ_REPLAY)
			return owner_replay(ow, OP_CLOSE, out);
	}
	if (st != NFS4_OK)
		return st;
	ow = o->owner;

	if (c->minor) {
		/* §8.2.4: of the session's client and of the current file; seqid as
		 * given (§18.2.3: CLOSE passes the current stateid with its seqid). */
		if (ow->cl != r->client || !st_open_fh_is(o, c->cfh.data, c->cfh.len))
			return NFS4ERR_BAD_STATEID;
		st = st_sid_seqid(&o->sid, &sid, c->minor);
		if (st != NFS4_OK)
			return st;
		st_open_free(s, o);
		if (st_owner_idle(ow))
			st_owner_free(s, ow);
		/* §18.2.4: the stateid is no longer valid; the special invalid stateid
		 * (seqid NFS4_UINT32_MAX, other zero) is returned. */
		memset(out, 0, sizeof(*out));
		out->seqid = UINT32_MAX;
		st_set_current(c, out);
		return NFS4_OK;
	}

	/* 4.0: the open-owner's seqid first (RFC 7530 §9.1.7). */
	switch (st_owner_seqid(ow, a->seqid)) {
	case ST_SEQ_REPLAY:
		return owner_replay(ow, OP_CLOSE, out);
	case ST_SEQ_BAD:
		return NFS4ERR_BAD_SEQID;
	case ST_SEQ_NEW:
		break;
	}
	if (st_client_lapsed(s, ow->cl))
		return NFS4ERR_EXPIRED;
	st_client_renew(s, ow->cl);
	/* RFC 7530 §16.18.5: an open not yet confirmed cannot be closed. */
	if (!st_open_fh_is(o, c->cfh.data, c->cfh.len) || !ow->confirmed)
		st = NFS4ERR_BAD_STATEID;
	else
		st = st_sid_seqid(&o->sid, &sid, 0);
	if (st == NFS4_OK) {
		done = o->sid;
		done.seqid = st_seqid_next(done.seqid);
		st_open_close40(s, o);
		*out = done;
		st_set_current(c, out);
	}
	st_owner_done(s, ow, a->seqid, OP_CLOSE, st, &done, 0, c->cfh.data, c->cfh.len);
	return st;
}

/*
 * RFC 8881 §18.18, RFC 7530 §16.19: reduce an open's share access and deny to a subset of
 * what it holds (the Linux client closes one of several opens of a file this way). A
 * request for anything not held is INVAL. The stateid keeps its "other" and its seqid moves.
 */
static nfsstat4 op_open_downgrade(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_DOWNGRADE4args *a = &arg->nfs_argop4_u.opopen_downgrade;
	stateid4 *out = &res->nfs_resop4_u.opopen_downgrade.OPEN_DOWNGRADE4res_u.resok4.open_stateid;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	uint32_t access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;
	struct nfs_owner *ow;
	struct nfs_open *o;
	stateid4 sid, done = {0};
	nfsstat4 st;

	st = state_stateid_arg(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_open_find(s, &sid, c->minor, &o);
	if (st != NFS4_OK)
		return st;
	ow = o->owner;
	if (!c->minor) {
		/* 4.0: the open-owner's seqid first (RFC 7530 §9.1.7) */
		switch (st_owner_seqid(ow, a->seqid)) {
		case ST_SEQ_REPLAY:
			return owner_replay(ow, OP_OPEN_DOWNGRADE, out);
		case ST_SEQ_BAD:
			return NFS4ERR_BAD_SEQID;
		case ST_SEQ_NEW:
			break;
		}
		if (st_client_lapsed(s, ow->cl))
			return NFS4ERR_EXPIRED;
		st_client_renew(s, ow->cl);
		if (!st_open_fh_is(o, c->cfh.data, c->cfh.len) || !ow->confirmed)
			st = NFS4ERR_BAD_STATEID;
	} else if (ow->cl != r->client || !st_open_fh_is(o, c->cfh.data, c->cfh.len)) {
		return NFS4ERR_BAD_STATEID;
	}
	if (st == NFS4_OK)
		st = st_sid_seqid(&o->sid, &sid, c->minor);
	if (st == NFS4_OK && (access == 0 || (access & ~o->access) || a->share_deny > OPEN4_SHARE_DENY_BOTH ||
			      (a->share_deny & ~o->deny)))
		st = NFS4ERR_INVAL;
	if (st == NFS4_OK) {
		o->access = access;
		o->deny = a->share_deny;
		o->sid.seqid = st_seqid_next(o->sid.seqid);
		done = o->sid;
		*out = done;
		st_set_current(c, out);
	}
	if (!c->minor)
		st_owner_done(s, ow, a->seqid, OP_OPEN_DOWNGRADE, st, &done, 0, c->cfh.data,
			      c->cfh.len);
	return st;
}

/* ---- the table ------------------------------------------------------------------------- */

void state_register_ops(struct op_table *t)
{
	optable_set_handler(t, OP_EXCHANGE_ID, op_exchange_id);
	optable_set_handler(t, OP_CREATE_SESSION, op_create_session);
	optable_set_handler(t, OP_SEQUENCE, op_sequence);
	optable_set_handler(t, OP_DESTROY_SESSION, op_destroy_session);
	optable_set_handler(t, OP_DESTROY_CLIENTID, op_destroy_clientid);
	optable_set_handler(t, OP_BIND_CONN_TO_SESSION, op_bind_conn_to_session);
	optable_set_handler(t, OP_RECLAIM_COMPLETE, op_reclaim_complete);
	optable_set_handler(t, OP_TEST_STATEID, op_test_stateid);
	optable_set_handler(t, OP_FREE_STATEID, op_free_stateid);
	optable_set_handler(t, OP_SETCLIENTID, op_setclientid);
	optable_set_handler(t, OP_SETCLIENTID_CONFIRM, op_setclientid_confirm);
	optable_set_handler(t, OP_RENEW, op_renew);
	optable_set_handler(t, OP_OPEN_CONFIRM, op_open_confirm);
	optable_set_handler(t, OP_CLOSE, op_close);
	optable_set_handler(t, OP_OPEN_DOWNGRADE, op_open_downgrade);
	st_lock_register_ops(t);
	st_deleg_register_ops(t);
}

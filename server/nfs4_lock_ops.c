/*
 * Byte-range locks (RFC 8881 §9, §18.10-§18.12; RFC 7530 §9, §16.10-§16.12, §16.34): LOCK,
 * LOCKT, LOCKU and, for 4.0, RELEASE_LOCKOWNER. The ranges are lockrange.c's; lock-owners
 * and lock stateids are state.c's.
 *
 * The locks are advisory and kept by sluice alone: READ and WRITE are not checked against
 * them (as on Linux file systems), and processes on the server's own disk do not see them.
 *
 * Blocking locks (READW_LT, WRITEW_LT) are answered like the others: a conflict is
 * NFS4ERR_DENIED at once (RFC 8881 §9.6). A 4.1+ client with a backchannel (OPEN said
 * OPEN4_RESULT_MAY_NOTIFY_LOCK) is then sent CB_NOTIFY_LOCK when locks on the file are
 * released and tries again at once; the others poll (the Linux client with a growing
 * delay).
 */
#include "state.h"

#include <stdlib.h>
#include <string.h>

/* The lock type of the wire, blocking or not, as LR_READ / LR_WRITE; 0 when invalid. */
static uint32_t lock_type(nfs_lock_type4 t)
{
	switch (t) {
	case READ_LT:
	case READW_LT:
		return LR_READ;
	case WRITE_LT:
	case WRITEW_LT:
		return LR_WRITE;
	default:
		return 0;
	}
}

/* LOCK4denied for the holder's range, in the compound's memory (the owner's name is
 * copied). NFS4ERR_DENIED, or NFS4ERR_SERVERFAULT without memory. */
static nfsstat4 deny(struct compound *c, const struct nfs_lock *holder, const struct lr_range *r,
		     LOCK4denied *d)
{
	const struct nfs_owner *lo = holder->owner;

	lr_wire(r, &d->offset, &d->length);
	d->locktype = r->type == LR_WRITE ? WRITE_LT : READ_LT;
	d->owner.clientid = lo->cl->id;
	d->owner.owner.owner_len = lo->name_len;
	d->owner.owner.owner_val = st_dup_res(c, lo->name, lo->name_len ? lo->name_len : 1);
	return d->owner.owner.owner_val ? NFS4ERR_DENIED : NFS4ERR_SERVERFAULT;
}

/* 4.0: keep the LOCK4denied of lock-owner lo's last LOCK for its retransmission. */
static void keep_denied(struct nfs_owner *lo, const LOCK4denied *d)
{
	struct st_denied *k = malloc(sizeof(*k) + d->owner.owner.owner_len);

	free(lo->last_denied);
	lo->last_denied = k;
	if (!k)
		return; /* a retransmission then gets the status without the details */
	k->offset = d->offset;
	k->length = d->length;
	k->type = d->locktype;
	k->clientid = d->owner.clientid;
	k->owner_len = d->owner.owner.owner_len;
	memcpy(k->owner, d->owner.owner.owner_val, k->owner_len);
}

/* 4.0: the reply to a retransmitted LOCK or LOCKU of lock-owner lo (RFC 7530 §9.1.9). */
static nfsstat4 lock_replay(struct compound *c, const struct nfs_owner *lo, uint32_t op, nfs_resop4 *res)
{
	if (lo->last_op != op)
		return NFS4ERR_BAD_SEQID;
	if (op == OP_LOCKU) {
		if (lo->last_status == NFS4_OK)
			res->nfs_resop4_u.oplocku.LOCKU4res_u.lock_stateid = lo->last_sid;
		return lo->last_status;
	}
	if (lo->last_status == NFS4_OK) {
		res->nfs_resop4_u.oplock.LOCK4res_u.resok4.lock_stateid = lo->last_sid;
	} else if (lo->last_status == NFS4ERR_DENIED && lo->last_denied) {
		const struct st_denied *k = lo->last_denied;
		LOCK4denied *d = &res->nfs_resop4_u.oplock.LOCK4res_u.denied;

		d->offset = k->offset;
		d->length = k->length;
		d->locktype = k->type;
		d->owner.clientid = k->clientid;
		d->owner.owner.owner_len = k->owner_len;
		d->owner.owner.owner_val = st_dup_res(c, k->owner, k->owner_len ? k->owner_len : 1);
		if (!d->owner.owner.owner_val)
			return NFS4ERR_SERVERFAULT;
	} else if (lo->last_status == NFS4ERR_DENIED) {
		return NFS4ERR_SERVERFAULT; /* the details could not be kept */
	}
	return lo->last_status;
}

/* The 4.0 lease of cl: NFS4ERR_EXPIRED when it ran out (its state is gone then), else renewed. */
static nfsstat4 lease40(struct nfs_state *s, struct nfs_client *cl)
{
	if (st_client_lapsed(s, cl))
		return NFS4ERR_EXPIRED;
	st_client_renew(s, cl);
	return NFS4_OK;
}

static bool lock_fh_is(const struct nfs_lock *lk, const struct compound *c)
{
	return lk->file->fh_len == c->cfh.len && !memcmp(lk->file->fh, c->cfh.data, c->cfh.len);
}

/* What the locker of a LOCK named, and whose 4.0 seqids the LOCK takes. */
struct locker {
	struct nfs_open *o;     /* the open the locks come from */
	struct nfs_owner *oo;   /* 4.0, new lock-owner: the open-owner, once its seqid passed */
	struct nfs_owner *lo;   /* the lock-owner, once its seqid passed (or just made) */
	struct nfs_lock *lk;    /* exist_lock_owner4: its lock stateid */
	bool fresh;             /* lo was made by this LOCK */
	bool replayed;          /* 4.0 retransmission: the reply is in res already */
};

/*
 * LOCK with open_to_lock_owner4: the first lock of a lock-owner on an open file. Finds the
 * open and, for 4.0, takes the open-owner's seqid (RFC 7530 §9.1.7: both seqids are
 * checked and the open-owner's advances too); makes the lock-owner if needed. An error
 * after a seqid passed still advances it (op_lock does that through lk->oo / lk->lo).
 */
static nfsstat4 lock_new_owner(struct compound *c, const open_to_lock_owner4 *a, nfs_resop4 *res,
			       struct locker *lc)
{
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_open *o;
	struct nfs_owner *lo;
	stateid4 sid;
	nfsstat4 st;

	st = state_stateid_arg(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_open_find(s, &sid, c->minor, &o);
	if (st != NFS4_OK)
		return st;
	lo = st_lockowner_find(s, o->owner->cl, a->lock_owner.owner.owner_val,
			       a->lock_owner.owner.owner_len);
	if (!c->minor) {
		switch (st_owner_seqid(o->owner, a->open_seqid)) {
		case ST_SEQ_REPLAY:
			/* the open-owner's last op was this LOCK: its lock-owner has the reply */
			if (o->owner->last_op != OP_LOCK)
				return NFS4ERR_BAD_SEQID;
			lc->replayed = true;
			if (lo && st_owner_seqid(lo, a->lock_seqid) == ST_SEQ_REPLAY)
				return lock_replay(c, lo, OP_LOCK, res);
			return o->owner->last_status == NFS4_OK ? NFS4ERR_BAD_SEQID : o->owner->last_status;
		case ST_SEQ_BAD:
			return NFS4ERR_BAD_SEQID;
		case ST_SEQ_NEW:
			break;
		}
		lc->oo = o->owner;
		/* RFC 7530 §16.10.4: the lock-owner names the open's client */
		if (a->lock_owner.clientid != o->owner->cl->id)
			return NFS4ERR_BAD_STATEID;
		/* A lock-owner with no lock stateid (its first LOCK was DENIED, or its locks
		 * went with their open) is new to the client again: the Linux client drops a
		 * lock state that never got a stateid and reuses its owner name with seqid 0
		 * (knfsd forgets such a lock-owner with its last stateid). The open-owner's
		 * seqid, checked above, already told a retransmission from a new request. One
		 * that holds lock stateids takes the next seqid, as knfsd asks. */
		if (lo && st_owner_idle(lo))
			lo->seqid = a->lock_seqid - 1;
		else if (lo && st_owner_seqid(lo, a->lock_seqid) != ST_SEQ_NEW)
			return NFS4ERR_BAD_SEQID;
		lc->lo = lo;
		st = lease40(s, o->owner->cl);
		if (st != NFS4_OK) {
			lc->oo = lc->lo = NULL; /* the client and its owners are gone */
			return st;
		}
	} else if (o->owner->cl != r->client) {
		return NFS4ERR_BAD_STATEID;
	}
	lc->lo = lo;
	if (!st_open_fh_is(o, c->cfh.data, c->cfh.len) || !o->owner->confirmed)
		return NFS4ERR_BAD_STATEID;
	st = st_sid_seqid(&o->sid, &sid, c->minor);
	if (st != NFS4_OK)
		return st;
	if (!lo) {
		if (a->lock_owner.owner.owner_len > NFS4_OPAQUE_LIMIT)
			return NFS4ERR_INVAL;
		lo = st_lockowner_new(s, o->owner->cl, a->lock_owner.owner.owner_val,
				      a->lock_owner.owner.owner_len);
		if (!lo)
			return c->minor ? NFS4ERR_DELAY : NFS4ERR_RESOURCE;
		lo->seqid = a->lock_seqid - 1;
		lc->lo = lo;
		lc->fresh = true;
	}
	lc->o = o;
	return NFS4_OK;
}

/* LOCK with exist_lock_owner4: a further lock through the lock stateid. */
static nfsstat4 lock_old_owner(struct compound *c, const exist_lock_owner4 *a, nfs_resop4 *res,
			       struct locker *lc)
{
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_lock *lk;
	stateid4 sid;
	nfsstat4 st;

	st = state_stateid_arg(c, &a->lock_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_lock_find(s, &sid, c->minor, &lk);
	if (st != NFS4_OK)
		return st;
	if (!c->minor) {
		switch (st_owner_seqid(lk->owner, a->lock_seqid)) {
		case ST_SEQ_REPLAY:
			lc->replayed = true;
			return lock_replay(c, lk->owner, OP_LOCK, res);
		case ST_SEQ_BAD:
			return NFS4ERR_BAD_SEQID;
		case ST_SEQ_NEW:
			break;
		}
		lc->lo = lk->owner;
		st = lease40(s, lk->owner->cl);
		if (st != NFS4_OK) {
			lc->lo = NULL; /* the client and its owners are gone */
			return st;
		}
	} else if (lk->owner->cl != r->client) {
		return NFS4ERR_BAD_STATEID;
	}
	lc->lo = lk->owner;
	if (!lock_fh_is(lk, c))
		return NFS4ERR_BAD_STATEID;
	st = st_sid_seqid(&lk->sid, &sid, c->minor);
	if (st != NFS4_OK)
		return st;
	lc->lk = lk;
	lc->o = lk->open;
	return NFS4_OK;
}

/* RFC 8881 §18.10, RFC 7530 §16.10. */
static nfsstat4 op_lock(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCK4args *a = &arg->nfs_argop4_u.oplock;
	LOCK4res *out = &res->nfs_resop4_u.oplock;
	struct nfs_state *s = req_of(c)->state;
	uint32_t type = lock_type(a->locktype);
	struct locker lc = {0};
	const struct nfs_lock *holder;
	const struct lr_range *cr;
	struct nfs_lock *lk;
	uint64_t first, last;
	seqid4 lock_seqid, open_seqid = 0;
	nfsstat4 st;

	/* The locker first: its stateid and seqid errors come before the range's (RFC 7530
	 * §9.1.7 wants a bad seqid seen before anything that would advance it). */
	if (a->locker.new_lock_owner) {
		st = lock_new_owner(c, &a->locker.locker4_u.open_owner, res, &lc);
		lock_seqid = a->locker.locker4_u.open_owner.lock_seqid;
		open_seqid = a->locker.locker4_u.open_owner.open_seqid;
	} else {
		st = lock_old_owner(c, &a->locker.locker4_u.lock_owner, res, &lc);
		lock_seqid = a->locker.locker4_u.lock_owner.lock_seqid;
	}
	if (lc.replayed)
		return st;
	lk = lc.lk;

	if (st != NFS4_OK) {
		/* the locker's error */
	} else if (!type || !lr_span(a->offset, a->length, &first, &last)) {
		st = NFS4ERR_INVAL; /* RFC 8881 §18.10.3: zero length, or past 2^64-1 */
	} else if ((st = st_grace_check(s, lc.lo->cl, a->reclaim)) != NFS4_OK) {
		/* RFC 8881 §18.10.4, §8.4.2: reclaims in the grace period only, and new locks
		 * only after it */
	} else if (type == LR_WRITE && !(lc.o->access & OPEN4_SHARE_ACCESS_WRITE)) {
		/* RFC 8881 §18.10.4: a write lock needs an open for writing */
		st = NFS4ERR_OPENMODE;
	} else if ((cr = st_lock_conflict(lc.o->file, lc.lo->cl, lc.lo->name, lc.lo->name_len, type, first,
					  last, &holder))) {
		st = deny(c, holder, cr, &out->LOCK4res_u.denied);
		/* RFC 8881 §9.6, §20.11: a blocking lock is told when to try again */
		if (c->minor && (a->locktype == READW_LT || a->locktype == WRITEW_LT))
			st_lock_wait(s, lc.lo->cl, lc.o->file, lc.lo->name, lc.lo->name_len);
	} else if (!lk && !(lk = st_lock_get(s, lc.lo, lc.o))) {
		st = c->minor ? NFS4ERR_DELAY : NFS4ERR_RESOURCE;
	} else {
		st = st_lock_apply(s, lk, type, first, last, c->minor);
		if (st == NFS4_OK) {
			/* RFC 8881 §8.2.2: a new lock stateid's first seqid is one */
			lk->sid.seqid = st_seqid_next(lk->sid.seqid);
			out->LOCK4res_u.resok4.lock_stateid = lk->sid;
			st_set_current(c, &lk->sid);
		} else if (!lk->ranges.n && lk->sid.seqid == 0) {
			st_lock_free(s, lk); /* made by this LOCK, never seen by the client */
			lk = NULL;
		}
	}

	if (!c->minor) {
		/* RFC 7530 §9.1.7: every seqid that passed advances, for all but the listed errors */
		if (lc.lo && lc.fresh && st != NFS4_OK && st != NFS4ERR_DENIED) {
			st_owner_free(s, lc.lo); /* nothing to replay: as if it never was */
		} else if (lc.lo) {
			st_owner_done(s, lc.lo, lock_seqid, OP_LOCK, st, st == NFS4_OK ? &lk->sid : NULL, 0,
				      NULL, 0);
			if (st == NFS4ERR_DENIED)
				keep_denied(lc.lo, &out->LOCK4res_u.denied);
		}
		if (lc.oo)
			st_owner_done(s, lc.oo, open_seqid, OP_LOCK, st, NULL, 0, NULL, 0);
	} else if (lc.lo && st_owner_idle(lc.lo)) {
		st_owner_free(s, lc.lo); /* 4.1: the slot replays; an idle lock-owner has no use */
	}
	return st;
}

/* RFC 8881 §18.11, RFC 7530 §16.11: would a lock be granted? Nothing changes. */
static nfsstat4 op_lockt(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCKT4args *a = &arg->nfs_argop4_u.oplockt;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	uint32_t type = lock_type(a->locktype);
	struct nfs_client *cl;
	const struct nfs_lock *holder;
	const struct lr_range *cr;
	struct nfs_file *f;
	uint64_t first, last;
	nfsstat4 st;

	if (c->minor) {
		/* RFC 8881 §18.11.3: the clientid is the session's; the field is ignored */
		cl = r->client;
		if (!cl || cl->dead)
			return NFS4ERR_BADSESSION;
	} else {
		/* RFC 7530 §16.11.5: a clientid of an earlier run is STALE_CLIENTID; the
		 * call renews the lease */
		st = st_client40(s, a->owner.clientid, &cl);
		if (st != NFS4_OK)
			return st;
	}
	if (!type || !lr_span(a->offset, a->length, &first, &last))
		return NFS4ERR_INVAL;
	/* RFC 8881 §18.11.4: a lock being reclaimed could conflict; ask again after it */
	if (state_in_grace(s))
		return NFS4ERR_GRACE;
	f = st_file_find(s, c->cfh.data, c->cfh.len);
	if (!f)
		return NFS4_OK; /* no state on the file: nothing can conflict */
	cr = st_lock_conflict(f, cl, a->owner.owner.owner_val, a->owner.owner.owner_len, type, first, last,
			      &holder);
	if (!cr)
		return NFS4_OK;
	return deny(c, holder, cr, &res->nfs_resop4_u.oplockt.LOCKT4res_u.denied);
}

/* RFC 8881 §18.12, RFC 7530 §16.12: release a range (held or not; the type is not looked at
 * beyond being valid). */
static nfsstat4 op_locku(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCKU4args *a = &arg->nfs_argop4_u.oplocku;
	stateid4 *out = &res->nfs_resop4_u.oplocku.LOCKU4res_u.lock_stateid;
	struct nfs_req *r = req_of(c);
	struct nfs_state *s = r->state;
	struct nfs_lock *lk;
	struct nfs_owner *lo;
	stateid4 sid, done = {0};
	uint64_t first, last;
	nfsstat4 st;

	st = state_stateid_arg(c, &a->lock_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = st_lock_find(s, &sid, c->minor, &lk);
	if (st != NFS4_OK)
		return st;
	lo = lk->owner;
	if (!c->minor) {
		switch (st_owner_seqid(lo, a->seqid)) {
		case ST_SEQ_REPLAY:
			return lock_replay(c, lo, OP_LOCKU, res);
		case ST_SEQ_BAD:
			return NFS4ERR_BAD_SEQID;
		case ST_SEQ_NEW:
			break;
		}
		st = lease40(s, lo->cl);
		if (st != NFS4_OK)
			return st;
	} else if (lo->cl != r->client) {
		return NFS4ERR_BAD_STATEID;
	}
	if (!lock_fh_is(lk, c))
		st = NFS4ERR_BAD_STATEID;
	else
		st = st_sid_seqid(&lk->sid, &sid, c->minor);
	if (st == NFS4_OK && (!lock_type(a->locktype) || !lr_span(a->offset, a->length, &first, &last)))
		st = NFS4ERR_INVAL;
	if (st == NFS4_OK)
		st = st_lock_apply(s, lk, 0, first, last, c->minor);
	if (st == NFS4_OK) {
		lk->sid.seqid = st_seqid_next(lk->sid.seqid);
		done = lk->sid;
		*out = done;
		st_set_current(c, out);
		st_lock_released(s, lk->file);
	}
	if (!c->minor)
		st_owner_done(s, lo, a->seqid, OP_LOCKU, st, &done, 0, NULL, 0);
	return st;
}

/* RFC 7530 §16.34: the client is done with a lock-owner. Locks still held: LOCKS_HELD. */
static nfsstat4 op_release_lockowner(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const RELEASE_LOCKOWNER4args *a = &arg->nfs_argop4_u.oprelease_lockowner;
	struct nfs_state *s = req_of(c)->state;
	struct nfs_client *cl;
	struct nfs_owner *lo;
	nfsstat4 st;

	(void)res;
	st = st_client40(s, a->lock_owner.clientid, &cl);
	if (st != NFS4_OK)
		return st;
	lo = st_lockowner_find(s, cl, a->lock_owner.owner.owner_val, a->lock_owner.owner.owner_len);
	if (!lo)
		return NFS4_OK; /* unknown or released already */
	if (st_lockowner_holds(lo))
		return NFS4ERR_LOCKS_HELD;
	st_owner_free(s, lo);
	return NFS4_OK;
}

void st_lock_register_ops(struct op_table *t)
{
	optable_set_handler(t, OP_LOCK, op_lock);
	optable_set_handler(t, OP_LOCKT, op_lockt);
	optable_set_handler(t, OP_LOCKU, op_locku);
	optable_set_handler(t, OP_RELEASE_LOCKOWNER, op_release_lockowner);
}

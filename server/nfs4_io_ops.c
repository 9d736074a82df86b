/*
 * Ops that open and read files: OPEN (for reading; creating and writing come with the write
 * path), READ and READLINK. CLOSE and OPEN_CONFIRM only touch state (nfs4_state_ops.c).
 *
 * READ data is read into a buffer of its own and handed to the reply as an iovec
 * (compound_add_payload): the bytes are never copied through the XDR encoder. The shared
 * page cache that will replace the per-request buffer is not built yet.
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "cacheio.h"
#include "errmap.h"
#include "hash.h"
#include "fdcache.h"
#include "log.h"
#include "nfs4_ns.h"
#include "object.h"
#include "pcache.h"
#include "state.h"
#include "stats.h"

/* ---- OPEN --------------------------------------------------------------------------------- */

struct open_ctx {
	struct ns_apply *ap;   /* first, for ns_apply_attrs(): &apply */
	struct ns_apply apply;
	struct attr_set as;    /* OPEN4_CREATE: createattrs / cva_attrs (+ the verifier) */
	bool create;
	createmode4 how;
	bool created;          /* this OPEN made the file (or is the replay of one that did) */
	int dirfd;
	const char *name;      /* CLAIM_NULL */
	uint64_t dir_change;   /* the directory's change attribute (cinfo) */
	bool have_dir;
	uint8_t fh[FH_MAX_SIZE];
	uint32_t fh_len;
	bool state_called;     /* state_open() ran: it dealt with the seqid */
	bool truncate;         /* UNCHECKED4 with size 0 on an existing file */
	const stateid4 *deleg; /* the CUR claims: the caller's delegation of the file */
};

static nfsstat4 open_result(struct opx *x);
static nfsstat4 open_checked(struct opx *x);

/* The file is known (x->stx, ctx->fh): check it, record the open, fill the result. */
static nfsstat4 open_finish(struct opx *x)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	struct open_ctx *oc = x->priv;
	uint32_t access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;

	/* What the disk says now decides whether cached pages of the file still hold: the
	 * close-to-open point of a client (its OPEN) sees other programs' changes. An OPEN by
	 * handle checked them when its statx came back (opx_stat); one by name, in open_named. */
	/* RFC 8881 §18.16.3: OPEN is for regular files. */
	if (S_ISDIR(x->stx.stx_mode))
		return NFS4ERR_ISDIR;
	if (S_ISLNK(x->stx.stx_mode))
		return NFS4ERR_SYMLINK;
	if (!S_ISREG(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
	if ((access & OPEN4_SHARE_ACCESS_WRITE) &&
	    (!x->obj.exp || x->obj.exp->cfg->access != CONFIG_ACCESS_RW))
		return NFS4ERR_ROFS;
	/* A file this OPEN created is open to its creator whatever its mode (open(2) with
	 * O_CREAT of a 0444 file returns a writable fd). Otherwise: the owner may open a file
	 * of theirs without read permission, as knfsd allows (programs that create a 0200
	 * file and reopen it); writing needs write permission. The kernel answers as the
	 * caller (opx_access: ACLs count). */
	if (!oc->created) {
		int want = 0;

		if ((access & OPEN4_SHARE_ACCESS_READ) && x->cred.uid != x->stx.stx_uid)
			want |= R_OK;
		if (access & OPEN4_SHARE_ACCESS_WRITE)
			want |= W_OK;
		if (want)
			return opx_access(x, want, open_checked);
	}
	return open_checked(x);
}

/* Permissions known (x->allowed, for a file this OPEN did not create): record the open. */
static nfsstat4 open_checked(struct opx *x)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	OPEN4resok *ok = &x->res->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	struct open_ctx *oc = x->priv;
	uint32_t access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;
	uint32_t rflags = 0;
	uint32_t *words;
	nfsstat4 st;

	if (!oc->created) {
		if ((access & OPEN4_SHARE_ACCESS_READ) && x->cred.uid != x->stx.stx_uid &&
		    !(x->allowed & R_OK))
			return NFS4ERR_ACCESS;
		if ((access & OPEN4_SHARE_ACCESS_WRITE) && !(x->allowed & W_OK))
			return NFS4ERR_ACCESS;
	}
	if (oc->deleg) {
		stateid4 sid;

		st = state_stateid_arg(x->c, oc->deleg, &sid);
		if (st == NFS4_OK)
			st = state_deleg_claim(x->req, &sid, oc->fh, oc->fh_len);
		if (st != NFS4_OK)
			return st;
	}
	oc->state_called = true;
	st = state_open(x->req, &a->owner, a->seqid, oc->fh, oc->fh_len, access, a->share_deny,
			a->claim.claim == CLAIM_PREVIOUS, &ok->stateid, &rflags);
	if (st != NFS4_OK)
		return st;
	ok->rflags = rflags | OPEN4_RESULT_LOCKTYPE_POSIX;
	/* RFC 8881 §18.16.4: blocked locks are told by CB_NOTIFY_LOCK (nfs4_lock_ops.c) */
	if (state_may_notify_lock(x->req))
		ok->rflags |= OPEN4_RESULT_MAY_NOTIFY_LOCK;
	if (!ok->attrset.bitmap4_val) {
		words = compound_alloc(x->c, ATTR_WORDS * sizeof(uint32_t));
		if (!words)
			return NFS4ERR_SERVERFAULT;
		memset(words, 0, ATTR_WORDS * sizeof(uint32_t));
		ok->attrset.bitmap4_len = 0;
		ok->attrset.bitmap4_val = words;
	}
	/* The truncate of UNCHECKED4 comes after the permission and share checks (knfsd's
	 * nfsd4_truncate follows do_open_permission and the share check): a refused OPEN
	 * leaves the data alone. If the truncate itself fails, the open stays recorded until
	 * the client's state goes (a client that got an error does not CLOSE it). */
	if (oc->truncate)
		return ns_apply_attrs(x, &oc->apply, &oc->as, &ok->attrset, open_result);
	return open_result(x);
}

/* The open is recorded: the rest of the result. */
static nfsstat4 open_result(struct opx *x)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	OPEN4resok *ok = &x->res->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	struct open_ctx *oc = x->priv;

	if (oc->create && oc->have_dir) {
		/* other processes may change the directory around us: not atomic */
		ok->cinfo.atomic = FALSE;
		ok->cinfo.before = oc->dir_change;
		ok->cinfo.after = obj_change_now(oc->dirfd);
	} else {
		ok->cinfo.atomic = oc->have_dir;
		ok->cinfo.before = ok->cinfo.after = oc->dir_change; /* nothing was created */
	}
	/* RFC 8881 §10.4, §18.16.3: a read delegation when nothing stands against it */
	state_deleg_offer(x->req, &a->owner, oc->fh, oc->fh_len, a->share_access, a->share_deny,
			  a->claim.claim == CLAIM_PREVIOUS || (ok->rflags & OPEN4_RESULT_CONFIRM),
			  &ok->delegation);
	opx_set_fh(x->c, oc->fh, oc->fh_len);
	x->c->cur_stateid = ok->stateid;
	x->c->cur_stateid_set = true;
	return NFS4_OK;
}

static nfsstat4 open_named(struct opx *x)
{
	struct open_ctx *oc = x->priv;
	int fd = x->sr.res;
	size_t len = sizeof(oc->fh);
	nfsstat4 st;
	int ret;

	if (fd < 0)
		return nfs_errno_to_status(fd);
	/* the object was just opened: its inode is in memory, these do not wait for the disk */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
		  &x->stx) < 0) {
		ret = -errno;
		close(fd);
		return nfs_errno_to_status(ret);
	}
	ret = fh_encode(x->obj.exp->cfg->id, fd, NULL, oc->fh, &len);
	if (ret < 0) {
		close(fd);
		return nfs_errno_to_status(ret);
	}
	oc->fh_len = (uint32_t)len;
	obj_cache_validate(x->srv, oc->fh, oc->fh_len, &x->stx, 0);
	/* the cache's fd from here on (it may have had one for this handle already) */
	fd = obj_fd_insert(x->c, x->srv, oc->fh, oc->fh_len, 'p', fd);
	if (fd < 0)
		return nfs_errno_to_status(fd);
	/* from here on the op works on the file, no longer on its directory */
	st = ns_become(x, fd, oc->fh, oc->fh_len);
	if (st != NFS4_OK)
		return st;
	if (oc->create && attr_mask_has(&oc->as.mask, FATTR4_SIZE) && oc->as.size == 0 &&
	    S_ISREG(x->stx.stx_mode)) {
		/* UNCHECKED4 on an existing file: of createattrs only a size of 0 applies, like
		 * O_TRUNC (RFC 8881 §18.16.3; knfsd ignores the rest too). open_finish does it
		 * once the open is allowed. */
		if (!(x->arg->nfs_argop4_u.opopen.share_access & OPEN4_SHARE_ACCESS_WRITE))
			return NFS4ERR_INVAL; /* a truncate needs an open for writing */
		oc->as.mask = (struct attr_mask){{0}};
		attr_mask_set(&oc->as.mask, FATTR4_SIZE);
		oc->truncate = true;
	}
	return open_finish(x);
}

/* EXCLUSIVE4 / EXCLUSIVE4_1: the verifier lives in the new file's atime and mtime seconds,
 * as knfsd keeps it (RFC 8881 §18.16.3 leaves where to the server), so a retransmitted
 * create can tell its own file from another's. */
static void open_verf_times(const verifier4 v, struct timespec ts[2])
{
	uint32_t a = (uint32_t)(uint8_t)v[0] << 24 | (uint32_t)(uint8_t)v[1] << 16 |
		     (uint32_t)(uint8_t)v[2] << 8 | (uint8_t)v[3];
	uint32_t m = (uint32_t)(uint8_t)v[4] << 24 | (uint32_t)(uint8_t)v[5] << 16 |
		     (uint32_t)(uint8_t)v[6] << 8 | (uint8_t)v[7];

	ts[0].tv_sec = (time_t)(a & 0x7fffffff);
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = (time_t)(m & 0x7fffffff);
	ts[1].tv_nsec = 0;
}

static const char *open_verf(const OPEN4args *a)
{
	return a->openhow.openflag4_u.how.mode == EXCLUSIVE4
		       ? a->openhow.openflag4_u.how.createhow4_u.createverf
		       : a->openhow.openflag4_u.how.createhow4_u.ch_createboth.cva_verf;
}

static nfsstat4 open_created_applied(struct opx *x)
{
	return open_finish(x);
}

/* The file exists already and this is an exclusive create: ours (a retransmission) if it
 * carries our verifier, else EXIST. */
static nfsstat4 open_excl_existing(struct opx *x)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	struct open_ctx *oc = x->priv;
	struct timespec ts[2];
	int fd = x->sr.res;
	size_t len = sizeof(oc->fh);
	int ret;

	if (fd < 0)
		return fd == -ENOENT ? NFS4ERR_DELAY : nfs_errno_to_status(fd);
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
		  &x->stx) < 0) {
		ret = -errno;
		close(fd);
		return nfs_errno_to_status(ret);
	}
	open_verf_times(open_verf(a), ts);
	if (!S_ISREG(x->stx.stx_mode) || x->stx.stx_atime.tv_sec != ts[0].tv_sec ||
	    x->stx.stx_mtime.tv_sec != ts[1].tv_sec || x->stx.stx_uid != x->cred.uid) {
		close(fd);
		return NFS4ERR_EXIST;
	}
	ret = fh_encode(x->obj.exp->cfg->id, fd, NULL, oc->fh, &len);
	if (ret < 0) {
		close(fd);
		return nfs_errno_to_status(ret);
	}
	oc->fh_len = (uint32_t)len;
	if (obj_fd_insert(x->c, x->srv, oc->fh, oc->fh_len, 'p', fd) < 0)
		log_debug("OPEN: fd not cached");
	oc->created = true;
	return open_finish(x);
}

static nfsstat4 open_create_done(struct opx *x)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	OPEN4resok *ok = &x->res->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	struct open_ctx *oc = x->priv;
	int fd = x->sr.res, pfd, ret;
	uint32_t *w;
	nfsstat4 st;

	if (fd == -EEXIST) {
		switch (oc->how) {
		case GUARDED4:
			return NFS4ERR_EXIST;
		case EXCLUSIVE4:
		case EXCLUSIVE4_1:
			stor_prep_openat(&x->sr, oc->dirfd, oc->name, O_PATH | O_NOFOLLOW, 0);
			return opx_submit(x, open_excl_existing);
		default: /* UNCHECKED4: open what is there */
			stor_prep_openat(&x->sr, oc->dirfd, oc->name, O_PATH | O_NOFOLLOW, 0);
			return opx_submit(x, open_named);
		}
	}
	if (fd < 0)
		return nfs_errno_to_status(fd);
	oc->created = true;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &x->stx) < 0 ||
	    (pfd = dup(fd)) < 0) {
		ret = -errno;
		close(fd);
		return nfs_errno_to_status(ret);
	}
	/* the create's fd is read-write: keep it for the WRITEs that follow, and a copy as
	 * the object's own fd */
	pfd = obj_adopt(x->c, x->srv, x->obj.exp, pfd, oc->fh, &oc->fh_len);
	if (pfd < 0) {
		close(fd);
		return nfs_errno_to_status(pfd);
	}
	if (obj_fd_insert(x->c, x->srv, oc->fh, oc->fh_len, 'w', fd) < 0)
		log_debug("OPEN: write fd not cached");
	st = ns_become(x, pfd, oc->fh, oc->fh_len);
	if (st != NFS4_OK)
		return st;
	w = compound_alloc(x->c, ATTR_WORDS * sizeof(uint32_t));
	if (!w)
		return NFS4ERR_SERVERFAULT;
	memset(w, 0, ATTR_WORDS * sizeof(uint32_t));
	ok->attrset.bitmap4_val = w;
	ok->attrset.bitmap4_len = 0;
	if (attr_mask_has(&oc->as.mask, FATTR4_MODE)) {
		/* it went with the create call */
		ok->attrset.bitmap4_val[FATTR4_MODE / 32] |= 1u << (FATTR4_MODE % 32);
		ok->attrset.bitmap4_len = FATTR4_MODE / 32 + 1;
		oc->as.mask.w[FATTR4_MODE / 32] &= ~(1u << (FATTR4_MODE % 32));
	}
	if (oc->how == EXCLUSIVE4 || oc->how == EXCLUSIVE4_1) {
		struct timespec ts[2];

		/* §18.16.4: for EXCLUSIVE4 attrset names the attributes holding the verifier,
		 * which the client then sets with SETATTR */
		open_verf_times(open_verf(a), ts);
		attr_mask_set(&oc->as.mask, FATTR4_TIME_ACCESS_SET);
		attr_mask_set(&oc->as.mask, FATTR4_TIME_MODIFY_SET);
		oc->as.atime_how = oc->as.mtime_how = SET_TO_CLIENT_TIME4;
		oc->as.atime = ts[0];
		oc->as.mtime = ts[1];
	}
	/* a size in createattrs of a new file: only 0 is meaningful, and it is 0 already */
	oc->as.mask.w[FATTR4_SIZE / 32] &= ~(1u << (FATTR4_SIZE % 32));
	return ns_apply_attrs(x, &oc->apply, &oc->as, &ok->attrset, open_created_applied);
}

static nfsstat4 open_create(struct opx *x)
{
	struct open_ctx *oc = x->priv;
	/* knfsd's default when the client gives no mode */
	mode_t mode = attr_mask_has(&oc->as.mask, FATTR4_MODE) ? (mode_t)(oc->as.mode & 07777) : 0;

	if (x->obj.exp->cfg->access != CONFIG_ACCESS_RW)
		return NFS4ERR_ROFS;
	/* As the caller: the directory's permissions and sticky bit, setgid inheritance and
	 * the new file's owner are the kernel's decisions, as for a local open(O_CREAT). */
	stor_prep_openat(&x->sr, oc->dirfd, oc->name, O_CREAT | O_EXCL | O_RDWR, mode);
	x->sr.cred = &x->cred;
	return opx_submit(x, open_create_done);
}

static nfsstat4 open_dir_statted(struct opx *x)
{
	struct open_ctx *oc = x->priv;

	oc->dir_change = attr_change_from_statx(&x->stx);
	oc->have_dir = true;
	if (!x->obj.exp) {
		/* pseudo directories hold only directories (and exports' roots) */
		if (pseudo_lookup(x->obj.pnode, oc->name))
			return NFS4ERR_ISDIR;
		return oc->create ? NFS4ERR_ROFS : NFS4ERR_NOENT;
	}
	if (!S_ISDIR(x->stx.stx_mode))
		return S_ISLNK(x->stx.stx_mode) ? NFS4ERR_SYMLINK : NFS4ERR_NOTDIR;
	oc->dirfd = x->obj.fd;
	if (oc->create)
		return open_create(x);
	stor_prep_openat(&x->sr, x->obj.fd, oc->name, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, open_named);
}

static nfsstat4 open_claim_null(struct opx *x)
{
	return opx_stat(x, open_dir_statted);
}

static nfsstat4 open_claim_fh_statted(struct opx *x)
{
	struct open_ctx *oc = x->priv;

	if (!x->obj.exp)
		return NFS4ERR_ISDIR;
	memcpy(oc->fh, x->obj.fh, x->obj.fh_len);
	oc->fh_len = x->obj.fh_len;
	return open_finish(x);
}

static nfsstat4 open_claim_fh(struct opx *x)
{
	return opx_stat(x, open_claim_fh_statted);
}

/* RFC 7530 §9.1.7: a 4.0 OPEN that fails before its state is recorded still advances the
 * open-owner's seqid (for most errors), and its retransmission must see the same error. */
static nfsstat4 open_end(struct opx *x, nfsstat4 st)
{
	const OPEN4args *a = &x->arg->nfs_argop4_u.opopen;
	struct open_ctx *oc = x->priv;

	if (st != NFS4_OK && x->c->minor == 0 && !(oc && oc->state_called))
		state_open_failed(x->req, &a->owner, a->seqid, st);
	if (st == NFS4_OK && x->c->minor == 0)
		state_open_done(x->req, &a->owner, &x->res->nfs_resop4_u.opopen.OPEN4res_u.resok4);
	return st;
}

/* RFC 8881 §18.16 / RFC 7530 §16.16 OPEN, for reading existing files. */
static nfsstat4 op_open(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN4args *a = &arg->nfs_argop4_u.opopen;
	uint32_t access = a->share_access & ~(uint32_t)(OPEN4_SHARE_ACCESS_WANT_DELEG_MASK |
						       OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL |
						       OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED);
	struct opx *x;
	struct open_ctx *oc;
	const uint8_t *rfh;
	uint32_t rfh_len;
	nfsstat4 st;

	/* RFC 7530 §9.1.9: a retransmitted 4.0 OPEN gets the first one's reply and does
	 * nothing again (a second create or truncate could undo what came since). */
	if (state_open_replay(req_of(c), &a->owner, a->seqid, &res->nfs_resop4_u.opopen, &rfh, &rfh_len,
			      &st)) {
		if (st == NFS4_OK) {
			opx_set_fh(c, rfh, rfh_len);
			c->cur_stateid = res->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
			c->cur_stateid_set = true;
		}
		return st;
	}
	x = opx_new(c, arg, res);
	if (!x)
		return NFS4ERR_SERVERFAULT;
	x->finish = open_end;
	/* §18.16.3: share_access must name READ and/or WRITE; share_deny at most BOTH. */
	if (access == 0 || access > OPEN4_SHARE_ACCESS_BOTH || a->share_deny > OPEN4_SHARE_DENY_BOTH)
		return opx_end(x, NFS4ERR_INVAL);
	oc = compound_alloc(c, sizeof(*oc));
	if (!oc)
		return opx_end(x, NFS4ERR_SERVERFAULT);
	memset(oc, 0, sizeof(*oc));
	oc->ap = &oc->apply;
	x->priv = oc;
	if (a->openhow.opentype == OPEN4_CREATE) {
		const createhow4 *how = &a->openhow.openflag4_u.how;

		oc->create = true;
		oc->how = how->mode;
		/* RFC 8881 §18.16.3: creating takes a name (CLAIM_NULL; CLAIM_FH has none) */
		if (a->claim.claim != CLAIM_NULL)
			return opx_end(x, NFS4ERR_INVAL);
		switch (how->mode) {
		case UNCHECKED4:
		case GUARDED4:
			st = ns_decode_attrs(x, &how->createhow4_u.createattrs, 0, &oc->as);
			break;
		case EXCLUSIVE4:
			st = NFS4_OK;
			break;
		case EXCLUSIVE4_1:
			if (c->minor == 0)
				return opx_end(x, NFS4ERR_INVAL);
			/* §18.16.3: only suppattr_exclcreat; the times hold the verifier */
			st = ns_decode_attrs(x, &how->createhow4_u.ch_createboth.cva_attrs,
					     ATTR_SET_EXCLCREAT, &oc->as);
			break;
		default:
			st = NFS4ERR_INVAL;
			break;
		}
		if (st != NFS4_OK)
			return opx_end(x, st);
	}
	/* RFC 8881 §8.4.2, RFC 7530 §9.6.2: the grace period (state.h). The holder of a
	 * delegation turning it into opens (§10.4.4, the CUR claims) is not new state. */
	if (a->claim.claim != CLAIM_DELEGATE_CUR && a->claim.claim != CLAIM_DELEG_CUR_FH) {
		st = state_open_claim(req_of(c), &a->owner, a->claim.claim == CLAIM_PREVIOUS);
		if (st != NFS4_OK)
			return opx_end(x, st);
	}
	switch (a->claim.claim) {
	case CLAIM_NULL:
		st = obj_name(c, &a->claim.open_claim4_u.file, &oc->name);
		if (st != NFS4_OK)
			return opx_end(x, st);
		return opx_end(x, opx_resolve(x, open_claim_null));
	case CLAIM_FH:
		if (c->minor == 0)
			return opx_end(x, NFS4ERR_INVAL); /* not a 4.0 claim: XDR fails first */
		return opx_end(x, opx_resolve(x, open_claim_fh));
	case CLAIM_PREVIOUS:
		/* §18.16.3, §9.11: a reclaim names the file by the current FH; the grace
		 * rules passed above. No delegation is ever handed out, so a reclaimed
		 * delegate_type other than NONE gets an open without one. */
		return opx_end(x, opx_resolve(x, open_claim_fh));
	case CLAIM_DELEGATE_CUR:
		/* RFC 7530 §16.16.5: by name in the current directory; the stateid is
		 * checked against the file once it is known (open_claim_deleg) */
		oc->deleg = &a->claim.open_claim4_u.delegate_cur_info.delegate_stateid;
		st = obj_name(c, &a->claim.open_claim4_u.delegate_cur_info.file, &oc->name);
		if (st != NFS4_OK)
			return opx_end(x, st);
		return opx_end(x, opx_resolve(x, open_claim_null));
	case CLAIM_DELEG_CUR_FH:
		/* RFC 8881 §18.16.3: the file is the current FH */
		oc->deleg = &a->claim.open_claim4_u.oc_delegate_stateid;
		return opx_end(x, opx_resolve(x, open_claim_fh));
	default:
		/* CLAIM_DELEGATE_PREV, CLAIM_DELEG_PREV_FH: delegations do not outlive a
		 * restart here (knfsd: NOTSUPP too) */
		return opx_end(x, NFS4ERR_NOTSUPP);
	}
}

/* ---- READ --------------------------------------------------------------------------------- */

/*
 * READ goes through the shared page cache (storage/cacheio.h): the reply's data iovecs point
 * into pinned cache pages, unpinned when the reply has been sent (compound release), so the
 * data is never copied in sluice. The cache's fd of a file (fd cache kind 'D') is opened
 * O_DIRECT where the filesystem allows, so file data is cached once, here, with the
 * scan-resistant policy, rather than twice (here and in the kernel's page cache).
 */
struct read_ctx {
	int fd;        /* the cache's fd of the file */
	uint32_t count;
	bool anon;     /* special stateid: check permissions against the file */
	bool statted;  /* x->stx is this op's own statx of the file */
	bool direct;   /* the fd being opened is O_DIRECT */
	uint64_t token; /* reader, for read-ahead streams */
	struct pc_file *pf;
	struct cio_read cr;
};

static void read_release(void *arg)
{
	struct read_ctx *rc = arg;

	cio_release(&rc->cr);
	pcache_file_put(rc->cr.pc, rc->pf);
}

static nfsstat4 read_reply(struct opx *x)
{
	struct read_ctx *rc = x->priv;
	READ4resok *ok = &x->res->nfs_resop4_u.opread.READ4res_u.resok4;
	const READ4args *a = &x->arg->nfs_argop4_u.opread;

	if (rc->cr.err < 0)
		return nfs_errno_to_status(rc->cr.err);
	for (unsigned i = 0; i < rc->cr.niov; i++)
		if (compound_add_payload(x->c, rc->cr.iov[i].iov_base, rc->cr.iov[i].iov_len) < 0)
			return NFS4ERR_SERVERFAULT;
	stats_op_bytes(OP_READ, rc->cr.nbytes);
	/* RFC 8881 §18.22.4: eof when the read reached the end of the file (as the cache's
	 * stamp of the file says: no syscall) */
	ok->eof = a->offset + rc->cr.nbytes >= rc->cr.size;
	return NFS4_OK;
}

static void read_cio_done(struct cio_read *cr)
{
	opx_resume(cr->arg, read_reply);
}

static nfsstat4 read_io(struct opx *x)
{
	struct read_ctx *rc = x->priv;
	const READ4args *a = &x->arg->nfs_argop4_u.opread;
	struct pc_stamp stamp;
	uint64_t size;
	int ret;

	if (pcache_file_stamp(rc->pf, &stamp)) {
		size = stamp.size;
	} else if (rc->statted) {
		size = x->stx.stx_size; /* a write came between: this statx is as new as any */
	} else {
		rc->statted = true; /* the cache knows no size: ask the disk (and stamp the file) */
		return opx_stat(x, read_io);
	}
	rc->cr.st = x->req->lp->stor;
	rc->cr.f = rc->pf;
	rc->cr.fd = rc->fd;
	rc->cr.off = a->offset;
	rc->cr.count = rc->count;
	rc->cr.size = size;
	rc->cr.token = rc->token;
	rc->cr.prefetch_max = x->srv->prefetch_max;
	rc->cr.done = read_cio_done;
	rc->cr.arg = x;
	ret = cio_read_start(&rc->cr);
	if (ret < 0)
		return nfs_errno_to_status(ret);
	return ret == 0 ? read_reply(x) : OP_PARKED;
}

static nfsstat4 read_checked(struct opx *x);

static nfsstat4 read_opened(struct opx *x)
{
	struct read_ctx *rc = x->priv;
	int fd = x->sr.res;

	if ((fd == -EINVAL || fd == -EBADMSG) && rc->direct) {
		/* the filesystem refuses O_DIRECT (tmpfs of older kernels, some FUSE): the cache
		 * reads through its page cache instead (fh_resolve reports open_by_handle_at's
		 * EINVAL as a bad handle; this handle resolved a moment ago) */
		rc->direct = false;
		return read_checked(x);
	}
	if (fd < 0)
		return fd == -ESTALE || fd == -ENOENT ? NFS4ERR_STALE : nfs_errno_to_status(fd);
	fd = obj_fd_insert(x->c, x->srv, x->obj.fh, x->obj.fh_len, 'D', fd);
	if (fd < 0)
		return nfs_errno_to_status(fd);
	rc->fd = fd;
	return read_io(x);
}

static nfsstat4 read_anon_checked(struct opx *x);

/* The object's type (and, for special stateids, the caller's permission) is known. */
static nfsstat4 read_statted(struct opx *x)
{
	struct read_ctx *rc = x->priv;

	rc->statted = true;
	if (S_ISDIR(x->stx.stx_mode))
		return NFS4ERR_ISDIR;
	if (S_ISLNK(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_SYMLINK;
	if (!S_ISREG(x->stx.stx_mode)) /* RFC 7530 §16.23.5 INVAL; RFC 8881 §18.22.3 */
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
	if (rc->anon)
		return opx_access(x, R_OK, read_anon_checked);
	return read_checked(x);
}

/* A special stateid reads what the caller may read, as the kernel says (ACLs count). */
static nfsstat4 read_anon_checked(struct opx *x)
{
	return x->allowed & R_OK ? read_checked(x) : NFS4ERR_ACCESS;
}

static nfsstat4 read_checked(struct opx *x)
{
	struct read_ctx *rc = x->priv;

	if (rc->fd >= 0)
		return read_io(x);
	/* only regular files are opened for reading: no device or fifo is ever opened */
	if (x->obj.exp->meta_inline) {
		/* the resolved O_PATH fd pins the inode: opening it again through /proc is a
		 * permission check and a struct file, no disk, so no trip to the offload pool
		 * (falls back to the handle where /proc is not mounted) */
		char path[STOR_FD_PATH_MAX];
		int fd;

		fd = open(stor_fd_path(path, x->obj.fd),
			  (rc->direct ? O_RDONLY | O_DIRECT : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 || errno != ENOENT) {
			x->sr.res = fd >= 0 ? fd : -errno;
			return read_opened(x);
		}
	}
	stor_prep_open_by_handle(&x->sr, x->obj.exp->root_fd, &x->obj.kh,
				 rc->direct ? O_RDONLY | O_DIRECT : O_RDONLY);
	return opx_submit(x, read_opened);
}

static nfsstat4 read_resolved(struct opx *x)
{
	struct read_ctx *rc = x->priv;
	struct fdc_ref *ref;
	int fd;

	if (!x->obj.exp || x->obj.is_root)
		return NFS4ERR_ISDIR;
	/* The file's cache entry exists before any statx of this READ goes out, so that statx
	 * stamps it under the generation protocol (object.c stat_done): a file first met here
	 * would otherwise keep pages of an unstamped generation, which the next OPEN's check
	 * throws away (every small file missed again on its second epoch). */
	rc->pf = pcache_file_get(x->srv->pcache, x->obj.fh, x->obj.fh_len);
	if (!rc->pf)
		return NFS4ERR_DELAY;
	rc->cr.pc = x->srv->pcache;
	if (compound_on_release(x->c, read_release, rc) < 0) {
		pcache_file_put(x->srv->pcache, rc->pf);
		rc->pf = NULL;
		return NFS4ERR_SERVERFAULT;
	}
	fd = obj_fd_cached(x->srv, x->obj.fh, x->obj.fh_len, 'D', &ref);
	if (fd >= 0) {
		obj_pin_until_done(x->c, x->srv, ref);
		rc->fd = fd;
		if (!rc->anon)
			return read_io(x); /* opened for reading before: a regular file */
	}
	return opx_stat(x, read_statted);
}

/* RFC 8881 §18.22 / RFC 7530 §16.23 READ. */
static nfsstat4 op_read(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const READ4args *a = &arg->nfs_argop4_u.opread;
	struct opx *x = opx_new(c, arg, res);
	struct read_ctx *rc;
	stateid4 sid;
	size_t room = compound_reply_room(c);
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	st = state_stateid_arg(c, &a->stateid, &sid);
	if (st == NFS4_OK)
		st = state_check_io(x->req, &sid, c->cfh.data, c->cfh.len, false);
	if (st != NFS4_OK)
		return st;
	rc = compound_alloc(c, sizeof(*rc));
	if (!rc)
		return NFS4ERR_SERVERFAULT;
	memset(rc, 0, sizeof(*rc));
	rc->fd = -1;
	rc->direct = true;
	rc->anon = state_stateid_special(&sid);
	/* read-ahead streams are per open file and client: the stateid names both (a special
	 * stateid: the connection stands for the client) */
	rc->token = rc->anon ? (uint64_t)(uintptr_t)x->req->conn | 1
			     : hash_bytes(sid.other, sizeof(sid.other)) | 1;
	/* The reply must fit: opcode, status, eof, length and padding around the data
	 * (RFC 8881 §2.10.6.4: a READ longer than the session allows is cut, not refused). */
	rc->count = a->count < x->srv->max_read ? a->count : x->srv->max_read;
	if (room < 20)
		return NFS4ERR_RESOURCE;
	if (rc->count > room - 20)
		rc->count = (uint32_t)(room - 20);
	/* Offsets past what a file can hold (off_t is signed) read nothing, at end of file. */
	if (a->offset >= (uint64_t)INT64_MAX)
		rc->count = 0;
	else if (a->offset + rc->count > (uint64_t)INT64_MAX)
		rc->count = (uint32_t)((uint64_t)INT64_MAX - a->offset);
	x->priv = rc;
	return opx_resolve(x, read_resolved);
}

/* ---- READLINK ----------------------------------------------------------------------------- */

static nfsstat4 readlink_done(struct opx *x)
{
	READLINK4resok *ok = &x->res->nfs_resop4_u.opreadlink.READLINK4res_u.resok4;
	int n = x->sr.res;

	if (n == -EINVAL || n == -ENOENT)
		return NFS4ERR_INVAL; /* §18.25.3: not a symbolic link */
	if (n < 0)
		return nfs_errno_to_status(n);
	ok->link.linktext4_len = (u_int)n;
	return NFS4_OK;
}

static nfsstat4 readlink_step(struct opx *x)
{
	READLINK4resok *ok = &x->res->nfs_resop4_u.opreadlink.READLINK4res_u.resok4;
	char *buf;

	if (!x->obj.exp)
		return NFS4ERR_INVAL;
	buf = compound_alloc(x->c, PATH_MAX);
	if (!buf)
		return NFS4ERR_SERVERFAULT;
	ok->link.linktext4_val = buf;
	stor_prep_readlinkat(&x->sr, x->obj.fd, "", buf, PATH_MAX);
	return opx_submit(x, readlink_done);
}

/* RFC 8881 §18.25 READLINK. */
static nfsstat4 op_readlink(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	return x ? opx_resolve(x, readlink_step) : NFS4ERR_SERVERFAULT;
}

void nfs4_io_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_OPEN, op_open);
	optable_set_handler(t, OP_READ, op_read);
	optable_set_handler(t, OP_READLINK, op_readlink);
}

/*
 * Ops that change the namespace and attributes: CREATE, REMOVE, RENAME, LINK and SETATTR
 * (RFC 8881 §18.4, §18.25, §18.26, §18.9, §18.30; RFC 7530 §16), and the attribute-setting
 * steps OPEN's create shares with them (ns_apply_attrs).
 *
 * Identity: every change runs as the caller (x->cred, squash applied) through the storage
 * engine's offload pool, so the kernel makes the decisions a local program would get:
 * permission on the directory, the sticky bit, setgid inheritance, who owns a new file, who
 * may chown or chmod, protected hard links. The server only looks things up as itself
 * (O_PATH opens, which read nothing).
 *
 * change_info4: before and after are the directory's change attribute (from ctime) read
 * around the change; other processes may change the directory in between, so atomic is
 * FALSE and the client revalidates (RFC 8881 §3.3.4).
 *
 * Containment: names are single components (obj_name refuses "/", NUL, "." and ".."), every
 * *at call is relative to a directory fd inside the export and never follows a symlink in
 * the last component, and two-object ops (RENAME, LINK) must stay in one export (XDEV, as
 * between two file systems: RFC 8881 §18.26.3, §18.9.3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attr.h"
#include "errmap.h"
#include "fdcache.h"
#include "idmap.h"
#include "log.h"
#include "nfs4_ns.h"
#include "object.h"
#include "state.h"

/* ---- shared steps ------------------------------------------------------------------------- */

static void close_fd_cb(void *arg)
{
	int *fd = arg;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* An fd that closes when the compound is freed (-1 until set). */
static int *ns_fd_slot(struct compound *c)
{
	int *fd = compound_alloc(c, sizeof(*fd));

	if (!fd)
		return NULL;
	*fd = -1;
	if (compound_on_release(c, close_fd_cb, fd) < 0)
		return NULL;
	return fd;
}

nfsstat4 ns_dir_writable(const struct opx *x)
{
	if (!x->obj.exp)
		return NFS4ERR_ROFS; /* the pseudo fs (RFC 8881 §7.6) */
	if (!S_ISDIR(x->stx.stx_mode))
		return S_ISLNK(x->stx.stx_mode) ? NFS4ERR_SYMLINK : NFS4ERR_NOTDIR;
	if (x->obj.exp->cfg->access != CONFIG_ACCESS_RW)
		return NFS4ERR_ROFS;
	return NFS4_OK;
}

static uint32_t *ns_bitmap(struct compound *c, bitmap4 *bm)
{
	uint32_t *w = compound_alloc(c, ATTR_WORDS * sizeof(uint32_t));

	if (!w)
		return NULL;
	memset(w, 0, ATTR_WORDS * sizeof(uint32_t));
	bm->bitmap4_val = w;
	bm->bitmap4_len = 0;
	return w;
}

static void ns_bitmap_set(bitmap4 *bm, unsigned int attr)
{
	uint32_t word = attr / 32;

	bm->bitmap4_val[word] |= 1u << (attr % 32);
	if (bm->bitmap4_len < word + 1)
		bm->bitmap4_len = word + 1;
}

nfsstat4 ns_become(struct opx *x, int fd, const uint8_t *fh, uint32_t fh_len)
{
	uint8_t *copy = compound_alloc(x->c, fh_len);
	uint32_t id;

	if (!copy)
		return NFS4ERR_SERVERFAULT;
	memcpy(copy, fh, fh_len);
	if (fh_decode(copy, fh_len, &id, &x->obj.kh) < 0)
		return NFS4ERR_SERVERFAULT;
	x->obj.fh = copy;
	x->obj.fh_len = fh_len;
	x->obj.fd = fd;
	x->obj.is_root = false;
	x->obj.pnode = NULL;
	x->obj.ref = NULL;
	x->data_fd = -1;
	return NFS4_OK;
}

/* ---- setting attributes (SETATTR, and what CREATE and OPEN create apply) ---------------- */

/*
 * The attributes are applied one storage request at a time, in this order: size first
 * (a truncate moves mtime, which a time given in the same call must win over), then owner
 * and group (chown clears setuid/setgid bits, which a mode given with them must set again),
 * then mode, then the times. Each success is recorded in *set (attrsset), so a failure half
 * way reports what did change (RFC 8881 §18.30.4).
 */
static nfsstat4 ns_apply_next(struct opx *x);

static struct ns_apply *ns_apply_of(struct opx *x)
{
	return *(struct ns_apply **)x->priv;
}

static nfsstat4 ns_apply_done(struct opx *x)
{
	struct ns_apply *ap = ns_apply_of(x);

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	switch (ap->stage) {
	case 1:
		ns_bitmap_set(ap->set, FATTR4_SIZE);
		break;
	case 2:
		if (attr_mask_has(&ap->as->mask, FATTR4_OWNER))
			ns_bitmap_set(ap->set, FATTR4_OWNER);
		if (attr_mask_has(&ap->as->mask, FATTR4_OWNER_GROUP))
			ns_bitmap_set(ap->set, FATTR4_OWNER_GROUP);
		break;
	case 3:
		ns_bitmap_set(ap->set, FATTR4_MODE);
		break;
	case 4:
		if (attr_mask_has(&ap->as->mask, FATTR4_TIME_ACCESS_SET))
			ns_bitmap_set(ap->set, FATTR4_TIME_ACCESS_SET);
		if (attr_mask_has(&ap->as->mask, FATTR4_TIME_MODIFY_SET))
			ns_bitmap_set(ap->set, FATTR4_TIME_MODIFY_SET);
		break;
	}
	return ns_apply_next(x);
}

static nfsstat4 ns_apply_truncate(struct opx *x)
{
	struct ns_apply *ap = ns_apply_of(x);

	stor_prep_ftruncate(&x->sr, x->data_fd, ap->as->size);
	return opx_submit(x, ns_apply_done);
}

static nfsstat4 ns_apply_next(struct opx *x)
{
	struct ns_apply *ap = ns_apply_of(x);
	const struct attr_set *as = ap->as;
	bool a_set, m_set;

	switch (ap->stage++) {
	case 0:
		if (!attr_mask_has(&as->mask, FATTR4_SIZE))
			return ns_apply_next(x);
		/* RFC 8881 §18.30.4: size of a non-file is INVAL (a directory: ISDIR). */
		if (S_ISDIR(x->stx.stx_mode))
			return NFS4ERR_ISDIR;
		if (!S_ISREG(x->stx.stx_mode))
			return NFS4ERR_INVAL;
		if (as->size > (uint64_t)INT64_MAX)
			return NFS4ERR_FBIG;
		/* Truncating needs write permission, with the owner override knfsd applies
		 * (a program truncating the 0444 file it has open for writing). */
		if (!obj_may(&x->cred, &x->stx, W_OK) && x->cred.uid != x->stx.stx_uid)
			return NFS4ERR_ACCESS;
		return opx_data_fd(x, true, ns_apply_truncate);
	case 1:
		if (!attr_mask_has(&as->mask, FATTR4_OWNER) &&
		    !attr_mask_has(&as->mask, FATTR4_OWNER_GROUP))
			return ns_apply_next(x);
		stor_prep_fchown(&x->sr, x->obj.fd,
				 attr_mask_has(&as->mask, FATTR4_OWNER) ? (uid_t)as->uid : (uid_t)-1,
				 attr_mask_has(&as->mask, FATTR4_OWNER_GROUP) ? (gid_t)as->gid
									      : (gid_t)-1);
		x->sr.cred = &x->cred;
		return opx_submit(x, ns_apply_done);
	case 2:
		if (!attr_mask_has(&as->mask, FATTR4_MODE))
			return ns_apply_next(x);
		/* a symlink's mode cannot be changed on Linux (and means nothing): accept it as
		 * knfsd does, without a call */
		if (S_ISLNK(x->stx.stx_mode)) {
			ns_bitmap_set(ap->set, FATTR4_MODE);
			return ns_apply_next(x);
		}
		stor_prep_fchmod(&x->sr, x->obj.fd, (mode_t)(as->mode & 07777));
		x->sr.cred = &x->cred;
		return opx_submit(x, ns_apply_done);
	case 3:
		a_set = attr_mask_has(&as->mask, FATTR4_TIME_ACCESS_SET);
		m_set = attr_mask_has(&as->mask, FATTR4_TIME_MODIFY_SET);
		if (!a_set && !m_set)
			return ns_apply_next(x);
		ap->ts[0].tv_sec = ap->ts[1].tv_sec = 0;
		ap->ts[0].tv_nsec = ap->ts[1].tv_nsec = UTIME_OMIT;
		if (a_set) {
			if (as->atime_how == SET_TO_CLIENT_TIME4)
				ap->ts[0] = as->atime;
			else
				ap->ts[0].tv_nsec = UTIME_NOW;
		}
		if (m_set) {
			if (as->mtime_how == SET_TO_CLIENT_TIME4)
				ap->ts[1] = as->mtime;
			else
				ap->ts[1].tv_nsec = UTIME_NOW;
		}
		stor_prep_utimensat(&x->sr, x->obj.fd, NULL, ap->ts, AT_SYMLINK_NOFOLLOW);
		x->sr.cred = &x->cred;
		return opx_submit(x, ns_apply_done);
	default:
		return ap->then(x);
	}
}

nfsstat4 ns_apply_attrs(struct opx *x, struct ns_apply *ap, const struct attr_set *as,
			bitmap4 *set, opx_step then)
{
	ap->as = as;
	ap->set = set;
	ap->then = then;
	ap->stage = 0;
	return ns_apply_next(x);
}

nfsstat4 ns_decode_attrs(struct opx *x, const fattr4 *in, unsigned int flags,
			 struct attr_set *out)
{
	const char *dom = x->srv->cfg->owner_domain;
	struct idmap *m = x->srv->idmap; /* "alice@domain" -> alice's uid; NULL: numeric only */

	return attr_decode_set(in, dom && *dom ? dom : NULL, m ? idmap_attr_idparse : NULL, m,
			       x->c->minor, flags, out);
}

/* ---- SETATTR ------------------------------------------------------------------------------ */

struct setattr_ctx {
	struct ns_apply *ap; /* first: ns_apply_of() */
	struct ns_apply apply;
	struct attr_set as;
};

static nfsstat4 setattr_applied(struct opx *x)
{
	(void)x;
	return NFS4_OK;
}

static nfsstat4 setattr_statted(struct opx *x)
{
	struct setattr_ctx *sc = x->priv;

	if (!x->obj.exp || x->obj.exp->cfg->access != CONFIG_ACCESS_RW)
		return NFS4ERR_ROFS;
	return ns_apply_attrs(x, &sc->apply, &sc->as,
			      &x->res->nfs_resop4_u.opsetattr.attrsset, setattr_applied);
}

/* RFC 8881 §18.30 / RFC 7530 §16.32 SETATTR. */
static nfsstat4 op_setattr(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SETATTR4args *a = &arg->nfs_argop4_u.opsetattr;
	struct opx *x = opx_new(c, arg, res);
	struct setattr_ctx *sc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	/* attrsset is in the reply whatever the status: an empty bitmap until something is set */
	if (!ns_bitmap(c, &res->nfs_resop4_u.opsetattr.attrsset))
		return NFS4ERR_SERVERFAULT;
	sc = compound_alloc(c, sizeof(*sc));
	if (!sc)
		return NFS4ERR_SERVERFAULT;
	memset(sc, 0, sizeof(*sc));
	sc->ap = &sc->apply;
	x->priv = sc;
	if (!c->cfh.set)
		return NFS4ERR_NOFILEHANDLE;
	st = ns_decode_attrs(x, &a->obj_attributes, 0, &sc->as);
	if (st != NFS4_OK)
		return st;
	/* RFC 8881 §10.4.3: other clients cache the attributes under a read delegation */
	st = state_deleg_break(x->req, c->cfh.data, c->cfh.len);
	if (st != NFS4_OK)
		return st;
	/* §18.30.3: the stateid matters for a size change (it is checked like a WRITE's: an
	 * open for writing, or a special stateid that conflicts with no deny). */
	if (attr_mask_has(&sc->as.mask, FATTR4_SIZE)) {
		stateid4 sid;

		st = state_stateid_arg(c, &a->stateid, &sid);
		if (st == NFS4_OK)
			st = state_check_io(x->req, &sid, c->cfh.data, c->cfh.len, true);
		if (st != NFS4_OK)
			return st;
	}
	return opx_resolve_stat(x, setattr_statted);
}

/* ---- CREATE ------------------------------------------------------------------------------- */

struct create_ctx {
	struct ns_apply *ap; /* first: ns_apply_of() */
	struct ns_apply apply;
	struct attr_set as;
	struct attr_set rest; /* what is applied after the create (owner, group, times) */
	const char *name;
	const char *target; /* symlinks */
	int dirfd;
	uint8_t fh[FH_MAX_SIZE];
	uint32_t fh_len;
};

static nfsstat4 create_applied(struct opx *x)
{
	struct create_ctx *cc = x->priv;
	CREATE4resok *ok = &x->res->nfs_resop4_u.opcreate.CREATE4res_u.resok4;

	ok->cinfo.after = obj_change_now(cc->dirfd);
	opx_set_fh(x->c, cc->fh, cc->fh_len);
	return NFS4_OK;
}

static nfsstat4 create_opened(struct opx *x)
{
	struct create_ctx *cc = x->priv;
	CREATE4resok *ok = &x->res->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	const struct export_rt *e = x->obj.exp;
	int fd = x->sr.res, ret;
	nfsstat4 st;

	if (fd < 0)
		return nfs_errno_to_status(fd);
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &x->stx) < 0) {
		ret = -errno;
		close(fd);
		return nfs_errno_to_status(ret);
	}
	fd = obj_adopt(x->c, x->srv, e, fd, cc->fh, &cc->fh_len);
	if (fd < 0)
		return nfs_errno_to_status(fd);
	st = ns_become(x, fd, cc->fh, cc->fh_len);
	if (st != NFS4_OK)
		return st;
	/* the mode went with the create call */
	if (attr_mask_has(&cc->as.mask, FATTR4_MODE))
		ns_bitmap_set(&ok->attrset, FATTR4_MODE);
	return ns_apply_attrs(x, &cc->apply, &cc->rest, &ok->attrset, create_applied);
}

static nfsstat4 create_made(struct opx *x)
{
	struct create_ctx *cc = x->priv;

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	stor_prep_openat(&x->sr, cc->dirfd, cc->name, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, create_opened);
}

static nfsstat4 create_statted(struct opx *x)
{
	const CREATE4args *a = &x->arg->nfs_argop4_u.opcreate;
	CREATE4resok *ok = &x->res->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	struct create_ctx *cc = x->priv;
	/* knfsd's default when the client gives no mode */
	mode_t mode = attr_mask_has(&cc->as.mask, FATTR4_MODE) ? (mode_t)(cc->as.mode & 07777) : 0;
	nfsstat4 st = ns_dir_writable(x);

	if (st != NFS4_OK)
		return st;
	cc->dirfd = x->obj.fd;
	ok->cinfo.atomic = FALSE;
	ok->cinfo.before = attr_change_from_statx(&x->stx);
	switch (a->objtype.type) {
	case NF4DIR:
		stor_prep_mkdirat(&x->sr, cc->dirfd, cc->name, mode);
		break;
	case NF4LNK:
		stor_prep_symlinkat(&x->sr, cc->target, cc->dirfd, cc->name);
		break;
	case NF4BLK:
	case NF4CHR:
		stor_prep_mknodat(&x->sr, cc->dirfd, cc->name,
				  mode | (a->objtype.type == NF4BLK ? S_IFBLK : S_IFCHR),
				  makedev(a->objtype.createtype4_u.devdata.specdata1,
					  a->objtype.createtype4_u.devdata.specdata2));
		break;
	case NF4SOCK:
		stor_prep_mknodat(&x->sr, cc->dirfd, cc->name, mode | S_IFSOCK, 0);
		break;
	case NF4FIFO:
		stor_prep_mknodat(&x->sr, cc->dirfd, cc->name, mode | S_IFIFO, 0);
		break;
	default:
		return NFS4ERR_BADTYPE;
	}
	x->sr.cred = &x->cred;
	return opx_submit(x, create_made);
}

/* RFC 8881 §18.4 / RFC 7530 §16.4 CREATE: directories, symlinks and special files. */
static nfsstat4 op_create(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const CREATE4args *a = &arg->nfs_argop4_u.opcreate;
	CREATE4resok *ok = &res->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	struct opx *x = opx_new(c, arg, res);
	struct create_ctx *cc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	/* §18.4.3: regular files are made by OPEN; a type outside the enum is BADTYPE */
	if (a->objtype.type == NF4REG || a->objtype.type == NF4ATTRDIR ||
	    a->objtype.type == NF4NAMEDATTR)
		return NFS4ERR_BADTYPE;
	if (a->objtype.type < NF4REG || a->objtype.type > NF4NAMEDATTR)
		return NFS4ERR_BADTYPE;
	cc = compound_alloc(c, sizeof(*cc));
	if (!cc || !ns_bitmap(c, &ok->attrset))
		return NFS4ERR_SERVERFAULT;
	memset(cc, 0, sizeof(*cc));
	cc->ap = &cc->apply;
	x->priv = cc;
	st = obj_name(c, &a->objname, &cc->name);
	if (st != NFS4_OK)
		return st;
	if (a->objtype.type == NF4LNK) {
		const linktext4 *t = &a->objtype.createtype4_u.linkdata;
		char *s;

		/* The target is stored as given (the server never follows it); it must be a
		 * string a symlink can hold. */
		if (t->linktext4_len == 0)
			return NFS4ERR_INVAL;
		if (t->linktext4_len >= PATH_MAX)
			return NFS4ERR_NAMETOOLONG;
		if (memchr(t->linktext4_val, 0, t->linktext4_len))
			return NFS4ERR_BADCHAR;
		s = compound_alloc(c, t->linktext4_len + 1);
		if (!s)
			return NFS4ERR_SERVERFAULT;
		memcpy(s, t->linktext4_val, t->linktext4_len);
		s[t->linktext4_len] = 0;
		cc->target = s;
	}
	st = ns_decode_attrs(x, &a->createattrs, 0, &cc->as);
	if (st != NFS4_OK)
		return st;
	/* CREATE with a size is INVAL (§18.4.3: the attributes of a new non-file) */
	if (attr_mask_has(&cc->as.mask, FATTR4_SIZE))
		return NFS4ERR_INVAL;
	cc->rest = cc->as;
	cc->rest.mask.w[FATTR4_MODE / 32] &= ~(1u << (FATTR4_MODE % 32));
	return opx_resolve_stat(x, create_statted);
}

static void ns_forget_if_gone(struct opx *x, int fd);

/* ---- REMOVE ------------------------------------------------------------------------------- */

struct remove_ctx {
	const char *name;
	int *victim;      /* O_PATH fd of what the name named, closed with the compound */
	struct statx vstx;
	int dirfd;
};

/* RFC 8881 §10.2, §10.4.3: a name that goes (REMOVE, RENAME over it) changes the file's
 * link count: other clients' read delegations of a regular file fd are recalled first. */
static nfsstat4 ns_deleg_break(struct opx *x, int fd)
{
	uint8_t fh[FH_MAX_SIZE];
	size_t len = sizeof(fh);

	if (fh_encode(x->obj.exp->cfg->id, fd, NULL, fh, &len) != 0)
		return NFS4_OK; /* no handle: no state can name it */
	return state_deleg_break(x->req, fh, (uint32_t)len);
}

static nfsstat4 remove_done(struct opx *x)
{
	struct remove_ctx *rc = x->priv;
	REMOVE4resok *ok = &x->res->nfs_resop4_u.opremove.REMOVE4res_u.resok4;

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	ok->cinfo.after = obj_change_now(rc->dirfd);
	ns_forget_if_gone(x, *rc->victim);
	return NFS4_OK;
}

static nfsstat4 remove_found(struct opx *x)
{
	struct remove_ctx *rc = x->priv;
	int fd = x->sr.res;
	nfsstat4 st;

	if (fd < 0)
		return nfs_errno_to_status(fd);
	*rc->victim = fd;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE, &rc->vstx) < 0)
		return nfs_errno_to_status(-errno);
	st = ns_deleg_break(x, fd);
	if (st != NFS4_OK)
		return st;
	/* RFC 8881 §18.25: REMOVE takes files and (empty) directories alike. */
	stor_prep_unlinkat(&x->sr, rc->dirfd, rc->name,
			   S_ISDIR(rc->vstx.stx_mode) ? AT_REMOVEDIR : 0);
	x->sr.cred = &x->cred;
	return opx_submit(x, remove_done);
}

static nfsstat4 remove_statted(struct opx *x)
{
	struct remove_ctx *rc = x->priv;
	REMOVE4resok *ok = &x->res->nfs_resop4_u.opremove.REMOVE4res_u.resok4;
	nfsstat4 st = ns_dir_writable(x);

	if (st != NFS4_OK)
		return st;
	rc->dirfd = x->obj.fd;
	ok->cinfo.atomic = FALSE;
	ok->cinfo.before = attr_change_from_statx(&x->stx);
	stor_prep_openat(&x->sr, rc->dirfd, rc->name, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, remove_found);
}

/* RFC 8881 §8.4.2, RFC 7530 §9.6.2: in the grace period a REMOVE or RENAME could take away
 * the name of a file whose open or lock a client is about to reclaim; knfsd refuses them
 * with NFS4ERR_GRACE then, and so does sluice. */
static bool ns_in_grace(struct compound *c)
{
	struct nfs_state *s = req_of(c)->state;

	return s && state_in_grace(s);
}

/* RFC 8881 §18.25 / RFC 7530 §16.27 REMOVE. */
static nfsstat4 op_remove(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x;
	struct remove_ctx *rc;
	nfsstat4 st;

	if (ns_in_grace(c))
		return NFS4ERR_GRACE;
	x = opx_new(c, arg, res);
	if (!x)
		return NFS4ERR_SERVERFAULT;
	rc = compound_alloc(c, sizeof(*rc));
	if (!rc)
		return NFS4ERR_SERVERFAULT;
	memset(rc, 0, sizeof(*rc));
	rc->victim = ns_fd_slot(c);
	if (!rc->victim)
		return NFS4ERR_SERVERFAULT;
	x->priv = rc;
	st = obj_name(c, &arg->nfs_argop4_u.opremove.target, &rc->name);
	if (st != NFS4_OK)
		return st;
	return opx_resolve_stat(x, remove_statted);
}

/* ---- RENAME and LINK: two objects ----------------------------------------------------------- */

struct two_ctx {
	struct nfs_obj src;    /* saved FH: RENAME's source directory, LINK's object */
	struct statx src_stx;
	const char *oldname, *newname;
	int *victim;           /* RENAME: what newname named before, if anything */
	opx_step statted;      /* the op's step once both objects are statted */
	char proc[STOR_FD_PATH_MAX]; /* LINK: /proc/self/fd/N of the source */
};

/* Let go of the cached fds of an object whose last name just went away (REMOVE, or a RENAME
 * over it): they would keep its blocks allocated (df, ENOSPC) until the cache evicts them. */
static void ns_forget_if_gone(struct opx *x, int fd)
{
	struct statx after;
	uint8_t fh[FH_MAX_SIZE];
	size_t len = sizeof(fh);

	if (fd < 0 || statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_NLINK, &after) < 0 ||
	    after.stx_nlink != 0)
		return;
	if (fh_encode(x->obj.exp->cfg->id, fd, NULL, fh, &len) == 0)
		obj_forget(x->srv, fh, (uint32_t)len);
}

/* Both objects are resolved and statted: one export, and a writable one. */
static nfsstat4 two_check(struct opx *x)
{
	struct two_ctx *tc = x->priv;

	if (tc->src.exp != x->obj.exp)
		return NFS4ERR_XDEV;
	return ns_dir_writable(x);
}

static nfsstat4 two_src_statted(struct opx *x)
{
	struct two_ctx *tc = x->priv;

	if (x->sr.res < 0)
		return x->sr.res == -ENOENT ? NFS4ERR_STALE : nfs_errno_to_status(x->sr.res);
	return tc->statted(x);
}

static nfsstat4 two_src_resolved(struct opx *x)
{
	struct two_ctx *tc = x->priv;

	if (!tc->src.exp) {
		obj_pseudo_statx(x->srv, tc->src.pnode, &tc->src_stx);
		return tc->statted(x);
	}
	stor_prep_statx(&x->sr, tc->src.fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
			STATX_BASIC_STATS, &tc->src_stx);
	return opx_submit(x, two_src_statted);
}

static nfsstat4 two_cur_statted(struct opx *x)
{
	struct two_ctx *tc = x->priv;

	return opx_resolve_saved(x, &tc->src, two_src_resolved);
}

/* The current FH (the target directory) is resolved and statted first, then the saved FH. */
static nfsstat4 two_start(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res,
			  const component4 *oldname, const component4 *newname, opx_step statted)
{
	struct opx *x = opx_new(c, arg, res);
	struct two_ctx *tc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	tc = compound_alloc(c, sizeof(*tc));
	if (!tc)
		return NFS4ERR_SERVERFAULT;
	memset(tc, 0, sizeof(*tc));
	tc->victim = ns_fd_slot(c);
	if (!tc->victim)
		return NFS4ERR_SERVERFAULT;
	tc->statted = statted;
	x->priv = tc;
	if (!c->sfh.set || !c->cfh.set)
		return NFS4ERR_NOFILEHANDLE;
	if (oldname) {
		st = obj_name(c, oldname, &tc->oldname);
		if (st != NFS4_OK)
			return st;
	}
	st = obj_name(c, newname, &tc->newname);
	if (st != NFS4_OK)
		return st;
	return opx_resolve_stat(x, two_cur_statted);
}

static nfsstat4 rename_done(struct opx *x)
{
	struct two_ctx *tc = x->priv;
	RENAME4resok *ok = &x->res->nfs_resop4_u.oprename.RENAME4res_u.resok4;

	/* RFC 8881 §18.26.3: a target of the other type is EXIST. Both directories were
	 * checked and the names are single components, so rename(2)'s EISDIR and ENOTDIR
	 * can only mean that (knfsd's nfsd4_rename maps them the same way). */
	if (x->sr.res == -EISDIR || x->sr.res == -ENOTDIR)
		return NFS4ERR_EXIST;
	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	ok->source_cinfo.after = obj_change_now(tc->src.fd);
	ok->target_cinfo.after = obj_change_now(x->obj.fd);
	ns_forget_if_gone(x, *tc->victim);
	return NFS4_OK;
}

static nfsstat4 rename_victim(struct opx *x)
{
	struct two_ctx *tc = x->priv;

	if (x->sr.res >= 0) {
		nfsstat4 st;

		*tc->victim = x->sr.res;
		st = ns_deleg_break(x, *tc->victim);
		if (st != NFS4_OK)
			return st;
	} else if (x->sr.res != -ENOENT) {
		return nfs_errno_to_status(x->sr.res);
	}
	stor_prep_renameat(&x->sr, tc->src.fd, tc->oldname, x->obj.fd, tc->newname, 0);
	x->sr.cred = &x->cred;
	return opx_submit(x, rename_done);
}

static nfsstat4 rename_statted(struct opx *x)
{
	struct two_ctx *tc = x->priv;
	RENAME4resok *ok = &x->res->nfs_resop4_u.oprename.RENAME4res_u.resok4;
	nfsstat4 st = two_check(x);

	if (st != NFS4_OK)
		return st;
	if (!S_ISDIR(tc->src_stx.stx_mode))
		return NFS4ERR_NOTDIR;
	ok->source_cinfo.atomic = ok->target_cinfo.atomic = FALSE;
	ok->source_cinfo.before = attr_change_from_statx(&tc->src_stx);
	ok->target_cinfo.before = attr_change_from_statx(&x->stx);
	/* what the new name names now, to let go of it if the rename replaces it */
	stor_prep_openat(&x->sr, x->obj.fd, tc->newname, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, rename_victim);
}

/* RFC 8881 §18.26 / RFC 7530 §16.28 RENAME: saved FH the source directory, current FH the
 * target directory. Over an existing target, across directories, as rename(2) (which also
 * makes a rename of one hard link onto another of the same file a successful no-op, as
 * §18.26.3 asks). */
static nfsstat4 op_rename(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const RENAME4args *a = &arg->nfs_argop4_u.oprename;

	if (ns_in_grace(c))
		return NFS4ERR_GRACE;
	return two_start(c, arg, res, &a->oldname, &a->newname, rename_statted);
}

static nfsstat4 link_done(struct opx *x)
{
	LINK4resok *ok = &x->res->nfs_resop4_u.oplink.LINK4res_u.resok4;

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	ok->cinfo.after = obj_change_now(x->obj.fd);
	return NFS4_OK;
}

static nfsstat4 link_statted(struct opx *x)
{
	struct two_ctx *tc = x->priv;
	LINK4resok *ok = &x->res->nfs_resop4_u.oplink.LINK4res_u.resok4;
	nfsstat4 st = two_check(x);

	if (st != NFS4_OK)
		return st;
	/* §18.9.3: no hard links to directories */
	if (S_ISDIR(tc->src_stx.stx_mode) || tc->src.is_root)
		return NFS4ERR_ISDIR;
	ok->cinfo.atomic = FALSE;
	ok->cinfo.before = attr_change_from_statx(&x->stx);
	/* linkat(fd, "", AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH, which the caller's identity
	 * does not have; the /proc name of the O_PATH fd reaches the same inode (symlinks
	 * included: the magic link is not followed further) with the checks a local link(2)
	 * gets, protected_hardlinks among them. */
	stor_prep_linkat(&x->sr, AT_FDCWD, stor_fd_path(tc->proc, tc->src.fd), x->obj.fd,
			 tc->newname, AT_SYMLINK_FOLLOW);
	x->sr.cred = &x->cred;
	return opx_submit(x, link_done);
}

/* RFC 8881 §18.9 / RFC 7530 §16.9 LINK: saved FH the object, current FH the directory. */
static nfsstat4 op_link(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	return two_start(c, arg, res, NULL, &arg->nfs_argop4_u.oplink.newname, link_statted);
}

void nfs4_ns_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_SETATTR, op_setattr);
	optable_set_handler(t, OP_CREATE, op_create);
	optable_set_handler(t, OP_REMOVE, op_remove);
	optable_set_handler(t, OP_RENAME, op_rename);
	optable_set_handler(t, OP_LINK, op_link);
}

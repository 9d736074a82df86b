/*
 * Ops on the current filehandle itself: setting and saving it (PUTROOTFH, PUTPUBFH, PUTFH,
 * GETFH, SAVEFH, RESTOREFH), its attributes (GETATTR, VERIFY, NVERIFY, ACCESS) and the
 * security flavors (SECINFO_NO_NAME).
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "errmap.h"
#include "log.h"
#include "object.h"

/* RFC 8881 §18.24 PUTROOTFH: the root of the pseudo file system (or the export that is it). */
static nfsstat4 op_putrootfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct server *srv = req_of(c)->lp->srv;
	uint8_t fh[FH_MAX_SIZE];
	uint32_t len;

	(void)arg;
	(void)res;
	obj_handle_of_node(srv, config_pseudo_root(srv->cfg), fh, &len);
	opx_set_fh(c, fh, len);
	return NFS4_OK;
}

/* RFC 8881 §18.20 PUTPUBFH: no public filehandle is configured, so it is the root filehandle
 * (§18.20.3 allows that; knfsd does the same). */
static nfsstat4 op_putpubfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	return op_putrootfh(c, arg, res);
}

/* RFC 8881 §18.19 PUTFH. The handle's format is checked here (BADHANDLE); whether its object
 * still exists is found out by the op that uses it (STALE), as §18.19.3 allows. */
static nfsstat4 op_putfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const nfs_fh4 *fh = &arg->nfs_argop4_u.opputfh.object;
	struct fh_kernel kh;
	uint32_t id;

	(void)res;
	if (fh_decode(fh->nfs_fh4_val, fh->nfs_fh4_len, &id, &kh) < 0) {
		log_debug("PUTFH: malformed handle of %u bytes", fh->nfs_fh4_len);
		return NFS4ERR_BADHANDLE;
	}
	opx_set_fh(c, (const uint8_t *)fh->nfs_fh4_val, fh->nfs_fh4_len);
	return NFS4_OK;
}

/* RFC 8881 §18.8 GETFH. */
static nfsstat4 op_getfh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	GETFH4resok *ok = &res->nfs_resop4_u.opgetfh.GETFH4res_u.resok4;
	char *copy = compound_alloc(c, c->cfh.len);

	(void)arg;
	if (!copy)
		return NFS4ERR_SERVERFAULT;
	memcpy(copy, c->cfh.data, c->cfh.len);
	ok->object.nfs_fh4_len = c->cfh.len;
	ok->object.nfs_fh4_val = copy;
	return NFS4_OK;
}

/* RFC 8881 §18.27 SAVEFH; the current stateid is saved with it (§16.2.3.1.2). */
static nfsstat4 op_savefh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)arg;
	(void)res;
	c->sfh = c->cfh;
	c->saved_stateid = c->cur_stateid;
	c->saved_stateid_set = c->cur_stateid_set;
	return NFS4_OK;
}

/* RFC 8881 §18.26 RESTOREFH: without a saved filehandle, RESTOREFH (RFC 7530 §16.27.4) /
 * NOFILEHANDLE (RFC 8881 §18.26.3). */
static nfsstat4 op_restorefh(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)arg;
	(void)res;
	if (!c->sfh.set)
		return c->minor == 0 ? NFS4ERR_RESTOREFH : NFS4ERR_NOFILEHANDLE;
	c->cfh = c->sfh;
	c->cur_stateid = c->saved_stateid;
	c->cur_stateid_set = c->saved_stateid_set;
	return NFS4_OK;
}

/* ---- GETATTR, VERIFY, NVERIFY ------------------------------------------------------------- */

#define ATTR_BUF 4096 /* one object's attributes: fixed-size ones plus two owner strings */

static nfsstat4 getattr_encode(struct opx *x)
{
	const bitmap4 *req = &x->arg->nfs_argop4_u.opgetattr.attr_request;
	fattr4 *out = &x->res->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes;
	struct attr_src src;
	uint32_t *words = compound_alloc(x->c, ATTR_WORDS * sizeof(uint32_t));
	uint8_t *buf = compound_alloc(x->c, ATTR_BUF);
	int n;

	if (!words || !buf)
		return NFS4ERR_SERVERFAULT;
	obj_attr_src(x, &x->obj, &x->stx, x->obj.fh, x->obj.fh_len, &src);
	out->attrmask.bitmap4_val = words;
	n = attr_encode(&src, req, out, buf, ATTR_BUF);
	if (n == -EINVAL)
		return NFS4ERR_INVAL; /* RFC 8881 §18.7.3: a write-only attribute was asked for */
	if (n < 0) {
		log_error("GETATTR: attribute encoding failed: %s", strerror(-n));
		return NFS4ERR_SERVERFAULT;
	}
	return NFS4_OK;
}

static nfsstat4 getattr_stat(struct opx *x)
{
	return x->attrs_cached ? getattr_encode(x) : opx_stat(x, getattr_encode);
}

/* RFC 8881 §18.7 GETATTR. A handle READDIR just listed is answered from the attributes it
 * read, while nothing may have changed them (object.h, obj_attr_cached). */
static nfsstat4 op_getattr(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	if (!x)
		return NFS4ERR_SERVERFAULT;
	x->attrs_only = true;
	return opx_resolve(x, getattr_stat);
}

static nfsstat4 verify_compare(struct opx *x, const fattr4 *given, bool want_same)
{
	struct attr_src src;
	int r;

	obj_attr_src(x, &x->obj, &x->stx, x->obj.fh, x->obj.fh_len, &src);
	r = attr_verify(&src, given);
	switch (r) {
	case 0:
		return want_same ? NFS4_OK : NFS4ERR_SAME;
	case 1:
		return want_same ? NFS4ERR_NOT_SAME : NFS4_OK;
	case ATTR_ENOTSUPP:
		return NFS4ERR_ATTRNOTSUPP;
	case ATTR_EINVAL:
		return NFS4ERR_INVAL;
	case ATTR_EBADXDR:
		return NFS4ERR_BADXDR;
	default:
		return NFS4ERR_SERVERFAULT;
	}
}

static nfsstat4 verify_step(struct opx *x)
{
	return verify_compare(x, &x->arg->nfs_argop4_u.opverify.obj_attributes, true);
}

static nfsstat4 nverify_step(struct opx *x)
{
	return verify_compare(x, &x->arg->nfs_argop4_u.opnverify.obj_attributes, false);
}

static nfsstat4 verify_stat(struct opx *x)
{
	return opx_stat(x, verify_step);
}

static nfsstat4 nverify_stat(struct opx *x)
{
	return opx_stat(x, nverify_step);
}

/* RFC 8881 §18.31 VERIFY: NOT_SAME unless every given attribute equals ours. */
static nfsstat4 op_verify(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	return x ? opx_resolve(x, verify_stat) : NFS4ERR_SERVERFAULT;
}

/* RFC 8881 §18.15 NVERIFY: SAME when every given attribute equals ours. */
static nfsstat4 op_nverify(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	return x ? opx_resolve(x, nverify_stat) : NFS4ERR_SERVERFAULT;
}

/* ---- ACCESS ------------------------------------------------------------------------------- */

static nfsstat4 access_result(struct opx *x)
{
	uint32_t want = x->arg->nfs_argop4_u.opaccess.access;
	ACCESS4resok *ok = &x->res->nfs_resop4_u.opaccess.ACCESS4res_u.resok4;
	const struct statx *stx = &x->stx;
	bool dir = S_ISDIR(stx->stx_mode);
	bool writable_fs = x->obj.exp && x->obj.exp->cfg->access == CONFIG_ACCESS_RW;
	uint32_t supported, allowed = 0;

	/* RFC 8881 §18.1.3: "supported" is what the server can tell; DELETE only has a meaning
	 * for directories and EXECUTE only for non-directories (as knfsd). The extended-
	 * attribute bits of RFC 8276 are not supported (no xattr ops). */
	supported = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND;
	supported |= dir ? ACCESS4_DELETE : ACCESS4_EXECUTE;
	supported &= want;

	if (x->allowed & R_OK)
		allowed |= ACCESS4_READ;
	if (dir && (x->allowed & X_OK))
		allowed |= ACCESS4_LOOKUP;
	if (!dir && (x->allowed & X_OK))
		allowed |= ACCESS4_EXECUTE;
	/* changing a directory's entries takes write and search permission on it */
	if (writable_fs && (x->allowed & W_OK) && (!dir || (x->allowed & X_OK)))
		allowed |= ACCESS4_MODIFY | ACCESS4_EXTEND | (dir ? ACCESS4_DELETE : 0);
	ok->supported = supported;
	ok->access = allowed & supported;
	return NFS4_OK;
}

/* What the caller can really do: the kernel is asked as the caller (opx_access), so the
 * answer includes POSIX ACLs, as a local access(2) would. */
static nfsstat4 access_check(struct opx *x)
{
	return opx_access(x, R_OK | W_OK | X_OK, access_result);
}

static nfsstat4 access_stat(struct opx *x)
{
	return opx_stat(x, access_check);
}

/* RFC 8881 §18.1 ACCESS. */
static nfsstat4 op_access(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	return x ? opx_resolve(x, access_stat) : NFS4ERR_SERVERFAULT;
}

/* ---- SECINFO_NO_NAME ---------------------------------------------------------------------- */

nfsstat4 nfs4_secinfo_result(struct compound *c, SECINFO4res *r)
{
	secinfo4 *v = compound_alloc(c, 2 * sizeof(*v));

	if (!v)
		return NFS4ERR_SERVERFAULT;
	memset(v, 0, 2 * sizeof(*v));
	v[0].flavor = AUTH_SYS;
	v[1].flavor = AUTH_NONE;
	r->SECINFO4res_u.resok4.SECINFO4resok_len = 2;
	r->SECINFO4res_u.resok4.SECINFO4resok_val = v;
	/* §18.29.3 / §18.45.3: on success the current filehandle is consumed. */
	c->cfh.set = false;
	return NFS4_OK;
}

/* RFC 8881 §18.45 SECINFO_NO_NAME: the flavors of the current FH's object, or of its parent
 * (SECINFO_STYLE4_PARENT, NOENT at the root of the pseudo fs). All objects share them. */
static nfsstat4 op_secinfo_no_name(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct server *srv = req_of(c)->lp->srv;
	uint8_t root[FH_MAX_SIZE];
	uint32_t root_len;

	if (arg->nfs_argop4_u.opsecinfo_no_name == SECINFO_STYLE4_PARENT) {
		obj_handle_of_node(srv, config_pseudo_root(srv->cfg), root, &root_len);
		if (c->cfh.len == root_len && memcmp(c->cfh.data, root, root_len) == 0)
			return NFS4ERR_NOENT;
	} else if (arg->nfs_argop4_u.opsecinfo_no_name != SECINFO_STYLE4_CURRENT_FH) {
		return NFS4ERR_INVAL;
	}
	return nfs4_secinfo_result(c, &res->nfs_resop4_u.opsecinfo_no_name);
}

void nfs4_fh_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_PUTROOTFH, op_putrootfh);
	optable_set_handler(t, OP_PUTPUBFH, op_putpubfh);
	optable_set_handler(t, OP_PUTFH, op_putfh);
	optable_set_handler(t, OP_GETFH, op_getfh);
	optable_set_handler(t, OP_SAVEFH, op_savefh);
	optable_set_handler(t, OP_RESTOREFH, op_restorefh);
	optable_set_handler(t, OP_GETATTR, op_getattr);
	optable_set_handler(t, OP_VERIFY, op_verify);
	optable_set_handler(t, OP_NVERIFY, op_nverify);
	optable_set_handler(t, OP_ACCESS, op_access);
	optable_set_handler(t, OP_SECINFO_NO_NAME, op_secinfo_no_name);
}

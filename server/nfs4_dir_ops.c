/*
 * Directory ops: LOOKUP, LOOKUPP, SECINFO and READDIR, in the pseudo file system and in
 * exports.
 *
 * READDIR cookies are the file system's own directory offsets (getdents64 d_off): on ext4
 * and xfs they are hash positions that stay valid while the directory changes, so a client
 * walking a 100,000-entry directory in many calls sees every entry once. The cookie
 * verifier is always zero: there is nothing a cookie could go stale against (RFC 8881
 * §18.23.3 lets the server choose). In the pseudo fs a cookie is the child's position + 3.
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attr.h"
#include "errmap.h"
#include "fdcache.h"
#include "log.h"
#include "object.h"

/* ---- LOOKUP / LOOKUPP --------------------------------------------------------------------- */

/* A new object opened by name as an O_PATH fd (the storage request's result): make its handle
 * the current FH and keep the fd in the cache for the ops that follow. */
static nfsstat4 lookup_opened(struct opx *x)
{
	int fd = x->sr.res;
	uint8_t fh[FH_MAX_SIZE];
	size_t len = sizeof(fh);
	int ret;

	if (fd < 0) {
		if (fd == -ENOTDIR) {
			struct stat st;

			/* RFC 8881 §18.13.3: a symlink is SYMLINK, anything else NOTDIR */
			if (fstatat(x->obj.fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				return NFS4ERR_SYMLINK;
			return NFS4ERR_NOTDIR;
		}
		return nfs_errno_to_status(fd);
	}
	ret = fh_encode(x->obj.exp->cfg->id, fd, NULL, fh, &len);
	if (ret < 0) {
		close(fd);
		log_warn("LOOKUP: no handle for an object of export %u: %s", x->obj.exp->cfg->id,
			 strerror(-ret));
		return ret == -EOPNOTSUPP || ret == -EOVERFLOW ? NFS4ERR_NOTSUPP
							       : nfs_errno_to_status(ret);
	}
	/* The root directory seen from below (LOOKUPP) keeps the export's own root handle; the
	 * kernel gives the same handle for the same inode, so nothing special is needed. */
	if (obj_fd_insert(x->c, x->srv, fh, (uint32_t)len, 'p', fd) < 0)
		log_debug("LOOKUP: fd not cached");
	opx_set_fh(x->c, fh, (uint32_t)len);
	return NFS4_OK;
}

static nfsstat4 lookup_search(struct opx *x);

static nfsstat4 lookup_open(struct opx *x)
{
	if (!S_ISDIR(x->stx.stx_mode))
		return S_ISLNK(x->stx.stx_mode) ? NFS4ERR_SYMLINK : NFS4ERR_NOTDIR;
	/* RFC 8881 §18.13: searching a directory takes execute permission on it, as a local
	 * path walk does (asked of the kernel as the caller: ACLs count) */
	return opx_access(x, X_OK, lookup_search);
}

static nfsstat4 lookup_search(struct opx *x)
{
	const char *name = x->priv;

	if (!(x->allowed & X_OK))
		return NFS4ERR_ACCESS;
	stor_prep_openat(&x->sr, x->obj.fd, name, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, lookup_opened);
}

static nfsstat4 lookup_step(struct opx *x)
{
	const char *name = x->priv;
	uint8_t fh[FH_MAX_SIZE];
	uint32_t len;

	if (!x->obj.exp) {
		const struct pseudo_node *n = pseudo_lookup(x->obj.pnode, name);

		if (!n)
			return NFS4ERR_NOENT;
		obj_handle_of_node(x->srv, n, fh, &len);
		opx_set_fh(x->c, fh, len);
		return NFS4_OK;
	}
	/* Root searches every directory (the VFS's CAP_DAC_READ_SEARCH); anyone else is
	 * checked against the directory's mode first. */
	if (x->cred.uid != 0)
		return opx_stat(x, lookup_open);
	stor_prep_openat(&x->sr, x->obj.fd, name, O_PATH | O_NOFOLLOW, 0);
	return opx_submit(x, lookup_opened);
}

/* RFC 8881 §18.13 LOOKUP. */
static nfsstat4 op_lookup(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);
	const char *name;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	st = obj_name(c, &arg->nfs_argop4_u.oplookup.objname, &name);
	if (st != NFS4_OK)
		return st;
	x->priv = (void *)name;
	return opx_resolve(x, lookup_step);
}

static nfsstat4 lookupp_step(struct opx *x)
{
	const struct pseudo_node *parent = NULL;
	uint8_t fh[FH_MAX_SIZE];
	uint32_t len;

	if (!x->obj.exp || x->obj.is_root) {
		/* the pseudo fs, or an export root: its parent is a pseudo directory */
		parent = x->obj.pnode ? x->obj.pnode->parent : NULL;
		if (!parent)
			return NFS4ERR_NOENT; /* §18.14.3: the root has no parent */
		obj_handle_of_node(x->srv, parent, fh, &len);
		opx_set_fh(x->c, fh, len);
		return NFS4_OK;
	}
	stor_prep_openat(&x->sr, x->obj.fd, "..", O_PATH | O_DIRECTORY, 0);
	return opx_submit(x, lookup_opened);
}

/* RFC 8881 §18.14 LOOKUPP. Leaving an export at its root leads into the pseudo fs, never to
 * the directory the export lives in on the server's disk. */
static nfsstat4 op_lookupp(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);

	return x ? opx_resolve(x, lookupp_step) : NFS4ERR_SERVERFAULT;
}

/* ---- SECINFO ------------------------------------------------------------------------------ */

static nfsstat4 secinfo_found(struct opx *x)
{
	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	return nfs4_secinfo_result(x->c, &x->res->nfs_resop4_u.opsecinfo);
}

static nfsstat4 secinfo_step(struct opx *x)
{
	const char *name = x->priv;

	if (!x->obj.exp) {
		if (!pseudo_lookup(x->obj.pnode, name))
			return NFS4ERR_NOENT;
		return nfs4_secinfo_result(x->c, &x->res->nfs_resop4_u.opsecinfo);
	}
	stor_prep_statx(&x->sr, x->obj.fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &x->stx);
	return opx_submit(x, secinfo_found);
}

/* RFC 8881 §18.29 SECINFO: the flavors for the named object (which must exist). */
static nfsstat4 op_secinfo(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = opx_new(c, arg, res);
	const char *name;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	st = obj_name(c, &arg->nfs_argop4_u.opsecinfo.name, &name);
	if (st != NFS4_OK)
		return st;
	x->priv = (void *)name;
	return opx_resolve(x, secinfo_step);
}

/* ---- READDIR ------------------------------------------------------------------------------ */

#define RD_DENTS_MAX (128u * 1024u) /* most bytes per getdents64 call */
#define RD_DENTS_MIN 4096u
#define RD_DENT_GUESS 40u          /* getdents64 bytes per entry: 19 + name, 8-aligned */
/* Entries looked at per batch (getdents, then their statx in parallel parts, then their
 * encoding). A READDIR runs batches until its reply is full: the Linux client asks for up to
 * 1 MiB a call (~3,900 entries with its usual attributes) and fills a 1 MiB getdents buffer of
 * its caller (~32,000 short names) before it returns; the fewer calls that takes, the fresher
 * the attributes are when ls stats the entries (older than acregmin, each costs a GETATTR).
 * The batch's scratch (statx, handles: ~420 B an entry) is reused by the next batch. */
#define RD_MAX_ENTRIES 2048u
/* arena bytes an entry keeps past its share of the reply budget: entry4, attribute mask,
 * getdents bytes, alignment */
#define RD_ENT_KEEP 144u
#define RD_PART_MIN 256u           /* entries per statx job: the batch is split over workers */
#define RD_PARTS_MAX 4u
#define RD_ATTR_SCRATCH 8192u      /* one entry's attributes, before they are copied */
#define RD_ATTR_GUESS 200u         /* usual attribute bytes per entry (Linux client's mask) */
#define RD_RESOK_FIXED 16u         /* cookieverf, end of the list, eof */

struct rd_ent {
	const char *name;
	uint32_t namelen;
	uint64_t cookie; /* d_off: where the listing continues after this entry */
};

struct rd {
	const READDIR4args *a;
	int dirfd;
	size_t budget;    /* bytes for entries */
	size_t est;       /* estimated bytes of the entries gathered */
	struct rd_ent *ents;
	unsigned nents;
	bool end;         /* getdents64 reached the end of the directory */
	uint8_t *dbuf;
	uint8_t *abuf;    /* RD_ATTR_SCRATCH bytes */
	/* the batch's statx and handles: names, results and -errno per entry, handles
	 * (FH_MAX_SIZE apart) and their lengths (STOR_OP_STATX_MANY), in parts run in parallel */
	const char **names;
	struct statx *stx;
	int *res;
	uint8_t *fhs;
	uint32_t *fh_lens;
	uint64_t gen; /* srv->attr_gen before the statx went out (obj_warm_note) */
	struct stor_req parts[RD_PARTS_MAX];
	/* the reply as batches add to it */
	entry4 **tail;    /* where the next entry goes */
	size_t used;      /* bytes of the entries in the reply */
	size_t dirbytes;  /* their cookies and names (dircount) */
	unsigned cap_ents; /* entries the batch scratch (names .. fh_lens) has room for */
};

static size_t xdr_pad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void rd_close(void *arg)
{
	close((int)(intptr_t)arg);
}

/* Append the entry e with its attributes encoded (attrs filled) at rd->tail; false when it
 * does not fit in what is left of the budget. */
static bool rd_append(struct rd *rd, entry4 *e)
{
	size_t sz = 4 + 8 + 4 + xdr_pad(e->name.utf8string_len) + 4 +
		    4 * e->attrs.attrmask.bitmap4_len + 4 + xdr_pad(e->attrs.attr_vals.attrlist4_len);
	size_t dsz = 8 + 4 + xdr_pad(e->name.utf8string_len);

	if (rd->used + sz > rd->budget)
		return false;
	/* dircount (RFC 8881 §18.23.3) bounds cookies + names; at least one entry goes. */
	if (rd->used > 0 && rd->a->dircount > 0 && rd->dirbytes + dsz > rd->a->dircount)
		return false;
	rd->used += sz;
	rd->dirbytes += dsz;
	*rd->tail = e;
	rd->tail = &e->nextentry;
	return true;
}

/* Is the entry on the export's own mount? The root of a mount under the export (another file
 * system, or a bind mount) is not: its handle, opened on the export's file system, would name
 * some other inode, perhaps outside the export, so it must not be noted as listed (a listed
 * handle skips the containment check, obj_warm). */
static bool rd_same_mount(const struct export_rt *e, const struct statx *stx)
{
	if (makedev(stx->stx_dev_major, stx->stx_dev_minor) != e->root_dev)
		return false;
#ifdef STATX_ATTR_MOUNT_ROOT
	if (stx->stx_attributes_mask & stx->stx_attributes & STATX_ATTR_MOUNT_ROOT)
		return false;
#endif
	return true;
}

/* Encode one entry's attributes. Returns NFS4_OK, or the status that fails the op; *skip is
 * set when the entry is to be left out (it vanished between getdents and statx). */
static nfsstat4 rd_entry_attrs(struct opx *x, struct rd *rd, struct rd_ent *re, entry4 *e,
			       bool *skip)
{
	const bitmap4 *req = &rd->a->attr_request;
	struct attr_src src;
	struct nfs_obj o = {.exp = x->obj.exp, .fd = -1};
	size_t k = (size_t)(re - rd->ents);
	uint32_t *words = compound_alloc(x->c, ATTR_WORDS * sizeof(uint32_t));
	int n;

	*skip = false;
	if (!words)
		return NFS4ERR_SERVERFAULT;
	if (rd->res[k] == -ENOENT) {
		*skip = true;
		return NFS4_OK;
	}
	obj_attr_src(x, &o, rd->res[k] < 0 ? NULL : &rd->stx[k], NULL, 0, &src);
	if (rd->res[k] < 0) {
		src.rdattr_error = nfs_errno_to_status(rd->res[k]);
	} else if (rd->fh_lens[k]) {
		src.fh = rd->fhs + k * FH_MAX_SIZE;
		src.fh_len = rd->fh_lens[k];
		if (rd_same_mount(x->obj.exp, &rd->stx[k]))
			/* its GETATTR: from these attributes, or else opened inline */
			obj_warm_note(x->srv, src.fh, src.fh_len, &rd->stx[k], rd->gen);
	}
	e->attrs.attrmask.bitmap4_val = words;
	n = attr_encode(&src, req, &e->attrs, rd->abuf, RD_ATTR_SCRATCH);
	if (n >= 0) {
		/* keep only the bytes used: the scratch serves the next entry */
		e->attrs.attr_vals.attrlist4_val = arena_memdup(&x->c->arena, rd->abuf, (size_t)n);
		if (!e->attrs.attr_vals.attrlist4_val)
			return NFS4ERR_SERVERFAULT;
	}
	if (n == -EINVAL)
		return NFS4ERR_INVAL;
	if (n == -ENODATA)
		return src.rdattr_error; /* §18.23.3: no rdattr_error asked, the op fails */
	if (n < 0)
		return NFS4ERR_SERVERFAULT;
	return NFS4_OK;
}

static nfsstat4 rd_more(struct opx *x, int64_t pos);

/* Room in the compound's arena for one more batch: its entries' keep, the rest of the
 * budget in attributes, and the reply's encoding of the whole op. Without it the batch would
 * fail half-way with the arena's cap; the reply then goes with what it has. */
static bool rd_room_for_batch(const struct opx *x, const struct rd *rd)
{
	const struct arena *a = &x->c->arena;
	size_t need = (size_t)RD_MAX_ENTRIES * RD_ENT_KEEP + RD_DENTS_MAX +
		      (rd->budget - rd->used) + rd->budget + RD_RESOK_FIXED + 4096;

	return a->cap == 0 || (a->total < a->cap && a->cap - a->total >= need);
}

/* Encode the batch's entries after those already in the reply. When all of them fit, the
 * directory goes on and the reply has room for more, the next batch starts where this one
 * ended (the last entry's cookie). */
static nfsstat4 rd_encode(struct opx *x)
{
	struct rd *rd = x->priv;
	READDIR4resok *ok = &x->res->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	unsigned i;

	for (i = 0; i < rd->nents; i++) {
		struct rd_ent *re = &rd->ents[i];
		entry4 *e = compound_alloc(x->c, sizeof(*e));
		bool skip;
		nfsstat4 st;

		if (!e)
			return NFS4ERR_SERVERFAULT;
		memset(e, 0, sizeof(*e));
		st = rd_entry_attrs(x, rd, re, e, &skip);
		if (st != NFS4_OK)
			return st;
		if (skip)
			continue;
		e->cookie = re->cookie;
		e->name.utf8string_val = (char *)re->name;
		e->name.utf8string_len = re->namelen;
		if (!rd_append(rd, e))
			break;
	}
	*rd->tail = NULL;
	if (i < rd->nents && !ok->reply.entries)
		return NFS4ERR_TOOSMALL; /* §18.23.3: not even one entry fits */
	if (i == rd->nents && !rd->end && rd->nents > 0 &&
	    rd->used + 16 + RD_ATTR_GUESS < rd->budget &&
	    (rd->a->dircount == 0 || rd->dirbytes + 64 < rd->a->dircount) &&
	    rd_room_for_batch(x, rd)) {
		int64_t pos = (int64_t)rd->ents[rd->nents - 1].cookie;

		rd->nents = 0;
		rd->est = rd->used;
		return rd_more(x, pos);
	}
	ok->reply.eof = i == rd->nents && rd->end;
	return NFS4_OK;
}

static nfsstat4 rd_stat(struct opx *x)
{
	struct rd *rd = x->priv;
	unsigned nparts, per, from = 0;

	if (rd->nents == 0) {
		rd->end = true;
		return rd_encode(x);
	}
	/* The attributes and handles of the batch in a few offload jobs that run side by side
	 * (the names were just read, so their inodes are usually found without waiting for the
	 * disk; the statx brings each inode in for its name_to_handle_at). */
	if (rd->nents > rd->cap_ents) {
		/* a later batch of this op reuses it, when it is no larger */
		unsigned n = rd->nents;

		rd->cap_ents = n;
		rd->names = compound_alloc(x->c, n * sizeof(*rd->names));
		rd->stx = compound_alloc(x->c, n * sizeof(*rd->stx));
		rd->res = compound_alloc(x->c, n * sizeof(*rd->res));
		rd->fhs = compound_alloc(x->c, (size_t)n * FH_MAX_SIZE);
		rd->fh_lens = compound_alloc(x->c, n * sizeof(*rd->fh_lens));
		if (!rd->names || !rd->stx || !rd->res || !rd->fhs || !rd->fh_lens)
			return NFS4ERR_SERVERFAULT;
	}
	for (unsigned i = 0; i < rd->nents; i++) {
		rd->names[i] = rd->ents[i].name;
		rd->res[i] = -EIO; /* until the job says otherwise; fh_lens[i] is read only after */
	}
	rd->gen = atomic_load(&x->srv->attr_gen);
	nparts = (rd->nents + RD_PART_MIN - 1) / RD_PART_MIN;
	if (nparts > RD_PARTS_MAX)
		nparts = RD_PARTS_MAX;
	per = (rd->nents + nparts - 1) / nparts;
	for (unsigned p = 0; p < nparts && from < rd->nents; p++, from += per) {
		unsigned n = rd->nents - from < per ? rd->nents - from : per;

		stor_prep_statx_many(&rd->parts[p], rd->dirfd, rd->names + from, n,
				     AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
				     rd->stx + from, rd->res + from, x->obj.exp->cfg->id,
				     rd->fhs + (size_t)from * FH_MAX_SIZE, rd->fh_lens + from);
		opx_submit_batch(x, &rd->parts[p], rd_encode);
	}
	return OP_PARKED;
}

/* Entries of one getdents64 batch: keep all but "." and "..", until the estimate fills the
 * budget. */
static nfsstat4 rd_dents(struct opx *x)
{
	struct rd *rd = x->priv;
	int res = x->sr.res;
	size_t off = 0;

	if (res < 0) {
		/* an offset the file system does not know: not one of our cookies */
		if (res == -EINVAL && rd->a->cookie != 0)
			return NFS4ERR_BAD_COOKIE;
		return nfs_errno_to_status(res);
	}
	if (res == 0) {
		rd->end = true;
		return rd_stat(x);
	}
	while (off < (size_t)res) {
		const uint8_t *p = rd->dbuf + off;
		uint64_t d_off;
		uint16_t reclen;
		const char *name = (const char *)p + 19; /* d_ino 8, d_off 8, d_reclen 2, d_type 1 */
		size_t namelen;

		memcpy(&d_off, p + 8, sizeof(d_off));
		memcpy(&reclen, p + 16, sizeof(reclen));
		if (reclen < 20 || off + reclen > (size_t)res)
			break;
		off += reclen;
		namelen = strnlen(name, reclen - 19u);
		if ((namelen == 1 && name[0] == '.') ||
		    (namelen == 2 && name[0] == '.' && name[1] == '.'))
			continue;
		if (rd->nents == RD_MAX_ENTRIES || rd->est >= rd->budget)
			return rd_stat(x);
		rd->ents[rd->nents].name = name;
		rd->ents[rd->nents].namelen = (uint32_t)namelen;
		rd->ents[rd->nents].cookie = d_off;
		rd->nents++;
		rd->est += 16 + xdr_pad(namelen) + RD_ATTR_GUESS;
	}
	return rd_more(x, STOR_DENTS_CONTINUE);
}

static nfsstat4 rd_more(struct opx *x, int64_t pos)
{
	struct rd *rd = x->priv;
	size_t want, size;

	if (rd->nents == RD_MAX_ENTRIES || rd->est >= rd->budget)
		return rd_stat(x);
	/* A buffer for about the entries still wanted: a file system hashes and sorts every
	 * name it hands out (ext4's htree), and names past the batch would be thrown away. */
	want = (rd->budget - rd->est) / (16 + RD_ATTR_GUESS) + 1;
	if (want > RD_MAX_ENTRIES - rd->nents)
		want = RD_MAX_ENTRIES - rd->nents;
	size = want * RD_DENT_GUESS;
	size = size < RD_DENTS_MIN ? RD_DENTS_MIN : size > RD_DENTS_MAX ? RD_DENTS_MAX : size;
	/* each batch keeps its own buffer: the names gathered point into it */
	rd->dbuf = compound_alloc(x->c, size);
	if (!rd->dbuf)
		return NFS4ERR_SERVERFAULT;
	stor_prep_getdents(&x->sr, rd->dirfd, rd->dbuf, size, pos);
	return opx_submit(x, rd_dents);
}

static nfsstat4 rd_opened(struct opx *x)
{
	struct rd *rd = x->priv;

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res); /* ENOTDIR: NOTDIR */
	rd->dirfd = x->sr.res;
	if (compound_on_release(x->c, rd_close, (void *)(intptr_t)rd->dirfd) < 0) {
		close(rd->dirfd);
		return NFS4ERR_SERVERFAULT;
	}
	return rd_more(x, (int64_t)rd->a->cookie);
}

/* The pseudo fs: children in name order; cookie = position + 3. */
static nfsstat4 rd_pseudo(struct opx *x)
{
	struct rd *rd = x->priv;
	const struct pseudo_node *dir = x->obj.pnode;
	READDIR4resok *ok = &x->res->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	size_t i;
	uint64_t cookie = rd->a->cookie;

	for (i = cookie ? (size_t)(cookie - 2) : 0; i < dir->nchildren; i++) {
		const struct pseudo_node *n = dir->children[i];
		entry4 *e = compound_alloc(x->c, sizeof(*e));
		uint32_t *words = compound_alloc(x->c, ATTR_WORDS * sizeof(uint32_t));
		uint8_t *buf = compound_alloc(x->c, 2048);
		uint8_t fh[FH_MAX_SIZE];
		uint32_t fhlen;
		struct nfs_obj o = {.fd = -1, .pnode = n};
		struct statx stx;
		struct attr_src src;
		int r;

		if (!e || !words || !buf)
			return NFS4ERR_SERVERFAULT;
		memset(e, 0, sizeof(*e));
		obj_handle_of_node(x->srv, n, fh, &fhlen);
		if (n->export) {
			o.exp = server_export(x->srv, n->export->id);
			o.is_root = true;
			o.fd = o.exp->root_fd;
			/* the export root's inode is always in memory: this statx does not wait */
			if (statx(o.fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &stx) < 0)
				return nfs_errno_to_status(-errno);
		} else {
			obj_pseudo_statx(x->srv, n, &stx);
		}
		obj_attr_src(x, &o, &stx, fh, fhlen, &src);
		e->attrs.attrmask.bitmap4_val = words;
		r = attr_encode(&src, &rd->a->attr_request, &e->attrs, buf, 2048);
		if (r == -EINVAL)
			return NFS4ERR_INVAL;
		if (r < 0)
			return NFS4ERR_SERVERFAULT;
		e->cookie = i + 3;
		e->name.utf8string_val = n->name;
		e->name.utf8string_len = (uint32_t)strlen(n->name);
		if (!rd_append(rd, e))
			break;
	}
	*rd->tail = NULL;
	if (i < dir->nchildren && !ok->reply.entries)
		return NFS4ERR_TOOSMALL;
	ok->reply.eof = i >= dir->nchildren;
	return NFS4_OK;
}

static nfsstat4 rd_start(struct opx *x)
{
	struct rd *rd = x->priv;

	if (!x->obj.exp) {
		if (rd->a->cookie > 2 + x->obj.pnode->nchildren)
			return NFS4ERR_BAD_COOKIE;
		return rd_pseudo(x);
	}
	stor_prep_openat(&x->sr, x->obj.fd, ".", O_RDONLY | O_DIRECTORY, 0);
	return opx_submit(x, rd_opened);
}

/* RFC 8881 §18.23 READDIR. */
static nfsstat4 op_readdir(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const READDIR4args *a = &arg->nfs_argop4_u.opreaddir;
	struct opx *x = opx_new(c, arg, res);
	struct rd *rd;
	READDIR4resok *ok;
	size_t room = compound_reply_room(c), max;
	static const verifier4 zero;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	/* §18.23.3: cookies 1 and 2 are reserved; a non-zero cookie comes with our verifier. */
	if (a->cookie == 1 || a->cookie == 2)
		return NFS4ERR_BAD_COOKIE;
	if (a->cookie != 0 && memcmp(a->cookieverf, zero, NFS4_VERIFIER_SIZE) != 0)
		return NFS4ERR_NOT_SAME;
	/* maxcount bounds the whole READDIR4resok; the op's header (opcode, status) and the
	 * fixed part of the result come off the room left in the reply. */
	max = a->maxcount;
	if (room < 8)
		return NFS4ERR_RESOURCE;
	if (max > room - 8)
		max = room - 8;
	if (max <= RD_RESOK_FIXED)
		return NFS4ERR_TOOSMALL;
	rd = compound_alloc(c, sizeof(*rd));
	if (!rd)
		return NFS4ERR_SERVERFAULT;
	memset(rd, 0, sizeof(*rd));
	rd->a = a;
	rd->dirfd = -1;
	rd->budget = max - RD_RESOK_FIXED;
	ok = &res->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	memset(ok->cookieverf, 0, NFS4_VERIFIER_SIZE);
	ok->reply.entries = NULL;
	rd->tail = &ok->reply.entries;
	rd->ents = compound_alloc(c, RD_MAX_ENTRIES * sizeof(*rd->ents));
	rd->abuf = compound_alloc(c, RD_ATTR_SCRATCH);
	if (!rd->ents || !rd->abuf)
		return NFS4ERR_SERVERFAULT;
	x->priv = rd;
	return opx_resolve(x, rd_start);
}

void nfs4_dir_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_LOOKUP, op_lookup);
	optable_set_handler(t, OP_LOOKUPP, op_lookupp);
	optable_set_handler(t, OP_SECINFO, op_secinfo);
	optable_set_handler(t, OP_READDIR, op_readdir);
}

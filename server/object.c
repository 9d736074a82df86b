/*
 * Objects behind file handles, and the step machinery of ops that wait for the disk
 * (object.h).
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include "object.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "errmap.h"
#include "fdcache.h"
#include "hash.h"
#include "idmap.h"
#include "log.h"
#include "pcache.h"

struct opx *opx_new(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct opx *x = compound_alloc(c, sizeof(*x));

	if (!x)
		return NULL;
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->req = req_of(c);
	x->srv = x->req->lp->srv;
	x->arg = arg;
	x->res = res;
	x->obj.fd = -1;
	return x;
}

/* The end of a step that parked: its status finishes the op, unless it parked again. */
static void opx_continue(struct opx *x, opx_step step)
{
	nfsstat4 st = step(x);

	if (st != OP_PARKED)
		compound_resume(x->c, opx_end(x, st));
}

void opx_resume(struct opx *x, opx_step step)
{
	opx_continue(x, step);
}

nfsstat4 opx_end(struct opx *x, nfsstat4 status)
{
	if (status == OP_PARKED || !x->finish)
		return status;
	return x->finish(x, status);
}

/*
 * A request that may have changed how much space the export's file system has: the cached
 * statvfs (space_*, files_*: server_export_vfs) is read again at the next use, so that a df
 * right after a write, a remove or an ENOSPC sees what the disk says, as with knfsd.
 */
static void opx_note_change(struct opx *x, const struct stor_req *r)
{
	switch (r->op) {
	case STOR_OP_WRITE:
	case STOR_OP_FALLOCATE:
	case STOR_OP_FTRUNCATE:
	case STOR_OP_UNLINKAT:
	case STOR_OP_RENAMEAT:
	case STOR_OP_MKDIRAT:
	case STOR_OP_SYMLINKAT:
	case STOR_OP_MKNODAT:
	case STOR_OP_LINKAT:
	case STOR_OP_COPY_RANGE:
	case STOR_OP_CLONE_RANGE:
	case STOR_OP_FSYNC:
	case STOR_OP_FDATASYNC:
		break;
	case STOR_OP_OPENAT:
		if (!(r->u.open.flags & O_CREAT))
			return;
		break;
	default:
		return;
	}
	if (x->obj.exp)
		x->obj.exp->vfs_time = 0;
}

/* A request that changed a file's data (or may have): its cached pages go. The file is the
 * op's current object (WRITE, SETATTR's truncate, ALLOCATE/DEALLOCATE, COPY/CLONE's target). */
static void opx_note_data(struct opx *x, const struct stor_req *r)
{
	switch (r->op) {
	case STOR_OP_WRITE:
	case STOR_OP_FALLOCATE:
	case STOR_OP_FTRUNCATE:
	case STOR_OP_COPY_RANGE:
	case STOR_OP_CLONE_RANGE:
		if (x->obj.exp)
			obj_cache_changed(x->srv, x->obj.fh, x->obj.fh_len);
		break;
	default:
		break;
	}
}

static void opx_cb(struct stor_req *r)
{
	struct opx *x = r->data;

	opx_note_data(x, r);
	opx_note_change(x, r);
	opx_continue(x, x->next);
}

nfsstat4 opx_submit(struct opx *x, opx_step next)
{
	x->next = next;
	x->sr.cb = opx_cb;
	x->sr.data = x;
	stor_submit(x->req->lp->stor, &x->sr);
	return OP_PARKED;
}

static void opx_batch_cb(struct stor_req *r)
{
	struct opx *x = r->data;

	if (r->res < 0 && x->err == 0)
		x->err = r->res;
	opx_note_data(x, r);
	opx_note_change(x, r);
	if (--x->pending == 0)
		opx_continue(x, x->next);
}

nfsstat4 opx_submit_batch(struct opx *x, struct stor_req *r, opx_step next)
{
	if (x->pending == 0)
		x->err = 0;
	x->next = next;
	x->pending++;
	r->cb = opx_batch_cb;
	r->data = x;
	stor_submit(x->req->lp->stor, r);
	return OP_PARKED;
}

static size_t fd_key(uint8_t *key, const uint8_t *fh, uint32_t len, char kind);

void obj_forget(struct server *srv, const uint8_t *fh, uint32_t len)
{
	uint8_t key[FDC_KEY_MAX];

	if (len + 1 > FDC_KEY_MAX)
		return;
	fdc_invalidate(srv->fdc, key, fd_key(key, fh, len, 'p'));
	fdc_invalidate(srv->fdc, key, fd_key(key, fh, len, 'r'));
	fdc_invalidate(srv->fdc, key, fd_key(key, fh, len, 'w'));
	fdc_invalidate(srv->fdc, key, fd_key(key, fh, len, 'D'));
	obj_cache_changed(srv, fh, len);
}

void obj_cache_changed(struct server *srv, const uint8_t *fh, uint32_t len)
{
	if (srv->pcache)
		pcache_invalidate_key(srv->pcache, fh, len);
}

static void stamp_of(const struct statx *stx, struct pc_stamp *st)
{
	st->size = stx->stx_size;
	st->mtime_ns = (int64_t)stx->stx_mtime.tv_sec * 1000000000 + stx->stx_mtime.tv_nsec;
	st->ctime_ns = (int64_t)stx->stx_ctime.tv_sec * 1000000000 + stx->stx_ctime.tv_nsec;
	st->ino = stx->stx_ino;
}

/* f's pages hold while the disk's stamp of the file is the one they were read under; gen is
 * f's generation when the statx went out (0: just now) */
static void cache_check(struct pcache *pc, struct pc_file *f, const struct statx *stx,
			uint64_t gen)
{
	struct pc_stamp st;

	if (!f || !S_ISREG(stx->stx_mode))
		return;
	stamp_of(stx, &st);
	pcache_file_validate(pc, f, &st, gen);
}

void obj_cache_validate(struct server *srv, const uint8_t *fh, uint32_t len,
			const struct statx *stx, uint64_t seen_gen)
{
	struct pc_file *f;

	if (!srv->pcache || !S_ISREG(stx->stx_mode))
		return;
	f = pcache_file_find(srv->pcache, fh, len);
	if (!f)
		return; /* nothing cached, nothing to check */
	cache_check(srv->pcache, f, stx, seen_gen);
	pcache_file_put(srv->pcache, f);
}

static nfsstat4 stat_done(struct opx *x)
{
	struct pc_file *f = x->cache_file;

	x->cache_file = NULL;
	if (x->sr.res < 0) {
		pcache_file_put(x->srv->pcache, f);
		return x->sr.res == -ENOENT ? NFS4ERR_STALE : nfs_errno_to_status(x->sr.res);
	}
	/* every statx of a cached file revalidates its pages (GETATTR, OPEN by handle, READ):
	 * a file changed on the disk by another program is read again. The file's entry was
	 * looked up, with its generation, before the statx went out, so a write that lands
	 * between is not taken for the disk's doing. */
	cache_check(x->srv->pcache, f, &x->stx, x->cache_gen);
	pcache_file_put(x->srv->pcache, f);
	/* A cached fd keeps a removed file's inode alive (nlink 0); the object is gone for the
	 * client all the same (RFC 8881 §15.1.2.7 STALE), and the cache lets go of it so the
	 * disk space is freed. */
	if (x->stx.stx_nlink == 0 && !x->obj.is_root) {
		obj_forget(x->srv, x->obj.fh, x->obj.fh_len);
		return NFS4ERR_STALE;
	}
	return x->then(x);
}

nfsstat4 opx_stat(struct opx *x, opx_step next)
{
	if (!x->obj.exp) {
		obj_pseudo_statx(x->srv, x->obj.pnode, &x->stx);
		return next(x);
	}
	x->then = next;
	/* one lookup of the file's cache entry per statx, held until stat_done (a storage
	 * request always completes, so the reference is always given back) */
	x->cache_file = x->srv->pcache ? pcache_file_find(x->srv->pcache, x->obj.fh,
							    x->obj.fh_len) : NULL;
	x->cache_gen = x->cache_file ? pcache_file_gen(x->cache_file) : 0;
	if (x->obj.exp->meta_inline) {
		/* the fd pins the inode in memory: nothing to wait for (server.c fs_stat_is_local) */
		x->sr.res = statx(x->obj.fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
				  STATX_BASIC_STATS | STATX_BTIME, &x->stx) < 0 ? -errno : 0;
		return stat_done(x);
	}
	stor_prep_statx(&x->sr, x->obj.fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
			STATX_BASIC_STATS | STATX_BTIME, &x->stx);
	return opx_submit(x, stat_done);
}

void opx_set_fh(struct compound *c, const uint8_t *fh, uint32_t len)
{
	compound_set_fh(c, fh, len);
	c->cur_stateid_set = false;
}

/* ---- fd cache ----------------------------------------------------------------------------- */

struct pin {
	struct server *srv;
	struct fdc_ref *ref;
};

static void pin_release(void *arg)
{
	struct pin *p = arg;

	fdc_put(p->srv->fdc, p->ref);
}

void obj_pin_until_done(struct compound *c, struct server *srv, struct fdc_ref *ref)
{
	struct pin *p = compound_alloc(c, sizeof(*p));

	/* Without memory for the release record the pin would leak and so would the fd: drop it
	 * at once instead; the op finishes before the arena dies, so the fd stays valid while it
	 * runs only if the cache still holds it, which is then the best we can do. */
	if (!p || compound_on_release(c, pin_release, p) < 0) {
		fdc_put(srv->fdc, ref);
		return;
	}
	p->srv = srv;
	p->ref = ref;
}

static size_t fd_key(uint8_t *key, const uint8_t *fh, uint32_t len, char kind)
{
	memcpy(key, fh, len);
	key[len] = (uint8_t)kind;
	return len + 1;
}

int obj_fd_cached(struct server *srv, const uint8_t *fh, uint32_t len, char kind,
		  struct fdc_ref **ref)
{
	uint8_t key[FDC_KEY_MAX];
	int ret;

	if (len + 1 > FDC_KEY_MAX)
		return -EINVAL;
	ret = fdc_get(srv->fdc, key, fd_key(key, fh, len, kind), ref);
	return ret < 0 ? ret : fdc_ref_fd(*ref);
}

int obj_fd_insert(struct compound *c, struct server *srv, const uint8_t *fh, uint32_t len,
		  char kind, int fd)
{
	uint8_t key[FDC_KEY_MAX];
	struct fdc_ref *ref;
	int ret;

	if (len + 1 > FDC_KEY_MAX) {
		close(fd);
		return -EINVAL;
	}
	ret = fdc_insert(srv->fdc, key, fd_key(key, fh, len, kind), fd, &ref);
	if (ret < 0)
		return ret;
	obj_pin_until_done(c, srv, ref);
	return fdc_ref_fd(ref);
}

/* ---- handles ------------------------------------------------------------------------------ */

/* A pseudo node's handle: export id 0 and, as "kernel handle", the node's index. The index
 * depends only on the configured pseudo paths, so the handle survives a restart with the same
 * exports (RFC 8881 §7.3: the pseudo fs is the server's to define). */
static void pseudo_handle(const struct pseudo_node *n, uint8_t *fh, uint32_t *len)
{
	struct fh_kernel kh = {.type = 0, .len = 4};
	size_t l = FH_MAX_SIZE;

	kh.bytes[0] = (uint8_t)(n->index >> 24);
	kh.bytes[1] = (uint8_t)(n->index >> 16);
	kh.bytes[2] = (uint8_t)(n->index >> 8);
	kh.bytes[3] = (uint8_t)n->index;
	if (fh_pack(0, &kh, fh, &l) < 0)
		l = 0; /* cannot happen: a 4-byte handle always fits */
	*len = (uint32_t)l;
}

void obj_handle_of_node(const struct server *srv, const struct pseudo_node *n, uint8_t *fh,
			uint32_t *len)
{
	if (n->export) {
		const struct export_rt *e = server_export(srv, n->export->id);

		memcpy(fh, e->root_fh, e->root_fh_len);
		*len = e->root_fh_len;
		return;
	}
	pseudo_handle(n, fh, len);
}

/*
 * Does the object open at fd lie under the export? open_by_handle_at only uses the export's
 * fd to pick the file system, so a forged handle can name any inode on it. The kernel's name
 * for the fd (/proc/self/fd, memory only) must start with the export root's. A handle whose
 * dentry the kernel could not connect to a path (a file not in the dentry cache, resolved
 * after a restart) is named from its file system's root and refused too: issue 4 (containment)
 * replaces this with a check that does not depend on the cache.
 */
static bool obj_inside(const struct export_rt *e, int fd)
{
	char link[STOR_FD_PATH_MAX], path[4096];
	size_t l = strlen(e->real_path);
	ssize_t n;

	if (strcmp(e->real_path, "/") == 0)
		return true;
	n = readlink(stor_fd_path(link, fd), path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = 0;
	return strncmp(path, e->real_path, l) == 0 && (path[l] == '/' || path[l] == 0);
}

static nfsstat4 resolve_opened(struct opx *x)
{
	struct nfs_obj *o = x->resolving;
	int fd = x->sr.res;

	if (fd < 0) {
		/* RFC 8881 §15.1.2.7: the object is gone (or the handle names nothing we can
		 * open: the file system rejected its format, which is a bad handle). */
		if (fd == -ESTALE || fd == -ENOENT)
			return NFS4ERR_STALE;
		if (fd == -EBADMSG || fd == -EINVAL)
			return NFS4ERR_BADHANDLE;
		log_warn("open_by_handle_at on export %u: %s", o->exp->cfg->id, strerror(-fd));
		return nfs_errno_to_status(fd);
	}
	/* A handle READDIR listed a moment ago was made from a name in a directory inside the
	 * export: no need to ask the kernel for its path. */
	if (!x->resolving_listed && !obj_inside(o->exp, fd)) {
		log_warn("a handle of export %u names an object outside it: refused as stale",
			 o->exp->cfg->id);
		close(fd);
		return NFS4ERR_STALE;
	}
	fd = obj_fd_insert(x->c, x->srv, o->fh, o->fh_len, 'p', fd);
	if (fd < 0)
		return nfs_errno_to_status(fd);
	o->fd = fd;
	return x->then(x);
}

#define OBJ_WARM_SLOTS ((size_t)1 << 17)
#define OBJ_WARM_FH 42 /* longer handles are not noted (ext4's are 18 bytes, xfs's 26) */

/* The statx fields attribute encoding reads (attr.c), without statx's padding. */
struct warm_attrs {
	uint64_t ino, size, blocks;
	struct statx_timestamp atime, btime, ctime, mtime;
	uint32_t mask, nlink, uid, gid, blksize, rdev_major, rdev_minor;
	uint16_t mode;
};

/* One handle, byte for byte: a match must be exact, since a match also skips obj_inside().
 * seq is odd while the slot is written (a seqlock, for when loops share the table). */
struct obj_warm_slot {
	_Atomic uint32_t seq;
	uint32_t when; /* monotonic seconds when noted */
	uint64_t gen;  /* srv->attr_gen before READDIR's statx went out */
	struct warm_attrs a;
	uint8_t len;
	uint8_t fh[OBJ_WARM_FH];
};

struct obj_warm {
	struct obj_warm_slot slot[OBJ_WARM_SLOTS];
};

static uint32_t warm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

int obj_warm_create(struct server *srv)
{
	srv->warm = calloc(1, sizeof(*srv->warm));
	return srv->warm ? 0 : -ENOMEM;
}

void obj_warm_free(struct server *srv)
{
	free(srv->warm);
	srv->warm = NULL;
}

static struct obj_warm_slot *warm_slot(struct server *srv, const uint8_t *fh, uint32_t len)
{
	return &srv->warm->slot[(hash_bytes(fh, len) >> 20) & (OBJ_WARM_SLOTS - 1)];
}

void obj_warm_note(struct server *srv, const uint8_t *fh, uint32_t len, const struct statx *stx,
		   uint64_t gen)
{
	struct obj_warm_slot *s;
	uint32_t seq;

	if (!srv->warm || len > OBJ_WARM_FH)
		return;
	s = warm_slot(srv, fh, len);
	seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->when = warm_now();
	s->gen = gen;
	s->a = (struct warm_attrs){
		.ino = stx->stx_ino,
		.size = stx->stx_size,
		.blocks = stx->stx_blocks,
		.atime = stx->stx_atime,
		.btime = stx->stx_btime,
		.ctime = stx->stx_ctime,
		.mtime = stx->stx_mtime,
		.mask = stx->stx_mask,
		.nlink = stx->stx_nlink,
		.uid = stx->stx_uid,
		.gid = stx->stx_gid,
		.blksize = stx->stx_blksize,
		.rdev_major = stx->stx_rdev_major,
		.rdev_minor = stx->stx_rdev_minor,
		.mode = stx->stx_mode,
	};
	s->len = (uint8_t)len;
	memcpy(s->fh, fh, len);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* The slot of this very handle, copied consistently (the seqlock's read side) into *out
 * (its attributes only when with_attrs): true when the handle is there, byte for byte. */
static bool warm_read(struct server *srv, const uint8_t *fh, uint32_t len,
		      struct obj_warm_slot *out, bool with_attrs)
{
	struct obj_warm_slot *s;
	uint32_t seq;
	bool same;

	if (!srv->warm || len > OBJ_WARM_FH)
		return false;
	s = warm_slot(srv, fh, len);
	seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (seq & 1)
		return false;
	out->when = s->when;
	out->gen = s->gen;
	if (with_attrs)
		out->a = s->a;
	same = s->len == len && memcmp(s->fh, fh, len) == 0;
	atomic_thread_fence(memory_order_acquire);
	return same && atomic_load_explicit(&s->seq, memory_order_relaxed) == seq;
}

bool obj_attr_cached(struct server *srv, const uint8_t *fh, uint32_t len, struct statx *out)
{
	struct obj_warm_slot w;
	const struct warm_attrs *a = &w.a;

	if (!srv->cfg->attr_cache)
		return false;
	if (!warm_read(srv, fh, len, &w, true) || w.gen != atomic_load(&srv->attr_gen) ||
	    warm_now() - w.when > srv->cfg->attr_cache) {
		atomic_fetch_add_explicit(&srv->attr_misses, 1, memory_order_relaxed);
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->stx_mask = a->mask;
	out->stx_blksize = a->blksize;
	out->stx_nlink = a->nlink;
	out->stx_uid = a->uid;
	out->stx_gid = a->gid;
	out->stx_mode = a->mode;
	out->stx_ino = a->ino;
	out->stx_size = a->size;
	out->stx_blocks = a->blocks;
	out->stx_atime = a->atime;
	out->stx_btime = a->btime;
	out->stx_ctime = a->ctime;
	out->stx_mtime = a->mtime;
	out->stx_rdev_major = a->rdev_major;
	out->stx_rdev_minor = a->rdev_minor;
	atomic_fetch_add_explicit(&srv->attr_hits, 1, memory_order_relaxed);
	return true;
}

/* Was this very handle listed by READDIR (from a directory inside its export) a moment ago? */
static bool obj_warm(struct server *srv, const uint8_t *fh, uint32_t len)
{
	struct obj_warm_slot w;

	return warm_read(srv, fh, len, &w, false) && warm_now() - w.when <= OBJ_WARM_SECS;
}

/* Resolve the handle in fhb into o (x->obj or another object of the op). */
static nfsstat4 resolve_into(struct opx *x, const struct compound_fh *fhb, struct nfs_obj *o,
			     opx_step next)
{
	struct compound *c = x->c;
	uint32_t id;
	struct fdc_ref *ref;
	uint8_t *fh;
	int fd;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (!fhb->set)
		return NFS4ERR_NOFILEHANDLE;
	if (fh_decode(fhb->data, fhb->len, &id, &o->kh) < 0)
		return NFS4ERR_BADHANDLE;
	fh = compound_alloc(c, fhb->len);
	if (!fh)
		return NFS4ERR_SERVERFAULT;
	memcpy(fh, fhb->data, fhb->len);
	o->fh = fh;
	o->fh_len = fhb->len;
	if (id == 0) {
		uint32_t idx;

		if (o->kh.type != 0 || o->kh.len != 4)
			return NFS4ERR_BADHANDLE;
		idx = (uint32_t)o->kh.bytes[0] << 24 | (uint32_t)o->kh.bytes[1] << 16 |
		      (uint32_t)o->kh.bytes[2] << 8 | o->kh.bytes[3];
		/* A node that is an export's root has the export's handle, never this one. */
		if (idx >= x->srv->npnodes || x->srv->pnodes[idx]->export)
			return NFS4ERR_STALE;
		o->pnode = x->srv->pnodes[idx];
		return next(x);
	}
	o->exp = server_export(x->srv, id);
	if (!o->exp)
		return NFS4ERR_STALE; /* an export that is no longer configured */
	if (o->fh_len == o->exp->root_fh_len && memcmp(fh, o->exp->root_fh, o->fh_len) == 0) {
		o->is_root = true;
		o->pnode = o->exp->node;
		o->fd = o->exp->root_fd;
		return next(x);
	}
	/* An op that only reads attributes (GETATTR) needs no fd when READDIR's statx of this
	 * handle is still good (obj_attr_cached). */
	if (x->attrs_only && o == &x->obj && obj_attr_cached(x->srv, fh, o->fh_len, &x->stx)) {
		x->attrs_cached = true;
		return next(x);
	}
	fd = obj_fd_cached(x->srv, fh, o->fh_len, 'p', &ref);
	if (fd >= 0) {
		obj_pin_until_done(c, x->srv, ref);
		o->fd = fd;
		return next(x);
	}
	x->then = next;
	x->resolving = o;
	x->resolving_listed = obj_warm(x->srv, fh, o->fh_len);
	if (o->exp->meta_inline && x->resolving_listed) {
		/* listed a moment ago: its inode is in memory, the open does not wait */
		x->sr.res = fh_resolve(o->exp->root_fd, &o->kh, O_PATH);
		return resolve_opened(x);
	}
	stor_prep_open_by_handle(&x->sr, o->exp->root_fd, &o->kh, O_PATH);
	return opx_submit(x, resolve_opened);
}

nfsstat4 opx_resolve(struct opx *x, opx_step next)
{
	const struct compound_fh *fhb = &x->c->cfh;
	uint32_t id = 0;
	struct fh_kernel kh;

	x->data_fd = -1;
	if (fhb->set && fh_decode(fhb->data, fhb->len, &id, &kh) == 0)
		obj_cred(&x->req->cred, id ? server_export(x->srv, id) : NULL, &x->cred);
	else
		obj_cred(&x->req->cred, NULL, &x->cred);
	return resolve_into(x, fhb, &x->obj, next);
}

static nfsstat4 resolve_stat_step(struct opx *x)
{
	return opx_stat(x, x->after);
}

nfsstat4 opx_resolve_stat(struct opx *x, opx_step next)
{
	x->after = next;
	return opx_resolve(x, resolve_stat_step);
}

nfsstat4 opx_resolve_saved(struct opx *x, struct nfs_obj *o, opx_step next)
{
	return resolve_into(x, &x->c->sfh, o, next);
}

/* ---- attributes ----------------------------------------------------------------------------- */

void obj_pseudo_statx(const struct server *srv, const struct pseudo_node *n, struct statx *stx)
{
	struct statx_timestamp t = {.tv_sec = srv->start_ts.tv_sec,
				    .tv_nsec = (uint32_t)srv->start_ts.tv_nsec};

	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	stx->stx_mode = S_IFDIR | 0555;
	stx->stx_nlink = (uint32_t)(2 + n->nchildren);
	stx->stx_ino = PSEUDO_FILEID_BASE + n->index;
	stx->stx_size = 4096;
	stx->stx_blocks = 8;
	stx->stx_blksize = 4096;
	stx->stx_atime = stx->stx_mtime = stx->stx_ctime = stx->stx_btime = t;
}

void obj_attr_src(struct opx *x, const struct nfs_obj *o, const struct statx *stx,
		  const uint8_t *fh, uint32_t fh_len, struct attr_src *src)
{
	static const struct statvfs no_vfs; /* the pseudo fs holds nothing */
	const struct server *srv = x->srv;
	const struct config *cfg = srv->cfg;

	memset(src, 0, sizeof(*src));
	src->stx = stx;
	src->vfs = o->exp ? server_export_vfs(o->exp) : &no_vfs;
	src->fsid_major = o->exp ? o->exp->cfg->id : 0;
	src->fsid_minor = 0;
	src->fh = fh;
	src->fh_len = fh_len;
	src->lease_time = cfg->lease_time;
	src->minorversion = x->c->minor;
	src->change = stx ? attr_change_from_statx(stx) : 0;
	src->owner_domain = cfg->owner_domain && cfg->owner_domain[0] ? cfg->owner_domain : NULL;
	if (src->owner_domain && srv->idmap) { /* "alice@domain"; numeric for ids without a name */
		src->idname = idmap_attr_idname;
		src->idname_ctx = srv->idmap;
	}
	src->max_read = srv->max_read;
	src->max_write = srv->max_write;
	src->max_filesize = (uint64_t)INT64_MAX;
	src->link_max = 65000; /* ext4's EXT4_LINK_MAX; the kernel does not report it */
	src->name_max = o->exp && src->vfs->f_namemax ? (uint32_t)src->vfs->f_namemax : NAME_MAX;
	/* RFC 8881 §5.8.2.23: the export root is "mounted on" its pseudo directory. */
	if (o->exp && o->is_root) {
		src->is_export_root = true;
		src->mounted_on_fileid = o->exp->node && o->exp->node->parent
						 ? PSEUDO_FILEID_BASE + o->exp->node->index
						 : (stx ? stx->stx_ino : 0);
	}
}

void obj_cred(const struct req_cred *rc, const struct export_rt *e, struct stor_cred *out)
{
	enum config_squash sq = e ? e->cfg->squash : CONFIG_SQUASH_NONE;
	uint32_t anon_uid = e ? e->cfg->anonuid : CONFIG_DEFAULT_ANON_ID;
	uint32_t anon_gid = e ? e->cfg->anongid : CONFIG_DEFAULT_ANON_ID;

	memset(out, 0, sizeof(*out));
	if (rc->flavor != AUTH_SYS || sq == CONFIG_SQUASH_ALL) {
		out->uid = anon_uid;
		out->gid = anon_gid;
		return;
	}
	out->uid = rc->uid;
	out->gid = rc->gid;
	out->ngroups = rc->ngids < STOR_CRED_MAX_GROUPS ? rc->ngids : STOR_CRED_MAX_GROUPS;
	memcpy(out->groups, rc->gids, out->ngroups * sizeof(out->groups[0]));
	if (sq == CONFIG_SQUASH_ROOT) {
		if (out->uid == 0)
			out->uid = anon_uid;
		if (out->gid == 0)
			out->gid = anon_gid;
		for (uint32_t i = 0; i < out->ngroups; i++)
			if (out->groups[i] == 0)
				out->groups[i] = anon_gid;
	}
}

uint64_t obj_change_now(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_CTIME, &stx) < 0)
		return 0;
	return attr_change_from_statx(&stx);
}

int obj_adopt(struct compound *c, struct server *srv, const struct export_rt *e, int fd,
	      uint8_t *fh, uint32_t *fh_len)
{
	size_t len = FH_MAX_SIZE;
	int ret = fh_encode(e->cfg->id, fd, NULL, fh, &len);

	if (ret < 0) {
		close(fd);
		return ret;
	}
	*fh_len = (uint32_t)len;
	/* the cache may keep an fd it already had for this handle instead (and close ours) */
	return obj_fd_insert(c, srv, fh, *fh_len, 'p', fd);
}

static nfsstat4 data_fd_opened(struct opx *x)
{
	int fd = x->sr.res;

	if (fd < 0)
		return fd == -ESTALE || fd == -ENOENT ? NFS4ERR_STALE : nfs_errno_to_status(fd);
	fd = obj_fd_insert(x->c, x->srv, x->obj.fh, x->obj.fh_len, x->sr.u.handle.flags == O_RDWR ? 'w' : 'r', fd);
	if (fd < 0)
		return nfs_errno_to_status(fd);
	x->data_fd = fd;
	return x->then(x);
}

nfsstat4 opx_data_fd(struct opx *x, bool write, opx_step next)
{
	struct fdc_ref *ref;
	int fd;

	if (!x->obj.exp || x->obj.is_root)
		return NFS4ERR_ISDIR;
	fd = obj_fd_cached(x->srv, x->obj.fh, x->obj.fh_len, write ? 'w' : 'r', &ref);
	if (fd < 0 && !write) /* a read-write fd reads as well */
		fd = obj_fd_cached(x->srv, x->obj.fh, x->obj.fh_len, 'w', &ref);
	if (fd >= 0) {
		obj_pin_until_done(x->c, x->srv, ref);
		x->data_fd = fd;
		return next(x);
	}
	x->then = next;
	/* As the server: the op has checked the caller's right to read or write (NFSv4 grants
	 * I/O by OPEN, like a local open fd, not by the mode of the moment). */
	stor_prep_open_by_handle(&x->sr, x->obj.exp->root_fd, &x->obj.kh, write ? O_RDWR : O_RDONLY);
	return opx_submit(x, data_fd_opened);
}

static nfsstat4 access_done(struct opx *x)
{
	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	x->allowed = x->sr.res;
	return x->then(x);
}

nfsstat4 opx_access(struct opx *x, int want, opx_step next)
{
	if (!x->obj.exp || x->cred.uid == 0) {
		x->allowed = 0;
		for (int b = R_OK; b; b >>= 1)
			if ((want & b) && obj_may(&x->cred, &x->stx, b))
				x->allowed |= b;
		return next(x);
	}
	x->then = next;
	stor_prep_access(&x->sr, x->obj.fd, want);
	x->sr.cred = &x->cred;
	return opx_submit(x, access_done);
}

nfsstat4 opx_data_buf(struct opx *x, size_t n, void **out)
{
	void *buf = malloc(n);

	*out = NULL;
	if (!buf)
		return NFS4ERR_DELAY;
	if (compound_on_release(x->c, free, buf) < 0) {
		free(buf);
		return NFS4ERR_SERVERFAULT;
	}
	*out = buf;
	return NFS4_OK;
}

bool obj_may(const struct stor_cred *cred, const struct statx *stx, int want)
{
	unsigned int mode = stx->stx_mode, bits;

	if (cred->uid == 0) {
		/* root: everything, but executing needs some x bit (directories excepted) */
		if ((want & X_OK) && !S_ISDIR(mode) && !(mode & 0111))
			return false;
		return true;
	}
	if (cred->uid == stx->stx_uid) {
		bits = (mode >> 6) & 7;
	} else {
		bool in_group = cred->gid == stx->stx_gid;

		for (uint32_t i = 0; i < cred->ngroups && !in_group; i++)
			in_group = cred->groups[i] == stx->stx_gid;
		bits = in_group ? (mode >> 3) & 7 : mode & 7;
	}
	return ((unsigned)want & ~bits & 7u) == 0;
}

nfsstat4 obj_name(struct compound *c, const component4 *name, const char **out)
{
	uint32_t len = name->utf8string_len;
	char *s;

	if (len == 0)
		return NFS4ERR_INVAL;
	if (len > NAME_MAX)
		return NFS4ERR_NAMETOOLONG;
	if (memchr(name->utf8string_val, '/', len) || memchr(name->utf8string_val, 0, len))
		return NFS4ERR_BADNAME;
	if ((len == 1 && name->utf8string_val[0] == '.') ||
	    (len == 2 && name->utf8string_val[0] == '.' && name->utf8string_val[1] == '.'))
		return NFS4ERR_BADNAME;
	s = compound_alloc(c, len + 1);
	if (!s)
		return NFS4ERR_SERVERFAULT;
	memcpy(s, name->utf8string_val, len);
	s[len] = 0;
	*out = s;
	return NFS4_OK;
}

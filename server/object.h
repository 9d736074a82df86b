/*
 * What a file handle names, and the plumbing of op handlers that wait for the disk.
 *
 * A handle is either a node of the pseudo file system (export id 0, RFC 8881 §7.3) or an
 * object of an export (export id + kernel handle, storage/fh.h). Resolving an export object
 * gives an O_PATH fd from the shared fd cache; on a miss the handle is opened through the
 * storage engine's offload pool (open_by_handle_at may read the disk), and the op parks.
 *
 * An op that needs the disk keeps its state in a struct opx (in the compound's arena) and is
 * written as a chain of steps:
 *
 *     static nfsstat4 getattr_stat(struct opx *x);
 *     static nfsstat4 op_getattr(struct compound *c, const nfs_argop4 *a, nfs_resop4 *r)
 *     {
 *             struct opx *x = opx_new(c, a, r);
 *             return x ? opx_resolve(x, getattr_stat) : NFS4ERR_SERVERFAULT;
 *     }
 *
 * A step returns a status (the op is done) or the value of opx_submit() (OP_PARKED: the
 * storage request's completion runs the next step). The first step may run inline (fd cache
 * hit) or from a completion; either way its status finishes the op, through the handler's
 * return value or compound_resume().
 */
#ifndef SLUICE_OBJECT_H
#define SLUICE_OBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "compound.h"
#include "request.h"
#include "server.h"
#include "stor.h"

struct fdc_ref;
struct pc_file;

/* The pseudo file system's fileids: far above what the exports' file systems hand out, and
 * fsid (0, 0) keeps them apart from any export (whose fsid is (export id, 0)). */
#define PSEUDO_FILEID_BASE ((uint64_t)1 << 62)

struct nfs_obj {
	struct export_rt *exp;           /* NULL for a pseudo node */
	const struct pseudo_node *pnode; /* the pseudo node (exp == NULL) */
	struct fdc_ref *ref;             /* pinned fd of an export object */
	int fd;                          /* O_PATH fd (exports), -1 for pseudo nodes */
	struct fh_kernel kh;             /* the kernel handle (exports) */
	const uint8_t *fh;               /* the handle as sent (points into compound memory) */
	uint32_t fh_len;
	bool is_root;                    /* an export's root directory */
};

struct opx;
typedef nfsstat4 (*opx_step)(struct opx *x);

struct opx {
	struct compound *c;
	struct nfs_req *req;
	struct server *srv;
	const nfs_argop4 *arg;
	nfs_resop4 *res;
	struct nfs_obj obj;      /* the current FH's object once resolved */
	struct stor_req sr;      /* the storage request of the step in flight */
	opx_step next;
	opx_step then;           /* after opx_resolve() */
	opx_step after;          /* after opx_resolve_stat() */
	unsigned pending;        /* requests of a batch still in flight */
	int err;                 /* first error of a batch */
	void *priv;              /* the op's own state */
	struct statx stx;        /* the object's attributes, after opx_stat() */
	/* The caller as the export sees it (squash applied: obj_cred()), set by opx_resolve().
	 * Storage requests that create, remove or change something carry it (sr.cred), so the
	 * kernel checks permissions and owns new files as that user. */
	struct stor_cred cred;
	int data_fd;             /* after opx_data_fd(): a readable (or read-write) fd */
	struct nfs_obj *resolving; /* the object a handle is being opened for */
	bool resolving_listed;   /* its handle was listed by READDIR a moment ago (obj_warm) */
	/* Set by an op that only reads attributes (GETATTR) before opx_resolve(): when the warm
	 * table still holds good attributes of the current FH (obj_attr_cached), resolving fills
	 * x->stx from them, sets attrs_cached and opens nothing (x->obj.fd stays -1). */
	bool attrs_only;
	bool attrs_cached;
	int allowed;             /* after opx_access(): the R_OK|W_OK|X_OK bits allowed */
	uint64_t cache_gen;      /* page-cache generation when opx_stat()'s statx went out */
	struct pc_file *cache_file; /* its page-cache entry, held while that statx is out */
	/* Optional: sees the op's final status whether it comes inline or from a completion
	 * (the handler passes its own return value through opx_end()). */
	nfsstat4 (*finish)(struct opx *x, nfsstat4 status);
};

/* A step that parked on something other than x->sr (a cache read) goes on with step. */
void opx_resume(struct opx *x, opx_step step);

/* The page cache (storage/pcache.h) of a file: its pages go (a write, a truncate, a removal),
 * or are checked against what a statx just said (seen_gen: the file's generation before the
 * statx went out; 0: just now, nothing can have come between). */
void obj_cache_changed(struct server *srv, const uint8_t *fh, uint32_t len);
void obj_cache_validate(struct server *srv, const uint8_t *fh, uint32_t len,
			const struct statx *stx, uint64_t seen_gen);

/* A handler's return value through x->finish (when set and the op is not parked). */
nfsstat4 opx_end(struct opx *x, nfsstat4 status);

/* A context for the op being run, zeroed, in the compound's memory; NULL when short. */
struct opx *opx_new(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res);

/* Resolve the current FH into x->obj and continue with next (inline on a cache hit).
 * BADHANDLE / STALE / NOFILEHANDLE come back as the op's status. */
nfsstat4 opx_resolve(struct opx *x, opx_step next);

/* opx_resolve(), then opx_stat() of the object, then next: what most ops start with. */
nfsstat4 opx_resolve_stat(struct opx *x, opx_step next);

/* Resolve the saved FH into o (RENAME's source directory, LINK's source object), then next.
 * x->cred stays the current FH's: an op on two objects requires the same export (XDEV). */
nfsstat4 opx_resolve_saved(struct opx *x, struct nfs_obj *o, opx_step next);

/* Submit x->sr (prepared by the caller) and continue with next when it completes (x->sr.res
 * holds the result then). Returns OP_PARKED. */
nfsstat4 opx_submit(struct opx *x, opx_step next);

/* statx the resolved object into x->stx (a synthetic one for pseudo nodes, inline) and
 * continue with next. */
nfsstat4 opx_stat(struct opx *x, opx_step next);

/* Clear the current filehandle's companions when an op sets a new one: the current stateid
 * no longer applies (RFC 8881 §16.2.3.1.2). */
void opx_set_fh(struct compound *c, const uint8_t *fh, uint32_t len);

/* Batches: submit r (any stor_req in the op's memory, r->data = x is set here); next runs once
 * every request submitted with opx_submit_batch since the last batch has completed, with
 * x->err the first negative result. Returns OP_PARKED. */
nfsstat4 opx_submit_batch(struct opx *x, struct stor_req *r, opx_step next);

/* ---- objects and handles ----------------------------------------------------------------- */

/* The handle of pseudo node n (or of its export's root when n is an export). */
void obj_handle_of_node(const struct server *srv, const struct pseudo_node *n, uint8_t *fh,
			uint32_t *len);

/* Pin an fd for fh (an export object) in the fd cache under kind ('p' O_PATH, 'r' read):
 * returns the fd, or -ENOENT on a miss. */
int obj_fd_cached(struct server *srv, const uint8_t *fh, uint32_t len, char kind,
		  struct fdc_ref **ref);

/* Insert fd (owned by the cache from now on) and pin it; returns the fd or -errno. The pin is
 * released when the compound is freed. */
int obj_fd_insert(struct compound *c, struct server *srv, const uint8_t *fh, uint32_t len,
		  char kind, int fd);

/* Release a pin when the compound is freed. */
void obj_pin_until_done(struct compound *c, struct server *srv, struct fdc_ref *ref);

/* A synthetic statx for a pseudo directory. */
void obj_pseudo_statx(const struct server *srv, const struct pseudo_node *n, struct statx *stx);

/* The attribute source common to every object of x's kind (fsid, limits, lease, minor). */
struct attr_src;
void obj_attr_src(struct opx *x, const struct nfs_obj *o, const struct statx *stx,
		  const uint8_t *fh, uint32_t fh_len, struct attr_src *src);

/* Permission check of cred against a statx: the mode bits, owner, group and supplementary
 * groups; root passes everything except execute of a file with no x bit (as the VFS).
 * want is a mix of R_OK, W_OK, X_OK. */
bool obj_may(const struct stor_cred *cred, const struct statx *stx, int want);

/* Which of want (R_OK | W_OK | X_OK) x->cred may do to the resolved object (statted into
 * x->stx), into x->allowed, then next. Root (fsuid 0) is answered here from the mode
 * (obj_may: root passes all but X of a file without x bits); anyone else is asked of the
 * kernel as that user (stor_prep_access), so POSIX ACLs count as for a local program. */
nfsstat4 opx_access(struct opx *x, int want, opx_step next);

/* The identity the caller has on export e (NULL: the pseudo fs): AUTH_SYS ids as sent, with
 * the export's squash applied (root_squash maps uid 0 and gid 0, also among the groups, to
 * anonuid/anongid; all_squash maps everyone and drops the groups); AUTH_NONE is the anon
 * ids. As exports(5) describes knfsd's. */
void obj_cred(const struct req_cred *rc, const struct export_rt *e, struct stor_cred *out);

/* Get a data fd of the resolved regular file into x->data_fd from the fd cache (kind 'r'
 * O_RDONLY, or 'w' O_RDWR when write) or by opening its handle, then continue with next.
 * The caller has checked the type (only regular files are ever opened for I/O). */
nfsstat4 opx_data_fd(struct opx *x, bool write, opx_step next);

/* A data buffer of n bytes for the op (READ, READ_PLUS), freed with the compound: NFS4_OK,
 * NFS4ERR_DELAY when memory is short for now (the client retries), or SERVERFAULT. */
nfsstat4 opx_data_buf(struct opx *x, size_t n, void **out);

/* Drop every cached fd of fh (an object that was removed: its fds would keep the inode and
 * its blocks alive). */
void obj_forget(struct server *srv, const uint8_t *fh, uint32_t len);

/*
 * Handles READDIR listed a moment ago, byte for byte: their inodes were just in memory (a
 * statx), and they were made from names in a directory inside the export. Resolving such a
 * handle on a local file system opens it inline instead of through the offload pool, and
 * skips the containment check (obj_inside: a readlink of /proc/self/fd/N, the costliest
 * syscall of a GETATTR that misses the fd cache). `ls -l` of a large directory is READDIRs and
 * then a GETATTR by handle per entry: the Linux client fills GNU ls's 1 MiB getdents buffer
 * (~32,000 names) before ls stats them one by one, so under a slow client the last GETATTR of
 * a batch comes a minute or more after its READDIR. A handle not noted, or noted more than
 * OBJ_WARM_SECS ago, goes through the pool (where a disk read cannot stall the loop) and is
 * checked. The table is direct-mapped and forgets by overwriting.
 */
#define OBJ_WARM_SECS 120
int obj_warm_create(struct server *srv);
void obj_warm_free(struct server *srv);

/*
 * The same table keeps the attributes READDIR's statx read for each noted handle, and GETATTR
 * answers from them without a syscall (obj_attr_cached) while both hold:
 * - no op that can change a file or a directory (OPF_CHANGES_FS: WRITE, SETATTR, CREATE,
 *   REMOVE, RENAME, OPEN, ...) has begun or ended since the READDIR sent its statx out: such
 *   an op bumps srv->attr_gen when it begins and again when it ends, and the entry keeps the
 *   generation READDIR saw before its statx;
 * - the attributes are at most `attr_cache` seconds old (config; 0 turns this off).
 * A change made on the disk by another program is therefore seen up to attr_cache seconds
 * late, as with Ganesha's attribute expiry; knfsd has no such cache. The Linux client
 * itself keeps attributes 3 to 60 seconds (acregmin/acregmax).
 */
void obj_warm_note(struct server *srv, const uint8_t *fh, uint32_t len, const struct statx *stx,
		   uint64_t gen);
bool obj_attr_cached(struct server *srv, const uint8_t *fh, uint32_t len, struct statx *out);

/* The change attribute of a directory now, for change_info4 after a change (the fd's inode
 * is in memory: statx does not wait for the disk). 0 when it cannot be read. */
uint64_t obj_change_now(int fd);

/* Encode the handle of the object fd of export e into fh (FH_MAX_SIZE bytes) and cache fd
 * (which the cache then owns) as its O_PATH fd, pinned until the compound is freed. Returns
 * the fd to use from now on (the cache's: it may be one it had already, ours then closed),
 * or -errno (fd closed then). */
int obj_adopt(struct compound *c, struct server *srv, const struct export_rt *e, int fd,
	      uint8_t *fh, uint32_t *fh_len);

/* SECINFO and SECINFO_NO_NAME: the flavors every export accepts, in order of preference
 * (RFC 8881 §2.6.3.1.1), and the current filehandle consumed. */
nfsstat4 nfs4_secinfo_result(struct compound *c, SECINFO4res *r);

/* A component name from the wire as a C string in compound memory, or the status that
 * refuses it (RFC 8881 §18.13.3 and §15.1.7: empty INVAL, too long NAMETOOLONG, "." "..",
 * "/" and NUL BADNAME). */
nfsstat4 obj_name(struct compound *c, const component4 *name, const char **out);

/* Register the handlers of the ops built in nfs4_*_ops.c. */
void nfs4_fh_ops_register(struct op_table *t);
void nfs4_dir_ops_register(struct op_table *t);
void nfs4_io_ops_register(struct op_table *t);
void nfs4_write_ops_register(struct op_table *t);
void nfs4_ns_ops_register(struct op_table *t);
void nfs4_v42_ops_register(struct op_table *t);

#endif

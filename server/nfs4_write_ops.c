/*
 * Ops that put data on disk: WRITE and COMMIT (RFC 8881 §18.32, §18.3; RFC 7530 §16.36,
 * §16.3).
 *
 * Stability (RFC 8881 §18.32.3): an UNSTABLE4 write is a plain pwritev (in the page cache,
 * committed = UNSTABLE4); DATA_SYNC4 and FILE_SYNC4 are pwritev2 with RWF_DSYNC / RWF_SYNC
 * through the ring, so the reply is sent only once the kernel says the data (and, for
 * FILE_SYNC4, all metadata) is durable, and committed says exactly that. COMMIT is an fsync
 * of the file through the ring. Every reply carries the server's write verifier, new at each
 * start (server.h): a client that sees it change sends its uncommitted writes again, which is
 * how a crash or SIGKILL between WRITE and COMMIT loses nothing.
 *
 * Permission: NFSv4 grants I/O by OPEN (the check happened there, as for a local open fd); a
 * WRITE with a special (anonymous) stateid is checked against the file's mode here, with the
 * owner override knfsd applies (the owner of a 0444 file may write through an open).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "errmap.h"
#include "object.h"
#include "state.h"
#include "stats.h"

/* The object is a regular file on a writable export, or the status that says why not. */
static nfsstat4 write_target(const struct opx *x)
{
	if (!x->obj.exp)
		return NFS4ERR_ROFS; /* the pseudo fs is read-only (RFC 8881 §7.6) */
	if (x->obj.is_root || S_ISDIR(x->stx.stx_mode))
		return NFS4ERR_ISDIR;
	if (S_ISLNK(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_SYMLINK;
	if (!S_ISREG(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
	if (x->obj.exp->cfg->access != CONFIG_ACCESS_RW)
		return NFS4ERR_ROFS;
	return NFS4_OK;
}

/* ---- WRITE -------------------------------------------------------------------------------- */

struct write_ctx {
	struct iovec iov;
	bool anon;
};

static nfsstat4 write_done(struct opx *x)
{
	const WRITE4args *a = &x->arg->nfs_argop4_u.opwrite;
	WRITE4resok *ok = &x->res->nfs_resop4_u.opwrite.WRITE4res_u.resok4;
	int n = x->sr.res;

	if (n < 0)
		return nfs_errno_to_status(n);
	/* A short write (the disk filled up half way) is reported as such: the client sends
	 * the rest again and then sees the error (RFC 8881 §18.32.3). */
	ok->count = (count4)n;
	stats_op_bytes(OP_WRITE, (uint64_t)n);
	ok->committed = a->stable > FILE_SYNC4 ? FILE_SYNC4 : a->stable;
	memcpy(ok->writeverf, x->srv->write_verf, NFS4_VERIFIER_SIZE);
	return NFS4_OK;
}

static nfsstat4 write_io(struct opx *x)
{
	const WRITE4args *a = &x->arg->nfs_argop4_u.opwrite;
	struct write_ctx *wc = x->priv;
	/* FILE_SYNC4 / DATA_SYNC4 (RFC 8881 §18.32.3) map onto O_SYNC / O_DSYNC semantics. */
	int rwf = a->stable == FILE_SYNC4 ? RWF_SYNC : a->stable == DATA_SYNC4 ? RWF_DSYNC : 0;

	wc->iov.iov_base = a->data.data_val;
	wc->iov.iov_len = a->data.data_len;
	stor_prep_write_sync(&x->sr, x->data_fd, &wc->iov, 1, a->offset, rwf);
	return opx_submit(x, write_done);
}

/* A special stateid writes what the caller may write, as the kernel says (ACLs count). */
static nfsstat4 write_anon_checked(struct opx *x)
{
	return x->allowed & W_OK ? opx_data_fd(x, true, write_io) : NFS4ERR_ACCESS;
}

static nfsstat4 write_statted(struct opx *x)
{
	struct write_ctx *wc = x->priv;
	nfsstat4 st = write_target(x);

	if (st != NFS4_OK)
		return st;
	if (wc->anon && x->cred.uid != x->stx.stx_uid)
		return opx_access(x, W_OK, write_anon_checked);
	return opx_data_fd(x, true, write_io);
}

static nfsstat4 write_resolved(struct opx *x)
{
	struct write_ctx *wc = x->priv;
	struct fdc_ref *ref;
	int fd;

	if (!x->obj.exp)
		return NFS4ERR_ROFS;
	if (x->obj.exp->cfg->access != CONFIG_ACCESS_RW)
		return NFS4ERR_ROFS;
	/* A read-write fd in the cache means a regular file that was opened for writing
	 * before: with an open stateid nothing else needs checking (no stat per WRITE). */
	if (!wc->anon) {
		fd = obj_fd_cached(x->srv, x->obj.fh, x->obj.fh_len, 'w', &ref);
		if (fd >= 0) {
			obj_pin_until_done(x->c, x->srv, ref);
			x->data_fd = fd;
			return write_io(x);
		}
	}
	return opx_stat(x, write_statted);
}

/* RFC 8881 §18.32 / RFC 7530 §16.36 WRITE. */
static nfsstat4 op_write(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const WRITE4args *a = &arg->nfs_argop4_u.opwrite;
	struct opx *x = opx_new(c, arg, res);
	struct write_ctx *wc;
	stateid4 sid;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	if (a->stable > FILE_SYNC4)
		return NFS4ERR_INVAL;
	st = state_stateid_arg(c, &a->stateid, &sid);
	if (st == NFS4_OK)
		st = state_check_io(x->req, &sid, c->cfh.data, c->cfh.len, true);
	if (st != NFS4_OK)
		return st;
	/* Past what a file can hold (off_t is signed): EFBIG, as a local pwrite says. */
	if (a->offset > (uint64_t)INT64_MAX ||
	    (uint64_t)a->data.data_len > (uint64_t)INT64_MAX - a->offset)
		return NFS4ERR_FBIG;
	if (a->data.data_len > x->srv->max_write)
		return NFS4ERR_INVAL; /* more than maxwrite: the record limit stops it earlier */
	wc = compound_alloc(c, sizeof(*wc));
	if (!wc)
		return NFS4ERR_SERVERFAULT;
	memset(wc, 0, sizeof(*wc));
	wc->anon = state_stateid_special(&sid);
	x->priv = wc;
	return opx_resolve(x, write_resolved);
}

/* ---- COMMIT ------------------------------------------------------------------------------- */

static nfsstat4 commit_done(struct opx *x)
{
	COMMIT4resok *ok = &x->res->nfs_resop4_u.opcommit.COMMIT4res_u.resok4;

	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	memcpy(ok->writeverf, x->srv->write_verf, NFS4_VERIFIER_SIZE);
	return NFS4_OK;
}

static nfsstat4 commit_sync(struct opx *x)
{
	/* The whole file rather than the range: the range form (sync_file_range) does not
	 * flush the metadata that finds the data again; knfsd's COMMIT is an fsync too. */
	stor_prep_fsync(&x->sr, x->data_fd, false);
	return opx_submit(x, commit_done);
}

static nfsstat4 commit_statted(struct opx *x)
{
	nfsstat4 st;

	/* RFC 8881 §18.3.3: COMMIT of a directory is ISDIR, of another non-file INVAL. */
	if (!x->obj.exp || x->obj.is_root || S_ISDIR(x->stx.stx_mode))
		return NFS4ERR_ISDIR;
	if (S_ISLNK(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_SYMLINK;
	if (!S_ISREG(x->stx.stx_mode))
		return x->c->minor == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
	st = write_target(x);
	if (st == NFS4ERR_ROFS) /* nothing was written there: nothing to commit */
		return commit_done(x);
	return st != NFS4_OK ? st : opx_data_fd(x, false, commit_sync);
}

/* RFC 8881 §18.3 / RFC 7530 §16.3 COMMIT. */
static nfsstat4 op_commit(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const COMMIT4args *a = &arg->nfs_argop4_u.opcommit;
	struct opx *x = opx_new(c, arg, res);

	if (!x)
		return NFS4ERR_SERVERFAULT;
	/* §18.3.3: an offset + count past 2^64 is INVAL. */
	if (a->count && a->offset > UINT64_MAX - a->count)
		return NFS4ERR_INVAL;
	return opx_resolve_stat(x, commit_statted);
}

void nfs4_write_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_WRITE, op_write);
	optable_set_handler(t, OP_COMMIT, op_commit);
}

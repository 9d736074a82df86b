/*
 * The NFSv4.2 ops of RFC 7862 this server implements: SEEK, ALLOCATE, DEALLOCATE, COPY
 * (intra-server, synchronous), CLONE, READ_PLUS, and OFFLOAD_CANCEL / OFFLOAD_STATUS for the
 * asynchronous copies that never exist here.
 *
 * Minor versions: the op table marks these ops 4.2-only (optable.c), and the COMPOUND engine
 * answers them OP_ILLEGAL in 4.0 and 4.1 before a handler runs, so nothing here checks the
 * minor version; the type errors are the 4.1+ ones (SYMLINK, WRONG_TYPE).
 *
 * Left to the engine's NFS4ERR_NOTSUPP (no handler): COPY_NOTIFY (inter-server copy),
 * WRITE_SAME, IO_ADVISE, LAYOUTERROR, LAYOUTSTATS and the pNFS ops.
 *
 * Stateids and permissions are those of READ (SEEK, READ_PLUS, COPY's source) and WRITE
 * (ALLOCATE, DEALLOCATE, COPY's and CLONE's destination): state_check_io(), and for the
 * special (anonymous) stateids the file's mode, with the owner override knfsd applies for
 * writing. Every storage call runs as the server: NFSv4 grants I/O by OPEN, as for a local
 * open fd (nfs4_write_ops.c).
 *
 * Decisions, where RFC 7862 leaves room or knfsd differs:
 * - SEEK (§15.11.3): an sa_offset at or past the end of the file is NFS4ERR_NXIO; no content
 *   of the asked type after an offset inside the file is NFS4_OK with sr_eof TRUE and
 *   sr_offset the file size, as the RFC says ("If the server cannot find a corresponding
 *   sa_what, then the status will still be NFS4_OK, but sr_eof would be TRUE"). knfsd answers
 *   NXIO there too (lseek's ENXIO); the Linux client turns both into ENXIO for SEEK_DATA.
 * - ALLOCATE / DEALLOCATE (§15.1, §15.4) are fallocate(2) with mode 0 (the size grows to
 *   cover the range) and PUNCH_HOLE | KEEP_SIZE (the size never changes), as knfsd. They are
 *   not synced: like the server's other metadata changes they are durable with the next
 *   COMMIT (an fsync of the file) or when the kernel writes them back.
 * - COPY (§15.2) is synchronous only, within one export (another export is NFS4ERR_XDEV, as
 *   RENAME and LINK across exports; knfsd allows any two files of one server). An inter-server
 *   copy (ca_source_server non-empty) is NFS4ERR_NOTSUPP, what knfsd answers when inter-server
 *   copy is off. ca_synchronous FALSE is answered synchronously too (§15.2.3 allows it). A
 *   source range past the end of the source file is NFS4ERR_INVAL (§15.2.3, "MUST"; knfsd
 *   copies short instead); ca_count 0 copies to the end of the source. One COPY moves at most
 *   COPY_MAX bytes, COPY_CHUNK at a time (each chunk is one copy_file_range in the offload
 *   pool, so a long copy does not hold a worker): wr_count says how much was done and the
 *   client asks for the rest, as with knfsd's 4 MiB limit. The data is in the page cache
 *   when COPY returns: wr_committed is UNSTABLE4 with the server's write verifier, and the
 *   client sends COMMIT (the Linux client puts it in the same COMPOUND), as with knfsd.
 * - CLONE (§15.13) is FICLONERANGE. Errors go through the one errno mapper: a file system
 *   that cannot share blocks (ext4, tmpfs: EOPNOTSUPP) is NFS4ERR_NOTSUPP, misaligned ranges
 *   (EINVAL) NFS4ERR_INVAL, a mount crossed inside the export (EXDEV) NFS4ERR_XDEV. The
 *   clone_blksize attribute is not offered (§4.1.2 asks for it with CLONE: the Linux client
 *   takes its absence as "no alignment", and the kernel checks alignment itself).
 * - READ_PLUS (§15.10): the range is read like READ, then SEEK_HOLE / SEEK_DATA find the
 *   holes inside what was read; a hole is reported only where the bytes read are zeros too,
 *   so a write racing with the scan can never make the reply disagree with the data. Files
 *   without holes (allocated blocks cover the size) skip the scan: one data segment, whose
 *   bytes go out of line as READ's do (compound_add_payload); replies with holes go through
 *   the XDR encoder (one copy into the reply).
 * - OFFLOAD_CANCEL / OFFLOAD_STATUS (§15.8, §15.9): no copy is ever asynchronous, so no
 *   stateid names one: NFS4ERR_BAD_STATEID, as knfsd answers for an unknown copy.
 */
#define _GNU_SOURCE /* FALLOC_FL_*, SEEK_DATA / SEEK_HOLE */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmap.h"
#include "object.h"
#include "state.h"

#define COPY_CHUNK (4u << 20)           /* bytes per copy_file_range call */
#define COPY_MAX ((uint64_t)64 << 20)   /* bytes per COPY */
#define RP_MAX_HOLES 64u                /* hole segments per READ_PLUS reply */
#define RP_MIN_HOLE 512u                /* smaller holes go out as data (zeros) */
/* READ_PLUS result around the data: opcode, status, rpr_eof, the contents count, then one
 * data segment's content type, offset, length and padding. A hole segment (20 bytes) stands
 * for at least RP_MIN_HOLE bytes of data, so holes only ever make the reply smaller. */
#define RP_OVERHEAD (16u + 4u + 8u + 4u + 3u)

/* ---- shared -------------------------------------------------------------------------------- */

/* May stateid in do I/O (write or not) on the file with handle fh? *anon says whether it is
 * a special stateid. */
static nfsstat4 v42_stateid(struct opx *x, const stateid4 *in, const struct compound_fh *fh,
			    bool write, bool *anon)
{
	stateid4 sid;
	nfsstat4 st = state_stateid_arg(x->c, in, &sid);

	if (st == NFS4_OK)
		st = state_check_io(x->req, &sid, fh->data, fh->len, write);
	if (st == NFS4_OK)
		*anon = state_stateid_special(&sid);
	return st;
}

/* The statted x->obj is a regular file, or the status that says what it is instead
 * (RFC 8881 §15.1.2.3 ISDIR, §15.1.2.8 SYMLINK, §15.1.2.9 WRONG_TYPE). */
static nfsstat4 v42_regular(const struct opx *x)
{
	if (!x->obj.exp || x->obj.is_root || S_ISDIR(x->stx.stx_mode))
		return NFS4ERR_ISDIR;
	if (S_ISLNK(x->stx.stx_mode))
		return NFS4ERR_SYMLINK;
	if (!S_ISREG(x->stx.stx_mode))
		return NFS4ERR_WRONG_TYPE;
	return NFS4_OK;
}

/* Reading x->obj with a special stateid needs read permission (as READ). */
static bool v42_may_read(const struct opx *x, bool anon)
{
	return !anon || obj_may(&x->cred, &x->stx, R_OK);
}

/* Writing it needs write permission, or ownership (knfsd's owner override, as WRITE). */
static bool v42_may_write(const struct opx *x, bool anon)
{
	return !anon || obj_may(&x->cred, &x->stx, W_OK) || x->cred.uid == x->stx.stx_uid;
}

/* The export of x->obj takes changes (the pseudo fs never does: RFC 8881 §7.6). */
static bool v42_writable(const struct opx *x)
{
	return x->obj.exp && x->obj.exp->cfg->access == CONFIG_ACCESS_RW;
}

/* The file's size now: fstat of an open fd does not wait for the disk. */
static bool v42_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	*size = (uint64_t)st.st_size;
	return true;
}

/* ---- SEEK (RFC 7862 §15.11) ----------------------------------------------------------------- */

struct seek_ctx {
	bool anon;
};

static nfsstat4 seek_done(struct opx *x)
{
	const SEEK4args *a = &x->arg->nfs_argop4_u.opseek;
	seek_res4 *ok = &x->res->nfs_resop4_u.opseek.SEEK4res_u.resok4;
	uint64_t size;

	if (!v42_size(x->data_fd, &size))
		return nfs_errno_to_status(-errno);
	if (x->sr.res == -ENXIO) {
		/* §15.11.3: an offset past the end is NXIO; nothing of the kind after an offset
		 * inside the file (data asked in a trailing hole) is OK with sr_eof. */
		if (a->sa_offset >= size)
			return NFS4ERR_NXIO;
		ok->sr_eof = TRUE;
		ok->sr_offset = size;
		return NFS4_OK;
	}
	if (x->sr.res < 0)
		return nfs_errno_to_status(x->sr.res);
	ok->sr_offset = (offset4)x->sr.u.seek.result;
	/* every file has a virtual hole at its end (§15.11.3): finding it is the end */
	ok->sr_eof = ok->sr_offset >= size;
	return NFS4_OK;
}

static nfsstat4 seek_io(struct opx *x)
{
	const SEEK4args *a = &x->arg->nfs_argop4_u.opseek;

	stor_prep_lseek(&x->sr, x->data_fd, (int64_t)a->sa_offset,
			a->sa_what == NFS4_CONTENT_DATA ? SEEK_DATA : SEEK_HOLE);
	return opx_submit(x, seek_done);
}

static nfsstat4 seek_statted(struct opx *x)
{
	const SEEK4args *a = &x->arg->nfs_argop4_u.opseek;
	struct seek_ctx *sc = x->priv;
	nfsstat4 st = v42_regular(x);

	if (st != NFS4_OK)
		return st;
	if (!v42_may_read(x, sc->anon))
		return NFS4ERR_ACCESS;
	if (a->sa_offset >= x->stx.stx_size)
		return NFS4ERR_NXIO; /* §15.11.3; lseek would say ENXIO all the same */
	return opx_data_fd(x, false, seek_io);
}

/* RFC 7862 §15.11 SEEK. */
static nfsstat4 op_seek(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const SEEK4args *a = &arg->nfs_argop4_u.opseek;
	struct opx *x = opx_new(c, arg, res);
	struct seek_ctx *sc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	sc = compound_alloc(c, sizeof(*sc));
	if (!sc)
		return NFS4ERR_SERVERFAULT;
	memset(sc, 0, sizeof(*sc));
	x->priv = sc;
	/* §15.11.3: the stateid rules of READ_PLUS, i.e. of READ */
	st = v42_stateid(x, &a->sa_stateid, &c->cfh, false, &sc->anon);
	if (st != NFS4_OK)
		return st;
	/* data_content4 has two values; another one is a union arm we do not know (knfsd) */
	if (a->sa_what != NFS4_CONTENT_DATA && a->sa_what != NFS4_CONTENT_HOLE)
		return NFS4ERR_UNION_NOTSUPP;
	/* past what any file can hold (off_t is signed): past its end */
	if (a->sa_offset > (uint64_t)INT64_MAX)
		return NFS4ERR_NXIO;
	return opx_resolve_stat(x, seek_statted);
}

/* ---- ALLOCATE (§15.1) and DEALLOCATE (§15.4) ------------------------------------------------ */

struct falloc_ctx {
	int mode;
	uint64_t off, len;
	bool anon;
};

static nfsstat4 falloc_done(struct opx *x)
{
	return x->sr.res < 0 ? nfs_errno_to_status(x->sr.res) : NFS4_OK;
}

static nfsstat4 falloc_io(struct opx *x)
{
	struct falloc_ctx *fc = x->priv;

	stor_prep_fallocate(&x->sr, x->data_fd, fc->mode, fc->off, fc->len);
	return opx_submit(x, falloc_done);
}

static nfsstat4 falloc_statted(struct opx *x)
{
	struct falloc_ctx *fc = x->priv;
	nfsstat4 st = v42_regular(x);

	if (st != NFS4_OK)
		return st;
	if (!v42_may_write(x, fc->anon))
		return NFS4ERR_ACCESS;
	return opx_data_fd(x, true, falloc_io);
}

static nfsstat4 falloc_resolved(struct opx *x)
{
	/* a change: read-only exports and the pseudo fs refuse it first, as WRITE */
	if (!v42_writable(x))
		return NFS4ERR_ROFS;
	return opx_stat(x, falloc_statted);
}

static nfsstat4 falloc_start(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res,
			     const stateid4 *sid, uint64_t off, uint64_t len, int mode)
{
	struct opx *x = opx_new(c, arg, res);
	struct falloc_ctx *fc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	fc = compound_alloc(c, sizeof(*fc));
	if (!fc)
		return NFS4ERR_SERVERFAULT;
	memset(fc, 0, sizeof(*fc));
	x->priv = fc;
	st = v42_stateid(x, sid, &c->cfh, true, &fc->anon);
	if (st != NFS4_OK)
		return st;
	/* As fallocate(2) (and knfsd, which passes them on): an empty range or a negative
	 * offset or length (off_t is signed) is INVAL, a range ending past what a file can
	 * hold FBIG. */
	if (len == 0 || off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX)
		return NFS4ERR_INVAL;
	if (len > (uint64_t)INT64_MAX - off)
		return NFS4ERR_FBIG;
	fc->mode = mode;
	fc->off = off;
	fc->len = len;
	return opx_resolve(x, falloc_resolved);
}

/* RFC 7862 §15.1 ALLOCATE: reserve the blocks; a range past the end grows the file. */
static nfsstat4 op_allocate(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const ALLOCATE4args *a = &arg->nfs_argop4_u.opallocate;

	return falloc_start(c, arg, res, &a->aa_stateid, a->aa_offset, a->aa_length, 0);
}

/* RFC 7862 §15.4 DEALLOCATE: punch a hole (reads as zeros), the size stays. */
static nfsstat4 op_deallocate(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const DEALLOCATE4args *a = &arg->nfs_argop4_u.opdeallocate;

	return falloc_start(c, arg, res, &a->da_stateid, a->da_offset, a->da_length,
			    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

/* ---- COPY (§15.2) and CLONE (§15.13) -------------------------------------------------------- */

/*
 * Both work on two files: the saved FH is the source, the current FH the destination
 * (x->obj). opx_stat() and opx_data_fd() work on x->obj, so the source takes its place while
 * it is statted and opened, then the destination comes back.
 */
struct copy_ctx {
	struct nfs_obj other;  /* the source, or the destination while the source is x->obj */
	struct statx src_stx;
	int src_fd;
	bool src_anon, dst_anon;
	bool clone;
	uint64_t src_off, dst_off, count; /* as asked; count 0: to the end of the source */
	uint64_t total;        /* COPY: bytes this COPY copies (count 0 resolved, capped) */
	uint64_t done;
};

static void copy_swap(struct opx *x, struct copy_ctx *cc)
{
	struct nfs_obj t = x->obj;

	x->obj = cc->other;
	cc->other = t;
}

static nfsstat4 copy_reply(struct opx *x)
{
	struct copy_ctx *cc = x->priv;
	COPY4resok *ok = &x->res->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4;

	/* §15.2.3: a synchronous copy has no callback stateid */
	ok->cr_response.wr_callback_id.wr_callback_id_len = 0;
	ok->cr_response.wr_callback_id.wr_callback_id_val = NULL;
	ok->cr_response.wr_count = cc->done;
	/* in the page cache: the client COMMITs (checking the verifier), as after WRITE */
	ok->cr_response.wr_committed = UNSTABLE4;
	memcpy(ok->cr_response.wr_writeverf, x->srv->write_verf, NFS4_VERIFIER_SIZE);
	/* done in order and before the reply, whatever the client asked for */
	ok->cr_requirements.cr_consecutive = TRUE;
	ok->cr_requirements.cr_synchronous = TRUE;
	return NFS4_OK;
}

static nfsstat4 copy_step(struct opx *x);

static nfsstat4 copy_stepped(struct opx *x)
{
	struct copy_ctx *cc = x->priv;
	int n = x->sr.res;

	if (n < 0) {
		/* After some progress the short count is the answer; the client asks for the
		 * rest and meets the error then (as a short WRITE, RFC 8881 §18.32.3). */
		return cc->done ? copy_reply(x) : nfs_errno_to_status(n);
	}
	if (n == 0) /* the source ended early (truncated meanwhile): that much was copied */
		return copy_reply(x);
	cc->done += (uint64_t)n;
	return cc->done < cc->total ? copy_step(x) : copy_reply(x);
}

static nfsstat4 copy_step(struct opx *x)
{
	struct copy_ctx *cc = x->priv;
	uint64_t left = cc->total - cc->done;

	stor_prep_copy_range(&x->sr, cc->src_fd, cc->src_off + cc->done, x->data_fd,
			     cc->dst_off + cc->done, left < COPY_CHUNK ? left : COPY_CHUNK);
	return opx_submit(x, copy_stepped);
}

static nfsstat4 copy_io(struct opx *x)
{
	struct copy_ctx *cc = x->priv;

	return cc->total ? copy_step(x) : copy_reply(x);
}

static nfsstat4 clone_done(struct opx *x)
{
	return x->sr.res < 0 ? nfs_errno_to_status(x->sr.res) : NFS4_OK;
}

static nfsstat4 clone_io(struct opx *x)
{
	struct copy_ctx *cc = x->priv;

	/* FICLONERANGE takes a length of 0 as "to the end of the source", as cl_count */
	stor_prep_clone_range(&x->sr, cc->src_fd, cc->src_off, x->data_fd, cc->dst_off,
			      cc->count);
	return opx_submit(x, clone_done);
}

/* Both files are open and statted (x->stx the destination's, cc->src_stx the source's). */
static nfsstat4 copy_dst_statted(struct opx *x)
{
	struct copy_ctx *cc = x->priv;
	uint64_t size = cc->src_stx.stx_size, len;
	nfsstat4 st = v42_regular(x);

	if (st != NFS4_OK)
		return st;
	/* one export, as RENAME and LINK (knfsd allows any two files of the server) */
	if (x->obj.exp != cc->other.exp)
		return NFS4ERR_XDEV;
	if (!v42_writable(x))
		return NFS4ERR_ROFS;
	if (!v42_may_write(x, cc->dst_anon))
		return NFS4ERR_ACCESS;
	/* §15.2.3 / §15.13.3: a source range past the end of the source file is INVAL;
	 * a count of 0 means everything from the offset to the end. */
	if (cc->src_off > size)
		return NFS4ERR_INVAL;
	if (cc->count == 0)
		len = size - cc->src_off;
	else if (cc->count > size - cc->src_off)
		return NFS4ERR_INVAL;
	else
		len = cc->count;
	/* the destination range must be one a file can hold (as WRITE) */
	if (cc->dst_off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - cc->dst_off)
		return NFS4ERR_FBIG;
	/* §15.2.3 / §15.13.3: within one file the two ranges must not overlap */
	if (len && x->stx.stx_ino == cc->src_stx.stx_ino &&
	    x->stx.stx_dev_major == cc->src_stx.stx_dev_major &&
	    x->stx.stx_dev_minor == cc->src_stx.stx_dev_minor &&
	    cc->src_off < cc->dst_off + len && cc->dst_off < cc->src_off + len)
		return NFS4ERR_INVAL;
	cc->total = len < COPY_MAX ? len : COPY_MAX;
	return opx_data_fd(x, true, cc->clone ? clone_io : copy_io);
}

/* The source is open: bring the destination back as x->obj. */
static nfsstat4 copy_src_opened(struct opx *x)
{
	struct copy_ctx *cc = x->priv;

	cc->src_fd = x->data_fd;
	cc->src_stx = x->stx;
	copy_swap(x, cc);
	x->data_fd = -1;
	return opx_stat(x, copy_dst_statted);
}

/* x->obj is the source here. */
static nfsstat4 copy_src_statted(struct opx *x)
{
	struct copy_ctx *cc = x->priv;
	nfsstat4 st = v42_regular(x);

	if (st != NFS4_OK)
		return st;
	if (!v42_may_read(x, cc->src_anon))
		return NFS4ERR_ACCESS;
	return opx_data_fd(x, false, copy_src_opened);
}

static nfsstat4 copy_src_resolved(struct opx *x)
{
	copy_swap(x, x->priv);
	return opx_stat(x, copy_src_statted);
}

static nfsstat4 copy_dst_resolved(struct opx *x)
{
	struct copy_ctx *cc = x->priv;

	return opx_resolve_saved(x, &cc->other, copy_src_resolved);
}

static nfsstat4 copy_start(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res,
			   const stateid4 *src_sid, const stateid4 *dst_sid, uint64_t src_off,
			   uint64_t dst_off, uint64_t count, bool clone)
{
	struct opx *x = opx_new(c, arg, res);
	struct copy_ctx *cc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	/* the source is the saved filehandle (RFC 8881 §15.1.2.5: none is NOFILEHANDLE) */
	if (!c->sfh.set)
		return NFS4ERR_NOFILEHANDLE;
	cc = compound_alloc(c, sizeof(*cc));
	if (!cc)
		return NFS4ERR_SERVERFAULT;
	memset(cc, 0, sizeof(*cc));
	cc->src_fd = -1;
	x->priv = cc;
	/* §15.2.3 / §15.13.3: the source stateid must allow reading, the destination's
	 * writing, each on its own file */
	st = v42_stateid(x, src_sid, &c->sfh, false, &cc->src_anon);
	if (st == NFS4_OK)
		st = v42_stateid(x, dst_sid, &c->cfh, true, &cc->dst_anon);
	if (st != NFS4_OK)
		return st;
	cc->clone = clone;
	cc->src_off = src_off;
	cc->dst_off = dst_off;
	cc->count = count;
	return opx_resolve(x, copy_dst_resolved);
}

/* RFC 7862 §15.2 COPY, intra-server and synchronous. */
static nfsstat4 op_copy(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const COPY4args *a = &arg->nfs_argop4_u.opcopy;

	/* §15.2.3: a source server names an inter-server copy, not offered (knfsd's answer
	 * when it is off) */
	if (a->ca_source_server.ca_source_server_len != 0)
		return NFS4ERR_NOTSUPP;
	return copy_start(c, arg, res, &a->ca_src_stateid, &a->ca_dst_stateid, a->ca_src_offset,
			  a->ca_dst_offset, a->ca_count, false);
}

/* RFC 7862 §15.13 CLONE. */
static nfsstat4 op_clone(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const CLONE4args *a = &arg->nfs_argop4_u.opclone;

	return copy_start(c, arg, res, &a->cl_src_stateid, &a->cl_dst_stateid, a->cl_src_offset,
			  a->cl_dst_offset, a->cl_count, true);
}

/* RFC 7862 §15.8 OFFLOAD_CANCEL, §15.9 OFFLOAD_STATUS: every COPY is synchronous, so no
 * stateid names an asynchronous one. */
static nfsstat4 op_offload(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	(void)c;
	(void)arg;
	(void)res;
	return NFS4ERR_BAD_STATEID;
}

/* ---- READ_PLUS (§15.10) ---------------------------------------------------------------------- */

struct rp_hole {
	uint64_t off, len;
};

struct rp_ctx {
	bool anon;
	uint32_t count;   /* bytes to read (clipped to max_read and the reply room) */
	uint8_t *buf;
	struct iovec iov;
	uint64_t off;     /* rpa_offset */
	uint64_t end;     /* off + bytes read */
	uint64_t pos;     /* where the hole scan goes on */
	uint64_t hole;    /* start of the hole being measured */
	unsigned steps;   /* lseek pairs done */
	unsigned nholes;
	struct rp_hole holes[RP_MAX_HOLES];
};

static bool rp_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* The reply: data segments between the holes found, eof as READ (RFC 8881 §18.22.4). */
static nfsstat4 rp_finish(struct opx *x)
{
	struct rp_ctx *rc = x->priv;
	read_plus_res4 *ok = &x->res->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	read_plus_content *seg;
	uint64_t cur = rc->off, size;
	unsigned n = 0;

	ok->rpr_eof = (rc->end - rc->off) < rc->count ||
		      (v42_size(x->data_fd, &size) && rc->end >= size);
	if (rc->end == rc->off)
		return NFS4_OK;
	seg = compound_alloc(x->c, (2 * rc->nholes + 1) * sizeof(*seg));
	if (!seg)
		return NFS4ERR_SERVERFAULT;
	for (unsigned i = 0; i <= rc->nholes; i++) {
		uint64_t stop = i < rc->nholes ? rc->holes[i].off : rc->end;

		if (stop > cur) {
			memset(&seg[n], 0, sizeof(seg[n]));
			seg[n].rpc_content = NFS4_CONTENT_DATA;
			seg[n].read_plus_content_u.rpc_data.d_offset = cur;
			seg[n].read_plus_content_u.rpc_data.d_data.d_data_len = (u_int)(stop - cur);
			seg[n].read_plus_content_u.rpc_data.d_data.d_data_val =
				(char *)rc->buf + (cur - rc->off);
			n++;
		}
		if (i < rc->nholes) {
			memset(&seg[n], 0, sizeof(seg[n]));
			seg[n].rpc_content = NFS4_CONTENT_HOLE;
			seg[n].read_plus_content_u.rpc_hole.di_offset = rc->holes[i].off;
			seg[n].read_plus_content_u.rpc_hole.di_length = rc->holes[i].len;
			n++;
			cur = rc->holes[i].off + rc->holes[i].len;
		}
	}
	ok->rpr_contents.rpr_contents_len = n;
	ok->rpr_contents.rpr_contents_val = seg;
	/* One data segment (the common case: a file without holes): its bytes go out as their
	 * own iovec like READ's, without passing through the XDR encoder. */
	if (n == 1 && seg[0].rpc_content == NFS4_CONTENT_DATA &&
	    compound_add_payload(x->c, seg[0].read_plus_content_u.rpc_data.d_data.d_data_val,
				 seg[0].read_plus_content_u.rpc_data.d_data.d_data_len) < 0)
		return NFS4ERR_SERVERFAULT;
	return NFS4_OK;
}

static nfsstat4 rp_scan(struct opx *x);

/* SEEK_DATA from the hole's start answered: the hole is [hole, data). */
static nfsstat4 rp_data_found(struct opx *x)
{
	struct rp_ctx *rc = x->priv;
	uint64_t data;

	if (x->sr.res == -ENXIO)
		data = rc->end; /* a hole up to the end of the file */
	else if (x->sr.res < 0 || (uint64_t)x->sr.u.seek.result <= rc->hole)
		return rp_finish(x); /* changed under us: the rest goes out as data */
	else
		data = (uint64_t)x->sr.u.seek.result < rc->end ? (uint64_t)x->sr.u.seek.result
								: rc->end;
	/* Only where the bytes read are zeros too: a write between the read and the seeks
	 * must not turn data the client gets into a hole, or the other way round. */
	if (data - rc->hole >= RP_MIN_HOLE &&
	    rp_zero(rc->buf + (rc->hole - rc->off), (size_t)(data - rc->hole))) {
		rc->holes[rc->nholes].off = rc->hole;
		rc->holes[rc->nholes].len = data - rc->hole;
		rc->nholes++;
	}
	rc->pos = data;
	return rp_scan(x);
}

/* SEEK_HOLE from pos answered. */
static nfsstat4 rp_hole_found(struct opx *x)
{
	struct rp_ctx *rc = x->priv;

	/* an error (ENXIO: the file shrank) or no hole before the end: the rest is data */
	if (x->sr.res < 0 || (uint64_t)x->sr.u.seek.result >= rc->end)
		return rp_finish(x);
	rc->hole = (uint64_t)x->sr.u.seek.result < rc->pos ? rc->pos
							 : (uint64_t)x->sr.u.seek.result;
	stor_prep_lseek(&x->sr, x->data_fd, (int64_t)rc->hole, SEEK_DATA);
	return opx_submit(x, rp_data_found);
}

static nfsstat4 rp_scan(struct opx *x)
{
	struct rp_ctx *rc = x->priv;

	if (rc->pos >= rc->end || rc->nholes == RP_MAX_HOLES || rc->steps++ >= 2 * RP_MAX_HOLES)
		return rp_finish(x);
	stor_prep_lseek(&x->sr, x->data_fd, (int64_t)rc->pos, SEEK_HOLE);
	return opx_submit(x, rp_hole_found);
}

static nfsstat4 rp_read_done(struct opx *x)
{
	struct rp_ctx *rc = x->priv;
	int n = x->sr.res;

	if (n < 0)
		return nfs_errno_to_status(n);
	rc->end = rc->off + (uint64_t)n;
	rc->pos = rc->off;
	/* Allocated blocks that cover the size: no holes to look for (a file with holes
	 * counted this way merely sends its zeros as data). */
	if (n == 0 || (uint64_t)x->stx.stx_blocks * 512u >= x->stx.stx_size)
		return rp_finish(x);
	return rp_scan(x);
}

static nfsstat4 rp_io(struct opx *x)
{
	struct rp_ctx *rc = x->priv;
	void *buf;
	nfsstat4 st;

	rc->end = rc->off;
	if (rc->count == 0)
		return rp_finish(x);
	st = opx_data_buf(x, rc->count, &buf);
	if (st != NFS4_OK)
		return st;
	rc->buf = buf;
	rc->iov.iov_base = rc->buf;
	rc->iov.iov_len = rc->count;
	stor_prep_read(&x->sr, x->data_fd, &rc->iov, 1, rc->off);
	return opx_submit(x, rp_read_done);
}

static nfsstat4 rp_statted(struct opx *x)
{
	struct rp_ctx *rc = x->priv;
	nfsstat4 st = v42_regular(x);

	if (st != NFS4_OK)
		return st;
	if (!v42_may_read(x, rc->anon))
		return NFS4ERR_ACCESS;
	return opx_data_fd(x, false, rp_io);
}

/* RFC 7862 §15.10 READ_PLUS. */
static nfsstat4 op_read_plus(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const READ_PLUS4args *a = &arg->nfs_argop4_u.opread_plus;
	struct opx *x = opx_new(c, arg, res);
	size_t room = compound_reply_room(c);
	struct rp_ctx *rc;
	nfsstat4 st;

	if (!x)
		return NFS4ERR_SERVERFAULT;
	rc = compound_alloc(c, sizeof(*rc));
	if (!rc)
		return NFS4ERR_SERVERFAULT;
	memset(rc, 0, sizeof(*rc));
	x->priv = rc;
	/* §15.10.3: the stateid rules of READ */
	st = v42_stateid(x, &a->rpa_stateid, &c->cfh, false, &rc->anon);
	if (st != NFS4_OK)
		return st;
	/* The reply must fit the session's limit: a longer read is cut, as READ's
	 * (RFC 8881 §2.10.6.4). */
	if (room < RP_OVERHEAD)
		return NFS4ERR_REP_TOO_BIG;
	rc->off = a->rpa_offset;
	rc->count = a->rpa_count < x->srv->max_read ? a->rpa_count : x->srv->max_read;
	if (rc->count > room - RP_OVERHEAD)
		rc->count = (uint32_t)(room - RP_OVERHEAD);
	/* offsets past what a file can hold read nothing, at end of file (as READ) */
	if (a->rpa_offset >= (uint64_t)INT64_MAX)
		rc->count = 0;
	else if (a->rpa_offset + rc->count > (uint64_t)INT64_MAX)
		rc->count = (uint32_t)((uint64_t)INT64_MAX - a->rpa_offset);
	return opx_resolve_stat(x, rp_statted);
}

void nfs4_v42_ops_register(struct op_table *t)
{
	optable_set_handler(t, OP_SEEK, op_seek);
	optable_set_handler(t, OP_ALLOCATE, op_allocate);
	optable_set_handler(t, OP_DEALLOCATE, op_deallocate);
	optable_set_handler(t, OP_COPY, op_copy);
	optable_set_handler(t, OP_CLONE, op_clone);
	optable_set_handler(t, OP_READ_PLUS, op_read_plus);
	optable_set_handler(t, OP_OFFLOAD_CANCEL, op_offload);
	optable_set_handler(t, OP_OFFLOAD_STATUS, op_offload);
}

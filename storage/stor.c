/*
 * stor: the io_uring engine and its offload pool (contract in stor.h).
 *
 * A request is in exactly one place at a time:
 *   backlog     waiting for ring space (SQ slot, and room in the CQ: see cq_cap)
 *   the ring    an SQE is prepared or the kernel has it; user_data points back at the request
 *   to_pool     offloaded, batched until stor_flush() hands it to the workers
 *   pool.work   waiting for a worker; a worker then runs the syscall
 *   pool.done   finished by a worker, waiting for stor_reap() on the owning thread
 *   local_done  finished without reaching anyone (malformed request), waiting for stor_reap()
 * Only the owning thread touches everything but pool.work / pool.done, which are under locks.
 */
#define _GNU_SOURCE
#include "stor.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h> /* renameat2 */
#include <stdlib.h>
#include <linux/fs.h> /* FICLONERANGE */
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fh.h"

#define STOR_MAX_ENTRIES 32768 /* IORING_MAX_ENTRIES */
#define STOR_REAP_BATCH 64

struct stor_list {
	struct stor_req *head, *tail;
};

struct stor_pool {
	pthread_mutex_t lock; /* work, stop */
	pthread_cond_t cond;
	struct stor_list work;
	bool stop;
	pthread_mutex_t done_lock; /* done */
	struct stor_list done;
	unsigned int nthreads;
	pthread_t *threads;
};

struct stor {
	struct io_uring ring;
	bool have_ring;
	unsigned int ring_flags;
	/*
	 * At most this many requests in the kernel at once: the CQ size. Then a burst of
	 * completions can never overflow the CQ (and we never lean on the kernel's overflow list).
	 */
	unsigned int cq_cap;
	unsigned int in_ring;
	bool native[STOR_OP_NR];
	int efd;
	pthread_t owner;
	bool reaping;
	struct stor_list backlog;
	struct stor_list to_pool;
	unsigned int to_pool_n; /* requests in to_pool */
	struct stor_list local_done;
	struct stor_pool pool;
	struct stor_stats stats;
	/* The identity workers return to between requests with a cred (see stor_become). */
	uid_t own_uid;
	gid_t own_gid;
	int own_ngroups;
	gid_t own_groups[64];
};

/* Our op -> io_uring opcode; -1: no opcode in this liburing generation, always offloaded. */
static const struct {
	const char *name;
	int opcode;
} stor_ops[STOR_OP_NR] = {
	[STOR_OP_READ] = {"read", IORING_OP_READV},
	[STOR_OP_WRITE] = {"write", IORING_OP_WRITEV},
	[STOR_OP_FSYNC] = {"fsync", IORING_OP_FSYNC},
	[STOR_OP_FDATASYNC] = {"fdatasync", IORING_OP_FSYNC},
	[STOR_OP_STATX] = {"statx", IORING_OP_STATX},
	[STOR_OP_OPENAT] = {"openat", IORING_OP_OPENAT},
	[STOR_OP_CLOSE] = {"close", IORING_OP_CLOSE},
	[STOR_OP_FALLOCATE] = {"fallocate", IORING_OP_FALLOCATE},
	[STOR_OP_UNLINKAT] = {"unlinkat", IORING_OP_UNLINKAT},
	[STOR_OP_MKDIRAT] = {"mkdirat", IORING_OP_MKDIRAT},
	[STOR_OP_RENAMEAT] = {"renameat", IORING_OP_RENAMEAT},
	[STOR_OP_LINKAT] = {"linkat", IORING_OP_LINKAT},
	[STOR_OP_SYMLINKAT] = {"symlinkat", IORING_OP_SYMLINKAT},
	[STOR_OP_GETDENTS] = {"getdents", -1},
	[STOR_OP_OPEN_BY_HANDLE] = {"open_by_handle", -1},
	[STOR_OP_READLINKAT] = {"readlinkat", -1},
	[STOR_OP_FCHMOD] = {"fchmod", -1},
	[STOR_OP_FCHOWN] = {"fchown", -1},
	[STOR_OP_UTIMENSAT] = {"utimensat", -1},
	[STOR_OP_FTRUNCATE] = {"ftruncate", -1},
	[STOR_OP_MKNODAT] = {"mknodat", -1},
	[STOR_OP_COPY_RANGE] = {"copy_file_range", -1},
	[STOR_OP_CLONE_RANGE] = {"clone_range", -1},
	[STOR_OP_LSEEK] = {"lseek", -1},
	[STOR_OP_ACCESS] = {"access", -1},
	[STOR_OP_STATX_MANY] = {"statx_many", -1},
};

#define stor_assert_owner(st) assert(pthread_equal((st)->owner, pthread_self()))

/* ---- intrusive FIFO lists ---- */

static bool list_empty(const struct stor_list *l)
{
	return l->head == NULL;
}

static void list_push(struct stor_list *l, struct stor_req *r)
{
	r->next_ = NULL;
	if (l->tail)
		l->tail->next_ = r;
	else
		l->head = r;
	l->tail = r;
}

static struct stor_req *list_pop(struct stor_list *l)
{
	struct stor_req *r = l->head;

	if (r) {
		l->head = r->next_;
		if (!l->head)
			l->tail = NULL;
		r->next_ = NULL;
	}
	return r;
}

/* Move all of src to the end of dst. */
static void list_splice(struct stor_list *dst, struct stor_list *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next_ = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	src->head = src->tail = NULL;
}

/* ---- the event fd ---- */

static void stor_kick(struct stor *st)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated, i.e. already readable: nothing lost. */
	if (write(st->efd, &one, sizeof(one)) < 0)
		assert(errno == EAGAIN || errno == EINTR);
}

static void stor_clear_event(struct stor *st)
{
	uint64_t v;

	if (read(st->efd, &v, sizeof(v)) < 0)
		assert(errno == EAGAIN || errno == EINTR);
}

/* ---- the synchronous form of every operation, for the offload pool ---- */

static int stor_sysret(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

static int stor_exec(struct stor_req *r)
{
	switch (r->op) {
	case STOR_OP_READ:
		return stor_sysret(preadv(r->fd, r->u.rw.iov, (int)r->u.rw.iovcnt, (off_t)r->u.rw.off));
	case STOR_OP_WRITE:
		return stor_sysret(pwritev2(r->fd, r->u.rw.iov, (int)r->u.rw.iovcnt,
					    (off_t)r->u.rw.off, r->u.rw.rwf));
	case STOR_OP_FSYNC:
		return stor_sysret(fsync(r->fd));
	case STOR_OP_FDATASYNC:
		return stor_sysret(fdatasync(r->fd));
	case STOR_OP_STATX:
		return stor_sysret(statx(r->fd, r->u.statx.path, r->u.statx.flags, r->u.statx.mask,
					 r->u.statx.buf));
	case STOR_OP_OPENAT:
		return stor_sysret(openat(r->fd, r->u.open.path, r->u.open.flags, r->u.open.mode));
	case STOR_OP_CLOSE:
		return stor_sysret(close(r->fd));
	case STOR_OP_FALLOCATE:
		return stor_sysret(fallocate(r->fd, r->u.falloc.mode, (off_t)r->u.falloc.off,
					     (off_t)r->u.falloc.len));
	case STOR_OP_UNLINKAT:
		return stor_sysret(unlinkat(r->fd, r->u.open.path, r->u.open.flags));
	case STOR_OP_MKDIRAT:
		return stor_sysret(mkdirat(r->fd, r->u.open.path, r->u.open.mode));
	case STOR_OP_RENAMEAT:
		return stor_sysret(renameat2(r->fd, r->u.two.oldpath, r->u.two.newdirfd,
					     r->u.two.newpath, (unsigned int)r->u.two.flags));
	case STOR_OP_LINKAT:
		return stor_sysret(linkat(r->fd, r->u.two.oldpath, r->u.two.newdirfd, r->u.two.newpath,
					  r->u.two.flags));
	case STOR_OP_SYMLINKAT:
		return stor_sysret(symlinkat(r->u.two.oldpath, r->u.two.newdirfd, r->u.two.newpath));
	case STOR_OP_GETDENTS:
		if (r->u.dents.pos != STOR_DENTS_CONTINUE &&
		    lseek(r->fd, (off_t)r->u.dents.pos, SEEK_SET) < 0)
			return -errno;
		return stor_sysret(getdents64(r->fd, r->u.dents.buf, r->u.dents.len));
	case STOR_OP_OPEN_BY_HANDLE:
		return fh_resolve(r->fd, r->u.handle.kh, r->u.handle.flags);
	case STOR_OP_READLINKAT:
		return stor_sysret(readlinkat(r->fd, r->u.readlink.path, r->u.readlink.buf,
					      r->u.readlink.len));
	case STOR_OP_FCHMOD: {
		char path[STOR_FD_PATH_MAX];

		if (fchmod(r->fd, r->u.attr.mode) == 0)
			return 0;
		if (errno != EBADF)
			return -errno;
		/* An O_PATH fd: chmod through its /proc name, which the kernel resolves to the
		 * same inode (fchmodat2's AT_EMPTY_PATH is 6.6+), with the same permission checks. */
		return stor_sysret(chmod(stor_fd_path(path, r->fd), r->u.attr.mode));
	}
	case STOR_OP_FCHOWN:
		/* AT_EMPTY_PATH rather than fchown(): it also works on O_PATH fds. */
		return stor_sysret(fchownat(r->fd, "", r->u.attr.uid, r->u.attr.gid, AT_EMPTY_PATH));
	case STOR_OP_UTIMENSAT:
		if (r->u.utimens.path)
			return stor_sysret(utimensat(r->fd, r->u.utimens.path, r->u.utimens.ts,
						     r->u.utimens.flags));
		/* The fd itself: AT_EMPTY_PATH works on O_PATH fds (5.8+); else futimens(). */
		if (utimensat(r->fd, "", r->u.utimens.ts, r->u.utimens.flags | AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		return stor_sysret(futimens(r->fd, r->u.utimens.ts));
	case STOR_OP_FTRUNCATE:
		return stor_sysret(ftruncate(r->fd, (off_t)r->u.attr.len));
	case STOR_OP_MKNODAT:
		return stor_sysret(mknodat(r->fd, r->u.mknod.path, r->u.mknod.mode, r->u.mknod.dev));
	case STOR_OP_COPY_RANGE: {
		loff_t in = (loff_t)r->u.copy.off_in, out = (loff_t)r->u.copy.off_out;
		size_t len = r->u.copy.len > (uint64_t)SSIZE_MAX ? (size_t)SSIZE_MAX
								  : (size_t)r->u.copy.len;

		return stor_sysret(copy_file_range(r->fd, &in, r->u.copy.fd_out, &out, len, 0));
	}
	case STOR_OP_CLONE_RANGE: {
		struct file_clone_range fcr = {
			.src_fd = r->fd,
			.src_offset = r->u.copy.off_in,
			.src_length = r->u.copy.len,
			.dest_offset = r->u.copy.off_out,
		};

		return stor_sysret(ioctl(r->u.copy.fd_out, FICLONERANGE, &fcr));
	}
	case STOR_OP_ACCESS: {
		static const int bits[] = {R_OK, W_OK, X_OK};
		int allowed = 0;

		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (((int)r->u.open.mode & bits[i]) &&
			    faccessat(r->fd, "", bits[i], AT_EACCESS | AT_EMPTY_PATH) == 0)
				allowed |= bits[i];
		return allowed;
	}
	case STOR_OP_STATX_MANY:
		for (unsigned int i = 0; i < r->u.many.n; i++) {
			size_t len = FH_MAX_SIZE;

			r->u.many.res[i] = statx(r->fd, r->u.many.names[i], r->u.many.flags,
						 r->u.many.mask, &r->u.many.bufs[i]) < 0
						   ? -errno
						   : 0;
			r->u.many.fh_lens[i] = 0;
			if (r->u.many.res[i] == 0 &&
			    fh_encode(r->u.many.export_id, r->fd, r->u.many.names[i],
				      r->u.many.fhs + (size_t)i * FH_MAX_SIZE, &len) == 0)
				r->u.many.fh_lens[i] = (uint32_t)len;
		}
		return 0;
	case STOR_OP_LSEEK: {
		off_t o = lseek(r->fd, (off_t)r->u.seek.off, r->u.seek.whence);

		if (o < 0)
			return -errno;
		r->u.seek.result = (int64_t)o;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* ---- offload pool ---- */

/*
 * The identity a worker thread currently has. Raw syscalls: each changes only the calling
 * thread's credentials (glibc's setgroups() would broadcast to every thread of the process).
 * setfsuid/setfsgid return the previous value and never fail visibly, so a switch is checked
 * by reading the value back.
 */
struct stor_ident {
	bool own; /* the server's own identity (what the thread started with) */
	struct stor_cred cur;
};

static int stor_set_groups(size_t n, const gid_t *g)
{
	return syscall(SYS_setgroups, n, g) < 0 ? -errno : 0;
}

static int stor_become(struct stor *st, struct stor_ident *id, const struct stor_cred *c)
{
	/* A server that is not root (a container without CAP_SETUID/CAP_SETGID) cannot take
	 * another identity: its requests (and permission questions) run as itself, which is
	 * all such a server can do; docs/ARCHITECTURE.md says so. */
	if (st->own_uid != 0)
		return 0;
	if (!c) {
		if (id->own)
			return 0;
		syscall(SYS_setfsuid, (uid_t)st->own_uid);
		syscall(SYS_setfsgid, (gid_t)st->own_gid);
		stor_set_groups((size_t)st->own_ngroups, st->own_groups);
		id->own = true;
		return 0;
	}
	if (!id->own && id->cur.uid == c->uid && id->cur.gid == c->gid &&
	    id->cur.ngroups == c->ngroups &&
	    memcmp(id->cur.groups, c->groups, c->ngroups * sizeof(c->groups[0])) == 0)
		return 0;
	{
		gid_t g[STOR_CRED_MAX_GROUPS];
		uint32_t n = c->ngroups > STOR_CRED_MAX_GROUPS ? STOR_CRED_MAX_GROUPS : c->ngroups;
		int ret;

		for (uint32_t i = 0; i < n; i++)
			g[i] = (gid_t)c->groups[i];
		id->own = false; /* from here on the thread is in between: switch back for NULL */
		memset(&id->cur, 0xff, sizeof(id->cur));
		ret = stor_set_groups(n, g);
		if (ret)
			return ret;
		syscall(SYS_setfsgid, (gid_t)c->gid);
		if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != (gid_t)c->gid)
			return -EPERM;
		syscall(SYS_setfsuid, (uid_t)c->uid);
		if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != (uid_t)c->uid)
			return -EPERM;
		id->cur = *c;
		id->cur.ngroups = n;
	}
	return 0;
}

static void *stor_worker(void *arg)
{
	struct stor *st = arg;
	struct stor_pool *p = &st->pool;
	struct stor_ident id = {.own = true};

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct stor_req *r;
		bool was_empty;

		while (list_empty(&p->work) && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		r = list_pop(&p->work);
		if (!r)
			break; /* stopping, and nothing left */
		pthread_mutex_unlock(&p->lock);

		r->res = stor_become(st, &id, r->cred);
		if (r->res == 0)
			r->res = stor_exec(r);

		pthread_mutex_lock(&p->done_lock);
		was_empty = list_empty(&p->done);
		list_push(&p->done, r);
		pthread_mutex_unlock(&p->done_lock);
		/*
		 * One kick per batch is enough: the reaper clears the event fd before it takes the
		 * list, so a non-empty list is either already signalled or about to be taken whole.
		 */
		if (was_empty)
			stor_kick(st);

		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void stor_pool_stop(struct stor_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

static int stor_pool_start(struct stor *st, unsigned int n)
{
	struct stor_pool *p = &st->pool;
	sigset_t all, old;
	int ret = 0;

	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	/* Workers must never take the process's signals: those belong to the loops' ev_signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int i = 0; i < n; i++) {
		ret = -pthread_create(&p->threads[i], NULL, stor_worker, st);
		if (ret)
			break;
		pthread_setname_np(p->threads[i], "stor-offload");
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* ---- the ring ---- */

/*
 * Newest first; each step drops what an older kernel refuses with EINVAL:
 * SINGLE_ISSUER (6.0), COOP_TASKRUN + TASKRUN_FLAG (5.19), SUBMIT_ALL (5.18), CLAMP (5.6).
 * COOP_TASKRUN: no IPI to interrupt the loop for task work, it runs when we enter the kernel
 * anyway. TASKRUN_FLAG lets liburing notice pending task work while peeking the CQ.
 * DEFER_TASKRUN is not used: it would hold completions until we enter the ring, which only
 * pays off when the loop waits in io_uring itself, and ours waits in epoll.
 */
static const unsigned int stor_setup_ladder[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL |
		IORING_SETUP_CLAMP,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
	IORING_SETUP_CLAMP,
	0,
};

static int stor_ring_init(struct stor *st, unsigned int entries)
{
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(stor_setup_ladder) / sizeof(stor_setup_ladder[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = stor_setup_ladder[i];
		ret = io_uring_queue_init_params(entries, &st->ring, &p);
		if (ret == 0) {
			st->ring_flags = stor_setup_ladder[i];
			st->cq_cap = p.cq_entries;
			return 0;
		}
		if (ret != -EINVAL)
			break; /* ENOSYS, EPERM, ENOMEM...: a plainer ring won't help */
	}
	return ret;
}

/* Which ops the ring can take, from the kernel's own opcode probe. */
static void stor_probe_ops(struct stor *st, bool offload_all)
{
	struct io_uring_probe *probe = NULL;

	if (st->have_ring && !offload_all)
		probe = io_uring_get_probe_ring(&st->ring);
	for (int op = 0; op < STOR_OP_NR; op++) {
		int opc = stor_ops[op].opcode;

		if (!st->have_ring || offload_all || opc < 0)
			st->native[op] = false;
		else if (probe)
			st->native[op] = io_uring_opcode_supported(probe, opc);
		else /* no probe before 5.6; readv/writev/fsync date from 5.1 */
			st->native[op] = opc <= IORING_OP_FSYNC;
	}
	if (probe)
		io_uring_free_probe(probe);
}

static void stor_prep_sqe(struct io_uring_sqe *sqe, struct stor_req *r)
{
	switch (r->op) {
	case STOR_OP_READ:
		io_uring_prep_readv(sqe, r->fd, r->u.rw.iov, r->u.rw.iovcnt, r->u.rw.off);
		break;
	case STOR_OP_WRITE:
		io_uring_prep_writev2(sqe, r->fd, r->u.rw.iov, r->u.rw.iovcnt, r->u.rw.off,
				      r->u.rw.rwf);
		break;
	case STOR_OP_FSYNC:
		io_uring_prep_fsync(sqe, r->fd, 0);
		break;
	case STOR_OP_FDATASYNC:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
		break;
	case STOR_OP_STATX:
		io_uring_prep_statx(sqe, r->fd, r->u.statx.path, r->u.statx.flags, r->u.statx.mask,
				    r->u.statx.buf);
		break;
	case STOR_OP_OPENAT:
		io_uring_prep_openat(sqe, r->fd, r->u.open.path, r->u.open.flags, r->u.open.mode);
		break;
	case STOR_OP_CLOSE:
		io_uring_prep_close(sqe, r->fd);
		break;
	case STOR_OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, r->fd, r->u.falloc.mode, (off_t)r->u.falloc.off,
					(off_t)r->u.falloc.len);
		break;
	case STOR_OP_UNLINKAT:
		io_uring_prep_unlinkat(sqe, r->fd, r->u.open.path, r->u.open.flags);
		break;
	case STOR_OP_MKDIRAT:
		io_uring_prep_mkdirat(sqe, r->fd, r->u.open.path, r->u.open.mode);
		break;
	case STOR_OP_RENAMEAT:
		io_uring_prep_renameat(sqe, r->fd, r->u.two.oldpath, r->u.two.newdirfd,
				       r->u.two.newpath, (unsigned int)r->u.two.flags);
		break;
	case STOR_OP_LINKAT:
		io_uring_prep_linkat(sqe, r->fd, r->u.two.oldpath, r->u.two.newdirfd,
				     r->u.two.newpath, r->u.two.flags);
		break;
	case STOR_OP_SYMLINKAT:
		io_uring_prep_symlinkat(sqe, r->u.two.oldpath, r->u.two.newdirfd, r->u.two.newpath);
		break;
	default:
		/* native[] is only true for the cases above */
		assert(!"stor_prep_sqe: op is not a ring op");
		io_uring_prep_nop(sqe);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

/* Submit what the SQ holds. Returns 0 or -errno; a busy kernel is not an error. */
static int stor_ring_enter(struct stor *st)
{
	int ret;

	if (!io_uring_sq_ready(&st->ring))
		return 0;
	do {
		ret = io_uring_submit(&st->ring);
	} while (ret == -EINTR);
	if (ret >= 0) {
		st->stats.enters++;
		return 0;
	}
	/* Short of memory or CQ room: the SQEs stay in the SQ and go with the next flush. */
	if (ret == -EAGAIN || ret == -EBUSY)
		return 0;
	return ret;
}

/* Put r in the ring if there is room. */
static bool stor_ring_queue(struct stor *st, struct stor_req *r)
{
	struct io_uring_sqe *sqe;

	if (st->in_ring >= st->cq_cap)
		return false;
	sqe = io_uring_get_sqe(&st->ring);
	if (!sqe) {
		/* A full SQ is a full batch: send it now rather than stall until the next flush. */
		if (stor_ring_enter(st) < 0)
			return false;
		sqe = io_uring_get_sqe(&st->ring);
		if (!sqe)
			return false;
	}
	stor_prep_sqe(sqe, r);
	st->in_ring++;
	return true;
}

/* Move requests waiting for space into the ring, oldest first. */
static void stor_refill(struct stor *st)
{
	struct stor_req *r;

	while ((r = st->backlog.head) && stor_ring_queue(st, r)) {
		list_pop(&st->backlog);
		st->stats.queued--;
	}
}

/* ---- public API ---- */

int stor_create(struct stor **out, const struct stor_config *cfg)
{
	static const struct stor_config defaults;
	unsigned int entries, workers;
	struct stor *st;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg)
		cfg = &defaults;
	entries = cfg->entries ? cfg->entries : STOR_DEFAULT_ENTRIES;
	if (entries > STOR_MAX_ENTRIES)
		entries = STOR_MAX_ENTRIES;
	workers = cfg->workers ? cfg->workers : STOR_DEFAULT_WORKERS;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->owner = pthread_self();
	st->own_uid = geteuid();
	st->own_gid = getegid();
	st->own_ngroups = getgroups(64, st->own_groups);
	if (st->own_ngroups < 0)
		st->own_ngroups = 0; /* more than 64: workers return to none rather than a wrong set */
	pthread_mutex_init(&st->pool.lock, NULL);
	pthread_cond_init(&st->pool.cond, NULL);
	pthread_mutex_init(&st->pool.done_lock, NULL);

	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st->efd < 0) {
		ret = -errno;
		goto out_free;
	}

	ret = stor_ring_init(st, entries);
	if (ret == 0) {
		st->have_ring = true;
		ret = io_uring_register_eventfd(&st->ring, st->efd);
		if (ret < 0)
			goto out_ring;
	} else if ((ret == -ENOSYS || ret == -EPERM) && (cfg->flags & STOR_F_RING_OPTIONAL)) {
		ret = 0; /* everything through the pool: slower, but it serves */
	} else {
		goto out_efd;
	}
	stor_probe_ops(st, cfg->flags & STOR_F_OFFLOAD_ALL);

	ret = stor_pool_start(st, workers);
	if (ret < 0)
		goto out_pool;
	*out = st;
	return 0;

out_pool:
	stor_pool_stop(&st->pool);
	free(st->pool.threads);
out_ring:
	if (st->have_ring)
		io_uring_queue_exit(&st->ring);
out_efd:
	close(st->efd);
out_free:
	pthread_mutex_destroy(&st->pool.done_lock);
	pthread_cond_destroy(&st->pool.cond);
	pthread_mutex_destroy(&st->pool.lock);
	free(st);
	return ret;
}

void stor_destroy(struct stor *st)
{
	if (!st)
		return;
	stor_assert_owner(st);
	while (st->stats.inflight > 0) {
		int ret = stor_wait(st, -1);

		/*
		 * Only a broken ring gets here (EBADF/EFAULT/EEXIST from io_uring_enter): waiting
		 * would be forever. io_uring_queue_exit() below still cancels and waits for what the
		 * kernel holds; callbacks of those are lost.
		 */
		if (ret < 0 && ret != -EINTR)
			break;
	}
	stor_pool_stop(&st->pool);
	free(st->pool.threads);
	if (st->have_ring)
		io_uring_queue_exit(&st->ring);
	close(st->efd);
	pthread_mutex_destroy(&st->pool.done_lock);
	pthread_cond_destroy(&st->pool.cond);
	pthread_mutex_destroy(&st->pool.lock);
	free(st);
}

void stor_submit(struct stor *st, struct stor_req *r)
{
	stor_assert_owner(st);
	assert(r && r->cb);

	st->stats.submitted++;
	st->stats.inflight++;
	if (st->stats.inflight > st->stats.max_depth)
		st->stats.max_depth = st->stats.inflight;
	r->next_ = NULL;

	if (r->op < 0 || r->op >= STOR_OP_NR) {
		r->res = -EINVAL;
		list_push(&st->local_done, r);
		return;
	}
	if (!st->native[r->op] || r->cred) {
		st->stats.offloaded++;
		list_push(&st->to_pool, r);
		st->to_pool_n++;
		return;
	}
	/* Behind anything already waiting: requests enter the ring in submission order. */
	if (list_empty(&st->backlog) && stor_ring_queue(st, r))
		return;
	list_push(&st->backlog, r);
	st->stats.queued++;
	st->stats.backlogged++;
}

int stor_flush(struct stor *st)
{
	stor_assert_owner(st);

	if (st->have_ring)
		stor_refill(st);
	if (!list_empty(&st->to_pool)) {
		pthread_mutex_lock(&st->pool.lock);
		list_splice(&st->pool.work, &st->to_pool);
		/* wake as many workers as there are new requests, not all of them: a broadcast
		 * for one request woke every worker to find nothing (a futex storm per GETATTR) */
		if (st->to_pool_n >= st->pool.nthreads)
			pthread_cond_broadcast(&st->pool.cond);
		else
			for (unsigned int i = 0; i < st->to_pool_n; i++)
				pthread_cond_signal(&st->pool.cond);
		st->to_pool_n = 0;
		pthread_mutex_unlock(&st->pool.lock);
	}
	/* Local completions have nobody else to wake the loop. */
	if (!list_empty(&st->local_done))
		stor_kick(st);
	return st->have_ring ? stor_ring_enter(st) : 0;
}

int stor_event_fd(const struct stor *st)
{
	return st->efd;
}

static void stor_complete(struct stor *st, struct stor_req *r)
{
	st->stats.completed++;
	st->stats.inflight--;
	r->cb(r); /* last touch: the callback may free or resubmit r */
}

static int stor_reap_ring(struct stor *st)
{
	struct io_uring_cqe *cqes[STOR_REAP_BATCH];
	struct stor_req *reqs[STOR_REAP_BATCH];
	int res[STOR_REAP_BATCH];
	unsigned int n;
	int total = 0;

	/* peek_batch also enters the kernel when TASKRUN_FLAG says task work is pending. */
	while ((n = io_uring_peek_batch_cqe(&st->ring, cqes, STOR_REAP_BATCH)) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			reqs[i] = io_uring_cqe_get_data(cqes[i]);
			res[i] = cqes[i]->res;
		}
		/* Release the CQ slots before the callbacks, which may submit more. */
		io_uring_cq_advance(&st->ring, n);
		st->in_ring -= n;
		for (unsigned int i = 0; i < n; i++) {
			reqs[i]->res = res[i];
			stor_complete(st, reqs[i]);
		}
		total += (int)n;
	}
	return total;
}

static int stor_reap_list(struct stor *st, struct stor_list *l)
{
	struct stor_req *r;
	int n = 0;

	while ((r = list_pop(l))) {
		stor_complete(st, r);
		n++;
	}
	return n;
}

int stor_reap(struct stor *st)
{
	struct stor_list done = {NULL, NULL};
	int n = 0;

	stor_assert_owner(st);
	assert(!st->reaping);
	st->reaping = true;
	/*
	 * Clear first: whatever completes after this point sets the fd again, so one pass over
	 * each queue is enough and the loop never sleeps on a completion. No second pass either:
	 * a reap stays bounded even while the pool keeps finishing work.
	 */
	stor_clear_event(st);
	if (st->have_ring)
		n += stor_reap_ring(st);
	pthread_mutex_lock(&st->pool.done_lock);
	list_splice(&done, &st->pool.done);
	pthread_mutex_unlock(&st->pool.done_lock);
	n += stor_reap_list(st, &done);
	n += stor_reap_list(st, &st->local_done); /* including any the callbacks just added */
	st->reaping = false;
	return n;
}

int stor_wait(struct stor *st, int timeout_ms)
{
	struct pollfd pfd = {.fd = st->efd, .events = POLLIN};
	int ret, n;

	ret = stor_flush(st);
	if (ret < 0)
		return ret;
	n = stor_reap(st);
	if (n > 0 || st->stats.inflight == 0)
		return n;
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	return stor_reap(st);
}

void stor_get_stats(const struct stor *st, struct stor_stats *out)
{
	*out = st->stats;
}

unsigned int stor_ring_flags(const struct stor *st)
{
	return st->have_ring ? st->ring_flags : 0;
}

bool stor_op_native(const struct stor *st, int op)
{
	return op >= 0 && op < STOR_OP_NR && st->native[op];
}

const char *stor_op_name(int op)
{
	return op >= 0 && op < STOR_OP_NR ? stor_ops[op].name : "?";
}

const char *stor_fd_path(char buf[STOR_FD_PATH_MAX], int fd)
{
	snprintf(buf, STOR_FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

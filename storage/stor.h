/*
 * stor: the storage engine, one per loop thread.
 *
 * An io_uring ring plus a small offload pool for what the ring cannot do. It knows nothing of
 * NFS: requests speak fds, paths, offsets and iovecs, results are bytes / fds / 0 or -errno.
 * The model is memcached's extstore.h: an opaque engine, a request struct with a completion
 * callback, batch submission and a stats struct.
 *
 * Life of a request:
 *   stor_prep_*(r, ...)   fill in the operation (leaves r->cb and r->data alone)
 *   r->cb = done; r->data = ctx;
 *   stor_submit(st, r)    queue it; never blocks, never fails, never drops
 *   stor_flush(st)        hand the batch to the kernel / the pool (before the loop sleeps)
 *   ... stor_event_fd(st) becomes readable ...
 *   stor_reap(st)         runs r->cb(r) with r->res set, on this thread, for all that finished
 *
 * Every submitted request gets exactly one callback, even a malformed one (-EINVAL). Everything
 * a request points at (iovecs, buffers, paths, statx buffer, handle) must stay valid until its
 * callback has run: requests may sit in the engine's backlog before the kernel sees them.
 *
 * Threading: create, use and destroy an engine on one thread (the ring is created with
 * IORING_SETUP_SINGLE_ISSUER when the kernel has it, which binds it to the creating thread).
 * Callbacks always run on that thread, inside stor_reap(), including offloaded requests.
 */
#ifndef SLUICE_STOR_H
#define SLUICE_STOR_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct stor;
struct fh_kernel;

enum stor_op {
	/* Ring operations: io_uring when the kernel has the opcode, else offloaded. */
	STOR_OP_READ,      /* preadv: res = bytes read, short/0 at EOF */
	STOR_OP_WRITE,     /* pwritev: res = bytes written */
	STOR_OP_FSYNC,     /* res = 0 */
	STOR_OP_FDATASYNC, /* res = 0 */
	STOR_OP_STATX,     /* res = 0, *buf filled */
	STOR_OP_OPENAT,    /* res = new fd (always O_CLOEXEC) */
	STOR_OP_CLOSE,     /* res = 0 */
	STOR_OP_FALLOCATE, /* res = 0 */
	STOR_OP_UNLINKAT,  /* res = 0 */
	STOR_OP_MKDIRAT,   /* res = 0 */
	STOR_OP_RENAMEAT,  /* renameat2: res = 0 */
	STOR_OP_LINKAT,    /* res = 0 */
	STOR_OP_SYMLINKAT, /* res = 0 */
	/* Offload-only operations: no io_uring opcode in this kernel/liburing generation. */
	STOR_OP_GETDENTS,       /* getdents64: res = bytes of linux_dirent64 records, 0 at end */
	STOR_OP_OPEN_BY_HANDLE, /* fh_resolve(): res = new fd, -ESTALE, -EBADMSG, -EPERM */
	STOR_OP_READLINKAT,     /* res = length (not NUL-terminated) */
	STOR_OP_FCHMOD,         /* res = 0 (fd must not be O_PATH) */
	STOR_OP_FCHOWN,         /* fchownat(fd, "", AT_EMPTY_PATH): res = 0, O_PATH fds fine */
	STOR_OP_UTIMENSAT,      /* res = 0 */
	STOR_OP_FTRUNCATE,      /* res = 0 */
	STOR_OP_MKNODAT,        /* res = 0 */
	STOR_OP_COPY_RANGE,     /* copy_file_range: res = bytes copied (short: stop, or EOF) */
	STOR_OP_CLONE_RANGE,    /* ioctl FICLONERANGE: res = 0 */
	STOR_OP_LSEEK,          /* lseek SEEK_DATA / SEEK_HOLE: res via u.seek.result */
	STOR_OP_ACCESS,         /* faccessat per bit: res = the R_OK|W_OK|X_OK bits allowed */
	STOR_OP_STATX_MANY,     /* statx of n names in one directory: res = 0, each its own */
	STOR_OP_NR
};

/*
 * The identity a request runs as (RFC 8881 §2.2.1.1.1.1: AUTH_SYS). A request with r->cred
 * set goes to the offload pool, whose worker takes this fsuid, fsgid and supplementary groups
 * for the call, so that the kernel itself decides permissions, sticky and setgid directories
 * and the owner of what is created, as knfsd does by switching its thread's credentials. The
 * switch is per thread (raw setfsuid/setfsgid/setgroups syscalls: glibc's setgroups would
 * change every thread of the process). fsuid 0 keeps the filesystem capabilities; any other
 * fsuid drops them, exactly as for a local process of that user. A server that does not run
 * as root cannot switch: its requests then run as itself.
 * NULL: the server's own identity.
 */
#define STOR_CRED_MAX_GROUPS 16 /* AUTH_SYS carries at most 16 (RFC 5531 appendix A) */
struct stor_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[STOR_CRED_MAX_GROUPS];
};

/* For stor_prep_getdents(): continue from the fd's current position. */
#define STOR_DENTS_CONTINUE (-1)

struct stor_req {
	/* Set by the caller. */
	void (*cb)(struct stor_req *r); /* runs once, on the engine's thread, from stor_reap() */
	void *data;                     /* caller's cookie; the engine never touches it */

	/* Set by stor_prep_*(). */
	int op;  /* enum stor_op */
	int fd;  /* the file, or the directory fd of an *at operation */
	int res; /* out: bytes, fd or 0, or -errno */
	/* Optional, set after stor_prep_*(): run as this identity (see struct stor_cred); must
	 * stay valid until the callback. */
	const struct stor_cred *cred;
	union {
		struct {
			const struct iovec *iov;
			unsigned int iovcnt;
			uint64_t off;
			int rwf; /* RWF_DSYNC / RWF_SYNC for a write (pwritev2 flags) */
		} rw;
		struct {
			const char *path;
			int flags;
			unsigned int mask;
			struct statx *buf;
		} statx;
		struct {
			const char *path;
			int flags;
			mode_t mode;
		} open; /* openat, mkdirat (mode only), unlinkat (flags only) */
		struct {
			const char *oldpath;
			int newdirfd;
			const char *newpath;
			int flags;
		} two; /* renameat, linkat, symlinkat (oldpath = target, fd unused) */
		struct {
			int mode;
			uint64_t off;
			uint64_t len;
		} falloc;
		struct {
			void *buf;
			size_t len;
			int64_t pos; /* STOR_DENTS_CONTINUE, or a d_off cookie to seek to first */
		} dents;
		struct {
			const struct fh_kernel *kh;
			int flags;
		} handle; /* fd = the export's mount fd */
		struct {
			const char *path;
			char *buf;
			size_t len;
		} readlink;
		struct {
			mode_t mode;
			uid_t uid;
			gid_t gid;
			uint64_t len;
		} attr; /* fchmod, fchown, ftruncate */
		struct {
			const char *path;
			mode_t mode;
			dev_t dev;
		} mknod;
		struct {
			int fd_out;
			uint64_t off_in, off_out;
			uint64_t len;
		} copy; /* fd = fd_in; copy_file_range and FICLONERANGE (len 0: to EOF) */
		struct {
			int64_t off;
			int whence;
			int64_t result; /* out: the offset found */
		} seek;
		struct {
			const char *path; /* NULL: the fd itself */
			struct timespec ts[2];
			int flags;
		} utimens;
		struct {
			const char *const *names;
			struct statx *bufs;
			int *res; /* per name: 0 or -errno */
			unsigned int n;
			int flags;
			unsigned int mask;
			/* each statted name's handle (fh_encode) at fhs + i * FH_MAX_SIZE,
			 * its length in fh_lens[i] (0: none) */
			uint8_t *fhs;
			uint32_t *fh_lens;
			uint32_t export_id;
		} many;
	} u;

	/* Engine private. */
	struct stor_req *next_;
};

/* Request preparation, in the spirit of io_uring_prep_*(): pure stores, no engine involved. */
static inline void stor_prep_(struct stor_req *r, int op, int fd)
{
	r->op = op;
	r->fd = fd;
	r->res = 0;
	r->cred = NULL;
	memset(&r->u, 0, sizeof(r->u));
	r->next_ = NULL;
}

static inline void stor_prep_read(struct stor_req *r, int fd, const struct iovec *iov,
				  unsigned int iovcnt, uint64_t off)
{
	stor_prep_(r, STOR_OP_READ, fd);
	r->u.rw.iov = iov;
	r->u.rw.iovcnt = iovcnt;
	r->u.rw.off = off;
}

static inline void stor_prep_write(struct stor_req *r, int fd, const struct iovec *iov,
				   unsigned int iovcnt, uint64_t off)
{
	stor_prep_(r, STOR_OP_WRITE, fd);
	r->u.rw.iov = iov;
	r->u.rw.iovcnt = iovcnt;
	r->u.rw.off = off;
}

/* A write that is durable when it completes: RWF_DSYNC (data and what reads it back need) or
 * RWF_SYNC (and all metadata), as pwritev2(2). */
static inline void stor_prep_write_sync(struct stor_req *r, int fd, const struct iovec *iov,
					unsigned int iovcnt, uint64_t off, int rwf)
{
	stor_prep_write(r, fd, iov, iovcnt, off);
	r->u.rw.rwf = rwf;
}

static inline void stor_prep_fsync(struct stor_req *r, int fd, bool datasync)
{
	stor_prep_(r, datasync ? STOR_OP_FDATASYNC : STOR_OP_FSYNC, fd);
}

/* path "" with AT_EMPTY_PATH in flags stats dirfd itself. */
static inline void stor_prep_statx(struct stor_req *r, int dirfd, const char *path, int flags,
				   unsigned int mask, struct statx *buf)
{
	stor_prep_(r, STOR_OP_STATX, dirfd);
	r->u.statx.path = path;
	r->u.statx.flags = flags;
	r->u.statx.mask = mask;
	r->u.statx.buf = buf;
}

static inline void stor_prep_openat(struct stor_req *r, int dirfd, const char *path, int flags,
				    mode_t mode)
{
	stor_prep_(r, STOR_OP_OPENAT, dirfd);
	r->u.open.path = path;
	r->u.open.flags = flags | O_CLOEXEC; /* a server never wants to leak these into a child */
	r->u.open.mode = mode;
}

static inline void stor_prep_close(struct stor_req *r, int fd)
{
	stor_prep_(r, STOR_OP_CLOSE, fd);
}

static inline void stor_prep_fallocate(struct stor_req *r, int fd, int mode, uint64_t off,
				       uint64_t len)
{
	stor_prep_(r, STOR_OP_FALLOCATE, fd);
	r->u.falloc.mode = mode;
	r->u.falloc.off = off;
	r->u.falloc.len = len;
}

static inline void stor_prep_unlinkat(struct stor_req *r, int dirfd, const char *path, int flags)
{
	stor_prep_(r, STOR_OP_UNLINKAT, dirfd);
	r->u.open.path = path;
	r->u.open.flags = flags;
}

static inline void stor_prep_mkdirat(struct stor_req *r, int dirfd, const char *path, mode_t mode)
{
	stor_prep_(r, STOR_OP_MKDIRAT, dirfd);
	r->u.open.path = path;
	r->u.open.mode = mode;
}

static inline void stor_prep_renameat(struct stor_req *r, int olddirfd, const char *oldpath,
				      int newdirfd, const char *newpath, unsigned int flags)
{
	stor_prep_(r, STOR_OP_RENAMEAT, olddirfd);
	r->u.two.oldpath = oldpath;
	r->u.two.newdirfd = newdirfd;
	r->u.two.newpath = newpath;
	r->u.two.flags = (int)flags;
}

static inline void stor_prep_linkat(struct stor_req *r, int olddirfd, const char *oldpath,
				    int newdirfd, const char *newpath, int flags)
{
	stor_prep_(r, STOR_OP_LINKAT, olddirfd);
	r->u.two.oldpath = oldpath;
	r->u.two.newdirfd = newdirfd;
	r->u.two.newpath = newpath;
	r->u.two.flags = flags;
}

static inline void stor_prep_symlinkat(struct stor_req *r, const char *target, int newdirfd,
				       const char *linkpath)
{
	stor_prep_(r, STOR_OP_SYMLINKAT, -1);
	r->u.two.oldpath = target;
	r->u.two.newdirfd = newdirfd;
	r->u.two.newpath = linkpath;
}

/*
 * Directory listing into buf as linux_dirent64 records. Each call continues where the last
 * left off unless pos is a d_off cookie, in which case the fd is seeked there first. The seek
 * and the read share the fd's position: don't list the same open directory from two requests
 * at once. Records are 8-byte aligned relative to buf: give an 8-byte aligned buffer to read
 * their u64 fields in place.
 */
static inline void stor_prep_getdents(struct stor_req *r, int dirfd, void *buf, size_t len,
				      int64_t pos)
{
	stor_prep_(r, STOR_OP_GETDENTS, dirfd);
	r->u.dents.buf = buf;
	r->u.dents.len = len;
	r->u.dents.pos = pos;
}

/* flags as for open(2): O_PATH for a reference, O_RDONLY/O_RDWR for I/O. */
static inline void stor_prep_open_by_handle(struct stor_req *r, int mount_fd,
					    const struct fh_kernel *kh, int flags)
{
	stor_prep_(r, STOR_OP_OPEN_BY_HANDLE, mount_fd);
	r->u.handle.kh = kh;
	r->u.handle.flags = flags;
}

static inline void stor_prep_readlinkat(struct stor_req *r, int dirfd, const char *path,
					char *buf, size_t len)
{
	stor_prep_(r, STOR_OP_READLINKAT, dirfd);
	r->u.readlink.path = path;
	r->u.readlink.buf = buf;
	r->u.readlink.len = len;
}

static inline void stor_prep_fchmod(struct stor_req *r, int fd, mode_t mode)
{
	stor_prep_(r, STOR_OP_FCHMOD, fd);
	r->u.attr.mode = mode;
}

/* (uid_t)-1 / (gid_t)-1 leave that id unchanged, as chown(2). */
static inline void stor_prep_fchown(struct stor_req *r, int fd, uid_t uid, gid_t gid)
{
	stor_prep_(r, STOR_OP_FCHOWN, fd);
	r->u.attr.uid = uid;
	r->u.attr.gid = gid;
}

/* ts may be NULL ("now" for both); UTIME_NOW / UTIME_OMIT work as in utimensat(2). */
static inline void stor_prep_utimensat(struct stor_req *r, int dirfd, const char *path,
				       const struct timespec ts[2], int flags)
{
	stor_prep_(r, STOR_OP_UTIMENSAT, dirfd);
	r->u.utimens.path = path;
	if (ts) {
		r->u.utimens.ts[0] = ts[0];
		r->u.utimens.ts[1] = ts[1];
	} else {
		r->u.utimens.ts[0].tv_nsec = UTIME_NOW;
		r->u.utimens.ts[1].tv_nsec = UTIME_NOW;
	}
	r->u.utimens.flags = flags;
}

static inline void stor_prep_ftruncate(struct stor_req *r, int fd, uint64_t len)
{
	stor_prep_(r, STOR_OP_FTRUNCATE, fd);
	r->u.attr.len = len;
}

static inline void stor_prep_mknodat(struct stor_req *r, int dirfd, const char *path,
				     mode_t mode, dev_t dev)
{
	stor_prep_(r, STOR_OP_MKNODAT, dirfd);
	r->u.mknod.path = path;
	r->u.mknod.mode = mode;
	r->u.mknod.dev = dev;
}

/* Copy len bytes in the kernel (no data through user space): res = bytes copied. */
static inline void stor_prep_copy_range(struct stor_req *r, int fd_in, uint64_t off_in,
					int fd_out, uint64_t off_out, uint64_t len)
{
	stor_prep_(r, STOR_OP_COPY_RANGE, fd_in);
	r->u.copy.fd_out = fd_out;
	r->u.copy.off_in = off_in;
	r->u.copy.off_out = off_out;
	r->u.copy.len = len;
}

/* Share the blocks (reflink), FICLONERANGE: -EOPNOTSUPP / -EXDEV where the fs cannot. */
static inline void stor_prep_clone_range(struct stor_req *r, int fd_in, uint64_t off_in,
					 int fd_out, uint64_t off_out, uint64_t len)
{
	stor_prep_copy_range(r, fd_in, off_in, fd_out, off_out, len);
	r->op = STOR_OP_CLONE_RANGE;
}

/* SEEK_DATA / SEEK_HOLE from off: the offset lands in r->u.seek.result (res = 0). */
static inline void stor_prep_lseek(struct stor_req *r, int fd, int64_t off, int whence)
{
	stor_prep_(r, STOR_OP_LSEEK, fd);
	r->u.seek.off = off;
	r->u.seek.whence = whence;
}

/*
 * Which of want (R_OK | W_OK | X_OK) the identity may do to the object fd (O_PATH is fine):
 * the kernel's own check (faccessat with AT_EACCESS, which uses the fsuid, so mode bits, POSIX
 * ACLs, immutable flags and LSMs all count); res = the allowed bits. Give it a cred.
 */
static inline void stor_prep_access(struct stor_req *r, int fd, int want)
{
	stor_prep_(r, STOR_OP_ACCESS, fd);
	r->u.open.mode = (mode_t)want;
}

/*
 * statx and handle of n names in the directory dirfd, one after the other in one offload job:
 * a READDIR batch costs one thread hop, not one io_uring worker per entry, and each
 * name_to_handle_at finds the inode its statx just brought into memory. res[i] = 0 or -errno;
 * where res[i] is 0, the handle (fh_encode) is at fhs + i * FH_MAX_SIZE, its length in
 * fh_lens[i] (0: it could not be encoded).
 */
static inline void stor_prep_statx_many(struct stor_req *r, int dirfd, const char *const *names,
					unsigned int n, int flags, unsigned int mask,
					struct statx *bufs, int *res, uint32_t export_id,
					uint8_t *fhs, uint32_t *fh_lens)
{
	stor_prep_(r, STOR_OP_STATX_MANY, dirfd);
	r->u.many.names = names;
	r->u.many.bufs = bufs;
	r->u.many.res = res;
	r->u.many.n = n;
	r->u.many.flags = flags;
	r->u.many.mask = mask;
	r->u.many.fhs = fhs;
	r->u.many.fh_lens = fh_lens;
	r->u.many.export_id = export_id;
}

/* Engine configuration; zeroes mean defaults. */
#define STOR_DEFAULT_ENTRIES 256
#define STOR_DEFAULT_WORKERS 2

enum {
	/* Send every operation to the offload pool (tests; kernels with a broken ring). */
	STOR_F_OFFLOAD_ALL = 1u << 0,
	/*
	 * If io_uring is unavailable (ENOSYS, or EPERM from seccomp / io_uring_disabled, as in
	 * default container profiles), run everything through the offload pool instead of failing.
	 */
	STOR_F_RING_OPTIONAL = 1u << 1,
};

struct stor_config {
	unsigned int entries; /* submission queue size (rounded up to a power of two by the kernel) */
	unsigned int workers; /* offload threads */
	unsigned int flags;   /* STOR_F_* */
};

struct stor_stats {
	uint64_t submitted; /* requests accepted by stor_submit() */
	uint64_t completed; /* callbacks run */
	uint64_t offloaded; /* of submitted, sent to the offload pool */
	uint64_t inflight;  /* submitted - completed, right now */
	uint64_t max_depth; /* high-water mark of inflight */
	uint64_t queued;    /* right now: waiting in the engine for ring space */
	uint64_t backlogged; /* total: requests that had to wait for ring space */
	uint64_t enters;     /* io_uring_submit() calls that reached the kernel */
};

/*
 * Create an engine on the calling thread. Returns 0, or -ENOSYS / -EPERM when io_uring is not
 * available (unless STOR_F_RING_OPTIONAL), -ENOMEM, or another -errno from ring/thread setup.
 */
int stor_create(struct stor **out, const struct stor_config *cfg);

/*
 * Flush, then wait for every outstanding request and run its callback (callbacks may still
 * submit; the wait ends when nothing is in flight). Then tear down. Blocks: shutdown only.
 */
void stor_destroy(struct stor *st);

/* Queue r. Its callback runs from a later stor_reap(), never from inside this call. */
void stor_submit(struct stor *st, struct stor_req *r);

/*
 * Move waiting requests into free ring slots, submit the batch to the kernel and hand offloaded
 * work to the pool. Call before the loop sleeps. Returns 0, or -errno when the ring itself is
 * broken (EBADF, EEXIST: called from a thread that isn't the owner...). A kernel short of
 * resources (EAGAIN, EBUSY) is not an error: the requests stay queued for the next flush.
 */
int stor_flush(struct stor *st);

/* An fd that polls readable when completions may be waiting. Only a hint: always stor_reap(). */
int stor_event_fd(const struct stor *st);

/*
 * Drain every completion (the whole CQ and the offload queue) and run the callbacks. Requests
 * waiting for ring space take the freed slots at the next stor_flush(). Returns the number of
 * callbacks run. Not re-entrant: don't call it from a callback.
 */
int stor_reap(struct stor *st);

/*
 * Flush, wait up to timeout_ms (-1: forever) for the event fd, then reap. For tests, tools and
 * shutdown; a loop thread polls stor_event_fd() instead. Returns callbacks run, or -errno.
 */
int stor_wait(struct stor *st, int timeout_ms);

void stor_get_stats(const struct stor *st, struct stor_stats *out);

/* The io_uring setup flags the kernel accepted (0 when running without a ring). */
unsigned int stor_ring_flags(const struct stor *st);

/* Whether op goes through the ring (true) or the offload pool (false) on this engine. */
bool stor_op_native(const struct stor *st, int op);

const char *stor_op_name(int op);

/* The /proc name of an open fd, into buf: it reaches the fd's own inode, an O_PATH fd's too,
 * so a path-taking syscall (open, chmod, linkat, readlink) can act on what the fd pins. */
#define STOR_FD_PATH_MAX 32
const char *stor_fd_path(char buf[STOR_FD_PATH_MAX], int fd);

#endif /* SLUICE_STOR_H */

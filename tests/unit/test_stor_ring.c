/*
 * cmocka tests of the storage engine (storage/stor.c): the ring, the offload pool, batching,
 * backlog and reaping. Every test runs twice: through io_uring, and with STOR_F_OFFLOAD_ALL
 * (the path a kernel without those opcodes, or without io_uring, takes).
 * Exits 77 (skipped) when io_uring is unavailable (ENOSYS, EPERM).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "stor.h"

#define FILE_SIZE 10000
#define BURST 1000
#define NDIRENTS 1000

struct done {
	int calls;
	int res;
	pthread_t thread;
};

/*
 * Everything a request points at lives here, not on a test's stack: if an assertion fails while
 * a request is in flight, teardown's stor_destroy() still completes it, and the kernel and the
 * callback must then write into memory that is alive.
 */
struct arena {
	struct stor_req r;
	struct done d;
	struct iovec iov[4];
	struct statx sx;
	unsigned char buf[8192];
};

struct fixture {
	unsigned int flags;   /* STOR_F_* for the engine */
	unsigned int entries; /* ring size; small to force the backlog */
	struct stor *st;
	struct arena *a;
	char dir[64];
	int dirfd;
};

/* ---- helpers ---- */

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 7 + 3) & 0xff);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void write_file(int dirfd, const char *name, size_t size, mode_t mode)
{
	unsigned char *buf = malloc(size ? size : 1);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	assert_int_equal(fchmod(fd, mode), 0); /* the umask must not decide the test */
	close(fd);
	free(buf);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_done(struct stor_req *r)
{
	struct done *d = r->data;

	d->calls++;
	d->res = r->res;
	d->thread = pthread_self();
}

/* Drive the engine until *counter reaches target. The deadline guards a hang, it asserts nothing
 * about speed. */
static void run_until(struct stor *st, const int *counter, int target)
{
	double deadline = now_s() + 60;

	while (*counter < target) {
		assert_true(stor_wait(st, 1000) >= 0);
		assert_true(now_s() < deadline);
	}
}

/* Submit one prepared request, wait for it, check it completed once on this thread. */
static int run_one(struct fixture *f, struct stor_req *r)
{
	struct done *d = &f->a->d;

	memset(d, 0, sizeof(*d));
	r->cb = on_done;
	r->data = d;
	stor_submit(f->st, r);
	run_until(f->st, &d->calls, 1);
	assert_int_equal(d->calls, 1);
	assert_true(pthread_equal(d->thread, pthread_self()));
	return d->res;
}

static int setup(void **state)
{
	struct fixture *f = *state;
	struct stor_config cfg = {.entries = f->entries, .flags = f->flags};

	f->a = calloc(1, sizeof(*f->a));
	if (!f->a)
		return -1;
	strcpy(f->dir, "/tmp/stor-ring-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return -1;
	return stor_create(&f->st, &cfg) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	struct stor_stats s;
	double deadline = now_s() + 30;
	int ret = 0;

	/*
	 * Complete whatever a failed test left in flight, but bounded: stor_destroy() would wait
	 * forever for a request a broken engine lost. Then leak rather than hang or free memory
	 * the kernel may still write.
	 */
	stor_get_stats(f->st, &s);
	while (s.inflight > 0 && now_s() < deadline) {
		stor_wait(f->st, 1000);
		stor_get_stats(f->st, &s);
	}
	if (s.inflight == 0) {
		stor_destroy(f->st);
		free(f->a);
	} else {
		print_error("teardown: %llu requests never completed\n",
			    (unsigned long long)s.inflight);
		ret = -1;
	}
	f->st = NULL;
	f->a = NULL;
	close(f->dirfd);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}

/* ---- tests ---- */

static void test_native_ops(void **state)
{
	struct fixture *f = *state;
	bool ring = !(f->flags & STOR_F_OFFLOAD_ALL);

	assert_int_equal(stor_op_native(f->st, STOR_OP_READ), ring);
	assert_int_equal(stor_op_native(f->st, STOR_OP_STATX), ring);
	assert_int_equal(stor_op_native(f->st, STOR_OP_OPENAT), ring);
	assert_false(stor_op_native(f->st, STOR_OP_GETDENTS));
	assert_false(stor_op_native(f->st, STOR_OP_FCHMOD));
	assert_false(stor_op_native(f->st, -1));
	assert_false(stor_op_native(f->st, STOR_OP_NR));
	if (ring)
		print_message("ring setup flags %#x\n", stor_ring_flags(f->st));
}

static void test_read_offsets(void **state)
{
	static const uint64_t offs[] = {0, 1, 4095, 4096, 8191, 9990, 9999, 10000, 20000};
	struct fixture *f = *state;
	struct stor_req *r = &f->a->r;
	unsigned char *buf = f->a->buf;
	struct iovec *iov = f->a->iov;
	const size_t len = 4096;
	int fd;

	write_file(f->dirfd, "data", FILE_SIZE, 0644);
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		uint64_t off = offs[k];
		int want = off >= FILE_SIZE	    ? 0
			   : FILE_SIZE - off < len ? (int)(FILE_SIZE - off)
						   : (int)len;

		memset(buf, 0xee, len);
		iov[0] = (struct iovec){buf, len};
		stor_prep_read(r, fd, iov, 1, off);
		assert_int_equal(run_one(f, r), want); /* short read near EOF, 0 past it */
		for (int i = 0; i < want; i++)
			assert_int_equal(buf[i], pattern(off + (size_t)i));
	}

	/* readv scatters into several iovecs in order */
	{
		unsigned char *a = buf, *b = buf + 16, *c = buf + 4096 + 16;

		memset(buf, 0xee, 8192);
		iov[0] = (struct iovec){a, 10};
		iov[1] = (struct iovec){b, 4000};
		iov[2] = (struct iovec){c, 3};
		stor_prep_read(r, fd, iov, 3, 100);
		assert_int_equal(run_one(f, r), 4013);
		assert_int_equal(a[0], pattern(100));
		assert_int_equal(a[9], pattern(109));
		assert_int_equal(a[10], 0xee); /* nothing beyond the iovec */
		assert_int_equal(b[0], pattern(110));
		assert_int_equal(b[3999], pattern(4109));
		assert_int_equal(c[0], pattern(4110));
		assert_int_equal(c[2], pattern(4112));
		assert_int_equal(c[3], 0xee);
	}

	/* errors come back as -errno */
	iov[0] = (struct iovec){buf, len};
	stor_prep_read(r, 987654, iov, 1, 0);
	assert_int_equal(run_one(f, r), -EBADF);
	close(fd);
}

static void test_write_sync(void **state)
{
	struct fixture *f = *state;
	struct stor_req *r = &f->a->r;
	struct iovec *iov = f->a->iov;
	char back[13];
	struct stat sb;
	int fd;

	fd = openat(f->dirfd, "w", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	memcpy(f->a->buf, "hello, sluice", 13);
	iov[0] = (struct iovec){f->a->buf, 7};
	iov[1] = (struct iovec){f->a->buf + 7, 6};
	stor_prep_write(r, fd, iov, 2, 5000);
	assert_int_equal(run_one(f, r), 13);
	stor_prep_fsync(r, fd, true);
	assert_int_equal(run_one(f, r), 0);
	stor_prep_fsync(r, fd, false);
	assert_int_equal(run_one(f, r), 0);

	assert_int_equal(pread(fd, back, sizeof(back), 5000), 13);
	assert_memory_equal(back, "hello, sluice", 13);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 5013);
	close(fd);
}

static void test_statx(void **state)
{
	struct fixture *f = *state;
	struct stor_req *r = &f->a->r;
	struct statx *sx = &f->a->sx;
	int fd;

	write_file(f->dirfd, "data", FILE_SIZE, 0640);

	memset(sx, 0, sizeof(*sx));
	stor_prep_statx(r, f->dirfd, "data", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, sx);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(sx->stx_size, FILE_SIZE);
	assert_true(S_ISREG(sx->stx_mode));
	assert_int_equal(sx->stx_mode & 07777, 0640);

	/* AT_EMPTY_PATH: the directory fd itself */
	memset(sx, 0, sizeof(*sx));
	stor_prep_statx(r, f->dirfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, sx);
	assert_int_equal(run_one(f, r), 0);
	assert_true(S_ISDIR(sx->stx_mode));
	assert_int_equal(sx->stx_mode & 07777, 0700); /* mkdtemp's mode */

	/* and an open file */
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	memset(sx, 0, sizeof(*sx));
	stor_prep_statx(r, fd, "", AT_EMPTY_PATH, STATX_SIZE, sx);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(sx->stx_size, FILE_SIZE);
	close(fd);

	stor_prep_statx(r, f->dirfd, "missing", 0, STATX_BASIC_STATS, sx);
	assert_int_equal(run_one(f, r), -ENOENT);
}

static void test_openat_close(void **state)
{
	struct fixture *f = *state;
	struct stor_req *r = &f->a->r;
	int fd;

	stor_prep_openat(r, f->dirfd, "missing", O_RDONLY, 0);
	assert_int_equal(run_one(f, r), -ENOENT);

	stor_prep_openat(r, f->dirfd, "new", O_CREAT | O_EXCL | O_RDWR, 0600);
	fd = run_one(f, r);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	stor_prep_openat(r, f->dirfd, "new", O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_int_equal(run_one(f, r), -EEXIST);

	stor_prep_close(r, fd);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* really closed */
	assert_int_equal(errno, EBADF);
	stor_prep_close(r, fd);
	assert_int_equal(run_one(f, r), -EBADF);
}

/* ---- 1000 requests in one burst through a 4-entry ring ---- */

struct burst {
	struct stor_req req;
	struct iovec iov;
	unsigned char buf[8];
	int idx;
	int calls;
	int res;
	bool right_thread;
};

static int burst_done;
static pthread_t burst_owner;

static void on_burst_checked(struct stor_req *r)
{
	struct burst *b = r->data;

	b->calls++;
	b->res = r->res;
	b->right_thread = pthread_equal(pthread_self(), burst_owner);
	burst_done++;
}

static void test_burst(void **state)
{
	struct fixture *f = *state;
	struct burst *bs = calloc(BURST, sizeof(*bs));
	struct stor_stats s;
	int fd, fd2;

	assert_non_null(bs);
	write_file(f->dirfd, "data", BURST * 8, 0644);
	write_file(f->dirfd, "modes", 0, 0644);
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	fd2 = openat(f->dirfd, "modes", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && fd2 >= 0);

	burst_done = 0;
	burst_owner = pthread_self();
	for (int i = 0; i < BURST; i++) {
		struct burst *b = &bs[i];

		b->idx = i;
		if (i % 10 == 9) { /* every tenth one goes to the offload pool */
			stor_prep_fchmod(&b->req, fd2, 0644);
		} else {
			b->iov.iov_base = b->buf;
			b->iov.iov_len = sizeof(b->buf);
			stor_prep_read(&b->req, fd, &b->iov, 1, (uint64_t)i * 8);
		}
		b->req.cb = on_burst_checked;
		b->req.data = b;
		stor_submit(f->st, &b->req);
	}
	stor_get_stats(f->st, &s);
	assert_int_equal(s.submitted, BURST);
	assert_int_equal(s.inflight, BURST);
	assert_int_equal(s.max_depth, BURST);
	assert_int_equal(burst_done, 0); /* nothing completes inside stor_submit */
	if (!(f->flags & STOR_F_OFFLOAD_ALL)) {
		assert_int_equal(s.offloaded, BURST / 10);
		assert_true(s.queued > 0); /* the ring was too small: the rest waits */
	} else {
		assert_int_equal(s.offloaded, BURST);
	}

	run_until(f->st, &burst_done, BURST);

	for (int i = 0; i < BURST; i++) {
		struct burst *b = &bs[i];

		assert_int_equal(b->calls, 1);
		assert_true(b->right_thread);
		if (i % 10 == 9) {
			assert_int_equal(b->res, 0);
			continue;
		}
		assert_int_equal(b->res, 8);
		for (int j = 0; j < 8; j++)
			assert_int_equal(b->buf[j], pattern((size_t)i * 8 + (size_t)j));
	}
	stor_get_stats(f->st, &s);
	assert_int_equal(s.completed, BURST);
	assert_int_equal(s.inflight, 0);
	assert_int_equal(s.queued, 0);
	if (!(f->flags & STOR_F_OFFLOAD_ALL)) {
		assert_true(s.backlogged > 0);
		assert_true(s.enters < BURST - BURST / 10); /* batched, not one syscall per request */
		print_message("burst: %llu io_uring_enter for %d ring requests, %llu backlogged\n",
			      (unsigned long long)s.enters, BURST - BURST / 10,
			      (unsigned long long)s.backlogged);
	}
	close(fd);
	close(fd2);
	free(bs);
}

/* ---- directory listing through the offload pool ---- */

struct lister {
	struct stor_req req;
	int fd;
	_Alignas(8) char buf[2048]; /* small on purpose: many calls; records are 8-aligned */
	unsigned char seen[NDIRENTS];
	int others, calls, done, err;
	int64_t cookie_500; /* d_off after the 500th name: where a READDIR would resume */
	char name_501[32];
	int names;
};

struct dirent64_rec {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static struct stor *dents_engine;

static void on_dents_resubmit(struct stor_req *r)
{
	struct lister *l = r->data;

	l->calls++;
	if (r->res <= 0) {
		l->err = r->res;
		l->done = 1;
		return;
	}
	for (int off = 0; off < r->res;) {
		const struct dirent64_rec *d = (const void *)(l->buf + off);
		int idx;

		off += d->d_reclen;
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		l->names++;
		if (l->names == 500)
			l->cookie_500 = d->d_off;
		if (l->names == 501)
			snprintf(l->name_501, sizeof(l->name_501), "%s", d->d_name);
		if (sscanf(d->d_name, "f%04d", &idx) == 1 && idx >= 0 && idx < NDIRENTS)
			l->seen[idx]++;
		else
			l->others++;
	}
	stor_prep_getdents(r, l->fd, l->buf, sizeof(l->buf), STOR_DENTS_CONTINUE);
	stor_submit(dents_engine, r);
}

static void test_getdents_1000(void **state)
{
	struct fixture *f = *state;
	struct lister *l = calloc(1, sizeof(*l));
	struct stor_stats s;
	char name[32];
	int sub;

	assert_non_null(l);
	assert_int_equal(mkdirat(f->dirfd, "big", 0755), 0);
	sub = openat(f->dirfd, "big", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sub >= 0);
	for (int i = 0; i < NDIRENTS; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%04d", i);
		fd = openat(sub, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}

	l->fd = sub;
	dents_engine = f->st;
	stor_prep_getdents(&l->req, sub, l->buf, sizeof(l->buf), 0);
	l->req.cb = on_dents_resubmit;
	l->req.data = l;
	stor_submit(f->st, &l->req);
	run_until(f->st, &l->done, 1);

	assert_int_equal(l->err, 0); /* ended by an empty read, not an error */
	assert_int_equal(l->names, NDIRENTS);
	assert_int_equal(l->others, 0);
	for (int i = 0; i < NDIRENTS; i++)
		assert_int_equal(l->seen[i], 1); /* every name exactly once */
	assert_true(l->calls > 2);
	stor_get_stats(f->st, &s);
	assert_true(s.offloaded >= (uint64_t)l->calls);

	/* Resume at a cookie: the next name is the one that followed it. */
	memset(l->buf, 0, sizeof(l->buf));
	{
		struct stor_req *r = &f->a->r;
		const struct dirent64_rec *d = (const void *)l->buf;

		stor_prep_getdents(r, sub, l->buf, sizeof(l->buf), l->cookie_500);
		assert_true(run_one(f, r) > 0);
		assert_string_equal(d->d_name, l->name_501);
	}

	/* Not a directory: -ENOTDIR, not a crash. */
	{
		struct stor_req *r = &f->a->r;
		int fd = openat(sub, "f0000", O_RDONLY | O_CLOEXEC);

		stor_prep_getdents(r, fd, l->buf, sizeof(l->buf), STOR_DENTS_CONTINUE);
		assert_int_equal(run_one(f, r), -ENOTDIR);
		close(fd);
	}
	close(sub);
	free(l);
}

/* ---- callbacks run only inside stor_reap() ---- */

static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 30000), 1); /* generous: a guard, not a measurement */
}

static void check_reaped_only(struct fixture *f, struct stor_req *r, int want)
{
	struct done *d = &f->a->d;
	struct stor_stats s;

	memset(d, 0, sizeof(*d));
	r->cb = on_done;
	r->data = d;
	stor_submit(f->st, r);
	assert_int_equal(stor_flush(f->st), 0);
	wait_readable(stor_event_fd(f->st));
	/* the event fd says it is done, but the callback waits for stor_reap() */
	assert_int_equal(d->calls, 0);
	stor_get_stats(f->st, &s);
	assert_int_equal(s.inflight, 1);

	assert_int_equal(stor_reap(f->st), 1);
	assert_int_equal(d->calls, 1);
	assert_int_equal(d->res, want);
	assert_true(pthread_equal(d->thread, pthread_self()));
	assert_int_equal(stor_reap(f->st), 0); /* exactly once */
	assert_int_equal(d->calls, 1);
}

static void test_reaped_only(void **state)
{
	struct fixture *f = *state;
	struct stor_req *r = &f->a->r;
	struct iovec *iov = f->a->iov;
	int fd;

	write_file(f->dirfd, "data", FILE_SIZE, 0644);
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	iov[0] = (struct iovec){f->a->buf, 64};
	stor_prep_read(r, fd, iov, 1, 0); /* a ring op (offloaded in the other mode) */
	check_reaped_only(f, r, 64);
	stor_prep_fchmod(r, fd, 0644); /* always offloaded */
	check_reaped_only(f, r, 0);
	stor_prep_close(r, fd);
	r->op = 4242; /* malformed: completes locally with -EINVAL, still through the event fd */
	check_reaped_only(f, r, -EINVAL);
	close(fd);
}

/*
 * Driven only as the server's loop drives it: sleep in poll() on the event fd, reap, flush. The
 * fd is only a hint, signalled once for many completions: a reap that left anything behind
 * would leave the loop asleep with work done, and the poll below would time out.
 */
#define LOOPED 64

static int looped_done;

static void on_looped(struct stor_req *r)
{
	(void)r;
	looped_done++;
}

static void test_event_fd_driven(void **state)
{
	struct fixture *f = *state;
	struct stor_req *rs = calloc(LOOPED, sizeof(*rs));
	struct iovec *iov = calloc(LOOPED, sizeof(*iov));
	int fd, wakeups = 0;

	assert_true(rs && iov);
	write_file(f->dirfd, "data", FILE_SIZE, 0644);
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	looped_done = 0;
	for (int i = 0; i < LOOPED; i++) {
		iov[i] = (struct iovec){f->a->buf + i * 64, 64};
		if (i % 8 == 7)
			stor_prep_fchmod(&rs[i], fd, 0644);
		else
			stor_prep_read(&rs[i], fd, &iov[i], 1, (uint64_t)i * 64);
		rs[i].cb = on_looped;
		stor_submit(f->st, &rs[i]);
	}
	assert_int_equal(stor_flush(f->st), 0);
	while (looped_done < LOOPED) {
		wait_readable(stor_event_fd(f->st));
		wakeups++;
		assert_true(stor_reap(f->st) >= 0);
		assert_int_equal(stor_flush(f->st), 0);
	}
	assert_int_equal(looped_done, LOOPED);
	assert_true(wakeups <= LOOPED);
	close(fd);
	free(rs);
	free(iov);
}

/* ---- the namespace and attribute operations ---- */

static void test_namespace_ops(void **state)
{
	struct fixture *f = *state;
	struct timespec ts[2] = {{1000000000, 0}, {1200000000, 5000}};
	char *link = (char *)f->a->buf;
	struct stor_req *r = &f->a->r;
	struct stat sb;
	int fd;

	write_file(f->dirfd, "data", 100, 0644);

	stor_prep_mkdirat(r, f->dirfd, "d", 0750);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstatat(f->dirfd, "d", &sb, 0), 0);
	assert_true(S_ISDIR(sb.st_mode));
	stor_prep_mkdirat(r, f->dirfd, "d", 0750);
	assert_int_equal(run_one(f, r), -EEXIST);

	stor_prep_symlinkat(r, "target", f->dirfd, "lnk");
	assert_int_equal(run_one(f, r), 0);
	memset(link, 0, 64);
	stor_prep_readlinkat(r, f->dirfd, "lnk", link, 63);
	assert_int_equal(run_one(f, r), 6);
	assert_string_equal(link, "target");

	stor_prep_linkat(r, f->dirfd, "data", f->dirfd, "d/hard", 0);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstatat(f->dirfd, "data", &sb, 0), 0);
	assert_int_equal(sb.st_nlink, 2);

	stor_prep_renameat(r, f->dirfd, "d/hard", f->dirfd, "d/moved", 0);
	assert_int_equal(run_one(f, r), 0);
	stor_prep_renameat(r, f->dirfd, "d/moved", f->dirfd, "data", RENAME_NOREPLACE);
	assert_int_equal(run_one(f, r), -EEXIST);
	stor_prep_unlinkat(r, f->dirfd, "d", AT_REMOVEDIR);
	assert_int_equal(run_one(f, r), -ENOTEMPTY);
	stor_prep_unlinkat(r, f->dirfd, "d/moved", 0);
	assert_int_equal(run_one(f, r), 0);
	stor_prep_unlinkat(r, f->dirfd, "d", AT_REMOVEDIR);
	assert_int_equal(run_one(f, r), 0);
	stor_prep_unlinkat(r, f->dirfd, "d", AT_REMOVEDIR);
	assert_int_equal(run_one(f, r), -ENOENT);

	fd = openat(f->dirfd, "data", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	stor_prep_fallocate(r, fd, 0, 0, 65536);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 65536);
	stor_prep_ftruncate(r, fd, 123);
	assert_int_equal(run_one(f, r), 0);
	stor_prep_fchmod(r, fd, 0604);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 123);
	assert_int_equal(sb.st_mode & 07777, 0604);

	if (geteuid() == 0) {
		stor_prep_fchown(r, fd, 1234, 4321);
		assert_int_equal(run_one(f, r), 0);
		assert_int_equal(fstat(fd, &sb), 0);
		assert_int_equal(sb.st_uid, 1234);
		assert_int_equal(sb.st_gid, 4321);
	}
	stor_prep_fchown(r, fd, (uid_t)-1, (gid_t)-1);
	assert_int_equal(run_one(f, r), 0);

	stor_prep_utimensat(r, f->dirfd, "data", ts, 0);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_atim.tv_sec, 1000000000);
	assert_int_equal(sb.st_mtim.tv_sec, 1200000000);
	assert_int_equal(sb.st_mtim.tv_nsec, 5000);
	close(fd);

	/* The fd itself, even an O_PATH one (what a server holds for a handle). */
	fd = openat(f->dirfd, "data", O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	ts[1].tv_sec = 1300000000;
	stor_prep_utimensat(r, fd, NULL, ts, 0);
	assert_int_equal(run_one(f, r), 0);
	assert_int_equal(fstatat(f->dirfd, "data", &sb, 0), 0);
	assert_int_equal(sb.st_mtim.tv_sec, 1300000000);
	close(fd);
}

/* ---- stor_destroy() finishes what was submitted ---- */

static void test_destroy_drains(void **state)
{
	struct fixture *f = *state;
	struct stor_config cfg = {.entries = 2, .flags = f->flags};
	unsigned char buf[12][16];
	struct iovec iov[12];
	struct stor_req r[12];
	struct stor *st;
	struct done d = {0};
	int fd;

	write_file(f->dirfd, "data", FILE_SIZE, 0644);
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(stor_create(&st, &cfg), 0);
	for (int i = 0; i < 12; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		if (i < 10)
			stor_prep_read(&r[i], fd, &iov[i], 1, (uint64_t)i * 16);
		else
			stor_prep_fchmod(&r[i], fd, 0644);
		r[i].cb = on_done;
		r[i].data = &d;
		stor_submit(st, &r[i]); /* never flushed: destroy must do it */
	}
	stor_destroy(st);
	assert_int_equal(d.calls, 12);
	close(fd);
}

static int skip_without_io_uring(void)
{
	struct stor *st;
	int ret = stor_create(&st, NULL);

	if (ret == -ENOSYS || ret == -EPERM) {
		printf("io_uring unavailable (%s): skipped\n", strerror(-ret));
		return 1;
	}
	if (ret == 0)
		stor_destroy(st);
	return 0;
}

/* Each test twice: through the ring, then everything through the offload pool. */
#define BOTH(t, e)                                                                         \
	{#t " [ring]", t, setup, teardown, &(struct fixture){.entries = (e)}},             \
	{                                                                                  \
		#t " [offload]", t, setup, teardown,                                       \
		&(struct fixture){.entries = (e), .flags = STOR_F_OFFLOAD_ALL}             \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_native_ops, 0),
		BOTH(test_read_offsets, 0),
		BOTH(test_write_sync, 0),
		BOTH(test_statx, 0),
		BOTH(test_openat_close, 0),
		BOTH(test_burst, 4),
		BOTH(test_getdents_1000, 0),
		BOTH(test_reaped_only, 0),
		BOTH(test_event_fd_driven, 16),
		BOTH(test_namespace_ops, 0),
		BOTH(test_destroy_drains, 0),
	};

	if (skip_without_io_uring())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

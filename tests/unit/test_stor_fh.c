/*
 * cmocka tests of persistent file handles (storage/fh.c): encode/decode, resolution after a
 * simulated restart, staleness, and strict rejection of malformed handles.
 * Needs CAP_DAC_READ_SEARCH for open_by_handle_at (root here). Exits 77 when the scratch
 * filesystem has no file handles at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fh.h"
#include "stor.h"

struct fixture {
	char dir[64];
	int root; /* the "export root", also the mount fd */
};

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/stor-fh-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->root < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->root >= 0)
		close(f->root);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void make_file(int dirfd, const char *name, const char *content)
{
	int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static size_t encode(uint32_t export_id, int dirfd, const char *path, unsigned char *out)
{
	size_t len = FH_MAX_SIZE;

	assert_int_equal(fh_encode(export_id, dirfd, path, out, &len), 0);
	return len;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	unsigned char a[FH_MAX_SIZE], b[FH_MAX_SIZE], d[FH_MAX_SIZE], other[FH_MAX_SIZE];
	size_t alen, blen, dlen, olen;
	struct fh_kernel kh;
	uint32_t export_id = 0;

	make_file(f->root, "a", "alpha");
	alen = encode(7, f->root, "a", a);
	assert_true(alen > FH_HDR_SIZE && alen <= FH_MAX_SIZE);
	assert_int_equal(a[0], FH_MAGIC | FH_VERSION);

	assert_int_equal(fh_decode(a, alen, &export_id, &kh), 0);
	assert_int_equal(export_id, 7);
	assert_int_equal(kh.len, alen - FH_HDR_SIZE);
	assert_true(kh.type >= 0);

	/* Deterministic: the same object gives the same bytes (clients compare handles). */
	blen = encode(7, f->root, "a", b);
	assert_int_equal(blen, alen);
	assert_memory_equal(a, b, alen);

	/* The export id is the only difference between exports of the same object. */
	olen = encode(0xdeadbeef, f->root, "a", other);
	assert_int_equal(olen, alen);
	assert_int_equal(other[1], 0xde);
	assert_int_equal(other[4], 0xef);
	assert_memory_equal(other + 5, a + 5, alen - 5);
	assert_int_equal(fh_decode(other, olen, &export_id, NULL), 0);
	assert_int_equal(export_id, 0xdeadbeef); /* decoded, not judged: that's the caller's */

	/* NULL / "" path: the directory itself, a different object. */
	dlen = encode(7, f->root, NULL, d);
	assert_false(dlen == alen && !memcmp(d, a, alen));
	blen = encode(7, f->root, "", b);
	assert_int_equal(blen, dlen);
	assert_memory_equal(b, d, dlen);
}

static void test_encode_errors(void **state)
{
	struct fixture *f = *state;
	unsigned char out[FH_MAX_SIZE], lnk[FH_MAX_SIZE];
	size_t len = sizeof(out), alen, llen;
	struct fh_kernel kh;
	struct stat sb;
	int fd;

	assert_int_equal(fh_encode(1, f->root, "missing", out, &len), -ENOENT);
	make_file(f->root, "a", "alpha");
	len = FH_HDR_SIZE; /* no room for the kernel part */
	assert_int_equal(fh_encode(1, f->root, "a", out, &len), -ENOSPC);
	len = sizeof(out);
	assert_int_equal(fh_encode(1, f->root, "a", NULL, &len), -EINVAL);

	/* A symlink has its own handle: encoding does not follow it. */
	assert_int_equal(symlinkat("a", f->root, "lnk"), 0);
	alen = encode(1, f->root, "a", out);
	llen = encode(1, f->root, "lnk", lnk);
	assert_false(alen == llen && !memcmp(out, lnk, alen));
	assert_int_equal(fh_decode(lnk, llen, NULL, &kh), 0);
	fd = fh_resolve(f->root, &kh, O_PATH | O_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "", &sb, AT_EMPTY_PATH), 0);
	assert_true(S_ISLNK(sb.st_mode));
	close(fd);
}

static void test_resolve_after_restart(void **state)
{
	struct fixture *f = *state;
	unsigned char h[FH_MAX_SIZE], dh[FH_MAX_SIZE];
	size_t len, dlen;
	struct fh_kernel kh;
	struct stat want, got;
	char buf[16] = {0};
	int fd, sub;

	assert_int_equal(mkdirat(f->root, "sub", 0755), 0);
	sub = openat(f->root, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sub >= 0);
	make_file(sub, "b", "bravo");
	assert_int_equal(fstatat(sub, "b", &want, 0), 0);
	len = encode(3, sub, "b", h);
	dlen = encode(3, sub, NULL, dh);
	close(sub);

	/* "Restart": every fd of the old server is gone, the export root is opened afresh. */
	close(f->root);
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->root >= 0);

	assert_int_equal(fh_decode(h, len, NULL, &kh), 0);
	fd = fh_resolve(f->root, &kh, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(got.st_ino, want.st_ino);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "bravo");
	close(fd);

	assert_int_equal(fh_decode(dh, dlen, NULL, &kh), 0);
	fd = fh_resolve(f->root, &kh, O_PATH);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "b", &got, 0), 0); /* usable as a dirfd */
	assert_int_equal(got.st_ino, want.st_ino);
	close(fd);

	/* The handle does not depend on the file being reachable under the old names. */
	assert_int_equal(renameat(f->root, "sub", f->root, "renamed"), 0);
	assert_int_equal(fh_decode(h, len, NULL, &kh), 0);
	fd = fh_resolve(f->root, &kh, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
}

static void test_stale(void **state)
{
	struct fixture *f = *state;
	unsigned char h[FH_MAX_SIZE], dh[FH_MAX_SIZE];
	size_t len, dlen;
	struct fh_kernel kh;

	make_file(f->root, "c", "charlie");
	len = encode(1, f->root, "c", h);
	assert_int_equal(mkdirat(f->root, "gone", 0755), 0);
	dlen = encode(1, f->root, "gone", dh);

	assert_int_equal(unlinkat(f->root, "c", 0), 0);
	assert_int_equal(unlinkat(f->root, "gone", AT_REMOVEDIR), 0);

	assert_int_equal(fh_decode(h, len, NULL, &kh), 0); /* still well-formed... */
	assert_int_equal(fh_resolve(f->root, &kh, O_RDONLY), -ESTALE); /* ...but gone */
	assert_int_equal(fh_resolve(f->root, &kh, O_PATH), -ESTALE);
	assert_int_equal(fh_decode(dh, dlen, NULL, &kh), 0);
	assert_int_equal(fh_resolve(f->root, &kh, O_PATH), -ESTALE);

	/* A new file in the old name is a new object: the old handle stays stale. */
	make_file(f->root, "c", "charlie again");
	assert_int_equal(fh_decode(h, len, NULL, &kh), 0);
	assert_int_equal(fh_resolve(f->root, &kh, O_RDONLY), -ESTALE);
}

static void test_bad_handles(void **state)
{
	struct fixture *f = *state;
	unsigned char good[FH_MAX_SIZE], b[256];
	struct fh_kernel kh;
	uint32_t id;
	size_t len;

	make_file(f->root, "a", "alpha");
	len = encode(9, f->root, "a", good);

	/* lengths */
	assert_int_equal(fh_decode(NULL, 0, &id, &kh), -EBADMSG);
	assert_int_equal(fh_decode(good, 0, &id, &kh), -EBADMSG);
	assert_int_equal(fh_decode(good, 1, &id, &kh), -EBADMSG);
	assert_int_equal(fh_decode(good, FH_HDR_SIZE, &id, &kh), -EBADMSG);
	for (size_t n = 1; n < len; n++) /* every truncation */
		assert_int_equal(fh_decode(good, len - n, &id, &kh), -EBADMSG);
	memcpy(b, good, len);
	b[len] = 0;
	assert_int_equal(fh_decode(b, len + 1, &id, &kh), -EBADMSG); /* trailing byte */
	memset(b, 0, sizeof(b));
	memcpy(b, good, len);
	assert_int_equal(fh_decode(b, 200, &id, &kh), -EBADMSG); /* > NFS4_FHSIZE */
	assert_int_equal(fh_decode(b, FH_MAX_SIZE + 1, &id, &kh), -EBADMSG);

	/* magic and version */
	memcpy(b, good, len);
	b[0] = 0xB0 | FH_VERSION;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	b[0] = FH_MAGIC | (FH_VERSION + 1);
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	b[0] = 0;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);

	/* kernel handle type: negative, FILEID_INVALID */
	memcpy(b, good, len);
	b[5] = 0x80;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	memcpy(b, good, len);
	b[5] = b[6] = b[7] = 0;
	b[8] = 0xff;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);

	/* inner length disagreeing with the outer one */
	memcpy(b, good, len);
	b[9] = 0;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	b[9] = (unsigned char)(len - FH_HDR_SIZE + 1);
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	b[9] = (unsigned char)(len - FH_HDR_SIZE - 1);
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);
	b[9] = 0xff;
	assert_int_equal(fh_decode(b, len, &id, &kh), -EBADMSG);

	/* garbage: random bytes at every length; a pass needs a magic byte and consistent lengths */
	srand(12345);
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)rand() % sizeof(b);

		for (size_t j = 0; j < n; j++)
			b[j] = (unsigned char)rand();
		if (fh_decode(b, n, &id, &kh) == 0) {
			/* Only possible when the structure happens to be right; then it must be. */
			assert_int_equal(b[0], FH_MAGIC | FH_VERSION);
			assert_int_equal(b[9] + FH_HDR_SIZE, n);
		}
	}
	memset(b, 'x', sizeof(b));
	assert_int_equal(fh_decode(b, 64, &id, &kh), -EBADMSG);

	/* The good one still decodes after all that (no state). */
	assert_int_equal(fh_decode(good, len, &id, &kh), 0);
	assert_int_equal(id, 9);
}

/* Well-formed but meaningless to the filesystem: an error code, never a crash or a wrong file. */
static void test_resolve_forged(void **state)
{
	struct fixture *f = *state;
	struct fh_kernel kh;
	int ret;

	memset(&kh, 0, sizeof(kh));
	kh.type = 1;
	kh.len = 8;
	memset(kh.bytes, 0xa5, 8); /* an absurd inode number and generation */
	ret = fh_resolve(f->root, &kh, O_PATH);
	assert_true(ret == -ESTALE || ret == -EBADMSG);

	kh.type = 0x7e; /* a type this filesystem doesn't produce */
	ret = fh_resolve(f->root, &kh, O_PATH);
	assert_true(ret == -ESTALE || ret == -EBADMSG);

	kh.len = 0;
	assert_int_equal(fh_resolve(f->root, &kh, O_PATH), -EBADMSG);
	kh.len = FH_KERNEL_MAX + 1;
	assert_int_equal(fh_resolve(f->root, &kh, O_PATH), -EBADMSG);
	kh.len = 8;
	kh.type = -1;
	assert_int_equal(fh_resolve(f->root, &kh, O_PATH), -EBADMSG);
	assert_int_equal(fh_resolve(f->root, NULL, O_PATH), -EBADMSG);
}

/* The same through the engine's offload pool, as a loop thread would do it. */
struct done {
	int calls, res;
};

static void on_done(struct stor_req *r)
{
	struct done *d = r->data;

	d->calls++;
	d->res = r->res;
}

static int engine_resolve(struct stor *st, int mount_fd, const struct fh_kernel *kh, int flags)
{
	struct done d = {0};
	struct stor_req r;

	stor_prep_open_by_handle(&r, mount_fd, kh, flags);
	r.cb = on_done;
	r.data = &d;
	stor_submit(st, &r);
	for (int i = 0; i < 60 && !d.calls; i++)
		assert_true(stor_wait(st, 1000) >= 0);
	assert_int_equal(d.calls, 1);
	return d.res;
}

static void test_engine_open_by_handle(void **state)
{
	struct fixture *f = *state;
	struct stor_config cfg = {.flags = STOR_F_RING_OPTIONAL};
	unsigned char h[FH_MAX_SIZE];
	struct fh_kernel kh;
	char buf[8] = {0};
	struct stor *st;
	size_t len;
	int fd;

	assert_int_equal(stor_create(&st, &cfg), 0);
	assert_false(stor_op_native(st, STOR_OP_OPEN_BY_HANDLE));
	make_file(f->root, "e", "echo");
	len = encode(1, f->root, "e", h);
	assert_int_equal(fh_decode(h, len, NULL, &kh), 0);

	fd = engine_resolve(st, f->root, &kh, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "echo");
	close(fd);

	assert_int_equal(unlinkat(f->root, "e", 0), 0);
	assert_int_equal(engine_resolve(st, f->root, &kh, O_RDONLY), -ESTALE);
	stor_destroy(st);
}

static void test_export_check(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fh_export_check(f->root), 0);
	assert_int_equal(fh_export_check(-1), -EBADF);
}

/* Decide before cmocka starts whether this environment can run the tests at all. */
static int precheck(void)
{
	char dir[] = "/tmp/stor-fh-check-XXXXXX";
	int root, ret;

	if (!mkdtemp(dir))
		return 1;
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = root < 0 ? -errno : fh_export_check(root);
	if (root >= 0)
		close(root);
	rmdir(dir);
	if (ret == -EOPNOTSUPP) {
		printf("%s: filesystem has no persistent file handles: skipped\n", dir);
		return 77;
	}
	if (ret == -EPERM) {
		fprintf(stderr, "open_by_handle_at: EPERM. The server and this test need "
				"CAP_DAC_READ_SEARCH (run as root, or grant the capability).\n");
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "fh_export_check: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encode_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_open_by_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_check, setup, teardown),
	};
	int ret = precheck();

	if (ret)
		return ret;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

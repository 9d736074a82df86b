/*
 * cmocka tests of VERIFY/NVERIFY comparison (attr_verify in server/attr.c): equal and
 * different lists, canonical forms of the same values, malformed lists (every truncation,
 * trailing bytes, lying lengths that must not be trusted), unsupported attributes, and the
 * attributes that cannot be verified (rdattr_error, write-only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"

#define BUF 8192

/*
 * The largest calloc() seen (libtirpc's decoders allocate with calloc), to show that lying
 * lengths are caught before a decoder allocates what they claim. Not under ASan, which owns
 * the allocator.
 */
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
extern void *__libc_calloc(size_t n, size_t size);
static size_t calloc_max;

void *calloc(size_t n, size_t size)
{
	if (n * size > calloc_max)
		calloc_max = n * size;
	return __libc_calloc(n, size);
}
#define CALLOC_CHECK 1
#else
static size_t calloc_max;
#define CALLOC_CHECK 0
#endif

static const uint8_t test_fh[] = {0xa1, 0, 0, 0, 7, 0, 0, 0, 1, 4, 9, 8, 7, 6};

struct fx {
	char path[64];
	struct statx file, dir;
	struct statvfs vfs;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[96];
	int fd;

	if (!f)
		return -1;
	strcpy(f->path, "/tmp/attr-verify-XXXXXX");
	if (!mkdtemp(f->path))
		return -1;
	snprintf(p, sizeof(p), "%s/f", f->path);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5)
		return -1;
	close(fd);
	if (statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &f->file) ||
	    statx(AT_FDCWD, f->path, 0, STATX_BASIC_STATS | STATX_BTIME, &f->dir) ||
	    statvfs(f->path, &f->vfs))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[96];

	snprintf(p, sizeof(p), "%s/f", f->path);
	unlink(p);
	rmdir(f->path);
	free(f);
	return 0;
}

static struct attr_src make_src(const struct fx *f, const struct statx *stx, uint32_t minor)
{
	struct attr_src s = {
		.stx = stx,
		.vfs = &f->vfs,
		.fsid_major = 5,
		.fsid_minor = 6,
		.fh = test_fh,
		.fh_len = sizeof(test_fh),
		.lease_time = 45,
		.minorversion = minor,
		.change = attr_change_from_statx(stx),
		.max_read = 1u << 20,
		.max_write = 1u << 20,
		.max_filesize = UINT64_MAX,
		.link_max = 1000,
		.name_max = 255,
	};
	return s;
}

/* A client's fattr4 made of our own encoding of mask (so: equal), in caller storage. */
struct given {
	uint32_t mask[ATTR_WORDS + 1];
	uint8_t vals[BUF];
	fattr4 f;
};

static void make_given(const struct attr_src *src, const uint32_t *req, u_int n, struct given *g)
{
	bitmap4 bm = {.bitmap4_len = n, .bitmap4_val = (uint32_t *)req};
	int len;

	memset(g, 0, sizeof(*g));
	g->f.attrmask.bitmap4_val = g->mask;
	len = attr_encode(src, &bm, &g->f, g->vals, sizeof(g->vals));
	assert_true(len >= 0);
	/* the client sends the mask it asked with */
	assert_true(n <= ATTR_WORDS + 1);
	memcpy(g->mask, req, n * sizeof(uint32_t));
	g->f.attrmask.bitmap4_len = n;
}

/* Every supported attribute except rdattr_error. */
static const uint32_t verifiable[3] = {UINT32_MAX & ~(1u << FATTR4_RDATTR_ERROR),
				       UINT32_MAX & ~(1u << 16 | 1u << 22), UINT32_MAX};

/* Only the attributes src supports, from verifiable. */
static u_int supported_req(const struct attr_src *src, uint32_t req[3])
{
	struct attr_mask sup;

	attr_supported(src, &sup);
	for (int i = 0; i < 3; i++)
		req[i] = verifiable[i] & sup.w[i];
	return 3;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_equal(void **state)
{
	struct fx *f = *state;
	static struct given g;
	uint32_t req[3];

	for (uint32_t minor = 0; minor <= 2; minor++) {
		struct attr_src src = make_src(f, &f->file, minor);

		make_given(&src, req, supported_req(&src, req), &g);
		assert_true(g.f.attr_vals.attrlist4_len > 200);
		assert_int_equal(attr_verify(&src, &g.f), 0);

		src = make_src(f, &f->dir, minor);
		make_given(&src, req, supported_req(&src, req), &g);
		assert_int_equal(attr_verify(&src, &g.f), 0);
	}

	/* nothing to compare: equal */
	struct attr_src src = make_src(f, &f->file, 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(attr_verify(&src, &g.f), 0);
	/* a mask of zero words is still nothing */
	g.f.attrmask.bitmap4_val = g.mask;
	g.f.attrmask.bitmap4_len = 4;
	assert_int_equal(attr_verify(&src, &g.f), 0);

	/* a READDIR-style source with an error still verifies the object itself */
	make_given(&src, (uint32_t[]){1u << FATTR4_SIZE}, 1, &g);
	src.rdattr_error = NFS4ERR_ACCESS;
	assert_int_equal(attr_verify(&src, &g.f), 0);
}

static void test_different(void **state)
{
	struct fx *f = *state;
	static struct given g;
	struct statx stx = f->file;
	struct attr_src src = make_src(f, &stx, 2);
	uint32_t req[3];
	uint32_t size_req[1] = {1u << FATTR4_SIZE};
	uint32_t owner_req[2] = {0, 1u << (FATTR4_OWNER - 32)};

	/* the object changed since the client looked: every attribute at once */
	make_given(&src, req, supported_req(&src, req), &g);
	stx.stx_size++;
	assert_int_equal(attr_verify(&src, &g.f), 1);
	stx.stx_size--;
	assert_int_equal(attr_verify(&src, &g.f), 0);

	/* each byte of every value matters: flip one at a time. Only pad bytes (after the file
	 * handle and the two owner strings) may change without changing a value; a flipped
	 * length or a boolean made 2 is malformed; anything else is a different value. */
	char uid[16], gid[16];
	u_int pads, same = 0;

	snprintf(uid, sizeof(uid), "%u", stx.stx_uid);
	snprintf(gid, sizeof(gid), "%u", stx.stx_gid);
	pads = (4 - sizeof(test_fh) % 4) % 4 + (4 - strlen(uid) % 4) % 4 +
	       (4 - strlen(gid) % 4) % 4;
	assert_true(pads > 0);
	for (u_int i = 0; i < g.f.attr_vals.attrlist4_len; i++) {
		uint8_t *b = &g.vals[i];
		int rc;

		*b ^= 0x01;
		rc = attr_verify(&src, &g.f);
		assert_true(rc == 1 || rc == ATTR_EBADXDR || rc == 0);
		same += rc == 0;
		*b ^= 0x01;
	}
	assert_int_equal(same, pads);
	assert_int_equal(attr_verify(&src, &g.f), 0);

	/* a single value */
	make_given(&src, size_req, 1, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	g.vals[7] ^= 0x80;
	assert_int_equal(attr_verify(&src, &g.f), 1);

	/* an owner of another length: different, not malformed */
	stx.stx_uid = 7;
	make_given(&src, owner_req, 2, &g);
	assert_int_equal(g.f.attr_vals.attrlist4_len, 8); /* "7" */
	stx.stx_uid = 70000;
	assert_int_equal(attr_verify(&src, &g.f), 1);
	stx.stx_uid = 0;
	assert_int_equal(attr_verify(&src, &g.f), 1);
	stx.stx_uid = 7;
	assert_int_equal(attr_verify(&src, &g.f), 0);
	/* a longer owner from the client than ours */
	g.vals[3] = 4;
	memcpy(g.vals + 4, "7777", 4);
	assert_int_equal(attr_verify(&src, &g.f), 1);
	/* one far longer than any list we encode */
	put32(g.vals, 6000);
	memset(g.vals + 4, '7', 6000);
	g.f.attr_vals.attrlist4_len = 4 + 6000;
	assert_int_equal(attr_verify(&src, &g.f), 1);
	g.f.attr_vals.attrlist4_len = 4 + 5996;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
}

/* What XDR lets a sender vary without changing the value. */
static void test_canonical(void **state)
{
	struct fx *f = *state;
	static struct given g;
	struct statx stx = f->file;
	struct attr_src src = make_src(f, &stx, 1);
	uint32_t owner_req[2] = {0, 1u << (FATTR4_OWNER - 32)};
	uint32_t supp_req[1] = {1u << FATTR4_SUPPORTED_ATTRS};
	uint32_t bool_req[1] = {1u << FATTR4_LINK_SUPPORT | 1u << FATTR4_NAMED_ATTR};
	u_int len;

	/* pad bytes after "7" */
	stx.stx_uid = 7;
	make_given(&src, owner_req, 2, &g);
	assert_memory_equal(g.vals, ((uint8_t[]){0, 0, 0, 1, '7', 0, 0, 0}), 8);
	g.vals[5] = 0xaa;
	g.vals[7] = 0x55;
	assert_int_equal(attr_verify(&src, &g.f), 0);

	/* supported_attrs with a trailing zero word: the same set */
	make_given(&src, supp_req, 1, &g);
	len = g.f.attr_vals.attrlist4_len;
	assert_int_equal(len, 16); /* count 3 + 3 words (suppattr_exclcreat in word 2) */
	put32(g.vals, 4);
	put32(g.vals + len, 0);
	g.f.attr_vals.attrlist4_len = len + 4;
	assert_int_equal(attr_verify(&src, &g.f), 0);
	/* ... but not a trailing non-zero word */
	put32(g.vals + len, 1);
	assert_int_equal(attr_verify(&src, &g.f), 1);

	/* a boolean is 0 or 1 (RFC 4506 §4.4): 2 is not TRUE but malformed */
	make_given(&src, bool_req, 1, &g);
	assert_memory_equal(g.vals, ((uint8_t[]){0, 0, 0, 1, 0, 0, 0, 0}), 8);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	g.vals[3] = 2;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	g.vals[3] = 1;
	g.vals[7] = 1;
	assert_int_equal(attr_verify(&src, &g.f), 1);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	static struct given g;
	struct attr_src src = make_src(f, &f->file, 2);
	uint32_t req[3];
	u_int len;

	/* every truncation of a full list */
	make_given(&src, req, supported_req(&src, req), &g);
	len = g.f.attr_vals.attrlist4_len;
	for (u_int cut = 0; cut < len; cut++) {
		g.f.attr_vals.attrlist4_len = cut;
		assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	}
	/* bytes after the last value */
	g.f.attr_vals.attrlist4_len = len + 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	g.f.attr_vals.attrlist4_len = len;
	assert_int_equal(attr_verify(&src, &g.f), 0);

	/* lengths that lie: must be rejected without trusting them (no huge allocation) */
	calloc_max = 0;
	uint32_t owner_req[2] = {0, 1u << (FATTR4_OWNER - 32)};
	make_given(&src, owner_req, 2, &g);
	put32(g.vals, 0xfffffff0);
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	put32(g.vals, 0xffffffff); /* rounds up past 2^32 */
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);

	uint32_t supp_req[1] = {1u << FATTR4_SUPPORTED_ATTRS};
	make_given(&src, supp_req, 1, &g);
	put32(g.vals, 0x40000001); /* words * 4 wraps a 32-bit size */
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);

	uint32_t loc_req[1] = {1u << FATTR4_FS_LOCATIONS};
	make_given(&src, loc_req, 1, &g);
	assert_int_equal(g.f.attr_vals.attrlist4_len, 8);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	put32(g.vals, 0x7fffffff); /* fs_root components */
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	put32(g.vals, 0);
	put32(g.vals + 4, 0x10000000); /* locations */
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	if (CALLOC_CHECK)
		assert_true(calloc_max < 65536);
	/* a well-formed non-empty fs_locations: one location {server "s", rootpath "/a"} */
	static const uint8_t loc[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,   0,
				      1, 's', 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0};
	memcpy(g.vals, loc, sizeof(loc));
	g.f.attr_vals.attrlist4_len = sizeof(loc);
	assert_int_equal(attr_verify(&src, &g.f), 1);
	g.f.attr_vals.attrlist4_len = sizeof(loc) - 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);

	/* a file handle longer than NFS4_FHSIZE, with all its bytes present */
	uint32_t fh_req[1] = {1u << FATTR4_FILEHANDLE};
	make_given(&src, fh_req, 1, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	put32(g.vals, NFS4_FHSIZE + 4);
	memset(g.vals + 4, 0, NFS4_FHSIZE + 4);
	g.f.attr_vals.attrlist4_len = 4 + NFS4_FHSIZE + 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
	/* and one of exactly NFS4_FHSIZE: well-formed, another handle */
	put32(g.vals, NFS4_FHSIZE);
	g.f.attr_vals.attrlist4_len = 4 + NFS4_FHSIZE;
	assert_int_equal(attr_verify(&src, &g.f), 1);

	/* values but no mask */
	memset(&g, 0, sizeof(g));
	g.f.attr_vals.attrlist4_val = (char *)g.vals;
	g.f.attr_vals.attrlist4_len = 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EBADXDR);
}

static void test_unsupported(void **state)
{
	struct fx *f = *state;
	static struct given g;
	struct statx stx = f->file;
	struct attr_src src = make_src(f, &stx, 2);

	/* ACL (12) with a value the client thinks is an empty ACL */
	memset(&g, 0, sizeof(g));
	g.f.attrmask.bitmap4_val = g.mask;
	g.f.attrmask.bitmap4_len = 1;
	g.mask[0] = 1u << 12;
	g.f.attr_vals.attrlist4_val = (char *)g.vals;
	g.f.attr_vals.attrlist4_len = 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);
	/* ... even next to rdattr_error (ATTRNOTSUPP is checked first) */
	g.mask[0] |= 1u << FATTR4_RDATTR_ERROR;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);

	/* attributes nobody knows: above 82, and in a fourth word */
	g.mask[0] = 0;
	g.mask[2] = 1u << 30;
	g.f.attrmask.bitmap4_len = 3;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);
	g.mask[2] = 0;
	g.mask[3] = 1;
	g.f.attrmask.bitmap4_len = 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);

	/* attributes of a later minor version than the compound's */
	uint32_t excl_req[3] = {0, 0, 1u << (FATTR4_SUPPATTR_EXCLCREAT - 64)};
	make_given(&src, excl_req, 3, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	src.minorversion = 0;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);
	src.minorversion = 2;
	uint32_t xattr_req[3] = {0, 0, 1u << (FATTR4_XATTR_SUPPORT - 64)};
	make_given(&src, xattr_req, 3, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	src.minorversion = 1;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);

	/* clone_blksize only when offered */
	src.minorversion = 2;
	src.clone_blksize = 4096;
	uint32_t clone_req[3] = {0, 0, 1u << (FATTR4_CLONE_BLKSIZE - 64)};
	make_given(&src, clone_req, 3, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	src.clone_blksize = 0;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);

	/* time_create where the filesystem has no birth time */
	uint32_t btime_req[2] = {0, 1u << (FATTR4_TIME_CREATE - 32)};
	make_given(&src, btime_req, 2, &g);
	assert_int_equal(attr_verify(&src, &g.f), 0);
	stx.stx_mask &= ~STATX_BTIME;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_ENOTSUPP);
}

static void test_not_verifiable(void **state)
{
	struct fx *f = *state;
	static struct given g;
	struct attr_src src = make_src(f, &f->file, 1);

	memset(&g, 0, sizeof(g));
	g.f.attrmask.bitmap4_val = g.mask;
	g.f.attr_vals.attrlist4_val = (char *)g.vals;

	/* rdattr_error, with a well-formed value */
	g.f.attrmask.bitmap4_len = 1;
	g.mask[0] = 1u << FATTR4_RDATTR_ERROR;
	g.f.attr_vals.attrlist4_len = 4;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EINVAL);

	/* write-only: time_access_set (SET_TO_SERVER_TIME4) and time_modify_set */
	g.f.attrmask.bitmap4_len = 2;
	g.mask[0] = 0;
	g.mask[1] = 1u << (FATTR4_TIME_ACCESS_SET - 32);
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EINVAL);
	g.mask[1] = 1u << (FATTR4_TIME_MODIFY_SET - 32);
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EINVAL);
	/* next to a good attribute, malformed values or not: INVAL before BADXDR */
	g.mask[0] = 1u << FATTR4_SIZE;
	g.f.attr_vals.attrlist4_len = 1;
	assert_int_equal(attr_verify(&src, &g.f), ATTR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_different),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_not_verifiable),
	};

	return cmocka_run_group_tests_name("attr_verify", tests, setup, teardown);
}

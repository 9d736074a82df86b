/*
 * cmocka tests of the decoder of attributes a client sets (attr_decode_set in server/attr.c:
 * SETATTR, OPEN/CREATE createattrs, EXCLUSIVE4_1 cva_attrs): each settable attribute alone and
 * all together (built by hand and by the generated XDR routines), the mask checks (get-only →
 * INVAL, unsupported or unknown → ATTRNOTSUPP, which wins, EXCLUSIVE4_1's narrower set),
 * malformed lists (every truncation, trailing bytes, lying lengths, time_how4 outside the enum),
 * nseconds out of range, and owner strings in decimal and name@domain form.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attr.h"

#define DOMAIN "example.org"

/* An fattr4 under construction: the mask and the attrlist4 bytes, written by hand. */
struct list {
	uint32_t mask[8];
	u_int words;
	uint8_t b[2048];
	size_t n;
	fattr4 f;
};

static void lst_init(struct list *l)
{
	memset(l, 0, sizeof(*l));
}

static void bit(struct list *l, unsigned int a)
{
	assert_true(a / 32 < 8);
	l->mask[a / 32] |= 1u << (a % 32);
	if (l->words < a / 32 + 1)
		l->words = a / 32 + 1;
}

static void put32(struct list *l, uint32_t v)
{
	assert_true(l->n + 4 <= sizeof(l->b));
	l->b[l->n++] = (uint8_t)(v >> 24);
	l->b[l->n++] = (uint8_t)(v >> 16);
	l->b[l->n++] = (uint8_t)(v >> 8);
	l->b[l->n++] = (uint8_t)v;
}

static void put64(struct list *l, uint64_t v)
{
	put32(l, (uint32_t)(v >> 32));
	put32(l, (uint32_t)v);
}

/* A counted string of n bytes with zero padding. */
static void putstrn(struct list *l, const char *s, size_t n)
{
	put32(l, (uint32_t)n);
	assert_true(l->n + n + 3 <= sizeof(l->b));
	memcpy(l->b + l->n, s, n);
	l->n += n;
	while (l->n % 4)
		l->b[l->n++] = 0;
}

static void putstr(struct list *l, const char *s)
{
	putstrn(l, s, strlen(s));
}

static const fattr4 *fa(struct list *l)
{
	l->f.attrmask.bitmap4_len = l->words;
	l->f.attrmask.bitmap4_val = l->mask;
	l->f.attr_vals.attrlist4_len = (u_int)l->n;
	l->f.attr_vals.attrlist4_val = (char *)l->b;
	return &l->f;
}

/* The name service of the tests: users alice (1001) and bob (1002), group staff (50); "slow"
 * has no answer yet, "minus" maps to (uint32_t)-1. */
struct names {
	int calls;
	bool last_group;
	char last[64];
};

static int idparse(void *ctx, const char *name, bool group, uint32_t *id)
{
	struct names *nm = ctx;

	nm->calls++;
	nm->last_group = group;
	snprintf(nm->last, sizeof(nm->last), "%s", name);
	if (strcmp(name, "slow") == 0)
		return -EAGAIN;
	if (strcmp(name, "minus") == 0) {
		*id = UINT32_MAX;
		return 0;
	}
	if (!group && strcmp(name, "alice") == 0) {
		*id = 1001;
		return 0;
	}
	if (!group && strcmp(name, "bob") == 0) {
		*id = 1002;
		return 0;
	}
	if (group && strcmp(name, "staff") == 0) {
		*id = 50;
		return 0;
	}
	return -ENOENT;
}

static nfsstat4 dec_v(struct list *l, uint32_t minor, unsigned int flags, struct attr_set *out)
{
	struct names nm = {0};

	return attr_decode_set(fa(l), DOMAIN, idparse, &nm, minor, flags, out);
}

static nfsstat4 dec(struct list *l, struct attr_set *out)
{
	return dec_v(l, 1, 0, out);
}

static bool only(const struct attr_mask *m, const unsigned int *attrs, size_t n)
{
	struct attr_mask want = {{0}};

	for (size_t i = 0; i < n; i++)
		attr_mask_set(&want, attrs[i]);
	return memcmp(&want, m, sizeof(want)) == 0;
}

#define ONLY(m, ...)                                                                            \
	only((m), (const unsigned int[]){__VA_ARGS__},                                          \
	     sizeof((const unsigned int[]){__VA_ARGS__}) / sizeof(unsigned int))

/* ---- each settable attribute ------------------------------------------------------------ */

static void test_size(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	put64(&l, 12345);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_SIZE));
	assert_int_equal(s.size, 12345);

	/* the largest size is the op's to refuse (FBIG), not the decoder's */
	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	put64(&l, UINT64_MAX);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(s.size == UINT64_MAX);
}

static void test_mode(void **state)
{
	static const struct {
		uint32_t given, want;
	} cases[] = {
		{0644, 0644}, {07777, 07777}, {0, 0}, {0100755, 0755}, /* S_IFREG: dropped */
		{0170000 | 04711, 04711}, {UINT32_MAX, 07777},
	};
	struct list l;
	struct attr_set s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lst_init(&l);
		bit(&l, FATTR4_MODE);
		put32(&l, cases[i].given);
		assert_int_equal(dec(&l, &s), NFS4_OK);
		assert_true(ONLY(&s.mask, FATTR4_MODE));
		assert_int_equal(s.mode, cases[i].want);
	}
}

static void test_owner_numeric(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	lst_init(&l);
	bit(&l, FATTR4_OWNER);
	putstr(&l, "1000");
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_OWNER));
	assert_int_equal(s.uid, 1000);

	lst_init(&l);
	bit(&l, FATTR4_OWNER_GROUP);
	putstr(&l, "12345"); /* a length that needs padding */
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_OWNER_GROUP));
	assert_int_equal(s.gid, 12345);
}

static void test_times(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	/* server time: no nfstime4 follows */
	lst_init(&l);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	put32(&l, SET_TO_SERVER_TIME4);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_TIME_ACCESS_SET));
	assert_int_equal(s.atime_how, SET_TO_SERVER_TIME4);

	lst_init(&l);
	bit(&l, FATTR4_TIME_MODIFY_SET);
	put32(&l, SET_TO_SERVER_TIME4);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_TIME_MODIFY_SET));
	assert_int_equal(s.mtime_how, SET_TO_SERVER_TIME4);

	/* client time, the largest nseconds */
	lst_init(&l);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	put32(&l, SET_TO_CLIENT_TIME4);
	put64(&l, 1700000000);
	put32(&l, 999999999);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_int_equal(s.atime_how, SET_TO_CLIENT_TIME4);
	assert_int_equal(s.atime.tv_sec, 1700000000);
	assert_int_equal(s.atime.tv_nsec, 999999999);

	/* before 1970: seconds are signed */
	lst_init(&l);
	bit(&l, FATTR4_TIME_MODIFY_SET);
	put32(&l, SET_TO_CLIENT_TIME4);
	put64(&l, (uint64_t)-86400);
	put32(&l, 5);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_int_equal(s.mtime_how, SET_TO_CLIENT_TIME4);
	assert_true(s.mtime.tv_sec == -86400);
	assert_int_equal(s.mtime.tv_nsec, 5);
}

/* Every settable attribute, encoded by the generated routines. */
static void test_all_generated(void **state)
{
	struct list l;
	struct attr_set s;
	fattr4_size size = 1u << 20;
	fattr4_mode mode = 0640;
	fattr4_owner owner = {.utf8string_len = 17, .utf8string_val = "alice@EXAMPLE.ORG"};
	fattr4_owner_group grp = {.utf8string_len = 2, .utf8string_val = "50"};
	fattr4_time_access_set at = {.set_it = SET_TO_CLIENT_TIME4,
				     .settime4_u.time = {.seconds = 42, .nseconds = 7}};
	fattr4_time_modify_set mt = {.set_it = SET_TO_SERVER_TIME4};
	XDR x;

	(void)state;
	lst_init(&l);
	bit(&l, FATTR4_TIME_MODIFY_SET); /* the mask's order does not matter, the list's does */
	bit(&l, FATTR4_SIZE);
	bit(&l, FATTR4_OWNER_GROUP);
	bit(&l, FATTR4_MODE);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	bit(&l, FATTR4_OWNER);
	xdrmem_create(&x, (char *)l.b, sizeof(l.b), XDR_ENCODE);
	assert_true(xdr_fattr4_size(&x, &size));
	assert_true(xdr_fattr4_mode(&x, &mode));
	assert_true(xdr_fattr4_owner(&x, &owner));
	assert_true(xdr_fattr4_owner_group(&x, &grp));
	assert_true(xdr_fattr4_time_access_set(&x, &at));
	assert_true(xdr_fattr4_time_modify_set(&x, &mt));
	l.n = xdr_getpos(&x);
	xdr_destroy(&x);

	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP,
			 FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET));
	assert_int_equal(s.size, 1u << 20);
	assert_int_equal(s.mode, 0640);
	assert_int_equal(s.uid, 1001);
	assert_int_equal(s.gid, 50);
	assert_int_equal(s.atime_how, SET_TO_CLIENT_TIME4);
	assert_int_equal(s.atime.tv_sec, 42);
	assert_int_equal(s.atime.tv_nsec, 7);
	assert_int_equal(s.mtime_how, SET_TO_SERVER_TIME4);

	/* the same in 4.0 and 4.2 */
	assert_int_equal(dec_v(&l, 0, 0, &s), NFS4_OK);
	assert_int_equal(dec_v(&l, 2, 0, &s), NFS4_OK);
}

/* Nothing to set is fine; extra zero words in the mask too. */
static void test_empty(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	lst_init(&l);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	for (unsigned int i = 0; i < ATTR_WORDS; i++)
		assert_int_equal(s.mask.w[i], 0);

	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	l.words = 7;
	put64(&l, 1);
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_true(ONLY(&s.mask, FATTR4_SIZE));

	/* an empty mask with bytes in the list */
	lst_init(&l);
	put32(&l, 0);
	assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
}

/* ---- the mask ---------------------------------------------------------------------------- */

/* With an empty list: the mask is judged before the list is looked at. */
static nfsstat4 mask_only(unsigned int a, uint32_t minor)
{
	struct list l;
	struct attr_set s;

	lst_init(&l);
	bit(&l, a);
	return dec_v(&l, minor, 0, &s);
}

static void test_readonly_inval(void **state)
{
	/* get-only attributes we return in GETATTR, in every minor version */
	static const unsigned int ro[] = {
		FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE,	      FATTR4_FH_EXPIRE_TYPE,
		FATTR4_CHANGE,		FATTR4_LINK_SUPPORT,  FATTR4_FSID,
		FATTR4_LEASE_TIME,	FATTR4_RDATTR_ERROR,  FATTR4_FILEHANDLE,
		FATTR4_ACLSUPPORT,	FATTR4_CANSETTIME,    FATTR4_FILEID,
		FATTR4_FILES_FREE,	FATTR4_MAXFILESIZE,   FATTR4_MAXREAD,
		FATTR4_NUMLINKS,	FATTR4_RAWDEV,	      FATTR4_SPACE_USED,
		FATTR4_TIME_ACCESS,	FATTR4_TIME_DELTA,    FATTR4_TIME_METADATA,
		FATTR4_TIME_MODIFY,	FATTR4_MOUNTED_ON_FILEID,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		for (uint32_t minor = 0; minor <= 2; minor++) {
			if (mask_only(ro[i], minor) != NFS4ERR_INVAL)
				fail_msg("attribute %u minor %u: not INVAL", ro[i], minor);
		}

	/* get-only attributes of later minor versions: INVAL where they exist */
	assert_int_equal(mask_only(FATTR4_SUPPATTR_EXCLCREAT, 0), NFS4ERR_ATTRNOTSUPP);
	assert_int_equal(mask_only(FATTR4_SUPPATTR_EXCLCREAT, 1), NFS4ERR_INVAL);
	assert_int_equal(mask_only(FATTR4_SUPPATTR_EXCLCREAT, 2), NFS4ERR_INVAL);
	assert_int_equal(mask_only(FATTR4_XATTR_SUPPORT, 1), NFS4ERR_ATTRNOTSUPP);
	assert_int_equal(mask_only(FATTR4_XATTR_SUPPORT, 2), NFS4ERR_INVAL);
	assert_int_equal(mask_only(FATTR4_CLONE_BLKSIZE, 2), NFS4ERR_INVAL);
}

static void test_unsupported(void **state)
{
	/* settable in the protocol, not by us; and get-only ones we do not support */
	static const unsigned int ns[] = {
		FATTR4_ACL,	      FATTR4_ARCHIVE,	     FATTR4_HIDDEN,
		FATTR4_MIMETYPE,      FATTR4_SYSTEM,	     FATTR4_TIME_BACKUP,
		FATTR4_TIME_CREATE,   FATTR4_QUOTA_AVAIL_HARD, FATTR4_QUOTA_USED,
		FATTR4_DACL,	      FATTR4_SACL,	     FATTR4_LAYOUT_HINT,
		FATTR4_RETENTION_SET, FATTR4_RETENTEVT_SET,  FATTR4_RETENTION_HOLD,
		FATTR4_MODE_SET_MASKED, FATTR4_FS_CHARSET_CAP, FATTR4_FS_STATUS,
		FATTR4_SEC_LABEL,     FATTR4_MODE_UMASK,     FATTR4_SPACE_FREED,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (uint32_t minor = 0; minor <= 2; minor++) {
			if (mask_only(ns[i], minor) != NFS4ERR_ATTRNOTSUPP)
				fail_msg("attribute %u minor %u: not ATTRNOTSUPP", ns[i], minor);
		}
}

static void test_unknown_bits(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	for (uint32_t minor = 0; minor <= 2; minor++) {
		assert_int_equal(mask_only(90, minor), NFS4ERR_ATTRNOTSUPP);   /* word 2 */
		assert_int_equal(mask_only(83, minor), NFS4ERR_ATTRNOTSUPP);   /* ATTR_MAX + 1 */
		assert_int_equal(mask_only(5 * 32, minor), NFS4ERR_ATTRNOTSUPP); /* word 5 */
	}

	/* with a settable attribute and a well-formed list for it: still refused */
	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	bit(&l, 95);
	put64(&l, 1);
	assert_int_equal(dec(&l, &s), NFS4ERR_ATTRNOTSUPP);
}

static void test_mask_precedence(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	/* ATTRNOTSUPP beats INVAL (knfsd: INVAL only when every bit is supported) */
	lst_init(&l);
	bit(&l, FATTR4_TYPE);
	bit(&l, FATTR4_ACL);
	assert_int_equal(dec(&l, &s), NFS4ERR_ATTRNOTSUPP);
	lst_init(&l);
	bit(&l, FATTR4_CHANGE);
	bit(&l, 90);
	assert_int_equal(dec(&l, &s), NFS4ERR_ATTRNOTSUPP);

	/* a settable attribute with a get-only one: INVAL, whatever the list */
	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	bit(&l, FATTR4_FILEID);
	put64(&l, 1);
	put64(&l, 2);
	assert_int_equal(dec(&l, &s), NFS4ERR_INVAL);
	lst_init(&l);
	bit(&l, FATTR4_MODE);
	bit(&l, FATTR4_TIME_MODIFY);
	assert_int_equal(dec(&l, &s), NFS4ERR_INVAL); /* before BADXDR */
}

static void test_exclcreat(void **state)
{
	struct attr_mask set, ex;
	struct list l;
	struct attr_set s;

	(void)state;
	/* suppattr_exclcreat is what we set, minus the two times */
	attr_settable(&set);
	assert_true(ONLY(&set, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP,
			 FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET));
	attr_exclcreat(&ex);
	assert_true(ONLY(&ex, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP));

	lst_init(&l);
	bit(&l, FATTR4_SIZE);
	bit(&l, FATTR4_MODE);
	bit(&l, FATTR4_OWNER);
	bit(&l, FATTR4_OWNER_GROUP);
	put64(&l, 0);
	put32(&l, 0600);
	putstr(&l, "bob@example.org");
	putstr(&l, "staff@example.org");
	assert_int_equal(dec_v(&l, 1, ATTR_SET_EXCLCREAT, &s), NFS4_OK);
	assert_int_equal(s.uid, 1002);
	assert_int_equal(s.gid, 50);

	for (unsigned int a = FATTR4_TIME_ACCESS_SET; a <= FATTR4_TIME_MODIFY_SET;
	     a += FATTR4_TIME_MODIFY_SET - FATTR4_TIME_ACCESS_SET) {
		lst_init(&l);
		bit(&l, FATTR4_MODE);
		bit(&l, a);
		put32(&l, 0600);
		put32(&l, SET_TO_SERVER_TIME4);
		assert_int_equal(dec_v(&l, 1, 0, &s), NFS4_OK);
		assert_int_equal(dec_v(&l, 1, ATTR_SET_EXCLCREAT, &s), NFS4ERR_INVAL);
		assert_int_equal(dec_v(&l, 2, ATTR_SET_EXCLCREAT, &s), NFS4ERR_INVAL);
	}

	/* an unsupported attribute is still ATTRNOTSUPP there */
	lst_init(&l);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	bit(&l, FATTR4_ACL);
	assert_int_equal(dec_v(&l, 1, ATTR_SET_EXCLCREAT, &s), NFS4ERR_ATTRNOTSUPP);
}

/* ---- malformed lists --------------------------------------------------------------------- */

/* A list of every settable attribute. */
static void full_list(struct list *l)
{
	lst_init(l);
	bit(l, FATTR4_SIZE);
	bit(l, FATTR4_MODE);
	bit(l, FATTR4_OWNER);
	bit(l, FATTR4_OWNER_GROUP);
	bit(l, FATTR4_TIME_ACCESS_SET);
	bit(l, FATTR4_TIME_MODIFY_SET);
	put64(l, 99);
	put32(l, 0755);
	putstr(l, "alice@example.org");
	putstr(l, "7");
	put32(l, SET_TO_CLIENT_TIME4);
	put64(l, 1);
	put32(l, 2);
	put32(l, SET_TO_CLIENT_TIME4);
	put64(l, 3);
	put32(l, 4);
}

static void test_truncated(void **state)
{
	struct list l;
	struct attr_set s;
	size_t full;

	(void)state;
	full_list(&l);
	full = l.n;
	assert_int_equal(dec(&l, &s), NFS4_OK);
	for (size_t n = 0; n < full; n++) {
		l.n = n;
		if (dec(&l, &s) != NFS4ERR_BADXDR)
			fail_msg("truncated at %zu of %zu: not BADXDR", n, full);
	}
	/* NULL bytes with a length */
	l.n = full;
	fa(&l);
	l.f.attr_vals.attrlist4_val = NULL;
	assert_int_equal(attr_decode_set(&l.f, DOMAIN, idparse, &(struct names){0}, 1, 0, &s),
			 NFS4ERR_BADXDR);
}

static void test_trailing(void **state)
{
	struct list l;
	struct attr_set s;
	size_t full;

	(void)state;
	full_list(&l);
	full = l.n;
	for (size_t extra = 1; extra <= 8; extra++) {
		l.n = full + extra;
		if (dec(&l, &s) != NFS4ERR_BADXDR)
			fail_msg("%zu trailing bytes: not BADXDR", extra);
	}
	/* server time followed by an nfstime4 it does not have */
	lst_init(&l);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	put32(&l, SET_TO_SERVER_TIME4);
	put64(&l, 1);
	put32(&l, 0);
	assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
}

/* Lengths that claim more than the list holds: BADXDR, nothing trusted or allocated. */
static void test_lying_lengths(void **state)
{
	static const uint32_t lens[] = {5, 8, 0x7fffffff, 0xfffffffc, 0xfffffffd, UINT32_MAX};
	struct list l;
	struct attr_set s;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		lst_init(&l);
		bit(&l, FATTR4_OWNER);
		put32(&l, lens[i]);
		put32(&l, 0x31323334); /* "1234" */
		if (dec(&l, &s) != NFS4ERR_BADXDR)
			fail_msg("owner length %#x: not BADXDR", lens[i]);
	}
	/* the string fits but its padding does not */
	lst_init(&l);
	bit(&l, FATTR4_OWNER_GROUP);
	put32(&l, 3);
	l.b[l.n++] = '1';
	l.b[l.n++] = '2';
	l.b[l.n++] = '3';
	assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
	l.b[l.n++] = 0;
	assert_int_equal(dec(&l, &s), NFS4_OK);
	assert_int_equal(s.gid, 123);
}

static void test_bad_time_how(void **state)
{
	static const uint32_t hows[] = {2, 3, 0x80000000u, UINT32_MAX};
	struct list l;
	struct attr_set s;

	(void)state;
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		for (unsigned int a = FATTR4_TIME_ACCESS_SET; a <= FATTR4_TIME_MODIFY_SET;
		     a += FATTR4_TIME_MODIFY_SET - FATTR4_TIME_ACCESS_SET) {
			lst_init(&l);
			bit(&l, a);
			put32(&l, hows[i]);
			assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
			put64(&l, 1); /* as if a time followed */
			put32(&l, 0);
			assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
		}
	}
}

static void test_nseconds(void **state)
{
	static const uint32_t bad[] = {1000000000u, 1000000001u, 0x3fffffffu /* UTIME_NOW */,
				       0x3ffffffeu /* UTIME_OMIT */, UINT32_MAX};
	struct list l;
	struct attr_set s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (unsigned int a = FATTR4_TIME_ACCESS_SET; a <= FATTR4_TIME_MODIFY_SET;
		     a += FATTR4_TIME_MODIFY_SET - FATTR4_TIME_ACCESS_SET) {
			lst_init(&l);
			bit(&l, a);
			put32(&l, SET_TO_CLIENT_TIME4);
			put64(&l, 1);
			put32(&l, bad[i]);
			if (dec(&l, &s) != NFS4ERR_INVAL)
				fail_msg("attr %u nseconds %u: not INVAL", a, bad[i]);
			/* a malformed list is BADXDR whatever is in it */
			put32(&l, 0);
			assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);
		}
	}

	/* INT64 extremes are well-formed times (the filesystem clamps them) */
	lst_init(&l);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	bit(&l, FATTR4_TIME_MODIFY_SET);
	put32(&l, SET_TO_CLIENT_TIME4);
	put64(&l, (uint64_t)INT64_MAX);
	put32(&l, 0);
	put32(&l, SET_TO_CLIENT_TIME4);
	put64(&l, (uint64_t)INT64_MIN);
	put32(&l, 0);
	if (sizeof(time_t) == 8) {
		assert_int_equal(dec(&l, &s), NFS4_OK);
		assert_true((int64_t)s.atime.tv_sec == INT64_MAX);
		assert_true((int64_t)s.mtime.tv_sec == INT64_MIN);
	} else {
		assert_int_equal(dec(&l, &s), NFS4ERR_INVAL);
	}
}

/* ---- owner strings ----------------------------------------------------------------------- */

/* Decode owner (group false) or owner_group (true) s of n bytes with the given domain. */
static nfsstat4 own_n(const char *s, size_t n, bool group, const char *domain,
		      attr_idparse_fn parse, struct names *nm, uint32_t *id)
{
	struct list l;
	struct attr_set out;
	nfsstat4 st;

	lst_init(&l);
	bit(&l, group ? FATTR4_OWNER_GROUP : FATTR4_OWNER);
	putstrn(&l, s, n);
	st = attr_decode_set(fa(&l), domain, parse, nm, 1, 0, &out);
	if (st == NFS4_OK)
		*id = group ? out.gid : out.uid;
	return st;
}

static nfsstat4 own(const char *s, bool group, uint32_t *id)
{
	struct names nm = {0};

	return own_n(s, strlen(s), group, DOMAIN, idparse, &nm, id);
}

static void test_owner_decimal(void **state)
{
	static const struct {
		const char *s;
		uint32_t id;
	} good[] = {
		{"0", 0}, {"1", 1}, {"1000", 1000}, {"65534", 65534}, {"4294967294", 4294967294u},
		{"0001000", 1000}, /* leading zeros, as knfsd's kstrtouint takes them */
	};
	static const char *const bad[] = {
		"", "4294967295", "4294967296", "99999999999999999999", "+1000", "-1", " 1000",
		"1000 ", "1000\n", "10a", "0x10", "1e3", "1,000",
		"\xd9\xa1\xd9\xa0\xd9\xa0\xd9\xa0", /* 1000 in Arabic-Indic digits */
		"nobody", "alice", "@", "1000@",
	};
	uint32_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		for (int g = 0; g <= 1; g++) {
			id = 7;
			if (own(good[i].s, g, &id) != NFS4_OK || id != good[i].id)
				fail_msg("\"%s\": not accepted as %u", good[i].s, good[i].id);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int g = 0; g <= 1; g++) {
			if (own(bad[i], g, &id) != NFS4ERR_BADOWNER)
				fail_msg("\"%s\" (group %d): not BADOWNER", bad[i], g);
		}
	}
	/* a NUL inside */
	assert_int_equal(own_n("1000\0", 5, false, DOMAIN, idparse, &(struct names){0}, &id),
			 NFS4ERR_BADOWNER);
	assert_int_equal(own_n("10\0" "00", 5, false, DOMAIN, idparse, &(struct names){0}, &id),
			 NFS4ERR_BADOWNER);
	/* the decimal form needs neither a domain nor a resolver */
	assert_int_equal(own_n("1000", 4, false, NULL, NULL, NULL, &id), NFS4_OK);
	assert_int_equal(id, 1000);
}

static void test_owner_names(void **state)
{
	struct names nm;
	char longname[700];
	uint32_t id;

	(void)state;
	assert_int_equal(own("alice@example.org", false, &id), NFS4_OK);
	assert_int_equal(id, 1001);
	assert_int_equal(own("bob@Example.ORG", false, &id), NFS4_OK); /* DNS: any case */
	assert_int_equal(id, 1002);
	assert_int_equal(own("staff@example.org", true, &id), NFS4_OK);
	assert_int_equal(id, 50);

	/* the resolver sees the name alone and which kind is wanted */
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(own_n("staff@example.org", 17, true, DOMAIN, idparse, &nm, &id),
			 NFS4_OK);
	assert_int_equal(nm.calls, 1);
	assert_true(nm.last_group);
	assert_string_equal(nm.last, "staff");
	assert_int_equal(own("staff@example.org", false, &id), NFS4ERR_BADOWNER); /* no user */
	assert_int_equal(own("alice@example.org", true, &id), NFS4ERR_BADOWNER);  /* no group */

	/* other domains, no domain, no name: refused without asking the resolver */
	static const char *const bad[] = {
		"alice@other.org", "alice@example.org.evil.com", "alice@sub.example.org",
		"alice@example.or", "alice@", "@example.org", "alice", "alice@example.org ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&nm, 0, sizeof(nm));
		if (own_n(bad[i], strlen(bad[i]), false, DOMAIN, idparse, &nm, &id) !=
		    NFS4ERR_BADOWNER)
			fail_msg("\"%s\": not BADOWNER", bad[i]);
		assert_int_equal(nm.calls, 0);
	}

	/* a name with '@' in it: the domain is after the last one */
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(own_n("a@b@example.org", 15, false, DOMAIN, idparse, &nm, &id),
			 NFS4ERR_BADOWNER);
	assert_string_equal(nm.last, "a@b");

	/* unknown name, a resolver without the answer yet, one that says -1 */
	assert_int_equal(own("carol@example.org", false, &id), NFS4ERR_BADOWNER);
	assert_int_equal(own("slow@example.org", false, &id), NFS4ERR_DELAY);
	assert_int_equal(own("minus@example.org", false, &id), NFS4ERR_BADOWNER);

	/* without a domain or a resolver, names are refused */
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(own_n("alice@example.org", 17, false, NULL, idparse, &nm, &id),
			 NFS4ERR_BADOWNER);
	assert_int_equal(own_n("alice@example.org", 17, false, "", idparse, &nm, &id),
			 NFS4ERR_BADOWNER);
	assert_int_equal(nm.calls, 0);
	assert_int_equal(own_n("alice@example.org", 17, false, DOMAIN, NULL, NULL, &id),
			 NFS4ERR_BADOWNER);

	/* longer than any owner string: refused, not truncated */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + sizeof(longname) - 12, "@example.org", 12);
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(own_n(longname, sizeof(longname), false, DOMAIN, idparse, &nm, &id),
			 NFS4ERR_BADOWNER);
	assert_int_equal(nm.calls, 0);
}

/* Values are judged after the whole list, in attribute order. */
static void test_value_order(void **state)
{
	struct list l;
	struct attr_set s;

	(void)state;
	/* owner (36) before the times (48): BADOWNER, not INVAL */
	lst_init(&l);
	bit(&l, FATTR4_OWNER);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	putstr(&l, "nobody");
	put32(&l, SET_TO_CLIENT_TIME4);
	put64(&l, 0);
	put32(&l, 1000000000u);
	assert_int_equal(dec(&l, &s), NFS4ERR_BADOWNER);

	/* a bad owner in a truncated list: BADXDR */
	lst_init(&l);
	bit(&l, FATTR4_OWNER);
	bit(&l, FATTR4_TIME_ACCESS_SET);
	putstr(&l, "nobody");
	put32(&l, SET_TO_CLIENT_TIME4);
	assert_int_equal(dec(&l, &s), NFS4ERR_BADXDR);

	/* owner before owner_group */
	lst_init(&l);
	bit(&l, FATTR4_OWNER);
	bit(&l, FATTR4_OWNER_GROUP);
	putstr(&l, "slow@example.org");
	putstr(&l, "x");
	assert_int_equal(dec(&l, &s), NFS4ERR_DELAY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_owner_numeric),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_all_generated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_readonly_inval),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_unknown_bits),
		cmocka_unit_test(test_mask_precedence),
		cmocka_unit_test(test_exclcreat),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_bad_time_how),
		cmocka_unit_test(test_nseconds),
		cmocka_unit_test(test_owner_decimal),
		cmocka_unit_test(test_owner_names),
		cmocka_unit_test(test_value_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

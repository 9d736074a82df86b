/*
 * cmocka tests of the attribute encoder (server/attr.c): statx of real objects (regular file,
 * directory, symlink, fifo, socket, /dev/null) in a scratch directory, encoded and decoded back
 * here with the generated XDR routines in attribute order, every value compared with the statx
 * and statvfs it came from; supported_attrs per minor version; unsupported and unknown bits
 * left out; -ENOSPC for every short buffer; write-only attributes; rdattr_error; owner names.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"

#define BUF 8192
#define FILE_UID 1234
#define FILE_GID 5678

static const uint8_t test_fh[] = {0xa1, 0, 0, 0, 7, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8};

/* The attributes attr.h promises, by number (independent of attr.c's table). */
static const unsigned int supp_v40[] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
	26, 27, 28, 29, 30, 31, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 47, 50, 51, 52, 53, 55};

struct fx {
	char path[64];
	int dfd;
	bool root;
	struct statvfs vfs;
	struct statx file, dir, link, fifo, sock, null;
};

/* Every attribute we can decode, as the generated routines see them. */
struct dec {
	uint32_t got[4]; /* result bitmap */
	bitmap4 supported, exclcreat;
	fattr4_type type;
	uint32_t fh_expire, lease, aclsupport, maxlink, maxname, mode, numlinks, clone_blksize;
	uint64_t change, size, fileid, files_avail, files_free, files_total, maxfilesize, maxread,
		maxwrite, space_avail, space_free, space_total, space_used, mounted_on;
	bool_t link_support, symlink_support, named_attr, unique, cansettime, case_ins, case_pres,
		chown_restr, homogeneous, no_trunc, xattr_support;
	fsid4 fsid;
	nfsstat4 rderr;
	nfs_fh4 fh;
	fs_locations4 locs;
	utf8string owner, group;
	specdata4 rawdev;
	nfstime4 atime, btime, delta, ctime, mtime;
};

static bool has(const uint32_t *w, unsigned int a)
{
	return (w[a / 32] >> (a % 32)) & 1u;
}

static void set_bit(uint32_t *w, unsigned int a)
{
	w[a / 32] |= 1u << (a % 32);
}

static void words_of(const unsigned int *list, size_t n, uint32_t w[3])
{
	memset(w, 0, 3 * sizeof(w[0]));
	for (size_t i = 0; i < n; i++)
		set_bit(w, list[i]);
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int do_statx(int dfd, const char *path, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	return statx(dfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, stx);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct timespec times[2] = {{1600000000, 123456789}, {1700000000, 987654321}};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char data[5000];
	int fd, s;

	if (!f)
		return -1;
	strcpy(f->path, "/tmp/attr-XXXXXX");
	if (!mkdtemp(f->path))
		return -1;
	f->dfd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dfd < 0)
		return -1;
	f->root = geteuid() == 0;
	umask(022);

	memset(data, 'x', sizeof(data));
	fd = openat(f->dfd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != (ssize_t)sizeof(data) || fsync(fd) != 0)
		return -1;
	close(fd);
	if (f->root && fchownat(f->dfd, "file", FILE_UID, FILE_GID, 0) != 0)
		return -1;
	if (fchmodat(f->dfd, "file", 04751, 0) != 0 || utimensat(f->dfd, "file", times, 0) != 0)
		return -1;
	if (mkdirat(f->dfd, "dir", 0750) != 0 || symlinkat("file", f->dfd, "link") != 0 ||
	    mkfifoat(f->dfd, "fifo", 0640) != 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", f->path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	close(s);

	if (do_statx(f->dfd, "file", &f->file) || do_statx(f->dfd, "dir", &f->dir) ||
	    do_statx(f->dfd, "link", &f->link) || do_statx(f->dfd, "fifo", &f->fifo) ||
	    do_statx(f->dfd, "sock", &f->sock) || do_statx(AT_FDCWD, "/dev/null", &f->null) ||
	    fstatvfs(f->dfd, &f->vfs) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->dfd);
	nftw(f->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct attr_src make_src(const struct fx *f, const struct statx *stx, uint32_t minor)
{
	struct attr_src s = {
		.stx = stx,
		.vfs = &f->vfs,
		.fsid_major = 0x1122334455667788ull,
		.fsid_minor = 0x99,
		.fh = test_fh,
		.fh_len = sizeof(test_fh),
		.lease_time = 90,
		.minorversion = minor,
		.mounted_on_fileid = 424242,
		.change = attr_change_from_statx(stx),
		.max_read = 1u << 20,
		.max_write = 1u << 21,
		.max_filesize = INT64_MAX,
		.link_max = 65000,
		.name_max = 255,
	};
	return s;
}

/* ---- encode and decode ------------------------------------------------------------------ */

static int encode(const struct attr_src *src, const uint32_t *req, u_int nreq, fattr4 *out,
		  uint32_t *mask, uint8_t *buf, size_t cap)
{
	bitmap4 bm = {.bitmap4_len = nreq, .bitmap4_val = (uint32_t *)req};

	memset(out, 0, sizeof(*out));
	memset(mask, 0xee, ATTR_WORDS * sizeof(uint32_t));
	out->attrmask.bitmap4_val = mask;
	return attr_encode(src, &bm, out, buf, cap);
}

/* Every attribute except the write-only ones, plus a word of bits nobody knows. */
static const uint32_t all_req[4] = {UINT32_MAX, UINT32_MAX & ~(1u << 16 | 1u << 22), UINT32_MAX,
				    UINT32_MAX};

#define DEC(proc, field) assert_true(proc(&x, &d->field))

static void decode(const fattr4 *f, struct dec *d)
{
	XDR x;

	memset(d, 0, sizeof(*d));
	assert_true(f->attrmask.bitmap4_len <= 3);
	for (u_int i = 0; i < f->attrmask.bitmap4_len; i++)
		d->got[i] = f->attrmask.bitmap4_val[i];
	if (f->attrmask.bitmap4_len)
		assert_int_not_equal(f->attrmask.bitmap4_val[f->attrmask.bitmap4_len - 1], 0);

	xdrmem_create(&x, f->attr_vals.attrlist4_val, f->attr_vals.attrlist4_len, XDR_DECODE);
	for (unsigned int a = 0; a < 96; a++) {
		if (!has(d->got, a))
			continue;
		switch (a) {
		case FATTR4_SUPPORTED_ATTRS: DEC(xdr_fattr4_supported_attrs, supported); break;
		case FATTR4_TYPE: DEC(xdr_fattr4_type, type); break;
		case FATTR4_FH_EXPIRE_TYPE: DEC(xdr_fattr4_fh_expire_type, fh_expire); break;
		case FATTR4_CHANGE: DEC(xdr_fattr4_change, change); break;
		case FATTR4_SIZE: DEC(xdr_fattr4_size, size); break;
		case FATTR4_LINK_SUPPORT: DEC(xdr_fattr4_link_support, link_support); break;
		case FATTR4_SYMLINK_SUPPORT:
			DEC(xdr_fattr4_symlink_support, symlink_support);
			break;
		case FATTR4_NAMED_ATTR: DEC(xdr_fattr4_named_attr, named_attr); break;
		case FATTR4_FSID: DEC(xdr_fattr4_fsid, fsid); break;
		case FATTR4_UNIQUE_HANDLES: DEC(xdr_fattr4_unique_handles, unique); break;
		case FATTR4_LEASE_TIME: DEC(xdr_fattr4_lease_time, lease); break;
		case FATTR4_RDATTR_ERROR: DEC(xdr_fattr4_rdattr_error, rderr); break;
		case FATTR4_ACLSUPPORT: DEC(xdr_fattr4_aclsupport, aclsupport); break;
		case FATTR4_CANSETTIME: DEC(xdr_fattr4_cansettime, cansettime); break;
		case FATTR4_CASE_INSENSITIVE: DEC(xdr_fattr4_case_insensitive, case_ins); break;
		case FATTR4_CASE_PRESERVING: DEC(xdr_fattr4_case_preserving, case_pres); break;
		case FATTR4_CHOWN_RESTRICTED: DEC(xdr_fattr4_chown_restricted, chown_restr); break;
		case FATTR4_FILEHANDLE: DEC(xdr_fattr4_filehandle, fh); break;
		case FATTR4_FILEID: DEC(xdr_fattr4_fileid, fileid); break;
		case FATTR4_FILES_AVAIL: DEC(xdr_fattr4_files_avail, files_avail); break;
		case FATTR4_FILES_FREE: DEC(xdr_fattr4_files_free, files_free); break;
		case FATTR4_FILES_TOTAL: DEC(xdr_fattr4_files_total, files_total); break;
		case FATTR4_FS_LOCATIONS: DEC(xdr_fattr4_fs_locations, locs); break;
		case FATTR4_HOMOGENEOUS: DEC(xdr_fattr4_homogeneous, homogeneous); break;
		case FATTR4_MAXFILESIZE: DEC(xdr_fattr4_maxfilesize, maxfilesize); break;
		case FATTR4_MAXLINK: DEC(xdr_fattr4_maxlink, maxlink); break;
		case FATTR4_MAXNAME: DEC(xdr_fattr4_maxname, maxname); break;
		case FATTR4_MAXREAD: DEC(xdr_fattr4_maxread, maxread); break;
		case FATTR4_MAXWRITE: DEC(xdr_fattr4_maxwrite, maxwrite); break;
		case FATTR4_MODE: DEC(xdr_fattr4_mode, mode); break;
		case FATTR4_NO_TRUNC: DEC(xdr_fattr4_no_trunc, no_trunc); break;
		case FATTR4_NUMLINKS: DEC(xdr_fattr4_numlinks, numlinks); break;
		case FATTR4_OWNER: DEC(xdr_fattr4_owner, owner); break;
		case FATTR4_OWNER_GROUP: DEC(xdr_fattr4_owner_group, group); break;
		case FATTR4_RAWDEV: DEC(xdr_fattr4_rawdev, rawdev); break;
		case FATTR4_SPACE_AVAIL: DEC(xdr_fattr4_space_avail, space_avail); break;
		case FATTR4_SPACE_FREE: DEC(xdr_fattr4_space_free, space_free); break;
		case FATTR4_SPACE_TOTAL: DEC(xdr_fattr4_space_total, space_total); break;
		case FATTR4_SPACE_USED: DEC(xdr_fattr4_space_used, space_used); break;
		case FATTR4_TIME_ACCESS: DEC(xdr_fattr4_time_access, atime); break;
		case FATTR4_TIME_CREATE: DEC(xdr_fattr4_time_create, btime); break;
		case FATTR4_TIME_DELTA: DEC(xdr_fattr4_time_delta, delta); break;
		case FATTR4_TIME_METADATA: DEC(xdr_fattr4_time_metadata, ctime); break;
		case FATTR4_TIME_MODIFY: DEC(xdr_fattr4_time_modify, mtime); break;
		case FATTR4_MOUNTED_ON_FILEID: DEC(xdr_fattr4_mounted_on_fileid, mounted_on); break;
		case FATTR4_SUPPATTR_EXCLCREAT:
			DEC(xdr_fattr4_suppattr_exclcreat, exclcreat);
			break;
		case FATTR4_CLONE_BLKSIZE: DEC(xdr_fattr4_clone_blksize, clone_blksize); break;
		case FATTR4_XATTR_SUPPORT: DEC(xdr_fattr4_xattr_support, xattr_support); break;
		default:
			fail_msg("attribute %u in the result: not one attr.h promises", a);
		}
	}
	/* the values fill the list exactly */
	assert_int_equal(xdr_getpos(&x), f->attr_vals.attrlist4_len);
	xdr_destroy(&x);
}

static void dec_free(struct dec *d)
{
	xdr_free((xdrproc_t)xdr_bitmap4, (char *)&d->supported);
	xdr_free((xdrproc_t)xdr_bitmap4, (char *)&d->exclcreat);
	xdr_free((xdrproc_t)xdr_nfs_fh4, (char *)&d->fh);
	xdr_free((xdrproc_t)xdr_fs_locations4, (char *)&d->locs);
	xdr_free((xdrproc_t)xdr_utf8string, (char *)&d->owner);
	xdr_free((xdrproc_t)xdr_utf8string, (char *)&d->group);
}

static void assert_str(const utf8string *s, const char *want)
{
	assert_int_equal(s->utf8string_len, strlen(want));
	assert_memory_equal(s->utf8string_val, want, strlen(want));
}

static void assert_time(const nfstime4 *t, const struct statx_timestamp *ts)
{
	assert_int_equal(t->seconds, ts->tv_sec);
	assert_int_equal(t->nseconds, ts->tv_nsec);
}

static void assert_bitmap(const bitmap4 *bm, const uint32_t w[3])
{
	uint32_t got[3] = {0, 0, 0};

	assert_true(bm->bitmap4_len <= 3);
	for (u_int i = 0; i < bm->bitmap4_len; i++)
		got[i] = bm->bitmap4_val[i];
	assert_int_equal(got[0], w[0]);
	assert_int_equal(got[1], w[1]);
	assert_int_equal(got[2], w[2]);
}

static nfs_ftype4 expect_type(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return NF4REG;
	case S_IFDIR: return NF4DIR;
	case S_IFLNK: return NF4LNK;
	case S_IFIFO: return NF4FIFO;
	case S_IFSOCK: return NF4SOCK;
	case S_IFCHR: return NF4CHR;
	case S_IFBLK: return NF4BLK;
	}
	fail();
	return 0;
}

/* Everything that comes from statx, statvfs and the source, for any object. */
static void check_all(const struct fx *f, const struct attr_src *src, const struct dec *d)
{
	const struct statx *stx = src->stx;
	uint64_t frsize = f->vfs.f_frsize ? f->vfs.f_frsize : f->vfs.f_bsize;
	char id[16];

	assert_int_equal(d->type, expect_type(stx->stx_mode));
	assert_int_equal(d->fh_expire, FH4_PERSISTENT);
	assert_int_equal(d->change,
			 ((uint64_t)stx->stx_ctime.tv_sec << 30) + stx->stx_ctime.tv_nsec);
	assert_int_equal(d->size, stx->stx_size);
	assert_true(d->link_support);
	assert_true(d->symlink_support);
	assert_false(d->named_attr);
	assert_int_equal(d->fsid.major, 0x1122334455667788ull);
	assert_int_equal(d->fsid.minor, 0x99);
	assert_true(d->unique);
	assert_int_equal(d->lease, 90);
	assert_int_equal(d->rderr, NFS4_OK);
	assert_int_equal(d->aclsupport, 0);
	assert_true(d->cansettime);
	assert_false(d->case_ins);
	assert_true(d->case_pres);
	assert_true(d->chown_restr);
	assert_int_equal(d->fh.nfs_fh4_len, sizeof(test_fh));
	assert_memory_equal(d->fh.nfs_fh4_val, test_fh, sizeof(test_fh));
	assert_int_equal(d->fileid, stx->stx_ino);
	assert_int_equal(d->files_avail, f->vfs.f_favail);
	assert_int_equal(d->files_free, f->vfs.f_ffree);
	assert_int_equal(d->files_total, f->vfs.f_files);
	assert_int_equal(d->locs.fs_root.pathname4_len, 0);
	assert_int_equal(d->locs.locations.locations_len, 0);
	assert_true(d->homogeneous);
	assert_int_equal(d->maxfilesize, INT64_MAX);
	assert_int_equal(d->maxlink, 65000);
	assert_int_equal(d->maxname, 255);
	assert_int_equal(d->maxread, 1u << 20);
	assert_int_equal(d->maxwrite, 1u << 21);
	assert_int_equal(d->mode, stx->stx_mode & 07777);
	assert_int_equal(d->mode & ~07777u, 0);
	assert_true(d->no_trunc);
	assert_int_equal(d->numlinks, stx->stx_nlink);
	snprintf(id, sizeof(id), "%u", stx->stx_uid);
	assert_str(&d->owner, id);
	snprintf(id, sizeof(id), "%u", stx->stx_gid);
	assert_str(&d->group, id);
	assert_int_equal(d->rawdev.specdata1, stx->stx_rdev_major);
	assert_int_equal(d->rawdev.specdata2, stx->stx_rdev_minor);
	assert_int_equal(d->space_avail, f->vfs.f_bavail * frsize);
	assert_int_equal(d->space_free, f->vfs.f_bfree * frsize);
	assert_int_equal(d->space_total, f->vfs.f_blocks * frsize);
	assert_int_equal(d->space_used, stx->stx_blocks * 512);
	assert_time(&d->atime, &stx->stx_atime);
	assert_time(&d->ctime, &stx->stx_ctime);
	assert_time(&d->mtime, &stx->stx_mtime);
	if (stx->stx_mask & STATX_BTIME)
		assert_time(&d->btime, &stx->stx_btime);
	assert_int_equal(d->delta.seconds, 0);
	assert_int_equal(d->delta.nseconds, 1);
	assert_int_equal(d->mounted_on, stx->stx_ino);
}

/* Encode everything for stx at minor 2, check the result mask equals supported_attrs. */
static void encode_all(const struct fx *f, const struct statx *stx, uint32_t minor,
		       struct attr_src *src, struct dec *d)
{
	static uint8_t buf[BUF];
	uint32_t mask[ATTR_WORDS], want[3];
	fattr4 out;
	int n;

	*src = make_src(f, stx, minor);
	n = encode(src, all_req, 4, &out, mask, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(n % 4, 0);
	assert_int_equal(out.attr_vals.attrlist4_len, n);
	assert_ptr_equal(out.attr_vals.attrlist4_val, buf);
	decode(&out, d);
	/* what we asked for and got is exactly what supported_attrs claims to return */
	words_of(supp_v40, sizeof(supp_v40) / sizeof(supp_v40[0]), want);
	if (!(stx->stx_mask & STATX_BTIME))
		want[1] &= ~(1u << (FATTR4_TIME_CREATE - 32));
	if (minor >= 1)
		set_bit(want, FATTR4_SUPPATTR_EXCLCREAT);
	if (minor >= 2)
		set_bit(want, FATTR4_XATTR_SUPPORT);
	assert_int_equal(d->got[0], want[0]);
	assert_int_equal(d->got[1], want[1]);
	assert_int_equal(d->got[2], want[2]);
	assert_int_equal(d->got[3], 0);
	/* supported_attrs also names the write-only times (settable, never returned) */
	set_bit(want, FATTR4_TIME_ACCESS_SET);
	set_bit(want, FATTR4_TIME_MODIFY_SET);
	assert_bitmap(&d->supported, want);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_regular_file(void **state)
{
	struct fx *f = *state;
	struct attr_src src;
	struct dec d;
	uint32_t excl[3] = {0, 0, 0};

	encode_all(f, &f->file, 2, &src, &d);
	check_all(f, &src, &d);

	/* the values the fixture set, independently of statx */
	assert_int_equal(d.type, NF4REG);
	assert_int_equal(d.size, 5000);
	assert_int_equal(d.mode, 04751);
	assert_int_equal(d.numlinks, 1);
	assert_true(d.space_used >= 4096);
	assert_int_equal(d.atime.seconds, 1600000000);
	assert_int_equal(d.atime.nseconds, 123456789);
	assert_int_equal(d.mtime.seconds, 1700000000);
	assert_int_equal(d.mtime.nseconds, 987654321);
	assert_int_equal(d.rawdev.specdata1, 0);
	assert_int_equal(d.rawdev.specdata2, 0);
	if (f->root) {
		assert_str(&d.owner, "1234");
		assert_str(&d.group, "5678");
	}
	assert_false(d.xattr_support);
	set_bit(excl, FATTR4_SIZE);
	set_bit(excl, FATTR4_MODE);
	set_bit(excl, FATTR4_OWNER);
	set_bit(excl, FATTR4_OWNER_GROUP);
	assert_bitmap(&d.exclcreat, excl);
	dec_free(&d);
}

static void test_object_types(void **state)
{
	struct fx *f = *state;
	struct attr_src src;
	struct dec d;

	encode_all(f, &f->dir, 1, &src, &d);
	check_all(f, &src, &d);
	assert_int_equal(d.type, NF4DIR);
	assert_int_equal(d.mode, 0750);
	assert_int_equal(d.numlinks, 2);
	dec_free(&d);

	encode_all(f, &f->link, 0, &src, &d);
	check_all(f, &src, &d);
	assert_int_equal(d.type, NF4LNK);
	assert_int_equal(d.size, 4); /* "file" */
	assert_int_equal(d.mode, 0777);
	dec_free(&d);

	encode_all(f, &f->fifo, 2, &src, &d);
	check_all(f, &src, &d);
	assert_int_equal(d.type, NF4FIFO);
	assert_int_equal(d.mode, 0640);
	dec_free(&d);

	encode_all(f, &f->sock, 2, &src, &d);
	check_all(f, &src, &d);
	assert_int_equal(d.type, NF4SOCK);
	dec_free(&d);

	encode_all(f, &f->null, 2, &src, &d);
	check_all(f, &src, &d);
	assert_int_equal(d.type, NF4CHR);
	assert_int_equal(d.rawdev.specdata1, 1); /* mem: major 1, null: minor 3 */
	assert_int_equal(d.rawdev.specdata2, 3);
	assert_int_equal(d.mode, 0666);
	dec_free(&d);
}

static void test_supported_per_minor(void **state)
{
	struct fx *f = *state;
	struct statx stx = f->file;
	uint32_t req[1] = {1u << FATTR4_SUPPORTED_ATTRS}, mask[ATTR_WORDS];
	uint8_t buf[64];
	struct attr_src src;
	struct dec d;
	fattr4 out;
	/* RFC numbers, written out: 4.0 has nothing in word 2; word 1 of supported_attrs has
	 * the write-only time_access_set (48) and time_modify_set (54) on top of what a GETATTR
	 * returns (0x00BCBE3E) */
	const uint32_t readable40[3] = {0xFDFFAFFF, 0x00BCBE3E, 0};
	const uint32_t v40[3] = {0xFDFFAFFF, 0x00FDBE3E, 0};
	const uint32_t v41[3] = {0xFDFFAFFF, 0x00FDBE3E, 1u << (75 - 64)};
	const uint32_t v42[3] = {0xFDFFAFFF, 0x00FDBE3E, 1u << (75 - 64) | 1u << (82 - 64)};
	const uint32_t v42c[3] = {0xFDFFAFFF, 0x00FDBE3E,
				  1u << (75 - 64) | 1u << (77 - 64) | 1u << (82 - 64)};
	const uint32_t *want[3] = {v40, v41, v42};
	uint32_t list[3];

	words_of(supp_v40, sizeof(supp_v40) / sizeof(supp_v40[0]), list);
	assert_memory_equal(list, readable40, sizeof(list));

	stx.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	for (uint32_t minor = 0; minor <= 2; minor++) {
		src = make_src(f, &stx, minor);
		assert_int_equal(encode(&src, req, 1, &out, mask, buf, sizeof(buf)),
				 4 + 4 * (minor ? 3 : 2));
		decode(&out, &d);
		assert_bitmap(&d.supported, want[minor]);
		dec_free(&d);
	}
	/* clone_blksize: 4.2 only, and only when the source offers one */
	src = make_src(f, &stx, 2);
	src.clone_blksize = 4096;
	assert_true(encode(&src, req, 1, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_bitmap(&d.supported, v42c);
	dec_free(&d);
	src.minorversion = 1;
	assert_true(encode(&src, req, 1, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_bitmap(&d.supported, v41);
	dec_free(&d);
}

static void test_clone_blksize(void **state)
{
	struct fx *f = *state;
	uint32_t req[3] = {0, 0, 1u << (77 - 64) | 1u << (82 - 64)}, mask[ATTR_WORDS];
	uint8_t buf[64];
	struct attr_src src = make_src(f, &f->file, 2);
	fattr4 out;
	struct dec d;

	src.clone_blksize = 65536;
	assert_int_equal(encode(&src, req, 3, &out, mask, buf, sizeof(buf)), 8);
	decode(&out, &d);
	assert_int_equal(d.clone_blksize, 65536);
	assert_false(d.xattr_support);
	assert_true(has(d.got, 77) && has(d.got, 82));
	/* not offered: silently left out */
	src.clone_blksize = 0;
	assert_int_equal(encode(&src, req, 3, &out, mask, buf, sizeof(buf)), 4);
	assert_int_equal(out.attrmask.bitmap4_len, 3);
	assert_int_equal(mask[2], 1u << (82 - 64));
	/* 4.1: neither exists */
	src.minorversion = 1;
	assert_int_equal(encode(&src, req, 3, &out, mask, buf, sizeof(buf)), 0);
	assert_int_equal(out.attrmask.bitmap4_len, 0);
}

static void test_unsupported_omitted(void **state)
{
	struct fx *f = *state;
	/* ACL, ARCHIVE, SIZE, HIDDEN | QUOTA_USED, SYSTEM | DACL(58)... no: word 2 = 4.1+ bits
	 * we lack (58, 61, 78 space_freed, 79 change_attr_type, 80 sec_label) and unknown ones */
	uint32_t req[5] = {1u << 12 | 1u << 14 | 1u << FATTR4_SIZE | 1u << 25,
			   1u << (40 - 32) | 1u << (46 - 32) | 1u << (49 - 32) | 1u << (58 - 32) |
				   1u << (61 - 32),
			   1u << (78 - 64) | 1u << (79 - 64) | 1u << (80 - 64) | 1u << (81 - 64) |
				   1u << 25 | 1u << 31,
			   0xffffffff, 0x1};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[64];
	struct attr_src src = make_src(f, &f->file, 2);
	fattr4 out;

	assert_int_equal(encode(&src, req, 5, &out, mask, buf, sizeof(buf)), 8);
	assert_int_equal(out.attrmask.bitmap4_len, 1); /* trailing zero words trimmed */
	assert_int_equal(mask[0], 1u << FATTR4_SIZE);
	assert_memory_equal(buf, ((uint8_t[]){0, 0, 0, 0, 0, 0, 0x13, 0x88}), 8);

	/* 4.0 has no suppattr_exclcreat, 4.1 has */
	uint32_t req2[3] = {0, 0, 1u << (75 - 64)};
	src.minorversion = 0;
	assert_int_equal(encode(&src, req2, 3, &out, mask, buf, sizeof(buf)), 0);
	assert_int_equal(out.attrmask.bitmap4_len, 0);
	src.minorversion = 1;
	/* its value {size | mode, owner, owner_group}: a count and two words */
	assert_int_equal(encode(&src, req2, 3, &out, mask, buf, sizeof(buf)), 12);
	assert_int_equal(out.attrmask.bitmap4_len, 3);
	assert_memory_equal(buf, ((uint8_t[]){0, 0, 0, 2, 0, 0, 0, 0x10, 0, 0, 0, 0x32}), 12);

	/* empty and all-zero requests: nothing */
	assert_int_equal(encode(&src, NULL, 0, &out, mask, buf, sizeof(buf)), 0);
	assert_int_equal(out.attrmask.bitmap4_len, 0);
	uint32_t zero[6] = {0};
	assert_int_equal(encode(&src, zero, 6, &out, mask, buf, 0), 0);
	assert_int_equal(out.attrmask.bitmap4_len, 0);
}

/* Values in ascending attribute order, whatever order the bits were thought of in. */
static void test_exact_bytes(void **state)
{
	struct fx *f = *state;
	uint32_t req[2] = {1u << FATTR4_SIZE | 1u << FATTR4_TYPE | 1u << FATTR4_FSID,
			   1u << (FATTR4_MODE - 32) | 1u << (FATTR4_TIME_MODIFY - 32)};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[128];
	struct attr_src src = make_src(f, &f->file, 0);
	fattr4 out;
	const uint8_t want[] = {
		0, 0, 0, 1,                                     /* type NF4REG */
		0, 0, 0, 0, 0, 0, 0x13, 0x88,                   /* size 5000 */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* fsid.major */
		0, 0, 0, 0, 0, 0, 0, 0x99,                      /* fsid.minor */
		0, 0, 0x09, 0xe9,                               /* mode 04751 */
		0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00,             /* mtime 1700000000 s */
		0x3a, 0xde, 0x68, 0xb1,                         /* 987654321 ns */
	};

	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(out.attrmask.bitmap4_len, 2);
	assert_int_equal(mask[0], req[0]);
	assert_int_equal(mask[1], req[1]);
}

static void test_enospc(void **state)
{
	struct fx *f = *state;
	static uint8_t buf[BUF], small[BUF];
	uint32_t mask[ATTR_WORDS];
	struct attr_src src = make_src(f, &f->file, 2);
	fattr4 out;
	int n, m;

	n = encode(&src, all_req, 4, &out, mask, buf, sizeof(buf));
	assert_true(n > 300);
	for (int cap = 0; cap < n; cap++) {
		memset(mask, 0, sizeof(mask));
		m = encode(&src, all_req, 4, &out, mask, small, (size_t)cap);
		assert_int_equal(m, -ENOSPC);
		assert_int_equal(mask[0], 0xeeeeeeee); /* out untouched on failure */
	}
	assert_int_equal(encode(&src, all_req, 4, &out, mask, small, (size_t)n), n);
	assert_memory_equal(small, buf, (size_t)n);
}

static void test_writeonly(void **state)
{
	struct fx *f = *state;
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[256];
	struct attr_src src = make_src(f, &f->file, 1);
	uint32_t a_set[2] = {1u << FATTR4_SIZE, 1u << (FATTR4_TIME_ACCESS_SET - 32)};
	uint32_t m_set[2] = {0, 1u << (FATTR4_TIME_MODIFY_SET - 32)};
	fattr4 out;

	assert_int_equal(encode(&src, a_set, 2, &out, mask, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(encode(&src, m_set, 2, &out, mask, buf, sizeof(buf)), -EINVAL);
}

static void test_rdattr_error(void **state)
{
	struct fx *f = *state;
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[256];
	struct attr_src src = make_src(f, &f->file, 1);
	uint32_t req[2] = {1u << FATTR4_TYPE | 1u << FATTR4_RDATTR_ERROR | 1u << FATTR4_FILEID,
			   1u << (FATTR4_MOUNTED_ON_FILEID - 32)};
	fattr4 out;
	struct dec d;

	/* no error: rdattr_error is NFS4_OK among the others */
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 4 + 4 + 8 + 8);
	decode(&out, &d);
	assert_int_equal(d.rderr, NFS4_OK);
	assert_int_equal(d.fileid, f->file.stx_ino);

	/* READDIR entry whose attributes could not be had: only rdattr_error, no statx needed */
	src.stx = NULL;
	src.rdattr_error = NFS4ERR_ACCESS;
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 4);
	assert_int_equal(out.attrmask.bitmap4_len, 1);
	assert_int_equal(mask[0], 1u << FATTR4_RDATTR_ERROR);
	decode(&out, &d);
	assert_int_equal(d.rderr, NFS4ERR_ACCESS);
	/* not asked for: the op fails with the error instead */
	req[0] &= ~(1u << FATTR4_RDATTR_ERROR);
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), -ENODATA);
}

static void test_btime_missing(void **state)
{
	struct fx *f = *state;
	struct statx stx = f->file;
	uint32_t req[2] = {1u << FATTR4_SUPPORTED_ATTRS, 1u << (FATTR4_TIME_CREATE - 32)};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[256];
	struct attr_src src;
	fattr4 out;
	struct dec d;

	stx.stx_btime.tv_sec = 1234567;
	stx.stx_btime.tv_nsec = 89;
	src = make_src(f, &stx, 1);
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_true(has(d.got, FATTR4_TIME_CREATE));
	assert_int_equal(d.btime.seconds, 1234567);
	assert_int_equal(d.btime.nseconds, 89);
	assert_true(d.supported.bitmap4_len >= 2 &&
		    has(d.supported.bitmap4_val, FATTR4_TIME_CREATE));
	dec_free(&d);

	stx.stx_mask &= ~STATX_BTIME; /* the filesystem has no birth time */
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_false(has(d.got, FATTR4_TIME_CREATE));
	assert_false(has(d.supported.bitmap4_val, FATTR4_TIME_CREATE));
	assert_true(has(d.supported.bitmap4_val, FATTR4_TIME_MODIFY));
	dec_free(&d);
}

static int names(void *ctx, uint32_t id, bool group, char *buf, size_t cap)
{
	int *calls = ctx;

	(*calls)++;
	if (!group && id == FILE_UID)
		return snprintf(buf, cap, "alice") < (int)cap ? 0 : -ERANGE;
	if (group && id == FILE_GID)
		return snprintf(buf, cap, "staff") < (int)cap ? 0 : -ERANGE;
	return -ENOENT;
}

static void test_owner_names(void **state)
{
	struct fx *f = *state;
	struct statx stx = f->file;
	uint32_t req[2] = {0, 1u << (FATTR4_OWNER - 32) | 1u << (FATTR4_OWNER_GROUP - 32)};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[256];
	struct attr_src src;
	fattr4 out;
	struct dec d;
	int calls = 0;

	stx.stx_uid = FILE_UID;
	stx.stx_gid = FILE_GID;
	src = make_src(f, &stx, 1);

	/* no domain: numeric (knfsd with idmapping off) */
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_str(&d.owner, "1234");
	assert_str(&d.group, "5678");
	dec_free(&d);

	/* a domain but nothing to look names up with: numeric */
	src.owner_domain = "example.org";
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_str(&d.owner, "1234");
	dec_free(&d);

	/* both: name@domain */
	src.idname = names;
	src.idname_ctx = &calls;
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)),
			 4 + 20 + 4 + 20); /* 17 and 17 bytes, padded to 20 */
	decode(&out, &d);
	assert_str(&d.owner, "alice@example.org");
	assert_str(&d.group, "staff@example.org");
	assert_int_equal(calls, 2);
	dec_free(&d);

	/* an id the lookup does not know: numeric */
	stx.stx_uid = 42;
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_str(&d.owner, "42");
	assert_str(&d.group, "staff@example.org");
	dec_free(&d);

	/* a lookup without a domain: numeric */
	src.owner_domain = NULL;
	stx.stx_uid = FILE_UID;
	assert_true(encode(&src, req, 2, &out, mask, buf, sizeof(buf)) > 0);
	decode(&out, &d);
	assert_str(&d.owner, "1234");
	dec_free(&d);
}

static void test_mounted_on_fileid(void **state)
{
	struct fx *f = *state;
	uint32_t req[2] = {1u << FATTR4_FILEID, 1u << (FATTR4_MOUNTED_ON_FILEID - 32)};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[64];
	struct attr_src src = make_src(f, &f->dir, 1);
	fattr4 out;
	struct dec d;

	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 16);
	decode(&out, &d);
	assert_int_equal(d.fileid, f->dir.stx_ino);
	assert_int_equal(d.mounted_on, f->dir.stx_ino);
	src.is_export_root = true;
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 16);
	decode(&out, &d);
	assert_int_equal(d.fileid, f->dir.stx_ino);
	assert_int_equal(d.mounted_on, 424242);
}

/* space_* and files_* from a made-up statvfs whose every field differs. */
static void test_space_files(void **state)
{
	struct fx *f = *state;
	struct statvfs vfs = {0};
	uint32_t req[2] = {
		1u << FATTR4_FILES_AVAIL | 1u << FATTR4_FILES_FREE | 1u << FATTR4_FILES_TOTAL,
		1u << (FATTR4_SPACE_AVAIL - 32) | 1u << (FATTR4_SPACE_FREE - 32) |
			1u << (FATTR4_SPACE_TOTAL - 32) | 1u << (FATTR4_SPACE_USED - 32)};
	uint32_t mask[ATTR_WORDS];
	uint8_t buf[128];
	struct statx stx = f->file;
	struct attr_src src = make_src(f, &stx, 0);
	fattr4 out;
	struct dec d;

	vfs.f_bsize = 8192; /* preferred I/O size; the counts are in f_frsize units */
	vfs.f_frsize = 4096;
	vfs.f_blocks = 1000;
	vfs.f_bfree = 500;
	vfs.f_bavail = 400;
	vfs.f_files = 100;
	vfs.f_ffree = 50;
	vfs.f_favail = 40;
	stx.stx_blocks = 24;
	src.vfs = &vfs;
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 7 * 8);
	decode(&out, &d);
	assert_int_equal(d.files_avail, 40);
	assert_int_equal(d.files_free, 50);
	assert_int_equal(d.files_total, 100);
	assert_int_equal(d.space_avail, 400 * 4096);
	assert_int_equal(d.space_free, 500 * 4096);
	assert_int_equal(d.space_total, 1000 * 4096);
	assert_int_equal(d.space_used, 24 * 512);

	/* no fragment size: the block size; and products that overflow saturate */
	vfs.f_frsize = 0;
	vfs.f_blocks = UINT64_MAX / 4096;
	stx.stx_blocks = UINT64_MAX / 256;
	assert_int_equal(encode(&src, req, 2, &out, mask, buf, sizeof(buf)), 7 * 8);
	decode(&out, &d);
	assert_int_equal(d.space_avail, 400 * 8192);
	assert_int_equal(d.space_total, UINT64_MAX);
	assert_int_equal(d.space_used, UINT64_MAX);
}

static void test_change_from_statx(void **state)
{
	struct statx a = {0}, b = {0};

	(void)state;
	a.stx_ctime.tv_sec = 1700000000;
	a.stx_ctime.tv_nsec = 999999999;
	b.stx_ctime.tv_sec = 1700000001;
	b.stx_ctime.tv_nsec = 0;
	assert_int_equal(attr_change_from_statx(&a), (1700000000ull << 30) + 999999999ull);
	assert_true(attr_change_from_statx(&b) > attr_change_from_statx(&a));
	b.stx_ctime.tv_sec = a.stx_ctime.tv_sec;
	b.stx_ctime.tv_nsec = a.stx_ctime.tv_nsec - 1;
	assert_true(attr_change_from_statx(&b) < attr_change_from_statx(&a));
}

static void test_mask_load(void **state)
{
	struct attr_mask m;
	uint32_t w[5] = {0x1, 0x2, 0x4, 0, 0};
	bitmap4 bm = {.bitmap4_len = 5, .bitmap4_val = w};

	(void)state;
	/* extra zero words are fine */
	assert_false(attr_mask_load(&m, &bm));
	assert_int_equal(m.w[0], 1);
	assert_int_equal(m.w[1], 2);
	assert_int_equal(m.w[2], 4);
	assert_true(attr_mask_has(&m, 0) && attr_mask_has(&m, 33) && attr_mask_has(&m, 66));
	assert_false(attr_mask_has(&m, 1) || attr_mask_has(&m, 500));
	/* the last known attribute is 82: bit 18 of word 2; 83 and above are dropped */
	w[2] = 1u << 18 | 1u << 19;
	assert_true(attr_mask_load(&m, &bm));
	assert_int_equal(m.w[2], 1u << 18);
	w[2] = 0;
	w[4] = 0x80000000;
	assert_true(attr_mask_load(&m, &bm));
	assert_int_equal(m.w[2], 0);
	/* short and empty bitmaps */
	bm.bitmap4_len = 1;
	assert_false(attr_mask_load(&m, &bm));
	assert_int_equal(m.w[0], 1);
	assert_int_equal(m.w[1], 0);
	bm.bitmap4_len = 0;
	bm.bitmap4_val = NULL;
	assert_false(attr_mask_load(&m, &bm));
	assert_int_equal(m.w[0] | m.w[1] | m.w[2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file),
		cmocka_unit_test(test_object_types),
		cmocka_unit_test(test_supported_per_minor),
		cmocka_unit_test(test_clone_blksize),
		cmocka_unit_test(test_unsupported_omitted),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_writeonly),
		cmocka_unit_test(test_rdattr_error),
		cmocka_unit_test(test_btime_missing),
		cmocka_unit_test(test_owner_names),
		cmocka_unit_test(test_mounted_on_fileid),
		cmocka_unit_test(test_space_files),
		cmocka_unit_test(test_change_from_statx),
		cmocka_unit_test(test_mask_load),
	};

	return cmocka_run_group_tests_name("attr_encode", tests, setup, teardown);
}

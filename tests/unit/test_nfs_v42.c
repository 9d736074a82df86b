/* cmocka tests of the NFSv4.2 op handlers (server/nfs4_v42_ops.c) through the whole server,
 * as test_nfs_ops.c: RPC records built by hand, dispatch_record(), the storage engine, and
 * the reply decoded with the generated XDR (test_nfs_util.h). Every COMPOUND is minor version
 * 2 inside a session (SEQUENCE first). Statuses are the ones RFC 7862 asks for; what depends
 * on the file system under the scratch directory (where holes fall, whether it can share
 * blocks) is compared with what the kernel says locally rather than assumed. Runs as root
 * (open_by_handle_at); skips (77) otherwise. */
#define _GNU_SOURCE /* mkdtemp, nftw, strtok_r, SEEK_DATA */
#include "test_nfs_util.h"

#include <sys/stat.h>

#define UID_USER 1000u
#define KIB 1024u
#define MIB (1024u * 1024u)

/* ---- helpers ------------------------------------------------------------------------------ */

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", W.data, name);
}

/* A file of the data export laid out by hand: size bytes, with pattern data (t_byte of the
 * offset) at the n ranges of ext[] and holes elsewhere. */
static void make_sparse(const char *name, uint64_t size, const uint64_t (*ext)[2], unsigned n)
{
	char path[512];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *buf = malloc(ext[i][1]);

		assert_non_null(buf);
		for (uint64_t j = 0; j < ext[i][1]; j++)
			buf[j] = t_byte(ext[i][0] + j);
		assert_int_equal(pwrite(fd, buf, ext[i][1], (off_t)ext[i][0]), (ssize_t)ext[i][1]);
		free(buf);
	}
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static uint8_t *read_local(const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	uint8_t *buf;
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void stat_local(const char *name, struct stat *st)
{
	char path[512];

	path_of(path, sizeof(path), name);
	assert_int_equal(stat(path, st), 0);
}

/* What lseek(2) says on the file itself: the offset, or -1 with errno. */
static off_t lseek_local(const char *name, off_t off, int whence)
{
	char path[512];
	off_t r;
	int fd, e;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	r = lseek(fd, off, whence);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static void fh_of(const char *name, struct t_fh *fh)
{
	char path[256];

	snprintf(path, sizeof(path), "/a/data/%s", name);
	t_path_fh(0, path, fh);
}

static nfs_argop4 a_seek(const stateid4 *sid, uint64_t off, data_content4 what)
{
	nfs_argop4 a = a_plain(OP_SEEK);

	a.nfs_argop4_u.opseek.sa_stateid = *sid;
	a.nfs_argop4_u.opseek.sa_offset = off;
	a.nfs_argop4_u.opseek.sa_what = what;
	return a;
}

/* ALLOCATE or DEALLOCATE (the same arguments). */
static nfs_argop4 a_falloc(nfs_opnum4 op, const stateid4 *sid, uint64_t off, uint64_t len)
{
	nfs_argop4 a = a_plain(op);

	if (op == OP_ALLOCATE) {
		a.nfs_argop4_u.opallocate.aa_stateid = *sid;
		a.nfs_argop4_u.opallocate.aa_offset = off;
		a.nfs_argop4_u.opallocate.aa_length = len;
	} else {
		a.nfs_argop4_u.opdeallocate.da_stateid = *sid;
		a.nfs_argop4_u.opdeallocate.da_offset = off;
		a.nfs_argop4_u.opdeallocate.da_length = len;
	}
	return a;
}

static nfs_argop4 a_copy(const stateid4 *src, const stateid4 *dst, uint64_t src_off,
			 uint64_t dst_off, uint64_t count)
{
	nfs_argop4 a = a_plain(OP_COPY);
	COPY4args *c = &a.nfs_argop4_u.opcopy;

	c->ca_src_stateid = *src;
	c->ca_dst_stateid = *dst;
	c->ca_src_offset = src_off;
	c->ca_dst_offset = dst_off;
	c->ca_count = count;
	c->ca_consecutive = TRUE;
	c->ca_synchronous = TRUE;
	return a;
}

static nfs_argop4 a_clone(const stateid4 *src, const stateid4 *dst, uint64_t src_off,
			  uint64_t dst_off, uint64_t count)
{
	nfs_argop4 a = a_plain(OP_CLONE);
	CLONE4args *c = &a.nfs_argop4_u.opclone;

	c->cl_src_stateid = *src;
	c->cl_dst_stateid = *dst;
	c->cl_src_offset = src_off;
	c->cl_dst_offset = dst_off;
	c->cl_count = count;
	return a;
}

static nfs_argop4 a_read_plus(const stateid4 *sid, uint64_t off, uint32_t count)
{
	nfs_argop4 a = a_plain(OP_READ_PLUS);

	a.nfs_argop4_u.opread_plus.rpa_stateid = *sid;
	a.nfs_argop4_u.opread_plus.rpa_offset = off;
	a.nfs_argop4_u.opread_plus.rpa_count = count;
	return a;
}

/* A 4.2 COMPOUND: SEQUENCE in ops[0], then ops[1..n-1]. */
static void call42(struct t_rep *r, uint32_t uid, nfs_argop4 *ops, u_int n)
{
	ops[0] = a_sequence();
	t_call(r, 2, uid, ops, n);
}

static nfsstat4 status42(uint32_t uid, nfs_argop4 *ops, u_int n)
{
	ops[0] = a_sequence();
	return t_status(2, uid, ops, n);
}

/* SEQUENCE PUTFH op: the op's status. */
static nfsstat4 one_op(const struct t_fh *fh, nfs_argop4 op)
{
	nfs_argop4 ops[3];

	ops[1] = a_putfh((struct t_fh *)fh);
	ops[2] = op;
	return status42(0, ops, 3);
}

/* SEQUENCE PUTFH(src) SAVEFH PUTFH(dst) op: the COMPOUND status (r holds the reply). */
static void two_op(struct t_rep *r, uint32_t uid, const struct t_fh *src, const struct t_fh *dst,
		   nfs_argop4 op)
{
	nfs_argop4 ops[5];

	ops[1] = a_putfh((struct t_fh *)src);
	ops[2] = a_plain(OP_SAVEFH);
	ops[3] = a_putfh((struct t_fh *)dst);
	ops[4] = op;
	call42(r, uid, ops, 5);
}

static nfsstat4 two_op_status(const struct t_fh *src, const struct t_fh *dst, nfs_argop4 op)
{
	struct t_rep r;
	nfsstat4 st;

	two_op(&r, 0, src, dst, op);
	st = r.res.status;
	t_free(&r);
	return st;
}

/* The sparse file of the SEEK and READ_PLUS tests: 4 MiB, data at [0, 64K) and
 * [1M, 1M + 64K), holes elsewhere (up to the file system's block size). */
static const uint64_t sparse_ext[2][2] = {{0, 64 * KIB}, {MIB, 64 * KIB}};
#define SPARSE_SIZE (4u * MIB)

/* ======================================================================================== */
/* SEEK (RFC 7862 §15.11)                                                                    */
/* ======================================================================================== */

static void expect_seek(const struct t_fh *fh, uint64_t off, data_content4 what,
			uint64_t want_off, bool want_eof)
{
	nfs_argop4 ops[3];
	seek_res4 *ok;
	struct t_rep r;

	ops[1] = a_putfh((struct t_fh *)fh);
	ops[2] = a_seek(&t_anon, off, what);
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 2)->nfs_resop4_u.opseek.SEEK4res_u.resok4;
	assert_int_equal(ok->sr_offset, want_off);
	assert_int_equal(ok->sr_eof, want_eof);
	t_free(&r);
}

static void test_seek(void **state)
{
	struct t_fh sparse, file, dir, link, fifo;
	off_t hole0, data1, tail;

	(void)state;
	make_sparse("sparse", SPARSE_SIZE, sparse_ext, 2);
	fh_of("sparse", &sparse);
	fh_of("file10k", &file);
	t_path_fh(0, "/a/data/sub", &dir);
	fh_of("link", &link);
	fh_of("fifo", &fifo);
	t_client41("client-42-seek");

	/* the answers lseek(2) gives on the file itself (where holes fall is the fs's choice) */
	hole0 = lseek_local("sparse", 0, SEEK_HOLE);
	data1 = lseek_local("sparse", 64 * KIB, SEEK_DATA);
	assert_true(hole0 >= (off_t)(64 * KIB));
	assert_true(data1 >= (off_t)(64 * KIB) && data1 <= (off_t)MIB);

	expect_seek(&sparse, 0, NFS4_CONTENT_DATA, 0, false);
	expect_seek(&sparse, 0, NFS4_CONTENT_HOLE, (uint64_t)hole0, hole0 >= (off_t)SPARSE_SIZE);
	expect_seek(&sparse, 64 * KIB, NFS4_CONTENT_DATA, (uint64_t)data1, false);
	/* data asked in the trailing hole: none there. §15.11.3: NFS4_OK with sr_eof
	 * (sr_offset the size), where lseek says ENXIO */
	tail = lseek_local("sparse", MIB + 128 * KIB, SEEK_DATA);
	if (tail < 0 && errno == ENXIO)
		expect_seek(&sparse, MIB + 128 * KIB, NFS4_CONTENT_DATA, SPARSE_SIZE, true);
	else
		expect_seek(&sparse, MIB + 128 * KIB, NFS4_CONTENT_DATA, (uint64_t)tail,
			    tail >= (off_t)SPARSE_SIZE);
	/* a file without holes: data at once, the virtual hole at its end (eof) */
	expect_seek(&file, 100, NFS4_CONTENT_DATA, 100, false);
	expect_seek(&file, 100, NFS4_CONTENT_HOLE, T_FILE_SIZE, true);

	/* §15.11.3: an offset at or past the end is NXIO */
	assert_int_equal(one_op(&sparse, a_seek(&t_anon, SPARSE_SIZE, NFS4_CONTENT_DATA)),
			 NFS4ERR_NXIO);
	assert_int_equal(one_op(&file, a_seek(&t_anon, T_FILE_SIZE + 1, NFS4_CONTENT_HOLE)),
			 NFS4ERR_NXIO);
	assert_int_equal(one_op(&file, a_seek(&t_anon, UINT64_MAX, NFS4_CONTENT_DATA)),
			 NFS4ERR_NXIO);
	/* a data_content4 value that is no arm of the union */
	assert_int_equal(one_op(&file, a_seek(&t_anon, 0, (data_content4)7)),
			 NFS4ERR_UNION_NOTSUPP);
	/* only regular files (RFC 8881 §15.1.2: ISDIR, SYMLINK, WRONG_TYPE) */
	assert_int_equal(one_op(&dir, a_seek(&t_anon, 0, NFS4_CONTENT_DATA)), NFS4ERR_ISDIR);
	assert_int_equal(one_op(&link, a_seek(&t_anon, 0, NFS4_CONTENT_DATA)), NFS4ERR_SYMLINK);
	assert_int_equal(one_op(&fifo, a_seek(&t_anon, 0, NFS4_CONTENT_DATA)), NFS4ERR_WRONG_TYPE);
}

/* The 4.2 ops are no ops of 4.0 and 4.1: the engine answers OP_ILLEGAL, the handler never
 * runs (RFC 8881 §16.2.3, §15.1.3). */
static void test_seek_minor_versions(void **state)
{
	struct t_fh file;
	nfs_argop4 ops[3];
	struct t_rep r;

	(void)state;
	fh_of("file10k", &file);
	ops[0] = a_putfh(&file);
	ops[1] = a_seek(&t_anon, 0, NFS4_CONTENT_DATA);
	t_call(&r, 0, 0, ops, 2);
	assert_int_equal(r.res.status, NFS4ERR_OP_ILLEGAL);
	assert_int_equal(r.res.resarray.resarray_len, 2);
	assert_int_equal(t_res(&r, 1)->resop, OP_ILLEGAL);
	t_free(&r);

	t_client41("client-42-minor");
	ops[0] = a_sequence();
	ops[1] = a_putfh(&file);
	ops[2] = a_copy(&t_anon, &t_anon, 0, 0, 0);
	t_call(&r, 1, 0, ops, 3);
	assert_int_equal(r.res.status, NFS4ERR_OP_ILLEGAL);
	assert_int_equal(t_res(&r, 2)->resop, OP_ILLEGAL);
	t_free(&r);
}

/* ======================================================================================== */
/* ALLOCATE (§15.1), DEALLOCATE (§15.4)                                                      */
/* ======================================================================================== */

static void test_allocate(void **state)
{
	struct t_fh hole, models, dir, user;
	struct stat st;
	char path[512];
	nfs_argop4 ops[3];
	int fd;

	(void)state;
	/* 1 MiB of nothing: size without blocks */
	path_of(path, sizeof(path), "prealloc");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MIB), 0);
	close(fd);
	stat_local("prealloc", &st);
	assert_true(st.st_blocks < 64);
	fh_of("prealloc", &hole);
	t_path_fh(0, "/models/weights.bin", &models);
	t_path_fh(0, "/a/data/sub", &dir);
	t_client41("client-42-alloc");

	/* the blocks are reserved, the size stays */
	assert_int_equal(one_op(&hole, a_falloc(OP_ALLOCATE, &t_anon, 0, MIB)), NFS4_OK);
	stat_local("prealloc", &st);
	assert_int_equal(st.st_size, MIB);
	assert_true(st.st_blocks >= (blkcnt_t)(MIB / 512));
	/* past the end: the size grows to cover the range (§15.1.3) */
	assert_int_equal(one_op(&hole, a_falloc(OP_ALLOCATE, &t_anon, MIB, 64 * KIB)), NFS4_OK);
	stat_local("prealloc", &st);
	assert_int_equal(st.st_size, MIB + 64 * KIB);

	/* ranges fallocate(2) refuses: empty INVAL, past the largest file FBIG */
	assert_int_equal(one_op(&hole, a_falloc(OP_ALLOCATE, &t_anon, 0, 0)), NFS4ERR_INVAL);
	assert_int_equal(one_op(&hole, a_falloc(OP_ALLOCATE, &t_anon, (uint64_t)INT64_MAX - 10, 100)),
			 NFS4ERR_FBIG);
	assert_int_equal(one_op(&hole, a_falloc(OP_DEALLOCATE, &t_anon, UINT64_MAX - 10, 5)),
			 NFS4ERR_INVAL);
	/* a read-only export, a directory */
	assert_int_equal(one_op(&models, a_falloc(OP_ALLOCATE, &t_anon, 0, 4096)), NFS4ERR_ROFS);
	assert_int_equal(one_op(&models, a_falloc(OP_DEALLOCATE, &t_anon, 0, 4096)), NFS4ERR_ROFS);
	assert_int_equal(one_op(&dir, a_falloc(OP_ALLOCATE, &t_anon, 0, 4096)), NFS4ERR_ISDIR);

	/* anonymous stateid: the mode decides (root's 0644 file, another user) */
	fh_of("victim", &user);
	ops[1] = a_putfh(&user);
	ops[2] = a_falloc(OP_ALLOCATE, &t_anon, 0, 4096);
	assert_int_equal(status42(UID_USER, ops, 3), NFS4ERR_ACCESS);
}

static void test_deallocate(void **state)
{
	struct t_fh fh;
	struct stat before, after;
	uint8_t *data;
	size_t len;

	(void)state;
	t_write_file(W.data, "punch", 0644, MIB);
	stat_local("punch", &before);
	fh_of("punch", &fh);
	t_client41("client-42-dealloc");

	assert_int_equal(one_op(&fh, a_falloc(OP_DEALLOCATE, &t_anon, 256 * KIB, 256 * KIB)),
			 NFS4_OK);
	stat_local("punch", &after);
	/* §15.4.3: the size stays, the blocks go, the range reads as zeros */
	assert_int_equal(after.st_size, MIB);
	assert_true(after.st_blocks < before.st_blocks);
	data = read_local("punch", &len);
	assert_int_equal(len, MIB);
	for (size_t i = 0; i < len; i++) {
		if (i >= 256 * KIB && i < 512 * KIB)
			assert_int_equal(data[i], 0);
		else
			assert_int_equal(data[i], t_byte(i));
	}
	free(data);
	/* past the end: up to the end, and still the same size */
	assert_int_equal(one_op(&fh, a_falloc(OP_DEALLOCATE, &t_anon, 960 * KIB, MIB)), NFS4_OK);
	stat_local("punch", &after);
	assert_int_equal(after.st_size, MIB);
}

/* An open stateid for reading does not allow ALLOCATE (state_check_io: OPENMODE). */
static void test_allocate_openmode(void **state)
{
	struct t_fh dir, file;
	nfs_argop4 ops[4];
	stateid4 sid;
	struct t_rep r;

	(void)state;
	t_write_file(W.data, "ro-open", 0644, 4096);
	t_path_fh(0, "/a/data", &dir);
	fh_of("ro-open", &file);
	t_client41("client-42-openmode");
	ops[1] = a_putfh(&dir);
	ops[2] = a_open(0, "owner-42", 0, OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
			"ro-open");
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	sid = t_res(&r, 2)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	t_free(&r);
	assert_int_equal(one_op(&file, a_falloc(OP_ALLOCATE, &sid, 0, 4096)), NFS4ERR_OPENMODE);
	/* ... but reading with it does */
	assert_int_equal(one_op(&file, a_seek(&sid, 0, NFS4_CONTENT_DATA)), NFS4_OK);
}

/* ======================================================================================== */
/* COPY (§15.2), CLONE (§15.13), OFFLOAD_* (§15.8, §15.9)                                   */
/* ======================================================================================== */

static void assert_files_equal(const char *a, size_t a_off, const char *b, size_t b_off,
			       size_t len)
{
	size_t la, lb;
	uint8_t *da = read_local(a, &la), *db = read_local(b, &lb);

	assert_true(a_off + len <= la);
	assert_true(b_off + len <= lb);
	assert_memory_equal(da + a_off, db + b_off, len);
	free(da);
	free(db);
}

static void test_copy(void **state)
{
	struct t_fh src, dst, models, dir;
	COPY4resok *ok;
	nfs_argop4 op;
	struct stat st;
	struct t_rep r;

	(void)state;
	t_write_file(W.data, "src3m", 0644, 3 * MIB);
	t_write_file(W.data, "dst3m", 0644, 0);
	fh_of("src3m", &src);
	fh_of("dst3m", &dst);
	t_path_fh(0, "/models/weights.bin", &models);
	t_path_fh(0, "/a/data/sub", &dir);
	t_client41("client-42-copy");

	/* count 0: to the end of the source (§15.2.3) */
	two_op(&r, 0, &src, &dst, a_copy(&t_anon, &t_anon, 0, 0, 0));
	assert_int_equal(r.res.status, NFS4_OK);
	ok = &t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4;
	assert_int_equal(ok->cr_response.wr_count, 3 * MIB);
	assert_int_equal(ok->cr_response.wr_callback_id.wr_callback_id_len, 0);
	assert_int_equal(ok->cr_response.wr_committed, UNSTABLE4);
	assert_memory_equal(ok->cr_response.wr_writeverf, W.srv->write_verf, NFS4_VERIFIER_SIZE);
	assert_true(ok->cr_requirements.cr_consecutive);
	assert_true(ok->cr_requirements.cr_synchronous);
	t_free(&r);
	stat_local("dst3m", &st);
	assert_int_equal(st.st_size, 3 * MIB);
	assert_files_equal("src3m", 0, "dst3m", 0, 3 * MIB);

	/* a piece, appended; asked asynchronous, answered synchronously (§15.2.3) */
	op = a_copy(&t_anon, &t_anon, 5, 3 * MIB, 1000);
	op.nfs_argop4_u.opcopy.ca_synchronous = FALSE;
	two_op(&r, 0, &src, &dst, op);
	assert_int_equal(r.res.status, NFS4_OK);
	ok = &t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4;
	assert_int_equal(ok->cr_response.wr_count, 1000);
	assert_true(ok->cr_requirements.cr_synchronous);
	t_free(&r);
	stat_local("dst3m", &st);
	assert_int_equal(st.st_size, 3 * MIB + 1000);
	assert_files_equal("src3m", 5, "dst3m", 3 * MIB, 1000);

	/* at the end of the source: nothing to copy */
	two_op(&r, 0, &src, &dst, a_copy(&t_anon, &t_anon, 3 * MIB, 0, 0));
	assert_int_equal(r.res.status, NFS4_OK);
	assert_int_equal(t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4.cr_response.wr_count,
			 0);
	t_free(&r);
	/* §15.2.3: a source range past the end of the source is INVAL */
	assert_int_equal(two_op_status(&src, &dst, a_copy(&t_anon, &t_anon, 3 * MIB + 1, 0, 0)),
			 NFS4ERR_INVAL);
	assert_int_equal(two_op_status(&src, &dst, a_copy(&t_anon, &t_anon, MIB, 0, 2 * MIB + 1)),
			 NFS4ERR_INVAL);
	/* within one file: overlapping ranges are INVAL, separate ones copy */
	assert_int_equal(two_op_status(&src, &src, a_copy(&t_anon, &t_anon, 0, 100, 4096)),
			 NFS4ERR_INVAL);
	assert_int_equal(two_op_status(&src, &src, a_copy(&t_anon, &t_anon, 0, 2 * MIB, 4096)),
			 NFS4_OK);
	assert_files_equal("src3m", 0, "src3m", 2 * MIB, 4096);
	/* another export: XDEV, either way round */
	assert_int_equal(two_op_status(&models, &dst, a_copy(&t_anon, &t_anon, 0, 0, 0)),
			 NFS4ERR_XDEV);
	assert_int_equal(two_op_status(&src, &models, a_copy(&t_anon, &t_anon, 0, 0, 0)),
			 NFS4ERR_XDEV);
	/* only regular files */
	assert_int_equal(two_op_status(&dir, &dst, a_copy(&t_anon, &t_anon, 0, 0, 0)),
			 NFS4ERR_ISDIR);
	assert_int_equal(two_op_status(&src, &dir, a_copy(&t_anon, &t_anon, 0, 0, 0)),
			 NFS4ERR_ISDIR);
	/* an inter-server copy (a source server named) is not offered */
	{
		netloc4 loc;

		memset(&loc, 0, sizeof(loc));
		loc.nl_type = NL4_NAME;
		loc.netloc4_u.nl_name.utf8string_len = 5;
		loc.netloc4_u.nl_name.utf8string_val = (char *)"other";
		op = a_copy(&t_anon, &t_anon, 0, 0, 0);
		op.nfs_argop4_u.opcopy.ca_source_server.ca_source_server_len = 1;
		op.nfs_argop4_u.opcopy.ca_source_server.ca_source_server_val = &loc;
		assert_int_equal(two_op_status(&src, &dst, op), NFS4ERR_NOTSUPP);
	}
	/* no saved filehandle */
	{
		nfs_argop4 ops[3];

		ops[1] = a_putfh(&dst);
		ops[2] = a_copy(&t_anon, &t_anon, 0, 0, 0);
		assert_int_equal(status42(0, ops, 3), NFS4ERR_NOFILEHANDLE);
	}
}

/* COPY with an open stateid for the source, followed by COMMIT in the same COMPOUND (what
 * the Linux client sends for an UNSTABLE4 result). */
static void test_copy_open_commit(void **state)
{
	struct t_fh dir, src, dst;
	nfs_argop4 ops[7];
	stateid4 sid;
	struct t_rep r;

	(void)state;
	t_write_file(W.data, "copy-src", 0644, 200000);
	t_write_file(W.data, "copy-dst", 0644, 0);
	t_path_fh(0, "/a/data", &dir);
	fh_of("copy-src", &src);
	fh_of("copy-dst", &dst);
	t_client41("client-42-copy-open");
	ops[1] = a_putfh(&dir);
	ops[2] = a_open(0, "owner-42c", 0, OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
			"copy-src");
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	sid = t_res(&r, 2)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	t_free(&r);

	ops[1] = a_putfh(&src);
	ops[2] = a_plain(OP_SAVEFH);
	ops[3] = a_putfh(&dst);
	ops[4] = a_copy(&sid, &t_anon, 0, 0, 0);
	ops[5] = a_plain(OP_COMMIT);
	call42(&r, 0, ops, 6);
	t_expect(&r, ops, NFS4_OK, 6);
	assert_int_equal(t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4.cr_response.wr_count,
			 200000);
	assert_memory_equal(t_res(&r, 5)->nfs_resop4_u.opcommit.COMMIT4res_u.resok4.writeverf,
			    W.srv->write_verf, NFS4_VERIFIER_SIZE);
	t_free(&r);
	assert_files_equal("copy-src", 0, "copy-dst", 0, 200000);
	/* the source's open stateid is no stateid of the destination file */
	ops[4] = a_copy(&t_anon, &sid, 0, 0, 0);
	call42(&r, 0, ops, 5);
	assert_int_equal(r.res.status, NFS4ERR_BAD_STATEID);
	t_free(&r);
}

/* One COPY moves at most 64 MiB (nfs4_v42_ops.c COPY_MAX): a longer one is answered short,
 * with wr_count saying how much, and the client asks for the rest. */
static void test_copy_short(void **state)
{
	static const uint64_t tail[1][2] = {{64 * MIB + 512 * KIB, 4096}};
	struct t_fh src, dst, models;
	struct stat st;
	struct t_rep r;

	(void)state;
	make_sparse("big-src", 65 * MIB, tail, 1);
	t_write_file(W.data, "big-dst", 0644, 0);
	fh_of("big-src", &src);
	fh_of("big-dst", &dst);
	t_path_fh(0, "/models/weights.bin", &models);
	t_client41("client-42-copy-short");
	two_op(&r, 0, &src, &dst, a_copy(&t_anon, &t_anon, 0, 0, 0));
	assert_int_equal(r.res.status, NFS4_OK);
	assert_int_equal(t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4.cr_response.wr_count,
			 64 * MIB);
	t_free(&r);
	two_op(&r, 0, &src, &dst, a_copy(&t_anon, &t_anon, 64 * MIB, 64 * MIB, 0));
	assert_int_equal(r.res.status, NFS4_OK);
	assert_int_equal(t_res(&r, 4)->nfs_resop4_u.opcopy.COPY4res_u.cr_resok4.cr_response.wr_count,
			 MIB);
	t_free(&r);
	stat_local("big-dst", &st);
	assert_int_equal(st.st_size, 65 * MIB);
	assert_files_equal("big-src", 64 * MIB, "big-dst", 64 * MIB, MIB);
	/* within the read-only export: one export, but it takes no change */
	assert_int_equal(two_op_status(&models, &models, a_copy(&t_anon, &t_anon, 0, 2048, 1024)),
			 NFS4ERR_ROFS);
}

static void test_clone(void **state)
{
	struct t_fh src, dst, models;
	nfsstat4 st;

	(void)state;
	t_write_file(W.data, "clone-src", 0644, 256 * KIB);
	t_write_file(W.data, "clone-dst", 0644, 0);
	fh_of("clone-src", &src);
	fh_of("clone-dst", &dst);
	t_path_fh(0, "/models/weights.bin", &models);
	t_client41("client-42-clone");

	/* Whether the blocks can be shared is the file system's: OK with the same bytes, or
	 * NOTSUPP (ext4, tmpfs). */
	st = two_op_status(&src, &dst, a_clone(&t_anon, &t_anon, 0, 0, 0));
	assert_true(st == NFS4_OK || st == NFS4ERR_NOTSUPP);
	if (st == NFS4_OK)
		assert_files_equal("clone-src", 0, "clone-dst", 0, 256 * KIB);
	/* the checks before the file system is asked */
	assert_int_equal(two_op_status(&models, &dst, a_clone(&t_anon, &t_anon, 0, 0, 0)),
			 NFS4ERR_XDEV);
	assert_int_equal(two_op_status(&src, &dst, a_clone(&t_anon, &t_anon, 256 * KIB + 4096, 0, 0)),
			 NFS4ERR_INVAL);
	assert_int_equal(two_op_status(&src, &src, a_clone(&t_anon, &t_anon, 0, 4096, 8192)),
			 NFS4ERR_INVAL);
}

static void test_offload(void **state)
{
	struct t_fh file;
	nfs_argop4 op;

	(void)state;
	fh_of("file10k", &file);
	t_client41("client-42-offload");
	/* no copy is ever asynchronous: no stateid names one */
	op = a_plain(OP_OFFLOAD_STATUS);
	assert_int_equal(one_op(&file, op), NFS4ERR_BAD_STATEID);
	op = a_plain(OP_OFFLOAD_CANCEL);
	assert_int_equal(one_op(&file, op), NFS4ERR_BAD_STATEID);
	/* not implemented: the engine's NOTSUPP */
	op = a_plain(OP_IO_ADVISE);
	assert_int_equal(one_op(&file, op), NFS4ERR_NOTSUPP);
	op = a_plain(OP_WRITE_SAME);
	assert_int_equal(one_op(&file, op), NFS4ERR_NOTSUPP);
}

/* ======================================================================================== */
/* READ_PLUS (§15.10)                                                                        */
/* ======================================================================================== */

/* READ_PLUS the whole file in pieces of count into a buffer rebuilt from the segments
 * (holes as zeros); checks that the segments tile each reply's range. Returns the holes. */
static unsigned read_plus_all(const struct t_fh *fh, uint32_t count, uint8_t *out, size_t size)
{
	uint64_t off = 0;
	unsigned holes = 0;
	bool eof = false;

	while (!eof) {
		nfs_argop4 ops[3];
		read_plus_res4 *ok;
		uint64_t cur = off;
		struct t_rep r;

		ops[1] = a_putfh((struct t_fh *)fh);
		ops[2] = a_read_plus(&t_anon, off, count);
		call42(&r, 0, ops, 3);
		t_expect(&r, ops, NFS4_OK, 3);
		ok = &t_res(&r, 2)->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
		for (u_int i = 0; i < ok->rpr_contents.rpr_contents_len; i++) {
			read_plus_content *s = &ok->rpr_contents.rpr_contents_val[i];

			if (s->rpc_content == NFS4_CONTENT_DATA) {
				data4 *d = &s->read_plus_content_u.rpc_data;

				assert_int_equal(d->d_offset, cur);
				assert_true(d->d_data.d_data_len > 0);
				assert_true(cur + d->d_data.d_data_len <= size);
				memcpy(out + cur, d->d_data.d_data_val, d->d_data.d_data_len);
				cur += d->d_data.d_data_len;
			} else {
				data_info4 *h = &s->read_plus_content_u.rpc_hole;

				assert_int_equal(s->rpc_content, NFS4_CONTENT_HOLE);
				assert_int_equal(h->di_offset, cur);
				assert_true(h->di_length > 0 && cur + h->di_length <= size);
				memset(out + cur, 0, h->di_length);
				cur += h->di_length;
				holes++;
			}
		}
		assert_true(cur - off <= count);
		eof = ok->rpr_eof;
		/* a short reply is the end of the file */
		assert_true(eof == (cur >= size));
		assert_true(cur > off || eof);
		off = cur;
		t_free(&r);
	}
	assert_int_equal(off, size);
	return holes;
}

static void test_read_plus(void **state)
{
	struct t_fh file, sparse, dir;
	uint8_t *local, *got;
	size_t len;
	unsigned holes;
	read_plus_res4 *ok;
	nfs_argop4 ops[3];
	struct t_rep r;

	(void)state;
	make_sparse("sparse-rp", SPARSE_SIZE, sparse_ext, 2);
	fh_of("file10k", &file);
	fh_of("sparse-rp", &sparse);
	t_path_fh(0, "/a/data/sub", &dir);
	t_client41("client-42-readplus");

	/* a plain file: its bytes */
	local = read_local("file10k", &len);
	got = malloc(len);
	assert_non_null(got);
	holes = read_plus_all(&file, 4096, got, len);
	assert_int_equal(holes, 0);
	assert_memory_equal(got, local, len);
	free(got);
	free(local);

	/* the sparse file: the same bytes, and holes where lseek(2) sees them */
	local = read_local("sparse-rp", &len);
	assert_int_equal(len, SPARSE_SIZE);
	got = malloc(len);
	assert_non_null(got);
	holes = read_plus_all(&sparse, 512 * KIB, got, len);
	assert_memory_equal(got, local, len);
	if (lseek_local("sparse-rp", 0, SEEK_HOLE) < (off_t)SPARSE_SIZE)
		assert_true(holes >= 2);
	free(got);
	free(local);

	/* past the end: nothing, eof; count 0: nothing */
	ops[1] = a_putfh(&file);
	ops[2] = a_read_plus(&t_anon, T_FILE_SIZE + 10, 100);
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 2)->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	assert_true(ok->rpr_eof);
	assert_int_equal(ok->rpr_contents.rpr_contents_len, 0);
	t_free(&r);
	ops[2] = a_read_plus(&t_anon, 0, 0);
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 2)->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	assert_false(ok->rpr_eof);
	assert_int_equal(ok->rpr_contents.rpr_contents_len, 0);
	t_free(&r);
	/* more than the session's replies hold: cut, not refused */
	ops[1] = a_putfh(&sparse);
	ops[2] = a_read_plus(&t_anon, 0, 2 * MIB);
	call42(&r, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 2)->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	assert_false(ok->rpr_eof);
	assert_true(ok->rpr_contents.rpr_contents_len >= 1);
	t_free(&r);
	/* only regular files */
	assert_int_equal(one_op(&dir, a_read_plus(&t_anon, 0, 10)), NFS4ERR_ISDIR);
	/* anonymous stateid: read permission on "secret" (0600 root) */
	{
		struct t_fh secret;

		fh_of("secret", &secret);
		ops[1] = a_putfh(&secret);
		ops[2] = a_read_plus(&t_anon, 0, 10);
		assert_int_equal(status42(UID_USER, ops, 3), NFS4ERR_ACCESS);
		ops[2] = a_seek(&t_anon, 0, NFS4_CONTENT_DATA);
		assert_int_equal(status42(UID_USER, ops, 3), NFS4ERR_ACCESS);
	}
}

/* READ_PLUS after DEALLOCATE: the punched range comes back as a hole (where the fs punches
 * whole blocks), the rest as data. */
static void test_read_plus_punched(void **state)
{
	struct t_fh fh;
	uint8_t *local, *got;
	size_t len;
	unsigned holes;

	(void)state;
	t_write_file(W.data, "punch-rp", 0644, MIB);
	fh_of("punch-rp", &fh);
	t_client41("client-42-punch-rp");
	assert_int_equal(one_op(&fh, a_falloc(OP_DEALLOCATE, &t_anon, 256 * KIB, 256 * KIB)),
			 NFS4_OK);
	local = read_local("punch-rp", &len);
	got = malloc(len);
	assert_non_null(got);
	holes = read_plus_all(&fh, MIB / 2, got, len);
	assert_memory_equal(got, local, len);
	if (lseek_local("punch-rp", 0, SEEK_HOLE) == (off_t)(256 * KIB))
		assert_int_equal(holes, 1);
	free(got);
	free(local);
}

/* ======================================================================================== */

static int setup_two(void **state)
{
	(void)state;
	return t_setup_two(false);
}

int main(void)
{
	const struct CMUnitTest v42[] = {
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_seek_minor_versions),
		cmocka_unit_test(test_allocate),
		cmocka_unit_test(test_deallocate),
		cmocka_unit_test(test_allocate_openmode),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_copy_open_commit),
		cmocka_unit_test(test_copy_short),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_offload),
		cmocka_unit_test(test_read_plus),
		cmocka_unit_test(test_read_plus_punched),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_nfs_v42: needs root (open_by_handle_at): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests_name("nfs_v42", v42, setup_two, t_teardown) ? 1 : 0;
}

/* cmocka tests of the NFSv4 write path (server/nfs4_write_ops.c, nfs4_ns_ops.c, OPEN create in
 * nfs4_io_ops.c, identities in object.c and storage/stor.c) through the whole server, as
 * test_nfs_ops.c does for the read path: RPC records built by hand, dispatch_record(), the
 * storage engine, replies decoded with the generated XDR (test_nfs_util.h), and the results
 * checked on disk. Each test gets a fresh tree and server. Runs as root (open_by_handle_at,
 * and the AUTH_SYS identities it takes); skips (77) otherwise. */
#define _GNU_SOURCE /* mkdtemp, nftw, strtok_r */
#include "test_nfs_util.h"

#include <sys/xattr.h>
#include <time.h>

#define UID_A 1000u   /* AUTH_SYS uid = gid of the tests' ordinary user */
#define UID_B 1001u   /* another user */
#define ANON 65534u
#define T_SQ_ID 3u    /* root/sq: rw, squash = root */
#define T_ALL_ID 4u   /* root/all: rw, squash = all */

/* ---- the world: the two exports of test_nfs_util.h and two squashing ones ------------------ */

static void w_chown(const char *rel, uid_t uid, gid_t gid)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	assert_int_equal(lchown(path, uid, gid), 0);
}

static void w_chmod(const char *rel, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * t_tree() plus:
 *   data/pub/      0777
 *   data/tmp/      1777  his (0644, 1000:1000), priv (0600, 1000:1000)
 *   data/emptyd/   0755
 *   sq/            0777  export 3, squash = root
 *   all/           0777  export 4, squash = all
 */
static int setup_w(void **state)
{
	char text[4096], err[1024], dir[256], sq[256], all[256];

	(void)state;
	memset(&W, 0, sizeof(W));
	log_set_level(LL_ERROR);
	t_tree(false);
	t_mkdir(W.data, "pub", NULL, 0);
	w_chmod("data/pub", 0777);
	t_mkdir(W.data, "tmp", dir, sizeof(dir));
	w_chmod("data/tmp", 01777);
	t_write_file(dir, "his", 0644, 3);
	w_chown("data/tmp/his", UID_A, UID_A);
	t_write_file(dir, "priv", 0600, 3);
	w_chown("data/tmp/priv", UID_A, UID_A);
	t_mkdir(W.data, "emptyd", NULL, 0);
	t_mkdir(W.root, "sq", sq, sizeof(sq));
	w_chmod("sq", 0777);
	t_mkdir(W.root, "all", all, sizeof(all));
	w_chmod("all", 0777);
	snprintf(text, sizeof(text),
		 "log_level = error\n"
		 "export \"%s\" {\n id = %u\n pseudo = /a/data\n access = rw\n squash = none\n}\n"
		 "export \"%s\" {\n id = %u\n pseudo = /models\n access = ro\n squash = none\n}\n"
		 "export \"%s\" {\n id = %u\n pseudo = /sq\n access = rw\n squash = root\n"
		 " anonuid = %u\n anongid = %u\n}\n"
		 "export \"%s\" {\n id = %u\n pseudo = /all\n access = rw\n squash = all\n"
		 " anonuid = %u\n anongid = %u\n}\n",
		 W.data, T_DATA_ID, W.models, T_MODELS_ID, sq, T_SQ_ID, ANON, ANON, all, T_ALL_ID,
		 ANON, ANON);
	if (config_parse_string(text, "test.conf", &W.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	t_server_up();
	return 0;
}

static struct stat dstat(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	if (lstat(path, &st) < 0)
		fail_msg("lstat %s: %s", rel, strerror(errno));
	return st;
}

static bool dexists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	return lstat(path, &st) == 0;
}

static size_t dread(const char *rel, uint8_t *buf, size_t cap)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

/* ---- attributes to set ----------------------------------------------------------------- */

struct t_sattr {
	bool has_type, has_size, has_mode;
	uint64_t size;
	uint32_t mode;
	const char *owner, *group;
	int ahow, mhow; /* 0: not given, 1: server time, 2: client time */
	int64_t asec, msec;
	uint32_t ansec, mnsec;
	uint32_t mask[2];
	uint8_t buf[256];
};

static uint8_t *sa_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p = t_put32(p, (uint32_t)n);
	memset(p, 0, (n + 3) & ~(size_t)3);
	memcpy(p, s, n);
	return p + ((n + 3) & ~(size_t)3);
}

static uint8_t *sa_time(uint8_t *p, int how, int64_t sec, uint32_t nsec)
{
	p = t_put32(p, how == 2 ? SET_TO_CLIENT_TIME4 : SET_TO_SERVER_TIME4);
	if (how == 2) {
		p = t_put32(p, (uint32_t)((uint64_t)sec >> 32));
		p = t_put32(p, (uint32_t)sec);
		p = t_put32(p, nsec);
	}
	return p;
}

/* The fattr4 of s (pointing into s). */
static fattr4 sa_enc(struct t_sattr *s)
{
	uint8_t *p = s->buf;
	fattr4 f;

	s->mask[0] = s->mask[1] = 0;
	if (s->has_type) {
		s->mask[0] |= 1u << FATTR4_TYPE;
		p = t_put32(p, NF4REG);
	}
	if (s->has_size) {
		s->mask[0] |= 1u << FATTR4_SIZE;
		p = t_put32(p, (uint32_t)(s->size >> 32));
		p = t_put32(p, (uint32_t)s->size);
	}
	if (s->has_mode) {
		s->mask[1] |= 1u << (FATTR4_MODE - 32);
		p = t_put32(p, s->mode);
	}
	if (s->owner) {
		s->mask[1] |= 1u << (FATTR4_OWNER - 32);
		p = sa_str(p, s->owner);
	}
	if (s->group) {
		s->mask[1] |= 1u << (FATTR4_OWNER_GROUP - 32);
		p = sa_str(p, s->group);
	}
	if (s->ahow) {
		s->mask[1] |= 1u << (FATTR4_TIME_ACCESS_SET - 32);
		p = sa_time(p, s->ahow, s->asec, s->ansec);
	}
	if (s->mhow) {
		s->mask[1] |= 1u << (FATTR4_TIME_MODIFY_SET - 32);
		p = sa_time(p, s->mhow, s->msec, s->mnsec);
	}
	assert_true((size_t)(p - s->buf) <= sizeof(s->buf));
	f.attrmask.bitmap4_len = s->mask[1] ? 2 : 1;
	f.attrmask.bitmap4_val = s->mask;
	f.attr_vals.attrlist4_len = (u_int)(p - s->buf);
	f.attr_vals.attrlist4_val = (char *)s->buf;
	return f;
}

static bool bm_has(const bitmap4 *b, unsigned attr)
{
	return attr / 32 < b->bitmap4_len && (b->bitmap4_val[attr / 32] >> (attr % 32) & 1u);
}

/* ---- op builders ------------------------------------------------------------------------- */

static nfs_argop4 a_name_op(nfs_opnum4 op, const char *name)
{
	nfs_argop4 a = a_plain(op);
	component4 *c;

	c = op == OP_REMOVE ? &a.nfs_argop4_u.opremove.target
	    : op == OP_LINK ? &a.nfs_argop4_u.oplink.newname
			    : &a.nfs_argop4_u.oplookup.objname;
	c->utf8string_len = (u_int)strlen(name);
	c->utf8string_val = (char *)name;
	return a;
}

static nfs_argop4 a_remove(const char *name)
{
	return a_name_op(OP_REMOVE, name);
}

static nfs_argop4 a_link(const char *name)
{
	return a_name_op(OP_LINK, name);
}

static nfs_argop4 a_rename(const char *from, const char *to)
{
	nfs_argop4 a = a_plain(OP_RENAME);

	a.nfs_argop4_u.oprename.oldname.utf8string_len = (u_int)strlen(from);
	a.nfs_argop4_u.oprename.oldname.utf8string_val = (char *)from;
	a.nfs_argop4_u.oprename.newname.utf8string_len = (u_int)strlen(to);
	a.nfs_argop4_u.oprename.newname.utf8string_val = (char *)to;
	return a;
}

/* sa may be NULL (no attributes) */
static nfs_argop4 a_create(nfs_ftype4 type, const char *name, struct t_sattr *sa,
			   const char *target)
{
	nfs_argop4 a = a_plain(OP_CREATE);
	CREATE4args *c = &a.nfs_argop4_u.opcreate;
	static uint32_t none[1];

	c->objtype.type = type;
	if (type == NF4LNK) {
		c->objtype.createtype4_u.linkdata.linktext4_len = (u_int)strlen(target);
		c->objtype.createtype4_u.linkdata.linktext4_val = (char *)target;
	}
	c->objname.utf8string_len = (u_int)strlen(name);
	c->objname.utf8string_val = (char *)name;
	if (sa) {
		c->createattrs = sa_enc(sa);
	} else {
		c->createattrs.attrmask.bitmap4_len = 1;
		c->createattrs.attrmask.bitmap4_val = none;
	}
	return a;
}

static nfs_argop4 a_setattr(const stateid4 *sid, struct t_sattr *sa)
{
	nfs_argop4 a = a_plain(OP_SETATTR);

	a.nfs_argop4_u.opsetattr.stateid = *sid;
	a.nfs_argop4_u.opsetattr.obj_attributes = sa_enc(sa);
	return a;
}

static nfs_argop4 a_write(const stateid4 *sid, uint64_t off, stable_how4 how, const void *data,
			  u_int len)
{
	nfs_argop4 a = a_plain(OP_WRITE);

	a.nfs_argop4_u.opwrite.stateid = *sid;
	a.nfs_argop4_u.opwrite.offset = off;
	a.nfs_argop4_u.opwrite.stable = how;
	a.nfs_argop4_u.opwrite.data.data_len = len;
	a.nfs_argop4_u.opwrite.data.data_val = (char *)data;
	return a;
}

static nfs_argop4 a_commit(uint64_t off, uint32_t count)
{
	nfs_argop4 a = a_plain(OP_COMMIT);

	a.nfs_argop4_u.opcommit.offset = off;
	a.nfs_argop4_u.opcommit.count = count;
	return a;
}

/* OPEN4_CREATE with how; sa the createattrs / cva_attrs (may be NULL), verf the verifier of the
 * exclusive modes. */
static nfs_argop4 a_open_create(clientid4 id, const char *owner, uint32_t seqid, uint32_t access,
				const char *name, createmode4 how, struct t_sattr *sa,
				const char *verf)
{
	nfs_argop4 a = a_open(id, owner, seqid, access, name);
	createhow4 *h = &a.nfs_argop4_u.opopen.openhow.openflag4_u.how;
	static uint32_t none[1];
	fattr4 f;

	a.nfs_argop4_u.opopen.openhow.opentype = OPEN4_CREATE;
	h->mode = how;
	if (sa) {
		f = sa_enc(sa);
	} else {
		memset(&f, 0, sizeof(f));
		f.attrmask.bitmap4_len = 1;
		f.attrmask.bitmap4_val = none;
	}
	switch (how) {
	case UNCHECKED4:
	case GUARDED4:
		h->createhow4_u.createattrs = f;
		break;
	case EXCLUSIVE4:
		memcpy(h->createhow4_u.createverf, verf, NFS4_VERIFIER_SIZE);
		break;
	case EXCLUSIVE4_1:
		memcpy(h->createhow4_u.ch_createboth.cva_verf, verf, NFS4_VERIFIER_SIZE);
		h->createhow4_u.ch_createboth.cva_attrs = f;
		break;
	}
	return a;
}

/* ---- 4.1 calls: SEQUENCE + ops; the results of ops are at index i + 1 ------------------- */

static void c41(struct t_rep *r, uint32_t uid, const nfs_argop4 *ops, u_int n)
{
	nfs_argop4 all[16];

	assert_true(n < 16);
	all[0] = a_sequence();
	memcpy(all + 1, ops, n * sizeof(*ops));
	t_call(r, 1, uid, all, n + 1);
	assert_true(r->res.resarray.resarray_len >= 1);
	assert_int_equal(t_op_status(r, 0), NFS4_OK);
}

/* The 4.1 COMPOUND stopped at op nres - 1 of ops with status want. */
static void e41(const struct t_rep *r, const nfs_argop4 *ops, nfsstat4 want, u_int nres)
{
	assert_int_equal(r->res.status, want);
	assert_int_equal(r->res.resarray.resarray_len, nres + 1);
	for (u_int i = 0; i < nres; i++) {
		assert_int_equal(r->res.resarray.resarray_val[i + 1].resop, ops[i].argop);
		assert_int_equal(t_op_status(r, i + 1), i + 1 == nres ? want : NFS4_OK);
	}
}

static nfsstat4 s41(uint32_t uid, const nfs_argop4 *ops, u_int n)
{
	struct t_rep r;
	nfsstat4 st;

	c41(&r, uid, ops, n);
	st = r.res.status;
	t_free(&r);
	return st;
}

static OPEN4resok *open_ok(struct t_rep *r, u_int i)
{
	assert_int_equal(t_res(r, i)->resop, OP_OPEN);
	return &t_res(r, i)->nfs_resop4_u.opopen.OPEN4res_u.resok4;
}

/* 4.1: create (or open) dir/name as uid with how and sa; returns the open stateid and the
 * file's handle. */
static void open41(uint32_t uid, struct t_fh *dir, const char *name, uint32_t access,
		   createmode4 how, struct t_sattr *sa, const char *verf, stateid4 *sid,
		   struct t_fh *fh)
{
	nfs_argop4 ops[3];
	struct t_rep r;

	ops[0] = a_putfh(dir);
	ops[1] = a_open_create(0, "owner-41", 0, access, name, how, sa, verf);
	ops[2] = a_plain(OP_GETFH);
	c41(&r, uid, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	if (sid)
		*sid = open_ok(&r, 2)->stateid;
	if (fh)
		t_fh_of(&r, 3, fh);
	t_free(&r);
}

/* ======================================================================================== */
/* OPEN with create (RFC 8881 §18.16)                                                       */
/* ======================================================================================== */

static void test41_open_create(void **state)
{
	struct t_fh pub, fh1, fh2, models;
	struct t_sattr sa = {0};
	nfs_argop4 ops[3];
	OPEN4resok *ok;
	struct t_rep r;
	struct stat st;

	(void)state;
	t_path_fh(0, "/a/data/pub", &pub);
	t_path_fh(0, "/models", &models);
	t_client41("w-open-create");
	usleep(20000); /* a coarse ctime tick past the directory's creation */

	/* UNCHECKED4, mode 0640, as AUTH_SYS 1000:1000 */
	sa.has_mode = true;
	sa.mode = 0640;
	ops[0] = a_putfh(&pub);
	ops[1] = a_open_create(0, "o1", 0, OPEN4_SHARE_ACCESS_BOTH, "new1", UNCHECKED4, &sa, NULL);
	ops[2] = a_plain(OP_GETFH);
	c41(&r, UID_A, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	ok = open_ok(&r, 2);
	assert_true(bm_has(&ok->attrset, FATTR4_MODE));
	assert_false(ok->cinfo.atomic);
	assert_true(ok->cinfo.before != ok->cinfo.after);
	t_fh_of(&r, 3, &fh1);
	t_free(&r);
	st = dstat("data/pub/new1");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, UID_A);
	assert_int_equal(st.st_gid, UID_A);
	assert_int_equal(st.st_size, 0);

	/* a mode the umask of the server process would cut: applied as given */
	sa.mode = 0666;
	open41(UID_A, &pub, "new666", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, &sa, NULL, NULL, NULL);
	assert_int_equal(dstat("data/pub/new666").st_mode & 07777, 0666);

	/* UNCHECKED4 on the existing name: opens it (same handle) */
	ops[1] = a_open_create(0, "o1", 0, OPEN4_SHARE_ACCESS_READ, "new1", UNCHECKED4, &sa, NULL);
	c41(&r, UID_A, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	t_fh_of(&r, 3, &fh2);
	assert_int_equal(fh1.len, fh2.len);
	assert_memory_equal(fh1.data, fh2.data, fh1.len);
	t_free(&r);
	assert_int_equal(dstat("data/pub/new1").st_mode & 07777, 0640); /* mode not reapplied */

	/* GUARDED4 on an existing name */
	ops[1] = a_open_create(0, "o1", 0, OPEN4_SHARE_ACCESS_BOTH, "new1", GUARDED4, &sa, NULL);
	assert_int_equal(s41(UID_A, ops, 3), NFS4ERR_EXIST);
	/* GUARDED4 on a new name */
	ops[1] = a_open_create(0, "o1", 0, OPEN4_SHARE_ACCESS_BOTH, "guarded", GUARDED4, NULL, NULL);
	assert_int_equal(s41(UID_A, ops, 3), NFS4_OK);
	assert_true(dexists("data/pub/guarded"));

	/* creating in the read-only export, and in a directory the user may not write */
	ops[0] = a_putfh(&models);
	ops[1] = a_open_create(0, "o1", 0, OPEN4_SHARE_ACCESS_BOTH, "nope", UNCHECKED4, &sa, NULL);
	assert_int_equal(s41(0, ops, 3), NFS4ERR_ROFS);
	assert_false(dexists("models/nope"));
	{
		struct t_fh data;

		t_path_fh(0, "/a/data", &data);
		ops[0] = a_putfh(&data);
		assert_int_equal(s41(UID_A, ops, 3), NFS4ERR_ACCESS);
		assert_false(dexists("data/nope"));
	}
}

static void test41_open_create_exclusive(void **state)
{
	struct t_fh pub, fh1, fh2;
	struct t_sattr sa = {0};
	nfs_argop4 ops[3];
	OPEN4resok *ok;
	struct t_rep r;
	struct stat st;

	(void)state;
	t_path_fh(0, "/a/data/pub", &pub);
	t_client41("w-open-excl");
	sa.has_mode = true;
	sa.mode = 0600;
	ops[0] = a_putfh(&pub);
	ops[1] = a_open_create(0, "ox", 0, OPEN4_SHARE_ACCESS_BOTH, "excl", EXCLUSIVE4_1, &sa,
			       "verf0001");
	ops[2] = a_plain(OP_GETFH);
	c41(&r, UID_A, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	ok = open_ok(&r, 2);
	/* the mode of cva_attrs, and the attributes that hold the verifier (the client sets
	 * them right with a SETATTR: RFC 8881 §18.16.3) */
	assert_true(bm_has(&ok->attrset, FATTR4_MODE));
	assert_true(bm_has(&ok->attrset, FATTR4_TIME_ACCESS_SET) ||
		    bm_has(&ok->attrset, FATTR4_TIME_ACCESS));
	assert_true(bm_has(&ok->attrset, FATTR4_TIME_MODIFY_SET) ||
		    bm_has(&ok->attrset, FATTR4_TIME_MODIFY));
	t_fh_of(&r, 3, &fh1);
	t_free(&r);
	st = dstat("data/pub/excl");
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, UID_A);

	/* the same verifier again (a retransmission): OK, the same file */
	c41(&r, UID_A, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	t_fh_of(&r, 3, &fh2);
	assert_int_equal(fh1.len, fh2.len);
	assert_memory_equal(fh1.data, fh2.data, fh1.len);
	t_free(&r);

	/* another verifier: someone else's file */
	ops[1] = a_open_create(0, "ox", 0, OPEN4_SHARE_ACCESS_BOTH, "excl", EXCLUSIVE4_1, &sa,
			       "verf0002");
	assert_int_equal(s41(UID_A, ops, 3), NFS4ERR_EXIST);
	/* a pre-existing file that is not ours */
	ops[1] = a_open_create(0, "ox", 0, OPEN4_SHARE_ACCESS_BOTH, "new_none", EXCLUSIVE4_1, NULL,
			       "verf0003");
	assert_int_equal(s41(UID_A, ops, 3), NFS4_OK);
	{
		struct t_fh data;

		t_path_fh(0, "/a/data", &data);
		ops[0] = a_putfh(&data);
		ops[1] = a_open_create(0, "ox", 0, OPEN4_SHARE_ACCESS_BOTH, "file10k", EXCLUSIVE4_1,
				       NULL, "verf0003");
		assert_int_equal(s41(0, ops, 3), NFS4ERR_EXIST);
	}
	/* time_modify_set is not in suppattr_exclcreat */
	sa.mhow = 1;
	ops[0] = a_putfh(&pub);
	ops[1] = a_open_create(0, "ox", 0, OPEN4_SHARE_ACCESS_BOTH, "excl2", EXCLUSIVE4_1, &sa,
			       "verf0004");
	assert_int_equal(s41(UID_A, ops, 3), NFS4ERR_INVAL);
	assert_false(dexists("data/pub/excl2"));
}

/* UNCHECKED4 with size 0 on an existing file truncates it (like O_TRUNC). */
static void test41_open_create_truncate(void **state)
{
	struct t_fh data;
	struct t_sattr sa = {0};
	nfs_argop4 ops[3];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_client41("w-open-trunc");
	sa.has_size = true;
	sa.size = 0;
	ops[0] = a_putfh(&data);
	ops[1] = a_open_create(0, "ot", 0, OPEN4_SHARE_ACCESS_BOTH, "file10k", UNCHECKED4, &sa,
			       NULL);
	ops[2] = a_plain(OP_GETFH);
	c41(&r, 0, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	assert_true(bm_has(&open_ok(&r, 2)->attrset, FATTR4_SIZE));
	t_free(&r);
	assert_int_equal(dstat("data/file10k").st_size, 0);
}

/* ======================================================================================== */
/* WRITE and COMMIT (RFC 8881 §18.32, §18.3)                                                 */
/* ======================================================================================== */

static void test41_write_commit(void **state)
{
	struct t_fh pub, fh, data, models, wfile;
	stateid4 sid, rsid;
	nfs_argop4 ops[4];
	char verf[3][NFS4_VERIFIER_SIZE];
	uint8_t buf[64];
	struct t_rep r;
	static const char *chunk[3] = {"unstable-", "datasync-", "filesync!"};
	static const stable_how4 how[3] = {UNSTABLE4, DATA_SYNC4, FILE_SYNC4};

	(void)state;
	t_path_fh(0, "/a/data/pub", &pub);
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/models/weights.bin", &models);
	t_client41("w-write");
	open41(UID_A, &pub, "w", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, NULL, NULL, &sid, &fh);

	for (int i = 0; i < 3; i++) {
		WRITE4resok *w;

		ops[0] = a_putfh(&fh);
		ops[1] = a_write(&sid, (uint64_t)i * 9, how[i], chunk[i], 9);
		c41(&r, UID_A, ops, 2);
		e41(&r, ops, NFS4_OK, 2);
		w = &t_res(&r, 2)->nfs_resop4_u.opwrite.WRITE4res_u.resok4;
		assert_int_equal(w->count, 9);
		assert_true(w->committed >= how[i]);
		memcpy(verf[i], w->writeverf, NFS4_VERIFIER_SIZE);
		t_free(&r);
	}
	assert_memory_equal(verf[0], verf[1], NFS4_VERIFIER_SIZE);
	assert_memory_equal(verf[0], verf[2], NFS4_VERIFIER_SIZE);
	assert_int_equal(dread("data/pub/w", buf, sizeof(buf)), 27);
	assert_memory_equal(buf, "unstable-datasync-filesync!", 27);

	/* COMMIT: the same verifier */
	ops[0] = a_putfh(&fh);
	ops[1] = a_commit(0, 0);
	c41(&r, UID_A, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	assert_memory_equal(t_res(&r, 2)->nfs_resop4_u.opcommit.COMMIT4res_u.resok4.writeverf,
			    verf[0], NFS4_VERIFIER_SIZE);
	t_free(&r);

	/* the write fd cache is keyed by handle: a write past the end through the current
	 * stateid, in the OPEN's compound */
	{
		stateid4 cur = {.seqid = 1};

		ops[0] = a_putfh(&pub);
		ops[1] = a_open_create(0, "owner-41b", 0, OPEN4_SHARE_ACCESS_BOTH, "w2", UNCHECKED4,
				       NULL, NULL);
		ops[2] = a_write(&cur, 100, FILE_SYNC4, "xyz", 3);
		ops[3] = a_commit(0, 0);
		c41(&r, UID_A, ops, 4);
		e41(&r, ops, NFS4_OK, 4);
		t_free(&r);
		assert_int_equal(dstat("data/pub/w2").st_size, 103);
	}

	/* offset 2^63: past what a file can hold */
	ops[0] = a_putfh(&fh);
	ops[1] = a_write(&sid, (uint64_t)1 << 63, UNSTABLE4, "x", 1);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_FBIG);
	/* below 2^63 but past the file system's limit (s_maxbytes): the kernel's EFBIG */
	ops[1] = a_write(&sid, (uint64_t)INT64_MAX - 1, UNSTABLE4, "x", 1);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_FBIG);
	/* a stable_how4 out of the enum */
	ops[1] = a_write(&sid, 0, (stable_how4)7, "x", 1);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_INVAL);

	/* a directory */
	ops[0] = a_putfh(&data);
	ops[1] = a_write(&t_anon, 0, UNSTABLE4, "x", 1);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ISDIR);
	ops[1] = a_commit(0, 0);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ISDIR);
	/* the read-only export */
	ops[0] = a_putfh(&models);
	ops[1] = a_write(&t_anon, 0, UNSTABLE4, "x", 1);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	assert_int_equal(dstat("models/weights.bin").st_size, 4096);

	/* an open for reading does not write (RFC 8881 §18.32.3: OPENMODE) */
	ops[0] = a_putfh(&data);
	ops[1] = a_open(0, "owner-41r", 0, OPEN4_SHARE_ACCESS_READ, "file10k");
	ops[2] = a_plain(OP_GETFH);
	c41(&r, 0, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	rsid = open_ok(&r, 2)->stateid;
	t_fh_of(&r, 3, &wfile);
	t_free(&r);
	ops[0] = a_putfh(&wfile);
	ops[1] = a_write(&rsid, 0, UNSTABLE4, "x", 1);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_OPENMODE);

	/* an anonymous WRITE of a root 0644 file by uid 1000: the mode says no */
	ops[1] = a_write(&t_anon, 0, FILE_SYNC4, "x", 1);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_ACCESS);
	/* by root: yes */
	ops[1] = a_write(&t_anon, 0, FILE_SYNC4, "Z", 1);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_int_equal(dread("data/file10k", buf, 1), 1);
	assert_int_equal(buf[0], 'Z');
}

/* COMMIT on the read-only export: nothing was written, nothing to do. */
static void test41_commit_ro(void **state)
{
	struct t_fh models;
	nfs_argop4 ops[2];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/models/weights.bin", &models);
	t_client41("w-commit-ro");
	ops[0] = a_putfh(&models);
	ops[1] = a_commit(0, 0);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	assert_memory_equal(t_res(&r, 2)->nfs_resop4_u.opcommit.COMMIT4res_u.resok4.writeverf,
			    W.srv->write_verf, NFS4_VERIFIER_SIZE);
	t_free(&r);
	/* offset + count past 2^64 */
	ops[1] = a_commit(UINT64_MAX - 1, 10);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_INVAL);
}

/* ======================================================================================== */
/* SETATTR (RFC 8881 §18.30)                                                                 */
/* ======================================================================================== */

static void test41_setattr(void **state)
{
	struct t_fh file, models, dir, his;
	struct t_sattr sa;
	nfs_argop4 ops[2];
	SETATTR4res *res;
	uint8_t buf[T_FILE_SIZE];
	struct t_rep r;
	struct stat st;
	stateid4 sid, bad;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	t_path_fh(0, "/a/data/sub", &dir);
	t_path_fh(0, "/a/data/tmp/his", &his);
	t_path_fh(0, "/models/weights.bin", &models);
	t_client41("w-setattr");

	/* mode */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0604;
	ops[0] = a_putfh(&file);
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	res = &t_res(&r, 2)->nfs_resop4_u.opsetattr;
	assert_true(bm_has(&res->attrsset, FATTR4_MODE));
	assert_false(bm_has(&res->attrsset, FATTR4_SIZE));
	t_free(&r);
	assert_int_equal(dstat("data/file10k").st_mode & 07777, 0604);

	/* size down, then up: the first bytes stay, the new ones read as zeros */
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	sa.size = 100;
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	assert_true(bm_has(&t_res(&r, 2)->nfs_resop4_u.opsetattr.attrsset, FATTR4_SIZE));
	t_free(&r);
	assert_int_equal(dstat("data/file10k").st_size, 100);
	sa.size = 5000;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_int_equal(dread("data/file10k", buf, sizeof(buf)), 5000);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(buf[i], i < 100 ? t_byte(i) : 0);

	/* owner and group, numeric */
	memset(&sa, 0, sizeof(sa));
	sa.owner = "1000";
	sa.group = "1000";
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	res = &t_res(&r, 2)->nfs_resop4_u.opsetattr;
	assert_true(bm_has(&res->attrsset, FATTR4_OWNER));
	assert_true(bm_has(&res->attrsset, FATTR4_OWNER_GROUP));
	t_free(&r);
	st = dstat("data/file10k");
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);

	/* setuid mode with a chown in the same call: the mode wins over chown's clearing */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 04755;
	sa.owner = "0";
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	st = dstat("data/file10k");
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 04755);

	/* time_modify_set (client time) with a size change: the given time wins; and
	 * time_access_set to the server's time */
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	sa.size = 50;
	sa.mhow = 2;
	sa.msec = 1000000000;
	sa.mnsec = 123456789;
	sa.ahow = 1;
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	res = &t_res(&r, 2)->nfs_resop4_u.opsetattr;
	assert_true(bm_has(&res->attrsset, FATTR4_SIZE));
	assert_true(bm_has(&res->attrsset, FATTR4_TIME_MODIFY_SET));
	assert_true(bm_has(&res->attrsset, FATTR4_TIME_ACCESS_SET));
	assert_false(bm_has(&res->attrsset, FATTR4_MODE));
	t_free(&r);
	st = dstat("data/file10k");
	assert_int_equal(st.st_size, 50);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_true(st.st_atim.tv_sec >= time(NULL) - 10 && st.st_atim.tv_sec <= time(NULL) + 1);
	/* a client time before 1970 */
	memset(&sa, 0, sizeof(sa));
	sa.ahow = 2;
	sa.asec = -100;
	sa.ansec = 5;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	st = dstat("data/file10k");
	assert_int_equal(st.st_atim.tv_sec, -100);
	assert_int_equal(st.st_atim.tv_nsec, 5);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000); /* untouched */

	/* a read-only attribute (type) */
	memset(&sa, 0, sizeof(sa));
	sa.has_type = true;
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4ERR_INVAL, 2);
	assert_int_equal(t_res(&r, 2)->nfs_resop4_u.opsetattr.attrsset.bitmap4_len == 0 ||
				 t_res(&r, 2)->nfs_resop4_u.opsetattr.attrsset.bitmap4_val[0] == 0,
			 1);
	t_free(&r);
	/* nseconds >= 10^9 */
	memset(&sa, 0, sizeof(sa));
	sa.mhow = 2;
	sa.mnsec = 1000000000;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_INVAL);
	/* an owner that is not a number */
	memset(&sa, 0, sizeof(sa));
	sa.owner = "nobody@nowhere";
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADOWNER);

	/* size with an open stateid; then with one that names nothing */
	{
		struct t_fh data;

		t_path_fh(0, "/a/data", &data);
		open41(0, &data, "file10k", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, NULL, NULL, &sid,
		       NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	sa.size = 10;
	ops[0] = a_putfh(&file);
	ops[1] = a_setattr(&sid, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/file10k").st_size, 10);
	bad = sid;
	bad.other[NFS4_OTHER_SIZE - 1] ^= 0x55;
	sa.size = 5;
	ops[1] = a_setattr(&bad, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BAD_STATEID);
	assert_int_equal(dstat("data/file10k").st_size, 10);
	/* ... which does not matter without a size */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0644;
	ops[1] = a_setattr(&bad, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);

	/* the read-only export */
	ops[0] = a_putfh(&models);
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	assert_int_equal(dstat("models/weights.bin").st_mode & 07777, 0644);
	sa.mode = 0600;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	assert_int_equal(dstat("models/weights.bin").st_mode & 07777, 0644);

	/* size of a directory */
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	ops[0] = a_putfh(&dir);
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ISDIR);

	/* another user's file: chmod is EPERM (not the owner), truncating needs write
	 * permission */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0666;
	ops[0] = a_putfh(&his);
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_PERM);
	assert_int_equal(dstat("data/tmp/his").st_mode & 07777, 0644);
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(dstat("data/tmp/his").st_size, 3);
	/* the owner may do both */
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/tmp/his").st_size, 0);
	/* and may not give the file away (chown to another uid: EPERM) */
	memset(&sa, 0, sizeof(sa));
	sa.owner = "1001";
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_PERM);
	assert_int_equal(dstat("data/tmp/his").st_uid, UID_A);
}

/* ======================================================================================== */
/* CREATE (RFC 8881 §18.4)                                                                   */
/* ======================================================================================== */

static void test41_create(void **state)
{
	struct t_fh data, models, pub, newfh, d1;
	struct t_sattr sa;
	nfs_argop4 ops[4];
	CREATE4resok *ok;
	char target[64], lpath[512];
	struct t_rep r;
	struct stat st;
	ssize_t n;

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/a/data/pub", &pub);
	t_path_fh(0, "/models", &models);
	t_client41("w-create");
	usleep(20000);

	/* a directory, 0755; the current FH is the new directory */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0755;
	ops[0] = a_putfh(&data);
	ops[1] = a_create(NF4DIR, "d1", &sa, NULL);
	ops[2] = a_plain(OP_GETFH);
	ops[3] = a_getattr();
	c41(&r, 0, ops, 4);
	e41(&r, ops, NFS4_OK, 4);
	ok = &t_res(&r, 2)->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	assert_true(bm_has(&ok->attrset, FATTR4_MODE));
	assert_true(ok->cinfo.before != ok->cinfo.after);
	t_fh_of(&r, 3, &newfh);
	{
		struct t_attrs at;

		t_getattr_of(&r, 4, &at);
		assert_int_equal(at.type, NF4DIR);
		assert_int_equal(at.fileid, dstat("data/d1").st_ino);
	}
	t_free(&r);
	st = dstat("data/d1");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	t_path_fh(0, "/a/data/d1", &d1);
	assert_int_equal(d1.len, newfh.len);
	assert_memory_equal(d1.data, newfh.data, d1.len);
	/* 0777: no umask in between */
	sa.mode = 0777;
	ops[1] = a_create(NF4DIR, "d777", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/d777").st_mode & 07777, 0777);
	/* the same name again */
	assert_int_equal(s41(0, ops, 2), NFS4ERR_EXIST);

	/* a symbolic link: stored as given */
	ops[1] = a_create(NF4LNK, "l1", NULL, "../some/where");
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	snprintf(lpath, sizeof(lpath), "%s/l1", W.data);
	n = readlink(lpath, target, sizeof(target) - 1);
	assert_int_equal(n, 13);
	target[n] = 0;
	assert_string_equal(target, "../some/where");
	/* READLINK of the new current FH */
	ops[1] = a_create(NF4LNK, "l2", NULL, "file10k");
	ops[2] = a_plain(OP_READLINK);
	c41(&r, 0, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	assert_int_equal(t_res(&r, 3)->nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link.linktext4_len, 7);
	t_free(&r);

	/* a FIFO, 0640 */
	sa.mode = 0640;
	ops[1] = a_create(NF4FIFO, "f1", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	st = dstat("data/f1");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);

	/* regular files are OPEN's */
	ops[1] = a_create(NF4REG, "r1", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADTYPE);
	ops[1] = a_create(NF4DIR, ".", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_create(NF4DIR, "..", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_create(NF4DIR, "a/b", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADNAME);
	assert_false(dexists("data/r1"));
	/* a size is not for CREATE */
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	ops[1] = a_create(NF4DIR, "dsize", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_INVAL);
	assert_false(dexists("data/dsize"));
	/* the read-only export */
	ops[0] = a_putfh(&models);
	ops[1] = a_create(NF4DIR, "d1", NULL, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	assert_false(dexists("models/d1"));
	/* CREATE with a file as the current FH */
	{
		struct t_fh file;

		t_path_fh(0, "/a/data/file10k", &file);
		ops[0] = a_putfh(&file);
		assert_int_equal(s41(0, ops, 2), NFS4ERR_NOTDIR);
	}

	/* as uid 1000: owned by 1000:1000, with owner given = self and times */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0700;
	sa.mhow = 2;
	sa.msec = 1234567890;
	ops[0] = a_putfh(&pub);
	ops[1] = a_create(NF4DIR, "ud", &sa, NULL);
	c41(&r, UID_A, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 2)->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	assert_true(bm_has(&ok->attrset, FATTR4_MODE));
	assert_true(bm_has(&ok->attrset, FATTR4_TIME_MODIFY_SET));
	t_free(&r);
	st = dstat("data/pub/ud");
	assert_int_equal(st.st_uid, UID_A);
	assert_int_equal(st.st_gid, UID_A);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	/* uid 1000 in root's 0755 directory */
	ops[0] = a_putfh(&data);
	ops[1] = a_create(NF4DIR, "ud2", &sa, NULL);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_ACCESS);
	assert_false(dexists("data/ud2"));
}

/* ======================================================================================== */
/* REMOVE, RENAME, LINK (RFC 8881 §18.25, §18.26, §18.9)                                    */
/* ======================================================================================== */

static void test41_remove(void **state)
{
	struct t_fh data, victim, models;
	nfs_argop4 ops[3];
	REMOVE4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/a/data/victim", &victim);
	t_path_fh(0, "/models", &models);
	t_client41("w-remove");
	usleep(20000);

	ops[0] = a_putfh(&data);
	ops[1] = a_remove("victim");
	c41(&r, 0, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 2)->nfs_resop4_u.opremove.REMOVE4res_u.resok4;
	assert_true(ok->cinfo.before != ok->cinfo.after);
	t_free(&r);
	assert_false(dexists("data/victim"));
	/* its handle is stale now */
	ops[0] = a_putfh(&victim);
	ops[1] = a_getattr();
	assert_int_equal(s41(0, ops, 2), NFS4ERR_STALE);

	ops[0] = a_putfh(&data);
	ops[1] = a_remove("emptyd");
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_false(dexists("data/emptyd"));
	ops[1] = a_remove("sub");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_NOTEMPTY);
	assert_true(dexists("data/sub/s1"));
	ops[1] = a_remove("nosuch");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_NOENT);
	/* a symbolic link goes, not what it names */
	ops[1] = a_remove("link");
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_false(dexists("data/link"));
	assert_true(dexists("data/file10k"));
	ops[1] = a_remove("fifo");
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	ops[1] = a_remove("..");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_BADNAME);
	ops[0] = a_putfh(&models);
	ops[1] = a_remove("weights.bin");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	assert_true(dexists("models/weights.bin"));
	/* in the pseudo fs */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_remove("a");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_ROFS);
	/* uid 1000 in root's directory */
	ops[0] = a_putfh(&data);
	ops[1] = a_remove("secret");
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_ACCESS);
	assert_true(dexists("data/secret"));
}

static void test41_rename(void **state)
{
	struct t_fh data, sub, sq, models;
	nfs_argop4 ops[5];
	RENAME4resok *ok;
	struct t_rep r;
	struct stat old;
	uint8_t buf[16];

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/a/data/sub", &sub);
	t_path_fh(0, "/sq", &sq);
	t_path_fh(0, "/models", &models);
	t_client41("w-rename");
	usleep(20000);

	/* within a directory */
	ops[0] = a_putfh(&data);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_rename("victim", "victim2");
	c41(&r, 0, ops, 3);
	e41(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 3)->nfs_resop4_u.oprename.RENAME4res_u.resok4;
	assert_true(ok->source_cinfo.before != ok->source_cinfo.after);
	assert_true(ok->target_cinfo.before != ok->target_cinfo.after);
	t_free(&r);
	assert_false(dexists("data/victim"));
	assert_int_equal(dstat("data/victim2").st_size, 5);

	/* across directories: saved FH the source, current FH the target */
	ops[0] = a_putfh(&data);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&sub);
	ops[3] = a_rename("victim2", "moved");
	assert_int_equal(s41(0, ops, 4), NFS4_OK);
	assert_false(dexists("data/victim2"));
	assert_int_equal(dstat("data/sub/moved").st_size, 5);

	/* over an existing file: the old target is gone */
	old = dstat("data/secret");
	ops[0] = a_putfh(&data);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_rename("file10k", "secret");
	assert_int_equal(s41(0, ops, 3), NFS4_OK);
	assert_false(dexists("data/file10k"));
	assert_int_equal(dstat("data/secret").st_size, T_FILE_SIZE);
	assert_true(dstat("data/secret").st_ino != old.st_ino);
	assert_int_equal(dread("data/secret", buf, 4), 4);
	assert_int_equal(buf[3], t_byte(3));

	/* a missing source; a directory over a non-empty one; bad names */
	ops[2] = a_rename("nosuch", "x");
	assert_int_equal(s41(0, ops, 3), NFS4ERR_NOENT);
	ops[2] = a_rename("emptyd", "sub");
	{
		nfsstat4 st = s41(0, ops, 3);

		/* RFC 8881 §18.26.3: EXIST or NOTEMPTY (rename(2) says ENOTEMPTY) */
		assert_true(st == NFS4ERR_EXIST || st == NFS4ERR_NOTEMPTY);
	}
	ops[2] = a_rename("secret", ".");
	assert_int_equal(s41(0, ops, 3), NFS4ERR_BADNAME);
	/* a target of the other type: EXIST (RFC 8881 §18.26.3, knfsd's nfsd4_rename maps
	 * rename(2)'s EISDIR and ENOTDIR so) */
	ops[2] = a_rename("secret", "emptyd");
	assert_int_equal(s41(0, ops, 3), NFS4ERR_EXIST);
	ops[2] = a_rename("emptyd", "secret");
	assert_int_equal(s41(0, ops, 3), NFS4ERR_EXIST);
	assert_true(S_ISDIR(dstat("data/emptyd").st_mode));
	assert_true(S_ISREG(dstat("data/secret").st_mode));
	/* a directory into itself */
	ops[2] = a_rename("sub", "sub");
	assert_int_equal(s41(0, ops, 3), NFS4_OK);
	ops[0] = a_putfh(&data);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&sub);
	ops[3] = a_rename("sub", "inner");
	assert_int_equal(s41(0, ops, 4), NFS4ERR_INVAL);

	/* across exports */
	ops[0] = a_putfh(&data);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&sq);
	ops[3] = a_rename("secret", "secret");
	assert_int_equal(s41(0, ops, 4), NFS4ERR_XDEV);
	assert_true(dexists("data/secret"));
	ops[2] = a_putfh(&models);
	assert_int_equal(s41(0, ops, 4), NFS4ERR_XDEV);
	/* within the read-only export */
	ops[0] = a_putfh(&models);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_rename("weights.bin", "w2");
	assert_int_equal(s41(0, ops, 3), NFS4ERR_ROFS);
	/* without a saved FH */
	ops[0] = a_putfh(&data);
	ops[1] = a_rename("secret", "s3");
	assert_int_equal(s41(0, ops, 2), NFS4ERR_NOFILEHANDLE);
}

static void test41_link(void **state)
{
	struct t_fh data, file, sub, sq, pub, mine;
	nfs_argop4 ops[5];
	LINK4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/a/data/file10k", &file);
	t_path_fh(0, "/a/data/sub", &sub);
	t_path_fh(0, "/a/data/pub", &pub);
	t_path_fh(0, "/sq", &sq);
	t_client41("w-link");
	usleep(20000);

	/* saved FH the object, current FH the directory */
	ops[0] = a_putfh(&file);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&sub);
	ops[3] = a_link("hard");
	c41(&r, 0, ops, 4);
	e41(&r, ops, NFS4_OK, 4);
	ok = &t_res(&r, 4)->nfs_resop4_u.oplink.LINK4res_u.resok4;
	assert_true(ok->cinfo.before != ok->cinfo.after);
	t_free(&r);
	assert_int_equal(dstat("data/file10k").st_nlink, 2);
	assert_int_equal(dstat("data/sub/hard").st_ino, dstat("data/file10k").st_ino);
	/* the name exists now */
	assert_int_equal(s41(0, ops, 4), NFS4ERR_EXIST);
	/* a symbolic link is linked itself */
	{
		struct t_fh lnk;

		t_path_fh(0, "/a/data/link", &lnk);
		ops[0] = a_putfh(&lnk);
		ops[3] = a_link("hardlink");
		assert_int_equal(s41(0, ops, 4), NFS4_OK);
		assert_true(S_ISLNK(dstat("data/sub/hardlink").st_mode));
	}
	/* a directory */
	ops[0] = a_putfh(&sub);
	ops[2] = a_putfh(&data);
	ops[3] = a_link("sub2");
	assert_int_equal(s41(0, ops, 4), NFS4ERR_ISDIR);
	/* across exports */
	ops[0] = a_putfh(&file);
	ops[2] = a_putfh(&sq);
	ops[3] = a_link("x");
	assert_int_equal(s41(0, ops, 4), NFS4ERR_XDEV);
	assert_false(dexists("sq/x"));
	/* the current FH a file */
	ops[2] = a_putfh(&file);
	assert_int_equal(s41(0, ops, 4), NFS4ERR_NOTDIR);

	/* as uid 1000, a file of its own, in a directory it may write */
	open41(UID_A, &pub, "mine", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, NULL, NULL, NULL, &mine);
	ops[0] = a_putfh(&mine);
	ops[2] = a_putfh(&pub);
	ops[3] = a_link("mine2");
	assert_int_equal(s41(UID_A, ops, 4), NFS4_OK);
	assert_int_equal(dstat("data/pub/mine").st_nlink, 2);
	/* into root's directory: ACCESS */
	ops[2] = a_putfh(&data);
	assert_int_equal(s41(UID_A, ops, 4), NFS4ERR_ACCESS);
}

/* ======================================================================================== */
/* Identities (AUTH_SYS, squash)                                                              */
/* ======================================================================================== */

static void test41_identity(void **state)
{
	struct t_fh tmp, priv, sq, all;
	struct t_sattr sa;
	nfs_argop4 ops[3];
	struct stat st;

	(void)state;
	t_path_fh(0, "/a/data/tmp", &tmp);
	t_path_fh(0, "/a/data/tmp/priv", &priv);
	t_path_fh(0, "/sq", &sq);
	t_path_fh(0, "/all", &all);
	t_client41("w-ident");

	/* the sticky bit: uid 1001 may not remove 1000's file. The kernel says EPERM, which
	 * knfsd passes on as NFS4ERR_PERM (nfsd_unlink: nfserrno(-EPERM)) */
	ops[0] = a_putfh(&tmp);
	ops[1] = a_remove("his");
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_PERM);
	assert_true(dexists("data/tmp/his"));
	/* nor rename it */
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_rename("his", "stolen");
	assert_int_equal(s41(UID_B, ops, 3), NFS4ERR_PERM);
	assert_true(dexists("data/tmp/his"));
	/* uid 1001 may create there, and remove what it made */
	open41(UID_B, &tmp, "b1", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, NULL, NULL, NULL, NULL);
	assert_int_equal(dstat("data/tmp/b1").st_uid, UID_B);
	ops[1] = a_remove("b1");
	assert_int_equal(s41(UID_B, ops, 2), NFS4_OK);
	/* the owner may remove its own */
	ops[1] = a_remove("his");
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	assert_false(dexists("data/tmp/his"));

	/* OPEN for reading of 1000's 0600 file by 1001 */
	ops[0] = a_putfh(&tmp);
	ops[1] = a_open(0, "owner-b", 0, OPEN4_SHARE_ACCESS_READ, "priv");
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_ACCESS);
	ops[1] = a_open(0, "owner-b", 0, OPEN4_SHARE_ACCESS_WRITE, "priv");
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	/* READ with the anonymous stateid: the mode decides too */
	ops[0] = a_putfh(&priv);
	ops[1] = a_read(&t_anon, 0, 3);
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);

	/* root_squash: root creates as 65534, a user stays itself */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0644;
	open41(0, &sq, "by-root", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, &sa, NULL, NULL, NULL);
	st = dstat("sq/by-root");
	assert_int_equal(st.st_uid, ANON);
	assert_int_equal(st.st_gid, ANON);
	open41(UID_A, &sq, "by-user", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, &sa, NULL, NULL, NULL);
	st = dstat("sq/by-user");
	assert_int_equal(st.st_uid, UID_A);
	assert_int_equal(st.st_gid, UID_A);
	ops[0] = a_putfh(&sq);
	ops[1] = a_create(NF4DIR, "dir-root", &sa, NULL);
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	assert_int_equal(dstat("sq/dir-root").st_uid, ANON);
	/* squashed root cannot chown */
	{
		struct t_fh f;

		t_path_fh(0, "/sq/by-user", &f);
		memset(&sa, 0, sizeof(sa));
		sa.owner = "0";
		ops[0] = a_putfh(&f);
		ops[1] = a_setattr(&t_anon, &sa);
		assert_int_equal(s41(0, ops, 2), NFS4ERR_PERM);
		assert_int_equal(dstat("sq/by-user").st_uid, UID_A);
	}

	/* all_squash: everyone is 65534 */
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0644;
	open41(UID_A, &all, "by-user", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, &sa, NULL, NULL, NULL);
	st = dstat("all/by-user");
	assert_int_equal(st.st_uid, ANON);
	assert_int_equal(st.st_gid, ANON);
	open41(0, &all, "by-root", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, &sa, NULL, NULL, NULL);
	assert_int_equal(dstat("all/by-root").st_uid, ANON);
	ops[0] = a_putfh(&all);
	ops[1] = a_create(NF4LNK, "lnk", NULL, "by-user");
	assert_int_equal(s41(UID_B, ops, 2), NFS4_OK);
	assert_int_equal(dstat("all/lnk").st_uid, ANON);
	/* EXCLUSIVE4_1 retransmission under all_squash: the file is 65534's, and so is the
	 * caller */
	open41(UID_A, &all, "excl", OPEN4_SHARE_ACCESS_BOTH, EXCLUSIVE4_1, NULL, "verf0001", NULL,
	       NULL);
	open41(UID_B, &all, "excl", OPEN4_SHARE_ACCESS_BOTH, EXCLUSIVE4_1, NULL, "verf0001", NULL,
	       NULL);
}

/* 4.1 with a credential of one's choosing (t_call_cred): the compound status. */
static nfsstat4 s41_cred(uint32_t flavor, uint32_t uid, uint32_t gid, uint32_t ngids,
			 const uint32_t *gids, const nfs_argop4 *ops, u_int n)
{
	nfs_argop4 all[16];
	struct t_rep r;
	nfsstat4 st;

	assert_true(n < 16);
	all[0] = a_sequence();
	memcpy(all + 1, ops, n * sizeof(*ops));
	t_call_cred(&r, 1, flavor, uid, gid, ngids, gids, all, n + 1);
	assert_int_equal(t_op_status(&r, 0), NFS4_OK);
	st = r.res.status;
	t_free(&r);
	return st;
}

/* Supplementary groups and AUTH_NONE. */
static void test41_groups(void **state)
{
	static const uint32_t g2000[] = {2000}, g0[] = {0};
	struct t_fh data, gdir, sq;
	nfs_argop4 ops[3];
	char dir[256];

	(void)state;
	t_write_file(W.data, "grp", 0060, 3);
	w_chown("data/grp", 0, 2000);
	t_mkdir(W.data, "gdir", dir, sizeof(dir));
	w_chown("data/gdir", 0, 2000);
	w_chmod("data/gdir", 02070);
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/a/data/gdir", &gdir);
	t_path_fh(0, "/sq", &sq);
	t_client41("w-groups");

	/* reading a 0060 file of group 2000 */
	ops[0] = a_putfh(&data);
	ops[1] = a_open(0, "owner-g", 0, OPEN4_SHARE_ACCESS_READ, "grp");
	assert_int_equal(s41_cred(1, UID_A, UID_A, 0, NULL, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(s41_cred(1, UID_A, UID_A, 1, g2000, ops, 2), NFS4_OK);
	assert_int_equal(s41_cred(1, UID_A, 2000, 0, NULL, ops, 2), NFS4_OK);
	/* creating in a 02070 directory of group 2000: by the group, and the new file
	 * inherits the group (setgid) */
	ops[0] = a_putfh(&gdir);
	ops[1] = a_create(NF4DIR, "x", NULL, NULL);
	assert_int_equal(s41_cred(1, UID_A, UID_A, 0, NULL, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(s41_cred(1, UID_A, UID_A, 1, g2000, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/gdir/x").st_uid, UID_A);
	assert_int_equal(dstat("data/gdir/x").st_gid, 2000);
	ops[1] = a_open_create(0, "owner-g", 0, OPEN4_SHARE_ACCESS_BOTH, "f", UNCHECKED4, NULL,
			       NULL);
	assert_int_equal(s41_cred(1, UID_A, UID_A, 1, g2000, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/gdir/f").st_gid, 2000);

	/* AUTH_NONE is the anonymous user, also on an export without squash */
	{
		struct t_fh pub;

		t_path_fh(0, "/a/data/pub", &pub);
		ops[0] = a_putfh(&pub);
		ops[1] = a_create(NF4DIR, "none", NULL, NULL);
		assert_int_equal(s41_cred(0, 0, 0, 0, NULL, ops, 2), NFS4_OK);
		assert_int_equal(dstat("data/pub/none").st_uid, ANON);
		assert_int_equal(dstat("data/pub/none").st_gid, ANON);
	}
	/* root_squash maps gid 0 among the groups too: a 0060 root:0 file stays closed */
	t_write_file(W.root, "sq/g0", 0060, 3);
	ops[0] = a_putfh(&sq);
	ops[1] = a_open(0, "owner-g", 0, OPEN4_SHARE_ACCESS_READ, "g0");
	assert_int_equal(s41_cred(1, UID_A, UID_A, 1, g0, ops, 2), NFS4ERR_ACCESS);
	ops[0] = a_putfh(&data);
	ops[1] = a_open(0, "owner-g", 0, OPEN4_SHARE_ACCESS_READ, "grp");
	assert_int_equal(s41_cred(1, UID_A, UID_A, 1, g0, ops, 2), NFS4ERR_ACCESS);
}

/* OPEN UNCHECKED4 with size 0 of an existing file truncates it only once the OPEN is allowed:
 * not when the share reservations or the permissions refuse it (knfsd checks both before
 * nfsd4_truncate). */
static void test41_open_truncate_share(void **state)
{
	struct t_fh pub;
	struct t_sattr sa = {0};
	nfs_argop4 ops[3];

	(void)state;
	t_write_file(W.data, "pub/shared", 0666, 5);
	t_path_fh(0, "/a/data/pub", &pub);
	t_client41("w-trunc-checks");
	/* owner 1 holds the file with DENY_WRITE */
	ops[0] = a_putfh(&pub);
	ops[1] = a_open(0, "owner-1", 0, OPEN4_SHARE_ACCESS_READ, "shared");
	ops[1].nfs_argop4_u.opopen.share_deny = OPEN4_SHARE_DENY_WRITE;
	assert_int_equal(s41(0, ops, 2), NFS4_OK);
	/* owner 2's truncating open is denied, and the data stays */
	sa.has_size = true;
	ops[1] = a_open_create(0, "owner-2", 0, OPEN4_SHARE_ACCESS_BOTH, "shared", UNCHECKED4, &sa,
			       NULL);
	assert_int_equal(s41(0, ops, 2), NFS4ERR_SHARE_DENIED);
	assert_int_equal(dstat("data/pub/shared").st_size, 5);
}

static void test41_open_truncate_perm(void **state)
{
	struct t_fh pub;
	struct t_sattr sa = {0};
	nfs_argop4 ops[3];

	(void)state;
	t_write_file(W.data, "pub/ro444", 0444, 5);
	w_chown("data/pub/ro444", UID_A, UID_A);
	t_path_fh(0, "/a/data/pub", &pub);
	t_client41("w-trunc-perm");
	sa.has_size = true;
	ops[0] = a_putfh(&pub);
	/* the owner of a 0444 file may not open it for writing, so not truncate it either */
	ops[1] = a_open_create(0, "owner-3", 0, OPEN4_SHARE_ACCESS_BOTH, "ro444", UNCHECKED4, &sa,
			       NULL);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(dstat("data/pub/ro444").st_size, 5);
	/* a user who may write but not read, asking for both */
	t_write_file(W.data, "pub/wonly", 0622, 5);
	ops[1] = a_open_create(0, "owner-4", 0, OPEN4_SHARE_ACCESS_BOTH, "wonly", UNCHECKED4, &sa,
			       NULL);
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_ACCESS);
	assert_int_equal(dstat("data/pub/wonly").st_size, 5);
}

/* Times: anyone who may write sets both to the server's time (touch); only the owner sets a
 * time of its choosing. SETATTR size with a stateid open for reading only: OPENMODE. */
static void test41_setattr_more(void **state)
{
	struct t_fh pub, shared;
	struct t_sattr sa;
	nfs_argop4 ops[3];
	stateid4 rsid;
	struct t_rep r;

	(void)state;
	t_write_file(W.data, "pub/shared", 0666, 5);
	w_chown("data/pub/shared", UID_A, UID_A);
	t_path_fh(0, "/a/data/pub", &pub);
	t_path_fh(0, "/a/data/pub/shared", &shared);
	t_client41("w-setattr-more");
	memset(&sa, 0, sizeof(sa));
	sa.ahow = sa.mhow = 1;
	ops[0] = a_putfh(&shared);
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(UID_B, ops, 2), NFS4_OK);
	memset(&sa, 0, sizeof(sa));
	sa.mhow = 2;
	sa.msec = 12345;
	ops[1] = a_setattr(&t_anon, &sa);
	assert_int_equal(s41(UID_B, ops, 2), NFS4ERR_PERM);
	assert_true(dstat("data/pub/shared").st_mtim.tv_sec != 12345);
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/pub/shared").st_mtim.tv_sec, 12345);

	ops[0] = a_putfh(&pub);
	ops[1] = a_open(0, "owner-r", 0, OPEN4_SHARE_ACCESS_READ, "shared");
	c41(&r, UID_A, ops, 2);
	e41(&r, ops, NFS4_OK, 2);
	rsid = open_ok(&r, 2)->stateid;
	t_free(&r);
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	ops[0] = a_putfh(&shared);
	ops[1] = a_setattr(&rsid, &sa);
	assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_OPENMODE);
	assert_int_equal(dstat("data/pub/shared").st_size, 5);
	/* a failure half way: attrsset says what was done (RFC 8881 §18.30.4). The size goes
	 * first, then the chown to root fails (EPERM) */
	memset(&sa, 0, sizeof(sa));
	sa.has_size = true;
	sa.size = 2;
	sa.owner = "0";
	ops[0] = a_putfh(&shared);
	ops[1] = a_setattr(&t_anon, &sa);
	c41(&r, UID_A, ops, 2);
	e41(&r, ops, NFS4ERR_PERM, 2);
	assert_true(bm_has(&t_res(&r, 2)->nfs_resop4_u.opsetattr.attrsset, FATTR4_SIZE));
	assert_false(bm_has(&t_res(&r, 2)->nfs_resop4_u.opsetattr.attrsset, FATTR4_OWNER));
	t_free(&r);
	assert_int_equal(dstat("data/pub/shared").st_size, 2);
	assert_int_equal(dstat("data/pub/shared").st_uid, UID_A);
	/* a symbolic link's times (CREATE's attributes are applied to the link itself) */
	memset(&sa, 0, sizeof(sa));
	sa.mhow = 2;
	sa.msec = 777777;
	ops[0] = a_putfh(&pub);
	ops[1] = a_create(NF4LNK, "sl", &sa, "shared");
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/pub/sl").st_mtim.tv_sec, 777777);
	assert_int_equal(dstat("data/pub/sl").st_uid, UID_A);
	assert_true(dstat("data/pub/shared").st_mtim.tv_sec != 777777);
	/* a WRITE after CLOSE with the closed stateid */
	{
		stateid4 wsid;
		struct t_fh f;

		open41(UID_A, &pub, "w", OPEN4_SHARE_ACCESS_BOTH, UNCHECKED4, NULL, NULL, &wsid, &f);
		ops[0] = a_putfh(&f);
		ops[1] = a_write(&wsid, 0, UNSTABLE4, "ab", 2);
		ops[2] = a_close(0, &wsid);
		assert_int_equal(s41(UID_A, ops, 3), NFS4_OK);
		assert_int_equal(s41(UID_A, ops, 2), NFS4ERR_BAD_STATEID);
	}
}

/* fs.protected_hardlinks: a user may not link a file it neither owns nor may read and write. */
static void test41_link_protected(void **state)
{
	struct t_fh secret, pub;
	nfs_argop4 ops[4];
	FILE *f = fopen("/proc/sys/fs/protected_hardlinks", "r");
	int on = 0;

	(void)state;
	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	if (!on)
		skip();
	t_path_fh(0, "/a/data/secret", &secret);
	t_path_fh(0, "/a/data/pub", &pub);
	t_client41("w-link-prot");
	ops[0] = a_putfh(&secret);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&pub);
	ops[3] = a_link("stolen");
	assert_int_equal(s41(UID_A, ops, 4), NFS4ERR_PERM);
	assert_false(dexists("data/pub/stolen"));
	assert_int_equal(s41(0, ops, 4), NFS4_OK);
}

/* A POSIX access ACL on rel: owner rw, named user uid with uperm, group r-- (grp), mask mask,
 * other oth. Returns false when the file system has no ACLs. */
static bool set_acl(const char *rel, uint32_t uid, uint16_t uperm, uint16_t grp, uint16_t mask,
		    uint16_t oth)
{
	struct {
		uint32_t version;
		struct __attribute__((packed)) {
			uint16_t tag, perm;
			uint32_t id;
		} e[5];
	} acl = {2,
		 {{0x01, 6, UINT32_MAX},
		  {0x02, uperm, uid},
		  {0x04, grp, UINT32_MAX},
		  {0x10, mask, UINT32_MAX},
		  {0x20, oth, UINT32_MAX}}};
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", W.root, rel);
	return setxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0) == 0;
}

/* OPEN's permission check is the kernel's (knfsd: inode_permission), POSIX ACLs included: a
 * named-user entry grants or denies what the mode bits alone would not. */
static void test41_acl(void **state)
{
	struct t_fh data;
	nfs_argop4 ops[2];

	(void)state;
	t_write_file(W.data, "acl-grant", 0600, 3);
	t_write_file(W.data, "acl-deny", 0644, 3);
	if (!set_acl("data/acl-grant", UID_A, 6, 0, 6, 0) ||
	    !set_acl("data/acl-deny", UID_A, 0, 4, 4, 4))
		skip();
	/* the kernel's own verdicts, as uid 1000 */
	assert_int_equal(dstat("data/acl-grant").st_mode & 0777, 0660);
	t_path_fh(0, "/a/data", &data);
	t_client41("w-acl");
	ops[0] = a_putfh(&data);
	ops[1] = a_open(0, "owner-acl", 0, OPEN4_SHARE_ACCESS_READ, "acl-grant");
	assert_int_equal(s41(UID_A, ops, 2), NFS4_OK);
	/* denied: no OPEN, hence no READ of the data through the server's fd */
	{
		stateid4 cur = {.seqid = 1};
		nfs_argop4 o3[3];

		o3[0] = a_putfh(&data);
		o3[1] = a_open(0, "owner-acl", 0, OPEN4_SHARE_ACCESS_READ, "acl-deny");
		o3[2] = a_read(&cur, 0, 3);
		assert_int_equal(s41(UID_A, o3, 3), NFS4ERR_ACCESS);
	}
}

/* ======================================================================================== */
/* NFSv4.0                                                                                    */
/* ======================================================================================== */

static void test40_write_path(void **state)
{
	clientid4 id = t_client40("w-40", UID_A);
	struct t_fh pub, fh;
	struct t_sattr sa;
	uint32_t seqid = 1;
	stateid4 sid;
	nfs_argop4 ops[4];
	struct t_rep r;
	char verf[NFS4_VERIFIER_SIZE];
	uint8_t buf[16];
	OPEN4resok *ok;

	(void)state;
	t_path_fh(0, "/a/data/pub", &pub);
	memset(&sa, 0, sizeof(sa));
	sa.has_mode = true;
	sa.mode = 0640;
	ops[0] = a_putfh(&pub);
	ops[1] = a_open_create(id, "owner-40", seqid, OPEN4_SHARE_ACCESS_BOTH, "f40", GUARDED4, &sa,
			       NULL);
	ops[2] = a_plain(OP_GETFH);
	t_call(&r, 0, UID_A, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	sid = ok->stateid;
	assert_true(bm_has(&ok->attrset, FATTR4_MODE));
	t_fh_of(&r, 2, &fh);
	if (ok->rflags & OPEN4_RESULT_CONFIRM) {
		t_free(&r);
		ops[0] = a_putfh(&fh);
		ops[1] = a_plain(OP_OPEN_CONFIRM);
		ops[1].nfs_argop4_u.opopen_confirm.open_stateid = sid;
		ops[1].nfs_argop4_u.opopen_confirm.seqid = ++seqid;
		t_call(&r, 0, UID_A, ops, 2);
		t_expect(&r, ops, NFS4_OK, 2);
		sid = t_res(&r, 1)->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid;
	}
	t_free(&r);
	assert_int_equal(dstat("data/pub/f40").st_mode & 07777, 0640);
	assert_int_equal(dstat("data/pub/f40").st_uid, UID_A);

	ops[0] = a_putfh(&fh);
	ops[1] = a_write(&sid, 0, UNSTABLE4, "hello 4.0", 9);
	ops[2] = a_commit(0, 9);
	t_call(&r, 0, UID_A, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	assert_int_equal(t_res(&r, 1)->nfs_resop4_u.opwrite.WRITE4res_u.resok4.count, 9);
	memcpy(verf, t_res(&r, 1)->nfs_resop4_u.opwrite.WRITE4res_u.resok4.writeverf, 8);
	assert_memory_equal(t_res(&r, 2)->nfs_resop4_u.opcommit.COMMIT4res_u.resok4.writeverf, verf,
			    NFS4_VERIFIER_SIZE);
	t_free(&r);
	assert_int_equal(dread("data/pub/f40", buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "hello 4.0", 9);

	/* GUARDED4 again: EXIST (and the seqid moves on) */
	ops[0] = a_putfh(&pub);
	ops[1] = a_open_create(id, "owner-40", ++seqid, OPEN4_SHARE_ACCESS_BOTH, "f40", GUARDED4,
			       &sa, NULL);
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4ERR_EXIST);
	/* EXCLUSIVE4 twice with one verifier: the same file */
	ops[1] = a_open_create(id, "owner-40", ++seqid, OPEN4_SHARE_ACCESS_BOTH, "x40", EXCLUSIVE4,
			       NULL, "verf4000");
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	ops[1] = a_open_create(id, "owner-40", ++seqid, OPEN4_SHARE_ACCESS_BOTH, "x40", EXCLUSIVE4,
			       NULL, "verf4000");
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	ops[1] = a_open_create(id, "owner-40", ++seqid, OPEN4_SHARE_ACCESS_BOTH, "x40", EXCLUSIVE4,
			       NULL, "verf4001");
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4ERR_EXIST);
	/* EXCLUSIVE4_1 is not 4.0's */
	ops[1] = a_open_create(id, "owner-40", ++seqid, OPEN4_SHARE_ACCESS_BOTH, "x41",
			       EXCLUSIVE4_1, NULL, "verf4000");
	assert_true(t_status(0, UID_A, ops, 2) != NFS4_OK);

	/* CREATE, RENAME, LINK, REMOVE */
	ops[0] = a_putfh(&pub);
	ops[1] = a_create(NF4DIR, "d40", &sa, NULL);
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	assert_true(S_ISDIR(dstat("data/pub/d40").st_mode));
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_rename("f40", "g40");
	assert_int_equal(t_status(0, UID_A, ops, 3), NFS4_OK);
	ops[0] = a_putfh(&fh);
	ops[1] = a_plain(OP_SAVEFH);
	ops[2] = a_putfh(&pub);
	ops[3] = a_link("h40");
	assert_int_equal(t_status(0, UID_A, ops, 4), NFS4_OK);
	assert_int_equal(dstat("data/pub/g40").st_nlink, 2);
	ops[0] = a_putfh(&pub);
	ops[1] = a_remove("g40");
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	ops[1] = a_remove("d40");
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	assert_false(dexists("data/pub/d40"));
	/* the file lives on under its other name: WRITE still works with the open stateid */
	ops[0] = a_putfh(&fh);
	ops[1] = a_write(&sid, 9, FILE_SYNC4, "!", 1);
	assert_int_equal(t_status(0, UID_A, ops, 2), NFS4_OK);
	assert_int_equal(dstat("data/pub/h40").st_size, 10);
	/* 4.0: a WRITE of a FIFO is INVAL, of a symlink INVAL */
	{
		struct t_fh fifo;

		t_path_fh(0, "/a/data/fifo", &fifo);
		ops[0] = a_putfh(&fifo);
		ops[1] = a_write(&t_anon, 0, UNSTABLE4, "x", 1);
		assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
	}
}

/* ======================================================================================== */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test41_open_create, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_open_create_exclusive, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_open_create_truncate, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_write_commit, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_commit_ro, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_setattr, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_create, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_remove, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_rename, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_link, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_identity, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test40_write_path, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_groups, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_open_truncate_share, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_open_truncate_perm, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_setattr_more, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_link_protected, setup_w, t_teardown),
		cmocka_unit_test_setup_teardown(test41_acl, setup_w, t_teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_nfs_write: needs root (open_by_handle_at): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests_name("nfs_write", tests, NULL, NULL) ? 1 : 0;
}

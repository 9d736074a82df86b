/* cmocka tests of the NFSv4 op handlers of the read path (server/nfs4_*_ops.c, object.c)
 * through the whole server: RPC records built by hand, dispatch_record(), the storage
 * engine, and the reply decoded with the generated XDR (test_nfs_util.h). Statuses are the
 * ones RFC 7530 (4.0) and RFC 8881 (4.1) require. Runs as root (open_by_handle_at); skips
 * (77) otherwise. */
#define _GNU_SOURCE /* mkdtemp, nftw, strtok_r */
#include "test_nfs_util.h"

#define UID_USER 1000u

/* ======================================================================================== */
/* 1. The pseudo file system (RFC 8881 §7.3, RFC 7530 §7)                                    */
/* ======================================================================================== */

static bool dirlist_has(const dirlist4 *l, const char *name)
{
	for (const entry4 *e = l->entries; e; e = e->nextentry)
		if (e->name.utf8string_len == strlen(name) &&
		    memcmp(e->name.utf8string_val, name, e->name.utf8string_len) == 0)
			return true;
	return false;
}

static unsigned dirlist_count(const dirlist4 *l)
{
	unsigned n = 0;

	for (const entry4 *e = l->entries; e; e = e->nextentry)
		n++;
	return n;
}

static void test_pseudo_root(void **state)
{
	nfs_argop4 ops[] = {a_plain(OP_PUTROOTFH), a_getattr(), a_readdir(0, NULL, 8192, 8192, true),
			    a_plain(OP_GETFH)};
	READDIR4resok *rd;
	struct t_attrs root, ent;
	struct t_rep r;

	(void)state;
	t_call(&r, 0, 0, ops, 4);
	t_expect(&r, ops, NFS4_OK, 4);
	t_getattr_of(&r, 1, &root);
	assert_true(root.has_type && root.has_fsid && root.has_fileid);
	assert_int_equal(root.type, NF4DIR);
	rd = &t_res(&r, 2)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	assert_true(rd->reply.eof);
	assert_int_equal(dirlist_count(&rd->reply), 2);
	assert_true(dirlist_has(&rd->reply, "a"));
	assert_true(dirlist_has(&rd->reply, "models"));
	/* the "models" entry is an export root: its own fsid, mounted on a pseudo directory */
	for (const entry4 *e = rd->reply.entries; e; e = e->nextentry) {
		assert_true(e->cookie > 2);
		t_attrs_parse(&e->attrs, &ent);
		assert_int_equal(ent.type, NF4DIR);
		if (e->name.utf8string_len == 6) {
			assert_int_equal(ent.fsid_major, T_MODELS_ID);
			assert_true(ent.mounted_on != ent.fileid);
		} else {
			assert_int_equal(ent.fsid_major, root.fsid_major);
			assert_int_equal(ent.fsid_minor, root.fsid_minor);
		}
	}
	t_free(&r);
}

static void test_pseudo_walk(void **state)
{
	nfs_argop4 ops[8];
	struct t_attrs proot, pa, eroot, back, ent;
	struct t_fh fh_a, fh_root, fh_back;
	READDIR4resok *rd;
	struct t_rep r;

	(void)state;
	/* PUTROOTFH GETATTR LOOKUP a GETATTR GETFH LOOKUP data GETATTR GETFH */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_getattr();
	ops[2] = a_lookup("a");
	ops[3] = a_getattr();
	ops[4] = a_plain(OP_GETFH);
	ops[5] = a_lookup("data");
	ops[6] = a_getattr();
	ops[7] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 8);
	t_expect(&r, ops, NFS4_OK, 8);
	t_getattr_of(&r, 1, &proot);
	t_getattr_of(&r, 3, &pa);
	t_getattr_of(&r, 6, &eroot);
	t_fh_of(&r, 4, &fh_a);
	t_fh_of(&r, 7, &fh_root);
	t_free(&r);
	assert_int_equal(pa.type, NF4DIR);
	assert_int_equal(pa.fsid_major, proot.fsid_major);
	assert_int_equal(pa.fsid_minor, proot.fsid_minor);
	assert_true(pa.fileid != proot.fileid);
	/* the export root: another file system (RFC 8881 §7.7) and mounted on the pseudo fs
	 * (§5.8.2.23: mounted_on_fileid is the fileid of the directory underneath) */
	assert_int_equal(eroot.type, NF4DIR);
	assert_true(eroot.fsid_major != proot.fsid_major || eroot.fsid_minor != proot.fsid_minor);
	assert_int_equal(eroot.fsid_major, T_DATA_ID);
	assert_true(eroot.mounted_on != eroot.fileid);

	/* READDIR of "a" shows "data" with the same fileid and mounted_on_fileid */
	ops[0] = a_putfh(&fh_a);
	ops[1] = a_readdir(0, NULL, 4096, 4096, true);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	rd = &t_res(&r, 1)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	assert_true(rd->reply.eof);
	assert_int_equal(dirlist_count(&rd->reply), 1);
	assert_true(dirlist_has(&rd->reply, "data"));
	t_attrs_parse(&rd->reply.entries->attrs, &ent);
	assert_int_equal(ent.fileid, eroot.fileid);
	assert_int_equal(ent.fsid_major, T_DATA_ID);
	assert_int_equal(ent.mounted_on, eroot.mounted_on);
	t_free(&r);

	/* LOOKUPP from the export root: the pseudo directory "a" (RFC 8881 §18.14), in a NEW
	 * compound with the handle from the previous one (handles persist) */
	ops[0] = a_putfh(&fh_root);
	ops[1] = a_getattr();
	ops[2] = a_plain(OP_LOOKUPP);
	ops[3] = a_getattr();
	ops[4] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 5);
	t_expect(&r, ops, NFS4_OK, 5);
	t_getattr_of(&r, 1, &ent);
	assert_int_equal(ent.fileid, eroot.fileid);
	assert_int_equal(ent.fsid_major, T_DATA_ID);
	t_getattr_of(&r, 3, &back);
	assert_int_equal(back.fileid, pa.fileid);
	assert_int_equal(back.fsid_major, pa.fsid_major);
	t_fh_of(&r, 4, &fh_back);
	assert_int_equal(fh_back.len, fh_a.len);
	assert_memory_equal(fh_back.data, fh_a.data, fh_a.len);
	t_free(&r);

	/* LOOKUPP from a directory of the export gives the export root's own handle */
	ops[0] = a_putfh(&fh_root);
	ops[1] = a_lookup("sub");
	ops[2] = a_plain(OP_LOOKUPP);
	ops[3] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 4);
	t_expect(&r, ops, NFS4_OK, 4);
	t_fh_of(&r, 3, &fh_back);
	assert_int_equal(fh_back.len, fh_root.len);
	assert_memory_equal(fh_back.data, fh_root.data, fh_root.len);
	t_free(&r);
}

static void test_pseudo_errors(void **state)
{
	nfs_argop4 ops[4];
	clientid4 id;

	(void)state;
	/* §18.14.3: LOOKUPP at the root of the server's namespace */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_plain(OP_LOOKUPP);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOENT);
	/* a name the pseudo fs does not have */
	ops[1] = a_lookup("nosuch");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOENT);
	ops[1] = a_lookup("a");
	ops[2] = a_lookup("nosuch");
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_NOENT);

	/* OPEN of a pseudo directory (RFC 7530 §16.16: a directory is ISDIR) */
	id = t_client40("pseudo-client", 0);
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_open(id, "owner-pseudo", 1, OPEN4_SHARE_ACCESS_READ, "a");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ISDIR);
	/* ... and of an export's root seen from its pseudo parent */
	ops[1] = a_lookup("a");
	ops[2] = a_open(id, "owner-pseudo2", 1, OPEN4_SHARE_ACCESS_READ, "data");
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_ISDIR);
}

/* ======================================================================================== */
/* 2. READDIR (RFC 8881 §18.23, RFC 7530 §16.24)                                            */
/* ======================================================================================== */

static size_t xpad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Bytes of the READDIR4resok as XDR (what maxcount bounds). */
static size_t readdir_resok_size(const READDIR4resok *ok)
{
	size_t n = 8 + 4 + 4;

	for (const entry4 *e = ok->reply.entries; e; e = e->nextentry)
		n += 4 + 8 + 4 + xpad(e->name.utf8string_len) + 4 + 4 * e->attrs.attrmask.bitmap4_len +
		     4 + xpad(e->attrs.attr_vals.attrlist4_len);
	return n;
}

/* Read the whole of /a/data/big (T_BIG_N files) maxcount bytes a call; every name exactly
 * once, no reply over maxcount. Returns the calls made; *most: the most entries in one reply. */
static unsigned readdir_all(uint32_t dircount, uint32_t maxcount, unsigned *most)
{
	uint8_t *seen = calloc(T_BIG_N, 1);
	char verf[NFS4_VERIFIER_SIZE];
	uint64_t cookie = 0;
	unsigned calls = 0, total = 0;
	struct t_fh dir;
	bool eof = false;

	assert_non_null(seen);
	*most = 0;
	t_path_fh(0, "/a/data/big", &dir);
	memset(verf, 0, sizeof(verf));
	while (!eof) {
		nfs_argop4 ops[] = {a_putfh(&dir), a_readdir(cookie, verf, dircount, maxcount, false)};
		READDIR4resok *ok;
		struct t_rep r;
		unsigned n = 0;

		assert_true(++calls <= T_BIG_N + 1);
		t_call(&r, 0, 0, ops, 2);
		t_expect(&r, ops, NFS4_OK, 2);
		ok = &t_res(&r, 1)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
		if (calls == 1)
			memcpy(verf, ok->cookieverf, sizeof(verf));
		else
			assert_memory_equal(ok->cookieverf, verf, sizeof(verf));
		assert_true(readdir_resok_size(ok) <= maxcount);
		for (const entry4 *e = ok->reply.entries; e; e = e->nextentry) {
			char name[16];
			unsigned idx;
			struct t_attrs at;

			assert_true(e->name.utf8string_len == 5);
			memcpy(name, e->name.utf8string_val, 5);
			name[5] = 0;
			assert_true(name[0] == 'f'); /* never "." or ".." */
			idx = (unsigned)strtoul(name + 1, NULL, 10);
			assert_true(idx < T_BIG_N);
			assert_int_equal(seen[idx], 0);
			seen[idx] = 1;
			assert_true(e->cookie > 2);
			t_attrs_parse(&e->attrs, &at);
			assert_int_equal(at.type, NF4REG);
			cookie = e->cookie;
			n++;
		}
		eof = ok->reply.eof;
		/* not at the end: the reply carried something */
		assert_true(eof || n > 0);
		total += n;
		if (n > *most)
			*most = n;
		t_free(&r);
	}
	assert_int_equal(total, T_BIG_N);
	for (unsigned i = 0; i < T_BIG_N; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
	return calls;
}

static void test_readdir_big(void **state)
{
	unsigned most;

	(void)state;
	/* 4 KiB at a time really pages */
	assert_true(readdir_all(1024, 4096, &most) > 10);
	/* One large reply holds more than one batch of the server's (2,048 entries): the
	 * batches after the first go on from the last cookie, with nothing lost or repeated. */
	assert_true(readdir_all(0, 1u << 20, &most) <= 2);
	assert_true(most > 2048);
}

static void test_readdir_errors(void **state)
{
	nfs_argop4 ops[2];
	struct t_fh dir, file;
	uint64_t cookie;
	char verf[NFS4_VERIFIER_SIZE];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/big", &dir);
	t_path_fh(0, "/a/data/file10k", &file);

	/* a real cookie and verifier to play with */
	ops[0] = a_putfh(&dir);
	ops[1] = a_readdir(0, NULL, 1024, 4096, false);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	cookie = t_res(&r, 1)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4.reply.entries->cookie;
	memcpy(verf, t_res(&r, 1)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4.cookieverf,
	       sizeof(verf));
	t_free(&r);

	/* §18.23.3: maxcount too small for even one entry */
	ops[1] = a_readdir(0, NULL, 1024, 40, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_TOOSMALL);
	ops[1] = a_readdir(0, NULL, 1024, 16, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_TOOSMALL);
	/* cookies 1 and 2 are reserved */
	ops[1] = a_readdir(1, verf, 1024, 4096, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_COOKIE);
	ops[1] = a_readdir(2, verf, 1024, 4096, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_COOKIE);
	/* a cookie with a verifier the server never gave */
	verf[0] ^= 0x5a;
	ops[1] = a_readdir(cookie, verf, 1024, 4096, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOT_SAME);
	verf[0] ^= 0x5a;
	ops[1] = a_readdir(cookie, verf, 1024, 4096, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4_OK);
	/* not a directory */
	ops[0] = a_putfh(&file);
	ops[1] = a_readdir(0, NULL, 1024, 4096, false);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOTDIR);
}

/* ======================================================================================== */
/* 3. READ (RFC 7530 §16.23, RFC 8881 §18.22)                                               */
/* ======================================================================================== */

static void check_bytes(const READ4resok *ok, uint64_t off, size_t len)
{
	assert_int_equal(ok->data.data_len, len);
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)ok->data.data_val[i] != t_byte(off + i))
			fail_msg("byte %zu of the file differs", (size_t)(off + i));
}

static void test_read_pieces(void **state)
{
	struct t_fh file;
	uint64_t off = 0;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	while (off < T_FILE_SIZE) {
		nfs_argop4 ops[] = {a_putfh(&file), a_read(&t_anon, off, 4096)};
		size_t want = T_FILE_SIZE - off < 4096 ? T_FILE_SIZE - off : 4096;
		READ4resok *ok;
		struct t_rep r;

		t_call(&r, 0, 0, ops, 2);
		t_expect(&r, ops, NFS4_OK, 2);
		ok = &t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4;
		check_bytes(ok, off, want);
		/* eof on the last piece only */
		assert_int_equal(!!ok->eof, off + want == T_FILE_SIZE);
		off += want;
		t_free(&r);
	}
	assert_int_equal(off, T_FILE_SIZE);
}

static void test_read_edges(void **state)
{
	nfs_argop4 ops[2];
	struct t_fh file;
	READ4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	ops[0] = a_putfh(&file);
	/* far past the end: nothing, at eof */
	ops[1] = a_read(&t_anon, UINT64_MAX, 4096);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4;
	assert_true(ok->eof);
	assert_int_equal(ok->data.data_len, 0);
	t_free(&r);
	/* count 0 at offset 0: nothing, and not at the end */
	ops[1] = a_read(&t_anon, 0, 0);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4;
	assert_false(ok->eof);
	assert_int_equal(ok->data.data_len, 0);
	t_free(&r);
	/* just at the end */
	ops[1] = a_read(&t_anon, T_FILE_SIZE, 10);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4;
	assert_true(ok->eof);
	assert_int_equal(ok->data.data_len, 0);
	t_free(&r);
	/* the all-ones special stateid reads too (READ bypass, RFC 7530 §9.1.4.3) */
	{
		stateid4 ones;

		memset(&ones, 0xff, sizeof(ones));
		ops[1] = a_read(&ones, 100, 50);
		t_call(&r, 0, 0, ops, 2);
		t_expect(&r, ops, NFS4_OK, 2);
		check_bytes(&t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4, 100, 50);
		t_free(&r);
	}
}

static void test_read_wrong_types(void **state)
{
	nfs_argop4 ops[2];
	struct t_fh fh;
	stateid4 junk;

	(void)state;
	/* RFC 7530 §16.23: a directory is ISDIR, any other non-file INVAL */
	t_path_fh(0, "/a/data/sub", &fh);
	ops[0] = a_putfh(&fh);
	ops[1] = a_read(&t_anon, 0, 100);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ISDIR);
	t_path_fh(0, "/a/data", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ISDIR);
	t_path_fh(0, "/a", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ISDIR);
	t_path_fh(0, "/a/data/link", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
	t_path_fh(0, "/a/data/fifo", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);

	/* a stateid this server never gave: state_check_io says BAD_STATEID for an unknown one
	 * and STALE_STATEID (4.0) for one whose boot part is not this instance's, which a
	 * random "other" is too (RFC 7530 §9.1.4.3) */
	t_path_fh(0, "/a/data/file10k", &fh);
	ops[0] = a_putfh(&fh);
	junk.seqid = 1;
	memcpy(junk.other, "nonsense1234", NFS4_OTHER_SIZE);
	ops[1] = a_read(&junk, 0, 100);
	{
		nfsstat4 st = t_status(0, 0, ops, 2);

		assert_true(st == NFS4ERR_BAD_STATEID || st == NFS4ERR_STALE_STATEID);
	}
}

/* ======================================================================================== */
/* 4. OPEN, OPEN_CONFIRM, READ, CLOSE (RFC 7530 §16.16, §16.18, §16.2, §9.1.7)               */
/* ======================================================================================== */

static void test_open_read_close(void **state)
{
	clientid4 id = t_client40("open-client", 0);
	struct t_fh dir, file;
	stateid4 sid, bad;
	uint32_t seqid = 7, rflags;
	nfs_argop4 ops[4];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data", &dir);
	ops[0] = a_putfh(&dir);
	ops[1] = a_open(id, "owner-1", seqid, OPEN4_SHARE_ACCESS_READ, "file10k");
	ops[2] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	sid = t_res(&r, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.stateid;
	rflags = t_res(&r, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.rflags;
	assert_int_equal(t_res(&r, 1)->nfs_resop4_u.opopen.OPEN4res_u.resok4.delegation.delegation_type,
			 OPEN_DELEGATE_NONE);
	t_fh_of(&r, 2, &file);
	t_free(&r);

	if (rflags & OPEN4_RESULT_CONFIRM) {
		/* before the confirmation the stateid may not be used */
		ops[0] = a_putfh(&file);
		ops[1] = a_read(&sid, 0, 100);
		assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_STATEID);
		ops[1] = a_plain(OP_OPEN_CONFIRM);
		ops[1].nfs_argop4_u.opopen_confirm.open_stateid = sid;
		ops[1].nfs_argop4_u.opopen_confirm.seqid = ++seqid;
		t_call(&r, 0, 0, ops, 2);
		t_expect(&r, ops, NFS4_OK, 2);
		bad = sid;
		sid = t_res(&r, 1)->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid;
		assert_memory_equal(sid.other, bad.other, NFS4_OTHER_SIZE);
		assert_int_equal(sid.seqid, bad.seqid + 1);
		t_free(&r);
		/* RFC 7530 §9.1.4.2: an older seqid of the stateid is OLD_STATEID */
		ops[1] = a_read(&bad, 0, 100);
		assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_OLD_STATEID);
	}

	/* READ with the open stateid */
	ops[0] = a_putfh(&file);
	ops[1] = a_read(&sid, 1000, 3000);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	check_bytes(&t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4, 1000, 3000);
	assert_false(t_res(&r, 1)->nfs_resop4_u.opread.READ4res_u.resok4.eof);
	t_free(&r);

	/* the stateid, altered: a seqid from the future, an unknown "other" of this instance,
	 * and one of another instance (RFC 7530 §9.1.4.2, §9.1.4.3) */
	bad = sid;
	bad.seqid++;
	ops[1] = a_read(&bad, 0, 10);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_STATEID);
	bad = sid;
	bad.other[NFS4_OTHER_SIZE - 1] ^= 0x55;
	ops[1] = a_read(&bad, 0, 10);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_STATEID);
	bad = sid;
	bad.other[0] ^= 0x55;
	ops[1] = a_read(&bad, 0, 10);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_STALE_STATEID);
	/* the stateid of another file */
	{
		struct t_fh other;

		t_path_fh(0, "/a/data/sub/s1", &other);
		ops[0] = a_putfh(&other);
		ops[1] = a_read(&sid, 0, 1);
		assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_STATEID);
	}

	/* CLOSE */
	ops[0] = a_putfh(&file);
	ops[1] = a_close(++seqid, &sid);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	t_free(&r);
	/* a closed stateid no longer reads */
	ops[1] = a_read(&sid, 0, 10);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BAD_STATEID);
}

static void test_open_errors(void **state)
{
	clientid4 id = t_client40("open-errors", 0);
	struct t_fh data, models;
	nfs_argop4 ops[2];

	(void)state;
	t_path_fh(0, "/a/data", &data);
	t_path_fh(0, "/models", &models);
	ops[0] = a_putfh(&data);
	/* RFC 7530 §16.16: no such file */
	ops[1] = a_open(id, "owner-noent", 1, OPEN4_SHARE_ACCESS_READ, "nosuch");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOENT);
	/* a symbolic link is SYMLINK, a directory ISDIR */
	ops[1] = a_open(id, "owner-link", 1, OPEN4_SHARE_ACCESS_READ, "link");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_SYMLINK);
	ops[1] = a_open(id, "owner-dir", 1, OPEN4_SHARE_ACCESS_READ, "sub");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ISDIR);
	/* OPEN4_CREATE GUARDED4 of a name that exists (RFC 7530 §16.16.5) */
	ops[1] = a_open(id, "owner-create", 1, OPEN4_SHARE_ACCESS_READ, "file10k");
	ops[1].nfs_argop4_u.opopen.openhow.opentype = OPEN4_CREATE;
	ops[1].nfs_argop4_u.opopen.openhow.openflag4_u.how.mode = GUARDED4;
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_EXIST);
	/* a file of root's, 0600, opened for reading by uid 1000 */
	{
		clientid4 uid_id = t_client40("open-errors-user", UID_USER);

		ops[1] = a_open(uid_id, "owner-user", 1, OPEN4_SHARE_ACCESS_READ, "secret");
		assert_int_equal(t_status(0, UID_USER, ops, 2), NFS4ERR_ACCESS);
		/* but a 0644 one is fine */
		ops[1] = a_open(uid_id, "owner-user2", 1, OPEN4_SHARE_ACCESS_READ, "file10k");
		assert_int_equal(t_status(0, UID_USER, ops, 2), NFS4_OK);
	}
	/* reading on the read-only export is fine */
	ops[0] = a_putfh(&models);
	ops[1] = a_open(id, "owner-ro-read", 1, OPEN4_SHARE_ACCESS_READ, "weights.bin");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4_OK);
}

/* Writing on a read-only export is NFS4ERR_ROFS (RFC 7530 §16.16, RFC 8881 §18.16: "the
 * file system is read-only"), whatever the other exports allow. */
static void test_open_ro_export(void **state)
{
	clientid4 id = t_client40("open-ro", 0);
	struct t_fh models;
	nfs_argop4 ops[2];

	(void)state;
	t_path_fh(0, "/models", &models);
	ops[0] = a_putfh(&models);
	ops[1] = a_open(id, "owner-ro", 1, OPEN4_SHARE_ACCESS_WRITE, "weights.bin");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ROFS);
	ops[1] = a_open(id, "owner-ro2", 1, OPEN4_SHARE_ACCESS_BOTH, "weights.bin");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_ROFS);
}

/* ======================================================================================== */
/* 5. Handles and names (RFC 8881 §15.1.2, §18.13, §18.24)                                   */
/* ======================================================================================== */

static void test_handles(void **state)
{
	nfs_argop4 ops[3];
	struct t_fh fh, root;
	struct t_rep r;

	(void)state;
	/* a 1-byte handle: BADHANDLE from PUTFH itself */
	fh.len = 1;
	fh.data[0] = (char)0xa1;
	ops[0] = a_putfh(&fh);
	ops[1] = a_getattr();
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADHANDLE);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4ERR_BADHANDLE, 1);
	t_free(&r);

	/* well formed, but of an export that does not exist: STALE at its first use */
	t_path_fh(0, "/a/data", &root);
	fh = root;
	fh.data[1] = fh.data[2] = fh.data[3] = 0;
	fh.data[4] = 99; /* export id 99 */
	ops[0] = a_putfh(&fh);
	ops[1] = a_getattr();
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4ERR_STALE, 2);
	t_free(&r);
}

/* A file's handle after the file was removed on the server: the object no longer exists,
 * NFS4ERR_STALE (RFC 8881 §15.1.2.7, RFC 7530 §13.1.2.7), at the first op that uses it. */
static void test_handle_unlinked(void **state)
{
	nfs_argop4 ops[2];
	struct t_fh fh;
	char victim[512];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/victim", &fh);
	snprintf(victim, sizeof(victim), "%s/victim", W.data);
	assert_int_equal(unlink(victim), 0);
	ops[0] = a_putfh(&fh);
	ops[1] = a_getattr();
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4ERR_STALE, 2);
	t_free(&r);
}

static void test_lookup_names(void **state)
{
	char longname[257];
	nfs_argop4 ops[3];
	struct t_fh root;

	(void)state;
	t_path_fh(0, "/a/data", &root);
	ops[0] = a_putfh(&root);
	ops[1] = a_lookup("..");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_lookup(".");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_lookup("sub/s1");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADNAME);
	memset(longname, 'x', 256);
	longname[256] = 0;
	ops[1] = a_lookup(longname);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NAMETOOLONG);
	ops[1] = a_lookup("");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
	ops[1] = a_lookup("nosuch");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOENT);
	/* in the pseudo fs too */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_lookup("..");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_lookup("a/data");
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_BADNAME);
	ops[1] = a_lookup(longname);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NAMETOOLONG);

	/* LOOKUP with a symlink as the current FH: SYMLINK; with a file: NOTDIR */
	ops[0] = a_putfh(&root);
	ops[1] = a_lookup("link");
	ops[2] = a_lookup("x");
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_SYMLINK);
	ops[1] = a_lookup("file10k");
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_NOTDIR);
	/* LOOKUPP from a file: NOTDIR (RFC 8881 §18.14.3) */
	ops[2] = a_plain(OP_LOOKUPP);
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_NOTDIR);
}

static void test_readlink(void **state)
{
	nfs_argop4 ops[2];
	struct t_fh fh;
	READLINK4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/link", &fh);
	ops[0] = a_putfh(&fh);
	ops[1] = a_plain(OP_READLINK);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 1)->nfs_resop4_u.opreadlink.READLINK4res_u.resok4;
	assert_int_equal(ok->link.linktext4_len, 7);
	assert_memory_equal(ok->link.linktext4_val, "file10k", 7);
	t_free(&r);
	/* RFC 8881 §18.24.3, RFC 7530 §16.25: not a symbolic link */
	t_path_fh(0, "/a/data/file10k", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
	t_path_fh(0, "/a/data/sub", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
	t_path_fh(0, "/a", &fh);
	ops[0] = a_putfh(&fh);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_INVAL);
}

/* ======================================================================================== */
/* 6. ACCESS (RFC 8881 §18.1, RFC 7530 §16.1)                                               */
/* ======================================================================================== */

static void access_of(struct t_fh *fh, uint32_t uid, uint32_t want, uint32_t *supported,
		      uint32_t *allowed)
{
	nfs_argop4 ops[] = {a_putfh(fh), a_access(want)};
	ACCESS4resok *ok;
	struct t_rep r;

	t_call(&r, 0, uid, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	ok = &t_res(&r, 1)->nfs_resop4_u.opaccess.ACCESS4res_u.resok4;
	*supported = ok->supported;
	*allowed = ok->access;
	t_free(&r);
}

static void test_access(void **state)
{
	const uint32_t rme = ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND;
	const uint32_t dirbits = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND |
				 ACCESS4_DELETE;
	struct t_fh file, dir, ro, proot;
	uint32_t sup, acc;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	t_path_fh(0, "/a/data/sub", &dir);
	t_path_fh(0, "/models/weights.bin", &ro);
	t_path_fh(0, "/", &proot);

	/* uid 1000 on root's 0644 file: read yes, modify no */
	access_of(&file, UID_USER, rme, &sup, &acc);
	assert_int_equal(sup, rme);
	assert_int_equal(acc, ACCESS4_READ);
	/* root on the rw export: everything asked */
	access_of(&file, 0, rme, &sup, &acc);
	assert_int_equal(sup, rme);
	assert_int_equal(acc, rme);
	access_of(&dir, 0, dirbits, &sup, &acc);
	assert_int_equal(sup, dirbits);
	assert_int_equal(acc, dirbits);
	/* root on the ro export: no modifying */
	access_of(&ro, 0, rme, &sup, &acc);
	assert_int_equal(sup, rme);
	assert_int_equal(acc, ACCESS4_READ);
	/* the pseudo fs is read-only too */
	access_of(&proot, 0, dirbits, &sup, &acc);
	assert_int_equal(acc & (ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_DELETE), 0);
	assert_int_equal(acc & (ACCESS4_READ | ACCESS4_LOOKUP), ACCESS4_READ | ACCESS4_LOOKUP);
}

/* ======================================================================================== */
/* 7. VERIFY / NVERIFY (RFC 8881 §18.31, §18.15)                                            */
/* ======================================================================================== */

static void test_verify(void **state)
{
	uint32_t mask[1];
	char vals[8];
	nfs_argop4 ops[3];
	struct t_fh file;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	ops[0] = a_putfh(&file);
	ops[1] = a_verify_size(OP_VERIFY, T_FILE_SIZE, mask, vals);
	ops[2] = a_plain(OP_GETFH);
	assert_int_equal(t_status(0, 0, ops, 3), NFS4_OK);
	ops[1] = a_verify_size(OP_VERIFY, T_FILE_SIZE + 1, mask, vals);
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_NOT_SAME);
	ops[1] = a_verify_size(OP_NVERIFY, T_FILE_SIZE, mask, vals);
	assert_int_equal(t_status(0, 0, ops, 3), NFS4ERR_SAME);
	ops[1] = a_verify_size(OP_NVERIFY, 5, mask, vals);
	assert_int_equal(t_status(0, 0, ops, 3), NFS4_OK);
}

/* ======================================================================================== */
/* NFSv4.1: a session, SEQUENCE-prefixed compounds                                          */
/* ======================================================================================== */

static void test41_read_readdir(void **state)
{
	struct t_fh file, dir, link;
	nfs_argop4 ops[4];
	READDIR4resok *rd;
	READ4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	t_path_fh(0, "/a/data/sub", &dir);
	t_path_fh(0, "/a/data/link", &link);
	t_client41("client-41");

	ops[0] = a_sequence();
	ops[1] = a_putfh(&file);
	ops[2] = a_read(&t_anon, 8000, 4096);
	t_call(&r, 1, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	ok = &t_res(&r, 2)->nfs_resop4_u.opread.READ4res_u.resok4;
	check_bytes(ok, 8000, T_FILE_SIZE - 8000);
	assert_true(ok->eof);
	t_free(&r);

	ops[0] = a_sequence();
	ops[1] = a_putfh(&dir);
	ops[2] = a_readdir(0, NULL, 4096, 8192, true);
	t_call(&r, 1, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	rd = &t_res(&r, 2)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	assert_true(rd->reply.eof);
	assert_int_equal(dirlist_count(&rd->reply), 2);
	assert_true(dirlist_has(&rd->reply, "s1"));
	assert_true(dirlist_has(&rd->reply, "s2"));
	for (const entry4 *e = rd->reply.entries; e; e = e->nextentry) {
		struct t_attrs at;

		t_attrs_parse(&e->attrs, &at);
		assert_int_equal(at.type, NF4REG);
		assert_int_equal(at.fsid_major, T_DATA_ID);
		assert_int_equal(at.size, e->name.utf8string_val[1] == '1' ? 1 : 2);
		assert_int_equal(at.mounted_on, at.fileid);
	}
	t_free(&r);

	/* RFC 8881 §18.22.3: READ of a symbolic link is SYMLINK, of another non-file
	 * WRONG_TYPE (INVAL was 4.0's answer) */
	ops[0] = a_sequence();
	ops[1] = a_putfh(&link);
	ops[2] = a_read(&t_anon, 0, 10);
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_SYMLINK);
	/* §18.13.3: LOOKUP with a symlink as the current FH */
	ops[0] = a_sequence();
	ops[1] = a_putfh(&link);
	ops[2] = a_lookup("x");
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_SYMLINK);
}

static void test41_secinfo_no_name(void **state)
{
	struct t_fh file;
	nfs_argop4 ops[4];
	SECINFO4resok *ok;
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data/file10k", &file);
	t_client41("client-41-secinfo");
	ops[0] = a_sequence();
	ops[1] = a_putfh(&file);
	ops[2] = a_plain(OP_SECINFO_NO_NAME);
	ops[2].nfs_argop4_u.opsecinfo_no_name = SECINFO_STYLE4_CURRENT_FH;
	ops[3] = a_plain(OP_GETFH);
	t_call(&r, 1, 0, ops, 4);
	/* §18.45.3 / §2.6.3.1.1.8: SECINFO_NO_NAME consumes the current filehandle */
	t_expect(&r, ops, NFS4ERR_NOFILEHANDLE, 4);
	ok = &t_res(&r, 2)->nfs_resop4_u.opsecinfo_no_name.SECINFO4res_u.resok4;
	assert_true(ok->SECINFO4resok_len >= 1);
	assert_int_equal(ok->SECINFO4resok_val[0].flavor, AUTH_SYS);
	t_free(&r);
	/* the parent style at the root of the pseudo fs: NOENT */
	ops[0] = a_sequence();
	ops[1] = a_plain(OP_PUTROOTFH);
	ops[2].nfs_argop4_u.opsecinfo_no_name = SECINFO_STYLE4_PARENT;
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_NOENT);
}

static void test41_open_current_stateid(void **state)
{
	struct t_fh dir;
	stateid4 cur;
	nfs_argop4 ops[6];
	struct t_rep r;

	(void)state;
	t_path_fh(0, "/a/data", &dir);
	t_client41("client-41-open");
	/* OPEN + READ + CLOSE in one COMPOUND through the current stateid (§16.2.3.1.2) */
	memset(&cur, 0, sizeof(cur));
	cur.seqid = 1;
	ops[0] = a_sequence();
	ops[1] = a_putfh(&dir);
	ops[2] = a_open(0, "owner-41", 0, OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
			"file10k");
	ops[3] = a_read(&cur, 0, 100);
	ops[4] = a_close(0, &cur);
	t_call(&r, 1, 0, ops, 5);
	t_expect(&r, ops, NFS4_OK, 5);
	check_bytes(&t_res(&r, 3)->nfs_resop4_u.opread.READ4res_u.resok4, 0, 100);
	t_free(&r);
	/* §18.16.3: a symbolic link is SYMLINK, a directory ISDIR */
	ops[0] = a_sequence();
	ops[2] = a_open(0, "owner-41", 0, OPEN4_SHARE_ACCESS_READ, "link");
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_SYMLINK);
	ops[0] = a_sequence();
	ops[2] = a_open(0, "owner-41", 0, OPEN4_SHARE_ACCESS_READ, "sub");
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_ISDIR);
}

/* RFC 8881 §18.22.3 (READ) and §18.16.3 (OPEN): an object that is neither a regular file,
 * a directory nor a symbolic link is NFS4ERR_WRONG_TYPE in 4.1 (INVAL was 4.0's answer). */
static void test41_wrong_type(void **state)
{
	struct t_fh dir, fifo;
	nfs_argop4 ops[3];

	(void)state;
	t_path_fh(0, "/a/data", &dir);
	t_path_fh(0, "/a/data/fifo", &fifo);
	t_client41("client-41-type");
	ops[0] = a_sequence();
	ops[1] = a_putfh(&fifo);
	ops[2] = a_read(&t_anon, 0, 10);
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_WRONG_TYPE);
	ops[0] = a_sequence();
	ops[1] = a_putfh(&dir);
	ops[2] = a_open(0, "owner-41-type", 0, OPEN4_SHARE_ACCESS_READ, "fifo");
	assert_int_equal(t_status(1, 0, ops, 3), NFS4ERR_WRONG_TYPE);
}

/* ======================================================================================== */
/* One export at "/" (config_default_for_export)                                            */
/* ======================================================================================== */

static void test_default_root(void **state)
{
	nfs_argop4 ops[5];
	struct t_fh root, pub;
	struct t_attrs at;
	READDIR4resok *rd;
	struct t_rep r;

	(void)state;
	/* the root is the export itself */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_getattr();
	ops[2] = a_plain(OP_GETFH);
	ops[3] = a_readdir(0, NULL, 8192, 16384, false);
	t_call(&r, 0, 0, ops, 4);
	t_expect(&r, ops, NFS4_OK, 4);
	t_getattr_of(&r, 1, &at);
	assert_int_equal(at.type, NF4DIR);
	assert_int_equal(at.fsid_major, W.cfg->exports[0].id);
	/* nothing underneath: mounted_on_fileid is the fileid */
	assert_int_equal(at.mounted_on, at.fileid);
	t_fh_of(&r, 2, &root);
	assert_int_equal(root.len, W.srv->exports[0].root_fh_len);
	assert_memory_equal(root.data, W.srv->exports[0].root_fh, root.len);
	rd = &t_res(&r, 3)->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	assert_true(rd->reply.eof);
	assert_true(dirlist_has(&rd->reply, "file10k"));
	assert_true(dirlist_has(&rd->reply, "sub"));
	assert_true(dirlist_has(&rd->reply, "link"));
	assert_false(dirlist_has(&rd->reply, "."));
	assert_false(dirlist_has(&rd->reply, ".."));
	assert_int_equal(dirlist_count(&rd->reply), 6); /* file10k secret victim link fifo sub */
	t_free(&r);

	/* PUTPUBFH is the root filehandle here too */
	ops[0] = a_plain(OP_PUTPUBFH);
	ops[1] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	t_fh_of(&r, 1, &pub);
	assert_int_equal(pub.len, root.len);
	assert_memory_equal(pub.data, root.data, root.len);
	t_free(&r);

	/* LOOKUPP at the root: nothing above (§18.14.3) */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_plain(OP_LOOKUPP);
	assert_int_equal(t_status(0, 0, ops, 2), NFS4ERR_NOENT);
	/* ... and from below, the root again */
	ops[1] = a_lookup("sub");
	ops[2] = a_plain(OP_LOOKUPP);
	ops[3] = a_plain(OP_GETFH);
	t_call(&r, 0, 0, ops, 4);
	t_expect(&r, ops, NFS4_OK, 4);
	t_fh_of(&r, 3, &pub);
	assert_int_equal(pub.len, root.len);
	assert_memory_equal(pub.data, root.data, root.len);
	t_free(&r);

	/* READ through the root */
	ops[0] = a_plain(OP_PUTROOTFH);
	ops[1] = a_lookup("file10k");
	ops[2] = a_read(&t_anon, 9000, 4096);
	t_call(&r, 0, 0, ops, 3);
	t_expect(&r, ops, NFS4_OK, 3);
	check_bytes(&t_res(&r, 2)->nfs_resop4_u.opread.READ4res_u.resok4, 9000, 1000);
	assert_true(t_res(&r, 2)->nfs_resop4_u.opread.READ4res_u.resok4.eof);
	t_free(&r);
}

/* ======================================================================================== */

static int setup_two_big(void **state)
{
	(void)state;
	return t_setup_two(true);
}

static int setup_two(void **state)
{
	(void)state;
	return t_setup_two(false);
}

static int setup_default(void **state)
{
	(void)state;
	return t_setup_default();
}

int main(void)
{
	const struct CMUnitTest v40[] = {
		cmocka_unit_test(test_pseudo_root),
		cmocka_unit_test(test_pseudo_walk),
		cmocka_unit_test(test_pseudo_errors),
		cmocka_unit_test(test_readdir_big),
		cmocka_unit_test(test_readdir_errors),
		cmocka_unit_test(test_read_pieces),
		cmocka_unit_test(test_read_edges),
		cmocka_unit_test(test_read_wrong_types),
		cmocka_unit_test(test_open_read_close),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_ro_export),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_handle_unlinked),
		cmocka_unit_test(test_lookup_names),
		cmocka_unit_test(test_readlink),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_verify),
	};
	const struct CMUnitTest v41[] = {
		cmocka_unit_test(test41_read_readdir),
		cmocka_unit_test(test41_secinfo_no_name),
		cmocka_unit_test(test41_open_current_stateid),
		cmocka_unit_test(test41_wrong_type),
	};
	const struct CMUnitTest dflt[] = {
		cmocka_unit_test(test_default_root),
	};
	int failed = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "test_nfs_ops: needs root (open_by_handle_at): skipped\n");
		return 77;
	}
	failed += cmocka_run_group_tests_name("nfs_ops_v40", v40, setup_two_big, t_teardown);
	failed += cmocka_run_group_tests_name("nfs_ops_v41", v41, setup_two, t_teardown);
	failed += cmocka_run_group_tests_name("nfs_ops_default_export", dflt, setup_default,
					      t_teardown);
	return failed ? 1 : 0;
}

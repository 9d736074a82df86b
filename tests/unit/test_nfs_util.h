/* Helpers of the cmocka tests of the NFSv4 op handlers (test_nfs_*.c): a scratch directory
 * tree, a real server on it (server_create + srv_loop with the storage engine), RPC CALL
 * records built by hand around a COMPOUND4args encoded with the generated XDR, run through
 * dispatch_record() with the reply captured by lp->reply_sink, and the COMPOUND4res decoded
 * back with the generated decoder. No sockets. Needs root (open_by_handle_at). */
#ifndef TEST_NFS_UTIL_H
#define TEST_NFS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "server.h"

#define T_REC_MAX (256u * 1024u)
#define T_FILE_SIZE 10000u
#define T_BIG_N 3000u
#define T_DATA_ID 1u
#define T_MODELS_ID 7u

/* ---- the world ------------------------------------------------------------------------- */

struct t_world {
	char root[64];        /* scratch directory (mkdtemp) */
	char data[256];       /* root/data: export T_DATA_ID (rw) */
	char models[256];     /* root/models: export T_MODELS_ID (ro) */
	struct config *cfg;
	struct server *srv;
	struct srv_loop *lp;
	uint32_t xid;
	/* the reply of the last call, concatenated */
	uint8_t *reply;
	size_t reply_len;
	unsigned nreplies;
	/* decoded replies not yet freed (a failed assertion leaves its test early): freed at
	 * teardown so that the ASan build stays free of leaks */
	COMPOUND4res live[32];
	/* 4.1 session */
	char sessid[NFS4_SESSIONID_SIZE];
	uint32_t seq;
};

static struct t_world W;

static inline uint8_t t_byte(size_t i)
{
	return (uint8_t)(i * 7u + i / 251u + 3u);
}

static inline void t_write_file(const char *dir, const char *name, mode_t mode, size_t size)
{
	char path[512];
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = t_byte(i);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(fchown(fd, 0, 0), 0);
	close(fd);
	free(buf);
}

static inline void t_mkdir(const char *dir, const char *name, char *out, size_t outlen)
{
	char path[512];
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	if (out) {
		n = strlen(path);
		assert_true(n < outlen);
		memcpy(out, path, n + 1);
	}
}

/*
 *   root/data/          0755  export 1, rw
 *       file10k         0644  10,000 bytes, byte i = t_byte(i)
 *       secret          0600  root's
 *       link            -> file10k
 *       fifo            a FIFO
 *       victim          0644  (unlinked by a test)
 *       sub/            0755  s1, s2
 *       big/            0755  f0000 .. f2999 (with big)
 *   root/models/        0755  export 7, ro
 *       weights.bin     0644  4,096 bytes
 */
static inline void t_tree(bool big)
{
	char path[512], sub[256];

	snprintf(W.root, sizeof(W.root), "/tmp/sluice-nfs-XXXXXX");
	assert_non_null(mkdtemp(W.root));
	assert_int_equal(chmod(W.root, 0755), 0);
	t_mkdir(W.root, "data", W.data, sizeof(W.data));
	t_mkdir(W.root, "models", W.models, sizeof(W.models));
	t_write_file(W.data, "file10k", 0644, T_FILE_SIZE);
	t_write_file(W.data, "secret", 0600, 11);
	t_write_file(W.data, "victim", 0644, 5);
	snprintf(path, sizeof(path), "%s/link", W.data);
	assert_int_equal(symlink("file10k", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", W.data);
	assert_int_equal(mkfifo(path, 0644), 0);
	t_mkdir(W.data, "sub", sub, sizeof(sub));
	t_write_file(sub, "s1", 0644, 1);
	t_write_file(sub, "s2", 0644, 2);
	t_write_file(W.models, "weights.bin", 0644, 4096);
	if (big) {
		t_mkdir(W.data, "big", sub, sizeof(sub));
		for (unsigned i = 0; i < T_BIG_N; i++) {
			char name[16];
			int fd;

			snprintf(name, sizeof(name), "f%04u", i);
			snprintf(path, sizeof(path), "%s/%s", sub, name);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			assert_true(fd >= 0);
			close(fd);
		}
	}
}

static int t_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void t_tree_remove(void)
{
	if (W.root[0])
		nftw(W.root, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	W.root[0] = 0;
}

static void t_sink(void *arg, const struct iovec *iov, unsigned niov, size_t len)
{
	size_t off = 0;

	(void)arg;
	free(W.reply);
	W.reply = malloc(len ? len : 1);
	if (!W.reply)
		abort();
	for (unsigned i = 0; i < niov; i++) {
		memcpy(W.reply + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	W.reply_len = off;
	W.nreplies++;
}

/* Server and loop on the configuration W.cfg. */
static inline void t_server_up(void)
{
	char dir[sizeof(W.root) + 8];

	/* client records of this test only (not the default /var/lib/sluice, whose records
	 * of an earlier test would start a grace period) */
	snprintf(dir, sizeof(dir), "%s/state", W.root);
	free(W.cfg->state_dir);
	W.cfg->state_dir = strdup(dir);
	assert_non_null(W.cfg->state_dir);
	assert_int_equal(server_create(&W.srv, W.cfg), 0);
	assert_int_equal(srv_loop_create(&W.lp, W.srv, ev_default_loop(0)), 0);
	W.lp->reply_sink = t_sink;
	W.lp->reply_arg = NULL;
	W.xid = 0x1000;
	W.seq = 0;
}

/* Two exports: data at /a/data (rw), models at /models (ro). */
static inline int t_setup_two(bool big)
{
	char text[2048], err[1024];

	memset(&W, 0, sizeof(W));
	log_set_level(LL_ERROR);
	t_tree(big);
	snprintf(text, sizeof(text),
		 "log_level = error\n"
		 "export \"%s\" {\n"
		 "    id = %u\n"
		 "    pseudo = /a/data\n"
		 "    access = rw\n"
		 "    squash = none\n"
		 "}\n"
		 "export \"%s\" {\n"
		 "    id = %u\n"
		 "    pseudo = /models\n"
		 "    access = ro\n"
		 "    squash = none\n"
		 "}\n",
		 W.data, T_DATA_ID, W.models, T_MODELS_ID);
	if (config_parse_string(text, "test.conf", &W.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	t_server_up();
	return 0;
}

/* One export at "/": the demo configuration of the data directory. */
static inline int t_setup_default(void)
{
	char err[1024];

	memset(&W, 0, sizeof(W));
	log_set_level(LL_ERROR);
	t_tree(false);
	if (config_default_for_export(W.data, &W.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	t_server_up();
	return 0;
}

static inline int t_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(W.live) / sizeof(W.live[0]); i++)
		if (W.live[i].resarray.resarray_val || W.live[i].tag.utf8string_val)
			xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&W.live[i]);
	if (W.lp) {
		srv_loop_drain(W.lp);
		srv_loop_destroy(W.lp);
	}
	server_destroy(W.srv);
	config_free(W.cfg);
	free(W.reply);
	t_tree_remove();
	memset(&W, 0, sizeof(W));
	return 0;
}

/* ---- one call ---------------------------------------------------------------------------- */

struct t_rep {
	COMPOUND4res res;
};

static inline uint8_t *t_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint32_t t_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t t_get64(const uint8_t *p)
{
	return (uint64_t)t_get32(p) << 32 | t_get32(p + 4);
}

/* RPC CALL (AUTH_SYS uid/gid = uid, AUTH_NONE verifier) + COMPOUND, dispatched; the reply
 * decoded into r (free with t_free). */
static inline void t_call(struct t_rep *r, uint32_t minor, uint32_t uid, nfs_argop4 *ops, u_int n)
{
	uint8_t *rec = malloc(T_REC_MAX), *p;
	uint32_t xid = ++W.xid;
	COMPOUND4args a;
	XDR x;
	size_t hdr;

	assert_non_null(rec);
	p = rec;
	p = t_put32(p, xid);
	p = t_put32(p, 0); /* CALL */
	p = t_put32(p, 2);
	p = t_put32(p, 100003);
	p = t_put32(p, 4);
	p = t_put32(p, 1); /* COMPOUND */
	p = t_put32(p, 1); /* AUTH_SYS */
	p = t_put32(p, 24);
	p = t_put32(p, 0); /* stamp */
	p = t_put32(p, 1); /* machinename "t" */
	memcpy(p, "t\0\0\0", 4);
	p += 4;
	p = t_put32(p, uid);
	p = t_put32(p, uid); /* gid */
	p = t_put32(p, 0);   /* no gids */
	p = t_put32(p, 0);   /* verifier AUTH_NONE */
	p = t_put32(p, 0);
	hdr = (size_t)(p - rec);

	memset(&a, 0, sizeof(a));
	a.tag.utf8string_len = 4;
	a.tag.utf8string_val = (char *)"test";
	a.minorversion = minor;
	a.argarray.argarray_len = n;
	a.argarray.argarray_val = ops;
	xdrmem_create(&x, (char *)rec + hdr, (u_int)(T_REC_MAX - hdr), XDR_ENCODE);
	assert_true(xdr_COMPOUND4args(&x, &a));
	hdr += xdr_getpos(&x);
	xdr_destroy(&x);

	W.nreplies = 0;
	dispatch_record(W.lp, NULL, rec, hdr);
	srv_loop_drain(W.lp);
	assert_int_equal(W.nreplies, 1);
	assert_true(W.reply_len >= 24);
	/* accepted reply: xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS */
	assert_int_equal(t_get32(W.reply), xid);
	assert_int_equal(t_get32(W.reply + 4), 1);
	assert_int_equal(t_get32(W.reply + 8), 0);
	assert_int_equal(t_get32(W.reply + 12), 0);
	assert_int_equal(t_get32(W.reply + 16), 0);
	assert_int_equal(t_get32(W.reply + 20), 0);
	assert_int_equal(W.reply_len % 4, 0);
	memset(&r->res, 0, sizeof(r->res));
	xdrmem_create(&x, (char *)W.reply + 24, (u_int)(W.reply_len - 24), XDR_DECODE);
	assert_true(xdr_COMPOUND4res(&x, &r->res));
	for (unsigned i = 0; i < sizeof(W.live) / sizeof(W.live[0]); i++) {
		if (!W.live[i].resarray.resarray_val && !W.live[i].tag.utf8string_val) {
			W.live[i] = r->res; /* the same pointers: t_free forgets them */
			break;
		}
	}
	assert_int_equal(xdr_getpos(&x), W.reply_len - 24);
	xdr_destroy(&x);
	assert_int_equal(r->res.tag.utf8string_len, 4);
	assert_memory_equal(r->res.tag.utf8string_val, "test", 4);
}

/* t_call with a credential of one's choosing: AUTH_SYS uid, gid and supplementary gids
 * (ngids <= 16), or AUTH_NONE when flavor is 0. */
static inline void t_call_cred(struct t_rep *r, uint32_t minor, uint32_t flavor, uint32_t uid,
			       uint32_t gid, uint32_t ngids, const uint32_t *gids, nfs_argop4 *ops,
			       u_int n)
{
	uint8_t *rec = malloc(T_REC_MAX), *p;
	uint32_t xid = ++W.xid;
	COMPOUND4args a;
	XDR x;
	size_t hdr;

	assert_non_null(rec);
	assert_true(ngids <= 16);
	p = rec;
	p = t_put32(p, xid);
	p = t_put32(p, 0); /* CALL */
	p = t_put32(p, 2);
	p = t_put32(p, 100003);
	p = t_put32(p, 4);
	p = t_put32(p, 1); /* COMPOUND */
	if (flavor == 1) {
		p = t_put32(p, 1); /* AUTH_SYS */
		p = t_put32(p, 20 + 4 * ngids + 4);
		p = t_put32(p, 0); /* stamp */
		p = t_put32(p, 1); /* machinename "t" */
		memcpy(p, "t\0\0\0", 4);
		p += 4;
		p = t_put32(p, uid);
		p = t_put32(p, gid);
		p = t_put32(p, ngids);
		for (uint32_t i = 0; i < ngids; i++)
			p = t_put32(p, gids[i]);
	} else {
		p = t_put32(p, 0); /* AUTH_NONE */
		p = t_put32(p, 0);
	}
	p = t_put32(p, 0); /* verifier AUTH_NONE */
	p = t_put32(p, 0);
	hdr = (size_t)(p - rec);

	memset(&a, 0, sizeof(a));
	a.tag.utf8string_len = 4;
	a.tag.utf8string_val = (char *)"test";
	a.minorversion = minor;
	a.argarray.argarray_len = n;
	a.argarray.argarray_val = ops;
	xdrmem_create(&x, (char *)rec + hdr, (u_int)(T_REC_MAX - hdr), XDR_ENCODE);
	assert_true(xdr_COMPOUND4args(&x, &a));
	hdr += xdr_getpos(&x);
	xdr_destroy(&x);

	W.nreplies = 0;
	dispatch_record(W.lp, NULL, rec, hdr);
	srv_loop_drain(W.lp);
	assert_int_equal(W.nreplies, 1);
	assert_true(W.reply_len >= 24);
	assert_int_equal(t_get32(W.reply), xid);
	assert_int_equal(t_get32(W.reply + 4), 1);
	assert_int_equal(t_get32(W.reply + 8), 0);
	assert_int_equal(t_get32(W.reply + 12), 0);
	assert_int_equal(t_get32(W.reply + 16), 0);
	assert_int_equal(t_get32(W.reply + 20), 0);
	memset(&r->res, 0, sizeof(r->res));
	xdrmem_create(&x, (char *)W.reply + 24, (u_int)(W.reply_len - 24), XDR_DECODE);
	assert_true(xdr_COMPOUND4res(&x, &r->res));
	for (unsigned i = 0; i < sizeof(W.live) / sizeof(W.live[0]); i++) {
		if (!W.live[i].resarray.resarray_val && !W.live[i].tag.utf8string_val) {
			W.live[i] = r->res;
			break;
		}
	}
	assert_int_equal(xdr_getpos(&x), W.reply_len - 24);
	xdr_destroy(&x);
}

static inline void t_free(struct t_rep *r)
{
	for (unsigned i = 0; i < sizeof(W.live) / sizeof(W.live[0]); i++) {
		if ((r->res.resarray.resarray_val &&
		     W.live[i].resarray.resarray_val == r->res.resarray.resarray_val) ||
		    (r->res.tag.utf8string_val &&
		     W.live[i].tag.utf8string_val == r->res.tag.utf8string_val)) {
			memset(&W.live[i], 0, sizeof(W.live[i]));
			break;
		}
	}
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&r->res);
	memset(r, 0, sizeof(*r));
}

static inline nfsstat4 t_op_status(const struct t_rep *r, u_int i)
{
	nfsstat4 st;

	assert_true(i < r->res.resarray.resarray_len);
	memcpy(&st, &r->res.resarray.resarray_val[i].nfs_resop4_u, sizeof(st));
	return st;
}

static inline nfs_resop4 *t_res(struct t_rep *r, u_int i)
{
	assert_true(i < r->res.resarray.resarray_len);
	return &r->res.resarray.resarray_val[i];
}

/* The COMPOUND stopped at op nres - 1 with status (earlier ops OK, and the op codes as sent). */
#define t_expect(r, ops, want_, nres_)                                                          \
	do {                                                                                    \
		const struct t_rep *r_ = (r);                                                   \
		assert_int_equal(r_->res.status, (want_));                                       \
		assert_int_equal(r_->res.resarray.resarray_len, (nres_));                        \
		for (u_int i_ = 0; i_ < (nres_); i_++) {                                         \
			assert_int_equal(r_->res.resarray.resarray_val[i_].resop, (ops)[i_].argop); \
			assert_int_equal(t_op_status(r_, i_),                                    \
					 i_ + 1 == (nres_) ? (want_) : NFS4_OK);                 \
		}                                                                               \
	} while (0)

/* Run and return the COMPOUND status. */
static inline nfsstat4 t_status(uint32_t minor, uint32_t uid, nfs_argop4 *ops, u_int n)
{
	struct t_rep r;
	nfsstat4 st;

	t_call(&r, minor, uid, ops, n);
	st = r.res.status;
	t_free(&r);
	return st;
}

/* ---- op builders --------------------------------------------------------------------------- */

struct t_fh {
	u_int len;
	char data[NFS4_FHSIZE];
};

static inline nfs_argop4 a_plain(nfs_opnum4 op)
{
	nfs_argop4 a;

	memset(&a, 0, sizeof(a));
	a.argop = op;
	return a;
}

static inline nfs_argop4 a_putfh(struct t_fh *fh)
{
	nfs_argop4 a = a_plain(OP_PUTFH);

	a.nfs_argop4_u.opputfh.object.nfs_fh4_len = fh->len;
	a.nfs_argop4_u.opputfh.object.nfs_fh4_val = fh->data;
	return a;
}

static inline nfs_argop4 a_lookup(const char *name)
{
	nfs_argop4 a = a_plain(OP_LOOKUP);

	a.nfs_argop4_u.oplookup.objname.utf8string_len = (u_int)strlen(name);
	a.nfs_argop4_u.oplookup.objname.utf8string_val = (char *)name;
	return a;
}

/* type, size, fsid, fileid, mounted_on_fileid */
static uint32_t t_amask_all[2] = {1u << FATTR4_TYPE | 1u << FATTR4_SIZE | 1u << FATTR4_FSID |
					  1u << FATTR4_FILEID,
				  1u << (FATTR4_MOUNTED_ON_FILEID - 32)};
/* type, fileid */
static uint32_t t_amask_small[1] = {1u << FATTR4_TYPE | 1u << FATTR4_FILEID};

static inline nfs_argop4 a_getattr(void)
{
	nfs_argop4 a = a_plain(OP_GETATTR);

	a.nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 2;
	a.nfs_argop4_u.opgetattr.attr_request.bitmap4_val = t_amask_all;
	return a;
}

static inline nfs_argop4 a_readdir(uint64_t cookie, const char *verf, uint32_t dircount,
				   uint32_t maxcount, bool attrs)
{
	nfs_argop4 a = a_plain(OP_READDIR);
	READDIR4args *r = &a.nfs_argop4_u.opreaddir;

	r->cookie = cookie;
	if (verf)
		memcpy(r->cookieverf, verf, NFS4_VERIFIER_SIZE);
	r->dircount = dircount;
	r->maxcount = maxcount;
	if (attrs) {
		r->attr_request.bitmap4_len = 2;
		r->attr_request.bitmap4_val = t_amask_all;
	} else {
		r->attr_request.bitmap4_len = 1;
		r->attr_request.bitmap4_val = t_amask_small;
	}
	return a;
}

static const stateid4 t_anon; /* all zeros */

static inline nfs_argop4 a_read(const stateid4 *sid, uint64_t off, uint32_t count)
{
	nfs_argop4 a = a_plain(OP_READ);

	a.nfs_argop4_u.opread.stateid = *sid;
	a.nfs_argop4_u.opread.offset = off;
	a.nfs_argop4_u.opread.count = count;
	return a;
}

static inline nfs_argop4 a_access(uint32_t bits)
{
	nfs_argop4 a = a_plain(OP_ACCESS);

	a.nfs_argop4_u.opaccess.access = bits;
	return a;
}

static inline nfs_argop4 a_open(clientid4 id, const char *owner, uint32_t seqid, uint32_t access,
				const char *name)
{
	nfs_argop4 a = a_plain(OP_OPEN);
	OPEN4args *o = &a.nfs_argop4_u.opopen;

	o->seqid = seqid;
	o->share_access = access;
	o->share_deny = OPEN4_SHARE_DENY_NONE;
	o->owner.clientid = id;
	o->owner.owner.owner_len = (u_int)strlen(owner);
	o->owner.owner.owner_val = (char *)owner;
	o->openhow.opentype = OPEN4_NOCREATE;
	o->claim.claim = CLAIM_NULL;
	o->claim.open_claim4_u.file.utf8string_len = (u_int)strlen(name);
	o->claim.open_claim4_u.file.utf8string_val = (char *)name;
	return a;
}

static inline nfs_argop4 a_close(uint32_t seqid, const stateid4 *sid)
{
	nfs_argop4 a = a_plain(OP_CLOSE);

	a.nfs_argop4_u.opclose.seqid = seqid;
	a.nfs_argop4_u.opclose.open_stateid = *sid;
	return a;
}

/* A fattr4 with the size attribute only (8 bytes of value in buf). */
static inline nfs_argop4 a_verify_size(nfs_opnum4 op, uint64_t size, uint32_t *mask, char *buf)
{
	nfs_argop4 a = a_plain(op);
	fattr4 *f = op == OP_VERIFY ? &a.nfs_argop4_u.opverify.obj_attributes
				    : &a.nfs_argop4_u.opnverify.obj_attributes;

	mask[0] = 1u << FATTR4_SIZE;
	t_put32((uint8_t *)buf, (uint32_t)(size >> 32));
	t_put32((uint8_t *)buf + 4, (uint32_t)size);
	f->attrmask.bitmap4_len = 1;
	f->attrmask.bitmap4_val = mask;
	f->attr_vals.attrlist4_len = 8;
	f->attr_vals.attrlist4_val = buf;
	return a;
}

/* ---- attributes ------------------------------------------------------------------------- */

struct t_attrs {
	bool has_type, has_size, has_fsid, has_fileid, has_mounted_on;
	uint32_t type;
	uint64_t size, fsid_major, fsid_minor, fileid, mounted_on;
};

/* Decode the fixed-size attributes the tests ask for (in bit order). */
static inline void t_attrs_parse(const fattr4 *f, struct t_attrs *t)
{
	const uint8_t *p = (const uint8_t *)f->attr_vals.attrlist4_val;
	size_t len = f->attr_vals.attrlist4_len, off = 0;

	memset(t, 0, sizeof(*t));
	for (u_int w = 0; w < f->attrmask.bitmap4_len; w++) {
		for (unsigned b = 0; b < 32; b++) {
			unsigned attr = w * 32 + b;

			if (!(f->attrmask.bitmap4_val[w] >> b & 1u))
				continue;
			switch (attr) {
			case FATTR4_TYPE:
				assert_true(off + 4 <= len);
				t->type = t_get32(p + off);
				t->has_type = true;
				off += 4;
				break;
			case FATTR4_SIZE:
				assert_true(off + 8 <= len);
				t->size = t_get64(p + off);
				t->has_size = true;
				off += 8;
				break;
			case FATTR4_FSID:
				assert_true(off + 16 <= len);
				t->fsid_major = t_get64(p + off);
				t->fsid_minor = t_get64(p + off + 8);
				t->has_fsid = true;
				off += 16;
				break;
			case FATTR4_FILEID:
				assert_true(off + 8 <= len);
				t->fileid = t_get64(p + off);
				t->has_fileid = true;
				off += 8;
				break;
			case FATTR4_MOUNTED_ON_FILEID:
				assert_true(off + 8 <= len);
				t->mounted_on = t_get64(p + off);
				t->has_mounted_on = true;
				off += 8;
				break;
			default:
				fail_msg("attribute %u not asked for", attr);
			}
		}
	}
	assert_int_equal(off, len);
}

static inline void t_getattr_of(struct t_rep *r, u_int i, struct t_attrs *t)
{
	t_attrs_parse(&t_res(r, i)->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes, t);
}

static inline void t_fh_of(struct t_rep *r, u_int i, struct t_fh *fh)
{
	nfs_fh4 *o = &t_res(r, i)->nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object;

	assert_true(o->nfs_fh4_len <= NFS4_FHSIZE);
	fh->len = o->nfs_fh4_len;
	memcpy(fh->data, o->nfs_fh4_val, o->nfs_fh4_len);
}

/* The handle of an absolute pseudo path ("/a/data/sub"), by PUTROOTFH + LOOKUPs + GETFH. */
static inline void t_path_fh(uint32_t minor, const char *path, struct t_fh *fh)
{
	nfs_argop4 ops[16];
	char copy[256], *save = NULL, *comp;
	u_int n = 0;
	struct t_rep r;

	snprintf(copy, sizeof(copy), "%s", path);
	ops[n++] = a_plain(OP_PUTROOTFH);
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		assert_true(n < 15);
		ops[n++] = a_lookup(comp);
	}
	ops[n++] = a_plain(OP_GETFH);
	assert_int_equal(minor, 0); /* 4.1 callers prefix SEQUENCE themselves */
	t_call(&r, 0, 0, ops, n);
	t_expect(&r, ops, NFS4_OK, n);
	t_fh_of(&r, n - 1, fh);
	t_free(&r);
}

/* ---- clients ----------------------------------------------------------------------------- */

/* A confirmed 4.0 client ID (SETCLIENTID + SETCLIENTID_CONFIRM) for principal uid. */
static inline clientid4 t_client40(const char *name, uint32_t uid)
{
	nfs_argop4 op = a_plain(OP_SETCLIENTID);
	SETCLIENTID4args *s = &op.nfs_argop4_u.opsetclientid;
	SETCLIENTID4resok ok;
	struct t_rep r;

	memcpy(s->client.verifier, "verifier", NFS4_VERIFIER_SIZE);
	s->client.id.id_len = (u_int)strlen(name);
	s->client.id.id_val = (char *)name;
	s->callback.cb_program = 0x40000000;
	s->callback.cb_location.na_r_netid = (char *)"tcp";
	s->callback.cb_location.na_r_addr = (char *)"127.0.0.1.3.4";
	s->callback_ident = 1;
	t_call(&r, 0, uid, &op, 1);
	assert_int_equal(r.res.status, NFS4_OK);
	ok = t_res(&r, 0)->nfs_resop4_u.opsetclientid.SETCLIENTID4res_u.resok4;
	t_free(&r);
	op = a_plain(OP_SETCLIENTID_CONFIRM);
	op.nfs_argop4_u.opsetclientid_confirm.clientid = ok.clientid;
	memcpy(op.nfs_argop4_u.opsetclientid_confirm.setclientid_confirm, ok.setclientid_confirm,
	       NFS4_VERIFIER_SIZE);
	assert_int_equal(t_status(0, uid, &op, 1), NFS4_OK);
	return ok.clientid;
}

/* The next SEQUENCE of slot 0 of W.sessid. */
static inline nfs_argop4 a_sequence(void)
{
	nfs_argop4 a = a_plain(OP_SEQUENCE);
	SEQUENCE4args *s = &a.nfs_argop4_u.opsequence;

	memcpy(s->sa_sessionid, W.sessid, NFS4_SESSIONID_SIZE);
	s->sa_sequenceid = ++W.seq;
	s->sa_slotid = 0;
	s->sa_highest_slotid = 0;
	s->sa_cachethis = FALSE;
	return a;
}

/* SEQUENCE + RECLAIM_COMPLETE (global), as every 4.1 client sends before its first OPEN
 * or LOCK (RFC 8881 §18.51.3; without it those are NFS4ERR_GRACE). */
static inline void t_reclaim_complete(void)
{
	nfs_argop4 ops[2] = {a_sequence(), a_plain(OP_RECLAIM_COMPLETE)};
	struct t_rep r;

	ops[1].nfs_argop4_u.opreclaim_complete.rca_one_fs = FALSE;
	t_call(&r, 1, 0, ops, 2);
	assert_int_equal(r.res.status, NFS4_OK);
	t_free(&r);
}

/* EXCHANGE_ID + CREATE_SESSION + RECLAIM_COMPLETE: W.sessid, W.seq = 1 (the next SEQUENCE
 * uses 2). */
static inline clientid4 t_client41(const char *name)
{
	nfs_argop4 op = a_plain(OP_EXCHANGE_ID);
	EXCHANGE_ID4args *e = &op.nfs_argop4_u.opexchange_id;
	CREATE_SESSION4args *cs;
	clientid4 id;
	uint32_t seq;
	struct t_rep r;

	memcpy(e->eia_clientowner.co_verifier, "verifier", NFS4_VERIFIER_SIZE);
	e->eia_clientowner.co_ownerid.co_ownerid_len = (u_int)strlen(name);
	e->eia_clientowner.co_ownerid.co_ownerid_val = (char *)name;
	e->eia_state_protect.spa_how = SP4_NONE;
	t_call(&r, 1, 0, &op, 1);
	assert_int_equal(r.res.status, NFS4_OK);
	id = t_res(&r, 0)->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4.eir_clientid;
	seq = t_res(&r, 0)->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4.eir_sequenceid;
	t_free(&r);

	op = a_plain(OP_CREATE_SESSION);
	cs = &op.nfs_argop4_u.opcreate_session;
	cs->csa_clientid = id;
	cs->csa_sequence = seq;
	cs->csa_flags = 0;
	cs->csa_fore_chan_attrs.ca_maxrequestsize = 1u << 20;
	cs->csa_fore_chan_attrs.ca_maxresponsesize = 1u << 20;
	cs->csa_fore_chan_attrs.ca_maxresponsesize_cached = 8192;
	cs->csa_fore_chan_attrs.ca_maxoperations = 16;
	cs->csa_fore_chan_attrs.ca_maxrequests = 8;
	cs->csa_back_chan_attrs.ca_maxrequestsize = 4096;
	cs->csa_back_chan_attrs.ca_maxresponsesize = 4096;
	cs->csa_back_chan_attrs.ca_maxoperations = 2;
	cs->csa_back_chan_attrs.ca_maxrequests = 1;
	cs->csa_cb_program = 0x40000000;
	t_call(&r, 1, 0, &op, 1);
	assert_int_equal(r.res.status, NFS4_OK);
	memcpy(W.sessid,
	       t_res(&r, 0)->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4.csr_sessionid,
	       NFS4_SESSIONID_SIZE);
	t_free(&r);
	W.seq = 0;
	t_reclaim_complete();
	return id;
}

#endif

/*
 * libFuzzer target: the bytes of one RPC record -> the whole server path (call header, NULL,
 * COMPOUND decode, op handlers, the storage engine) against a scratch export, in process.
 *
 *     fuzz_record [libFuzzer options] [corpus dirs]     (built with -DSLUICE_FUZZ=ON, clang)
 *
 * LLVMFuzzerInitialize makes the scratch export (mkdtemp under $TMPDIR or /tmp: files around
 * page sizes, nested directories, symlinks, a fifo) and the server with one loop, once. Each
 * input is copied into a malloc()ed record and handed to dispatch_record() as if it came on a
 * connection; srv_loop_drain() runs the storage engine until the request is done.
 *
 * Checks besides the sanitizers: at most one reply per record; a reply starts with the call's
 * xid and REPLY; its iovecs add up to the length the dispatcher reports, and every byte of
 * them is read (ASan sees a reply that points into freed memory); a SUCCESS reply to a
 * COMPOUND decodes as COMPOUND4res with the generated codec and nothing left over. A request
 * that never finishes shows as a libFuzzer timeout.
 *
 * Placeholders reach the session ops: the harness keeps a confirmed NFSv4.0 client
 * (SETCLIENTID + SETCLIENTID_CONFIRM) and an NFSv4.1 client (EXCHANGE_ID + CREATE_SESSION) of
 * its own, and replaces in each input the 8 bytes "@clid40@" / "@clid41@" by their clientids
 * and the 16 bytes "@@sluice-sess@@@" by a session created for that input (and destroyed
 * after it), whose slots all start at sequence id 1. The seed corpus
 * (tests/fuzz/make-seeds.py) uses them; the fuzzer keeps them where mutations leave them.
 *
 * The server's NFSv4 state (clients, sessions, opens) lives on from one input to the next,
 * as it would on a long-running server. SLUICE_FUZZ_FRESH=N (environment) replaces the
 * server by a new one every N inputs (1: every input starts from a fresh server, so a crash
 * input reproduces on its own).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "nfs4.h"
#include "server.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[256];
static char export_dir[300];
static struct config *cfg;
static struct server *srv;
static struct srv_loop *lp;
static unsigned long fresh_every;
static unsigned long inputs;

/* What the reply sink saw for the record being served. */
static struct {
	unsigned replies;
	uint8_t *buf;
	size_t cap;
	size_t len;
} out;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_record: %s\n", what);
	abort();
}

static void sink(void *arg, const struct iovec *iov, unsigned niov, size_t len)
{
	size_t sum = 0;

	(void)arg;
	out.replies++;
	for (unsigned i = 0; i < niov; i++)
		sum += iov[i].iov_len;
	if (sum != len)
		die("reply iovecs do not add up to the reply length");
	if (len > out.cap) {
		free(out.buf);
		out.cap = len;
		out.buf = malloc(len);
		if (!out.buf)
			die("out of memory");
	}
	out.len = 0;
	for (unsigned i = 0; i < niov; i++) {
		if (iov[i].iov_len)
			memcpy(out.buf + out.len, iov[i].iov_base, iov[i].iov_len);
		out.len += iov[i].iov_len;
	}
}

static uint32_t be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/*
 * srv_loop_drain() until nothing is in flight. It returns early when a signal interrupts its
 * wait (EINTR; libFuzzer's -timeout is a SIGALRM every few seconds), so it runs again; a
 * request that never finishes keeps it busy until libFuzzer reports a timeout.
 */
static void drain(void)
{
	while (lp->requests > 0)
		srv_loop_drain(lp);
}

/* ---- the scratch export --------------------------------------------------------------------- */

static void put_file(const char *rel, size_t size)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", export_dir, rel);
	f = fopen(path, "w");
	if (!f)
		die("cannot create a scratch file");
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 131u + (i >> 9)) & 0xff), f);
	fclose(f);
}

static void put(int ret, const char *what)
{
	if (ret < 0) {
		perror(what);
		die("cannot build the scratch export");
	}
}

static void make_export(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[512];

	snprintf(scratch, sizeof(scratch), "%s/sluice-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp failed");
	snprintf(export_dir, sizeof(export_dir), "%s/export", scratch);
	put(mkdir(export_dir, 0755), "mkdir export");
#define SUB(rel) (snprintf(p, sizeof(p), "%s/%s", export_dir, rel), p)
	put(mkdir(SUB("dir"), 0755), "mkdir dir");
	put(mkdir(SUB("dir/sub"), 0755), "mkdir dir/sub");
	put(mkdir(SUB("empty"), 0755), "mkdir empty");
	put(mkdir(SUB("noaccess"), 0700), "mkdir noaccess");
	put_file("a", 1);
	put_file("small.txt", 100);
	put_file("page", 4096);
	put_file("big.bin", 300 * 1024);
	put_file("empty.txt", 0);
	put_file("dir/inner", 5000);
	put_file("dir/sub/deep", 7);
	put_file("noaccess/secret", 10);
	put(chmod(SUB("noaccess/secret"), 0600), "chmod");
	put(symlink("small.txt", SUB("link")), "symlink");
	put(symlink("dir", SUB("linkdir")), "symlink");
	put(symlink("no/such/target", SUB("dangling")), "symlink");
	put(symlink("../../..", SUB("dir/up")), "symlink");
	put(mkfifo(SUB("fifo"), 0644), "mkfifo");
#undef SUB
	/* outside the export, on the same file system: forged handles may name it */
	snprintf(p, sizeof(p), "%s/outside", scratch);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs("outside the export\n", f);
		fclose(f);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- the server ----------------------------------------------------------------------------- */

static void server_up(void)
{
	int ret = server_create(&srv, cfg);

	if (ret < 0) {
		fprintf(stderr, "fuzz_record: server_create: %s (run as root: open_by_handle_at)\n",
			strerror(-ret));
		exit(1);
	}
	lp->srv = srv;
}

static void teardown(void)
{
	if (lp) {
		drain();
		srv_loop_destroy(lp);
		lp = NULL;
	}
	server_destroy(srv);
	srv = NULL;
	config_free(cfg);
	cfg = NULL;
	free(out.buf);
	out.buf = NULL;
	if (scratch[0])
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *fresh = getenv("SLUICE_FUZZ_FRESH");
	char err[4096];
	int ret;

	(void)argc;
	(void)argv;
	/* Warnings and errors only: a debug line per op would be most of the run's time. */
	log_set_level(getenv("SLUICE_FUZZ_LOG") ? LL_DEBUG : LL_ERROR);
	fresh_every = fresh ? strtoul(fresh, NULL, 10) : 0;
	/* The export is writable, so inputs WRITE, ALLOCATE and COPY: no file may grow past
	 * 1 MiB (EFBIG instead of SIGXFSZ), or a long run could fill the machine's disk. */
	{
		struct rlimit fsz = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &fsz) < 0)
			perror("fuzz_record: setrlimit RLIMIT_FSIZE");
	}
	make_export();
	if (config_default_for_export(export_dir, &cfg, err, sizeof(err)) < 0 ||
	    config_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_record: configuration: %s\n", err);
		exit(1);
	}
	/* No client records: every fuzzed client would cost an fdatasync, and a restart is
	 * never fuzzed (host.state and the guest batteries check the records). */
	free(cfg->state_dir);
	cfg->state_dir = NULL;
	/* the loop first, with a placeholder server, so that server_up() only swaps servers */
	ret = server_create(&srv, cfg);
	if (ret < 0) {
		fprintf(stderr, "fuzz_record: server_create: %s (run as root: open_by_handle_at)\n",
			strerror(-ret));
		exit(1);
	}
	ret = srv_loop_create(&lp, srv, ev_default_loop(0));
	if (ret < 0) {
		fprintf(stderr, "fuzz_record: srv_loop_create: %s\n", strerror(-ret));
		exit(1);
	}
	atexit(teardown);
	return 0;
}

/* ---- the harness's own clients and sessions ------------------------------------------------- */

#define PH_CLID40 "@clid40@"
#define PH_CLID41 "@clid41@"
#define PH_SESSION "@@sluice-sess@@@"
#define HARNESS_XID 0xfeed0000u

struct wbuf {
	uint8_t b[512];
	size_t n;
};

static void w32(struct wbuf *w, uint32_t v)
{
	v = htonl(v);
	memcpy(w->b + w->n, &v, 4);
	w->n += 4;
}

static void w64(struct wbuf *w, uint64_t v)
{
	w32(w, (uint32_t)(v >> 32));
	w32(w, (uint32_t)v);
}

static void wraw(struct wbuf *w, const void *p, size_t len)
{
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

static void wopaque(struct wbuf *w, const void *p, uint32_t len)
{
	w32(w, len);
	wraw(w, p, len);
	while (w->n & 3)
		w->b[w->n++] = 0;
}

/* RPC call header (AUTH_NONE), COMPOUND header with an empty tag, one op follows. */
static void w_compound(struct wbuf *w, uint32_t minor, uint32_t op)
{
	static uint32_t xid = HARNESS_XID;

	w->n = 0;
	w32(w, xid++);
	w32(w, 0);      /* CALL */
	w32(w, 2);      /* RPC version */
	w32(w, 100003); /* NFS */
	w32(w, 4);
	w32(w, 1);      /* COMPOUND */
	w64(w, 0);      /* cred AUTH_NONE, empty */
	w64(w, 0);      /* verf AUTH_NONE, empty */
	w32(w, 0);      /* tag */
	w32(w, minor);
	w32(w, 1);      /* numops */
	w32(w, op);
}

/*
 * Run the harness's own one-op COMPOUND; on NFS4_OK, the op's result after its status is at
 * *res (inside out.buf) with *len bytes. Returns the op's status, or -1 for no usable reply.
 */
static long harness_call(const struct wbuf *w, const uint8_t **res, size_t *len)
{
	uint8_t *rec = malloc(w->n);
	size_t off = 24;
	uint32_t taglen;

	if (!rec)
		die("out of memory");
	memcpy(rec, w->b, w->n);
	out.replies = 0;
	out.len = 0;
	dispatch_record(lp, NULL, rec, w->n);
	drain();
	if (out.replies != 1 || out.len < off + 8 || be32(out.buf + 20) != 0 /* SUCCESS */)
		return -1;
	taglen = be32(out.buf + off + 4);
	off += 8 + ((taglen + 3) & ~3u) + 4; /* status, tag, nres */
	if (out.len < off + 8)
		return -1;
	*res = out.buf + off + 8;
	*len = out.len - off - 8;
	return (long)be32(out.buf + off + 4);
}

static struct {
	bool c40, c41;
	uint64_t clid40, clid41;
	uint32_t cs_seq;     /* the 4.1 client's next csa_sequence */
	unsigned serial;     /* client names: a new one whenever a client is lost */
} hc;

static bool harness_client40(void)
{
	const uint8_t *r;
	size_t rl;
	char name[64];
	uint8_t verf[8];
	uint64_t id;
	struct wbuf w;
	int n;

	n = snprintf(name, sizeof(name), "sluice-fuzz-40-%u", hc.serial++);
	w_compound(&w, 0, OP_SETCLIENTID);
	wraw(&w, "fuzzverf", 8);
	wopaque(&w, name, (uint32_t)n);
	w32(&w, 0x40000000);      /* cb_program */
	wopaque(&w, "tcp", 3);
	wopaque(&w, "127.0.0.1.0.1", 13);
	w32(&w, 1);               /* callback_ident */
	if (harness_call(&w, &r, &rl) != NFS4_OK || rl < 16)
		return false;
	id = (uint64_t)be32(r) << 32 | be32(r + 4);
	memcpy(verf, r + 8, 8);
	w_compound(&w, 0, OP_SETCLIENTID_CONFIRM);
	w64(&w, id);
	wraw(&w, verf, 8);
	if (harness_call(&w, &r, &rl) != NFS4_OK)
		return false;
	hc.clid40 = id;
	hc.c40 = true;
	return true;
}

static void w_chan(struct wbuf *w, uint32_t req, uint32_t resp, uint32_t cached, uint32_t ops,
		   uint32_t reqs)
{
	w32(w, 0); /* headerpadsize */
	w32(w, req);
	w32(w, resp);
	w32(w, cached);
	w32(w, ops);
	w32(w, reqs);
	w32(w, 0); /* rdma_ird<1>: none */
}

/* CREATE_SESSION for the 4.1 client: the new session's id in sid. */
static bool harness_session(uint8_t sid[16])
{
	const uint8_t *r;
	size_t rl;
	struct wbuf w;

	w_compound(&w, 1, OP_CREATE_SESSION);
	w64(&w, hc.clid41);
	w32(&w, hc.cs_seq);
	w32(&w, 0); /* flags */
	w_chan(&w, 1049600, 1049600, 16384, 16, 64);
	w_chan(&w, 4096, 4096, 0, 2, 1);
	w32(&w, 0x40000000); /* cb_program */
	w32(&w, 1);          /* csa_sec_parms<>: AUTH_NONE */
	w32(&w, 0);
	if (harness_call(&w, &r, &rl) != NFS4_OK || rl < 16)
		return false;
	hc.cs_seq++;
	memcpy(sid, r, 16);
	return true;
}

static bool harness_client41(void)
{
	const uint8_t *r;
	size_t rl;
	char name[64];
	uint8_t sid[16];
	struct wbuf w;
	int n;

	n = snprintf(name, sizeof(name), "sluice-fuzz-41-%u", hc.serial++);
	w_compound(&w, 1, OP_EXCHANGE_ID);
	wraw(&w, "fuzzverf", 8);
	wopaque(&w, name, (uint32_t)n);
	w32(&w, 0);  /* flags */
	w32(&w, 0);  /* SP4_NONE */
	w32(&w, 0);  /* no implementation id */
	if (harness_call(&w, &r, &rl) != NFS4_OK || rl < 12)
		return false;
	hc.clid41 = (uint64_t)be32(r) << 32 | be32(r + 4);
	hc.cs_seq = be32(r + 8);
	hc.c41 = true;
	/* the first CREATE_SESSION confirms the client; that session is not used again */
	if (!harness_session(sid))
		return hc.c41 = false;
	return true;
}

static void harness_destroy_session(const uint8_t sid[16])
{
	const uint8_t *r;
	size_t rl;
	struct wbuf w;

	w_compound(&w, 1, OP_DESTROY_SESSION);
	wraw(&w, sid, 16);
	harness_call(&w, &r, &rl);
}

static void replace_all(uint8_t *rec, size_t size, const char *ph, const void *with, size_t len)
{
	uint8_t *p = rec;

	while ((p = memmem(p, size - (size_t)(p - rec), ph, len))) {
		memcpy(p, with, len);
		p += len;
	}
}

/* Fill in the placeholders of rec; *sid_used tells whether a session was made for it. */
static void fixup(uint8_t *rec, size_t size, uint8_t sid[16], bool *sid_used)
{
	uint8_t id[8];

	*sid_used = false;
	if (memmem(rec, size, PH_CLID40, 8)) {
		if (hc.c40 || harness_client40()) {
			for (int i = 0; i < 8; i++)
				id[i] = (uint8_t)(hc.clid40 >> (56 - 8 * i));
			replace_all(rec, size, PH_CLID40, id, 8);
		}
	}
	if (memmem(rec, size, PH_CLID41, 8) || memmem(rec, size, PH_SESSION, 16)) {
		/* a client the fuzzer destroyed, or whose lease ran out: start another */
		if (!hc.c41 && !harness_client41())
			return;
		if (memmem(rec, size, PH_SESSION, 16)) {
			if (!harness_session(sid) && !(harness_client41() && harness_session(sid)))
				return;
			*sid_used = true;
			replace_all(rec, size, PH_SESSION, sid, 16);
		}
		for (int i = 0; i < 8; i++)
			id[i] = (uint8_t)(hc.clid41 >> (56 - 8 * i));
		replace_all(rec, size, PH_CLID41, id, 8);
	}
}

/* The reply to a COMPOUND that was accepted: COMPOUND4res, exactly. */
static void check_compound_res(const uint8_t *body, size_t len)
{
	COMPOUND4res res;
	bool_t ok;
	XDR x;

	memset(&res, 0, sizeof(res));
	xdrmem_create(&x, (char *)(uintptr_t)body, (u_int)len, XDR_DECODE);
	ok = xdr_COMPOUND4res(&x, &res);
	if (ok && xdr_getpos(&x) != len)
		ok = FALSE;
	xdr_destroy(&x);
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	if (!ok)
		die("a COMPOUND reply does not decode as COMPOUND4res");
}

/* The reply in out.buf to a record of size bytes that started with data[0..min(size, 24)):
 * 0 when it is fine. */
static int check_reply(const uint8_t *data, size_t size)
{
	/* RFC 5531 §9: a reply carries the call's xid; only a record with an xid and
	 * msg_type CALL is ever answered. */
	if (size < 8 || be32(data + 4) != 0 /* CALL */) {
		fprintf(stderr, "fuzz_record: a record that is no call was answered\n");
		return 1;
	}
	if (out.len < 12 || memcmp(out.buf, data, 4) != 0) {
		fprintf(stderr, "fuzz_record: the reply does not start with the call's xid\n");
		return 1;
	}
	if (be32(out.buf + 4) != 1 /* REPLY */) {
		fprintf(stderr, "fuzz_record: the reply is not a REPLY\n");
		return 1;
	}
	/* MSG_ACCEPTED, verifier AUTH_NONE (empty), SUCCESS, to proc COMPOUND of NFSv4 */
	if (out.len >= 24 && be32(out.buf + 8) == 0 && be32(out.buf + 12) == 0 &&
	    be32(out.buf + 16) == 0 && be32(out.buf + 20) == 0 && size >= 24 &&
	    be32(data + 12) == 100003 && be32(data + 16) == 4 && be32(data + 20) == 1)
		check_compound_res(out.buf + 24, out.len - 24);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *rec = malloc(size ? size : 1);
	uint8_t sid[16], hdr[24];
	bool sid_used;
	int bad = 0;

	if (!rec)
		return 0;
	if (fresh_every && inputs && inputs % fresh_every == 0) {
		server_destroy(srv);
		server_up();
		memset(&hc, 0, sizeof(hc));
	}
	inputs++;
	if (inputs % 1024 == 0) {
		state_sweep(srv->state); /* sluiced's lease timer */
		hc.c40 = false;          /* a 4.0 client the fuzzer may have let expire */
	}
	memcpy(rec, data, size);
	lp->reply_sink = sink;
	lp->reply_arg = NULL;
	fixup(rec, size, sid, &sid_used);
	memcpy(hdr, rec, size < sizeof(hdr) ? size : sizeof(hdr)); /* the call as sent */
	out.replies = 0;
	out.len = 0;

	dispatch_record(lp, NULL, rec, size); /* rec is the callee's now */
	drain();

	if (out.replies > 1)
		die("more than one reply to one record");
	if (out.replies)
		bad = check_reply(hdr, size);
	if (sid_used)
		harness_destroy_session(sid);
	if (bad)
		abort();
	return 0;
}

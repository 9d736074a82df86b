/*
 * sluice-loadgen: an NFSv4 load generator on libnfs's asynchronous API, for the native plane of
 * sluice's benchmark (bench/native/run). It talks to the server directly (no kernel client):
 * several TCP connections, one struct nfs_context each, with many READs in flight on every one,
 * all driven by poll() over nfs_get_fd()/nfs_which_events()/nfs_service() from one thread (or
 * one thread per connection with -T).
 *
 *   sluice-loadgen [options] seq   PATH...     read the files in order, request size -b
 *   sluice-loadgen [options] rand  PATH...     random -b aligned reads inside the files
 *   sluice-loadgen [options] files PATH...     read each file whole: OPEN, READ to EOF, CLOSE
 *   sluice-loadgen gen SIZE FILE...            write FILE(s) of SIZE bytes of the pattern
 *   sluice-loadgen gen-tree DIR COUNT SIZE [PER_DIR]
 *                                              COUNT files of SIZE +-10 % in DIR/dNNN/, names
 *                                              printed (relative to DIR) on stdout
 *
 * PATHs are relative to the export (-e). -L FILE adds the paths listed in FILE, one a line.
 * The result is one line of key=value pairs on stdout (see print_result); errors go to stderr,
 * and a run with any error exits 1.
 *
 * Data pattern (gen writes it, -V checks it): the 8-byte little-endian word at offset 8*w of a
 * file whose base name is B is mix64(fnv1a64(B) + (w + 1) * GOLDEN). A wrong offset, a wrong
 * file or a block of zeros therefore never verifies.
 *
 * seq: the files are cut into -b chunks, numbered across all files in order. With --split
 * region (the default) connection i reads the i-th contiguous run of chunks, so the server sees
 * c sequential streams (c readers each streaming its own part of the shards); with --split
 * interleave chunk k goes to connection k mod c, so the server sees one stream whose requests
 * arrive over c connections. Each connection keeps -q requests in flight, issued in order.
 * One op is one READ (a short READ before the end is continued, counted in short=).
 *
 * files: -q files at a time per connection, taken in list order; one op is one whole file:
 * OPEN (libnfs sends PUTFH, LOOKUP..., GETATTR, ACCESS, OPEN, GETFH in one COMPOUND; the first
 * OPEN of a connection also an OPEN_CONFIRM), READs of -b bytes until a short one (the server
 * set eof; libnfs does not pass the flag on), CLOSE. OPEN and CLOSE are serialised per
 * connection (NFSv4.0 seqid rule; see struct conn), READs are not.
 *
 * Each connection is a separate NFSv4 client (its own client name and verifier), as separate
 * machines would be.
 *
 * Built on libnfs 4.0 (Debian bookworm): that version has no nfs_set_nfsport(); the port and the
 * protocol version are set through the URL (nfs://HOST/EXPORT?version=4&nfsport=PORT) and
 * nfs_set_version(NFS_V4) is called as well. libnfs speaks NFSv4.0 there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#ifndef NFS_V4
#define NFS_V4 4 /* libnfs 4.0 defines it only in libnfs-raw-nfs4.h */
#endif

#define GOLDEN 0x9e3779b97f4a7c15ull
#define MAX_ERR_PRINT 10

/* ---- the data pattern ------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t z)
{
	z ^= z >> 30;
	z *= 0xbf58476d1ce4e5b9ull;
	z ^= z >> 27;
	z *= 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z;
}

static uint64_t name_seed(const char *path)
{
	const char *b = strrchr(path, '/');
	uint64_t h = 0xcbf29ce484222325ull;

	for (b = b ? b + 1 : path; *b; b++) {
		h ^= (unsigned char)*b;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Fill buf with the pattern bytes [off, off + len) of a file with seed `seed`. */
static void pattern_fill(uint8_t *buf, uint64_t seed, uint64_t off, size_t len)
{
	uint64_t w = off / 8;
	size_t skip = off % 8, done = 0;

	while (done < len) {
		uint64_t v = mix64(seed + (w + 1) * GOLDEN);
		uint8_t b[8];

		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		size_t n = 8 - skip;
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, b + skip, n);
		done += n;
		skip = 0;
		w++;
	}
}

/* ---- options and shared state ------------------------------------------------------------ */

enum mode { M_SEQ, M_RAND, M_FILES };

static struct {
	const char *host;
	int port;
	const char *export;
	int conns;
	int depth;
	uint64_t bs;
	double duration;   /* rand: seconds (0 = use count) */
	uint64_t count;    /* rand: ops in total */
	uint64_t seed;
	bool verify;
	bool threads;
	bool interleave;
	const char *label;
	int64_t expect;    /* --expect-bytes: the bytes the run must read in all (-1: any) */
	enum mode mode;
} opt = {
	.host = "127.0.0.1", .port = 2049, .export = "/", .conns = 4, .depth = 8,
	.bs = 1 << 20, .duration = 0, .count = 0, .seed = 1, .label = "-", .expect = -1,
};

struct file {
	char *path;      /* as libnfs wants it: "/" + path relative to the export */
	uint64_t size;   /* seq and rand: from a GETATTR before the run */
	uint64_t seed;   /* pattern seed */
	uint64_t first;  /* seq: number of the file's first chunk */
};

static struct file *files;
static size_t nfiles;
static uint64_t nchunks;            /* seq */
static _Atomic size_t next_file;    /* files mode: the next file to read */
static double deadline;             /* rand with -t: monotonic seconds */
static _Atomic int errs_printed;

struct conn;

struct slot {
	struct conn *c;
	bool busy;
	double t0;            /* when the op started (its first request was sent) */
	size_t file;
	uint64_t off;         /* offset of the next request of the op */
	uint64_t left;        /* bytes the op still wants (seq, rand) */
	struct nfsfh *fh;     /* files mode: the open file */
	uint64_t fbytes;      /* files mode: bytes read from this file so far */
	bool failed;          /* files mode: a READ failed; the file is closed and not counted */
	bool want_close;      /* files mode: queued for CLOSE (else for OPEN) */
	struct slot *qnext;   /* files mode: the queue of slots waiting for the seqid turn */
};

struct conn {
	int idx;
	struct nfs_context *nfs;
	struct nfsfh **fh;    /* seq, rand: one handle per file (NULL when not needed) */
	struct slot *slots;
	int inflight;
	bool dead;
	/* seq: chunks next, next + stride, ... < end */
	uint64_t next, end, stride;
	/* rand */
	uint64_t rng;
	uint64_t ops_left;    /* -n: ops this connection still issues */
	/* results */
	uint64_t bytes, ops, reads, errors, shorts, verified;
	double *lat;          /* latency of every completed op, ms */
	size_t nlat, caplat;
	uint8_t *scratch;     /* -V: the expected bytes */
	/* files mode: NFSv4.0 OPEN and CLOSE of one open-owner carry its seqid and must not
	 * overlap (RFC 7530 9.1.7); libnfs 4.0 uses one open-owner per context and does not
	 * serialise them itself, so at most one OPEN or CLOSE is in flight per connection and the
	 * others wait here, in order. READs are not held back. */
	bool seqid_busy;
	struct slot *qhead, *qtail;
};

static struct conn *conns;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "sluice-loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static void conn_error(struct conn *c, const char *what, const char *detail)
{
	c->errors++;
	if (atomic_fetch_add(&errs_printed, 1) < MAX_ERR_PRINT)
		fprintf(stderr, "sluice-loadgen: conn %d: %s: %s\n", c->idx, what, detail ? detail : "");
}

static void add_lat(struct conn *c, double ms)
{
	if (c->nlat == c->caplat) {
		c->caplat = c->caplat ? 2 * c->caplat : 4096;
		c->lat = realloc(c->lat, c->caplat * sizeof(*c->lat));
		if (!c->lat)
			die("out of memory");
	}
	c->lat[c->nlat++] = ms;
}

static uint64_t rng_next(uint64_t *s)
{
	*s += GOLDEN;
	return mix64(*s);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if ((*end == 'b' || *end == 'B') && end[1] == '\0')
		end++;
	if (*end || v < 0)
		die("bad size '%s'", s);
	return (uint64_t)v;
}

/* ---- the verify step ----------------------------------------------------------------------- */

static void check_data(struct conn *c, size_t fi, uint64_t off, const void *data, int n)
{
	if (!opt.verify || n <= 0)
		return;
	pattern_fill(c->scratch, files[fi].seed, off, (size_t)n);
	if (memcmp(c->scratch, data, (size_t)n) != 0) {
		char msg[256];
		const uint8_t *d = data;
		size_t i = 0;

		while (i < (size_t)n && d[i] == c->scratch[i])
			i++;
		snprintf(msg, sizeof(msg), "%s: bytes %" PRIu64 "..%" PRIu64 " differ from the pattern "
			 "(first at %" PRIu64 ")", files[fi].path, off, off + (uint64_t)n, off + i);
		conn_error(c, "verify", msg);
		return;
	}
	c->verified += (uint64_t)n;
}

/* ---- seq and rand: preads on handles opened before the run ------------------------------- */

static void slot_start(struct slot *s);

static void finish_op(struct slot *s, double t)
{
	struct conn *c = s->c;

	c->ops++;
	add_lat(c, (t - s->t0) * 1e3);
	s->busy = false;
	c->inflight--;
	slot_start(s);
}

static void fail_op(struct slot *s)
{
	s->busy = false;
	s->c->inflight--;
	slot_start(s);
}

static void pread_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct slot *s = priv;
	struct conn *c = s->c;
	(void)nfs;

	if (err < 0) {
		conn_error(c, "READ", data);
		fail_op(s);
		return;
	}
	c->reads++;
	c->bytes += (uint64_t)err;
	check_data(c, s->file, s->off, data, err);
	if ((uint64_t)err < s->left) {
		/* Short: the rest of the request again (0 bytes before the file's end is an error). */
		c->shorts++;
		if (err == 0) {
			conn_error(c, "READ", "0 bytes before the end of the file");
			fail_op(s);
			return;
		}
		s->off += (uint64_t)err;
		s->left -= (uint64_t)err;
		if (nfs_pread_async(c->nfs, c->fh[s->file], s->off, s->left, pread_cb, s) < 0) {
			conn_error(c, "READ (queue)", nfs_get_error(c->nfs));
			fail_op(s);
		}
		return;
	}
	finish_op(s, now());
}

static bool seq_next(struct conn *c, size_t *fi, uint64_t *off, uint64_t *len)
{
	if (c->next >= c->end)
		return false;
	uint64_t k = c->next;
	size_t lo = 0, hi = nfiles;

	c->next += c->stride;
	while (hi - lo > 1) { /* the last file whose first chunk is <= k */
		size_t mid = (lo + hi) / 2;
		if (files[mid].first <= k)
			lo = mid;
		else
			hi = mid;
	}
	/* Empty files have no chunk: skip past them (their `first` equals the next file's). */
	while (lo + 1 < nfiles && files[lo + 1].first <= k)
		lo++;
	*fi = lo;
	*off = (k - files[lo].first) * opt.bs;
	*len = files[lo].size - *off < opt.bs ? files[lo].size - *off : opt.bs;
	return true;
}

static bool rand_next(struct conn *c, size_t *fi, uint64_t *off, uint64_t *len)
{
	if (opt.duration > 0) {
		if (now() >= deadline)
			return false;
	} else {
		if (c->ops_left == 0)
			return false;
		c->ops_left--;
	}
	size_t f = (size_t)(rng_next(&c->rng) % nfiles);
	uint64_t blocks = files[f].size / opt.bs;

	*fi = f;
	*off = (rng_next(&c->rng) % blocks) * opt.bs;
	*len = opt.bs;
	return true;
}

/* ---- files mode: OPEN, READ until a short read (the server's eof), CLOSE ------------------- */

static void seqid_send(struct slot *s);

/* Run the OPEN or CLOSE of s now if the connection's seqid turn is free, else queue it. */
static void seqid_op(struct slot *s, bool close)
{
	struct conn *c = s->c;

	s->want_close = close;
	if (c->seqid_busy) {
		s->qnext = NULL;
		if (c->qtail)
			c->qtail->qnext = s;
		else
			c->qhead = s;
		c->qtail = s;
		return;
	}
	c->seqid_busy = true;
	seqid_send(s);
}

/* The OPEN or CLOSE in flight has ended: give the turn to the next one waiting. */
static void seqid_done(struct conn *c)
{
	struct slot *s = c->qhead;

	if (!s) {
		c->seqid_busy = false;
		return;
	}
	c->qhead = s->qnext;
	if (!c->qhead)
		c->qtail = NULL;
	seqid_send(s);
}

static void files_close_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct slot *s = priv;
	struct conn *c = s->c;
	(void)nfs;

	seqid_done(c);
	if (err < 0) {
		conn_error(c, "CLOSE", data);
		fail_op(s);
		return;
	}
	if (s->failed)
		fail_op(s);
	else
		finish_op(s, now());
}

static void files_read_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct slot *s = priv;
	struct conn *c = s->c;
	(void)nfs;

	if (err < 0) {
		conn_error(c, "READ", data);
		s->failed = true;
		seqid_op(s, true);
		return;
	}
	c->reads++;
	c->bytes += (uint64_t)err;
	check_data(c, s->file, s->fbytes, data, err);
	s->fbytes += (uint64_t)err;
	if ((uint64_t)err < opt.bs) { /* short read: the end of the file */
		seqid_op(s, true);
		return;
	}
	if (nfs_pread_async(c->nfs, s->fh, s->fbytes, opt.bs, files_read_cb, s) < 0) {
		conn_error(c, "READ (queue)", nfs_get_error(c->nfs));
		s->failed = true;
		seqid_op(s, true);
	}
}

static void files_open_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct slot *s = priv;
	struct conn *c = s->c;
	(void)nfs;

	seqid_done(c);
	if (err < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", files[s->file].path, (const char *)data);
		conn_error(c, "OPEN", msg);
		fail_op(s);
		return;
	}
	s->fh = data;
	s->fbytes = 0;
	s->failed = false;
	if (nfs_pread_async(c->nfs, s->fh, 0, opt.bs, files_read_cb, s) < 0) {
		conn_error(c, "READ (queue)", nfs_get_error(c->nfs));
		s->failed = true;
		seqid_op(s, true);
	}
}

static void seqid_send(struct slot *s)
{
	struct conn *c = s->c;

	if (s->want_close) {
		if (nfs_close_async(c->nfs, s->fh, files_close_cb, s) < 0) {
			conn_error(c, "CLOSE (queue)", nfs_get_error(c->nfs));
			seqid_done(c);
			fail_op(s);
		}
	} else {
		if (nfs_open_async(c->nfs, files[s->file].path, O_RDONLY, files_open_cb, s) < 0) {
			conn_error(c, "OPEN (queue)", nfs_get_error(c->nfs));
			seqid_done(c);
			fail_op(s);
		}
	}
}

/* Start the next op on a free slot, if there is one to start. */
static void slot_start(struct slot *s)
{
	struct conn *c = s->c;
	size_t fi;
	uint64_t off, len;

	if (c->dead)
		return;
	if (opt.mode == M_FILES) {
		fi = atomic_fetch_add(&next_file, 1);
		if (fi >= nfiles)
			return;
		s->busy = true;
		s->file = fi;
		s->t0 = now();
		c->inflight++;
		seqid_op(s, false);
		return;
	}
	if (!(opt.mode == M_SEQ ? seq_next(c, &fi, &off, &len) : rand_next(c, &fi, &off, &len)))
		return;
	s->busy = true;
	s->file = fi;
	s->off = off;
	s->left = len;
	s->t0 = now();
	c->inflight++;
	if (nfs_pread_async(c->nfs, c->fh[fi], off, len, pread_cb, s) < 0) {
		conn_error(c, "READ (queue)", nfs_get_error(c->nfs));
		fail_op(s);
	}
}

/* ---- the event loop ----------------------------------------------------------------------- */

static void conn_dead(struct conn *c)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "%d requests lost", c->inflight);
	conn_error(c, "connection failed", nfs_get_error(c->nfs));
	c->errors += (uint64_t)c->inflight;
	if (c->inflight)
		conn_error(c, "connection failed", msg);
	c->dead = true;
	c->inflight = 0;
}

static void run_loop(struct conn *cs, int n)
{
	struct pollfd *pfd = xmalloc((size_t)n * sizeof(*pfd));
	int *map = xmalloc((size_t)n * sizeof(*map));

	for (int i = 0; i < n; i++)
		for (int k = 0; k < opt.depth; k++)
			slot_start(&cs[i].slots[k]);
	for (;;) {
		int m = 0;

		for (int i = 0; i < n; i++) {
			if (cs[i].dead || cs[i].inflight == 0)
				continue;
			pfd[m].fd = nfs_get_fd(cs[i].nfs);
			pfd[m].events = (short)nfs_which_events(cs[i].nfs);
			pfd[m].revents = 0;
			map[m++] = i;
		}
		if (m == 0)
			break;
		int r = poll(pfd, (nfds_t)m, 1000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int j = 0; j < m; j++) {
			struct conn *c = &cs[map[j]];
			if (c->dead)
				continue;
			if (nfs_service(c->nfs, pfd[j].revents) < 0)
				conn_dead(c);
		}
	}
	free(pfd);
	free(map);
}

static void *thread_main(void *arg)
{
	run_loop(arg, 1);
	return NULL;
}

/* ---- set-up -------------------------------------------------------------------------------- */

static void add_file(const char *p, size_t *cap)
{
	if (!*p)
		return;
	if (nfiles == *cap) {
		*cap = *cap ? 2 * *cap : 1024;
		files = realloc(files, *cap * sizeof(*files));
		if (!files)
			die("out of memory");
	}
	struct file *f = &files[nfiles++];
	memset(f, 0, sizeof(*f));
	if (asprintf(&f->path, "%s%s", p[0] == '/' ? "" : "/", p) < 0)
		die("out of memory");
	f->seed = name_seed(p);
}

static void read_list(const char *list, size_t *cap)
{
	FILE *fp = fopen(list, "r");
	char *line = NULL;
	size_t n = 0;
	ssize_t len;

	if (!fp)
		die("%s: %s", list, strerror(errno));
	while ((len = getline(&line, &n, fp)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		add_file(line, cap);
	}
	free(line);
	fclose(fp);
}

static struct nfs_context *connect_one(int idx)
{
	struct nfs_context *nfs = nfs_init_context();
	char *url, name[96], verf[8];
	struct nfs_url *u;
	uint64_t v = mix64((uint64_t)getpid() * GOLDEN + (uint64_t)idx + (uint64_t)time(NULL));

	if (!nfs)
		die("nfs_init_context failed");
	/* Every context of a process has the same NFSv4 client name by default, so a second
	 * SETCLIENTID would take the client over from the first (NFS4ERR_STALE_CLIENTID there):
	 * one client name per connection, as separate client machines would have. */
	snprintf(name, sizeof(name), "sluice-loadgen pid %d conn %d", (int)getpid(), idx);
	nfs4_set_client_name(nfs, name);
	memcpy(verf, &v, sizeof(verf));
	nfs4_set_verifier(nfs, verf);
	if (asprintf(&url, "nfs://%s%s%s?version=4&nfsport=%d", opt.host,
		     opt.export[0] == '/' ? "" : "/", opt.export, opt.port) < 0)
		die("out of memory");
	u = nfs_parse_url_dir(nfs, url);
	if (!u)
		die("%s: %s", url, nfs_get_error(nfs));
	if (nfs_set_version(nfs, NFS_V4) != 0)
		die("nfs_set_version(NFS_V4): %s", nfs_get_error(nfs));
	if (nfs_mount(nfs, u->server, u->path) != 0)
		die("mount of %s failed: %s", url, nfs_get_error(nfs));
	nfs_destroy_url(u);
	free(url);
	return nfs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

/* ---- gen: write the pattern locally ------------------------------------------------------- */

static void gen_file(const char *path, uint64_t size)
{
	static uint8_t *buf;
	const size_t chunk = 1 << 20;
	int fd;
	uint64_t seed = name_seed(path), off = 0;

	if (!buf)
		buf = xmalloc(chunk);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	while (off < size) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		pattern_fill(buf, seed, off, n);
		for (size_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, n - done);
			if (w < 0)
				die("%s: write: %s", path, strerror(errno));
			done += (size_t)w;
		}
		off += n;
	}
	if (close(fd) != 0)
		die("%s: close: %s", path, strerror(errno));
}

static int gen_main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: gen SIZE FILE...");
	uint64_t size = parse_size(argv[1]);
	for (int i = 2; i < argc; i++)
		gen_file(argv[i], size);
	return 0;
}

static int gen_tree_main(int argc, char **argv)
{
	if (argc < 4)
		die("usage: gen-tree DIR COUNT SIZE [PER_DIR]");
	const char *dir = argv[1];
	uint64_t count = parse_size(argv[2]), avg = parse_size(argv[3]);
	uint64_t per = argc > 4 ? parse_size(argv[4]) : 1000, spread = avg / 5;
	char path[4096];

	if (per == 0)
		die("PER_DIR must be > 0");
	for (uint64_t i = 0; i < count; i++) {
		if (i % per == 0) {
			snprintf(path, sizeof(path), "%s/d%03" PRIu64, dir, i / per);
			if (mkdir(path, 0755) != 0 && errno != EEXIST)
				die("%s: %s", path, strerror(errno));
		}
		uint64_t size = avg - spread / 2 + mix64(i + 1) % (spread + 1);
		snprintf(path, sizeof(path), "%s/d%03" PRIu64 "/f%07" PRIu64 ".jpg", dir, i / per, i);
		gen_file(path, size);
		printf("d%03" PRIu64 "/f%07" PRIu64 ".jpg\n", i / per, i);
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: sluice-loadgen [options] seq|rand|files [PATH...]\n"
		"       sluice-loadgen gen SIZE FILE...\n"
		"       sluice-loadgen gen-tree DIR COUNT SIZE [PER_DIR]\n"
		"options:\n"
		"  -s HOST     server address (127.0.0.1)\n"
		"  -p PORT     server port (2049)\n"
		"  -e PATH     export: the pseudo path to mount (/)\n"
		"  -c N        connections (4)\n"
		"  -q N        requests in flight per connection (8)\n"
		"  -b SIZE     request size (1M); files mode: the size of each READ\n"
		"  -t SECS     rand: run this long\n"
		"  -n COUNT    rand: this many reads in all (default 1000 per connection without -t)\n"
		"  -S SEED     rand: seed (1)\n"
		"  -L FILE     add the paths listed in FILE, one a line\n"
		"  -V          verify every byte read against the pattern of `gen`\n"
		"  -T          one thread per connection (default: one thread polls them all)\n"
		"  -l LABEL    a label for the result line\n"
		"  --split region|interleave   seq: how chunks go to connections (region)\n"
		"  --expect-bytes N            an error unless the run reads exactly N bytes\n"
		"                              (seq checks against the files' sizes by itself)\n"
		"PATHs are relative to the export.\n");
	exit(rc);
}

static void print_result(double secs)
{
	uint64_t bytes = 0, ops = 0, reads = 0, errors = 0, shorts = 0, verified = 0;
	size_t nlat = 0;
	double *lat;

	for (int i = 0; i < opt.conns; i++) {
		bytes += conns[i].bytes;
		ops += conns[i].ops;
		reads += conns[i].reads;
		errors += conns[i].errors;
		shorts += conns[i].shorts;
		verified += conns[i].verified;
		nlat += conns[i].nlat;
	}
	lat = xmalloc(nlat * sizeof(*lat));
	nlat = 0;
	for (int i = 0; i < opt.conns; i++) {
		if (conns[i].nlat)
			memcpy(lat + nlat, conns[i].lat, conns[i].nlat * sizeof(*lat));
		nlat += conns[i].nlat;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	if (secs <= 0)
		secs = 1e-9;
	static const char *names[] = { "seq", "rand", "files" };
	printf("loadgen mode=%s label=%s conns=%d depth=%d bs=%" PRIu64 " threads=%d files=%zu "
	       "bytes=%" PRIu64 " ops=%" PRIu64 " reads=%" PRIu64 " secs=%.3f mib_s=%.1f ops_s=%.1f "
	       "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%" PRIu64 " short=%" PRIu64
	       " verified=%" PRIu64 "\n",
	       names[opt.mode], opt.label, opt.conns, opt.depth, opt.bs, opt.threads ? opt.conns : 1,
	       nfiles, bytes, ops, reads, secs, (double)bytes / 1048576.0 / secs, (double)ops / secs,
	       pct(lat, nlat, 0.50), pct(lat, nlat, 0.99), nlat ? lat[nlat - 1] : 0.0, errors, shorts,
	       verified);
	fflush(stdout);
	free(lat);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "split", required_argument, NULL, 1 },
		{ "expect-bytes", required_argument, NULL, 2 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t cap = 0;
	const char *list = NULL;
	int o;

	if (argc > 1 && strcmp(argv[1], "gen") == 0)
		return gen_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "gen-tree") == 0)
		return gen_tree_main(argc - 1, argv + 1);

	while ((o = getopt_long(argc, argv, "+s:p:e:c:q:b:t:n:S:L:VTl:h", lopts, NULL)) != -1) {
		switch (o) {
		case 's': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'e': opt.export = optarg; break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'q': opt.depth = atoi(optarg); break;
		case 'b': opt.bs = parse_size(optarg); break;
		case 't': opt.duration = atof(optarg); break;
		case 'n': opt.count = parse_size(optarg); break;
		case 'S': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'L': list = optarg; break;
		case 'V': opt.verify = true; break;
		case 'T': opt.threads = true; break;
		case 'l': opt.label = optarg; break;
		case 1:
			if (strcmp(optarg, "region") == 0)
				opt.interleave = false;
			else if (strcmp(optarg, "interleave") == 0)
				opt.interleave = true;
			else
				die("--split takes region or interleave");
			break;
		case 2: opt.expect = (int64_t)parse_size(optarg); break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind >= argc)
		usage(2);
	if (strcmp(argv[optind], "seq") == 0)
		opt.mode = M_SEQ;
	else if (strcmp(argv[optind], "rand") == 0)
		opt.mode = M_RAND;
	else if (strcmp(argv[optind], "files") == 0)
		opt.mode = M_FILES;
	else
		usage(2);
	if (opt.conns < 1 || opt.depth < 1 || opt.bs < 1 || opt.port < 1 || opt.port > 65535)
		die("bad -c, -q, -b or -p");
	for (int i = optind + 1; i < argc; i++)
		add_file(argv[i], &cap);
	if (list)
		read_list(list, &cap);
	if (nfiles == 0)
		die("no files to read");
	if (opt.mode == M_RAND && opt.duration <= 0 && opt.count == 0)
		opt.count = 1000 * (uint64_t)opt.conns;

	/* Connect, and for seq and rand find the sizes and open the files the run needs. */
	conns = xmalloc((size_t)opt.conns * sizeof(*conns));
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		c->idx = i;
		c->nfs = connect_one(i);
		c->slots = xmalloc((size_t)opt.depth * sizeof(*c->slots));
		for (int k = 0; k < opt.depth; k++)
			c->slots[k].c = c;
		if (opt.verify)
			c->scratch = xmalloc(opt.bs);
	}
	if (opt.mode != M_FILES) {
		for (size_t f = 0; f < nfiles; f++) {
			struct nfs_stat_64 st;
			if (nfs_stat64(conns[0].nfs, files[f].path, &st) != 0)
				die("stat %s: %s", files[f].path, nfs_get_error(conns[0].nfs));
			files[f].size = st.nfs_size;
			files[f].first = nchunks;
			nchunks += (st.nfs_size + opt.bs - 1) / opt.bs;
			if (opt.mode == M_RAND && st.nfs_size < opt.bs)
				die("%s is smaller than one request (%" PRIu64 " bytes)", files[f].path,
				    st.nfs_size);
		}
		for (int i = 0; i < opt.conns; i++) {
			struct conn *c = &conns[i];
			uint64_t lo = 0, hi = nfiles;
			if (opt.mode == M_SEQ) {
				if (opt.interleave) {
					c->next = (uint64_t)i;
					c->end = nchunks;
					c->stride = (uint64_t)opt.conns;
				} else {
					c->next = nchunks * (uint64_t)i / (uint64_t)opt.conns;
					c->end = nchunks * (uint64_t)(i + 1) / (uint64_t)opt.conns;
					c->stride = 1;
				}
				if (!opt.interleave) { /* open only the files of this region */
					lo = nfiles; hi = 0;
					for (size_t f = 0; f < nfiles; f++) {
						uint64_t fend = files[f].first + (files[f].size + opt.bs - 1) / opt.bs;
						if (fend > c->next && files[f].first < c->end) {
							if (f < lo) lo = f;
							if (f + 1 > hi) hi = f + 1;
						}
					}
				}
			} else {
				c->rng = opt.seed * 0x100000001b3ull + (uint64_t)i;
				if (opt.duration <= 0)
					c->ops_left = opt.count / (uint64_t)opt.conns
						+ ((uint64_t)i < opt.count % (uint64_t)opt.conns);
			}
			c->fh = xmalloc(nfiles * sizeof(*c->fh));
			for (uint64_t f = lo; f < hi; f++)
				if (nfs_open(c->nfs, files[f].path, O_RDONLY, &c->fh[f]) != 0)
					die("open %s: %s", files[f].path, nfs_get_error(c->nfs));
		}
	}

	double t0 = now();
	deadline = t0 + opt.duration;
	if (opt.threads && opt.conns > 1) {
		pthread_t *th = xmalloc((size_t)opt.conns * sizeof(*th));
		for (int i = 0; i < opt.conns; i++)
			if (pthread_create(&th[i], NULL, thread_main, &conns[i]) != 0)
				die("pthread_create failed");
		for (int i = 0; i < opt.conns; i++)
			pthread_join(th[i], NULL);
		free(th);
	} else {
		run_loop(conns, opt.conns);
	}
	double secs = now() - t0;

	/* Did the run read every byte it should have? */
	uint64_t got = 0, want = 0;
	for (int i = 0; i < opt.conns; i++)
		got += conns[i].bytes;
	if (opt.mode == M_SEQ)
		for (size_t f = 0; f < nfiles; f++)
			want += files[f].size;
	if (opt.expect >= 0 && opt.mode != M_SEQ)
		want = (uint64_t)opt.expect;
	if ((opt.mode == M_SEQ || opt.expect >= 0) && got != want) {
		char msg[128];
		snprintf(msg, sizeof(msg), "read %" PRIu64 " bytes, expected %" PRIu64, got, want);
		conn_error(&conns[0], "byte count", msg);
	}
	if (opt.mode == M_SEQ && opt.expect >= 0 && (uint64_t)opt.expect != want) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the files hold %" PRIu64 " bytes, expected %" PRId64, want,
			 opt.expect);
		conn_error(&conns[0], "byte count", msg);
	}

	print_result(secs);

	uint64_t errors = 0;
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		errors += c->errors;
		if (!c->dead && c->fh)
			for (size_t f = 0; f < nfiles; f++)
				if (c->fh[f])
					nfs_close(c->nfs, c->fh[f]);
		nfs_destroy_context(c->nfs);
	}
	return errors ? 1 : 0;
}

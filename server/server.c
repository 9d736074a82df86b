/*
 * The server: exports opened for serving, the op table, the loop thread with its storage
 * engine and listeners, signals, and the lease sweeper (server.h).
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include "server.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cacheio.h"
#include "conn.h"
#include "fdcache.h"
#include "idmap.h"
#include "log.h"
#include "object.h"
#include "pcache.h"
#include "state.h"
#include "stats.h"
#include "stor.h"

#define SERVER_MAX_IO (1024u * 1024u)  /* maxread / maxwrite: 1 MiB, as knfsd */
#define SERVER_SLOTS 64u               /* fore-channel slots per session */
#define SERVER_CACHED_REPLY 16384u     /* bytes of reply kept per slot */

/* ---- exports ------------------------------------------------------------------------------ */

static void index_nodes(const struct pseudo_node *n, const struct pseudo_node **out, size_t cap)
{
	if (n->index < cap)
		out[n->index] = n;
	for (size_t i = 0; i < n->nchildren; i++)
		index_nodes(n->children[i], out, cap);
}

static size_t count_nodes(const struct pseudo_node *n)
{
	size_t k = 1;

	for (size_t i = 0; i < n->nchildren; i++)
		k += count_nodes(n->children[i]);
	return k;
}

/*
 * File systems whose getattr of an in-memory inode is a plain read of it (no device, no
 * network, no daemon): statx of an object's fd (which pins the inode) may run inline on the
 * loop thread, a microsecond instead of a round trip through an io_uring worker. Network and
 * FUSE file systems stay asynchronous (their getattr may ask a server). A different file
 * system mounted inside the export is not seen here: its objects resolve only while their
 * fds are cached (handles are opened through the export root's mount).
 */
static bool fs_stat_is_local(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:     /* ext2/3/4 */
	case 0x58465342: /* xfs */
	case 0x9123683E: /* btrfs */
	case 0x01021994: /* tmpfs */
	case 0x794c7630: /* overlayfs (container images) */
	case 0xF2F52010: /* f2fs */
	case 0x2fc12fc1: /* zfs */
		return true;
	default:
		return false;
	}
}

static int export_open(struct server *srv, struct export_rt *e, const struct config_export *ce)
{
	size_t len = sizeof(e->root_fh);
	struct stat st;
	int ret;

	e->cfg = ce;
	e->root_fd = open(ce->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->root_fd < 0) {
		ret = -errno;
		log_error("export %s: %s", ce->path, strerror(errno));
		return ret;
	}
	ret = fh_export_check(e->root_fd);
	if (ret == -EPERM) {
		log_error("export %s: open_by_handle_at is not permitted: sluiced needs "
			  "CAP_DAC_READ_SEARCH (run it as root)", ce->path);
		return ret;
	}
	if (ret < 0) {
		log_error("export %s: the file system has no persistent file handles (%s)",
			  ce->path, strerror(-ret));
		return ret;
	}
	ret = fh_encode(ce->id, e->root_fd, NULL, e->root_fh, &len);
	if (ret < 0) {
		log_error("export %s: no handle for the root: %s", ce->path, strerror(-ret));
		return ret;
	}
	e->root_fh_len = (uint32_t)len;
	{
		char link[STOR_FD_PATH_MAX];
		ssize_t n;

		n = readlink(stor_fd_path(link, e->root_fd), e->real_path, sizeof(e->real_path) - 1);
		if (n <= 0) {
			log_error("export %s: cannot read its path from /proc: %s", ce->path,
				  strerror(errno));
			return -EIO;
		}
		e->real_path[n] = 0;
	}
	if (fstat(e->root_fd, &st) < 0) {
		ret = -errno;
		log_error("export %s: fstat of the root: %s", ce->path, strerror(-ret));
		return ret;
	}
	e->root_ino = st.st_ino;
	e->root_dev = st.st_dev;
	e->meta_inline = fs_stat_is_local(e->root_fd);
	e->node = pseudo_lookup_path(config_pseudo_root(srv->cfg), ce->pseudo);
	log_info("export %s: id %u at %s, %s", ce->path, ce->id, ce->pseudo,
		 config_access_name(ce->access));
	return 0;
}

struct export_rt *server_export(const struct server *srv, uint32_t id)
{
	/* exports are few; the config's by-id table does the lookup */
	const struct config_export *ce = config_export_by_id(srv->cfg, id);

	return ce ? &srv->exports[ce - srv->cfg->exports] : NULL;
}

const struct statvfs *server_export_vfs(struct export_rt *e)
{
	time_t now = time(NULL);

	if (e->vfs_time != now) {
		if (fstatvfs(e->root_fd, &e->vfs) < 0)
			memset(&e->vfs, 0, sizeof(e->vfs));
		e->vfs_time = now;
	}
	return &e->vfs;
}

/* The fd limit a privileged server asks for: what systemd gives services as their hard limit. */
#define SERVER_NOFILE_WANT ((rlim_t)1 << 19)

/*
 * Many clients and datasets of many files, each file with cached fds (an O_PATH fd and the
 * page cache's data fd): use every fd we can have. Where the hard limit is low (20,000 in some
 * containers and shells) and we may raise it (root, CAP_SYS_RESOURCE), it goes up to 2^19 or
 * fs.nr_open, whichever is less: with 20,000 the fd cache would hold ~4,700 files' fds and a
 * second pass over a 20,000-file folder would open every file again.
 */
static size_t raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = SERVER_NOFILE_WANT;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long long nr_open;

	if (f) {
		if (fscanf(f, "%llu", &nr_open) == 1 && nr_open < want)
			want = (rlim_t)nr_open;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit up = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? (size_t)1 << 20 : (size_t)rl.rlim_cur;
}

int server_create(struct server **out, const struct config *cfg)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct fdc_config fc = {0};
	struct state_config sc = {0};
	struct state_boot sb;
	static char owner[128];
	char host[64] = "localhost";
	size_t nofile;
	int ret = -ENOMEM;

	if (!srv)
		return -ENOMEM;
	srv->cfg = cfg;
	srv->boot_time = (uint64_t)time(NULL);
	clock_gettime(CLOCK_REALTIME, &srv->start_ts);
	srv->max_read = srv->max_write = SERVER_MAX_IO;
	{
		/* start time in ns and the pid: two starts never share a verifier */
		uint64_t v = (uint64_t)srv->start_ts.tv_sec * 1000000000u +
			     (uint64_t)srv->start_ts.tv_nsec;

		v ^= (uint64_t)getpid() << 48;
		memcpy(srv->write_verf, &v, sizeof(srv->write_verf));
	}
	/* Modes come from the client, which has applied the user's umask already (RFC 8881
	 * §5.8.1.5 mode; the Linux client sends the masked mode): ours must not mask again. */
	umask(0);
	srv->nexports = cfg->nexports;
	srv->exports = calloc(cfg->nexports, sizeof(*srv->exports));
	srv->npnodes = count_nodes(config_pseudo_root(cfg));
	srv->pnodes = calloc(srv->npnodes, sizeof(*srv->pnodes));
	if (!srv->exports || !srv->pnodes)
		goto fail;
	for (size_t i = 0; i < srv->nexports; i++)
		srv->exports[i].root_fd = -1;
	index_nodes(config_pseudo_root(cfg), srv->pnodes, srv->npnodes);
	for (size_t i = 0; i < srv->nexports; i++) {
		ret = export_open(srv, &srv->exports[i], &cfg->exports[i]);
		if (ret < 0)
			goto fail;
	}

	compound_config_default(&srv->ccfg);
	srv->ccfg.on_op = dispatch_on_op;
	srv->ccfg.on_change = dispatch_on_change;
	optable_init(&srv->ops);
	nfs4_fh_ops_register(&srv->ops);
	nfs4_dir_ops_register(&srv->ops);
	nfs4_io_ops_register(&srv->ops);
	nfs4_write_ops_register(&srv->ops);
	nfs4_ns_ops_register(&srv->ops);
	nfs4_v42_ops_register(&srv->ops);
	state_register_ops(&srv->ops);

	nofile = raise_fd_limit();
	/* half the fds for the cache (the rest: connections, opens in flight); 2^17 fds hold
	 * 65,536 files' O_PATH and data fds, the kernel's struct file (~256 bytes) each */
	fc.capacity = nofile > 2048 ? (nofile - 1024) / 2 : 256;
	if (fc.capacity > 131072)
		fc.capacity = 131072;
	ret = fdc_create(&srv->fdc, &fc);
	if (ret < 0)
		goto fail;
	log_info("fd cache: %zu fds (RLIMIT_NOFILE %zu)", fc.capacity, nofile);
	ret = obj_warm_create(srv);
	if (ret < 0)
		goto fail;
	srv->pcache = pcache_new(cfg->cache_size);
	if (!srv->pcache) {
		ret = -ENOMEM;
		goto fail;
	}
	/* read-ahead may hold at most a sixteenth of the cache in pages not read yet: it lands in
	 * probation (a tenth), and what is read ahead must still be there when it is asked for */
	srv->prefetch_max = pcache_budget_pages(srv->pcache) / 16;
	log_info("page cache: %llu MiB in %u KiB pages (+%zu KiB bookkeeping), read-ahead up to "
		 "%llu MiB", (unsigned long long)(cfg->cache_size >> 20), PCACHE_PAGE / 1024,
		 pcache_overhead(srv->pcache) / 1024,
		 (unsigned long long)(srv->prefetch_max * PCACHE_PAGE >> 20));

	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "sluice:%s", host);
	sc.lease_time = cfg->lease_time;
	sc.max_slots = SERVER_SLOTS;
	sc.max_ops = srv->ccfg.max_ops;
	sc.max_req = (uint32_t)cfg->max_record;
	sc.max_resp = srv->ccfg.max_reply;
	sc.max_resp_cached = SERVER_CACHED_REPLY;
	sc.server_owner = owner;
	sc.boot_time = srv->boot_time;
	sc.state_dir = cfg->state_dir;
	sc.grace_time = cfg->grace_time;
	ret = state_create(&srv->state, &sc);
	if (ret < 0) {
		log_error("client records in %s: %s", cfg->state_dir, strerror(-ret));
		goto fail;
	}
	state_boot_info(srv->state, &sb);
	if (sb.bad_lines)
		log_warn("client records in %s: %u unreadable line(s) skipped (cut by a crash?)",
			 cfg->state_dir, sb.bad_lines);
	if (sb.previous)
		log_info("grace period: %u client(s) of the previous run may reclaim their state "
			 "for up to %u s; new opens and locks wait until then", sb.previous,
			 cfg->grace_time);
	if (cfg->owner_domain && cfg->owner_domain[0]) { /* names only with a domain */
		struct idmap_stats is;

		ret = idmap_create(&srv->idmap, NULL);
		if (ret < 0)
			goto fail;
		idmap_stats(srv->idmap, &is);
		if (is.last_error)
			log_warn("owner names: reading users and groups: %s; numeric until the next "
				 "refresh", strerror(-is.last_error));
		log_info("owner names @%s: %zu users, %zu groups", cfg->owner_domain, is.users,
			 is.groups);
	}
	*out = srv;
	return 0;
fail:
	server_destroy(srv);
	return ret;
}

void server_destroy(struct server *srv)
{
	if (!srv)
		return;
	idmap_destroy(srv->idmap);
	if (srv->state)
		state_destroy(srv->state);
	if (srv->fdc)
		fdc_destroy(srv->fdc);
	pcache_free(srv->pcache);
	obj_warm_free(srv);
	for (size_t i = 0; srv->exports && i < srv->nexports; i++)
		if (srv->exports[i].root_fd >= 0)
			close(srv->exports[i].root_fd);
	free(srv->exports);
	free(srv->pnodes);
	free(srv);
}

/* ---- a loop thread ------------------------------------------------------------------------ */

struct loop_watchers {
	ev_io stor_io;       /* the storage engine's completions */
	ev_prepare prepare;  /* submit what the callbacks queued, before the loop sleeps */
	/* busy_poll (conf/README.md): while active, libev polls with a zero timeout instead of
	 * sleeping. Its callback runs only in an iteration that found nothing to do. */
	ev_idle poll;
	unsigned int idle_iter; /* the last iteration that found nothing (ev_iteration) */
	ev_tstamp busy_at;      /* when an iteration last found something */
	ev_tstamp window;       /* how long to poll now: POLL_MIN..busy_poll, adapted */
	ev_tstamp slept_at;     /* when polling last stopped; 0: never */
	unsigned int long_sleeps; /* sleeps of busy_poll or more since polling last paid off */
	ev_signal sigterm, sigint, sighup, sigusr1;
	ev_timer sweep;      /* expire clients whose lease ran out */
	bool in_grace;       /* as the last sweep saw it, to log its end once */
	struct conn_listener *listeners[CONFIG_MAX_LISTEN];
	unsigned nlisteners;
};

static void stor_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv_loop *lp = w->data;

	(void)loop;
	(void)revents;
	stor_reap(lp->stor);
}

static void poll_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct loop_watchers *lw = w->data;

	(void)revents;
	lw->idle_iter = ev_iteration(loop);
	/* Polling must not keep this CPU from threads that have work: the offload workers doing
	 * this loop's statx and opens, and on a small machine the clients themselves. A yield
	 * with nothing else runnable is one cheap system call; measured in ls -l of 100,000
	 * entries, READDIR's workers otherwise lost a core to the poll (docs/PERFORMANCE.md). */
	sched_yield();
}

#define POLL_MIN 50e-6   /* seconds: the shortest poll window */
#define POLL_LONG_SLEEPS 4 /* long sleeps in a row before the window shrinks */

/* Sleep or keep polling (busy_poll). Waking a sleeping loop costs the kernel a context switch
 * and, on an idle CPU, a wake-up from halt: for a client that sends one request at a time
 * that is on every request's round trip, and under a virtual CPU it was a third of it
 * (docs/PERFORMANCE.md). So the loop goes on polling for a window after the last iteration
 * that had an event, and sleeps only when none came for that long.
 *
 * The window adapts, much as the kernel's haltpoll governor does for an idle vCPU: a wake-up
 * that came less than busy_poll after the loop went to sleep says a longer poll would have
 * caught it (the window grows to cover it, at most busy_poll). Sleeps of busy_poll or more,
 * POLL_LONG_SLEEPS of them in a row with no poll paying off in between, say polling is wasted
 * on this traffic: from then on each one halves the window, down to POLL_MIN. A poll pays off
 * when an event arrives after the loop has already polled and found nothing. The run of
 * long sleeps keeps one odd pause of a busy client (measured: halving at the first long
 * sleep lost most of the gain in ls -l) from shrinking the window, while a client that comes
 * once a second soon costs POLL_MIN of polling per request instead of busy_poll. */
static void poll_or_sleep(struct ev_loop *loop, struct srv_loop *lp)
{
	struct loop_watchers *w = lp->watchers;
	ev_tstamp max = lp->srv->cfg->busy_poll / 1e6, now = ev_now(loop);

	if (ev_iteration(loop) != w->idle_iter) {
		/* the iteration that just ended had an event (or the loop just woke with one) */
		if (!ev_is_active(&w->poll)) {
			if (w->slept_at > 0) {
				ev_tstamp slept = now - w->slept_at;

				if (slept < max) {
					w->long_sleeps = 0;
					w->window = w->window * 2 > slept * 1.25 ? w->window * 2
										: slept * 1.25;
				} else if (++w->long_sleeps >= POLL_LONG_SLEEPS) {
					w->window /= 2;
				}
				if (w->window < POLL_MIN)
					w->window = POLL_MIN;
				if (w->window > max)
					w->window = max;
			}
			ev_idle_start(loop, &w->poll);
		} else if (ev_iteration(loop) == w->idle_iter + 1) {
			w->long_sleeps = 0; /* the one before found nothing: the poll paid off */
		}
		w->busy_at = now;
	} else if (now - w->busy_at >= w->window && ev_is_active(&w->poll)) {
		ev_idle_stop(loop, &w->poll);
		w->slept_at = now;
	}
}

static void before_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct srv_loop *lp = w->data;
	int ret;

	(void)revents;
	ret = stor_flush(lp->stor);
	if (ret < 0)
		log_error("storage engine: submit failed: %s", strerror(-ret));
	if (lp->srv->cfg->busy_poll)
		poll_or_sleep(loop, lp);
}

int srv_loop_create(struct srv_loop **out, struct server *srv, struct ev_loop *loop)
{
	struct srv_loop *lp = calloc(1, sizeof(*lp));
	struct loop_watchers *w = calloc(1, sizeof(*w));
	struct stor_config sc = {.flags = STOR_F_RING_OPTIONAL};
	int ret;

	if (!lp || !w) {
		free(lp);
		free(w);
		return -ENOMEM;
	}
	lp->srv = srv;
	lp->loop = loop;
	lp->watchers = w;
	w->in_grace = state_in_grace(srv->state);
	ret = stor_create(&lp->stor, &sc);
	if (ret < 0) {
		free(w);
		free(lp);
		return ret;
	}
	if (!stor_ring_flags(lp->stor))
		log_warn("io_uring is not available: every disk operation goes to the thread pool");
	ev_io_init(&w->stor_io, stor_ready, stor_event_fd(lp->stor), EV_READ);
	w->stor_io.data = lp;
	ev_io_start(loop, &w->stor_io);
	ev_prepare_init(&w->prepare, before_sleep);
	w->prepare.data = lp;
	ev_prepare_start(loop, &w->prepare);
	ev_idle_init(&w->poll, poll_idle);
	w->poll.data = w;
	w->window = srv->cfg->busy_poll / 1e6; /* the config is not reloaded: fixed for the loop */
	*out = lp;
	return 0;
}

static void close_listeners(struct srv_loop *lp)
{
	struct loop_watchers *w = lp->watchers;

	for (unsigned i = 0; i < w->nlisteners; i++)
		conn_listener_close(w->listeners[i]);
	w->nlisteners = 0;
}

void srv_loop_drain(struct srv_loop *lp)
{
	struct stor_stats st;

	while (lp->requests > 0) {
		stor_get_stats(lp->stor, &st);
		if (st.inflight == 0) {
			/* nothing left that could finish a parked request: a bug, not a wait */
			log_error("%llu request(s) parked with no disk work in flight",
				  (unsigned long long)lp->requests);
			break;
		}
		int ret = stor_wait(lp->stor, 1000);

		if (ret < 0 && ret != -EINTR)
			break;
	}
}

void srv_loop_destroy(struct srv_loop *lp)
{
	struct loop_watchers *w;

	if (!lp)
		return;
	w = lp->watchers;
	close_listeners(lp);
	ev_io_stop(lp->loop, &w->stor_io);
	ev_prepare_stop(lp->loop, &w->prepare);
	ev_idle_stop(lp->loop, &w->poll);
	stor_destroy(lp->stor); /* waits for what is still in flight */
	free(w);
	free(lp);
}

static void on_record(struct conn *c, uint8_t *rec, size_t len, void *arg)
{
	dispatch_record(arg, c, rec, len);
}

/* A REPLY on a client's connection: the answer to a callback (RFC 8881 §2.10.3.1). */
static void on_reply(struct conn *c, uint8_t *rec, size_t len, void *arg)
{
	struct srv_loop *lp = arg;

	state_cb_reply(lp->srv->state, c, rec, len);
	free(rec);
}

/* The 4.0 callback path (RFC 7530 §10.2.1): the server's own connection to a client, on
 * the first listener so that the client's replies come back through on_reply. */
static int cb_connect(void *arg, const struct sockaddr *sa, unsigned int salen, struct conn **out)
{
	struct srv_loop *lp = arg;
	struct loop_watchers *w = lp->watchers;

	if (!w->nlisteners)
		return -ENOTCONN;
	return conn_connect(w->listeners[0], sa, salen, out);
}

int srv_loop_listen(struct srv_loop *lp, const char *addr)
{
	struct loop_watchers *w = lp->watchers;
	struct conn_opts o = {
		.listen = addr,
		.max_record = (size_t)lp->srv->cfg->max_record,
		.on_record = on_record,
		.on_reply = on_reply,
		.arg = lp,
	};
	int ret;

	if (w->nlisteners == CONFIG_MAX_LISTEN)
		return -ENOSPC;
	ret = conn_listen(lp->loop, &o, &w->listeners[w->nlisteners]);
	if (ret < 0)
		return ret;
	w->nlisteners++;
	if (w->nlisteners == 1)
		state_set_cb_connect(lp->srv->state, cb_connect, lp);
	return 0;
}

/* ---- the daemon --------------------------------------------------------------------------- */

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct srv_loop *lp = w->data;

	(void)revents;
	log_info("signal %d: stopping (no new connections; requests in progress finish)", w->signum);
	lp->stopping = true;
	close_listeners(lp);
	ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct srv_loop *lp = w->data;

	(void)loop;
	(void)revents;
	if (lp->srv->idmap) { /* the refresher thread reads the user and group names again */
		idmap_kick(lp->srv->idmap);
		log_info("SIGHUP: refreshing owner names");
	}
	/* DESIGN.md: reload comes through the loop. Reloading exports while clients hold
	 * handles needs care that is not built yet, so the running configuration stays. */
	log_warn("SIGHUP: configuration reload is not supported yet; still serving the "
		 "configuration loaded at start");
}

/* SIGUSR1: the counters to STATE_DIR/stats (stats.h), for operators and bench/. */
static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct srv_loop *lp = w->data;
	char path[4096];
	int ret;

	(void)loop;
	(void)revents;
	snprintf(path, sizeof(path), "%s/stats", lp->srv->cfg->state_dir);
	ret = stats_dump(path, lp->srv, lp);
	if (ret < 0)
		log_warn("SIGUSR1: writing %s: %s", path, strerror(-ret));
	else
		log_info("SIGUSR1: counters written to %s", path);
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct srv_loop *lp = w->data;
	struct loop_watchers *lw = lp->watchers;
	unsigned n;

	(void)loop;
	(void)revents;
	n = state_sweep(lp->srv->state);
	if (n)
		log_info("lease expired for %u client(s): their state is gone", n);
	if (lw->in_grace && !state_in_grace(lp->srv->state)) {
		lw->in_grace = false;
		log_info("grace period over: new opens and locks are served");
	}
}

int server_run(const struct config *cfg)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct server *srv = NULL;
	struct srv_loop *lp = NULL;
	struct loop_watchers *w;
	double sweep = cfg->lease_time >= 8 ? cfg->lease_time / 4.0 : 2.0;
	int ret;

	if (!loop) {
		log_error("libev: no event loop");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, not a death */
	ret = server_create(&srv, cfg);
	if (ret < 0)
		return 1;
	ret = srv_loop_create(&lp, srv, loop);
	if (ret < 0) {
		log_error("storage engine: %s", strerror(-ret));
		server_destroy(srv);
		return 1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		ret = srv_loop_listen(lp, cfg->listen[i]);
		if (ret < 0) {
			log_error("listen on %s: %s", cfg->listen[i], strerror(-ret));
			srv_loop_destroy(lp);
			server_destroy(srv);
			return 1;
		}
	}
	w = lp->watchers;
	ev_signal_init(&w->sigterm, on_stop, SIGTERM);
	ev_signal_init(&w->sigint, on_stop, SIGINT);
	ev_signal_init(&w->sighup, on_hup, SIGHUP);
	ev_signal_init(&w->sigusr1, on_usr1, SIGUSR1);
	w->sigterm.data = w->sigint.data = w->sighup.data = w->sigusr1.data = lp;
	ev_signal_start(loop, &w->sigusr1);
	ev_signal_start(loop, &w->sigterm);
	ev_signal_start(loop, &w->sigint);
	ev_signal_start(loop, &w->sighup);
	ev_timer_init(&w->sweep, on_sweep, sweep, sweep);
	w->sweep.data = lp;
	ev_timer_start(loop, &w->sweep);
	log_info("serving %zu export(s); lease %u s", cfg->nexports, cfg->lease_time);

	ev_run(loop, 0);

	ev_timer_stop(loop, &w->sweep);
	ev_signal_stop(loop, &w->sigterm);
	ev_signal_stop(loop, &w->sigint);
	ev_signal_stop(loop, &w->sighup);
	ev_signal_stop(loop, &w->sigusr1);
	srv_loop_drain(lp); /* parked COMPOUNDs of closed connections finish and are freed */
	srv_loop_destroy(lp);
	server_destroy(srv);
	log_info("stopped");
	return 0;
}

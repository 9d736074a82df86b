/*
 * TCP listener and connections on a libev loop. See conn.h for the contract.
 *
 * Shape of a connection's life on the loop:
 *   read watcher ─▶ conn_read() ─▶ conn_input(): recmark_feed() ─▶ on_record()
 *   conn_send() ─▶ output queue ─▶ (work list) ─▶ ev_prepare: conn_flush() ─▶ sendmsg()
 *                                             └▶ at once when CONN_FLUSH_NOW bytes are queued
 *   socket full ─▶ write watcher until drained
 * The ev_prepare watcher runs each time the loop is about to block, so all replies produced
 * by one round of events leave in as few sendmsg() calls as possible.
 */
#define _GNU_SOURCE /* accept4() */
#include "conn.h"

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "list.h"
#include "log.h"
#include "recmark.h"

#define CONN_READ_BUF ((size_t)64 * 1024)     /* one read(); shared by a loop's conns */
#define CONN_READS_PER_WAKE 4                 /* then let the other connections run */
#define CONN_FLUSH_NOW ((size_t)256 * 1024)   /* queued bytes that are written at once */
#define CONN_ACCEPTS_PER_WAKE 64
#define CONN_ACCEPT_RETRY 0.1                 /* seconds, after EMFILE and friends */
#define CONN_MAX_LISTEN 16                    /* sockets per listener (addresses) */
#define CONN_WRITE_IOV 1024                   /* iovecs per sendmsg(), <= IOV_MAX */

/* One queued reply record: the marker, then the caller's iovecs. */
struct conn_out {
	struct conn_out *next;
	conn_done_fn done;
	void *done_arg;
	int iovcnt;
	int cur; /* first iovec not completely written (already advanced in place) */
	size_t overhead; /* this entry's own memory, counted in out_bytes until it is freed */
	uint8_t marker[RECMARK_HDR_SIZE];
	struct iovec iov[];
};

struct conn {
	ev_io rio;
	ev_io wio;
	struct ev_loop *loop;
	struct conn_listener *l; /* NULL once closed: the listener may be gone */
	int fd;
	unsigned int refs;
	bool closed;
	bool reading;  /* not paused by backpressure (the read watcher may still wait on a stash) */
	bool flushing; /* inside conn_flush(): do not re-enter from a done callback */

	struct recmark rm;
	unsigned int in_flight;

	/* Bytes of one read that were in hand when reading paused. */
	uint8_t *stash;
	size_t stash_len;
	size_t stash_off;

	struct conn_out *out_head;
	struct conn_out **out_tail;
	size_t out_bytes;     /* queued and not yet written, plus the queue entries' own memory */
	size_t out_unflushed; /* queued since the last flush */

	/* On the listener's work list (run before the loop sleeps) when one of these is set. */
	struct conn *work_next, *work_prev;
	bool on_work;
	bool want_flush;
	bool want_resume;

	struct conn *next, *prev; /* all open connections of the listener */
	void *priv;
	char name[INET6_ADDRSTRLEN + 16];
};

struct conn_listener {
	struct ev_loop *loop;
	struct conn_opts o;
	int nsock;
	int fds[CONN_MAX_LISTEN];
	ev_io aw[CONN_MAX_LISTEN];
	uint16_t port;
	bool accept_paused;
	ev_timer accept_retry;
	ev_prepare prepare;
	struct conn *conns;
	struct conn *work;
	struct conn_stats st;
	uint8_t rbuf[CONN_READ_BUF];
};

static void conn_flush(struct conn *c);
static void conn_maybe_resume(struct conn *c);

/* ---- small helpers ----------------------------------------------------------------------- */

bool conn_is_closed(const struct conn *c)
{
	return c->closed;
}

const char *conn_name(const struct conn *c)
{
	return c->name;
}

void conn_set_priv(struct conn *c, void *priv)
{
	c->priv = priv;
}

void *conn_priv(const struct conn *c)
{
	return c->priv;
}

size_t conn_out_bytes(const struct conn *c)
{
	return c->out_bytes;
}

unsigned int conn_in_flight(const struct conn *c)
{
	return c->in_flight;
}

bool conn_is_reading(const struct conn *c)
{
	return c->reading && !c->closed;
}

uint16_t conn_listener_port(const struct conn_listener *l)
{
	return l->port;
}

void conn_listener_stats(const struct conn_listener *l, struct conn_stats *st)
{
	*st = l->st;
}

struct conn *conn_get(struct conn *c)
{
	c->refs++;
	return c;
}

void conn_put(struct conn *c)
{
	if (--c->refs)
		return;
	/* Only a closed connection can lose its last reference: the open state holds one. */
	recmark_release(&c->rm);
	free(c->stash);
	free(c);
}

static void work_add(struct conn *c)
{
	struct conn_listener *l = c->l;

	if (c->on_work)
		return;
	c->on_work = true;
	c->work_prev = NULL;
	c->work_next = l->work;
	if (l->work)
		l->work->work_prev = c;
	l->work = c;
}

static void work_del(struct conn *c)
{
	if (!c->on_work)
		return;
	if (c->work_prev)
		c->work_prev->work_next = c->work_next;
	else
		c->l->work = c->work_next;
	if (c->work_next)
		c->work_next->work_prev = c->work_prev;
	c->on_work = false;
	c->work_next = c->work_prev = NULL;
}

/* ---- close ------------------------------------------------------------------------------- */

void conn_close(struct conn *c)
{
	struct conn_listener *l = c->l;
	struct conn_out *o;

	if (c->closed)
		return;
	c->closed = true;
	conn_get(c); /* callbacks below may drop other references */

	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	work_del(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	l->st.closed++;
	if (recmark_mid_record(&c->rm))
		log_debug("%s: closed in the middle of a record", c->name);
	recmark_release(&c->rm);
	free(c->stash);
	c->stash = NULL;
	c->stash_len = c->stash_off = 0;
	c->l = NULL;

	/* Replies that will never be sent: their owners get their buffers back. */
	while ((o = c->out_head)) {
		c->out_head = o->next;
		if (o->done)
			o->done(o->done_arg);
		free(o);
	}
	c->out_tail = &c->out_head;
	c->out_bytes = c->out_unflushed = 0;

	log_debug("%s: closed", c->name);
	if (l->o.on_close)
		l->o.on_close(c, l->o.arg);
	conn_put(c); /* the open connection's reference */
	conn_put(c);
}

/* ---- backpressure ------------------------------------------------------------------------ */

static void conn_pause(struct conn *c)
{
	if (!c->reading || c->closed)
		return;
	c->reading = false;
	ev_io_stop(c->loop, &c->rio);
	c->l->st.read_pauses++;
	log_debug("%s: reading paused (%u in flight, %zu bytes unsent)", c->name, c->in_flight,
		  c->out_bytes);
}

static bool conn_over_limit(const struct conn *c)
{
	const struct conn_opts *o = &c->l->o;

	return c->in_flight >= o->max_in_flight || c->out_bytes > o->out_max;
}

/*
 * Resume below the low-water mark only, so a connection hovering at the limit does not
 * flip its watcher on every reply.
 */
static void conn_maybe_resume(struct conn *c)
{
	const struct conn_opts *o;

	if (c->closed || c->reading)
		return;
	o = &c->l->o;
	if (c->in_flight >= o->max_in_flight || c->out_bytes > o->out_max / 2)
		return;
	c->reading = true;
	if (c->stash) {
		/*
		 * Records already read come first, and not from here: we may be inside a
		 * done callback or conn_send(). The work list runs them before the loop
		 * sleeps; the read watcher starts once the stash is empty.
		 */
		c->want_resume = true;
		work_add(c);
		return;
	}
	ev_io_start(c->loop, &c->rio);
}

/* ---- input ------------------------------------------------------------------------------- */

/*
 * Feed data to the reassembler and deliver complete records while the connection is
 * reading. Returns the bytes consumed: less than n when reading paused (or it closed).
 */
static size_t conn_input(struct conn *c, const uint8_t *data, size_t n)
{
	size_t off = 0;

	while (off < n && !c->closed && c->reading) {
		uint8_t *rec;
		size_t len;
		ssize_t r;

		r = recmark_feed(&c->rm, data + off, n - off, &rec, &len);
		if (r < 0) {
			/* RFC 5531 §11 gives no way to skip a record: the stream is lost. */
			if (r == -EMSGSIZE)
				log_warn("%s: record larger than %zu bytes, closing", c->name,
					 c->rm.max_record);
			else
				log_warn("%s: %s, closing", c->name, strerror((int)-r));
			c->l->st.protocol_errors++;
			conn_close(c);
			break;
		}
		off += (size_t)r;
		if (!rec)
			continue;
		c->l->st.records_in++;
		/* RFC 5531 §9: msg_type follows the xid. A REPLY is the answer to a callback
		 * this server sent on the connection (RFC 8881 §2.10.3.1 backchannel): it is
		 * not a call, so it takes no in-flight slot and gets no answer. */
		if (len >= 8 && c->l->o.on_reply && rec[4] == 0 && rec[5] == 0 && rec[6] == 0 &&
		    rec[7] == 1) {
			c->l->o.on_reply(c, rec, len, c->l->o.arg);
			continue;
		}
		c->in_flight++;
		c->l->o.on_record(c, rec, len, c->l->o.arg);
		if (!c->closed && conn_over_limit(c))
			conn_pause(c);
	}
	return off;
}

/* Keep what was read but not fed; bounded by one read buffer. */
static int conn_stash(struct conn *c, const uint8_t *data, size_t n)
{
	c->stash = malloc(n);
	if (!c->stash)
		return -ENOMEM;
	memcpy(c->stash, data, n);
	c->stash_len = n;
	c->stash_off = 0;
	return 0;
}

/* Deliver stashed records (work list), then go back to the socket if still reading. */
static void conn_run_stash(struct conn *c)
{
	if (c->closed)
		return;
	if (c->stash) {
		c->stash_off += conn_input(c, c->stash + c->stash_off, c->stash_len - c->stash_off);
		if (c->closed)
			return;
		if (c->stash_off == c->stash_len) {
			free(c->stash);
			c->stash = NULL;
			c->stash_len = c->stash_off = 0;
		}
	}
	if (c->reading && !c->stash)
		ev_io_start(c->loop, &c->rio);
}

static void conn_read(struct conn *c)
{
	struct conn_listener *l = c->l;

	for (int i = 0; i < CONN_READS_PER_WAKE && !c->closed && c->reading; i++) {
		ssize_t n;
		size_t used;

		n = read(c->fd, l->rbuf, sizeof(l->rbuf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_debug("%s: read: %s", c->name, strerror(errno));
			conn_close(c);
			return;
		}
		if (n == 0) {
			/*
			 * EOF. The peer may only have shut down its sending side, but an NFS
			 * client that does so is going away: close, as knfsd does.
			 */
			conn_close(c);
			return;
		}
		l->st.bytes_in += (uint64_t)n;
		used = conn_input(c, l->rbuf, (size_t)n);
		if (c->closed)
			return;
		if (used < (size_t)n) {
			if (conn_stash(c, l->rbuf + used, (size_t)n - used) < 0) {
				log_error("%s: out of memory, closing", c->name);
				conn_close(c);
			}
			return;
		}
		if ((size_t)n < sizeof(l->rbuf))
			return; /* most likely drained; the watcher is level-triggered anyway */
	}
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, rio);

	(void)loop;
	(void)revents;
	conn_get(c);
	conn_read(c);
	conn_put(c);
}

/* ---- output ------------------------------------------------------------------------------ */

/* Account for w written bytes: advance the queue, complete fully written replies. */
static void conn_advance(struct conn *c, size_t w)
{
	struct conn_out *o;

	while ((o = c->out_head)) {
		while (o->cur < o->iovcnt) {
			struct iovec *v = &o->iov[o->cur];

			if (v->iov_len > w) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= w;
				return;
			}
			w -= v->iov_len;
			o->cur++;
		}
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = &c->out_head;
		c->out_bytes -= o->overhead;
		/* Unlinked first: done may queue the next reply, or close the connection. */
		if (o->done)
			o->done(o->done_arg);
		free(o);
	}
}

static void conn_flush(struct conn *c)
{
	struct iovec iov[CONN_WRITE_IOV];

	if (c->flushing || c->closed)
		return;
	c->flushing = true;
	conn_get(c);
	c->out_unflushed = 0;
	while (c->out_head && !c->closed) {
		struct msghdr msg = {.msg_iov = iov};
		size_t want = 0;
		ssize_t w;
		int n = 0;

		for (struct conn_out *o = c->out_head; o && n < CONN_WRITE_IOV; o = o->next)
			for (int i = o->cur; i < o->iovcnt && n < CONN_WRITE_IOV; i++) {
				iov[n] = o->iov[i];
				want += iov[n++].iov_len;
			}
		msg.msg_iovlen = (size_t)n;
		/* MSG_NOSIGNAL: a peer that went away is an error return, not a SIGPIPE. */
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->loop, &c->wio);
				break;
			}
			log_debug("%s: sendmsg: %s", c->name, strerror(errno));
			conn_close(c);
			break;
		}
		c->l->st.bytes_out += (uint64_t)w;
		c->out_bytes -= (size_t)w;
		conn_advance(c, (size_t)w);
		if ((size_t)w < want && !c->closed) {
			/* Short write: the socket buffer is full, the next try would say EAGAIN. */
			ev_io_start(c->loop, &c->wio);
			break;
		}
	}
	if (!c->closed && !c->out_head)
		ev_io_stop(c->loop, &c->wio);
	c->flushing = false;
	conn_maybe_resume(c);
	conn_put(c);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, wio);

	(void)loop;
	(void)revents;
	conn_flush(c);
}

static int conn_queue(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
		      void *done_arg);

int conn_send(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
	      void *done_arg)
{
	/* Every reply answers one record, whether or not it can be sent. */
	if (c->in_flight)
		c->in_flight--;
	return conn_queue(c, iov, iovcnt, done, done_arg);
}

int conn_send_call(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
		   void *done_arg)
{
	return conn_queue(c, iov, iovcnt, done, done_arg);
}

static int conn_queue(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
		      void *done_arg)
{
	struct conn_out *o = NULL;
	size_t total = 0;
	int ret;

	if (c->closed) {
		ret = -EPIPE;
		goto fail;
	}
	ret = -EINVAL;
	if (iovcnt < 0 || iovcnt > CONN_SEND_IOV_MAX || (iovcnt && !iov))
		goto fail;
	ret = -EMSGSIZE;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > RECMARK_LEN_MASK - total)
			goto fail;
		total += iov[i].iov_len;
	}
	ret = -ENOMEM;
	o = malloc(sizeof(*o) + ((size_t)iovcnt + 1) * sizeof(struct iovec));
	if (!o)
		goto fail;
	/* The entry itself counts against out_max too, so that a client that sends many small
	 * calls and never reads cannot queue replies without bound (their bytes alone would
	 * allow some 100,000 of them in out_max). */
	o->overhead = sizeof(*o) + ((size_t)iovcnt + 1) * sizeof(struct iovec);

	o->next = NULL;
	o->done = done;
	o->done_arg = done_arg;
	o->iovcnt = iovcnt + 1;
	o->cur = 0;
	recmark_encode(o->marker, total); /* RFC 5531 §11: one fragment, last bit set */
	o->iov[0] = (struct iovec){.iov_base = o->marker, .iov_len = RECMARK_HDR_SIZE};
	if (iovcnt)
		memcpy(&o->iov[1], iov, (size_t)iovcnt * sizeof(*iov));
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += total + RECMARK_HDR_SIZE + o->overhead;
	c->out_unflushed += total + RECMARK_HDR_SIZE;

	if (!ev_is_active(&c->wio)) {
		/* While the socket is full the write watcher owns flushing. */
		if (c->out_unflushed >= CONN_FLUSH_NOW) {
			conn_flush(c);
		} else {
			c->want_flush = true;
			work_add(c);
		}
	}
	if (c->closed)
		return 0; /* the flush found the peer gone; done has run */
	/* Judged after the flush: only what the kernel would not take counts. */
	if (c->out_bytes > c->l->o.out_max)
		conn_pause(c);
	else
		conn_maybe_resume(c);
	return 0;

fail:
	if (done)
		done(done_arg);
	if (!c->closed) {
		log_error("%s: cannot queue a reply (%s), closing", c->name, strerror(-ret));
		conn_close(c);
	}
	return ret;
}

void conn_record_dropped(struct conn *c)
{
	if (c->in_flight)
		c->in_flight--;
	conn_maybe_resume(c);
}

/* Before the loop blocks: flush what this round of events queued, run resumed stashes. */
static void conn_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct conn_listener *l = container_of(w, struct conn_listener, prepare);
	struct conn *c;

	(void)loop;
	(void)revents;
	while ((c = l->work)) {
		work_del(c);
		conn_get(c);
		if (c->want_resume) {
			c->want_resume = false;
			conn_run_stash(c);
		}
		if (c->want_flush && !c->closed) {
			c->want_flush = false;
			conn_flush(c);
		}
		conn_put(c);
	}
}

/* ---- accept ------------------------------------------------------------------------------ */

static void conn_format_name(char *buf, size_t len, const struct sockaddr *sa, socklen_t salen)
{
	char host[INET6_ADDRSTRLEN], serv[8];

	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static int conn_new(struct conn_listener *l, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct conn *c;
	int one = 1;

	/*
	 * Replies are already batched by the flush before sleep; Nagle would only add
	 * latency to the last segment of each batch.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("TCP_NODELAY: %s", strerror(errno));
	/* Notice clients that vanished without a FIN (their state is held for them). */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0)
		log_debug("SO_KEEPALIVE: %s", strerror(errno));

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = l->loop;
	c->l = l;
	c->fd = fd;
	c->refs = 1;
	c->reading = true;
	c->out_tail = &c->out_head;
	recmark_init(&c->rm, l->o.max_record);
	conn_format_name(c->name, sizeof(c->name), sa, salen);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_io_start(l->loop, &c->rio);

	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->st.accepted++;
	log_debug("%s: connected", c->name);
	return 0;
}

int conn_peer(const struct conn *c, struct sockaddr *sa, socklen_t *len)
{
	if (c->closed)
		return -EPIPE;
	return getpeername(c->fd, sa, len) < 0 ? -errno : 0;
}

int conn_connect(struct conn_listener *l, const struct sockaddr *sa, socklen_t salen, struct conn **out)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	/* Non-blocking: the loop never waits for the handshake. What is queued before it
	 * completes is written once the socket is writable (sendmsg says EAGAIN until then);
	 * a refused or unreachable peer shows as an error on the socket, and the connection
	 * closes like any other. */
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = conn_new(l, fd, sa, salen);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*out = conn_get(l->conns); /* conn_new put it at the head */
	return 0;
}

static void conn_accept_pause(struct conn_listener *l)
{
	for (int i = 0; i < l->nsock; i++)
		ev_io_stop(l->loop, &l->aw[i]);
	l->accept_paused = true;
	ev_timer_set(&l->accept_retry, CONN_ACCEPT_RETRY, 0.);
	ev_timer_start(l->loop, &l->accept_retry);
}

static void conn_accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn_listener *l = container_of(w, struct conn_listener, accept_retry);

	(void)revents;
	l->accept_paused = false;
	for (int i = 0; i < l->nsock; i++)
		ev_io_start(loop, &l->aw[i]);
}

static void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn_listener *l = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < CONN_ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd;

		/*
		 * Any source port: NFSv4 does not rely on reserved ports (RFC 7530 §3.2.1
		 * leaves security to RPCSEC_GSS), and unprivileged clients are common.
		 */
		fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/*
				 * The pending connection stays queued and the watcher is
				 * level-triggered: without a pause this would spin.
				 */
				log_warn("accept: %s, pausing %g s", strerror(errno),
					 CONN_ACCEPT_RETRY);
				conn_accept_pause(l);
				return;
			default:
				log_warn("accept: %s", strerror(errno));
				return;
			}
		}
		if (conn_new(l, fd, (struct sockaddr *)&ss, sl) < 0) {
			log_error("accept: out of memory, dropping a connection");
			close(fd);
		}
	}
}

/* ---- listen ------------------------------------------------------------------------------ */

int conn_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	*port = CONN_DEFAULT_PORT;
	if (!hostlen)
		return -EINVAL;
	host[0] = '\0';
	if (!s || !*s)
		return 0;
	/* One syntax for the config file and the command line: conf/ owns it. */
	return config_parse_listen(s, host, hostlen, port) ? -EINVAL : 0;
}

/* Same address, whatever the port (port 0 rewrites the ports of the entries as it goes). */
static bool same_addr(const struct addrinfo *a, const struct addrinfo *b)
{
	if (a->ai_family != b->ai_family)
		return false;
	if (a->ai_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a->ai_addr;
		const struct sockaddr_in *y = (const void *)b->ai_addr;

		return x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ai_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a->ai_addr;
		const struct sockaddr_in6 *y = (const void *)b->ai_addr;

		return !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return false;
}

static void set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

static int bound_port(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* One listening socket. Returns the fd, -EAFNOSUPPORT for a family the kernel lacks, -errno. */
static int listen_one(struct addrinfo *ai)
{
	int fd, one = 1, ret;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restarted server must get its port back while old connections sit in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* The IPv4 wildcard gets its own socket, so "::" must not claim IPv4 as well. */
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int conn_listen(struct ev_loop *loop, const struct conn_opts *o, struct conn_listener **out)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	struct conn_listener *l;
	char host[NI_MAXHOST], serv[8];
	uint16_t port;
	int ret, gai;

	*out = NULL;
	if (!o->on_record)
		return -EINVAL;
	ret = conn_parse_addr(o->listen, host, sizeof(host), &port);
	if (ret < 0) {
		log_error("listen address '%s' is not host[:port] or [v6addr]:port", o->listen);
		return ret;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->loop = loop;
	l->o = *o;
	l->o.listen = NULL; /* the caller's string is not ours to keep */
	if (!l->o.max_record)
		l->o.max_record = RECMARK_DEFAULT_MAX;
	if (!l->o.out_max)
		l->o.out_max = CONN_DEFAULT_OUT_MAX;
	if (!l->o.max_in_flight)
		l->o.max_in_flight = CONN_DEFAULT_MAX_IN_FLIGHT;

	/* No host: AI_PASSIVE yields the IPv4 and the IPv6 wildcard addresses. */
	snprintf(serv, sizeof(serv), "%u", port);
	gai = getaddrinfo(host[0] ? host : NULL, serv, &hints, &res);
	if (gai) {
		ret = gai == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
		log_error("listen address '%s': %s", host, gai_strerror(gai));
		goto out;
	}

	for (ai = res; ai; ai = ai->ai_next) {
		bool dup = false;
		int fd;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		for (struct addrinfo *p = res; p != ai; p = p->ai_next)
			dup = dup || same_addr(p, ai);
		if (dup)
			continue; /* /etc/hosts may list an address twice */
		if (l->nsock == CONN_MAX_LISTEN) {
			log_warn("listen: more than %d addresses, ignoring the rest",
				 CONN_MAX_LISTEN);
			break;
		}
		/* Port 0: every address gets the port the first one was given. */
		if (l->nsock && !port)
			set_port(ai->ai_addr, l->port);
		fd = listen_one(ai);
		if (fd == -EAFNOSUPPORT) {
			/* A kernel without IPv6 still serves IPv4. */
			log_info("listen: address family %d not supported, skipped", ai->ai_family);
			continue;
		}
		if (fd < 0) {
			char name[INET6_ADDRSTRLEN + 16];

			conn_format_name(name, sizeof(name), ai->ai_addr, ai->ai_addrlen);
			log_error("listen on %s: %s", name, strerror(-fd));
			ret = fd;
			goto out;
		}
		l->fds[l->nsock] = fd;
		if (!l->nsock && (ret = bound_port(fd, &l->port)) < 0) {
			close(fd);
			goto out;
		}
		ev_io_init(&l->aw[l->nsock], conn_accept_cb, fd, EV_READ);
		l->aw[l->nsock].data = l;
		l->nsock++;
	}
	if (!l->nsock) {
		log_error("listen address '%s': nothing to listen on", o->listen ? o->listen : "");
		ret = -EADDRNOTAVAIL;
		goto out;
	}

	for (int i = 0; i < l->nsock; i++)
		ev_io_start(loop, &l->aw[i]);
	ev_timer_init(&l->accept_retry, conn_accept_retry_cb, CONN_ACCEPT_RETRY, 0.);
	ev_prepare_init(&l->prepare, conn_prepare_cb);
	ev_prepare_start(loop, &l->prepare);
	ev_unref(loop); /* the flush hook alone must not keep ev_run() from returning */
	log_info("listening on %s port %u (%d socket%s)", host[0] ? host : "all addresses",
		 l->port, l->nsock, l->nsock == 1 ? "" : "s");
	*out = l;
	l = NULL;
	ret = 0;
out:
	if (res)
		freeaddrinfo(res);
	if (l) {
		for (int i = 0; i < l->nsock; i++)
			close(l->fds[i]);
		free(l);
	}
	return ret;
}

void conn_listener_close(struct conn_listener *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->nsock; i++) {
		ev_io_stop(l->loop, &l->aw[i]);
		close(l->fds[i]);
	}
	ev_timer_stop(l->loop, &l->accept_retry);
	ev_ref(l->loop);
	ev_prepare_stop(l->loop, &l->prepare);
	while (l->conns)
		conn_close(l->conns);
	free(l);
}

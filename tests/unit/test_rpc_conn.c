/*
 * cmocka tests of the TCP transport (server/conn.c) on a real libev loop and loopback
 * sockets. The client side is plain nonblocking sockets pumped from the test; the loop runs
 * until a condition holds or a deadline passes (a deadline only ever fails a test, no test
 * passes by waiting).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conn.h"
#include "log.h"
#include "recmark.h"

#define DEADLINE 10.0 /* seconds; generous for ASan on a loaded machine */
#define BIG_REPLY ((size_t)64 * 1024)

/* ---- client side ------------------------------------------------------------------------- */

struct client {
	int fd;
	uint8_t *out; /* bytes still to send */
	size_t out_len, out_off, out_cap;
	bool blocked; /* the last send hit EAGAIN with bytes left */
	bool reading;
	bool eof;
	bool summarize; /* keep only the first 4 bytes of each reply (and its length) */
	struct recmark rm;
	uint8_t **replies;
	size_t *reply_len;
	size_t nreplies, cap;
};

static void client_connect(struct client *cl, int family, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd;

	memset(cl, 0, sizeof(*cl));
	cl->reading = true;
	recmark_init(&cl->rm, SIZE_MAX);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* A small receive buffer fixed before connect: the kernel then absorbs little. */
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
	}
	/* The listen backlog completes the handshake before the server accepts. */
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cl->fd = fd;
}

static void client_free(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	for (size_t i = 0; i < cl->nreplies; i++)
		free(cl->replies[i]);
	free(cl->replies);
	free(cl->reply_len);
	free(cl->out);
	recmark_release(&cl->rm);
}

static void client_queue_raw(struct client *cl, const void *p, size_t n)
{
	if (cl->out_len + n > cl->out_cap) {
		cl->out_cap = (cl->out_len + n) * 2;
		cl->out = realloc(cl->out, cl->out_cap);
		assert_non_null(cl->out);
	}
	memcpy(cl->out + cl->out_len, p, n);
	cl->out_len += n;
}

/* Queue a single-fragment record. */
static void client_queue_record(struct client *cl, const void *p, size_t n)
{
	uint8_t hdr[RECMARK_HDR_SIZE];

	assert_int_equal(recmark_encode(hdr, n), 0);
	client_queue_raw(cl, hdr, sizeof(hdr));
	client_queue_raw(cl, p, n);
}

/* Send what the socket takes, then read and reassemble what has arrived. */
static void client_pump(struct client *cl)
{
	uint8_t buf[64 * 1024];

	cl->blocked = false;
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN)
				cl->blocked = true;
			else
				cl->eof = true; /* EPIPE / ECONNRESET: the server closed us */
			break;
		}
		cl->out_off += (size_t)w;
	}
	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;

	while (cl->reading && !cl->eof) {
		ssize_t r = recv(cl->fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			cl->eof = true;
			break;
		}
		if (r < 0)
			break;
		while (off < (size_t)r) {
			uint8_t *rec;
			size_t len;
			ssize_t f = recmark_feed(&cl->rm, buf + off, (size_t)r - off, &rec, &len);

			assert_true(f >= 0);
			off += (size_t)f;
			if (!rec)
				continue;
			if (cl->nreplies == cl->cap) {
				cl->cap = cl->cap ? cl->cap * 2 : 64;
				cl->replies = realloc(cl->replies, cl->cap * sizeof(*cl->replies));
				cl->reply_len = realloc(cl->reply_len, cl->cap * sizeof(size_t));
				assert_non_null(cl->replies);
				assert_non_null(cl->reply_len);
			}
			if (cl->summarize && len > 4) {
				uint8_t *small = realloc(rec, 4);

				assert_non_null(small);
				rec = small;
			}
			cl->replies[cl->nreplies] = rec;
			cl->reply_len[cl->nreplies++] = len;
		}
	}
}

/* ---- server side ------------------------------------------------------------------------- */

enum mode { ECHO, HOLD, BIG };

struct held {
	struct conn *c;
	uint8_t *rec;
	size_t len;
};

struct fx {
	struct ev_loop *loop;
	ev_timer tick;
	struct conn_listener *l;
	struct conn_opts opts;
	enum mode mode;
	struct conn *last; /* connection of the latest record */
	int records;
	int dones;  /* done callbacks that ran */
	int queued; /* replies queued with conn_send() */
	int closes; /* on_close calls */
	size_t max_out_seen;
	struct held held[64];
	int nheld;
	uint32_t seq; /* requests generated by the slow-reader client */
	struct client cl[2];
	int ncl;
};

static struct fx *fx_of(void *arg)
{
	return arg;
}

static void done_free(void *p)
{
	free(p);
}

struct big_done {
	struct fx *f;
	uint8_t *hdr;
};

static void done_big(void *p)
{
	struct big_done *d = p;

	d->f->dones++;
	free(d->hdr);
	free(d);
}

static const uint8_t big_payload[BIG_REPLY];

static void echo(struct fx *f, struct conn *c, uint8_t *rec, size_t len)
{
	struct iovec iov = {.iov_base = rec, .iov_len = len};

	f->queued++;
	assert_int_equal(conn_send(c, &iov, 1, done_free, rec), 0);
}

static void on_record(struct conn *c, uint8_t *rec, size_t len, void *arg)
{
	struct fx *f = fx_of(arg);

	f->records++;
	f->last = c;
	/* Backpressure contract: no record is delivered while the connection is over limit. */
	assert_true(conn_out_bytes(c) <= f->opts.out_max);
	assert_true(conn_in_flight(c) <= f->opts.max_in_flight);

	switch (f->mode) {
	case ECHO:
		echo(f, c, rec, len);
		break;
	case HOLD:
		/* Answered later, from outside the callback: keep the connection alive. */
		assert_true(f->nheld < 64);
		f->held[f->nheld++] = (struct held){.c = conn_get(c), .rec = rec, .len = len};
		break;
	case BIG: {
		/* A header copied from the request (its sequence number), then 64 KiB. */
		struct big_done *d = malloc(sizeof(*d));
		struct iovec iov[2];

		assert_non_null(d);
		assert_true(len >= 4);
		d->f = f;
		d->hdr = rec;
		iov[0] = (struct iovec){.iov_base = rec, .iov_len = 4};
		iov[1] = (struct iovec){.iov_base = (void *)big_payload, .iov_len = BIG_REPLY};
		f->queued++;
		assert_int_equal(conn_send(c, iov, 2, done_big, d), 0);
		if (conn_out_bytes(c) > f->max_out_seen)
			f->max_out_seen = conn_out_bytes(c);
		break;
	}
	}
}

static void on_close(struct conn *c, void *arg)
{
	struct fx *f = fx_of(arg);

	assert_true(conn_is_closed(c));
	f->closes++;
}

/* Answer the oldest held record (echo) and release the hold's reference. */
static int answer_held(struct fx *f)
{
	struct held h = f->held[0];
	struct iovec iov = {.iov_base = h.rec, .iov_len = h.len};
	int ret;

	assert_true(f->nheld > 0);
	memmove(f->held, f->held + 1, (size_t)(f->nheld - 1) * sizeof(f->held[0]));
	f->nheld--;
	f->queued++;
	ret = conn_send(h.c, &iov, 1, done_free, h.rec);
	conn_put(h.c);
	return ret;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Only here so that EV_RUN_ONCE returns regularly to re-check conditions. */
	(void)loop;
	(void)w;
	(void)revents;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	log_set_level(getenv("SLUICE_TEST_DEBUG") ? LL_DEBUG : LL_ERROR);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	ev_timer_init(&f->tick, tick_cb, 0.005, 0.005);
	ev_timer_start(f->loop, &f->tick);
	f->opts = (struct conn_opts){
		.listen = "127.0.0.1:0",
		.on_record = on_record,
		.on_close = on_close,
		.arg = f,
	};
	for (int i = 0; i < 2; i++)
		f->cl[i].fd = -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	while (f->nheld) {
		struct held *h = &f->held[--f->nheld];

		free(h->rec);
		conn_put(h->c);
	}
	conn_listener_close(f->l);
	for (int i = 0; i < f->ncl; i++)
		client_free(&f->cl[i]);
	ev_timer_stop(f->loop, &f->tick);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Fill in defaults the way conn_listen() does, so on_record can check the limits. */
static void fx_listen(struct fx *f)
{
	assert_int_equal(conn_listen(f->loop, &f->opts, &f->l), 0);
	assert_true(conn_listener_port(f->l) != 0);
	if (!f->opts.out_max)
		f->opts.out_max = CONN_DEFAULT_OUT_MAX;
	if (!f->opts.max_in_flight)
		f->opts.max_in_flight = CONN_DEFAULT_MAX_IN_FLIGHT;
}

static struct client *fx_client(struct fx *f, int family, int rcvbuf)
{
	struct client *cl = &f->cl[f->ncl++];

	client_connect(cl, family, conn_listener_port(f->l), rcvbuf);
	return cl;
}

static struct conn_stats fx_stats(struct fx *f)
{
	struct conn_stats st;

	conn_listener_stats(f->l, &st);
	return st;
}

/* Run the loop, pumping every client, until cond(f) holds. False on deadline. */
static bool run_until(struct fx *f, bool (*cond)(struct fx *))
{
	ev_tstamp deadline = ev_time() + DEADLINE;

	for (;;) {
		for (int i = 0; i < f->ncl; i++)
			if (f->cl[i].fd >= 0)
				client_pump(&f->cl[i]);
		if (cond(f))
			return true;
		if (ev_time() > deadline)
			return false;
		ev_run(f->loop, EVRUN_ONCE);
	}
}

static size_t want_bytes_in;
static int want_records, want_replies, want_closed;

static bool got_bytes(struct fx *f)
{
	return fx_stats(f).bytes_in >= want_bytes_in;
}

static bool got_replies(struct fx *f)
{
	return f->cl[0].nreplies >= (size_t)want_replies;
}

static bool got_records(struct fx *f)
{
	return f->records >= want_records;
}

static bool got_closed(struct fx *f)
{
	return fx_stats(f).closed >= (uint64_t)want_closed;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_parse_addr(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(conn_parse_addr(NULL, host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 2049);
	assert_int_equal(conn_parse_addr("", host, sizeof(host), &port), 0);
	assert_int_equal(port, 2049);
	assert_int_equal(conn_parse_addr("nfs.example", host, sizeof(host), &port), 0);
	assert_string_equal(host, "nfs.example");
	assert_int_equal(port, 2049);
	assert_int_equal(conn_parse_addr("10.0.0.1:2050", host, sizeof(host), &port), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 2050);
	assert_int_equal(conn_parse_addr(":0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 0);
	assert_int_equal(conn_parse_addr("[::1]:2051", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 2051);
	assert_int_equal(conn_parse_addr("[fe80::1%lo]", host, sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1%lo");
	assert_int_equal(port, 2049);
	assert_int_equal(conn_parse_addr("2001:db8::7", host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::7");
	assert_int_equal(port, 2049);

	assert_int_equal(conn_parse_addr("host:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("host:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("host:20x", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("[::1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("[]:1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("[::1]x", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(conn_parse_addr("averyveryverylonghostname", host, 8, &port), -EINVAL);
}

static void test_listen_errors(void **state)
{
	struct fx *f = *state;
	struct conn_listener *l;

	f->opts.listen = "127.0.0.1:99999";
	assert_int_equal(conn_listen(f->loop, &f->opts, &l), -EINVAL);
	assert_null(l);
	f->opts.listen = "127.0.0.1:0";
	f->opts.on_record = NULL;
	assert_int_equal(conn_listen(f->loop, &f->opts, &l), -EINVAL);
	/* A port in use is reported, not ignored. */
	f->opts.on_record = on_record;
	fx_listen(f);
	{
		char addr[32];
		struct conn_opts o = f->opts;

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", conn_listener_port(f->l));
		o.listen = addr;
		assert_int_equal(conn_listen(f->loop, &o, &l), -EADDRINUSE);
	}
}

static void test_echo_in_order(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	uint8_t hdr[4];

	(void)state;
	fx_listen(f);
	cl = fx_client(f, AF_INET, 0);

	/* Two records in one write. */
	client_queue_record(cl, "first", 5);
	client_queue_record(cl, "second!", 7);
	want_records = 2;
	assert_true(run_until(f, got_records));
	assert_int_equal(f->records, 2);

	/* One record in three writes; the server sees each part before the next is sent. */
	recmark_encode(hdr, 11);
	client_queue_raw(cl, hdr, 2);
	want_bytes_in = 2 * 4 + 5 + 7 + 2;
	assert_true(run_until(f, got_bytes));
	client_queue_raw(cl, hdr + 2, 2);
	client_queue_raw(cl, "third", 5);
	want_bytes_in += 7;
	assert_true(run_until(f, got_bytes));
	assert_int_equal(f->records, 2); /* still incomplete */
	client_queue_raw(cl, " rec!!", 6);
	want_replies = 3;
	assert_true(run_until(f, got_replies));

	assert_int_equal(f->records, 3);
	assert_int_equal(cl->nreplies, 3);
	assert_int_equal(cl->reply_len[0], 5);
	assert_memory_equal(cl->replies[0], "first", 5);
	assert_int_equal(cl->reply_len[1], 7);
	assert_memory_equal(cl->replies[1], "second!", 7);
	assert_int_equal(cl->reply_len[2], 11);
	assert_memory_equal(cl->replies[2], "third rec!!", 11);
	assert_int_equal(fx_stats(f).records_in, 3);
	assert_int_equal(fx_stats(f).bytes_out, 3 * 4 + 5 + 7 + 11);
	assert_int_equal(conn_in_flight(f->last), 0);
	assert_int_equal(conn_out_bytes(f->last), 0);
}

static void test_dual_stack(void **state)
{
	struct fx *f = *state;
	int fd6;

	/* ":0": all addresses, one free port shared by the IPv4 and IPv6 sockets. */
	f->opts.listen = ":0";
	fx_listen(f);
	fx_client(f, AF_INET, 0);
	client_queue_record(&f->cl[0], "v4", 2);
	want_replies = 1;
	assert_true(run_until(f, got_replies));
	assert_memory_equal(f->cl[0].replies[0], "v4", 2);

	fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd6 < 0) {
		/* No IPv6 in this kernel: the IPv4 half is all there is to test. */
		return;
	}
	close(fd6);
	fx_client(f, AF_INET6, 0);
	client_queue_record(&f->cl[1], "v6", 2);
	want_records = 2;
	assert_true(run_until(f, got_records));
	assert_int_equal(fx_stats(f).accepted, 2);
	assert_non_null(strchr(conn_name(f->last), '['));
}

/* Records held unanswered: reading stops at max_in_flight, exactly, and resumes. */
static void test_in_flight_limit(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	char msg[16];

	f->opts.max_in_flight = 4;
	f->mode = HOLD;
	fx_listen(f);
	cl = fx_client(f, AF_INET, 0);
	for (int i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "rec%d", i);
		client_queue_record(cl, msg, 4);
	}
	/* All ten arrive in one read; only four may be delivered. */
	want_bytes_in = 10 * 8;
	assert_true(run_until(f, got_bytes));
	want_records = 4;
	assert_true(run_until(f, got_records));
	assert_false(conn_is_reading(f->last));
	assert_int_equal(conn_in_flight(f->last), 4);
	for (int i = 0; i < 20; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->records, 4); /* the watcher is stopped: nothing more can come */
	assert_true(fx_stats(f).read_pauses >= 1);

	/* Two answers free two slots: two more records, from what was already read. */
	assert_int_equal(answer_held(f), 0);
	assert_int_equal(answer_held(f), 0);
	want_records = 6;
	assert_true(run_until(f, got_records));
	assert_int_equal(conn_in_flight(f->last), 4);

	/* Answer everything, from now on at once. */
	f->mode = ECHO;
	while (f->nheld)
		assert_int_equal(answer_held(f), 0);
	want_replies = 10;
	assert_true(run_until(f, got_replies));
	for (int i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "rec%d", i);
		assert_int_equal(cl->reply_len[i], 4);
		assert_memory_equal(cl->replies[i], msg, 4);
	}
	assert_true(conn_is_reading(f->last));
}

static uint32_t get_seq(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Keep the client's send side full of 1 KiB requests numbered 0, 1, 2... */
static bool paused_and_blocked(struct fx *f)
{
	struct client *cl = &f->cl[0];

	if (!cl->blocked && cl->out_len - cl->out_off < 64 * 1024)
		for (int i = 0; i < 64; i++) {
			uint8_t req[1024] = {0};

			req[0] = (uint8_t)(f->seq >> 24);
			req[1] = (uint8_t)(f->seq >> 16);
			req[2] = (uint8_t)(f->seq >> 8);
			req[3] = (uint8_t)f->seq;
			f->seq++;
			client_queue_record(cl, req, sizeof(req));
		}
	return f->last && !conn_is_reading(f->last) && cl->blocked;
}

static bool all_answered(struct fx *f)
{
	return f->cl[0].nreplies >= f->seq;
}

/*
 * A peer that sends but does not read: the server stops reading it once out_max is unsent,
 * and its queue stays bounded. When the peer reads again, everything arrives, in order.
 */
static void test_backpressure_slow_reader(void **state)
{
	struct fx *f = *state;
	struct client *cl;

	f->opts.out_max = 256 * 1024;
	f->opts.max_in_flight = 100000; /* only the output bound is under test */
	f->mode = BIG;
	fx_listen(f);
	cl = fx_client(f, AF_INET, 16 * 1024);
	cl->reading = false;
	cl->summarize = true;

	/*
	 * The client's writes stop going through while the server's read watcher is
	 * stopped: the server is not reading, and the kernel buffers in between are full.
	 */
	assert_true(run_until(f, paused_and_blocked));
	assert_true(fx_stats(f).read_pauses >= 1);
	assert_true(f->records < (int)f->seq);
	/* Bounded: out_max plus the one reply that crossed it. */
	assert_true(conn_out_bytes(f->last) > f->opts.out_max / 2);
	assert_true(f->max_out_seen <= f->opts.out_max + BIG_REPLY + 8);
	for (int i = 0; i < 20; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
	assert_false(conn_is_reading(f->last));
	assert_true(f->max_out_seen <= f->opts.out_max + BIG_REPLY + 8);

	/* The client reads again (and sends what it still has): all answered, in order. */
	cl->reading = true;
	assert_true(run_until(f, all_answered));
	assert_int_equal(cl->nreplies, f->seq);
	for (uint32_t i = 0; i < f->seq; i++) {
		assert_int_equal(cl->reply_len[i], 4 + BIG_REPLY);
		assert_int_equal(get_seq(cl->replies[i]), i);
	}
	assert_int_equal(f->records, (int)f->seq);
	assert_int_equal(f->dones, f->queued); /* everything written was handed back */
	assert_int_equal(conn_out_bytes(f->last), 0);
	assert_true(conn_is_reading(f->last));
	assert_true(f->max_out_seen <= f->opts.out_max + BIG_REPLY + 8);
}

/* The peer goes away in the middle of a record: the partial record is simply freed. */
static void test_close_mid_record(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	uint8_t hdr[4];

	fx_listen(f);
	cl = fx_client(f, AF_INET, 0);
	client_queue_record(cl, "whole", 5);
	recmark_encode(hdr, 100);
	client_queue_raw(cl, hdr, 4);
	client_queue_raw(cl, "only ten..", 10);
	want_bytes_in = 9 + 14;
	assert_true(run_until(f, got_bytes));
	close(cl->fd);
	cl->fd = -1;
	want_closed = 1;
	assert_true(run_until(f, got_closed));
	assert_int_equal(f->records, 1);
	assert_int_equal(f->closes, 1);
	assert_int_equal(f->dones, 0);
	assert_int_equal(fx_stats(f).protocol_errors, 0);
}

static void count_done(void *arg)
{
	struct fx *f = arg;

	f->dones++;
}

/* A reply that completes after the peer left: conn_send() fails cleanly, done still runs. */
static void test_reply_after_disconnect(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	struct iovec iov = {.iov_base = "late", .iov_len = 4};
	struct held h;

	f->mode = HOLD;
	fx_listen(f);
	cl = fx_client(f, AF_INET, 0);
	client_queue_record(cl, "slow op", 7);
	want_records = 1;
	assert_true(run_until(f, got_records));
	close(cl->fd);
	cl->fd = -1;
	want_closed = 1;
	assert_true(run_until(f, got_closed));

	h = f->held[--f->nheld];
	assert_true(conn_is_closed(h.c));
	assert_int_equal(conn_send(h.c, &iov, 1, count_done, f), -EPIPE);
	assert_int_equal(f->dones, 1);
	conn_record_dropped(h.c); /* harmless on a closed connection too */
	free(h.rec);
	conn_put(h.c); /* the last reference: freed here (ASan checks) */
}

/* Output still queued when the connection dies is handed back through done. */
static bool blocked_on_output(struct fx *f)
{
	return f->last && !conn_is_reading(f->last);
}

static void test_close_with_queued_output(void **state)
{
	struct fx *f = *state;
	struct client *cl;
	uint8_t req[8] = {0};

	f->opts.out_max = 128 * 1024;
	f->mode = BIG;
	fx_listen(f);
	cl = fx_client(f, AF_INET, 16 * 1024);
	cl->reading = false;
	for (int i = 0; i < 200; i++)
		client_queue_record(cl, req, sizeof(req));
	assert_true(run_until(f, blocked_on_output));
	assert_true(conn_out_bytes(f->last) > 0);
	assert_true(f->dones < f->queued);

	/* Unread data at close: the kernel resets the connection. */
	close(cl->fd);
	cl->fd = -1;
	want_closed = 1;
	assert_true(run_until(f, got_closed));
	assert_int_equal(f->dones, f->queued);
}

/* An oversize record closes that connection only. */
static void test_oversize_closes_one_connection(void **state)
{
	struct fx *f = *state;
	struct client *bad, *good;
	uint8_t hdr[4];

	f->opts.max_record = 1024;
	fx_listen(f);
	good = fx_client(f, AF_INET, 0);
	bad = fx_client(f, AF_INET, 0);
	recmark_encode(hdr, 1025);
	client_queue_raw(bad, hdr, 4);
	want_closed = 1;
	assert_true(run_until(f, got_closed));
	assert_int_equal(fx_stats(f).protocol_errors, 1);
	assert_int_equal(f->records, 0);
	/* The client sees the connection go away. */
	while (!bad->eof) {
		client_pump(bad);
		ev_run(f->loop, EVRUN_NOWAIT);
	}

	/* The other connection is unaffected, and exactly max_record still passes. */
	{
		static uint8_t big[1024];

		client_queue_record(good, big, sizeof(big));
	}
	want_replies = 1;
	assert_true(run_until(f, got_replies));
	assert_int_equal(good->reply_len[0], 1024);
	assert_int_equal(fx_stats(f).closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test_setup_teardown(test_listen_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_echo_in_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dual_stack, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_in_flight_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_slow_reader, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_close_mid_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reply_after_disconnect, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_close_with_queued_output, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_oversize_closes_one_connection, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests_name("rpc_conn", tests, NULL, NULL);
}

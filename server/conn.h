/*
 * TCP front end: listening sockets and client connections on one libev loop.
 *
 * A connection reads bytes, cuts them into RPC records (RFC 5531 §11, recmark.h) and hands
 * each record to the on_record callback. Replies are queued with conn_send() as iovecs that
 * may point into buffers the caller keeps alive until its done callback runs (READ data is
 * sent straight from cached pages), and written in batches with sendmsg() just before the
 * loop goes to sleep, or at once when a lot has piled up.
 *
 * Backpressure: a connection stops reading its socket while its unsent output is above
 * out_max, or while max_in_flight records are waiting for their reply, and reads again once
 * output is down to out_max / 2 and a slot is free. Output counts the queue entries' own
 * memory with the reply bytes, and the caller frees what a small reply pinned (its request)
 * when it queues it (dispatch.c), so memory per connection is bounded: one partial record
 * (max_record), the bytes of one socket read that were already in hand when reading
 * stopped, out_max plus the replies of the max_in_flight records that were being served
 * when the limit was hit (a large queued reply, a READ, keeps its request until written).
 *
 * Lifetime: a connection is reference counted. The open connection holds one reference;
 * conn_close() (called by us on EOF, socket errors and broken record marking, or by the
 * caller) closes the socket, runs every queued done callback, calls on_close and drops that
 * reference. Work that outlives on_record (a COMPOUND parked on the disk) takes its own
 * reference with conn_get() and drops it with conn_put() after its conn_send(); sending on a
 * closed connection is safe and still runs done.
 *
 * Threading: everything here runs on the loop's thread; nothing locks.
 */
#ifndef SLUICE_CONN_H
#define SLUICE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct ev_loop;
struct conn;
struct conn_listener;

/*
 * A complete record. rec was allocated with malloc() and now belongs to the callee (free()
 * it). Every record must be answered by exactly one conn_send(), or be declared unanswered
 * with conn_record_dropped(): that is how records in flight are counted.
 */
typedef void (*conn_record_fn)(struct conn *c, uint8_t *rec, size_t len, void *arg);
/* The connection closed; it is still valid memory until the last conn_put(). */
typedef void (*conn_close_fn)(struct conn *c, void *arg);
/* A queued reply was written, or dropped because the connection closed. */
typedef void (*conn_done_fn)(void *arg);

#define CONN_DEFAULT_PORT 2049 /* RFC 7530 §3.1, RFC 8881 §2.9.3 */
#define CONN_DEFAULT_OUT_MAX ((size_t)8 * 1024 * 1024)
#define CONN_DEFAULT_MAX_IN_FLIGHT 128u
#define CONN_SEND_IOV_MAX 1023 /* per conn_send(): IOV_MAX minus the record marker */

struct conn_opts {
	/*
	 * "host", "host:port", "[v6addr]", "[v6addr]:port", ":port" or a bare IPv6 address.
	 * NULL or "" means every address (IPv4 and IPv6) on port 2049. Port 0 picks a free
	 * port, the same one for every address; conn_listener_port() tells which.
	 */
	const char *listen;
	size_t max_record;          /* largest request record; 0: RECMARK_DEFAULT_MAX */
	size_t out_max;             /* unsent bytes before reading stops; 0: default */
	unsigned int max_in_flight; /* unanswered records before reading stops; 0: default */
	conn_record_fn on_record;   /* required */
	conn_close_fn on_close;     /* optional */
	/* optional: records that are RPC REPLYs (msg_type 1), answers to calls the server
	 * sent with conn_send_call(); they are not counted in flight. NULL: on_record. */
	conn_record_fn on_reply;
	void *arg;                  /* passed to both */
};

struct conn_stats {
	uint64_t accepted;
	uint64_t closed;
	uint64_t records_in;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t read_pauses;     /* times a connection stopped reading (backpressure) */
	uint64_t protocol_errors; /* connections closed for oversize records */
};

/*
 * Split a listen address into host ("" for all addresses; brackets removed) and port.
 * Returns 0 or -EINVAL (bad port, unbalanced brackets, host too long for hostlen).
 */
int conn_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port);

/* Bind and listen on o->listen, accepting on loop. Returns 0 and *out, or -errno. */
int conn_listen(struct ev_loop *loop, const struct conn_opts *o, struct conn_listener **out);

/* The port actually bound (useful with port 0). */
uint16_t conn_listener_port(const struct conn_listener *l);

void conn_listener_stats(const struct conn_listener *l, struct conn_stats *st);

/*
 * Stop listening and close every connection (their done and on_close callbacks run).
 * Call it from the loop (a signal watcher, say), never from inside this listener's own
 * callbacks (on_record, on_close, a done): those run on the listener's memory.
 */
void conn_listener_close(struct conn_listener *l);

/*
 * Queue one reply record: the bytes of iov[0..iovcnt) behind one record marker. The iovec
 * array is copied; the memory it points to must stay valid until done(done_arg) runs.
 * done runs exactly once, whatever this returns, and may run before conn_send() returns
 * (connection already closed, or the queue was large enough to be written at once).
 * Returns 0, -EPIPE when the connection is closed, or -EINVAL / -EMSGSIZE / -ENOMEM, after
 * which the connection is closed: a reply stream with a hole in it is useless to a client,
 * which will retransmit on a new connection.
 */
int conn_send(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
	      void *done_arg);

/* A record will get no reply (e.g. an undecodable call header): free its in-flight slot. */
void conn_record_dropped(struct conn *c);

/*
 * Open a connection from the server to sa (the NFSv4.0 callback path, RFC 7530 §10.2.1),
 * served like the listener's accepted ones: records and replies go to its callbacks. The
 * connect is non-blocking. Returns 0 and *out with a reference for the caller (besides the
 * open connection's own), or -errno.
 */
int conn_connect(struct conn_listener *l, const struct sockaddr *sa, socklen_t salen,
		 struct conn **out);

/* The peer's address (getpeername). 0 or -errno. */
int conn_peer(const struct conn *c, struct sockaddr *sa, socklen_t *len);

/* Close now; queued output is dropped (done callbacks run). Idempotent. */
void conn_close(struct conn *c);

struct conn *conn_get(struct conn *c);
void conn_put(struct conn *c);

bool conn_is_closed(const struct conn *c);
const char *conn_name(const struct conn *c); /* "192.0.2.1:871" or "[2001:db8::1]:871" */
void conn_set_priv(struct conn *c, void *priv);
void *conn_priv(const struct conn *c);

/*
 * Records in flight are counted per connection: +1 per record delivered, -1 per conn_send()
 * or conn_record_dropped(). A backchannel CALL sent by the server (NFSv4.1 callbacks) is not
 * an answer: it goes with conn_send_call(), which queues like conn_send() and leaves the
 * count alone; its REPLY comes back through on_reply.
 */
int conn_send_call(struct conn *c, const struct iovec *iov, int iovcnt, conn_done_fn done,
		   void *done_arg);

/* Observability (metrics, tests). */
size_t conn_out_bytes(const struct conn *c);
unsigned int conn_in_flight(const struct conn *c);
bool conn_is_reading(const struct conn *c);

#endif

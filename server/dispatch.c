/*
 * From one RPC record to its reply: the call header (rpc.c), the NULL procedure, COMPOUND
 * through the compound engine, and the reply back on the connection. Session replies are
 * stored in their slot here, once the COMPOUND is complete (RFC 8881 §2.10.6.1).
 */
#define _GNU_SOURCE /* statx, O_PATH, name_to_handle_at */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "request.h"
#include "rpc.h"
#include "server.h"
#include "state.h"
#include "stats.h"

/* AUTH_NONE callers are anonymous (RFC 5531 §10.1): the id knfsd uses for them too. */
#define ANON_ID 65534u

/* A reply that is not a COMPOUND's: a verdict, NULL's empty result, GARBAGE_ARGS... */
struct small_reply {
	uint8_t buf[RPC_REPLY_HDR_MAX];
	struct iovec iov;
};

static void small_reply_done(void *arg)
{
	free(arg);
}

static void reply_out(struct srv_loop *lp, struct conn *conn, const struct iovec *iov,
		      unsigned niov, size_t len, void (*done)(void *), void *arg)
{
	if (conn) {
		conn_send(conn, iov, (int)niov, done, arg); /* done runs whatever happens */
		return;
	}
	if (lp->reply_sink)
		lp->reply_sink(lp->reply_arg, iov, niov, len);
	done(arg);
}

static void send_small(struct srv_loop *lp, struct conn *conn, const uint8_t *hdr, size_t n)
{
	struct small_reply *r = malloc(sizeof(*r));

	if (!r) {
		if (conn)
			conn_record_dropped(conn); /* the client will retransmit */
		return;
	}
	memcpy(r->buf, hdr, n);
	r->iov.iov_base = r->buf;
	r->iov.iov_len = n;
	reply_out(lp, conn, &r->iov, 1, n, small_reply_done, r);
}

static void send_accept(struct srv_loop *lp, struct conn *conn, uint32_t xid,
			enum accept_stat stat)
{
	uint8_t hdr[RPC_REPLY_HDR_MAX];
	size_t n = rpc_encode_accept(hdr, sizeof(hdr), xid, stat);

	send_small(lp, conn, hdr, n);
}

/* ---- COMPOUND ----------------------------------------------------------------------------- */

static void req_free(struct nfs_req *r)
{
	struct srv_loop *lp = r->lp;

	compound_free(r->c);
	free(r->rec);
	if (r->conn)
		conn_put(r->conn);
	free(r);
	lp->requests--;
}

static void req_sent(void *arg)
{
	req_free(arg);
}

/* Replies up to this size are copied out of their request, which is freed at once. */
#define DETACH_MAX 16384u

struct detached_reply {
	struct iovec iov;
	uint8_t buf[];
};

/*
 * Queue r's reply and let go of r. A small reply is copied into a buffer of its own first:
 * a request holds at least an arena chunk (64 KiB) and its record, and a client that sends
 * many calls without reading its replies would otherwise pin all of them (the output limit
 * counts reply bytes). A large one (READ data) is sent from the request's memory, which is
 * freed when the reply is written.
 */
static void reply_and_free(struct nfs_req *r, const struct iovec *iov, unsigned niov, size_t len)
{
	struct detached_reply *d = len <= DETACH_MAX ? malloc(sizeof(*d) + len) : NULL;
	size_t off = 0;

	if (!d) {
		reply_out(r->lp, r->conn, iov, niov, len, req_sent, r);
		return;
	}
	for (unsigned i = 0; i < niov; i++) {
		memcpy(d->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	d->iov.iov_base = d->buf;
	d->iov.iov_len = off;
	/* r (and its reference on the connection) lives until the reply is queued */
	reply_out(r->lp, r->conn, &d->iov, 1, off, small_reply_done, d);
	req_free(r);
}

/* A retransmission answered from the slot's reply cache: the RPC header, then the cached
 * COMPOUND4res bytes (copied into the compound's memory by SEQUENCE). */
static void send_replay(struct nfs_req *r)
{
	uint8_t *hdr = compound_alloc(r->c, RPC_REPLY_ACCEPT_SIZE);
	struct iovec *iov = compound_alloc(r->c, 2 * sizeof(*iov));
	size_t n;

	if (!hdr || !iov) {
		if (r->conn)
			conn_record_dropped(r->conn);
		req_free(r);
		return;
	}
	n = rpc_encode_accept(hdr, RPC_REPLY_ACCEPT_SIZE, r->xid, SUCCESS);
	iov[0].iov_base = hdr;
	iov[0].iov_len = n;
	iov[1].iov_base = (void *)r->replay;
	iov[1].iov_len = r->replay_len;
	log_debug("xid %08x: replayed from the session slot (%zu bytes)", r->xid, r->replay_len);
	reply_and_free(r, iov, 2, n + r->replay_len);
}

static void compound_done(struct compound *c)
{
	struct nfs_req *r = req_of(c);
	const struct iovec *iov;
	unsigned niov;
	size_t len;
	uint8_t *hdr;

	if (r->replay) {
		send_replay(r);
		return;
	}
	iov = compound_reply(c, &niov, &len);
	if (r->slot)
		state_slot_done(r, iov, iov ? niov : 0, iov ? len : 0,
				iov && compound_reply_cacheable(c));
	hdr = iov ? compound_reply_prepend(c, RPC_REPLY_ACCEPT_SIZE) : NULL;
	if (!hdr) {
		/* RFC 5531 §9: the reply could not be built at all */
		log_error("xid %08x: COMPOUND reply could not be built", r->xid);
		send_accept(r->lp, r->conn, r->xid, SYSTEM_ERR);
		req_free(r);
		return;
	}
	rpc_encode_accept(hdr, RPC_REPLY_ACCEPT_SIZE, r->xid, SUCCESS);
	iov = compound_reply(c, &niov, &len);
	reply_and_free(r, iov, niov, len);
}

void dispatch_on_op(struct compound *c, uint32_t op, nfsstat4 status)
{
	stats_op(op, (uint32_t)status);
	if (status != NFS4_OK && log_level_current >= LL_DEBUG)
		log_debug("xid %08x: %s -> %d", req_of(c)->xid, optable_name(c->ops, op), status);
}

void dispatch_on_change(struct compound *c)
{
	atomic_fetch_add(&req_of(c)->lp->srv->attr_gen, 1);
}

static void run_compound(struct srv_loop *lp, struct conn *conn, uint8_t *rec, size_t len,
			 const struct rpc_call *call)
{
	struct server *srv = lp->srv;
	struct nfs_req *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		free(rec);
		send_accept(lp, conn, call->xid, SYSTEM_ERR);
		return;
	}
	r->lp = lp;
	r->state = srv->state;
	r->conn = conn ? conn_get(conn) : NULL;
	r->xid = call->xid;
	r->rec = rec;
	r->rec_len = len;
	r->cred.flavor = call->cred_flavor;
	if (call->cred_flavor == AUTH_SYS) {
		r->cred.uid = call->sys.uid;
		r->cred.gid = call->sys.gid;
		r->cred.ngids = call->sys.ngids;
		memcpy(r->cred.gids, call->sys.gids, sizeof(r->cred.gids));
	} else {
		r->cred.uid = r->cred.gid = ANON_ID;
	}
	lp->requests++;
	r->c = compound_new(&srv->ccfg, &srv->ops, call->body, call->body_len, compound_done, r);
	if (!r->c) {
		send_accept(lp, conn, call->xid, SYSTEM_ERR);
		req_free(r);
		return;
	}
	ret = compound_start(r->c);
	if (ret < 0) {
		/* the COMPOUND header itself did not decode (RFC 5531 §9 GARBAGE_ARGS) */
		log_info("xid %08x from %s: %s", call->xid, conn ? conn_name(conn) : "-",
			 ret == -EBADMSG ? "undecodable COMPOUND header" : "no memory for COMPOUND");
		send_accept(lp, conn, call->xid, ret == -EBADMSG ? GARBAGE_ARGS : SYSTEM_ERR);
		req_free(r);
	}
	/* otherwise compound_done runs (maybe it already has) and frees r after sending */
}

void dispatch_record(struct srv_loop *lp, struct conn *conn, uint8_t *rec, size_t len)
{
	struct rpc_call call;
	enum rpc_verdict v = rpc_decode_call(rec, len, &call);
	uint8_t hdr[RPC_REPLY_HDR_MAX];
	size_t n;

	switch (v) {
	case RPC_CALL_OK:
		break;
	case RPC_CALL_DROP:
		log_info("%s: record of %zu bytes is not an RPC call: dropped",
			 conn ? conn_name(conn) : "-", len);
		free(rec);
		if (conn)
			conn_record_dropped(conn);
		return;
	default:
		log_info("%s: xid %08x refused: %s%s%s", conn ? conn_name(conn) : "-", call.xid,
			 rpc_verdict_name(v), v == RPC_CALL_AUTH_ERROR ? " " : "",
			 v == RPC_CALL_AUTH_ERROR ? rpc_auth_stat_name(call.auth_why) : "");
		n = rpc_encode_verdict(hdr, sizeof(hdr), &call, v);
		free(rec);
		send_small(lp, conn, hdr, n);
		return;
	}
	if (call.proc == RPC_NFSPROC_NULL) {
		/* RFC 7530 §16.1 / RFC 8881 §16.1: NULL takes and returns nothing. */
		free(rec);
		send_accept(lp, conn, call.xid, SUCCESS);
		return;
	}
	run_compound(lp, conn, rec, len, &call);
}

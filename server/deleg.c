/*
 * Callbacks and read delegations (RFC 8881 §2.10.3.1, §10.2, §10.4, §20; RFC 7530 §10).
 *
 * The backchannel: a 4.1+ client binds one of its connections for callbacks (CREATE_SESSION
 * with CONN_BACK_CHAN, or BIND_CONN_TO_SESSION); the server sends RPC CALLs of the client's
 * callback program on it and the client's REPLYs come back on the same connection
 * (conn.c hands them to state_cb_reply()). A CB_NULL probe must come back before the
 * channel is trusted (knfsd probes too); a callback that gets no answer within CB_TIMEOUT
 * marks the path down, which SEQUENCE then tells the client (SEQ4_STATUS_CB_PATH_DOWN) so
 * that it binds a connection again. One backchannel slot is used: callbacks are rare
 * (recalls, lock notifications) and one at a time keeps CB_SEQUENCE's rules simple.
 *
 * Read delegations: an OPEN for reading only, of a file no one has open for writing, by a
 * client whose backchannel is up, outside the grace period, gets one. Another client's
 * write open, WRITE (and the other data-changing ops that check a stateid for writing),
 * SETATTR, REMOVE or RENAME onto the file recalls it: the op gets NFS4ERR_DELAY (the
 * client retries) until the holder returns the delegation with DELEGRETURN, or until a
 * lease has passed since the recall, when it is revoked (§10.2.1) and the op goes on.
 *
 * NFSv4.0 (RFC 7530 §10.2.1): the server connects to the callback address the client gave
 * in SETCLIENTID (only on the host the client calls from: sluice is no relay to third
 * parties), probes it with CB_NULL, and sends CB_COMPOUNDs of CB_RECALL alone (no
 * CB_SEQUENCE in 4.0, callback_ident instead). A path that fails is connected again at a
 * later OPEN, at most every CB_RETRY40 seconds.
 *
 * Not here: write delegations, delegation reclaims after a restart (CLAIM_DELEGATE_PREV is
 * NOTSUPP, a CLAIM_PREVIOUS with a delegation gets the open without one), a recall when the
 * source name of a RENAME goes.
 */
#include "state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"

#define CB_TIMEOUT 10u              /* seconds a callback may wait for its reply */
#define CB_RETRY40 30u              /* 4.0: seconds between connection attempts */
#define ST_DELEGS_MAX 262144u       /* read delegations in all: more get none (WND4_RESOURCE) */


static void waiters_sweep(struct nfs_state *s, uint64_t now);
static void waiters_client_fini(struct nfs_state *s, struct nfs_client *cl);

/* ---- the backchannel ------------------------------------------------------------------ */

static bool chan_usable(const struct st_cbchan *ch)
{
	return ch->conn && !conn_is_closed(ch->conn);
}

static void call_free(struct st_cbcall *k)
{
	list_del(&k->link);
	if (k->conn)
		conn_put(k->conn);
	free(k);
}

static void cb_buf_done(void *arg)
{
	free(arg);
}

static const char *cb_name(uint32_t op)
{
	return op == OP_CB_RECALL ? "CB_RECALL" : op == OP_CB_NOTIFY_LOCK ? "CB_NOTIFY_LOCK" : "CB_NULL";
}

/* Put k on the wire on its client's backchannel. False when it cannot be (k stays where
 * it is). */
static bool cb_send(struct nfs_state *s, struct st_cbcall *k)
{
	struct st_cbchan *ch = &k->cl->cbc;
	nfs_cb_argop4 ops[2];
	CB_COMPOUND4args a;
	struct iovec iov;
	uint8_t *buf;
	size_t len;
	int ret;

	if (!chan_usable(ch))
		return false;
	k->xid = ++s->cb_xid;
	memset(ops, 0, sizeof(ops));
	memset(&a, 0, sizeof(a));
	if (k->op && ch->v40) {
		/* RFC 7530 §16.33.5 / §17: 4.0 has no CB_SEQUENCE; callback_ident names the
		 * client to itself */
		a.tag.utf8string_val = (char *)"";
		a.minorversion = 0;
		a.callback_ident = ch->ident;
		a.argarray.argarray_len = 1;
		a.argarray.argarray_val = ops + 1;
	} else if (k->op) {
		a.tag.utf8string_val = (char *)"";
		a.minorversion = ch->minor;
		a.argarray.argarray_len = 2;
		a.argarray.argarray_val = ops;
		/* RFC 8881 §20.9.3: slot 0, its next sequence id, no referring calls */
		ops[0].argop = OP_CB_SEQUENCE;
		memcpy(ops[0].nfs_cb_argop4_u.opcbsequence.csa_sessionid, ch->sessionid,
		       NFS4_SESSIONID_SIZE);
		ops[0].nfs_cb_argop4_u.opcbsequence.csa_sequenceid = ch->seqid + 1;
	}
	if (k->op) {
		ops[1].argop = k->op;
		if (k->op == OP_CB_RECALL) {
			CB_RECALL4args *r = &ops[1].nfs_cb_argop4_u.opcbrecall;

			r->stateid = k->sid;
			r->truncate = FALSE;
			r->fh.nfs_fh4_len = k->fh_len;
			r->fh.nfs_fh4_val = (char *)k->fh;
		} else {
			CB_NOTIFY_LOCK4args *n = &ops[1].nfs_cb_argop4_u.opcbnotify_lock;

			n->cnla_fh.nfs_fh4_len = k->fh_len;
			n->cnla_fh.nfs_fh4_val = (char *)k->fh;
			n->cnla_lock_owner.clientid = k->cl->id;
			n->cnla_lock_owner.owner.owner_len = k->owner_len;
			n->cnla_lock_owner.owner.owner_val = (char *)k->owner;
		}
	}
	ret = cb_encode_call(k->xid, ch->prog, &ch->sec, k->op ? &a : NULL, &buf, &len);
	if (ret < 0) {
		log_error("%s to client %016llx: cannot encode (%s)", cb_name(k->op),
			  (unsigned long long)k->cl->id, strerror(-ret));
		return false;
	}
	iov.iov_base = buf;
	iov.iov_len = len;
	k->conn = conn_get(ch->conn);
	k->sent = st_now(s);
	list_del(&k->link);
	list_add(&s->cb_out, &k->link);
	if (k->op)
		ch->busy = true;
	else
		ch->probing = true;
	log_debug("%s (xid %08x) to client %016llx on %s", cb_name(k->op), k->xid,
		  (unsigned long long)k->cl->id, conn_name(ch->conn));
	conn_send_call(ch->conn, &iov, 1, cb_buf_done, buf); /* buf is freed whatever happens */
	return true;
}

static void cb_send_next(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_cbchan *ch = &cl->cbc;

	/* the queue's tail is its oldest call */
	while (!ch->busy && ch->up && chan_usable(ch) && !list_empty(&ch->queue)) {
		struct st_cbcall *k = container_of(ch->queue.prev, struct st_cbcall, link);

		if (!cb_send(s, k))
			call_free(k); /* it cannot be encoded, and never will be */
	}
}

/* A CB_COMPOUND with op (after CB_SEQUENCE) for cl, queued; sent when the slot is free.
 * NULL when cl has no backchannel or no memory. */
static struct st_cbcall *cb_call_new(struct nfs_client *cl, uint32_t op)
{
	struct st_cbcall *k;

	if (!cl->cbc.wanted)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->cl = cl;
	k->op = op;
	list_init(&k->link);
	return k;
}

static void cb_submit(struct nfs_state *s, struct st_cbcall *k)
{
	list_add(&k->cl->cbc.queue, &k->link); /* the newest at the head */
	cb_send_next(s, k->cl);
}

/* A call that was sent goes back to its client's queue, as the next to go (the queue's
 * tail). */
static void requeue_first(struct st_cbcall *k)
{
	conn_put(k->conn);
	k->conn = NULL;
	list_del(&k->link);
	list_add_tail(&k->cl->cbc.queue, &k->link);
}

/* Calls of cl that went out on its backchannel connection will not be answered (the
 * connection went or another one replaces it): CB_NULL is forgotten, a CB_COMPOUND goes
 * back to the queue to be sent again once a channel is up. */
static void cb_requeue_out(struct nfs_state *s, struct nfs_client *cl)
{
	struct list_link *l, *next;

	for (l = s->cb_out.next; l != &s->cb_out; l = next) {
		struct st_cbcall *k = container_of(l, struct st_cbcall, link);

		next = l->next;
		if (k->cl != cl)
			continue;
		if (!k->op) {
			call_free(k);
			continue;
		}
		requeue_first(k);
	}
	cl->cbc.busy = false;
	cl->cbc.probing = false;
}

/* Let go of the channel's connection; the server's own (4.0) is closed too. */
static void chan_drop_conn(struct st_cbchan *ch)
{
	if (ch->conn) {
		if (ch->v40)
			conn_close(ch->conn);
		conn_put(ch->conn);
	}
	ch->conn = NULL;
	ch->up = false;
}

static void chan_init(struct st_cbchan *ch)
{
	if (!ch->queue.next)
		list_init(&ch->queue);
}

void st_cbchan_sec(struct nfs_client *cl, uint32_t prog, const callback_sec_parms4 *v, u_int n)
{
	struct st_cbchan *ch = &cl->cbc;

	chan_init(ch);
	ch->prog = prog;
	/* RFC 8881 §18.36.3 / §18.33.3: one of the flavors the client listed. AUTH_SYS first
	 * (the Linux client accepts nothing else for CB_COMPOUND), with the ids it gave. */
	ch->sec.flavor = AUTH_NONE;
	for (u_int i = 0; i < n; i++) {
		if (v[i].cb_secflavor == AUTH_SYS) {
			ch->sec.flavor = AUTH_SYS;
			ch->sec.uid = v[i].callback_sec_parms4_u.cbsp_sys_cred.aup_uid;
			ch->sec.gid = v[i].callback_sec_parms4_u.cbsp_sys_cred.aup_gid;
			break;
		}
	}
}

bool st_cbchan_sec_ok(const callback_sec_parms4 *v, u_int n)
{
	for (u_int i = 0; i < n; i++)
		if (v[i].cb_secflavor == AUTH_SYS || v[i].cb_secflavor == AUTH_NONE)
			return true;
	return false;
}

void st_cbchan_bind(struct nfs_state *s, struct nfs_client *cl, const char *sessionid, struct conn *conn,
		    uint32_t minor)
{
	struct st_cbchan *ch = &cl->cbc;

	chan_init(ch);
	if (!conn)
		return; /* fuzzing and unit tests: no connection to call back on */
	if (ch->conn == conn && !memcmp(ch->sessionid, sessionid, NFS4_SESSIONID_SIZE) && !ch->down)
		return;
	cb_requeue_out(s, cl);
	/* RFC 8881 §2.10.6.3: a new session's backchannel slots start over */
	if (memcmp(ch->sessionid, sessionid, NFS4_SESSIONID_SIZE))
		ch->seqid = 0;
	if (ch->conn)
		conn_put(ch->conn);
	ch->conn = conn_get(conn);
	memcpy(ch->sessionid, sessionid, NFS4_SESSIONID_SIZE);
	ch->minor = minor;
	ch->wanted = true;
	ch->up = false;
	ch->down = false;
}

void st_cbchan_session_gone(struct nfs_state *s, struct nfs_client *cl, const char *sessionid)
{
	struct st_cbchan *ch = &cl->cbc;

	if (!ch->conn || memcmp(ch->sessionid, sessionid, NFS4_SESSIONID_SIZE))
		return;
	cb_requeue_out(s, cl);
	conn_put(ch->conn);
	ch->conn = NULL;
	ch->up = false;
}

/* CB_NULL on cl's channel: a call without an op is the probe (cb_send). */
static void cb_probe(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_cbcall *k = calloc(1, sizeof(*k));

	if (!k)
		return;
	k->cl = cl;
	list_init(&k->link);
	if (!cb_send(s, k))
		free(k);
}

void st_cbchan_probe(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_cbchan *ch = &cl->cbc;

	if (ch->up || ch->probing || ch->down || !chan_usable(ch))
		return;
	cb_probe(s, cl);
}

uint32_t st_cbchan_flags(const struct nfs_client *cl)
{
	const struct st_cbchan *ch = &cl->cbc;
	uint32_t f = 0;

	/* RFC 8881 §18.46.3: the client asked for a backchannel and none works: it is to
	 * bind a connection again (BIND_CONN_TO_SESSION) */
	if (ch->wanted && (ch->down || !chan_usable(ch)))
		f |= SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION;
	/* §8.3: delegations were revoked; the client finds which with TEST_STATEID */
	if (cl->nrevoked)
		f |= SEQ4_STATUS_RECALLABLE_STATE_REVOKED;
	return f;
}

void st_cbchan_fini(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_cbchan *ch = &cl->cbc;

	if (!ch->queue.next)
		return;
	cb_requeue_out(s, cl);
	while (!list_empty(&ch->queue))
		call_free(container_of(ch->queue.next, struct st_cbcall, link));
	chan_drop_conn(ch);
}

void state_cb_reply(struct nfs_state *s, struct conn *conn, const uint8_t *rec, size_t len)
{
	struct st_cbcall *k = NULL;
	struct st_cbchan *ch;
	struct cb_reply rp;
	uint32_t xid;

	if (!cb_reply_xid(rec, len, &xid))
		return;
	for (struct list_link *l = s->cb_out.next; l != &s->cb_out; l = l->next) {
		struct st_cbcall *x = container_of(l, struct st_cbcall, link);

		if (x->xid == xid && x->conn == conn) {
			k = x;
			break;
		}
	}
	if (!k) {
		log_info("%s: reply xid %08x answers no callback: ignored", conn_name(conn), xid);
		return;
	}
	ch = &k->cl->cbc;
	if (!cb_decode_reply(rec, len, k->op != 0, &rp))
		log_info("%s: undecodable reply to %s (xid %08x)", conn_name(conn), cb_name(k->op), xid);
	if (!k->op) {
		ch->probing = false;
		if (rp.ok) {
			ch->up = true;
			log_info("backchannel to client %016llx up on %s", (unsigned long long)k->cl->id,
				 conn_name(conn));
		} else {
			ch->down = true;
			log_info("client %016llx refused CB_NULL on %s", (unsigned long long)k->cl->id,
				 conn_name(conn));
		}
	} else {
		ch->busy = false;
		if (rp.seq_done)
			ch->seqid++;
		/* RFC 8881 §2.10.6.1.3: the client saw this sequence id already (a call sent
		 * again after a lost reply) and kept no reply: the slot moves on and the call
		 * goes once more under the next id */
		if (rp.seq_status == NFS4ERR_RETRY_UNCACHED_REP && !k->resent) {
			struct nfs_client *cl = k->cl;

			ch->seqid++;
			k->resent = true;
			requeue_first(k);
			cb_send_next(s, cl);
			return;
		}
		if (!rp.ok || rp.status != NFS4_OK)
			log_info("client %016llx: %s (xid %08x) answered %s %d",
				 (unsigned long long)k->cl->id, cb_name(k->op), xid,
				 rp.ok ? "status" : "RPC error", (int)rp.status);
	}
	{
		struct nfs_client *cl = k->cl;

		call_free(k);
		cb_send_next(s, cl);
	}
}

/* ---- the 4.0 callback path --------------------------------------------------------------- */

void state_set_cb_connect(struct nfs_state *s,
			  int (*fn)(void *arg, const struct sockaddr *sa, unsigned int salen, struct conn **out),
			  void *arg)
{
	s->cb_connect = fn;
	s->cb_arg = arg;
}

/* One decimal octet of a universal address's port, exactly the characters [p, end). */
static bool port_octet(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (p == end || end - p > 3)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*out = v;
	return v <= 255;
}

/* RFC 5665 §5.2.3.4: a universal address "h1.h2.h3.h4.p1.p2" (tcp) or "v6addr.p1.p2"
 * (tcp6). 0 and the socket address, or -EINVAL. */
static int uaddr_parse(const char *netid, const char *uaddr, struct sockaddr_storage *ss, uint32_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *p2, *p1;
	unsigned hi, lo;
	void *addr;
	size_t n;

	if (!netid || !uaddr)
		return -EINVAL;
	p2 = strrchr(uaddr, '.');
	if (!p2 || p2 == uaddr)
		return -EINVAL;
	for (p1 = p2 - 1; p1 > uaddr && *p1 != '.'; p1--)
		;
	if (*p1 != '.' || !port_octet(p1 + 1, p2, &hi) || !port_octet(p2 + 1, p2 + strlen(p2), &lo) ||
	    (!hi && !lo))
		return -EINVAL;
	n = (size_t)(p1 - uaddr);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, uaddr, n);
	host[n] = 0;
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(netid, "tcp")) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)(hi << 8 | lo));
		addr = &in->sin_addr;
		*len = sizeof(*in);
	} else if (!strcmp(netid, "tcp6")) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)(hi << 8 | lo));
		addr = &in6->sin6_addr;
		*len = sizeof(*in6);
	} else {
		return -EINVAL; /* rdma and the rest: no */
	}
	return inet_pton(ss->ss_family, host, addr) == 1 ? 0 : -EINVAL;
}

/* Same host: the callback goes back to the machine the client calls from. */
static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

/* Connect to the 4.0 client's callback address and probe it. */
static void cb_connect40(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_cbchan *ch = &cl->cbc;
	struct conn *conn;
	int ret;

	if (!s->cb_connect || !ch->addr_len)
		return;
	cb_requeue_out(s, cl);
	chan_drop_conn(ch);
	ch->last_try = st_now(s);
	ret = s->cb_connect(s->cb_arg, (const struct sockaddr *)&ch->addr, ch->addr_len, &conn);
	if (ret < 0) {
		log_info("client %016llx: callback address %s: %s", (unsigned long long)cl->id,
			 cl->cb.addr ? cl->cb.addr : "-", strerror(-ret));
		ch->down = true;
		return;
	}
	ch->conn = conn;
	ch->down = false;
	cb_probe(s, cl);
}

void st_cbchan_v40(struct nfs_state *s, struct nfs_client *cl, struct conn *from)
{
	struct st_cbchan *ch = &cl->cbc;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	chan_init(ch);
	cb_requeue_out(s, cl);
	chan_drop_conn(ch);
	ch->v40 = true;
	ch->wanted = false;
	ch->addr_len = 0;
	ch->prog = cl->cb.program;
	ch->ident = cl->cb.ident;
	ch->minor = 0;
	/* the Linux client's callback service takes AUTH_SYS (AUTH_NONE for CB_NULL only) */
	ch->sec.flavor = AUTH_SYS;
	ch->sec.uid = ch->sec.gid = 0;
	if (!from || conn_peer(from, (struct sockaddr *)&peer, &plen) < 0)
		return;
	if (uaddr_parse(cl->cb.netid, cl->cb.addr, &ch->addr, &ch->addr_len) < 0) {
		log_info("client %016llx: callback %s %s unusable: no delegations",
			 (unsigned long long)cl->id, cl->cb.netid ? cl->cb.netid : "-",
			 cl->cb.addr ? cl->cb.addr : "-");
		ch->addr_len = 0;
		return;
	}
	if (!same_host(&ch->addr, &peer)) {
		log_info("client %016llx: callback address %s is not the client's host: not called",
			 (unsigned long long)cl->id, cl->cb.addr);
		ch->addr_len = 0;
		return;
	}
	ch->wanted = true;
	cb_connect40(s, cl);
}

/* ---- delegations ------------------------------------------------------------------------ */

/* A CB_RECALL of d still waiting for the slot has nothing left to recall. */
static void deleg_unqueue(struct nfs_deleg *d)
{
	struct list_link *q = &d->cl->cbc.queue, *l, *next;

	if (!q->next)
		return;
	for (l = q->next; l != q; l = next) {
		struct st_cbcall *k = container_of(l, struct st_cbcall, link);

		next = l->next;
		if (k->op == OP_CB_RECALL && !memcmp(k->sid.other, d->sid.other, NFS4_OTHER_SIZE))
			call_free(k);
	}
}

static void deleg_unfile(struct nfs_state *s, struct nfs_deleg *d)
{
	struct nfs_file *f = d->file;

	deleg_unqueue(d);
	if (d->recalled)
		list_del(&d->recall);
	d->recalled = false;
	if (!f)
		return;
	list_del(&d->by_file);
	d->file = NULL;
	st_file_put(s, f);
}

void st_deleg_free(struct nfs_state *s, struct nfs_deleg *d)
{
	deleg_unfile(s, d);
	if (d->revoked)
		d->cl->nrevoked--;
	list_del(&d->by_client);
	d->cl->ndelegs--;
	st_deleg_index(s, d, false);
	s->stats.delegs--;
	free(d);
}

/* RFC 8881 §10.2.1, RFC 7530 §10.2.1: not returned a lease after its recall. A 4.1 client
 * learns it from SEQUENCE and TEST_STATEID (DELEG_REVOKED) and frees the stateid. */
static void deleg_revoke(struct nfs_state *s, struct nfs_deleg *d)
{
	log_info("client %016llx did not return its delegation within the lease: revoked",
		 (unsigned long long)d->cl->id);
	if (d->cl->v40) {
		st_deleg_free(s, d);
		return;
	}
	deleg_unfile(s, d);
	d->revoked = true;
	d->cl->nrevoked++;
}

void st_deleg_client_fini(struct nfs_state *s, struct nfs_client *cl)
{
	waiters_client_fini(s, cl);
	if (!cl->delegs.next)
		return;
	while (!list_empty(&cl->delegs))
		st_deleg_free(s, container_of(cl->delegs.next, struct nfs_deleg, by_client));
}

static void deleg_recall(struct nfs_state *s, struct nfs_deleg *d)
{
	struct st_cbcall *k;

	if (d->recalled)
		return;
	d->recalled = true;
	/* §10.2.1: the holder has a lease period to return it */
	d->revoke_at = st_deadline(s, s->cfg.lease_time);
	list_add(&s->recalls, &d->recall);
	/* no new delegation of the file while the conflict lasts (no ping-pong) */
	d->file->no_deleg_until = st_deadline(s, s->cfg.lease_time);
	k = cb_call_new(d->cl, OP_CB_RECALL);
	if (!k) {
		log_info("client %016llx: no backchannel for CB_RECALL; revoked in %u s if not returned",
			 (unsigned long long)d->cl->id, s->cfg.lease_time);
		return;
	}
	k->sid = d->sid;
	k->fh_len = d->file->fh_len;
	memcpy(k->fh, d->file->fh, d->file->fh_len);
	cb_submit(s, k);
}

nfsstat4 st_deleg_break_file(struct nfs_state *s, struct nfs_file *f, const struct nfs_client *self)
{
	bool wait = false;

	if (!f)
		return NFS4_OK;
	for (struct list_link *l = f->delegs.next; l != &f->delegs; l = l->next) {
		struct nfs_deleg *d = container_of(l, struct nfs_deleg, by_file);

		if (d->cl == self)
			continue; /* a client's own change does not conflict with its delegation */
		deleg_recall(s, d);
		wait = true;
	}
	/* RFC 8881 §10.2 / §15.1.1.3: the conflicting op is to be retried once the
	 * delegation is returned */
	return wait ? NFS4ERR_DELAY : NFS4_OK;
}

nfsstat4 state_deleg_break(struct nfs_req *r, const void *fh, uint32_t fh_len)
{
	if (!fh || !fh_len || fh_len > NFS4_FHSIZE)
		return NFS4_OK;
	return st_deleg_break_file(r->state, st_file_find(r->state, fh, fh_len), r->client);
}

void st_deleg_sweep(struct nfs_state *s, uint64_t now)
{
	struct list_link *l, *next;

	waiters_sweep(s, now);
	for (l = s->recalls.next; l != &s->recalls; l = next) {
		struct nfs_deleg *d = container_of(l, struct nfs_deleg, recall);

		next = l->next;
		if (now >= d->revoke_at)
			deleg_revoke(s, d);
	}
	for (l = s->cb_out.next; l != &s->cb_out; l = next) {
		struct st_cbcall *k = container_of(l, struct st_cbcall, link);
		struct nfs_client *cl = k->cl;

		next = l->next;
		if (now < k->sent + CB_TIMEOUT && !conn_is_closed(k->conn))
			continue;
		log_info("client %016llx: no answer to %s (xid %08x): backchannel down",
			 (unsigned long long)cl->id, cb_name(k->op), k->xid);
		cl->cbc.down = true;
		cl->cbc.up = false;
		cb_requeue_out(s, cl);
		if (cl->cbc.v40)
			chan_drop_conn(&cl->cbc); /* connected again at a later OPEN */
		next = s->cb_out.next; /* the list changed */
	}
}

nfsstat4 st_deleg_find(struct nfs_state *s, const stateid4 *sid, struct nfs_deleg **out)
{
	*out = st_deleg_by_other(s, sid->other);
	return *out ? NFS4_OK : NFS4ERR_BAD_STATEID;
}

/* A stateid that is a delegation: checked for file fh and the caller's client. */
nfsstat4 st_deleg_check(struct nfs_req *r, struct nfs_deleg *d, const stateid4 *sid, const void *fh,
			uint32_t fh_len)
{
	uint32_t minor = r->c ? r->c->minor : 0;

	if (minor && d->cl != r->client)
		return NFS4ERR_BAD_STATEID;
	if (!minor && st_client_lapsed(r->state, d->cl))
		return NFS4ERR_EXPIRED;
	if (d->revoked)
		return NFS4ERR_DELEG_REVOKED;
	if (!d->file || d->file->fh_len != fh_len || memcmp(d->file->fh, fh, fh_len))
		return NFS4ERR_BAD_STATEID;
	return st_sid_seqid(&d->sid, sid, minor);
}

void state_deleg_offer(struct nfs_req *r, const open_owner4 *owner, const void *fh, uint32_t fh_len,
		       uint32_t share_access, uint32_t share_deny, bool hold_back, open_delegation4 *out)
{
	struct nfs_state *s = r->state;
	uint32_t minor = r->c ? r->c->minor : 0;
	uint32_t want = share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
	struct nfs_client *cl = minor ? r->client : st_client_by_id(s, owner->clientid);
	struct nfs_file *f;
	struct nfs_deleg *d;
	why_no_delegation4 why = WND4_CONTENTION;

	memset(out, 0, sizeof(*out));
	out->delegation_type = OPEN_DELEGATE_NONE;
	/* RFC 8881 §18.16.3: a 4.1 client that wants none is told so */
	if (minor && want == OPEN4_SHARE_ACCESS_WANT_NO_DELEG) {
		out->delegation_type = OPEN_DELEGATE_NONE_EXT;
		out->open_delegation4_u.od_whynone.ond_why = WND4_NOT_WANTED;
		return;
	}
	/* a reclaim gets its open only (delegations are not kept across a restart), and so
	 * does a 4.0 open-owner still to be confirmed (knfsd waits for OPEN_CONFIRM too) */
	if (!cl || cl->dead || cl->v40 != !minor || hold_back || state_in_grace(s))
		return;
	/* 4.0: a callback path that failed is tried again now and then */
	if (!minor && cl->cbc.wanted && !cl->cbc.up && !cl->cbc.probing &&
	    st_now(s) >= cl->cbc.last_try + CB_RETRY40)
		cb_connect40(s, cl);
	if (!cl->cbc.up || cl->cbc.down || !chan_usable(&cl->cbc))
		return;
	if ((share_access & OPEN4_SHARE_ACCESS_BOTH) != OPEN4_SHARE_ACCESS_READ ||
	    (share_deny & OPEN4_SHARE_DENY_READ) || want == OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG)
		goto none;
	f = st_file_find(s, fh, fh_len);
	if (!f)
		goto none;
	if (st_now(s) < f->no_deleg_until)
		goto none;
	/* §10.4: nobody writes the file: no open for writing, no delegation being recalled;
	 * and this client has none on it already */
	for (struct list_link *l = f->opens.next; l != &f->opens; l = l->next)
		if (container_of(l, struct nfs_open, by_file)->access & OPEN4_SHARE_ACCESS_WRITE)
			goto none;
	for (struct list_link *l = f->delegs.next; l != &f->delegs; l = l->next) {
		d = container_of(l, struct nfs_deleg, by_file);
		if (d->recalled || d->cl == cl)
			goto none;
	}
	why = WND4_RESOURCE;
	if (s->stats.delegs >= ST_DELEGS_MAX)
		goto none;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto none;
	d->cl = cl;
	d->file = f;
	list_init(&d->recall);
	st_sid_new(s, cl, &d->sid);
	st_deleg_index(s, d, true);
	list_add(&cl->delegs, &d->by_client);
	list_add(&f->delegs, &d->by_file);
	cl->ndelegs++;
	s->stats.delegs++;
	out->delegation_type = OPEN_DELEGATE_READ;
	out->open_delegation4_u.read.stateid = d->sid;
	out->open_delegation4_u.read.recall = FALSE;
	/* RFC 8881 §10.4.1 / knfsd: an empty ACE; the client asks ACCESS before it lets
	 * another user open the file from its cache */
	out->open_delegation4_u.read.permissions.type = ACE4_ACCESS_ALLOWED_ACE_TYPE;
	out->open_delegation4_u.read.permissions.who.utf8string_val = (char *)"";
	return;
none:
	/* §18.16.3: a 4.1 client that asked for one hears why not */
	if (want && want != OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE) {
		out->delegation_type = OPEN_DELEGATE_NONE_EXT;
		out->open_delegation4_u.od_whynone.ond_why = why;
	}
}

nfsstat4 state_deleg_claim(struct nfs_req *r, const stateid4 *sid, const void *fh, uint32_t fh_len)
{
	struct nfs_deleg *d;
	nfsstat4 st;

	st = st_deleg_find(r->state, sid, &d);
	if (st != NFS4_OK)
		return st;
	return st_deleg_check(r, d, sid, fh, fh_len);
}

/* ---- DELEGRETURN, BACKCHANNEL_CTL --------------------------------------------------------- */

/* RFC 8881 §18.6 / RFC 7530 §16.8: the client gives the delegation back. */
static nfsstat4 op_delegreturn(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	struct nfs_req *r = req_of(c);
	struct nfs_deleg *d;
	stateid4 sid;
	nfsstat4 st;

	(void)res;
	if (!c->cfh.set)
		return NFS4ERR_NOFILEHANDLE;
	st = state_stateid_arg(c, &arg->nfs_argop4_u.opdelegreturn.deleg_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	if (st_sid_special(&sid))
		return NFS4ERR_BAD_STATEID;
	st = st_deleg_find(r->state, &sid, &d);
	if (st != NFS4_OK)
		return st_sid_check_unknown(r->state, &sid, c->minor);
	st = st_deleg_check(r, d, &sid, c->cfh.data, c->cfh.len);
	if (st != NFS4_OK)
		return st;
	if (!c->minor)
		st_client_renew(r->state, d->cl);
	st_deleg_free(r->state, d);
	return NFS4_OK;
}

/* RFC 8881 §18.33: a new callback program or security for the session's backchannel. */
static nfsstat4 op_backchannel_ctl(struct compound *c, const nfs_argop4 *arg, nfs_resop4 *res)
{
	const BACKCHANNEL_CTL4args *a = &arg->nfs_argop4_u.opbackchannel_ctl;
	struct nfs_client *cl = req_of(c)->client;

	(void)res;
	if (!cl || cl->dead)
		return NFS4ERR_BADSESSION;
	if (!st_cbchan_sec_ok(a->bca_sec_parms.bca_sec_parms_val, a->bca_sec_parms.bca_sec_parms_len))
		return NFS4ERR_ENCR_ALG_UNSUPP;
	st_cbchan_sec(cl, a->bca_cb_program, a->bca_sec_parms.bca_sec_parms_val,
		      a->bca_sec_parms.bca_sec_parms_len);
	return NFS4_OK;
}

void st_deleg_register_ops(struct op_table *t)
{
	optable_set_handler(t, OP_DELEGRETURN, op_delegreturn);
	optable_set_handler(t, OP_BACKCHANNEL_CTL, op_backchannel_ctl);
}

/* ---- CB_NOTIFY_LOCK ------------------------------------------------------------------------ */

#define ST_WAITERS_PER_CLIENT 1024u
/* How long a waiter is remembered after its last DENIED: longer than the time a client that
 * was promised notifications waits before it asks again (the Linux client: 30 s), and at
 * least a lease. With less, a client waiting out a long lock would be forgotten between
 * two of its polls and learn of the release only at its next one. */
#define ST_WAIT_MIN 60u

static void waiter_free(struct nfs_state *s, struct st_waiter *w)
{
	struct nfs_file *f = w->file;

	list_del(&w->by_file);
	list_del(&w->by_client);
	list_del(&w->link);
	w->cl->nwaiters--;
	free(w);
	st_file_put(s, f);
}

bool state_may_notify_lock(const struct nfs_req *r)
{
	return r->c && r->c->minor && r->client && r->client->cbc.wanted;
}

void st_lock_wait(struct nfs_state *s, struct nfs_client *cl, struct nfs_file *f, const void *name,
		  uint32_t len)
{
	uint32_t keep = s->cfg.lease_time > ST_WAIT_MIN ? s->cfg.lease_time : ST_WAIT_MIN;
	struct st_waiter *w;

	if (!cl->cbc.wanted || len > NFS4_OPAQUE_LIMIT)
		return;
	for (struct list_link *l = f->waiters.next; l != &f->waiters; l = l->next) {
		w = container_of(l, struct st_waiter, by_file);
		if (w->cl == cl && w->len == len && !memcmp(w->owner, name, len)) {
			w->until = st_deadline(s, keep);
			return;
		}
	}
	if (cl->nwaiters >= ST_WAITERS_PER_CLIENT)
		return; /* it polls, as without notifications */
	w = calloc(1, sizeof(*w) + len);
	if (!w)
		return;
	w->cl = cl;
	w->file = f;
	w->len = len;
	memcpy(w->owner, name, len);
	w->until = st_deadline(s, keep); /* §20.11.4: the client polls too */
	list_add(&f->waiters, &w->by_file);
	list_add(&cl->waiters, &w->by_client);
	list_add(&s->waiters, &w->link);
	cl->nwaiters++;
}

void st_lock_released(struct nfs_state *s, struct nfs_file *f)
{
	while (!list_empty(&f->waiters)) {
		struct st_waiter *w = container_of(f->waiters.next, struct st_waiter, by_file);
		struct st_cbcall *k = cb_call_new(w->cl, OP_CB_NOTIFY_LOCK);

		if (k) {
			k->fh_len = f->fh_len;
			memcpy(k->fh, f->fh, f->fh_len);
			k->owner_len = w->len;
			memcpy(k->owner, w->owner, w->len);
			cb_submit(s, k);
		}
		waiter_free(s, w); /* f stays: the caller holds it through an open or a lock */
	}
}

static void waiters_sweep(struct nfs_state *s, uint64_t now)
{
	struct list_link *l, *next;

	for (l = s->waiters.next; l != &s->waiters; l = next) {
		struct st_waiter *w = container_of(l, struct st_waiter, link);

		next = l->next;
		if (now >= w->until)
			waiter_free(s, w);
	}
}

static void waiters_client_fini(struct nfs_state *s, struct nfs_client *cl)
{
	while (cl->waiters.next && !list_empty(&cl->waiters))
		waiter_free(s, container_of(cl->waiters.next, struct st_waiter, by_client));
}

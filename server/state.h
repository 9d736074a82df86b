/*
 * NFSv4 client, session and stateid state (RFC 8881 §2.4, §2.10, §8; RFC 7530 §9, §16.33):
 * client records and leases, sessions with their slot tables and slot reply caches
 * (exactly-once semantics, RFC 8881 §2.10.6), open-owners and open stateids with share
 * reservations, and the op handlers that work on them (nfs4_state_ops.c).
 *
 * Threading: everything here runs on one loop thread and takes no locks. A later change
 * shards the tables across loop threads; until then only one thread may call in.
 *
 * Life of the objects:
 *   - a client record is created by EXCHANGE_ID (4.1+) or SETCLIENTID (4.0), confirmed by
 *     CREATE_SESSION or SETCLIENTID_CONFIRM, and goes when its lease runs out (state_sweep(),
 *     or lazily at its next use), when DESTROY_CLIENTID destroys it, or when a new incarnation
 *     of the same client (new verifier) is confirmed;
 *   - a session lives from CREATE_SESSION to DESTROY_SESSION or the end of its client;
 *   - an open stateid lives from the first OPEN of a file by an open-owner to its CLOSE.
 * A COMPOUND that passed SEQUENCE holds its session and client (req->session, req->client,
 * req->slot) until state_slot_done(): they may be destroyed meanwhile (DESTROY_SESSION in the
 * same COMPOUND, a client replaced by its new incarnation), but their memory stays valid
 * until then.
 *
 * Identifiers carry the server's boot_time so that those of an earlier run are recognised:
 * clientid4 = boot_time (32 bits) | counter (32 bits); sessionid4 = clientid | counter |
 * random; stateid4.other = boot_time (32 bits) | clientid counter (32 bits) | random (32 bits).
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "callback.h"
#include "compound.h"
#include "list.h"
#include "lockrange.h"
#include "optable.h"
#include "request.h"

struct state_config {
	uint32_t lease_time;        /* seconds */
	uint32_t max_slots;         /* per session fore channel */
	uint32_t max_ops;           /* ca_maxoperations ceiling */
	uint32_t max_req;           /* ca_maxrequestsize ceiling (the RPC record limit) */
	uint32_t max_resp;          /* ca_maxresponsesize ceiling */
	uint32_t max_resp_cached;   /* ca_maxresponsesize_cached ceiling (bytes kept per slot) */
	const char *server_owner;   /* so_major_id / server scope */
	uint64_t boot_time;         /* seconds; part of clientids and session ids so that ids of an earlier run are STALE */
	uint64_t (*now)(void);      /* monotonic seconds; NULL: CLOCK_MONOTONIC */
	/* Client records on stable storage (clientrec.h) and the grace period after a
	 * restart (RFC 8881 §8.4.2, RFC 7530 §9.6.2). NULL: no records, never a grace
	 * period (clients of an earlier run then reclaim nothing: NO_GRACE). */
	const char *state_dir;
	uint32_t grace_time;        /* seconds; the longest grace period */
};

/* 0, -EINVAL for a config that cannot work (lease_time, max_slots or max_ops of 0,
 * max_req/max_resp too small for a SEQUENCE, no server_owner or one longer than
 * NFS4_OPAQUE_LIMIT), -ENOMEM. */
int state_create(struct nfs_state **out, const struct state_config *cfg);

/* state_create() with a state_dir: how the records were found (for the start-up log). */
struct state_boot {
	unsigned previous;          /* clients of the previous run that may reclaim */
	unsigned bad_lines;         /* unreadable lines of the record log, skipped */
};
void state_boot_info(const struct nfs_state *s, struct state_boot *out);

/*
 * The grace period (RFC 8881 §8.4.2.1, RFC 7530 §9.6.2): after a start that found client
 * records of the previous run, for grace_time seconds, or until each of those clients
 * has sent RECLAIM_COMPLETE (4.0 clients never do: their grace runs out), only reclaims
 * make state: OPEN CLAIM_PREVIOUS and LOCK reclaim, by a client of the previous run that
 * has not said RECLAIM_COMPLETE. A 4.1+ client's OPEN or LOCK before its RECLAIM_COMPLETE
 * is NFS4ERR_GRACE at any time (RFC 8881 §18.51.3). Anything else that would make or break state gets
 * NFS4ERR_GRACE (OPEN, LOCK, LOCKT, and REMOVE and RENAME, which could take a name
 * from under a reclaim, as knfsd); a reclaim outside it, after RECLAIM_COMPLETE or by a
 * client unknown to the previous run: NFS4ERR_NO_GRACE. The end of the grace period
 * rewrites the records with the clients of this run only.
 */
bool state_in_grace(struct nfs_state *s);

/* OPEN (both versions), before anything is looked up: reclaim is CLAIM_PREVIOUS. The
 * grace rules above; NFS4_OK to go on. A 4.0 owner naming no known client passes (the
 * OPEN then fails with STALE_CLIENTID). */
nfsstat4 state_open_claim(struct nfs_req *r, const open_owner4 *owner, bool reclaim);

/* Free everything. No COMPOUND may still hold a session (req->slot set). Client records
 * stay on stable storage: a stop is a restart to the clients. */
void state_destroy(struct nfs_state *s);

/* Install the handlers of EXCHANGE_ID, CREATE_SESSION, SEQUENCE, DESTROY_SESSION,
 * DESTROY_CLIENTID, BIND_CONN_TO_SESSION, RECLAIM_COMPLETE, TEST_STATEID, FREE_STATEID,
 * SETCLIENTID, SETCLIENTID_CONFIRM, RENEW, OPEN_CONFIRM, CLOSE, OPEN_DOWNGRADE, LOCK,
 * LOCKT, LOCKU and RELEASE_LOCKOWNER. They find the state
 * through req_of(c)->state. */
void state_register_ops(struct op_table *t);

/* Expire clients whose lease ran out (called from a timer every few seconds); returns how many went. */
unsigned state_sweep(struct nfs_state *s);

/*
 * When a COMPOUND that ran in a slot (r->slot set) is done: store its COMPOUND4res (the
 * iovecs, before the RPC header is prepended; len bytes) in the slot if cacheable
 * (compound_reply_cacheable) and len <= the slot's cached-reply limit, else remember that the
 * reply was not cached; mark the slot free. Must also be safe to call when the session was
 * destroyed during the compound (DESTROY_SESSION inside it). Copies are bounded and checked.
 *
 * Call it for every COMPOUND that had r->slot set, also when no reply is sent (connection
 * gone: iov NULL, cacheable false), or the slot stays busy and its retries get NFS4ERR_DELAY.
 * It clears r->slot, r->session and r->client. A no-op when r->slot is NULL.
 *
 * The other half of the reply cache is SEQUENCE: for a retransmission whose reply was cached
 * it sets r->replay / r->replay_len (a copy in the compound's memory) and fails with
 * NFS4ERR_DELAY to stop the COMPOUND; the dispatcher then sends r->replay instead of the
 * COMPOUND's own reply (r->slot stays NULL in that case).
 */
void state_slot_done(struct nfs_req *r, const struct iovec *iov, unsigned niov, size_t len, bool cacheable);

/* Counters for logs: clients, sessions, opens. */
struct state_stats {
	unsigned clients;       /* confirmed client records */
	unsigned unconfirmed;   /* client records waiting for CREATE_SESSION / SETCLIENTID_CONFIRM */
	unsigned sessions;
	unsigned opens;         /* open stateids */
	unsigned owners;        /* open-owners */
	unsigned lockowners;
	unsigned locks;         /* lock stateids */
	unsigned ranges;        /* locked byte ranges */
	unsigned delegs;        /* read delegations, revoked ones included */
};
void state_stats(const struct nfs_state *s, struct state_stats *out);

/* ---- for the OPEN, READ and WRITE handlers ------------------------------------------- */

/* OPEN (both versions): record an open by owner on the file with handle fh for share_access/
 * share_deny (OPEN4_SHARE_ACCESS_*, _DENY_*). 4.0: owner->clientid must be a confirmed,
 * unexpired client (else NFS4ERR_STALE_CLIENTID / NFS4ERR_EXPIRED) and seqid follows the
 * open-owner rules (RFC 7530 §9.1.7: a new owner's first OPEN needs OPEN_CONFIRM — then set
 * OPEN4_RESULT_CONFIRM in *rflags); 4.1+: the client is req->client and seqid is ignored.
 * A second OPEN of the same file by the same owner upgrades the same stateid (seqid+1).
 * Returns NFS4_OK and the open stateid in *out. Share-deny conflicts across owners:
 * NFS4ERR_SHARE_DENIED. */
nfsstat4 state_open(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, const void *fh,
                    uint32_t fh_len, uint32_t share_access, uint32_t share_deny, bool reclaim,
                    stateid4 *out, uint32_t *rflags);
/*
 * Details of state_open():
 * - share_access without a valid READ/WRITE/BOTH part (4.1: WANT_* bits aside) or a
 *   share_deny above DENY_BOTH: NFS4ERR_INVAL (RFC 8881 §18.16.3, RFC 7530 §16.16.5).
 * - 4.0 retransmission (seqid equal to the owner's last one, the last seqid op an OPEN of the
 *   same file): the stored result of the original is returned again, nothing changes.
 *   Any other seqid but the next: NFS4ERR_BAD_SEQID. A still unconfirmed owner is replaced
 *   with its state by a new OPEN (RFC 7530 §16.18.5).
 * - *rflags gets OPEN4_RESULT_CONFIRM or'ed in; nothing else is cleared or set.
 * - reclaim (CLAIM_PREVIOUS, 4.0): a new open-owner is confirmed at once, no OPEN_CONFIRM
 *   (as knfsd; the Linux client's reclaim OPEN has no GETFH, so it could not send one).
 */

/* 4.0 OPEN, before anything else: a retransmission of the open-owner's last OPEN (its seqid
 * again, RFC 7530 §9.1.9) gets that OPEN's reply again, byte for byte, and nothing is done
 * again (no lookup, no create, no truncate). Returns true and sets *status and res (and
 * *fh / *fh_len, the file it opened, for NFS4_OK) then; false for anything else. */
bool state_open_replay(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, OPEN4res *res,
		       const uint8_t **fh, uint32_t *fh_len, nfsstat4 *status);
/* 4.0 OPEN that succeeded: keep the rest of its reply (cinfo, rflags, attrset) for
 * state_open_replay(). Delegations are never granted yet: none is kept. */
void state_open_done(struct nfs_req *r, const open_owner4 *owner, const OPEN4resok *ok);

/* 4.0 OPEN that failed before state_open() was called (NOENT, ACCESS, EXIST, ...): the
 * open-owner's seqid still advances for the errors RFC 7530 §9.1.7 does not exempt, and
 * a retransmission gets the same status again from state_open(). Nothing for 4.1+, for
 * an unknown or unconfirmed owner, or for a seqid that is not the owner's next. */
void state_open_failed(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, nfsstat4 status);

/* ---- delegations and callbacks (deleg.c) ------------------------------------------------ */

/* After a successful OPEN (state_open recorded it): the delegation this OPEN gets, in *out
 * (OPEN_DELEGATE_READ, _NONE, or for a 4.1 client that asked, _NONE_EXT and why). */
void state_deleg_offer(struct nfs_req *r, const open_owner4 *owner, const void *fh, uint32_t fh_len,
		       uint32_t share_access, uint32_t share_deny, bool hold_back, open_delegation4 *out);
/* (hold_back: none for this OPEN; a reclaim, or a 4.0 owner that still needs OPEN_CONFIRM.) */
/* Before an op changes file fh's attributes or names (SETATTR, REMOVE, RENAME, LINK): read
 * delegations of clients other than r's are recalled; NFS4ERR_DELAY while one is held.
 * (Writes through a stateid get this from state_check_io(), opens from state_open().) */
nfsstat4 state_deleg_break(struct nfs_req *r, const void *fh, uint32_t fh_len);
/* OPEN CLAIM_DELEGATE_CUR / CLAIM_DELEG_CUR_FH (RFC 8881 §10.4.4): sid is the caller's
 * delegation of file fh. NFS4_OK, or the stateid's error. */
nfsstat4 state_deleg_claim(struct nfs_req *r, const stateid4 *sid, const void *fh, uint32_t fh_len);
/* How the server opens a connection for the 4.0 callback path (conn_connect on a listener). */
void state_set_cb_connect(struct nfs_state *s,
			  int (*fn)(void *arg, const struct sockaddr *sa, unsigned int salen, struct conn **out),
			  void *arg);
/* A REPLY record that came on conn: the answer to a callback (conn.h on_reply). */
void state_cb_reply(struct nfs_state *s, struct conn *conn, const uint8_t *rec, size_t len);

/* READ (and later WRITE): may this stateid do I/O on file fh? The anonymous stateids (all
 * zeros, all ones: RFC 8881 §8.2.3) are allowed; an open stateid must belong to this file
 * (else NFS4ERR_BAD_STATEID), not be old (NFS4ERR_OLD_STATEID), its client not expired, and
 * for write have write access (NFS4ERR_OPENMODE). The "current stateid" special value
 * (seqid 1, other all zero) must already have been replaced by the caller with
 * state_stateid_arg(). */
nfsstat4 state_check_io(struct nfs_req *r, const stateid4 *sid, const void *fh, uint32_t fh_len, bool write);
/*
 * Details of state_check_io():
 * - an anonymous stateid is refused with NFS4ERR_LOCKED when an open of the file denies
 *   the access (RFC 8881 §8.2.3, §9.1.2); the all-ones stateid may read regardless
 *   (READ bypass) and is anonymous for write.
 * - other special values, unknown stateids, stateids of another client (4.1+: other than
 *   the session's) and of an unconfirmed 4.0 open: NFS4ERR_BAD_STATEID; a stateid of an
 *   earlier server run: NFS4ERR_STALE_STATEID (4.0), NFS4ERR_BAD_STATEID (4.1+); a stateid
 *   seqid above the current one: NFS4ERR_BAD_STATEID; seqid 0 in 4.1+ means "current".
 * - 4.0: a lease past its end gives NFS4ERR_EXPIRED (the client is expired then); a valid
 *   stateid renews the lease (RFC 7530 §9.5).
 * - a write-only open may read (RFC 8881 §9.1.2 leaves it to the server).
 */

/*
 * Details of state_check_io() for lock stateids: a lock stateid (RFC 8881 §8.2.1: the
 * Linux client sends one for I/O while its lock-owner holds locks on the file) is checked
 * like an open stateid (file, client, seqid) and then stands for the open it was made
 * from. Byte-range locks are advisory, as on the backing file system: I/O is not checked
 * against them.
 */

/* An anonymous stateid (other all zeros or all ones, RFC 8881 §8.2.3): no open behind it, so
 * I/O with it is checked against the file's permissions. */
bool state_stateid_special(const stateid4 *sid);

/* Replace the current-stateid special value (RFC 8881 §16.2.3.1.2) by c->cur_stateid
 * (NFS4ERR_BAD_STATEID when none is set). */
nfsstat4 state_stateid_arg(struct compound *c, const stateid4 *in, stateid4 *out);
/*
 * Details of state_stateid_arg(): only for minor versions 1 and 2 (in 4.0 the value is not
 * special and passes unchanged); a current stateid that is itself special is
 * NFS4ERR_BAD_STATEID (RFC 8881 §8.2.3, Figure 6); the substituted stateid gets seqid 0
 * ("the current one") except for CLOSE and OPEN_DOWNGRADE (c->opnum), RFC 8881 §8.2.3.
 */

/* ====================================================================================== */
/* Internal to the state module (state.c and its op handlers in nfs4_state_ops.c). Other  */
/* modules use the functions above only.                                                   */
/* ====================================================================================== */

struct st_hnode {
	struct st_hnode *next;
	uint64_t hash;
};

/* Chained hash table of intrusive nodes; grows by doubling. */
struct st_htab {
	struct st_hnode **b;
	size_t nb; /* power of two */
	size_t n;
};

/* Who sent a request (RFC 8881 §18.35.4 "principal"): AUTH_SYS uid, or AUTH_NONE. */
struct st_princ {
	uint32_t flavor;
	uint32_t uid;
};

#define ST_NETADDR_MAX 256u       /* longest SETCLIENTID callback netid / address kept */
#define ST_SESSIONS_PER_CLIENT 32u /* more: CREATE_SESSION answers NFS4ERR_NOSPC */

/* Smallest COMPOUND that can carry a SEQUENCE, RPC header included (RFC 8881 §18.36.3:
 * channel sizes that leave no room for one are NFS4ERR_TOOSMALL). Call: RPC call header
 * with AUTH_NONE credential and verifier (40), empty tag, minorversion, op count (12),
 * SEQUENCE (4 + 16 + 16). Reply: RPC accepted reply header (24), status, empty tag, count
 * (12), SEQUENCE result (8 + 16 + 20). */
#define ST_MIN_REQ (40u + 12u + 36u)
#define ST_MIN_RESP (24u + 12u + 44u)

/* A 4.0 client's callback (RFC 7530 §16.33): kept, not used (no delegations yet), and
 * shown to a colliding client in NFS4ERR_CLID_INUSE. */
struct st_cb {
	uint32_t program, ident;
	char *netid, *addr;            /* NUL-terminated copies, or NULL */
};

/*
 * The backchannel of a 4.1+ client (RFC 8881 §2.10.3.1): a connection the client made and
 * bound for callbacks with CREATE_SESSION (CONN_BACK_CHAN) or BIND_CONN_TO_SESSION. One slot
 * (slot 0) is used; calls wait in queue while it is busy. The channel is trusted only once
 * a CB_NULL sent on it came back (as knfsd's probe): only then are delegations handed out.
 */
struct st_cbchan {
	struct conn *conn;             /* a reference; NULL: none bound */
	uint32_t prog;                 /* csa_cb_program / bca_cb_program */
	struct cb_sec sec;
	char sessionid[NFS4_SESSIONID_SIZE];
	uint32_t seqid;                /* slot 0: the last CB_SEQUENCE that was answered */
	bool wanted;                   /* the client asked for a backchannel */
	bool up;                       /* CB_NULL answered on conn */
	bool probing;                  /* CB_NULL sent, no answer yet */
	bool busy;                     /* slot 0 has a CB_COMPOUND out */
	bool down;                     /* a callback went unanswered: SEQ4_STATUS_CB_PATH_DOWN */
	uint32_t minor;                /* of the session: CB_COMPOUND's minorversion */
	/* 4.0 (RFC 7530 §10.2.1): the server connects to the address SETCLIENTID gave */
	bool v40;
	uint32_t ident;                /* callback_ident */
	uint64_t last_try;             /* when the server last connected (monotonic s) */
	struct sockaddr_storage addr;
	uint32_t addr_len;
	struct list_link queue;          /* struct st_cbcall waiting for the slot */
};

/* A callback the server sends (CB_NULL, CB_RECALL, CB_NOTIFY_LOCK). */
struct st_cbcall {
	struct list_link link;           /* chan queue, then s->cb_out once sent */
	struct nfs_client *cl;
	struct conn *conn;             /* sent on (a reference) */
	uint32_t xid;
	uint32_t op;                   /* 0: CB_NULL; OP_CB_RECALL, OP_CB_NOTIFY_LOCK */
	bool resent;                   /* sent again after RETRY_UNCACHED_REP */
	uint64_t sent;                 /* monotonic seconds */
	stateid4 sid;                  /* CB_RECALL */
	uint32_t fh_len;
	uint8_t fh[NFS4_FHSIZE];
	uint32_t owner_len;            /* CB_NOTIFY_LOCK: the lock-owner */
	uint8_t owner[NFS4_OPAQUE_LIMIT];
};

/* A client waiting for a lock it was DENIED with a blocking type (RFC 8881 §9.6, §20.11):
 * told with CB_NOTIFY_LOCK when locks on the file are released, forgotten after a lease. */
struct st_waiter {
	struct list_link by_file, by_client;
	struct list_link link;           /* s->waiters */
	struct nfs_client *cl;
	struct nfs_file *file;
	uint64_t until;
	uint32_t len;
	uint8_t owner[];
};

/* A read delegation (RFC 8881 §10.2): the client may open the file for reading and cache
 * its data and attributes without asking, until it is recalled (CB_RECALL) because
 * another client writes, changes or removes the file. */
struct nfs_deleg {
	struct st_hnode node;          /* s->delegs, key: stateid other */
	struct list_link by_client, by_file;
	struct list_link recall;         /* s->recalls while recalled, not yet revoked */
	struct nfs_client *cl;
	struct nfs_file *file;         /* NULL once revoked */
	stateid4 sid;
	bool recalled;
	bool revoked;                  /* 4.1: kept until FREE_STATEID (DELEG_REVOKED) */
	uint64_t revoke_at;            /* recalled: revoked when not returned by then */
};

struct nfs_client {
	struct st_hnode by_id;         /* s->clients_id, key: clientid */
	struct st_hnode by_name;       /* s->clients_name, key: owner string */
	struct list_link link;           /* s->clients */
	struct list_link sessions;       /* its live sessions */
	struct list_link owners;         /* its open-owners */
	struct list_link lockowners;
	struct list_link delegs;         /* its delegations (revoked ones too, until freed) */
	unsigned ndelegs, nrevoked;
	struct list_link waiters;        /* its st_waiters */
	unsigned nwaiters;
	struct st_cbchan cbc;          /* 4.1 backchannel */
	unsigned nranges;              /* locked byte ranges it holds */
	clientid4 id;
	uint8_t *name;                 /* co_ownerid / nfs_client_id4.id */
	uint32_t name_len;
	char verf[NFS4_VERIFIER_SIZE]; /* co_verifier / nfs_client_id4.verifier */
	struct st_princ princ;
	bool confirmed;
	bool v40;                      /* made by SETCLIENTID */
	bool dead;                     /* destroyed; memory kept while busy */
	bool reclaim_complete;
	bool may_reclaim;              /* a client of the previous run, in the grace period */
	bool recorded;                 /* its name is in the client records */
	uint64_t expiry;               /* lease end (monotonic seconds) */
	unsigned busy;                 /* COMPOUNDs holding it through a slot */
	unsigned nsessions;
	/* 4.1: the CREATE_SESSION slot (RFC 8881 §18.36.4) */
	uint32_t cs_seqid;
	bool cs_cached;                /* cs_res holds the reply to cs_seqid */
	CREATE_SESSION4resok cs_res;   /* ca_rdma_ird always empty */
	/* 4.0: SETCLIENTID (RFC 7530 §16.33) */
	char confirm[NFS4_VERIFIER_SIZE];  /* setclientid_confirm of this record */
	struct st_cb cb;
	bool cb_pending;               /* a callback update { v, x, c, k, t } awaits confirmation */
	char pend_confirm[NFS4_VERIFIER_SIZE];
	struct st_cb pend_cb;
};

struct nfs_slot {
	uint32_t seqid;     /* of the last request run in the slot; 0: none yet */
	bool busy;          /* a request is in progress */
	bool cached;        /* buf holds the reply to seqid */
	uint8_t *buf;
	size_t len, cap;
};

struct nfs_session {
	struct st_hnode node;          /* s->sessions, key: session id */
	struct list_link link;           /* client's sessions (while not dead) */
	char id[NFS4_SESSIONID_SIZE];
	struct nfs_client *cl;
	uint32_t maxreq, maxresp, maxresp_cached, maxops, nslots;
	unsigned busy;                 /* slots in use */
	bool dead;                     /* destroyed; memory kept while busy */
	struct nfs_slot slots[];
};

struct nfs_owner {
	struct st_hnode node;          /* s->owners, key: clientid + owner */
	struct list_link link;           /* client's owners */
	struct list_link opens;          /* its opens */
	struct nfs_client *cl;
	uint8_t *name;
	uint32_t name_len;
	bool confirmed;                /* 4.0: OPEN_CONFIRM done (4.1: always) */
	uint64_t last_used;
	/* 4.0: the last seqid-mutating op and its reply (RFC 7530 §9.1.7, §9.1.9) */
	uint32_t seqid;
	uint32_t last_op;              /* 0: none */
	nfsstat4 last_status;
	stateid4 last_sid;
	uint32_t last_rflags;
	uint32_t last_fh_len;          /* 0: any file */
	uint8_t last_fh[NFS4_FHSIZE];
	/* the rest of the last OPEN's reply, for state_open_replay() */
	bool last_open_kept;
	change_info4 last_cinfo;
	uint32_t last_attrset_len;
	uint32_t last_attrset[4];
	struct nfs_open *closed;       /* 4.0: the open its last CLOSE closed, kept so that a
	                                * retransmitted CLOSE finds its reply (RFC 7530 §9.1.9) */
	/* A lock-owner (RFC 8881 §9.5) is an nfs_owner too, for the same 4.0 seqid rules: it
	 * sits in s->lockowners and cl->lockowners, its lock stateids in locks ("opens" stays
	 * empty) and the LOCK4denied of its last LOCK, if DENIED, in last_denied. */
	bool lock;
	struct list_link locks;
	struct st_denied *last_denied;
};

/* A LOCK4denied kept for the replay of a 4.0 LOCK (RFC 7530 §9.1.9). */
struct st_denied {
	uint64_t offset, length;
	uint32_t type;
	clientid4 clientid;
	uint32_t owner_len;
	uint8_t owner[];
};

struct nfs_file {
	struct st_hnode node;          /* s->files, key: file handle */
	struct list_link opens;
	struct list_link locks;          /* lock stateids of the file */
	struct list_link delegs;         /* delegations of the file (not revoked ones) */
	struct list_link waiters;        /* st_waiter: clients waiting for a lock on it */
	uint64_t no_deleg_until;       /* after a recall: none handed out before then */
	uint32_t fh_len;
	uint8_t fh[NFS4_FHSIZE];
};

struct nfs_open {
	struct st_hnode node;          /* s->opens, key: stateid other */
	struct list_link by_owner, by_file;
	struct nfs_owner *owner;
	struct nfs_file *file;
	stateid4 sid;                  /* current seqid and other */
	uint32_t access, deny;         /* OPEN4_SHARE_ACCESS_*, OPEN4_SHARE_DENY_* */
	bool closed;                   /* nfs_owner.closed: no longer an open, not found */
	struct list_link locks;          /* lock stateids made from this open */
};

/* A lock stateid: one lock-owner's byte-range locks on one file (RFC 8881 §8.2.1, §9.1.4),
 * made from one of the lock-owner's client's opens of the file and gone with it. */
struct nfs_lock {
	struct st_hnode node;          /* s->locks, key: stateid other */
	struct list_link by_owner;       /* the lock-owner's */
	struct list_link by_open;
	struct list_link by_file;
	struct nfs_owner *owner;       /* a lock-owner */
	struct nfs_open *open;
	struct nfs_file *file;
	stateid4 sid;
	struct lr_set ranges;
};

/* Locked ranges one client may hold in all; more: NFS4ERR_RESOURCE (4.0) or
 * NFS4ERR_DELAY (4.1+), so that no client can take the server's memory with locks. */
#define ST_RANGES_PER_CLIENT 65536u

struct nfs_state {
	struct state_config cfg;
	char *server_owner;
	uint32_t server_owner_len;
	uint32_t boot32;               /* low 32 bits of boot_time */
	uint64_t seed;                 /* hash seed */
	uint64_t rng;                  /* xorshift64* state */
	uint32_t next_client, next_session;
	struct st_htab clients_id, clients_name, sessions, owners, files, opens, lockowners, locks,
		delegs;
	struct list_link recalls;        /* recalled delegations, oldest first */
	struct list_link cb_out;         /* callbacks sent, waiting for their reply */
	struct list_link waiters;        /* every st_waiter */
	/* opens the 4.0 callback connections (server.c; NULL: none, e.g. unit tests) */
	int (*cb_connect)(void *arg, const struct sockaddr *sa, unsigned int salen, struct conn **out);
	void *cb_arg;
	uint32_t cb_xid;
	unsigned ndelegs;
	struct list_link clients;
	struct state_stats stats;
	/* client records and grace (clientrec.h) */
	struct clientrec *rec;
	struct st_htab prev;           /* names of the previous run's clients: struct st_prev */
	unsigned prev_left;            /* of them, not yet RECLAIM_COMPLETE */
	bool grace;
	uint64_t grace_end;
	bool closing;                  /* state_destroy: records stay */
	unsigned nrecorded;            /* clients with recorded set */
	struct state_boot boot;
};

/* A client of the previous run (for the grace period). */
struct st_prev {
	struct st_hnode node;
	bool done;                     /* RECLAIM_COMPLETE came */
	uint32_t len;
	uint8_t name[];
};

/* The grace rules for client cl: NFS4_OK, NFS4ERR_GRACE or NFS4ERR_NO_GRACE. */
nfsstat4 st_grace_check(struct nfs_state *s, struct nfs_client *cl, bool reclaim);
/* RECLAIM_COMPLETE of cl (4.1+, the whole server): its reclaims are over. */
void st_reclaim_done(struct nfs_state *s, struct nfs_client *cl);

/* Time, identifiers, principals. */
uint64_t st_now(const struct nfs_state *s);
/* now + secs, never earlier than secs from this moment (lease ends, grace end). */
uint64_t st_deadline(const struct nfs_state *s, uint32_t secs);
void st_random(struct nfs_state *s, void *buf, size_t len);
void st_princ_of(const struct nfs_req *r, struct st_princ *p);
bool st_princ_eq(const struct st_princ *a, const struct st_princ *b);

/* Clients. Lookups skip dead records. */
struct nfs_client *st_client_by_id(struct nfs_state *s, clientid4 id);
/* The confirmed (or unconfirmed) record of this owner string, NULL when none. */
struct nfs_client *st_client_by_name(struct nfs_state *s, const void *name, uint32_t len, bool confirmed);
struct nfs_client *st_client_new(struct nfs_state *s, const void *name, uint32_t len,
				 const char verf[NFS4_VERIFIER_SIZE], const struct st_princ *p, bool v40);
void st_client_confirm(struct nfs_state *s, struct nfs_client *cl);
void st_cb_clear(struct st_cb *cb);
void st_client_destroy(struct nfs_state *s, struct nfs_client *cl);
void st_client_renew(struct nfs_state *s, struct nfs_client *cl);
/* True when the lease ran out and no COMPOUND holds the client: it is destroyed then. */
bool st_client_lapsed(struct nfs_state *s, struct nfs_client *cl);
/* Sessions, opens or open-owners: RFC 8881 §18.35.4 "state" of a client. */
bool st_client_has_state(const struct nfs_client *cl);
/* 4.0: the confirmed client of clientid, renewed. NFS4ERR_STALE_CLIENTID when there is
 * none (also: an id of an earlier run), NFS4ERR_EXPIRED when its lease ran out. */
nfsstat4 st_client40(struct nfs_state *s, clientid4 id, struct nfs_client **out);

/* Sessions. */
struct nfs_session *st_session_find(struct nfs_state *s, const char id[NFS4_SESSIONID_SIZE]);
struct nfs_session *st_session_new(struct nfs_state *s, struct nfs_client *cl, const channel_attrs4 *fore);
void st_session_kill(struct nfs_state *s, struct nfs_session *ses);
/* SEQUENCE took slot sl of ses for request r. */
void st_slot_take(struct nfs_req *r, struct nfs_session *ses, struct nfs_slot *sl);

/* Stateids. */
bool st_sid_special(const stateid4 *sid);
/* The open of sid: NFS4ERR_BAD_STATEID for special and unknown ones, for an earlier run
 * NFS4ERR_STALE_STATEID (minor 0) or NFS4ERR_BAD_STATEID. */
nfsstat4 st_open_find(struct nfs_state *s, const stateid4 *sid, uint32_t minor, struct nfs_open **out);
/* RFC 8881 §8.2.2 / RFC 7530 §9.1.4.2: seqid of sid against cur, the stateid's current form. */
nfsstat4 st_sid_seqid(const stateid4 *cur, const stateid4 *sid, uint32_t minor);
bool st_open_fh_is(const struct nfs_open *o, const void *fh, uint32_t len);
void st_open_free(struct nfs_state *s, struct nfs_open *o);
/* 4.0 CLOSE: the open ends, its stateid stays known to its owner for a retransmission. */
void st_open_close40(struct nfs_state *s, struct nfs_open *o);
/* The owner whose last CLOSE closed sid, or NULL. */
struct nfs_owner *st_closed_owner(struct nfs_state *s, const stateid4 *sid);
uint32_t st_seqid_next(uint32_t seqid);

/* 4.0 open-owner seqids (RFC 7530 §9.1.7). */
enum st_seq { ST_SEQ_NEW, ST_SEQ_REPLAY, ST_SEQ_BAD };
enum st_seq st_owner_seqid(const struct nfs_owner *o, seqid4 seqid);
/* After a seqid op: advance and remember its reply unless status is one of the errors that
 * leave the seqid alone. */
void st_owner_done(struct nfs_state *s, struct nfs_owner *o, seqid4 seqid, uint32_t op, nfsstat4 status,
		   const stateid4 *sid, uint32_t rflags, const void *fh, uint32_t fh_len);
void st_owner_free(struct nfs_state *s, struct nfs_owner *o);
/* No opens left. */
bool st_owner_idle(const struct nfs_owner *o);

/* Lock-owners and lock stateids (RFC 8881 §9.5, §8.2.1). */
struct nfs_owner *st_lockowner_find(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len);
/* A new lock-owner (confirmed), NULL without memory or for a name over NFS4_OPAQUE_LIMIT. */
struct nfs_owner *st_lockowner_new(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len);
/* Does any of its lock stateids hold a range? */
bool st_lockowner_holds(const struct nfs_owner *lo);
/* The lock stateid of lock-owner lo on open o's file: found, or made from o (NULL: no memory). */
struct nfs_lock *st_lock_get(struct nfs_state *s, struct nfs_owner *lo, struct nfs_open *o);
/* As st_open_find, for lock stateids. */
nfsstat4 st_lock_find(struct nfs_state *s, const stateid4 *sid, uint32_t minor, struct nfs_lock **out);
void st_lock_free(struct nfs_state *s, struct nfs_lock *lk);
/* A lock of another lock-owner than (cl, name) on f that conflicts with type over [first,
 * last]: its holder and range, NULL when none. */
const struct lr_range *st_lock_conflict(const struct nfs_file *f, const struct nfs_client *cl,
					const void *name, uint32_t len, uint32_t type, uint64_t first,
					uint64_t last, const struct nfs_lock **holder);
/* Lock (type LR_READ/LR_WRITE) or unlock (0) [first, last] in lk: NFS4_OK, or the
 * per-client limit / no memory: NFS4ERR_RESOURCE (4.0), NFS4ERR_DELAY (4.1+). */
nfsstat4 st_lock_apply(struct nfs_state *s, struct nfs_lock *lk, uint32_t type, uint64_t first,
		       uint64_t last, uint32_t minor);
/* The file of the current filehandle if it has state, else NULL. */
struct nfs_file *st_file_find(struct nfs_state *s, const void *fh, uint32_t len);

/* For op handlers: a copy of len bytes in the compound's memory (NULL without memory);
 * the stateid an op returns becomes the current one (RFC 8881 §16.2.3.1.2). */
void *st_dup_res(struct compound *c, const void *p, size_t len);
void st_set_current(struct compound *c, const stateid4 *sid);

/* Files (their nfs_file goes when nothing refers to it any more). */
void st_file_put(struct nfs_state *s, struct nfs_file *f);
/* A fresh stateid of client cl: open, lock or delegation. */
void st_sid_new(struct nfs_state *s, const struct nfs_client *cl, stateid4 *sid);
/* The error for a stateid no table holds: STALE (4.0) / BAD for other runs and special
 * ones, EXPIRED (4.0) when its client is gone, else BAD_STATEID. */
nfsstat4 st_sid_check_unknown(struct nfs_state *s, const stateid4 *sid, uint32_t minor);

/* Backchannel and delegations (deleg.c). */
void st_cbchan_sec(struct nfs_client *cl, uint32_t prog, const callback_sec_parms4 *v, u_int n);
/* Some flavor in v that callbacks can use (AUTH_SYS, AUTH_NONE)? */
bool st_cbchan_sec_ok(const callback_sec_parms4 *v, u_int n);
/* conn becomes cl's backchannel for session sessionid (CREATE_SESSION, BIND_CONN_TO_SESSION);
 * it is probed (CB_NULL) at the client's next SEQUENCE. conn NULL: nothing. */
void st_cbchan_bind(struct nfs_state *s, struct nfs_client *cl, const char *sessionid, struct conn *conn,
		    uint32_t minor);
void st_cbchan_session_gone(struct nfs_state *s, struct nfs_client *cl, const char *sessionid);
/* SEQUENCE: probe a backchannel not yet known to work. */
void st_cbchan_probe(struct nfs_state *s, struct nfs_client *cl);
/* SEQUENCE's sr_status_flags about callbacks and revoked delegations. */
uint32_t st_cbchan_flags(const struct nfs_client *cl);
void st_cbchan_fini(struct nfs_state *s, struct nfs_client *cl);
/* A 4.0 client's callback (cl->cb) was confirmed on connection from: the server connects to
 * it and probes it with CB_NULL. An address on another host than from's peer is not called
 * (the server is no relay for connections to third parties). */
void st_cbchan_v40(struct nfs_state *s, struct nfs_client *cl, struct conn *from);
struct nfs_deleg *st_deleg_by_other(struct nfs_state *s, const char *other);
void st_deleg_index(struct nfs_state *s, struct nfs_deleg *d, bool add);
nfsstat4 st_deleg_find(struct nfs_state *s, const stateid4 *sid, struct nfs_deleg **out);
/* A delegation stateid used by r on file fh: its client's, this file's, not revoked
 * (NFS4ERR_DELEG_REVOKED), seqid current. */
nfsstat4 st_deleg_check(struct nfs_req *r, struct nfs_deleg *d, const stateid4 *sid, const void *fh,
			uint32_t fh_len);
void st_deleg_free(struct nfs_state *s, struct nfs_deleg *d);
void st_deleg_client_fini(struct nfs_state *s, struct nfs_client *cl);
/* Something is about to change f: the delegations of clients other than self are recalled;
 * NFS4ERR_DELAY while any of them is held, NFS4_OK when none is (f NULL: none). */
nfsstat4 st_deleg_break_file(struct nfs_state *s, struct nfs_file *f, const struct nfs_client *self);
/* Revocations of delegations not returned in time, callbacks that got no answer. */
void st_deleg_sweep(struct nfs_state *s, uint64_t now);
void st_deleg_register_ops(struct op_table *t);
/* A 4.1+ client with a backchannel was DENIED a blocking lock of owner name on f: it
 * waits; st_lock_released(f) tells it (CB_NOTIFY_LOCK). */
void st_lock_wait(struct nfs_state *s, struct nfs_client *cl, struct nfs_file *f, const void *name,
		  uint32_t len);
/* Locked ranges on f were released: the clients waiting are notified. */
void st_lock_released(struct nfs_state *s, struct nfs_file *f);
/* OPEN4_RESULT_MAY_NOTIFY_LOCK for this client? */
bool state_may_notify_lock(const struct nfs_req *r);

/* The op handlers of LOCK, LOCKT, LOCKU and RELEASE_LOCKOWNER (nfs4_lock_ops.c). */
void st_lock_register_ops(struct op_table *t);

#endif

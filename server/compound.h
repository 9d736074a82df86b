/*
 * The COMPOUND engine: decodes an NFSv4 COMPOUND call op by op, runs each op through the op
 * table (optable.h) under the generic rules of RFC 8881 §16.2.3 / §18 (minor version, op
 * position, op count, current filehandle, reply size, stop at the first error), lets an op
 * park the compound while the storage engine works, and encodes the reply as a list of
 * iovecs: buffer segments holding the XDR of the results, and READ data out of line.
 *
 * Life of one call, all on one loop thread:
 *
 *     c = compound_new(&cfg, &table, body, body_len, on_done, conn);
 *     if (compound_start(c) < 0)          // -EBADMSG: header undecodable, GARBAGE_ARGS
 *             ...                         // (-ENOMEM: SYSTEM_ERR); on_done never fires
 *     ...                                 // handlers may park; completions call
 *                                         // compound_resume(c, status)
 *     on_done(c):                         // every op done (maybe inside compound_start)
 *             hdr = compound_reply_prepend(c, n);   // write the RPC reply header there
 *             iov = compound_reply(c, &niov, &len); // writev it
 *             compound_free(c);           // after the bytes are sent (pages released)
 *
 * The call body is decoded lazily, so it must stay valid and unchanged until on_done.
 * compound_free() of a compound that is still running or parked (connection gone) only
 * marks it: it is freed when its last op completes, and on_done is not called.
 */
#ifndef SLUICE_COMPOUND_H
#define SLUICE_COMPOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "arena.h"
#include "nfs4.h"
#include "optable.h"

struct compound;

struct compound_config {
	uint32_t minor_min;    /* supported minor versions, within 0..2 */
	uint32_t minor_max;
	uint32_t max_ops;      /* most ops in one COMPOUND: 4.0 answers NFS4ERR_RESOURCE above it;
	                        * for 4.1+ it bounds ca_maxoperations, the session's limit */
	uint32_t max_reply;    /* reply size limit outside a session (4.0, or a 4.1 COMPOUND
	                        * that does not start with SEQUENCE), RPC header included */
	uint32_t rpc_reserve;  /* bytes kept in front of the reply for the RPC reply header
	                        * (and record mark); counted in every reply size */
	size_t arena_chunk;    /* per-request arena: chunk size and hard cap */
	size_t arena_cap;
	/* Optional: called after each op with its opcode and status (traces, metrics; the name
	 * is optable_name(c->ops, op)). */
	void (*on_op)(struct compound *c, uint32_t op, nfsstat4 status);
	/* Optional: called when an op flagged OPF_CHANGES_FS is about to run its handler, and
	 * again when it has finished (whatever its status), so caches of what it may change can
	 * tell "read before" from "read after". */
	void (*on_change)(struct compound *c);
};

/* Defaults: minor versions 0..2, 128 ops, 1 MiB + 8 KiB replies, 64 bytes reserved, 64 KiB
 * arena chunks capped at 4 MiB a request. */
void compound_config_default(struct compound_config *cfg);

/* What SEQUENCE learned from the session and slot (RFC 8881 §18.36, §18.46). */
struct compound_session_limits {
	uint32_t maxops;         /* ca_maxoperations */
	uint32_t maxresp;        /* ca_maxresponsesize */
	uint32_t maxresp_cached; /* ca_maxresponsesize_cached */
	bool cachethis;          /* sa_cachethis: the slot caches this reply */
};

struct compound_fh {
	bool set;
	uint32_t len;
	uint8_t data[NFS4_FHSIZE];
};

struct compound_release {
	struct compound_release *next;
	void (*fn)(void *arg);
	void *arg;
};

struct compound {
	/* ---- fixed at creation ---------------------------------------------------------- */
	const struct compound_config *cfg;
	const struct op_table *ops;
	void (*on_done)(struct compound *c);
	void *user;                     /* the caller's (connection, credentials, ...) */

	/* ---- the call (valid after compound_start) -------------------------------------- */
	const char *tag;                /* points into the call body, not NUL-terminated */
	uint32_t tag_len;
	uint32_t minor;                 /* minorversion */
	uint32_t numops;                /* as the client sent it */

	/* ---- state of the ops: handlers read and write these ---------------------------- */
	struct compound_fh cfh;         /* current filehandle */
	struct compound_fh sfh;         /* saved filehandle */
	stateid4 cur_stateid;           /* current stateid (RFC 8881 §16.2.3.1.2) */
	bool cur_stateid_set;
	stateid4 saved_stateid;
	bool saved_stateid_set;
	bool in_session;                /* SEQUENCE succeeded; sess holds its limits */
	struct compound_session_limits sess;

	/* ---- the op being run ----------------------------------------------------------- */
	uint32_t index;                 /* its position, from 0 */
	uint32_t opnum;                 /* its opcode (OP_ILLEGAL when not a valid op) */
	const struct op_desc *desc;
	nfs_argop4 arg;                 /* its arguments, freed after it */
	nfs_resop4 res;                 /* its result, encoded after it */

	/* ---- engine-private below ------------------------------------------------------- */
	struct arena arena;
	const uint8_t *body;
	size_t body_len;
	XDR dec;                        /* decoding stream over the body */
	nfsstat4 status;                /* status of the last op done */
	uint32_t nres;                  /* results encoded */
	bool arg_live;                  /* arg holds decoded memory */
	bool stop;                      /* an op failed: no further ops */
	bool in_loop;                   /* inside the op loop */
	bool in_handler;                /* inside a handler call */
	bool parked;                    /* waiting for compound_resume() */
	bool resume_pending;            /* compound_resume() came before the handler returned */
	nfsstat4 resume_status;
	bool done;                      /* reply complete */
	bool broken;                    /* the reply could not be built: SYSTEM_ERR */
	bool abandoned;                 /* compound_free() came while running */
	bool cacheable;                 /* every op run was SESSION_CACHEABLE */

	/* reply: buffer chunks cut into iovec segments, payload iovecs between them */
	char *buf;                      /* current chunk */
	size_t buf_cap, buf_used, seg_start;
	struct iovec *iov;
	unsigned niov, iov_cap;
	size_t reply_len;               /* bytes of the COMPOUND4res, data iovecs included */
	size_t prepended;               /* bytes of rpc_reserve used by compound_reply_prepend */
	unsigned char *status_word;     /* COMPOUND4res.status, written at the end */
	unsigned char *count_word;      /* resarray length, written at the end */
	struct iovec *pay;              /* out-of-line data of the current op */
	unsigned npay, pay_cap;
	size_t pay_len;
	struct compound_release *releases;
};

/* ---- the caller's side ---------------------------------------------------------------- */

/* A new compound over the call body (the procedure arguments, after the RPC header), in an
 * arena of its own. ops is used as is (not copied): it must outlive the compound. NULL when
 * memory is short. */
struct compound *compound_new(const struct compound_config *cfg, const struct op_table *ops,
			      const void *body, size_t body_len,
			      void (*on_done)(struct compound *c), void *user);

/*
 * Decode the COMPOUND header and run the ops. Returns 0 when the call is under way: on_done
 * fires exactly once, possibly before compound_start returns (so the caller must not touch
 * c after 0 unless it knows on_done has not run). Returns -EBADMSG when the header (tag,
 * minorversion, op count) does not decode: the reply is GARBAGE_ARGS, built by the caller;
 * -ENOMEM when memory is short (SYSTEM_ERR). Then on_done does not fire; free c.
 */
int compound_start(struct compound *c);

/* Finish the parked op with status and carry on (from the async completion, on the loop
 * thread of the compound). The op's result fields are set by the completion beforehand
 * (compound_result()). May be called before the handler has returned OP_PARKED. */
void compound_resume(struct compound *c, nfsstat4 status);

/*
 * After on_done: the reply as iovecs (COMPOUND4res; the RPC header once prepended), their
 * count and total length. NULL when the reply could not be built (answer SYSTEM_ERR).
 * The iovecs point into the arena and the READ data; both live until compound_free().
 */
const struct iovec *compound_reply(struct compound *c, unsigned *niov, size_t *len);

/* Room for n bytes right before the reply (n <= rpc_reserve in all), part of iov[0] from
 * now on: the RPC layer writes its reply header (and record mark) there. NULL if too many. */
void *compound_reply_prepend(struct compound *c, size_t n);

/* The COMPOUND4res status (the last op's), and the number of results in the reply. */
nfsstat4 compound_status(const struct compound *c);
uint32_t compound_nresults(const struct compound *c);

/* True when the reply may be kept in the session slot: SEQUENCE asked for caching
 * (sa_cachethis) and every op run is SESSION_CACHEABLE. */
bool compound_reply_cacheable(const struct compound *c);

/* Release everything: run the release callbacks, free the arena. While the compound still
 * runs (parked), it is only marked and freed when it finishes, without on_done. */
void compound_free(struct compound *c);

/* ---- the handlers' side --------------------------------------------------------------- */

/* Transient memory for this request (results, scratch), freed by compound_free(). */
void *compound_alloc(struct compound *c, size_t size);

/* The result of the op being run, for a completion to fill before compound_resume(). */
nfs_resop4 *compound_result(struct compound *c);

/* Set the current filehandle. Returns false when len > NFS4_FHSIZE. */
bool compound_set_fh(struct compound *c, const void *fh, uint32_t len);

/*
 * For the SEQUENCE handler, once it knows the session and before it touches the slot:
 * installs the session's limits for the rest of the COMPOUND. Returns NFS4ERR_TOO_MANY_OPS
 * when the COMPOUND has more ops than ca_maxoperations (RFC 8881 §18.36.3, §2.10.6.4),
 * which the handler returns as its status; NFS4_OK otherwise.
 */
nfsstat4 compound_session_begin(struct compound *c, const struct compound_session_limits *lim);

/* Bytes the current op may still add to the reply, its own result included, before the
 * limit that applies (ca_maxresponsesize, ca_maxresponsesize_cached when the slot caches,
 * or max_reply). READ and READDIR clip their counts with it. */
size_t compound_reply_room(const struct compound *c);

/*
 * READ and READ_PLUS only: append len bytes at base to the op's data, sent as an iovec of the
 * reply instead of being copied into it (call several times for data spread over pages, in
 * order). The engine writes the READ4resok eof, the data length and the XDR padding
 * itself; leave READ4resok.data empty. READ_PLUS: a result of exactly one NFS4_CONTENT_DATA
 * segment whose rpr_eof and d_offset the handler sets; its d_data is not read. base must stay valid until compound_free(): pin it
 * with compound_on_release(). 0, -EINVAL for another op, -ENOMEM.
 */
int compound_add_payload(struct compound *c, const void *base, size_t len);

/* Call fn(arg) when the compound is freed (after the reply is sent): unpin cache pages,
 * drop references. Callbacks run in the reverse order of registration. 0 or -ENOMEM. */
int compound_on_release(struct compound *c, void (*fn)(void *arg), void *arg);

#endif

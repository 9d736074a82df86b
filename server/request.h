/*
 * One NFS request in flight: what every op handler may know about the call besides its
 * arguments. The dispatcher (dispatch.c) creates it for each COMPOUND and hangs it on the
 * compound (compound->user); handlers reach it with req_of(c).
 *
 * The session part (client, session, slot) is filled by SEQUENCE (NFSv4.1+) and read by the
 * ops after it; for NFSv4.0 it stays empty and the ops find their client through the
 * clientid in their arguments.
 */
#ifndef SLUICE_REQUEST_H
#define SLUICE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compound.h"
#include "rpc.h"

struct conn;
struct nfs_state;
struct nfs_client;
struct nfs_session;
struct nfs_slot;
struct srv_loop;

/* The caller's identity (RFC 5531 appendix A AUTH_SYS; AUTH_NONE is uid/gid 65534). */
struct req_cred {
	uint32_t flavor; /* AUTH_NONE or AUTH_SYS */
	uint32_t uid;
	uint32_t gid;
	uint32_t ngids;
	uint32_t gids[RPC_AUTHSYS_NGIDS_MAX];
};

struct nfs_req {
	struct srv_loop *lp;      /* the loop thread running it (storage engine, exports) */
	struct nfs_state *state;  /* clients, sessions, stateids (state.h) */
	struct conn *conn;        /* the connection it came on; NULL when fuzzing */
	struct compound *c;
	uint32_t xid;
	struct req_cred cred;
	uint8_t *rec;             /* the RPC record (owned; the call body points into it) */
	size_t rec_len;

	/* Set by SEQUENCE (4.1+): the session and slot this COMPOUND runs in. The slot's reply
	 * cache is filled by the dispatcher when the COMPOUND is done (state_slot_done()). */
	struct nfs_client *client;
	struct nfs_session *session;
	struct nfs_slot *slot;

	/* Set by SEQUENCE when the call is a retransmission of the slot's last request and the
	 * reply was cached: the dispatcher sends these COMPOUND4res bytes instead of the reply
	 * the compound built (RFC 8881 §2.10.6.1.1). SEQUENCE then stops the compound. The bytes
	 * are a copy in the compound's memory (compound_alloc), so a later request on the same
	 * slot may replace the cache while this reply is still being sent. */
	const void *replay;
	size_t replay_len;
};

static inline struct nfs_req *req_of(const struct compound *c)
{
	return (struct nfs_req *)c->user;
}

#endif

/*
 * The wire side of callbacks (RFC 8881 §2.10.3.1, §16.2, §20; RFC 7530 §16.33, §17): an
 * RPC CALL of the callback program (CB_NULL or CB_COMPOUND) encoded by the server, and
 * the REPLY the client sends back decoded far enough to tell what happened. No state and
 * no sockets here: the state module decides what to send and where (deleg.c).
 */
#ifndef SLUICE_CALLBACK_H
#define SLUICE_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfs4.h"

#define CB_VERSION 1u         /* RFC 8881 §20 / RFC 7530 §17: NFS4_CALLBACK version 1 */
#define CB_PROC_NULL 0u
#define CB_PROC_COMPOUND 1u

/* The credential calls go out with (RFC 8881 §18.36.3 csa_sec_parms: what the client
 * said it accepts). The Linux client refuses CB_COMPOUND under AUTH_NONE. */
struct cb_sec {
	uint32_t flavor;      /* AUTH_NONE or AUTH_SYS */
	uint32_t uid, gid;
};

/* One RPC CALL record body (no record marker) in a malloc()ed buffer: CB_NULL when args
 * is NULL, else CB_COMPOUND with args. 0, or -ENOMEM / -EINVAL (args do not encode). */
int cb_encode_call(uint32_t xid, uint32_t prog, const struct cb_sec *sec,
		   const CB_COMPOUND4args *args, uint8_t **out, size_t *len);

/* The xid of a REPLY record; false when it is too short to have one. */
bool cb_reply_xid(const uint8_t *rec, size_t len, uint32_t *xid);

struct cb_reply {
	bool ok;              /* MSG_ACCEPTED and SUCCESS (RFC 5531 §9) */
	nfsstat4 status;      /* CB_COMPOUND4res status (NFS4_OK for CB_NULL) */
	bool seq_done;        /* the first result is a CB_SEQUENCE that succeeded */
	nfsstat4 seq_status;  /* that CB_SEQUENCE's status (NFS4ERR_SERVERFAULT: none seen) */
};

/* Decode a REPLY record to the call it answers: compound says whether that call was
 * CB_COMPOUND. Returns false for a record that is not a well-formed reply. */
bool cb_decode_reply(const uint8_t *rec, size_t len, bool compound, struct cb_reply *out);

#endif

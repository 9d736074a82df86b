/*
 * ONC RPC record marking over a byte stream (RFC 5531 §11).
 *
 * A record is a sequence of fragments; each fragment is a 4-byte big-endian header (bit 31:
 * "last fragment of the record", bits 0-30: fragment length) followed by that many bytes.
 * The reassembler below is pure: it is fed bytes in whatever chunks the socket delivers and
 * hands back complete records. It owns no socket, so every edge (a header split over two
 * reads, fragments of length 0, a peer announcing 2 GiB) is unit-tested without a network.
 */
#ifndef SLUICE_RECMARK_H
#define SLUICE_RECMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RECMARK_HDR_SIZE 4
#define RECMARK_LAST 0x80000000u
#define RECMARK_LEN_MASK 0x7fffffffu

/*
 * Default bound on one whole record: a 1 MiB WRITE payload plus 64 KiB for the RPC header,
 * credentials and the rest of the COMPOUND. The server advertises its maximum request size
 * (RFC 8881 §18.36, ca_maxrequestsize), so a compliant client never needs more.
 */
#define RECMARK_DEFAULT_MAX ((size_t)(1024 * 1024 + 64 * 1024))

struct recmark {
	size_t max_record;             /* bound on the sum of a record's fragments */
	uint8_t hdr[RECMARK_HDR_SIZE]; /* a fragment header that arrived in pieces */
	unsigned int hdr_len;          /* bytes of hdr[] received so far */
	bool in_body;                  /* hdr complete, reading the fragment body */
	bool last;                     /* the current fragment ends the record */
	uint32_t frag_left;            /* body bytes of the current fragment still to come */
	unsigned int fragments;        /* fragments seen in the current record */
	uint8_t *buf;                  /* the record so far (malloc'd), NULL when empty */
	size_t len;                    /* bytes in buf */
	size_t cap;                    /* allocated size of buf */
	int error;                     /* sticky -errno once the stream is unusable */
};

/* max_record == 0 selects RECMARK_DEFAULT_MAX. */
void recmark_init(struct recmark *rm, size_t max_record);

/* Free a partial record. The struct may be re-initialised afterwards. */
void recmark_release(struct recmark *rm);

/*
 * Consume bytes from data[0..n). Stops after the first record completed, so the caller can
 * decide (backpressure) whether to take the next one now.
 *
 * Returns the number of bytes consumed (0..n), or a negative errno:
 *   -EMSGSIZE  a fragment header takes the record beyond max_record. Reported as soon as
 *              the header is seen, before any of the body is buffered; the stream cannot be
 *              resynchronised, so the caller closes the connection. The error is sticky.
 *   -ENOMEM    the record buffer could not be grown (also sticky).
 * When a record completes, *rec (malloc'd, now owned by the caller, never NULL even for an
 * empty record) and *rec_len are set; otherwise *rec is NULL. A return value smaller than n
 * happens only when a record completed.
 */
ssize_t recmark_feed(struct recmark *rm, const uint8_t *data, size_t n, uint8_t **rec,
		     size_t *rec_len);

/* True when part of a record (even part of a fragment header) has been received. */
bool recmark_mid_record(const struct recmark *rm);

/*
 * Encode the header of a single-fragment record carrying len bytes into hdr.
 * Returns 0, or -EMSGSIZE when len does not fit in 31 bits.
 */
int recmark_encode(uint8_t hdr[RECMARK_HDR_SIZE], size_t len);

/*
 * Write a single-fragment record (header + payload) into out[0..cap).
 * Returns the bytes written (len + RECMARK_HDR_SIZE), -ENOSPC or -EMSGSIZE.
 */
ssize_t recmark_frame(uint8_t *out, size_t cap, const void *payload, size_t len);

#endif

/*
 * Record-marking reassembler (RFC 5531 §11). See recmark.h.
 *
 * Memory: the record buffer grows with the bytes that actually arrive (doubling, capped by
 * what the current fragment declares), never by what a header merely claims. A peer that
 * sends "0x7fffffff bytes follow" and then nothing costs us no allocation at all: the header
 * alone is rejected against max_record.
 */
#include "recmark.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation of a record: big enough for one socket read of typical calls. */
#define RECMARK_FIRST_ALLOC ((size_t)64 * 1024)

void recmark_init(struct recmark *rm, size_t max_record)
{
	*rm = (struct recmark){0};
	rm->max_record = max_record ? max_record : RECMARK_DEFAULT_MAX;
	/* The length field has 31 bits; a bound above that would be meaningless. */
	if (rm->max_record > RECMARK_LEN_MASK)
		rm->max_record = RECMARK_LEN_MASK;
}

void recmark_release(struct recmark *rm)
{
	free(rm->buf);
	rm->buf = NULL;
	rm->len = rm->cap = 0;
}

bool recmark_mid_record(const struct recmark *rm)
{
	return rm->hdr_len > 0 || rm->in_body || rm->fragments > 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Make room for need bytes. declared is where the current fragment ends (rm->len plus
 * everything the fragment header announced), which bounds the doubling: a small record
 * gets exactly its size, a large one about 2x what has really arrived at worst.
 */
static int recmark_reserve(struct recmark *rm, size_t need, size_t declared)
{
	size_t cap;
	uint8_t *p;

	if (need <= rm->cap)
		return 0;
	cap = rm->cap ? rm->cap * 2 : RECMARK_FIRST_ALLOC;
	if (cap > declared)
		cap = declared;
	if (cap < need)
		cap = need;
	p = realloc(rm->buf, cap);
	if (!p)
		return -ENOMEM;
	rm->buf = p;
	rm->cap = cap;
	return 0;
}

ssize_t recmark_feed(struct recmark *rm, const uint8_t *data, size_t n, uint8_t **rec,
		     size_t *rec_len)
{
	size_t off = 0;

	*rec = NULL;
	*rec_len = 0;
	if (rm->error)
		return rm->error;

	while (off < n) {
		size_t take;

		if (!rm->in_body) {
			uint32_t marker, flen;

			while (rm->hdr_len < RECMARK_HDR_SIZE && off < n)
				rm->hdr[rm->hdr_len++] = data[off++];
			if (rm->hdr_len < RECMARK_HDR_SIZE)
				break;
			marker = get_be32(rm->hdr);
			rm->hdr_len = 0;
			rm->last = marker & RECMARK_LAST;
			flen = marker & RECMARK_LEN_MASK;
			/*
			 * The bound is on the whole record, checked against each header as
			 * it arrives: nothing of an oversize fragment is ever buffered.
			 * rm->len <= max_record holds, so the subtraction cannot wrap.
			 */
			if (flen > rm->max_record - rm->len) {
				rm->error = -EMSGSIZE;
				return rm->error;
			}
			rm->frag_left = flen;
			rm->in_body = true;
			rm->fragments++;
		}

		take = n - off;
		if (take > rm->frag_left)
			take = rm->frag_left;
		if (take) {
			if (recmark_reserve(rm, rm->len + take, rm->len + rm->frag_left) < 0) {
				rm->error = -ENOMEM;
				return rm->error;
			}
			memcpy(rm->buf + rm->len, data + off, take);
			rm->len += take;
			rm->frag_left -= (uint32_t)take;
			off += take;
		}
		if (rm->frag_left)
			continue; /* only possible when off == n: the loop ends */

		/*
		 * RFC 5531 §11 does not forbid empty fragments; a zero-length fragment
		 * that is not the last one is simply a header with nothing after it.
		 */
		rm->in_body = false;
		if (!rm->last)
			continue;

		if (!rm->buf) {
			/* An empty record: still hand out a buffer, *rec != NULL says "done". */
			rm->buf = malloc(1);
			if (!rm->buf) {
				rm->error = -ENOMEM;
				return rm->error;
			}
		}
		*rec = rm->buf;
		*rec_len = rm->len;
		rm->buf = NULL;
		rm->len = rm->cap = 0;
		rm->fragments = 0;
		rm->last = false;
		break;
	}
	return (ssize_t)off;
}

int recmark_encode(uint8_t hdr[RECMARK_HDR_SIZE], size_t len)
{
	uint32_t m;

	if (len > RECMARK_LEN_MASK)
		return -EMSGSIZE;
	m = RECMARK_LAST | (uint32_t)len;
	hdr[0] = (uint8_t)(m >> 24);
	hdr[1] = (uint8_t)(m >> 16);
	hdr[2] = (uint8_t)(m >> 8);
	hdr[3] = (uint8_t)m;
	return 0;
}

ssize_t recmark_frame(uint8_t *out, size_t cap, const void *payload, size_t len)
{
	if (len > RECMARK_LEN_MASK)
		return -EMSGSIZE;
	if (cap < RECMARK_HDR_SIZE || cap - RECMARK_HDR_SIZE < len)
		return -ENOSPC;
	recmark_encode(out, len);
	if (len)
		memcpy(out + RECMARK_HDR_SIZE, payload, len);
	return (ssize_t)(len + RECMARK_HDR_SIZE);
}

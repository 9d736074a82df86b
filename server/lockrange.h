/*
 * Byte ranges of NFSv4 byte-range locks (RFC 8881 §9.2, §18.10; RFC 7530 §9.2, §16.10):
 * the set of ranges one lock-owner holds on one file, with POSIX semantics (a new lock over
 * held bytes replaces them, adjacent ranges of one type merge, an unlock may split a range),
 * and the conflict test between sets of different owners.
 *
 * Ranges are kept as [first, last], both inclusive: a lock "to the end of the file"
 * (length all ones) and a lock of the byte at 2^64-1 then need no 65-bit sums, and no
 * operation here can overflow.
 *
 * Pure data structure: no NFS state, no I/O, no locking (the state module's thread owns it).
 */
#ifndef SLUICE_LOCKRANGE_H
#define SLUICE_LOCKRANGE_H

#include <stdbool.h>
#include <stdint.h>

/* Lock types, numerically nfs_lock_type4's READ_LT and WRITE_LT (the blocking variants
 * READW_LT/WRITEW_LT are folded into these by the caller). */
#define LR_READ 1u
#define LR_WRITE 2u

struct lr_range {
	struct lr_range *next; /* sorted by first, disjoint */
	uint64_t first, last;
	uint32_t type;         /* LR_READ or LR_WRITE */
};

struct lr_set {
	struct lr_range *head;
	unsigned n;            /* ranges in the list */
};

/* offset and length of the wire (offset4, length4) as [first, last]: false for length 0
 * and when offset + length exceeds 2^64-1 (RFC 8881 §18.10.3: NFS4ERR_INVAL). Length
 * NFS4_UINT64_MAX means "to the end of the file" whatever the offset. */
bool lr_span(uint64_t offset, uint64_t length, uint64_t *first, uint64_t *last);

/* The wire form of a range (for LOCK4denied): a range that ends at 2^64-1 has length all
 * ones, as the holder most likely asked for "to the end". */
void lr_wire(const struct lr_range *r, uint64_t *offset, uint64_t *length);

/* Do two lock types conflict? Only two read locks share bytes. */
bool lr_types_conflict(uint32_t a, uint32_t b);

/* The first range of s that overlaps [first, last] and conflicts with type, or NULL. */
const struct lr_range *lr_conflict(const struct lr_set *s, uint32_t type, uint64_t first, uint64_t last);

/* Would unlocking [first, last] split a range in two (one range more)? */
bool lr_splits(const struct lr_set *s, uint64_t first, uint64_t last);

/* Lock [first, last] as type (LR_READ / LR_WRITE), or unlock it (type 0), over whatever s
 * holds there. Returns the change in the number of ranges (may be negative), or INT32_MIN
 * when memory ran out (s unchanged). At most two ranges are added by one call. */
int lr_apply(struct lr_set *s, uint32_t type, uint64_t first, uint64_t last);

/* Free every range. */
void lr_clear(struct lr_set *s);

#endif

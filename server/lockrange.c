/* Byte ranges of byte-range locks (see lockrange.h). */
#include "lockrange.h"

#include <stdlib.h>

bool lr_span(uint64_t offset, uint64_t length, uint64_t *first, uint64_t *last)
{
	if (length == 0)
		return false;
	*first = offset;
	if (length == UINT64_MAX) {
		*last = UINT64_MAX;
		return true;
	}
	/* RFC 8881 §18.10.3, RFC 7530 §16.10.4: a length other than all ones whose sum with
	 * the offset exceeds 2^64 - 1 is NFS4ERR_INVAL, even when only the byte past the
	 * last one would be 2^64 (knfsd and Ganesha agree); written so that nothing wraps.
	 * The byte at 2^64 - 1 is reached with length all ones. */
	if (length > UINT64_MAX - offset)
		return false;
	*last = offset + (length - 1);
	return true;
}

void lr_wire(const struct lr_range *r, uint64_t *offset, uint64_t *length)
{
	*offset = r->first;
	if (r->last == UINT64_MAX)
		*length = UINT64_MAX;
	else
		*length = r->last - r->first + 1; /* last < 2^64-1: no wrap */
}

bool lr_types_conflict(uint32_t a, uint32_t b)
{
	return a == LR_WRITE || b == LR_WRITE;
}

const struct lr_range *lr_conflict(const struct lr_set *s, uint32_t type, uint64_t first, uint64_t last)
{
	for (const struct lr_range *r = s->head; r && r->first <= last; r = r->next)
		if (r->last >= first && lr_types_conflict(type, r->type))
			return r;
	return NULL;
}

bool lr_splits(const struct lr_set *s, uint64_t first, uint64_t last)
{
	for (const struct lr_range *r = s->head; r && r->first < first; r = r->next)
		if (r->last > last)
			return true;
	return false;
}

/* b starts right after a ends, with the same type: one range. */
static bool adjacent(const struct lr_range *a, const struct lr_range *b)
{
	return a->type == b->type && a->last != UINT64_MAX && a->last + 1 == b->first;
}

int lr_apply(struct lr_set *s, uint32_t type, uint64_t first, uint64_t last)
{
	struct lr_range *spare[2], **pp, *r;
	unsigned before = s->n, used = 0;

	/* Both nodes a call can need (the new range, the right half of a split range) are
	 * taken first, so that running out of memory changes nothing. */
	spare[0] = malloc(sizeof(*r));
	spare[1] = malloc(sizeof(*r));
	if (!spare[0] || !spare[1]) {
		free(spare[0]);
		free(spare[1]);
		return INT32_MIN;
	}

	/* 1. Cut [first, last] out of every range that overlaps it. */
	for (pp = &s->head; (r = *pp) && r->first <= last;) {
		if (r->last < first) {
			pp = &r->next;
			continue;
		}
		if (r->first < first && r->last > last) {
			/* the range covers both ends: keep its left and right parts */
			struct lr_range *right = spare[used++];

			right->first = last + 1;
			right->last = r->last;
			right->type = r->type;
			right->next = r->next;
			r->last = first - 1;
			r->next = right;
			s->n++;
			break;
		}
		if (r->first < first) {
			r->last = first - 1;
			pp = &r->next;
		} else if (r->last > last) {
			r->first = last + 1;
			break;
		} else {
			*pp = r->next;
			free(r);
			s->n--;
		}
	}

	/* 2. The new range in its place, 3. merged with its neighbours of the same type. */
	if (type) {
		struct lr_range *n = spare[used++];

		n->first = first;
		n->last = last;
		n->type = type;
		struct lr_range *prev = NULL, *nx;

		for (pp = &s->head; *pp && (*pp)->first < first; pp = &(*pp)->next)
			prev = *pp;
		n->next = *pp;
		*pp = n;
		s->n++;
		/* the list was merged before: only the new range's neighbours can join it */
		nx = n->next;
		if (nx && adjacent(n, nx)) {
			n->last = nx->last;
			n->next = nx->next;
			free(nx);
			s->n--;
		}
		if (prev && adjacent(prev, n)) {
			prev->last = n->last;
			prev->next = n->next;
			free(n);
			s->n--;
		}
	}
	while (used < 2)
		free(spare[used++]);
	return (int)s->n - (int)before;
}

void lr_clear(struct lr_set *s)
{
	struct lr_range *r = s->head, *next;

	for (; r; r = next) {
		next = r->next;
		free(r);
	}
	s->head = NULL;
	s->n = 0;
}

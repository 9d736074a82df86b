/* cmocka tests of lockrange.c, the byte ranges of byte-range locks (RFC 8881 §9.2, §18.10;
 * RFC 7530 §16.10): lr_span's offset/length rules, lr_wire, lr_apply's POSIX semantics
 * (replace, merge, split; the change in ranges it returns), lr_conflict, and a randomized
 * comparison of lr_apply and lr_conflict with a plain model. Every test ends with lr_clear,
 * so that ASan sees any range left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockrange.h"

#define MAX UINT64_MAX

/* ---- helpers ------------------------------------------------------------------------------ */

struct want {
	uint64_t first, last;
	uint32_t type;
};

/* s holds exactly the n ranges of w, in order, and s->n == n. */
static void expect_ranges(const struct lr_set *s, const struct want *w, unsigned n)
{
	const struct lr_range *r = s->head;

	for (unsigned i = 0; i < n; i++) {
		if (!r)
			fail_msg("range %u of %u missing", i, n);
		if (r->first != w[i].first || r->last != w[i].last || r->type != w[i].type)
			fail_msg("range %u: [%llu, %llu] type %u, want [%llu, %llu] type %u", i,
				 (unsigned long long)r->first, (unsigned long long)r->last, r->type,
				 (unsigned long long)w[i].first, (unsigned long long)w[i].last, w[i].type);
		r = r->next;
	}
	if (r)
		fail_msg("more than %u ranges", n);
	assert_int_equal(s->n, n);
}

#define EXPECT(s, ...)                                                          \
	do {                                                                    \
		const struct want w_[] = {__VA_ARGS__};                         \
		expect_ranges((s), w_, sizeof(w_) / sizeof(w_[0]));             \
	} while (0)
#define EXPECT_EMPTY(s)                   \
	do {                              \
		assert_null((s)->head);   \
		assert_int_equal((s)->n, 0); \
	} while (0)

/* ---- lr_span, lr_wire ----------------------------------------------------------------------- */

static void span_ok(uint64_t off, uint64_t len, uint64_t first, uint64_t last)
{
	uint64_t f = 0x1111, l = 0x2222;

	if (!lr_span(off, len, &f, &l))
		fail_msg("lr_span(%llu, %llu) refused", (unsigned long long)off, (unsigned long long)len);
	assert_true(f == first);
	assert_true(l == last);
}

static void span_bad(uint64_t off, uint64_t len)
{
	uint64_t f, l;

	if (lr_span(off, len, &f, &l))
		fail_msg("lr_span(%llu, %llu) accepted", (unsigned long long)off, (unsigned long long)len);
}

static void test_span(void **state)
{
	(void)state;
	/* length 0: never a range (RFC 8881 §18.10.3: NFS4ERR_INVAL) */
	span_bad(0, 0);
	span_bad(5, 0);
	span_bad(MAX, 0);
	/* length all ones: "to the end of the file" from any offset */
	span_ok(0, MAX, 0, MAX);
	span_ok(1, MAX, 1, MAX);
	span_ok(12345, MAX, 12345, MAX);
	span_ok(MAX - 1, MAX, MAX - 1, MAX);
	span_ok(MAX, MAX, MAX, MAX);
	/* plain ranges */
	span_ok(0, 1, 0, 0);
	span_ok(10, 10, 10, 19);
	span_ok(0, MAX - 1, 0, MAX - 2);
	span_ok(UINT32_MAX, 2, UINT32_MAX, (uint64_t)UINT32_MAX + 1);
	/* offset + length == 2^64-1 exactly: the last byte is 2^64-2 */
	span_ok(1, MAX - 1, 1, MAX - 1);
	span_ok(MAX - 10, 10, MAX - 10, MAX - 1);
	span_ok(MAX - 1, 1, MAX - 1, MAX - 1);
	/* offset + length past 2^64-1 (RFC 8881 §18.10.3: "Length is not equal to
	 * NFS4_UINT64_MAX, and the sum of length and offset exceeds NFS4_UINT64_MAX"), also when
	 * only the end is 2^64: the last byte is reached with length all ones only */
	span_bad(MAX, 1);
	span_bad(MAX - 9, 10);
	span_bad(2, MAX - 1);
	span_bad(MAX, 2);
	span_bad(MAX - 9, 11);
	span_bad(3, MAX - 1);
	span_bad(MAX, MAX - 1);
	span_bad((uint64_t)1 << 63, (uint64_t)1 << 63);
	span_bad((uint64_t)1 << 63, ((uint64_t)1 << 63) + 1);
	span_ok((uint64_t)1 << 63, ((uint64_t)1 << 63) - 1, (uint64_t)1 << 63, MAX - 1);
}

static void wire_is(uint64_t first, uint64_t last, uint64_t off, uint64_t len)
{
	struct lr_range r = {NULL, first, last, LR_READ};
	uint64_t o = 7, l = 7;

	lr_wire(&r, &o, &l);
	assert_true(o == off);
	assert_true(l == len);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void test_wire(void **state)
{
	(void)state;
	wire_is(5, 14, 5, 10);
	wire_is(0, 0, 0, 1);
	wire_is(0, MAX, 0, MAX);
	wire_is(7, MAX, 7, MAX);
	wire_is(MAX, MAX, MAX, MAX);           /* "to the end" rather than length 1 */
	wire_is(1, MAX - 1, 1, MAX - 1);
	wire_is(0, MAX - 2, 0, MAX - 1);
	/* [0, 2^64-2] has 2^64-1 bytes: that length is the all-ones "to the end" value, the
	 * one range the wire cannot carry exactly */
	wire_is(0, MAX - 1, 0, MAX);

	/* round trip: lr_span(lr_wire(r)) == r, for ranges the wire can express */
	for (int i = 0; i < 20000; i++) {
		struct lr_range r = {NULL, 0, 0, LR_WRITE};
		uint64_t a = rnd(), b = rnd(), off, len, f, l;

		switch (i % 4) {
		case 0: /* anywhere */
			break;
		case 1: /* small, near 0 */
			a %= 1000;
			b %= 1000;
			break;
		case 2: /* near the end */
			a = MAX - a % 1000;
			b = MAX - b % 1000;
			break;
		default: /* to the end */
			b = MAX;
			break;
		}
		r.first = a < b ? a : b;
		r.last = a < b ? b : a;
		if (r.first == 0 && r.last == MAX - 1)
			continue;
		lr_wire(&r, &off, &len);
		assert_true(off == r.first);
		assert_true(len != 0);
		assert_true(lr_span(off, len, &f, &l));
		assert_true(f == r.first);
		assert_true(l == r.last);
	}
}

/* ---- lr_apply ------------------------------------------------------------------------------- */

static void test_apply_replace_merge(void **state)
{
	struct lr_set s = {NULL, 0};

	(void)state;
	assert_int_equal(lr_apply(&s, LR_WRITE, 10, 19), 1);
	EXPECT(&s, {10, 19, LR_WRITE});
	/* the same lock again: nothing changes */
	assert_int_equal(lr_apply(&s, LR_WRITE, 10, 19), 0);
	EXPECT(&s, {10, 19, LR_WRITE});
	/* a sub-range of the same type: nothing changes */
	assert_int_equal(lr_apply(&s, LR_WRITE, 12, 13), 0);
	EXPECT(&s, {10, 19, LR_WRITE});
	/* overlap with another type: the new type replaces the old over the overlap */
	assert_int_equal(lr_apply(&s, LR_READ, 15, 24), 1);
	EXPECT(&s, {10, 14, LR_WRITE}, {15, 24, LR_READ});
	/* adjacent, same type: merged */
	assert_int_equal(lr_apply(&s, LR_READ, 25, 29), 0);
	EXPECT(&s, {10, 14, LR_WRITE}, {15, 29, LR_READ});
	/* adjacent, other type: not merged (on both sides) */
	assert_int_equal(lr_apply(&s, LR_READ, 5, 9), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 30, 30), 1);
	EXPECT(&s, {5, 9, LR_READ}, {10, 14, LR_WRITE}, {15, 29, LR_READ}, {30, 30, LR_WRITE});
	/* downgrade the middle of a write range: a split into three */
	assert_int_equal(lr_apply(&s, LR_READ, 12, 12), 2);
	EXPECT(&s, {5, 9, LR_READ}, {10, 11, LR_WRITE}, {12, 12, LR_READ}, {13, 14, LR_WRITE},
	       {15, 29, LR_READ}, {30, 30, LR_WRITE});
	/* fill a gap between two ranges of the lock's type: all three become one */
	assert_int_equal(lr_apply(&s, LR_WRITE, 31, 39), 0);
	assert_int_equal(lr_apply(&s, LR_WRITE, 41, 50), 1);
	EXPECT(&s, {5, 9, LR_READ}, {10, 11, LR_WRITE}, {12, 12, LR_READ}, {13, 14, LR_WRITE},
	       {15, 29, LR_READ}, {30, 39, LR_WRITE}, {41, 50, LR_WRITE});
	assert_int_equal(lr_apply(&s, LR_WRITE, 40, 40), -1);
	EXPECT(&s, {5, 9, LR_READ}, {10, 11, LR_WRITE}, {12, 12, LR_READ}, {13, 14, LR_WRITE},
	       {15, 29, LR_READ}, {30, 50, LR_WRITE});
	/* upgrade that joins neighbours: [10,11]W [12,12]R [13,14]W -> [10,14]W */
	assert_int_equal(lr_apply(&s, LR_WRITE, 12, 12), -2);
	EXPECT(&s, {5, 9, LR_READ}, {10, 14, LR_WRITE}, {15, 29, LR_READ}, {30, 50, LR_WRITE});
	/* byte 0 and byte 1, separately: one range */
	assert_int_equal(lr_apply(&s, LR_READ, 0, 0), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 1, 1), 0);
	EXPECT(&s, {0, 1, LR_READ}, {5, 9, LR_READ}, {10, 14, LR_WRITE}, {15, 29, LR_READ},
	       {30, 50, LR_WRITE});
	lr_clear(&s);
	EXPECT_EMPTY(&s);
	lr_clear(&s); /* twice: harmless */
	EXPECT_EMPTY(&s);
}

static void test_apply_unlock(void **state)
{
	struct lr_set s = {NULL, 0};

	(void)state;
	/* unlock of nothing, on an empty set and around held ranges */
	assert_int_equal(lr_apply(&s, 0, 0, MAX), 0);
	EXPECT_EMPTY(&s);
	assert_int_equal(lr_apply(&s, LR_READ, 0, 29), 1);
	assert_int_equal(lr_apply(&s, 0, 30, 100), 0);
	assert_int_equal(lr_apply(&s, 0, 1000, MAX), 0);
	EXPECT(&s, {0, 29, LR_READ});
	/* unlock in the middle: split */
	assert_int_equal(lr_apply(&s, 0, 10, 19), 1);
	EXPECT(&s, {0, 9, LR_READ}, {20, 29, LR_READ});
	/* unlock of the gap again: nothing */
	assert_int_equal(lr_apply(&s, 0, 10, 19), 0);
	EXPECT(&s, {0, 9, LR_READ}, {20, 29, LR_READ});
	/* an unlock over the gap and parts of both: both trimmed */
	assert_int_equal(lr_apply(&s, 0, 5, 24), 0);
	EXPECT(&s, {0, 4, LR_READ}, {25, 29, LR_READ});
	/* the first byte and the last byte of ranges */
	assert_int_equal(lr_apply(&s, 0, 0, 0), 0);
	assert_int_equal(lr_apply(&s, 0, 29, 29), 0);
	EXPECT(&s, {1, 4, LR_READ}, {25, 28, LR_READ});
	/* exactly one range: it goes */
	assert_int_equal(lr_apply(&s, 0, 1, 4), -1);
	EXPECT(&s, {25, 28, LR_READ});
	/* an unlock covering everything */
	assert_int_equal(lr_apply(&s, LR_WRITE, 40, 49), 1);
	assert_int_equal(lr_apply(&s, 0, 0, MAX), -2);
	EXPECT_EMPTY(&s);
	lr_clear(&s);
}

static void test_apply_cover_many(void **state)
{
	struct lr_set s = {NULL, 0};

	(void)state;
	assert_int_equal(lr_apply(&s, LR_READ, 0, 1), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 5, 6), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 10, 11), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 20, 21), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 40, 41), 1);
	/* one lock over the first four: one range */
	assert_int_equal(lr_apply(&s, LR_WRITE, 0, 30), -3);
	EXPECT(&s, {0, 30, LR_WRITE}, {40, 41, LR_READ});
	/* a lock over parts of ranges at both ends and whole ones between */
	lr_clear(&s);
	assert_int_equal(lr_apply(&s, LR_READ, 0, 9), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 12, 13), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 15, 15), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 20, 29), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 5, 25), -1);
	EXPECT(&s, {0, 4, LR_READ}, {5, 25, LR_WRITE}, {26, 29, LR_READ});
	/* the same with the lock's own type at the ends: all merged */
	assert_int_equal(lr_apply(&s, LR_READ, 3, 27), -2);
	EXPECT(&s, {0, 29, LR_READ});
	/* an unlock over many */
	assert_int_equal(lr_apply(&s, LR_WRITE, 40, 40), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 50, 50), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 60, 69), 1);
	assert_int_equal(lr_apply(&s, 0, 20, 65), -2);
	EXPECT(&s, {0, 19, LR_READ}, {66, 69, LR_WRITE});
	lr_clear(&s);
	EXPECT_EMPTY(&s);
}

/* Ranges that reach 2^64-1: "to the end of the file", and the last byte on its own. */
static void test_apply_to_the_end(void **state)
{
	struct lr_set s = {NULL, 0};

	(void)state;
	assert_int_equal(lr_apply(&s, LR_WRITE, 100, MAX), 1);
	EXPECT(&s, {100, MAX, LR_WRITE});
	/* unlock its tail */
	assert_int_equal(lr_apply(&s, 0, MAX - 9, MAX), 0);
	EXPECT(&s, {100, MAX - 10, LR_WRITE});
	/* the last byte alone, then the gap: one range again */
	assert_int_equal(lr_apply(&s, LR_WRITE, MAX, MAX), 1);
	EXPECT(&s, {100, MAX - 10, LR_WRITE}, {MAX, MAX, LR_WRITE});
	assert_int_equal(lr_apply(&s, LR_WRITE, MAX - 9, MAX - 1), -1);
	EXPECT(&s, {100, MAX, LR_WRITE});
	/* the last byte as a read lock: split, no merge with the write range */
	assert_int_equal(lr_apply(&s, LR_READ, MAX, MAX), 1);
	EXPECT(&s, {100, MAX - 1, LR_WRITE}, {MAX, MAX, LR_READ});
	/* a split of a range that ends at 2^64-1 */
	assert_int_equal(lr_apply(&s, LR_READ, MAX - 1, MAX), 0);
	assert_int_equal(lr_apply(&s, 0, 1000, 1000), 1);
	EXPECT(&s, {100, 999, LR_WRITE}, {1001, MAX - 2, LR_WRITE}, {MAX - 1, MAX, LR_READ});
	/* the whole space */
	assert_int_equal(lr_apply(&s, LR_READ, 0, MAX), -2);
	EXPECT(&s, {0, MAX, LR_READ});
	assert_int_equal(lr_apply(&s, 0, 0, 0), 0);
	assert_int_equal(lr_apply(&s, 0, MAX, MAX), 0);
	EXPECT(&s, {1, MAX - 1, LR_READ});
	assert_int_equal(lr_apply(&s, 0, 0, MAX), -1);
	EXPECT_EMPTY(&s);
	lr_clear(&s);
}

/* ---- lr_conflict ---------------------------------------------------------------------------- */

static void test_conflict(void **state)
{
	struct lr_set s = {NULL, 0};
	const struct lr_range *r;

	(void)state;
	assert_false(lr_types_conflict(LR_READ, LR_READ));
	assert_true(lr_types_conflict(LR_READ, LR_WRITE));
	assert_true(lr_types_conflict(LR_WRITE, LR_READ));
	assert_true(lr_types_conflict(LR_WRITE, LR_WRITE));
	assert_null(lr_conflict(&s, LR_WRITE, 0, MAX));

	assert_int_equal(lr_apply(&s, LR_READ, 10, 19), 1);
	assert_int_equal(lr_apply(&s, LR_WRITE, 30, 39), 1);
	assert_int_equal(lr_apply(&s, LR_READ, 50, 59), 1);
	/* read over read: shared */
	assert_null(lr_conflict(&s, LR_READ, 10, 19));
	assert_null(lr_conflict(&s, LR_READ, 0, 29));
	/* read over write; a read range before it does not stop the search */
	r = lr_conflict(&s, LR_READ, 0, 100);
	assert_non_null(r);
	assert_true(r->first == 30 && r->last == 39 && r->type == LR_WRITE);
	r = lr_conflict(&s, LR_READ, 39, 39);
	assert_non_null(r);
	assert_true(r->first == 30);
	/* write over read, at the range's edges */
	r = lr_conflict(&s, LR_WRITE, 19, 25);
	assert_non_null(r);
	assert_true(r->first == 10 && r->last == 19 && r->type == LR_READ);
	r = lr_conflict(&s, LR_WRITE, 0, 10);
	assert_non_null(r);
	assert_true(r->first == 10);
	/* the first conflicting range is returned */
	r = lr_conflict(&s, LR_WRITE, 0, MAX);
	assert_non_null(r);
	assert_true(r->first == 10);
	r = lr_conflict(&s, LR_WRITE, 20, MAX);
	assert_non_null(r);
	assert_true(r->first == 30);
	/* no overlap */
	assert_null(lr_conflict(&s, LR_WRITE, 0, 9));
	assert_null(lr_conflict(&s, LR_WRITE, 20, 29));
	assert_null(lr_conflict(&s, LR_WRITE, 40, 49));
	assert_null(lr_conflict(&s, LR_WRITE, 60, MAX));
	/* at 2^64-1 */
	assert_int_equal(lr_apply(&s, LR_WRITE, MAX, MAX), 1);
	r = lr_conflict(&s, LR_READ, 60, MAX);
	assert_non_null(r);
	assert_true(r->first == MAX && r->last == MAX);
	assert_null(lr_conflict(&s, LR_READ, 60, MAX - 1));
	lr_clear(&s);
}

/* ---- randomized against a model ----------------------------------------------------------------
 *
 * The model: 129 cells. Cells 0..63 are bytes 0..63, cell 64 is the whole middle
 * [64, 2^64-65], cells 65..128 are bytes 2^64-64..2^64-1. Every range the test asks for starts
 * and ends on a byte cell (never on cell 64), so the middle is always locked as one piece and
 * every range in the set starts and ends on a cell boundary. */

#define NCELL 129
#define MID 64

static uint64_t cell_first(int c)
{
	if (c < MID)
		return (uint64_t)c;
	if (c == MID)
		return 64;
	return MAX - (uint64_t)(NCELL - 1 - c);
}

static uint64_t cell_last(int c)
{
	return c == MID ? MAX - 64 : cell_first(c);
}

static int cell_of_first(uint64_t b)
{
	if (b < 64)
		return (int)b;
	if (b == 64)
		return MID;
	if (b >= MAX - 63)
		return NCELL - 1 - (int)(MAX - b);
	return -1;
}

static int cell_of_last(uint64_t b)
{
	if (b < 64)
		return (int)b;
	if (b == MAX - 64)
		return MID;
	if (b >= MAX - 63)
		return NCELL - 1 - (int)(MAX - b);
	return -1;
}

/* A random cell that a range may start or end on. */
static int rnd_byte_cell(void)
{
	int c = (int)(rnd() % (NCELL - 1));

	return c < MID ? c : c + 1;
}

/* The set against the model; the invariants: sorted, disjoint, no two adjacent ranges of one
 * type, valid types, n == the length of the list. */
static void check_model(const struct lr_set *s, const uint8_t *cells, unsigned long step)
{
	uint8_t seen[NCELL];
	const struct lr_range *r, *prev = NULL;
	unsigned n = 0;

	memset(seen, 0, sizeof(seen));
	for (r = s->head; r; prev = r, r = r->next) {
		int a = cell_of_first(r->first), b = cell_of_last(r->last);

		n++;
		if (r->type != LR_READ && r->type != LR_WRITE)
			fail_msg("step %lu: type %u", step, r->type);
		if (r->first > r->last)
			fail_msg("step %lu: first > last", step);
		if (a < 0 || b < 0)
			fail_msg("step %lu: [%llu, %llu] not on cell bounds", step,
				 (unsigned long long)r->first, (unsigned long long)r->last);
		if (prev) {
			if (prev->last >= r->first)
				fail_msg("step %lu: not sorted or overlapping", step);
			if (prev->last + 1 == r->first && prev->type == r->type)
				fail_msg("step %lu: adjacent ranges of one type not merged", step);
		}
		for (int c = a; c <= b; c++)
			seen[c] = (uint8_t)r->type;
	}
	if (n != s->n)
		fail_msg("step %lu: n %u, list %u", step, s->n, n);
	for (int c = 0; c < NCELL; c++)
		if (seen[c] != cells[c])
			fail_msg("step %lu: cell %d is %u, model %u", step, c, seen[c], cells[c]);
}

static unsigned model_ranges(const uint8_t *cells)
{
	unsigned n = 0;

	for (int c = 0; c < NCELL; c++)
		if (cells[c] && (c == 0 || cells[c - 1] != cells[c]))
			n++;
	return n;
}

static void test_random_vs_model(void **state)
{
	static const uint64_t seeds[] = {1, 0xdeadbeef, 0x5eed5eed5eedull, 42};

	(void)state;
	for (unsigned si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		struct lr_set s = {NULL, 0};
		uint8_t cells[NCELL];
		unsigned long step;

		rnd_state = seeds[si] * 0x9e3779b97f4a7c15ull + 1;
		memset(cells, 0, sizeof(cells));
		for (step = 0; step < 20000; step++) {
			int a = rnd_byte_cell(), b = rnd_byte_cell(), t;
			uint32_t type;
			unsigned before = model_ranges(cells);
			int d;

			if (a > b) {
				t = a;
				a = b;
				b = t;
			}
			/* mostly short ranges inside one end, now and then long ones */
			if (rnd() % 4) {
				int len = (int)(rnd() % 6);

				if (a + len < NCELL && (a < MID) == (a + len < MID) && a + len != MID)
					b = a + len;
			}
			type = (uint32_t)(rnd() % 3); /* 0: unlock */
			d = lr_apply(&s, type, cell_first(a), cell_last(b));
			for (int c = a; c <= b; c++)
				cells[c] = (uint8_t)type;
			if (d != (int)model_ranges(cells) - (int)before)
				fail_msg("seed %u step %lu: lr_apply returned %d, model %d", si, step, d,
					 (int)model_ranges(cells) - (int)before);
			check_model(&s, cells, step);

			/* a conflict query: the first range that overlaps and conflicts */
			{
				int qa = rnd_byte_cell(), qb = rnd_byte_cell(), want = -1;
				uint32_t qt = rnd() % 2 ? LR_READ : LR_WRITE;
				const struct lr_range *r;

				if (qa > qb) {
					t = qa;
					qa = qb;
					qb = t;
				}
				for (int c = qa; c <= qb; c++)
					if (cells[c] && lr_types_conflict(qt, cells[c])) {
						want = c;
						break;
					}
				r = lr_conflict(&s, qt, cell_first(qa), cell_last(qb));
				if (want < 0) {
					if (r)
						fail_msg("seed %u step %lu: conflict where none is", si, step);
				} else {
					if (!r)
						fail_msg("seed %u step %lu: conflict missed", si, step);
					/* the range holding the first conflicting cell */
					assert_true(r->type == cells[want]);
					assert_true(cell_of_first(r->first) <= want);
					assert_true(cell_of_last(r->last) >= want);
				}
			}
			/* now and then start over, so that both full and sparse sets are seen */
			if (rnd() % 5000 == 0) {
				lr_clear(&s);
				memset(cells, 0, sizeof(cells));
			}
		}
		lr_clear(&s);
		EXPECT_EMPTY(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_apply_replace_merge),
		cmocka_unit_test(test_apply_unlock),
		cmocka_unit_test(test_apply_cover_many),
		cmocka_unit_test(test_apply_to_the_end),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cmocka tests of the per-request bump allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "arena.h"

static void test_alignment_and_bump(void **state)
{
	struct arena a;
	char *p, *q;

	(void)state;
	arena_init(&a, 0, 0);
	assert_null(a.head); /* nothing taken before the first allocation */
	p = arena_alloc(&a, 1);
	q = arena_alloc(&a, 3);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal((uintptr_t)p % ARENA_ALIGN, 0);
	assert_int_equal((uintptr_t)q % ARENA_ALIGN, 0);
	assert_ptr_equal(q, p + ARENA_ALIGN); /* bumped within one chunk */
	assert_int_equal(a.total, ARENA_CHUNK_DEFAULT);
	assert_non_null(arena_alloc(&a, 0));
	arena_release(&a);
	assert_int_equal(a.total, 0);
	assert_null(a.head);
}

static void test_chunks_and_big_allocations(void **state)
{
	struct arena a;
	char *small, *big, *after;

	(void)state;
	arena_init(&a, 4096, 0);
	small = arena_alloc(&a, 100);
	assert_non_null(small);
	/* larger than a chunk: a chunk of its own, the head keeps serving small ones */
	big = arena_alloc(&a, 100000);
	assert_non_null(big);
	memset(big, 0x5a, 100000);
	after = arena_alloc(&a, 100);
	assert_ptr_equal(after, small + 112);
	/* filling the chunk starts another one */
	for (int i = 0; i < 100; i++)
		assert_non_null(arena_alloc(&a, 200));
	assert_true(a.total > 4096 + 100000);
	arena_release(&a);
}

static void test_cap(void **state)
{
	struct arena a;

	(void)state;
	arena_init(&a, 4096, 3 * 4096);
	for (int i = 0; i < 3; i++)
		assert_non_null(arena_alloc(&a, 3000));
	assert_null(arena_alloc(&a, 3000));   /* a fourth chunk passes the cap */
	assert_null(arena_alloc(&a, 1u << 20)); /* so does a big one */
	assert_null(arena_alloc(&a, SIZE_MAX)); /* and no overflow on silly sizes */
	assert_true(a.total <= 3 * 4096);
	arena_release(&a);
	/* released, it can be used again */
	assert_non_null(arena_alloc(&a, 3000));
	arena_release(&a);
}

static void test_zalloc_memdup(void **state)
{
	struct arena a;
	unsigned char *z;
	char *d;

	(void)state;
	arena_init(&a, 0, 0);
	z = arena_alloc(&a, 64);
	memset(z, 0xff, 64);
	arena_release(&a);
	z = arena_zalloc(&a, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(z[i], 0);
	d = arena_memdup(&a, "sluice", 7);
	assert_string_equal(d, "sluice");
	arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment_and_bump),
		cmocka_unit_test(test_chunks_and_big_allocations),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_zalloc_memdup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

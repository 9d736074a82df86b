/*
 * cmocka tests of the shared page cache (storage/pcache.c): the scan-resistant policy, pins,
 * the budget, waiters, generations (writes, changed stamps) and read-ahead streams. No I/O:
 * the tests fill pages themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pcache.h"

#define PAGES 200 /* a cache of this many pages (one shard: the policy sees every page) */

/* A demand read of page idx, filled at once when missing; returns whether it was there. */
static bool demand(struct pcache *pc, struct pc_file *f, uint64_t idx)
{
	struct pc_waiter w = {0};
	struct pc_page *pg = NULL;
	enum pc_lookup lk = pcache_lookup(pc, f, idx, false, &w, &pg);

	assert_true(lk == PC_HIT || lk == PC_FILL);
	if (lk == PC_FILL) {
		memset(pcache_page_data(pg), (int)(idx & 0xff), 16);
		pcache_fill_done(pc, pg, PCACHE_PAGE, 0);
	} else {
		assert_int_equal((uint8_t)pcache_page_data(pg)[0], (uint8_t)(idx & 0xff));
	}
	pcache_page_put(pc, pg);
	return lk == PC_HIT;
}

static uint64_t epoch(struct pcache *pc, struct pc_file *f, uint64_t npages)
{
	uint64_t hits = 0;

	for (uint64_t i = 0; i < npages; i++)
		hits += demand(pc, f, i);
	return hits;
}

/* A dataset 1.5x the cache read again in the same order: plain LRU would hit nothing; the
 * protected pages stay, so every later epoch hits about 90% / 1.5 = 60%. */
static void test_loop_keeps_hits(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "dataset", 7);
	uint64_t n = PAGES * 3 / 2, h1, h2, h3;
	struct pcache_stats st;

	(void)state;
	h1 = epoch(pc, f, n);
	h2 = epoch(pc, f, n);
	h3 = epoch(pc, f, n);
	print_message("loop of %llu pages over %d: hits %llu, %llu, %llu\n", (unsigned long long)n,
		      PAGES, (unsigned long long)h1, (unsigned long long)h2, (unsigned long long)h3);
	assert_int_equal(h1, 0);
	assert_true(h2 * 100 >= n * 50);
	assert_true(h3 * 100 >= n * 50);
	pcache_stats(pc, &st);
	assert_true(st.pages <= PAGES);
	assert_int_equal(st.hits, h1 + h2 + h3);
	assert_int_equal(st.misses, 3 * n - (h1 + h2 + h3));
	pcache_file_put(pc, f);
	pcache_free(pc);
}

/* The same loop with read-ahead running ahead of the reader (as cacheio does), its reads in
 * flight (pinned) until the reader gets there, and more of them than probation holds:
 * read-ahead only takes probation's room, so the protected pages still hit. */
static void test_loop_with_readahead(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "dataset", 7);
	uint64_t n = PAGES * 3 / 2, ahead = 0, before = 0;
	struct pc_page *inflight[PAGES * 3 / 2] = {0};
	struct pcache_stats st;

	(void)state;
	for (int ep = 0; ep < 3; ep++) {
		pcache_stats(pc, &st);
		before = st.hits;
		ahead = 0;
		for (uint64_t i = 0; i < n; i++) {
			for (; ahead < n && ahead < i + PAGES / 8; ahead++) {
				struct pc_page *pg;

				if (pcache_lookup(pc, f, ahead, true, NULL, &pg) == PC_FILL)
					inflight[ahead] = pg; /* its read completes later */
			}
			if (inflight[i]) { /* the read-ahead of page i lands just in time */
				memset(pcache_page_data(inflight[i]), (int)(i & 0xff), 16);
				pcache_fill_done(pc, inflight[i], PCACHE_PAGE, 0);
				pcache_page_put(pc, inflight[i]);
				inflight[i] = NULL;
			}
			demand(pc, f, i);
		}
		pcache_stats(pc, &st);
		print_message("epoch %d with read-ahead: %llu of %llu pages hit\n", ep + 1,
			      (unsigned long long)(st.hits - before), (unsigned long long)n);
	}
	assert_true((st.hits - before) * 100 >= n * 50);
	assert_true(st.pages <= PAGES);
	pcache_file_put(pc, f);
	pcache_free(pc);
}

/* A working set that changes is adopted: after the first dataset, a second one (smaller
 * than the cache) read over and over ends up hitting almost always. */
static void test_new_working_set_adopted(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *a = pcache_file_get(pc, "a", 1), *b = pcache_file_get(pc, "b", 1);
	uint64_t last = 0;

	(void)state;
	epoch(pc, a, PAGES);
	epoch(pc, a, PAGES);
	for (int k = 0; k < 12; k++)
		last = epoch(pc, b, PAGES / 2);
	assert_true(last * 100 >= (PAGES / 2) * 95);
	pcache_file_put(pc, a);
	pcache_file_put(pc, b);
	pcache_free(pc);
}

/* A one-time scan does not push out a working set that is read again and again. */
static void test_scan_resistant(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *hot = pcache_file_get(pc, "hot", 3), *scan = pcache_file_get(pc, "scan", 4);

	(void)state;
	for (int k = 0; k < 3; k++)
		epoch(pc, hot, PAGES / 2);
	epoch(pc, scan, PAGES * 4); /* four cache sizes, once */
	assert_true(epoch(pc, hot, PAGES / 2) * 100 >= (PAGES / 2) * 95);
	pcache_file_put(pc, hot);
	pcache_file_put(pc, scan);
	pcache_free(pc);
}

/* Pinned pages are never evicted. With every page pinned, demand reads may go over the
 * budget by half of it at most (a burst of misses in flight), then there is no room; the
 * pages over the budget go as their pins go. */
static void test_pins_and_budget(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "f", 1);
	struct pc_page *pinned[PAGES * 3 / 2];
	struct pc_waiter w = {0};
	struct pc_page *pg;
	struct pcache_stats st;
	const uint64_t most = PAGES * 3 / 2;

	(void)state;
	for (uint64_t i = 0; i < most; i++) {
		assert_int_equal(pcache_lookup(pc, f, i, false, &w, &pinned[i]), PC_FILL);
		pcache_fill_done(pc, pinned[i], PCACHE_PAGE, 0);
	}
	assert_int_equal(pcache_lookup(pc, f, most, false, &w, &pg), PC_NOSPACE);
	assert_int_equal(pcache_lookup(pc, f, most, true, NULL, &pg), PC_NOSPACE);
	pcache_stats(pc, &st);
	assert_int_equal(st.pages, most);
	assert_int_equal(st.pinned, most);
	pcache_page_put(pc, pinned[250]);
	/* over the budget: the probation page given back is freed, not kept */
	pcache_stats(pc, &st);
	assert_int_equal(st.pages, most - 1);
	assert_int_equal(pcache_lookup(pc, f, most, false, &w, &pg), PC_FILL);
	pcache_fill_done(pc, pg, 100, 0);
	assert_int_equal(pcache_page_len(pg), 100);
	pcache_page_put(pc, pg);
	for (uint64_t i = 0; i < most; i++)
		if (i != 250)
			pcache_page_put(pc, pinned[i]);
	pcache_stats(pc, &st);
	assert_int_equal(st.pinned, 0);
	assert_true(st.pages <= PAGES);
	pcache_file_put(pc, f);
	pcache_free(pc);
}

struct waited {
	struct pc_waiter w;
	struct pc_page *got;
	int calls;
};

static void on_ready(struct pc_waiter *w, struct pc_page *pg)
{
	struct waited *d = (struct waited *)w;

	d->got = pg;
	d->calls++;
}

/* A second reader of a page being filled waits for that fill; a read-ahead page that a
 * demand read then uses counts as prefetch used, not as a hit. */
static void test_waiters_and_prefetch(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "f", 1);
	struct waited d = {.w.fn = on_ready};
	struct pc_page *filler, *pg = NULL;
	struct pcache_stats st;

	(void)state;
	assert_int_equal(pcache_lookup(pc, f, 3, true, NULL, &filler), PC_FILL);
	assert_int_equal(pcache_lookup(pc, f, 3, true, NULL, &pg), PC_HIT); /* already coming */
	assert_int_equal(pcache_lookup(pc, f, 3, false, &d.w, &pg), PC_WAIT);
	assert_int_equal(d.calls, 0);
	memset(pcache_page_data(filler), 3, 16);
	pcache_fill_done(pc, filler, PCACHE_PAGE, 0);
	pcache_page_put(pc, filler);
	assert_int_equal(d.calls, 1);
	assert_ptr_equal(d.got, filler);
	pcache_page_put(pc, d.got);
	assert_true(demand(pc, f, 3));
	pcache_stats(pc, &st);
	assert_int_equal(st.prefetch_issued, 1);
	assert_int_equal(st.prefetch_used, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 0);
	assert_int_equal(st.prefetch_pending, 0);
	/* read ahead, never used, evicted: wasted */
	assert_int_equal(pcache_lookup(pc, f, 50, true, NULL, &filler), PC_FILL);
	pcache_fill_done(pc, filler, PCACHE_PAGE, 0);
	pcache_page_put(pc, filler);
	pcache_file_invalidate(pc, f);
	assert_false(demand(pc, f, 50));
	pcache_stats(pc, &st);
	assert_int_equal(st.prefetch_wasted, 1);
	pcache_file_put(pc, f);
	pcache_free(pc);
}

/* A write (invalidate) or a changed stamp: pages of the old generation are never served; a
 * fill under way when the file changed is handed to its waiters but not kept. */
static void test_generations(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "f", 1);
	struct pc_stamp s1 = {.size = 10, .mtime_ns = 1, .ctime_ns = 1, .ino = 5}, s2 = s1, got;
	struct waited d = {.w.fn = on_ready};
	struct pc_file *g = pcache_file_get(pc, "g", 1);
	struct pc_page *filler, *pg;
	struct pcache_stats st;
	uint64_t gen;

	(void)state;
	assert_false(pcache_file_stamp(f, NULL));
	pcache_file_validate(pc, f, &s1, 0);
	assert_true(pcache_file_stamp(f, &got));
	assert_int_equal(got.size, 10);
	assert_false(demand(pc, f, 0));
	assert_true(demand(pc, f, 0));
	pcache_file_validate(pc, f, &s1, 0); /* unchanged: kept */
	assert_true(demand(pc, f, 0));
	s2.mtime_ns = 2;
	pcache_file_validate(pc, f, &s2, 0); /* changed on the disk: dropped */
	assert_false(demand(pc, f, 0));
	assert_true(demand(pc, f, 0));
	pcache_invalidate_key(pc, "f", 1); /* a write through the server */
	assert_false(pcache_file_stamp(f, NULL));
	assert_false(demand(pc, f, 0));
	/* a stamp read before an invalidation is not taken */
	gen = pcache_file_gen(f);
	pcache_file_invalidate(pc, f);
	pcache_file_validate(pc, f, &s1, gen);
	assert_false(pcache_file_stamp(f, NULL));
	/* the file changes while a page is being filled */
	assert_int_equal(pcache_lookup(pc, f, 9, false, &d.w, &filler), PC_FILL);
	assert_int_equal(pcache_lookup(pc, f, 9, false, &d.w, &pg), PC_WAIT);
	pcache_file_invalidate(pc, f);
	pcache_fill_done(pc, filler, PCACHE_PAGE, 0);
	assert_int_equal(d.calls, 1);
	pcache_page_put(pc, d.got);
	pcache_page_put(pc, filler);
	assert_false(demand(pc, f, 9));
	/* a page whose reader let go while it was filled (a read around a full cache), then
	 * invalidated: freed at the end of its fill, with its hold on the file */
	assert_int_equal(pcache_lookup(pc, f, 12, false, &d.w, &filler), PC_FILL);
	pcache_page_put(pc, filler);
	pcache_file_invalidate(pc, f);
	assert_false(demand(pc, f, 12)); /* the new generation's page */
	pcache_fill_done(pc, filler, PCACHE_PAGE, 0);
	/* a failed fill is not kept either */
	assert_int_equal(pcache_lookup(pc, f, 11, false, &d.w, &filler), PC_FILL);
	pcache_fill_done(pc, filler, 0, -5);
	assert_int_equal(pcache_page_err(filler), -5);
	pcache_page_put(pc, filler);
	assert_false(demand(pc, f, 11));
	pcache_file_invalidate(pc, f); /* every page of f is now unreachable */
	epoch(pc, g, PAGES); /* stale protected pages go first, even for pages read once */
	pcache_stats(pc, &st);
	assert_int_equal(st.pinned, 0);
	pcache_file_put(pc, f);
	pcache_file_put(pc, g);
	pcache_stats(pc, &st);
	assert_int_equal(st.files, 1); /* g's pages hold g; nothing holds f any more */
	pcache_free(pc);
}

/* Files are separate; an entry goes once its last page and reference go. */
static void test_files(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *a = pcache_file_get(pc, "same-len-1", 10);
	struct pc_file *b = pcache_file_get(pc, "same-len-2", 10);
	struct pcache_stats st;

	(void)state;
	assert_ptr_not_equal(a, b);
	assert_ptr_equal(pcache_file_find(pc, "same-len-1", 10), a);
	pcache_file_put(pc, a);
	assert_null(pcache_file_find(pc, "nope", 4));
	assert_null(pcache_file_get(pc, "", 0));
	demand(pc, a, 1);
	assert_false(demand(pc, b, 1)); /* page 1 of b is not page 1 of a */
	pcache_file_put(pc, a);
	pcache_file_put(pc, b);
	pcache_stats(pc, &st);
	assert_int_equal(st.files, 2); /* kept alive by their pages */
	pcache_free(pc);
}

/* Read-ahead streams: sequential reads grow the window up to the maximum, never past the
 * file's size; a random read starts nothing; another reader has its own stream. */
static void test_streams(void **state)
{
	struct pcache *pc = pcache_new((uint64_t)PAGES * PCACHE_PAGE);
	struct pc_file *f = pcache_file_get(pc, "f", 1);
	const uint64_t M = 1 << 20, size = 100 * M;
	uint64_t from, to, off = 0, ahead = 0;

	(void)state;
	pcache_stream_note(f, 7, 0, M, size, M, 16 * M, &from, &to);
	assert_true(from == to); /* one read is not a stream yet */
	for (int i = 1; i < 40; i++) {
		off = (uint64_t)i * M;
		pcache_stream_note(f, 7, off, off + M, size, M, 16 * M, &from, &to);
		if (to > from) {
			assert_true(from % PCACHE_PAGE == 0);
			assert_true(from <= (ahead > off + M ? ahead : off + M));
			assert_true(to - (off + M) <= 16 * M);
			ahead = to;
		}
		assert_true(ahead >= off + M); /* always ahead of the reader */
	}
	assert_true(ahead - (off + M) >= 8 * M); /* the window grew */
	/* another reader of the same file: a stream of its own, not yet ahead */
	pcache_stream_note(f, 9, 0, M, size, M, 16 * M, &from, &to);
	assert_true(from == to);
	/* a random jump of reader 7 starts no read-ahead */
	pcache_stream_note(f, 7, 90 * M, 90 * M + 4096, size, M, 16 * M, &from, &to);
	assert_true(from == to);
	/* the end of the file bounds it */
	pcache_stream_note(f, 7, 90 * M + 4096, 91 * M, size, M, 16 * M, &from, &to);
	pcache_stream_note(f, 7, 91 * M, 92 * M, size, M, 16 * M, &from, &to);
	pcache_stream_note(f, 7, 92 * M, 93 * M, size, M, 16 * M, &from, &to);
	assert_true(to <= size);
	pcache_file_put(pc, f);
	pcache_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_keeps_hits),
		cmocka_unit_test(test_loop_with_readahead),
		cmocka_unit_test(test_new_working_set_adopted),
		cmocka_unit_test(test_scan_resistant),
		cmocka_unit_test(test_pins_and_budget),
		cmocka_unit_test(test_waiters_and_prefetch),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

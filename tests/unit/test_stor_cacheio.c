/*
 * cmocka tests of reads through the page cache (storage/cacheio.c) with a real storage
 * engine and a real file: bytes come back right at every offset and size (unaligned, across
 * pages, at and past the end), from the disk first and from the cache next, read-ahead runs
 * ahead of a sequential reader and stays within its budget, an O_DIRECT fd works, and a full
 * cache reads around itself. Exits 77 (skipped) when io_uring is unavailable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cacheio.h"
#include "pcache.h"
#include "stor.h"

#define FSIZE (5u * 1024 * 1024 + 12345) /* not a whole number of pages */

struct fx {
	char path[64];
	int fd, dfd;
	struct stor *st;
	struct pcache *pc;
	struct pc_file *f;
	unsigned char *data;
};

static unsigned char byte_at(uint64_t off)
{
	return (unsigned char)((off * 2654435761u) >> 13);
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	int ret;

	strcpy(x->path, "/var/tmp/sluice-cio-XXXXXX");
	x->fd = mkstemp(x->path);
	if (x->fd < 0)
		return -1;
	x->data = malloc(FSIZE);
	for (uint64_t i = 0; i < FSIZE; i++)
		x->data[i] = byte_at(i);
	if (write(x->fd, x->data, FSIZE) != (ssize_t)FSIZE)
		return -1;
	x->dfd = open(x->path, O_RDONLY | O_DIRECT);
	ret = stor_create(&x->st, NULL);
	if (ret == -ENOSYS || ret == -EPERM) {
		print_message("io_uring unavailable: skipped\n");
		exit(77);
	}
	if (ret < 0)
		return -1;
	x->pc = pcache_new(64u << 20);
	x->f = pcache_file_get(x->pc, x->path, strlen(x->path));
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	pcache_file_put(x->pc, x->f);
	stor_destroy(x->st);
	pcache_free(x->pc);
	if (x->dfd >= 0)
		close(x->dfd);
	close(x->fd);
	unlink(x->path);
	free(x->data);
	free(x);
	return 0;
}

static void on_done(struct cio_read *r)
{
	(*(int *)r->arg)++;
}

/* Read [off, off + count) through the cache and check every byte; returns bytes read. */
static uint32_t cread(struct fx *x, struct pcache *pc, int fd, uint64_t off, uint32_t count,
		      uint64_t token)
{
	int calls = 0, ret;
	struct cio_read r = {.pc = pc, .st = x->st, .f = x->f, .fd = fd, .off = off,
			     .count = count, .size = FSIZE, .token = token, .prefetch_max = 64,
			     .done = on_done, .arg = &calls};
	uint64_t pos = off;
	double deadline = (double)time(NULL) + 60;

	ret = cio_read_start(&r);
	assert_true(ret >= 0);
	if (ret == 1) {
		while (!calls) {
			assert_true(stor_wait(x->st, 1000) >= 0);
			assert_true((double)time(NULL) < deadline);
		}
		assert_int_equal(calls, 1);
	}
	assert_int_equal(r.err, 0);
	for (unsigned i = 0; i < r.niov; i++) {
		assert_memory_equal(r.iov[i].iov_base, x->data + pos, r.iov[i].iov_len);
		pos += r.iov[i].iov_len;
	}
	assert_int_equal(pos - off, r.nbytes);
	cio_release(&r);
	return r.nbytes;
}

static void settle(struct fx *x)
{
	struct cio_stats cs;

	for (int i = 0; i < 600; i++) {
		cio_stats_get(&cs);
		if (!cs.inflight)
			return;
		stor_wait(x->st, 100);
	}
	fail_msg("read-ahead never finished");
}

static void test_bytes_everywhere(void **state)
{
	struct fx *x = *state;
	const uint64_t offs[] = {0, 1, 4095, 65535, 65536, 100000, FSIZE - 70000, FSIZE - 1};
	const uint32_t counts[] = {1, 4096, 65536, 65537, 131072, 1u << 20};
	struct pcache_stats st;

	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (unsigned k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			uint64_t want = offs[i] + counts[k] > FSIZE ? FSIZE - offs[i] : counts[k];

			assert_int_equal(cread(x, x->pc, x->fd, offs[i], counts[k], 0), want);
		}
	/* at and past the end: nothing */
	assert_int_equal(cread(x, x->pc, x->fd, FSIZE, 4096, 0), 0);
	assert_int_equal(cread(x, x->pc, x->fd, FSIZE + 99999, 4096, 0), 0);
	pcache_stats(x->pc, &st);
	assert_true(st.hits > 0 && st.misses > 0);
	assert_int_equal(st.pinned, 0);
}

/* A second pass is served by the cache: no read reaches the disk. */
static void test_second_pass_hits(void **state)
{
	struct fx *x = *state;
	struct cio_stats c1, c2;

	for (uint64_t off = 0; off < FSIZE; off += 1u << 20)
		cread(x, x->pc, x->fd, off, 1u << 20, 0);
	cio_stats_get(&c1);
	for (uint64_t off = 0; off < FSIZE; off += 1u << 20)
		cread(x, x->pc, x->fd, off, 1u << 20, 0);
	cio_stats_get(&c2);
	assert_int_equal(c2.io_submitted, c1.io_submitted);
}

/* A sequential reader is read ahead of: most of its pages come from read-ahead, the budget
 * holds, nothing is read past the end, and an O_DIRECT fd (where the filesystem takes it)
 * gives the same bytes. */
static void test_readahead(void **state)
{
	struct fx *x = *state;
	struct pcache_stats st;
	int fd = x->dfd >= 0 ? x->dfd : x->fd;

	for (uint64_t off = 0; off < FSIZE; off += 128 * 1024) {
		cread(x, x->pc, fd, off, 128 * 1024, 42);
		pcache_stats(x->pc, &st);
		assert_true(st.prefetch_pending <= 64 + CIO_WINDOW_MAX / PCACHE_PAGE);
	}
	settle(x);
	pcache_stats(x->pc, &st);
	print_message("read-ahead: issued %llu used %llu misses %llu (O_DIRECT %s)\n",
		      (unsigned long long)st.prefetch_issued, (unsigned long long)st.prefetch_used,
		      (unsigned long long)st.misses, x->dfd >= 0 ? "yes" : "no");
	assert_true(st.prefetch_used > st.misses);
	assert_true(st.prefetch_issued <= (FSIZE + PCACHE_PAGE - 1) / PCACHE_PAGE);
	assert_int_equal(st.pinned, 0);
}

/* A file changed under the cache is read again once its new stamp is known. */
static void test_changed_file(void **state)
{
	struct fx *x = *state;
	struct pc_stamp s = {.size = FSIZE, .mtime_ns = 1};

	pcache_file_validate(x->pc, x->f, &s, 0);
	cread(x, x->pc, x->fd, 0, 65536, 0);
	for (int i = 0; i < 100; i++)
		x->data[i] ^= 0xff;
	assert_int_equal(pwrite(x->fd, x->data, 100, 0), 100);
	s.mtime_ns = 2;
	pcache_file_validate(x->pc, x->f, &s, 0);
	cread(x, x->pc, x->fd, 0, 65536, 0); /* checks the new bytes */
}

/* Every page pinned: the read goes around the cache, same bytes. */
static void test_full_cache_reads_around(void **state)
{
	struct fx *x = *state;
	struct pcache *small = pcache_new(2 * PCACHE_PAGE);
	struct pc_file *keep = x->f;
	struct pc_waiter w = {0};
	struct pc_page *a, *b;
	struct cio_stats c;

	x->f = pcache_file_get(small, x->path, strlen(x->path));
	assert_int_equal(pcache_lookup(small, x->f, 40, false, &w, &a), PC_FILL);
	pcache_fill_done(small, a, PCACHE_PAGE, 0);
	assert_int_equal(pcache_lookup(small, x->f, 41, false, &w, &b), PC_FILL);
	pcache_fill_done(small, b, PCACHE_PAGE, 0);
	assert_int_equal(cread(x, small, x->fd, 1000, 200000, 0), 200000);
	cio_stats_get(&c);
	assert_true(c.bypass_reads >= 1);
	pcache_page_put(small, a);
	pcache_page_put(small, b);
	pcache_file_put(small, x->f);
	x->f = keep;
	pcache_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bytes_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_pass_hits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_cache_reads_around, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

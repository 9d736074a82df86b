/*
 * cmocka tests of the fd cache (storage/fdcache.c): hits, misses, LRU eviction, pins that keep
 * an evicted fd open, the capacity bound, and several threads hammering the shards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fdcache.h"

#define MAX_FD 65536

/* Every close the cache does goes through here, so tests see exactly which fds it closed. */
struct closes {
	atomic_int n;
	atomic_int last;
	atomic_int bad; /* closes of an fd someone still had pinned */
};

static atomic_int pins[MAX_FD]; /* per fd number: pins held by the test right now */

static void record_close(int fd, void *arg)
{
	struct closes *c = arg;

	if (fd >= 0 && fd < MAX_FD && atomic_load(&pins[fd]) != 0)
		atomic_fetch_add(&c->bad, 1);
	atomic_fetch_add(&c->n, 1);
	atomic_store(&c->last, fd);
	close(fd);
}

static int open_null(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0 && fd < MAX_FD);
	return fd;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static struct fdc *make(size_t cap, unsigned int shards, struct closes *c)
{
	struct fdc_config cfg = {
		.capacity = cap, .shards = shards, .close_fd = record_close, .close_arg = c};
	struct fdc *fc;

	memset(c, 0, sizeof(*c));
	assert_int_equal(fdc_create(&fc, &cfg), 0);
	return fc;
}

/* A key that looks like a file handle: some bytes, the index spread over them. */
static size_t key_of(unsigned int i, unsigned char *k)
{
	memset(k, 0xA1, 24);
	memcpy(k + 10, &i, sizeof(i));
	return 24;
}

static void test_hit_miss(void **state)
{
	unsigned char k[32];
	size_t kl = key_of(1, k);
	struct fdc_ref *ref;
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(4, 1, &c);
	int fd = open_null();

	(void)state;
	assert_int_equal(fdc_get(fc, k, kl, &ref), -ENOENT);
	assert_null(ref);
	assert_int_equal(fdc_insert(fc, k, kl, fd, NULL), 0);
	assert_int_equal(fdc_get(fc, k, kl, &ref), 0);
	assert_int_equal(fdc_ref_fd(ref), fd);
	fdc_put(fc, ref);
	assert_true(fd_open(fd)); /* cached: the put doesn't close it */

	k[0] ^= 1; /* one byte different: another key */
	assert_int_equal(fdc_get(fc, k, kl, &ref), -ENOENT);

	fdc_get_stats(fc, &s);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 2);
	assert_int_equal(s.inserts, 1);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.evictions, 0);
	assert_int_equal(atomic_load(&c.n), 0);

	fdc_destroy(fc);
	assert_int_equal(atomic_load(&c.n), 1); /* destroy closes what it held */
	assert_false(fd_open(fd));
}

static void test_evict_lru(void **state)
{
	unsigned char k[4][32];
	size_t kl = 0;
	int fds[4];
	struct fdc_ref *ref;
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(3, 1, &c);

	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		kl = key_of(i, k[i]);
	for (int i = 0; i < 3; i++) {
		fds[i] = open_null();
		assert_int_equal(fdc_insert(fc, k[i], kl, fds[i], NULL), 0);
	}
	/* Touch 0: now 1 is the least recently used. */
	assert_int_equal(fdc_get(fc, k[0], kl, &ref), 0);
	fdc_put(fc, ref);

	fds[3] = open_null();
	assert_int_equal(fdc_insert(fc, k[3], kl, fds[3], NULL), 0);
	assert_int_equal(atomic_load(&c.n), 1);
	assert_int_equal(atomic_load(&c.last), fds[1]);

	assert_int_equal(fdc_get(fc, k[1], kl, &ref), -ENOENT);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_int_equal(fdc_get(fc, k[i], kl, &ref), 0);
		assert_int_equal(fdc_ref_fd(ref), fds[i]);
		fdc_put(fc, ref);
	}
	fdc_get_stats(fc, &s);
	assert_int_equal(s.evictions, 1);
	assert_int_equal(s.entries, 3);
	fdc_destroy(fc);
}

static void test_pinned_survives_eviction(void **state)
{
	unsigned char k1[32], k2[32];
	size_t kl = key_of(1, k1);
	struct fdc_ref *pinned, *ref;
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(1, 1, &c);
	int fd1 = open_null(), fd2 = open_null();
	char byte;

	(void)state;
	key_of(2, k2);
	assert_int_equal(fdc_insert(fc, k1, kl, fd1, &pinned), 0);
	assert_int_equal(fdc_ref_fd(pinned), fd1);
	atomic_fetch_add(&pins[fd1], 1);

	/* k2 pushes k1 out of the table while a reader still uses it. */
	assert_int_equal(fdc_insert(fc, k2, kl, fd2, NULL), 0);
	assert_int_equal(fdc_get(fc, k1, kl, &ref), -ENOENT);
	fdc_get_stats(fc, &s);
	assert_int_equal(s.evictions, 1);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.detached, 1);
	assert_int_equal(atomic_load(&c.n), 0); /* not closed */
	assert_true(fd_open(fd1));
	assert_int_equal(read(fdc_ref_fd(pinned), &byte, 1), 0); /* still a working fd */

	atomic_fetch_sub(&pins[fd1], 1);
	fdc_put(fc, pinned); /* the last pin: now it goes */
	assert_int_equal(atomic_load(&c.n), 1);
	assert_int_equal(atomic_load(&c.last), fd1);
	assert_int_equal(atomic_load(&c.bad), 0);
	fdc_get_stats(fc, &s);
	assert_int_equal(s.detached, 0);

	/* Two pins: closed only after both are put. */
	assert_int_equal(fdc_get(fc, k2, kl, &pinned), 0);
	assert_int_equal(fdc_get(fc, k2, kl, &ref), 0);
	assert_int_equal(fdc_invalidate(fc, k2, kl), 0);
	assert_int_equal(fdc_invalidate(fc, k2, kl), -ENOENT);
	fdc_put(fc, pinned);
	assert_int_equal(atomic_load(&c.n), 1);
	assert_true(fd_open(fd2));
	fdc_put(fc, ref);
	assert_int_equal(atomic_load(&c.n), 2);
	assert_false(fd_open(fd2));
	fdc_destroy(fc);
}

static void test_capacity_respected(void **state)
{
	unsigned char k[32];
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(10, 4, &c); /* slices 3+3+2+2 */
	size_t kl = 0;

	(void)state;
	for (unsigned int i = 0; i < 1000; i++) {
		kl = key_of(i, k);
		assert_int_equal(fdc_insert(fc, k, kl, open_null(), NULL), 0);
		fdc_get_stats(fc, &s);
		assert_true(s.entries <= 10);
		/* every fd the cache let go of is closed: open fds == entries */
		assert_int_equal((uint64_t)atomic_load(&c.n), s.inserts - s.entries);
	}
	fdc_get_stats(fc, &s);
	assert_int_equal(s.inserts, 1000);
	assert_int_equal(s.evictions, 1000 - s.entries);
	assert_true(s.entries >= 4); /* every shard holds something */
	fdc_destroy(fc);
	assert_int_equal(atomic_load(&c.n), 1000);
}

static void test_insert_existing_wins(void **state)
{
	unsigned char k[32];
	size_t kl = key_of(5, k);
	struct fdc_ref *ref;
	struct closes c;
	struct fdc *fc = make(4, 2, &c);
	int a = open_null(), b = open_null();

	(void)state;
	assert_int_equal(fdc_insert(fc, k, kl, a, NULL), 0);
	/* Another thread opened the same file meanwhile: it gets the cached fd, its own is closed. */
	assert_int_equal(fdc_insert(fc, k, kl, b, &ref), 0);
	assert_int_equal(fdc_ref_fd(ref), a);
	assert_int_equal(atomic_load(&c.n), 1);
	assert_int_equal(atomic_load(&c.last), b);
	fdc_put(fc, ref);
	fdc_destroy(fc);
}

static void test_capacity_zero(void **state)
{
	unsigned char k[32];
	size_t kl = key_of(1, k);
	struct fdc_ref *ref, *other;
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(0, 0, &c);
	int fd = open_null();

	(void)state;
	assert_int_equal(fdc_insert(fc, k, kl, fd, &ref), 0);
	assert_int_equal(fdc_ref_fd(ref), fd); /* usable while pinned... */
	assert_int_equal(fdc_get(fc, k, kl, &other), -ENOENT); /* ...but not cached */
	fdc_get_stats(fc, &s);
	assert_int_equal(s.entries, 0);
	fdc_put(fc, ref); /* ...and closed at once after */
	assert_int_equal(atomic_load(&c.n), 1);
	assert_int_equal(fdc_insert(fc, k, kl, open_null(), NULL), 0);
	assert_int_equal(atomic_load(&c.n), 2);
	fdc_destroy(fc);
}

static void test_bad_keys(void **state)
{
	unsigned char k[FDC_KEY_MAX + 1];
	struct fdc_ref *ref;
	struct closes c;
	struct fdc *fc = make(4, 1, &c);

	(void)state;
	memset(k, 1, sizeof(k));
	assert_int_equal(fdc_insert(fc, k, 0, open_null(), &ref), -EINVAL);
	assert_null(ref);
	assert_int_equal(fdc_insert(fc, k, sizeof(k), open_null(), NULL), -EINVAL);
	assert_int_equal(atomic_load(&c.n), 2); /* the cache owned them: closed, not leaked */
	assert_int_equal(fdc_insert(fc, k, FDC_KEY_MAX, open_null(), NULL), 0); /* max is fine */
	assert_int_equal(fdc_get(fc, NULL, 4, &ref), -EINVAL);
	assert_int_equal(fdc_get(fc, k, sizeof(k), &ref), -EINVAL);
	assert_int_equal(fdc_invalidate(fc, k, 0), -EINVAL);
	fdc_destroy(fc);
}

/* ---- several threads, few keys, small capacity: constant eviction under pins ---- */

#define THREADS 4
#define OPS 20000
#define KEYS 64

struct worker {
	struct fdc *fc;
	unsigned int seed;
	int gets, misses, broken;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	unsigned char k[32];

	for (int i = 0; i < OPS; i++) {
		size_t kl = key_of((unsigned int)rand_r(&w->seed) % KEYS, k);
		struct fdc_ref *ref;
		int fd;

		w->gets++;
		if (fdc_get(w->fc, k, kl, &ref) == -ENOENT) {
			w->misses++;
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fd >= MAX_FD || fdc_insert(w->fc, k, kl, fd, &ref) != 0) {
				w->broken++;
				continue;
			}
		}
		fd = fdc_ref_fd(ref);
		atomic_fetch_add(&pins[fd], 1);
		if (!fd_open(fd)) /* closed under us? */
			w->broken++;
		if (rand_r(&w->seed) % 8 == 0)
			fdc_invalidate(w->fc, k, kl);
		atomic_fetch_sub(&pins[fd], 1);
		fdc_put(w->fc, ref);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct fdc_stats s;
	struct closes c;
	struct fdc *fc = make(16, 4, &c);
	uint64_t gets = 0, misses = 0;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.fc = fc, .seed = 1000u + (unsigned int)i};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].broken, 0);
		gets += (uint64_t)w[i].gets;
		misses += (uint64_t)w[i].misses;
	}
	fdc_get_stats(fc, &s);
	assert_int_equal(atomic_load(&c.bad), 0); /* never closed a pinned fd */
	assert_int_equal(s.hits + s.misses, gets);
	assert_int_equal(s.misses, misses);
	assert_true(s.entries <= 16);
	assert_int_equal(s.detached, 0);
	assert_true(s.evictions + s.invalidations > 0);
	/* each miss opened one fd; all are closed except those still cached */
	assert_int_equal((uint64_t)atomic_load(&c.n), misses - s.entries);
	fdc_destroy(fc);
	assert_int_equal((uint64_t)atomic_load(&c.n), misses);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss),
		cmocka_unit_test(test_evict_lru),
		cmocka_unit_test(test_pinned_survives_eviction),
		cmocka_unit_test(test_capacity_respected),
		cmocka_unit_test(test_insert_existing_wins),
		cmocka_unit_test(test_capacity_zero),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fdcache: lock-striped, refcounted LRU cache of open fds (rules in fdcache.h). */
#define _GNU_SOURCE
#include "fdcache.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "list.h"

struct fdc_ref {
	struct fdc_ref *hnext; /* bucket chain; reused as the "to close" list once unlinked */
	struct list_link lru;   /* head side is most recently used */
	uint64_t hash;
	unsigned int refs;  /* pins held by callers; the table's own hold is `linked` */
	unsigned int shard;
	bool linked;
	int fd;
	size_t keylen;
	unsigned char key[];
};

/* Own cache line per shard: the shards exist so that threads don't contend. */
struct fdc_shard {
	alignas(64) pthread_mutex_t lock;
	struct fdc_ref **buckets;
	size_t mask; /* nbuckets - 1, nbuckets a power of two */
	struct list_link lru;
	size_t count;
	size_t cap;
	uint64_t hits, misses, inserts, evictions, invalidations, detached;
};

struct fdc {
	unsigned int nshards;
	struct fdc_shard *shards;
	void (*close_fd)(int fd, void *arg);
	void *close_arg;
};

#define REF_OF(l) container_of(l, struct fdc_ref, lru)

static void fdc_close(struct fdc *c, int fd)
{
	if (fd < 0)
		return;
	if (c->close_fd)
		c->close_fd(fd, c->close_arg);
	else
		close(fd);
}

static struct fdc_shard *fdc_shard_of(struct fdc *c, uint64_t hash, unsigned int *idx)
{
	*idx = (unsigned int)((hash >> 32) % c->nshards);
	return &c->shards[*idx];
}

static struct fdc_ref **fdc_slot(struct fdc_shard *s, uint64_t hash, const void *key, size_t keylen)
{
	struct fdc_ref **pp = &s->buckets[hash & s->mask];

	for (; *pp; pp = &(*pp)->hnext) {
		struct fdc_ref *e = *pp;

		if (e->hash == hash && e->keylen == keylen && !memcmp(e->key, key, keylen))
			break;
	}
	return pp;
}

/* Take e out of the table (caller holds the lock). Returns true if nobody pins it any more. */
static bool fdc_unlink(struct fdc_shard *s, struct fdc_ref *e)
{
	struct fdc_ref **pp = fdc_slot(s, e->hash, e->key, e->keylen);

	assert(*pp == e);
	*pp = e->hnext;
	e->hnext = NULL;
	list_del(&e->lru);
	e->linked = false;
	s->count--;
	if (e->refs)
		s->detached++;
	return e->refs == 0;
}

int fdc_create(struct fdc **out, const struct fdc_config *cfg)
{
	struct fdc *c;
	unsigned int n, i;
	size_t base, extra;

	if (!out || !cfg)
		return -EINVAL;
	n = cfg->shards ? cfg->shards : FDC_DEFAULT_SHARDS;
	/* A shard with no capacity could never cache anything: never more shards than slots. */
	if (cfg->capacity < n)
		n = cfg->capacity ? (unsigned int)cfg->capacity : 1;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->nshards = n;
	c->close_fd = cfg->close_fd;
	c->close_arg = cfg->close_arg;
	c->shards = aligned_alloc(alignof(struct fdc_shard), n * sizeof(*c->shards));
	if (!c->shards)
		goto out_free;
	memset(c->shards, 0, n * sizeof(*c->shards));

	base = cfg->capacity / n;
	extra = cfg->capacity % n;
	for (i = 0; i < n; i++) {
		struct fdc_shard *s = &c->shards[i];
		size_t nb = 8;

		s->cap = base + (i < extra ? 1 : 0); /* the slices sum to exactly capacity */
		while (nb < s->cap)
			nb <<= 1;
		s->buckets = calloc(nb, sizeof(*s->buckets));
		if (!s->buckets)
			goto out_shards;
		s->mask = nb - 1;
		list_init(&s->lru);
		pthread_mutex_init(&s->lock, NULL);
	}
	*out = c;
	return 0;

out_shards:
	while (i--) {
		free(c->shards[i].buckets);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	free(c->shards);
out_free:
	free(c);
	return -ENOMEM;
}

void fdc_destroy(struct fdc *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->nshards; i++) {
		struct fdc_shard *s = &c->shards[i];

		/* Detached-but-pinned entries would be leaked fds: a caller bug. */
		assert(s->detached == 0);
		while (!list_empty(&s->lru)) {
			struct fdc_ref *e = REF_OF(s->lru.next);

			assert(e->refs == 0);
			list_del(&e->lru);
			fdc_close(c, e->fd);
			free(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

static bool fdc_key_ok(const void *key, size_t keylen)
{
	return key && keylen > 0 && keylen <= FDC_KEY_MAX;
}

int fdc_get(struct fdc *c, const void *key, size_t keylen, struct fdc_ref **out)
{
	struct fdc_shard *s;
	struct fdc_ref *e;
	unsigned int idx;
	uint64_t h;

	if (!fdc_key_ok(key, keylen) || !out)
		return -EINVAL;
	h = hash_bytes(key, keylen);
	s = fdc_shard_of(c, h, &idx);

	pthread_mutex_lock(&s->lock);
	e = *fdc_slot(s, h, key, keylen);
	if (e) {
		e->refs++;
		list_del(&e->lru);
		list_add(&s->lru, &e->lru);
		s->hits++;
	} else {
		s->misses++;
	}
	pthread_mutex_unlock(&s->lock);

	*out = e;
	return e ? 0 : -ENOENT;
}

int fdc_insert(struct fdc *c, const void *key, size_t keylen, int fd, struct fdc_ref **out)
{
	struct fdc_ref *e, *old, *victims = NULL;
	struct fdc_shard *s;
	unsigned int idx;
	uint64_t h;

	if (out)
		*out = NULL;
	if (!fdc_key_ok(key, keylen) || fd < 0) {
		fdc_close(c, fd); /* we own it even on error: the caller has no cleanup to get wrong */
		return -EINVAL;
	}
	/* Allocate outside the lock; a wasted allocation on a race is cheaper than holding it. */
	e = calloc(1, sizeof(*e) + keylen);
	if (!e) {
		fdc_close(c, fd);
		return -ENOMEM;
	}
	h = hash_bytes(key, keylen);
	s = fdc_shard_of(c, h, &idx);
	e->hash = h;
	e->shard = idx;
	e->fd = fd;
	e->keylen = keylen;
	memcpy(e->key, key, keylen);
	list_init(&e->lru);
	e->refs = out ? 1 : 0;

	pthread_mutex_lock(&s->lock);
	old = *fdc_slot(s, h, key, keylen);
	if (old) {
		/* Lost a race with another opener: keep the entry others may already hold. */
		if (out) {
			old->refs++;
			*out = old;
		}
		list_del(&old->lru);
		list_add(&s->lru, &old->lru);
		pthread_mutex_unlock(&s->lock);
		fdc_close(c, fd);
		free(e);
		return 0;
	}
	if (s->cap == 0) {
		/* Caching disabled: hand back a private entry, closed on its last put. */
		if (out)
			s->detached++;
		pthread_mutex_unlock(&s->lock);
		if (out) {
			*out = e;
			return 0;
		}
		fdc_close(c, fd);
		free(e);
		return 0;
	}
	while (s->count >= s->cap) {
		struct fdc_ref *lru = REF_OF(s->lru.prev);

		s->evictions++;
		if (fdc_unlink(s, lru)) {
			lru->hnext = victims;
			victims = lru;
		}
	}
	e->hnext = s->buckets[h & s->mask];
	s->buckets[h & s->mask] = e;
	list_add(&s->lru, &e->lru);
	e->linked = true;
	s->count++;
	s->inserts++;
	pthread_mutex_unlock(&s->lock);

	/* close(2) can take a while (final close of a dirty file); never under the shard lock. */
	while (victims) {
		struct fdc_ref *v = victims;

		victims = v->hnext;
		fdc_close(c, v->fd);
		free(v);
	}
	if (out)
		*out = e;
	return 0;
}

int fdc_ref_fd(const struct fdc_ref *ref)
{
	return ref->fd;
}

void fdc_put(struct fdc *c, struct fdc_ref *ref)
{
	struct fdc_shard *s;
	bool last;

	if (!ref)
		return;
	s = &c->shards[ref->shard];
	pthread_mutex_lock(&s->lock);
	assert(ref->refs > 0);
	ref->refs--;
	last = !ref->linked && ref->refs == 0;
	if (last)
		s->detached--;
	pthread_mutex_unlock(&s->lock);
	if (last) {
		fdc_close(c, ref->fd);
		free(ref);
	}
}

int fdc_invalidate(struct fdc *c, const void *key, size_t keylen)
{
	struct fdc_shard *s;
	struct fdc_ref *e;
	unsigned int idx;
	bool last = false;
	uint64_t h;

	if (!fdc_key_ok(key, keylen))
		return -EINVAL;
	h = hash_bytes(key, keylen);
	s = fdc_shard_of(c, h, &idx);
	pthread_mutex_lock(&s->lock);
	e = *fdc_slot(s, h, key, keylen);
	if (e) {
		s->invalidations++;
		last = fdc_unlink(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	if (!e)
		return -ENOENT;
	if (last) {
		fdc_close(c, e->fd);
		free(e);
	}
	return 0;
}

void fdc_get_stats(struct fdc *c, struct fdc_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < c->nshards; i++) {
		struct fdc_shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->evictions += s->evictions;
		out->invalidations += s->invalidations;
		out->entries += s->count;
		out->detached += s->detached;
		pthread_mutex_unlock(&s->lock);
	}
}

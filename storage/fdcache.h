/*
 * fdcache: a bounded cache of open fds keyed by handle bytes, shared by all loop threads.
 *
 * Lock-striped: the key's hash picks one of a few shards, each with its own mutex, hash table
 * and LRU list, and its own slice of the capacity (so the total never exceeds it). A lookup
 * pins the entry (refcount); an evicted or invalidated entry leaves the table at once but its fd
 * stays open until the last pin is put, so an fd in use is never closed under a reader.
 *
 * Keys are opaque bytes up to FDC_KEY_MAX: a file handle, optionally followed by whatever else
 * distinguishes the fd (e.g. an open-mode byte when O_PATH and O_RDWR fds are cached apart).
 */
#ifndef SLUICE_FDCACHE_H
#define SLUICE_FDCACHE_H

#include <stddef.h>
#include <stdint.h>

#define FDC_KEY_MAX 144
#define FDC_DEFAULT_SHARDS 8

struct fdc;
struct fdc_ref; /* a pinned entry */

struct fdc_config {
	size_t capacity;     /* max fds held by the table; 0 disables caching (refs still work) */
	unsigned int shards; /* 0: FDC_DEFAULT_SHARDS; never more than capacity */
	/* How to close an fd the cache is done with; NULL: close(2). Runs outside the shard lock. */
	void (*close_fd)(int fd, void *arg);
	void *close_arg;
};

struct fdc_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;     /* dropped to make room */
	uint64_t invalidations; /* dropped by fdc_invalidate() */
	uint64_t entries;       /* right now, in the table */
	uint64_t detached;      /* right now, out of the table but still pinned (fd open) */
};

int fdc_create(struct fdc **out, const struct fdc_config *cfg);

/* Every ref must have been put. Closes all cached fds. */
void fdc_destroy(struct fdc *c);

/* Look up and pin. Returns 0 (hit, *out pinned), -ENOENT (miss) or -EINVAL (bad key). */
int fdc_get(struct fdc *c, const void *key, size_t keylen, struct fdc_ref **out);

/*
 * Insert fd under key; the cache owns fd from here on, even on error. If the key is already
 * present (another thread opened the same file meanwhile) the existing entry wins and fd is
 * closed. out may be NULL; otherwise the entry is returned pinned. Returns 0, -EINVAL, -ENOMEM.
 */
int fdc_insert(struct fdc *c, const void *key, size_t keylen, int fd, struct fdc_ref **out);

int fdc_ref_fd(const struct fdc_ref *ref);

/* Unpin. Closes the fd if the entry has left the table and this was the last pin. */
void fdc_put(struct fdc *c, struct fdc_ref *ref);

/* Drop key from the table (e.g. the file was removed). Returns 0 or -ENOENT. */
int fdc_invalidate(struct fdc *c, const void *key, size_t keylen);

void fdc_get_stats(struct fdc *c, struct fdc_stats *out);

#endif /* SLUICE_FDCACHE_H */

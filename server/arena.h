/*
 * A bounded bump allocator for the transient state of one request.
 *
 * Memory comes from malloc in chunks (64 KiB by default); an allocation larger than a chunk
 * gets a chunk of its own. Nothing is freed one by one: arena_release() returns every chunk
 * at once when the request is done. The hard cap bounds the bytes one request may take from
 * malloc, chunk headers included, so a hostile request cannot grow without limit: past it
 * arena_alloc() returns NULL. Single-threaded, like the request it belongs to.
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK_DEFAULT (64u * 1024u)
#define ARENA_ALIGN 16u /* every allocation is aligned to this */

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* the chunk bumped from; older chunks follow */
	size_t chunk_size;        /* bytes per regular chunk, header included */
	size_t cap;               /* most bytes ever taken from malloc at once */
	size_t total;             /* bytes taken from malloc now */
	size_t used;              /* bytes handed out (with alignment padding) */
};

/* Set up an empty arena: no memory is taken until the first allocation. A chunk_size of 0
 * means ARENA_CHUNK_DEFAULT; a cap of 0 means no cap. */
void arena_init(struct arena *a, size_t chunk_size, size_t cap);

/* size bytes aligned to ARENA_ALIGN, or NULL when malloc fails or the cap would be passed.
 * A size of 0 gives a valid unique pointer. */
void *arena_alloc(struct arena *a, size_t size);

/* arena_alloc, zero-filled. */
void *arena_zalloc(struct arena *a, size_t size);

/* A copy of len bytes of src, or NULL. */
void *arena_memdup(struct arena *a, const void *src, size_t len);

/* Free every chunk. The arena is empty afterwards and can be used again. */
void arena_release(struct arena *a);

#endif

/* The per-request bump allocator (see arena.h). */
#include "arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* bytes of this chunk including the header */
	size_t off;  /* next free byte, from the start of the chunk */
};

/*
 * Released chunks of the default size kept for the next request of the same thread, up to
 * ARENA_SPARES: every COMPOUND takes at least one, and a 64 KiB malloc and free is one of
 * jemalloc's large sizes, ~4,000 instructions a pair (callgrind, a GETATTR is ~18,000).
 * They are freed when the thread ends. Not under AddressSanitizer, which should see every
 * use of a released request's memory.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_SPARES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_SPARES 0
#endif
#endif
#ifndef ARENA_SPARES
#define ARENA_SPARES 4
#endif
static _Thread_local struct arena_chunk *spares[ARENA_SPARES + 1];
static _Thread_local unsigned int nspares;
static _Thread_local int spares_registered; /* the destructor will run at this thread's end */
static pthread_key_t spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void spares_free(void *unused)
{
	(void)unused;
	while (nspares)
		free(spares[--nspares]);
	spares_registered = 0; /* a keep after this registers again, and runs this again */
}

static void spares_key_make(void)
{
	(void)pthread_key_create(&spares_key, spares_free);
}

/* Keep ch for this thread's next chunk; false when there is no room. */
static int spare_keep(struct arena_chunk *ch)
{
	if (nspares >= ARENA_SPARES)
		return 0;
	if (!spares_registered) {
		if (pthread_once(&spares_once, spares_key_make) != 0 ||
		    pthread_setspecific(spares_key, spares) != 0)
			return 0; /* no destructor: do not keep what the thread's end could not free */
		spares_registered = 1;
	}
	spares[nspares++] = ch;
	return 1;
}

/* The header, rounded up so the first allocation is aligned. */
#define CHUNK_HDR ((sizeof(struct arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static size_t align_up(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void arena_init(struct arena *a, size_t chunk_size, size_t cap)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_CHUNK_DEFAULT;
	if (a->chunk_size < CHUNK_HDR + ARENA_ALIGN)
		a->chunk_size = CHUNK_HDR + ARENA_ALIGN;
	a->cap = cap ? cap : SIZE_MAX;
	a->total = 0;
	a->used = 0;
}

/* Take a chunk of size bytes (header included) from malloc, within the cap. */
static struct arena_chunk *chunk_new(struct arena *a, size_t size)
{
	struct arena_chunk *ch;

	if (size > a->cap - a->total)
		return NULL;
	if (size == ARENA_CHUNK_DEFAULT && nspares)
		ch = spares[--nspares];
	else
		ch = malloc(size);
	if (!ch)
		return NULL;
	ch->next = NULL;
	ch->size = size;
	ch->off = CHUNK_HDR;
	a->total += size;
	return ch;
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *ch = a->head;
	size_t need;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	need = align_up(size ? size : 1);

	if (ch && ch->size - ch->off >= need) {
		p = (char *)ch + ch->off;
		ch->off += need;
		a->used += need;
		return p;
	}

	if (need > a->chunk_size - CHUNK_HDR) {
		/* A chunk of its own, kept behind the head so the head's free space stays
		 * usable for the small allocations that follow. */
		ch = chunk_new(a, CHUNK_HDR + need);
		if (!ch)
			return NULL;
		ch->off = ch->size;
		if (a->head) {
			ch->next = a->head->next;
			a->head->next = ch;
		} else {
			a->head = ch;
		}
		a->used += need;
		return (char *)ch + CHUNK_HDR;
	}

	ch = chunk_new(a, a->chunk_size);
	if (!ch)
		return NULL;
	ch->next = a->head;
	a->head = ch;
	p = (char *)ch + ch->off;
	ch->off += need;
	a->used += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *arena_memdup(struct arena *a, const void *src, size_t len)
{
	void *p = arena_alloc(a, len);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *ch = a->head, *next;

	while (ch) {
		next = ch->next;
		if (ch->size != ARENA_CHUNK_DEFAULT || !spare_keep(ch))
			free(ch);
		ch = next;
	}
	a->head = NULL;
	a->total = 0;
	a->used = 0;
}

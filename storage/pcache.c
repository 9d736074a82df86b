/*
 * pcache: the shared page cache (see pcache.h for the policy and why).
 *
 * Lock order: a page shard's mutex may be held while a file entry's reference is taken
 * (atomic, the caller already holds one); file references are only ever dropped to zero with
 * no page shard lock held (victims are put after the shard is unlocked).
 */
#include "pcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "list.h"

#define PC_SHARDS_MAX 16u
#define PC_FSHARDS 16u
#define PC_PROT_PCT 90u  /* protected: at most this share of a shard's pages */
#define PC_GHOST_MULT 2u /* ghost entries per page of budget */
/* Pages a shard may hold above its budget while every probation page is pinned (READs being
 * filled or sent), so that a burst of misses does not push protected pages out: at most this
 * many in all (128 MiB), given back as their pins go. */
#define PC_OVERCOMMIT_PAGES 2048u

enum pg_state { PG_FILLING, PG_VALID };
enum pg_where { PG_NONE, PG_PROB, PG_PROT };

struct pc_page {
	struct list_link link; /* in prob or prot; the head's next is the newest */
	struct pc_page *hnext;
	struct pc_file *file;
	uint64_t idx;
	uint64_t gen;
	uint64_t tick; /* shard clock at the last demand read; 0: never read on demand */
	uint32_t len;
	uint32_t refs;
	int err;
	uint8_t state;
	uint8_t where;
	bool hashed;     /* findable in the shard's table */
	bool prefetched; /* filled by read-ahead and not yet used */
	struct pc_waiter *waiters;
	char *data;
};

#define PC_STREAMS 4

struct pc_stream {
	uint64_t token;
	uint64_t next;  /* where the last read ended */
	uint64_t ahead; /* read ahead up to here */
	uint64_t window;
	uint64_t used;  /* stream clock at the last use, for replacement */
	uint32_t seq;   /* sequential reads in a row */
};

struct pc_file {
	struct pc_file *hnext;
	uint64_t hash;
	atomic_uint_fast64_t refs; /* users + resident pages */
	atomic_uint_fast64_t gen;
	pthread_mutex_t mu; /* stamp */
	bool stamped;
	struct pc_stamp stamp;
	struct pc_stream streams[PC_STREAMS];
	uint64_t sclock;
	size_t keylen;
	unsigned char key[];
};

struct pc_ghost {
	uint64_t fhash, idx, tick;
	uint32_t next; /* chain, UINT32_MAX ends it */
	bool used;
};

struct pc_shard {
	pthread_mutex_t mu;
	struct pc_page **ht;
	size_t nbuckets; /* power of two */
	struct list_link prob, prot;
	size_t nprob, nprot, npages, cap, prot_cap, over;
	uint64_t clock;
	/* ghosts: a FIFO ring of remembered (file, index, tick) with a chained index */
	struct pc_ghost *ghosts;
	uint32_t *gbuckets;
	uint32_t nghost, ghead, gcount, ngbuckets;
	struct pcache_stats st; /* counters only (gauges are computed) */
	uint64_t pinned, prefetch_pending;
};

struct pc_fshard {
	pthread_mutex_t mu;
	struct pc_file **ht;
	size_t nbuckets, n;
};

struct pcache {
	unsigned nshards;
	uint64_t budget_pages;
	struct pc_shard shards[PC_SHARDS_MAX];
	struct pc_fshard fshards[PC_FSHARDS];
};

/* ---- helpers ------------------------------------------------------------------------- */

static struct pc_page *pg_of(struct list_link *l)
{
	return container_of(l, struct pc_page, link);
}

static uint64_t page_hash(const struct pc_file *f, uint64_t idx)
{
	return hash_mix64(f->hash ^ (idx * 0x9e3779b97f4a7c15ULL));
}

static struct pc_shard *shard_of(struct pcache *pc, uint64_t h)
{
	return &pc->shards[(h >> 40) % pc->nshards];
}

/* ---- ghosts --------------------------------------------------------------------------- */

static uint32_t ghost_bucket(const struct pc_shard *s, uint64_t fhash, uint64_t idx)
{
	return (uint32_t)(hash_mix64(fhash + idx) & (s->ngbuckets - 1));
}

static void ghost_unchain(struct pc_shard *s, uint32_t i)
{
	struct pc_ghost *g = &s->ghosts[i];
	uint32_t *pp = &s->gbuckets[ghost_bucket(s, g->fhash, g->idx)];

	while (*pp != UINT32_MAX && *pp != i)
		pp = &s->ghosts[*pp].next;
	if (*pp == i)
		*pp = g->next;
	g->used = false;
}

/* Remember that page (fhash, idx) was last read at tick. */
static void ghost_add(struct pc_shard *s, uint64_t fhash, uint64_t idx, uint64_t tick)
{
	uint32_t i = s->ghead, b;
	struct pc_ghost *g = &s->ghosts[i];

	if (!s->nghost)
		return;
	if (g->used)
		ghost_unchain(s, i); /* the oldest memory goes */
	else
		s->gcount++;
	s->ghead = (i + 1) % s->nghost;
	b = ghost_bucket(s, fhash, idx);
	*g = (struct pc_ghost){.fhash = fhash, .idx = idx, .tick = tick, .next = s->gbuckets[b],
			       .used = true};
	s->gbuckets[b] = i;
}

/* The tick of a remembered page, forgotten as it is taken; 0 if none. */
static uint64_t ghost_take(struct pc_shard *s, uint64_t fhash, uint64_t idx)
{
	for (uint32_t i = s->gbuckets[ghost_bucket(s, fhash, idx)]; i != UINT32_MAX;
	     i = s->ghosts[i].next) {
		struct pc_ghost *g = &s->ghosts[i];

		if (g->fhash == fhash && g->idx == idx) {
			uint64_t t = g->tick;

			ghost_unchain(s, i);
			s->gcount--;
			return t;
		}
	}
	return 0;
}

/* ---- creation ------------------------------------------------------------------------- */

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct pcache *pcache_new(uint64_t budget)
{
	struct pcache *pc = calloc(1, sizeof(*pc));
	uint64_t pages = budget / PCACHE_PAGE;

	if (!pc)
		return NULL;
	/* small caches keep one shard, so that the policy sees every page (and tests stay exact) */
	pc->nshards = pages >= PC_SHARDS_MAX * 256 ? PC_SHARDS_MAX : 1;
	if (pages < pc->nshards)
		pages = pc->nshards;
	pc->budget_pages = pages;
	for (unsigned i = 0; i < pc->nshards; i++) {
		struct pc_shard *s = &pc->shards[i];

		pthread_mutex_init(&s->mu, NULL);
		list_init(&s->prob);
		list_init(&s->prot);
		s->cap = pages / pc->nshards + (i < pages % pc->nshards);
		s->prot_cap = s->cap * PC_PROT_PCT / 100;
		s->over = PC_OVERCOMMIT_PAGES / pc->nshards;
		if (s->over > s->cap / 2)
			s->over = s->cap / 2;
		s->nbuckets = pow2_at_least(s->cap);
		s->ht = calloc(s->nbuckets, sizeof(*s->ht));
		s->nghost = (uint32_t)(s->cap * PC_GHOST_MULT);
		s->ngbuckets = (uint32_t)pow2_at_least(s->nghost);
		s->ghosts = calloc(s->nghost, sizeof(*s->ghosts));
		s->gbuckets = malloc(s->ngbuckets * sizeof(*s->gbuckets));
		s->clock = 1;
		if (!s->ht || !s->ghosts || !s->gbuckets) {
			pc->nshards = i + 1;
			pcache_free(pc);
			return NULL;
		}
		memset(s->gbuckets, 0xff, s->ngbuckets * sizeof(*s->gbuckets));
	}
	for (unsigned i = 0; i < PC_FSHARDS; i++)
		pthread_mutex_init(&pc->fshards[i].mu, NULL);
	return pc;
}

static void page_destroy(struct pc_page *pg)
{
	free(pg->data);
	free(pg);
}

void pcache_free(struct pcache *pc)
{
	if (!pc)
		return;
	for (unsigned i = 0; i < pc->nshards; i++) {
		struct pc_shard *s = &pc->shards[i];

		for (size_t b = 0; s->ht && b < s->nbuckets; b++) {
			struct pc_page *pg = s->ht[b], *next;

			for (; pg; pg = next) {
				next = pg->hnext;
				page_destroy(pg);
			}
		}
		/* pages out of the table are pinned: the caller broke the contract */
		free(s->ht);
		free(s->ghosts);
		free(s->gbuckets);
		pthread_mutex_destroy(&s->mu);
	}
	for (unsigned i = 0; i < PC_FSHARDS; i++) {
		struct pc_fshard *fs = &pc->fshards[i];

		for (size_t b = 0; b < fs->nbuckets; b++) {
			struct pc_file *f = fs->ht[b], *next;

			for (; f; f = next) {
				next = f->hnext;
				pthread_mutex_destroy(&f->mu);
				free(f);
			}
		}
		free(fs->ht);
		pthread_mutex_destroy(&fs->mu);
	}
	free(pc);
}

size_t pcache_overhead(const struct pcache *pc)
{
	size_t n = sizeof(*pc);

	for (unsigned i = 0; i < pc->nshards; i++) {
		const struct pc_shard *s = &pc->shards[i];

		n += s->cap * sizeof(struct pc_page) + s->nbuckets * sizeof(void *) +
		     s->nghost * sizeof(struct pc_ghost) + s->ngbuckets * sizeof(uint32_t);
	}
	return n;
}

uint64_t pcache_budget_pages(const struct pcache *pc)
{
	return pc->budget_pages;
}

void pcache_stats(struct pcache *pc, struct pcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < pc->nshards; i++) {
		struct pc_shard *s = &pc->shards[i];

		pthread_mutex_lock(&s->mu);
		out->hits += s->st.hits;
		out->misses += s->st.misses;
		out->prefetch_issued += s->st.prefetch_issued;
		out->prefetch_used += s->st.prefetch_used;
		out->prefetch_wasted += s->st.prefetch_wasted;
		out->evictions += s->st.evictions;
		out->promotions += s->st.promotions;
		out->invalidations += s->st.invalidations;
		out->pages += s->npages;
		out->pages_protected += s->nprot;
		out->pinned += s->pinned;
		out->prefetch_pending += s->prefetch_pending;
		pthread_mutex_unlock(&s->mu);
	}
	for (unsigned i = 0; i < PC_FSHARDS; i++) {
		struct pc_fshard *fs = &pc->fshards[i];

		pthread_mutex_lock(&fs->mu);
		out->files += fs->n;
		pthread_mutex_unlock(&fs->mu);
	}
	out->budget_pages = pc->budget_pages;
}

uint64_t pcache_prefetch_pending(struct pcache *pc)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < pc->nshards; i++) {
		struct pc_shard *s = &pc->shards[i];

		pthread_mutex_lock(&s->mu);
		n += s->prefetch_pending;
		pthread_mutex_unlock(&s->mu);
	}
	return n;
}

/* ---- files ---------------------------------------------------------------------------- */

static struct pc_fshard *fshard_of(struct pcache *pc, uint64_t h)
{
	return &pc->fshards[h % PC_FSHARDS];
}

static struct pc_file *file_lookup(struct pc_fshard *fs, uint64_t h, const void *key, size_t keylen)
{
	if (!fs->nbuckets)
		return NULL;
	for (struct pc_file *f = fs->ht[(h >> 8) & (fs->nbuckets - 1)]; f; f = f->hnext)
		if (f->hash == h && f->keylen == keylen && !memcmp(f->key, key, keylen))
			return f;
	return NULL;
}

static int fshard_grow(struct pc_fshard *fs)
{
	size_t nb = fs->nbuckets ? fs->nbuckets * 2 : 64;
	struct pc_file **ht = calloc(nb, sizeof(*ht));

	if (!ht)
		return -ENOMEM;
	for (size_t b = 0; b < fs->nbuckets; b++) {
		struct pc_file *f = fs->ht[b], *next;

		for (; f; f = next) {
			size_t i = (f->hash >> 8) & (nb - 1);

			next = f->hnext;
			f->hnext = ht[i];
			ht[i] = f;
		}
	}
	free(fs->ht);
	fs->ht = ht;
	fs->nbuckets = nb;
	return 0;
}

static struct pc_file *file_get(struct pcache *pc, const void *key, size_t keylen, bool create)
{
	uint64_t h;
	struct pc_fshard *fs;
	struct pc_file *f;

	if (!key || !keylen || keylen > PCACHE_KEY_MAX)
		return NULL;
	h = hash_bytes(key, keylen);
	fs = fshard_of(pc, h);
	pthread_mutex_lock(&fs->mu);
	f = file_lookup(fs, h, key, keylen);
	if (f) {
		atomic_fetch_add(&f->refs, 1);
	} else if (create && (fs->n < fs->nbuckets || fshard_grow(fs) == 0)) {
		f = calloc(1, sizeof(*f) + keylen);
		if (f) {
			size_t i = (h >> 8) & (fs->nbuckets - 1);

			f->hash = h;
			atomic_init(&f->refs, 1);
			atomic_init(&f->gen, 1);
			pthread_mutex_init(&f->mu, NULL);
			f->keylen = keylen;
			memcpy(f->key, key, keylen);
			f->hnext = fs->ht[i];
			fs->ht[i] = f;
			fs->n++;
		}
	}
	pthread_mutex_unlock(&fs->mu);
	return f;
}

struct pc_file *pcache_file_get(struct pcache *pc, const void *key, size_t keylen)
{
	return file_get(pc, key, keylen, true);
}

struct pc_file *pcache_file_find(struct pcache *pc, const void *key, size_t keylen)
{
	return file_get(pc, key, keylen, false);
}

void pcache_file_put(struct pcache *pc, struct pc_file *f)
{
	struct pc_fshard *fs;

	if (!f)
		return;
	fs = fshard_of(pc, f->hash);
	pthread_mutex_lock(&fs->mu);
	if (atomic_fetch_sub(&f->refs, 1) == 1) {
		struct pc_file **pp = &fs->ht[(f->hash >> 8) & (fs->nbuckets - 1)];

		while (*pp != f)
			pp = &(*pp)->hnext;
		*pp = f->hnext;
		fs->n--;
		pthread_mutex_destroy(&f->mu);
		free(f);
	}
	pthread_mutex_unlock(&fs->mu);
}

bool pcache_file_stamp(struct pc_file *f, struct pc_stamp *out)
{
	bool ok;

	pthread_mutex_lock(&f->mu);
	ok = f->stamped;
	if (ok && out)
		*out = f->stamp;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

uint64_t pcache_file_gen(struct pc_file *f)
{
	return atomic_load(&f->gen);
}

static void count_invalidation(struct pcache *pc, struct pc_file *f)
{
	struct pc_shard *s = shard_of(pc, f->hash);

	pthread_mutex_lock(&s->mu);
	s->st.invalidations++;
	pthread_mutex_unlock(&s->mu);
}

void pcache_file_validate(struct pcache *pc, struct pc_file *f, const struct pc_stamp *now,
			  uint64_t seen_gen)
{
	bool changed;

	pthread_mutex_lock(&f->mu);
	if (seen_gen && seen_gen != atomic_load(&f->gen)) {
		pthread_mutex_unlock(&f->mu);
		return;
	}
	changed = f->stamped && memcmp(&f->stamp, now, sizeof(*now)) != 0;
	if (changed || !f->stamped) {
		/* an unknown stamp also starts a new generation: pages read before the file was
		 * invalidated and before this stamp was taken may predate a change */
		atomic_fetch_add(&f->gen, 1);
		f->stamp = *now;
		f->stamped = true;
	}
	pthread_mutex_unlock(&f->mu);
	if (changed)
		count_invalidation(pc, f);
}

void pcache_file_invalidate(struct pcache *pc, struct pc_file *f)
{
	pthread_mutex_lock(&f->mu);
	atomic_fetch_add(&f->gen, 1);
	f->stamped = false;
	pthread_mutex_unlock(&f->mu);
	count_invalidation(pc, f);
}

void pcache_invalidate_key(struct pcache *pc, const void *key, size_t keylen)
{
	struct pc_file *f = pcache_file_find(pc, key, keylen);

	if (f) {
		pcache_file_invalidate(pc, f);
		pcache_file_put(pc, f);
	}
}

void pcache_stream_note(struct pc_file *f, uint64_t token, uint64_t off, uint64_t end,
			uint64_t size, uint64_t win_min, uint64_t win_max, uint64_t *from,
			uint64_t *to)
{
	struct pc_stream *st = NULL, *lru = &f->streams[0];
	uint64_t target;

	*from = *to = 0;
	if (!token)
		return;
	pthread_mutex_lock(&f->mu);
	f->sclock++;
	for (int i = 0; i < PC_STREAMS; i++) {
		struct pc_stream *k = &f->streams[i];
		uint64_t slack = k->window > win_min ? k->window : win_min;

		if (k->token == token && off + slack >= k->next && off <= k->next + slack) {
			st = k;
			break;
		}
		if (k->used < lru->used)
			lru = k;
	}
	if (!st) {
		/* a new stream: nothing ahead yet; it must prove itself sequential first */
		*lru = (struct pc_stream){.token = token, .next = end, .ahead = end, .used = f->sclock};
		pthread_mutex_unlock(&f->mu);
		return;
	}
	st->used = f->sclock;
	if (end > st->next)
		st->next = end;
	st->seq++;
	st->window = st->window ? st->window * 2 : win_min;
	if (st->window > win_max)
		st->window = win_max;
	if (st->ahead < end)
		st->ahead = end;
	target = end + st->window;
	if (target > size)
		target = size;
	/* refill only when at least half a window is missing: reads stay large */
	if (target > st->ahead && target - st->ahead >= st->window / 2) {
		*from = st->ahead - st->ahead % PCACHE_PAGE;
		*to = target;
		st->ahead = target;
	} else if (target == size && target > st->ahead) {
		*from = st->ahead - st->ahead % PCACHE_PAGE;
		*to = target;
		st->ahead = target;
	}
	pthread_mutex_unlock(&f->mu);
}

/* ---- pages ---------------------------------------------------------------------------- */

static void ht_del(struct pc_shard *s, struct pc_page *pg, uint64_t h)
{
	struct pc_page **pp = &s->ht[(h >> 8) & (s->nbuckets - 1)];

	while (*pp && *pp != pg)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = pg->hnext;
	pg->hashed = false;
}

/* Take pg out of the shard (table and lists); it is freed by whoever drops the last pin. */
static void page_detach(struct pc_shard *s, struct pc_page *pg)
{
	if (pg->hashed)
		ht_del(s, pg, page_hash(pg->file, pg->idx));
	if (pg->where == PG_PROB)
		s->nprob--;
	else if (pg->where == PG_PROT)
		s->nprot--;
	if (pg->where != PG_NONE)
		list_del(&pg->link);
	pg->where = PG_NONE;
	if (pg->prefetched) {
		pg->prefetched = false;
		s->prefetch_pending--;
		s->st.prefetch_wasted++;
	}
	s->npages--;
}

/* An unpinned page to evict: probation's oldest first, then protected's (never for
 * read-ahead: what may be read is not worth what was read again). Detached, its memory to be
 * reused; its file reference is returned through *fput. */
static struct pc_page *evict_one(struct pc_shard *s, bool prob_only, struct pc_file **fput)
{
	struct list_link *heads[2] = {&s->prob, &s->prot};
	struct pc_page *tail = s->nprot ? pg_of(s->prot.prev) : NULL;

	/* a protected page of a file that changed since (a rewritten checkpoint) will never be
	 * served again: it goes first, rather than wait for a re-read working set to push it out
	 * (those pages sink to the tail, as the pages still read are touched) */
	if (tail && !tail->refs && tail->state == PG_VALID &&
	    tail->gen != atomic_load(&tail->file->gen)) {
		page_detach(s, tail);
		s->st.evictions++;
		*fput = tail->file;
		return tail;
	}
	for (int k = 0; k < (prob_only ? 1 : 2); k++) {
		for (struct list_link *l = heads[k]->prev; l != heads[k]; l = l->prev) {
			struct pc_page *pg = pg_of(l);

			if (pg->refs || pg->state != PG_VALID)
				continue;
			/* remember what was read on demand, for the reuse distance at its return */
			if (pg->tick && pg->gen == atomic_load(&pg->file->gen))
				ghost_add(s, pg->file->hash, pg->idx, pg->tick);
			page_detach(s, pg);
			s->st.evictions++;
			*fput = pg->file;
			return pg;
		}
	}
	return NULL;
}

/* The oldest protected page's recency, in clock ticks. */
static uint64_t prot_tail_recency(const struct pc_shard *s)
{
	const struct pc_page *tail = s->nprot ? pg_of(s->prot.prev) : NULL;

	return tail ? s->clock - tail->tick : UINT64_MAX;
}

/* A demand read of a resident page: the policy moves. */
static void touch(struct pc_shard *s, struct pc_page *pg)
{
	uint64_t prev = pg->tick;

	s->clock++;
	pg->tick = s->clock;
	if (pg->where == PG_PROT) {
		list_del(&pg->link);
		list_add(&s->prot, &pg->link);
		return;
	}
	if (pg->where != PG_PROB)
		return;
	if (s->nprot >= s->prot_cap) {
		/* full: only a page whose reuse distance beats the oldest protected page's
		 * recency goes in (a page never read before has none: it stays) */
		if (!prev || s->clock - prev >= prot_tail_recency(s))
			return;
		struct pc_page *old = pg_of(s->prot.prev);

		list_del(&old->link);
		s->nprot--;
		list_add(&s->prob, &old->link);
		old->where = PG_PROB;
		s->nprob++;
	}
	list_del(&pg->link);
	s->nprob--;
	list_add(&s->prot, &pg->link);
	pg->where = PG_PROT;
	s->nprot++;
	s->st.promotions++;
}

static void pin(struct pc_shard *s, struct pc_page *pg)
{
	if (pg->refs++ == 0)
		s->pinned++;
}

/* Count a demand use of a page and move it in the policy. */
static void demand_use(struct pc_shard *s, struct pc_page *pg, bool was_there)
{
	if (pg->prefetched) {
		pg->prefetched = false;
		s->prefetch_pending--;
		s->st.prefetch_used++;
	} else if (was_there) {
		s->st.hits++;
	} else {
		s->st.misses++;
	}
	touch(s, pg);
}

enum pc_lookup pcache_lookup(struct pcache *pc, struct pc_file *f, uint64_t idx, bool prefetch,
			     struct pc_waiter *w, struct pc_page **out)
{
	uint64_t h = page_hash(f, idx), gen = atomic_load(&f->gen);
	struct pc_shard *s = shard_of(pc, h);
	struct pc_page *pg, *stale = NULL, *reuse = NULL;
	struct pc_file *fput = NULL, *fput2 = NULL;
	enum pc_lookup ret;

	pthread_mutex_lock(&s->mu);
	for (pg = s->ht[(h >> 8) & (s->nbuckets - 1)]; pg; pg = pg->hnext)
		if (pg->file == f && pg->idx == idx)
			break;
	if (pg && pg->gen != gen && pg->state == PG_VALID) {
		/* an older generation: never served again */
		page_detach(s, pg);
		if (!pg->refs) {
			stale = pg;
			fput2 = pg->file;
		}
		pg = NULL;
	}
	if (pg && pg->gen != gen) {
		/* being filled for an older generation: let it finish alone, unfindable */
		ht_del(s, pg, h);
		pg = NULL;
	}
	if (pg) {
		if (prefetch) {
			ret = PC_HIT;
			goto out;
		}
		if (pg->state == PG_FILLING) {
			pin(s, pg);
			w->next = pg->waiters;
			pg->waiters = w;
			ret = PC_WAIT;
			goto out;
		}
		pin(s, pg);
		demand_use(s, pg, true);
		*out = pg;
		ret = PC_HIT;
		goto out;
	}
	/* a new page: room first */
	if (stale) {
		reuse = stale;
		stale = NULL;
		s->npages++;
		fput = fput2;
		fput2 = NULL;
	} else if (s->npages < s->cap) {
		s->npages++;
	} else {
		/* probation's room first; a demand read whose probation is all pinned goes over
		 * the budget for a while rather than evict what is read again */
		reuse = evict_one(s, true, &fput);
		if (!reuse && !prefetch && s->npages >= s->cap + s->over)
			reuse = evict_one(s, false, &fput);
		if (!reuse && (prefetch || s->npages >= s->cap + s->over)) {
			ret = PC_NOSPACE;
			goto out;
		}
		s->npages++;
	}
	if (!reuse) {
		reuse = calloc(1, sizeof(*reuse));
		if (reuse && posix_memalign((void **)&reuse->data, 4096, PCACHE_PAGE)) {
			free(reuse);
			reuse = NULL;
		}
		if (!reuse) {
			s->npages--;
			ret = PC_NOSPACE;
			goto out;
		}
	}
	pg = reuse;
	{
		char *data = pg->data;

		*pg = (struct pc_page){.file = f, .idx = idx, .gen = gen, .state = PG_FILLING,
				       .data = data, .hashed = true};
	}
	list_init(&pg->link);
	atomic_fetch_add(&f->refs, 1); /* the caller holds one: never the first */
	pg->hnext = s->ht[(h >> 8) & (s->nbuckets - 1)];
	s->ht[(h >> 8) & (s->nbuckets - 1)] = pg;
	pg->tick = ghost_take(s, f->hash, idx);
	list_add(&s->prob, &pg->link);
	pg->where = PG_PROB;
	s->nprob++;
	pin(s, pg);
	if (prefetch) {
		pg->prefetched = true;
		s->prefetch_pending++;
		s->st.prefetch_issued++;
	} else {
		demand_use(s, pg, false);
	}
	*out = pg;
	ret = PC_FILL;
out:
	pthread_mutex_unlock(&s->mu);
	if (stale)
		page_destroy(stale);
	pcache_file_put(pc, fput);
	pcache_file_put(pc, fput2);
	return ret;
}

void pcache_fill_done(struct pcache *pc, struct pc_page *pg, uint32_t len, int err)
{
	struct pc_shard *s = shard_of(pc, page_hash(pg->file, pg->idx));
	struct pc_file *f = pg->file;
	struct pc_waiter *w;
	bool gone;

	pthread_mutex_lock(&s->mu);
	pg->len = len > PCACHE_PAGE ? PCACHE_PAGE : len;
	pg->err = err < 0 ? err : 0;
	pg->state = PG_VALID;
	if (err < 0 || pg->gen != atomic_load(&pg->file->gen)) {
		/* a failed read is not kept; nor is data the file changed under */
		if (pg->where != PG_NONE || pg->hashed)
			page_detach(s, pg);
	}
	w = pg->waiters;
	pg->waiters = NULL;
	/* the waiters' pins were taken when they queued; their demand use counts now: read-ahead
	 * that came in time, or a miss another reader's fill served */
	if (w) {
		bool pf = pg->prefetched;

		if (pf) {
			pg->prefetched = false;
			s->prefetch_pending--;
		}
		for (struct pc_waiter *k = w; k; k = k->next)
			if (pf)
				s->st.prefetch_used++;
			else
				s->st.misses++;
		if (pg->where != PG_NONE)
			touch(s, pg);
	}
	/* not kept and nobody holds it (its reader let go while it was being filled: a read
	 * that went around a full cache): it goes now */
	gone = !w && !pg->refs && pg->where == PG_NONE && !pg->hashed;
	pthread_mutex_unlock(&s->mu);
	if (gone) {
		page_destroy(pg);
		pcache_file_put(pc, f);
		return;
	}
	while (w) {
		struct pc_waiter *next = w->next;

		w->fn(w, pg);
		w = next;
	}
}

void pcache_page_pin(struct pcache *pc, struct pc_page *pg)
{
	struct pc_shard *s = shard_of(pc, page_hash(pg->file, pg->idx));

	pthread_mutex_lock(&s->mu);
	pin(s, pg);
	pthread_mutex_unlock(&s->mu);
}

void pcache_page_put(struct pcache *pc, struct pc_page *pg)
{
	struct pc_shard *s;
	struct pc_file *f;
	bool gone;

	if (!pg)
		return;
	f = pg->file;
	s = shard_of(pc, page_hash(f, pg->idx));
	pthread_mutex_lock(&s->mu);
	if (--pg->refs == 0)
		s->pinned--;
	if (!pg->refs && s->npages > s->cap && pg->where == PG_PROB && pg->state == PG_VALID &&
	    !pg->prefetched) {
		/* over the budget (a burst of misses): the pin that goes gives the page back */
		if (pg->tick && pg->gen == atomic_load(&f->gen))
			ghost_add(s, f->hash, pg->idx, pg->tick);
		page_detach(s, pg);
		s->st.evictions++;
	}
	/* out of the shard and unpinned: nobody can reach it any more */
	gone = !pg->refs && pg->where == PG_NONE && !pg->hashed && pg->state == PG_VALID;
	pthread_mutex_unlock(&s->mu);
	if (gone) {
		page_destroy(pg);
		pcache_file_put(pc, f);
	}
}

char *pcache_page_data(struct pc_page *pg)
{
	return pg->data;
}

uint32_t pcache_page_len(const struct pc_page *pg)
{
	return pg->len;
}

int pcache_page_err(const struct pc_page *pg)
{
	return pg->err;
}

uint64_t pcache_page_index(const struct pc_page *pg)
{
	return pg->idx;
}

/*
 * pcache: the shared page cache of file data, one for all clients and loop threads.
 *
 * Fixed-size pages (PCACHE_PAGE, 64 KiB) keyed by (file, page index). A file is named by opaque
 * key bytes (the server uses its file handle); the cache knows nothing of NFS and does no I/O:
 * the caller fills the pages it is handed (cacheio.c does that through the storage engine).
 *
 * Budget: pages are allocated on demand and stay within the byte budget given at creation,
 * except while every probation page of a shard is pinned by READs in flight: then up to
 * 128 MiB more (in all) are taken for new misses rather than evicting protected pages, and
 * given back as their pins go. The bookkeeping is one struct pc_page per page plus the ghost
 * history (small next to 64 KiB, see pcache_overhead()).
 *
 * Sharing and locking: lock-striped. A page's (file, index) picks one of up to 16 shards;
 * each shard has its own mutex, hash table, lists, budget slice and policy clock, so two
 * loop threads reading different pages never wait for each other. File entries sit in their
 * own striped table. Pins are counted under the shard's lock.
 *
 * Eviction: scan-resistant, a simplified LIRS (Jiang and Zhang, SIGMETRICS 2002). Each shard
 * keeps a "protected" LRU list (at most 90% of its pages) and a "probation" FIFO (the rest).
 * New pages enter probation; room is made from probation's oldest unpinned page first.
 * A page read on demand while in probation moves to protected when protected has room, or
 * when its reuse distance (shard clock ticks since its previous demand read, remembered
 * across eviction by a ghost entry) is shorter than the recency of protected's oldest page;
 * that page then drops back to probation. Why: plain LRU re-reading a dataset larger than
 * the cache in the same order evicts every page just before it is needed again (0% hits);
 * here the pages read first stay protected epoch after epoch (their recency is always below
 * the loop length) while the rest streams through probation, so a loop of 1.5x the cache
 * keeps about 60% hits. A working set that moves on is still adopted: protected pages that
 * are not read again age until any re-read page's reuse distance is shorter.
 *
 * Coherence: each file has a generation. pcache_file_invalidate() (a write through the
 * server, a truncate, or a changed stamp at revalidation) bumps it: pages of an older
 * generation are never returned again and are freed when found or evicted. A page being
 * filled while its file is invalidated is handed to the readers already waiting for it
 * (their reads began before the change) but is not kept.
 *
 * Threading of fills: pcache_fill_done() runs the waiters' callbacks on the calling thread.
 * With one engine per loop thread, a waiter that belongs to another loop must hop back to
 * its own loop itself.
 */
#ifndef SLUICE_PCACHE_H
#define SLUICE_PCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCACHE_PAGE (64u * 1024u)
#define PCACHE_KEY_MAX 144

struct pcache;
struct pc_file;
struct pc_page;

/* What a file looked like when its pages were read: a change of any field drops them. */
struct pc_stamp {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
};

struct pcache_stats {
	uint64_t hits;            /* demand reads of a page already there */
	uint64_t misses;          /* demand reads that had to read the page from the disk */
	uint64_t prefetch_issued; /* pages read ahead */
	uint64_t prefetch_used;   /* read-ahead pages that a demand read then used */
	uint64_t prefetch_wasted; /* read-ahead pages evicted or invalidated before any use */
	uint64_t evictions;
	uint64_t invalidations; /* pcache_file_invalidate() calls that dropped a generation */
	uint64_t promotions;    /* probation -> protected */
	uint64_t pages;         /* right now: resident pages (filling included) */
	uint64_t pages_protected;
	uint64_t pinned;           /* right now: pages with a pin */
	uint64_t prefetch_pending; /* right now: read-ahead pages not yet used (filling included) */
	uint64_t files;            /* right now: file entries */
	uint64_t budget_pages;
};

/* A waiter for a page that is being filled. */
struct pc_waiter {
	struct pc_waiter *next;
	void (*fn)(struct pc_waiter *w, struct pc_page *pg);
};

/* budget in bytes (at least one page per shard); NULL on ENOMEM. */
struct pcache *pcache_new(uint64_t budget);
/* Every pin must have been put. */
void pcache_free(struct pcache *pc);
size_t pcache_overhead(const struct pcache *pc); /* bytes of bookkeeping at full budget */
void pcache_stats(struct pcache *pc, struct pcache_stats *out);
uint64_t pcache_budget_pages(const struct pcache *pc);

/* ---- files ---------------------------------------------------------------------------- */

/* The entry of key, created if need be, with a reference; NULL on ENOMEM or a bad key. */
struct pc_file *pcache_file_get(struct pcache *pc, const void *key, size_t keylen);
/* The entry of key if it exists (no creation), with a reference. */
struct pc_file *pcache_file_find(struct pcache *pc, const void *key, size_t keylen);
void pcache_file_put(struct pcache *pc, struct pc_file *f);
/* The stamp the pages are valid for; false when unknown (never validated, or invalidated). */
bool pcache_file_stamp(struct pc_file *f, struct pc_stamp *out);
/* Revalidate against what the disk says now: a different stamp drops the pages. seen_gen:
 * the generation when the stamp was read (0: read just now); if the file was invalidated
 * since, the stamp may predate that change and is not taken. */
void pcache_file_validate(struct pcache *pc, struct pc_file *f, const struct pc_stamp *now,
			  uint64_t seen_gen);
/* Forget every page of f and its stamp (a write, a truncate). */
void pcache_file_invalidate(struct pcache *pc, struct pc_file *f);
/* The same by key, for writers that do not hold an entry; no-op when the file has none. */
void pcache_invalidate_key(struct pcache *pc, const void *key, size_t keylen);
/* The generation pages of f are filled for now. */
uint64_t pcache_file_gen(struct pc_file *f);

/*
 * Read-ahead streams (a few per file): a demand read of [off, end) by reader token. A read
 * that continues one of token's streams (it starts within the window around where the last
 * one ended: replies of parallel READs arrive out of order) grows its window from win_min,
 * doubling to win_max; [*from, *to) is then what to read ahead next (page aligned, below
 * size), empty when the window ahead is still full enough or the read is not sequential.
 */
void pcache_stream_note(struct pc_file *f, uint64_t token, uint64_t off, uint64_t end,
			uint64_t size, uint64_t win_min, uint64_t win_max, uint64_t *from,
			uint64_t *to);

/* ---- pages ---------------------------------------------------------------------------- */

enum pc_lookup {
	PC_HIT,     /* *out is valid and pinned */
	PC_FILL,    /* *out is a new pinned page, filling: the caller reads it, fill_done, put */
	PC_WAIT,    /* another fill is under way: w->fn runs (pinned page) when it ends */
	PC_NOSPACE, /* every page of the shard is pinned: read around the cache */
};

/*
 * Demand read of page idx of f: counts a hit or a miss and moves the page in the policy.
 * prefetch: a read-ahead lookup instead, which never waits, counts nothing and returns
 * PC_HIT (already there or being filled, *out not set and not pinned), PC_FILL or
 * PC_NOSPACE (read-ahead only ever takes the room of probation pages, never of protected
 * ones).
 */
enum pc_lookup pcache_lookup(struct pcache *pc, struct pc_file *f, uint64_t idx, bool prefetch,
			     struct pc_waiter *w, struct pc_page **out);
/* The end of a fill: len valid bytes (< PCACHE_PAGE only at end of file), or err < 0 (the
 * page is dropped; waiters get it with pcache_page_err() set). Runs the waiters, each with a
 * pin of its own. The filler's pin (PC_FILL) is left alone: it puts it when done. */
void pcache_fill_done(struct pcache *pc, struct pc_page *pg, uint32_t len, int err);
void pcache_page_put(struct pcache *pc, struct pc_page *pg);
/* Another pin on a page the caller already has pinned. */
void pcache_page_pin(struct pcache *pc, struct pc_page *pg);

char *pcache_page_data(struct pc_page *pg);
uint32_t pcache_page_len(const struct pc_page *pg);
int pcache_page_err(const struct pc_page *pg);
uint64_t pcache_page_index(const struct pc_page *pg);

/* Read-ahead accounting for the prefetch budget: pages filled for read-ahead and not yet
 * used or dropped. */
uint64_t pcache_prefetch_pending(struct pcache *pc);

#endif

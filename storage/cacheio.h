/*
 * cacheio: reads through the shared page cache, with read-ahead of sequential streams.
 *
 * A cio_read asks for [off, off + count) of one file. The pages that cover it are found in
 * the cache (pcache.h), or read from the disk into the cache with one io_uring readv per run
 * of missing pages, or waited for when another reader's fill or a read-ahead is already under
 * way. When every page is there, done() runs with them pinned, in order; the caller points
 * its reply's iovecs at their data (no copy) and cio_release() unpins them after the send.
 *
 * Read-ahead: each file keeps a few streams (pcache.h stream table), one per reader token and
 * region. A read that continues a stream grows its window, 1 MiB doubling to 16 MiB; the
 * window ahead of the read is kept full with large aligned reads (pages are 64 KiB, 4 KiB
 * aligned: fit for O_DIRECT fds), never past the file's size, and never while read-ahead
 * pages not yet used exceed the prefetch budget. Read-ahead goes through the same engine and
 * lands in probation: it cannot push out protected pages.
 *
 * The fd may be O_DIRECT (the server opens the cache's fd so where the filesystem allows):
 * every read here is page-aligned in offset, length and memory. A read the cache cannot hold
 * (every page of a shard pinned) is read around it into an aligned buffer of its own.
 *
 * Threading: a cio_read lives on one loop thread; its callbacks run there, from stor_reap().
 */
#ifndef SLUICE_CACHEIO_H
#define SLUICE_CACHEIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pcache.h"

struct stor;
struct cio_read;

#define CIO_WINDOW_MIN (1u << 20)
#define CIO_WINDOW_MAX (16u << 20)

struct cio_stats {
	uint64_t reads;         /* cio_read_start calls */
	uint64_t bypass_reads;  /* read around the cache (no room) */
	uint64_t io_submitted;  /* readv requests issued (demand + read-ahead) */
	uint64_t io_bytes;      /* bytes they returned */
	uint64_t ra_windows;    /* read-ahead batches issued */
	uint64_t inflight;      /* right now: readv requests under way */
};

struct cio_read {
	/* set by the caller */
	struct pcache *pc;
	struct stor *st;
	struct pc_file *f; /* held by the caller until cio_release */
	int fd;            /* readable; O_DIRECT or not */
	uint64_t off;
	uint32_t count;
	uint64_t size;          /* the file's size by its stamp: nothing past it is read */
	uint64_t token;         /* who reads (stream detection); 0: no read-ahead */
	uint64_t prefetch_max;  /* read-ahead budget in pages, all files together */
	void (*done)(struct cio_read *r);
	void *arg;
	/* results, valid in done() */
	int err;           /* 0 or -errno */
	uint32_t nbytes;   /* bytes from off (< count only at the file's end) */
	struct iovec *iov; /* niov segments covering those bytes */
	unsigned niov;
	/* private */
	struct cio_priv *p;
};

/*
 * Start the read. Returns 0 when it completed at once (every page a hit: done() is NOT
 * called), 1 when done() will run later, or -errno (nothing to release). After 0 or done(),
 * the caller uses iov/niov and calls cio_release() once the data is sent.
 */
int cio_read_start(struct cio_read *r);
void cio_release(struct cio_read *r);

void cio_stats_get(struct cio_stats *out);

#endif

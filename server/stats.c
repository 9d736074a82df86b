/*
 * stats: counters and their text form (see stats.h).
 */
#include "stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cacheio.h"
#include "fdcache.h"
#include "optable.h"
#include "pcache.h"
#include "server.h"
#include "stor.h"

static atomic_uint_fast64_t op_calls[OPTABLE_SIZE], op_errors[OPTABLE_SIZE], op_bytes[OPTABLE_SIZE];

void stats_op(uint32_t op, uint32_t status)
{
	if (op >= OPTABLE_SIZE)
		op = 0; /* ILLEGAL and the like: slot 0, reported as "other" */
	atomic_fetch_add_explicit(&op_calls[op], 1, memory_order_relaxed);
	if (status)
		atomic_fetch_add_explicit(&op_errors[op], 1, memory_order_relaxed);
}

void stats_op_bytes(uint32_t op, uint64_t bytes)
{
	if (op < OPTABLE_SIZE)
		atomic_fetch_add_explicit(&op_bytes[op], bytes, memory_order_relaxed);
}

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

#define G(name, help, v)                                                                   \
	fprintf(out, "# HELP sluice_%s %s\n# TYPE sluice_%s gauge\nsluice_%s %llu\n", name, help, \
		name, name, (unsigned long long)(v))
#define C(name, help, v)                                                                   \
	fprintf(out, "# HELP sluice_%s %s\n# TYPE sluice_%s counter\nsluice_%s %llu\n", name,   \
		help, name, name, (unsigned long long)(v))

int stats_write(FILE *out, struct server *srv, struct srv_loop *lp)
{
	static const char *const what[3] = {"calls", "errors", "bytes"};
	atomic_uint_fast64_t *const arr[3] = {op_calls, op_errors, op_bytes};

	for (int k = 0; k < 3; k++) {
		fprintf(out, "# TYPE sluice_op_%s_total counter\n", what[k]);
		for (uint32_t op = 0; op < OPTABLE_SIZE; op++) {
			uint64_t v = atomic_load(&arr[k][op]);

			if (v)
				fprintf(out, "sluice_op_%s_total{op=\"%s\"} %llu\n", what[k],
					op ? optable_name(&srv->ops, op) : "other",
					(unsigned long long)v);
		}
	}
	if (srv->pcache) {
		struct pcache_stats p;

		pcache_stats(srv->pcache, &p);
		C("cache_hits_total", "demand page reads found in the cache", p.hits);
		C("cache_misses_total", "demand page reads that went to the disk", p.misses);
		C("cache_prefetch_issued_total", "pages read ahead", p.prefetch_issued);
		C("cache_prefetch_used_total", "read-ahead pages a read then used", p.prefetch_used);
		C("cache_prefetch_wasted_total", "read-ahead pages dropped unused", p.prefetch_wasted);
		C("cache_evictions_total", "pages evicted", p.evictions);
		C("cache_invalidations_total", "file generations dropped (writes, changes)",
		  p.invalidations);
		C("cache_promotions_total", "pages moved from probation to protected", p.promotions);
		G("cache_bytes", "bytes of resident pages", p.pages * PCACHE_PAGE);
		G("cache_protected_bytes", "bytes of protected pages", p.pages_protected * PCACHE_PAGE);
		G("cache_budget_bytes", "the cache's budget", p.budget_pages * PCACHE_PAGE);
		G("cache_pinned_pages", "pages pinned by replies and fills", p.pinned);
		G("cache_prefetch_pending_pages", "read-ahead pages not used yet", p.prefetch_pending);
		G("cache_files", "files with cache entries", p.files);
		G("cache_overhead_bytes", "bookkeeping of the cache at full budget",
		  pcache_overhead(srv->pcache));
	}
	{
		struct cio_stats c;

		cio_stats_get(&c);
		C("cacheio_reads_total", "READs served through the cache", c.reads);
		C("cacheio_bypass_total", "READs read around a full cache", c.bypass_reads);
		C("cacheio_io_total", "readv requests into the cache", c.io_submitted);
		C("cacheio_io_bytes_total", "bytes read from the disk into the cache", c.io_bytes);
		C("cacheio_readahead_total", "read-ahead batches", c.ra_windows);
		G("cacheio_inflight", "readv requests under way", c.inflight);
	}
	if (lp && lp->stor) {
		struct stor_stats s;

		stor_get_stats(lp->stor, &s);
		C("stor_submitted_total", "storage requests", s.submitted);
		C("stor_offloaded_total", "storage requests run by the offload pool", s.offloaded);
		G("stor_inflight", "storage requests under way (queue depth)", s.inflight);
		G("stor_max_depth", "most storage requests under way at once", s.max_depth);
		G("stor_queued", "storage requests waiting for ring space", s.queued);
	}
	if (srv->fdc) {
		struct fdc_stats f;

		fdc_get_stats(srv->fdc, &f);
		G("fdcache_entries", "cached fds", f.entries);
		C("fdcache_hits_total", "fd cache hits", f.hits);
		C("fdcache_misses_total", "fd cache misses", f.misses);
	}
	C("attr_cache_hits_total", "GETATTRs answered from attributes READDIR just read",
	  atomic_load(&srv->attr_hits));
	C("attr_cache_misses_total", "GETATTRs of an export object that had to statx",
	  atomic_load(&srv->attr_misses));
	if (lp)
		G("requests_inflight", "RPC requests being served", lp->requests);
	G("rss_bytes", "resident memory of the process", rss_bytes());
	return ferror(out) ? -EIO : 0;
}

int stats_dump(const char *path, struct server *srv, struct srv_loop *lp)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	FILE *f;
	int ret;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, n, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		ret = -errno;
		free(tmp);
		return ret;
	}
	ret = stats_write(f, srv, lp);
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

/*
 * cacheio: reads through the page cache (see cacheio.h).
 */
#include "cacheio.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "stor.h"

#define CIO_RUN_MAX 256u /* pages per readv: 16 MiB, well under IOV_MAX */

/* One readv into a run of consecutive pages being filled. */
struct cio_io {
	struct stor_req sr;
	struct pcache *pc;
	struct cio_read *owner; /* the demand read waiting for these pages; NULL: read-ahead */
	int fd;
	unsigned n;
	struct pc_page *pg[CIO_RUN_MAX];
	struct iovec iov[CIO_RUN_MAX];
};

struct cio_slot {
	struct pc_waiter w; /* first: the waiter callback finds its slot */
	struct cio_read *r;
	unsigned i;
};

struct cio_priv {
	unsigned npages;
	unsigned pending; /* fills and waits not yet ended, +1 while starting */
	bool started;     /* cio_read_start returned: completion goes through done() */
	void *bounce;     /* read around the cache */
	struct pc_page **pages;
	struct cio_slot *slots;
};

static atomic_uint_fast64_t st_reads, st_bypass, st_io, st_io_bytes, st_ra, st_inflight;

void cio_stats_get(struct cio_stats *out)
{
	out->reads = atomic_load(&st_reads);
	out->bypass_reads = atomic_load(&st_bypass);
	out->io_submitted = atomic_load(&st_io);
	out->io_bytes = atomic_load(&st_io_bytes);
	out->ra_windows = atomic_load(&st_ra);
	out->inflight = atomic_load(&st_inflight);
}

static void finish(struct cio_read *r);

static void step_done(struct cio_read *r)
{
	if (--r->p->pending == 0 && r->p->started)
		finish(r);
}

/* Hand out a readv's bytes to its pages, in order: full pages, then the short last one. */
static void io_done(struct stor_req *sr)
{
	struct cio_io *io = sr->data;
	int res = sr->res;
	uint64_t left = res > 0 ? (uint64_t)res : 0;

	atomic_fetch_sub(&st_inflight, 1);
	if (res > 0)
		atomic_fetch_add(&st_io_bytes, (uint64_t)res);
	for (unsigned i = 0; i < io->n; i++) {
		uint32_t len = left > PCACHE_PAGE ? PCACHE_PAGE : (uint32_t)left;

		left -= len;
		pcache_fill_done(io->pc, io->pg[i], len, res < 0 ? res : 0);
		if (io->owner)
			step_done(io->owner); /* its pin stays: it is the reader's */
		else
			pcache_page_put(io->pc, io->pg[i]);
	}
	free(io);
}

static void io_submit(struct cio_read *r, struct cio_io *io, uint64_t first_idx)
{
	for (unsigned i = 0; i < io->n; i++)
		io->iov[i] = (struct iovec){.iov_base = pcache_page_data(io->pg[i]),
					    .iov_len = PCACHE_PAGE};
	stor_prep_read(&io->sr, io->fd, io->iov, io->n, first_idx * PCACHE_PAGE);
	io->sr.cb = io_done;
	io->sr.data = io;
	atomic_fetch_add(&st_io, 1);
	atomic_fetch_add(&st_inflight, 1);
	stor_submit(r->st, &io->sr);
}

static struct cio_io *io_new(struct cio_read *r, struct cio_read *owner)
{
	struct cio_io *io = calloc(1, sizeof(*io));

	if (io) {
		io->pc = r->pc;
		io->owner = owner;
		io->fd = r->fd;
	}
	return io;
}

/* A waited-for page arrived (pinned for us when we queued). */
static void slot_ready(struct pc_waiter *w, struct pc_page *pg)
{
	struct cio_slot *sl = (struct cio_slot *)w;

	sl->r->p->pages[sl->i] = pg;
	step_done(sl->r);
}

/* Read ahead [from, to): pages not yet cached, in runs, while the budget allows. */
static void readahead(struct cio_read *r, uint64_t from, uint64_t to)
{
	uint64_t idx = from / PCACHE_PAGE, end = (to + PCACHE_PAGE - 1) / PCACHE_PAGE;
	struct cio_io *io = NULL;
	uint64_t first = 0, pending = pcache_prefetch_pending(r->pc);
	bool any = false;

	for (; idx < end; idx++) {
		struct pc_page *pg = NULL;
		enum pc_lookup lk;

		if (pending >= r->prefetch_max)
			break;
		lk = pcache_lookup(r->pc, r->f, idx, true, NULL, &pg);
		if (lk == PC_NOSPACE)
			break;
		if (lk != PC_FILL) { /* there already: a run ends */
			if (io) {
				io_submit(r, io, first);
				io = NULL;
			}
			continue;
		}
		if (!io) {
			io = io_new(r, NULL);
			if (!io) {
				pcache_fill_done(r->pc, pg, 0, -ENOMEM);
				pcache_page_put(r->pc, pg);
				break;
			}
			first = idx;
		}
		io->pg[io->n++] = pg;
		pending++;
		any = true;
		if (io->n == CIO_RUN_MAX) {
			io_submit(r, io, first);
			io = NULL;
		}
	}
	if (io)
		io_submit(r, io, first);
	if (any)
		atomic_fetch_add(&st_ra, 1);
}

/* Build the reply's iovecs over the pinned pages; a short page ends the data. */
static void finish_iov(struct cio_read *r)
{
	struct cio_priv *p = r->p;
	uint64_t pos = r->off, end = r->off + r->count;

	r->niov = 0;
	r->nbytes = 0;
	for (unsigned i = 0; i < p->npages && pos < end; i++) {
		struct pc_page *pg = p->pages[i];
		uint64_t base, in, have, take;

		if (!pg)
			break;
		base = pcache_page_index(pg) * PCACHE_PAGE;
		in = pos - base;
		have = pcache_page_len(pg);

		if (pcache_page_err(pg)) {
			r->err = pcache_page_err(pg);
			return;
		}
		if (in >= have)
			break;
		take = have - in;
		if (take > end - pos)
			take = end - pos;
		r->iov[r->niov++] = (struct iovec){.iov_base = pcache_page_data(pg) + in,
						   .iov_len = take};
		r->nbytes += (uint32_t)take;
		pos += take;
		if (have < PCACHE_PAGE)
			break; /* the file ends in this page */
	}
}

static void finish(struct cio_read *r)
{
	if (!r->p->bounce)
		finish_iov(r);
	r->done(r);
}

/* No room in the cache: read [off, off + count) around it, page-aligned for O_DIRECT. The
 * pages this read had pinned are let go (fills under way keep going and end in the cache). */
static void bypass_done(struct stor_req *sr)
{
	struct cio_read *r = sr->data;
	struct cio_priv *p = r->p;
	uint64_t lead = r->off % PCACHE_PAGE;

	atomic_fetch_sub(&st_inflight, 1);
	if (sr->res < 0) {
		r->err = sr->res;
	} else if ((uint64_t)sr->res > lead) {
		uint64_t n = (uint64_t)sr->res - lead;

		r->nbytes = (uint32_t)(n < r->count ? n : r->count);
		r->iov[0] = (struct iovec){.iov_base = (char *)p->bounce + lead, .iov_len = r->nbytes};
		r->niov = 1;
	}
	free(sr);
	step_done(r);
}

static int bypass(struct cio_read *r)
{
	struct cio_priv *p = r->p;
	uint64_t start = r->off - r->off % PCACHE_PAGE;
	uint64_t len = (r->off + r->count - start + PCACHE_PAGE - 1) / PCACHE_PAGE * PCACHE_PAGE;
	struct stor_req *sr = calloc(1, sizeof(*sr) + sizeof(struct iovec));
	struct iovec *v;

	/* the pages already pinned are let go: the read is served from the bounce buffer */
	for (unsigned i = 0; i < p->npages; i++)
		if (p->pages[i]) {
			pcache_page_put(r->pc, p->pages[i]);
			p->pages[i] = NULL;
		}
	if (!sr || posix_memalign(&p->bounce, 4096, len)) {
		free(sr);
		p->bounce = NULL;
		return -ENOMEM;
	}
	v = (struct iovec *)(sr + 1);
	*v = (struct iovec){.iov_base = p->bounce, .iov_len = len};
	stor_prep_read(sr, r->fd, v, 1, start);
	sr->cb = bypass_done;
	sr->data = r;
	p->pending++;
	atomic_fetch_add(&st_bypass, 1);
	atomic_fetch_add(&st_inflight, 1);
	stor_submit(r->st, sr);
	return 0;
}

int cio_read_start(struct cio_read *r)
{
	uint64_t end, first, last, rfrom, rto;
	struct cio_priv *p;
	struct cio_io *io = NULL;
	uint64_t run_first = 0;
	bool nospace = false;

	r->err = 0;
	r->nbytes = 0;
	r->niov = 0;
	r->iov = NULL;
	r->p = NULL;
	atomic_fetch_add(&st_reads, 1);
	end = r->off + r->count;
	if (end > r->size)
		end = r->size;
	if (r->off >= end) /* at or past the end: nothing to read */
		return 0;
	first = r->off / PCACHE_PAGE;
	last = (end - 1) / PCACHE_PAGE;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->npages = (unsigned)(last - first + 1);
	p->pages = calloc(p->npages, sizeof(*p->pages));
	p->slots = calloc(p->npages, sizeof(*p->slots));
	r->iov = calloc(p->npages, sizeof(*r->iov));
	r->p = p;
	if (!p->pages || !p->slots || !r->iov) {
		cio_release(r);
		return -ENOMEM;
	}
	r->count = (uint32_t)(end - r->off);
	p->pending = 1;
	for (unsigned i = 0; i < p->npages; i++) {
		struct cio_slot *sl = &p->slots[i];
		struct pc_page *pg = NULL;
		enum pc_lookup lk;

		sl->r = r;
		sl->i = i;
		sl->w.fn = slot_ready;
		lk = pcache_lookup(r->pc, r->f, first + i, false, &sl->w, &pg);
		if (lk == PC_FILL) {
			p->pages[i] = pg;
			p->pending++;
			if (io && io->n < CIO_RUN_MAX && run_first + io->n == first + i) {
				io->pg[io->n++] = pg;
				continue;
			}
			if (io)
				io_submit(r, io, run_first);
			io = io_new(r, r);
			if (!io) {
				p->pending--;
				pcache_fill_done(r->pc, pg, 0, -ENOMEM);
				nospace = true;
				break;
			}
			run_first = first + i;
			io->pg[io->n++] = pg;
			continue;
		}
		if (io) {
			io_submit(r, io, run_first);
			io = NULL;
		}
		if (lk == PC_HIT)
			p->pages[i] = pg;
		else if (lk == PC_WAIT)
			p->pending++;
		else {
			nospace = true;
			break;
		}
	}
	if (io)
		io_submit(r, io, run_first);
	if (r->token) {
		pcache_stream_note(r->f, r->token, r->off, end, r->size, CIO_WINDOW_MIN,
				   CIO_WINDOW_MAX, &rfrom, &rto);
		if (rto > rfrom)
			readahead(r, rfrom, rto);
	}
	if (nospace) {
		/* the whole range is read around the cache; fills of ours already under way end
		 * as usual (others may wait for them) and are waited for */
		int ret = bypass(r);

		if (ret < 0) {
			if (p->pending == 1) {
				cio_release(r);
				return ret;
			}
			r->err = ret; /* reported once the fills under way have ended */
		}
	}
	p->started = true;
	if (--p->pending == 0) {
		if (!p->bounce)
			finish_iov(r);
		return 0;
	}
	return 1;
}

void cio_release(struct cio_read *r)
{
	struct cio_priv *p = r->p;

	if (!p)
		return;
	for (unsigned i = 0; p->pages && i < p->npages; i++)
		if (p->pages[i])
			pcache_page_put(r->pc, p->pages[i]);
	free(p->bounce);
	free(p->pages);
	free(p->slots);
	free(r->iov);
	free(p);
	r->p = NULL;
	r->iov = NULL;
	r->niov = 0;
}

/*
 * NFSv4 state (see state.h): the tables of clients, sessions, open-owners, files and open
 * stateids, leases, the slot reply cache and the stateid rules that OPEN, READ and WRITE use.
 * The op handlers that drive it live in nfs4_state_ops.c.
 */
#include "state.h"

#include "clientrec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>


static struct nfs_open *open_by_other(struct nfs_state *s, const char *other);
static struct nfs_lock *lock_by_other(struct nfs_state *s, const char *other);
static nfsstat4 sid_precheck(const struct nfs_state *s, const stateid4 *sid, uint32_t minor);
static nfsstat4 sid_unknown(struct nfs_state *s, const stateid4 *sid, uint32_t minor);
static int records_open(struct nfs_state *s);


/* ---- hash tables ------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* FNV-1a under a per-run seed, finished by a 64-bit mixer. */
static uint64_t hash_bytes(const struct nfs_state *s, uint64_t salt, const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ s->seed ^ mix64(salt);

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return mix64(h);
}

static int ht_init(struct st_htab *t, size_t nb)
{
	t->b = calloc(nb, sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	t->nb = nb;
	t->n = 0;
	return 0;
}

static void ht_fini(struct st_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static void ht_grow(struct st_htab *t)
{
	size_t nb = t->nb * 2;
	struct st_hnode **b;

	if (nb < t->nb || nb > (SIZE_MAX / sizeof(*b)))
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep the longer chains */
	for (size_t i = 0; i < t->nb; i++) {
		struct st_hnode *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

static void ht_add(struct st_htab *t, struct st_hnode *e, uint64_t hash)
{
	if (t->n >= t->nb)
		ht_grow(t);
	e->hash = hash;
	e->next = t->b[hash & (t->nb - 1)];
	t->b[hash & (t->nb - 1)] = e;
	t->n++;
}

static void ht_del(struct st_htab *t, struct st_hnode *e)
{
	struct st_hnode **pp = &t->b[e->hash & (t->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			t->n--;
			return;
		}
	}
}

static struct st_hnode *ht_first(const struct st_htab *t, uint64_t hash)
{
	struct st_hnode *e = t->b[hash & (t->nb - 1)];

	while (e && e->hash != hash)
		e = e->next;
	return e;
}

static struct st_hnode *ht_next(const struct st_hnode *e, uint64_t hash)
{
	for (e = e->next; e && e->hash != hash; e = e->next)
		;
	return (struct st_hnode *)e;
}

#define HT_FOR(e, t, h) for (struct st_hnode *e = ht_first((t), (h)); e; e = ht_next(e, (h)))

/* ---- time, randomness, identifiers ------------------------------------------------------- */

uint64_t st_now(const struct nfs_state *s)
{
	struct timespec ts;

	if (s->cfg.now)
		return s->cfg.now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t st_deadline(const struct nfs_state *s, uint32_t secs)
{
	struct timespec ts;

	if (s->cfg.now)
		return s->cfg.now() + secs;
	/* st_now() rounds down: a deadline from it would come up to a second early, a lease
	 * or grace period shorter than promised (RFC 7530 §9.5). Rounded up here, it is
	 * never short and at most a second long. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec + (ts.tv_nsec > 0) + secs;
}

static uint64_t rng_next(struct nfs_state *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

void st_random(struct nfs_state *s, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		uint64_t v = rng_next(s);
		size_t n = len < sizeof(v) ? len : sizeof(v);

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

static void put_be32(void *p, uint32_t v)
{
	unsigned char *b = p;

	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static uint32_t get_be32(const void *p)
{
	const unsigned char *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void st_princ_of(const struct nfs_req *r, struct st_princ *p)
{
	p->flavor = r->cred.flavor;
	p->uid = r->cred.flavor == AUTH_SYS ? r->cred.uid : 0;
}

bool st_princ_eq(const struct st_princ *a, const struct st_princ *b)
{
	return a->flavor == b->flavor && a->uid == b->uid;
}

uint32_t st_seqid_next(uint32_t seqid)
{
	/* RFC 8881 §8.2.2: past NFS4_UINT32_MAX comes one, not zero. */
	return seqid == UINT32_MAX ? 1 : seqid + 1;
}

/* ---- creation ------------------------------------------------------------------------------ */

int state_create(struct nfs_state **out, const struct state_config *cfg)
{
	struct nfs_state *s;
	size_t olen;
	uint64_t seed[2] = {0, 0};

	*out = NULL;
	if (!cfg || !cfg->lease_time || !cfg->max_slots || !cfg->max_ops || !cfg->server_owner ||
	    cfg->max_req < ST_MIN_REQ || cfg->max_resp < ST_MIN_RESP)
		return -EINVAL;
	olen = strlen(cfg->server_owner);
	if (!olen || olen > NFS4_OPAQUE_LIMIT)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->server_owner = strdup(cfg->server_owner);
	s->server_owner_len = (uint32_t)olen;
	s->cfg.server_owner = s->server_owner;
	list_init(&s->clients);
	list_init(&s->recalls);
	list_init(&s->cb_out);
	list_init(&s->waiters);
	if (!s->server_owner || ht_init(&s->clients_id, 64) || ht_init(&s->clients_name, 64) ||
	    ht_init(&s->sessions, 64) || ht_init(&s->owners, 64) || ht_init(&s->files, 256) ||
	    ht_init(&s->opens, 256) || ht_init(&s->lockowners, 64) || ht_init(&s->locks, 64) ||
	    ht_init(&s->delegs, 64) || ht_init(&s->prev, 16)) {
		state_destroy(s);
		return -ENOMEM;
	}
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
		seed[1] = (uint64_t)(uintptr_t)s ^ mix64(seed[0]);
	}
	s->rng = mix64(seed[0] ^ cfg->boot_time) | 1;
	s->seed = mix64(seed[1]);
	s->boot32 = (uint32_t)cfg->boot_time;
	s->next_client = (uint32_t)rng_next(s);
	s->next_session = (uint32_t)rng_next(s);
	s->cb_xid = (uint32_t)rng_next(s);
	if (cfg->state_dir) {
		int ret = records_open(s);

		if (ret < 0) {
			state_destroy(s);
			return ret;
		}
	}
	*out = s;
	return 0;
}

/* ---- client records and the grace period --------------------------------------------------- */

static struct st_prev *prev_find(struct nfs_state *s, const void *name, uint32_t len)
{
	uint64_t h = hash_bytes(s, 7, name, len);

	HT_FOR(e, &s->prev, h) {
		struct st_prev *p = container_of(e, struct st_prev, node);

		if (p->len == len && (len == 0 || !memcmp(p->name, name, len)))
			return p;
	}
	return NULL;
}

/* One line of the record log: the set of names after it. */
static void prev_line(void *arg, const void *name, uint32_t len, bool add)
{
	struct nfs_state *s = arg;
	struct st_prev *p = prev_find(s, name, len);

	if (add && !p) {
		p = calloc(1, sizeof(*p) + len);
		if (!p)
			return; /* that client will not be able to reclaim */
		p->len = len;
		memcpy(p->name, name, len);
		ht_add(&s->prev, &p->node, hash_bytes(s, 7, name, len));
	} else if (!add && p) {
		ht_del(&s->prev, &p->node);
		free(p);
	}
}

static void prev_clear(struct nfs_state *s)
{
	for (size_t i = 0; i < s->prev.nb; i++) {
		while (s->prev.b[i]) {
			struct st_prev *p = container_of(s->prev.b[i], struct st_prev, node);

			ht_del(&s->prev, &p->node);
			free(p);
		}
	}
}

/* Iterators for clientrec_rewrite: the previous run's names, this run's recorded clients. */
struct name_iter {
	struct nfs_state *s;
	size_t bucket;
	struct st_hnode *e;
	struct list_link *l;
};

static bool next_prev(void *arg, const void **name, uint32_t *len)
{
	struct name_iter *it = arg;

	while (!it->e && it->bucket < it->s->prev.nb)
		it->e = it->s->prev.b[it->bucket++];
	if (!it->e)
		return false;
	*name = container_of(it->e, struct st_prev, node)->name;
	*len = container_of(it->e, struct st_prev, node)->len;
	it->e = it->e->next;
	return true;
}

static bool next_recorded(void *arg, const void **name, uint32_t *len)
{
	struct name_iter *it = arg;

	for (; it->l != &it->s->clients; it->l = it->l->next) {
		struct nfs_client *cl = container_of(it->l, struct nfs_client, link);

		if (cl->recorded) {
			*name = cl->name;
			*len = cl->name_len;
			it->l = it->l->next;
			return true;
		}
	}
	return false;
}

static int records_open(struct nfs_state *s)
{
	struct name_iter it = {.s = s};
	int ret;

	ret = clientrec_open(&s->rec, s->cfg.state_dir, prev_line, s, &s->boot.bad_lines);
	if (ret < 0)
		return ret;
	/* the log now holds the previous run's clients only, once each */
	ret = clientrec_rewrite(s->rec, next_prev, &it);
	if (ret < 0)
		return ret;
	s->boot.previous = s->prev_left = (unsigned)s->prev.n;
	if (s->prev_left) {
		s->grace = true;
		s->grace_end = st_deadline(s, s->cfg.grace_time);
	}
	return 0;
}

void state_boot_info(const struct nfs_state *s, struct state_boot *out)
{
	*out = s->boot;
}

static void grace_end(struct nfs_state *s)
{
	struct name_iter it = {.s = s, .l = s->clients.next};

	s->grace = false;
	prev_clear(s);
	s->prev_left = 0;
	for (struct list_link *l = s->clients.next; l != &s->clients; l = l->next)
		container_of(l, struct nfs_client, link)->may_reclaim = false;
	/* the clients that did not come back are forgotten; a failure keeps their lines,
	 * which only lets them try a reclaim that finds nothing */
	if (s->rec)
		clientrec_rewrite(s->rec, next_recorded, &it);
}

bool state_in_grace(struct nfs_state *s)
{
	if (s->grace && st_now(s) >= s->grace_end)
		grace_end(s);
	return s->grace;
}

nfsstat4 st_grace_check(struct nfs_state *s, struct nfs_client *cl, bool reclaim)
{
	bool in = state_in_grace(s);

	/* RFC 8881 §18.51.3: a 4.1+ client sends RECLAIM_COMPLETE before its first
	 * non-reclaim OPEN or LOCK; before it those get GRACE, in grace or not (as knfsd) */
	if (!reclaim)
		return in || (cl && !cl->v40 && !cl->reclaim_complete) ? NFS4ERR_GRACE : NFS4_OK;
	/* RFC 8881 §8.4.2.1, §18.51.3: only in the grace period, only a client of the
	 * previous run, and not after its RECLAIM_COMPLETE */
	if (!in || !cl || !cl->may_reclaim || cl->reclaim_complete)
		return NFS4ERR_NO_GRACE;
	return NFS4_OK;
}

nfsstat4 state_open_claim(struct nfs_req *r, const open_owner4 *owner, bool reclaim)
{
	struct nfs_state *s = r->state;
	struct nfs_client *cl;

	if (r->c && r->c->minor) {
		cl = r->client;
	} else {
		cl = st_client_by_id(s, owner->clientid);
		if (!cl || !cl->confirmed)
			return NFS4_OK; /* state_open says STALE_CLIENTID */
	}
	return st_grace_check(s, cl, reclaim);
}

void st_reclaim_done(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_prev *p;

	if (!cl->may_reclaim)
		return;
	cl->may_reclaim = false;
	p = prev_find(s, cl->name, cl->name_len);
	if (!p || p->done)
		return;
	p->done = true;
	/* RFC 8881 §8.4.2.1: the grace period may end once every client that could
	 * reclaim has said it is done */
	if (--s->prev_left == 0 && s->grace)
		grace_end(s);
}

/* Another confirmed, recorded client of the same name (the other incarnation, for a
 * moment, while SETCLIENTID_CONFIRM or CREATE_SESSION replaces one by the other)? */
static bool name_recorded_elsewhere(struct nfs_state *s, const struct nfs_client *cl)
{
	HT_FOR(e, &s->clients_name, hash_bytes(s, 1, cl->name, cl->name_len)) {
		const struct nfs_client *o = container_of(e, struct nfs_client, by_name);

		if (o != cl && o->recorded && o->name_len == cl->name_len &&
		    (cl->name_len == 0 || !memcmp(o->name, cl->name, cl->name_len)))
			return true;
	}
	return false;
}

static void session_free(struct nfs_session *ses)
{
	for (uint32_t i = 0; i < ses->nslots; i++)
		free(ses->slots[i].buf);
	free(ses);
}

void st_cb_clear(struct st_cb *cb)
{
	free(cb->netid);
	free(cb->addr);
	memset(cb, 0, sizeof(*cb));
}

static void client_free(struct nfs_client *cl)
{
	free(cl->name);
	st_cb_clear(&cl->cb);
	st_cb_clear(&cl->pend_cb);
	free(cl);
}

void state_destroy(struct nfs_state *s)
{
	if (!s)
		return;
	s->closing = true;
	if (s->clients.next) {
		while (!list_empty(&s->clients))
			st_client_destroy(s, container_of(s->clients.next, struct nfs_client, link));
	}
	ht_fini(&s->clients_id);
	ht_fini(&s->clients_name);
	ht_fini(&s->sessions);
	ht_fini(&s->owners);
	ht_fini(&s->files);
	ht_fini(&s->opens);
	ht_fini(&s->lockowners);
	ht_fini(&s->locks);
	ht_fini(&s->delegs);
	if (s->prev.b)
		prev_clear(s);
	ht_fini(&s->prev);
	clientrec_close(s->rec);
	free(s->server_owner);
	free(s);
}

void state_stats(const struct nfs_state *s, struct state_stats *out)
{
	*out = s->stats;
}

/* ---- clients ------------------------------------------------------------------------------- */

static uint64_t client_id_hash(const struct nfs_state *s, clientid4 id)
{
	return mix64(id ^ s->seed);
}

struct nfs_client *st_client_by_id(struct nfs_state *s, clientid4 id)
{
	uint64_t h = client_id_hash(s, id);

	HT_FOR(e, &s->clients_id, h) {
		struct nfs_client *cl = container_of(e, struct nfs_client, by_id);

		if (cl->id == id)
			return cl;
	}
	return NULL;
}

struct nfs_client *st_client_by_name(struct nfs_state *s, const void *name, uint32_t len, bool confirmed)
{
	uint64_t h = hash_bytes(s, 1, name, len);

	HT_FOR(e, &s->clients_name, h) {
		struct nfs_client *cl = container_of(e, struct nfs_client, by_name);

		if (cl->confirmed == confirmed && cl->name_len == len && (len == 0 || !memcmp(cl->name, name, len)))
			return cl;
	}
	return NULL;
}

struct nfs_client *st_client_new(struct nfs_state *s, const void *name, uint32_t len,
				 const char verf[NFS4_VERIFIER_SIZE], const struct st_princ *p, bool v40)
{
	struct nfs_client *cl;

	if (len > NFS4_OPAQUE_LIMIT)
		return NULL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->name = malloc(len ? len : 1);
	if (!cl->name) {
		free(cl);
		return NULL;
	}
	if (len) /* an empty opaque decodes as a NULL pointer */
		memcpy(cl->name, name, len);
	cl->name_len = len;
	memcpy(cl->verf, verf, NFS4_VERIFIER_SIZE);
	cl->princ = *p;
	cl->v40 = v40;
	list_init(&cl->sessions);
	list_init(&cl->owners);
	list_init(&cl->lockowners);
	list_init(&cl->delegs);
	list_init(&cl->waiters);
	list_init(&cl->cbc.queue);
	/* clientid4: this run's boot time above a counter that starts at a random value;
	 * an id never handed out twice in one run (the counter would wrap after 2^32). */
	do {
		s->next_client++;
		cl->id = (uint64_t)s->boot32 << 32 | s->next_client;
	} while (!s->next_client || st_client_by_id(s, cl->id));
	/* RFC 8881 §18.35.4: the CREATE_SESSION slot starts at eir_sequenceid - 1 with a
	 * contrived cached NFS4ERR_SEQ_MISORDERED; eir_sequenceid is 1. */
	cl->cs_seqid = 0;
	cl->cs_cached = false;
	st_random(s, cl->confirm, sizeof(cl->confirm));
	/* An unconfirmed record lasts one lease (RFC 8881 §18.35.4, RFC 7530 §16.34.5). */
	cl->expiry = st_deadline(s, s->cfg.lease_time);
	ht_add(&s->clients_id, &cl->by_id, client_id_hash(s, cl->id));
	ht_add(&s->clients_name, &cl->by_name, hash_bytes(s, 1, cl->name, len));
	list_add(&s->clients, &cl->link);
	s->stats.unconfirmed++;
	return cl;
}

void st_client_confirm(struct nfs_state *s, struct nfs_client *cl)
{
	struct st_prev *p;

	if (cl->confirmed)
		return;
	cl->confirmed = true;
	s->stats.unconfirmed--;
	s->stats.clients++;
	st_client_renew(s, cl);
	/* On stable storage before the reply that lets the client make state goes out: a
	 * client that has state is never unknown after a crash. A failed write is logged by
	 * nobody here; the client then cannot reclaim after a restart. */
	if (s->rec) {
		if (name_recorded_elsewhere(s, cl) || clientrec_add(s->rec, cl->name, cl->name_len) == 0) {
			cl->recorded = true;
			s->nrecorded++;
		}
	}
	p = s->grace ? prev_find(s, cl->name, cl->name_len) : NULL;
	cl->may_reclaim = p && !p->done;
}

void st_client_renew(struct nfs_state *s, struct nfs_client *cl)
{
	cl->expiry = st_deadline(s, s->cfg.lease_time);
}

bool st_client_has_state(const struct nfs_client *cl)
{
	return cl->nsessions || !list_empty(&cl->owners) || !list_empty(&cl->lockowners) ||
	       !list_empty(&cl->delegs);
}

void st_file_put(struct nfs_state *s, struct nfs_file *f)
{
	if (!list_empty(&f->opens) || !list_empty(&f->locks) || !list_empty(&f->delegs) ||
	    !list_empty(&f->waiters))
		return;
	ht_del(&s->files, &f->node);
	free(f);
}

/* RFC 8881 §18.2.4: the locks of an open go with it (the server may free them at CLOSE
 * rather than refuse it with NFS4ERR_LOCKS_HELD; knfsd does the same). */
static void open_drop_locks(struct nfs_state *s, struct nfs_open *o)
{
	while (!list_empty(&o->locks)) {
		struct nfs_lock *lk = container_of(o->locks.next, struct nfs_lock, by_open);
		struct nfs_owner *lo = lk->owner;

		st_lock_free(s, lk);
		/* 4.1+: nothing to replay from a lock-owner, and no RELEASE_LOCKOWNER
		 * (RFC 8881 §18.2.4): one without stateids goes. 4.0: kept a lease for
		 * retransmissions (state_sweep). */
		if (!lo->cl->v40 && st_owner_idle(lo))
			st_owner_free(s, lo);
	}
}

void st_open_free(struct nfs_state *s, struct nfs_open *o)
{
	struct nfs_file *f = o->file;

	ht_del(&s->opens, &o->node);
	if (o->closed) {
		free(o);
		return;
	}
	open_drop_locks(s, o);
	list_del(&o->by_owner);
	list_del(&o->by_file);
	s->stats.opens--;
	free(o);
	st_file_put(s, f);
}

static void owner_drop_closed(struct nfs_state *s, struct nfs_owner *ow)
{
	if (ow->closed) {
		st_open_free(s, ow->closed);
		ow->closed = NULL;
	}
}

void st_open_close40(struct nfs_state *s, struct nfs_open *o)
{
	struct nfs_owner *ow = o->owner;
	struct nfs_file *f = o->file;

	owner_drop_closed(s, ow);
	open_drop_locks(s, o);
	list_del(&o->by_owner);
	list_del(&o->by_file);
	s->stats.opens--;
	o->closed = true;
	o->file = NULL;
	o->access = o->deny = 0;
	ow->closed = o;
	st_file_put(s, f);
}

struct nfs_owner *st_closed_owner(struct nfs_state *s, const stateid4 *sid)
{
	struct nfs_open *o;

	if (st_sid_special(sid) || get_be32(sid->other) != s->boot32)
		return NULL;
	o = open_by_other(s, sid->other);
	return o && o->closed ? o->owner : NULL;
}

void st_owner_free(struct nfs_state *s, struct nfs_owner *o)
{
	owner_drop_closed(s, o);
	while (!list_empty(&o->opens))
		st_open_free(s, container_of(o->opens.next, struct nfs_open, by_owner));
	while (!list_empty(&o->locks))
		st_lock_free(s, container_of(o->locks.next, struct nfs_lock, by_owner));
	if (o->lock) {
		ht_del(&s->lockowners, &o->node);
		s->stats.lockowners--;
	} else {
		ht_del(&s->owners, &o->node);
		s->stats.owners--;
	}
	list_del(&o->link);
	free(o->last_denied);
	free(o->name);
	free(o);
}

bool st_owner_idle(const struct nfs_owner *o)
{
	return list_empty(&o->opens) && list_empty(&o->locks);
}

void st_client_destroy(struct nfs_state *s, struct nfs_client *cl)
{
	if (cl->dead)
		return;
	while (!list_empty(&cl->sessions))
		st_session_kill(s, container_of(cl->sessions.next, struct nfs_session, link));
	st_deleg_client_fini(s, cl);
	st_cbchan_fini(s, cl);
	/* lock-owners first: their stateids hang off the opens */
	while (!list_empty(&cl->lockowners))
		st_owner_free(s, container_of(cl->lockowners.next, struct nfs_owner, link));
	while (!list_empty(&cl->owners))
		st_owner_free(s, container_of(cl->owners.next, struct nfs_owner, link));
	/* its record goes with it (not at a stop: that is a restart to the clients), unless
	 * the other incarnation of the same name carries it on */
	if (cl->recorded && !s->closing && !name_recorded_elsewhere(s, cl))
		clientrec_del(s->rec, cl->name, cl->name_len);
	if (cl->recorded)
		s->nrecorded--;
	cl->recorded = false;
	ht_del(&s->clients_id, &cl->by_id);
	ht_del(&s->clients_name, &cl->by_name);
	list_del(&cl->link);
	if (cl->confirmed)
		s->stats.clients--;
	else
		s->stats.unconfirmed--;
	cl->dead = true;
	if (!cl->busy)
		client_free(cl);
}

bool st_client_lapsed(struct nfs_state *s, struct nfs_client *cl)
{
	if (cl->busy || st_now(s) < cl->expiry)
		return false;
	st_client_destroy(s, cl);
	return true;
}

nfsstat4 st_client40(struct nfs_state *s, clientid4 id, struct nfs_client **out)
{
	struct nfs_client *cl = st_client_by_id(s, id);

	*out = NULL;
	/* RFC 7530 §16.28.4 / §9.6.2: an unknown clientid, or one of an earlier run. */
	if (!cl || !cl->confirmed || !cl->v40)
		return NFS4ERR_STALE_CLIENTID;
	if (st_client_lapsed(s, cl))
		return NFS4ERR_EXPIRED;
	/* RFC 7530 §9.5: any operation with a clientid renews the lease. */
	st_client_renew(s, cl);
	*out = cl;
	return NFS4_OK;
}

static void sweep_owners(struct nfs_state *s, struct list_link *owners, uint64_t now)
{
	struct list_link *ol, *onext;

	for (ol = owners->next; ol != owners; ol = onext) {
		struct nfs_owner *o = container_of(ol, struct nfs_owner, link);

		onext = ol->next;
		if (st_owner_idle(o) && now >= o->last_used + s->cfg.lease_time)
			st_owner_free(s, o);
	}
}

unsigned state_sweep(struct nfs_state *s)
{
	uint64_t now = st_now(s);
	unsigned gone = 0;
	struct list_link *l, *next;

	state_in_grace(s); /* ends it on time */
	st_deleg_sweep(s, now);
	/* Out of grace, a log grown well past the clients it records is compacted: one line
	 * per client again (the previous run's names are only needed in grace). */
	if (s->rec && !s->grace && clientrec_lines(s->rec) > 2ul * s->nrecorded + 1024) {
		struct name_iter it = {.s = s, .l = s->clients.next};

		clientrec_rewrite(s->rec, next_recorded, &it);
	}
	for (l = s->clients.next; l != &s->clients; l = next) {
		struct nfs_client *cl = container_of(l, struct nfs_client, link);

		next = l->next;
		if (!cl->busy && now >= cl->expiry) {
			st_client_destroy(s, cl);
			gone++;
			continue;
		}
		/* RFC 7530 §9.1.10: a 4.0 open-owner with no opens (lock-owner with no lock
		 * stateids) is kept for replies to retransmissions for a lease period after
		 * its last use, then dropped. */
		if (cl->v40) {
			sweep_owners(s, &cl->lockowners, now);
			sweep_owners(s, &cl->owners, now);
		}
	}
	return gone;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static uint64_t session_hash(const struct nfs_state *s, const char *id)
{
	return hash_bytes(s, 2, id, NFS4_SESSIONID_SIZE);
}

struct nfs_session *st_session_find(struct nfs_state *s, const char id[NFS4_SESSIONID_SIZE])
{
	uint64_t h = session_hash(s, id);

	HT_FOR(e, &s->sessions, h) {
		struct nfs_session *ses = container_of(e, struct nfs_session, node);

		if (!memcmp(ses->id, id, NFS4_SESSIONID_SIZE))
			return ses;
	}
	return NULL;
}

static uint32_t clamp(uint32_t v, uint32_t hi)
{
	return v < hi ? v : hi;
}

struct nfs_session *st_session_new(struct nfs_state *s, struct nfs_client *cl, const channel_attrs4 *fore)
{
	uint32_t nslots = clamp(fore->ca_maxrequests, s->cfg.max_slots);
	struct nfs_session *ses;

	/* RFC 8881 §18.36.3: the fore channel's ca_maxrequests and ca_maxoperations may be
	 * changed by the server; none is not a usable value, so it is one. */
	if (!nslots)
		nslots = 1;
	ses = calloc(1, sizeof(*ses) + (size_t)nslots * sizeof(ses->slots[0]));
	if (!ses)
		return NULL;
	ses->cl = cl;
	ses->nslots = nslots;
	/* RFC 8881 §18.36.3: sizes may be decreased, never increased. */
	ses->maxreq = clamp(fore->ca_maxrequestsize, s->cfg.max_req);
	ses->maxresp = clamp(fore->ca_maxresponsesize, s->cfg.max_resp);
	ses->maxresp_cached = clamp(clamp(fore->ca_maxresponsesize_cached, s->cfg.max_resp_cached),
				    ses->maxresp);
	ses->maxops = clamp(fore->ca_maxoperations, s->cfg.max_ops);
	if (!ses->maxops)
		ses->maxops = 1;
	/* session id: the clientid, a counter and random bits (RFC 8881 §2.10.3: unique
	 * within the server's lifetime, hard to guess). */
	do {
		uint32_t r;

		put_be32(ses->id, (uint32_t)(cl->id >> 32));
		put_be32(ses->id + 4, (uint32_t)cl->id);
		put_be32(ses->id + 8, ++s->next_session);
		st_random(s, &r, sizeof(r));
		memcpy(ses->id + 12, &r, sizeof(r));
	} while (st_session_find(s, ses->id));
	ht_add(&s->sessions, &ses->node, session_hash(s, ses->id));
	list_add(&cl->sessions, &ses->link);
	cl->nsessions++;
	s->stats.sessions++;
	return ses;
}

void st_session_kill(struct nfs_state *s, struct nfs_session *ses)
{
	if (ses->dead)
		return;
	ht_del(&s->sessions, &ses->node);
	list_del(&ses->link);
	st_cbchan_session_gone(s, ses->cl, ses->id);
	ses->cl->nsessions--;
	s->stats.sessions--;
	ses->dead = true;
	if (!ses->busy)
		session_free(ses);
}

void st_slot_take(struct nfs_req *r, struct nfs_session *ses, struct nfs_slot *sl)
{
	sl->busy = true;
	ses->busy++;
	ses->cl->busy++;
	r->session = ses;
	r->client = ses->cl;
	r->slot = sl;
}

/* Copy the reply into the slot; false when it does not fit or the iovecs disagree with len. */
static bool slot_store(struct nfs_session *ses, struct nfs_slot *sl, const struct iovec *iov,
		       unsigned niov, size_t len)
{
	size_t total = 0, off = 0;

	if (len > ses->maxresp_cached || (niov && !iov))
		return false;
	for (unsigned i = 0; i < niov; i++) {
		if (iov[i].iov_len > len - total)
			return false;
		total += iov[i].iov_len;
	}
	if (total != len)
		return false;
	if (sl->cap < len) {
		uint8_t *b = realloc(sl->buf, len);

		if (!b)
			return false;
		sl->buf = b;
		sl->cap = len;
	}
	for (unsigned i = 0; i < niov; i++) {
		if (iov[i].iov_len)
			memcpy(sl->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	sl->len = len;
	return true;
}

void state_slot_done(struct nfs_req *r, const struct iovec *iov, unsigned niov, size_t len, bool cacheable)
{
	struct nfs_slot *sl = r->slot;
	struct nfs_session *ses = r->session;
	struct nfs_client *cl;

	if (!sl || !ses)
		return;
	cl = ses->cl;
	/* RFC 8881 §18.46.3: whether or not the reply is kept, the slot records that it ran
	 * this seqid; a retry of an uncached one gets NFS4ERR_RETRY_UNCACHED_REP. */
	sl->cached = !ses->dead && cacheable && slot_store(ses, sl, iov, niov, len);
	sl->busy = false;
	r->slot = NULL;
	r->session = NULL;
	r->client = NULL;
	ses->busy--;
	cl->busy--;
	if (ses->dead && !ses->busy)
		session_free(ses);
	if (cl->dead && !cl->busy)
		client_free(cl);
}

/* ---- open-owners, files, opens ------------------------------------------------------------- */

static uint64_t owner_hash(const struct nfs_state *s, clientid4 id, const void *name, uint32_t len)
{
	return hash_bytes(s, id ^ 3, name, len);
}

static struct nfs_owner *owner_lookup(struct nfs_state *s, struct st_htab *t, struct nfs_client *cl,
				      const void *name, uint32_t len)
{
	uint64_t h = owner_hash(s, cl->id, name, len);

	HT_FOR(e, t, h) {
		struct nfs_owner *o = container_of(e, struct nfs_owner, node);

		if (o->cl == cl && o->name_len == len && (len == 0 || !memcmp(o->name, name, len)))
			return o;
	}
	return NULL;
}

static struct nfs_owner *owner_find(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len)
{
	return owner_lookup(s, &s->owners, cl, name, len);
}

struct nfs_owner *st_lockowner_find(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len)
{
	return owner_lookup(s, &s->lockowners, cl, name, len);
}

static struct nfs_owner *owner_alloc(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len)
{
	struct nfs_owner *o;

	if (len > NFS4_OPAQUE_LIMIT)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->name = malloc(len ? len : 1);
	if (!o->name) {
		free(o);
		return NULL;
	}
	if (len) /* an empty opaque decodes as a NULL pointer */
		memcpy(o->name, name, len);
	o->name_len = len;
	o->cl = cl;
	list_init(&o->opens);
	list_init(&o->locks);
	o->last_used = st_now(s);
	return o;
}

static struct nfs_owner *owner_new(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len)
{
	struct nfs_owner *o = owner_alloc(s, cl, name, len);

	if (!o)
		return NULL;
	ht_add(&s->owners, &o->node, owner_hash(s, cl->id, name, len));
	list_add(&cl->owners, &o->link);
	s->stats.owners++;
	return o;
}

struct nfs_owner *st_lockowner_new(struct nfs_state *s, struct nfs_client *cl, const void *name, uint32_t len)
{
	struct nfs_owner *o = owner_alloc(s, cl, name, len);

	if (!o)
		return NULL;
	o->lock = true;
	o->confirmed = true; /* RFC 7530 §9.1.7: lock-owners need no confirmation */
	ht_add(&s->lockowners, &o->node, owner_hash(s, cl->id, name, len));
	list_add(&cl->lockowners, &o->link);
	s->stats.lockowners++;
	return o;
}

static uint64_t file_hash(const struct nfs_state *s, const void *fh, uint32_t len)
{
	return hash_bytes(s, 4, fh, len);
}

static struct nfs_file *file_find(struct nfs_state *s, const void *fh, uint32_t len)
{
	uint64_t h = file_hash(s, fh, len);

	HT_FOR(e, &s->files, h) {
		struct nfs_file *f = container_of(e, struct nfs_file, node);

		if (f->fh_len == len && !memcmp(f->fh, fh, len))
			return f;
	}
	return NULL;
}

static struct nfs_file *file_get(struct nfs_state *s, const void *fh, uint32_t len)
{
	struct nfs_file *f = file_find(s, fh, len);

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	memcpy(f->fh, fh, len);
	f->fh_len = len;
	list_init(&f->opens);
	list_init(&f->locks);
	list_init(&f->delegs);
	list_init(&f->waiters);
	ht_add(&s->files, &f->node, file_hash(s, fh, len));
	return f;
}

static uint64_t open_hash(const struct nfs_state *s, const char *other)
{
	return hash_bytes(s, 5, other, NFS4_OTHER_SIZE);
}

static struct nfs_open *open_by_other(struct nfs_state *s, const char *other)
{
	uint64_t h = open_hash(s, other);

	HT_FOR(e, &s->opens, h) {
		struct nfs_open *o = container_of(e, struct nfs_open, node);

		if (!memcmp(o->sid.other, other, NFS4_OTHER_SIZE))
			return o;
	}
	return NULL;
}

/* A fresh stateid of client cl: open, lock or delegation. */
void st_sid_new(struct nfs_state *s, const struct nfs_client *cl, stateid4 *sid)
{
	sid->seqid = 1; /* RFC 8881 §8.2.2: a new set of locks starts at one */
	/* other: boot time, the client's counter, 32 random bits (RFC 8881 §8.2.4: never
	 * reused for another purpose; an earlier run's are recognised by the boot time). */
	do {
		uint32_t r;

		put_be32(sid->other, s->boot32);
		put_be32(sid->other + 4, (uint32_t)cl->id);
		st_random(s, &r, sizeof(r));
		memcpy(sid->other + 8, &r, sizeof(r));
	} while (st_sid_special(sid) || open_by_other(s, sid->other) || lock_by_other(s, sid->other) ||
		 st_deleg_by_other(s, sid->other));
}

static struct nfs_open *open_new(struct nfs_state *s, struct nfs_owner *ow, struct nfs_file *f)
{
	struct nfs_open *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->owner = ow;
	o->file = f;
	list_init(&o->locks);
	st_sid_new(s, ow->cl, &o->sid);
	ht_add(&s->opens, &o->node, open_hash(s, o->sid.other));
	list_add(&ow->opens, &o->by_owner);
	list_add(&f->opens, &o->by_file);
	s->stats.opens++;
	return o;
}

/* ---- lock stateids ------------------------------------------------------------------------- */

static uint64_t lock_hash(const struct nfs_state *s, const char *other)
{
	return hash_bytes(s, 6, other, NFS4_OTHER_SIZE);
}

static uint64_t deleg_hash(const struct nfs_state *s, const char *other)
{
	return hash_bytes(s, 8, other, NFS4_OTHER_SIZE);
}

struct nfs_deleg *st_deleg_by_other(struct nfs_state *s, const char *other)
{
	uint64_t h = deleg_hash(s, other);

	HT_FOR(e, &s->delegs, h) {
		struct nfs_deleg *d = container_of(e, struct nfs_deleg, node);

		if (!memcmp(d->sid.other, other, NFS4_OTHER_SIZE))
			return d;
	}
	return NULL;
}

void st_deleg_index(struct nfs_state *s, struct nfs_deleg *d, bool add)
{
	if (add)
		ht_add(&s->delegs, &d->node, deleg_hash(s, d->sid.other));
	else
		ht_del(&s->delegs, &d->node);
}

static struct nfs_lock *lock_by_other(struct nfs_state *s, const char *other)
{
	uint64_t h = lock_hash(s, other);

	HT_FOR(e, &s->locks, h) {
		struct nfs_lock *lk = container_of(e, struct nfs_lock, node);

		if (!memcmp(lk->sid.other, other, NFS4_OTHER_SIZE))
			return lk;
	}
	return NULL;
}

struct nfs_file *st_file_find(struct nfs_state *s, const void *fh, uint32_t len)
{
	return fh && len && len <= NFS4_FHSIZE ? file_find(s, fh, len) : NULL;
}

bool st_lockowner_holds(const struct nfs_owner *lo)
{
	for (const struct list_link *l = lo->locks.next; l != &lo->locks; l = l->next)
		if (container_of(l, struct nfs_lock, by_owner)->ranges.n)
			return true;
	return false;
}

struct nfs_lock *st_lock_get(struct nfs_state *s, struct nfs_owner *lo, struct nfs_open *o)
{
	struct nfs_lock *lk;

	for (struct list_link *l = lo->locks.next; l != &lo->locks; l = l->next) {
		lk = container_of(l, struct nfs_lock, by_owner);
		if (lk->file == o->file)
			return lk;
	}
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return NULL;
	lk->owner = lo;
	lk->open = o;
	lk->file = o->file;
	st_sid_new(s, lo->cl, &lk->sid);
	/* RFC 8881 §8.2.2: the stateid the client first sees has seqid one; the LOCK that
	 * made it takes it from zero to one when it succeeds (zero: never handed out). */
	lk->sid.seqid = 0;
	ht_add(&s->locks, &lk->node, lock_hash(s, lk->sid.other));
	list_add(&lo->locks, &lk->by_owner);
	list_add(&o->locks, &lk->by_open);
	list_add(&o->file->locks, &lk->by_file);
	s->stats.locks++;
	return lk;
}

void st_lock_free(struct nfs_state *s, struct nfs_lock *lk)
{
	if (lk->ranges.n && !s->closing)
		st_lock_released(s, lk->file);
	lk->owner->cl->nranges -= lk->ranges.n;
	s->stats.ranges -= lk->ranges.n;
	lr_clear(&lk->ranges);
	ht_del(&s->locks, &lk->node);
	list_del(&lk->by_owner);
	list_del(&lk->by_open);
	list_del(&lk->by_file);
	s->stats.locks--;
	/* the file stays while its open does: an open's locks go before the open */
	free(lk);
}

nfsstat4 st_lock_find(struct nfs_state *s, const stateid4 *sid, uint32_t minor, struct nfs_lock **out)
{
	nfsstat4 st = sid_precheck(s, sid, minor);

	*out = NULL;
	if (st != NFS4_OK)
		return st;
	*out = lock_by_other(s, sid->other);
	return *out ? NFS4_OK : sid_unknown(s, sid, minor);
}

const struct lr_range *st_lock_conflict(const struct nfs_file *f, const struct nfs_client *cl,
					const void *name, uint32_t len, uint32_t type, uint64_t first,
					uint64_t last, const struct nfs_lock **holder)
{
	for (const struct list_link *l = f->locks.next; l != &f->locks; l = l->next) {
		const struct nfs_lock *lk = container_of(l, struct nfs_lock, by_file);
		const struct nfs_owner *lo = lk->owner;
		const struct lr_range *r;

		/* RFC 8881 §9.5: a lock-owner never conflicts with itself */
		if (lo->cl == cl && lo->name_len == len && (len == 0 || !memcmp(lo->name, name, len)))
			continue;
		r = lr_conflict(&lk->ranges, type, first, last);
		if (r) {
			*holder = lk;
			return r;
		}
	}
	*holder = NULL;
	return NULL;
}

nfsstat4 st_lock_apply(struct nfs_state *s, struct nfs_lock *lk, uint32_t type, uint64_t first,
		       uint64_t last, uint32_t minor)
{
	struct nfs_client *cl = lk->owner->cl;
	int d;

	/* a lock may add two ranges (its own and the right half of a split one) */
	if (type && cl->nranges + 2 > ST_RANGES_PER_CLIENT)
		return minor ? NFS4ERR_DELAY : NFS4ERR_RESOURCE;
	/* an unlock in the middle of a range adds one: RFC 8881 §18.12.4 lets the server
	 * refuse a split it cannot keep with NFS4ERR_LOCK_RANGE */
	if (!type && cl->nranges + 1 > ST_RANGES_PER_CLIENT && lr_splits(&lk->ranges, first, last))
		return NFS4ERR_LOCK_RANGE;
	d = lr_apply(&lk->ranges, type, first, last);
	if (d == INT32_MIN)
		return minor ? NFS4ERR_DELAY : NFS4ERR_RESOURCE;
	cl->nranges = (unsigned)((int)cl->nranges + d);
	s->stats.ranges = (unsigned)((int)s->stats.ranges + d);
	return NFS4_OK;
}

/* ---- stateids ------------------------------------------------------------------------------ */

static bool other_is(const stateid4 *sid, unsigned char byte)
{
	for (unsigned i = 0; i < NFS4_OTHER_SIZE; i++)
		if ((unsigned char)sid->other[i] != byte)
			return false;
	return true;
}

bool st_sid_special(const stateid4 *sid)
{
	return other_is(sid, 0) || other_is(sid, 0xff);
}

bool state_stateid_special(const stateid4 *sid)
{
	return st_sid_special(sid);
}

/* Special and earlier-run stateids, before any table is looked at. */
static nfsstat4 sid_precheck(const struct nfs_state *s, const stateid4 *sid, uint32_t minor)
{
	if (st_sid_special(sid))
		return NFS4ERR_BAD_STATEID;
	/* RFC 7530 §9.1.4.3: a stateid of an earlier server instance is STALE_STATEID. In
	 * 4.1 that error is moot (RFC 8881 §15.1.16.5): BAD_STATEID. */
	if (get_be32(sid->other) != s->boot32)
		return minor ? NFS4ERR_BAD_STATEID : NFS4ERR_STALE_STATEID;
	return NFS4_OK;
}

/* A stateid of this run that no table holds. 4.0: when the client it was made for (its
 * clientid counter is in other[4..8]) is gone, its lease ran out or it was replaced:
 * NFS4ERR_EXPIRED (RFC 7530 §9.6.3; knfsd says the same). Otherwise BAD_STATEID (closed,
 * freed or made up). In 4.1 the session already names a live client. */
static nfsstat4 sid_unknown(struct nfs_state *s, const stateid4 *sid, uint32_t minor)
{
	clientid4 id = (uint64_t)s->boot32 << 32 | get_be32(sid->other + 4);

	if (!minor && !st_client_by_id(s, id))
		return NFS4ERR_EXPIRED;
	return NFS4ERR_BAD_STATEID;
}

nfsstat4 st_sid_check_unknown(struct nfs_state *s, const stateid4 *sid, uint32_t minor)
{
	nfsstat4 st = sid_precheck(s, sid, minor);

	return st != NFS4_OK ? st : sid_unknown(s, sid, minor);
}

nfsstat4 st_open_find(struct nfs_state *s, const stateid4 *sid, uint32_t minor, struct nfs_open **out)
{
	nfsstat4 st = sid_precheck(s, sid, minor);

	*out = NULL;
	if (st != NFS4_OK)
		return st;
	*out = open_by_other(s, sid->other);
	if (*out && (*out)->closed)
		*out = NULL; /* kept for a CLOSE retransmission only */
	return *out ? NFS4_OK : sid_unknown(s, sid, minor);
}

nfsstat4 st_sid_seqid(const stateid4 *cur, const stateid4 *sid, uint32_t minor)
{
	/* RFC 8881 §8.2.2: seqid zero means the current one (not in 4.0). */
	if (minor && sid->seqid == 0)
		return NFS4_OK;
	if (sid->seqid == cur->seqid)
		return NFS4_OK;
	/* RFC 8881 §8.2.4, RFC 7530 §9.1.4.2: above the current one is BAD_STATEID, below
	 * it OLD_STATEID (compared across the wrap). */
	if ((int32_t)(sid->seqid - cur->seqid) > 0)
		return NFS4ERR_BAD_STATEID;
	return NFS4ERR_OLD_STATEID;
}

bool st_open_fh_is(const struct nfs_open *o, const void *fh, uint32_t len)
{
	return o->file->fh_len == len && !memcmp(o->file->fh, fh, len);
}

nfsstat4 state_stateid_arg(struct compound *c, const stateid4 *in, stateid4 *out)
{
	/* RFC 8881 §16.2.3.1.2, §8.2.3: (seqid 1, other 0) is the current stateid in 4.1+. */
	if (c->minor == 0 || in->seqid != 1 || !other_is(in, 0)) {
		*out = *in;
		return NFS4_OK;
	}
	if (!c->cur_stateid_set || st_sid_special(&c->cur_stateid))
		return NFS4ERR_BAD_STATEID;
	*out = c->cur_stateid;
	if (c->opnum != OP_CLOSE && c->opnum != OP_OPEN_DOWNGRADE)
		out->seqid = 0;
	return NFS4_OK;
}

/* ---- open-owner seqids (4.0) --------------------------------------------------------------- */

enum st_seq st_owner_seqid(const struct nfs_owner *o, seqid4 seqid)
{
	if (o->last_op && seqid == o->seqid)
		return ST_SEQ_REPLAY;
	if (seqid == o->seqid + 1)
		return ST_SEQ_NEW;
	return ST_SEQ_BAD;
}

/* RFC 7530 §9.1.7: the seqid is not advanced for these errors. */
static bool seqid_mutating(nfsstat4 st)
{
	switch (st) {
	case NFS4ERR_STALE_CLIENTID:
	case NFS4ERR_STALE_STATEID:
	case NFS4ERR_BAD_STATEID:
	case NFS4ERR_BAD_SEQID:
	case NFS4ERR_BADXDR:
	case NFS4ERR_RESOURCE:
	case NFS4ERR_NOFILEHANDLE:
	case NFS4ERR_MOVED:
		return false;
	default:
		return true;
	}
}

void st_owner_done(struct nfs_state *s, struct nfs_owner *o, seqid4 seqid, uint32_t op, nfsstat4 status,
		   const stateid4 *sid, uint32_t rflags, const void *fh, uint32_t fh_len)
{
	o->last_used = st_now(s);
	if (!seqid_mutating(status))
		return;
	free(o->last_denied); /* a lock-owner's LOCK sets its own after this */
	o->last_denied = NULL;
	/* the previous CLOSE's reply is no longer the last one */
	if (!(op == OP_CLOSE && status == NFS4_OK))
		owner_drop_closed(s, o);
	o->seqid = seqid;
	o->last_op = op;
	o->last_open_kept = false;
	o->last_status = status;
	if (sid)
		o->last_sid = *sid;
	else
		memset(&o->last_sid, 0, sizeof(o->last_sid));
	o->last_rflags = rflags;
	o->last_fh_len = fh && fh_len <= NFS4_FHSIZE ? fh_len : 0;
	if (o->last_fh_len)
		memcpy(o->last_fh, fh, fh_len);
}

/* ---- OPEN, READ, WRITE --------------------------------------------------------------------- */

/* RFC 8881 §18.16.3 / RFC 7530 §16.16.5: valid share_access and share_deny. */
static bool share_valid(uint32_t minor, uint32_t access, uint32_t deny)
{
	uint32_t a = access;

	if (minor)
		a &= ~(uint32_t)(OPEN4_SHARE_ACCESS_WANT_DELEG_MASK |
				 OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL |
				 OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED);
	return a >= OPEN4_SHARE_ACCESS_READ && a <= OPEN4_SHARE_ACCESS_BOTH &&
	       deny <= OPEN4_SHARE_DENY_BOTH;
}

/* A share reservation of another open-owner that conflicts (RFC 8881 §9.7). */
static bool share_conflict(const struct nfs_file *f, const struct nfs_open *self, uint32_t access,
			   uint32_t deny)
{
	for (const struct list_link *l = f->opens.next; l != &f->opens; l = l->next) {
		const struct nfs_open *o = container_of(l, struct nfs_open, by_file);

		if (o == self)
			continue;
		if ((access & o->deny) || (deny & o->access))
			return true;
	}
	return false;
}

nfsstat4 state_open(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, const void *fh,
		    uint32_t fh_len, uint32_t share_access, uint32_t share_deny, bool reclaim,
		    stateid4 *out, uint32_t *rflags)
{
	struct nfs_state *s = r->state;
	uint32_t minor = r->c ? r->c->minor : 0;
	struct nfs_client *cl;
	struct nfs_owner *ow;
	struct nfs_file *f;
	struct nfs_open *o = NULL;
	uint32_t access = share_access & OPEN4_SHARE_ACCESS_BOTH;
	uint32_t flags = 0;
	bool fresh = false;
	nfsstat4 st;

	if (!share_valid(minor, share_access, share_deny))
		return NFS4ERR_INVAL;
	if (!fh || !fh_len || fh_len > NFS4_FHSIZE)
		return NFS4ERR_BADHANDLE;
	if (owner->owner.owner_len > NFS4_OPAQUE_LIMIT)
		return NFS4ERR_INVAL;

	if (minor) {
		/* RFC 8881 §18.16.3: the client is the session's; the owner's clientid
		 * field is not looked at. */
		cl = r->client;
		if (!cl || cl->dead)
			return NFS4ERR_BADSESSION;
		ow = owner_find(s, cl, owner->owner.owner_val, owner->owner.owner_len);
		if (!ow) {
			ow = owner_new(s, cl, owner->owner.owner_val, owner->owner.owner_len);
			if (!ow)
				return NFS4ERR_RESOURCE;
			ow->confirmed = true;
		}
	} else {
		st = st_client40(s, owner->clientid, &cl);
		if (st != NFS4_OK)
			return st;
		ow = owner_find(s, cl, owner->owner.owner_val, owner->owner.owner_len);
		if (ow && !ow->confirmed) {
			/* RFC 7530 §16.18.5: an OPEN by an owner still waiting for its
			 * OPEN_CONFIRM replaces it and its state. */
			st_owner_free(s, ow);
			ow = NULL;
		}
		if (ow) {
			switch (st_owner_seqid(ow, seqid)) {
			case ST_SEQ_REPLAY:
				/* RFC 7530 §9.1.9: the reply to the original again. */
				if (ow->last_op != OP_OPEN ||
				    (ow->last_fh_len && (ow->last_fh_len != fh_len ||
							 memcmp(ow->last_fh, fh, fh_len))))
					return NFS4ERR_BAD_SEQID;
				if (ow->last_status == NFS4_OK) {
					*out = ow->last_sid;
					*rflags |= ow->last_rflags;
				}
				return ow->last_status;
			case ST_SEQ_BAD:
				return NFS4ERR_BAD_SEQID;
			case ST_SEQ_NEW:
				break;
			}
		} else {
			ow = owner_new(s, cl, owner->owner.owner_val, owner->owner.owner_len);
			if (!ow)
				return NFS4ERR_RESOURCE;
			fresh = true;
			/* RFC 7530 §9.1.7 / §16.18: a new owner's first OPEN is confirmed
			 * with OPEN_CONFIRM; a reclaim's owner is known from before the
			 * restart and is confirmed at once (knfsd too: the Linux client's
			 * reclaim OPEN fetches no file handle to confirm with). */
			if (reclaim)
				ow->confirmed = true;
			else
				flags |= OPEN4_RESULT_CONFIRM;
		}
	}

	f = file_get(s, fh, fh_len);
	if (!f) {
		st = NFS4ERR_RESOURCE;
		goto out;
	}
	for (struct list_link *l = ow->opens.next; l != &ow->opens; l = l->next) {
		struct nfs_open *x = container_of(l, struct nfs_open, by_owner);

		if (x->file == f) {
			o = x;
			break;
		}
	}
	/* RFC 8881 §9.7, RFC 7530 §9.9: the new access and deny against the other opens. */
	if (share_conflict(f, o, access, share_deny)) {
		st = NFS4ERR_SHARE_DENIED;
		goto out;
	}
	/* RFC 8881 §10.4.4 / §10.2: an open for writing (or one denying reads) conflicts
	 * with other clients' read delegations: recalled, and this OPEN waits (DELAY) */
	if ((access & OPEN4_SHARE_ACCESS_WRITE) || (share_deny & OPEN4_SHARE_DENY_READ)) {
		st = st_deleg_break_file(s, f, cl);
		if (st != NFS4_OK)
			goto out;
	}
	if (o) {
		/* RFC 8881 §8.2.1: an upgrade keeps "other" and bumps the seqid. */
		o->access |= access;
		o->deny |= share_deny;
		o->sid.seqid = st_seqid_next(o->sid.seqid);
	} else {
		o = open_new(s, ow, f);
		if (!o) {
			st = NFS4ERR_RESOURCE;
			goto out;
		}
		o->access = access;
		o->deny = share_deny;
	}
	*out = o->sid;
	*rflags |= flags;
	st = NFS4_OK;
out:
	if (f && list_empty(&f->opens))
		st_file_put(s, f);
	if (!minor) {
		if (fresh && st != NFS4_OK) {
			/* nothing to confirm: the owner never existed */
			st_owner_free(s, ow);
		} else {
			if (fresh)
				ow->seqid = seqid - 1;
			st_owner_done(s, ow, seqid, OP_OPEN, st, st == NFS4_OK ? out : NULL, flags, fh,
				      fh_len);
		}
	} else if (list_empty(&ow->opens)) {
		st_owner_free(s, ow);
	}
	return st;
}

/* The confirmed 4.0 client and open-owner named by owner, or NULL. */
static struct nfs_owner *owner40(struct nfs_state *s, const open_owner4 *owner)
{
	struct nfs_client *cl = st_client_by_id(s, owner->clientid);

	if (!cl || !cl->confirmed || !cl->v40)
		return NULL;
	return owner_find(s, cl, owner->owner.owner_val, owner->owner.owner_len);
}

bool state_open_replay(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, OPEN4res *res,
		       const uint8_t **fh, uint32_t *fh_len, nfsstat4 *status)
{
	struct nfs_owner *ow;
	OPEN4resok *ok = &res->OPEN4res_u.resok4;

	if (!r->c || r->c->minor)
		return false;
	ow = owner40(r->state, owner);
	if (!ow || st_owner_seqid(ow, seqid) != ST_SEQ_REPLAY || ow->last_op != OP_OPEN)
		return false;
	*status = ow->last_status;
	*fh = NULL;
	*fh_len = 0;
	if (ow->last_status != NFS4_OK)
		return true;
	if (!ow->last_open_kept || !ow->last_fh_len)
		return false; /* nothing to answer with: state_open() judges it */
	ok->stateid = ow->last_sid;
	ok->cinfo = ow->last_cinfo;
	ok->rflags = ow->last_rflags;
	ok->attrset.bitmap4_len = ow->last_attrset_len;
	ok->attrset.bitmap4_val = st_dup_res(r->c, ow->last_attrset, sizeof(ow->last_attrset));
	ok->delegation.delegation_type = OPEN_DELEGATE_NONE;
	if (!ok->attrset.bitmap4_val) {
		*status = NFS4ERR_RESOURCE;
		return true;
	}
	*fh = ow->last_fh;
	*fh_len = ow->last_fh_len;
	return true;
}

void state_open_done(struct nfs_req *r, const open_owner4 *owner, const OPEN4resok *ok)
{
	struct nfs_owner *ow;
	uint32_t n = ok->attrset.bitmap4_len;

	if (!r->c || r->c->minor)
		return;
	ow = owner40(r->state, owner);
	if (!ow || ow->last_op != OP_OPEN || ow->last_status != NFS4_OK)
		return;
	ow->last_cinfo = ok->cinfo;
	ow->last_rflags = ok->rflags;
	if (n > 4)
		n = 4;
	memset(ow->last_attrset, 0, sizeof(ow->last_attrset));
	if (n)
		memcpy(ow->last_attrset, ok->attrset.bitmap4_val, n * sizeof(uint32_t));
	ow->last_attrset_len = n;
	ow->last_open_kept = true;
}

void state_open_failed(struct nfs_req *r, const open_owner4 *owner, seqid4 seqid, nfsstat4 status)
{
	struct nfs_state *s = r->state;
	struct nfs_client *cl;
	struct nfs_owner *ow;

	if (!r->c || r->c->minor || status == NFS4_OK)
		return;
	cl = st_client_by_id(s, owner->clientid);
	if (!cl || !cl->confirmed || !cl->v40)
		return;
	ow = owner_find(s, cl, owner->owner.owner_val, owner->owner.owner_len);
	if (!ow || !ow->confirmed || st_owner_seqid(ow, seqid) != ST_SEQ_NEW)
		return;
	st_owner_done(s, ow, seqid, OP_OPEN, status, NULL, 0, NULL, 0);
}

/* Does an open of file f deny this access (for I/O with an anonymous stateid)? */
static bool denied(const struct nfs_file *f, bool write)
{
	uint32_t want = write ? OPEN4_SHARE_DENY_WRITE : OPEN4_SHARE_DENY_READ;

	for (const struct list_link *l = f->opens.next; l != &f->opens; l = l->next)
		if (container_of(l, struct nfs_open, by_file)->deny & want)
			return true;
	return false;
}

nfsstat4 state_check_io(struct nfs_req *r, const stateid4 *sid, const void *fh, uint32_t fh_len, bool write)
{
	struct nfs_state *s = r->state;
	uint32_t minor = r->c ? r->c->minor : 0;
	struct nfs_open *o;
	struct nfs_client *cl;
	nfsstat4 st;

	if (st_sid_special(sid)) {
		struct nfs_file *f;
		bool zeros = other_is(sid, 0);

		/* RFC 8881 §8.2.3: anonymous (0, 0) and READ bypass (all ones); every
		 * other special combination is BAD_STATEID. */
		if (zeros ? sid->seqid != 0 : sid->seqid != UINT32_MAX)
			return NFS4ERR_BAD_STATEID;
		if (!zeros && !write)
			return NFS4_OK; /* READ bypass may ignore deny modes */
		/* RFC 8881 §8.4.2, RFC 7530 §9.6.2: whether the I/O conflicts depends on share
		 * reservations still to be reclaimed; wait the grace period out (knfsd too) */
		if (state_in_grace(s))
			return NFS4ERR_GRACE;
		f = fh && fh_len <= NFS4_FHSIZE ? file_find(s, fh, fh_len) : NULL;
		/* RFC 7530 §9.1.4.3 / RFC 8881 §9.1.2: an anonymous I/O that a share
		 * reservation denies is NFS4ERR_LOCKED. */
		if (f && denied(f, write))
			return NFS4ERR_LOCKED;
		/* RFC 8881 §10.2: an anonymous write conflicts with every read delegation */
		return write ? st_deleg_break_file(s, f, minor ? r->client : NULL) : NFS4_OK;
	}
	st = st_open_find(s, sid, minor, &o);
	if (st == NFS4ERR_BAD_STATEID) {
		struct nfs_lock *lk;
		struct nfs_deleg *d;

		/* RFC 8881 §9.1.2: a delegation stateid reads like an open; a read
		 * delegation gives no right to write (knfsd: OPENMODE) */
		if (!st_sid_special(sid) && st_deleg_find(s, sid, &d) == NFS4_OK) {
			st = st_deleg_check(r, d, sid, fh, fh_len);
			if (st == NFS4_OK && write)
				st = NFS4ERR_OPENMODE;
			if (st == NFS4_OK && !minor)
				st_client_renew(s, d->cl);
			return st;
		}

		/* a lock stateid: checked as itself, then it stands for its open */
		if (st_lock_find(s, sid, minor, &lk) == NFS4_OK) {
			cl = lk->owner->cl;
			if (!minor && st_client_lapsed(s, cl))
				return NFS4ERR_EXPIRED;
			if (lk->file->fh_len != fh_len || memcmp(lk->file->fh, fh, fh_len) ||
			    (minor && cl != r->client))
				return NFS4ERR_BAD_STATEID;
			st = st_sid_seqid(&lk->sid, sid, minor);
			if (st != NFS4_OK)
				return st;
			o = lk->open;
			sid = &o->sid;
		}
	}
	if (st != NFS4_OK)
		return st;
	cl = o->owner->cl;
	/* 4.0: the lease of the stateid's client (RFC 7530 §9.6); it is gone then. */
	if (!minor && st_client_lapsed(s, cl))
		return NFS4ERR_EXPIRED;
	/* RFC 8881 §8.2.4: in the file's and the session client's name only. */
	if (!st_open_fh_is(o, fh, fh_len))
		return NFS4ERR_BAD_STATEID;
	if (minor && cl != r->client)
		return NFS4ERR_BAD_STATEID;
	if (!o->owner->confirmed)
		return NFS4ERR_BAD_STATEID; /* RFC 7530 §16.18.5: not usable before OPEN_CONFIRM */
	st = st_sid_seqid(&o->sid, sid, minor);
	if (st != NFS4_OK)
		return st;
	/* RFC 8881 §8.2.5, §18.32.3: writing needs write access (a write-only open may
	 * read, which the RFC leaves to the server). */
	if (write && !(o->access & OPEN4_SHARE_ACCESS_WRITE))
		return NFS4ERR_OPENMODE;
	if (!minor)
		st_client_renew(s, cl);
	/* a write recalls the other clients' read delegations (RFC 8881 §10.2) */
	return write ? st_deleg_break_file(s, o->file, cl) : NFS4_OK;
}

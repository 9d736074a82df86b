/*
 * idmap: immutable snapshots of the user and group databases with hash tables both ways, a
 * refresher thread, and the rwlock that makes the swap safe (idmap.h).
 */
#define _GNU_SOURCE /* getpwent_r, getgrent_r, pthread_rwlockattr_setkind_np */
#include "idmap.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KINDS 2                          /* 0: users, 1: groups */
#define MAX_ENTRIES ((size_t)1 << 24)    /* per kind: slot values and offsets stay 32-bit */
#define NSS_BUF_MAX ((size_t)64 << 20)   /* a getgrent_r buffer for a group with huge members */

struct ent {
	uint32_t id;
	uint32_t off; /* of the name in the pool (NUL-terminated there) */
	uint32_t len;
};

/* One kind's entries and its two open-addressing tables (slot: 0 empty, else entry + 1). */
struct tab {
	struct ent *ents;
	size_t n, cap;
	uint32_t *by_id;
	uint32_t *by_name;
	size_t mask;  /* slots - 1 */
	size_t nids;  /* distinct ids (entries in by_id) */
};

/* A snapshot: never changed once published. */
struct snap {
	struct tab t[KINDS];
	char *pool;
	size_t pool_len, pool_cap;
};

/* A builder is a snapshot being filled (hash tables not made yet). */
struct idmap_builder {
	struct snap s;
};

struct idmap {
	/* The current snapshot: read under lock's read side, swapped under its write side. */
	pthread_rwlock_t lock;
	struct snap *cur;
	uint64_t generation, failures; /* under lock too */
	int last_error;

	idmap_enum_fn enumerate;
	void *ctx;
	pthread_mutex_t refresh_mu; /* one refresh at a time (held while enumerating) */

	/* the refresher thread */
	unsigned refresh_secs;
	pthread_mutex_t mu; /* stop, kicked; held only to read or set them */
	pthread_cond_t cv;
	bool stop, kicked;
	bool has_thread;
	pthread_t thread;
};

/* ---- hashing -------------------------------------------------------------------------------- */

static uint32_t hash_id(uint32_t x)
{
	/* a 32-bit integer finalizer: consecutive ids spread over the table */
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static uint32_t hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return hash_id(h);
}

/* ---- snapshots ------------------------------------------------------------------------------ */

static void snap_free(struct snap *s)
{
	if (!s)
		return;
	for (int k = 0; k < KINDS; k++) {
		free(s->t[k].ents);
		free(s->t[k].by_id);
		free(s->t[k].by_name);
	}
	free(s->pool);
	free(s);
}

int idmap_builder_add(struct idmap_builder *b, bool group, uint32_t id, const char *name)
{
	struct snap *s = &b->s;
	struct tab *t = &s->t[group ? 1 : 0];
	size_t len = name ? strnlen(name, IDMAP_NAME_MAX + 1) : 0;

	if (len == 0 || len > IDMAP_NAME_MAX || id == UINT32_MAX)
		return 0;
	if (t->n >= MAX_ENTRIES || s->pool_len + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct ent *e = realloc(t->ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		t->ents = e;
		t->cap = cap;
	}
	if (s->pool_len + len + 1 > s->pool_cap) {
		size_t cap = s->pool_cap ? s->pool_cap * 2 : 4096;
		char *p;

		while (cap < s->pool_len + len + 1)
			cap *= 2;
		p = realloc(s->pool, cap);
		if (!p)
			return -ENOMEM;
		s->pool = p;
		s->pool_cap = cap;
	}
	memcpy(s->pool + s->pool_len, name, len);
	s->pool[s->pool_len + len] = '\0';
	t->ents[t->n++] = (struct ent){.id = id, .off = (uint32_t)s->pool_len, .len = (uint32_t)len};
	s->pool_len += len + 1;
	return 0;
}

/* Make t's hash tables; the first entry of an id or of a name wins. 0 or -ENOMEM. */
static int tab_index(struct tab *t, const char *pool)
{
	size_t slots = 16;

	while (slots < 2 * t->n)
		slots *= 2;
	t->mask = slots - 1;
	t->by_id = calloc(slots, sizeof(*t->by_id));
	t->by_name = calloc(slots, sizeof(*t->by_name));
	if (!t->by_id || !t->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct ent *e = &t->ents[i];
		size_t h;

		for (h = hash_id(e->id) & t->mask; t->by_id[h]; h = (h + 1) & t->mask)
			if (t->ents[t->by_id[h] - 1].id == e->id)
				break;
		if (!t->by_id[h]) {
			t->by_id[h] = (uint32_t)i + 1;
			t->nids++;
		}
		for (h = hash_name(pool + e->off, e->len) & t->mask; t->by_name[h];
		     h = (h + 1) & t->mask) {
			const struct ent *o = &t->ents[t->by_name[h] - 1];

			if (o->len == e->len && !memcmp(pool + o->off, pool + e->off, e->len))
				break;
		}
		if (!t->by_name[h])
			t->by_name[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* Enumerate and index a new snapshot. 0 and *out, or -errno. */
static int snap_build(idmap_enum_fn enumerate, void *ctx, struct snap **out)
{
	struct idmap_builder *b = calloc(1, sizeof(*b));
	int ret;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	ret = enumerate(ctx, b);
	for (int k = 0; ret == 0 && k < KINDS; k++)
		ret = tab_index(&b->s.t[k], b->s.pool);
	if (ret < 0) {
		snap_free(&b->s);
		return ret;
	}
	*out = &b->s; /* s is b's first and only member */
	return 0;
}

static const struct ent *snap_by_id(const struct snap *s, uint32_t id, bool group)
{
	const struct tab *t = &s->t[group ? 1 : 0];

	if (!t->by_id)
		return NULL;
	for (size_t h = hash_id(id) & t->mask; t->by_id[h]; h = (h + 1) & t->mask)
		if (t->ents[t->by_id[h] - 1].id == id)
			return &t->ents[t->by_id[h] - 1];
	return NULL;
}

static const struct ent *snap_by_name(const struct snap *s, const char *name, bool group)
{
	const struct tab *t = &s->t[group ? 1 : 0];
	size_t len = strnlen(name, IDMAP_NAME_MAX + 1);

	if (!t->by_name || len == 0 || len > IDMAP_NAME_MAX)
		return NULL;
	for (size_t h = hash_name(name, len) & t->mask; t->by_name[h]; h = (h + 1) & t->mask) {
		const struct ent *e = &t->ents[t->by_name[h] - 1];

		if (e->len == len && !memcmp(s->pool + e->off, name, len))
			return e;
	}
	return NULL;
}

/* ---- the NSS source ------------------------------------------------------------------------- */

/* A bigger buffer after ERANGE: 0, or -ERANGE past NSS_BUF_MAX, or -ENOMEM. */
static int grow(char **buf, size_t *cap)
{
	char *p;

	if (*cap >= NSS_BUF_MAX)
		return -ERANGE;
	p = realloc(*buf, *cap * 2);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap *= 2;
	return 0;
}

int idmap_enum_nss(void *ctx, struct idmap_builder *b)
{
	size_t cap = 16384;
	char *buf = malloc(cap);
	int ret = 0, rc;

	(void)ctx;
	if (!buf)
		return -ENOMEM;
	/* getpwent_r/getgrent_r share one enumeration position per process: nothing else in
	 * sluiced enumerates, and refreshes of one map are serialized (a second map would have
	 * to be created and refreshed on the same thread). */
	setpwent();
	for (;;) {
		struct passwd pw, *p = NULL;

		rc = getpwent_r(&pw, buf, cap, &p);
		if (rc == ERANGE) { /* the same entry again with more room */
			ret = grow(&buf, &cap);
			if (ret < 0)
				break;
			continue;
		}
		if (rc == ENOENT || (rc == 0 && !p))
			break;
		if (rc) {
			ret = -rc;
			break;
		}
		ret = idmap_builder_add(b, false, (uint32_t)p->pw_uid, p->pw_name);
		if (ret < 0)
			break;
	}
	endpwent();
	if (ret < 0)
		goto out;
	setgrent();
	for (;;) {
		struct group gr, *g = NULL;

		rc = getgrent_r(&gr, buf, cap, &g);
		if (rc == ERANGE) {
			ret = grow(&buf, &cap);
			if (ret < 0)
				break;
			continue;
		}
		if (rc == ENOENT || (rc == 0 && !g))
			break;
		if (rc) {
			ret = -rc;
			break;
		}
		ret = idmap_builder_add(b, true, (uint32_t)g->gr_gid, g->gr_name);
		if (ret < 0)
			break;
	}
	endgrent();
out:
	free(buf);
	return ret;
}

/* ---- the map -------------------------------------------------------------------------------- */

int idmap_refresh(struct idmap *m)
{
	struct snap *s = NULL, *old = NULL;
	int ret;

	pthread_mutex_lock(&m->refresh_mu);
	ret = snap_build(m->enumerate, m->ctx, &s);
	pthread_rwlock_wrlock(&m->lock);
	if (ret == 0) {
		old = m->cur;
		m->cur = s;
		m->generation++;
	} else {
		m->failures++;
	}
	m->last_error = ret;
	pthread_rwlock_unlock(&m->lock);
	/* No reader can hold old now: each took the read side before reading m->cur and keeps it
	 * until done, and the write side above was granted only after all of them let go. */
	snap_free(old);
	pthread_mutex_unlock(&m->refresh_mu);
	return ret;
}

static void deadline_in(struct timespec *ts, unsigned secs)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += secs;
}

static void *refresher(void *arg)
{
	struct idmap *m = arg;
	struct timespec deadline;

	pthread_mutex_lock(&m->mu);
	deadline_in(&deadline, m->refresh_secs);
	while (!m->stop) {
		if (!m->kicked &&
		    pthread_cond_timedwait(&m->cv, &m->mu, &deadline) != ETIMEDOUT)
			continue; /* kicked, stopped or spurious: the loop looks again */
		m->kicked = false;
		pthread_mutex_unlock(&m->mu);
		idmap_refresh(m);
		pthread_mutex_lock(&m->mu);
		deadline_in(&deadline, m->refresh_secs);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int idmap_create(struct idmap **out, const struct idmap_config *cfg)
{
	struct idmap *m = calloc(1, sizeof(*m));
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->enumerate = cfg && cfg->enumerate ? cfg->enumerate : idmap_enum_nss;
	m->ctx = cfg ? cfg->ctx : NULL;
	m->refresh_secs = cfg ? cfg->refresh_secs : IDMAP_REFRESH_DEFAULT;
	/* Writer preference: a refresh's swap is not held off forever by a stream of lookups;
	 * lookups then wait for at most that swap. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&m->refresh_mu, NULL);
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);

	rc = idmap_refresh(m);
	if (rc == -ENOMEM) {
		idmap_destroy(m);
		return -ENOMEM;
	}
	if (m->refresh_secs) {
		/* Every signal blocked: SIGHUP, SIGTERM... stay with the loop (libev may use a
		 * signalfd, which needs them blocked in every thread). */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&m->thread, NULL, refresher, m);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc) {
			idmap_destroy(m);
			return -rc;
		}
		m->has_thread = true;
	}
	*out = m;
	return 0;
}

void idmap_destroy(struct idmap *m)
{
	if (!m)
		return;
	if (m->has_thread) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	snap_free(m->cur);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->refresh_mu);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

void idmap_kick(struct idmap *m)
{
	if (!m || !m->has_thread)
		return;
	pthread_mutex_lock(&m->mu);
	m->kicked = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* The lock is the one mutable part of a map that lookups (const) use. */
static pthread_rwlock_t *lock_of(const struct idmap *m)
{
	return (pthread_rwlock_t *)&m->lock;
}

int idmap_name_of(const struct idmap *m, uint32_t id, bool group, char *buf, size_t cap)
{
	const struct ent *e;
	int ret = -ENOENT;

	if (cap)
		buf[0] = '\0';
	if (!m)
		return -ENOENT;
	pthread_rwlock_rdlock(lock_of(m));
	e = m->cur ? snap_by_id(m->cur, id, group) : NULL;
	if (e && e->len >= cap) {
		ret = -ERANGE;
	} else if (e) {
		memcpy(buf, m->cur->pool + e->off, (size_t)e->len + 1);
		ret = 0;
	}
	pthread_rwlock_unlock(lock_of(m));
	return ret;
}

int idmap_id_of(const struct idmap *m, const char *name, bool group, uint32_t *id)
{
	const struct ent *e;
	int ret = -ENOENT;

	if (!m || !name)
		return -ENOENT;
	pthread_rwlock_rdlock(lock_of(m));
	e = m->cur ? snap_by_name(m->cur, name, group) : NULL;
	if (e) {
		*id = e->id;
		ret = 0;
	}
	pthread_rwlock_unlock(lock_of(m));
	return ret;
}

int idmap_attr_idname(void *ctx, uint32_t id, bool group, char *buf, size_t cap)
{
	return idmap_name_of(ctx, id, group, buf, cap);
}

int idmap_attr_idparse(void *ctx, const char *name, bool group, uint32_t *id)
{
	return idmap_id_of(ctx, name, group, id);
}

void idmap_stats(const struct idmap *m, struct idmap_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return;
	pthread_rwlock_rdlock(lock_of(m));
	if (m->cur) {
		out->users = m->cur->t[0].nids;
		out->groups = m->cur->t[1].nids;
	}
	out->generation = m->generation;
	out->failures = m->failures;
	out->last_error = m->last_error;
	pthread_rwlock_unlock(lock_of(m));
}

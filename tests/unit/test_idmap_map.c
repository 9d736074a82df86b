/* Unit tests of server/idmap.c: the snapshot tables both ways (from a fake source), the
 * first-wins rule for duplicates, long names, a failing source, refreshes racing lookups, the
 * refresher thread (timer and kick), and the real NSS source (root is uid 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "idmap.h"

struct fake_ent {
	bool group;
	uint32_t id;
	const char *name;
};

struct fake {
	const struct fake_ent *ents;
	size_t n;
	int fail;            /* returned instead of enumerating, when set */
	atomic_uint calls;
};

static int fake_enum(void *ctx, struct idmap_builder *b)
{
	struct fake *f = ctx;

	atomic_fetch_add(&f->calls, 1);
	if (f->fail)
		return f->fail;
	for (size_t i = 0; i < f->n; i++) {
		int rc = idmap_builder_add(b, f->ents[i].group, f->ents[i].id, f->ents[i].name);

		if (rc)
			return rc;
	}
	return 0;
}

static struct idmap *fake_map(struct fake *f)
{
	struct idmap_config c = {.enumerate = fake_enum, .ctx = f, .refresh_secs = 0};
	struct idmap *m = NULL;

	assert_int_equal(idmap_create(&m, &c), 0);
	assert_non_null(m);
	return m;
}

static void expect_name(struct idmap *m, uint32_t id, bool group, const char *want)
{
	char buf[IDMAP_NAME_MAX + 1];

	assert_int_equal(idmap_name_of(m, id, group, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void expect_id(struct idmap *m, const char *name, bool group, uint32_t want)
{
	uint32_t id = 12345;

	assert_int_equal(idmap_id_of(m, name, group, &id), 0);
	assert_int_equal(id, want);
}

static void expect_no_name(struct idmap *m, uint32_t id, bool group)
{
	char buf[64] = "x";

	assert_int_equal(idmap_name_of(m, id, group, buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "");
}

static void expect_no_id(struct idmap *m, const char *name, bool group)
{
	uint32_t id = 7;

	assert_int_equal(idmap_id_of(m, name, group, &id), -ENOENT);
	assert_int_equal(id, 7);
}

static const struct fake_ent basic[] = {
	{false, 0, "root"},     {false, 1000, "alice"}, {false, 1001, "bob"},
	{true, 0, "root"},      {true, 50, "staff"},    {true, 1000, "alice"},
	{true, 10, "wheel"},    {false, 65534, "nobody"},
};

static void test_both_ways(void **state)
{
	struct fake f = {.ents = basic, .n = sizeof(basic) / sizeof(basic[0])};
	struct idmap *m = fake_map(&f);
	struct idmap_stats st;

	(void)state;
	expect_name(m, 0, false, "root");
	expect_name(m, 1000, false, "alice");
	expect_name(m, 1001, false, "bob");
	expect_name(m, 65534, false, "nobody");
	expect_name(m, 50, true, "staff");
	expect_name(m, 10, true, "wheel");
	expect_name(m, 1000, true, "alice");
	expect_id(m, "root", false, 0);
	expect_id(m, "alice", false, 1000);
	expect_id(m, "bob", false, 1001);
	expect_id(m, "staff", true, 50);
	expect_id(m, "wheel", true, 10);

	/* users and groups are separate */
	expect_no_name(m, 1001, true);
	expect_no_name(m, 50, false);
	expect_no_id(m, "staff", false);
	expect_no_id(m, "bob", true);
	/* unknown */
	expect_no_name(m, 4242, false);
	expect_no_name(m, UINT32_MAX, false);
	expect_no_id(m, "carol", false);
	expect_no_id(m, "", false);
	expect_no_id(m, "ALICE", false); /* exact, as getpwnam */
	expect_no_id(m, "alice ", false);

	/* the attr.h adapters */
	{
		char buf[32];
		uint32_t id = 0;

		assert_int_equal(idmap_attr_idname(m, 1001, false, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "bob");
		assert_int_equal(idmap_attr_idparse(m, "wheel", true, &id), 0);
		assert_int_equal(id, 10);
		assert_int_equal(idmap_attr_idparse(m, "wheel", false, &id), -ENOENT);
	}

	idmap_stats(m, &st);
	assert_int_equal(st.users, 4);
	assert_int_equal(st.groups, 4);
	assert_int_equal(st.generation, 1);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.last_error, 0);
	/* no refresher: a kick does nothing (and does not crash) */
	idmap_kick(m);
	idmap_destroy(m);

	/* NULL is an empty map */
	expect_no_name(NULL, 0, false);
	expect_no_id(NULL, "root", false);
	idmap_destroy(NULL);
}

static void test_duplicates_first_wins(void **state)
{
	static const struct fake_ent d[] = {
		{false, 0, "root"},     {false, 0, "toor"},     /* same id: root is its name */
		{false, 1000, "alice"}, {false, 2000, "alice"}, /* same name: 1000 is its id */
		{false, 3000, "carol"}, {false, 3000, "carol"}, /* exact repeat */
		{true, 100, "users"},   {true, 100, "users2"},  {true, 200, "users"},
	};
	struct fake f = {.ents = d, .n = sizeof(d) / sizeof(d[0])};
	struct idmap *m = fake_map(&f);
	struct idmap_stats st;

	(void)state;
	expect_name(m, 0, false, "root");
	expect_id(m, "toor", false, 0); /* the second name of uid 0 still resolves */
	expect_id(m, "root", false, 0);
	expect_id(m, "alice", false, 1000);
	expect_name(m, 2000, false, "alice"); /* uid 2000's only name */
	expect_name(m, 3000, false, "carol");
	expect_id(m, "carol", false, 3000);
	expect_name(m, 100, true, "users");
	expect_id(m, "users", true, 100);
	expect_id(m, "users2", true, 100);
	expect_name(m, 200, true, "users");
	idmap_stats(m, &st);
	assert_int_equal(st.users, 4);  /* 0 1000 2000 3000 */
	assert_int_equal(st.groups, 2); /* 100 200 */
	idmap_destroy(m);
}

static void test_long_names(void **state)
{
	char n255[IDMAP_NAME_MAX + 1], n256[IDMAP_NAME_MAX + 2], buf[IDMAP_NAME_MAX + 1];
	struct fake_ent e[5];
	struct fake f = {.ents = e, .n = 5};
	struct idmap *m;

	(void)state;
	memset(n255, 'a', IDMAP_NAME_MAX);
	n255[IDMAP_NAME_MAX] = '\0';
	memset(n256, 'b', IDMAP_NAME_MAX + 1);
	n256[IDMAP_NAME_MAX + 1] = '\0';
	e[0] = (struct fake_ent){false, 5000, n255};
	e[1] = (struct fake_ent){false, 5001, n256}; /* too long: left out */
	e[2] = (struct fake_ent){false, 5002, ""};   /* empty: left out */
	e[3] = (struct fake_ent){false, UINT32_MAX, "minus1"}; /* (uid_t)-1: left out */
	e[4] = (struct fake_ent){true, 7, "seven"};
	m = fake_map(&f);

	expect_name(m, 5000, false, n255);
	expect_id(m, n255, false, 5000);
	/* cap too small by one: -ERANGE and "" */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(idmap_name_of(m, 5000, false, buf, IDMAP_NAME_MAX), -ERANGE);
	assert_string_equal(buf, "");
	assert_int_equal(idmap_name_of(m, 5000, false, buf, IDMAP_NAME_MAX + 1), 0);
	assert_int_equal(strlen(buf), IDMAP_NAME_MAX);
	/* "seven" needs 6 bytes */
	assert_int_equal(idmap_name_of(m, 7, true, buf, 5), -ERANGE);
	assert_int_equal(idmap_name_of(m, 7, true, buf, 6), 0);
	assert_string_equal(buf, "seven");
	assert_int_equal(idmap_name_of(m, 7, true, buf, 0), -ERANGE);

	expect_no_name(m, 5001, false);
	expect_no_id(m, n256, false);
	expect_no_name(m, 5002, false);
	expect_no_id(m, "minus1", false);
	idmap_destroy(m);
}

/* Many entries: the tables grow and every probe sequence ends. */
static void test_many(void **state)
{
	enum { N = 50000 };
	static struct fake_ent e[2 * N];
	static char names[2 * N][16];
	struct fake f = {.ents = e, .n = 2 * N};
	struct idmap *m;
	struct idmap_stats st;
	char buf[32];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "u%u", i);
		snprintf(names[N + i], sizeof(names[N + i]), "g%u", i);
		e[i] = (struct fake_ent){false, 100000 + i * 3, names[i]};
		e[N + i] = (struct fake_ent){true, i << 12, names[N + i]}; /* a strided id set */
	}
	m = fake_map(&f);
	idmap_stats(m, &st);
	assert_int_equal(st.users, N);
	assert_int_equal(st.groups, N);
	for (unsigned i = 0; i < N; i++) {
		char want[16];

		snprintf(want, sizeof(want), "u%u", i);
		assert_int_equal(idmap_name_of(m, 100000 + i * 3, false, buf, sizeof(buf)), 0);
		assert_string_equal(buf, want);
		expect_id(m, want, false, 100000 + i * 3);
		snprintf(want, sizeof(want), "g%u", i);
		expect_id(m, want, true, i << 12);
	}
	expect_no_name(m, 100001, false);
	expect_no_id(m, "u50000", false);
	idmap_destroy(m);
}

static void test_source_fails(void **state)
{
	struct fake f = {.ents = basic, .n = sizeof(basic) / sizeof(basic[0]), .fail = -EIO};
	struct idmap *m = fake_map(&f); /* starts empty: owners numeric */
	struct idmap_stats st;

	(void)state;
	idmap_stats(m, &st);
	assert_int_equal(st.generation, 0);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.last_error, -EIO);
	assert_int_equal(st.users, 0);
	expect_no_name(m, 0, false);
	expect_no_id(m, "root", false);

	f.fail = 0; /* the source is back */
	assert_int_equal(idmap_refresh(m), 0);
	expect_name(m, 1000, false, "alice");
	f.fail = -EIO; /* and fails again: the last good snapshot stays */
	assert_int_equal(idmap_refresh(m), -EIO);
	expect_name(m, 1000, false, "alice");
	expect_id(m, "staff", true, 50);
	idmap_stats(m, &st);
	assert_int_equal(st.generation, 1);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.last_error, -EIO);
	assert_int_equal(st.users, 4);

	/* out of memory at creation fails the creation */
	{
		struct fake g = {.fail = -ENOMEM};
		struct idmap_config c = {.enumerate = fake_enum, .ctx = &g};
		struct idmap *n = (struct idmap *)&g;

		assert_int_equal(idmap_create(&n, &c), -ENOMEM);
		assert_null(n);
	}
	idmap_destroy(m);
}

/* ---- refresh racing lookups ------------------------------------------------------------------ */

/* Two generations: even "alice" 1000 and group "dev" 500; odd "alicia" 1000 and "ops" 500.
 * Plus 2000 fillers that change every time, so that each snapshot allocates anew. */
static atomic_uint gen_count;

static int flip_enum(void *ctx, struct idmap_builder *b)
{
	unsigned g = atomic_fetch_add(&gen_count, 1);
	char name[32];
	int rc;

	(void)ctx;
	rc = idmap_builder_add(b, false, 1000, g % 2 ? "alicia" : "alice");
	if (!rc)
		rc = idmap_builder_add(b, true, 500, g % 2 ? "ops" : "dev");
	for (unsigned i = 0; !rc && i < 2000; i++) {
		snprintf(name, sizeof(name), "f%u_%u", g, i);
		rc = idmap_builder_add(b, false, 20000 + i, name);
	}
	return rc;
}

struct racer {
	struct idmap *m;
	atomic_bool *stop;
	unsigned long lookups;
	unsigned long bad;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char buf[32];
	uint32_t id;

	while (!atomic_load(r->stop)) {
		int a, b;

		if (idmap_name_of(r->m, 1000, false, buf, sizeof(buf)) != 0 ||
		    (strcmp(buf, "alice") && strcmp(buf, "alicia")))
			r->bad++;
		if (idmap_name_of(r->m, 500, true, buf, sizeof(buf)) != 0 ||
		    (strcmp(buf, "dev") && strcmp(buf, "ops")))
			r->bad++;
		if (idmap_name_of(r->m, 20000 + (uint32_t)(r->lookups % 2000), false, buf,
				  sizeof(buf)) != 0 || buf[0] != 'f')
			r->bad++;
		/* each name resolves to 1000 when its generation is current */
		a = idmap_id_of(r->m, "alice", false, &id);
		if (a == 0 && id != 1000)
			r->bad++;
		b = idmap_id_of(r->m, "alicia", false, &id);
		if (b == 0 && id != 1000)
			r->bad++;
		if ((a != 0 && a != -ENOENT) || (b != 0 && b != -ENOENT))
			r->bad++;
		r->lookups++;
	}
	return NULL;
}

static void test_refresh_races_lookups(void **state)
{
	struct idmap_config c = {.enumerate = flip_enum};
	struct racer rs[4];
	pthread_t th[4];
	atomic_bool stop = false;
	struct idmap *m;
	struct idmap_stats st;
	unsigned long total = 0;

	(void)state;
	atomic_store(&gen_count, 0);
	assert_int_equal(idmap_create(&m, &c), 0); /* with the refresher thread (600 s) */
	for (int i = 0; i < 4; i++) {
		rs[i] = (struct racer){.m = m, .stop = &stop};
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	}
	for (int i = 0; i < 200; i++) {
		assert_int_equal(idmap_refresh(m), 0);
		if (i % 50 == 0)
			idmap_kick(m); /* the refresher thread swaps too, concurrently */
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(rs[i].bad, 0);
		total += rs[i].lookups;
	}
	assert_true(total > 0);
	idmap_stats(m, &st);
	assert_true(st.generation >= 201);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.users, 2001);
	idmap_destroy(m);
}

/* ---- the refresher thread -------------------------------------------------------------------- */

/* Wait up to secs for the map's generation to reach at least want. */
static bool wait_generation(struct idmap *m, uint64_t want, int secs)
{
	struct idmap_stats st;

	for (int i = 0; i < secs * 100; i++) {
		idmap_stats(m, &st);
		if (st.generation >= want)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_refresher(void **state)
{
	struct fake f = {.ents = basic, .n = sizeof(basic) / sizeof(basic[0])};
	struct idmap_config c = {.enumerate = fake_enum, .ctx = &f, .refresh_secs = 3600};
	struct idmap *m;

	(void)state;
	/* kick: refreshed at once, not in an hour */
	assert_int_equal(idmap_create(&m, &c), 0);
	assert_int_equal(atomic_load(&f.calls), 1);
	idmap_kick(m);
	assert_true(wait_generation(m, 2, 5));
	idmap_kick(m);
	assert_true(wait_generation(m, 3, 5));
	expect_name(m, 1000, false, "alice");
	idmap_destroy(m); /* stops the thread waiting an hour: prompt */

	/* the timer: every second */
	atomic_store(&f.calls, 0);
	c.refresh_secs = 1;
	assert_int_equal(idmap_create(&m, &c), 0);
	assert_true(wait_generation(m, 3, 10));
	expect_id(m, "bob", false, 1001);
	idmap_destroy(m);
	assert_true(atomic_load(&f.calls) >= 3);
}

/* The real source: /etc/passwd and /etc/group have root (uid 0, gid 0) on any Linux. */
static void test_nss(void **state)
{
	struct idmap_config c = {.refresh_secs = 0}; /* enumerate NULL: NSS */
	struct idmap *m;
	struct idmap_stats st;

	(void)state;
	assert_int_equal(idmap_create(&m, &c), 0);
	idmap_stats(m, &st);
	assert_int_equal(st.last_error, 0);
	assert_true(st.users >= 1);
	assert_true(st.groups >= 1);
	expect_name(m, 0, false, "root");
	expect_name(m, 0, true, "root");
	expect_id(m, "root", false, 0);
	expect_id(m, "root", true, 0);
	assert_int_equal(idmap_refresh(m), 0);
	expect_name(m, 0, false, "root");
	idmap_destroy(m);

	/* the defaults (NULL config): NSS and the refresher thread */
	assert_int_equal(idmap_create(&m, NULL), 0);
	expect_id(m, "root", false, 0);
	idmap_kick(m);
	assert_true(wait_generation(m, 2, 10));
	expect_name(m, 0, false, "root");
	idmap_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_duplicates_first_wins),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_source_fails),
		cmocka_unit_test(test_refresh_races_lookups),
		cmocka_unit_test(test_refresher),
		cmocka_unit_test(test_nss),
	};

	return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}

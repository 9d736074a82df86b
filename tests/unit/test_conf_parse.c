/*
 * cmocka tests of the configuration parser (conf/config.c), the accepting side: the shipped
 * example and its documented values, defaults, the demo-mode config, quoting and comments,
 * size suffixes, lists, path normalisation and the lookups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "test_conf_util.h"

/* One valid export, for texts that test the global section. */
#define EXP "export /srv {\n\tid = 1\n}\n"

/* The one message for text, which must be refused. */
static void expect_err(const char *text, const char *want)
{
	struct config *c = (struct config *)&c; /* must be reset to NULL */
	char err[4096];

	assert_int_equal(config_parse_string(text, "t.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_string_equal(err, want);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Line number of the first line of text that starts with prefix (after indentation). */
static unsigned int line_of(const char *text, const char *prefix)
{
	unsigned int line = 1;

	for (const char *s = text; *s; line++) {
		const char *t = s;

		while (*t == ' ' || *t == '\t')
			t++;
		if (strncmp(t, prefix, strlen(prefix)) == 0)
			return line;
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	fail_msg("no line starts with '%s'", prefix);
	return 0;
}

/* The example parses and has exactly the values conf/README.md documents for it. */
static void test_example_file(void **state)
{
	char *text = read_text(SLUICE_CONF_EXAMPLE);
	struct config *c = NULL;
	const struct config_export *e;
	char err[4096];

	(void)state;
	assert_int_equal(config_parse_file(SLUICE_CONF_EXAMPLE, &c, err, sizeof(err)), 0);
	assert_string_equal(c->name, SLUICE_CONF_EXAMPLE);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], ":2049");
	assert_int_equal(c->threads, 0);
	assert_int_equal(c->log_level, CONFIG_LOG_INFO);
	assert_string_equal(c->state_dir, "/var/lib/sluice");
	assert_int_equal(c->lease_time, 90);
	assert_int_equal(c->grace_time, 90);
	assert_int_equal(c->max_record, 1114112); /* 1088K = 1 MiB + 64 KiB */
	assert_string_equal(c->owner_domain, "");
	assert_int_equal(c->cache_size, 1073741824);
	assert_int_equal(c->attr_cache, 60);
	assert_int_equal(c->busy_poll, 5000);
	assert_int_equal(c->nexports, 3);

	e = &c->exports[0];
	assert_int_equal(e->id, 1);
	assert_string_equal(e->path, "/srv/datasets/imagenet");
	assert_string_equal(e->pseudo, "/imagenet");
	assert_int_equal(e->access, CONFIG_ACCESS_RO);
	assert_int_equal(e->squash, CONFIG_SQUASH_ROOT);
	assert_int_equal(e->anonuid, 65534);
	assert_int_equal(e->anongid, 65534);
	assert_int_equal(e->line, line_of(text, "export /srv/datasets/imagenet {"));

	e = &c->exports[1];
	assert_int_equal(e->id, 2);
	assert_string_equal(e->path, "/srv/checkpoints");
	assert_string_equal(e->pseudo, "/checkpoints");
	assert_int_equal(e->access, CONFIG_ACCESS_RW);
	assert_int_equal(e->squash, CONFIG_SQUASH_NONE);
	assert_int_equal(e->line, line_of(text, "export /srv/checkpoints {"));

	e = &c->exports[2];
	assert_int_equal(e->id, 3);
	assert_string_equal(e->path, "/srv/datasets/common crawl");
	assert_string_equal(e->pseudo, "/common-crawl");
	assert_int_equal(e->access, CONFIG_ACCESS_RO);
	assert_int_equal(e->squash, CONFIG_SQUASH_ROOT);
	assert_int_equal(e->anonuid, 65534);

	assert_ptr_equal(config_export_by_id(c, 3), e);
	assert_ptr_equal(config_export_by_pseudo(c, "/imagenet"), &c->exports[0]);
	assert_int_equal(config_pseudo_root(c)->nchildren, 3);
	config_free(c);
	free(text);
}

/*
 * Every key the parser knows is in the example (as "key =") and in the reference
 * (conf/README.md, as "`key`"), and the parser knows every key listed here: the docs cannot
 * drift from the code without this failing.
 */
static void test_docs_cover_every_key(void **state)
{
	static const char *const global[] = {"listen", "threads", "log_level", "state_dir",
					     "lease_time", "grace_time", "max_record",
					     "owner_domain", "cache_size", "attr_cache",
					     "busy_poll"};
	static const char *const exp[] = {"id", "pseudo", "access", "squash", "anonuid",
					  "anongid"};
	char readme_path[4096], *slash, *example = read_text(SLUICE_CONF_EXAMPLE), *readme;
	char buf[256];

	(void)state;
	snprintf(readme_path, sizeof(readme_path), "%s", SLUICE_CONF_EXAMPLE);
	slash = strrchr(readme_path, '/');
	assert_non_null(slash);
	strcpy(slash + 1, "README.md");
	readme = read_text(readme_path);

	for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
		struct config *c;

		snprintf(buf, sizeof(buf), "\n%s =", global[i]);
		if (!strstr(example, buf))
			fail_msg("the example does not set '%s'", global[i]);
		snprintf(buf, sizeof(buf), "`%s`", global[i]);
		if (!strstr(readme, buf))
			fail_msg("README.md does not document '%s'", global[i]);
		/* known to the parser: a duplicate is reported as such, not as unknown */
		snprintf(buf, sizeof(buf), "%s = x\n%s = y\n" EXP, global[i], global[i]);
		{
			char err[1024];

			assert_int_equal(config_parse_string(buf, "t", &c, err, sizeof(err)),
					 -EINVAL);
			assert_non_null(strstr(err, "duplicate key"));
		}
	}
	for (size_t i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
		snprintf(buf, sizeof(buf), "\n    %s =", exp[i]);
		if (!strstr(example, buf))
			fail_msg("the example does not show export key '%s'", exp[i]);
		snprintf(buf, sizeof(buf), "`%s`", exp[i]);
		if (!strstr(readme, buf))
			fail_msg("README.md does not document '%s'", exp[i]);
	}
	free(example);
	free(readme);
}

static void test_defaults(void **state)
{
	struct config *c = parse_ok(EXP);
	const struct config_export *e = &c->exports[0];

	(void)state;
	assert_string_equal(c->name, "t.conf");
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], CONFIG_DEFAULT_LISTEN);
	assert_string_equal(c->listen[0], ":2049");
	assert_int_equal(c->threads, 0);
	assert_int_equal(c->log_level, CONFIG_LOG_INFO);
	assert_string_equal(c->state_dir, "/var/lib/sluice");
	assert_int_equal(c->lease_time, 90);
	assert_int_equal(c->grace_time, 90);
	assert_int_equal(c->max_record, 1024 * 1024 + 64 * 1024);
	assert_string_equal(c->owner_domain, "");
	assert_int_equal(c->cache_size, (uint64_t)1 << 30);
	assert_int_equal(c->attr_cache, CONFIG_DEFAULT_ATTR_CACHE);
	assert_int_equal(c->busy_poll, CONFIG_DEFAULT_BUSY_POLL);

	assert_int_equal(c->nexports, 1);
	assert_int_equal(e->id, 1);
	assert_string_equal(e->path, "/srv");
	assert_string_equal(e->pseudo, "/srv"); /* the path itself */
	assert_int_equal(e->access, CONFIG_ACCESS_RO);
	assert_int_equal(e->squash, CONFIG_SQUASH_ROOT);
	assert_int_equal(e->anonuid, 65534);
	assert_int_equal(e->anongid, 65534);
	assert_int_equal(e->line, 1);
	config_free(c);
}

static void test_every_global_key(void **state)
{
	struct config *c = parse_ok("listen = 127.0.0.1:2050\n"
				    "threads = 8\n"
				    "log_level = debug\n"
				    "state_dir = /var/lib/sluice-test/\n"
				    "lease_time = 30\n"
				    "grace_time = 45\n"
				    "max_record = 4160K\n"
				    "owner_domain = cluster.local\n"
				    "cache_size = 64G\n"
				    "attr_cache = 0\n"
				    "busy_poll = 250\n" EXP);

	(void)state;
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], "127.0.0.1:2050");
	assert_int_equal(c->threads, 8);
	assert_int_equal(c->log_level, CONFIG_LOG_DEBUG);
	assert_string_equal(c->state_dir, "/var/lib/sluice-test");
	assert_int_equal(c->lease_time, 30);
	assert_int_equal(c->grace_time, 45);
	assert_int_equal(c->max_record, 4160 * 1024);
	assert_string_equal(c->owner_domain, "cluster.local");
	assert_int_equal(c->cache_size, (uint64_t)64 << 30);
	assert_int_equal(c->attr_cache, 0);
	assert_int_equal(c->busy_poll, 250);
	config_free(c);
}

static void test_enum_words(void **state)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	char text[256];

	(void)state;
	for (int i = 0; i < 4; i++) {
		struct config *c;

		snprintf(text, sizeof(text), "log_level = %s\n" EXP, levels[i]);
		c = parse_ok(text);
		assert_int_equal(c->log_level, i);
		assert_string_equal(config_log_level_name(c->log_level), levels[i]);
		config_free(c);
	}
	{
		struct config *c = parse_ok("export /a {\n id = 1\n access = rw\n squash = all\n}\n"
					    "export /b {\n id = 2\n access = ro\n squash = none\n}\n");

		assert_int_equal(c->exports[0].access, CONFIG_ACCESS_RW);
		assert_int_equal(c->exports[0].squash, CONFIG_SQUASH_ALL);
		assert_int_equal(c->exports[1].access, CONFIG_ACCESS_RO);
		assert_int_equal(c->exports[1].squash, CONFIG_SQUASH_NONE);
		assert_string_equal(config_access_name(CONFIG_ACCESS_RW), "rw");
		assert_string_equal(config_squash_name(CONFIG_SQUASH_ALL), "all");
		config_free(c);
	}
}

static void test_threads(void **state)
{
	struct config *c;

	(void)state;
	c = parse_ok("threads = auto\n" EXP);
	assert_int_equal(c->threads, 0);
	config_free(c);
	c = parse_ok("threads = 1\n" EXP);
	assert_int_equal(c->threads, 1);
	config_free(c);
	c = parse_ok("threads = 1024\n" EXP);
	assert_int_equal(c->threads, 1024);
	config_free(c);
	expect_err("threads = 0\n" EXP, "t.conf:1: threads: '0' is out of range (auto or 1..1024)");
	expect_err("threads = 1025\n" EXP,
		   "t.conf:1: threads: '1025' is out of range (auto or 1..1024)");
	expect_err("threads = Auto\n" EXP, "t.conf:1: threads: 'Auto' is not a number");
	expect_err("busy_poll = 100001\n" EXP,
		   "t.conf:1: busy_poll: '100001' is out of range (0..100000 microseconds)");
}

static void test_size_suffixes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{"1048576", 1048576},
		{"1024K", 1048576},
		{"1024k", 1048576},
		{"1M", 1048576},
		{"3m", 3 << 20},
		{"2G", (uint64_t)2 << 30},
		{"5g", (uint64_t)5 << 30},
		{"1T", (uint64_t)1 << 40},
		{"16t", (uint64_t)16 << 40},
	};
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"1X", "has a bad size suffix (use K, M, G or T, powers of 1024)"},
		{"1GB", "has a bad size suffix (use K, M, G or T, powers of 1024)"},
		{"1KiB", "has a bad size suffix (use K, M, G or T, powers of 1024)"},
		{"1.5G", "has a bad size suffix (use K, M, G or T, powers of 1024)"},
		{"0x10", "has a bad size suffix (use K, M, G or T, powers of 1024)"},
		{"G", "is not a size (a number with an optional K, M, G or T suffix)"},
		{"-1", "is not a size (a number with an optional K, M, G or T suffix)"},
		{"99999999999999999999", "is too large"},
		{"20000000T", "is too large"},
		{"1023K", "is out of range (1M..16T)"},
		{"17T", "is out of range (1M..16T)"},
	};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct config *c;

		snprintf(text, sizeof(text), "cache_size = %s\n" EXP, good[i].text);
		c = parse_ok(text);
		assert_int_equal(c->cache_size, good[i].bytes);
		config_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "cache_size = %s\n" EXP, bad[i].text);
		snprintf(want, sizeof(want), "t.conf:1: cache_size: '%s' %s", bad[i].text,
			 bad[i].msg);
		expect_err(text, want);
	}
	/* max_record takes sizes as well, with its own range */
	expect_err("max_record = 16K\n" EXP, "t.conf:1: max_record: '16K' is out of range (32K..64M)");
}

static void test_quoting_and_comments(void **state)
{
	struct config *c = parse_ok("# a comment line\n"
				    "\n"
				    "   \t  \n"
				    "threads=4# no spaces needed\r\n"
				    "owner_domain = \"example.com\"   # quoted\n"
				    "state_dir = \"/var/lib/with # hash\"\n"
				    "export \"/data/my set\" { # opening\n"
				    "\tid = 1\n"
				    "\tpseudo = \"/my set\"\n"
				    "}   # closing\n"
				    "export \"/data/q\\\"uote\\\\back\" {\n"
				    "\tid = 2\n"
				    "}\n");

	(void)state;
	assert_int_equal(c->threads, 4);
	assert_string_equal(c->owner_domain, "example.com");
	assert_string_equal(c->state_dir, "/var/lib/with # hash");
	assert_string_equal(c->exports[0].path, "/data/my set");
	assert_string_equal(c->exports[0].pseudo, "/my set");
	assert_int_equal(c->exports[0].line, 7);
	assert_string_equal(c->exports[1].path, "/data/q\"uote\\back");
	assert_int_equal(c->exports[1].line, 11);
	config_free(c);

	/* owner_domain may be empty, bare or quoted */
	c = parse_ok("owner_domain =\n" EXP);
	assert_string_equal(c->owner_domain, "");
	config_free(c);
	c = parse_ok("owner_domain = \"\"\n" EXP);
	assert_string_equal(c->owner_domain, "");
	config_free(c);
	/* no newline at the end of the file */
	c = parse_ok("export /srv {\n\tid = 1\n}");
	assert_int_equal(c->nexports, 1);
	config_free(c);
}

static void test_listen_list(void **state)
{
	struct config *c = parse_ok("listen = 0.0.0.0:2049, [::]:2049 ,10.1.2.3,"
				    "nfs.example:2050, fe80::1, [fe80::2], :0\n" EXP);

	(void)state;
	assert_int_equal(c->nlisten, 7);
	assert_string_equal(c->listen[0], "0.0.0.0:2049");
	assert_string_equal(c->listen[1], "[::]:2049");
	assert_string_equal(c->listen[2], "10.1.2.3");
	assert_string_equal(c->listen[3], "nfs.example:2050");
	assert_string_equal(c->listen[4], "fe80::1");
	assert_string_equal(c->listen[5], "[fe80::2]");
	assert_string_equal(c->listen[6], ":0");
	config_free(c);
}

static void test_path_normalisation(void **state)
{
	struct config *c = parse_ok("state_dir = //var//lib/./sluice/\n"
				    "export //srv/./data/ {\n\tid = 1\n\tpseudo = /a//b/\n}\n"
				    "export / {\n\tid = 2\n\tpseudo = /root\n}\n");

	(void)state;
	assert_string_equal(c->state_dir, "/var/lib/sluice");
	assert_string_equal(c->exports[0].path, "/srv/data");
	assert_string_equal(c->exports[0].pseudo, "/a/b");
	assert_string_equal(c->exports[1].path, "/");
	config_free(c);
}

static void test_lookups(void **state)
{
	struct config *c = parse_ok("export /x {\n id = 7\n pseudo = /a\n}\n"
				    "export /y {\n id = 3\n pseudo = /b/c\n}\n"
				    "export /z {\n id = 4294967295\n pseudo = /b/d\n}\n");

	(void)state;
	assert_ptr_equal(config_export_by_id(c, 7), &c->exports[0]);
	assert_ptr_equal(config_export_by_id(c, 3), &c->exports[1]);
	assert_ptr_equal(config_export_by_id(c, 4294967295u), &c->exports[2]);
	assert_null(config_export_by_id(c, 0));
	assert_null(config_export_by_id(c, 5));
	assert_null(config_export_by_id(c, 8));

	assert_ptr_equal(config_export_by_pseudo(c, "/a"), &c->exports[0]);
	assert_ptr_equal(config_export_by_pseudo(c, "/a/"), &c->exports[0]);
	assert_ptr_equal(config_export_by_pseudo(c, "/b/c"), &c->exports[1]);
	assert_ptr_equal(config_export_by_pseudo(c, "//b//d"), &c->exports[2]);
	assert_null(config_export_by_pseudo(c, "/b"));   /* a pseudo directory */
	assert_null(config_export_by_pseudo(c, "/"));    /* the pseudo-root */
	assert_null(config_export_by_pseudo(c, "/nope"));
	assert_null(config_export_by_pseudo(c, "/a/x")); /* inside the export: not ours */
	assert_null(config_export_by_pseudo(c, "a"));    /* relative */
	config_free(c);
}

static void test_demo_default(void **state)
{
	struct config *c = NULL;
	const struct config_export *e;
	char err[1024], *cwd, want[8192];

	(void)state;
	assert_int_equal(config_default_for_export("/srv/demo/", &c, err, sizeof(err)), 0);
	assert_string_equal(c->name, "--export");
	assert_int_equal(c->nexports, 1);
	e = &c->exports[0];
	assert_int_equal(e->id, 1);
	assert_string_equal(e->path, "/srv/demo");
	assert_string_equal(e->pseudo, "/");
	assert_int_equal(e->access, CONFIG_ACCESS_RW);
	assert_int_equal(e->squash, CONFIG_SQUASH_NONE);
	assert_int_equal(e->anonuid, 65534);
	assert_int_equal(e->line, 0);
	/* everything else is the default of a config file */
	assert_string_equal(c->listen[0], ":2049");
	assert_int_equal(c->threads, 0);
	assert_int_equal(c->cache_size, (uint64_t)1 << 30);
	/* the export is the pseudo-root */
	assert_ptr_equal(config_pseudo_root(c)->export, e);
	assert_int_equal(config_pseudo_root(c)->nchildren, 0);
	assert_ptr_equal(config_export_by_pseudo(c, "/"), e);
	assert_ptr_equal(config_export_by_id(c, 1), e);
	config_free(c);

	/* quotes and backslashes in the name survive the round trip through the parser */
	assert_int_equal(config_default_for_export("/tmp/a \"b\" \\c #d", &c, err, sizeof(err)),
			 0);
	assert_string_equal(c->exports[0].path, "/tmp/a \"b\" \\c #d");
	config_free(c);

	/* relative: from the current directory */
	cwd = getcwd(NULL, 0);
	assert_non_null(cwd);
	assert_int_equal(config_default_for_export("data/./set", &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/data/set", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(c->exports[0].path, want);
	config_free(c);
	free(cwd);

	/* refusals speak of --export, without line numbers */
	assert_int_equal(config_default_for_export("/a/../b", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_string_equal(err, "--export: export path '/a/../b' must not contain '..'");
	assert_int_equal(config_default_for_export("", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--export: no directory given");
	assert_int_equal(config_default_for_export("/a\nb", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--export: the directory name contains a line break");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_docs_cover_every_key),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_global_key),
		cmocka_unit_test(test_enum_words),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_quoting_and_comments),
		cmocka_unit_test(test_listen_list),
		cmocka_unit_test(test_path_normalisation),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_demo_default),
	};
	return cmocka_run_group_tests_name("conf_parse", tests, NULL, NULL);
}

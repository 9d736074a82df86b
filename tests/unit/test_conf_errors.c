/*
 * cmocka tests of the configuration parser (conf/config.c), the refusing side: each kind of
 * error with its line number and exact message, several errors in one run (in line order),
 * the cap on messages, a small error buffer, and errors reading the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* One valid export (3 lines), for texts that test the global section. */
#define EXP "export /srv {\n\tid = 1\n}\n"

static void expect_err(const char *text, const char *want)
{
	struct config *c = (struct config *)&c; /* must be reset to NULL */
	char err[8192];

	assert_int_equal(config_parse_string(text, "t.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_string_equal(err, want);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_err("thredas = 4\n" EXP, "t.conf:1: unknown key 'thredas' (did you mean 'threads'?)");
	expect_err(EXP "lease = 90\n", "t.conf:4: unknown key 'lease'");
	expect_err("frobnicate = yes\n" EXP, "t.conf:1: unknown key 'frobnicate'");
	expect_err("export /srv {\n\tid = 1\n\tacess = rw\n}\n",
		   "t.conf:3: unknown key 'acess' (did you mean 'access'?)");
	expect_err("Threads = 4\n" EXP, "t.conf:1: unknown key 'Threads' (did you mean 'threads'?)");
	/* keys of the other scope */
	expect_err("id = 4\n" EXP,
		   "t.conf:1: 'id' is an export setting: put it inside an 'export PATH { }' block");
	expect_err("export /srv {\n\tid = 1\n\tthreads = 4\n}\n",
		   "t.conf:3: 'threads' is a global setting, not one of an export");
	expect_err("export = /srv\n" EXP, "t.conf:1: 'export' starts a block: export PATH {");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_err("threads = 4\nlog_level = info\nthreads = 8\n" EXP,
		   "t.conf:3: duplicate key 'threads' (first set on line 1)");
	expect_err("export /srv {\n\tid = 1\n\taccess = ro\n\taccess = rw\n}\n",
		   "t.conf:4: duplicate key 'access' (first set on line 3)");
	/* the same key in two blocks is not a duplicate */
	{
		struct config *c;
		char err[256];

		assert_int_equal(config_parse_string("export /a {\n id = 1\n access = rw\n}\n"
						     "export /b {\n id = 2\n access = rw\n}\n",
						     "t.conf", &c, err, sizeof(err)),
				 0);
		config_free(c);
	}
}

static void test_export_ids(void **state)
{
	(void)state;
	expect_err("export /a {\n\tid = 7\n}\nexport /b {\n\tid = 7\n}\n",
		   "t.conf:5: export id 7 is already used by the export on line 1");
	expect_err("export /a {\n\tid = 0\n}\n", "t.conf:2: id: 0 is reserved for the pseudo-root");
	expect_err("export /a {\n\taccess = rw\n}\n",
		   "t.conf:1: export /a has no id (ids go into file handles: pick one, never reuse "
		   "it)");
	expect_err("export /a {\n\tid = 4294967296\n}\n",
		   "t.conf:2: id: '4294967296' is out of range (1..4294967295)");
	expect_err("export /a {\n\tid = -1\n}\n", "t.conf:2: id: '-1' is not a number");
	expect_err("export /a {\n\tid = 0x10\n}\n", "t.conf:2: id: '0x10' is not a number");
}

static void test_pseudo_conflicts(void **state)
{
	(void)state;
	/* the same pseudo path, given or defaulted */
	expect_err("export /a {\n id = 1\n pseudo = /x\n}\nexport /b {\n id = 2\n pseudo = /x/\n}\n",
		   "t.conf:7: pseudo path '/x' is already used by the export on line 1");
	expect_err("export /a {\n id = 1\n}\nexport /b {\n id = 2\n pseudo = /a\n}\n",
		   "t.conf:6: pseudo path '/a' is already used by the export on line 1");
	expect_err("export /a {\n id = 1\n}\nexport /a {\n id = 2\n}\n",
		   "t.conf:4: pseudo path '/a' is already used by the export on line 1");
	/* nesting, either order */
	expect_err("export /a {\n id = 1\n}\nexport /b {\n id = 2\n pseudo = /a/b\n}\n",
		   "t.conf:6: pseudo path '/a/b' is inside '/a' of the export on line 1: exports "
		   "may not nest");
	expect_err("export /a/b {\n id = 1\n}\nexport /a {\n id = 2\n}\n",
		   "t.conf:4: pseudo path '/a' contains '/a/b' of the export on line 1: exports "
		   "may not nest");
	/* a root export leaves room for nothing else */
	expect_err("export /r {\n id = 1\n pseudo = /\n}\nexport /b {\n id = 2\n}\n",
		   "t.conf:5: pseudo path '/b' is inside '/' of the export on line 1: an export at "
		   "'/' must be the only one");
	expect_err("export /b {\n id = 2\n}\nexport /r {\n id = 1\n pseudo = /\n}\n",
		   "t.conf:6: pseudo path '/' contains '/b' of the export on line 1: an export at "
		   "'/' must be the only one");
	/* siblings with a common prefix are fine: /ab is not inside /a */
	{
		struct config *c;
		char err[256];

		assert_int_equal(config_parse_string("export /a {\n id = 1\n}\n"
						     "export /ab {\n id = 2\n}\n",
						     "t.conf", &c, err, sizeof(err)),
				 0);
		config_free(c);
	}
}

static void test_paths(void **state)
{
	(void)state;
	expect_err("export srv/data {\n\tid = 1\n}\n",
		   "t.conf:1: export path 'srv/data' is not absolute");
	expect_err("export /srv {\n\tid = 1\n\tpseudo = data\n}\n",
		   "t.conf:3: pseudo: 'data' is not absolute");
	expect_err("state_dir = var/lib/sluice\n" EXP,
		   "t.conf:1: state_dir: 'var/lib/sluice' is not absolute");
	expect_err("export /srv/../etc {\n\tid = 1\n}\n",
		   "t.conf:1: export path '/srv/../etc' must not contain '..'");
	expect_err("export /srv {\n\tid = 1\n\tpseudo = \"/caf\xc3\"\n}\n",
		   "t.conf:3: pseudo: '/caf\xc3' is not valid UTF-8 (clients see these names)");
}

static void test_ranges(void **state)
{
	(void)state;
	expect_err("lease_time = 5\n" EXP,
		   "t.conf:1: lease_time: '5' is out of range (10..3600 seconds)");
	expect_err("grace_time = 3601\n" EXP,
		   "t.conf:1: grace_time: '3601' is out of range (10..3600 seconds)");
	expect_err("max_record = 128M\n" EXP,
		   "t.conf:1: max_record: '128M' is out of range (32K..64M)");
	expect_err("cache_size = 12Q\n" EXP,
		   "t.conf:1: cache_size: '12Q' has a bad size suffix (use K, M, G or T, powers "
		   "of 1024)");
	expect_err("export /srv {\n\tid = 1\n\tanonuid = 4294967295\n}\n",
		   "t.conf:3: anonuid: '4294967295' is out of range (0..4294967294)");
	expect_err("export /srv {\n\tid = 1\n\tanongid = nogroup\n}\n",
		   "t.conf:3: anongid: 'nogroup' is not a number");
	expect_err("lease_time = 120\n" EXP,
		   "t.conf:1: grace_time (90) is shorter than lease_time (120): clients that renew "
		   "once a lease period could miss the grace period");
	expect_err("lease_time = 60\ngrace_time = 30\n" EXP,
		   "t.conf:2: grace_time (30) is shorter than lease_time (60): clients that renew "
		   "once a lease period could miss the grace period");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_err("log_level = verbose\n" EXP,
		   "t.conf:1: log_level: 'verbose' is not one of error, warn, info or debug");
	expect_err("export /srv {\n\tid = 1\n\taccess = RW\n}\n",
		   "t.conf:3: access: 'RW' is not one of ro or rw");
	expect_err("export /srv {\n\tid = 1\n\tsquash = root_squash\n}\n",
		   "t.conf:3: squash: 'root_squash' is not one of none, root or all");
	expect_err("threads =\n" EXP, "t.conf:1: threads: missing value");
	expect_err("threads = 4 8\n" EXP,
		   "t.conf:1: threads: one value expected, got 2 (quote values that contain "
		   "spaces)");
	expect_err("threads = 4, 8\n" EXP, "t.conf:1: threads: one value expected, got 2");
	expect_err("owner_domain = a=b\n" EXP, "t.conf:1: owner_domain: unexpected '=' (quote the value)");
	expect_err("owner_domain = user@example.com\n" EXP,
		   "t.conf:1: owner_domain: 'user@example.com' is not a domain name (letters, "
		   "digits, '.', '-', '_')");
}

static void test_listen_errors(void **state)
{
	(void)state;
	expect_err("listen = [::1\n" EXP,
		   "t.conf:1: listen: '[::1' has unbalanced or empty brackets");
	expect_err("listen = []:2049\n" EXP,
		   "t.conf:1: listen: '[]:2049' has unbalanced or empty brackets");
	expect_err("listen = ::1]\n" EXP, "t.conf:1: listen: '::1]' has unbalanced brackets");
	expect_err("listen = [::1]2049\n" EXP,
		   "t.conf:1: listen: '[::1]2049' has text after ']' that is not ':port'");
	expect_err("listen = 1.2.3.4:99999\n" EXP,
		   "t.conf:1: listen: '1.2.3.4:99999' has a bad port (0..65535)");
	expect_err("listen = host:\n" EXP, "t.conf:1: listen: 'host:' has an empty port");
	expect_err("listen = :2049, :2049\n" EXP, "t.conf:1: listen: ':2049' is given twice");
	expect_err("listen = a b\n" EXP, "t.conf:1: listen: separate addresses with ','");
	expect_err("listen = a,\n" EXP, "t.conf:1: listen: ',' at the end of the list");
	expect_err("listen = , a\n" EXP, "t.conf:1: listen: unexpected ',' (empty list item)");
	expect_err("listen = a,,b\n" EXP, "t.conf:1: listen: unexpected ',' (empty list item)");
	expect_err("listen =\n" EXP, "t.conf:1: listen: no address given");
	expect_err("listen = \"\"\n" EXP,
		   "t.conf:1: listen: '' is empty (':2049' means every address)");
}

static void test_syntax(void **state)
{
	(void)state;
	expect_err("state_dir = \"/var/lib\n" EXP, "t.conf:1: unterminated string (missing '\"')");
	expect_err("state_dir = \"/var\\n\"\n" EXP,
		   "t.conf:1: unknown escape in string (only \\\" and \\\\)");
	/* a broken block header still opens the block: one mistake, one message */
	expect_err("export \"/srv {\n\tid = 1\n\taccess = rw\n}\n",
		   "t.conf:1: unterminated string (missing '\"')");
	expect_err("export /srv {\n\tid = 1\n}\nclient \"* {\n\tro = yes\n}\n",
		   "t.conf:4: unterminated string (missing '\"')");
	expect_err("state_dir = \"/var\"lib\n" EXP, "t.conf:1: text right after a closing '\"'");
	expect_err("state_dir = /var\"lib\"\n" EXP,
		   "t.conf:1: '\"' inside a word (quote the whole value)");
	expect_err("threads\n" EXP, "t.conf:1: expected 'key = value' or 'export PATH {'");
	expect_err("}\n" EXP, "t.conf:1: '}' without an open block");
	expect_err("export /srv\n\tid = 1\n}\n",
		   "t.conf:1: export: '{' must end the 'export PATH' line\n"
		   "t.conf:2: 'id' is an export setting: put it inside an 'export PATH { }' block\n"
		   "t.conf:3: '}' without an open block\n"
		   "t.conf: no exports: nothing to serve (add an 'export PATH { }' block)");
	expect_err("export /a /b {\n\tid = 1\n}\n",
		   "t.conf:1: export: one path expected (quote paths with spaces)");
	expect_err("export /srv {\n\tid = 1\n",
		   "t.conf:1: export block is not closed (missing '}')");
	expect_err("export /a {\n\tid = 1\nexport /b {\n\tid = 2\n}\n",
		   "t.conf:3: export blocks do not nest ('}' missing for the export on line 1?)");
	expect_err("export /srv {\n\tid = 1\n\tpseudo = /x }\n",
		   "t.conf:3: '}' must be on a line of its own");
	expect_err("export /srv {\n\tid = 1\n\tclient 10.0.0.0/8 {\n\t\tro = yes\n\t}\n}\n",
		   "t.conf:3: no blocks inside an export block");
	/* an unknown block is reported once, and what is inside it is skipped */
	expect_err("NFS_Core_Param {\n\tMonitoring_Port = 9587\n\tinner {\n\t}\n}\n" EXP,
		   "t.conf:1: unknown block 'NFS_Core_Param' (the only block is 'export PATH {')");
	expect_err("global {\n\tthreads = 4\n" EXP,
		   "t.conf:1: unknown block 'global' (the only block is 'export PATH {')\n"
		   "t.conf:1: block is not closed (missing '}')\n"
		   "t.conf: no exports: nothing to serve (add an 'export PATH { }' block)");
	expect_err("# nothing but comments\n\n",
		   "t.conf: no exports: nothing to serve (add an 'export PATH { }' block)");
	expect_err("", "t.conf: no exports: nothing to serve (add an 'export PATH { }' block)");
}

/* Several mistakes: all reported, in line order, whatever order they were found in. */
static void test_multiple_errors(void **state)
{
	(void)state;
	expect_err("thredas = 4\n"                  /* 1 */
		   "cache_size = 1X\n"              /* 2 */
		   "export relative {\n"            /* 3: relative, and no id */
		   "\taccess = rx\n"                /* 4 */
		   "}\n"                            /* 5 */
		   "export /b {\n"                  /* 6 */
		   "\tid = 0\n"                     /* 7 */
		   "\tid = 2\n"                     /* 8 */
		   "}\n"                            /* 9 */
		   "export /c {\n"                  /* 10 */
		   "\tid = 2\n"                     /* 11: not a duplicate: line 8 was refused */
		   "\tpseudo = /b/c\n"              /* 12 */
		   "}\n"                            /* 13 */
		   "lease_time = 1\n",              /* 14 */
		   "t.conf:1: unknown key 'thredas' (did you mean 'threads'?)\n"
		   "t.conf:2: cache_size: '1X' has a bad size suffix (use K, M, G or T, powers of "
		   "1024)\n"
		   "t.conf:3: export path 'relative' is not absolute\n"
		   "t.conf:3: export has no id (ids go into file handles: pick one, never reuse "
		   "it)\n"
		   "t.conf:4: access: 'rx' is not one of ro or rw\n"
		   "t.conf:7: id: 0 is reserved for the pseudo-root\n"
		   "t.conf:8: duplicate key 'id' (first set on line 7)\n"
		   "t.conf:12: pseudo path '/b/c' is inside '/b' of the export on line 6: exports "
		   "may not nest\n"
		   "t.conf:14: lease_time: '1' is out of range (10..3600 seconds)");
}

/* More than CONFIG_MAX_ERRORS: the first ones are shown, the rest counted. */
static void test_error_cap(void **state)
{
	char text[4096] = "", want[8192] = "";
	size_t t = 0, w = 0;

	(void)state;
	for (int i = 1; i <= CONFIG_MAX_ERRORS + 7; i++) {
		t += (size_t)snprintf(text + t, sizeof(text) - t, "bogus%d = 1\n", i);
		if (i <= CONFIG_MAX_ERRORS)
			w += (size_t)snprintf(want + w, sizeof(want) - w,
					      "t.conf:%d: unknown key 'bogus%d'\n", i, i);
	}
	snprintf(text + t, sizeof(text) - t, EXP);
	snprintf(want + w, sizeof(want) - w, "t.conf: ... and 7 more errors");
	expect_err(text, want);
}

/* A short buffer: cut, always terminated; the return value still says what happened. */
static void test_small_buffer(void **state)
{
	struct config *c;
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_parse_string("thredas = 1\n" EXP, "t.conf", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.conf:1: unkno");
	assert_int_equal(config_parse_string("thredas = 1\n" EXP, "t.conf", &c, err, 0), -EINVAL);
	assert_null(c);
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_file_errors(void **state)
{
	char dir[] = "/tmp/test_conf_errors.XXXXXX", path[256], err[512], want[512];
	struct config *c = (struct config *)&c;
	char *big;

	(void)state;
	assert_non_null(mkdtemp(dir));

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(config_parse_file(path, &c, err, sizeof(err)), -ENOENT);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	assert_int_equal(config_parse_file(dir, &c, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/nul.conf", dir);
	write_file(path, "threads = 1\nlog_level = info\0\n", 30);
	assert_int_equal(config_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte (not a text file?)", path);
	assert_string_equal(err, want);
	unlink(path);

	/* a file's messages start with its name as given */
	snprintf(path, sizeof(path), "%s/sluice.conf", dir);
	write_file(path, "export /srv {\n\tid = 1\n\tthredas = 4\n}\n", 37);
	assert_int_equal(config_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: unknown key 'thredas'", path);
	assert_string_equal(err, want);
	unlink(path);

	snprintf(path, sizeof(path), "%s/big.conf", dir);
	big = malloc(CONFIG_MAX_FILE_SIZE + 1);
	assert_non_null(big);
	memset(big, '#', CONFIG_MAX_FILE_SIZE + 1);
	write_file(path, big, CONFIG_MAX_FILE_SIZE);
	assert_int_equal(config_parse_file(path, &c, err, sizeof(err)), -EINVAL); /* no exports */
	write_file(path, big, CONFIG_MAX_FILE_SIZE + 1);
	assert_int_equal(config_parse_file(path, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	assert_string_equal(err, want);
	free(big);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_export_ids),
		cmocka_unit_test(test_pseudo_conflicts),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests_name("conf_errors", tests, NULL, NULL);
}

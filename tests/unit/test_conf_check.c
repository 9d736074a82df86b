/*
 * cmocka tests of config_check() (conf/config.c): export paths must exist and be directories
 * when the server starts. The only conf tests that touch the file system (a private temporary
 * directory).
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "test_conf_util.h"

struct fixture {
	char dir[64];
	char path[4][256]; /* ok/, file, link -> ok, missing */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_conf_check.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path[0], sizeof(f->path[0]), "%s/ok", f->dir);
	snprintf(f->path[1], sizeof(f->path[1]), "%s/file", f->dir);
	snprintf(f->path[2], sizeof(f->path[2]), "%s/link", f->dir);
	snprintf(f->path[3], sizeof(f->path[3]), "%s/missing", f->dir);
	if (mkdir(f->path[0], 0700) < 0)
		return -1;
	fd = open(f->path[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	if (symlink(f->path[0], f->path[2]) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path[2]);
	unlink(f->path[1]);
	rmdir(f->path[0]);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_all_good(void **state)
{
	struct fixture *f = *state;
	char text[2048], err[1024];
	struct config *c;

	snprintf(text, sizeof(text),
		 "export %s {\n id = 1\n}\n"
		 "export %s {\n id = 2\n}\n", /* a symlink to a directory is followed */
		 f->path[0], f->path[2]);
	c = parse_ok(text);
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	config_free(c);
}

/* Every bad export is reported, on the line of its "export". */
static void test_missing_and_not_dir(void **state)
{
	struct fixture *f = *state;
	char text[2048], err[2048], want[2048];
	struct config *c;

	snprintf(text, sizeof(text),
		 "export %s {\n id = 1\n}\n"                  /* 1 */
		 "export %s {\n id = 2\n}\n"                  /* 4 */
		 "# a comment\n"                               /* 7 */
		 "export %s {\n id = 3\n}\n"                  /* 8 */
		 "export \"%s/no such dir\" {\n id = 4\n}\n", /* 11 */
		 f->path[0], f->path[3], f->path[1], f->dir);
	c = parse_ok(text);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "t.conf:4: export %s: No such file or directory\n"
		 "t.conf:8: export %s: not a directory\n"
		 "t.conf:11: export %s/no such dir: No such file or directory",
		 f->path[3], f->path[1], f->dir);
	assert_string_equal(err, want);
	config_free(c);
}

/* Parsing never looks at the file system: the same text parses whether or not paths exist. */
static void test_parse_is_pure(void **state)
{
	struct config *c = parse_ok("export /nonexistent/sluice-test/dir {\n id = 1\n}\n");
	char err[512];

	(void)state;
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:1: export /nonexistent/sluice-test/dir: No such file or "
				 "directory");
	config_free(c);
}

static void test_demo_mode(void **state)
{
	struct fixture *f = *state;
	struct config *c;
	char err[512], want[512];

	assert_int_equal(config_default_for_export(f->path[0], &c, err, sizeof(err)), 0);
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
	config_free(c);

	assert_int_equal(config_default_for_export(f->path[1], &c, err, sizeof(err)), 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--export: export %s: not a directory", f->path[1]);
	assert_string_equal(err, want);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_not_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_is_pure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_mode, setup, teardown),
	};
	return cmocka_run_group_tests_name("conf_check", tests, NULL, NULL);
}

/* cmocka tests of the sluiced command line (server/cli.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli.h"

#define PARSE(o, err, ...)                                                                 \
	({                                                                                 \
		char *argv_[] = {"sluiced", __VA_ARGS__, NULL};                            \
		cli_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (o), (err), \
			  sizeof(err));                                                    \
	})

static void test_export_demo(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--export", "/srv/demo"), 0);
	assert_int_equal(o.action, CLI_RUN);
	assert_string_equal(o.export_dir, "/srv/demo");
	assert_null(o.config_path);
	assert_null(o.listen);
	assert_int_equal(o.log_level, LL_INFO);
}

static void test_config_listen_level(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-c", "/etc/sluice.conf", "-l", "[::1]:2050", "--log-level",
			       "debug"),
			 0);
	assert_string_equal(o.config_path, "/etc/sluice.conf");
	assert_string_equal(o.listen, "[::1]:2050");
	assert_int_equal(o.log_level, LL_DEBUG);
}

static void test_check_only(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-n", "-c", "x.conf"), 0);
	assert_int_equal(o.action, CLI_CHECK_CONFIG);
}

static void test_version_needs_nothing_else(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-V"), 0);
	assert_int_equal(o.action, CLI_VERSION);
	assert_int_equal(PARSE(&o, err, "--help"), 0);
	assert_int_equal(o.action, CLI_HELP);
}

static void test_rejections(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--bogus"), -EINVAL);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(PARSE(&o, err, "--export"), -EINVAL);
	assert_non_null(strstr(err, "needs an argument"));
	assert_int_equal(PARSE(&o, err, "--export", "/a", "stray"), -EINVAL);
	assert_non_null(strstr(err, "stray"));
	assert_int_equal(PARSE(&o, err, "--export", "/a", "-c", "b"), -EINVAL);
	assert_int_equal(PARSE(&o, err, "--log-level", "loud", "-e", "/a"), -EINVAL);
	assert_non_null(strstr(err, "loud"));
	assert_int_equal(PARSE(&o, err, "-l", "127.0.0.1"), -EINVAL);
	assert_non_null(strstr(err, "nothing to serve"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_demo),
		cmocka_unit_test(test_config_listen_level),
		cmocka_unit_test(test_check_only),
		cmocka_unit_test(test_version_needs_nothing_else),
		cmocka_unit_test(test_rejections),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}

/* Shared by the conf unit tests; include after <cmocka.h> and "config.h". */
#ifndef SLUICE_TEST_CONF_UTIL_H
#define SLUICE_TEST_CONF_UTIL_H

/* Parse text that must be valid; on failure print the parser's messages and fail the test. */
static inline struct config *parse_ok(const char *text)
{
	struct config *c = NULL;
	char err[4096];
	int ret = config_parse_string(text, "t.conf", &c, err, sizeof(err));

	if (ret)
		print_error("unexpected error(s):\n%s\n", err);
	assert_int_equal(ret, 0);
	assert_non_null(c);
	assert_string_equal(err, "");
	return c;
}

#endif

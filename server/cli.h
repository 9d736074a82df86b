/* Command line of sluiced. Parsing is separate from main() so it can be unit-tested. */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

enum cli_action {
	CLI_RUN,          /* serve */
	CLI_CHECK_CONFIG, /* -n: check the configuration and exit */
	CLI_VERSION,      /* -V: print the version and exit */
	CLI_HELP,         /* -h: print usage and exit */
};

struct cli_opts {
	enum cli_action action;
	const char *config_path; /* -c FILE, NULL when not given */
	const char *export_dir;  /* --export DIR: serve DIR alone (the demo mode) */
	const char *listen;      /* -l ADDR[:PORT] or [ADDR6]:PORT, NULL for the default */
	const char *state_dir;   /* --state-dir DIR: client records (replaces the configured one) */
	enum log_level log_level;
};

/*
 * Parse argv into *o. Returns 0, or -EINVAL with a one-line reason in err.
 * Rejects: unknown options, missing arguments, stray operands, an unknown log level,
 * and a run with neither a config file nor an export (there would be nothing to serve).
 */
int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err, size_t errlen);

/* The usage text, for -h and errors. */
const char *cli_usage(void);

#endif

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: sluiced [-c FILE | --export DIR] [-l ADDR[:PORT]] [--state-dir DIR] [--log-level LEVEL]\n"
	"               [-n] [-V] [-h]\n"
	"  -c, --config FILE     configuration file (see conf/sluice.conf.example)\n"
	"  -e, --export DIR      serve DIR as the only export (demo mode, no config file)\n"
	"  -l, --listen ADDR     listen address, host[:port] or [v6addr]:port (default all, 2049)\n"
	"      --state-dir DIR   client records for reclaims after a restart (default\n"
	"                        /var/lib/sluice, or state_dir of the configuration)\n"
	"      --log-level L     error, warn, info (default) or debug\n"
	"  -n, --check           check the configuration and exit\n"
	"  -V, --version         print the version and exit\n"
	"  -h, --help            print this help and exit\n";

const char *cli_usage(void)
{
	return usage;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err, size_t errlen)
{
	enum { OPT_LOG_LEVEL = 256, OPT_STATE_DIR };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"export", required_argument, NULL, 'e'},
		{"listen", required_argument, NULL, 'l'},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"check", no_argument, NULL, 'n'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct cli_opts){.action = CLI_RUN, .log_level = LL_INFO};
	err[0] = '\0';
	optind = 0; /* GNU getopt: 0 re-initialises, so parsing twice in one process works */
	opterr = 0; /* we report errors ourselves */
	while ((c = getopt_long(argc, argv, ":c:e:l:nVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'e':
			o->export_dir = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case OPT_STATE_DIR:
			if (optarg[0] != '/')
				return fail(err, errlen, "--state-dir needs an absolute path, not '%s'", optarg);
			o->state_dir = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (parse_level(optarg, &o->log_level) < 0)
				return fail(err, errlen, "unknown log level '%s'", optarg);
			break;
		case 'n':
			o->action = CLI_CHECK_CONFIG;
			break;
		case 'V':
			o->action = CLI_VERSION;
			return 0;
		case 'h':
			o->action = CLI_HELP;
			return 0;
		case ':':
			return fail(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (o->config_path && o->export_dir)
		return fail(err, errlen, "give either --config or --export, not both");
	if (!o->config_path && !o->export_dir)
		return fail(err, errlen, "nothing to serve: give --config FILE or --export DIR");
	return 0;
}

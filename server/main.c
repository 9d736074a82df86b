/*
 * sluiced — a user-space NFSv4 server for ML datasets.
 *
 * So far: the command line and the configuration (parsed and checked; -n stops there). The
 * RPC front end, compound engine and storage engine exist as libraries (docs/ARCHITECTURE.md)
 * but are not wired into a serving loop yet, so a run that would serve says so and fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "version.h"

/* Parse (the file, or the demo default for --export) and check; errors go to stderr. */
static struct config *load_config(const struct cli_opts *o)
{
	struct config *c = NULL;
	char err[4096];
	int ret;

	if (o->config_path)
		ret = config_parse_file(o->config_path, &c, err, sizeof(err));
	else
		ret = config_default_for_export(o->export_dir, &c, err, sizeof(err));
	if (ret == 0)
		ret = config_check(c, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s", err);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		config_free(c);
		return NULL;
	}
	return c;
}

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct config *c;
	char err[256];

	if (cli_parse(argc, argv, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluiced: %s\n%s", err, cli_usage());
		return 2;
	}
	switch (o.action) {
	case CLI_VERSION:
		printf("sluiced %s\n", SLUICE_VERSION);
		return 0;
	case CLI_HELP:
		fputs(cli_usage(), stdout);
		return 0;
	case CLI_CHECK_CONFIG:
	case CLI_RUN:
		break;
	}
	c = load_config(&o);
	if (!c)
		return 1;
	if (o.action == CLI_CHECK_CONFIG) {
		printf("configuration OK\n");
		config_free(c);
		return 0;
	}
	fprintf(stderr, "sluiced %s: configuration OK, but serving is not built yet\n", SLUICE_VERSION);
	config_free(c);
	return 1;
}

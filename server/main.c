/*
 * sluiced — a user-space NFSv4 server for ML datasets.
 *
 * For now this only parses its command line and reports what it would serve; the RPC front
 * end, compound engine and storage engine come next (see docs/ARCHITECTURE.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "version.h"

int main(int argc, char **argv)
{
	struct cli_opts o;
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
	printf("sluiced %s: would serve %s (the server itself is not built yet)\n", SLUICE_VERSION,
	       o.export_dir ? o.export_dir : o.config_path);
	return 1;
}

/*
 * sluiced — a user-space NFSv4 server for ML datasets.
 *
 * The command line and the configuration (parsed and checked; -n stops there), then the
 * server (server.c) until SIGTERM. docs/ARCHITECTURE.md has the flow of a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "version.h"

/* jemalloc's options (read at its start, before main): a background thread returns freed
 * pages to the system after dirty_decay_ms. Without it pages are only purged when
 * allocations happen to tick the decay, so an idle server kept the memory of 10,000 expired
 * clients (host.manyclients: +17 MiB after 35 s idle, +2 MiB with the thread). */
extern const char *malloc_conf;
const char *malloc_conf = "background_thread:true";

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
	int ret;

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
	/* --log-level wins over the file's log_level when given (its default is info) */
	log_set_level(o.log_level != LL_INFO ? o.log_level : (enum log_level)c->log_level);
	if (o.listen) {
		/* -l replaces the configured addresses */
		char *l = strdup(o.listen);

		if (!l) {
			config_free(c);
			return 1;
		}
		for (size_t i = 0; i < c->nlisten; i++)
			free(c->listen[i]);
		c->listen[0] = l;
		c->nlisten = 1;
	}
	if (o.state_dir) {
		/* --state-dir replaces the configured directory */
		char *d = strdup(o.state_dir);

		if (!d) {
			config_free(c);
			return 1;
		}
		free(c->state_dir);
		c->state_dir = d;
	}
	log_info("sluiced %s starting", SLUICE_VERSION);
	/* The key is accepted so that configurations written for several loops keep working,
	 * but this build serves every connection from one loop thread: say so, not silently. */
	if (c->threads != 1) {
		char n[16] = "auto";

		if (c->threads)
			snprintf(n, sizeof(n), "%u", c->threads);
		log_info("threads = %s: this build runs one loop thread (several are not built "
			 "yet); disk work still spreads over the io_uring and offload threads", n);
	}
	ret = server_run(c);
	config_free(c);
	return ret;
}

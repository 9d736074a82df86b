/*
 * stats: the server's counters, readable while it runs.
 *
 * Ops (calls, errors, data bytes per op), the page cache (pcache.h), cache reads and
 * read-ahead (cacheio.h), the storage engine's queue (stor.h), fds and memory. Counters are
 * process-wide atomics, so loop threads add to them without a lock. stats_write() renders
 * them in the Prometheus text format (the /metrics endpoint, when it comes, serves the same
 * text); sluiced writes it to STATE_DIR/stats on SIGUSR1 (server.c).
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stdint.h>
#include <stdio.h>

struct server;
struct srv_loop;

void stats_op(uint32_t op, uint32_t status);
void stats_op_bytes(uint32_t op, uint64_t bytes);

/* Everything, as Prometheus text. Returns 0 or -errno. */
int stats_write(FILE *out, struct server *srv, struct srv_loop *lp);
/* The same into path, atomically (a temporary file renamed over it). */
int stats_dump(const char *path, struct server *srv, struct srv_loop *lp);

#endif

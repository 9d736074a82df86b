/*
 * Client records on stable storage (RFC 8881 §8.4.2.1, RFC 7530 §9.6.2): the names
 * (co_ownerid / nfs_client_id4.id) of the clients that hold state, kept in a file of the
 * state directory so that after a restart, crash or move of the server the clients of the
 * previous run (and only they) may reclaim their opens and locks in the grace period.
 *
 * The file, STATE_DIR/clients, is a log of lines "+HEX" (a client was confirmed) and "-HEX"
 * (it went: lease expired, destroyed, replaced), HEX being the name's bytes in hex. An
 * addition is made durable (fdatasync) before the client's first stateful reply can leave,
 * so that no client that got state is unknown after a crash; a removal too, so that a
 * client whose lease ran out cannot come back after a crash and reclaim locks that others
 * may have taken since (RFC 8881 §8.4.3). The log is compacted at start, at the
 * end of each grace period, and when it has grown well past the clients it records
 * (state_sweep): written to a temporary file, fsync'ed, renamed over the old one,
 * and the directory fsync'ed.
 *
 * Blocking file I/O on the caller's thread: a few small writes per client lifetime.
 */
#ifndef SLUICE_CLIENTREC_H
#define SLUICE_CLIENTREC_H

#include <stdbool.h>
#include <stdint.h>

struct clientrec;

/* Called for every line of the log, in order: add true for "+", false for "-". */
typedef void (*clientrec_line_fn)(void *arg, const void *name, uint32_t len, bool add);
/* Called by clientrec_rewrite: put the next name in *name, *len and return true, or false at the end. */
typedef bool (*clientrec_next_fn)(void *arg, const void **name, uint32_t *len);

/* Create dir (0700) if needed, replay STATE_DIR/clients through fn (malformed lines are
 * skipped and counted in *bad), and open it for appending. 0 or -errno (-EIO when the log
 * could not be read to its end). */
int clientrec_open(struct clientrec **out, const char *dir, clientrec_line_fn fn, void *arg, unsigned *bad);
/* Record the confirmation (durable) or the end of a client. 0 or -errno. */
int clientrec_add(struct clientrec *cr, const void *name, uint32_t len);
int clientrec_del(struct clientrec *cr, const void *name, uint32_t len);
/* Replace the log by one "+" line per name that next yields, atomically and durably. */
int clientrec_rewrite(struct clientrec *cr, clientrec_next_fn next, void *arg);
/* Lines in the log now (each add or del appends one; a rewrite leaves one per name). */
unsigned long clientrec_lines(const struct clientrec *cr);
void clientrec_close(struct clientrec *cr);

#endif

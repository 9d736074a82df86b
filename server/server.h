/*
 * The server as a whole: the configuration, the exports opened for serving, the op table,
 * the fd cache and the NFSv4 state, plus the loop thread(s) that serve connections.
 *
 *     server_create(&srv, cfg)      open every export (root fd, root handle), build the op
 *                                   table, create the state tables
 *     server_loop_create(srv, ..)   a loop thread's context: libev loop, storage engine
 *     server_listen(lp, listen)     accept connections on that loop
 *     ev_run(...)                   serve until SIGTERM (server_run does all of this)
 *
 * One loop thread serves everything for now (docs/ARCHITECTURE.md); the loop context is
 * already per thread so that more loops only need their own srv_loop.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "compound.h"
#include "config.h"
#include "fh.h"
#include "optable.h"

struct ev_loop;
struct stor;
struct fdc;
struct pcache;
struct nfs_state;
struct idmap;
struct conn;
struct conn_listener;

/* An export opened for serving. */
struct export_rt {
	const struct config_export *cfg;
	const struct pseudo_node *node; /* where it sits in the pseudo file system */
	int root_fd;                    /* the export root, O_RDONLY: open_by_handle_at refuses
	                                 * an O_PATH fd as its mount fd */
	uint8_t root_fh[FH_MAX_SIZE];   /* its persistent handle */
	uint32_t root_fh_len;
	uint64_t root_ino;
	dev_t root_dev;                 /* its file system (READDIR's mount check) */
	/* a local disk file system (export_open): statx of an object's open fd, and opening it
	 * again through /proc/self/fd, work on the inode the fd pins in memory and never wait
	 * for a device, so they run on the loop thread */
	bool meta_inline;
	char real_path[4096];           /* the root as the kernel names it (symlinks resolved) */
	/* statvfs for space_* and files_*, refreshed when older than a second */
	struct statvfs vfs;
	time_t vfs_time;
};

struct server {
	const struct config *cfg;
	struct export_rt *exports; /* one per cfg->exports[i], same order */
	size_t nexports;
	const struct pseudo_node **pnodes; /* pseudo nodes by index (their handles) */
	size_t npnodes;
	struct op_table ops;
	struct compound_config ccfg;
	struct fdc *fdc;               /* O_PATH and read fds by handle, shared by loops */
	struct pcache *pcache;         /* file data, shared by loops (storage/pcache.h) */
	struct obj_warm *warm;         /* handles whose inodes were just in memory (object.c) */
	/* Bumped when an op that can change a file or directory (OPF_CHANGES_FS) begins and
	 * again when it ends: attributes read before then are not answered from the warm table
	 * (obj_attr_cached). */
	_Atomic uint64_t attr_gen;
	_Atomic uint64_t attr_hits, attr_misses; /* GETATTRs answered from it, and not */
	uint64_t prefetch_max;         /* read-ahead budget, in cache pages */
	struct nfs_state *state;
	struct idmap *idmap;           /* owner names; NULL when owner_domain is empty */
	uint64_t boot_time;            /* wall-clock seconds at start: write verifier, ids */
	struct timespec start_ts;      /* times of the pseudo directories */
	uint32_t max_read;             /* largest READ we answer in full */
	uint32_t max_write;
	/* WRITE/COMMIT's writeverf4: new at every start, so a client learns that UNSTABLE data
	 * it has not seen committed may be lost and sends it again (RFC 8881 §18.32.3). */
	uint8_t write_verf[NFS4_VERIFIER_SIZE];
};

/* Where a request's reply goes when it did not come on a connection (fuzzing, tests). */
typedef void (*srv_reply_fn)(void *arg, const struct iovec *iov, unsigned niov, size_t len);

/* One loop thread. */
struct srv_loop {
	struct server *srv;
	struct ev_loop *loop;
	struct stor *stor;
	struct conn_listener *listener;
	srv_reply_fn reply_sink; /* for conn == NULL */
	void *reply_arg;
	uint64_t requests;       /* in flight: created, not yet freed */
	bool stopping;
	/* libev watchers live in server.c (opaque here) */
	void *watchers;
};

int server_create(struct server **out, const struct config *cfg);
void server_destroy(struct server *srv);

/* The export with id, or NULL. */
struct export_rt *server_export(const struct server *srv, uint32_t id);

/* The export's statvfs, refreshed when older than a second (fstatvfs reads the superblock
 * in memory; it does not wait for the disk on local file systems). */
const struct statvfs *server_export_vfs(struct export_rt *e);

/* A loop context on loop, with its storage engine (created on the calling thread, which must
 * be the loop's thread). Returns 0 or -errno. */
int srv_loop_create(struct srv_loop **out, struct server *srv, struct ev_loop *loop);
void srv_loop_destroy(struct srv_loop *lp);

/* Start accepting connections on addr (config syntax) on the loop. 0 or -errno. */
int srv_loop_listen(struct srv_loop *lp, const char *addr);

/* Run the storage engine until nothing is in flight (tests, fuzzing, shutdown). */
void srv_loop_drain(struct srv_loop *lp);

/*
 * Serve one RPC record (dispatch.c): decode the call, answer NULL, run a COMPOUND, send the
 * reply on conn (or to lp->reply_sink when conn is NULL). rec was malloc()ed and is owned by
 * the callee from here on.
 */
void dispatch_record(struct srv_loop *lp, struct conn *conn, uint8_t *rec, size_t len);

/* The compound engine's per-op hook: failing ops are logged at debug level. */
void dispatch_on_op(struct compound *c, uint32_t op, nfsstat4 status);
/* compound_config.on_change: bumps srv->attr_gen (object.h, obj_attr_cached). */
void dispatch_on_change(struct compound *c);

/* Everything of sluiced after the configuration is loaded: serve until SIGTERM. */
int server_run(const struct config *cfg);

#endif

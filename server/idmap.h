/*
 * idmap: uid/gid <-> user/group name, for NFSv4 owner strings ("alice@example.org") when
 * owner_domain is configured (RFC 8881 §5.9). Loop threads must never block, and getpwuid_r /
 * getpwnam_r may (files on a slow disk, LDAP, sssd): so lookups never call NSS. They read an
 * immutable snapshot of the whole user and group databases, built off the loop by enumerating
 * them (setpwent/getpwent_r, setgrent/getgrent_r: /etc/passwd, /etc/group and every NSS source
 * that enumerates), with four hash tables: uid -> name, name -> uid, gid -> name, name -> gid.
 *
 *     struct idmap *m;
 *     idmap_create(&m, NULL);             // NSS, first snapshot now, refresher thread
 *     idmap_name_of(m, 1000, false, buf, sizeof(buf));   // "alice", or -ENOENT
 *     idmap_id_of(m, "alice", false, &uid);               // 1000, or -ENOENT
 *     idmap_kick(m);                      // SIGHUP: rebuild soon, on the refresher thread
 *     idmap_destroy(m);
 *
 * Refresh: at creation (on the caller's thread), then every refresh_secs seconds and whenever
 * idmap_kick() is called, on a thread of the map's own. A refresh builds a complete new
 * snapshot with no lock held, then swaps the current-snapshot pointer under the write side of
 * a rwlock and frees the old snapshot after unlocking. Lookups hold the read side for the
 * lookup only (a hash probe and a copy of at most one name: no allocation, no system call), so
 * a snapshot is never freed while a lookup reads it (the writer cannot hold the lock while a
 * reader does), and a lookup waits at most for one pointer swap (the writer holds the lock for
 * nothing else: no enumeration, no free). A failed enumeration keeps the current snapshot.
 *
 * Duplicates: the first entry wins in each direction, as getpwnam/getpwuid answer with the
 * first match (root and toor both uid 0: uid 0 is "root"; alice in /etc/passwd and in LDAP:
 * the /etc/passwd one). Skipped: empty names, names longer than IDMAP_NAME_MAX, and the id
 * 4294967295 ((uid_t)-1 is no one's).
 *
 * Not covered: users and groups an NSS source does not enumerate (sssd's default
 * enumerate = false, for one) get numeric owners, and their names are refused as owners
 * (NFS4ERR_BADOWNER), until a source that enumerates them is configured.
 */
#ifndef SLUICE_IDMAP_H
#define SLUICE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDMAP_NAME_MAX 255u          /* longest name kept (bytes, without the NUL) */
#define IDMAP_REFRESH_DEFAULT 600u   /* seconds between refreshes, as nfsidmap's cache expiry */

struct idmap;
struct idmap_builder;

/*
 * Add one entry to the snapshot being built. Entries that are skipped (see above) and
 * duplicates are not errors. Returns 0, or -ENOMEM (the enumerator should then stop and
 * return it), or -E2BIG when the snapshot is full (2^24 entries per kind).
 */
int idmap_builder_add(struct idmap_builder *b, bool group, uint32_t id, const char *name);

/*
 * A source of users and groups: call idmap_builder_add() for every one, users and groups in
 * any order. Return 0, or a -errno to abandon this refresh (the current snapshot stays).
 * Called off the loop: on the thread of idmap_create() / idmap_refresh(), or on the map's
 * refresher thread, never two at once for one map.
 */
typedef int (*idmap_enum_fn)(void *ctx, struct idmap_builder *b);

/* The default source: getpwent_r and getgrent_r (ctx unused). */
int idmap_enum_nss(void *ctx, struct idmap_builder *b);

struct idmap_config {
	idmap_enum_fn enumerate; /* NULL: idmap_enum_nss */
	void *ctx;
	unsigned refresh_secs;   /* 0: no refresher thread (only idmap_refresh() refreshes, and
	                          * idmap_kick() does nothing) */
};

/*
 * Create a map and build its first snapshot on this thread (which may block: not on a loop
 * thread). cfg NULL: NSS, refreshed every IDMAP_REFRESH_DEFAULT seconds. If that first
 * enumeration fails the map starts empty (every owner numeric) and idmap_stats() tells the
 * error; the refresher keeps trying. Returns 0, or -ENOMEM, or the -errno of creating the
 * thread. The thread blocks every signal.
 */
int idmap_create(struct idmap **out, const struct idmap_config *cfg);

/* Stop the refresher (waiting for a refresh in progress to end) and free everything. No
 * lookup may be running or start. NULL is allowed. */
void idmap_destroy(struct idmap *m);

/* Build a new snapshot now, on this thread (blocks: not on a loop thread), and swap it in.
 * 0, or the enumerator's -errno (the current snapshot stays). */
int idmap_refresh(struct idmap *m);

/* Ask the refresher thread to refresh as soon as it can. Does not wait for the refresh (it
 * only takes a mutex that the refresher holds for a few instructions): fine on a loop thread,
 * e.g. from the SIGHUP watcher. */
void idmap_kick(struct idmap *m);

/*
 * Lookups. Never block (see above); m NULL behaves as an empty map.
 * idmap_name_of: the name of uid (group false) or gid (group true) into buf, NUL-terminated.
 *   0, -ENOENT (no such id), -ERANGE (the name and its NUL do not fit in cap; buf is then "").
 * idmap_id_of: the uid or gid of name (exact, case-sensitive, as getpwnam). 0 or -ENOENT.
 */
int idmap_name_of(const struct idmap *m, uint32_t id, bool group, char *buf, size_t cap);
int idmap_id_of(const struct idmap *m, const char *name, bool group, uint32_t *id);

/* The same with ctx a struct idmap *: the signatures of attr_idname_fn and attr_idparse_fn
 * (attr.h), for attr_src.idname and attr_decode_set(). */
int idmap_attr_idname(void *ctx, uint32_t id, bool group, char *buf, size_t cap);
int idmap_attr_idparse(void *ctx, const char *name, bool group, uint32_t *id);

struct idmap_stats {
	size_t users;        /* distinct uids with a name in the current snapshot */
	size_t groups;       /* distinct gids with a name */
	uint64_t generation; /* snapshots swapped in so far (1 after the first good build) */
	uint64_t failures;   /* refreshes abandoned */
	int last_error;      /* -errno of the last refresh, 0 if it worked */
};

void idmap_stats(const struct idmap *m, struct idmap_stats *out);

#endif /* SLUICE_IDMAP_H */

/*
 * The sluiced configuration: a "key = value" global section and one "export PATH { ... }" block
 * per export. conf/README.md is the reference (every key, type, default, meaning) and
 * conf/sluice.conf.example the commented example.
 *
 * Parsing is pure: it reads text and touches no file system, so every message it produces is
 * about the text. config_check() is the separate step that looks at the machine (export
 * directories exist). Errors are collected, not stopped at: up to CONFIG_MAX_ERRORS messages,
 * one per line, "name:line: message", in line order, go into err. This library logs nothing.
 *
 *     struct config *c;
 *     char err[4096];
 *
 *     if (config_parse_file(path, &c, err, sizeof(err)) < 0 ||
 *         config_check(c, err, sizeof(err)) < 0)
 *             fail(err);            // several lines, each "sluice.conf:12: ..."
 *     ...
 *     config_free(c);
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "pseudo.h"

/* Messages kept per parse or check; the rest are counted ("... and 3 more errors"). */
#define CONFIG_MAX_ERRORS 20
/* Largest configuration file read. */
#define CONFIG_MAX_FILE_SIZE ((size_t)1 << 20)
/* Most listen addresses. */
#define CONFIG_MAX_LISTEN 16

/* Defaults (conf/README.md). */
#define CONFIG_DEFAULT_LISTEN ":2049" /* every address, IPv4 and IPv6, port 2049 */
#define CONFIG_DEFAULT_PORT 2049     /* RFC 7530 §3.1: NFSv4 over TCP port 2049 */
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/sluice"
#define CONFIG_DEFAULT_LEASE_TIME 90u
#define CONFIG_DEFAULT_GRACE_TIME 90u
#define CONFIG_DEFAULT_MAX_RECORD ((uint64_t)(1024 * 1024 + 64 * 1024)) /* = RECMARK_DEFAULT_MAX */
#define CONFIG_DEFAULT_CACHE_SIZE ((uint64_t)1 << 30)
#define CONFIG_DEFAULT_ATTR_CACHE 60u /* seconds, as Ganesha's attribute expiry and acregmax */
#define CONFIG_DEFAULT_BUSY_POLL 5000u /* microseconds: see busy_poll in conf/README.md */
#define CONFIG_DEFAULT_ANON_ID 65534u /* nobody/nogroup on Debian, as knfsd */

/* The order of enum log_level in server/log.h, so main() can convert with a cast. */
enum config_log_level { CONFIG_LOG_ERROR, CONFIG_LOG_WARN, CONFIG_LOG_INFO, CONFIG_LOG_DEBUG };

enum config_access { CONFIG_ACCESS_RO, CONFIG_ACCESS_RW };

enum config_squash {
	CONFIG_SQUASH_NONE, /* identities as sent (no_root_squash) */
	CONFIG_SQUASH_ROOT, /* uid 0 / gid 0 become anonuid/anongid (root_squash) */
	CONFIG_SQUASH_ALL,  /* everyone becomes anonuid/anongid (all_squash) */
};

struct config_export {
	uint32_t id;     /* 1..2^32-1, in every file handle; 0 is the pseudo-root */
	char *path;      /* absolute, normalised ("//a/./b/" -> "/a/b") */
	char *pseudo;    /* absolute, normalised; "/" when the export is the pseudo-root itself */
	enum config_access access;
	enum config_squash squash;
	uint32_t anonuid;
	uint32_t anongid;
	unsigned int line; /* of the "export" line, for messages; 0 when not from a file */
};

struct config {
	char *name;        /* the file name (or "--export") that messages start with */
	char **listen;     /* nlisten >= 1 address strings, as written; the transport parses them */
	size_t nlisten;
	unsigned int threads; /* loop threads; 0 = auto (one per online CPU) */
	enum config_log_level log_level;
	char *state_dir;      /* absolute, normalised */
	uint32_t lease_time;  /* seconds */
	uint32_t grace_time;  /* seconds, >= lease_time */
	uint64_t max_record;  /* bytes: largest RPC record accepted */
	char *owner_domain;   /* "" = numeric owners and groups ("1000", not "alice@domain") */
	uint64_t cache_size;  /* bytes of page cache */
	uint32_t attr_cache;  /* seconds GETATTR may answer from READDIR's attributes; 0 = never */
	uint32_t busy_poll;   /* microseconds a loop keeps polling after its last event; 0 = never */
	struct config_export *exports; /* nexports >= 1, in file order */
	size_t nexports;

	/* Private: lookup structures, built by the parser. */
	const struct config_export **by_id; /* sorted by id */
	struct pseudo_node *pseudo_root;
};

/*
 * Parse text. name starts every message ("sluice.conf:12: unknown key 'thredas'").
 * Returns 0 and *out (free with config_free), or -EINVAL with the messages in err, or -ENOMEM.
 * *out is NULL on error.
 */
int config_parse_string(const char *text, const char *name, struct config **out, char *err,
			size_t errlen);

/* Read path (at most CONFIG_MAX_FILE_SIZE bytes) and parse it: as above, or -errno from
 * opening and reading, with "path: reason" in err. */
int config_parse_file(const char *path, struct config **out, char *err, size_t errlen);

/*
 * Demo mode (--export DIR): one read-write export of dir, id 1, at pseudo path "/", squash
 * none, every other key at its default. Built by parsing the equivalent text, so it obeys the
 * same rules. A relative dir is taken from the current directory (lexically: symlinks and
 * ".." are not resolved; ".." is refused as in a file). Messages start with "--export: ".
 */
int config_default_for_export(const char *dir, struct config **out, char *err, size_t errlen);

/*
 * Look at the machine: every export path exists and is a directory (stat, following
 * symlinks). All problems are reported, as for parsing. Returns 0 or -EINVAL.
 * For "sluiced -n", and at start-up before anything is opened.
 */
int config_check(const struct config *c, char *err, size_t errlen);

void config_free(struct config *c);

/* The export with this id, or NULL (id 0 is never an export). O(log n). */
const struct config_export *config_export_by_id(const struct config *c, uint32_t id);

/* The export whose pseudo path is exactly path (normalised first: "/a/" finds "/a"), or NULL. */
const struct config_export *config_export_by_pseudo(const struct config *c, const char *path);

/* The root of the NFSv4 pseudo file system built from the exports' pseudo paths. */
const struct pseudo_node *config_pseudo_root(const struct config *c);

/* "ro"/"rw", "none"/"root"/"all", "error".."debug": the words the file uses. */
const char *config_access_name(enum config_access a);
const char *config_squash_name(enum config_squash s);
const char *config_log_level_name(enum config_log_level l);

/*
 * Split a listen address ("host", "host:port", "[v6]", "[v6]:port", ":port", bare IPv6) into
 * host (empty: every address) and port (CONFIG_DEFAULT_PORT when none is given).
 * Returns NULL, or why the address is wrong ("has a bad port (0..65535)", ...).
 */
const char *config_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif

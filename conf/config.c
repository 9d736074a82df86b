/*
 * The sluiced configuration file: lexer, parser, checks and lookups. See config.h for the
 * contract and conf/README.md for the format.
 *
 * One pass over the text, line by line. Each line is cut into tokens (words, quoted strings,
 * '=', ',', '{', '}'); a line is then a "key = value[, value...]", an "export PATH {" header,
 * or a lone "}". Problems are recorded with their line and parsing goes on, so one run of
 * "sluiced -n" shows every mistake. Cross-export rules (ids, pseudo paths) are checked when a
 * block closes, against the exports before it, so each message lands on the later line and
 * names the earlier one.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKENS 128        /* per line: listen with 16 addresses needs 33 */
#define MSG_MAX 400           /* one message, truncated beyond */
#define COMPONENT_MAX 255     /* NAME_MAX */
#define DEMO_NAME "--export"  /* messages of config_default_for_export() start with this */

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define TIB (GIB * 1024)

/* ---- messages -------------------------------------------------------------------------- */

struct msg {
	unsigned int line; /* 0: about the whole file */
	unsigned int seq;  /* order of discovery, to keep the sort stable */
	char text[MSG_MAX];
};

struct errs {
	const char *name;
	bool lines;     /* false: "name: text" even when a line is known (demo mode) */
	unsigned int n; /* every error, kept or not */
	struct msg m[CONFIG_MAX_ERRORS];
};

static void errs_add(struct errs *e, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errs_add(struct errs *e, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	if (e->n < CONFIG_MAX_ERRORS) {
		struct msg *m = &e->m[e->n];

		m->line = line;
		m->seq = e->n;
		va_start(ap, fmt);
		vsnprintf(m->text, sizeof(m->text), fmt, ap);
		va_end(ap);
	}
	e->n++;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;
	/* messages about the whole file (line 0) come after those about a line */
	unsigned int lx = x->line ? x->line : UINT_MAX, ly = y->line ? y->line : UINT_MAX;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append to err (always NUL-terminated, silently truncated). */
static void append(char *err, size_t errlen, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *err, size_t errlen, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*at + 1 >= errlen)
		return;
	va_start(ap, fmt);
	w = vsnprintf(err + *at, errlen - *at, fmt, ap);
	va_end(ap);
	if (w > 0)
		*at = *at + (size_t)w < errlen ? *at + (size_t)w : errlen - 1;
}

/* Write the messages into err, in line order. Returns -EINVAL if there were any, else 0. */
static int errs_finish(struct errs *e, char *err, size_t errlen)
{
	unsigned int kept = e->n < CONFIG_MAX_ERRORS ? e->n : CONFIG_MAX_ERRORS;
	size_t at = 0;

	if (errlen)
		err[0] = '\0';
	if (!e->n)
		return 0;
	qsort(e->m, kept, sizeof(e->m[0]), msg_cmp);
	for (unsigned int i = 0; i < kept; i++) {
		const char *sep = i ? "\n" : "";

		if (e->lines && e->m[i].line)
			append(err, errlen, &at, "%s%s:%u: %s", sep, e->name, e->m[i].line,
			       e->m[i].text);
		else
			append(err, errlen, &at, "%s%s: %s", sep, e->name, e->m[i].text);
	}
	if (e->n > kept)
		append(err, errlen, &at, "\n%s: ... and %u more error%s", e->name, e->n - kept,
		       e->n - kept == 1 ? "" : "s");
	return -EINVAL;
}

/* ---- keys ------------------------------------------------------------------------------ */

enum vtype {
	V_LISTEN,   /* list of listen addresses */
	V_THREADS,  /* "auto" or a count */
	V_UINT,     /* decimal number in [min, max] (uint32_t field) */
	V_ID,       /* export id: V_UINT, 0 with its own message */
	V_SIZE,     /* bytes with an optional K/M/G/T suffix (uint64_t field) */
	V_PATH,     /* absolute path, normalised (char * field) */
	V_PSEUDO,   /* V_PATH, also valid UTF-8 (clients see the names) */
	V_DOMAIN,   /* owner_domain: empty or a domain name (char * field) */
	V_LOGLEVEL, /* enum config_log_level */
	V_ACCESS,   /* enum config_access */
	V_SQUASH,   /* enum config_squash */
};

struct key {
	const char *name;
	enum vtype type;
	size_t off; /* of the field in struct config or struct config_export */
	uint64_t min, max;
	const char *unit; /* for range messages */
};

enum {
	G_LISTEN, G_THREADS, G_LOG_LEVEL, G_STATE_DIR, G_LEASE_TIME, G_GRACE_TIME,
	G_MAX_RECORD, G_OWNER_DOMAIN, G_CACHE_SIZE, G_ATTR_CACHE, G_BUSY_POLL, G_NKEYS
};

static const struct key global_keys[G_NKEYS] = {
	[G_LISTEN] = {"listen", V_LISTEN, 0, 0, 0, NULL},
	[G_THREADS] = {"threads", V_THREADS, offsetof(struct config, threads), 1, 1024, NULL},
	[G_LOG_LEVEL] = {"log_level", V_LOGLEVEL, offsetof(struct config, log_level), 0, 0, NULL},
	[G_STATE_DIR] = {"state_dir", V_PATH, offsetof(struct config, state_dir), 0, 0, NULL},
	[G_LEASE_TIME] = {"lease_time", V_UINT, offsetof(struct config, lease_time), 10, 3600,
			  " seconds"},
	[G_GRACE_TIME] = {"grace_time", V_UINT, offsetof(struct config, grace_time), 10, 3600,
			  " seconds"},
	[G_MAX_RECORD] = {"max_record", V_SIZE, offsetof(struct config, max_record), 32 * KIB,
			  64 * MIB, NULL},
	[G_OWNER_DOMAIN] = {"owner_domain", V_DOMAIN, offsetof(struct config, owner_domain), 0, 0,
			    NULL},
	[G_CACHE_SIZE] = {"cache_size", V_SIZE, offsetof(struct config, cache_size), MIB,
			  16 * TIB, NULL},
	[G_ATTR_CACHE] = {"attr_cache", V_UINT, offsetof(struct config, attr_cache), 0, 3600,
			  " seconds"},
	[G_BUSY_POLL] = {"busy_poll", V_UINT, offsetof(struct config, busy_poll), 0, 100000,
			 " microseconds"},
};

enum { E_ID, E_PSEUDO, E_ACCESS, E_SQUASH, E_ANONUID, E_ANONGID, E_NKEYS };

static const struct key export_keys[E_NKEYS] = {
	[E_ID] = {"id", V_ID, offsetof(struct config_export, id), 1, UINT32_MAX, NULL},
	[E_PSEUDO] = {"pseudo", V_PSEUDO, offsetof(struct config_export, pseudo), 0, 0, NULL},
	[E_ACCESS] = {"access", V_ACCESS, offsetof(struct config_export, access), 0, 0, NULL},
	[E_SQUASH] = {"squash", V_SQUASH, offsetof(struct config_export, squash), 0, 0, NULL},
	/* (uid_t)-1 means "no change" to chown(2): not an identity */
	[E_ANONUID] = {"anonuid", V_UINT, offsetof(struct config_export, anonuid), 0,
		       UINT32_MAX - 1, NULL},
	[E_ANONGID] = {"anongid", V_UINT, offsetof(struct config_export, anongid), 0,
		       UINT32_MAX - 1, NULL},
};

static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const access_names[] = {"ro", "rw", NULL};
static const char *const squash_names[] = {"none", "root", "all", NULL};

const char *config_access_name(enum config_access a)
{
	return (unsigned int)a < 2 ? access_names[a] : "?";
}

const char *config_squash_name(enum config_squash s)
{
	return (unsigned int)s < 3 ? squash_names[s] : "?";
}

const char *config_log_level_name(enum config_log_level l)
{
	return (unsigned int)l < 4 ? log_level_names[l] : "?";
}

static const struct key *key_find(const struct key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Edit distance (insert, delete, substitute) between two short strings, capped at 9. */
static unsigned int distance(const char *a, const char *b)
{
	unsigned int row[32], la = (unsigned int)strlen(a), lb = (unsigned int)strlen(b);

	if (la >= 31 || lb >= 31)
		return 9;
	for (unsigned int j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] < 9 ? row[lb] : 9;
}

/* The closest key name, if close enough to be a typo ("thredas" -> "threads"), or NULL. */
static const char *suggest(const struct key *keys, size_t n, const char *name)
{
	const char *best = NULL;
	unsigned int bestd = 3;

	for (size_t i = 0; i < n; i++) {
		unsigned int d = distance(name, keys[i].name);

		if (d < bestd && d < strlen(keys[i].name)) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

/* ---- values ---------------------------------------------------------------------------- */

/* Each returns NULL when the value is good, or the reason it is not. */

static const char *parse_uint(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return "is empty";
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return "is not a number";
		if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return "is too large";
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return NULL;
}

static const char *parse_size(const char *s, uint64_t *v)
{
	const char *p = s;
	uint64_t x = 0, mult = 1;

	if (*p < '0' || *p > '9')
		return "is not a size (a number with an optional K, M, G or T suffix)";
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return "is too large";
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		switch (p[1] ? 0 : *p) {
		case 'k': case 'K': mult = KIB; break;
		case 'm': case 'M': mult = MIB; break;
		case 'g': case 'G': mult = GIB; break;
		case 't': case 'T': mult = TIB; break;
		default:
			return "has a bad size suffix (use K, M, G or T, powers of 1024)";
		}
	}
	if (x > UINT64_MAX / mult)
		return "is too large";
	*v = x * mult;
	return NULL;
}

/* "64M" for exact multiples, else the number. */
static void fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "KMGT";
	int i = -1;

	while (i < 3 && v && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[i]);
}

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned int c = *s, n, cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

/*
 * Absolute, no "..", components of at most 255 bytes, shorter than PATH_MAX. Empty and "."
 * components are dropped and a trailing '/' removed: "//a/./b/" -> "/a/b". *out is malloc'd,
 * or NULL when out of memory (check it) or the path is refused (then the reason is returned).
 */
static const char *path_normalise(const char *in, char **out)
{
	size_t len = strlen(in), at = 0;
	const char *p = in;
	char *o;

	*out = NULL;
	if (in[0] != '/')
		return "is not absolute";
	if (len >= PATH_MAX)
		return "is too long";
	o = malloc(len + 2);
	if (!o)
		return NULL;
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			free(o);
			return "must not contain '..'";
		}
		if (n > COMPONENT_MAX) {
			free(o);
			return "has a component longer than 255 bytes";
		}
		o[at++] = '/';
		memcpy(o + at, c, n);
		at += n;
	}
	if (!at)
		o[at++] = '/';
	o[at] = '\0';
	*out = o;
	return NULL;
}

/*
 * The one parser of listen addresses (the transport's conn_parse_addr uses it too):
 * "host", "host:port", "[v6]", "[v6]:port", ":port" (every address) or a bare IPv6 address.
 * Names are resolved at start-up, not here.
 */
const char *config_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h = s, *p = NULL, *colon;
	size_t hlen = strlen(s);

	*port = CONFIG_DEFAULT_PORT;
	if (!*s)
		return "is empty (':2049' means every address)";
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end == s + 1 || strchr(end + 1, ']') || strchr(s + 1, '['))
			return "has unbalanced or empty brackets";
		h = s + 1;
		hlen = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1])
			return "has text after ']' that is not ':port'";
	} else if (strchr(s, ']') || strchr(s, '[')) {
		return "has unbalanced brackets";
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		hlen = (size_t)(colon - s);
		p = colon + 1;
	} /* else: no colon, or a bare IPv6 address */
	if (p) {
		uint64_t v;

		if (!*p)
			return "has an empty port";
		if (parse_uint(p, &v) || v > 65535)
			return "has a bad port (0..65535)";
		*port = (uint16_t)v;
	}
	if (hlen >= hostlen)
		return "has a host name that is too long";
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return NULL;
}

static const char *listen_check(const char *s)
{
	char host[256];
	uint16_t port;

	return config_parse_listen(s, host, sizeof(host), &port);
}

static const char *domain_check(const char *s)
{
	if (strlen(s) > 255)
		return "is too long";
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return "is not a domain name (letters, digits, '.', '-', '_')";
	}
	return NULL;
}

/* ---- lexer ----------------------------------------------------------------------------- */

enum tkind { T_WORD, T_STRING, T_EQ, T_COMMA, T_LBRACE, T_RBRACE };

struct tok {
	enum tkind kind;
	const char *text; /* WORD, STRING: NUL-terminated, in the scratch buffer */
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool ends_word(char ch)
{
	return is_space(ch) || ch == '#' || ch == '=' || ch == ',' || ch == '{' || ch == '}' ||
	       ch == '"';
}

struct parser {
	struct errs *errs;
	struct config *c;
	bool nomem;

	char *scratch; /* token texts of the current line */
	size_t scratch_cap;
	struct tok toks[MAX_TOKENS];
	size_t ntok;

	unsigned int gseen[G_NKEYS]; /* line a global key was set on, 0: not set */
	bool gbad[G_NKEYS];          /* ... with a bad value */

	/* exports, in file order, and what the parser knows about each */
	size_t cap;
	struct emeta {
		unsigned int seen[E_NKEYS];
		bool path_ok; /* path is set and valid */
		bool id_ok;   /* id is set and valid */
	} *meta;
	bool in_export;        /* the last export's block is open */
	unsigned int skip;     /* brace depth of an unknown block being skipped */
	unsigned int skip_line;
};

/*
 * Cut one line (len bytes, no newline) into p->toks. Returns false (and reports) when the line
 * cannot be read; the line is then ignored.
 */
static bool lex(struct parser *p, unsigned int lineno, const char *s, size_t len)
{
	size_t i = 0;
	char *o;

	p->ntok = 0;
	if (!p->scratch || p->scratch_cap < 2 * len + 2) {
		char *n = realloc(p->scratch, 2 * len + 2);

		if (!n) {
			p->nomem = true;
			return false;
		}
		p->scratch = n;
		p->scratch_cap = 2 * len + 2;
	}
	o = p->scratch;
	while (i < len) {
		char ch = s[i];
		struct tok *t;

		if (is_space(ch)) {
			i++;
			continue;
		}
		if (ch == '#')
			break;
		if (p->ntok == MAX_TOKENS) {
			errs_add(p->errs, lineno, "too many values on one line");
			return false;
		}
		t = &p->toks[p->ntok++];
		switch (ch) {
		case '=': t->kind = T_EQ; i++; continue;
		case ',': t->kind = T_COMMA; i++; continue;
		case '{': t->kind = T_LBRACE; i++; continue;
		case '}': t->kind = T_RBRACE; i++; continue;
		default: break;
		}
		t->text = o;
		if (ch == '"') {
			t->kind = T_STRING;
			for (i++;; i++) {
				if (i >= len) {
					errs_add(p->errs, lineno, "unterminated string (missing '\"')");
					return false;
				}
				if (s[i] == '"')
					break;
				if (s[i] == '\\') {
					if (i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
						*o++ = s[++i];
						continue;
					}
					errs_add(p->errs, lineno,
						 "unknown escape in string (only \\\" and \\\\)");
					return false;
				}
				if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
					errs_add(p->errs, lineno, "control character in string");
					return false;
				}
				*o++ = s[i];
			}
			i++; /* the closing quote */
			if (i < len && !ends_word(s[i])) {
				errs_add(p->errs, lineno, "text right after a closing '\"'");
				return false;
			}
		} else {
			t->kind = T_WORD;
			for (; i < len && !ends_word(s[i]); i++) {
				if ((unsigned char)s[i] < 0x20) {
					errs_add(p->errs, lineno, "control character");
					return false;
				}
				*o++ = s[i];
			}
			if (i < len && s[i] == '"') {
				errs_add(p->errs, lineno,
					 "'\"' inside a word (quote the whole value)");
				return false;
			}
		}
		*o++ = '\0';
	}
	return true;
}

static const char *tok_text(const struct tok *t)
{
	switch (t->kind) {
	case T_EQ: return "=";
	case T_COMMA: return ",";
	case T_LBRACE: return "{";
	case T_RBRACE: return "}";
	default: return t->text;
	}
}

static bool is_value(const struct tok *t)
{
	return t->kind == T_WORD || t->kind == T_STRING;
}

/* ---- setting values -------------------------------------------------------------------- */

static char *xstrdup(struct parser *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->nomem = true;
	return d;
}

static void set_string(char **field, char *value)
{
	free(*field);
	*field = value;
}

static bool set_enum(struct parser *p, unsigned int line, const struct key *k, const char *v,
		     const char *const *names, unsigned int *out)
{
	char choices[64] = "";

	for (unsigned int i = 0; names[i]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return true;
		}
		snprintf(choices + strlen(choices), sizeof(choices) - strlen(choices), "%s%s",
			 i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	}
	errs_add(p->errs, line, "%s: '%s' is not one of %s", k->name, v, choices);
	return false;
}

static bool set_listen(struct parser *p, unsigned int line, const struct key *k,
		       const struct tok *vals, size_t n)
{
	char **list;
	bool ok = true;

	if (n > CONFIG_MAX_LISTEN) {
		errs_add(p->errs, line, "%s: more than %d addresses", k->name, CONFIG_MAX_LISTEN);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = listen_check(vals[i].text);

		if (why) {
			errs_add(p->errs, line, "%s: '%s' %s", k->name, vals[i].text, why);
			ok = false;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(vals[i].text, vals[j].text) == 0) {
				errs_add(p->errs, line, "%s: '%s' is given twice", k->name,
					 vals[i].text);
				ok = false;
				break;
			}
		}
	}
	if (!ok)
		return false;
	list = calloc(n, sizeof(*list));
	if (!list) {
		p->nomem = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		list[i] = xstrdup(p, vals[i].text);
		if (!list[i]) {
			while (i--)
				free(list[i]);
			free(list);
			return false;
		}
	}
	for (size_t i = 0; i < p->c->nlisten; i++)
		free(p->c->listen[i]);
	free(p->c->listen);
	p->c->listen = list;
	p->c->nlisten = n;
	return true;
}

/*
 * Set key k of the object at base from the value tokens of one line (vals: the values with
 * the commas taken out; adjacent: two values had no ',' between them). Returns false when
 * the value is bad (reported).
 */
static bool set_value(struct parser *p, unsigned int line, const struct key *k, void *base,
		      const struct tok *vals, size_t n, bool adjacent)
{
	char *field = (char *)base + k->off;
	const char *v, *why = NULL;
	uint64_t x = 0;
	char *s = NULL;
	unsigned int e;

	if (k->type == V_LISTEN) {
		if (!n) {
			errs_add(p->errs, line, "%s: no address given", k->name);
			return false;
		}
		if (adjacent) {
			errs_add(p->errs, line, "%s: separate addresses with ','", k->name);
			return false;
		}
		return set_listen(p, line, k, vals, n);
	}
	if (n == 0 && k->type == V_DOMAIN) {
		set_string((char **)field, xstrdup(p, ""));
		return true;
	}
	if (n == 0) {
		errs_add(p->errs, line, "%s: missing value", k->name);
		return false;
	}
	if (n > 1) {
		errs_add(p->errs, line, "%s: one value expected, got %zu%s", k->name, n,
			 adjacent ? " (quote values that contain spaces)" : "");
		return false;
	}
	v = vals[0].text;
	switch (k->type) {
	case V_THREADS:
		if (strcmp(v, "auto") == 0) {
			*(unsigned int *)field = 0;
			return true;
		}
		why = parse_uint(v, &x);
		if (!why && (x < k->min || x > k->max)) {
			errs_add(p->errs, line, "%s: '%s' is out of range (auto or %llu..%llu)",
				 k->name, v, (unsigned long long)k->min, (unsigned long long)k->max);
			return false;
		}
		if (!why)
			*(unsigned int *)field = (unsigned int)x;
		break;
	case V_ID:
		why = parse_uint(v, &x);
		if (!why && x == 0) {
			errs_add(p->errs, line, "%s: 0 is reserved for the pseudo-root", k->name);
			return false;
		}
		/* fall through */
	case V_UINT:
		if (k->type == V_UINT)
			why = parse_uint(v, &x);
		if (!why && (x < k->min || x > k->max)) {
			errs_add(p->errs, line, "%s: '%s' is out of range (%llu..%llu%s)", k->name,
				 v, (unsigned long long)k->min, (unsigned long long)k->max,
				 k->unit ? k->unit : "");
			return false;
		}
		if (!why)
			*(uint32_t *)field = (uint32_t)x;
		break;
	case V_SIZE:
		why = parse_size(v, &x);
		if (!why && (x < k->min || x > k->max)) {
			char lo[32], hi[32];

			fmt_size(lo, sizeof(lo), k->min);
			fmt_size(hi, sizeof(hi), k->max);
			errs_add(p->errs, line, "%s: '%s' is out of range (%s..%s)", k->name, v, lo,
				 hi);
			return false;
		}
		if (!why)
			*(uint64_t *)field = x;
		break;
	case V_PATH:
	case V_PSEUDO:
		if (k->type == V_PSEUDO && !utf8_valid((const unsigned char *)v)) {
			why = "is not valid UTF-8 (clients see these names)";
			break;
		}
		why = path_normalise(v, &s);
		if (!why && !s) {
			p->nomem = true;
			return false;
		}
		if (!why)
			set_string((char **)field, s);
		break;
	case V_DOMAIN:
		why = domain_check(v);
		if (!why) {
			s = xstrdup(p, v);
			if (!s)
				return false;
			set_string((char **)field, s);
		}
		break;
	case V_LOGLEVEL:
		if (!set_enum(p, line, k, v, log_level_names, &e))
			return false;
		*(enum config_log_level *)field = (enum config_log_level)e;
		break;
	case V_ACCESS:
		if (!set_enum(p, line, k, v, access_names, &e))
			return false;
		*(enum config_access *)field = (enum config_access)e;
		break;
	case V_SQUASH:
		if (!set_enum(p, line, k, v, squash_names, &e))
			return false;
		*(enum config_squash *)field = (enum config_squash)e;
		break;
	case V_LISTEN:
		break;
	}
	if (why) {
		errs_add(p->errs, line, "%s: '%s' %s", k->name, v, why);
		return false;
	}
	return true;
}

/* ---- exports --------------------------------------------------------------------------- */

static struct config_export *export_last(struct parser *p)
{
	return &p->c->exports[p->c->nexports - 1];
}

/* Start the block of "export PATH {" (path NULL when the header was bad). */
static void export_open(struct parser *p, unsigned int line, const char *path)
{
	struct config *c = p->c;
	struct config_export *e;
	struct emeta *m;
	const char *why;
	char *norm = NULL;

	if (c->nexports == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct config_export *ev = realloc(c->exports, cap * sizeof(*ev));

		if (!ev) {
			p->nomem = true;
			return;
		}
		c->exports = ev;
		m = realloc(p->meta, cap * sizeof(*m));
		if (!m) {
			p->nomem = true;
			return;
		}
		p->meta = m;
		p->cap = cap;
	}
	e = &c->exports[c->nexports];
	m = &p->meta[c->nexports];
	c->nexports++;
	*e = (struct config_export){
		.access = CONFIG_ACCESS_RO,
		.squash = CONFIG_SQUASH_ROOT,
		.anonuid = CONFIG_DEFAULT_ANON_ID,
		.anongid = CONFIG_DEFAULT_ANON_ID,
		.line = line,
	};
	*m = (struct emeta){0};
	p->in_export = true;
	if (!path)
		return;
	why = path_normalise(path, &norm);
	if (why) {
		errs_add(p->errs, line, "export path '%s' %s", path, why);
		return;
	}
	if (!norm) {
		p->nomem = true;
		return;
	}
	e->path = norm;
	m->path_ok = true;
}

/* Is a a proper prefix of b by whole components ("/a" of "/a/b", "/" of anything else)? */
static bool path_nests(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (strcmp(a, "/") == 0)
		return strcmp(b, "/") != 0;
	return strncmp(a, b, la) == 0 && b[la] == '/';
}

/* Close the last export's block: defaults, required keys, rules against the exports before. */
static void export_close(struct parser *p)
{
	struct config_export *e = export_last(p);
	size_t me = p->c->nexports - 1;
	struct emeta *m = &p->meta[me];
	unsigned int id_line = m->seen[E_ID], pseudo_line = m->seen[E_PSEUDO];

	p->in_export = false;
	if (!id_line)
		errs_add(p->errs, e->line,
			 "export%s%s has no id (ids go into file handles: pick one, never reuse it)",
			 e->path ? " " : "", e->path ? e->path : "");
	if (!pseudo_line && m->path_ok) {
		e->pseudo = xstrdup(p, e->path);
		pseudo_line = e->line;
	}
	for (size_t i = 0; i < me; i++) {
		const struct config_export *o = &p->c->exports[i];

		if (m->id_ok && p->meta[i].id_ok && o->id == e->id)
			errs_add(p->errs, id_line, "export id %u is already used by the export on line %u",
				 e->id, o->line);
		if (!e->pseudo || !o->pseudo)
			continue;
		if (strcmp(o->pseudo, e->pseudo) == 0)
			errs_add(p->errs, pseudo_line,
				 "pseudo path '%s' is already used by the export on line %u",
				 e->pseudo, o->line);
		else if (path_nests(o->pseudo, e->pseudo))
			errs_add(p->errs, pseudo_line,
				 "pseudo path '%s' is inside '%s' of the export on line %u: %s",
				 e->pseudo, o->pseudo, o->line,
				 strcmp(o->pseudo, "/") == 0 ? "an export at '/' must be the only one"
							     : "exports may not nest");
		else if (path_nests(e->pseudo, o->pseudo))
			errs_add(p->errs, pseudo_line,
				 "pseudo path '%s' contains '%s' of the export on line %u: %s",
				 e->pseudo, o->pseudo, o->line,
				 strcmp(e->pseudo, "/") == 0 ? "an export at '/' must be the only one"
							     : "exports may not nest");
	}
}

/* ---- lines ----------------------------------------------------------------------------- */

/* "key = values" (toks[0] a word, toks[1] '='). */
static void key_line(struct parser *p, unsigned int line, bool in_export)
{
	const struct key *keys = in_export ? export_keys : global_keys;
	size_t nkeys = in_export ? E_NKEYS : G_NKEYS, n = 0;
	const char *name = p->toks[0].text;
	struct tok vals[MAX_TOKENS];
	bool adjacent = false, want_value = true;
	const struct key *k = key_find(keys, nkeys, name);
	unsigned int *seen;
	size_t ki;
	bool ok;

	if (!k) {
		const char *hint = suggest(keys, nkeys, name);

		if (strcmp(name, "export") == 0)
			errs_add(p->errs, line, "'export' starts a block: export PATH {");
		else if (!in_export && key_find(export_keys, E_NKEYS, name))
			errs_add(p->errs, line,
				 "'%s' is an export setting: put it inside an 'export PATH { }' block",
				 name);
		else if (in_export && key_find(global_keys, G_NKEYS, name))
			errs_add(p->errs, line, "'%s' is a global setting, not one of an export",
				 name);
		else if (hint)
			errs_add(p->errs, line, "unknown key '%s' (did you mean '%s'?)", name, hint);
		else
			errs_add(p->errs, line, "unknown key '%s'", name);
		return;
	}
	for (size_t i = 2; i < p->ntok; i++) {
		const struct tok *t = &p->toks[i];

		if (is_value(t)) {
			if (!want_value)
				adjacent = true;
			vals[n++] = *t;
			want_value = false;
		} else if (t->kind == T_COMMA && !want_value) {
			want_value = true;
		} else {
			errs_add(p->errs, line, "%s: unexpected '%s'%s", name, tok_text(t),
				 t->kind == T_COMMA ? " (empty list item)" : " (quote the value)");
			return;
		}
	}
	if (want_value && n) {
		errs_add(p->errs, line, "%s: ',' at the end of the list", name);
		return;
	}
	ki = (size_t)(k - keys);
	seen = in_export ? &p->meta[p->c->nexports - 1].seen[ki] : &p->gseen[ki];
	if (*seen) {
		errs_add(p->errs, line, "duplicate key '%s' (first set on line %u)", name, *seen);
		return;
	}
	*seen = line;
	ok = set_value(p, line, k, in_export ? (void *)export_last(p) : (void *)p->c, vals, n,
		       adjacent);
	if (in_export && ki == E_ID)
		p->meta[p->c->nexports - 1].id_ok = ok;
	if (!in_export)
		p->gbad[ki] = !ok;
}

/* "export PATH {", with toks[0] == "export". */
static void export_line(struct parser *p, unsigned int line)
{
	bool brace = p->toks[p->ntok - 1].kind == T_LBRACE;

	if (p->ntok == 3 && is_value(&p->toks[1]) && brace) {
		export_open(p, line, p->toks[1].text);
		return;
	}
	if (p->ntok < 2 || !is_value(&p->toks[1]))
		errs_add(p->errs, line, "export: expected 'export PATH {'");
	else if (!brace)
		errs_add(p->errs, line, "export: '{' must end the 'export PATH' line");
	else
		errs_add(p->errs, line, "export: one path expected (quote paths with spaces)");
	if (brace)
		export_open(p, line, NULL); /* read the block anyway: its keys may have errors too */
}

static void line_tokens(struct parser *p, unsigned int line)
{
	const struct tok *t0 = &p->toks[0], *tl = &p->toks[p->ntok - 1];
	bool keyval = p->ntok >= 2 && t0->kind == T_WORD && p->toks[1].kind == T_EQ;

	if (p->skip) {
		for (size_t i = 0; i < p->ntok; i++) {
			if (p->toks[i].kind == T_LBRACE)
				p->skip++;
			else if (p->toks[i].kind == T_RBRACE && !--p->skip)
				break;
		}
		return;
	}
	if (p->in_export) {
		if (t0->kind == T_RBRACE || tl->kind == T_RBRACE) {
			if (p->ntok > 1)
				errs_add(p->errs, line, "'}' must be on a line of its own");
			export_close(p);
			return;
		}
		if (keyval) {
			key_line(p, line, true);
			return;
		}
		if (t0->kind == T_WORD && strcmp(t0->text, "export") == 0) {
			errs_add(p->errs, line,
				 "export blocks do not nest ('}' missing for the export on line %u?)",
				 export_last(p)->line);
			export_close(p);
			export_line(p, line);
			return;
		}
		if (tl->kind == T_LBRACE) {
			errs_add(p->errs, line, "no blocks inside an export block");
			p->skip = 1;
			p->skip_line = line;
			return;
		}
		errs_add(p->errs, line, "expected 'key = value' or '}'");
		return;
	}
	if (keyval) {
		key_line(p, line, false);
		return;
	}
	if (t0->kind == T_WORD && strcmp(t0->text, "export") == 0) {
		export_line(p, line);
		return;
	}
	if (tl->kind == T_LBRACE) {
		errs_add(p->errs, line, "unknown block '%s' (the only block is 'export PATH {')",
			 tok_text(t0));
		p->skip = 1;
		p->skip_line = line;
		return;
	}
	if (t0->kind == T_RBRACE) {
		errs_add(p->errs, line, "'}' without an open block");
		return;
	}
	errs_add(p->errs, line, "expected 'key = value' or 'export PATH {'");
}

/*
 * A line that could not be cut into tokens (already reported). If it opens a block, open it
 * anyway, so that the lines after it are read where they belong and one mistake gives one
 * message: 'export "/data {' must not turn the block's keys into errors of their own.
 */
static void lex_failed(struct parser *p, unsigned int line, const char *s, size_t len)
{
	while (len && is_space(s[len - 1]))
		len--;
	if (!len || s[len - 1] != '{' || p->skip)
		return;
	while (is_space(*s))
		s++;
	if (!p->in_export && strncmp(s, "export", 6) == 0 && is_space(s[6])) {
		export_open(p, line, NULL);
	} else {
		p->skip = 1;
		p->skip_line = line;
	}
}

/* ---- the whole text -------------------------------------------------------------------- */

static int by_id_cmp(const void *a, const void *b)
{
	const struct config_export *x = *(const struct config_export *const *)a;
	const struct config_export *y = *(const struct config_export *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct config *config_new(const char *name)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->threads = 0; /* auto */
	c->log_level = CONFIG_LOG_INFO;
	c->lease_time = CONFIG_DEFAULT_LEASE_TIME;
	c->grace_time = CONFIG_DEFAULT_GRACE_TIME;
	c->max_record = CONFIG_DEFAULT_MAX_RECORD;
	c->cache_size = CONFIG_DEFAULT_CACHE_SIZE;
	c->attr_cache = CONFIG_DEFAULT_ATTR_CACHE;
	c->busy_poll = CONFIG_DEFAULT_BUSY_POLL;
	c->name = strdup(name);
	c->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	c->owner_domain = strdup("");
	c->listen = calloc(1, sizeof(*c->listen));
	if (c->listen) {
		c->nlisten = 1;
		c->listen[0] = strdup(CONFIG_DEFAULT_LISTEN);
	}
	if (!c->name || !c->listen || !c->listen[0] || !c->state_dir || !c->owner_domain) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* After the last line: whole-file rules, then the lookup structures. */
static void finish(struct parser *p)
{
	struct config *c = p->c;

	if (p->skip)
		errs_add(p->errs, p->skip_line, "block is not closed (missing '}')");
	if (p->in_export) {
		errs_add(p->errs, export_last(p)->line, "export block is not closed (missing '}')");
		export_close(p);
	}
	if (!c->nexports)
		errs_add(p->errs, 0, "no exports: nothing to serve (add an 'export PATH { }' block)");
	if (!p->gbad[G_LEASE_TIME] && !p->gbad[G_GRACE_TIME] && c->grace_time < c->lease_time)
		errs_add(p->errs, p->gseen[G_GRACE_TIME] ? p->gseen[G_GRACE_TIME]
							 : p->gseen[G_LEASE_TIME],
			 "grace_time (%u) is shorter than lease_time (%u): clients that renew once "
			 "a lease period could miss the grace period",
			 c->grace_time, c->lease_time);
}

static int build_lookups(struct config *c, struct errs *errs)
{
	char why[MSG_MAX];
	int ret;

	c->by_id = calloc(c->nexports, sizeof(*c->by_id));
	if (!c->by_id)
		return -ENOMEM;
	for (size_t i = 0; i < c->nexports; i++)
		c->by_id[i] = &c->exports[i];
	qsort(c->by_id, c->nexports, sizeof(*c->by_id), by_id_cmp);
	ret = pseudo_build(c->exports, c->nexports, &c->pseudo_root, why, sizeof(why));
	if (ret == -EINVAL) /* the parser's own rules should have caught it */
		errs_add(errs, 0, "%s", why);
	return ret;
}

static int parse(const char *text, const char *name, bool lines, struct config **out,
		 char *err, size_t errlen)
{
	struct errs *errs = calloc(1, sizeof(*errs));
	struct parser p = {0};
	unsigned int lineno = 0;
	const char *s = text;
	int ret;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	p.c = config_new(name);
	if (!errs || !p.c) {
		ret = -ENOMEM;
		goto out;
	}
	errs->name = name;
	errs->lines = lines;
	p.errs = errs;
	while (*s && !p.nomem) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		lineno++;
		if (lex(&p, lineno, s, len)) {
			if (p.ntok)
				line_tokens(&p, lineno);
		} else if (!p.nomem) {
			lex_failed(&p, lineno, s, len);
		}
		s += len + (nl ? 1 : 0);
	}
	if (!p.nomem)
		finish(&p);
	if (p.nomem) {
		ret = -ENOMEM;
		goto out;
	}
	if (!errs->n) {
		ret = build_lookups(p.c, errs);
		if (ret == -ENOMEM)
			goto out;
	}
	ret = errs_finish(errs, err, errlen);
	if (ret == 0) {
		*out = p.c;
		p.c = NULL;
	}
out:
	if (ret == -ENOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", name);
	config_free(p.c);
	free(p.meta);
	free(p.scratch);
	free(errs);
	return ret;
}

int config_parse_string(const char *text, const char *name, struct config **out, char *err,
			size_t errlen)
{
	return parse(text, name, true, out, err, errlen);
}

int config_parse_file(const char *path, struct config **out, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = NULL;
	const char *nul;
	struct stat st;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISDIR(st.st_mode))
		ret = -EISDIR;
	else
		ret = 0;
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	buf = malloc(CONFIG_MAX_FILE_SIZE + 2);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) { /* up to one byte more than allowed, to tell "too large" */
		ssize_t r = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
			goto out;
		}
		if (r == 0 || (len += (size_t)r) > CONFIG_MAX_FILE_SIZE)
			break;
	}
	if (len > CONFIG_MAX_FILE_SIZE) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: larger than %zu bytes", path, CONFIG_MAX_FILE_SIZE);
		goto out;
	}
	buf[len] = '\0';
	nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned int line = 1;

		for (const char *q = buf; q < nul; q++)
			line += *q == '\n';
		ret = -EINVAL;
		snprintf(err, errlen, "%s:%u: NUL byte (not a text file?)", path, line);
		goto out;
	}
	ret = parse(buf, path, true, out, err, errlen);
out:
	free(buf);
	close(fd);
	return ret;
}

int config_default_for_export(const char *dir, struct config **out, char *err, size_t errlen)
{
	static const char head[] = "export \"";
	static const char tail[] = "\" {\n\tid = 1\n\tpseudo = /\n\taccess = rw\n\tsquash = none\n}\n";
	char *cwd = NULL, *text = NULL, *o;
	size_t need;
	int ret;

	*out = NULL;
	if (!dir || !*dir) {
		snprintf(err, errlen, DEMO_NAME ": no directory given");
		return -EINVAL;
	}
	if (strpbrk(dir, "\n\r")) {
		snprintf(err, errlen, DEMO_NAME ": the directory name contains a line break");
		return -EINVAL;
	}
	if (dir[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd) {
			ret = -errno;
			snprintf(err, errlen, DEMO_NAME ": current directory: %s", strerror(-ret));
			return ret;
		}
	}
	/* every byte of cwd "/" dir may need a backslash */
	need = sizeof(head) + 2 * ((cwd ? strlen(cwd) + 1 : 0) + strlen(dir)) + sizeof(tail);
	text = malloc(need);
	if (!text) {
		free(cwd);
		snprintf(err, errlen, DEMO_NAME ": out of memory");
		return -ENOMEM;
	}
	o = stpcpy(text, head);
	for (int part = 0; part < 3; part++) {
		const char *src = part == 0 ? cwd : part == 1 ? (cwd ? "/" : NULL) : dir;

		for (; src && *src; src++) {
			if (*src == '"' || *src == '\\')
				*o++ = '\\';
			*o++ = *src;
		}
	}
	strcpy(o, tail);
	ret = parse(text, DEMO_NAME, false, out, err, errlen);
	if (ret == 0)
		(*out)->exports[0].line = 0; /* not from a file the user can open */
	free(text);
	free(cwd);
	return ret;
}

int config_check(const struct config *c, char *err, size_t errlen)
{
	struct errs *errs = calloc(1, sizeof(*errs));
	int ret;

	if (!errs) {
		snprintf(err, errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	errs->name = c->name;
	errs->lines = true;
	for (size_t i = 0; i < c->nexports; i++) {
		const struct config_export *e = &c->exports[i];
		struct stat st;

		if (stat(e->path, &st) < 0)
			errs_add(errs, e->line, "export %s: %s", e->path, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			errs_add(errs, e->line, "export %s: not a directory", e->path);
	}
	ret = errs_finish(errs, err, errlen);
	free(errs);
	return ret;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	pseudo_free(c->pseudo_root);
	free(c->by_id);
	for (size_t i = 0; i < c->nexports; i++) {
		free(c->exports[i].path);
		free(c->exports[i].pseudo);
	}
	free(c->exports);
	if (c->listen)
		for (size_t i = 0; i < c->nlisten; i++)
			free(c->listen[i]);
	free(c->listen);
	free(c->state_dir);
	free(c->owner_domain);
	free(c->name);
	free(c);
}

const struct config_export *config_export_by_id(const struct config *c, uint32_t id)
{
	size_t lo = 0, hi = c->nexports;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t m = c->by_id[mid]->id;

		if (m == id)
			return c->by_id[mid];
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct config_export *config_export_by_pseudo(const struct config *c, const char *path)
{
	const struct pseudo_node *n = pseudo_lookup_path(c->pseudo_root, path);

	return n ? n->export : NULL;
}

const struct pseudo_node *config_pseudo_root(const struct config *c)
{
	return c->pseudo_root;
}

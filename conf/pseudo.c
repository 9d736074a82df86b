/*
 * The NFSv4 pseudo file system: a tree of directory nodes from the exports' pseudo paths.
 * See pseudo.h for the contract.
 */
#include "pseudo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Next component of *p (skipping slashes): its start and length, or false at the end. */
static bool next_component(const char **p, const char **start, size_t *len)
{
	const char *s = *p;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	*start = s;
	while (*s && *s != '/')
		s++;
	*len = (size_t)(s - *start);
	*p = s;
	return true;
}

/* Compare the component (c, len) with a NUL-terminated name, as strcmp would. */
static int compare_component(const char *c, size_t len, const char *name)
{
	int r = strncmp(c, name, len);

	if (r)
		return r;
	return name[len] ? -1 : 0;
}

/* Index of the child called (c, len) in dir, or where it would be inserted (*found false). */
static size_t child_slot(const struct pseudo_node *dir, const char *c, size_t len, bool *found)
{
	size_t lo = 0, hi = dir->nchildren;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = compare_component(c, len, dir->children[mid]->name);

		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

static struct pseudo_node *node_new(struct pseudo_node *parent, const char *c, size_t len)
{
	struct pseudo_node *n = calloc(1, sizeof(*n));
	size_t plen;

	if (!n)
		return NULL;
	n->parent = parent;
	n->name = strndup(c, len);
	if (!parent) {
		n->path = strdup("/");
	} else {
		plen = strcmp(parent->path, "/") == 0 ? 0 : strlen(parent->path);
		n->path = malloc(plen + 1 + len + 1);
		if (n->path) {
			memcpy(n->path, parent->path, plen);
			n->path[plen] = '/';
			memcpy(n->path + plen + 1, c, len);
			n->path[plen + 1 + len] = '\0';
		}
	}
	if (!n->name || !n->path) {
		free(n->name);
		free(n->path);
		free(n);
		return NULL;
	}
	return n;
}

/* The child (c, len) of dir, created (in name order) if missing. NULL: out of memory. */
static struct pseudo_node *child_get(struct pseudo_node *dir, const char *c, size_t len)
{
	struct pseudo_node **v, *n;
	bool found;
	size_t at = child_slot(dir, c, len, &found);

	if (found)
		return dir->children[at];
	n = node_new(dir, c, len);
	if (!n)
		return NULL;
	v = realloc(dir->children, (dir->nchildren + 1) * sizeof(*v));
	if (!v) {
		pseudo_free(n);
		return NULL;
	}
	memmove(v + at + 1, v + at, (dir->nchildren - at) * sizeof(*v));
	v[at] = n;
	dir->children = v;
	dir->nchildren++;
	return n;
}

/* Some export below n (n has children, and every leaf carries an export). */
static const struct config_export *some_export_below(const struct pseudo_node *n)
{
	while (!n->export && n->nchildren)
		n = n->children[0];
	return n->export;
}

static uint32_t number(struct pseudo_node *n, uint32_t next)
{
	n->index = next++;
	for (size_t i = 0; i < n->nchildren; i++)
		next = number(n->children[i], next);
	return next;
}

int pseudo_build(const struct config_export *exports, size_t n, struct pseudo_node **out,
		 char *err, size_t errlen)
{
	struct pseudo_node *root;
	int ret;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	root = node_new(NULL, "", 0);
	if (!root)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct config_export *e = &exports[i];
		const char *p = e->pseudo, *c;
		struct pseudo_node *node = root;
		size_t len;

		if (!p || p[0] != '/') {
			ret = fail(err, errlen, -EINVAL, "export %u: pseudo path '%s' is not absolute",
				   e->id, p ? p : "");
			goto fail;
		}
		while (next_component(&p, &c, &len)) {
			if (node->export) {
				ret = fail(err, errlen, -EINVAL,
					   "export %u: pseudo path '%s' nests inside '%s' (export %u)",
					   e->id, e->pseudo, node->path, node->export->id);
				goto fail;
			}
			node = child_get(node, c, len);
			if (!node) {
				ret = fail(err, errlen, -ENOMEM, "out of memory");
				goto fail;
			}
		}
		if (node->export) {
			ret = fail(err, errlen, -EINVAL, "exports %u and %u share pseudo path '%s'",
				   node->export->id, e->id, node->path);
			goto fail;
		}
		if (node->nchildren) {
			const struct config_export *in = some_export_below(node);

			ret = fail(err, errlen, -EINVAL,
				   "export %u: pseudo path '%s' nests inside '%s' (export %u)", in->id,
				   in->pseudo, e->pseudo, e->id);
			goto fail;
		}
		node->export = e;
	}
	number(root, 0);
	*out = root;
	return 0;
fail:
	pseudo_free(root);
	return ret;
}

void pseudo_free(struct pseudo_node *root)
{
	if (!root)
		return;
	for (size_t i = 0; i < root->nchildren; i++)
		pseudo_free(root->children[i]);
	free(root->children);
	free(root->name);
	free(root->path);
	free(root);
}

const struct pseudo_node *pseudo_lookup(const struct pseudo_node *dir, const char *name)
{
	bool found;
	size_t at;

	if (!dir || !name)
		return NULL;
	at = child_slot(dir, name, strlen(name), &found);
	return found ? dir->children[at] : NULL;
}

const struct pseudo_node *pseudo_lookup_path(const struct pseudo_node *root, const char *path)
{
	const struct pseudo_node *node = root;
	const char *p = path, *c;
	size_t len;

	if (!root || !path || path[0] != '/')
		return NULL;
	while (next_component(&p, &c, &len)) {
		bool found;
		size_t at;

		if (node->export)
			return NULL; /* below an export: the file system's, not ours */
		at = child_slot(node, c, len, &found);
		if (!found)
			return NULL;
		node = node->children[at];
	}
	return node;
}

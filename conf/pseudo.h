/*
 * The NFSv4 pseudo file system (RFC 8881 §7.3): the read-only tree of
 * directories a client walks from PUTROOTFH down to the exports, so that "mount server:/" shows
 * every export. It is made of the exports' pseudo paths: "/imagenet" and "/coco/2017" give
 *
 *     /            pseudo directory, children "coco" and "imagenet"
 *     /coco        pseudo directory, child "2017"
 *     /coco/2017   export
 *     /imagenet    export
 *
 * An export sits on a leaf: exports do not nest (one pseudo path a proper prefix of another, by
 * whole components, is refused). An export at "/" is the root itself and then the only node.
 * The tree is immutable once built; a config reload builds a new one.
 */
#ifndef SLUICE_PSEUDO_H
#define SLUICE_PSEUDO_H

#include <stddef.h>
#include <stdint.h>

struct config_export;

struct pseudo_node {
	char *name;                    /* one component; "" for the root */
	char *path;                    /* the whole pseudo path; "/" for the root */
	struct pseudo_node *parent;    /* NULL for the root (LOOKUPP there is NFS4ERR_NOENT) */
	struct pseudo_node **children; /* sorted by name (bytewise): lookups and READDIR order */
	size_t nchildren;
	const struct config_export *export; /* non-NULL: this is that export's root (a leaf) */
	uint32_t index; /* 0 for the root, then depth-first in name order: unique in one tree */
};

/*
 * Build the tree for n exports from their pseudo fields (absolute paths; empty, "." and ".."
 * components are not expected: the config parser normalises). The nodes point at exports[],
 * which must outlive the tree. Returns 0 and *out, -EINVAL with a reason in err (a relative
 * path, two exports at one pseudo path, one nested in another), or -ENOMEM.
 */
int pseudo_build(const struct config_export *exports, size_t n, struct pseudo_node **out,
		 char *err, size_t errlen);

void pseudo_free(struct pseudo_node *root);

/* The child of dir called name (one component), or NULL. O(log children). */
const struct pseudo_node *pseudo_lookup(const struct pseudo_node *dir, const char *name);

/* The node at an absolute path from root ("/" is root; empty components are skipped), or NULL
 * (also when the walk would pass through an export: what is below it is the file system's). */
const struct pseudo_node *pseudo_lookup_path(const struct pseudo_node *root, const char *path);

#endif

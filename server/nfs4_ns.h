/*
 * What OPEN's create shares with the namespace ops of nfs4_ns_ops.c: the check that a
 * directory may be changed, and the steps that decode and apply a client's attributes.
 */
#ifndef SLUICE_NFS4_NS_H
#define SLUICE_NFS4_NS_H

#include <time.h>

#include "attr.h"
#include "object.h"

/*
 * The state of applying a struct attr_set, one storage request at a time: size first (a
 * truncate moves mtime, which a time given in the same call must win over), then owner and
 * group (chown clears setuid/setgid bits, which a mode given with them sets again), then
 * mode, then the times. Each success is recorded in the result bitmap, so a failure half way
 * reports what did change (RFC 8881 §18.30.4).
 */
struct ns_apply {
	const struct attr_set *as;
	bitmap4 *set;
	opx_step then;
	int stage;
	struct timespec ts[2];
};

/* The directory x->obj (statted into x->stx) may be changed: a directory of a writable
 * export; else ROFS, NOTDIR or SYMLINK. */
nfsstat4 ns_dir_writable(const struct opx *x);

/* Make the object with O_PATH fd fd (pinned in the fd cache) and handle fh the one x works
 * on (x->obj), in the same export. */
nfsstat4 ns_become(struct opx *x, int fd, const uint8_t *fh, uint32_t fh_len);

/* Decode a client's fattr4 to set (attr_decode_set, flags ATTR_SET_*), with the server's
 * owner domain (names are numeric unless one is configured). */
nfsstat4 ns_decode_attrs(struct opx *x, const fattr4 *in, unsigned int flags,
			 struct attr_set *out);

/*
 * Apply as to x->obj (statted into x->stx) as the caller, recording what was set in set
 * (whose bitmap4_val has ATTR_WORDS words); then continue with then. x->priv must point at a
 * struct whose first member is a struct ns_apply * pointing at ap.
 */
nfsstat4 ns_apply_attrs(struct opx *x, struct ns_apply *ap, const struct attr_set *as,
			bitmap4 *set, opx_step then);

#endif

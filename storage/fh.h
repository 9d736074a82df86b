/*
 * fh: file handles that survive a server restart.
 *
 * A handle is an opaque byte string of at most FH_MAX_SIZE bytes:
 *
 *   off  size  field
 *   0    1     magic (high nibble 0xA) | format version (low nibble, 1)
 *   1    4     export id, big-endian (from the config, so stable across restarts)
 *   5    4     kernel handle_type, big-endian (signed; negative is invalid)
 *   9    1     n = kernel handle length in bytes, 1..FH_KERNEL_MAX
 *   10   n     kernel handle bytes, from name_to_handle_at()
 *
 * Nothing of the boot goes in: no st_dev, no mount id, no pointer. The kernel handle is the
 * filesystem's own persistent identifier (e.g. inode + generation on ext4), resolved again with
 * open_by_handle_at() against the export's mount fd after a restart.
 *
 * The explicit length byte makes truncation detectable at decode time instead of sending a
 * shorter, differently-meaning handle to the filesystem.
 *
 * Security note: open_by_handle_at() only uses the mount fd to find the filesystem. A forged
 * handle can name any inode on that filesystem, not only those under the export root. Whoever
 * exports a subtree of a filesystem must check the resolved object (the server's concern).
 */
#ifndef SLUICE_FH_H
#define SLUICE_FH_H

#include <stddef.h>
#include <stdint.h>

#define FH_MAX_SIZE 128 /* NFS4_FHSIZE (RFC 8881 XDR) */
#define FH_HDR_SIZE 10
#define FH_KERNEL_MAX (FH_MAX_SIZE - FH_HDR_SIZE)
#define FH_MAGIC 0xA0
#define FH_VERSION 1

/* A decoded kernel handle: what open_by_handle_at() needs, without the flexible array. */
struct fh_kernel {
	int type;
	unsigned int len;
	unsigned char bytes[FH_KERNEL_MAX];
};

/*
 * Encode a handle for path relative to dirfd (path NULL or "": dirfd itself). Symlinks are not
 * followed: a symlink gets its own handle. *len is the capacity of out on entry (at least
 * FH_MAX_SIZE is always enough) and the handle's length on return.
 * Returns 0, -EOPNOTSUPP (the filesystem has no persistent handles), -EOVERFLOW (its handle
 * doesn't fit in NFS4_FHSIZE), -ENOSPC (out too small), or the -errno of the lookup.
 */
int fh_encode(uint32_t export_id, int dirfd, const char *path, void *out, size_t *len);

/*
 * Write the handle for an already known kernel handle (or a handle of the server's own, such
 * as a pseudo-file-system node, that uses the same layout). Same *len convention and errors
 * as fh_encode, -EINVAL for a kernel handle fh_decode would refuse.
 */
int fh_pack(uint32_t export_id, const struct fh_kernel *kh, void *out, size_t *len);

/*
 * Strictly validate and decode a handle from the wire. Returns 0, or -EBADMSG for anything
 * malformed (length, magic, version, type, inner length): the server's "bad handle". The export
 * id is returned, not checked: mapping it to an export is the caller's business.
 */
int fh_decode(const void *buf, size_t len, uint32_t *export_id, struct fh_kernel *kh);

/*
 * Open the object a kernel handle names, on the filesystem of mount_fd (any fd on it, usually the
 * export root). flags as for open(2) (O_PATH, O_RDONLY, ...; O_CLOEXEC is added).
 * Returns the new fd, or -ESTALE (the object is gone), -EBADMSG (the filesystem rejects the
 * handle's format), -EPERM (the process lacks CAP_DAC_READ_SEARCH), or another -errno.
 * Blocks on disk: from a loop thread, go through STOR_OP_OPEN_BY_HANDLE.
 */
int fh_resolve(int mount_fd, const struct fh_kernel *kh, int flags);

/*
 * Check at startup that handles work on the export rooted at root_fd: the filesystem supports
 * name_to_handle_at() and we may open_by_handle_at(). Returns 0, -EOPNOTSUPP or -EPERM (missing
 * CAP_DAC_READ_SEARCH), so the server can say so clearly before any client sees a bad handle.
 */
int fh_export_check(int root_fd);

#endif /* SLUICE_FH_H */

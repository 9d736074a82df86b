/*
 * errno → nfsstat4 (see errmap.h).
 *
 * Choices that are not one-to-one, in one place:
 * - EPERM is NFS4ERR_PERM ("not owner"), EACCES is NFS4ERR_ACCESS: clients turn them back
 *   into the same two errnos.
 * - EBADMSG is how storage/ reports a file handle that does not parse: NFS4ERR_BADHANDLE
 *   (RFC 8881 §15.1.2). ESTALE (the object is gone) is NFS4ERR_STALE.
 * - ELOOP comes from an O_NOFOLLOW open or lookup that met a symbolic link where the op
 *   wants another type: NFS4ERR_SYMLINK (RFC 8881 §15.1.2). Ops for which the RFC asks a
 *   different status on a link (e.g. NFS4ERR_WRONG_TYPE) check the type themselves.
 * - EAGAIN/EWOULDBLOCK ask the client to retry: NFS4ERR_DELAY.
 * - ENOMEM is NFS4ERR_SERVERFAULT. NFS4ERR_RESOURCE exists only in NFSv4.0 and describes
 *   exhausting the resources of COMPOUND processing (RFC 7530 §13.1); NFSv4.1 obsoletes it
 *   (RFC 8881 §15.1.16). SERVERFAULT is valid for every op in every minor version. The
 *   compound engine itself uses RESOURCE for 4.0 limits, where it has the right meaning.
 * - ENXIO is NFS4ERR_NXIO, the NFSv4.0 status for it.
 * - EOPNOTSUPP/ENOTSUP and ENOSYS are NFS4ERR_NOTSUPP.
 * - Anything else is NFS4ERR_SERVERFAULT, which the caller logs.
 */
#include "errmap.h"

#include <errno.h>
#include <limits.h>

nfsstat4 nfs_errno_to_status(int err)
{
	if (err == INT_MIN)
		return NFS4ERR_SERVERFAULT;
	if (err < 0)
		err = -err;

	switch (err) {
	case 0:
		return NFS4_OK;
	case EPERM:
		return NFS4ERR_PERM;
	case ENOENT:
		return NFS4ERR_NOENT;
	case EIO:
		return NFS4ERR_IO;
	case ENXIO:
		return NFS4ERR_NXIO;
	case EACCES:
		return NFS4ERR_ACCESS;
	case EEXIST:
		return NFS4ERR_EXIST;
	case EXDEV:
		return NFS4ERR_XDEV;
	case ENOTDIR:
		return NFS4ERR_NOTDIR;
	case EISDIR:
		return NFS4ERR_ISDIR;
	case EINVAL:
		return NFS4ERR_INVAL;
	case EFBIG:
		return NFS4ERR_FBIG;
	case ENOSPC:
		return NFS4ERR_NOSPC;
	case EROFS:
		return NFS4ERR_ROFS;
	case EMLINK:
		return NFS4ERR_MLINK;
	case ENAMETOOLONG:
		return NFS4ERR_NAMETOOLONG;
	case ENOTEMPTY:
		return NFS4ERR_NOTEMPTY;
	case EDQUOT:
		return NFS4ERR_DQUOT;
	case ESTALE:
		return NFS4ERR_STALE;
	case EBADMSG:
		return NFS4ERR_BADHANDLE;
	case ELOOP:
		return NFS4ERR_SYMLINK;
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return NFS4ERR_DELAY;
	case EOPNOTSUPP:
#if ENOTSUP != EOPNOTSUPP
	case ENOTSUP:
#endif
	case ENOSYS:
		return NFS4ERR_NOTSUPP;
	case ENOMEM:
	default:
		return NFS4ERR_SERVERFAULT;
	}
}

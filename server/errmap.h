/*
 * errno → nfsstat4: the one place in server/ where an error of the storage layer (which
 * speaks -errno and knows nothing of NFS) becomes a protocol status.
 */
#ifndef SLUICE_ERRMAP_H
#define SLUICE_ERRMAP_H

#include "nfs4.h"

/*
 * The status for err, which may be negative (-ENOENT, as storage/ returns it) or positive.
 * 0 is NFS4_OK. An errno without a protocol meaning is NFS4ERR_SERVERFAULT; the caller logs
 * it (with the op and the errno) since the client will learn nothing useful from the reply.
 */
nfsstat4 nfs_errno_to_status(int err);

#endif

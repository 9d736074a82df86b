/*
 * attr: NFSv4 file attributes. Turns a Linux struct statx (plus the facts of the export and of
 * the filesystem) into an fattr4 (bitmap4 + attrlist4) with each attribute in the XDR type of
 * RFC 8881 §5 (RFC 7530 §5 for 4.0, RFC 7862 §12.2 for 4.2), for GETATTR and READDIR; and
 * compares a client's fattr4 with the server's values for VERIFY/NVERIFY.
 *
 * What is supported (RFC 8881 §5.8.1.1: supported_attrs is what a GETATTR would retrieve, plus
 * the two write-only times that SETATTR takes):
 *   mandatory: supported_attrs type fh_expire_type change size link_support symlink_support
 *     named_attr fsid unique_handles lease_time rdattr_error filehandle, and for 4.1+
 *     suppattr_exclcreat;
 *   recommended: aclsupport cansettime case_insensitive case_preserving chown_restricted fileid
 *     files_avail files_free files_total fs_locations homogeneous maxfilesize maxlink maxname
 *     maxread maxwrite mode no_trunc numlinks owner owner_group rawdev space_avail space_free
 *     space_total space_used time_access time_create time_delta time_metadata time_modify
 *     mounted_on_fileid; for 4.2: clone_blksize (only when attr_src.clone_blksize != 0) and
 *     xattr_support (FALSE: no xattr ops).
 * A statx field the kernel did not fill (stx_mask) makes its attribute unavailable for that
 * object: it is left out of supported_attrs and of the result, as knfsd does for btime. Ask
 * statx for STATX_BASIC_STATS | STATX_BTIME.
 *
 * Not supported (silently left out of a GETATTR result): acl, archive, hidden, mimetype,
 * quota_*, system, time_backup, the pNFS and retention attributes, fs_locations_info,
 * fs_status, change_policy, dacl/sacl, mode_set_masked, fs_charset_cap, space_freed,
 * change_attr_type, sec_label, mode_umask.
 * Write-only attributes (time_access_set, time_modify_set) are never returned: asking for them
 * in GETATTR/READDIR is NFS4ERR_INVAL.
 *
 * Setting (attr_decode_set): size, mode, owner, owner_group, time_access_set and
 * time_modify_set; every other attribute is refused (see attr_decode_set for which status).
 */
#ifndef SLUICE_ATTR_H
#define SLUICE_ATTR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nfs4.h"

struct statx;
struct statvfs;

#define ATTR_MAX FATTR4_XATTR_SUPPORT  /* highest attribute number we know (82, RFC 8276) */
#define ATTR_WORDS ((ATTR_MAX + 32) / 32) /* bitmap4 words needed for every known attribute */

/* An attribute mask in host order: bit n of w[n / 32] is attribute n. */
struct attr_mask {
	uint32_t w[ATTR_WORDS];
};

static inline bool attr_mask_has(const struct attr_mask *m, unsigned int attr)
{
	return attr <= ATTR_MAX && (m->w[attr / 32] >> (attr % 32)) & 1u;
}

static inline void attr_mask_set(struct attr_mask *m, unsigned int attr)
{
	if (attr <= ATTR_MAX)
		m->w[attr / 32] |= 1u << (attr % 32);
}

/*
 * Optional owner name lookup: write the NUL-terminated name of uid (group false) or gid (group
 * true) into buf and return 0, or return a -errno (-ENOENT: no such id; -ERANGE: too long) to
 * fall back to the numeric form. Called on a loop thread: it must not block (use a cache, not
 * getpwuid_r on a cold NSS).
 */
typedef int (*attr_idname_fn)(void *ctx, uint32_t id, bool group, char *buf, size_t cap);

/* Everything one object's attributes are made of. The pointers are only read during a call. */
struct attr_src {
	const struct statx *stx;    /* the object (NULL allowed only when rdattr_error != 0) */
	const struct statvfs *vfs;  /* its filesystem: space_* and files_* */
	uint64_t fsid_major;        /* per export, from the config; never st_dev */
	uint64_t fsid_minor;
	const uint8_t *fh;          /* the object's file handle (filehandle attribute) */
	uint32_t fh_len;            /* at most NFS4_FHSIZE */
	uint32_t lease_time;        /* seconds */
	uint32_t minorversion;      /* 0, 1 or 2 */
	bool is_export_root;        /* mounted_on_fileid is then the field below, else the fileid */
	uint64_t mounted_on_fileid; /* fileid of the directory the export root is mounted on */
	uint64_t change;            /* the change attribute: attr_change_from_statx() */
	nfsstat4 rdattr_error;      /* READDIR: the error getting this entry's attributes, or
	                             * NFS4_OK. When set only rdattr_error is encoded. */
	const char *owner_domain;   /* NULL: owners are numeric ("1000") like knfsd with
	                             * idmapping off; with idname set: "name@domain" */
	attr_idname_fn idname;      /* optional, see above; needs owner_domain */
	void *idname_ctx;
	uint32_t max_read;          /* maxread, maxwrite: the largest READ/WRITE we accept */
	uint32_t max_write;
	uint64_t max_filesize;
	uint32_t link_max;          /* maxlink */
	uint32_t name_max;          /* maxname */
	uint32_t clone_blksize;     /* 4.2 clone_blksize; 0: attribute not offered */
};

/*
 * The change attribute derived from ctime: seconds << 30 | nanoseconds (nanoseconds < 2^30).
 * Distinct ctimes give distinct values and a later ctime a larger value (for seconds in
 * [0, 2^34), i.e. until the year 2514), which is what clients need (RFC 8881 §5.8.1.4). The
 * kernel's i_version (STATX_CHANGE_COOKIE) is not exported to user space by statx, so ctime is
 * what a user-space server has; like knfsd on filesystems without i_version, two changes within
 * one ctime tick are not told apart.
 */
uint64_t attr_change_from_statx(const struct statx *stx);

/*
 * Read a client's bitmap4 into m. Words beyond ATTR_WORDS and bits above ATTR_MAX are ignored
 * (extra zero words are fine). Returns true if some ignored bit was set, i.e. the client asked
 * for an attribute we do not even know (VERIFY turns that into NFS4ERR_ATTRNOTSUPP; GETATTR
 * ignores it).
 */
bool attr_mask_load(struct attr_mask *m, const bitmap4 *bm);

/* The attributes attr_encode() can produce for src (this is the supported_attrs value). */
void attr_supported(const struct attr_src *src, struct attr_mask *out);

/* suppattr_exclcreat (4.1+): what OPEN's EXCLUSIVE4_1 may set: attr_settable() without the
 * two times (size, mode, owner, owner_group). */
void attr_exclcreat(struct attr_mask *out);

/*
 * Encode the attributes of src that request asks for and that are supported, in ascending
 * attribute number, into buf (the attrlist4 bytes); unsupported ones are left out silently
 * (RFC 8881 §18.7.3). out->attrmask.bitmap4_val must point at ATTR_WORDS words owned by the
 * caller; attr_encode sets the words, the length (trailing zero words trimmed), and
 * out->attr_vals to (buf, length).
 * Returns the attrlist length, or
 *   -ENOSPC  buf is too small (READDIR: this entry does not fit, stop here);
 *   -EINVAL  request has a write-only attribute (GETATTR/READDIR → NFS4ERR_INVAL);
 *   -ENODATA src->rdattr_error is set but rdattr_error was not requested: READDIR fails the op
 *            with that status (RFC 8881 §18.23.3);
 *   -EIO     the object's type has no nfs_ftype4 (cannot happen on Linux).
 */
int attr_encode(const struct attr_src *src, const bitmap4 *request, fattr4 *out, uint8_t *buf,
		size_t cap);

/* attr_verify() results besides 0 (same) and 1 (different). */
#define ATTR_EBADXDR (-EINVAL)      /* attrlist malformed → NFS4ERR_BADXDR */
#define ATTR_ENOTSUPP (-EOPNOTSUPP) /* unsupported attribute in the mask → NFS4ERR_ATTRNOTSUPP */
#define ATTR_EINVAL (-EDOM)         /* rdattr_error or a write-only attribute → NFS4ERR_INVAL */

/*
 * VERIFY/NVERIFY (RFC 8881 §18.31, §18.15): compare given with the server's values for src.
 * Returns 0 if every attribute in given equals ours, 1 if one differs, or ATTR_ENOTSUPP,
 * ATTR_EINVAL, ATTR_EBADXDR (checked in that order, as knfsd does). These codes are not
 * errnos of the storage layer: the op handlers map them as noted, not through errmap.
 *
 * The comparison is of bytes: given is checked for well-formedness without trusting any
 * length in it (a boolean other than 0 or 1 is malformed too), decoded with the generated
 * routines and encoded again, then compared with our encoding of the same mask. Re-encoding
 * canonicalizes what a sender may vary without changing a value: pad bytes (which decoders
 * skip) and trailing zero words of the bitmap-valued attributes. The comparison is then exact:
 * both lists hold the same attributes in the same (ascending) order, every supported type is a
 * composition of fixed-size integers, counted opaques and counted arrays, and canonical XDR
 * gives each value exactly one byte string, so the lists are equal byte for byte iff every
 * attribute value is equal. (An enum such as type is compared as its 32-bit value: one the
 * enum does not define just differs from ours.)
 */
int attr_verify(const struct attr_src *src, const fattr4 *given);

/* ---- Setting attributes ------------------------------------------------------------------ */

/* What attr_decode_set() accepts: size, mode, owner, owner_group, time_access_set,
 * time_modify_set. */
void attr_settable(struct attr_mask *out);

/*
 * Optional owner name resolution, the reverse of attr_idname_fn: set *id to the uid (group
 * false) or gid (group true) of name, the part of an owner string before "@domain"
 * (NUL-terminated, non-empty, no NUL inside; the domain was already checked). Return 0, or
 *   -EAGAIN  the answer is not at hand without blocking (→ NFS4ERR_DELAY: the client retries);
 *   any other -errno (-ENOENT: no such name) → NFS4ERR_BADOWNER.
 * Called on a loop thread: it must not block. An *id of UINT32_MAX is refused (BADOWNER).
 */
typedef int (*attr_idparse_fn)(void *ctx, const char *name, bool group, uint32_t *id);

/* The attributes a client sets: SETATTR's obj_attributes (RFC 8881 §18.30), OPEN's createattrs
 * and EXCLUSIVE4_1's cva_attrs (§18.16), CREATE's createattrs (§18.4). */
struct attr_set {
	struct attr_mask mask;      /* what was given: a subset of attr_settable() */
	uint64_t size;              /* FATTR4_SIZE, as sent: the op refuses what it cannot do
	                             * (> INT64_MAX, > maxfilesize: NFS4ERR_FBIG) */
	uint32_t mode;              /* FATTR4_MODE & 07777 */
	uint32_t uid;               /* FATTR4_OWNER; never UINT32_MAX ("no change" to chown) */
	uint32_t gid;               /* FATTR4_OWNER_GROUP; never UINT32_MAX */
	time_how4 atime_how;        /* FATTR4_TIME_ACCESS_SET: SET_TO_SERVER_TIME4 or
	                             * SET_TO_CLIENT_TIME4 (then atime holds the time) */
	time_how4 mtime_how;        /* FATTR4_TIME_MODIFY_SET, likewise */
	struct timespec atime;      /* tv_nsec < 10^9: never UTIME_NOW or UTIME_OMIT */
	struct timespec mtime;
};

/* attr_decode_set() flags */
#define ATTR_SET_EXCLCREAT 0x1u /* OPEN EXCLUSIVE4_1 cva_attrs: only attr_exclcreat() */

/*
 * Decode the attributes a client wants set. Returns NFS4_OK (out filled in) or the status of
 * the op; these are protocol verdicts on the client's arguments, nothing from storage, so they
 * are nfsstat4 directly (no errmap). out is zeroed first and only meaningful on NFS4_OK.
 *
 * The checks, in this order (the first that fails decides):
 *  1. the mask (nothing of the list is read yet; knfsd's order in nfsd4_decode_fattr4):
 *     NFS4ERR_ATTRNOTSUPP for a bit we do not know (above ATTR_MAX), for an attribute we do
 *     not support at all or not in this minor version (suppattr_exclcreat in 4.0), and for
 *     one that is settable in the protocol but not by us (acl, archive, hidden, mimetype,
 *     system, time_backup, time_create, dacl, sacl, layout_hint, retention_set,
 *     retentevt_set, retention_hold, mode_set_masked, sec_label, mode_umask); then
 *     NFS4ERR_INVAL for a get-only attribute we support (type, change, fileid, time_modify,
 *     ...: RFC 8881 §5.5); then, with ATTR_SET_EXCLCREAT, NFS4ERR_INVAL for time_access_set
 *     or time_modify_set (not in suppattr_exclcreat: RFC 8881 §18.16.3, knfsd's
 *     check_attr_support).
 *  2. the list's XDR: every value complete, nothing after the last, a time_how4 that is
 *     SET_TO_SERVER_TIME4 or SET_TO_CLIENT_TIME4; else NFS4ERR_BADXDR. No length in the list
 *     is trusted and nothing is allocated: values are read in place.
 *  3. the values, in attribute order: owner and owner_group (NFS4ERR_BADOWNER, or
 *     NFS4ERR_DELAY from parse), then the times: nseconds >= 10^9 (or seconds that time_t
 *     cannot hold) is NFS4ERR_INVAL, as knfsd's nfsd4_decode_nfstime4 does.
 *
 * Owner strings (RFC 8881 §5.9): the decimal form ("1000": ASCII digits only, no sign, no
 * space, at most 4294967294) is always accepted, as knfsd does with nfs4_disable_idmapping and
 * AUTH_SYS (§5.9 says a server SHOULD refuse it when the id has a name; like knfsd we do not,
 * so that clients without an idmapper work); "name@domain" when owner_domain is set, equal to
 * domain ignoring ASCII case, and parse resolves name. Anything else (empty, other domain, no
 * '@', NUL inside, garbage, too long) is NFS4ERR_BADOWNER. minorversion: 0, 1 or 2.
 */
nfsstat4 attr_decode_set(const fattr4 *in, const char *owner_domain, attr_idparse_fn parse,
			 void *ctx, uint32_t minorversion, unsigned int flags, struct attr_set *out);

#endif /* SLUICE_ATTR_H */

/*
 * attr: statx → fattr4, and the VERIFY/NVERIFY comparison (see attr.h).
 *
 * One table row per supported attribute: the generated XDR routine of its type (RFC 8881 §5.8,
 * RFC 7862 §12.2, RFC 8276 §8.1), the first minor version that has it, the statx fields it is
 * made of, and the shape of its encoding (for checking a client's list before decoding it).
 * attr_value() computes the value of one attribute; everything else walks the table in
 * ascending attribute number, which is the order of values in an attrlist4 (RFC 8881 §5.1).
 * attr_decode_set() reads the few attributes a client may set, in place.
 */
#define _GNU_SOURCE
#include "attr.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* Shapes of an encoded attribute value. */
enum attr_shape {
	SH_FIXED,  /* fixed size: attr_def.len bytes */
	SH_BOOL,   /* 4 bytes, 0 or 1 (RFC 4506 §4.4: nothing else is a bool) */
	SH_OPAQUE, /* counted opaque: length word, bytes, zero padding */
	SH_BITMAP, /* counted array of 32-bit words */
	SH_FSLOC,  /* fs_locations4: pathname4 fs_root, fs_location4 locations<> */
};

struct attr_def {
	xdrproc_t proc;    /* NULL: not supported */
	uint8_t min_minor; /* first minor version with the attribute */
	uint8_t shape;     /* enum attr_shape */
	uint8_t len;       /* SH_FIXED: encoded size */
	uint32_t stx_need; /* statx fields (STATX_*) the value is made of */
};

#define FIX(p, n, need) {.proc = (xdrproc_t)(p), .shape = SH_FIXED, .len = (n), .stx_need = (need)}
#define VAR(p, sh) {.proc = (xdrproc_t)(p), .shape = (sh)}
#define BOOL(p) {.proc = (xdrproc_t)(p), .shape = SH_BOOL, .len = 4}

static const struct attr_def attr_defs[ATTR_MAX + 1] = {
	/* RFC 8881 §5.8.1: mandatory */
	[FATTR4_SUPPORTED_ATTRS] = VAR(xdr_fattr4_supported_attrs, SH_BITMAP),
	[FATTR4_TYPE] = FIX(xdr_fattr4_type, 4, STATX_TYPE),
	[FATTR4_FH_EXPIRE_TYPE] = FIX(xdr_fattr4_fh_expire_type, 4, 0),
	[FATTR4_CHANGE] = FIX(xdr_fattr4_change, 8, 0),
	[FATTR4_SIZE] = FIX(xdr_fattr4_size, 8, STATX_SIZE),
	[FATTR4_LINK_SUPPORT] = BOOL(xdr_fattr4_link_support),
	[FATTR4_SYMLINK_SUPPORT] = BOOL(xdr_fattr4_symlink_support),
	[FATTR4_NAMED_ATTR] = BOOL(xdr_fattr4_named_attr),
	[FATTR4_FSID] = FIX(xdr_fattr4_fsid, 16, 0),
	[FATTR4_UNIQUE_HANDLES] = BOOL(xdr_fattr4_unique_handles),
	[FATTR4_LEASE_TIME] = FIX(xdr_fattr4_lease_time, 4, 0),
	[FATTR4_RDATTR_ERROR] = FIX(xdr_fattr4_rdattr_error, 4, 0),
	[FATTR4_FILEHANDLE] = VAR(xdr_fattr4_filehandle, SH_OPAQUE),
	/* RFC 8881 §5.8.2: recommended */
	[FATTR4_ACLSUPPORT] = FIX(xdr_fattr4_aclsupport, 4, 0),
	[FATTR4_CANSETTIME] = BOOL(xdr_fattr4_cansettime),
	[FATTR4_CASE_INSENSITIVE] = BOOL(xdr_fattr4_case_insensitive),
	[FATTR4_CASE_PRESERVING] = BOOL(xdr_fattr4_case_preserving),
	[FATTR4_CHOWN_RESTRICTED] = BOOL(xdr_fattr4_chown_restricted),
	[FATTR4_FILEID] = FIX(xdr_fattr4_fileid, 8, STATX_INO),
	[FATTR4_FILES_AVAIL] = FIX(xdr_fattr4_files_avail, 8, 0),
	[FATTR4_FILES_FREE] = FIX(xdr_fattr4_files_free, 8, 0),
	[FATTR4_FILES_TOTAL] = FIX(xdr_fattr4_files_total, 8, 0),
	[FATTR4_FS_LOCATIONS] = VAR(xdr_fattr4_fs_locations, SH_FSLOC),
	[FATTR4_HOMOGENEOUS] = BOOL(xdr_fattr4_homogeneous),
	[FATTR4_MAXFILESIZE] = FIX(xdr_fattr4_maxfilesize, 8, 0),
	[FATTR4_MAXLINK] = FIX(xdr_fattr4_maxlink, 4, 0),
	[FATTR4_MAXNAME] = FIX(xdr_fattr4_maxname, 4, 0),
	[FATTR4_MAXREAD] = FIX(xdr_fattr4_maxread, 8, 0),
	[FATTR4_MAXWRITE] = FIX(xdr_fattr4_maxwrite, 8, 0),
	[FATTR4_MODE] = FIX(xdr_fattr4_mode, 4, STATX_MODE),
	[FATTR4_NO_TRUNC] = BOOL(xdr_fattr4_no_trunc),
	[FATTR4_NUMLINKS] = FIX(xdr_fattr4_numlinks, 4, STATX_NLINK),
	[FATTR4_OWNER] = {.proc = (xdrproc_t)xdr_fattr4_owner, .shape = SH_OPAQUE,
			  .stx_need = STATX_UID},
	[FATTR4_OWNER_GROUP] = {.proc = (xdrproc_t)xdr_fattr4_owner_group, .shape = SH_OPAQUE,
				.stx_need = STATX_GID},
	[FATTR4_RAWDEV] = FIX(xdr_fattr4_rawdev, 8, STATX_TYPE),
	[FATTR4_SPACE_AVAIL] = FIX(xdr_fattr4_space_avail, 8, 0),
	[FATTR4_SPACE_FREE] = FIX(xdr_fattr4_space_free, 8, 0),
	[FATTR4_SPACE_TOTAL] = FIX(xdr_fattr4_space_total, 8, 0),
	[FATTR4_SPACE_USED] = FIX(xdr_fattr4_space_used, 8, STATX_BLOCKS),
	[FATTR4_TIME_ACCESS] = FIX(xdr_fattr4_time_access, 12, STATX_ATIME),
	[FATTR4_TIME_CREATE] = FIX(xdr_fattr4_time_create, 12, STATX_BTIME),
	[FATTR4_TIME_DELTA] = FIX(xdr_fattr4_time_delta, 12, 0),
	[FATTR4_TIME_METADATA] = FIX(xdr_fattr4_time_metadata, 12, STATX_CTIME),
	[FATTR4_TIME_MODIFY] = FIX(xdr_fattr4_time_modify, 12, STATX_MTIME),
	[FATTR4_MOUNTED_ON_FILEID] = FIX(xdr_fattr4_mounted_on_fileid, 8, STATX_INO),
	/* RFC 8881 §5.8.1.14: mandatory from 4.1 */
	[FATTR4_SUPPATTR_EXCLCREAT] = {.proc = (xdrproc_t)xdr_fattr4_suppattr_exclcreat,
				       .min_minor = 1, .shape = SH_BITMAP},
	/* RFC 7862 §12.2.1, RFC 8276 §8.1: 4.2 */
	[FATTR4_CLONE_BLKSIZE] = {.proc = (xdrproc_t)xdr_fattr4_clone_blksize, .min_minor = 2,
				  .shape = SH_FIXED, .len = 4},
	[FATTR4_XATTR_SUPPORT] = {.proc = (xdrproc_t)xdr_fattr4_xattr_support, .min_minor = 2,
				  .shape = SH_BOOL, .len = 4},
};

/* One attribute's value, in the C type of its generated routine. */
union attr_val {
	bitmap4 bm;
	nfs_ftype4 type;
	nfsstat4 status;
	uint32_t u32;
	uint64_t u64;
	bool_t b;
	fsid4 fsid;
	nfs_fh4 fh;
	fs_locations4 loc;
	utf8string str;
	specdata4 spec;
	nfstime4 time;
};

/* Our values are bounded: owner strings by ATTR_OWNER_MAX, bitmaps by ATTR_WORDS, the file
 * handle by NFS4_FHSIZE, so a list of every attribute we support takes at most about 1.5 KiB
 * (two 516-byte owners, a 132-byte handle, 28 bytes of bitmaps, ~290 of fixed values). */
#define ATTR_NAME_MAX 256
#define ATTR_OWNER_MAX 512
#define ATTR_ENC_MAX 4096 /* VERIFY's buffers: more than any list we encode */

/* Write-only attributes: never returned, NFS4ERR_INVAL in GETATTR/READDIR/VERIFY. */
static bool mask_has_writeonly(const struct attr_mask *m)
{
	return attr_mask_has(m, FATTR4_TIME_ACCESS_SET) || attr_mask_has(m, FATTR4_TIME_MODIFY_SET);
}

static unsigned int mask_words_used(const uint32_t *w)
{
	unsigned int n = ATTR_WORDS;

	while (n > 0 && w[n - 1] == 0)
		n--;
	return n;
}

uint64_t attr_change_from_statx(const struct statx *stx)
{
	return ((uint64_t)stx->stx_ctime.tv_sec << 30) + stx->stx_ctime.tv_nsec;
}

bool attr_mask_load(struct attr_mask *m, const bitmap4 *bm)
{
	bool unknown = false;

	memset(m, 0, sizeof(*m));
	if (!bm || !bm->bitmap4_val)
		return false;
	for (u_int i = 0; i < bm->bitmap4_len; i++) {
		uint32_t w = bm->bitmap4_val[i], known;

		if (i >= ATTR_WORDS) {
			unknown |= w != 0;
			continue;
		}
		known = i < ATTR_MAX / 32 ? UINT32_MAX
					 : (uint32_t)(UINT64_C(2) << (ATTR_MAX % 32)) - 1;
		unknown |= (w & ~known) != 0;
		m->w[i] = w & known;
	}
	return unknown;
}

void attr_supported(const struct attr_src *src, struct attr_mask *out)
{
	/* The answer depends only on these three, and every GETATTR and READDIR entry asks
	 * (encode_mask): the last one is kept per thread (a walk of the table costs ~1,200
	 * instructions, a sixteenth of a GETATTR). */
	static _Thread_local struct {
		bool valid, clone;
		uint32_t minor, have;
		struct attr_mask mask;
	} last;
	uint32_t have = src->stx ? src->stx->stx_mask : 0;

	assert(src->minorversion <= 2);
	if (last.valid && last.minor == src->minorversion && last.have == have &&
	    last.clone == (src->clone_blksize != 0)) {
		*out = last.mask;
		return;
	}
	memset(out, 0, sizeof(*out));
	for (unsigned int a = 0; a <= ATTR_MAX; a++) {
		const struct attr_def *d = &attr_defs[a];

		if (!d->proc || src->minorversion < d->min_minor ||
		    (have & d->stx_need) != d->stx_need)
			continue;
		if (a == FATTR4_CLONE_BLKSIZE && src->clone_blksize == 0)
			continue;
		attr_mask_set(out, a);
	}
	/* The write-only time_access_set and time_modify_set are supported too (RFC 8881
	 * §5.8.1.1 lists what the server supports, settable ones included, as knfsd's
	 * supported_attrs does): a Linux client leaves out of SETATTR whatever this mask lacks,
	 * and `touch -d` would silently set nothing. */
	attr_mask_set(out, FATTR4_TIME_ACCESS_SET);
	attr_mask_set(out, FATTR4_TIME_MODIFY_SET);
	last.valid = true;
	last.minor = src->minorversion;
	last.have = have;
	last.clone = src->clone_blksize != 0;
	last.mask = *out;
}

void attr_settable(struct attr_mask *out)
{
	memset(out, 0, sizeof(*out));
	attr_mask_set(out, FATTR4_SIZE);
	attr_mask_set(out, FATTR4_MODE);
	attr_mask_set(out, FATTR4_OWNER);
	attr_mask_set(out, FATTR4_OWNER_GROUP);
	attr_mask_set(out, FATTR4_TIME_ACCESS_SET);
	attr_mask_set(out, FATTR4_TIME_MODIFY_SET);
}

static void mask_clear(struct attr_mask *m, unsigned int attr)
{
	m->w[attr / 32] &= ~(1u << (attr % 32));
}

void attr_exclcreat(struct attr_mask *out)
{
	/* RFC 8881 §18.16.3: the attributes EXCLUSIVE4_1 may set along with the verifier: what
	 * we can set, but not the times (a server may keep the verifier there; knfsd's
	 * NFSD_SUPPATTR_EXCLCREAT leaves them out too). Derived, so the two cannot drift. */
	attr_settable(out);
	mask_clear(out, FATTR4_TIME_ACCESS_SET);
	mask_clear(out, FATTR4_TIME_MODIFY_SET);
}

/* ---- values ---------------------------------------------------------------------------- */

struct enc_ctx {
	const struct attr_src *src;
	uint32_t words[ATTR_WORDS];  /* a bitmap-valued attribute */
	char owner[ATTR_OWNER_MAX];  /* an owner string */
};

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static int ftype_of(uint16_t mode, nfs_ftype4 *t)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		*t = NF4REG;
		return 0;
	case S_IFDIR:
		*t = NF4DIR;
		return 0;
	case S_IFBLK:
		*t = NF4BLK;
		return 0;
	case S_IFCHR:
		*t = NF4CHR;
		return 0;
	case S_IFLNK:
		*t = NF4LNK;
		return 0;
	case S_IFSOCK:
		*t = NF4SOCK;
		return 0;
	case S_IFIFO:
		*t = NF4FIFO;
		return 0;
	}
	return -EIO;
}

/* RFC 8881 §5.9: "user@domain", or the decimal id when there is no domain or no name. */
static void owner_value(struct enc_ctx *c, uint32_t id, bool group, utf8string *out)
{
	const struct attr_src *src = c->src;
	int n = -1;

	if (src->owner_domain && src->idname) {
		char name[ATTR_NAME_MAX];

		if (src->idname(src->idname_ctx, id, group, name, sizeof(name)) == 0) {
			name[sizeof(name) - 1] = '\0';
			if (name[0])
				n = snprintf(c->owner, sizeof(c->owner), "%s@%s", name,
					     src->owner_domain);
		}
	}
	if (n < 0 || (size_t)n >= sizeof(c->owner)) {
		/* the decimal id, without snprintf: owner and group of every GETATTR and READDIR
		 * entry (knfsd's default, numeric ids), ~650 instructions each through stdio */
		char digits[10];
		int k = 0;

		do {
			digits[k++] = (char)('0' + id % 10);
			id /= 10;
		} while (id);
		for (n = 0; k;)
			c->owner[n++] = digits[--k];
		c->owner[n] = '\0';
	}
	out->utf8string_len = (u_int)n;
	out->utf8string_val = c->owner;
}

static void bitmap_value(struct enc_ctx *c, const struct attr_mask *m, bitmap4 *out)
{
	memcpy(c->words, m->w, sizeof(c->words));
	out->bitmap4_len = mask_words_used(c->words);
	out->bitmap4_val = c->words;
}

static void time_value(const struct statx_timestamp *ts, nfstime4 *out)
{
	out->seconds = ts->tv_sec;
	out->nseconds = ts->tv_nsec;
}

/* The value of supported attribute a of c->src. 0 or -EIO. */
static int attr_value(struct enc_ctx *c, unsigned int a, union attr_val *v)
{
	const struct attr_src *src = c->src;
	const struct statx *stx = src->stx;
	const struct statvfs *vfs = src->vfs;
	uint64_t frsize = vfs && vfs->f_frsize ? vfs->f_frsize : vfs ? vfs->f_bsize : 0;
	struct attr_mask m;

	memset(v, 0, sizeof(*v));
	switch (a) {
	case FATTR4_SUPPORTED_ATTRS:
		attr_supported(src, &m);
		bitmap_value(c, &m, &v->bm);
		return 0;
	case FATTR4_TYPE:
		return ftype_of(stx->stx_mode, &v->type);
	case FATTR4_FH_EXPIRE_TYPE:
		v->u32 = FH4_PERSISTENT; /* handles carry nothing of the boot (storage/fh.h) */
		return 0;
	case FATTR4_CHANGE:
		v->u64 = src->change;
		return 0;
	case FATTR4_SIZE:
		v->u64 = stx->stx_size;
		return 0;
	case FATTR4_LINK_SUPPORT:
	case FATTR4_SYMLINK_SUPPORT:
	case FATTR4_UNIQUE_HANDLES: /* one object, one kernel handle */
	case FATTR4_CANSETTIME:
	case FATTR4_CASE_PRESERVING:
	case FATTR4_CHOWN_RESTRICTED: /* Linux: only CAP_CHOWN gives files away */
	case FATTR4_HOMOGENEOUS:
	case FATTR4_NO_TRUNC: /* long names fail with NAMETOOLONG, never truncated */
		v->b = TRUE;
		return 0;
	case FATTR4_NAMED_ATTR:
	case FATTR4_CASE_INSENSITIVE:
	case FATTR4_XATTR_SUPPORT: /* no GETXATTR & co. (RFC 8276) */
		v->b = FALSE;
		return 0;
	case FATTR4_FSID:
		v->fsid.major = src->fsid_major;
		v->fsid.minor = src->fsid_minor;
		return 0;
	case FATTR4_LEASE_TIME:
		v->u32 = src->lease_time;
		return 0;
	case FATTR4_RDATTR_ERROR:
		v->status = src->rdattr_error;
		return 0;
	case FATTR4_FILEHANDLE:
		v->fh.nfs_fh4_len = src->fh_len;
		v->fh.nfs_fh4_val = (char *)src->fh;
		return 0;
	case FATTR4_ACLSUPPORT:
		v->u32 = 0; /* no ACL attribute */
		return 0;
	case FATTR4_FILEID:
		v->u64 = stx->stx_ino;
		return 0;
	case FATTR4_FILES_AVAIL:
		v->u64 = vfs->f_favail;
		return 0;
	case FATTR4_FILES_FREE:
		v->u64 = vfs->f_ffree;
		return 0;
	case FATTR4_FILES_TOTAL:
		v->u64 = vfs->f_files;
		return 0;
	case FATTR4_FS_LOCATIONS:
		/* RFC 8881 §11.16: no other locations; fs_root is the empty pathname (root). */
		return 0;
	case FATTR4_MAXFILESIZE:
		v->u64 = src->max_filesize;
		return 0;
	case FATTR4_MAXLINK:
		v->u32 = src->link_max;
		return 0;
	case FATTR4_MAXNAME:
		v->u32 = src->name_max;
		return 0;
	case FATTR4_MAXREAD:
		v->u64 = src->max_read;
		return 0;
	case FATTR4_MAXWRITE:
		v->u64 = src->max_write;
		return 0;
	case FATTR4_MODE:
		v->u32 = stx->stx_mode & 07777; /* RFC 8881 §6.2.4: no file type bits */
		return 0;
	case FATTR4_NUMLINKS:
		v->u32 = stx->stx_nlink;
		return 0;
	case FATTR4_OWNER:
		owner_value(c, stx->stx_uid, false, &v->str);
		return 0;
	case FATTR4_OWNER_GROUP:
		owner_value(c, stx->stx_gid, true, &v->str);
		return 0;
	case FATTR4_RAWDEV:
		v->spec.specdata1 = stx->stx_rdev_major;
		v->spec.specdata2 = stx->stx_rdev_minor;
		return 0;
	case FATTR4_SPACE_AVAIL:
		v->u64 = mul_sat(vfs->f_bavail, frsize);
		return 0;
	case FATTR4_SPACE_FREE:
		v->u64 = mul_sat(vfs->f_bfree, frsize);
		return 0;
	case FATTR4_SPACE_TOTAL:
		v->u64 = mul_sat(vfs->f_blocks, frsize);
		return 0;
	case FATTR4_SPACE_USED:
		v->u64 = mul_sat(stx->stx_blocks, 512); /* statx counts 512-byte units */
		return 0;
	case FATTR4_TIME_ACCESS:
		time_value(&stx->stx_atime, &v->time);
		return 0;
	case FATTR4_TIME_CREATE:
		time_value(&stx->stx_btime, &v->time);
		return 0;
	case FATTR4_TIME_DELTA:
		v->time.seconds = 0;
		v->time.nseconds = 1; /* Linux filesystems keep nanoseconds */
		return 0;
	case FATTR4_TIME_METADATA:
		time_value(&stx->stx_ctime, &v->time);
		return 0;
	case FATTR4_TIME_MODIFY:
		time_value(&stx->stx_mtime, &v->time);
		return 0;
	case FATTR4_MOUNTED_ON_FILEID:
		/* RFC 8881 §5.8.2.23: the fileid, except at the root of a mounted filesystem */
		v->u64 = src->is_export_root ? src->mounted_on_fileid : stx->stx_ino;
		return 0;
	case FATTR4_SUPPATTR_EXCLCREAT:
		attr_exclcreat(&m);
		bitmap_value(c, &m, &v->bm);
		return 0;
	case FATTR4_CLONE_BLKSIZE:
		v->u32 = src->clone_blksize;
		return 0;
	}
	assert(!"attr_value: attribute without a value");
	return -EIO;
}

/* Encode the attributes of m (all supported) in ascending order. 0, -ENOSPC or -EIO. */
static int encode_mask(const struct attr_src *src, const struct attr_mask *m, XDR *x)
{
	struct enc_ctx c = {.src = src};
	union attr_val v;
	int rc;

	/* Only the set bits, lowest first (a GETATTR asks for ~15 of 83; testing each bit was
	 * a tenth of a GETATTR's instructions). */
	for (unsigned int i = 0; i < ATTR_WORDS; i++) {
		for (uint32_t w = m->w[i]; w; w &= w - 1) {
			unsigned int a = i * 32 + (unsigned int)__builtin_ctz(w);

			if (a > ATTR_MAX)
				break;
			rc = attr_value(&c, a, &v);
			if (rc)
				return rc;
			if (!attr_defs[a].proc(x, &v))
				return -ENOSPC; /* values are valid: only the buffer can end */
		}
	}
	return 0;
}

int attr_encode(const struct attr_src *src, const bitmap4 *request, fattr4 *out, uint8_t *buf,
		size_t cap)
{
	struct attr_mask req, res;
	XDR x;
	int rc;

	assert(out->attrmask.bitmap4_val);
	assert(src->fh_len <= NFS4_FHSIZE && (src->fh || src->fh_len == 0));
	assert(src->stx || src->rdattr_error != NFS4_OK);
	assert(src->vfs || src->rdattr_error != NFS4_OK);

	attr_mask_load(&req, request); /* unknown bits: ignored (RFC 8881 §18.7.3) */
	if (mask_has_writeonly(&req))
		return -EINVAL;
	if (src->rdattr_error != NFS4_OK) {
		if (!attr_mask_has(&req, FATTR4_RDATTR_ERROR))
			return -ENODATA;
		memset(&res, 0, sizeof(res));
		attr_mask_set(&res, FATTR4_RDATTR_ERROR);
	} else {
		attr_supported(src, &res);
		for (unsigned int i = 0; i < ATTR_WORDS; i++)
			res.w[i] &= req.w[i];
	}

	if (cap > INT_MAX)
		cap = INT_MAX;
	xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
	rc = encode_mask(src, &res, &x);
	if (rc == 0)
		rc = (int)xdr_getpos(&x);
	xdr_destroy(&x);
	if (rc < 0)
		return rc;

	memcpy(out->attrmask.bitmap4_val, res.w, sizeof(res.w));
	out->attrmask.bitmap4_len = mask_words_used(res.w);
	out->attr_vals.attrlist4_len = (u_int)rc;
	out->attr_vals.attrlist4_val = (char *)buf;
	return rc;
}

/* ---- VERIFY ---------------------------------------------------------------------------- */

/*
 * Checking a client's encoding before the generated routines decode it: they allocate what a
 * length word claims before looking whether the bytes are there (libtirpc xdr_bytes and
 * xdr_array), so a lying length could ask for gigabytes. Each walker consumes one value at
 * *off and fails if it runs past len; afterwards every count is bounded by the bytes present.
 */
static bool wire_u32(const uint8_t *p, size_t len, size_t *off, uint32_t *v)
{
	if (len - *off < 4)
		return false;
	*v = (uint32_t)p[*off] << 24 | (uint32_t)p[*off + 1] << 16 | (uint32_t)p[*off + 2] << 8 |
	     p[*off + 3];
	*off += 4;
	return true;
}

static bool wire_skip(size_t len, size_t *off, uint64_t n)
{
	if (len - *off < n)
		return false;
	*off += (size_t)n;
	return true;
}

static bool wire_opaque(const uint8_t *p, size_t len, size_t *off)
{
	uint32_t n;

	return wire_u32(p, len, off, &n) && wire_skip(len, off, ((uint64_t)n + 3) & ~(uint64_t)3);
}

/* pathname4: component4 <> */
static bool wire_pathname(const uint8_t *p, size_t len, size_t *off)
{
	uint32_t n;

	if (!wire_u32(p, len, off, &n))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!wire_opaque(p, len, off))
			return false;
	return true;
}

static bool wire_value(const struct attr_def *d, const uint8_t *p, size_t len, size_t *off)
{
	uint32_t n;

	switch (d->shape) {
	case SH_FIXED:
		return wire_skip(len, off, d->len);
	case SH_BOOL:
		return wire_u32(p, len, off, &n) && n <= 1;
	case SH_OPAQUE:
		return wire_opaque(p, len, off);
	case SH_BITMAP:
		return wire_u32(p, len, off, &n) && wire_skip(len, off, (uint64_t)n * 4);
	case SH_FSLOC:
		if (!wire_pathname(p, len, off) || !wire_u32(p, len, off, &n))
			return false;
		/* fs_location4: utf8str_cis server<>, pathname4 rootpath */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k;

			if (!wire_u32(p, len, off, &k))
				return false;
			for (uint32_t j = 0; j < k; j++)
				if (!wire_opaque(p, len, off))
					return false;
			if (!wire_pathname(p, len, off))
				return false;
		}
		return true;
	}
	return false;
}

int attr_verify(const struct attr_src *src, const fattr4 *given)
{
	struct attr_src s = *src;
	struct attr_mask m, sup;
	const uint8_t *p = (const uint8_t *)given->attr_vals.attrlist4_val;
	size_t len = given->attr_vals.attrlist4_len, off = 0;
	char ours[ATTR_ENC_MAX], canon[ATTR_ENC_MAX];
	u_int ours_len, canon_len;
	bool overflow = false;
	XDR dx, ex;
	int rc = 0;

	s.rdattr_error = NFS4_OK; /* VERIFY looks at the object itself */
	assert(s.stx && s.vfs);

	/* RFC 8881 §18.31.3, §18.15.3: an unsupported attribute is ATTRNOTSUPP, rdattr_error
	 * cannot be verified (INVAL). knfsd's order, and its INVAL for write-only attributes. */
	if (attr_mask_load(&m, &given->attrmask))
		return ATTR_ENOTSUPP;
	attr_supported(&s, &sup);
	for (unsigned int a = 0; a <= ATTR_MAX; a++) {
		if (attr_mask_has(&m, a) && !attr_mask_has(&sup, a) &&
		    a != FATTR4_TIME_ACCESS_SET && a != FATTR4_TIME_MODIFY_SET)
			return ATTR_ENOTSUPP;
	}
	if (attr_mask_has(&m, FATTR4_RDATTR_ERROR) || mask_has_writeonly(&m))
		return ATTR_EINVAL;

	/* Well-formed: each value in its shape, nothing left over. */
	if (len && !p)
		return ATTR_EBADXDR;
	for (unsigned int a = 0; a <= ATTR_MAX; a++)
		if (attr_mask_has(&m, a) && !wire_value(&attr_defs[a], p, len, &off))
			return ATTR_EBADXDR;
	if (off != len)
		return ATTR_EBADXDR;

	/* Ours, for the same mask. */
	xdrmem_create(&ex, ours, sizeof(ours), XDR_ENCODE);
	rc = encode_mask(&s, &m, &ex);
	ours_len = xdr_getpos(&ex);
	xdr_destroy(&ex);
	if (rc < 0)
		return -EIO; /* -ENOSPC cannot be: ATTR_ENC_MAX bounds our encoding */

	/* Theirs, decoded and encoded again: canonical bytes. */
	xdrmem_create(&dx, (char *)(uintptr_t)p, (u_int)len, XDR_DECODE);
	xdrmem_create(&ex, canon, sizeof(canon), XDR_ENCODE);
	for (unsigned int a = 0; a <= ATTR_MAX && rc == 0; a++) {
		const struct attr_def *d = &attr_defs[a];
		union attr_val v;

		if (!attr_mask_has(&m, a))
			continue;
		memset(&v, 0, sizeof(v));
		if (!d->proc(&dx, &v)) {
			rc = ATTR_EBADXDR; /* e.g. a file handle longer than NFS4_FHSIZE */
		} else {
			u_int n = 0;

			if (d->shape == SH_BITMAP) { /* the same set with trailing zero words */
				n = v.bm.bitmap4_len;
				while (v.bm.bitmap4_len > 0 &&
				       v.bm.bitmap4_val[v.bm.bitmap4_len - 1] == 0)
					v.bm.bitmap4_len--;
			}
			if (!overflow && !d->proc(&ex, &v))
				overflow = true; /* longer than ours: different */
			if (d->shape == SH_BITMAP)
				v.bm.bitmap4_len = n;
		}
		xdr_free(d->proc, (char *)&v);
	}
	canon_len = xdr_getpos(&ex);
	xdr_destroy(&ex);
	xdr_destroy(&dx);
	if (rc < 0)
		return rc;

	if (overflow || canon_len != ours_len || memcmp(canon, ours, ours_len) != 0)
		return 1;
	return 0;
}

/* ---- SETATTR and createattrs ----------------------------------------------------------- */

static bool wire_u64(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	uint32_t hi, lo;

	if (!wire_u32(p, len, off, &hi) || !wire_u32(p, len, off, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/* An utf8string in place: *s points into p, the pad bytes are skipped (not checked, as knfsd
 * and libtirpc do not). */
static bool wire_string(const uint8_t *p, size_t len, size_t *off, const uint8_t **s,
			uint32_t *n)
{
	if (!wire_u32(p, len, off, n) || len - *off < *n)
		return false;
	*s = p + *off;
	return wire_skip(len, off, ((uint64_t)*n + 3) & ~(uint64_t)3);
}

/*
 * settime4 (RFC 8881 §3.3.3). false: malformed (BADXDR), including a discriminant that is not
 * a time_how4: the IDL's "default: void" arm would let the generated routine accept any, but
 * an enum value outside the enum is not valid XDR (RFC 4506 §4.3) and knfsd says BADXDR too.
 * *range_ok is cleared for a well-formed time we cannot take (INVAL, judged later).
 */
static bool wire_settime(const uint8_t *p, size_t len, size_t *off, time_how4 *how,
			 struct timespec *ts, bool *range_ok)
{
	uint32_t h, nsec;
	uint64_t u;
	int64_t sec;

	if (!wire_u32(p, len, off, &h))
		return false;
	if (h == SET_TO_SERVER_TIME4) {
		*how = SET_TO_SERVER_TIME4;
		return true;
	}
	if (h != SET_TO_CLIENT_TIME4 || !wire_u64(p, len, off, &u) || !wire_u32(p, len, off, &nsec))
		return false;
	*how = SET_TO_CLIENT_TIME4;
	memcpy(&sec, &u, sizeof(sec)); /* nfstime4.seconds is an int64_t, two's complement */
	/* RFC 8881 §3.3.1: nseconds is below 10^9. Checking it also keeps a client's value from
	 * turning into utimensat's UTIME_NOW or UTIME_OMIT, which are nanosecond values above. */
	if (nsec >= 1000000000u || (int64_t)(time_t)sec != sec) {
		*range_ok = false;
		return true;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return true;
}

/* s (n bytes) equals the NUL-terminated d, ignoring ASCII case: DNS names compare that way,
 * and doing it by hand keeps the locale out of it. */
static bool ascii_caseeq(const uint8_t *s, size_t n, const char *d)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char a = s[i], b = (unsigned char)d[i];

		if (b == '\0')
			return false;
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return d[i] == '\0';
}

/* An owner or owner_group string → id (RFC 8881 §5.9; the rules are in attr.h). */
static nfsstat4 owner_id(const uint8_t *s, uint32_t n, bool group, const char *domain,
			 attr_idparse_fn parse, void *ctx, uint32_t *id)
{
	char name[ATTR_OWNER_MAX];
	const uint8_t *at;
	uint64_t v = 0;
	uint32_t i;
	int rc;

	/* Longer than any owner we encode (ATTR_OWNER_MAX), or not a C string: no one's. Empty
	 * too (knfsd says INVAL there; §5.9 names BADOWNER for an owner not accepted). */
	if (n == 0 || n >= sizeof(name) || memchr(s, '\0', n))
		return NFS4ERR_BADOWNER;

	/* The decimal form. knfsd (kstrtouint) also takes a leading '+' and a trailing newline;
	 * neither is a number a client means, so not here. Leading zeros are harmless. */
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >= UINT32_MAX) /* (uid_t)-1 means "leave it" to chown(2): never an id */
			return NFS4ERR_BADOWNER;
	}
	if (i == n) {
		*id = (uint32_t)v;
		return NFS4_OK;
	}

	/* "name@domain", split at the last '@' (a domain has none, a name might). */
	at = memrchr(s, '@', n);
	if (!at || at == s || !domain || !domain[0] || !parse)
		return NFS4ERR_BADOWNER;
	if (!ascii_caseeq(at + 1, n - (size_t)(at - s) - 1, domain))
		return NFS4ERR_BADOWNER;
	memcpy(name, s, (size_t)(at - s));
	name[at - s] = '\0';
	rc = parse(ctx, name, group, &i);
	if (rc == -EAGAIN)
		return NFS4ERR_DELAY; /* knfsd: an upcall that has no answer yet is DELAY too */
	if (rc != 0 || i == UINT32_MAX)
		return NFS4ERR_BADOWNER;
	*id = i;
	return NFS4_OK;
}

/*
 * How a set request treats attribute a, which is not one we set: INVAL for a get-only
 * attribute we support (RFC 8881 §5.5: "If a client attempts to set a get-only attribute ...
 * the server MUST return NFS4ERR_INVAL"), ATTRNOTSUPP for everything else. That includes
 * get-only attributes we do not support (knfsd: INVAL only when nfsd_attrs_supported()), and
 * the attributes the protocol lets a client set but we cannot (RFC 8881 §5.6, §5.7: acl,
 * archive, hidden, mimetype, system, time_backup, time_create, dacl, sacl, layout_hint,
 * retention_set, retentevt_set, retention_hold, mode_set_masked; RFC 7862 §12.2.4 sec_label;
 * RFC 8275 mode_umask): they are not get-only, so INVAL would say the wrong thing, and
 * "not supported" is the truth for setting them. Of those, time_create is the one we return in
 * GETATTR; Linux has no way to set a birth time. (Recent knfsd decodes time_create and drops it
 * from the mask it sets; a client then learns from SETATTR's attrsset. We say so up front.)
 */
static bool set_readonly(unsigned int a, uint32_t minor)
{
	return a <= ATTR_MAX && a != FATTR4_TIME_CREATE && attr_defs[a].proc &&
	       minor >= attr_defs[a].min_minor;
}

nfsstat4 attr_decode_set(const fattr4 *in, const char *owner_domain, attr_idparse_fn parse,
			 void *ctx, uint32_t minorversion, unsigned int flags, struct attr_set *out)
{
	const uint8_t *p = (const uint8_t *)in->attr_vals.attrlist4_val;
	size_t len = in->attr_vals.attrlist4_len, off = 0;
	const uint8_t *owner = NULL, *group = NULL;
	uint32_t owner_len = 0, group_len = 0;
	struct attr_mask m, ok;
	bool notsupp, inval = false, times_ok = true;
	nfsstat4 st;

	assert(minorversion <= 2);
	memset(out, 0, sizeof(*out));

	/* 1. The mask. ATTRNOTSUPP before INVAL: the client learns first what it cannot ask at
	 * all, as from knfsd. */
	notsupp = attr_mask_load(&m, &in->attrmask);
	attr_settable(&ok);
	for (unsigned int a = 0; a <= ATTR_MAX; a++) {
		if (!attr_mask_has(&m, a) || attr_mask_has(&ok, a))
			continue;
		if (set_readonly(a, minorversion))
			inval = true;
		else
			notsupp = true;
	}
	if (notsupp)
		return NFS4ERR_ATTRNOTSUPP;
	if (inval)
		return NFS4ERR_INVAL;
	if (flags & ATTR_SET_EXCLCREAT) {
		attr_exclcreat(&ok);
		for (unsigned int i = 0; i < ATTR_WORDS; i++)
			if (m.w[i] & ~ok.w[i])
				return NFS4ERR_INVAL;
	}

	/* 2. The list, in ascending attribute number (RFC 8881 §5.1), whole and nothing more.
	 * Malformed beats a bad value: the list is judged before anything in it. */
	if (len && !p)
		return NFS4ERR_BADXDR;
	if (attr_mask_has(&m, FATTR4_SIZE) && !wire_u64(p, len, &off, &out->size))
		return NFS4ERR_BADXDR;
	if (attr_mask_has(&m, FATTR4_MODE)) {
		if (!wire_u32(p, len, &off, &out->mode))
			return NFS4ERR_BADXDR;
		/* mode4 has bits up to MODE4_SUID (07777); like knfsd, others are dropped, not
		 * refused: in particular no file type bits reach chmod. */
		out->mode &= 07777;
	}
	if (attr_mask_has(&m, FATTR4_OWNER) && !wire_string(p, len, &off, &owner, &owner_len))
		return NFS4ERR_BADXDR;
	if (attr_mask_has(&m, FATTR4_OWNER_GROUP) &&
	    !wire_string(p, len, &off, &group, &group_len))
		return NFS4ERR_BADXDR;
	if (attr_mask_has(&m, FATTR4_TIME_ACCESS_SET) &&
	    !wire_settime(p, len, &off, &out->atime_how, &out->atime, &times_ok))
		return NFS4ERR_BADXDR;
	if (attr_mask_has(&m, FATTR4_TIME_MODIFY_SET) &&
	    !wire_settime(p, len, &off, &out->mtime_how, &out->mtime, &times_ok))
		return NFS4ERR_BADXDR;
	if (off != len) /* knfsd too: "did attrlist4 contain the expected number of words?" */
		return NFS4ERR_BADXDR;

	/* 3. The values, in attribute order: owners (36, 37), then the times (48, 54). */
	if (owner) {
		st = owner_id(owner, owner_len, false, owner_domain, parse, ctx, &out->uid);
		if (st != NFS4_OK)
			return st;
	}
	if (group) {
		st = owner_id(group, group_len, true, owner_domain, parse, ctx, &out->gid);
		if (st != NFS4_OK)
			return st;
	}
	if (!times_ok)
		return NFS4ERR_INVAL;

	out->mask = m;
	return NFS4_OK;
}

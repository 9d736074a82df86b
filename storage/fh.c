/* fh: persistent file handles (layout and rules in fh.h). */
#define _GNU_SOURCE
#include "fh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* struct file_handle ends in a flexible array; this gives it room on the stack. */
union fh_buf {
	struct file_handle fh;
	unsigned char raw[sizeof(struct file_handle) + FH_KERNEL_MAX];
};

#define FILEID_INVALID_ 0xff /* include/linux/exportfs.h: never a real handle type */

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * The kernel rejects negative types; the low byte 0xff is FILEID_INVALID. Higher bits are flags
 * some kernels add (FILEID_IS_DIR, FILEID_IS_CONNECTABLE), so they are kept, not refused.
 */
static bool fh_type_ok(int type)
{
	return type >= 0 && (type & 0xff) != FILEID_INVALID_;
}

static bool fh_kernel_ok(const struct fh_kernel *kh)
{
	return kh && kh->len > 0 && kh->len <= FH_KERNEL_MAX && fh_type_ok(kh->type);
}

int fh_encode(uint32_t export_id, int dirfd, const char *path, void *out, size_t *len)
{
	union fh_buf b;
	struct fh_kernel kh;
	int mount_id; /* required by the syscall, deliberately unused: it changes across boots */
	int flags = 0;

	if (!out || !len)
		return -EINVAL;
	if (!path || !*path) {
		path = "";
		flags = AT_EMPTY_PATH;
	}
	/* Ask for no more than we can carry: the kernel says EOVERFLOW if its handle is bigger. */
	b.fh.handle_bytes = FH_KERNEL_MAX;
	if (name_to_handle_at(dirfd, path, &b.fh, &mount_id, flags) < 0)
		return -errno;
	if (b.fh.handle_bytes == 0 || b.fh.handle_bytes > FH_KERNEL_MAX || !fh_type_ok(b.fh.handle_type))
		return -EOPNOTSUPP; /* nothing we could resolve later */

	kh.type = b.fh.handle_type;
	kh.len = b.fh.handle_bytes;
	memcpy(kh.bytes, b.fh.f_handle, kh.len);
	return fh_pack(export_id, &kh, out, len);
}

int fh_pack(uint32_t export_id, const struct fh_kernel *kh, void *out, size_t *len)
{
	unsigned char *p = out;
	size_t need;

	if (!out || !len || !fh_kernel_ok(kh))
		return -EINVAL;
	need = FH_HDR_SIZE + kh->len;
	if (*len < need)
		return -ENOSPC;
	p[0] = FH_MAGIC | FH_VERSION;
	put_be32(p + 1, export_id);
	put_be32(p + 5, (uint32_t)kh->type);
	p[9] = (unsigned char)kh->len;
	memcpy(p + FH_HDR_SIZE, kh->bytes, kh->len);
	*len = need;
	return 0;
}

int fh_decode(const void *buf, size_t len, uint32_t *export_id, struct fh_kernel *kh)
{
	const unsigned char *p = buf;
	int type;
	unsigned int n;

	/* Wire input: every field is checked, nothing is asserted. */
	if (!p || len < FH_HDR_SIZE + 1 || len > FH_MAX_SIZE)
		return -EBADMSG;
	if ((p[0] & 0xf0) != FH_MAGIC || (p[0] & 0x0f) != FH_VERSION)
		return -EBADMSG;
	type = (int)get_be32(p + 5);
	if (!fh_type_ok(type))
		return -EBADMSG;
	n = p[9];
	if (n == 0 || n > FH_KERNEL_MAX || FH_HDR_SIZE + n != len)
		return -EBADMSG;

	if (export_id)
		*export_id = get_be32(p + 1);
	if (kh) {
		kh->type = type;
		kh->len = n;
		memcpy(kh->bytes, p + FH_HDR_SIZE, n);
	}
	return 0;
}

int fh_resolve(int mount_fd, const struct fh_kernel *kh, int flags)
{
	union fh_buf b;
	int fd;

	if (!fh_kernel_ok(kh))
		return -EBADMSG;
	b.fh.handle_bytes = kh->len;
	b.fh.handle_type = kh->type;
	memcpy(b.fh.f_handle, kh->bytes, kh->len);

	fd = open_by_handle_at(mount_fd, &b.fh, flags | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case ESTALE:
	case ENOENT: /* some filesystems say ENOENT for an inode that no longer exists */
		return -ESTALE;
	case EINVAL:
		/*
		 * Our flags and lengths are valid, so the filesystem refused the handle's contents
		 * (wrong type for this filesystem): a bad handle, not a stale one.
		 */
		return -EBADMSG;
	default:
		return -errno; /* EPERM: no CAP_DAC_READ_SEARCH; ELOOP: symlink without O_PATH... */
	}
}

int fh_export_check(int root_fd)
{
	unsigned char buf[FH_MAX_SIZE];
	size_t len = sizeof(buf);
	struct fh_kernel kh;
	int ret, fd;

	ret = fh_encode(0, root_fd, NULL, buf, &len);
	if (ret == -EOPNOTSUPP || ret == -EOVERFLOW)
		return -EOPNOTSUPP;
	if (ret < 0)
		return ret;
	ret = fh_decode(buf, len, NULL, &kh);
	if (ret < 0)
		return ret;
	fd = fh_resolve(root_fd, &kh, O_PATH);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* cmocka tests of the errno → nfsstat4 table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>

#include "errmap.h"

static const struct {
	int err;
	nfsstat4 st;
} table[] = {
	{0, NFS4_OK},
	{ENOENT, NFS4ERR_NOENT},
	{EACCES, NFS4ERR_ACCESS},
	{EPERM, NFS4ERR_PERM},
	{EEXIST, NFS4ERR_EXIST},
	{EXDEV, NFS4ERR_XDEV},
	{ENOTDIR, NFS4ERR_NOTDIR},
	{EISDIR, NFS4ERR_ISDIR},
	{EINVAL, NFS4ERR_INVAL},
	{EFBIG, NFS4ERR_FBIG},
	{ENOSPC, NFS4ERR_NOSPC},
	{EROFS, NFS4ERR_ROFS},
	{EMLINK, NFS4ERR_MLINK},
	{ENAMETOOLONG, NFS4ERR_NAMETOOLONG},
	{ENOTEMPTY, NFS4ERR_NOTEMPTY},
	{EDQUOT, NFS4ERR_DQUOT},
	{ESTALE, NFS4ERR_STALE},
	{EBADMSG, NFS4ERR_BADHANDLE},
	{ELOOP, NFS4ERR_SYMLINK},
	{EAGAIN, NFS4ERR_DELAY},
	{EWOULDBLOCK, NFS4ERR_DELAY},
	{ENOMEM, NFS4ERR_SERVERFAULT},
	{EIO, NFS4ERR_IO},
	{ENXIO, NFS4ERR_NXIO},
	{EOPNOTSUPP, NFS4ERR_NOTSUPP},
	{ENOTSUP, NFS4ERR_NOTSUPP},
	{ENOSYS, NFS4ERR_NOTSUPP},
	/* no protocol meaning: the caller logs it */
	{EBADF, NFS4ERR_SERVERFAULT},
	{EFAULT, NFS4ERR_SERVERFAULT},
	{ECONNRESET, NFS4ERR_SERVERFAULT},
	{4095, NFS4ERR_SERVERFAULT},
	{INT_MAX, NFS4ERR_SERVERFAULT},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		/* storage/ returns -errno; both signs map alike */
		assert_int_equal(nfs_errno_to_status(-table[i].err), table[i].st);
		assert_int_equal(nfs_errno_to_status(table[i].err), table[i].st);
	}
	assert_int_equal(nfs_errno_to_status(INT_MIN), NFS4ERR_SERVERFAULT);
}

/* Nothing but 0 is success, and no errno up to 4095 (the -errno range of syscalls) maps to
 * a status the engine reserves for its own rules. */
static void test_never_ok_or_structural(void **state)
{
	(void)state;
	for (int e = 1; e < 4096; e++) {
		nfsstat4 st = nfs_errno_to_status(-e);

		assert_int_not_equal(st, NFS4_OK);
		assert_int_not_equal(st, NFS4ERR_OP_ILLEGAL);
		assert_int_not_equal(st, NFS4ERR_BADXDR);
		assert_int_not_equal(st, NFS4ERR_NOFILEHANDLE);
		assert_int_not_equal(st, NFS4ERR_MINOR_VERS_MISMATCH);
		assert_int_not_equal(st, NFS4ERR_REP_TOO_BIG);
		assert_int_not_equal(st, NFS4ERR_RESOURCE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_never_ok_or_structural),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

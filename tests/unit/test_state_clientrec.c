/* cmocka tests of the client record log (clientrec.h; RFC 8881 §8.4.2.1, RFC 7530 §9.6.2):
 * STATE_DIR/clients, lines "+HEX" / "-HEX", replay in order through the callback, lines cut
 * by a crash and garbage skipped and counted, names of 0 and 1024 bytes, the limit, the
 * atomic and durable rewrite (temporary file, fsync, rename, fsync of the directory), appends
 * after it, and errors.
 *
 * fsync, fdatasync and getline are interposed (defined here, so the library's calls land
 * here) to see which file or directory is synced when, and to make a read of the log fail.
 *
 * Three tests run last and fail at the time of writing: test_del_durable_rfc holds the log
 * to RFC 8881 §8.4.3 (a client whose state was dropped must not come back as able to
 * reclaim after a crash), where the code deliberately does otherwise; test_replay_read_error
 * holds clientrec_open to its own contract (0 or -errno) and test_lines_after_open
 * clientrec_lines to its ("lines in the log now"). */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clientrec.h"
#include "test_tmpdir.h"

#define NAME_MAX_BYTES 1024u

/* ---- interposed libc calls -------------------------------------------------------------- */

struct sync_ev {
	bool dir;          /* the fd was a directory */
	bool data_only;    /* fdatasync */
	bool tmp_existed;  /* base/st/clients.tmp existed at the time */
	ino_t ino;
};

static struct sync_ev syncs[64];
static unsigned nsyncs;
static char watch_dir[512];    /* the state directory of the running test */
static int getline_ok = -1;     /* >= 0: so many more calls succeed, then EIO */

static void sync_note(int fd, bool data_only)
{
	struct stat st;
	char tmp[600];

	if (nsyncs >= sizeof(syncs) / sizeof(syncs[0]))
		return;
	memset(&syncs[nsyncs], 0, sizeof(syncs[nsyncs]));
	if (fstat(fd, &st) == 0) {
		syncs[nsyncs].dir = S_ISDIR(st.st_mode);
		syncs[nsyncs].ino = st.st_ino;
	}
	syncs[nsyncs].data_only = data_only;
	snprintf(tmp, sizeof(tmp), "%s/clients.tmp", watch_dir);
	syncs[nsyncs].tmp_existed = access(tmp, F_OK) == 0;
	nsyncs++;
}

int fsync(int fd)
{
	sync_note(fd, false);
	return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	sync_note(fd, true);
	return (int)syscall(SYS_fdatasync, fd);
}

ssize_t getline(char **lineptr, size_t *n, FILE *stream)
{
	if (getline_ok == 0) {
		errno = EIO;
		return -1;
	}
	if (getline_ok > 0)
		getline_ok--;
	return getdelim(lineptr, n, '\n', stream);
}

/* ---- fixtures --------------------------------------------------------------------------- */

static char base[256];  /* mkdtemp */
static char dir[512];   /* base/st: made by clientrec_open */

struct line {
	bool add;
	uint32_t len;
	uint8_t name[NAME_MAX_BYTES];
};

static struct line seen[64];
static unsigned nseen;

static void record(void *arg, const void *name, uint32_t len, bool add)
{
	assert_ptr_equal(arg, &nseen);
	assert_true(nseen < sizeof(seen) / sizeof(seen[0]));
	assert_true(len <= NAME_MAX_BYTES);
	seen[nseen].add = add;
	seen[nseen].len = len;
	if (len)
		memcpy(seen[nseen].name, name, len);
	nseen++;
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/ug-clientrec-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/st", base);
	snprintf(watch_dir, sizeof(watch_dir), "%s", dir);
	nseen = 0;
	nsyncs = 0;
	getline_ok = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	getline_ok = -1;
	t_rm_tree(base);
	return 0;
}

static struct clientrec *open_rec(unsigned *bad)
{
	struct clientrec *cr = (struct clientrec *)(uintptr_t)1;

	nseen = 0;
	assert_int_equal(clientrec_open(&cr, dir, record, &nseen, bad), 0);
	assert_non_null(cr);
	return cr;
}

/* The whole log file, NUL-terminated (caller frees); *len its size. */
static char *slurp(const char *name, size_t *len)
{
	return t_read_file(dir, name, len);
}

static void assert_log(const char *want)
{
	size_t len;
	char *got = slurp("clients", &len);

	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

static void write_log(const char *content, size_t len)
{
	char path[600];
	int fd;

	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/clients", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

static bool exists(const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void assert_seen(unsigned i, bool add, const void *name, uint32_t len)
{
	assert_true(i < nseen);
	assert_int_equal(seen[i].add, add);
	assert_int_equal(seen[i].len, len);
	if (len)
		assert_memory_equal(seen[i].name, name, len);
}

/* clientrec_next_fn over a NULL-terminated array of C strings. */
struct names {
	const char *const *v;
	unsigned i;
};

static bool next_name(void *arg, const void **name, uint32_t *len)
{
	struct names *n = arg;

	if (!n->v[n->i])
		return false;
	*name = n->v[n->i];
	*len = (uint32_t)strlen(n->v[n->i]);
	n->i++;
	return true;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_open_fresh(void **state)
{
	struct clientrec *cr;
	struct stat st;
	unsigned bad = 99;

	(void)state;
	assert_int_not_equal(stat(dir, &st), 0);
	cr = open_rec(&bad);
	assert_int_equal(bad, 0);
	assert_int_equal(nseen, 0);
	/* the directory is made, 0700 */
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	clientrec_close(cr);
	/* an existing one is used as it is */
	cr = open_rec(&bad);
	assert_int_equal(bad, 0);
	assert_int_equal(nseen, 0);
	clientrec_close(cr);
	clientrec_close(NULL);
}

static void test_add_del_content(void **state)
{
	static const uint8_t bin[] = {0x00, 0xff, 0x10, 0x0a, 0x2b, 0x2d};
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "ab", 2), 0);
	assert_log("+6162\n");
	assert_int_equal(clientrec_del(cr, "ab", 2), 0);
	assert_log("+6162\n-6162\n");
	/* any bytes, newline and +/- included, in lower-case hex */
	assert_int_equal(clientrec_add(cr, bin, sizeof(bin)), 0);
	assert_log("+6162\n-6162\n+00ff100a2b2d\n");
	clientrec_close(cr);
	/* reopening appends */
	cr = open_rec(&bad);
	assert_int_equal(nseen, 3);
	assert_int_equal(clientrec_add(cr, "c", 1), 0);
	assert_log("+6162\n-6162\n+00ff100a2b2d\n+63\n");
	clientrec_close(cr);
	/* the log is private */
	{
		char path[600];
		struct stat st;

		snprintf(path, sizeof(path), "%s/clients", dir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0077, 0);
	}
}

static void test_replay_order(void **state)
{
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(clientrec_add(cr, "b", 1), 0);
	assert_int_equal(clientrec_del(cr, "a", 1), 0);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(clientrec_del(cr, "zz", 2), 0); /* never added: still a line */
	clientrec_close(cr);
	cr = open_rec(&bad);
	assert_int_equal(bad, 0);
	assert_int_equal(nseen, 5);
	assert_seen(0, true, "a", 1);
	assert_seen(1, true, "b", 1);
	assert_seen(2, false, "a", 1);
	assert_seen(3, true, "a", 1);
	assert_seen(4, false, "zz", 2);
	clientrec_close(cr);
}

static void test_cut_and_garbage(void **state)
{
	static const char log[] = "+61\n"
				  "hello\n"        /* no op */
				  "+616\n"         /* odd number of digits */
				  "+zz\n"          /* not hex */
				  "+6G\n"          /* not hex */
				  "\n"             /* empty */
				  "*61\n"          /* unknown op */
				  "+41\n"
				  "-61\n"
				  "+\n"            /* the empty name: valid */
				  "+62 \n"         /* trailing blank */
				  "+61626";        /* "+616263\n" cut by a crash: no newline */
	struct clientrec *cr;
	unsigned bad = 0;

	(void)state;
	write_log(log, sizeof(log) - 1);
	cr = open_rec(&bad);
	assert_int_equal(nseen, 4);
	assert_seen(0, true, "a", 1);
	assert_seen(1, true, "A", 1);
	assert_seen(2, false, "a", 1);
	assert_seen(3, true, "", 0);
	assert_int_equal(bad, 8);
	clientrec_close(cr);
}

static void test_name_sizes(void **state)
{
	uint8_t big[NAME_MAX_BYTES + 1];
	struct clientrec *cr;
	unsigned bad;
	size_t len;
	char *got;

	(void)state;
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "", 0), 0);
	assert_int_equal(clientrec_add(cr, big, NAME_MAX_BYTES), 0);
	assert_int_equal(clientrec_add(cr, big, NAME_MAX_BYTES + 1), -EINVAL);
	assert_int_equal(clientrec_del(cr, big, NAME_MAX_BYTES + 1), -EINVAL);
	assert_int_equal(clientrec_add(cr, big, UINT32_MAX), -EINVAL);
	assert_int_equal(clientrec_del(cr, big, NAME_MAX_BYTES), 0);
	assert_int_equal(clientrec_del(cr, "", 0), 0);
	clientrec_close(cr);
	/* the refused ones left nothing */
	got = slurp("clients", &len);
	assert_int_equal(len, 2 + (2 + 2 * NAME_MAX_BYTES) * 2 + 2);
	assert_memory_equal(got, "+\n+", 3);
	assert_memory_equal(got + len - 2, "-\n", 2);
	free(got);
	cr = open_rec(&bad);
	assert_int_equal(bad, 0);
	assert_int_equal(nseen, 4);
	assert_seen(0, true, "", 0);
	assert_seen(1, true, big, NAME_MAX_BYTES);
	assert_seen(2, false, big, NAME_MAX_BYTES);
	assert_seen(3, false, "", 0);
	clientrec_close(cr);
}

/* A line of 1025 bytes' worth of hex (written by something else) is not a name. */
static void test_overlong_line(void **state)
{
	size_t n = 1 + 2 * (NAME_MAX_BYTES + 1) + 1;
	char *log = malloc(n + 5);
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	assert_non_null(log);
	log[0] = '+';
	memset(log + 1, 'a', n - 2);
	log[n - 1] = '\n';
	memcpy(log + n, "+62\n", 4);
	write_log(log, n + 4);
	free(log);
	cr = open_rec(&bad);
	assert_int_equal(bad, 1);
	assert_int_equal(nseen, 1);
	assert_seen(0, true, "b", 1);
	clientrec_close(cr);
}

static void test_rewrite(void **state)
{
	static const char *const v[] = {"x", "y", NULL};
	struct names it = {v, 0};
	struct clientrec *cr;
	struct stat before, after;
	char path[600];
	unsigned bad;

	(void)state;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(clientrec_add(cr, "b", 1), 0);
	assert_int_equal(clientrec_del(cr, "a", 1), 0);
	snprintf(path, sizeof(path), "%s/clients", dir);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_log("+78\n+79\n");
	assert_false(exists("clients.tmp"));
	/* a new file took the old one's name (rename), not the old one truncated */
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_mode & 0077, 0);
	/* appends go to the new file */
	assert_int_equal(clientrec_add(cr, "z", 1), 0);
	assert_int_equal(clientrec_del(cr, "x", 1), 0);
	assert_log("+78\n+79\n+7a\n-78\n");
	/* an empty rewrite */
	it.v = (const char *const[]){NULL};
	it.i = 0;
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_log("");
	assert_int_equal(clientrec_add(cr, "q", 1), 0);
	assert_log("+71\n");
	clientrec_close(cr);
	cr = open_rec(&bad);
	assert_int_equal(nseen, 1);
	assert_seen(0, true, "q", 1);
	clientrec_close(cr);
}

/* clientrec_lines: one per add or del, one per name after a rewrite; a failed rewrite
 * changes nothing. */
static void test_lines(void **state)
{
	static const char *const v[] = {"x", "y", NULL};
	struct names it = {v, 0};
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_lines(cr), 0);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(clientrec_add(cr, "b", 1), 0);
	assert_int_equal(clientrec_del(cr, "a", 1), 0);
	assert_int_equal(clientrec_lines(cr), 3);
	assert_int_equal(clientrec_add(cr, "", NAME_MAX_BYTES + 1), -EINVAL);
	assert_int_equal(clientrec_lines(cr), 3);
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_int_equal(clientrec_lines(cr), 2);
	assert_int_equal(clientrec_del(cr, "x", 1), 0);
	assert_int_equal(clientrec_lines(cr), 3);
	it.v = (const char *const[]){NULL};
	it.i = 0;
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_int_equal(clientrec_lines(cr), 0);
	clientrec_close(cr);
}

/* A name over the limit fails the rewrite: the old log stays as it was, no temporary file. */
struct big_iter {
	uint8_t name[NAME_MAX_BYTES + 1];
	int i;
};

static bool next_big(void *arg, const void **name, uint32_t *len)
{
	struct big_iter *b = arg;

	switch (b->i++) {
	case 0:
		*name = "ok";
		*len = 2;
		return true;
	case 1:
		*name = b->name;
		*len = sizeof(b->name);
		return true;
	default:
		return false;
	}
}

static void test_rewrite_refused(void **state)
{
	struct big_iter b;
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	memset(&b, 0x55, sizeof(b));
	b.i = 0;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(clientrec_rewrite(cr, next_big, &b), -EINVAL);
	assert_false(exists("clients.tmp"));
	assert_log("+61\n");
	assert_int_equal(clientrec_lines(cr), 1);
	/* and the log still takes appends */
	assert_int_equal(clientrec_add(cr, "b", 1), 0);
	assert_log("+61\n+62\n");
	clientrec_close(cr);
}

/* A stale clients.tmp of a crash in the middle of a rewrite is neither read nor in the way. */
static void test_stale_tmp(void **state)
{
	static const char *const v[] = {"n", NULL};
	struct names it = {v, 0};
	struct clientrec *cr;
	char path[600];
	unsigned bad;
	int fd;

	(void)state;
	write_log("+61\n", 4);
	snprintf(path, sizeof(path), "%s/clients.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "+62\n+63", 7), 7);
	close(fd);
	cr = open_rec(&bad);
	assert_int_equal(bad, 0);
	assert_int_equal(nseen, 1);
	assert_seen(0, true, "a", 1);
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_log("+6e\n");
	assert_false(exists("clients.tmp"));
	clientrec_close(cr);
}

/* Durability: an addition is synced before clientrec_add returns; a rewrite syncs the new
 * file before the rename and the directory after it. */
static void test_durability(void **state)
{
	static const char *const v[] = {"x", NULL};
	struct names it = {v, 0};
	struct clientrec *cr;
	struct stat log;
	char path[600];
	unsigned bad, i, file_sync = 99, dir_sync = 99;

	(void)state;
	cr = open_rec(&bad);
	snprintf(path, sizeof(path), "%s/clients", dir);
	nsyncs = 0;
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	assert_int_equal(stat(path, &log), 0);
	assert_true(nsyncs >= 1);
	for (i = 0; i < nsyncs; i++)
		if (!syncs[i].dir && syncs[i].ino == log.st_ino)
			break;
	assert_true(i < nsyncs); /* the log itself was synced */

	nsyncs = 0;
	assert_int_equal(clientrec_rewrite(cr, next_name, &it), 0);
	assert_int_equal(stat(path, &log), 0);
	for (i = 0; i < nsyncs; i++) {
		if (!syncs[i].dir && syncs[i].ino == log.st_ino && syncs[i].tmp_existed && !syncs[i].data_only &&
		    file_sync == 99)
			file_sync = i; /* the new file, still under its temporary name, fully */
		if (syncs[i].dir && !syncs[i].tmp_existed)
			dir_sync = i; /* the directory, after the rename */
	}
	assert_int_not_equal(file_sync, 99);
	assert_int_not_equal(dir_sync, 99);
	assert_true(file_sync < dir_sync);
	clientrec_close(cr);
}

static void test_errors(void **state)
{
	struct clientrec *cr = (struct clientrec *)(uintptr_t)1;
	char file[600], sub[700];
	unsigned bad = 77;
	int fd;

	(void)state;
	/* the directory would be under a regular file */
	snprintf(file, sizeof(file), "%s/plain", base);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(sub, sizeof(sub), "%s/st", file);
	assert_int_equal(clientrec_open(&cr, sub, record, &nseen, &bad), -ENOTDIR);
	assert_null(cr);
	/* the "directory" is a regular file */
	cr = (struct clientrec *)(uintptr_t)1;
	assert_int_equal(clientrec_open(&cr, file, record, &nseen, &bad), -ENOTDIR);
	assert_null(cr);
	/* a parent that does not exist */
	cr = (struct clientrec *)(uintptr_t)1;
	snprintf(sub, sizeof(sub), "%s/no/such", base);
	assert_int_equal(clientrec_open(&cr, sub, record, &nseen, &bad), -ENOENT);
	assert_null(cr);
	/* the log is not a file */
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/clients", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	cr = (struct clientrec *)(uintptr_t)1;
	assert_true(clientrec_open(&cr, dir, record, &nseen, &bad) < 0);
	assert_null(cr);
}

/* clientrec_open's contract is "0 or -errno": a log that cannot be read to its end must not
 * be taken for a shorter log. (records_open rewrites the log right after the replay, so the
 * names after the failed read would be lost for good, and their clients refused a reclaim
 * with NFS4ERR_NO_GRACE.) Today a read error ends the replay like the end of the file. */
static void test_replay_read_error(void **state)
{
	struct clientrec *cr = (struct clientrec *)(uintptr_t)1;
	unsigned bad;
	int ret;

	(void)state;
	write_log("+61\n+62\n+63\n", 12);
	getline_ok = 1; /* the first line reads, then EIO */
	nseen = 0;
	ret = clientrec_open(&cr, dir, record, &nseen, &bad);
	getline_ok = -1;
	if (ret == 0)
		clientrec_close(cr);
	assert_int_equal(ret, -EIO);
	assert_null(cr);
}

/* clientrec.h: clientrec_lines is the lines "in the log now". After clientrec_open of a log
 * that has lines it says 0 (the replay does not count them); state.c always rewrites right
 * after opening, so the sweep's compaction threshold is not affected today. */
static void test_lines_after_open(void **state)
{
	struct clientrec *cr;
	unsigned long lines;
	unsigned bad;

	(void)state;
	write_log("+61\n+62\n-61\n", 12);
	cr = open_rec(&bad);
	lines = clientrec_lines(cr);
	clientrec_close(cr);
	assert_int_equal(nseen, 3);
	assert_int_equal(lines, 3);
}

/* RFC 8881 §8.4.3 (and RFC 7530 §9.6.3.4), the second edge condition: client A's lease
 * expires and its state goes, client B takes a conflicting lock, the server crashes and
 * restarts, A reclaims. The server must be able to tell that A's state was dropped, so the
 * end of a client has to be on stable storage before anything that conflicts with its old
 * state can be granted; simplest: before clientrec_del returns. Today a removal is written
 * but not synced (clientrec.h: "a removal is not"), so a crash can bring A back as a
 * client of the previous run that may reclaim. */
static void test_del_durable_rfc(void **state)
{
	struct clientrec *cr;
	unsigned bad;

	(void)state;
	cr = open_rec(&bad);
	assert_int_equal(clientrec_add(cr, "a", 1), 0);
	nsyncs = 0;
	assert_int_equal(clientrec_del(cr, "a", 1), 0);
	clientrec_close(cr);
	assert_true(nsyncs >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_del_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_read_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines_after_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_durable_rfc, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Owner names through the whole server: with owner_domain set, GETATTR's owner and
 * owner_group are "name@domain" (numeric for an id without a name) and SETATTR takes
 * "name@domain"; without it owners stay numeric. Runs as root (open_by_handle_at); skips
 * otherwise. Names come from this machine's /etc/passwd and /etc/group: root (0) and, where
 * present, daemon. */
#define _GNU_SOURCE /* mkdtemp, nftw, strtok_r */
#include "test_nfs_util.h"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>

#include "idmap.h"

#define NONAME_ID 3999999u /* no user or group has it */

static int setup_domain(void **state)
{
	char text[1024], err[1024], path[512];

	(void)state;
	memset(&W, 0, sizeof(W));
	log_set_level(LL_ERROR);
	t_tree(false);
	snprintf(path, sizeof(path), "%s/victim", W.data);
	if (chown(path, NONAME_ID, NONAME_ID) < 0)
		return -1;
	snprintf(text, sizeof(text),
		 "log_level = error\n"
		 "owner_domain = example.org\n"
		 "export \"%s\" {\n"
		 "    id = %u\n"
		 "    pseudo = /\n"
		 "    access = rw\n"
		 "    squash = none\n"
		 "}\n",
		 W.data, T_DATA_ID);
	if (config_parse_string(text, "test.conf", &W.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	t_server_up();
	return 0;
}

static int setup_numeric(void **state)
{
	(void)state;
	return t_setup_default();
}

/* owner, owner_group */
static uint32_t owner_mask[2] = {0, 1u << (FATTR4_OWNER - 32) | 1u << (FATTR4_OWNER_GROUP - 32)};

static void read_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	uint32_t n;

	assert_true(end - *p >= 4);
	n = t_get32(*p);
	*p += 4;
	assert_true(n < cap && (size_t)(end - *p) >= ((n + 3) & ~3u));
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += (n + 3) & ~3u;
}

/* GETATTR owner and owner_group of a path in the pseudo fs. */
static void get_owner(const char *path, char *owner, char *group, size_t cap)
{
	struct t_fh fh;
	nfs_argop4 ops[2];
	struct t_rep r;
	fattr4 *f;
	const uint8_t *p, *end;

	t_path_fh(0, path, &fh);
	ops[0] = a_putfh(&fh);
	ops[1] = a_plain(OP_GETATTR);
	ops[1].nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 2;
	ops[1].nfs_argop4_u.opgetattr.attr_request.bitmap4_val = owner_mask;
	t_call(&r, 0, 0, ops, 2);
	t_expect(&r, ops, NFS4_OK, 2);
	f = &t_res(&r, 1)->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes;
	assert_int_equal(f->attrmask.bitmap4_len, 2);
	assert_int_equal(f->attrmask.bitmap4_val[1], owner_mask[1]);
	p = (const uint8_t *)f->attr_vals.attrlist4_val;
	end = p + f->attr_vals.attrlist4_len;
	read_str(&p, end, owner, cap);
	read_str(&p, end, group, cap);
	assert_true(p == end);
	t_free(&r);
}

/* SETATTR owner and/or owner_group of a path; the status. */
static nfsstat4 set_owner(const char *path, const char *owner, const char *group)
{
	static const stateid4 anon;
	uint8_t buf[256], *p = buf;
	uint32_t mask[2] = {0, 0};
	struct t_fh fh;
	nfs_argop4 ops[2];
	const char *s[2] = {owner, group};

	for (int i = 0; i < 2; i++) {
		size_t n;

		if (!s[i])
			continue;
		n = strlen(s[i]);
		assert_true(n < 200);
		mask[1] |= 1u << ((i ? FATTR4_OWNER_GROUP : FATTR4_OWNER) - 32);
		p = t_put32(p, (uint32_t)n);
		memset(p, 0, (n + 3) & ~(size_t)3);
		memcpy(p, s[i], n);
		p += (n + 3) & ~(size_t)3;
	}
	t_path_fh(0, path, &fh);
	ops[0] = a_putfh(&fh);
	ops[1] = a_plain(OP_SETATTR);
	ops[1].nfs_argop4_u.opsetattr.stateid = anon;
	ops[1].nfs_argop4_u.opsetattr.obj_attributes.attrmask.bitmap4_len = 2;
	ops[1].nfs_argop4_u.opsetattr.obj_attributes.attrmask.bitmap4_val = mask;
	ops[1].nfs_argop4_u.opsetattr.obj_attributes.attr_vals.attrlist4_len = (u_int)(p - buf);
	ops[1].nfs_argop4_u.opsetattr.obj_attributes.attr_vals.attrlist4_val = (char *)buf;
	return t_status(0, 0, ops, 2);
}

static struct stat data_stat(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", W.data, name);
	assert_int_equal(lstat(path, &st), 0);
	return st;
}

static void test_getattr_names(void **state)
{
	char owner[256], group[256];
	struct idmap_stats is;

	(void)state;
	assert_non_null(W.srv->idmap);
	idmap_stats(W.srv->idmap, &is);
	assert_true(is.users >= 1 && is.groups >= 1);

	get_owner("/file10k", owner, group, sizeof(owner)); /* 0:0 */
	assert_string_equal(owner, "root@example.org");
	assert_string_equal(group, "root@example.org");
	get_owner("/", owner, group, sizeof(owner));
	assert_string_equal(owner, "root@example.org");
	/* an id without a name: the number, as knfsd and nfsidmap */
	get_owner("/victim", owner, group, sizeof(owner));
	assert_string_equal(owner, "3999999");
	assert_string_equal(group, "3999999");
}

static void test_setattr_names(void **state)
{
	struct passwd *pw = getpwnam("daemon");
	struct group *gr = getgrnam("daemon");
	char owner[256], group[256];
	struct stat st;

	(void)state;
	assert_int_equal(set_owner("/victim", "root@example.org", "root@EXAMPLE.org"), NFS4_OK);
	st = data_stat("victim");
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);

	if (pw && gr && pw->pw_uid != 0 && gr->gr_gid != 0) {
		uid_t uid = pw->pw_uid;
		gid_t gid = gr->gr_gid;

		assert_int_equal(set_owner("/victim", "daemon@example.org", "daemon@example.org"),
				 NFS4_OK);
		st = data_stat("victim");
		assert_int_equal(st.st_uid, uid);
		assert_int_equal(st.st_gid, gid);
		get_owner("/victim", owner, group, sizeof(owner));
		assert_string_equal(owner, "daemon@example.org");
		assert_string_equal(group, "daemon@example.org");
	}

	/* numbers still work */
	assert_int_equal(set_owner("/victim", "1234", "5678"), NFS4_OK);
	st = data_stat("victim");
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);

	/* no such name, another domain, no domain */
	assert_int_equal(set_owner("/victim", "no-such-user-xyz@example.org", NULL),
			 NFS4ERR_BADOWNER);
	assert_int_equal(set_owner("/victim", NULL, "no-such-group-xyz@example.org"),
			 NFS4ERR_BADOWNER);
	assert_int_equal(set_owner("/victim", "root@example.com", NULL), NFS4ERR_BADOWNER);
	assert_int_equal(set_owner("/victim", "root", NULL), NFS4ERR_BADOWNER);
	st = data_stat("victim");
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
}

/* Without owner_domain: no map, numeric owners, names refused. */
static void test_numeric(void **state)
{
	char owner[256], group[256];

	(void)state;
	assert_null(W.srv->idmap);
	get_owner("/file10k", owner, group, sizeof(owner));
	assert_string_equal(owner, "0");
	assert_string_equal(group, "0");
	assert_int_equal(set_owner("/victim", "root@example.org", NULL), NFS4ERR_BADOWNER);
	assert_int_equal(set_owner("/victim", "1", NULL), NFS4_OK);
	assert_int_equal(data_stat("victim").st_uid, 1);
}

int main(void)
{
	const struct CMUnitTest dom[] = {
		cmocka_unit_test(test_getattr_names),
		cmocka_unit_test(test_setattr_names),
	};
	const struct CMUnitTest num[] = {
		cmocka_unit_test(test_numeric),
	};
	int failed = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "test_nfs_idmap: needs root (open_by_handle_at): skipped\n");
		return 77;
	}
	failed += cmocka_run_group_tests_name("nfs_idmap_domain", dom, setup_domain, t_teardown);
	failed += cmocka_run_group_tests_name("nfs_idmap_numeric", num, setup_numeric, t_teardown);
	return failed ? 1 : 0;
}

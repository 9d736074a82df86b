/* Scratch directories of the unit tests: removal of a whole tree, reading a file whole.
 * Include after cmocka.h (t_read_file asserts). */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/* Remove path and everything under it (the tests' own temporary trees). */
static inline void t_rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[1024];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		t_rm_tree(p);
	}
	closedir(d);
	rmdir(path);
}

/* The whole of dir/name, NUL-terminated (the caller frees); *len its size when len. */
static inline char *t_read_file(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	struct stat st;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	buf[st.st_size] = 0;
	fclose(f);
	if (len)
		*len = (size_t)st.st_size;
	return buf;
}

#endif

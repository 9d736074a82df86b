/* Client records on stable storage (see clientrec.h). */
#include "clientrec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_NAME "clients"
#define TMP_NAME "clients.tmp"
#define NAME_MAX_BYTES 1024u /* NFS4_OPAQUE_LIMIT */
#define LINE_MAX_BYTES (2u + 2u * NAME_MAX_BYTES)

struct clientrec {
	int dirfd;
	int fd; /* the log, O_APPEND */
	unsigned long lines;
};

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One line without its newline: "+HEX" or "-HEX"; false when malformed. */
static bool parse_line(const char *s, size_t n, uint8_t *name, uint32_t *len, bool *add)
{
	if (n < 1 || (s[0] != '+' && s[0] != '-') || (n - 1) % 2 || (n - 1) / 2 > NAME_MAX_BYTES)
		return false;
	*add = s[0] == '+';
	*len = (uint32_t)((n - 1) / 2);
	for (uint32_t i = 0; i < *len; i++) {
		int hi = hexval((unsigned char)s[1 + 2 * i]), lo = hexval((unsigned char)s[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		name[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static size_t format_line(char *buf, char op, const void *name, uint32_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = name;
	size_t n = 0;

	buf[n++] = op;
	for (uint32_t i = 0; i < len; i++) {
		buf[n++] = digits[b[i] >> 4];
		buf[n++] = digits[b[i] & 15];
	}
	buf[n++] = '\n';
	return n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int replay(int dirfd, clientrec_line_fn fn, void *arg, unsigned *bad, unsigned long *lines)
{
	FILE *f;
	int fd = openat(dirfd, LOG_NAME, O_RDONLY | O_CLOEXEC);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint8_t *name;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	name = malloc(NAME_MAX_BYTES);
	if (!name) {
		fclose(f);
		return -ENOMEM;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		(*lines)++;
		uint32_t len;
		bool add;

		/* a line cut short by a crash has no newline: not trusted */
		if (n == 0 || line[n - 1] != '\n' || !parse_line(line, (size_t)n - 1, name, &len, &add)) {
			(*bad)++;
			continue;
		}
		fn(arg, name, len, add);
	}
	/* a read error is not the end of the log: the clients after it would lose their
	 * right to reclaim when the log is rewritten with what was read */
	n = feof(f) ? 0 : -EIO;
	free(line);
	free(name);
	fclose(f);
	return (int)n;
}

static int open_log(struct clientrec *cr)
{
	cr->fd = openat(cr->dirfd, LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	return cr->fd < 0 ? -errno : 0;
}

int clientrec_open(struct clientrec **out, const char *dir, clientrec_line_fn fn, void *arg, unsigned *bad)
{
	struct clientrec *cr;
	int ret;

	*out = NULL;
	*bad = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return -ENOMEM;
	cr->fd = -1;
	cr->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cr->dirfd < 0) {
		ret = -errno;
		free(cr);
		return ret;
	}
	ret = replay(cr->dirfd, fn, arg, bad, &cr->lines);
	if (ret == 0)
		ret = open_log(cr);
	if (ret < 0) {
		clientrec_close(cr);
		return ret;
	}
	*out = cr;
	return 0;
}

static int append(struct clientrec *cr, char op, const void *name, uint32_t len, bool durable)
{
	char *buf;
	size_t n;
	int ret;

	if (len > NAME_MAX_BYTES)
		return -EINVAL;
	buf = malloc(LINE_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	n = format_line(buf, op, name, len);
	/* O_APPEND and one write: a line is whole or (after a crash) cut, never interleaved */
	ret = write_all(cr->fd, buf, n);
	free(buf);
	if (ret == 0)
		cr->lines++;
	if (ret == 0 && durable && fdatasync(cr->fd) < 0)
		ret = -errno;
	return ret;
}

int clientrec_add(struct clientrec *cr, const void *name, uint32_t len)
{
	return append(cr, '+', name, len, true);
}

int clientrec_del(struct clientrec *cr, const void *name, uint32_t len)
{
	/* durable too: a lost "-" after a crash would let a client whose lease ran out (and
	 * whose locks someone else may hold now) reclaim them (RFC 8881 §8.4.3) */
	return append(cr, '-', name, len, true);
}

int clientrec_rewrite(struct clientrec *cr, clientrec_next_fn next, void *arg)
{
	char *buf = malloc(LINE_MAX_BYTES + 1);
	const void *name;
	uint32_t len;
	unsigned long lines = 0;
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = openat(cr->dirfd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while (ret == 0 && next(arg, &name, &len)) {
		ret = len > NAME_MAX_BYTES ? -EINVAL : write_all(fd, buf, format_line(buf, '+', name, len));
		lines++;
	}
	free(buf);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret == 0 && renameat(cr->dirfd, TMP_NAME, cr->dirfd, LOG_NAME) < 0)
		ret = -errno;
	if (ret == 0 && fsync(cr->dirfd) < 0)
		ret = -errno;
	if (ret < 0) {
		unlinkat(cr->dirfd, TMP_NAME, 0);
		return ret;
	}
	/* appends go to the new file from now on */
	if (cr->fd >= 0)
		close(cr->fd);
	cr->lines = lines;
	return open_log(cr);
}

unsigned long clientrec_lines(const struct clientrec *cr)
{
	return cr->lines;
}

void clientrec_close(struct clientrec *cr)
{
	if (!cr)
		return;
	if (cr->fd >= 0)
		close(cr->fd);
	if (cr->dirfd >= 0)
		close(cr->dirfd);
	free(cr);
}

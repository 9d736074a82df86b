/*
 * Logging to stderr. Each line is formatted into a local buffer and handed to the kernel with
 * one write(2), so lines from several loop threads never interleave inside a line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

enum log_level log_level_current = LL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	if ((unsigned int)level > LL_DEBUG)
		level = LL_DEBUG;
	log_level_current = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if ((unsigned int)level > LL_DEBUG)
		level = LL_DEBUG;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ", ts.tv_nsec / 1000000L,
		     level_names[level]);
	if (r > 0)
		n += (size_t)r;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* A message longer than the buffer is cut, never split over two lines. */
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	/* Nothing useful can be done if stderr is gone. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

/*
 * Logging: one line per message to stderr, "2025-01-31T12:00:00.123Z warn: text".
 *
 * The command line (cli.h) parses the same enum, so main() can hand cli_opts.log_level
 * straight to log_set_level(). Names are LL_* because <syslog.h> owns LOG_*. The macros
 * test the level before the arguments are evaluated, so a disabled log_debug() costs one
 * load and a branch.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

enum log_level { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG };

/* Messages above this level are dropped. Written by log_set_level() only. */
extern enum log_level log_level_current;

void log_set_level(enum log_level level);

/* Format and write one line (a newline is appended). Prefer the macros below. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(level, ...)                                       \
	do {                                                     \
		if ((level) <= log_level_current)                \
			log_msg((level), __VA_ARGS__);           \
	} while (0)

#define log_error(...) log_at(LL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LL_DEBUG, __VA_ARGS__)

#endif

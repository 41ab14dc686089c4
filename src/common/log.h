/*
 * log.h - tiny logging in the manner of OpenBSD's log.c.
 *
 * Levels as wireguard-go's LOG_LEVEL: "silent", "error" (default) and
 * "verbose" (debug lines).  Lines go to stderr with a prefix, or to syslog
 * once the daemon has detached (log_to_syslog).  Never pass key material.
 * log_ratelimited() keeps a flood of bad packets from flooding the log.
 */
#ifndef ZWG_LOG_H
#define ZWG_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_SILENT = 0, LOG_LEVEL_ERROR = 1, LOG_LEVEL_VERBOSE = 2 };

void log_init(const char *prefix, enum log_level level);
/* Parses LOG_LEVEL's value; unknown or NULL gives LOG_LEVEL_ERROR. */
enum log_level log_level_from_string(const char *s);
void log_to_syslog(const char *ident);
bool log_verbose_enabled(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* appends strerror(errno) */
/* Something works less well than it should (shown at the default level,
 * syslog LOG_WARNING): "WARNING: ..." */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));     /* shown at verbose */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    /* shown at verbose */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A token bucket for one kind of log line: allows `burst` lines, then one
 * per second.  Returns true if the line may be logged now. */
struct log_ratelimit {
	uint64_t last_ns;
	unsigned tokens;
	unsigned suppressed;
};
bool log_ratelimited(struct log_ratelimit *rl, uint64_t now_ns);

#endif

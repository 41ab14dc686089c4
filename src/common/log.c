/*
 * log.c - see log.h.  Lines are written whole with one write(2) so that
 * concurrent threads do not interleave mid-line.
 */
#include "log.h"
#include "clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_ERROR;
static const char *log_prefix = "zerowg";
static bool use_syslog;

void log_init(const char *prefix, enum log_level level)
{
	if (prefix)
		log_prefix = prefix;
	current_level = level;
}

enum log_level log_level_from_string(const char *s)
{
	if (!s)
		return LOG_LEVEL_ERROR;
	if (!strcasecmp(s, "verbose") || !strcasecmp(s, "debug"))
		return LOG_LEVEL_VERBOSE;
	if (!strcasecmp(s, "silent"))
		return LOG_LEVEL_SILENT;
	return LOG_LEVEL_ERROR;
}

void log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = true;
}

bool log_verbose_enabled(void)
{
	return current_level >= LOG_LEVEL_VERBOSE;
}

static void vlog(enum log_level level, int prio, const char *tag, const char *fmt,
		 va_list ap, const char *suffix)
{
	char line[1024];
	int n;

	if (current_level < level)
		return;
	if (use_syslog) {
		char msg[900];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		syslog(prio, "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%s: %s %04d/%02d/%02d %02d:%02d:%02d ", tag,
		     log_prefix, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0)
		return;
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if ((size_t)n < sizeof(line) && suffix)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#define LOG_FN(name, level, prio, tag) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		vlog(level, prio, tag, fmt, ap, NULL); \
		va_end(ap); \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, LOG_ERR, "ERROR")
LOG_FN(log_info, LOG_LEVEL_VERBOSE, LOG_INFO, "INFO")
LOG_FN(log_debug, LOG_LEVEL_VERBOSE, LOG_DEBUG, "DEBUG")

void log_warn_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, LOG_ERR, "ERROR", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, LOG_WARNING, "WARNING", fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* Fatal errors are shown even when LOG_LEVEL=silent. */
	if (current_level < LOG_LEVEL_ERROR)
		current_level = LOG_LEVEL_ERROR;
	vlog(LOG_LEVEL_ERROR, LOG_CRIT, "ERROR", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

bool log_ratelimited(struct log_ratelimit *rl, uint64_t now_ns)
{
	const unsigned burst = 5;

	if (rl->last_ns == 0 || now_ns - rl->last_ns >= NSEC_PER_SEC) {
		if (rl->suppressed && current_level >= LOG_LEVEL_VERBOSE)
			log_debug("(%u similar messages suppressed)", rl->suppressed);
		rl->tokens = burst;
		rl->last_ns = now_ns;
		rl->suppressed = 0;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}

/*
 * audit.c - see audit.h.  jansson builds the line, so names with quotes or
 * control characters cannot break the JSON or forge a second line.
 */
#include "audit.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Protects out and the write of one line: a leaf lock. */
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *audit_out;
static __thread const char *thread_via;

void audit_set_thread_via(const char *via)
{
	thread_via = via;
}

const char *audit_thread_via(void)
{
	return thread_via ? thread_via : "api";
}

void audit_set_output(FILE *f)
{
	pthread_mutex_lock(&audit_lock);
	audit_out = f;
	pthread_mutex_unlock(&audit_lock);
}

void audit_log(const char *event, const char *peer, const char *via, bool ok, const char *error)
{
	char ts[32];
	struct tm tm;
	time_t now = time(NULL);
	json_t *o;
	char *line;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "event", json_string(event));
	if (peer)
		json_object_set_new(o, "peer", json_string(peer));
	json_object_set_new(o, "via", json_string(via ? via : audit_thread_via()));
	json_object_set_new(o, "ok", json_boolean(ok));
	if (!ok && error)
		json_object_set_new(o, "error", json_string(error));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!line)
		return;
	pthread_mutex_lock(&audit_lock);
	FILE *f = audit_out ? audit_out : stderr;
	fprintf(f, "%s\n", line);
	fflush(f);
	pthread_mutex_unlock(&audit_lock);
	free(line);
}

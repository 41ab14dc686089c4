/*
 * audit.c - see audit.h.  jansson builds the line, so names with quotes or
 * control characters cannot break the JSON or forge a second line.  The
 * ring of recent lines is a static array: nothing is allocated per line
 * for it, and its memory is bounded.
 */
#include "audit.h"
#include "model.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Protects out, the write of one line and the ring: a leaf lock. */
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *audit_out;
static struct audit_entry recent[AUDIT_RECENT_MAX];
static size_t recent_next;	/* the slot the next line takes */
static size_t recent_count;	/* lines in the ring, <= AUDIT_RECENT_MAX */

void audit_set_output(FILE *f)
{
	pthread_mutex_lock(&audit_lock);
	audit_out = f;
	pthread_mutex_unlock(&audit_lock);
}

void audit_log(const char *event, const char *peer, const struct actor *actor, bool ok,
	       const char *error)
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
	/* The name is bounded and printable by actor.h's contract; jansson
	 * escapes it anyway, and refuses invalid UTF-8 (then "?"). */
	json_t *name = json_string(actor && actor->name[0] ? actor->name : "unknown");
	json_object_set_new(o, "actor", name ? name : json_string("?"));
	json_object_set_new(o, "via", json_string(actor && actor->via ? actor->via : "unknown"));
	json_object_set_new(o, "ok", json_boolean(ok));
	if (!ok && error)
		json_object_set_new(o, "error", json_string(error));
	line = model_json_dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER, NULL);
	pthread_mutex_lock(&audit_lock);
	/* The ring keeps the line even if the text could not be made. */
	struct audit_entry *a = &recent[recent_next];
	snprintf(a->ts, sizeof(a->ts), "%s", ts);
	snprintf(a->event, sizeof(a->event), "%s", event ? event : "");
	snprintf(a->peer, sizeof(a->peer), "%s", peer ? peer : "");
	snprintf(a->actor, sizeof(a->actor), "%s", json_string_value(json_object_get(o, "actor")) ?
		 json_string_value(json_object_get(o, "actor")) : "?");
	snprintf(a->via, sizeof(a->via), "%s", actor && actor->via ? actor->via : "unknown");
	a->ok = ok;
	snprintf(a->error, sizeof(a->error), "%s", !ok && error ? error : "");
	recent_next = (recent_next + 1) % AUDIT_RECENT_MAX;
	if (recent_count < AUDIT_RECENT_MAX)
		recent_count++;
	if (line) {
		FILE *f = audit_out ? audit_out : stderr;
		fprintf(f, "%s\n", line);
		fflush(f);
	}
	pthread_mutex_unlock(&audit_lock);
	json_decref(o);
	free(line);
}

size_t audit_recent(struct audit_entry *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&audit_lock);
	n = max < recent_count ? max : recent_count;
	for (size_t i = 0; i < n; i++)
		out[i] = recent[(recent_next + AUDIT_RECENT_MAX - 1 - i) % AUDIT_RECENT_MAX];
	pthread_mutex_unlock(&audit_lock);
	return n;
}

void audit_recent_clear(void)
{
	pthread_mutex_lock(&audit_lock);
	memset(recent, 0, sizeof(recent));
	recent_next = 0;
	recent_count = 0;
	pthread_mutex_unlock(&audit_lock);
}

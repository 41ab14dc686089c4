/*
 * audit_routes.c - GET /v1/audit?limit=N (route.h; admin): the newest
 * lines of the audit log, newest first, from the ring audit.c keeps in
 * memory (the last AUDIT_RECENT_MAX; the full log is on stderr / the
 * journal):
 *   {"entries":[{"ts","event","peer","actor","via","ok","error"}...]}
 * "peer" and "error" are null when the line has none.  N is 1 to 1000,
 * default 200.
 */
#include "api_internal.h"
#include "audit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_LIMIT_DEFAULT 200

/* A JSON string of s, which the ring may have cut inside a UTF-8
 * character: such a tail is dropped.  null for "" when empty_null. */
static json_t *text(const char *s, bool empty_null)
{
	size_t n = strlen(s);
	json_t *j;

	if (!*s && empty_null)
		return json_null();
	for (int cut = 0; cut < 4 && n > 0; cut++, n--)
		if ((j = json_stringn(s, n)))
			return j;
	return json_string("?");
}

/* "limit=N" (the only parameter).  false after a 400. */
static bool parse_limit(struct api_reply *r, const char *query, size_t *limit)
{
	*limit = AUDIT_LIMIT_DEFAULT;
	while (query && *query) {
		size_t len = strcspn(query, "&");
		if (len > 6 && !strncmp(query, "limit=", 6)) {
			char buf[8], *end;
			long v;
			if (len - 6 >= sizeof(buf))
				goto bad;
			memcpy(buf, query + 6, len - 6);
			buf[len - 6] = '\0';
			v = strtol(buf, &end, 10);
			if (*end || buf[0] < '0' || buf[0] > '9' || v < 1 || v > AUDIT_RECENT_MAX)
				goto bad;
			*limit = (size_t)v;
		} else if (len) {
			api_reply_error(r, 400, "query", "unknown query parameter \"%.*s\" (GET "
					"/v1/audit takes limit=N)", (int)(len < 40 ? len : 40), query);
			return false;
		}
		query += len + (query[len] == '&');
	}
	return true;
bad:
	api_reply_error(r, 400, "limit", "limit must be a number from 1 to %d (default %d)",
			AUDIT_RECENT_MAX, AUDIT_LIMIT_DEFAULT);
	return false;
}

int api_get_audit(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct audit_entry *e;
	json_t *j, *arr;
	size_t limit, n;

	(void)api;
	if (!parse_limit(r, req->query, &limit))
		return 0;
	e = calloc(limit, sizeof(*e));
	j = json_object();
	arr = json_array();
	if (!e || !j || !arr) {
		free(e);
		json_decref(j);
		json_decref(arr);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	n = audit_recent(e, limit);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		if (!o)
			break;
		json_object_set_new(o, "ts", text(e[i].ts, false));
		json_object_set_new(o, "event", text(e[i].event, false));
		json_object_set_new(o, "peer", text(e[i].peer, true));
		json_object_set_new(o, "actor", text(e[i].actor, false));
		json_object_set_new(o, "via", text(e[i].via, false));
		json_object_set_new(o, "ok", json_boolean(e[i].ok));
		json_object_set_new(o, "error", text(e[i].error, true));
		json_array_append_new(arr, o);
	}
	free(e);
	json_object_set_new(j, "entries", arr);
	return api_reply_json(r, 200, j);
}

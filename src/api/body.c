/*
 * body.c - reading the API's JSON request bodies (api_internal.h): an
 * object, only known members, typed optional members.  Every refusal is a
 * 400 naming the field and saying what would be right.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

json_t *api_body_object(struct api_reply *r, const char *body, size_t len, bool allow_empty)
{
	json_error_t jerr;
	json_t *j;

	if (!body || len == 0) {
		if (allow_empty)
			return json_object();
		api_reply_error(r, 400, NULL, "the request needs a JSON object as its body");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		api_reply_error(r, 400, NULL, "the body is not valid JSON: %s (line %d, column %d)",
				jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_reply_error(r, 400, NULL, "the body must be a JSON object, like {\"name\":\"phone\"}");
		return NULL;
	}
	return j;
}

bool api_only_known(struct api_reply *r, json_t *o, const char *const *known)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		bool ok = false;
		char list[256] = "";

		for (size_t i = 0; known[i]; i++) {
			ok = ok || !strcmp(k, known[i]);
			if (strlen(list) + strlen(known[i]) + 3 < sizeof(list)) {
				if (i)
					strcat(list, ", ");
				strcat(list, known[i]);
			}
		}
		if (!ok) {
			api_reply_error(r, 400, k, "unknown field \"%.64s\" (known fields: %s)", k, list);
			return false;
		}
	}
	return true;
}

bool api_opt_string(struct api_reply *r, json_t *o, const char *field, const char **out)
{
	json_t *v = json_object_get(o, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		api_reply_error(r, 400, field, "field \"%s\" must be a string", field);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool api_opt_bool(struct api_reply *r, json_t *o, const char *field, bool *out)
{
	json_t *v = json_object_get(o, field);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		api_reply_error(r, 400, field, "field \"%s\" must be true or false", field);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

bool api_opt_list(struct api_reply *r, json_t *o, const char *field, const char ***items,
		  size_t *n, char **buf)
{
	json_t *v = json_object_get(o, field);

	*items = NULL;
	*n = 0;
	*buf = NULL;
	if (!v || json_is_null(v))
		return true;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		*items = calloc(json_array_size(v) + 1, sizeof(**items));
		if (!*items)
			goto oom;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				api_reply_error(r, 400, field, "field \"%s\" must be a list of strings "
						"(item %zu is not a string)", field, i);
				return false;
			}
			(*items)[(*n)++] = json_string_value(e);
		}
		return true;
	}
	if (json_is_string(v)) {
		char *save = NULL, *tok;

		*buf = strdup(json_string_value(v));
		*items = calloc(strlen(json_string_value(v)) / 2 + 2, sizeof(**items));
		if (!*buf || !*items)
			goto oom;
		for (tok = strtok_r(*buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
			(*items)[(*n)++] = tok;
		return true;
	}
	api_reply_error(r, 400, field, "field \"%s\" must be a list of strings, like "
			"[\"192.168.1.0/24\"]", field);
	return false;
oom:
	api_reply_error(r, 500, NULL, "out of memory");
	return false;
}

/*
 * reply.c - building the API's answers (api.h, api_internal.h): JSON
 * replies and errors, the HTTP status of a control-layer error, freeing
 * (wiping) a reply.
 */
#include "api_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int api_reply_json(struct api_reply *r, unsigned status, json_t *j)
{
	char *text = model_json_dump(j, JSON_COMPACT | JSON_PRESERVE_ORDER, NULL);

	json_decref(j);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\",\"field\":null}";
		r->status = 500;
		r->body = strdup(oom);
		r->len = r->body ? strlen(oom) : 0;
		return -ENOMEM;
	}
	r->status = status;
	r->body = text;
	r->len = strlen(text);
	return 0;
}

int api_reply_error(struct api_reply *r, unsigned status, const char *field,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply_free(r);
	j = json_object();
	if (j) {
		/* A message quoting bad input may hold invalid UTF-8: jansson
		 * refuses it, so say so rather than answer nothing. */
		json_t *m = json_string(msg);
		json_object_set_new(j, "error", m ? m : json_string("the request holds text that is "
								  "not UTF-8"));
		json_object_set_new(j, "field", field && *field ? json_string(field) : json_null());
	}
	return api_reply_json(r, status, j);
}

unsigned api_status_of(int err)
{
	switch (-err) {
	case EINVAL:
	case ERANGE:
	case EDOM:
		return 400;
	case ENOENT:
		return 404;
	case EEXIST:
	case ENOKEY:
	case EBUSY:
	case ESTALE:
		return 409;
	case ENOSPC:
		return 507;
	default:
		return 500;
	}
}

int api_reply_control_error(struct api_reply *r, int err, const struct control_error *e)
{
	if (e->msg[0])
		return api_reply_error(r, api_status_of(err), e->field, "%s", e->msg);
	return api_reply_error(r, api_status_of(err), e->field, "%s", strerror(-err));
}

void api_reply_free(struct api_reply *reply)
{
	if (reply->body) {
		explicit_bzero(reply->body, reply->len);
		free(reply->body);
	}
	reply->body = NULL;
	reply->len = 0;
	explicit_bzero(reply->headers, sizeof(reply->headers));
	reply->n_headers = 0;
}

bool api_reply_header(struct api_reply *r, const char *name, const char *value)
{
	size_t len = strlen(value);

	if (r->n_headers == API_REPLY_HEADERS || len >= API_REPLY_HEADER_MAX)
		return false;
	r->headers[r->n_headers].name = name;
	memcpy(r->headers[r->n_headers].value, value, len + 1);
	r->n_headers++;
	return true;
}

uint64_t api_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

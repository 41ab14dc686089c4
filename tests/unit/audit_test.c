/*
 * audit_test.c - the audit log (src/server/audit.c) and its view (GET
 * /v1/audit, src/api/audit_routes.c): every line goes to the output as
 * one JSON object, names that try to break the JSON or forge a line are
 * escaped, the ring keeps the newest AUDIT_RECENT_MAX lines newest first
 * (it wraps; fields that do not fit are cut, never overflow), and the
 * route gives at most limit entries, refuses a bad limit, and is for
 * admins only.
 */
#include "test.h"
#include "api.h"
#include "audit.h"
#include "route.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

static unsigned get(const char *query, enum actor_role role, json_t **out)
{
	struct api api;
	struct api_request req = { .method = "GET", .path = "/v1/audit", .query = query,
				   .transport = API_TRANSPORT_UNIX };
	struct api_reply r;

	memset(&api, 0, sizeof(api));
	if (role != ROLE_ADMIN)
		req.transport = API_TRANSPORT_TCP;	/* no authenticate: nobody */
	CHECK_INT(api_handle(&api, &req, &r), 0);
	if (out)
		*out = r.body ? json_loads(r.body, 0, NULL) : NULL;
	api_reply_free(&r);
	return r.status;
}

static void test_lines_and_escaping(void)
{
	struct actor who = { .kind = ACTOR_USER, .role = ROLE_ADMIN, .name = "al\"ice\n",
			     .via = "web" };
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	json_t *j;

	audit_set_output(f);
	audit_log(AUDIT_LINK_CREATE, "phone", &who, true, NULL);
	audit_log(AUDIT_LINK_USE, "x\"}\n{\"event\":\"forged", NULL, false, "it \"failed\"\n");
	fflush(f);
	audit_set_output(fopen("/dev/null", "w"));
	fclose(f);
	/* two lines, each one JSON object */
	char *nl = strchr(buf, '\n');
	CHECK(nl != NULL);
	if (!nl)
		return;
	*nl = '\0';
	CHECK(strchr(nl + 1, '\n') == strrchr(nl + 1, '\n'));
	j = json_loads(buf, 0, NULL);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "event")), "link.create"));
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "actor")), "al\"ice\n"));
	CHECK(j && json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	*strchr(nl + 1, '\n') = '\0';
	j = json_loads(nl + 1, 0, NULL);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "event")), "link.use"));
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "actor")), "unknown"));
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "error")), "it \"failed\"\n"));
	json_decref(j);
}

static void test_ring_wraps(void)
{
	static struct audit_entry e[AUDIT_RECENT_MAX + 5];
	struct actor who = actor_system("test");
	char peer[32], longer[1000];

	audit_recent_clear();
	CHECK_INT(audit_recent(e, 10), 0);
	for (int i = 0; i < AUDIT_RECENT_MAX + 234; i++) {
		snprintf(peer, sizeof(peer), "p%d", i);
		audit_log(i % 2 ? AUDIT_PEER_ADD : AUDIT_PEER_REVOKE, peer, &who, i % 3 != 0,
			  i % 3 ? NULL : "no");
	}
	CHECK_INT(audit_recent(e, AUDIT_RECENT_MAX + 5), AUDIT_RECENT_MAX);
	/* newest first: p1233, p1232, ... p234 */
	for (int k = 0; k < AUDIT_RECENT_MAX; k++) {
		int i = AUDIT_RECENT_MAX + 233 - k;
		snprintf(peer, sizeof(peer), "p%d", i);
		CHECK(!strcmp(e[k].peer, peer));
		CHECK(!strcmp(e[k].event, i % 2 ? AUDIT_PEER_ADD : AUDIT_PEER_REVOKE));
		CHECK(e[k].ok == (i % 3 != 0));
		CHECK(!strcmp(e[k].error, i % 3 ? "" : "no"));
		CHECK(!strcmp(e[k].actor, "test") && !strcmp(e[k].via, "test"));
		CHECK(strlen(e[k].ts) == 20 && e[k].ts[19] == 'Z');
	}
	CHECK_INT(audit_recent(e, 3), 3);
	CHECK(!strcmp(e[0].peer, "p1233") && !strcmp(e[2].peer, "p1231"));
	/* A long error is cut to fit, NUL-terminated. */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	audit_log(AUDIT_PEER_ADD, NULL, NULL, false, longer);
	CHECK_INT(audit_recent(e, 1), 1);
	CHECK_INT(strlen(e[0].error), sizeof(e[0].error) - 1);
	CHECK(!strcmp(e[0].peer, "") && !strcmp(e[0].actor, "unknown"));
}

static void test_route(void)
{
	struct actor who = { .kind = ACTOR_TOKEN, .role = ROLE_ADMIN, .name = "ci", .via = "web" };
	json_t *j = NULL, *arr;
	char cut[300];

	audit_recent_clear();
	CHECK_INT(get(NULL, ROLE_ADMIN, &j), 200);
	CHECK(j && json_array_size(json_object_get(j, "entries")) == 0);
	json_decref(j);
	for (int i = 0; i < 300; i++)
		audit_log(AUDIT_PEER_ENABLE, i % 2 ? "phone" : NULL, &who, i != 299,
			  i == 299 ? "store full" : NULL);
	/* default 200, newest first, every field */
	CHECK_INT(get(NULL, ROLE_ADMIN, &j), 200);
	arr = json_object_get(j, "entries");
	CHECK_INT(json_array_size(arr), 200);
	json_t *e0 = json_array_get(arr, 0), *e1 = json_array_get(arr, 1);
	CHECK(e0 && json_is_false(json_object_get(e0, "ok")));
	CHECK(e0 && !strcmp(json_string_value(json_object_get(e0, "error")), "store full"));
	CHECK(e0 && !strcmp(json_string_value(json_object_get(e0, "peer")), "phone"));
	CHECK(e0 && !strcmp(json_string_value(json_object_get(e0, "actor")), "ci"));
	CHECK(e0 && !strcmp(json_string_value(json_object_get(e0, "via")), "web"));
	CHECK(e0 && !strcmp(json_string_value(json_object_get(e0, "event")), "peer.enable"));
	CHECK(e0 && json_is_string(json_object_get(e0, "ts")));
	CHECK(e1 && json_is_null(json_object_get(e1, "peer")));
	CHECK(e1 && json_is_null(json_object_get(e1, "error")) &&
	      json_is_true(json_object_get(e1, "ok")));
	json_decref(j);
	CHECK_INT(get("limit=7", ROLE_ADMIN, &j), 200);
	CHECK_INT(json_array_size(json_object_get(j, "entries")), 7);
	json_decref(j);
	CHECK_INT(get("limit=1000", ROLE_ADMIN, &j), 200);
	CHECK_INT(json_array_size(json_object_get(j, "entries")), 300);
	json_decref(j);
	static const char *const bad[] = { "limit=0", "limit=1001", "limit=-1", "limit=abc",
					   "limit=", "limit=1e3", "limit=99999999999999999999",
					   "limit= 5", "limit=+5", "other=1", "limit=5&x=1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = NULL;
		CHECK_INT(get(bad[i], ROLE_ADMIN, &j), 400);
		CHECK(j && json_is_string(json_object_get(j, "error")));
		json_decref(j);
	}
	/* nobody over TCP: 401 */
	CHECK_INT(get(NULL, ROLE_NONE, NULL), 401);
	/* A field cut inside a UTF-8 character still gives valid JSON. */
	memset(cut, 'a', sizeof(cut));
	for (size_t i = 1; i + 1 < sizeof(cut); i += 2)
		memcpy(cut + i, "\xc3\xa9", 2);	/* "é" at odd offsets */
	cut[sizeof(cut) - 1] = '\0';
	audit_log(AUDIT_PEER_ADD, NULL, &who, false, cut);
	CHECK_INT(get("limit=1", ROLE_ADMIN, &j), 200);
	e0 = json_array_get(json_object_get(j, "entries"), 0);
	CHECK(e0 && json_is_string(json_object_get(e0, "error")) &&
	      strlen(json_string_value(json_object_get(e0, "error"))) > 200);
	json_decref(j);
}

int main(void)
{
	audit_set_output(fopen("/dev/null", "w"));
	RUN(test_lines_and_escaping);
	RUN(test_ring_wraps);
	RUN(test_route);
	TEST_EXIT();
}

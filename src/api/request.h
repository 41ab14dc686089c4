/*
 * request.h - one request of the API as every handler sees it, whatever
 * carried it (the admin unix socket or the TCP listener, api_http.c; the
 * unit tests and the fuzz target build it by hand), and its reply.
 *
 * The request context holds what a handler may need to decide: the method
 * and path, the query, the headers (through an accessor, so that the
 * transport need not copy them), the body, the principal (struct actor,
 * actor.h), and where the request came from: the peer's SO_PEERCRED on
 * the unix socket, the remote address on TCP (the client's, as a trusted
 * proxy's X-Forwarded-For tells it: api_http.c).  The path parameters
 * (":name" in a route's pattern) are filled by the router (route.c).
 *
 * A reply's body may hold a private key: api_reply_free() wipes it.
 */
#ifndef ZWG_API_REQUEST_H
#define ZWG_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "actor.h"

enum api_transport {
	API_TRANSPORT_UNIX,	/* the admin socket: the principal is the peer's uid */
	API_TRANSPORT_TCP,	/* the web listener: the principal from authenticate */
};

#define API_MAX_PARAMS 2
#define API_PARAM_MAX 128	/* a parameter's value, with its NUL */

struct api_param {
	const char *name;		/* from the pattern, without ':' (static) */
	char value[API_PARAM_MAX];	/* percent-decoded, validated */
};

struct api_request {
	const char *method;		/* "GET", ... */
	const char *path;		/* percent-decoded, without the query */
	const char *query;		/* after '?', as sent; NULL if none */
	/* A header's value (name case-insensitive), NULL if absent.  NULL
	 * accessor: no headers. */
	const char *(*header)(const struct api_request *req, const char *name);
	void *header_ctx;		/* the transport's */
	const char *body;		/* may be NULL (len 0) */
	size_t len;

	enum api_transport transport;
	/* Unix: the peer's credentials (SO_PEERCRED). */
	bool has_cred;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* TCP: the client's address (after a trusted proxy's
	 * X-Forwarded-For), and whether the client's connection is TLS (a
	 * trusted proxy's X-Forwarded-Proto: https), for "Secure" cookies. */
	struct sockaddr_storage remote;
	socklen_t remote_len;		/* 0: unknown */
	bool secure;

	/* Set by api_handle (route.c): the principal, never NULL in a
	 * handler (kind ACTOR_NONE when not authenticated). */
	const struct actor *actor;
	/* Set by the router. */
	struct api_param params[API_MAX_PARAMS];
	size_t n_params;
};

/* The value of path parameter name ("name" for ":name"); NULL if none. */
const char *api_param(const struct api_request *req, const char *name);
/* The header, or NULL. */
const char *api_header(const struct api_request *req, const char *name);

#define API_REPLY_HEADERS 4
#define API_REPLY_HEADER_MAX 192

struct api_reply {
	unsigned status;
	char *body;			/* NUL-terminated; NULL for 204 */
	size_t len;
	const char *content_type;	/* a literal; NULL = application/json */
	char allow[64];			/* 405: the Allow header ("GET, POST") */
	bool www_authenticate;		/* 401: WWW-Authenticate: Bearer */
	/* More headers (Set-Cookie, ETag, Retry-After); one named like an
	 * api_security_headers entry replaces it (a page's CSP, its
	 * Cache-Control).  A value may hold a session id: api_reply_free()
	 * wipes them.  api_reply_header() adds one. */
	struct api_reply_header {
		const char *name;	/* a literal */
		char value[API_REPLY_HEADER_MAX];
	} headers[API_REPLY_HEADERS];
	size_t n_headers;
};

/* Adds header name (a literal) to r; false if r has no room or value
 * does not fit (the caller answers 500). */
bool api_reply_header(struct api_reply *r, const char *name, const char *value);

#endif

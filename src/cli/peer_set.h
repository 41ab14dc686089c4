/*
 * peer_set.h - `zerowg peer set` (peer_set.c), dispatched by peer.c.
 */
#ifndef ZWG_CLI_PEER_SET_H
#define ZWG_CLI_PEER_SET_H

#include <jansson.h>
#include <stdio.h>

/* argv starts at "set"; admin_socket NULL: the default (--admin-socket
 * wins).  The process exit status: 0, or 1 after one message. */
int peer_set_main(const char *admin_socket, int argc, char *argv[]);
/* The options peer add and peer set share, by getopt code: --expires
 * ('x': *expires_text, parsed by the caller), --dns ('d'), --allowed-ips
 * ('a'), --route ('r', appended to routes), --keepalive ('k'), into the
 * request body.  1 if c was one of them, 0 if not, -1 after a message. */
int peer_field_option(int c, const char *arg, json_t *body, json_t *routes,
		      const char **expires_text);
/* The "set" paragraph of `zerowg peer --help`. */
void peer_set_usage(FILE *f);

#endif

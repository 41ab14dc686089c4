/*
 * peer_set.h - `zerowg peer set` (peer_set.c), dispatched by peer.c.
 */
#ifndef ZWG_CLI_PEER_SET_H
#define ZWG_CLI_PEER_SET_H

#include <stdio.h>

/* argv starts at "set"; admin_socket NULL: the default (--admin-socket
 * wins).  The process exit status: 0, or 1 after one message. */
int peer_set_main(const char *admin_socket, int argc, char *argv[]);
/* The "set" paragraph of `zerowg peer --help`. */
void peer_set_usage(FILE *f);

#endif

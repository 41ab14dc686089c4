/*
 * envconf.h - the environment of a container deployment, as
 * linuxserver/wireguard reads it, mapped onto struct server_options (the
 * struct `zerowg up` flags fill, see control.h):
 *
 *   SERVERURL       endpoint host ("auto": not set, the server decides)
 *   SERVERPORT      endpoint port in client configs (the port the clients
 *                   reach; the listen port stays --port / 51820, as in
 *                   linuxserver where it is the docker host's port)
 *   PEERS           "3" -> peer1, peer2, peer3; or names "phone,laptop"
 *   PEERDNS         client DNS; "auto" = the server's tunnel address
 *   INTERNAL_SUBNET "10.13.13.0" (a /24, as linuxserver) or a CIDR
 *   ALLOWEDIPS      the AllowedIPs of client configs
 *   PERSISTENTKEEPALIVE_PEERS  "all" or names; numbers mean peerN
 *   SERVER_ALLOWEDIPS_PEER_<name>  routes behind that peer (site-to-site)
 *   LOG_CONFS       "true" (default) / "false": print the PEERS configs
 *                   and QR codes at start
 *
 * Variables that are set but empty count as unset.  An unknown value is
 * an error naming the variable and quoting the value.
 */
#ifndef ZWG_ENVCONF_H
#define ZWG_ENVCONF_H

#include "control.h"

/* Reads envp (NULL-terminated "NAME=value" strings; NULL = environ) into
 * o, which the caller initialised (flags already in o win over the
 * environment: an option already set is left alone).  0 or -EINVAL with e. */
int envconf_load(struct server_options *o, char *const *envp, struct control_error *e);

#endif

/*
 * firewall_routes.h - the per-client firewall's route (firewall_routes.c):
 * PUT /v1/peers/:name/firewall.  Private to src/api/ (route.c's table).
 */
#ifndef ZWG_API_FIREWALL_ROUTES_H
#define ZWG_API_FIREWALL_ROUTES_H

#include "api.h"
#include "request.h"

/*
 * PUT /v1/peers/:name/firewall {"allow": ["10.0.0.0/8", ...]} restricts the
 * peer to those destinations ([] : to nothing but the server's DNS relay);
 * {"allow": null} lifts the restriction.  Answers with the peer's view
 * (200); a bad rule is a 400 with field "allow" and the rule quoted.
 */
int api_set_peer_firewall(struct api *api, const struct api_request *req, struct api_reply *r);

#endif

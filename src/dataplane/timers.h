/*
 * timers.h - the per-peer timers of whitepaper section 6, driven by event
 * hooks named for what happened (as in the Linux driver's timers.c).
 */
#ifndef ZWG_TIMERS_H
#define ZWG_TIMERS_H

#include "peer.h"

void timers_init(struct peer *peer);
void timers_stop(struct peer *peer);

void timers_data_sent(struct peer *peer);
void timers_data_received(struct peer *peer);
void timers_any_authenticated_packet_sent(struct peer *peer);
void timers_any_authenticated_packet_received(struct peer *peer);
void timers_handshake_initiated(struct peer *peer);
void timers_handshake_complete(struct peer *peer);
void timers_session_derived(struct peer *peer);
void timers_any_authenticated_packet_traversal(struct peer *peer);

#endif

/*
 * listenfds.h - sockets handed over by systemd socket activation
 * (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; sd_listen_fds(3)), sorted by
 * what zerowg does with them, so that a user without root gets its UDP
 * port, its admin socket and its web port from the service manager.
 *
 * Each socket is classified by what it is, not by its name: systemd names
 * every socket after its .socket unit unless FileDescriptorName= says
 * otherwise.  The names zerowg knows ("udp", "admin", "http", "web") are
 * checked against the socket they label; any other name is ignored.
 */
#ifndef ZWG_LISTENFDS_H
#define ZWG_LISTENFDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* zerowg uses at most 4 sockets; a LISTEN_FDS above this is refused as a
 * broken environment before any fd is looked at. */
#define LISTEN_FDS_MAX 16

struct listen_fds {
	int udp4;		/* bound IPv4 UDP socket (ListenDatagram=), -1 = none */
	int udp6;		/* bound IPv6 UDP socket, -1 = none */
	bool udp6_dual;		/* udp6 is not V6ONLY and bound to [::]: it takes
				 * IPv4 too, as v4-mapped addresses.  Then udp4
				 * is -1, unless an IPv4 socket was passed as
				 * well (the kernel prefers that one for IPv4). */
	uint16_t udp_port;	/* the UDP sockets' port, 0 = none */
	int admin;		/* listening unix stream socket (the admin API), -1 = none */
	int http;		/* listening TCP socket (the web interface), -1 = none */
	int n;			/* how many sockets were passed */
};

/* Reads and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (on every
 * path, so that no child inherits them) and classifies the sockets:
 *   AF_INET/AF_INET6 SOCK_DGRAM UDP, bound     -> udp4 / udp6
 *   AF_UNIX SOCK_STREAM, listening             -> admin
 *   AF_INET/AF_INET6 SOCK_STREAM, listening    -> http
 * All fields -1/0 when nothing was passed (returns 0).  -EINVAL, with a
 * message in err naming the fd, what is wrong and how to fix the unit, for:
 * LISTEN_FDS not a number or above LISTEN_FDS_MAX, LISTEN_PID missing or
 * another process's, LISTEN_FDNAMES with the wrong count, an fd that is not
 * open or not a socket, a socket of another kind, two of a kind, UDP
 * sockets on different ports, a known name on the wrong kind of socket.
 * The fds stay open on failure (the caller exits).  -ENOMEM possible. */
int listen_fds_collect(struct listen_fds *lf, char *err, size_t errlen);

/* Closes every socket lf still holds and sets its field to -1. */
void listen_fds_close(struct listen_fds *lf);

#endif

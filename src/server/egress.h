/*
 * egress.h - the way out for the clients of a rootless server.
 *
 * Rootless, the tunnel interface lives in a user and network namespace of
 * the privileged part's own, which has no route anywhere.  As rootless
 * podman does, slirp4netns gives that namespace a tap0 with a default
 * route (10.0.2.100/24 via 10.0.2.2) whose traffic it carries through the
 * caller's network namespace as ordinary sockets of the user; the NAT of
 * the privileged part then masquerades the clients out of tap0.  The host's
 * loopback stays closed to them (--disable-host-loopback), and slirp4netns
 * runs under its own seccomp filter.
 *
 * Started before any key is loaded (it forks and execs), stopped by
 * closing its exit fd, so it also ends when the server dies.
 */
#ifndef ZWG_EGRESS_H
#define ZWG_EGRESS_H

#include <stddef.h>
#include <sys/types.h>

struct egress {
	pid_t pid;		/* slirp4netns, 0 = none */
	int exit_fd;		/* closing it ends slirp4netns */
};

/*
 * Starts slirp4netns for the network namespace of netns_pid (owned by that
 * process's user namespace) and waits until tap0 is configured (5 s at
 * most).  0, or -errno with a message: -ENOENT when slirp4netns is not
 * installed.
 */
int egress_start(struct egress *e, pid_t netns_pid, char *err, size_t errlen);
/* Ends slirp4netns and waits for it (bounded).  Safe on a zeroed one. */
void egress_stop(struct egress *e);

#endif

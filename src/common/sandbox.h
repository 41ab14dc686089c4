/*
 * sandbox.h - confining the process that parses the network and holds the
 * keys (`zerowg up`'s server proper, and zerowgd): become an unprivileged
 * user, shed every capability for good (no_new_privs, locked securebits,
 * empty bounding set), and install a seccomp allow-list on every thread.
 *
 * Order for a caller: finish everything that needs privilege (TUN, netlink,
 * files outside the store), then sandbox_drop_privileges(), then
 * sandbox_seccomp(), then log sandbox_status_format() of
 * sandbox_status_read(0).  Both steps are one-way.
 *
 * Relies on the kernel's capability v3 interface (capget/capset, no
 * libcap) and on libseccomp (>= 2.5).
 */
#ifndef ZWG_SANDBOX_H
#define ZWG_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The default user `zerowg up` drops to. */
#define SANDBOX_DEFAULT_USER "zerowg"

/* cap (CAP_NET_ADMIN, ...) is in this thread's effective set. */
bool sandbox_has_cap(int cap);

/* Who to become: a user name, or a numeric uid (its gid from the password
 * database, or the same number if it has no entry).  0 or -errno with a
 * message (-ENOENT: no such user). */
int sandbox_lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/*
 * Becomes uid/gid ((uid_t)-1 / (gid_t)-1: keep, the rootless case) and
 * clears every capability: ambient, bounding (while CAP_SETPCAP lasts),
 * inheritable, permitted, effective; with CAP_SETPCAP the securebits
 * NOROOT, NO_SETUID_FIXUP and KEEP_CAPS are locked too, so that uid 0
 * could never mean capabilities again.  Supplementary groups become [gid]
 * where we may (CAP_SETGID).  Then PR_SET_NO_NEW_PRIVS 1 and
 * PR_SET_DUMPABLE 0.  Reads everything back (capget, prctl, getres[ug]id)
 * and fails if anything is left.  Works as root and as an ordinary user
 * (who can only clear what it has: its bounding set stays, harmless under
 * no_new_privs).  0 or -errno with a message.
 */
int sandbox_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen);

enum sandbox_profile {
	SANDBOX_SERVER,	/* zerowg up: data plane, sealed store, admin API, DNS relay */
	SANDBOX_DAEMON,	/* zerowgd: data plane and UAPI socket, no file writes */
};

/*
 * Installs the profile's seccomp allow-list on every thread of the process
 * (TSYNC).  A system call not on the list fails with EPERM (a forgotten
 * one must not kill a server holding sessions); those only an attacker
 * wants (execve, ptrace, mount, setuid, bpf, ... see sandbox.c) kill the
 * whole process with SIGSYS, as does a system call of another ABI (i386,
 * x32).  In a sanitizer build, what ASan/LSan need is allowed and a log
 * line says so.  Sets no_new_privs if not yet set.  allow widens the
 * list by exactly what it names.  0 or -errno with a message.
 */
/* What one process may do beyond its profile; NULL or zeroed = nothing. */
struct sandbox_allow {
	/* The unseal key's copy in the kernel keyring, forgotten at a clean
	 * stop (store_key_keyring_forget): exactly keyctl(KEYCTL_INVALIDATE,
	 * key) and keyctl(KEYCTL_UNLINK, key, ring).  Those two with other
	 * arguments get EPERM; every other keyctl operation still kills. */
	int32_t key, ring;
};
int sandbox_seccomp(enum sandbox_profile profile, const struct sandbox_allow *allow, char *err,
		    size_t errlen);

/* The confinement of a process as /proc/PID/status shows it. */
struct sandbox_status {
	uint64_t cap_eff, cap_prm, cap_inh, cap_bnd, cap_amb;
	int no_new_privs;	/* 0 or 1 */
	int seccomp;		/* 0 none, 1 strict, 2 filter */
	uid_t uid;		/* effective */
	gid_t gid;		/* effective */
};

/* Parses /proc/PID/status (pid 0 = self).  0 or -errno (-EPROTO: a field
 * missing). */
int sandbox_status_read(pid_t pid, struct sandbox_status *st);

/* One line for the start-up log, e.g. "sandbox: user zerowg (uid 999),
 * no capabilities, no_new_privs, seccomp filter"; what is missing is named
 * ("capabilities 0x3000", "no seccomp"). */
void sandbox_status_format(const struct sandbox_status *st, char *buf, size_t len);

#endif

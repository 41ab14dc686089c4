/*
 * upexec.c - `zerowg up` in the slim zerowg: runs the server binary.
 *
 * The server needs libmicrohttpd, libnftables, libmnl and libsystemd (and
 * what they pull in); every other verb needs none of them, and loading
 * them cost each `zerowg peer add` about 3 ms of dynamic linking, a sixth
 * of its time.  So `zerowg` is built without the server, and its `up`
 * replaces itself (exec: same process, same pid for systemd, the same
 * descriptors for --key-fd, the same environment) with zerowg-server,
 * which is the whole program: the same verbs, `up` included.
 *
 * zerowg-server is looked for next to this binary (/proc/self/exe), then
 * in $PATH.  Test builds run zerowg-server-test (ZWG_TESTING).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef ZWG_TESTING
#define SERVER_BINARY "zerowg-server-test"
#else
#define SERVER_BINARY "zerowg-server"
#endif

int up_exec_main(int argc, char *argv[])
{
	char self[PATH_MAX], path[PATH_MAX + sizeof(SERVER_BINARY) + 1];
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int err;

	if (!args) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	/* argv starts at "up": the server's main dispatches on it too. */
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			slash[1] = '\0';
			snprintf(path, sizeof(path), "%s%s", self, SERVER_BINARY);
			args[0] = path;
			execv(path, args);
			if (errno != ENOENT) {
				err = errno;
				fprintf(stderr, "zerowg: cannot run %s: %s\n", path, strerror(err));
				free(args);
				return 1;
			}
		}
	}
	args[0] = SERVER_BINARY;
	execvp(SERVER_BINARY, args);
	err = errno;
	fprintf(stderr, "zerowg: cannot run the server: %s (%s is installed next to zerowg, "
		"or in $PATH)\n", strerror(err), SERVER_BINARY);
	free(args);
	return 1;
}

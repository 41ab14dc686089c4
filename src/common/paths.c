/*
 * paths.c - see paths.h.
 */
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char data_dir[PATH_MAX];
static char admin_socket[108];	/* sun_path */

static void compute(void)
{
	const char *xdg_data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	const char *xdg_run = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0) {
		snprintf(data_dir, sizeof(data_dir), "%s", PATHS_ROOT_DATA_DIR);
		snprintf(admin_socket, sizeof(admin_socket), "%s", PATHS_ROOT_ADMIN_SOCKET);
		return;
	}
	if (xdg_data && xdg_data[0] == '/')
		snprintf(data_dir, sizeof(data_dir), "%s/zerowg", xdg_data);
	else if (home && home[0] == '/')
		snprintf(data_dir, sizeof(data_dir), "%s/.local/share/zerowg", home);
	else
		snprintf(data_dir, sizeof(data_dir), "%s", PATHS_ROOT_DATA_DIR);
	if (xdg_run && xdg_run[0] == '/')
		snprintf(admin_socket, sizeof(admin_socket), "%s/zerowg/admin.sock", xdg_run);
	else
		snprintf(admin_socket, sizeof(admin_socket), "/run/user/%u/zerowg/admin.sock",
			 (unsigned)geteuid());
}

const char *paths_data_dir(void)
{
	pthread_once(&once, compute);
	return data_dir;
}

const char *paths_admin_socket(void)
{
	pthread_once(&once, compute);
	return admin_socket;
}

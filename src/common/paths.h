/*
 * paths.h - where zerowg keeps things by default, for root and for an
 * ordinary user (rootless), so that the server and the CLI agree without
 * flags.
 *
 *                 root                     a user
 *   store         /var/lib/zerowg          $XDG_DATA_HOME/zerowg (~/.local/share/zerowg)
 *   admin socket  /run/zerowg/admin.sock   $XDG_RUNTIME_DIR/zerowg/admin.sock
 *                                          (/run/user/UID/zerowg/admin.sock)
 *
 * The answers are computed once, from the effective uid and the
 * environment at the first call.
 */
#ifndef ZWG_PATHS_H
#define ZWG_PATHS_H

#define PATHS_ROOT_DATA_DIR "/var/lib/zerowg"
#define PATHS_ROOT_ADMIN_SOCKET "/run/zerowg/admin.sock"

const char *paths_data_dir(void);
const char *paths_admin_socket(void);

#endif

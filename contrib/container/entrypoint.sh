#!/bin/sh
# zerowg-entrypoint - the container's entry point (Containerfile): checks
# what the server needs from the container engine, creates the sealed
# store on the first start, then replaces itself with `zerowg up`.
#
# The unseal key, in this order (docs/container.md):
#   1. $ZEROWG_UNSEAL_KEY_FILE: a file holding it (a mounted secret);
#   2. the secret zerowg-unseal-key, which podman and docker mount at
#      /run/secrets/zerowg-unseal-key (a tmpfs, not the volume): read by
#      the server itself as a systemd-style credential
#      (CREDENTIALS_DIRECTORY=/run/secrets, src/store/store_key.c);
#   3. the terminal (podman run -it): a new store's key is shown there
#      once, and `zerowg up` asks for it.
# Without a tty the key is never printed: the container log is a file on
# disk.  A new store without a secret and without a terminal is refused,
# and nothing is created.
#
# This script never reads the key: it passes the file to zerowg (--key-fd
# on the first start, CREDENTIALS_DIRECTORY after).  Arguments go to
# `zerowg up` (e.g. --endpoint vpn.example.com); so do linuxserver's
# variables (SERVERURL, PEERS, ...), which `zerowg up` reads itself.
set -eu

ZWG=/usr/local/bin/zerowg
DATA=${ZEROWG_DATA:-/var/lib/zerowg}
SECRET_NAME=zerowg-unseal-key

die() {
	printf 'zerowg-entrypoint: %s\n' "$*" >&2
	exit 1
}

# ---- what the engine must give: /dev/net/tun and CAP_NET_ADMIN
if [ ! -c /dev/net/tun ]; then
	die "/dev/net/tun is missing in this container, so the server cannot create its" \
	    "WireGuard interface. Start it with --device /dev/net/tun (compose:" \
	    "devices: [/dev/net/tun]; quadlet: AddDevice=/dev/net/tun). Nothing was changed" \
	    "in $DATA."
fi
capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
if [ "$(id -u)" -eq 0 ] && [ -n "$capeff" ] && [ $(((0x$capeff >> 12) & 1)) -eq 0 ]; then
	die "the container lacks CAP_NET_ADMIN, which the server needs for its interface," \
	    "routes and NAT. Start it with --cap-add NET_ADMIN (compose: cap_add: [NET_ADMIN];" \
	    "quadlet: AddCapability=NET_ADMIN). Nothing was changed in $DATA."
fi

# ---- where the unseal key is
keyfile=""
if [ -n "${ZEROWG_UNSEAL_KEY_FILE:-}" ]; then
	keyfile=$ZEROWG_UNSEAL_KEY_FILE
	[ -r "$keyfile" ] || die "ZEROWG_UNSEAL_KEY_FILE=\"$keyfile\" is not a readable file" \
	    "(mount the secret there, or unset the variable to use /run/secrets/$SECRET_NAME)"
elif [ -n "${CREDENTIALS_DIRECTORY:-}" ] && [ -e "$CREDENTIALS_DIRECTORY/$SECRET_NAME" ]; then
	keyfile=$CREDENTIALS_DIRECTORY/$SECRET_NAME
elif [ -e "/run/secrets/$SECRET_NAME" ]; then
	keyfile=/run/secrets/$SECRET_NAME
fi
if [ -n "$keyfile" ]; then
	CREDENTIALS_DIRECTORY=$(dirname "$keyfile")
	export CREDENTIALS_DIRECTORY
	set -- --credential "$(basename "$keyfile")" "$@"
fi
interactive=""
[ -t 0 ] && [ -t 1 ] && interactive=1

# ---- the first start: a new store
if [ -z "$(ls -A "$DATA" 2>/dev/null)" ]; then
	if [ -n "$keyfile" ]; then
		echo "zerowg-entrypoint: no store in $DATA yet: creating one, sealed with the key" \
		     "from $keyfile"
		"$ZWG" init --data "$DATA" --key-fd 3 3<"$keyfile" ||
			die "zerowg init failed (above); $DATA is as it was"
	elif [ -n "$interactive" ]; then
		echo "zerowg-entrypoint: no store in $DATA yet: creating one. Its unseal key is" \
		     "shown below, once, on this terminal only; the server asks for it next."
		"$ZWG" init --data "$DATA" || die "zerowg init failed (above)"
		echo "For unattended restarts, give the container the key as a file at" \
		     "/run/secrets/$SECRET_NAME (from a tmpfs, or a secret): docs/container.md"
	else
		die "no store in $DATA and no unseal key to seal a new one with. Make a key" \
		    "(head -c 32 /dev/urandom | base64 >\$XDG_RUNTIME_DIR/$SECRET_NAME, and keep a" \
		    "copy in a password manager) and give it to the container as" \
		    "/run/secrets/$SECRET_NAME (-v \$XDG_RUNTIME_DIR/$SECRET_NAME:/run/secrets/$SECRET_NAME:ro," \
		    "or --secret $SECRET_NAME; docs/container.md), or start it once with -it to" \
		    "see a new key on your terminal. The key is never written to the log." \
		    "Nothing was created."
	fi
elif [ -z "$keyfile" ] && [ -z "$interactive" ]; then
	die "the store in $DATA is sealed and there is no unseal key: give the container" \
	    "the key \`zerowg init\` showed as /run/secrets/$SECRET_NAME (-v" \
	    "\$XDG_RUNTIME_DIR/$SECRET_NAME:/run/secrets/$SECRET_NAME:ro, or --secret" \
	    "$SECRET_NAME; docs/container.md), or start it with -it to type it. The store is unchanged."
fi

if [ -z "${SERVERURL:-}" ]; then
	case " $* " in
	*" --endpoint"*) ;;
	*) echo "zerowg-entrypoint: SERVERURL is not set: client configs name the endpoint the" \
		"store has (set SERVERURL=vpn.example.com, or --endpoint, to change it)" ;;
	esac
fi
exec "$ZWG" up --data "$DATA" "$@"

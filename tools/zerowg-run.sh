#!/bin/sh
# tools/zerowg-run.sh - what `./dev run` starts: the zerowg server on its
# embedded defaults (interface zwg0, UDP port 51820, subnet 10.13.13.0/24
# and a ULA /64 made at init), in the foreground until Ctrl-C.
#
# First run (no store in $ZEROWG_DATA, default /var/lib/zerowg):
#   zerowg init --data DIR --keyring   creates the sealed store, shows its
#                                      unseal key once, and keeps it in the
#                                      kernel keyring for the first start
# then, every run:
#   exec zerowg up --data DIR          finds the key in the keyring (or asks
#                                      for it on the terminal: after a clean
#                                      stop, which removes it, or a reboot)
#
# With no SERVERURL, the new store's endpoint is this machine's address on
# its default route, so the first QR code works on the local network; set
# SERVERURL=vpn.example.com (and the rest of the linuxserver/wireguard
# variables: PEERS, PEERDNS, ...) to choose.  `zerowg up` reads them itself.
#
# Needs root (or CAP_NET_ADMIN) for the TUN device and its addresses.  The
# unseal key goes from zerowg to the keyring and the terminal only: never
# into a file, and this script never sees it.
set -eu

O=${O:-build}
ZWG=${ZEROWG:-$O/zerowg}
case $ZWG in /*) ;; *) ZWG=$(pwd)/$ZWG ;; esac
DATA=${ZEROWG_DATA:-/var/lib/zerowg}
export PATH="$PATH:/usr/sbin:/sbin"

if [ -t 1 ]; then
	B=$(printf '\033[1m') N=$(printf '\033[0m')
else
	B="" N=""
fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$N"; }
die() { printf 'zerowg-run: %s\n' "$*" >&2; exit 1; }

[ -x "$ZWG" ] || die "$ZWG is not built: run make (or ./dev run)"
[ "$(id -u)" -eq 0 ] || die "run as root: the server creates the TUN interface zwg0"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing (in a container: --device /dev/net/tun)"

# This machine's address towards the default route (a route lookup: no
# packet is sent), for the endpoint of the first client configs.
local_address() {
	ip -4 route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1
}

# A store is a non-empty directory; `zerowg up` judges the rest (and says
# what is wrong if it is not a store).
if [ -d "$DATA" ] && [ -n "$(ls -A "$DATA" 2>/dev/null)" ]; then
	say "Using the store in $DATA"
else
	mkdir -p "$(dirname "$DATA")"
	endpoint=""
	if [ -z "${SERVERURL:-}" ]; then
		addr=$(local_address)
		[ -n "$addr" ] && endpoint="--endpoint $addr:${SERVERPORT:-51820}"
	fi
	say "No store yet: creating one in $DATA"
	# shellcheck disable=SC2086
	"$ZWG" init --data "$DATA" --keyring $endpoint
	echo
fi

cat <<EOF
${B}==> Starting the server${N} (interface zwg0, UDP port 51820, 10.13.13.0/24).
    In another terminal, as root:
      $ZWG peer add phone      # a client config and a QR code to scan
      $ZWG peer list           # who is there, online, and their traffic
      $ZWG peer disable phone  # shut it out (enable lets it back)
      $ZWG peer revoke phone   # delete it: its key is dead
    Stop the server with Ctrl-C; the store keeps the keys and peers.

EOF
exec "$ZWG" up --data "$DATA"

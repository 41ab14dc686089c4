#!/bin/sh
# zerodisk_test.sh - no key reaches the disk.  A whole server lifecycle
# (init, up, peer add with and without --keep-key, show-peer, rotate,
# revoke, import of a wg-quick config, export, restart) runs with every key
# that exists only in this shell's memory: the unseal key goes to zerowg
# through a pipe, the client configs and the imported config are shell
# variables, never files.  Then every private key, preshared key and the
# unseal key that existed is searched for on the filesystem in base64, in
# hex (either case) and as raw bytes:
#   - everything under the data dir, $W (the server's log), /tmp, /run,
#     /var/tmp, /dev/shm, /etc, /var/lib, /var/log and /home;
#   - every file modified since the test began anywhere on the local
#     filesystems (find -xdev on / and on the mounts above): a key made
#     during the test can only be in one of those.  /proc, /sys and /dev are
#     not files; other mounts (bind-mounted trees) are not local.
# The search proves itself first: canary files holding a throwaway key in
# each form must be found.
T=zerodisk
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg base64 od grep find xargs "$ZWG" "$ZWGD"
MARK=$W/start.mark
: >"$MARK"
sleep 1		# mtimes after this are "newer" even on coarse clocks
hosts s

KEYS=""
addkey() { [ -n "$1" ] && KEYS="$KEYS$1
"; }
# keys_of TEXT: every key in a config or CLI output.
keys_of() {
	printf '%s\n' "$1" | sed -n 's/^ *\(PrivateKey\|PresharedKey\) *= *\([A-Za-z0-9+/]\{43\}=\).*/\2/p'
}
addkeys() {
	local k
	for k in $(keys_of "$1"); do addkey "$k"; done
}

# --- the lifecycle ---
check "init: a sealed store is created (unseal key through a pipe)" srv_init --subnet "$SUBNET4"
addkey "$UNSEAL"
check "up: the server starts" srv_start || finish
OUT=$(zcli peer add p1 2>&1)
check "peer add p1 (key not kept): a config is printed" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$OUT"
addkeys "$OUT"
OUT=$(zcli peer add p2 --keep-key 2>&1)
check "peer add p2 --keep-key: a config is printed" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$OUT"
addkeys "$OUT"
OUT=$(zcli peer add p3 --route 192.168.33.0/24 2>&1)
addkeys "$OUT"
OUT=$(zcli show-peer p2 2>&1)
check "show-peer p2: the kept config is shown again" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$OUT"
addkeys "$OUT"
OUT=$(zcli peer rotate p1 2>&1)
check "peer rotate p1: a new config is printed" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$OUT"
addkeys "$OUT"
check "peer revoke p3" zcli peer revoke p3

# The server's own key, before the import replaces it.
OUT=$(printf '%s\n' "$UNSEAL" | "$ZWG" export --data "$W/data" --key-fd 0 2>&1)
check "export: the server config goes to stdout" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$OUT"
addkeys "$OUT"

# A wg-quick server config made in memory, imported from stdin.
IK=$(wg genkey); addkey "$IK"
C1=$(wg genkey); addkey "$C1"
C2=$(wg genkey); addkey "$C2"
PSK1=$(wg genpsk); addkey "$PSK1"
NET=${SUBNET4%.0/*}
IMPORT="[Interface]
PrivateKey = $IK
ListenPort = $SPORT
Address = $NET.1/24

# Name = imported-one
[Peer]
PublicKey = $(printf '%s' "$C1" | wg pubkey)
PresharedKey = $PSK1
AllowedIPs = $NET.50/32

[Peer]
PublicKey = $(printf '%s' "$C2" | wg pubkey)
AllowedIPs = $NET.51/32"
import_it() {
	printf '%s\n' "$UNSEAL" | {
		exec 3<&0
		printf '%s\n' "$IMPORT" | "$ZWG" import --data "$W/data" --key-fd 3 \
			--admin-socket "$ADMIN" -
	}
}
check "import: a wg-quick config from stdin moves into the store" import_it
check "import: the running server took the imported key" \
	wait_for 5 sh -c "[ \"\$(ip netns exec '$(H s)' wg show '$(sif)' public-key)\" = '$(printf '%s' "$IK" | wg pubkey)' ]"
check "import: the imported peers are on the data plane" \
	sh -c "ip netns exec '$(H s)' wg show '$(sif)' allowed-ips | grep -q '$NET.50/32'"
OUT=$(printf '%s\n' "$UNSEAL" | "$ZWG" export --data "$W/data" --key-fd 0 2>&1)
addkeys "$OUT"

srv_stop TERM
check "restart: the server starts again" srv_start || finish
check "restart: it kept the imported identity" \
	sh -c "[ \"\$(ip netns exec '$(H s)' wg show '$(sif)' public-key)\" = '$(printf '%s' "$IK" | wg pubkey)' ]"
OUT=$(zcli peer add p4 2>&1)
addkeys "$OUT"
srv_stop TERM
check "lifecycle: the server exited cleanly" sh -c "[ \"\$(cat '$W/server.status')\" = 0 ]"

NKEYS=$(printf '%s' "$KEYS" | grep -c .)
check "lifecycle: at least 14 distinct keys were collected" \
	sh -c "[ \$(printf '%s' \"\$1\" | sort -u | grep -c .) -ge 14 ]" sh "$KEYS"

# --- the search ---

# patterns: every key of $KEYS in base64, hex and raw (the longest run
# without NUL or newline, as grep patterns are lines; 12 bytes at least).
patterns() {
	local k
	for k in $KEYS; do
		printf '%s\n' "$k"
		printf '%s' "$k" | base64 -d | od -An -v -tx1 | tr -d ' \n'
		echo
		printf '%s' "$k" | base64 -d | tr '\000' '\n' |
			LC_ALL=C awk 'length($0) > length(best) { best = $0 } END { if (length(best) >= 12) print best }'
	done
}

# Canaries: a throwaway key, one file per form, to prove the search.
CANARY=$(wg genkey)
mkdir -p "$W/canary"
printf 'x%sy\n' "$CANARY" >"$W/canary/b64"
printf 'x%sy\n' "$(printf '%s' "$CANARY" | base64 -d | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)" >"$W/canary/hex"
printf '%s' "$CANARY" | base64 -d >"$W/canary/raw"

# search KEYLIST: prints every file holding one of the keys.
search() {
	local pats dirs d
	pats=$(KEYS=$1; patterns | LC_ALL=C grep -av "^$")
	dirs="$W/data $W /tmp /run /var/tmp /dev/shm /etc /var/lib /var/log /home"
	for d in $dirs; do
		[ -e "$d" ] || continue
		printf '%s\n' "$pats" | LC_ALL=C grep -rlsaiF -f - "$d"
	done
	# Files changed since the test began, on / and on each mount above.
	for d in / $dirs; do
		[ -d "$d" ] || continue
		find "$d" -xdev -type f -newer "$MARK" -print0 2>/dev/null
	done | ZWT_PATS=$pats xargs -0 -r -n 200 sh -c \
		'printf "%s\n" "$ZWT_PATS" | LC_ALL=C grep -lsaiF -f - "$@"' sh
}

found_canaries() {
	local out
	out=$(search "$CANARY" | sort -u)
	echo "found: $out"
	printf '%s\n' "$out" | grep -qx "$W/canary/b64" &&
	printf '%s\n' "$out" | grep -qx "$W/canary/hex" &&
	printf '%s\n' "$out" | grep -qx "$W/canary/raw"
}
check "the search finds a key in base64, in hex and raw (canaries)" found_canaries
rm -rf "$W/canary"

no_key_on_disk() {
	local out
	out=$(search "$KEYS" | sort -u)
	if [ -n "$out" ]; then
		echo "files holding a key:"
		printf '%s\n' "$out"
		return 1
	fi
	echo "searched for $NKEYS keys in 3 forms: none found"
}
check "no private, preshared or unseal key on disk in any form ($NKEYS keys)" no_key_on_disk
check "the store's files are there (the search looked at something)" \
	sh -c "[ \$(find '$W/data' -type f | wc -l) -ge 5 ]"
finish

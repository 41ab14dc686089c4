#!/bin/sh
# keyring_test.sh - the unseal key's copy in the kernel keyring lives only
# as long as it is needed (issue 12 §2; src/store/store_key.c
# store_key_keyring_hold/forget, src/server/server.c, the keyctl rule of
# src/common/sandbox.c).
#
# `zerowg init --keyring` leaves the key in root's user keyring for this
# boot; `zerowg up`, started as root, finds it there, drops to the user
# zerowg under its seccomp filter, and at a clean stop (SIGTERM) takes the
# key out of the kernel: the next start has no key.  A crash (kill -9)
# leaves it, so a restart works.  --keep-keyring-key leaves it.  A key an
# operator put there by hand (keyctl padd, default permissions) goes too.
#
# Every key of this run has the description zwg:kt-<pid> (--keyring-key),
# so no other key of the machine is read or touched; the EXIT trap removes
# it on every exit path.
T=keyring
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg keyctl "$ZWG"
DESC="zwg:kt-$ID"

keyring_cleanup() {
	local id
	id=$(keyctl search @u user "$DESC" 2>/dev/null) && keyctl invalidate "$id" 2>/dev/null
	id=$(keyctl search @s user "$DESC" 2>/dev/null) && keyctl invalidate "$id" 2>/dev/null
	lib_cleanup
}
trap keyring_cleanup EXIT

hosts s

# in_keyring: root's user keyring holds our key.  not_in_keyring: it does
# not, and /proc/keys lists no key of that name at all (in no keyring).
in_keyring() { keyctl search @u user "$DESC" >/dev/null 2>&1; }
not_in_keyring() {
	! keyctl search @u user "$DESC" >/dev/null 2>&1 &&
		! keyctl search @s user "$DESC" >/dev/null 2>&1 &&
		! grep -qF " $DESC: " /proc/keys
}
log_has() { grep -qF "$1" "$W/server.log"; }
stopped_with() { [ "$(cat "$W/server.status" 2>/dev/null)" = "$1" ]; }
# keyring_start: up with the key from the keyring alone (no --key-fd, no
# terminal, no credential).
keyring_start() {
	SRV_KEY_FD=none srv_start --keyring-key "$DESC" "$@"
}
# start_without_key: up must fail, saying it has no key.
start_without_key() {
	local out rc
	out=$(ip netns exec "$(H s)" env -u CREDENTIALS_DIRECTORY "$ZWG" up --data "$W/data" \
		--keyring-key "$DESC" --admin-socket "$W/other.sock" --interface "$(sif)" \
		--port "$SPORT" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q "no unseal key" &&
		printf '%s\n' "$out" | grep -qF "kernel keyring \"$DESC\" (not found)"
}

# ------------------------------------------------- 1. init --keyring, up --
check "init --keyring --keyring-key $DESC: a sealed store" \
	srv_init --subnet "$SUBNET4" --keyring --keyring-key "$DESC" || finish
check "init: the key is in root's user keyring as $DESC" in_keyring
check "init: the keyring key is read-only (1b1b0000: view, read, search, link), as for the default name" \
	sh -c "keyctl rdescribe \$(keyctl search @u user '$DESC') | grep -q '^user;0;0;1b1b0000;$DESC\$'"
check "up: starts with the key from the kernel keyring alone" keyring_start || finish
check "up: the log says where the key came from" log_has "unsealed with the key from kernel keyring"
check "up: the server runs as the user zerowg, under its seccomp filter" \
	log_has "sandbox: user zerowg"
check "up: the key is still in the keyring while the server runs" in_keyring

# --------------------------------------------------- 2. a clean stop -----
srv_stop TERM
check "SIGTERM: the server stops cleanly (exit status 0, no SIGSYS)" stopped_with 0
check "SIGTERM: the key is out of the kernel keyring (and of /proc/keys)" not_in_keyring
check "SIGTERM: the log says so and how to give the key again" \
	log_has "the unseal key is no longer in the kernel keyring"
check "the next start has no key and says so (exit 1)" start_without_key

# ------------------------- 3. a crash keeps it; by hand it goes as well --
# As an operator would: keyctl padd with its default permissions (the
# possessor may do anything with it).
check "keyctl padd: the key put back by hand" \
	sh -c "printf '%s' '$UNSEAL' | keyctl padd user '$DESC' @u >/dev/null"
: >"$W/server.log"
check "up: starts with the hand-put key" keyring_start
srv_stop KILL
check "kill -9: the key stays in the keyring, for the restart" in_keyring
check_not "kill -9: nothing says it was removed" log_has "no longer in the kernel keyring"
check "up after the crash: starts with the same key" keyring_start
srv_stop TERM
check "SIGTERM: exit status 0" stopped_with 0
check "SIGTERM: the hand-put key is gone too" not_in_keyring

# ------------------------------------------- 4. --keep-keyring-key -------
check "keyctl padd: the key put back" \
	sh -c "printf '%s' '$UNSEAL' | keyctl padd user '$DESC' @u >/dev/null"
: >"$W/server.log"
check "up --keep-keyring-key: starts" keyring_start --keep-keyring-key
srv_stop TERM
check "--keep-keyring-key, SIGTERM: exit status 0" stopped_with 0
check "--keep-keyring-key: the key stays in the keyring" in_keyring
check_not "--keep-keyring-key: nothing says it was removed" \
	log_has "no longer in the kernel keyring"
check "--keep-keyring-key: a restart finds it" keyring_start
srv_stop TERM
check "and without the flag the next clean stop removes it" not_in_keyring

# ------------------------------------------------ 5. bad names -----------
# bad_name NAME: refused before anything is opened, quoting it.
bad_name() {
	local out
	out=$("$ZWG" up --data "$W/data" --keyring-key "$1" </dev/null 2>&1)
	[ $? -eq 1 ] && printf '%s\n' "$out" | grep -qF -- "--keyring-key \"$1\" is not a key name"
}
for n in "a;b" "two words" "" "$(printf 'x%.0s' $(seq 65))"; do
	check "--keyring-key \"$(printf '%.12s' "$n")...\": refused, quoting it" bad_name "$n"
done

finish

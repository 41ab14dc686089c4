#!/bin/sh
# tamper_test.sh - the server fails closed on a tampered store, and audits
# per peer what a reload brings in (issue 12 §1; src/store/store_sealed.c,
# control_reload).
#
# A peer is revoked, then its old record file is put back into the data
# directory, as someone with write access to it (or a restore of one file
# from a backup) would: POST /v1/reload and SIGHUP are refused, the server
# keeps serving what it had (the peer stays revoked, the others stay), and
# the audit log's server.reload line names the record; a restart refuses
# to start, with the same words.  With the file gone again, the server
# starts.  Then another process (`zerowg import`, which writes the store
# directly and asks the server to reload) adds a peer: the audit log has a
# peer.add line for it, via "reload".  And with an epoch file outside the
# data directory (ZEROWG_STORE_EPOCH_FILE), a whole data directory put
# back from an older copy is refused at start.
T=tamper
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg curl "$ZWG"
hosts s

# api_post PATH: POST to the admin API; prints the body, then the status.
api_post() {
	curl -sS --max-time 10 -X POST -w '\n%{http_code}\n' --unix-socket "$ADMIN" "http://zerowg$1"
}

# audit_line EVENT PEER VIA: the audit log has that event for that peer,
# made via VIA (whoever the actor was).
audit_line() {
	grep -F "\"event\":\"$1\",\"peer\":\"$2\"," "$W/server.log" | grep -qF "\"via\":\"$3\""
}

# record_files DIR: the record files of a sealed store (64 hex digits).
record_files() { ls "$1" | grep -E '^[0-9a-f]{64}$' | sort; }

check "init: a sealed store" srv_init --subnet "$SUBNET4"
check "up: the server starts" srv_start || finish
check "up: the start-up lines give the store's generation" \
	grep -qE "store .*: generation [0-9]+, [0-9]+ records, bound by its manifest" "$W/server.log"
CONF_PHONE=$(peer_add phone)
CONF_LAPTOP=$(peer_add laptop)
PUB_PHONE=$(conf_pub "$CONF_PHONE")
PUB_LAPTOP=$(conf_pub "$CONF_LAPTOP")
check "setup: both peers are in the data plane" sh -c "
	ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_PHONE' &&
	ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_LAPTOP'"

# ------------------------------------------ a revoked peer put back --

mkdir "$W/before"
cp -p "$W/data"/* "$W/before/"
record_files "$W/data" >"$W/files.before"
check "revoke phone" zcli peer revoke phone
record_files "$W/data" >"$W/files.after"
PHONE_FILE=$(comm -23 "$W/files.before" "$W/files.after")
check "revoke: exactly one record file went (phone's)" \
	sh -c "[ -n '$PHONE_FILE' ] && [ \$(printf '%s\n' '$PHONE_FILE' | wc -l) = 1 ]"
check "revoke: phone left the data plane" srv_lacks "$PUB_PHONE"
cp -p "$W/before/$PHONE_FILE" "$W/data/$PHONE_FILE"

api_post /v1/reload >"$W/reload.out" 2>&1
check "reload with phone's old file back: refused (not 2xx)" \
	sh -c "cat '$W/reload.out'; ! tail -n 1 '$W/reload.out' | grep -q '^2'"
check "reload: the answer names the record and says what is wrong" \
	sh -c "grep -qF 'record \\\"peers/phone\\\"' '$W/reload.out' || grep -qF 'peers/phone' '$W/reload.out';
	       grep -qF 'not in the manifest' '$W/reload.out'"
check "reload: audited as a failed server.reload naming the record" \
	sh -c "grep -F '\"event\":\"server.reload\"' '$W/server.log' | grep -F '\"ok\":false' |
	       grep -F 'peers/phone' | grep -qF 'not in the manifest'"
check_not "reload: no peer.add for phone" audit_line peer.add phone reload
check "reload: phone stays revoked in the data plane" srv_lacks "$PUB_PHONE"
check "reload: phone is not listed" sh -c "! zcli peer list | grep -q '^phone '"
check "reload: laptop is still served" srv_has "$PUB_LAPTOP"
check "reload: the server keeps running" sh -c "kill -0 $(srv_pid)"

N=$(grep -cF '"event":"server.reload"' "$W/server.log")
kill -HUP "$(srv_pid)"
check "SIGHUP: refused as well, with an audit line" wait_for 5 sh -c "
	[ \$(grep -cF '\"event\":\"server.reload\"' '$W/server.log') -gt $N ] &&
	grep -F '\"event\":\"server.reload\"' '$W/server.log' | tail -n 1 | grep -F '\"ok\":false' |
	grep -qF 'peers/phone'"
check "SIGHUP: the server keeps running, phone still revoked" \
	sh -c "kill -0 $(srv_pid) && ! ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_PHONE'"

srv_stop
check "restart with the file still there: refuses to start, naming the record" \
	up_fails "not in the manifest" --data "$W/data"
check "restart: the message names peers/phone" grep -qF 'peers/phone' "$W/fail.out"

# ------------------------------------------------------ a rolled back record
rm -f "$W/data/$PHONE_FILE"
check "up: with the file removed the server starts again" srv_start || finish
check "up: phone is still revoked" sh -c "! zcli peer list | grep -q '^phone '"
check "disable laptop" zcli peer disable laptop
# The record file that changed is laptop's; its old copy (enabled) put back:
LAPTOP_FILE=$(for f in $(record_files "$W/data"); do
	[ -e "$W/before/$f" ] && ! cmp -s "$W/before/$f" "$W/data/$f" && echo "$f"; done | head -n 1)
if [ -n "$LAPTOP_FILE" ]; then
	cp -p "$W/before/$LAPTOP_FILE" "$W/data/$LAPTOP_FILE"
	api_post /v1/reload >"$W/reload2.out" 2>&1
	check "reload with laptop's old (enabled) file back: refused as rolled back" \
		sh -c "cat '$W/reload2.out'; grep -qF 'is older than the manifest says' '$W/reload2.out'"
	check "reload: laptop stays disabled" srv_lacks "$PUB_LAPTOP"
	srv_stop
	check "restart: refuses, the record is older than the manifest says" \
		up_fails "older than the manifest says" --data "$W/data"
else
	fail "could not find laptop's record file"
	srv_stop
fi

# ------------------------------------------- per-peer audit on a reload --
# A fresh store: the import below writes it from another process.
rm -rf "$W/data" "$W/before"
: >"$W/server.log"
check "init: a second store" srv_init --subnet "$SUBNET4"
check "up: the server starts" srv_start || finish
peer_add tablet >/dev/null
printf '%s\n' "$UNSEAL" | "$ZWG" export --data "$W/data" --key-fd 0 | cat >"$W/wg0.conf"
NEWPUB=$(wg genkey | wg pubkey)
printf '\n# printer\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n' "$NEWPUB" \
	"${SUBNET4%.0/*}.77" >>"$W/wg0.conf"
check "import (another process) adds a peer and asks the server to reload" sh -c "
	printf '%s\n' '$UNSEAL' | '$ZWG' import --data '$W/data' --key-fd 0 --admin-socket '$ADMIN' \
		'$W/wg0.conf' >'$W/import.out' 2>&1 || { cat '$W/import.out'; exit 1; }"
check "reload: peer.add for printer, via reload" audit_line peer.add printer reload
check "reload: no peer line for tablet (unchanged)" \
	sh -c "! grep -F '\"via\":\"reload\"' '$W/server.log' | grep -qF '\"peer\":\"tablet\"'"
check "reload: the new peer is in the data plane" srv_has "$NEWPUB"
rm -f "$W/wg0.conf"
srv_stop

# -------------------------------------------- whole-store rollback, epoch --
rm -rf "$W/data"
EPOCH="$W/epoch/store.epoch"
mkdir -p "$W/epoch"
export ZEROWG_STORE_EPOCH_FILE="$EPOCH"
check "init: a store with an epoch file outside it" srv_init --subnet "$SUBNET4"
check "up: the server starts with the epoch file" srv_start || finish
mkdir "$W/backup"
cp -p "$W/data"/* "$W/backup/"
peer_add watch >/dev/null
check "revoke watch" zcli peer revoke watch
check "the epoch file follows the writes" sh -c "[ -s '$EPOCH' ]"
srv_stop
unset ZEROWG_STORE_EPOCH_FILE
rm -rf "$W/data"
mkdir -m 700 "$W/data"
cp -p "$W/backup"/* "$W/data/"
check "a whole data directory put back: refused at start, naming the epoch file" sh -c "
	printf '%s\n' '$UNSEAL' | ip netns exec '$(H s)' env ZEROWG_STORE_EPOCH_FILE='$EPOCH' \
		timeout 10 '$ZWG' up --data '$W/data' --key-fd 0 --admin-socket '$ADMIN' \
		--interface '$(sif)' --port $SPORT >'$W/fail.out' 2>&1
	st=\$?; cat '$W/fail.out'; [ \$st = 1 ] && grep -qF 'rolled back' '$W/fail.out' &&
	grep -qF '$EPOCH' '$W/fail.out'"
finish

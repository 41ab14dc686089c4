#!/bin/sh
# links_test.sh - one-time links end to end (docs/web.md, "One-time links"),
# with the server in its own network namespace:
#   - `zerowg peer link NAME --ttl 10m` prints a URL on the server's web
#     address (http://ENDPOINT-HOST:51821/l/TOKEN; 22 base64url characters);
#     it refuses when stdout is a file, and makes nothing then;
#   - GET /v1/links/TOKEN over TCP, without credentials, gives the client
#     config (with its private key: the peer's kept one) and an SVG QR code,
#     with Cache-Control: no-store; the second fetch is 410; an unknown
#     token is 404;
#   - the sealed store holds one more record while the link lives and none
#     after it was used (the data directory's file count is back);
#   - rotating the peer kills its link (410), and its record is gone;
#   - a peer whose key was not kept gets no link (a message, exit 1);
#   - the audit log has link.create (uid 0, via cli) and link.use (via
#     web), and no token anywhere in the server's log;
#   - `peer add NAME --link TTL` and `peer rotate NAME --link TTL` print a
#     link after the config, for a key that was NOT kept, and it opens that
#     config; they refuse a file as stdout and a bad TTL before any change,
#     and --link is refused by the other subcommands;
#   - `up --web-url URL` refuses a URL that is not http(s), and a server
#     started with it names that base in the CLI's links.
T=links
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need curl "$ZWG" "$ZWGD"
hosts s

check "init: a sealed store" srv_init --subnet "$SUBNET4"
check "up: the server starts with the web listener on its defaults" srv_start || finish

records() { find "$W/data" -type f | wc -l; }
# fetch TOKEN: GET /v1/links/TOKEN from loopback in s; headers + body.
fetch() { X s curl -sS -i --max-time 30 "http://127.0.0.1:51821/v1/links/$1"; }
status_of() { printf '%s' "$1" | head -n 1 | awk '{ print $2 }'; }

CONF=$(peer_add phone --keep-key)
check "cli: a peer with a kept key" sh -c "[ -n '$(conf_key "$CONF" PrivateKey)' ]"
peer_add laptop >/dev/null
base=$(records)

check "cli: peer link refuses a file as stdout" sh -c "! '$ZWG' peer link phone \
	--admin-socket '$ADMIN' >'$W/link.file' 2>'$W/link.err'"
check "cli: ... says why, and made no link" sh -c "[ ! -s '$W/link.file' ] &&
	grep -q 'private key' '$W/link.err' && [ \$(find '$W/data' -type f | wc -l) -eq $base ]"

URL=$(zcli peer link phone --ttl 10m 2>"$W/link.err")
TOKEN=${URL##*/l/}
echo "url: ${URL%/l/*}/l/<token>"
check "cli: peer link prints a URL on the server's web address" \
	sh -c "printf '%s' '$URL' | grep -qE '^http://$(u4 s):51821/l/[A-Za-z0-9_-]{22}\$'"
check "cli: ... and says when it expires (stderr)" grep -q 'once, until' "$W/link.err"
check "store: one more record while the link lives" sh -c "[ \$(find '$W/data' -type f |
	wc -l) -eq $((base + 1)) ]"

out=$(fetch "$TOKEN")
printf '%s\n' "$out" | tr -d '\r' >"$W/fetch1.txt"
check "tcp: the link opens without credentials (200)" sh -c "[ '$(status_of "$out")' = 200 ]"
check "tcp: ... with the client config and its kept private key" \
	grep -qF "$(conf_key "$CONF" PrivateKey)" "$W/fetch1.txt"
check "tcp: ... an SVG QR code and the peer's name" \
	sh -c "grep -q '\"qr_svg\":\"<' '$W/fetch1.txt' && grep -q '\"name\":\"phone\"' '$W/fetch1.txt'"
check "tcp: ... and Cache-Control: no-store" grep -qx 'Cache-Control: no-store' "$W/fetch1.txt"
out2=$(fetch "$TOKEN")
check "tcp: the second fetch is 410" sh -c "[ '$(status_of "$out2")' = 410 ]"
check "tcp: ... without the config" sh -c "! printf '%s' '$out2' | grep -q PrivateKey"
check "store: no link record after use" sh -c "[ \$(find '$W/data' -type f | wc -l) -eq $base ]"
check "tcp: an unknown token is 404" \
	sh -c "[ '$(status_of "$(fetch AAAAAAAAAAAAAAAAAAAAAA)")' = 404 ]"

URL2=$(zcli peer link phone 2>/dev/null)
T2=${URL2##*/l/}
check "rotate: a second link" sh -c "[ \$(find '$W/data' -type f | wc -l) -eq $((base + 1)) ]"
zcli peer rotate phone --keep-key --no-qr >/dev/null 2>&1
check "rotate: the link is dead (410)" sh -c "[ '$(status_of "$(fetch "$T2")")' = 410 ]"
check "rotate: ... and its record gone" sh -c "[ \$(find '$W/data' -type f | wc -l) -eq $base ]"

out=$(zcli peer link laptop 2>"$W/laptop.err")
rc=$?
check "cli: no link for a peer whose key was not kept" sh -c "[ $rc -ne 0 ] && [ -z '$out' ]"
check "cli: ... with a message that says why" grep -q 'not kept' "$W/laptop.err"

check "audit: link.create names the local uid, via cli" \
	audit_has '"event":"link.create","peer":"phone","actor":"uid 0","via":"cli","ok":true'
check "audit: link.use, via web" audit_has '"event":"link.use","peer":"phone"'
check "audit: the refused second use" audit_has '"event":"link.use","actor":"one-time link","via":"web","ok":false'
check "log: no token in the server's log" sh -c "! grep -qF '$TOKEN' '$W/server.log' &&
	! grep -qF '$T2' '$W/server.log'"

# --link on add and rotate: the link is made with the key, which is not kept.
# token_of FILE: the token of the link line in a CLI output.
token_of() { sed -n 's#^http://[^ ]*/l/\([A-Za-z0-9_-]\{22\}\)$#\1#p' "$1"; }
# gone NAME: the server has no such peer.
gone() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$ADMIN" \
		"http://zerowg/v1/peers/$1")" = 404 ]
}
check "cli: peer add --link refuses a file as stdout, and adds nothing" sh -c "! '$ZWG' peer add \
	tablet --link 1h --admin-socket '$ADMIN' >'$W/add.file' 2>/dev/null && [ ! -s '$W/add.file' ]"
check "cli: ... (no peer tablet)" gone tablet
zcli peer add tablet --link 9y 2>"$W/bad.err" | cat >/dev/null
check "cli: peer add --link 9y is refused with the lifetime's message" grep -q 'lifetime "9y"' "$W/bad.err"
check "cli: ... and adds nothing" gone tablet
zcli peer list --link 1h >/dev/null 2>"$W/list.err"
rc=$?
check "cli: --link is refused by peer list, with a pointer to add and rotate" \
	sh -c "[ $rc -ne 0 ] && grep -q 'add and peer rotate' '$W/list.err'"
# (through a pipe: a key may go there, not to a file)
zcli peer add tablet --no-qr --link 30m 2>"$W/tablet.err" | cat >"$W/tablet.out"
T3=$(token_of "$W/tablet.out")
KEY3=$(conf_key "$(cat "$W/tablet.out")" PrivateKey)
check "cli: peer add --link prints the config, then the link on its own line" sh -c \
	"grep -q 'BEGIN CLIENT CONFIG' '$W/tablet.out' && [ -n '$T3' ] && [ -n '$KEY3' ] &&
	grep -q 'works once, until' '$W/tablet.out'"
api /v1/peers/tablet >"$W/tablet.json"
check "cli: ... for a peer whose key is not kept" grep -q '"key_kept":false' "$W/tablet.json"
fetch "$T3" | tr -d '\r' >"$W/fetch3.txt"
check "tcp: the add link opens that config (its private key)" grep -qF "$KEY3" "$W/fetch3.txt"
zcli peer rotate tablet --no-qr --link 15m 2>"$W/rot.err" | cat >"$W/rot.out"
T4=$(token_of "$W/rot.out")
KEY4=$(conf_key "$(cat "$W/rot.out")" PrivateKey)
check "cli: peer rotate --link prints the new config and a link" sh -c \
	"[ -n '$T4' ] && [ -n '$KEY4' ] && [ '$KEY4' != '$KEY3' ]"
fetch "$T4" | tr -d '\r' >"$W/fetch4.txt"
check "tcp: the rotation's link opens the new config" grep -qF "$KEY4" "$W/fetch4.txt"
check "log: no --link token in the server's log" sh -c "! grep -qF '$T3' '$W/server.log' &&
	! grep -qF '$T4' '$W/server.log'"

# --web-url: checked by the CLI; the base of the links the CLI makes.
"$ZWG" up --web-url ftp://vpn.example.test >/dev/null 2>"$W/weburl.err"
rc=$?
check "up: --web-url ftp://... is refused with a message" \
	sh -c "[ $rc -ne 0 ] && grep -q 'does not start with https://' '$W/weburl.err'"
srv_stop
check "up: restarts with --web-url https://vpn.example.test:8443/" \
	srv_start --web-url https://vpn.example.test:8443/ || finish
URL5=$(zcli peer link phone 2>/dev/null)
check "cli: peer link names the --web-url base" sh -c \
	"printf '%s' '$URL5' | grep -qE '^https://vpn.example.test:8443/l/[A-Za-z0-9_-]{22}\$'"
srv_stop
finish

#!/bin/sh
# web_test.sh - the API's TCP listener end to end (docs/web.md), with the
# server in its own network namespace:
#   - by default it listens on 127.0.0.1, ::1 and the tunnel's own
#     addresses, port 51821: over TCP every /v1 route answers 401 with
#     WWW-Authenticate: Bearer and a JSON error, from loopback and from a
#     client through the tunnel;
#   - every answer, on both transports, carries the security headers
#     (CSP, nosniff, no referrer, no-store);
#   - the CLI on the admin unix socket works as before (peer add, list,
#     disable), and the audit log names the local uid and "via":"cli";
#   - /metrics from loopback: Prometheus text that promtool accepts, with
#     the peer's wireguard_*_bytes_total; from the tunnel address: 401;
#   - a client trickling its request a byte a second is cut off at the
#     request bound (3 s here: ZWG_TEST_API_REQUEST_LIMIT_SEC) although it
#     is never idle; and with 64 of them on the admin socket, `zerowg peer
#     disable` still answers within 2 s (issue 12);
#   - accounts over TCP (issue 11): a user made with `zerowg user add`
#     (the running server reloads) signs in: a zwg_session cookie
#     (HttpOnly, SameSite=Strict); with it /v1/peers is 200, without 401;
#     a change with the cookie and a foreign Origin (or none) is 403, with
#     the page's own Origin it goes through; an API token made in the UI
#     (POST /v1/tokens) and one made by `zerowg token add` both work as
#     "Authorization: Bearer", need no Origin, and stop at revocation;
#     logout ends the session; the UI's pages come with their own CSP;
#   - --web ADDR:PORT moves the listener, --web none has none, a bad
#     --web is refused with a message.
T=web
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick curl python3 promtool "$ZWG" "$ZWGD"
# The trickling clients run here, outside the namespaces: end them too.
trap 'for f in "$W"/trickle.*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
      lib_cleanup' EXIT
hosts s a
SRV_ENV="ZWG_TEST_API_REQUEST_LIMIT_SEC=3"

check "init: a sealed store" srv_init --subnet "$SUBNET4"
check "up: the server starts with the web listener on its defaults" srv_start || finish
check "up: it says where the web API listens" \
	grep -q "web API on 127.0.0.1, \[::1\], $SRV4, \[" "$W/server.log"

# scurl HOST ARGS...: curl in HOST, headers and body on stdout.
scurl() { local h; h=$1; shift; X "$h" curl -sS -i --max-time 5 "$@"; }

out=$(scurl s "http://127.0.0.1:51821/v1/peers")
check "tcp: GET /v1/peers without credentials is 401 with WWW-Authenticate: Bearer" \
	sh -c "printf '%s' '$out' | head -n 1 | grep -q ' 401' &&
	       printf '%s' '$out' | grep -qi '^WWW-Authenticate: Bearer' &&
	       printf '%s' '$out' | grep -q '\"error\":'"
out6=$(scurl s "http://[::1]:51821/v1/server")
check "tcp: ::1 answers too (401)" sh -c "printf '%s' '$out6' | head -n 1 | grep -q ' 401'"

# has_headers TEXT: every security header is in TEXT.
has_headers() {
	printf '%s' "$1" | tr -d '\r' >"$W/h.txt"
	grep -qx "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'" "$W/h.txt" &&
		grep -qx 'X-Content-Type-Options: nosniff' "$W/h.txt" &&
		grep -qx 'Referrer-Policy: no-referrer' "$W/h.txt" &&
		grep -qx 'Cache-Control: no-store' "$W/h.txt"
}
check "tcp: the security headers are on the 401" has_headers "$out"
unix_out=$(curl -sS -i --max-time 5 --unix-socket "$ADMIN" http://zerowg/v1/server)
check "unix: the security headers are on the admin socket's answers" has_headers "$unix_out"
check "unix: the admin socket needs no credentials (200)" \
	sh -c "printf '%s' '$unix_out' | head -n 1 | grep -q ' 200'"

CONF_A=$(peer_add alice --allowed-ips "$SUBNET4")
PUB_A=$(conf_pub "$CONF_A")
check "cli: peer add works over the unix socket as before" sh -c "[ -n '$PUB_A' ]"
check "cli: peer list shows it" sh -c "'$ZWG' peer list --admin-socket '$ADMIN' | grep -q alice"
check "audit: the change names the local uid and via cli" \
	audit_has '"event":"peer.add","peer":"alice","actor":"uid 0","via":"cli","ok":true'
check "audit: the environment's changes say env" sh -c "! grep -F '\"event\":' '$W/server.log' |
	grep -F '\"via\":\"api\"'"

check "client a comes up" client_up a "$CONF_A" "$ZWGD" || finish
check "a reaches the server" ping_ok a "$SRV4"
tunnel_out=$(scurl a "http://$SRV4:51821/v1/server")
check "tcp: the tunnel address answers a client (401 without credentials)" \
	sh -c "printf '%s' '$tunnel_out' | head -n 1 | grep -q ' 401'"
X a ping -q -c 5 -i 0.2 "$SRV4" >/dev/null 2>&1
# Statistics are sampled every 10 s; the API refreshes them per request.
metrics=$(X s curl -sS --max-time 5 "http://127.0.0.1:51821/metrics")
printf '%s\n' "$metrics" >"$W/metrics.txt"
check "metrics: from loopback, without credentials" \
	grep -q '^# TYPE wireguard_sent_bytes_total counter' "$W/metrics.txt"
check "metrics: promtool check metrics accepts it" sh -c "promtool check metrics <'$W/metrics.txt'"
check "metrics: the peer's byte counters, with interface, public_key and name labels" \
	grep -qF "wireguard_received_bytes_total{interface=\"$(sif)\",public_key=\"$PUB_A\",name=\"alice\"}" \
	"$W/metrics.txt"
check "metrics: peers configured/enabled, drops by reason, latency histograms" \
	sh -c "grep -qx 'zerowg_peers_configured 1' '$W/metrics.txt' &&
	       grep -qx 'zerowg_peers_enabled 1' '$W/metrics.txt' &&
	       grep -q '^zerowg_drops_total{reason=\"rx_decrypt\"} ' '$W/metrics.txt' &&
	       grep -q '^zerowg_api_request_duration_seconds_bucket{le=\"+Inf\"} ' '$W/metrics.txt'"
check "metrics: no key but public ones" sh -c "! grep -qiE 'private|preshared' '$W/metrics.txt'"
mout=$(scurl a "http://$SRV4:51821/metrics")
check "metrics: from a tunnel client (not --metrics-allow): 401" \
	sh -c "printf '%s' '$mout' | head -n 1 | grep -q ' 401'"

# ------------------------------------------------------------ accounts --
WEB=http://127.0.0.1:51821
WPW="correct horse battery $$"
# webc NAME ARGS...: curl in the server's namespace; the answer (headers,
# CRs removed, then the body) in $W/NAME.
webc() { local n; n=$1; shift; X s curl -sS -i --max-time 10 "$@" | tr -d '\r' >"$W/$n"; }
# is NAME CODE: the answer's status is CODE.
is() { head -n 1 "$W/$1" | grep -q " $2"; }
# hdr NAME REGEX: a header line of the answer matches.
hdr() { sed '/^$/q' "$W/$1" | grep -q -- "$2"; }
# bodyof NAME: the answer's body.
bodyof() { sed '1,/^$/d' "$W/$1"; }
O_OK="Origin: $WEB"
JSON="Content-Type: application/json"

user_add() {
	printf '%s\n' "$WPW" | { exec 4<&0; printf '%s\n' "$UNSEAL" | { exec 3<&0; exec 0<&4
		"$ZWG" user add webadmin --role admin --data "$W/data" --key-fd 3 \
			--admin-socket "$ADMIN"; }; }
}
check "accounts: zerowg user add (password on stdin) while the server runs" user_add
LOGIN_BODY="{\"user\":\"webadmin\",\"password\":\"$WPW\"}"
webc login -H "$O_OK" -H "$JSON" -d "$LOGIN_BODY" "$WEB/v1/login"
COOKIE=$(sed -n 's/^Set-Cookie: zwg_session=\([A-Za-z0-9_-]*\);.*/\1/p' "$W/login")
check "accounts: POST /v1/login: 200 and zwg_session (HttpOnly, SameSite=Strict, Path=/)" \
	sh -c "head -n 1 '$W/login' | grep -q ' 200' && [ \$(printf %s '$COOKIE' | wc -c) -eq 43 ] &&
	       grep -q '^Set-Cookie: zwg_session=.*; Path=/; HttpOnly; SameSite=Strict$' '$W/login'"
check "accounts: the login answer names the user and role" \
	sh -c "sed '1,/^\$/d' '$W/login' | grep -q '\"user\":\"webadmin\",\"role\":\"admin\"'"
webc badlogin -H "$O_OK" -H "$JSON" -d '{"user":"webadmin","password":"wrong password!"}' \
	"$WEB/v1/login"
check "accounts: a wrong password is 401" is badlogin 401
check_not "accounts: ... with no cookie" hdr badlogin '^Set-Cookie'
webc csrflogin -H "$JSON" -d "$LOGIN_BODY" "$WEB/v1/login"
check "accounts: a sign-in without the page's Origin is 403 (CSRF)" is csrflogin 403
webc r1 -b "zwg_session=$COOKIE" "$WEB/v1/peers"
check "accounts: GET /v1/peers with the cookie: 200" is r1 200
webc r2 "$WEB/v1/peers"
check "accounts: GET /v1/peers without it: 401" is r2 401
webc r3 -X POST -b "zwg_session=$COOKIE" -H 'Origin: http://evil.example' "$WEB/v1/peers/alice/enable"
check "accounts: cookie + a foreign Origin: a change is 403" is r3 403
webc r4 -X POST -b "zwg_session=$COOKIE" "$WEB/v1/peers/alice/enable"
check "accounts: cookie without Origin: a change is 403" is r4 403
webc r5 -X POST -b "zwg_session=$COOKIE" -H "$O_OK" "$WEB/v1/peers/alice/enable"
check "accounts: cookie + the page's Origin: the change goes through (200)" is r5 200
webc tok -b "zwg_session=$COOKIE" -H "$O_OK" -H "$JSON" -d '{"name":"ci","role":"admin"}' \
	"$WEB/v1/tokens"
TOKEN=$(bodyof tok | sed -n 's/.*"token":"\(zwg_[A-Za-z0-9_-]*\)".*/\1/p')
check "accounts: POST /v1/tokens: 201, the token once" sh -c "head -n 1 '$W/tok' | grep -q ' 201' &&
	[ -n '$TOKEN' ]"
check "accounts: ... with Cache-Control: no-store" hdr tok '^Cache-Control: no-store$'
webc r6 -H "Authorization: Bearer $TOKEN" "$WEB/v1/peers"
check "accounts: the bearer token reads (200)" is r6 200
webc r7 -X POST -H "Authorization: Bearer $TOKEN" "$WEB/v1/peers/alice/enable"
check "accounts: the bearer token changes without an Origin (200)" is r7 200
webc r8 -H 'Authorization: Bearer zwg_nope' "$WEB/v1/peers"
check "accounts: a wrong bearer token is 401" is r8 401
check_not "accounts: the token never reaches the log" grep -qF "$TOKEN" "$W/server.log"
check "audit: the token's creation names the web user" \
	audit_has '"event":"token.add","peer":"ci","actor":"webadmin","via":"web","ok":true'
check "audit: the sign-in" audit_has '"event":"session.login","peer":"webadmin","actor":"webadmin"'
webc r9 -X DELETE -b "zwg_session=$COOKIE" -H "$O_OK" "$WEB/v1/tokens/ci"
check "accounts: DELETE /v1/tokens/ci: 204" is r9 204
webc r10 -H "Authorization: Bearer $TOKEN" "$WEB/v1/peers"
check "accounts: ... then the token is 401" is r10 401
CLI_TOKEN=$(printf '%s\n' "$UNSEAL" | "$ZWG" token add cli-made --role viewer --data "$W/data" \
	--key-fd 0 --admin-socket "$ADMIN" 2>"$W/tokenadd.err" | grep -o 'zwg_[A-Za-z0-9_-]*' | head -n 1)
webc r11 -H "Authorization: Bearer ${CLI_TOKEN:-none}" "$WEB/v1/server"
check "accounts: a token from \`zerowg token add\` works at once (the server reloads)" is r11 200
webc r12 -X POST -H "Authorization: Bearer ${CLI_TOKEN:-none}" "$WEB/v1/peers/alice/enable"
check "accounts: ... it is a viewer: a change is 403" is r12 403
webc ui "$WEB/"
check "ui: GET / is the page (200, text/html)" sh -c "head -n 1 '$W/ui' | grep -q ' 200' &&
	grep -q '^Content-Type: text/html' '$W/ui'"
check "ui: ... with the UI's own CSP" hdr ui "^Content-Security-Policy: default-src 'self'"
check "ui: ... and an ETag, revalidated (no-cache)" sh -c "grep -q '^ETag: \"' '$W/ui' &&
	grep -qx 'Cache-Control: no-cache' '$W/ui'"
ETAG=$(sed -n 's/^ETag: //p' "$W/ui")
webc ui304 -H "If-None-Match: $ETAG" "$WEB/"
check "ui: If-None-Match with the ETag: 304" is ui304 304
webc r13 -X POST -b "zwg_session=$COOKIE" -H "$O_OK" "$WEB/v1/logout"
check "accounts: logout: 204" is r13 204
webc r14 -b "zwg_session=$COOKIE" "$WEB/v1/peers"
check "accounts: ... and the session is over (401)" is r14 401

# trickle ADDR PORT|PATH SECONDS: connects, sends a request a byte per
# second, prints after how many seconds the server hung up ("never").
cat >"$W/trickle.py" <<'PY'
import socket, sys, time
target, limit = sys.argv[1], float(sys.argv[2])
if target.startswith("/"):
    s = socket.socket(socket.AF_UNIX); s.connect(target)
else:
    host, port = target.rsplit(":", 1); s = socket.create_connection((host, int(port)))
s.settimeout(1.0)
req = b"GET /v1/server HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
t0 = time.time()
for i in range(int(limit)):
    try:
        s.send(req[i:i + 1] if i < len(req) else b"a")
        if s.recv(1, socket.MSG_DONTWAIT) == b"":
            break
    except (BlockingIOError, socket.timeout):
        pass	# nothing from the server yet
    except OSError:
        break
    time.sleep(1)
else:
    print("never"); sys.exit(0)
print(int(time.time() - t0))
PY
cut=$(X s python3 "$W/trickle.py" 127.0.0.1:51821 15)
check "slow: a TCP client trickling a byte a second is cut off at the bound (3 s)" \
	sh -c "echo 'cut after: $cut s'; [ '$cut' != never ] && [ '$cut' -ge 2 ] && [ '$cut' -le 6 ]"
i=0
while [ $i -lt 64 ]; do
	python3 "$W/trickle.py" "$ADMIN" 15 >"$W/trickle_out.$i" 2>&1 &
	echo $! >"$W/trickle.$i.pid"
	i=$((i + 1))
done
sleep 1
t0=$(date +%s%N)
check "slow: with 64 trickling clients on the admin socket, peer disable answers" \
	timeout 10 "$ZWG" peer disable alice --admin-socket "$ADMIN"
t1=$(date +%s%N)
check "slow: ... within 2 s" sh -c "echo \"$(( (t1 - t0) / 1000000 )) ms\"; [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]"
wait_for 10 sh -c "for f in '$W'/trickle.*.pid; do kill -0 \$(cat \$f) 2>/dev/null && exit 1; done; exit 0"
check "slow: every trickling admin client was cut off at the bound (2 to 6 s)" \
	sh -c "cat '$W'/trickle_out.* | sort | uniq -c; for f in '$W'/trickle_out.*; do
	       case \$(cat \$f) in [2-6]) ;; *) exit 1 ;; esac; done"

srv_stop
check "--web ADDR:PORT: the listener moves" srv_start --web 127.0.0.1:51899 || finish
check "--web ADDR:PORT: the new port answers, 51821 does not" \
	sh -c "ip netns exec '$(H s)' curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	       http://127.0.0.1:51899/v1/server | grep -qx 401 &&
	       ! ip netns exec '$(H s)' curl -s --max-time 5 http://127.0.0.1:51821/v1/server"
srv_stop
check "--web none: no TCP listener" srv_start --web none || finish
check "--web none: 51821 is closed; the CLI still works" \
	sh -c "! ip netns exec '$(H s)' curl -s --max-time 5 http://127.0.0.1:51821/v1/server &&
	       '$ZWG' peer list --admin-socket '$ADMIN' | grep -q alice"
srv_stop
printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" "$ZWG" up --data "$W/data" --key-fd 0 \
	--admin-socket "$ADMIN" --web 'localhost:80' >"$W/badweb.out" 2>&1
check "--web: a bad address is refused, quoting it" \
	grep -q 'web listener "localhost:80" is not ADDRESS\[:PORT\]' "$W/badweb.out"
finish

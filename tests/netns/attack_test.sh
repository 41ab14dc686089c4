#!/bin/sh
# attack_test.sh - issue 11 §6, "attacks tried, each refused and logged":
# a real `zerowg up` in its own namespace with its web listener on
# 127.0.0.1:51821, attacked with curl and python from the same namespace.
# Each attack comes from its own loopback address (127.0.0.N), so that the
# login throttle of one does not spill into the next, and so that each
# audit line can be checked for the right source:
#   - no session; an expired session (ZWG_TEST_SESSION_IDLE_S=4); a wrong
#     TOTP code; a replayed one; a cross-origin POST with a valid cookie;
#     brute force (20 wrong passwords: 429 with Retry-After, and then the
#     right password is refused too); a viewer's writes; a revoked token;
#     path traversal on /assets (dots, %2e, %2f, double encoding, NUL,
#     backslashes): 404 and no file content; a 70 KiB body: 413; a client
#     trickling its headers: cut off at the bound (3 s here) while `zerowg
#     peer disable` on the admin socket answers within 2 s; X-Forwarded-For
#     counts only from --trusted-proxy;
#   - each refusal has its audit line: the event, the actor (or
#     "anonymous"), the source address, the method and path (a link's
#     token masked), the reason; a flood of 300 refusals writes at most a
#     burst of lines and then one "suppressed N" line;
#   - no secret anywhere it must not be: every private key, PSK, the unseal
#     key, API tokens, session ids, link tokens, TOTP secret, recovery codes
#     and passwords of the run (as sent, in hex, in base64) are searched for
#     in the server's stderr (audit included), in every error answer, and in
#     every URL used (link tokens excepted there: a link is a URL); an
#     answer that carries one has Cache-Control: no-store.
T=attack
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need curl python3 "$ZWG" "$ZWGD"
trap 'for f in "$W"/trickle.*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
      lib_cleanup' EXIT
hosts s
export ZWG_TEST_ARGON2_KIB=1024	# test builds only: cheap hashes
SRV_ENV="ZWG_TEST_API_REQUEST_LIMIT_SEC=3 ZWG_TEST_SESSION_IDLE_S=4"
WEB=http://127.0.0.1:51821
O_OK="Origin: $WEB"
JSON="Content-Type: application/json"
R=$W/resp
mkdir -p "$R"
: >"$W/urls.txt"
: >"$W/secrets.txt"
: >"$W/linktokens.txt"

# secret VALUE: remember a secret of the run (searched for at the end).
secret() { [ -n "$1" ] && printf '%s\n' "$1" >>"$W/secrets.txt"; }
# web NAME SRC ARGS...: curl from 127.0.0.SRC; the answer (headers without
# CRs, then the body) in $R/NAME; the URL in urls.txt.
web() {
	local n s a
	n=$1 s=$2; shift 2
	for a in "$@"; do
		case $a in http://*) printf '%s\n' "$a" >>"$W/urls.txt" ;; esac
	done
	X s curl -sS -i --max-time 10 --path-as-is --interface "127.0.0.$s" "$@" 2>"$R/$n.err" |
		tr -d '\r' >"$R/$n"
}
# is NAME CODE: the answer's status.
is() { head -n 1 "$R/$1" | grep -q "^HTTP/1.1 $2"; }
hdr() { sed '/^$/q' "$R/$1" | grep -qi -- "$2"; }
bodyof() { sed '1,/^$/d' "$R/$1"; }
cookie_of() { sed -n 's/^Set-Cookie: zwg_session=\([A-Za-z0-9_-]*\);.*/\1/p' "$R/$1"; }
# audit EVENT TEXT...: a line of the server's log has "event":"EVENT" and
# every TEXT.
audit() {
	local ev
	ev=$1; shift
	grep -F "\"event\":\"$ev\"" "$W/server.log" >"$W/audit.sel" || { echo "no $ev line"; return 1; }
	for t in "$@"; do
		grep -F -- "$t" "$W/audit.sel" >"$W/audit.sel2" ||
			{ echo "no $ev line with: $t"; tail -n 5 "$W/audit.sel"; return 1; }
		mv "$W/audit.sel2" "$W/audit.sel"
	done
	head -n 1 "$W/audit.sel"
}
# login NAME SRC USER PASSWORD [CODE]: POST /v1/login (from the page's
# origin); the session id is remembered as a secret.
login() {
	local body
	if [ -n "${5:-}" ]; then
		body="{\"user\":\"$3\",\"password\":\"$4\",\"code\":\"$5\"}"
	else
		body="{\"user\":\"$3\",\"password\":\"$4\"}"
	fi
	web "$1" "$2" -H "$O_OK" -H "$JSON" -d "$body" "$WEB/v1/login"
	secret "$(cookie_of "$1")"
}
# user_add NAME ROLE PASSWORD: `zerowg user add` (password on stdin, the
# unseal key on fd 3) while the server runs (it re-reads the store).
user_add() {
	printf '%s\n' "$3" | "$ZWG" user add "$1" --role "$2" --data "$W/data" --key-fd 3 \
		--admin-socket "$ADMIN" 3<<KEY >>"$W/users.out" 2>&1
$UNSEAL
KEY
}
# totp SECRET OFFSET: the code of the step now + OFFSET.
totp() {
	python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, struct, sys, time
s = sys.argv[1]
key = base64.b32decode(s.upper() + "=" * (-len(s) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + int(sys.argv[2])), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}

check "init: a sealed store" srv_init --subnet "$SUBNET4" || finish
secret "$UNSEAL"
check "up: the server starts (web on 127.0.0.1:51821, 127.0.0.5 a trusted proxy)" \
	srv_start --web 127.0.0.1:51821 --trusted-proxy 127.0.0.5 || finish
CONF_A=$(peer_add alice --allowed-ips "$SUBNET4")
secret "$(conf_key "$CONF_A" PrivateKey)"
secret "$(conf_key "$CONF_A" PresharedKey)"
check "setup: a peer" sh -c "[ -n '$(conf_key "$CONF_A" PrivateKey)' ]"

PW_BOSS="boss pass $(head -c 9 /dev/urandom | base64)"
PW_VIC="viewer pass $(head -c 9 /dev/urandom | base64)"
PW_TGT="target pass $(head -c 9 /dev/urandom | base64)"
for p in "$PW_BOSS" "$PW_VIC" "$PW_TGT"; do secret "$p"; done
three_users() {
	user_add boss admin "$PW_BOSS" && user_add vic viewer "$PW_VIC" &&
		user_add target viewer "$PW_TGT"
}
check "setup: an admin, a viewer and a brute-force target (zerowg user add)" three_users ||
	{ cat "$W/users.out"; finish; }

# ------------------------------------------------------------ no session --
web nosess 2 "$WEB/v1/peers"
check "no session: GET /v1/peers is 401 with WWW-Authenticate" \
	sh -c "head -n 1 '$R/nosess' | grep -q ' 401' && grep -qi '^WWW-Authenticate: Bearer' '$R/nosess'"
check "no session: logged (auth.refused, anonymous, source, method + path, reason)" \
	audit auth.refused '"actor":"anonymous","via":"web","ok":false' \
	'no session or API token (GET /v1/peers from 127.0.0.2, 401)'

# -------------------------------------------------------- expired session --
login exp 3 boss "$PW_BOSS"
C_EXP=$(cookie_of exp)
web exp_ok 3 -b "zwg_session=$C_EXP" "$WEB/v1/me"
check "expired session: the new session works" is exp_ok 200
sleep 5
web exp_late 3 -b "zwg_session=$C_EXP" "$WEB/v1/peers"
check "expired session: idle past ZWG_TEST_SESSION_IDLE_S (4 s): 401" is exp_late 401
check "expired session: logged, without the session id" \
	audit auth.refused 'unknown, expired or ended session (GET /v1/peers from 127.0.0.3, 401)'

# ----------------------------------------------------- wrong, replayed TOTP --
login boss 4 boss "$PW_BOSS"
C_BOSS=$(cookie_of boss)
web totp_begin 4 -b "zwg_session=$C_BOSS" -H "$O_OK" -X POST "$WEB/v1/me/totp"
TSEC=$(bodyof totp_begin | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
secret "$TSEC"
check "totp: enrolment gives a secret (no-store)" sh -c "[ -n '$TSEC' ] &&
	grep -qx 'Cache-Control: no-store' '$R/totp_begin'"
web totp_confirm 4 -b "zwg_session=$C_BOSS" -H "$O_OK" -H "$JSON" \
	-d "{\"code\":\"$(totp "$TSEC" 0)\"}" "$WEB/v1/me/totp/confirm"
check "totp: confirmed with a code: recovery codes (no-store)" \
	sh -c "head -n 1 '$R/totp_confirm' | grep -q ' 200' && grep -qx 'Cache-Control: no-store' '$R/totp_confirm'"
for c in $(bodyof totp_confirm | grep -o '[a-z2-7]\{5\}-[a-z2-7]\{5\}-[a-z2-7]\{5\}-[a-z2-7]\{5\}'); do
	secret "$c"
done
GOOD=$(totp "$TSEC" 1)
WRONG=$(python3 -c "print('%06d' % ((int('$GOOD') + 500001) % 1000000))")
login totp_wrong 4 boss "$PW_BOSS" "$WRONG"
check "totp: a wrong code is 401, no cookie" sh -c "head -n 1 '$R/totp_wrong' | grep -q ' 401' &&
	! grep -q '^Set-Cookie' '$R/totp_wrong'"
check "totp: logged: the password was right, the code wrong" \
	audit session.login_failed '"peer":"boss"' \
	'right password, wrong 2FA code (POST /v1/login from 127.0.0.4, 401)'
login totp_ok 4 boss "$PW_BOSS" "$GOOD"
check "totp: the right code signs in" is totp_ok 200
login totp_replay 4 boss "$PW_BOSS" "$GOOD"
check "totp: the same code again is 401 (replayed)" sh -c "head -n 1 '$R/totp_replay' | grep -q ' 401' &&
	! grep -q '^Set-Cookie' '$R/totp_replay'"
check "totp: the answers to a wrong and a replayed code are the same" \
	sh -c "[ \"\$(sed '1,/^\$/d' '$R/totp_wrong')\" = \"\$(sed '1,/^\$/d' '$R/totp_replay')\" ]"
check "totp: logged as totp.replayed" audit totp.replayed '"peer":"boss"' \
	'a 2FA code already used (a replay) (POST /v1/login from 127.0.0.4, 401)'
check_not "totp: no code in the log" grep -q "\"[^\"]*$GOOD" "$W/server.log"
C_BOSS=$(cookie_of totp_ok)

# ------------------------------------------------------- cross-origin POST --
web csrf 4 -X POST -b "zwg_session=$C_BOSS" -H 'Origin: http://evil.example' \
	"$WEB/v1/peers/alice/disable"
check "cross-origin: a POST with a valid cookie and Origin http://evil.example is 403" is csrf 403
alice_enabled() { api /v1/peers/alice | grep -q '"enabled":true'; }
check "cross-origin: ... nothing changed" alice_enabled
check "cross-origin: logged with the user, the path and the reason" \
	audit request.refused '"actor":"boss","via":"web"' \
	'a change from another origin (Origin is not this server'"'"'s) (POST /v1/peers/alice/disable from 127.0.0.4, 403)'

# ------------------------------------------------------------ brute force --
n401=0 n429=0 last429=
i=0
while [ $i -lt 20 ]; do
	login bf$i 9 target "wrong guess $i"
	is bf$i 401 && n401=$((n401 + 1))
	is bf$i 429 && { n429=$((n429 + 1)); last429=bf$i; }
	i=$((i + 1))
done
check "brute force: 20 wrong passwords: the first are 401, then 429 (got $n401 x 401, $n429 x 429)" \
	sh -c "[ $n401 -ge 5 ] && [ $n401 -le 8 ] && [ $n429 -ge 12 ]"
# (On a slow machine a backoff of 1 s can pass between two guesses, and
# that guess is answered 401 again: the 429s are the ones to look at.)
check "brute force: a 429 has Retry-After ($last429)" hdr "${last429:-bf19}" '^Retry-After: [1-9]'
login bf_right 9 target "$PW_TGT"
check "brute force: the right password is throttled too (429)" is bf_right 429
check "brute force: the failures are logged, with the account tried" \
	audit session.login_failed '"peer":"target"' 'wrong password (POST /v1/login from 127.0.0.9, 401)'
check "brute force: the throttled attempts are logged" \
	audit session.login_failed '"peer":"target"' 'throttled (POST /v1/login from 127.0.0.9, 429)'
check_not "brute force: no guess in the log" grep -q 'wrong guess' "$W/server.log"

# ----------------------------------------------------------- viewer writes --
login vic 10 vic "$PW_VIC"
C_VIC=$(cookie_of vic)
VC="zwg_session=$C_VIC"
web v1 10 -b "$VC" -H "$O_OK" -H "$JSON" -d '{"name":"intruder"}' "$WEB/v1/peers"
web v2 10 -b "$VC" -H "$O_OK" -X DELETE "$WEB/v1/peers/alice"
web v3 10 -b "$VC" -H "$O_OK" -X POST "$WEB/v1/peers/alice/disable"
web v4 10 -b "$VC" -H "$O_OK" -X POST "$WEB/v1/peers/alice/enable"
web v5 10 -b "$VC" -H "$O_OK" -H "$JSON" -d '{"name":"mine","role":"admin"}' "$WEB/v1/tokens"
web v6 10 -b "$VC" -H "$O_OK" -X DELETE "$WEB/v1/tokens/whatever"
check "viewer: POST /v1/peers, DELETE, disable, enable, POST and DELETE tokens: all 403" \
	sh -c "for n in v1 v2 v3 v4 v5 v6; do head -n 1 '$R/'\$n | grep -q ' 403' || exit 1; done"
unchanged() { api /v1/peers | grep -q '"name":"alice"' && ! api /v1/peers | grep -q intruder && alice_enabled; }
check "viewer: nothing changed" unchanged
check "viewer: each refusal logged with the viewer's name" sh -c "
	[ \$(grep -F '\"event\":\"request.refused\"' '$W/server.log' | grep -F '\"actor\":\"vic\"' |
	     grep -cF 'needs the admin role') -eq 6 ]"
check "viewer: e.g. the DELETE" audit request.refused '"actor":"vic"' \
	'needs the admin role (DELETE /v1/peers/alice from 127.0.0.10, 403)'

# ---------------------------------------------------------- revoked token --
web tok 4 -b "zwg_session=$C_BOSS" -H "$O_OK" -H "$JSON" -d '{"name":"ci","role":"admin"}' \
	"$WEB/v1/tokens"
TOKEN=$(bodyof tok | sed -n 's/.*"token":"\(zwg_[A-Za-z0-9_-]*\)".*/\1/p')
secret "$TOKEN"
web tok_ok 11 -H "Authorization: Bearer $TOKEN" "$WEB/v1/peers"
check "token: made (no-store) and working" sh -c "[ -n '$TOKEN' ] && head -n 1 '$R/tok_ok' | grep -q ' 200' &&
	grep -qx 'Cache-Control: no-store' '$R/tok'"
web tok_rev 4 -b "zwg_session=$C_BOSS" -H "$O_OK" -X DELETE "$WEB/v1/tokens/ci"
web tok_dead 11 -H "Authorization: Bearer $TOKEN" "$WEB/v1/peers"
check "token: revoked, it is 401" sh -c "head -n 1 '$R/tok_rev' | grep -q ' 204' && head -n 1 '$R/tok_dead' | grep -q ' 401'"
check "token: logged, without the token" \
	audit auth.refused 'unknown, expired or revoked API token (GET /v1/peers from 127.0.0.11, 401)'
web tok_path 11 "$WEB/v1/peers/zwg_NotARealTokenButShapedLikeOne"
check "token: one pasted into a path is masked in the log" \
	audit auth.refused 'GET /v1/peers/*** from 127.0.0.11'
check_not "token: ... not written" grep -q NotARealToken "$W/server.log"

# ---------------------------------------------------------- path traversal --
i=0
for p in '/assets/../../../etc/passwd' '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd' \
	'/assets/..%2f..%2f..%2fetc%2fpasswd' '/assets/%252e%252e%252f%252e%252e%252fetc%252fpasswd' \
	'/assets/..%5c..%5c..%5cetc%5cpasswd' '/assets/..\..\etc\passwd' '/assets/%00../../etc/passwd' \
	'/assets/app.js%00.png' '/assets/.%2e/.%2e/etc/passwd' '/../../../../etc/passwd' \
	'/assets//etc/passwd' '/assets/%c0%ae%c0%ae/etc/passwd'; do
	web trav$i 12 "$WEB$p"
	i=$((i + 1))
done
NTRAV=$i
check "traversal: $NTRAV attempts on /assets are all 404" \
	sh -c "i=0; while [ \$i -lt $NTRAV ]; do head -n 1 '$R/trav'\$i | grep -q ' 404' ||
	       { head -n 1 '$R/trav'\$i; exit 1; }; i=\$((i + 1)); done"
check_not "traversal: no file content in any answer" \
	sh -c "cat '$R'/trav* | grep -q -e 'root:' -e '/bin/' -e 'function'"
check "traversal: each logged (request.refused from 127.0.0.12)" sh -c "
	n=\$(grep -F '\"event\":\"request.refused\"' '$W/server.log' | grep -cF 'from 127.0.0.12, 404')
	echo \"\$n lines\"; [ \$n -eq $NTRAV ]"

# ---------------------------------------------------------------- too big --
head -c 71680 /dev/zero | tr '\0' 'a' >"$W/big.txt"
web big 13 -H "$O_OK" -H "$JSON" --data-binary "@$W/big.txt" "$WEB/v1/login"
check "oversized: a 70 KiB body is 413" is big 413
check "oversized: logged" audit request.too_large \
	'the body is larger than 64 KiB (POST /v1/login from 127.0.0.13, 413)'

# ----------------------------------------------------------- trusted proxy --
web xff_untrusted 6 -H 'X-Forwarded-For: 203.0.113.9' "$WEB/v1/server"
web xff_trusted 5 -H 'X-Forwarded-For: 203.0.113.9' "$WEB/v1/server"
check "proxy: X-Forwarded-For from elsewhere is ignored: the log names the peer" \
	audit auth.refused '(GET /v1/server from 127.0.0.6, 401)'
check "proxy: from --trusted-proxy it names the client" \
	audit auth.refused '(GET /v1/server from 203.0.113.9, 401)'

# -------------------------------------------------------------- one-time link --
web keep 4 -b "zwg_session=$C_BOSS" -H "$O_OK" -H "$JSON" \
	-d '{"name":"bob","keep_key":true,"link":{"ttl":"1h"}}' "$WEB/v1/peers"
LINK=$(bodyof keep | sed -n 's|.*"url":"[^"]*/l/\([A-Za-z0-9_-]*\)".*|\1|p')
secret "$(bodyof keep | sed -n 's/.*"private_key":"\([^"]*\)".*/\1/p')"
secret "$(bodyof keep | grep -o 'PresharedKey = [A-Za-z0-9+/=]*' | head -n 1 | sed 's/.* = //')"
printf '%s\n' "$LINK" >>"$W/linktokens.txt"
check "link: a peer with a kept key and a one-time link (the answer no-store)" \
	sh -c "[ -n '$LINK' ] && grep -qx 'Cache-Control: no-store' '$R/keep'"
web link1 14 "$WEB/v1/links/$LINK"
web link2 14 "$WEB/v1/links/$LINK"
check "link: opened once (200, no-store), then refused" sh -c "head -n 1 '$R/link1' | grep -q ' 200' &&
	grep -qx 'Cache-Control: no-store' '$R/link1' && ! head -n 1 '$R/link2' | grep -q ' 200'"
web linkbad 14 "$WEB/v1/links/bad%2e%2e$LINK"
check "link: the log never holds the token" sh -c "! grep -qF '$LINK' '$W/server.log'"

# ------------------------------------------------------------ slow clients --
cat >"$W/trickle.py" <<'PY'
import socket, sys, time
target, limit = sys.argv[1], float(sys.argv[2])
if target.startswith("/"):
    s = socket.socket(socket.AF_UNIX); s.connect(target)
else:
    src, host, port = target.split(":")
    s = socket.socket(); s.bind((src, 0)); s.connect((host, int(port)))
s.settimeout(1.0)
req = b"GET /v1/server HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
t0 = time.time()
for i in range(int(limit)):
    try:
        s.send(req[i:i + 1] if i < len(req) else b"a")
        if s.recv(1, socket.MSG_DONTWAIT) == b"":
            break
    except (BlockingIOError, socket.timeout):
        pass
    except OSError:
        break
    time.sleep(1)
else:
    print("never"); sys.exit(0)
print(int(time.time() - t0))
PY
i=0
while [ $i -lt 64 ]; do
	python3 "$W/trickle.py" "$ADMIN" 15 >"$W/trickle_out.$i" 2>&1 &
	echo $! >"$W/trickle.$i.pid"
	i=$((i + 1))
done
cut=$(X s python3 "$W/trickle.py" 127.0.0.15:127.0.0.1:51821 15)
check "slow: a TCP client trickling its headers is cut off at the bound (3 s)" \
	sh -c "echo 'cut after: $cut s'; [ '$cut' != never ] && [ '$cut' -ge 2 ] && [ '$cut' -le 6 ]"
t0=$(date +%s%N)
check "slow: with 64 trickling clients on the admin socket, peer disable answers" \
	timeout 10 "$ZWG" peer disable alice --admin-socket "$ADMIN"
t1=$(date +%s%N)
check "slow: ... within 2 s" sh -c "echo \"$(( (t1 - t0) / 1000000 )) ms\"; [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]"
wait_for 15 sh -c "for f in '$W'/trickle.*.pid; do kill -0 \$(cat \$f) 2>/dev/null && exit 1; done; exit 0"
check "slow: the TCP one is logged (request.timeout, its source)" \
	audit request.timeout '"actor":"anonymous","via":"web"' 'cut off (from 127.0.0.15)'

# ------------------------------------------------------------------- flood --
set -- ; i=0
while [ $i -lt 300 ]; do set -- "$@" "$WEB/v1/server"; i=$((i + 1)); done
X s curl -s --interface 127.0.0.16 "$@" >/dev/null
printf '%s\n' "$WEB/v1/server" >>"$W/urls.txt"
sleep 2.5	# the suppressed count is written within a second or two
check "flood: 300 refusals from one source write at most a burst of lines" sh -c "
	n=\$(grep -F '\"event\":\"auth.refused\"' '$W/server.log' | grep -cF 'from 127.0.0.16, 401')
	echo \"\$n lines\"; [ \$n -ge 20 ] && [ \$n -le 35 ]"
check "flood: ... and a \"suppressed N refusal lines\" line accounts for the rest" sh -c "
	n=\$(grep -F '\"event\":\"auth.refused\"' '$W/server.log' | grep -cF 'from 127.0.0.16, 401')
	s=\$(grep -F '\"event\":\"audit.suppressed\"' '$W/server.log' |
	     sed -n 's/.*suppressed \([0-9]*\) refusal lines\{0,1\} from 127.0.0.16 .*/\1/p' |
	     awk '{ t += \$1 } END { print t + 0 }')
	echo \"\$n written + \$s suppressed\"; [ \$((n + s)) -eq 300 ]"

# suppressed_from SRC: the lines from SRC that were counted, not written.
suppressed_from() {
	grep -F '"event":"audit.suppressed"' "$W/server.log" |
		sed -n "s/.*suppressed \([0-9]*\) refusal lines\{0,1\} from $1 .*/\1/p" |
		awk '{ t += $1 } END { print t + 0 }'
}
timeouts_accounted() {
	local n s
	n=$(grep -F '"event":"request.timeout"' "$W/server.log" | grep -cF 'from uid 0')
	s=$(suppressed_from 'uid 0')
	echo "$n written + $s suppressed"
	[ "$n" -ge "$AUDIT_BURST" ] && [ "$n" -lt 40 ] && [ $((n + s)) -eq 64 ]
}
AUDIT_BURST=20
# The reaper writes the count of suppressed lines within a second or two.
check "slow: the 64 admin-socket clients cut off: a burst of lines (uid 0), the rest counted" \
	wait_for 6 timeouts_accounted

# ------------------------------------------------------ no secret anywhere --
# The unseal key's bytes, a key's hex: every form of every secret.
check "secrets: the run collected its secrets" sh -c "[ \$(sort -u '$W/secrets.txt' | wc -l) -ge 12 ]"
cat >"$W/scan.py" <<'PY'
import base64, binascii, glob, os, re, sys
W = sys.argv[1]
secrets = {s for s in open(f"{W}/secrets.txt").read().split("\n") if len(s) >= 8}
links = {s for s in open(f"{W}/linktokens.txt").read().split("\n") if s}
def forms(s):
    out = {s}
    for dec in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = dec(s + "=" * (-len(s) % 4))
            if len(raw) >= 16:
                out |= {raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode()}
        except (binascii.Error, ValueError):
            pass
    return out
every = {f: s for s in secrets | links for f in forms(s)}
bad = 0
def scan(what, text, allowed=()):
    global bad
    for f, s in every.items():
        if f in text and s not in allowed:
            print(f"{what}: holds a secret ({s[:6]}...)"); bad += 1
log = open(f"{W}/server.log", errors="replace").read()
scan("server log (stderr and audit)", log)
scan("URLs used", open(f"{W}/urls.txt").read(), allowed=links)
n_secret_answers = 0
for path in sorted(glob.glob(f"{W}/resp/*")):
    if path.endswith(".err"):
        continue
    text = open(path, errors="replace").read()
    head, _, body = text.partition("\n\n")
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    held = [s for f, s in every.items() if f in text]
    if not held:
        continue
    n_secret_answers += 1
    name = os.path.basename(path)
    if status >= 400:
        print(f"{name}: an error answer ({status}) holds a secret"); bad += 1
    if not re.search(r"^Cache-Control: no-store$", head, re.M):
        print(f"{name}: holds a secret without Cache-Control: no-store"); bad += 1
print(f"{len(secrets)} secrets + {len(links)} link tokens, {len(every)} forms; "
      f"{n_secret_answers} answers carry one (each no-store)")
sys.exit(1 if bad or n_secret_answers < 5 else 0)
PY
check "secrets: none in the server's log, an error answer or a URL; every answer with one is no-store" \
	python3 "$W/scan.py" "$W"
check "secrets: the refusal lines hold no password, cookie or token" sh -c "
	! grep -E '\"event\":\"(auth.refused|request.refused|session.login_failed|totp.replayed|request.too_large|request.timeout)\"' \
	  '$W/server.log' | grep -qiE 'zwg_session|Bearer|zwg_[A-Za-z0-9_-]{8}|password\"'"
finish

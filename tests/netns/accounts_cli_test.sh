#!/bin/sh
# accounts_cli_test.sh - `zerowg user` and `zerowg token` end to end on a
# sealed store of the run's own (no network: nothing here needs a
# namespace, but it lives with the other CLI tests):
#   user add reads the password from stdin (the first line) and refuses
#   one on the command line (an extra operand, --password, -p) without
#   creating the user; an empty stdin and --key-fd 0 with the password on
#   stdin are refused; the first user is an admin, the next a viewer; the
#   store's files hold neither the password nor the user's name; passwd,
#   set-role, list, and the last admin cannot be removed; 2fa-enroll
#   prints an otpauth:// URI whose code, computed here with Python's hmac
#   (not our TOTP code), turns 2FA on with 10 recovery codes,
#   and is refused when stdout is a file; 2fa-reset turns it off;
#   token add prints "zwg_" + 43 characters through a pipe, refuses (and
#   makes no token) when stdout is a file; list, revoke.
# Unseal keys, passwords and TOTP secrets stay in shell variables and
# reach zerowg through pipes (never a file).
T=accounts_cli
. "${0%/*}/lib.sh"
trap lib_cleanup EXIT

ZWG=${ZEROWG:-$O/zerowg}
case $ZWG in /*) ;; *) ZWG=$(pwd)/$ZWG ;; esac
need grep sed python3 mkfifo timeout
[ -x "$ZWG" ] || { fail "prerequisite: $ZWG is not built (make)"; finish; }

D=$W/data
KEY=$("$ZWG" genkey)
PW="correct horse battery staple $ID"

# zk ARGS...: zerowg ARGS on the store, the key on stdin.
zk() { printf '%s\n' "$KEY" | "$ZWG" "$@" --data "$D" --key-fd 0; }
# zkp INPUT ARGS...: zerowg ARGS with INPUT as stdin, the key on fd 4.
zkp() {
	local input
	input=$1; shift
	printf '%s\n' "$KEY" | { exec 4<&0; printf '%s\n' "$input" | \
		"$ZWG" "$@" --data "$D" --key-fd 4; }
}
# expect_fail WHAT PATTERN CMD...: CMD exits non-zero and says PATTERN.
expect_fail() {
	local what pat
	what=$1; pat=$2; shift 2
	if "$@" >"$W/out" 2>&1; then
		fail "$what" "expected failure, but it succeeded"
	elif grep -q -- "$pat" "$W/out"; then
		pass "$what"
	else
		fail "$what" "no \"$pat\" in: $(cat "$W/out")"
	fi
}
users() { zk user list </dev/null 2>&1; }

check "init a store" zk init --no-nat

# ---------------------------------------------------------------- users --
expect_fail "user add refuses a password operand" "never taken from the command line" \
	zkp "" user add alice "$PW"
expect_fail "user add refuses --password" "never taken from the command line" \
	zkp "" user add alice --password "$PW"
expect_fail "user add refuses --password=" "never taken from the command line" \
	zkp "" user add alice "--password=$PW"
expect_fail "user add refuses -p" "never taken from the command line" \
	zkp "" user add alice -p "$PW"
expect_fail "user add with an empty stdin" "no password on stdin" \
	sh -c 'printf "%s\n" "$1" | { exec 4<&0; "$2" user add alice --data "$3" --key-fd 4 </dev/null; }' \
	sh "$KEY" "$ZWG" "$D"
expect_fail "the key and the password cannot share stdin" "cannot carry both" \
	zk user add alice
if users | grep -q alice; then
	fail "no user was made by the refused commands" "$(users)"
else
	pass "no user was made by the refused commands"
fi

check "user add reads the password from stdin" zkp "$PW" user add alice
grep -q 'added as admin (the first user)' "$W/check.out" && pass "the first user is an admin" ||
	fail "the first user is an admin" "$(cat "$W/check.out")"
check "a second user" zkp "another passphrase $ID" user add bob
grep -q 'added as viewer' "$W/check.out" && pass "the second user is a viewer" ||
	fail "the second user is a viewer" "$(cat "$W/check.out")"
expect_fail "a name is taken once" "exists already" zkp "$PW" user add alice
expect_fail "a short password is refused (not quoted)" "at least 10" zkp "short" user add carol
grep -q 'short' "$W/out" && fail "the refusal does not quote the password" "$(cat "$W/out")" ||
	pass "the refusal does not quote the password"
expect_fail "a bad name is refused" "character '/'" zkp "$PW" user add "a/b"

if grep -rqF "$PW" "$D" || grep -rqF alice "$D"; then
	fail "the store's files hold neither the password nor the name"
else
	pass "the store's files hold neither the password nor the name"
fi

check "user passwd from stdin" zkp "a new passphrase $ID" user passwd alice
expect_fail "user passwd of nobody" "no user \"nobody\"" zkp "$PW" user passwd nobody
expect_fail "the last admin cannot be removed" "last admin" zk user remove alice </dev/null
check "set-role" zk user set-role bob admin </dev/null
check "now alice can go" zk user remove alice </dev/null
out=$(users)
case $out in
*bob*admin*) pass "user list shows bob as admin" ;;
*) fail "user list shows bob as admin" "$out" ;;
esac
case $out in *alice*) fail "alice is gone" "$out" ;; *) pass "alice is gone" ;; esac

# ------------------------------------------------------------------ 2FA --
# totp: the current code of the base32 secret on stdin, by RFC 6238
# with Python's hmac (not our code).
totp() {
	python3 -c 'import sys, hmac, hashlib, base64, struct, time
k = base64.b32decode(sys.stdin.read().strip())
m = hmac.new(k, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = m[19] & 15
print("%06d" % ((struct.unpack(">I", m[o:o + 4])[0] & 0x7fffffff) % 1000000))'
}

expect_fail "2fa-enroll refuses stdout in a file" "writes no key to a file" \
	sh -c 'printf "%s\n" "$1" | { exec 4<&0; echo 123456 | "$2" user 2fa-enroll bob \
		--data "$3" --key-fd 4 >"$4"; }' sh "$KEY" "$ZWG" "$D" "$W/enroll.file"
[ -s "$W/enroll.file" ] && fail "nothing was written to the file" || pass "nothing was written to the file"

mkfifo "$W/code.fifo"
# zerowg reads the code from the FIFO (opened read-write, so opening it
# does not wait for a writer); the loop answers once it has the URI and
# reports only what it saw, never a secret.
summary=$(printf '%s\n' "$KEY" | { exec 4<&0; timeout 30 "$ZWG" user 2fa-enroll bob \
	--data "$D" --key-fd 4 <>"$W/code.fifo"; echo "exit=$?"; } | {
	n=0; uri=no
	while IFS= read -r line; do
		case $line in
		otpauth://totp/zerowg:bob\?secret=*)
			uri=yes
			s=${line#*secret=}; s=${s%%&*}
			printf '%s' "$s" | totp >"$W/code.fifo" ;;
		"  "?????-?????-?????-?????) n=$((n + 1)) ;;
		exit=*) echo "$line" ;;
		esac
	done
	echo "uri=$uri codes=$n"; })
case $summary in
*exit=0*"uri=yes codes=10"*) pass "2fa-enroll with a code computed by Python: on, 10 recovery codes" ;;
*) fail "2fa-enroll with a code computed by Python: on, 10 recovery codes" "$summary" ;;
esac
case $(users) in
*"on (10 codes)"*) pass "user list shows 2FA on" ;;
*) fail "user list shows 2FA on" "$(users)" ;;
esac
check "2fa-reset" zk user 2fa-reset bob </dev/null
case $(users) in
*bob*admin*off*) pass "user list shows 2FA off" ;;
*) fail "user list shows 2FA off" "$(users)" ;;
esac
# Through a pipe (a secret is shown), keeping only the message and status.
out=$( { zkp "000000" user 2fa-enroll bob 2>&1; echo "exit=$?"; } |
	grep -e 'authenticator shows' -e '^exit=')
case $out in
*"not the one the authenticator shows"*exit=1*) pass "2fa-enroll with a wrong code fails" ;;
*) fail "2fa-enroll with a wrong code fails" "$out" ;;
esac
case $(users) in
*bob*admin*off*) pass "a wrong code leaves 2FA off" ;;
*) fail "a wrong code leaves 2FA off" "$(users)" ;;
esac

# --------------------------------------------------------------- tokens --
tok=$(zk token add ci --role admin --expires 30d </dev/null 2>"$W/tok.err")
case $tok in
zwg_???????????????????????????????????????????)
	printf '%s' "$tok" | grep -q '^zwg_[A-Za-z0-9_-]*$' && pass "token add prints zwg_ + 43 characters" ||
		fail "token add prints zwg_ + 43 characters" "not base64url" ;;
*) fail "token add prints zwg_ + 43 characters" "$(cat "$W/tok.err")" ;;
esac
if grep -rqF "${tok#zwg_}" "$D"; then
	fail "the token's secret is not in the store's files"
else
	pass "the token's secret is not in the store's files"
fi
expect_fail "token add refuses stdout in a file" "writes no key to a file" \
	sh -c 'printf "%s\n" "$1" | "$2" token add ci2 --data "$3" --key-fd 0 >"$4"' \
	sh "$KEY" "$ZWG" "$D" "$W/token.file"
[ -s "$W/token.file" ] && fail "no secret in the file" || pass "no secret in the file"
out=$(zk token list </dev/null 2>&1)
case $out in
*ci*admin*) pass "token list shows ci" ;;
*) fail "token list shows ci" "$out" ;;
esac
case $out in *ci2*) fail "the refused token was not made" "$out" ;; *) pass "the refused token was not made" ;; esac
expect_fail "token add with a bad --expires" "expires" zk token add x --expires soon </dev/null
expect_fail "token add with a bad role" "not a role" zk token add x --role root </dev/null
check "token revoke" zk token revoke ci </dev/null
expect_fail "token revoke again" "no API token" zk token revoke ci </dev/null
tok=""

finish

#!/bin/sh
# cli_test.sh - the `zerowg` command line end to end, with the server in its
# own network namespace (it needs root for its TUN device and must not touch
# the host's network):
#   init (key from --key-fd; a generated key is shown once and unseals the
#   store), refusing to overwrite a store, "no store" and "wrong unseal key"
#   failing with exit 1 and a message, up in the background, peer add (the
#   printed config and QR code; the config's private key belongs to the
#   public key the server's `wg show` lists, and brings a client in another
#   namespace through the tunnel), peer list/show, bad input (duplicate or
#   bad name, bad CIDR, bad --expires: exit 1 naming the field), disable/
#   enable/revoke/rotate as seen by `wg show`, export (accepted by
#   `wg setconf` on a scratch zerowgd; refused into a file), import of a
#   hand-written wg-quick config into a fresh store (then `up` serves its
#   peers; a re-import with one more peer reaches the running server),
#   genkey/pubkey/genpsk against wg, ten `peer add` at once, and a restart
#   that keeps the server's identity and peers.  No key goes into a file:
#   init, peer add, peer rotate and show-peer with stdout in a file exit 1,
#   write nothing there and change nothing (no store, no peer, the old
#   key); through a pipe they work.  init --keyring leaves a read-only key
#   that expires within a week.
#
# Unseal keys stay in shell variables and reach zerowg through pipes (never
# a file).  The admin sockets and stores live in the run's directory $W.
T=cli
. "${0%/*}/lib.sh"

# The keyring check's directory (outside $W: another uid must reach it).
KU=""
trap '[ -n "$KU" ] && rm -rf "$KU"; lib_cleanup' EXIT

ZWG=${ZEROWG:-$O/zerowg}
case $ZWG in /*) ;; *) ZWG=$(pwd)/$ZWG ;; esac
ZWGD=$O/zerowgd-test
need wg ip grep sed awk base64
[ -x "$ZWG" ] || { fail "prerequisite: $ZWG is not built (make)"; finish; }

hosts srv c1 srv2
IF=$(ifn srv)			# the server's interface
CIF=$(ifn c1)			# the client's
IF2=zw${ID}i			# the server made by import
D=$W/data			# the first server's store
D2=$W/data2			# the imported one
export ZEROWG_ADMIN_SOCKET="$W/admin.sock"
S2=$W/admin2.sock
QR_BLOCK=$(printf '\342\226\210')	# U+2588, drawn by every terminal QR code

KEY=$("$ZWG" genkey)
KEY2=$("$ZWG" genkey)

# ------------------------------------------------------------- helpers --

# zk KEY ARGS...: zerowg ARGS with KEY on stdin (for --key-fd 0); zkn the
# same in the server's namespace (for `up`, even when it is meant to fail).
zk() { local k; k=$1; shift; printf '%s\n' "$k" | "$ZWG" "$@"; }
zkn() { local k; k=$1; shift; printf '%s\n' "$k" | ip netns exec "$(H srv)" "$ZWG" "$@"; }

# expect_fail WHAT PATTERN CMD...: CMD exits 1 and its stderr has PATTERN.
expect_fail() {
	local what pat rc
	what=$1 pat=$2; shift 2
	# stdout is a pipe, as at a terminal (export refuses a file).
	{ "$@" 2>"$W/ef.err"; echo $? >"$W/ef.rc"; } | cat >/dev/null
	rc=$(cat "$W/ef.rc")
	if [ $rc -eq 1 ] && grep -qF -- "$pat" "$W/ef.err"; then
		pass "$what"
	else
		fail "$what" "exit status $rc (expected 1); stderr (expected \"$pat\"):
$(cat "$W/ef.err")"
	fi
}

# server_start HOST IFNAME DATA SOCKET KEY [ARGS]: `zerowg up` in HOST's
# namespace in the background, the unseal key through a pipe; waits for
# the admin API.
server_start() {
	local h i d s k
	h=$1 i=$2 d=$3 s=$4 k=$5; shift 5
	printf '%s\n' "$k" | ip netns exec "$(H "$h")" env LOG_LEVEL=verbose \
		"$ZWG" up --data "$d" --key-fd 0 --admin-socket "$s" "$@" >>"$W/$i.log" 2>&1 &
	echo $! >"$W/$i.pid"
	echo "$h" >"$W/$i.host"
	wait_for 10 "$ZWG" status --admin-socket "$s" >/dev/null || {
		echo "no admin API on $s after 10 s"; return 1; }
	alive "$i"
}

srv_peers() { wgc srv show "$IF" peers 2>/dev/null; }
# listed PUBKEY: the server's interface has that peer.
listed() { srv_peers | grep -qxF "$1"; }
not_listed() { ! srv_peers | grep -qxF "$1"; }

# config_of OUTPUT: the text between the BEGIN/END lines.
config_of() {
	printf '%s\n' "$1" | sed -n '/^----- BEGIN CLIENT CONFIG -----$/,/^----- END CLIENT CONFIG -----$/p' |
		sed '1d;$d'
}
conf_value() { printf '%s\n' "$1" | sed -n "s/^$2 = //p" | head -n 1; }
pubkey_of_config() { conf_value "$1" PrivateKey | wg pubkey; }

# client_up CONFIG: a zerowgd in c1 configured from CONFIG (wg-quick's own
# keys stripped, as `wg-quick strip` does), its Address set with ip.
client_up() {
	local addr
	wg_stop "$CIF"
	wg_start c1 "$CIF" "$ZWGD -f {IF}" || return 1
	printf '%s\n' "$1" | grep -v -E '^(Address|DNS|MTU) *=' | wgc c1 setconf "$CIF" /dev/stdin || return 1
	addr=$(conf_value "$1" Address | cut -d, -f1)
	X c1 ip addr add "$addr" dev "$CIF" && X c1 ip link set "$CIF" up &&
	X c1 ip route add 10.13.13.0/24 dev "$CIF"
}

# ------------------------------------------------------- genkey & co --

check_keys() {
	local k p1 p2 w psk
	k=$("$ZWG" genkey) || return 1
	p1=$(printf '%s\n' "$k" | wg pubkey) || return 1
	p2=$(printf '%s\n' "$k" | "$ZWG" pubkey) || return 1
	echo "zerowg genkey | wg pubkey = $p1, | zerowg pubkey = $p2"
	[ "$p1" = "$p2" ] || return 1
	w=$(wg genkey)
	[ "$(printf '%s\n' "$w" | wg pubkey)" = "$(printf '%s\n' "$w" | "$ZWG" pubkey)" ] || return 1
	# Byte for byte: 44 characters and a newline.
	[ "$("$ZWG" genkey | wc -c)" -eq 45 ] && [ "$("$ZWG" genpsk | wc -c)" -eq 45 ] || return 1
	psk=$("$ZWG" genpsk)
	[ "$(printf '%s' "$psk" | base64 -d | wc -c)" -eq 32 ]
}
check "genkey/pubkey/genpsk agree with wg genkey/pubkey" check_keys
check_not "pubkey rejects garbage (as wg does)" sh -c 'echo "not a key" | "$0" pubkey' "$ZWG"
check_not "pubkey rejects a key with trailing characters" \
	sh -c 'printf "%s x\n" "$("$0" genkey)" | "$0" pubkey' "$ZWG"

check_help() {
	local v
	for v in init up peer show-peer status import export genkey genpsk pubkey; do
		"$ZWG" "$v" --help | grep -q "^Usage: zerowg $v" || { echo "zerowg $v --help"; return 1; }
	done
	"$ZWG" --help | grep -q "^Usage: zerowg" && "$ZWG" --version | grep -q "^zerowg v"
}
check "--help of every verb, and --version" check_help
# zerowg is the CLI without the server: `up` runs zerowg-server (upexec.c).
check_not "zerowg itself loads none of the server's libraries" \
	sh -c 'ldd "$0" | grep -E "libmicrohttpd|libnftables|libmnl|libsystemd"' "$ZWG"
check_slim_up_alone() {
	local d
	d=$(mktemp -d "$W/slim.XXXXXX") && cp "$ZWG" "$d/zerowg" || return 1
	# no zerowg-server next to it nor in $PATH: a clear message, exit 1
	{ PATH=/nonexistent "$d/zerowg" up --help >/dev/null 2>"$d/err"; [ $? -eq 1 ]; } &&
		grep -q "cannot run the server.*zerowg-server" "$d/err"
}
check "zerowg up without zerowg-server: exit 1 naming it" check_slim_up_alone
expect_fail "an unknown verb: exit 1 quoting it" '"frobnicate"' "$ZWG" frobnicate

# ---------------------------------------------------------------- init --

expect_fail "no store: up exits 1 and says to run zerowg init" "run \`zerowg init\`" \
	zkn "$KEY" up --data "$W/nostore" --key-fd 0 --interface "zw${ID}n"
expect_fail "no store: export exits 1 and says to run zerowg init" "zerowg init" \
	zk "$KEY" export --data "$W/nostore" --key-fd 0

init_fd() {
	zk "$KEY" init --data "$D" --key-fd 0 --interface "$IF" \
		--endpoint "$(u4 srv):51820" >"$W/init.out" 2>&1 || { cat "$W/init.out"; return 1; }
	cat "$W/init.out"
	# The key came from the fd: it is not shown.
	! grep -qF "$KEY" "$W/init.out" && grep -q "key from fd 0" "$W/init.out"
}
check "init --key-fd creates the store and does not echo the key" init_fd
expect_fail "init refuses to overwrite an existing store" "already exists" \
	zk "$KEY" init --data "$D" --key-fd 0

# A generated key is shown once (the indented base64 line) and opens the store.
init_shown() {
	local out k
	out=$("$ZWG" init --data "$W/data3" --interface "zw${ID}g") || return 1
	k=$(printf '%s\n' "$out" | sed -n 's/^    \([A-Za-z0-9+/]\{43\}=\)$/\1/p')
	echo "shown key lines: $(printf '%s\n' "$k" | grep -c .)"
	[ "$(printf '%s\n' "$k" | grep -c .)" -eq 1 ] || return 1
	printf '%s\n' "$out" | grep -q "systemd-creds encrypt" || return 1
	zk "$k" export --data "$W/data3" --key-fd 0 | grep -q '^PrivateKey = '
}
check "init without a key shows a new unseal key once, with instructions, and it unseals" init_shown
# Its stdout a file: the key would land on disk, so init refuses and
# creates nothing (a store whose key went into a file, or nowhere, is
# worse than none).
init_into_file() {
	local rc
	"$ZWG" init --data "$W/data5" --interface "zw${ID}f" >"$W/init5.out" 2>"$W/init5.err"
	rc=$?
	cat "$W/init5.err"
	[ $rc -eq 1 ] && grep -q "stdout is the file $W/init5.out" "$W/init5.err" &&
		grep -q "zerowg writes no key to a file" "$W/init5.err" &&
		[ ! -s "$W/init5.out" ] && [ ! -e "$W/data5" ]
}
check "init > FILE: exit 1, nothing in the file, no store created" init_into_file
# --keyring, as another user (each uid has its own user keyring, so no
# other test or person sees this key): init keeps the key there and export
# finds it without being given one.
check_keyring() {
	local u r
	u=$((50000 + ID % 10000))
	KU=$(mktemp -d "${TMPDIR:-/tmp}/zwg-cli-keyring.XXXXXX") || return 1
	# That uid may not reach the build directory (a checkout under /root
	# is 0700): it runs its own copy of the binary.
	cp "$ZWG" "$KU/zerowg" && chmod 755 "$KU/zerowg" || return 1
	chown -R "$u" "$KU" && chmod 700 "$KU" || return 1
	# As in a login session, the uid gets a session keyring of its own with
	# its user keyring linked in, so it "possesses" the keys it adds there
	# (zerowg restricts the key's permissions, which needs possession);
	# under root's session keyring it would not.
	# The key is in that uid's user keyring, read-only for possessor and
	# owner (1b1b0000: view, read, search, link), expiring within a week (the
	# expiry column of /proc/keys: "6d", or "1w" in its first second).
	setpriv --reuid="$u" --regid="$u" --clear-groups keyctl session - sh -c '
		keyctl link @u @s >/dev/null &&
		"$0" init --data "$1/d" --keyring --interface "$2" >/dev/null &&
		"$0" export --data "$1/d" </dev/null | grep -q "^PrivateKey = " &&
		id=$(keyctl search @u user zerowg:unseal) &&
		keyctl rdescribe "$id" && keyctl rdescribe "$id" | grep -q "^user;$3;$3;1b1b0000;" &&
		grep "^$(printf %08x "$id") " /proc/keys &&
		grep -qE "^$(printf %08x "$id") +[^ ]+ +[0-9]+ +(6d|1w) " /proc/keys &&
		! keyctl timeout "$id" 0 2>/dev/null && ! keyctl setperm "$id" 0x3f3f0000 2>/dev/null' \
		"$KU/zerowg" "$KU" "zw${ID}k" "$u"
	r=$?
	# Leave no key behind in that uid's keyring (read-only: it cannot be
	# revoked, but invalidating needs only search).
	setpriv --reuid="$u" --regid="$u" --clear-groups keyctl session - sh -c \
		'keyctl link @u @s && id=$(keyctl search @u user zerowg:unseal) && keyctl invalidate "$id"' \
		>/dev/null 2>&1
	rm -rf "$KU"
	return $r
}
if command -v setpriv >/dev/null 2>&1 && command -v keyctl >/dev/null 2>&1; then
	check "init --keyring: the key goes to the kernel keyring, read-only, for a week; export finds it" check_keyring
else
	skip "init --keyring (needs setpriv and keyctl)"
fi
expect_fail "bad --subnet at init: exit 1 quoting it" "10.0.0.300/24" \
	zk "$KEY" init --data "$W/data4" --key-fd 0 --subnet 10.0.0.300/24
expect_fail "wrong unseal key: up exits 1 and says so" "wrong unseal key" \
	zkn "$KEY2" up --data "$D" --key-fd 0 --admin-socket "$W/wrong.sock"
expect_fail "wrong unseal key: export exits 1 and says so" "wrong unseal key" \
	zk "$KEY2" export --data "$D" --key-fd 0
expect_fail "no server running: peer list says to start one" \
	"no server is running on $ZEROWG_ADMIN_SOCKET (start it with \`zerowg up\`)" \
	"$ZWG" peer list

# ------------------------------------------------------------------ up --

if ! check "up: the server starts in its namespace and answers on the admin socket" \
	server_start srv "$IF" "$D" "$ZEROWG_ADMIN_SOCKET" "$KEY"; then
	finish
fi
SRV_PUB=$(wgc srv show "$IF" public-key)
check "status shows the server's public key" sh -c '"$0" status | grep -qF "$1"' "$ZWG" "$SRV_PUB"

# ------------------------------------------------------------ peer add --

ADD_OUT=$("$ZWG" peer add phone 2>"$W/add.err")
ADD_RC=$?
PHONE_CONF=$(config_of "$ADD_OUT")
PHONE_PUB=$(pubkey_of_config "$PHONE_CONF" 2>/dev/null)
check "peer add: exit 0, the config between BEGIN/END lines" \
	sh -c '[ "$0" -eq 0 ] && printf "%s\n" "$1" | grep -q "^\[Interface\]" &&
	       printf "%s\n" "$1" | grep -q "^\[Peer\]"' "$ADD_RC" "$PHONE_CONF"
check "peer add: a terminal QR code after the config" \
	sh -c 'printf "%s\n" "$0" | sed -n "/END CLIENT CONFIG/,\$p" | grep -qF "$1"' "$ADD_OUT" "$QR_BLOCK"
check "peer add: says the private key is not kept" \
	sh -c 'printf "%s\n" "$0" | grep -q "does not keep this private key"' "$ADD_OUT"
check "peer add: the config's private key is valid and its public key is in the server's wg show" \
	sh -c '[ -n "$1" ] && wg show "$0" peers | grep -qxF "$1"' "$IF" "$PHONE_PUB"
check "peer add: the config names the server's public key and endpoint" \
	sh -c '[ "$(printf "%s\n" "$0" | sed -n "s/^PublicKey = //p")" = "$1" ] &&
	       printf "%s\n" "$0" | grep -q "^Endpoint = $2$"' "$PHONE_CONF" "$SRV_PUB" "$(u4 srv):51820"
if check "peer add: the printed config brings a client up (wg setconf accepts it)" client_up "$PHONE_CONF"; then
	check "peer add: the client reaches the server through the tunnel" ping_ok c1 10.13.13.1 10
fi

check "peer list shows the peer, its address and that it is enabled" \
	sh -c '"$0" peer list | awk "\$1 == \"phone\" && \$2 == \"10.13.13.2\" && \$3 == \"yes\" { f = 1 } END { exit !f }"' "$ZWG"
check "peer list --json has the peer with its public key" \
	sh -c '"$0" peer list --json | grep -qF "\"public_key\": \"$1\""' "$ZWG" "$PHONE_PUB"
check "peer show gives the public key and the addresses" \
	sh -c '"$0" peer show phone | grep -qF "public key: $1" && "$0" peer show phone | grep -q "10.13.13.2/32"' \
	"$ZWG" "$PHONE_PUB"

# ----------------------------------------------------------- bad input --

expect_fail "duplicate name: exit 1, clear message" 'peer "phone" already exists' "$ZWG" peer add phone
expect_fail "bad name: exit 1 naming the field" "(field name)" "$ZWG" peer add 'bad name!'
expect_fail "bad name: the message quotes it" 'bad name!' "$ZWG" peer add 'bad name!'
expect_fail "bad --route CIDR: exit 1 naming the field" "(field routes" \
	"$ZWG" peer add office --route 10.0.0.300/24
expect_fail "bad --route CIDR: the message quotes it" "10.0.0.300/24" \
	"$ZWG" peer add office --route 10.0.0.300/24
expect_fail "bad --expires: exit 1 naming the field" "(field expires)" \
	"$ZWG" peer add laptop --expires tomorrowish
expect_fail "bad --allowed-ips: exit 1 naming the field" "(field allowed_ips)" \
	"$ZWG" peer add laptop --allowed-ips 0.0.0.0/99
expect_fail "unknown peer: show exits 1" 'nosuchpeer' "$ZWG" peer show nosuchpeer
check_not "nothing was stored by the rejected adds" sh -c '"$0" peer list | grep -qE "^(office|laptop) "' "$ZWG"

# ------------------------------------------- disable / enable / revoke --

check "peer disable: exit 0" "$ZWG" peer disable phone
check "peer disable: the key is gone from the server's wg show" not_listed "$PHONE_PUB"
check "peer disable: the client no longer gets through" ping_none c1 10.13.13.1 3
check "peer disable: list says no (manual)" \
	sh -c '"$0" peer list | grep -E "^phone +10.13.13.2 +no \(manual\)"' "$ZWG"
check "peer enable: the key is back in wg show" sh -c '"$0" peer enable phone && wg show "$1" peers | grep -qxF "$2"' \
	"$ZWG" "$IF" "$PHONE_PUB"
check "peer enable: the client gets through again" ping_ok c1 10.13.13.1 15

ROT_OUT=$("$ZWG" peer rotate phone --no-qr 2>"$W/rot.err")
ROT_PUB=$(pubkey_of_config "$(config_of "$ROT_OUT")" 2>/dev/null)
check "peer rotate: a new config with a new key pair" sh -c '[ -n "$0" ] && [ "$0" != "$1" ]' "$ROT_PUB" "$PHONE_PUB"
check "peer rotate: the new public key is in wg show" listed "$ROT_PUB"
check "peer rotate: the old public key is gone at once" not_listed "$PHONE_PUB"

check "peer revoke: exit 0" "$ZWG" peer revoke phone
check "peer revoke: the key is gone from wg show" not_listed "$ROT_PUB"
expect_fail "peer revoke: the peer is gone from the store" "phone" "$ZWG" peer show phone
ADD2=$("$ZWG" peer add phone2 --no-qr --keep-key 2>&1)
check "peer revoke: its address is free for the next peer" \
	sh -c 'printf "%s\n" "$0" | grep -q "added: 10.13.13.2,"' "$ADD2"
check "peer add --keep-key: says the server keeps the key" \
	sh -c 'printf "%s\n" "$0" | grep -q "keeps this private key"' "$ADD2"
check "show-peer shows a kept key's config again" \
	sh -c '"$0" show-peer phone2 --no-qr | grep -qF "$1"' "$ZWG" "$(conf_value "$(config_of "$ADD2")" PrivateKey)"
expect_fail "show-peer refuses a peer whose key was not kept" "not kept" \
	sh -c '"$0" peer add phone3 --no-qr >/dev/null && "$0" show-peer phone3' "$ZWG"

# ------------------------------------------- no key ever goes to a file --

# into_file NAME CMD...: CMD with stdout in $W/NAME.out exits 1, says the
# file is why, and wrote nothing there.
into_file() {
	local n rc
	n=$1; shift
	"$@" >"$W/$n.out" 2>"$W/$n.err"
	rc=$?
	cat "$W/$n.err"
	[ $rc -eq 1 ] && grep -q "stdout is the file $W/$n.out" "$W/$n.err" && [ ! -s "$W/$n.out" ]
}
check "peer add > FILE: exit 1, nothing in the file" into_file leak1 "$ZWG" peer add leak1
expect_fail "peer add > FILE: the peer was not added" '"leak1"' "$ZWG" peer show leak1
check "peer add | cat: the config goes through the pipe" \
	sh -c '"$0" peer add leak2 --no-qr | cat | grep -q "^PrivateKey = " &&
		"$0" peer revoke leak2' "$ZWG"
PHONE2_PUB=$(pubkey_of_config "$(config_of "$ADD2")" 2>/dev/null)
check "peer rotate > FILE: exit 1, nothing in the file" into_file leak3 "$ZWG" peer rotate phone2
check "peer rotate > FILE: the old key is still the one in wg show" listed "$PHONE2_PUB"
check "show-peer > FILE: exit 1, nothing in the file" into_file leak4 "$ZWG" show-peer phone2
check "show-peer > /dev/null is allowed (the key goes nowhere)" \
	sh -c '"$0" show-peer phone2 --no-qr >/dev/null' "$ZWG"

# ------------------------------------------------------ ten CLIs at once --

parallel_adds() {
	local i pids addrs
	pids=""
	i=1
	while [ $i -le 10 ]; do
		sh -c '"$0" peer add "$1" --no-qr >/dev/null 2>"$2.err"; echo $? >"$2.rc"' \
			"$ZWG" "par$i" "$W/par$i" &
		pids="$pids $!"
		i=$((i + 1))
	done
	wait $pids
	i=1
	while [ $i -le 10 ]; do
		[ "$(cat "$W/par$i.rc")" = 0 ] || { echo "par$i: exit $(cat "$W/par$i.rc"): $(cat "$W/par$i.err")"; return 1; }
		i=$((i + 1))
	done
	addrs=$("$ZWG" peer list | awk '$1 ~ /^par[0-9]+$/ { print $2 }')
	echo "addresses: $(echo $addrs)"
	[ "$(printf '%s\n' "$addrs" | grep -c .)" -eq 10 ] &&
		[ "$(printf '%s\n' "$addrs" | sort -u | grep -c .)" -eq 10 ]
}
check "ten parallel peer add: all succeed, with ten distinct addresses" parallel_adds
check "ten parallel peer add: all ten are in wg show" \
	sh -c '[ "$(wg show "$0" peers | wc -l)" -eq 12 ]' "$IF"

# -------------------------------------------------------------- export --

check_export() {
	local n
	# Not in srv: the server holds UDP port 51820 there.
	wg_start srv2 "zw${ID}x" "$ZWGD -f {IF}" || return 1
	zk "$KEY" export --data "$D" --key-fd 0 | grep -v -E '^(Address|DNS|MTU) *=' |
		wgc srv2 setconf "zw${ID}x" /dev/stdin || return 1
	n=$(wgc srv2 show "zw${ID}x" peers | wc -l)
	echo "scratch device: $n peers; public key $(wgc srv2 show "zw${ID}x" public-key)"
	[ "$n" -eq 12 ] && [ "$(wgc srv2 show "zw${ID}x" public-key)" = "$SRV_PUB" ]
}
check "export: wg setconf on a scratch zerowgd accepts it (same key, same peers)" check_export
wg_stop "zw${ID}x"
expect_fail "export refuses to write into a file" "refusing to export" \
	sh -c 'printf "%s\n" "$0" | "$1" export --data "$2" --key-fd 0 >"$3"' "$KEY" "$ZWG" "$D" "$W/export.conf"
check "export wrote nothing into the file" sh -c '[ ! -s "$0" ]' "$W/export.conf"

# -------------------------------------------------------------- import --

SK=$(wg genkey)
P1K=$(wg genkey); P1=$(printf '%s\n' "$P1K" | wg pubkey)
P2=$(wg genkey | wg pubkey)
P3=$(wg genkey | wg pubkey)
PSK1=$(wg genpsk)
write_conf() {
	(umask 077; cat >"$W/wg0.conf") <<-EOF
	[Interface]
	PrivateKey = $SK
	ListenPort = 51821
	Address = 10.44.0.1/24
	# a wg-quick script, ignored with a warning
	PostUp = iptables -A FORWARD -i %i -j ACCEPT

	# laptop
	[Peer]
	PublicKey = $P1
	PresharedKey = $PSK1
	AllowedIPs = 10.44.0.2/32

	# office
	[Peer]
	PublicKey = $P2
	AllowedIPs = 10.44.0.3/32, 192.168.50.0/24
	EOF
}
write_conf
check "import: a fresh store takes a hand-written wg-quick config" sh -c '
	printf "%s\n" "$0" | "$1" init --data "$2" --key-fd 0 --interface "$3" >/dev/null &&
	printf "%s\n" "$0" | "$1" import --data "$2" --key-fd 0 --admin-socket "$4" "$5" >"$5.out" 2>&1;
	rc=$?; cat "$5.out"; [ $rc -eq 0 ] && grep -q "delete it" "$5.out"' \
	"$KEY2" "$ZWG" "$D2" "$IF2" "$S2" "$W/wg0.conf"
if check "import: up serves the imported store" server_start srv2 "$IF2" "$D2" "$S2" "$KEY2"; then
	check "import: the server's key pair is the imported one" \
		sh -c '[ "$(wg show "$0" public-key)" = "$(printf "%s\n" "$1" | wg pubkey)" ] &&
		       [ "$(wg show "$0" listen-port)" = 51821 ]' "$IF2" "$SK"
	check "import: wg show lists both imported peers" \
		sh -c 'wg show "$0" peers | grep -qxF "$1" && wg show "$0" peers | grep -qxF "$2"' "$IF2" "$P1" "$P2"
	check "import: the route behind a peer is in its allowed IPs" \
		sh -c 'wg show "$0" allowed-ips | grep -F "$1" | grep -q "192.168.50.0/24"' "$IF2" "$P2"
	check "import: the preshared key came along" \
		sh -c 'wg show "$0" preshared-keys | grep -F "$1" | grep -qF "$2"' "$IF2" "$P1" "$PSK1"
	check "import: peer list names the peers from the comments" \
		sh -c '"$0" peer list --admin-socket "$1" | grep -q "^laptop " &&
		       "$0" peer list --admin-socket "$1" | grep -q "^office "' "$ZWG" "$S2"
	# One more peer: a re-import adds it and the running server applies it.
	printf '\n# printer\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.44.0.4/32\n' "$P3" >>"$W/wg0.conf"
	check "import while the server runs: the new peer reaches wg show at once" sh -c '
		printf "%s\n" "$0" | "$1" import --data "$2" --key-fd 0 --admin-socket "$3" "$4" &&
		wg show "$5" peers | grep -qxF "$6"' "$KEY2" "$ZWG" "$D2" "$S2" "$W/wg0.conf" "$IF2" "$P3"
fi
rm -f "$W/wg0.conf"
expect_fail "import of a broken config: exit 1 quoting the line" "line 2" sh -c '
	printf "[Interface]\nListenPort = banana\n" >"$3" &&
	printf "%s\n" "$0" | "$1" import --data "$2" --key-fd 0 --admin-socket /nonexistent "$3"' \
	"$KEY2" "$ZWG" "$D2" "$W/broken.conf"

# -------------------------------------------- a read-only and a full disk --

# In c1's namespace and a mount namespace of its own (ip netns exec makes
# one), so the small tmpfs is seen by nothing else and goes away with it: a
# server on a store in that tmpfs; `peer add` while it is read-only, then
# while it is full, must fail with exit 1 and a message saying so, and
# leave what was stored intact (checked after a restart of the server).
# (The server is restarted around the remount: a mount with a file open
# for writing, the store's lock file, cannot be made read-only.)
disk_faults() {
	X c1 sh -c '
		ZWG=$1 D=$2 S=$3 KEY=$4 IFN=$5 W=$6
		start() {
			printf "%s\n" "$KEY" | "$ZWG" up --data "$D/s" --key-fd 0 --admin-socket "$S" \
				>>"$W/$IFN.log" 2>&1 &
			pid=$!
			n=0
			while ! "$ZWG" status --admin-socket "$S" >/dev/null 2>&1; do
				n=$((n + 1)); [ $n -lt 100 ] || { echo "server did not start"; return 1; }
				sleep 0.1
			done
		}
		stop() { kill "$pid"; wait "$pid"; }
		add() { "$ZWG" peer add "$1" --no-qr --admin-socket "$S" >/dev/null 2>"$W/fault.err"; }
		mkdir -p "$D" && mount -t tmpfs -o size=256k zwgtest "$D" || exit 1
		printf "%s\n" "$KEY" | "$ZWG" init --data "$D/s" --key-fd 0 --interface "$IFN" \
			>/dev/null || exit 1
		start || exit 1
		add a || { echo "add a failed: $(cat "$W/fault.err")"; exit 1; }
		stop
		mount -o remount,ro "$D" || exit 1
		start || exit 1
		if add b; then echo "add b on a read-only disk succeeded"; exit 1; fi
		echo "read-only: $(cat "$W/fault.err")"
		grep -qi "read-only" "$W/fault.err" || { echo "the message does not say read-only"; exit 1; }
		stop
		mount -o remount,rw "$D" || exit 1
		start || exit 1
		dd if=/dev/zero of="$D/filler" bs=4k 2>/dev/null
		if add c; then echo "add c on a full disk succeeded"; exit 1; fi
		echo "full: $(cat "$W/fault.err")"
		grep -qiE "no space|full" "$W/fault.err" || { echo "the message does not say full"; exit 1; }
		rm -f "$D/filler"
		add d || { echo "add d after the disk recovered failed: $(cat "$W/fault.err")"; exit 1; }
		stop
		start || exit 1
		list=$("$ZWG" peer list --admin-socket "$S" | awk "NR > 1 { print \$1 }" | tr "\n" " ")
		echo "after a restart: $list"
		stop
		[ "$list" = "a d " ]
	' sh "$ZWG" "$W/faults" "$W/faults.sock" "$KEY" "zw${ID}f" "$W"
}
check "read-only disk, then a full one: peer add fails with a clear message, nothing stored is lost" disk_faults

# ------------------------------------------------------------- restart --

check "server stops on SIGTERM" wg_stop "$IF"
check "show-peer with no server reads the store itself" sh -c '
	printf "%s\n" "$0" | "$1" show-peer --data "$2" --key-fd 0 --no-qr phone2 | grep -qF "$3"' \
	"$KEY" "$ZWG" "$D" "$(conf_value "$(config_of "$ADD2")" PrivateKey)"
check "restart: the server comes back" server_start srv "$IF" "$D" "$ZEROWG_ADMIN_SOCKET" "$KEY"
check "restart: same public key" sh -c '[ "$(wg show "$0" public-key)" = "$1" ]' "$IF" "$SRV_PUB"
check "restart: every peer is restored" sh -c '[ "$(wg show "$0" peers | wc -l)" -eq 12 ]' "$IF"

finish

#!/bin/sh
# container_test.sh - the container image (Containerfile, its entry point
# contrib/container/entrypoint.sh) built and run with ROOTLESS podman by an
# unprivileged user, the way docs/container.md tells users to run it.
#
# No registry: the base debian:bookworm-slim is a debootstrap --variant=
# minbase bookworm from the host's apt mirror, `podman import`ed under
# that name into the test user's storage.  Its tarball is cached in
# $ZWG_TEST_CACHE (/var/tmp/zerowg-test/base.tar, rebuilt when missing,
# about 25 s), and so is the built image (`podman save`), keyed by a hash
# of the build context: the sanitizer pass of CI loads the image of the
# plain pass instead of building it again.
#
# The user: zwgct<pid>, made for the run (useradd gives it a subordinate
# uid range, which the image's user zerowg needs), removed on every exit
# path (userdel removes the range too); its home $W/home holds the
# container storage (~/.local/share/containers, overlay) and its
# XDG_RUNTIME_DIR is a tmpfs, as /run/user/UID is: the unseal key file
# lives there, bind-mounted into the container at
# /run/secrets/zerowg-unseal-key.  (Not `podman secret`: podman 4 copies
# a secret into the container's directory in its storage, on disk next to
# the volume; docs/container.md.)  Its containers.conf: runc and the
# ulimits this VM needs.
#
# Topology (every address inside namespaces this test made):
#
#   [inet] 198.18.0.2 --veth-- 198.18.0.1 [s] 172.31.99.1 --veth-- 172.31.99.2 [c]
#     TCP service :8080                   podman as zwgct<pid>:          wireguard-go
#     fake DNS :53 (example.test)         the container, its egress      client, full
#                                         slirp4netns, UDP 51820         tunnel (default
#                                         published on 172.31.99.1       route via wg)
#
# The image is built in the host's network namespace (the build's
# apt-get needs the mirror; rootless build containers reach it through
# slirp4netns); everything else runs in s, whose only way out is inet.
# The client's traffic to 198.18.0.2 goes through the tunnel, the
# container's NAT, slirp4netns and s: that is the "internet" of a
# full-tunnel client, and the container's DNS (--dns 198.18.0.2) the
# fake DNS behind the server's relay.
#
# /dev/net/tun is opened to users for the run (slirp4netns needs it) under
# tun_lock and its mode restored on every exit path.
#
# Then compose.yaml with podman-compose (Debian 12's 1.0.3), as the same
# user in s, the image tagged localhost/zerowg as the file names it: up
# (the key file as the secret), a client config from `podman-compose exec`,
# the client's ping, down, up again on the same volume (same server key,
# same peers), down -v.  The container's network is then compose's CNI
# bridge in podman's rootless network namespace (its own slirp4netns in s).
# Cleanup removes what compose made (container, network, volume; 1.0.3
# makes no pod) before the user goes.
T=container
. "${0%/*}/lib.sh"

SRC=$(cd "${0%/*}/../.." && pwd)
CACHE=${ZWG_TEST_CACHE:-/var/tmp/zerowg-test}
PY=/usr/bin/python3
SNS=$(H s)
CUSER=zwgct$ID
CT=zwgct-$ID
VOL=zwgct-data-$ID
CIF=zq${ID}c
SRV4=10.13.13.1
EP=172.31.99.1
TAG="ZWG_CT=$ID"
UH=$W/home
RUNDIR=$UH/run
KEYFILE=$RUNDIR/zerowg-unseal-key
CUID="" SUB0="" SUBN=0 RUN_MOUNTED="" TUN_MODE_BEFORE="" CLIENT_PID="" COMPOSED=""
CNAME=zerowg CNET=zerowg_default CVOL=zerowg-data

# Whatever is missing is named, with the package to install: never a
# silent skip.
for c in podman runc slirp4netns newuidmap newgidmap debootstrap setpriv nsenter \
	wireguard-go wg useradd userdel flock sha256sum podman-compose "$PY"; do
	if ! command -v "$c" >/dev/null 2>&1; then
		fail "prerequisite: $c is not installed (apt-get install --no-install-recommends podman runc catatonit slirp4netns uidmap debootstrap podman-compose wireguard-go wireguard-tools passwd util-linux python3)"
		finish
	fi
done

container_cleanup() {
	[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
	if [ -n "$CUID" ]; then
		P rm -f -t 0 "$CT" "$CT-x" >/dev/null 2>&1
		if [ -n "$COMPOSED" ]; then
			# What podman-compose made: no pod (1.0.3 makes none),
			# the container, its network, its volume.
			P pod rm -af -t 0 >/dev/null 2>&1
			P rm -f -t 0 "$CNAME" >/dev/null 2>&1
			P network rm -f "$CNET" >/dev/null 2>&1
			P volume rm -f "$CVOL" >/dev/null 2>&1
		fi
		kill_tagged "^$TAG\$"
		# conmon and the containers do not carry the tag: every process
		# of the user or of its subordinate uids, by pid.
		kill_user_pids
		n=0
		while ! userdel "$CUSER" 2>/dev/null && [ $n -lt 30 ]; do
			kill_user_pids
			sleep 0.1
			n=$((n + 1))
		done
		id "$CUSER" >/dev/null 2>&1 && echo "# cleanup: could not remove the user $CUSER"
		rm -f "/dev/shm/libpod_rootless_lock_$CUID"
	fi
	[ -n "$RUN_MOUNTED" ] && umount -l "$RUNDIR" 2>/dev/null
	[ -n "$TUN_MODE_BEFORE" ] && chmod "$TUN_MODE_BEFORE" /dev/net/tun
	# The user's files (storage made by its sub-uids too) go with $W.
	lib_cleanup
}
trap container_cleanup EXIT
# user_pids: live processes whose real uid is the test user's or in its
# subordinate range.
user_pids() {
	local p u
	for p in /proc/[0-9]*; do
		u=$(awk '$1 == "Uid:" { print $2 }' "$p/status" 2>/dev/null)
		[ -n "$u" ] || continue
		if [ "$u" = "$CUID" ] || { [ -n "$SUB0" ] && [ "$u" -ge "$SUB0" ] && [ "$u" -lt $((SUB0 + SUBN)) ]; }; then
			echo "${p#/proc/}"
		fi
	done
}
kill_user_pids() {
	local pids
	pids=$(user_pids)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	return 0
}

# mkp: $W/P, podman as the test user (its home, its tmpfs runtime
# directory, its containers.conf, overlay storage), tagged for cleanup.
# P ARGS...: it, in the host's network namespace; PS ARGS...: in s.
# nsenter --net, not ip netns exec: that one remounts /sys, and runc then
# finds no cgroup mount.
# Storage: overlay, except where the home itself is on overlayfs (this test
# run inside a container, as CI does), which rootless overlay cannot stack
# on: vfs there (slower, whole copies of each layer, but no extra package).
mkp() {
	case $(stat -f -c %T "$UH" 2>/dev/null) in
	overlayfs) DRIVER=vfs ;;
	*) DRIVER=overlay ;;
	esac
	echo "podman storage driver: $DRIVER"
	cat >"$W/P" <<EOF
#!/bin/sh
# The user's podman from a directory the user may enter: podman chdirs to
# its working directory again, and one under /root (as in CI) stops it.
case \$(pwd) in $W/*) ;; *) cd "$UH" ;; esac
exec setpriv --reuid=$CUID --regid=$CGID --init-groups \\
	env -i HOME=$UH XDG_RUNTIME_DIR=$RUNDIR XDG_CONFIG_HOME=$UH/.config \\
	PATH=/usr/sbin:/usr/bin:/sbin:/bin $TAG \\
	podman --cgroup-manager=cgroupfs --events-backend=file --storage-driver=$DRIVER "\$@"
EOF
	chmod 755 "$W/P"
}
P() { "$W/P" "$@"; }
PS() { nsenter --net="/run/netns/$SNS" "$W/P" "$@"; }

# --------------------------------------------------------- the test user --
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "setup: no /dev/net/tun on this host"; finish; }
chmod 666 /dev/net/tun
chmod 711 "$W"
if ! useradd --create-home --home-dir "$UH" --shell /usr/sbin/nologin "$CUSER" >"$W/useradd.log" 2>&1; then
	fail "setup: useradd $CUSER" "$(cat "$W/useradd.log")"
	finish
fi
CUID=$(id -u "$CUSER") CGID=$(id -g "$CUSER")
SUB0=$(awk -F: -v u="$CUSER" '$1 == u { print $2 }' /etc/subuid)
SUBN=$(awk -F: -v u="$CUSER" '$1 == u { print $3 }' /etc/subuid)
check "setup: the test user $CUSER has a subordinate uid range ($SUB0+$SUBN: podman maps the image's users into it)" \
	test -n "$SUB0" || finish
mkdir -p "$RUNDIR" && mount -t tmpfs -o mode=0700,size=16m tmpfs "$RUNDIR" && RUN_MOUNTED=1 &&
	chown "$CUID:$CGID" "$RUNDIR" || { fail "setup: a tmpfs for XDG_RUNTIME_DIR"; finish; }
mkdir -p "$UH/.config/containers"
cat >"$UH/.config/containers/containers.conf" <<'EOF'
# container_test.sh: what podman needs on this VM (cgroup v1 hybrid, root
# without CAP_SYS_RESOURCE, nofile/nproc hard limits below podman's
# defaults; crun 1.8 refuses the hybrid cgroups, runc copes).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
chown -R "$CUID:$CGID" "$UH/.config"
mkp
# The same settings for a plain `podman` run as the user (podman-compose
# runs that): what P passes as options.
cat >>"$UH/.config/containers/containers.conf" <<EOF
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
printf '[storage]\ndriver = "%s"\n' "$DRIVER" >"$UH/.config/containers/storage.conf"
chown -R "$CUID:$CGID" "$UH/.config"

# ------------------------------------------------------------ the image --
# The build context's files, as .containerignore lets them in, but for
# compose.yaml, which no step of the build reads: editing it does not make
# a new image.
context_hash() {
	(cd "$SRC" && find . \( -name .git -o -name .ci -o -name 'build' -o -name 'build-*' \
		-o -name bench -o -name tests -o -name docs \) -prune -o -type f \
		! -name '*.o' ! -name '*.d' ! -path ./compose.yaml -print |
		LC_ALL=C sort | xargs -d '\n' sha256sum) |
		sha256sum | cut -c1-16
}
HASH=$(context_hash)
IMAGE=localhost/zerowg:src-$HASH
IMAGE_TAR=$CACHE/zerowg-image-$HASH.tar
BASE_TAR=$CACHE/base.tar
BASE=docker.io/library/debian:bookworm-slim
mkdir -p "$CACHE/debcache" && chmod 755 "$CACHE" || { fail "setup: cache directory $CACHE"; finish; }

# make_base: debootstrap --variant=minbase bookworm from the host's
# mirror, made to look like the debian:bookworm-slim image (no .debs, no
# apt lists, the host's apt sources and mirror settings).
make_base() {
	local mirror new f
	mirror=$(apt-get indextargets --no-release-info --format '$(TARGET_OF) $(RELEASE) $(REPO_URI)' \
		'Created-By: Packages' 2>/dev/null | awk '$1 == "deb" && $2 == "bookworm" { print $3; exit }')
	[ -n "$mirror" ] || { echo "no bookworm source in the host's apt sources"; return 1; }
	new=$CACHE/base.new
	rm -rf --one-file-system "$new"
	if ! debootstrap --variant=minbase --cache-dir="$CACHE/debcache" bookworm "$new" "$mirror" \
		>"$CACHE/debootstrap.log" 2>&1; then
		tail -n 15 "$CACHE/debootstrap.log"
		echo "debootstrap from $mirror failed (log: $CACHE/debootstrap.log)"
		return 1
	fi
	rm -rf "$new"/var/cache/apt/archives/*.deb "$new"/var/cache/apt/*.bin \
		"$new"/var/lib/apt/lists/* "$new/debootstrap" "$new/etc/resolv.conf" "$new/etc/hosts" \
		"$new/etc/apt/sources.list"
	mkdir -p "$new/var/lib/apt/lists/partial"
	echo debian >"$new/etc/hostname"
	[ -s /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list &&
		cp /etc/apt/sources.list "$new/etc/apt/"
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/apt.conf.d/*; do
		[ -f "$f" ] || continue
		case $f in
		*/apt.conf.d/*) grep -qiE 'proxy|Check-Valid-Until|Check-Date' "$f" || continue ;;
		esac
		cp "$f" "$new$f"
	done
	tar --numeric-owner --xattrs --sort=name --one-file-system -C "$new" -cf "$BASE_TAR.new" . &&
		mv "$BASE_TAR.new" "$BASE_TAR" && chmod 644 "$BASE_TAR"
	rm -rf --one-file-system "$new"
}

# Bad input first, while the user's storage is empty: no base image.
mkdir -p "$W/nobase" && printf 'FROM %s\nRUN true\n' "$BASE" >"$W/nobase/Containerfile" &&
	chmod -R a+rX "$W/nobase"
no_base_message() {
	local out
	out=$(cd "$W/nobase" && P build --pull=never -t "localhost/zwgct-nobase:$ID" . 2>&1)
	[ $? -ne 0 ] || { echo "the build succeeded without a base image"; return 1; }
	echo "$out" | tail -n 3
	printf '%s\n' "$out" | grep -q "$BASE\|debian:bookworm-slim" &&
	printf '%s\n' "$out" | grep -qi "not known\|not found\|no such image\|unable to find"
}
check "bad input: a build without the base image fails, naming $BASE" no_base_message

load_or_build() {
	local t0 f
	t0=$(date +%s)
	exec 7>"$CACHE/.lock"
	flock -w 300 7 || { echo "cannot lock $CACHE"; return 1; }
	if [ -s "$IMAGE_TAR" ]; then
		P load -q -i "$IMAGE_TAR" >"$W/load.log" 2>&1 &&
			P image exists "$IMAGE" &&
			{ echo "loaded $IMAGE from $IMAGE_TAR in $(($(date +%s) - t0)) s"; return 0; }
		cat "$W/load.log"; echo "the cached image did not load: building it"
	fi
	if [ ! -s "$BASE_TAR" ]; then
		echo "no cached base: debootstrap (about 25 s)"
		make_base || return 1
	fi
	P import -q "$BASE_TAR" "$BASE" >"$W/import.log" 2>&1 ||
		{ cat "$W/import.log"; echo "podman import $BASE_TAR failed"; return 1; }
	# The user reads the context from a copy it may read (the work tree
	# may be under /root), with what the context hash covers.
	rm -rf "$W/ctx" && mkdir "$W/ctx" &&
		tar -C "$SRC" --exclude=./.git --exclude=./.ci --exclude=./build --exclude='./build-*' \
			--exclude=./bench --exclude=./tests --exclude=./docs --exclude=./compose.yaml \
			--exclude='*.o' --exclude='*.d' -cf - . | tar -C "$W/ctx" -xf - &&
		chown -R "$CUID:$CGID" "$W/ctx" || { echo "cannot copy the build context"; return 1; }
	if ! (cd "$W/ctx" && P build --pull=never --format docker -t "$IMAGE" -f Containerfile .) \
		>"$W/build.log" 2>&1; then
		grep -v '^\(Get\|Selecting\|Preparing\|Unpacking\|Setting up\):*' "$W/build.log" | tail -n 25
		echo "podman build failed: the end of its log is above (the build stage installs ./dev's BUILD_PKGS from the mirror, through slirp4netns, then runs make)"
		return 1
	fi
	for f in "$CACHE"/zerowg-image-*.tar; do [ -f "$f" ] && rm -f "$f"; done
	P save -q -o "$UH/image.tar" "$IMAGE" >"$W/save.log" 2>&1 && mv "$UH/image.tar" "$IMAGE_TAR" &&
		chown 0:0 "$IMAGE_TAR" ||
		{ cat "$W/save.log"; echo "(podman save failed: the next run builds again)"; }
	echo "built $IMAGE in $(($(date +%s) - t0)) s"
}
check "image: the Containerfile builds rootless (podman build --pull=never) or its cached build loads" \
	load_or_build || finish
grep -h "built\|loaded" "$W/check.out" | sed 's/^/# /'

# -------------------------------------------------------------- network --
ns_add s && ns_add inet && ns_add c || { fail "setup: namespaces"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link add eth2 type veth peer name eth0 netns "$(H c)"
X s ip addr add 198.18.0.1/24 dev eth1
X s ip addr add "$EP/24" dev eth2
X inet ip addr add 198.18.0.2/24 dev eth0
X c ip addr add 172.31.99.2/24 dev eth0
X s ip link set eth1 up; X s ip link set eth2 up
X inet ip link set eth0 up; X c ip link set eth0 up
X s ip route add default via 198.18.0.2 dev eth1

cat >"$W/svc.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(1)
end = time.time() + 300
while time.time() < end:
    try:
        c, src = s.accept()
    except socket.timeout:
        continue
    try:
        c.sendall(("inet peer=%s\n" % src[0]).encode())
    except OSError:
        pass
    c.close()
EOF
cp "$SRC/tests/tools/fakedns.py" "$SRC/tests/tools/dnsq.py" "$W/"
X inet "$PY" "$W/svc.py" 198.18.0.2 8080 >"$W/inet-svc.log" 2>&1 &
X inet "$PY" "$W/fakedns.py" "$W/fakedns.queries" >"$W/fakedns.log" 2>&1 &
services_up() { wait_listen inet 8080 && wait_listen inet 53 udp; }
check "setup: the internet's TCP service and its DNS listen" services_up || finish

# ------------------------------------------------------------ the key --
UNSEAL=$(head -c 32 /dev/urandom | base64)
(umask 077; printf '%s\n' "$UNSEAL" >"$KEYFILE") && chown "$CUID:$CGID" "$KEYFILE"

# run_ct NAME [podman run options...]: the container as docs/container.md
# runs it (rootless), detached, in s.
run_ct() {
	local name
	name=$1; shift
	PS run -d --name "$name" "$@" \
		-v "$VOL:/var/lib/zerowg" \
		-v "$KEYFILE:/run/secrets/zerowg-unseal-key:ro" \
		--network slirp4netns --dns 198.18.0.2 \
		-e SERVERURL="$EP" -e PEERS=2 -e LOG_CONFS=true -e LOG_LEVEL=info \
		"$IMAGE" ${ARGS:-}
}
FULL="--cap-add NET_ADMIN --device /dev/net/tun -p $EP:51820:51820/udp
	--sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.src_valid_mark=1
	--sysctl net.ipv6.conf.all.forwarding=1"
ZX() { PS exec "$CT" /usr/local/bin/zerowg "$@"; }
ready() {
	local n
	n=0
	while [ $n -lt 200 ]; do
		if ZX status >/dev/null 2>&1; then return 0; fi
		[ "$(PS inspect -f '{{.State.Running}}' "$CT" 2>/dev/null)" = true ] || break
		sleep 0.1
		n=$((n + 1))
	done
	PS logs "$CT" 2>&1 | tail -n 20
	echo "the server in $CT did not answer (zerowg status) within 20 s"
	return 1
}
# start_ct: the container with everything it needs, until it answers.
start_ct() {
	# shellcheck disable=SC2086
	run_ct "$CT" $FULL && ready
}
check "run: the container starts rootless (NET_ADMIN, /dev/net/tun, the key file as /run/secrets/zerowg-unseal-key) on an empty volume" \
	start_ct || finish
PS logs "$CT" >"$W/ct1.log" 2>&1
check "run: the entry point made the store, sealed with the key file (not shown)" \
	grep -q "creating one, sealed with the key from /run/secrets/zerowg-unseal-key" "$W/ct1.log"
check "run: root mode in the container: a privileged helper, the server as the user zerowg" \
	grep -q "started as root; the server runs as zerowg" "$W/ct1.log"
check "run: the server confined itself (no capabilities, no_new_privs, seccomp)" \
	grep -q "sandbox: user zerowg .*no capabilities, no_new_privs, seccomp" "$W/ct1.log"
check "run: NAT is on (forwarding from --sysctl, /proc/sys read-only)" \
	sh -c "grep -q 'NAT: .*leaves through tap0' '$W/ct1.log' && ! grep -q 'enabling forwarding' '$W/ct1.log'"
peers_made() {
	ZX peer list >"$W/list.out" 2>&1
	cat "$W/list.out"
	grep -q '^peer1 ' "$W/list.out" && grep -q '^peer2 ' "$W/list.out"
}
check "run: PEERS=2 made peer1 and peer2" peers_made
check "healthcheck: podman healthcheck run says healthy" PS healthcheck run "$CT"
check_not "healthcheck: zerowg status fails when no server answers" \
	PS run --rm --network none --entrypoint /usr/local/bin/zerowg "$IMAGE" status
PUB1=$(sed -n 's/.*public key \([A-Za-z0-9+/]\{43\}=\).*/\1/p' "$W/ct1.log" | tail -n 1)
check "run: the server's public key is in the log ($PUB1)" test -n "$PUB1"

# ----------------------------------------------------------- the client --
KEYS=""
addkey() { [ -n "$1" ] && KEYS="$KEYS$1
"; }
addkey "$UNSEAL"
CONF=$(ZX peer add phone --no-qr 2>&1)
check "peer add (podman exec): a client config comes back" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^PrivateKey = '" sh "$CONF"
CPRIV=$(printf '%s\n' "$CONF" | sed -n 's/^PrivateKey *= *//p')
CPSK=$(printf '%s\n' "$CONF" | sed -n 's/^PresharedKey *= *//p')
SPUB=$(printf '%s\n' "$CONF" | sed -n 's/^PublicKey *= *//p')
CADDR=$(printf '%s\n' "$CONF" | sed -n 's/^Address *= *\([^,]*\).*/\1/p')
CEP=$(printf '%s\n' "$CONF" | sed -n 's/^Endpoint *= *//p')
CDNS=$(printf '%s\n' "$CONF" | sed -n 's/^DNS *= *\([^,]*\).*/\1/p')
addkey "$CPRIV"; addkey "$CPSK"
check "peer add: the config has the server's key, endpoint $EP:51820 and DNS $SRV4" \
	sh -c "[ '$SPUB' = '$PUB1' ] && [ '$CEP' = '$EP:51820' ] && [ '$CDNS' = '$SRV4' ]" ||
	printf '%s\n' "$CONF" | grep -v 'Key' | sed 's/^/    | /'
SK=$(ZX show-peer peer1 --no-qr 2>/dev/null | sed -n 's/^\(PrivateKey\|PresharedKey\) *= *//p')
for k in $SK; do addkey "$k"; done

client_start() {
	ip netns exec "$(H c)" env LOG_LEVEL=error wireguard-go -f "$CIF" >>"$W/client.log" 2>&1 &
	CLIENT_PID=$!
	wait_for 5 test -S "/var/run/wireguard/$CIF.sock" || return 1
	client_peer &&
	X c ip addr add "$CADDR" dev "$CIF" &&
	X c ip link set "$CIF" up &&
	X c ip route add default dev "$CIF"
}
# client_peer: (re)sets the server as the client's peer: a new session.
client_peer() {
	X c wg set "$CIF" peer "$SPUB" remove 2>/dev/null
	printf '%s\n' "$CPRIV" | X c wg set "$CIF" private-key /dev/stdin &&
	printf '%s\n' "$CPSK" | X c wg set "$CIF" peer "$SPUB" preshared-key /dev/stdin \
		endpoint "$CEP" allowed-ips 0.0.0.0/0
}
check "client: wireguard-go in c with the config, full tunnel (default route through it)" client_start
check "client: pings the server's tunnel address $SRV4 through the published port" \
	ping_ok c "$SRV4" 15
inet_tcp() {
	local got
	got=$(X c timeout 10 nc -n -w 5 198.18.0.2 8080 2>&1)
	echo "got: $got"
	# slirp4netns's sockets are the user's, in s: inet sees s's address.
	[ "$got" = "inet peer=198.18.0.1" ]
}
check "client: reaches a TCP service behind the container's egress (NAT, then slirp4netns)" inet_tcp
dns_via_relay() {
	local got
	got=$(X c timeout 10 "$PY" "$W/dnsq.py" "$SRV4" example.test 4242 2>&1)
	echo "answer: $got"
	[ "$got" = 198.18.0.77 ]
}
check "client: DNS at $SRV4 is relayed to the container's resolver (the fake DNS behind slirp4netns)" \
	dns_via_relay

# ------------------------------------------------------------ bad input --
PS stop -t 10 "$CT" >/dev/null 2>&1
check "stop: the server stopped cleanly (podman stop, exit 0)" \
	sh -c "[ \"\$('$W/P' inspect -f '{{.State.ExitCode}}' '$CT' 2>&1)\" = 0 ]"
PS rm -f "$CT" >/dev/null 2>&1
# bad_run WHAT PATTERN [options]: a container that must exit non-zero
# with PATTERN in its log, leaving the volume alone.
bad_run() {
	local pat
	pat=$1; shift
	PS rm -f "$CT-x" >/dev/null 2>&1
	run_ct "$CT-x" "$@" >/dev/null 2>&1
	PS wait "$CT-x" >"$W/bad.rc" 2>&1
	PS logs "$CT-x" >"$W/bad.log" 2>&1
	PS rm -f "$CT-x" >/dev/null 2>&1
	sed 's/^/log: /' "$W/bad.log" | tail -n 4
	[ "$(cat "$W/bad.rc")" != 0 ] && grep -q -- "$pat" "$W/bad.log"
}
# shellcheck disable=SC2086
check "bad input: no /dev/net/tun: the entry point names it and the fix (--device /dev/net/tun)" \
	bad_run "--device /dev/net/tun" --cap-add NET_ADMIN
# shellcheck disable=SC2086
# bad_run_up PATTERN [options]: the same with `zerowg up` as the command.
bad_run_up() {
	local r
	ARGS="up --data /var/lib/zerowg"
	bad_run "$@"
	r=$?
	ARGS=""
	return $r
}
check "bad input: no /dev/net/tun, the server alone (no entry point) names it too" \
	bad_run_up "/dev/net/tun is missing.*--device /dev/net/tun" \
	--cap-add NET_ADMIN --entrypoint /usr/local/bin/zerowg -e CREDENTIALS_DIRECTORY=/run/secrets
# shellcheck disable=SC2086
check "bad input: no CAP_NET_ADMIN: named, with --cap-add NET_ADMIN" \
	bad_run "--cap-add NET_ADMIN" --device /dev/net/tun
no_key_run() {
	PS rm -f "$CT-x" >/dev/null 2>&1
	PS run --name "$CT-x" --cap-add NET_ADMIN --device /dev/net/tun -v "$VOL:/var/lib/zerowg" \
		--network slirp4netns "$IMAGE" >"$W/bad.log" 2>&1
	rc=$?
	PS rm -f "$CT-x" >/dev/null 2>&1
	tail -n 3 "$W/bad.log"
	[ $rc -ne 0 ] && grep -q "no unseal key" "$W/bad.log" && grep -q "store is unchanged" "$W/bad.log"
}
check "bad input: a sealed store and no key (no secret, no tty): named, with the fix" no_key_run

# ------------------------------------------------------------ re-create --
check "re-create: a new container on the same volume and key file starts" start_ct || finish
PS logs "$CT" >"$W/ct2.log" 2>&1
check "re-create: same server public key" grep -qF "public key $PUB1" "$W/ct2.log"
check "re-create: the peer phone is still listed (and peer1, peer2)" \
	sh -c "'$W/P' exec '$CT' /usr/local/bin/zerowg peer list >'$W/list.out' 2>&1; cat '$W/list.out';
	       grep -q '^phone ' '$W/list.out' && grep -q '^peer1 ' '$W/list.out' && grep -q '^peer2 ' '$W/list.out'"
client_peer >/dev/null 2>&1
check "re-create: the client reconnects (new session) and pings $SRV4" ping_ok c "$SRV4" 15
check "re-create: the client reaches the internet again" inet_tcp

# ----------------------------------------------------- logs and key search --
SEXP=$(printf '%s\n' "$UNSEAL" | PS exec -i "$CT" /usr/local/bin/zerowg export --data /var/lib/zerowg \
	--key-fd 0 2>/dev/null | sed -n 's/^PrivateKey *= *//p')
check "key search: the server's private key is read through export (a pipe)" test -n "$SEXP"
addkey "$SEXP"
PS logs "$CT" >"$W/ct2.log" 2>&1
NKEYS=$(printf '%s' "$KEYS" | grep -c .)

# patterns: every key of $KEYS in base64, hex and raw bytes (the longest
# run without NUL or newline: grep patterns are lines).
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
# search DIR...: the files on disk (not crossing into other mounts: the
# key's tmpfs) holding one of the keys.
search() {
	local pats
	pats=$(patterns | LC_ALL=C grep -av '^$')
	find "$@" -xdev -type f -print0 2>/dev/null |
		ZWT_PATS=$pats xargs -0 -r -n 200 sh -c \
		'printf "%s\n" "$ZWT_PATS" | LC_ALL=C grep -lsaiF -f - "$@"' sh
}
STORAGE=$UH/.local/share/containers
VOLDIR=$STORAGE/storage/volumes/$VOL/_data
canaries_found() {
	local saved out
	saved=$KEYS
	KEYS=$(wg genkey)
	printf 'x%sy' "$KEYS" >"$STORAGE/canary.b64"
	printf '%s' "$KEYS" | base64 -d >"$VOLDIR/canary.raw"
	out=$(search "$STORAGE" | sort)
	KEYS=$saved
	rm -f "$STORAGE/canary.b64" "$VOLDIR/canary.raw"
	echo "found: $out"
	printf '%s\n' "$out" | grep -q 'canary.b64$' && printf '%s\n' "$out" | grep -q 'canary.raw$'
}
check "key search: finds a planted key in the storage and the volume (canaries)" canaries_found
check "key search: the volume holds the sealed store" \
	sh -c "[ \$(find '$VOLDIR' -type f | wc -l) -ge 3 ]"
no_key_stored() {
	local out
	out=$(search "$UH" "$W" | sort -u)
	if [ -n "$out" ]; then
		echo "files holding a key:"
		printf '%s\n' "$out"
		return 1
	fi
	echo "searched $UH (storage, volume, images) and $W for $NKEYS keys in 3 forms: none"
}
check "key search: no unseal, server, client or preshared key in the container storage, the volume or the logs ($NKEYS keys)" \
	no_key_stored
check "logs: podman logs hold no key and no client config (LOG_CONFS=true, no tty)" \
	sh -c "! grep -q 'PrivateKey\|PresharedKey' '$W/ct1.log' '$W/ct2.log' &&
	       ! printf '%s' \"\$1\" | grep -qF -f - '$W/ct1.log' '$W/ct2.log'" sh "$KEYS"

# -------------------------------------------------------------- compose --
# compose.yaml as docs/container.md runs it: podman-compose (Debian 12's
# 1.0.3) as the same user, in s, from a directory holding only a copy of
# compose.yaml, with the image of this run tagged as the file names it
# (localhost/zerowg: `up` builds only when that image is missing) and the
# key file where compose.yaml takes it ($XDG_RUNTIME_DIR/zerowg-unseal-key,
# the tmpfs).  The stack: the container zerowg on compose's own network
# (a CNI bridge in podman's rootless network namespace, not slirp4netns
# itself), the volume zerowg-data, a new store.
PS rm -f -t 10 "$CT" >/dev/null 2>&1
CDIR=$W/zerowg
COMPOSED=1
CENV="SERVERURL=$EP PEERS=2"
mkdir -p "$CDIR" && cp "$SRC/compose.yaml" "$CDIR/" && chown -R "$CUID:$CGID" "$CDIR"
# C ARGS...: podman-compose as the user, in s, in $CDIR, with $CENV.
# shellcheck disable=SC2086
C() {
	(cd "$CDIR" && nsenter --net="/run/netns/$SNS" setpriv --reuid="$CUID" --regid="$CGID" \
		--init-groups env -i HOME="$UH" XDG_RUNTIME_DIR="$RUNDIR" XDG_CONFIG_HOME="$UH/.config" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$TAG" $CENV timeout 120 podman-compose "$@")
}
CX() { PS exec "$CNAME" /usr/local/bin/zerowg "$@"; }
compose_refuses() {
	local out saved
	saved=$CENV CENV=""
	out=$(C up -d 2>&1)
	CENV=$saved
	printf '%s\n' "$out" | tail -n 2
	printf '%s\n' "$out" | grep -q "set SERVERURL to the name or address clients reach" &&
	! P container exists "$CNAME" && ! P volume exists "$CVOL"
}
check "compose: without SERVERURL, podman-compose up refuses, naming it, and creates nothing" \
	compose_refuses
P tag "$IMAGE" localhost/zerowg >/dev/null 2>&1
compose_ready() {
	local n
	n=0
	while [ $n -lt 200 ]; do
		CX status >/dev/null 2>&1 && return 0
		[ "$(PS inspect -f '{{.State.Running}}' "$CNAME" 2>/dev/null)" = true ] || [ $n -lt 30 ] ||
			break
		sleep 0.1
		n=$((n + 1))
	done
	PS logs "$CNAME" 2>&1 | tail -n 20
	echo "the server in $CNAME did not answer (zerowg status) within 20 s"
	return 1
}
compose_up() {
	C up -d >"$W/compose-up.out" 2>&1
	grep -v '^\[' "$W/compose-up.out" | tail -n 12
	if grep -q "^podman build" "$W/compose-up.out"; then
		echo "up built the image although localhost/zerowg exists"
		return 1
	fi
	compose_ready
}
check "compose: podman-compose up -d starts the server from compose.yaml (image localhost/zerowg, not rebuilt)" \
	compose_up || finish
PS logs "$CNAME" >"$W/compose1.log" 2>&1
compose_settings() {
	local m caps sys
	m=$(P inspect -f '{{range .Mounts}}{{.Destination}}={{.Source}},{{.RW}} {{end}}' "$CNAME")
	caps=$(P inspect -f '{{.HostConfig.CapAdd}}' "$CNAME")
	sys=$(PS exec "$CNAME" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/all/src_valid_mark \
		/proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')
	echo "mounts: $m"
	echo "cap_add: $caps; sysctls: $sys"
	echo "networks: $(P inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$CNAME")"
	case " $m " in *" /run/secrets/zerowg-unseal-key=$KEYFILE,false "*) ;; *) return 1 ;; esac
	case " $m " in *" /var/lib/zerowg="*"/volumes/$CVOL/_data,true "*) ;; *) return 1 ;; esac
	case $caps in *NET_ADMIN*) ;; *) return 1 ;; esac
	[ "$sys" = "1 1 1 " ] && PS exec "$CNAME" test -c /dev/net/tun &&
	P inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$CNAME" |
		grep -qw "$CNET"
}
check "compose: the container has the key file read-only at /run/secrets, the volume $CVOL, NET_ADMIN, /dev/net/tun, the sysctls" \
	compose_settings
check "compose: the entry point made a new store, sealed with the secret (the key file)" \
	grep -q "creating one, sealed with the key from /run/secrets/zerowg-unseal-key" "$W/compose1.log"
check "compose: the server runs as zerowg, confined, with NAT on (forwarding from sysctls)" \
	sh -c "grep -q 'sandbox: user zerowg .*no capabilities, no_new_privs, seccomp' '$W/compose1.log' &&
	       grep -q 'NAT: ' '$W/compose1.log' && ! grep -q 'enabling forwarding' '$W/compose1.log'"
check "compose: the healthcheck from compose.yaml says healthy (podman healthcheck run)" \
	PS healthcheck run "$CNAME"
PUB2=$(sed -n 's/.*public key \([A-Za-z0-9+/]\{43\}=\).*/\1/p' "$W/compose1.log" | tail -n 1)
check "compose: a new server key ($PUB2), not the podman run store's" \
	sh -c "[ -n '$PUB2' ] && [ '$PUB2' != '$PUB1' ]"
# client_use CONF: the client drops its server and takes this config
# (keys, address, server).
client_use() {
	X c wg set "$CIF" peer "$SPUB" remove 2>/dev/null
	CPRIV=$(printf '%s\n' "$1" | sed -n 's/^PrivateKey *= *//p')
	CPSK=$(printf '%s\n' "$1" | sed -n 's/^PresharedKey *= *//p')
	SPUB=$(printf '%s\n' "$1" | sed -n 's/^PublicKey *= *//p')
	CADDR=$(printf '%s\n' "$1" | sed -n 's/^Address *= *\([^,]*\).*/\1/p')
	CEP=$(printf '%s\n' "$1" | sed -n 's/^Endpoint *= *//p')
	X c ip addr flush dev "$CIF" &&
	X c ip addr add "$CADDR" dev "$CIF" &&
	X c ip route replace default dev "$CIF" &&
	client_peer
}
# The config through `podman-compose exec -T` (no tty: no QR code): its
# own lines ("podman exec ...", "exit code: 0") are not config lines.
CONF=$(C exec -T "$CNAME" zerowg peer add phone --no-qr 2>&1)
CPRIV2=$(printf '%s\n' "$CONF" | sed -n 's/^PrivateKey *= *//p')
addkey "$CPRIV2"; addkey "$(printf '%s\n' "$CONF" | sed -n 's/^PresharedKey *= *//p')"
check "compose: podman-compose exec zerowg zerowg peer add: a config with the server's key and endpoint $EP:51820" \
	sh -c "printf '%s\n' \"\$1\" | grep -qx 'PublicKey = $PUB2' &&
	       printf '%s\n' \"\$1\" | grep -qx 'Endpoint = $EP:51820' && [ -n '$CPRIV2' ]" sh "$CONF" ||
	printf '%s\n' "$CONF" | grep -v 'Key' | sed 's/^/    | /'
check "compose: the wireguard-go client takes the config" client_use "$CONF"
check "compose: the client pings the server's tunnel address $SRV4 (port published by compose)" \
	ping_ok c "$SRV4" 15
check "compose: the client reaches the TCP service behind the container (NAT, compose's network)" \
	inet_tcp
compose_down() {
	local t0 code
	t0=$(date +%s)
	C down >"$W/compose-down.out" 2>&1
	grep -v '^\[' "$W/compose-down.out" | tail -n 6
	! P container exists "$CNAME" || { echo "the container $CNAME is still there"; return 1; }
	P volume exists "$CVOL" || { echo "down removed the volume $CVOL"; return 1; }
	code=$(P events --stream=false --filter "container=$CNAME" --filter event=died \
		--format '{{.ContainerExitCode}}' 2>&1 | tail -n 1)
	echo "down took $(($(date +%s) - t0)) s; the server exited with $code"
	P network exists "$CNET" && echo "(the network $CNET stays: podman-compose 1.0.3 removes none)"
	[ "$code" = 0 ]
}
check "compose: podman-compose down stops the server (exit 0) and removes the container, not the volume" \
	compose_down
check_not "compose: after down, the client gets no answer" ping_ok c "$SRV4" 2
check "compose: a second podman-compose up -d starts on the same volume" compose_up || finish
PS logs "$CNAME" >"$W/compose2.log" 2>&1
check "compose: same server public key after down and up" \
	sh -c "grep -qF 'public key $PUB2' '$W/compose2.log' && ! grep -q 'creating one' '$W/compose2.log'"
check "compose: the peers are kept (phone, peer1, peer2)" \
	sh -c "'$W/P' exec '$CNAME' /usr/local/bin/zerowg peer list >'$W/list.out' 2>&1; cat '$W/list.out';
	       grep -q '^phone ' '$W/list.out' && grep -q '^peer1 ' '$W/list.out' && grep -q '^peer2 ' '$W/list.out'"
client_peer >/dev/null 2>&1
check "compose: the client reconnects (new session) and pings $SRV4" ping_ok c "$SRV4" 15
SEXP2=$(printf '%s\n' "$UNSEAL" | PS exec -i "$CNAME" /usr/local/bin/zerowg export --data /var/lib/zerowg \
	--key-fd 0 2>/dev/null | sed -n 's/^PrivateKey *= *//p')
addkey "$SEXP2"
NKEYS=$(printf '%s' "$KEYS" | grep -c .)
PS logs "$CNAME" >"$W/compose2.log" 2>&1
compose_no_key() {
	[ -n "$SEXP2" ] || { echo "export gave no server private key"; return 1; }
	if grep -l 'PrivateKey\|PresharedKey' "$W"/compose*.log "$W"/compose-*.out; then
		echo "a config in the files above"
		return 1
	fi
	no_key_stored
}
check "compose: no key in the storage, the volume $CVOL, podman-compose's output or the logs ($NKEYS keys, the compose server's read through export)" \
	compose_no_key
compose_down_v() {
	C down -v >"$W/compose-down.out" 2>&1
	grep -v '^\[' "$W/compose-down.out" | tail -n 8
	! P container exists "$CNAME" && ! P volume exists "$CVOL"
}
check "compose: podman-compose down -v removes the container and the volume $CVOL (the store)" \
	compose_down_v
finish

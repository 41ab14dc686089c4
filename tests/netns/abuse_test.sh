#!/bin/sh
# abuse_test.sh - the server's local sockets hold under abuse (issue 12):
#   - the admin socket: 80 clients each trickle a request one byte per
#     100 ms and never finish it; meanwhile `zerowg peer disable` answers
#     within 2 s and works (the peer leaves the data plane), and the
#     tricklers were all let in and kept (a stalled client costs a slot,
#     not the poll loop);
#   - the UAPI socket under the same server: 200 clients connected at once
#     (100 silent, 100 with half a request) do not keep `wg show` from
#     answering at once, and are closed by the server's deadline;
#   - the CLI sends nothing to an admin socket served by another user: a
#     fake server run as nobody gets no byte, and the CLI says which uid
#     serves it.
# The tricklers and the fake are /usr/bin/python3 (not a shim under /root:
# nobody runs it too).
T=abuse
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

PY=/usr/bin/python3
FAKE_DIR=""
trap '[ -n "$FAKE_DIR" ] && rm -rf "$FAKE_DIR"; lib_cleanup' EXIT
need wg setpriv timeout "$PY" "$ZWG" "$ZWGD"
hosts s

# ------------------------------------------------------------ helpers --

# The tricklers: N connections to a unix socket, each sent the same bytes
# one at a time, one byte per connection per 100 ms, never the last byte
# (a full backlog is waited out, as a patient client would).
# Writes OUT.connected (how many got in) and OUT.alive (how many the server
# has not closed, after each round).
cat >"$W/trickle.py" <<'PYEOF'
import socket, sys, time
path, n, out, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
req = first + b"\r\nHost: zerowg\r\nX-Pad: " + b"a" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
socks = []
for _ in range(n):
    # Patient: a full backlog (EAGAIN) is tried again for up to 5 s.
    deadline = time.time() + 5
    while time.time() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(path)
            socks.append(s)
            break
        except BlockingIOError:
            s.close()
            time.sleep(0.01)
        except OSError:
            s.close()
            break
with open(out + ".connected", "w") as f:
    f.write("%d\n" % len(socks))
alive = list(socks)
for pos in range(len(req) - 1):
    still = []
    for s in alive:
        try:
            s.send(req[pos:pos + 1])
            still.append(s)
        except OSError:
            s.close()
    alive = still
    with open(out + ".alive", "w") as f:
        f.write("%d\n" % len(alive))
    time.sleep(0.1)
time.sleep(3600)
PYEOF

# The fake admin server: accepts connections on a unix socket and counts
# every byte it receives in OUT (0 until one arrives).
cat >"$W/fake.py" <<'PYEOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
total = 0
with open(out, "w") as f:
    f.write("0\n")
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            total += len(b)
            with open(out, "w") as f:
                f.write("%d\n" % total)
    except OSError:
        pass
    c.close()
PYEOF

ms_now() { echo $(($(date +%s%N) / 1000000)); }
count_of() { cat "$1" 2>/dev/null || echo 0; }

# --------------------------------------------------------- the server --

check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up: the server starts" srv_start || finish
PUB_V=$(conf_pub "$(peer_add victim)")
check "setup: the victim peer is in the data plane" srv_has "$PUB_V"

# ------------------------------------------- admin socket: tricklers --

"$PY" "$W/trickle.py" "$ADMIN" 80 "$W/adm" "POST /v1/peers/victim/enable HTTP/1.1" \
	>"$W/trickle.log" 2>&1 &
echo $! >"$W/trickle.pid"
wait_for 10 test -s "$W/adm.connected" >/dev/null 2>&1
sleep 1		# every trickler is in mid-request
echo "# tricklers: connected $(cat "$W/adm.connected"), alive $(cat "$W/adm.alive" 2>/dev/null)"
check "admin: all 80 trickling clients got in" \
	sh -c "[ \"\$(cat '$W/adm.connected')\" = 80 ]"
t0=$(ms_now)
timeout 10 "$ZWG" peer disable victim --admin-socket "$ADMIN" >"$W/disable.out" 2>&1
rc=$?
t1=$(ms_now)
dt=$((t1 - t0))
if [ $rc -eq 0 ] && [ $dt -lt 2000 ]; then
	pass "admin: peer disable answers beside 80 tricklers ($dt ms)"
else
	fail "admin: peer disable answers beside 80 tricklers" \
		"exit status $rc after $dt ms (expected 0 within 2000 ms): $(cat "$W/disable.out")"
fi
check "admin: the disable took effect (the key left the data plane)" srv_lacks "$PUB_V"
echo "# tricklers after: alive $(cat "$W/adm.alive" 2>/dev/null)"
check "admin: the tricklers were kept, not thrown out to make room" \
	sh -c "[ \"\$(cat '$W/adm.alive')\" = 80 ]"
kill "$(cat "$W/trickle.pid")" 2>/dev/null
wait "$(cat "$W/trickle.pid")" 2>/dev/null
rm -f "$W/trickle.pid"
check "admin: the server still answers after the tricklers left" zcli peer list

# -------------------------------------------- UAPI socket: a crowd --

UAPI_SOCK=/var/run/wireguard/$(sif).sock
"$PY" "$W/trickle.py" "$UAPI_SOCK" 100 "$W/uapi_half" "set=1" >"$W/uapi_half.log" 2>&1 &
echo $! >"$W/uapi_half.pid"
"$PY" -c 'import socket, sys, time
s = []
for _ in range(100):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(sys.argv[1]); s.append(c)
time.sleep(3600)' "$UAPI_SOCK" >"$W/uapi_idle.log" 2>&1 &
echo $! >"$W/uapi_idle.pid"
wait_for 10 test -s "$W/uapi_half.connected" >/dev/null 2>&1
sleep 1
t0=$(ms_now)
X s timeout 10 wg show "$(sif)" dump >"$W/uapi_show.out" 2>&1
rc=$?
dt=$(($(ms_now) - t0))
if [ $rc -eq 0 ] && [ $dt -lt 2000 ]; then
	pass "uapi: wg show answers beside 200 idle and half-sent clients ($dt ms)"
else
	fail "uapi: wg show answers beside 200 idle and half-sent clients" \
		"exit status $rc after $dt ms: $(tail -n 3 "$W/uapi_show.out")"
fi
# The server's deadline is 10 s after each connect; tricklers keep sending.
check "uapi: the server closes clients that never finish a request (12 s)" \
	wait_for 14 sh -c "[ \"\$(cat '$W/uapi_half.alive')\" = 0 ]"
for p in uapi_half uapi_idle; do
	kill "$(cat "$W/$p.pid")" 2>/dev/null
	wait "$(cat "$W/$p.pid")" 2>/dev/null
	rm -f "$W/$p.pid"
done

# ------------------------------------- the CLI checks who serves it --

FAKE_DIR=$(mktemp -d /tmp/zwg-abuse-fake.XXXXXX)
cp "$W/fake.py" "$FAKE_DIR/fake.py"	# $W is root's alone
chown -R nobody "$FAKE_DIR"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$PY" "$FAKE_DIR/fake.py" "$FAKE_DIR/admin.sock" "$FAKE_DIR/bytes" >"$W/fake.log" 2>&1 &
echo $! >"$W/fake.pid"
wait_for 5 test -S "$FAKE_DIR/admin.sock" >/dev/null 2>&1
"$ZWG" peer disable victim --admin-socket "$FAKE_DIR/admin.sock" >"$W/fake_cli.out" 2>&1
rc=$?
sleep 0.5
if [ $rc -eq 1 ] && grep -qF "is served by uid 65534 (nobody), not by the zerowg server's user: refusing to send anything" "$W/fake_cli.out"; then
	pass "cli: refuses an admin socket served by nobody, naming the uid"
else
	fail "cli: refuses an admin socket served by nobody, naming the uid" \
		"exit status $rc: $(cat "$W/fake_cli.out")"
fi
check "cli: the fake server received no byte" sh -c "[ \"\$(cat '$FAKE_DIR/bytes')\" = 0 ]"
check "cli: the real server is still trusted (root or zerowg)" zcli peer enable victim

finish

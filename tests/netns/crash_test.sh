#!/bin/sh
# crash_test.sh - kill -9 durability of the server (issue 12 §4): a driver
# sends a stream of changes through the CLI and the admin socket (peer add,
# disable, enable, rotate, revoke), journalling each one before it is sent
# ("intent") and after the CLI said it succeeded ("ack"); the server is
# SIGKILLed at a random moment (its unprivileged server process, which
# writes the store, or the privileged parent), restarted on the same store,
# and then
#   - it starts: the store opens and every record authenticates (a record
#     that does not is refused at start-up, failing closed);
#   - its peers (peer list --json) are exactly the acknowledged ones, by
#     name, state and public key, allowing only the one change under way
#     (sent, not acknowledged) to be in or out;
#   - its data plane holds exactly the enabled peers' keys.
# ROUNDS rounds (CRASH_ROUNDS), each killed within 2 s; the random delays
# come from a seed printed at the start (CRASH_SEED replays one).  A
# half-written store would also surface in a later round, as each round
# goes on from what the last one left.
T=crash
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

PY=/usr/bin/python3
need timeout "$PY" "$ZWG" "$ZWGD"
ROUNDS=${CRASH_ROUNDS:-30}
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# crash: seed $SEED (CRASH_SEED=$SEED replays the kill delays)"
hosts s

# The driver and the checker.  journal lines: "intent SEQ OP NAME",
# "ack SEQ OP NAME ENABLED PUBKEY" (PUBKEY "-" for revoke).
cat >"$W/crash.py" <<'EOF'
import json, os, random, subprocess, sys

def cli(zwg, admin, *args):
    return subprocess.run([zwg, *args, "--admin-socket", admin], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)

def peers(zwg, admin):
    r = cli(zwg, admin, "peer", "list", "--json")
    if r.returncode != 0:
        raise SystemExit("peer list failed: " + r.stderr.decode(errors="replace"))
    return {p["name"]: (bool(p["enabled"]), p["public_key"]) for p in json.loads(r.stdout)["peers"]}

def pubkey(zwg, conf):
    for line in conf.splitlines():
        if line.startswith("PrivateKey"):
            priv = line.split("=", 1)[1].strip()
            r = subprocess.run([zwg, "pubkey"], input=(priv + "\n").encode(),
                               stdout=subprocess.PIPE, check=True)
            return r.stdout.decode().strip()
    return None

def drive(zwg, admin, journal, seq, seed):
    rnd = random.Random(seed)
    state = peers(zwg, admin)
    with open(journal, "a", buffering=1) as j:
        while True:
            names = sorted(state)
            if not names:
                op = "add"
            elif len(names) >= 20:
                op = "revoke"
            else:
                op = rnd.choice(["add", "add", "disable", "enable", "rotate", "revoke"])
            name = "p%d" % seq if op == "add" else rnd.choice(names)
            j.write("intent %d %s %s\n" % (seq, op, name))
            if op in ("add", "rotate"):
                args = ["peer", op, name, "--no-qr"]
            else:
                args = ["peer", op, name]
            try:
                r = cli(zwg, admin, *args)
            except subprocess.TimeoutExpired:
                return
            if r.returncode != 0:
                return          # the server is gone: this change is under way
            if op == "revoke":
                del state[name]
                j.write("ack %d %s %s - -\n" % (seq, op, name))
            else:
                en, key = state.get(name, (True, None))
                if op in ("add", "rotate"):
                    key = pubkey(zwg, r.stdout.decode())
                    if op == "add":
                        en = True
                elif op in ("disable", "enable"):
                    en = op == "enable"
                state[name] = (en, key)
                j.write("ack %d %s %s %d %s\n" % (seq, op, name, int(en), key))
            seq += 1

def check(zwg, admin, journal, modelf, wg_peers):
    model = {}
    if os.path.exists(modelf):
        for line in open(modelf):
            n, en, key = line.split()
            model[n] = (en == "1", key)
    pending = None
    acked = 0
    for line in open(journal):
        f = line.split()
        if f[0] == "intent":
            pending = f
            continue
        acked += 1
        pending = None
        _, _, op, name, en, key = f
        if op == "revoke":
            model.pop(name, None)
        else:
            model[name] = (en == "1", key)
    have = peers(zwg, admin)
    bad = []
    pname = pending[3] if pending else None
    for n in sorted(set(model) | set(have)):
        if n == pname:
            continue        # in or out, as it happened
        if n not in have:
            bad.append("acknowledged peer %s is missing" % n)
        elif n not in model:
            bad.append("peer %s is stored but was never acknowledged" % n)
        elif model[n] != have[n]:
            bad.append("peer %s is %s, acknowledged %s" % (n, have[n], model[n]))
    want = sorted(k for (en, k) in have.values() if en)
    if sorted(wg_peers) != want:
        bad.append("the data plane has %s, the enabled peers are %s" % (sorted(wg_peers), want))
    # The truth from here on: what the restarted server has.
    with open(modelf, "w") as m:
        for n, (en, key) in sorted(have.items()):
            m.write("%s %d %s\n" % (n, int(en), key))
    made = "none"
    if pending:
        n = pending[3]
        before = model.get(n)
        made = "in" if have.get(n) != before else "out"
    print("acked %d pending %s %s" % (acked, " ".join(pending[2:4]) if pending else "-", made))
    for b in bad:
        print("BAD " + b)
    return 1 if bad else 0

if __name__ == "__main__":
    if sys.argv[1] == "drive":
        drive(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]))
EOF

# kill_server: SIGKILL the server (its worker or its parent, by turns) and
# make sure nothing of it is left.
kill_server() {
	local p w n
	p=$(srv_pid)
	w=$(ps -o pid= --ppid "$p" 2>/dev/null | head -n 1 | tr -d ' ')
	if [ $(($1 % 2)) -eq 0 ] && [ -n "$w" ]; then
		kill -9 "$w" 2>/dev/null
	else
		kill -9 "$p" 2>/dev/null
	fi
	n=0
	while { running "$p" || { [ -n "$w" ] && running "$w"; }; } && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	# Whatever survived its partner's death gets the same.
	for q in $p $w; do running "$q" && kill -9 "$q" 2>/dev/null; done
	wait "$p" 2>/dev/null
	rm -f "$W/server.pid"
}

check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up: the server starts" srv_start || finish

seq=1
acked=0
made_in=0
made_out=0
bad=0
r=0
while [ $r -lt "$ROUNDS" ]; do
	: >"$W/journal"
	"$PY" "$W/crash.py" drive "$ZWG" "$ADMIN" "$W/journal" "$seq" "$((SEED + r))" &
	drv=$!
	# 50 ms .. 2 s
	ms=$(( (SEED / (r + 1) + r * 7919) % 1950 + 50 ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill_server "$r"
	# The driver stops at its first failed call; its CLI times out at 20 s.
	n=0
	while running "$drv" && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$drv" && kill "$drv" 2>/dev/null
	wait "$drv" 2>/dev/null
	last=$(tail -n 1 "$W/journal" | awk '{print $2}')
	[ -n "$last" ] && seq=$((last + 1))
	if ! srv_start >"$W/restart.out" 2>&1; then
		echo "round $r: the server does not start again after kill -9 ($ms ms):"
		cat "$W/restart.out"
		bad=$((bad + 1))
		break
	fi
	# shellcheck disable=SC2046
	out=$("$PY" "$W/crash.py" check "$ZWG" "$ADMIN" "$W/journal" "$W/model" $(srv_wg peers))
	st=$?
	# shellcheck disable=SC2086
	set -- $(printf '%s\n' "$out" | head -n 1)
	acked=$((acked + ${2:-0}))
	case ${6:-} in in) made_in=$((made_in + 1)) ;; out) made_out=$((made_out + 1)) ;; esac
	if [ $st -ne 0 ]; then
		echo "round $r (killed after $ms ms):"
		printf '%s\n' "$out"
		bad=$((bad + 1))
	fi
	r=$((r + 1))
done
echo "# crash: $r rounds, $acked acknowledged changes; the change under way at the kill made it $made_in times, not $made_out times"
check "kill -9 x$ROUNDS: every acknowledged change survives, nothing half-written is read" \
	test "$bad" -eq 0 -a "$r" -eq "$ROUNDS"
check "the stream made progress ($acked acknowledged changes)" test "$acked" -gt "$ROUNDS"
srv_stop
finish

#!/bin/sh
# timers_test.sh - the protocol timers, run at ZWG_TIME_SCALE=20 (protocol
# time 20x faster: REKEY_AFTER_TIME 120 s -> 6 s, REKEY_ATTEMPT_TIME 90 s ->
# 4.5 s, REKEY_TIMEOUT 5 s -> 0.25 s, KEEPALIVE_TIMEOUT 10 s -> 0.5 s).
# The knob exists only in zerowgd-test, so with another IMPL_A this test
# skips, unless TIMERS_REALTIME=1 (scale 1, about five minutes: how the
# checks themselves were proven against wireguard-go).
#
# What is observed, and how:
#   rekey      a pings b 5 times a second for REKEY_AFTER_TIME + 4 s; a's
#              latest-handshake for b (wg show) changes during that time
#              (a new handshake, a different second), and at most 2 of the
#              pings are lost.
#   give up    b's daemon is killed and a sends one more ping.  a's daemon
#              then starts handshakes and retries them every REKEY_TIMEOUT;
#              we count the UDP datagrams a's namespace sends (OutDatagrams
#              in /proc/net/snmp{,6}: only the daemon sends UDP there).  The
#              count must grow (retries happen), then stop (the retries end
#              after REKEY_ATTEMPT_TIME) and stay still for a while, after
#              no more than 30 datagrams (the protocol allows 1 + 18).
#   keepalive  with a fresh session, a sends one UDP datagram to a silent
#              listener on b (one-way data).  b owes a reply, so after
#              KEEPALIVE_TIMEOUT it sends a keepalive: a's rx counter for b
#              grows by a 32-byte keepalive.
T=timers
. "${0%/*}/lib.sh"

if [ -n "${TIMERS_REALTIME:-}" ]; then
	S=1
elif is_zerowgd "$IMPL_A" && is_zerowgd "$IMPL_B"; then
	S=${ZWG_TIME_SCALE:-20}
else
	skip "ZWG_TIME_SCALE needs zerowgd-test on both sides (TIMERS_REALTIME=1 to run at scale 1)"
	finish
fi
# sc SECONDS: protocol seconds in real seconds (rounded up, at least 1).
sc() { awk -v t="$1" -v s="$S" 'BEGIN { r = t / s; i = int(r); if (i < r) i++; if (i < 1) i = 1; print i }'; }

hosts a b
A=$(ifn a) B=$(ifn b)

# ------------------------------------------------------------ rekey --
check "start a pair at time scale $S" wg_pair a b 4 ZWG_TIME_SCALE="$S" || finish
check "first handshake (ping a -> b)" ping_ok a "$(t4 b)"
sleep 1.1
h0=$(hs a b)
dur=$(($(sc 120) + 4))
count=$((dur * 5))
X a ping -n -i 0.2 -W 2 -c "$count" "$(t4 b)" >"$W/ping.out" 2>&1 &
pp=$!
rekeyed=""
n=0
while [ $n -lt $((dur * 4 + 20)) ]; do
	h=$(hs a b)
	if [ -n "$h" ] && [ "$h" != "$h0" ]; then rekeyed=$h; fi
	running "$pp" || break
	sleep 0.25
	n=$((n + 1))
done
wait "$pp"
check "rekey during a continuous ping of $dur s (latest-handshake $h0 -> ${rekeyed:-unchanged})" [ -n "$rekeyed" ]
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping.out")
check "at most 2 of $count pings lost across the rekey (received ${got:-?})" [ "${got:-0}" -ge $((count - 2)) ]
check "b also saw the new handshake" sh -c "[ '$(hs b a)' != '$h0' ]"

# --------------------------------------------------------- give up --
udp_out() {
	X a awk '/^Udp:/ { n++; if (n == 2) v4 = $5 } /^Udp6OutDatagrams/ { v6 = $2 } END { print v4 + v6 }' \
		/proc/net/snmp /proc/net/snmp6
}
wg_stop "$B"
o0=$(udp_out)
X a ping -q -n -c 1 -W 1 "$(t4 b)" >/dev/null 2>&1
# wait_quiet QUIET_TICKS MAX_TICKS (ticks of 0.2 s): until the counter has
# not moved for QUIET_TICKS.
wait_quiet() {
	local last cur still n
	last=$(udp_out) still=0 n=0
	while [ $n -lt "$2" ]; do
		sleep 0.2
		cur=$(udp_out)
		if [ "$cur" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge "$1" ] && return 0
		else
			still=0 last=$cur
		fi
		n=$((n + 1))
	done
	return 1
}
# Quiet = four retry intervals (REKEY_TIMEOUT plus up to 1/3 s of jitter).
quiet=$(( ($(sc 5) * 4 + 2) * 5 ))
limit=$(( ($(sc 15) + $(sc 90) + $(sc 20) + 10) * 5 ))
wait_quiet "$quiet" "$limit"
quieted=$?
o1=$(udp_out)
sent=$((o1 - o0))
check "after b died, a sent handshake retries ($sent UDP datagrams)" [ "$sent" -ge 3 ]
check "the retries stopped (REKEY_ATTEMPT_TIME) instead of going on" [ "$quieted" -eq 0 ]
check "no more than 30 datagrams in all (protocol: 1 + 18 retries) - sent $sent" [ "$sent" -le 30 ]
sleep 2
o2=$(udp_out)
check "and a stays silent afterwards ($o1 -> $o2 datagrams)" [ "$o2" = "$o1" ]
check "a's daemon still running" alive "$A"

# ------------------------------------------------------- keepalive --
wg_stop "$A"
check "start a fresh pair" wg_pair a b 4 ZWG_TIME_SCALE="$S" || finish
check "handshake (ping a -> b)" ping_ok a "$(t4 b)"
# Let the ping's own passive keepalive (a received the reply last) pass.
sleep "$(($(sc 10) + 1))"
ip netns exec "$(H b)" timeout 30 nc -u -l -n "$(t4 b)" 9 >/dev/null 2>&1 &
wait_listen b 9 udp
r0=$(rx a b)
echo hello | X a timeout 3 nc -u -n -q0 -w1 "$(t4 b)" 9
keepalive_seen() {
	local n r
	n=0
	while [ $n -lt $(($(sc 10) * 30 + 20)) ]; do
		r=$(rx a b)
		[ "$r" -gt "$r0" ] && break
		sleep 0.1
		n=$((n + 1))
	done
	echo "a's rx from b: $r0 -> $r bytes"
	[ $((r - r0)) -ge 32 ]
}
check "one-way data a -> b: b sends a keepalive back (KEEPALIVE_TIMEOUT)" keepalive_seen
check "daemons still running" alive "$A" "$B"

finish

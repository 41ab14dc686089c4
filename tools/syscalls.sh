#!/bin/sh
# tools/syscalls.sh - measures which system calls `zerowg up` and zerowgd
# really make, to keep src/common/sandbox.c's seccomp allow-lists honest.
#
#   tools/syscalls.sh [NETNS-TEST...]     (root; needs strace)
#
# Runs the given network-namespace tests (default: server_test cli_test
# basic_test uapi_test) with the server and the daemon under `strace -f`,
# through wrappers handed in by the variables the tests already read (ZWG,
# ZEROWG, IMPL_A, IMPL_B): no test file changes.  strace -D keeps the traced
# program's pid (signals from the tests reach it, not strace).  Then prints,
# per program, every system call seen (with its count) and the distinct
# ioctl requests, socket() arguments and prctl options, first for the whole
# run and then only from the point the program said it was ready (the
# steady state the sandbox has to allow).  Traces and the tests' output
# (run.log) stay in $OUT (default /tmp/zwg-syscalls.<pid>).  With a build
# that already installs the filter, grep the traces for EPERM after the
# seccomp() call: a system call the list forgot.
#   O=build-x   build directory (default build; `make O=... all` first, and
#               the test binaries: zerowg-test, zerowgd-test, tools/udpgso_send)
set -u
O=${O:-build}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
OUT=${OUT:-/tmp/zwg-syscalls.$$}
TESTS=${*:-server_test cli_test basic_test uapi_test}
command -v strace >/dev/null || { echo "strace is missing: apt-get install --no-install-recommends strace"; exit 1; }
mkdir -p "$OUT/trace"

# wrap NAME BINARY ONLY-FOR-VERB: a script that runs BINARY under strace
# (only when its first argument is ONLY-FOR-VERB, if one is given).
wrap() {
	cat >"$OUT/$1" <<EOF
#!/bin/sh
case "\${1:-}" in ${3:-*}) exec strace -D -f -qq -s 200 -o "$OUT/trace/$1.\$\$" -- "$2" "\$@" ;; esac
exec "$2" "\$@"
EOF
	chmod +x "$OUT/$1"
}
wrap server "$O/zerowg-test" up
wrap server-slim "$O/zerowg" up
wrap zerowgd "$O/zerowgd-test"

echo "traces in $OUT/trace; running: $TESTS"
NETNS_TESTS="$TESTS" O="$O" ZWG="$OUT/server" ZEROWG="$OUT/server-slim" \
	IMPL_A="$OUT/zerowgd -f {IF}" IMPL_B="$OUT/zerowgd -f {IF}" tests/run.sh netns >"$OUT/run.log" 2>&1
# (LeakSanitizer cannot work under strace: trace release builds.)
grep -E '^FAIL |passed, .* failed$' "$OUT/run.log"

# summary TITLE FILES...: syscall counts, then ioctl/socket/prctl arguments.
summary() {
	title=$1; shift
	[ $# -gt 0 ] || return 0
	echo "== $title: system calls"
	cat "$@" | sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' | sort | uniq -c | sort -k2
	echo "== $title: ioctl requests"
	cat "$@" | sed -n 's/^[0-9]* *ioctl([0-9]*, \([A-Z_0-9x]*\).*/\1/p' | sort | uniq -c
	echo "== $title: socket() calls"
	cat "$@" | sed -n 's/^[0-9]* *socket(\([^)]*\)).*/\1/p' | sort | uniq -c
	echo "== $title: prctl options"
	cat "$@" | sed -n 's/^[0-9]* *prctl(\([A-Z_0-9]*\).*/\1/p' | sort | uniq -c
}
# steady FILE: the trace from the program's "ready" log line on (the server
# logs "listening", zerowgd "Device started").
steady() {
	awk '/write\(2, .*(Device started|listening|Listening)/ { on = 1 } on' "$1"
}
for prog in server server-slim zerowgd; do
	set -- "$OUT"/trace/"$prog".*
	[ -e "$1" ] || continue
	summary "$prog (whole run)" "$@"
	for f in "$@"; do steady "$f"; done >"$OUT/$prog.steady"
	summary "$prog (after ready)" "$OUT/$prog.steady"
done

#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `tcptrace-bpf lab`, the lab as a first-run demo (tests/lab/demo.sh), run
# as a user runs it, through the binary:
#   demo/list, demo/unknown, demo/no-root, demo/no-nft: --list names every
#     scenario with its fault and expected codes; an unknown scenario is a
#     usage error (2); without root, or without nft, one line and 1;
#   demo/run: two quick scenarios end to end: exit 0, each one's block
#     pairs the fault with the tracer's own diagnosis lines and says it was
#     diagnosed, and nothing is left behind;
#   demo/sigint: Ctrl-C (SIGINT to the whole process group, as a terminal
#     sends it) while a scenario's client waits for an answer to its SYNs
#     that never comes, and again 0.2 s later, during the cleanup: exit
#     130 within seconds, nothing left behind;
#   demo/sigterm: the same with SIGTERM to the process alone: exit 143.
# "Nothing left behind": no namespace of the run, no link named after it in
# the root namespace, no nft table added there, no process that carries
# the run's LAB_ID (every process the lab starts inherits it), and an
# empty TMPDIR (the run directory).
#
# The three runs go side by side (under 30 s together on an idle machine);
# tests/run.sh runs this beside the lab. Prints PASS/FAIL/SKIP lines.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-demo-test.XXXXXX") || exit 1
PIDS=()
cleanup() {
	local pid

	# a run that outlived its test: the whole group, as a terminal would
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		kill -KILL -- "-$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$BIN" ]; then
	echo "FAIL demo: $BIN is not built"
	exit 1
fi

# A run's id: unique per run, so leftovers can be told from the lab's.
new_id() { printf '%06x' $(( ($$ * 32768 + RANDOM) % 16777216 )); }

# left_behind ID DIR: what the run ID left, or nothing.
left_behind() {
	local id=$1 dir=$2 left=() x

	x=$(ip netns list 2>/dev/null | awk -v id="$id" 'index($1, id) { print $1 }' | paste -sd' ' -)
	[ -n "$x" ] && left+=("namespaces: $x")
	x=$(ip -o link show 2>/dev/null | awk -F': ' -v id="tt$id" 'index($2, id) { print $2 }' |
		paste -sd' ' -)
	[ -n "$x" ] && left+=("links: $x")
	x=$(grep -lzx "LAB_ID=$id" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | paste -sd' ' -)
	[ -n "$x" ] && left+=("processes: $x ($(ps -o comm= -p "${x// /,}" | paste -sd, -))")
	x=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | paste -sd' ' -)
	[ -n "$x" ] && left+=("in TMPDIR: $x")
	[ "${#left[@]}" -gt 0 ] && printf '%s; ' "${left[@]}"
}

# ------------------------------------------------------------ no lab needed

out=$("$BIN" lab --list 2>&1)
rc=$?
missing=
for scn in refused syn-drop firewall-reject no-route host-unreachable drop-synack nat \
	listen-overflow loss pmtu blackhole hang noread crash killed; do
	grep -q "^  $scn\$" <<<"$out" || missing+=" $scn"
done
if [ "$rc" -ne 0 ]; then
	echo "FAIL demo/list: exit $rc: $(head -c 300 <<<"$out")"
elif [ -n "$missing" ]; then
	echo "FAIL demo/list: does not name:$missing"
elif [ "$(grep -c '^      fault: ' <<<"$out")" -ne 15 ] ||
	[ "$(grep -c '^      expected: [A-Z_]' <<<"$out")" -ne 15 ]; then
	echo "FAIL demo/list: not a fault and an expected line for each of 15 scenarios"
else
	echo "PASS demo/list"
fi

out=$("$BIN" lab refused nosuch 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	grep -q "unknown scenario 'nosuch'" <<<"$out"; then
	echo "PASS demo/unknown"
else
	echo "FAIL demo/unknown: exit $rc, want 2 and one line: $(head -c 300 <<<"$out")"
fi

if [ "$(id -u)" -ne 0 ]; then
	out=$("$BIN" lab refused 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q 'needs root' <<<"$out"; then
		echo "PASS demo/no-root"
	else
		echo "FAIL demo/no-root: exit $rc: $(head -c 300 <<<"$out")"
	fi
	for t in run sigint sigterm no-nft; do
		echo "SKIP demo/$t: needs root (network namespaces, BPF)"
	done
	exit 0
fi

if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$BIN" lab refused 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q 'needs root' <<<"$out"; then
		echo "PASS demo/no-root"
	else
		echo "FAIL demo/no-root: exit $rc, want 1 and one line: $(head -c 300 <<<"$out")"
	fi
else
	echo "SKIP demo/no-root: setpriv missing"
fi

# A PATH with what the demo needs before its tool check, and ip, tc and jq,
# but no nft.
mkdir -p "$TMP/bin"
for t in bash dirname id ip tc jq; do
	x=$(command -v "$t") && ln -s "$x" "$TMP/bin/$t"
done
out=$(PATH=$TMP/bin "$BIN" lab refused 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q 'nft is not installed' <<<"$out"; then
	echo "PASS demo/no-nft"
else
	echo "FAIL demo/no-nft: exit $rc, want 1 and one line: $(head -c 300 <<<"$out")"
fi

# ------------------------------------------------------------ the lab

for tool in jq nft ip; do
	if ! command -v "$tool" >/dev/null; then
		for t in run sigint sigterm; do
			echo "SKIP demo/$t: the lab's tools are missing (make deps)"
		done
		exit 0
	fi
done
nft_before=$(nft list tables 2>/dev/null | sort)

# start NAME SCENARIO...: the demo in a session of its own (its process
# group is what a terminal's Ctrl-C reaches), with a LAB_ID and a TMPDIR
# of its own. NAME.pid: its pid, the group's id; NAME.rc: its exit status,
# once it ended (written by the job that waits for it: any shell can read
# it, where only the parent could wait).
start() {
	local name=$1
	shift

	mkdir -p "$TMP/$name.tmp"
	new_id >"$TMP/$name.id"
	(
		setsid env LAB_ID="$(cat "$TMP/$name.id")" TMPDIR="$TMP/$name.tmp" \
			"$BIN" lab "$@" >"$TMP/$name.out" 2>&1 </dev/null &
		echo $! >"$TMP/$name.pid.new"
		mv "$TMP/$name.pid.new" "$TMP/$name.pid"
		wait $!
		echo $? >"$TMP/$name.rc.new"
		mv "$TMP/$name.rc.new" "$TMP/$name.rc"
	) &
	until [ -s "$TMP/$name.pid" ]; do sleep 0.05; done
}

# Milliseconds now.
now_ms() { local t=${EPOCHREALTIME/./}; echo "${t%???}"; }

# ended NAME SECS: wait for the run's status at most SECS; it is in $rc.
ended() {
	local deadline=$((SECONDS + $2))

	rc=
	while :; do
		[ -s "$TMP/$1.rc" ] && { rc=$(cat "$TMP/$1.rc"); return 0; }
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# block OUT SCENARIO: that scenario's block of the demo's output.
block() {
	awk -v s="$2" '/^\[[0-9]+\/[0-9]+\] / { in_block = ($2 == s) } in_block' "$1"
}

# demo/run: refused (CONNECTION_REFUSED at service-a, PORT_CLOSED at
# service-b) and crash (PEER_RESET, LOCAL_RESET), in that order.
check_run() {
	local pid id why=() scn code b n=0 rc rest

	pid=$(cat "$TMP/run.pid") id=$(cat "$TMP/run.id")
	if ! ended run 300; then
		why+=("still running after 300 s")
		kill -KILL -- "-$pid" 2>/dev/null
		ended run 10
	fi
	[ "$rc" = 0 ] || why+=("exit ${rc:-unknown}, want 0")
	for scn in refused crash; do
		n=$((n + 1))
		b=$(block "$TMP/run.out" "$scn")
		if [ -z "$b" ]; then
			why+=("no block for $scn")
			continue
		fi
		head -n 1 <<<"$b" | grep -qx "\[$n/2\] $scn" || why+=("$scn is not block $n of 2")
		grep -q '^  fault:     [a-z]' <<<"$b" || why+=("$scn: no fault line")
		for code in $([ "$scn" = refused ] && echo CONNECTION_REFUSED PORT_CLOSED ||
			      echo PEER_RESET LOCAL_RESET); do
			# the tracer's own line, indented under the host that saw it
			grep -Eq "^    [0-9:.]+Z $code " <<<"$b" ||
				why+=("$scn: no $code line of the tracer's")
			grep -q "^  result:    diagnosed: .*$code at service-" <<<"$b" ||
				why+=("$scn: the result does not name $code")
		done
	done
	grep -q '^tcptrace-bpf lab: 2 of 2 faults diagnosed' "$TMP/run.out" ||
		why+=("no '2 of 2 faults diagnosed' line")
	rest=$(left_behind "$id" "$TMP/run.tmp")
	[ -n "$rest" ] && why+=("left behind: ${rest%; }")
	if [ "${#why[@]}" -eq 0 ]; then
		echo "PASS demo/run"
	else
		echo "FAIL demo/run: $(printf '%s; ' "${why[@]}")"
		sed 's/^/    | /' "$TMP/run.out" | tail -n 60
	fi
}

# check_interrupt NAME SIG WANT: once the syn-drop scenario's client waits
# for its SYNs' answer (6 s; it starts as soon as the tracer is up), SIG;
# exit WANT within 5 s. (One tracer: the lab beside holds up to 50 on the
# kernel's 64 a tracepoint.)
check_interrupt() {
	local name=$1 sig=$2 want=$3 pid id rc rest t0 ms why=() target

	pid=$(cat "$TMP/$name.pid") id=$(cat "$TMP/$name.id")
	for _ in $(seq 900); do
		grep -qs 'tcptrace-bpf: tracing' "$TMP/$name.tmp"/tcptrace-lab.*/syn-drop-v4.a.log &&
			break
		[ -s "$TMP/$name.rc" ] && break
		sleep 0.1
	done
	if ended "$name" 0; then
		echo "FAIL demo/$name: the demo ended (status $rc) before its tracers were up"
		sed 's/^/    | /' "$TMP/$name.out" | tail -n 30
		return
	fi
	sleep 0.5
	# Ctrl-C reaches the terminal's whole foreground group; kill(1) one process
	[ "$sig" = INT ] && target=-$pid || target=$pid
	t0=$(now_ms)
	kill "-$sig" -- "$target"
	# an impatient user presses Ctrl-C again while the lab is removed
	if [ "$sig" = INT ]; then
		sleep 0.2
		kill -INT -- "$target" 2>/dev/null
	fi
	ended "$name" 10
	ms=$(($(now_ms) - t0))
	if [ -z "$rc" ]; then
		why+=("still running 10 s after SIG$sig")
		kill -KILL -- "-$pid" 2>/dev/null
		ended "$name" 10
	fi
	[ "$rc" = "$want" ] || why+=("exit ${rc:-unknown}, want $want")
	[ "$ms" -le 5000 ] || why+=("took $ms ms to stop")
	grep -q '^  result:' "$TMP/$name.out" && why+=("syn-drop had finished: not interrupted mid-run")
	rest=$(left_behind "$id" "$TMP/$name.tmp")
	[ -n "$rest" ] && why+=("left behind: ${rest%; }")
	if [ "${#why[@]}" -eq 0 ]; then
		echo "PASS demo/$name (stopped in $ms ms)"
	else
		echo "FAIL demo/$name: $(printf '%s; ' "${why[@]}")"
		sed 's/^/    | /' "$TMP/$name.out" | tail -n 30
	fi
}

start run refused crash
start sigint syn-drop
start sigterm syn-drop
PIDS=("$(cat "$TMP/run.pid")" "$(cat "$TMP/sigint.pid")" "$(cat "$TMP/sigterm.pid")")
check_interrupt sigint INT 130 >"$TMP/sigint.result" &
check_interrupt sigterm TERM 143 >"$TMP/sigterm.result" &
check_run >"$TMP/run.result"
wait
cat "$TMP/run.result" "$TMP/sigint.result" "$TMP/sigterm.result"
PIDS=()

nft_after=$(nft list tables 2>/dev/null | sort)
if [ "$nft_before" != "$nft_after" ]; then
	echo "FAIL demo/nft: the root namespace's nft tables changed:" \
	     "$(diff <(echo "$nft_before") <(echo "$nft_after") | grep '^[<>]' | paste -sd' ' -)"
else
	echo "PASS demo/nft"
fi

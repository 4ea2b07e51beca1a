#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Coexistence: the tracer beside other tools' programs on the same
# interface, and beside a second tracer. Two namespaces, client and
# server, one veth pair; the tracer watches the server's namespace. Another
# tool's program (tests/coexist/foreign.c: it drops the TCP segments to
# one port and counts them) sits on the server's ingress as
#   - XDP (the tracer, asked for --xdp, must not replace it: TC instead),
#   - a cls_bpf filter in the same clsact, ahead of ours (our tcx link, and
#     our own netlink filter, TCPTRACE_NO_TCX=1, as before 6.6),
#   - a tcx link attached after ours (ours must pass the packet on),
# and in each case: the connections to its port are dropped, IPv4 and
# IPv6 (its verdict applies; its count says so), a connection to another
# port works and our NIC hooks count it, the tracer exits 0 on SIGINT
# leaving nothing of its own, and the other program is still where it was
# (nothing replaced or removed it). Then two tracers with netlink filters
# on the same interface: the second keeps the first's filters at its
# start and its exit, and the first counts on.
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
PEER=${PEER:-$ROOT/build/peer}
FOREIGN=${FOREIGN:-$ROOT/build/foreign}
TMP=$(mktemp -d)
NS_C=tt-cxc-$$
NS_S=tt-cxs-$$
P_OK=9501	# answered
P_DROP=9502	# answered too, but the other tool drops what comes to it
C4=10.77.0.1 S4=10.77.0.2 C6=fd77::1 S6=fd77::2
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP coexist: needs root"
	exit 0
fi
for f in "$BIN" "$PEER" "$FOREIGN"; do
	if [ ! -x "$f" ]; then
		echo "FAIL coexist: $f is not built (make $(basename "$f"))"
		exit 1
	fi
done

ip netns add "$NS_C" && ip netns add "$NS_S" &&
	ip -n "$NS_C" link add c0 type veth peer name s0 netns "$NS_S" &&
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up &&
	ip -n "$NS_C" addr add "$C4/24" dev c0 && ip -n "$NS_S" addr add "$S4/24" dev s0 &&
	ip -n "$NS_C" addr add "$C6/64" dev c0 nodad && ip -n "$NS_S" addr add "$S6/64" dev s0 nodad &&
	ip -n "$NS_C" link set c0 up && ip -n "$NS_S" link set s0 up || {
	echo "FAIL coexist: cannot build the namespaces"
	exit 1
}
for port in $P_OK $P_DROP; do
	# bounded by the cleanup, not by time: a loaded machine is slow
	ip netns exec "$NS_S" "$PEER" server -l :: -p "$port" -m answer -d 3600000 \
		--ready-file "$TMP/ready.$port" 2>/dev/null &
	PIDS+=($!)
done
for _ in $(seq 100); do
	[ -e "$TMP/ready.$P_OK" ] && [ -e "$TMP/ready.$P_DROP" ] && break
	sleep 0.05
done

# held_ids PID: its BPF programs and links, from its fds' fdinfo.
held_ids() {
	grep -h '^prog_id:\|^link_id:' /proc/"$1"/fdinfo/* 2>/dev/null |
		sed 's/_id:[[:space:]]*/ /' | sort -u
}
# still_held FILE: those of FILE's ids the kernel still has (after the RCU
# grace period that frees them, up to 2 s).
still_held() {
	local left
	for _ in $(seq 40); do
		left=$(while read -r kind id; do
			bpftool "$kind" show id "$id" >/dev/null 2>&1 && echo "$kind $id"
		done <"$1")
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "$left" | tr '\n' ' '
}

# foreign_start NAME MODE: the other tool's program on s0; false unless in place.
foreign_start() {
	ip netns exec "$NS_S" "$FOREIGN" "$2" s0 "$P_DROP" >"$TMP/$1.foreign" 2>&1 &
	FOREIGN_PID=$!
	PIDS+=("$FOREIGN_PID")
	for _ in $(seq 100); do
		grep -q '^attached' "$TMP/$1.foreign" 2>/dev/null && return 0
		kill -0 "$FOREIGN_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# foreign_stop NAME: sets DROPS (its count) and THERE (yes: still attached).
foreign_stop() {
	kill -TERM "$FOREIGN_PID" 2>/dev/null
	wait "$FOREIGN_PID" 2>/dev/null
	read -r DROPS THERE <<<"$(awk '$1 == "drops" { print $2, $4 }' "$TMP/$1.foreign")"
}

# tracer_start NAME [env...] -- [options...]: a tracer on the server's
# namespace ($TRACER_PID), false unless it says it is tracing.
tracer_start() {
	local name=$1 env=()
	shift
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	env ${env[@]+"${env[@]}"} "$BIN" --netns "/run/netns/$NS_S" -j --interval 100 \
		--conn-interval 1 "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	TRACER_PID=$!
	PIDS+=("$TRACER_PID")
	for _ in $(seq 200); do
		grep -q 'tcptrace-bpf: tracing' "$TMP/$name.err" 2>/dev/null && {
			held_ids "$TRACER_PID" >"$TMP/$name.ids"
			return 0
		}
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# tracer_stop NAME PID: SIGINT; adds to the caller's why array what went
# wrong (exit status, what it left in the kernel).
tracer_stop() {
	local rc=0 left
	kill -INT "$2"
	wait "$2" || rc=$?
	[ "$rc" -eq 0 ] || why+=("$1 exited with $rc")
	left=$(still_held "$TMP/$1.ids")
	[ -z "$left" ] || why+=("$1 left $left")
}

# nic_flows NAME: NIC flow records the tracer opened, by its last stats record.
nic_flows() {
	jq -s '[.[] | select(.type == "stats")] | last | .nic_flows_opened // 0' \
		"$TMP/$1.json" 2>/dev/null
}

# traffic: the other tool's port dropped (IPv4 and IPv6), another answered.
# Prints why it failed.
traffic() {
	local a b c
	ip netns exec "$NS_C" "$PEER" client -c "$S4" -p "$P_DROP" -m request \
		--timeout-ms 1000 --expect timeout 2>/dev/null & a=$!
	ip netns exec "$NS_C" "$PEER" client -c "$S6" -p "$P_DROP" -m request \
		--timeout-ms 1000 --expect timeout 2>/dev/null & b=$!
	ip netns exec "$NS_C" "$PEER" client -c "$S4" -p "$P_OK" -m request \
		--timeout-ms 3000 --expect ok 2>/dev/null & c=$!
	wait "$a" || echo "IPv4 to the dropped port was not dropped"
	wait "$b" || echo "IPv6 to the dropped port was not dropped"
	wait "$c" || echo "the other port did not answer"
}

# beside NAME MODE ORDER [env...] -- [tracer options...]: the other tool in
# MODE, started before or after the tracer (ORDER), then the checks above.
beside() {
	local name=$1 mode=$2 order=$3 why=() out drops there flows
	shift 3

	if [ "$order" = before ] && ! foreign_start "$name" "$mode"; then
		echo "FAIL coexist-$name: the other tool did not attach: $(head -c 300 "$TMP/$name.foreign")"
		return
	fi
	if ! tracer_start "$name" "$@"; then
		echo "FAIL coexist-$name: the tracer did not attach: $(head -c 400 "$TMP/$name.err")"
		[ "$order" = before ] && foreign_stop "$name"
		return
	fi
	if [ "$order" = after ] && ! foreign_start "$name" "$mode"; then
		why+=("the other tool did not attach after ours: $(head -c 300 "$TMP/$name.foreign")")
	fi
	out=$(traffic)
	[ -n "$out" ] && why+=("$(echo "$out" | paste -sd';' - | sed 's/;/; /g')")
	# the last stats record, once the answered flow is in it
	for _ in $(seq 40); do [ "$(nic_flows "$name")" -gt 0 ] && break; sleep 0.05; done
	tracer_stop "$name" "$TRACER_PID"
	flows=$(nic_flows "$name")
	[ "${flows:-0}" -gt 0 ] || why+=("our NIC hooks counted no flow")
	foreign_stop "$name"
	drops=$DROPS there=$THERE
	[ "${drops:-0}" -ge 2 ] || why+=("the other tool dropped ${drops:-nothing} (at least 2 SYNs expected)")
	[ "${there:-}" = yes ] || why+=("the other tool's program was replaced or removed")
	if [ "$mode" = xdp ] && ! grep -q 'holds XDP on s0.*counting its ingress with TC' "$TMP/$name.err"; then
		why+=("the tracer did not say the XDP hook was taken")
	fi
	if [ "${#why[@]}" -eq 0 ]; then
		echo "# coexist-$name: it dropped $drops, ours opened $flows NIC flow records"
		echo "PASS coexist-$name"
	else
		echo "FAIL coexist-$name: $(printf '%s; ' "${why[@]}")stderr: $(head -c 300 "$TMP/$name.err")"
	fi
}

beside xdp xdp before -- --xdp
beside tc tc before --
beside tc-netlink tc before TCPTRACE_NO_TCX=1 --
if [ "$(uname -r | awk -F. '{ print ($1 > 6 || ($1 == 6 && $2 >= 6)) }')" = 1 ]; then
	beside tcx tcx after --
else
	echo "SKIP coexist-tcx: no tcx before Linux 6.6"
fi

# ------------------------------------------------------------ two tracers
# Netlink filters (the path of kernels before 6.6, where nothing detaches
# a killed tracer's and each start removes the stale ones): the second's
# start and exit leave the first's filters, which count on.
twin() {
	local why=() a b out before after handle

	if ! tracer_start twin-a TCPTRACE_NO_TCX=1 --; then
		echo "FAIL coexist-twin: the first tracer did not attach: $(head -c 300 "$TMP/twin-a.err")"
		return
	fi
	a=$TRACER_PID
	handle=$(printf '%x' "$a")
	if ! tracer_start twin-b TCPTRACE_NO_TCX=1 --; then
		why+=("the second tracer did not attach: $(head -c 300 "$TMP/twin-b.err")")
	fi
	b=$TRACER_PID
	tc -n "$NS_S" filter show dev s0 ingress | grep -q "handle 0x$handle " ||
		why+=("the second's start removed the first's filter")
	tracer_stop twin-b "$b"
	tc -n "$NS_S" filter show dev s0 ingress | grep -q "handle 0x$handle " ||
		why+=("the second's exit removed the first's filter")
	out=$(while read -r kind id; do
		bpftool "$kind" show id "$id" >/dev/null 2>&1 || echo "$kind $id"
	done <"$TMP/twin-a.ids")
	[ -z "$out" ] || why+=("the first tracer lost $(echo "$out" | tr '\n' ' ')")
	# the first counts on: a new flow at its NIC hooks after the second left
	for _ in $(seq 20); do before=$(nic_flows twin-a); [ "$before" -ge 0 ] && break; sleep 0.05; done
	ip netns exec "$NS_C" "$PEER" client -c "$S6" -p "$P_OK" -m request \
		--timeout-ms 3000 --expect ok 2>/dev/null || why+=("no answer after the second left")
	for _ in $(seq 40); do
		after=$(nic_flows twin-a)
		[ "$after" -gt "$before" ] && break
		sleep 0.05
	done
	[ "$after" -gt "$before" ] || why+=("the first counted no new flow after the second left")
	tracer_stop twin-a "$a"
	tc -n "$NS_S" filter show dev s0 ingress | grep -q "handle 0x$handle " &&
		why+=("the first's filter outlived it")
	if [ "${#why[@]}" -eq 0 ]; then
		echo "# coexist-twin: the first counted $before -> $after NIC flows after the second left"
		echo "PASS coexist-twin"
	else
		echo "FAIL coexist-twin: $(printf '%s; ' "${why[@]}")"
	fi
}
twin

#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The end-to-end lab: every fault of the brief's catalogue that the lab can
# cause, and healthy traffic beside them, each in an IPv4 and an IPv6 variant
# on its own port, all run side by side on one topology. The tracer watches
# service-a (and service-b where the scenario needs the server's view),
# filtered to the variant's port, so the variants do not see each other.
#
# USAGE
#   sudo tests/lab/scenarios.sh [SCENARIO...]
#
# Prints one line per test: "PASS name", "FAIL name: why" (followed by the
# indented output of the tracers and peers involved) or "SKIP name: why".
# Exit status 0 iff nothing failed.
#
# Environment: TCPTRACE (default build/tcptrace-bpf), PEER (build/peer),
# LAB_FAMILIES ("v4 v6"), LAB_JOBS (variants at once, default all),
# LAB_PORT_BASE (20000), LAB_KEEP=1 (keep the run directory),
# LAB_NO_TRACER=1 (exercise the lab and the peers alone).
#
# EXAMPLES
#   sudo tests/lab/scenarios.sh
#   sudo LAB_FAMILIES=v6 tests/lab/scenarios.sh crash hang

set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCENARIOS=(syn-drop refused no-route crash loss hang noread listen-overflow
	   many idle stream slow close conn-record)
LAB_FAMILIES=${LAB_FAMILIES:-v4 v6}
LAB_JOBS=${LAB_JOBS:-0}
LAB_PORT_BASE=${LAB_PORT_BASE:-20000}
TRACER_SECS=30		# upper bound of a tracer's life; stopped earlier
SETTLE=1		# seconds of tracing after the client is done

NO_TRACER=${LAB_NO_TRACER:-}
SKIP_WHY=
if [ -n "$NO_TRACER" ]; then
	SKIP_WHY="LAB_NO_TRACER set"
elif [ ! -x "$TCPTRACE" ]; then
	NO_TRACER=1
	SKIP_WHY="$TCPTRACE not built"
fi

# ------------------------------------------------------------ building blocks

# sc_tracers NAME PORT SIDE...: one tracer per side (a, b) on the port.
sc_tracers() {
	local n=$1 port=$2 side
	shift 2

	[ -n "$NO_TRACER" ] && return 0
	for side in "$@"; do
		lab_tracer "$n.$side" "$side" "$port" "$TRACER_SECS" || return 1
	done
}

# sc_stop NAME SIDE...: let the tracers see the end, stop them, then the
# server (after the tracers, so its exit is no part of the scenario).
sc_stop() {
	local n=$1 side
	shift

	if [ -z "$NO_TRACER" ]; then
		sleep "$SETTLE"
		for side in "$@"; do
			lab_tracer_stop "$n.$side"
		done
	fi
	lab_server_stop
}

# sc_client NAME ADDR PORT MODE [peer options]: the client must reach the
# outcome it is told to expect, or the fault was not there (a lab failure,
# not the tracer's).
sc_client() {
	local n=$1 out

	if ! lab_client "$@"; then
		out=$(grep 'outcome' "$LAB_DIR/$n.peer.log" 2>/dev/null | tail -n 1)
		lab_fail "lab: client did not see the expected outcome (${out:-no outcome line})"
	fi
}

# sc_nft PORT RULE: a fault on the router, in a table of the variant's own.
sc_nft() {
	local port=$1 rule=$2 err

	if ! err=$(ip netns exec "$NS_R" nft -f - 2>&1 <<-EOF
		table inet lab_$port {
			chain fault {
				type filter hook forward priority filter; policy accept;
				$rule
			}
		}
	EOF
	); then
		lab_fail "lab: cannot install the nft rule '$rule': $(echo "$err" | head -n 1)"
		return 1
	fi
}

# sc_check CMD...: a tracer check, unless there is no tracer.
sc_check() {
	[ -n "$NO_TRACER" ] && return 0
	lab_check "$@"
}

# The flow as the client sees it: local a, remote b:port; no other
# diagnosis at that end.
sc_check_flow() {
	local n=$1 code=$2 raddr=$3 port=$4

	sc_check expect_diag "$LAB_DIR/$n.a.json" "$code" || return
	sc_check expect_only "$LAB_DIR/$n.a.json" "$code"
	sc_check expect_field "$LAB_DIR/$n.a.json" "$code" raddr "$raddr"
	sc_check expect_field "$LAB_DIR/$n.a.json" "$code" rport "$port"
	sc_check expect_field "$LAB_DIR/$n.a.json" "$code" side client
}

# The flow as the server sees it: local b:port; no other diagnosis there
# (but ALSO_OK).
sc_check_server() {
	local n=$1 code=$2 laddr=$3 port=$4

	sc_check expect_diag "$LAB_DIR/$n.b.json" "$code" || return
	# shellcheck disable=SC2086 # ALSO_OK is a list of codes
	sc_check expect_only "$LAB_DIR/$n.b.json" "$code" ${ALSO_OK:-}
	sc_check expect_field "$LAB_DIR/$n.b.json" "$code" laddr "$laddr"
	sc_check expect_field "$LAB_DIR/$n.b.json" "$code" lport "$port"
	sc_check expect_field "$LAB_DIR/$n.b.json" "$code" side server
}

# Healthy: no diagnosis at either end, and both ends did see the traffic.
sc_check_healthy() {
	local n=$1

	sc_check expect_no_diag "$LAB_DIR/$n.a.json"
	sc_check expect_no_diag "$LAB_DIR/$n.b.json"
	sc_check expect_seen "$LAB_DIR/$n.a.json"
	sc_check expect_seen "$LAB_DIR/$n.b.json"
}

# ------------------------------------------------------------ faults
#
# Each scenario: sc_NAME FAMILY PORT TESTNAME.

# 1. A firewall on the path drops the SYNs: three leave (tcp_syn_retries=2
# in service-a), nothing comes back; the client gives up after 6 s.
sc_syn-drop() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft "$port" "tcp dport $port tcp flags & (syn | ack) == syn drop" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --timeout-ms 6000 --expect timeout
	sc_stop "$n" a
	sc_check_flow "$n" SYN_UNANSWERED "$b" "$port"
}

# 2. Nothing listens: service-b answers the SYN with an RST.
sc_refused() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 3000 --expect ECONNREFUSED
	sc_stop "$n" a b
	sc_check_flow "$n" CONNECTION_REFUSED "$b" "$port"
	sc_check expect_field "$LAB_DIR/$n.a.json" CONNECTION_REFUSED app_error ECONNREFUSED
	sc_check_server "$n" PORT_CLOSED "$b" "$port"
}

# 3. service-a's own routing table says unreachable: connect() fails at
# once with EHOSTUNREACH (what an "unreachable" route gives, in IPv4 and
# IPv6 alike; a missing route would give ENETUNREACH) and no SYN leaves.
sc_no-route() {
	local fam=$1 port=$2 n=$3 dst

	dst=$(lab_addr "$fam" noroute)
	if [ "$fam" = v4 ]; then
		ip -n "$NS_A" route add unreachable "${NOROUTE4%.*}.0/24" ||
			{ lab_fail "lab: cannot add the unreachable route"; return; }
	else
		ip -n "$NS_A" -6 route add unreachable "${NOROUTE6%::*}::/64" ||
			{ lab_fail "lab: cannot add the unreachable route"; return; }
	fi
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" request --timeout-ms 3000 \
		--expect ENETUNREACH,EHOSTUNREACH
	sc_stop "$n" a
	sc_check_flow "$n" NO_ROUTE "$dst" "$port"
}

# 4. The server dies with the request unread: its kernel resets the
# connection (RST, not FIN) and the client's read fails with ECONNRESET.
sc_crash() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" crash --delay-ms 300 -d 20000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect ECONNRESET
	sc_stop "$n" a b
	sc_check_flow "$n" PEER_RESET "$b" "$port"
	sc_check_server "$n" LOCAL_RESET "$b" "$port"
}

# 5. The router drops ~10% of the data segments towards the port (not the
# SYNs: the connection must open) while the client streams into a sink.
sc_loss() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft "$port" "tcp dport $port tcp flags & syn == 0 numgen random mod 100 < 10 drop" ||
		return
	lab_server "$n" "$b" "$port" sink -d 20000 || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" push -d 3000
	sc_stop "$n" a
	sc_check_flow "$n" PACKET_LOSS "$b" "$port"
}

# 6. The request is delivered (and ACKed by service-b's TCP), the
# application never answers; the client gives up after 5 s.
sc_hang() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" hang -d 20000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect timeout
	sc_stop "$n" a b
	sc_check_flow "$n" PEER_APP_STALL "$b" "$port"
	sc_check_server "$n" LOCAL_APP_STALL "$b" "$port"
}

# 7. The server accepts and never reads: its small receive buffer fills and
# it advertises a zero window for the rest of the 5 s push.
sc_noread() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" noread --rcvbuf 4096 -d 20000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" push -d 5000 --sndbuf 16384
	sc_stop "$n" a b
	sc_check_flow "$n" ZERO_WINDOW "$b" "$port"
	sc_check_server "$n" LOCAL_APP_STALL "$b" "$port"
}

# 8. The server never accepts and its backlog is 1: two connections fill
# the accept queue, service-b's kernel drops the SYNs of the next ones.
sc_listen-overflow() {
	local fam=$1 port=$2 n=$3 b i pids=()

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" slowaccept --backlog 1 -d 20000 || return
	sc_tracers "$n" "$port" b || return
	for i in 1 2 3 4; do
		lab_client "$n" "$b" "$port" request --timeout-ms 3000 --expect timeout &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || lab_fail "lab: a client of the full queue did not time out"
	done
	sc_stop "$n" b
	# the two accepted-by-the-kernel connections do wait unread
	ALSO_OK=LOCAL_APP_STALL sc_check_server "$n" LISTEN_OVERFLOW "$b" "$port"
}

# ------------------------------------------------------------ healthy

# 50 short connections, each one request and one response.
sc_many() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" many --count 50
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# A keep-alive connection: one exchange, then idle for twice the stall
# threshold. Idle is not a stall: nothing is owed.
sc_idle() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" idle -d $((LAB_STALL_MS * 2))
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# A one-way stream: 3 s of data into a server that reads it all and never
# answers. Not answering a stream is not a stall.
sc_stream() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" sink -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" push -d 3000
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# A slow server that does answer, 800 ms after each request (under the
# 2000 ms threshold), three times on one connection each.
sc_slow() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer --delay-ms 800 -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" many --count 3 --timeout-ms 5000
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# One request, one response, an orderly close (FIN both ways).
sc_close() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# ------------------------------------------------------------ records

# A connection that closed gets a "conn" record at each end, named from
# that end's point of view, with its byte counts.
sc_conn-record() {
	local fam=$1 port=$2 n=$3 a b

	a=$(lab_addr "$fam" a)
	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d 30000 || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --size 1000
	sc_stop "$n" a b
	sc_check expect_no_diag "$LAB_DIR/$n.a.json"
	sc_check expect_conn "$LAB_DIR/$n.a.json" rport "$port" || return
	sc_check expect_conn "$LAB_DIR/$n.a.json" raddr "$b"
	sc_check expect_conn "$LAB_DIR/$n.a.json" laddr "$a"
	sc_check expect_conn "$LAB_DIR/$n.b.json" lport "$port"
	sc_check expect_conn "$LAB_DIR/$n.b.json" laddr "$b"
	sc_check expect_conn "$LAB_DIR/$n.b.json" raddr "$a"
}

# ------------------------------------------------------------ runner

# One variant in a background job; its result lines land in NAME.result.
run_variant() {
	local scn=$1 fam=$2 port=$3 n="$1-$2"

	(
		LAB_FAILS=()
		SERVER_PID=
		t0=$SECONDS
		"sc_$scn" "$fam" "$port" "$n"
		if [ -n "$NO_TRACER" ] && [ "${#LAB_FAILS[@]}" -eq 0 ]; then
			echo "SKIP lab/$scn/$fam: $SKIP_WHY (the peers behaved as expected)"
		else
			lab_report "lab/$scn/$fam" "$n"
		fi
		echo "# lab/$scn/$fam took $((SECONDS - t0)) s"
	) >"$LAB_DIR/$n.result" 2>&1 &
	lab_track $!
}

main() {
	local want=("$@") scn fam i port t0=$SECONDS rc=0 s known

	for scn in "${want[@]}"; do
		known=
		for s in "${SCENARIOS[@]}"; do [ "$s" = "$scn" ] && known=1; done
		if [ -z "$known" ]; then
			echo "lab: unknown scenario '$scn' (known: ${SCENARIOS[*]})" >&2
			return 2
		fi
	done
	[ "${#want[@]}" -gt 0 ] || want=("${SCENARIOS[@]}")
	if [ "$(id -u)" -ne 0 ]; then
		# skipped, and said so test by test
		echo "SKIP lab/topology: needs root (network namespaces, BPF)"
		for scn in "${want[@]}"; do
			for fam in $LAB_FAMILIES; do
				echo "SKIP lab/$scn/$fam: needs root"
			done
		done
		return 0
	fi
	for tool in jq nft ip; do
		if ! command -v "$tool" >/dev/null; then
			echo "FAIL lab: $tool is not installed (make deps)"
			return 1
		fi
	done

	lab_trap
	if ! lab_up; then
		echo "FAIL lab/topology: cannot build the namespaces (see above)"
		return 1
	fi
	if [ ! -x "$PEER" ]; then
		# standalone use: build the peer into the run directory
		PEER=$LAB_DIR/peer
		if ! cc -O2 -Wall -Wextra -Werror "$LAB_ROOT/tests/peer.c" -o "$PEER"; then
			echo "FAIL lab/peer: tests/peer.c does not build"
			return 1
		fi
	fi
	if ! lab_ping; then
		echo "FAIL lab/topology: TCP from service-a to service-b does not work"
		return 1
	fi
	echo "PASS lab/topology"

	# Variants side by side; a variant's port is fixed by its position so
	# a rerun of one scenario uses the same port.
	for i in "${!SCENARIOS[@]}"; do
		scn=${SCENARIOS[$i]}
		[[ " ${want[*]} " == *" $scn "* ]] || continue
		for fam in $LAB_FAMILIES; do
			port=$((LAB_PORT_BASE + 10 * i))
			[ "$fam" = v6 ] && port=$((port + 1))
			if [ "$LAB_JOBS" -gt 0 ]; then
				while [ "$(jobs -rp | wc -l)" -ge "$LAB_JOBS" ]; do
					wait -n
				done
			fi
			run_variant "$scn" "$fam" "$port"
		done
	done
	wait

	for scn in "${want[@]}"; do
		for fam in $LAB_FAMILIES; do
			if [ -f "$LAB_DIR/$scn-$fam.result" ]; then
				cat "$LAB_DIR/$scn-$fam.result"
			else
				echo "FAIL lab/$scn/$fam: no result (the job died)"
			fi
		done
	done | tee "$LAB_DIR/summary" | grep -v '^# '
	grep '^# ' "$LAB_DIR/summary" >&2
	grep -q '^FAIL' "$LAB_DIR/summary" && rc=1
	echo "lab: done in $((SECONDS - t0)) s" >&2
	return "$rc"
}

main "$@"

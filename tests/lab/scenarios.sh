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
# LAB_FAMILIES ("v4 v6"), LAB_JOBS (variants at once, default 24; 0: all),
# LAB_PORT_BASE (20000), LAB_KEEP=1 (keep the run directory),
# LAB_NO_TRACER=1 (exercise the lab and the peers alone), LAB_SAN_TRACER and
# LAB_SAN_SCENARIOS (those scenarios' tracers are that binary, the
# sanitizers' build: each also reports "san/lab/SCENARIO/FAMILY").
#
# EXAMPLES
#   sudo tests/lab/scenarios.sh
#   sudo LAB_FAMILIES=v6 tests/lab/scenarios.sh crash hang

set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The sanitizers' options, for the tracers of that build.
# shellcheck source=tests/san_env.sh
[ -n "${LAB_SAN_TRACER:-}" ] && . "$LAB_ROOT/tests/san_env.sh"

SCENARIOS=(syn-drop refused no-route crash loss hang noread listen-overflow
	   many idle stream slow close conn-record
	   drop-synack drop-syn-in drop-syn-out router-no-route host-unreachable
	   firewall-reject nat nat-port pmtu bulk xdp dualstack)
# Everyday traffic that is no fault, traced at both ends, and the faults
# that look like it (issue 7, misreadings and false alarms).
SCENARIOS+=(pool-linger health-check oneway keepalive-close long-poll scan
	    pending-reset port-retry reuse retrans-fail lost-events qdisc)
# Faults hidden in everyday traffic that were missed (issue 7, misses).
SCENARIOS+=(pool-hang pool-idle blackhole giveup syn-giveup null-route loss-in)
# Outputs (issue 9).
SCENARIOS+=(file-output metrics metrics-storm otlp)
# Both ends recorded at once and joined by correlate (issue 10).
SCENARIOS+=(two-ends)
# Who owns each connection: pid, comm and container (issue 11).
SCENARIOS+=(owner-reuse owner-before)
# Who and why (issue 11): processes killed with connections open.
SCENARIOS+=(oom-kill killed congestion)
# No payload byte in any output or kernel map (issue 12).
SCENARIOS+=(privacy)
# Who serves a connection: the process that accept()ed it (issue 11).
SCENARIOS+=(accept-worker)
LAB_FAMILIES=${LAB_FAMILIES:-v4 v6}
# Variants at once (0: all). Each runs one or two tracers, and the kernel
# takes at most 64 BPF programs on one classic tracepoint (the tracer's
# syscalls/sys_exit_connect, machine-wide) and 64 on one tcx hook
# (service-a's veth): past that a tracer fails to attach (E2BIG, ERANGE).
# 24 variants keep the lab under 50 tracers, with room for others'.
LAB_JOBS=${LAB_JOBS:-24}
LAB_PORT_BASE=${LAB_PORT_BASE:-20000}
# Upper bound of a tracer's life, its attach included (tens of seconds
# when the whole lab loads at once); lab_tracer_stop ends it earlier.
TRACER_SECS=180
SETTLE=1		# seconds of tracing after the client is done
# A server's life bound: it is stopped after the tracers, but must outlive
# their attach (tens of seconds when dozens load side by side on 2 cores).
SERVER_MS=300000

NO_TRACER=${LAB_NO_TRACER:-}
SKIP_WHY=
if [ -n "$NO_TRACER" ]; then
	SKIP_WHY="LAB_NO_TRACER set"
elif [ ! -x "$TCPTRACE" ]; then
	NO_TRACER=1
	SKIP_WHY="$TCPTRACE not built"
fi

# ------------------------------------------------------------ building blocks

# sc_tracers NAME PORT SIDE...: one tracer per side (a, b) on the port,
# with the variant's extra options SC_TRACER_OPTS (an array) if set.
SC_TRACER_OPTS=()
sc_tracers() {
	local n=$1 port=$2 side
	shift 2

	[ -n "$NO_TRACER" ] && return 0
	for side in "$@"; do
		lab_tracer_start "$n.$side" "$side" "$port" "$TRACER_SECS" \
			${SC_TRACER_OPTS[@]+"${SC_TRACER_OPTS[@]}"}
	done
	for side in "$@"; do
		lab_tracer_wait "$n.$side" || return 1
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

# sc_nft_at a|r|b HOOK PORT RULE...: a fault in one namespace's nftables, on
# a hook (forward, input, output), in a table of the variant's own; one rule
# an argument.
sc_nft_at() {
	local ns=$1 hook=$2 port=$3 rules err
	shift 3

	rules=$(printf '\t\t%s\n' "$@")
	if ! err=$(ip netns exec "$(lab_ns "$ns")" nft -f - 2>&1 <<-EOF
		table inet lab_${port}_$hook {
			chain fault {
				type filter hook $hook priority filter; policy accept;
		$rules
			}
		}
	EOF
	); then
		lab_fail "lab: cannot install the nft rule '$*' in $ns: $(echo "$err" | head -n 1)"
		return 1
	fi
}

# sc_nft PORT RULE: a fault on the router's forward path.
sc_nft() {
	sc_nft_at r forward "$@"
}

# sc_nft_count a|r|b PORT HOOK: the packets the variant's rules matched (the
# fault really happened), summed over the table's counters.
sc_nft_count() {
	ip netns exec "$(lab_ns "$1")" nft list table inet "lab_${2}_$3" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
		     END { print n + 0 }'
}

# sc_nft_hit a|r|b PORT HOOK: a lab failure unless the fault matched.
sc_nft_hit() {
	local n

	n=$(sc_nft_count "$@")
	[ "$n" -gt 0 ] || lab_fail "lab: the $3 rule in $1 never matched (no fault happened)"
}

# sc_wait_log FILE TEXT SECS: until a peer says TEXT in FILE, SECS at most.
sc_wait_log() {
	local file=$1 text=$2 i

	for i in $(seq $(($3 * 10))); do
		grep -q "$text" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
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
	sc_check expect_only "$LAB_DIR/$n.a.json" "$code" "${@:5}"
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
	sc_check_flow "$n" SYN_UNANSWERED "$b" "$port" || return
	# the NIC saw them leave and nothing of the flow come back
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED nic_syns_out '>=' 2
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED nic_packets_in == 0
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
	lab_server "$n" "$b" "$port" crash --delay-ms 300 -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect ECONNRESET
	sc_stop "$n" a b
	sc_check_flow "$n" PEER_RESET "$b" "$port"
	sc_check_server "$n" LOCAL_RESET "$b" "$port"
	# the peer too: before 6.18 a server child has none at its SYN_RECV
	sc_check expect_field "$LAB_DIR/$n.b.json" LOCAL_RESET raddr "$(lab_addr "$fam" a)"
	# a request cut off, unread: an error at both ends, never a note
	sc_check expect_field "$LAB_DIR/$n.a.json" PEER_RESET severity error
	sc_check expect_field "$LAB_DIR/$n.b.json" LOCAL_RESET severity error
}

# Dual-stack sockets speaking IPv4: an AF_INET6 socket with ::ffff:a.b.c.d
# sends IPv4 on the wire, and the tracer names its flow as IPv4, as the NIC
# sees it. The v4 variant connects from such a client socket to a port
# nobody listens on; the v6 variant serves from a socket bound to :: that
# an IPv4 client reaches, and crashes with the request unread.
sc_dualstack() {
	local fam=$1 port=$2 n=$3 b=$B4

	if [ "$fam" = v4 ]; then
		sc_tracers "$n" "$port" a b || return
		sc_client "$n" "::ffff:$b" "$port" request --timeout-ms 3000 --expect ECONNREFUSED
		sc_stop "$n" a b
		sc_check_flow "$n" CONNECTION_REFUSED "$b" "$port"
		sc_check expect_field "$LAB_DIR/$n.a.json" CONNECTION_REFUSED family ipv4
		sc_check_server "$n" PORT_CLOSED "$b" "$port"
	else
		lab_server "$n" "::" "$port" crash --delay-ms 300 -d "$SERVER_MS" || return
		sc_tracers "$n" "$port" a b || return
		sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect ECONNRESET
		sc_stop "$n" a b
		sc_check_flow "$n" PEER_RESET "$b" "$port"
		sc_check_server "$n" LOCAL_RESET "$b" "$port"
		sc_check expect_field "$LAB_DIR/$n.b.json" LOCAL_RESET family ipv4
	fi
}

# 5. The router drops ~10% of the data segments towards the port (not the
# SYNs: the connection must open) while the client streams into a sink.
sc_loss() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft "$port" "tcp dport $port tcp flags & syn == 0 numgen random mod 100 < 10 drop" ||
		return
	lab_server "$n" "$b" "$port" sink -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" push -d 3000
	sc_stop "$n" a
	sc_check_flow "$n" PACKET_LOSS "$b" "$port"
	# Random drops, no queue: told apart from congestion (see congestion).
	# Not on an emulated CPU (the qemu guest, LAB_EMULATED): there the
	# guest's starved softirqs hold every packet in a queue of their own
	# (srtt 6.9 ms on average over a 41 us path, make test's 6.1 guest),
	# and the RTT says queueing as truly as a router's would.
	[ -n "${LAB_EMULATED:-}" ] && return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PACKET_LOSS rtt_inflated == 0
	sc_check expect_summary "$LAB_DIR/$n.a.json" PACKET_LOSS "RTT flat"
	sc_check expect_summary "$LAB_DIR/$n.a.json" PACKET_LOSS "random loss"
}

# 6. The request is delivered (and ACKed by service-b's TCP), the
# application never answers; the client gives up after 5 s.
sc_hang() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" hang -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect timeout
	sc_stop "$n" a b
	sc_check_flow "$n" PEER_APP_STALL "$b" "$port"
	sc_check_server "$n" LOCAL_APP_STALL "$b" "$port"
	# The stall was seen while the scans left the unchanged socket out.
	sc_check expect_scan_left_out "$LAB_DIR/$n.a.json"
}

# expect_scan_left_out FILE: the tracer's scans left unchanged sockets out
# (sock_scan.bpf.c): a waiting socket is judged from its last record.
expect_scan_left_out() {
	lab_any "$1" 'any(inputs; .type == "stats" and .sockets_unchanged > 0)' && return 0
	echo "$(basename "$1" .json): no stats record with sockets_unchanged > 0"
	return 1
}

# 7. The server accepts and never reads: its small receive buffer fills and
# it advertises a zero window for the rest of the 5 s push.
sc_noread() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" noread --rcvbuf 4096 -d "$SERVER_MS" || return
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
	lab_server "$n" "$b" "$port" slowaccept --backlog 1 -d "$SERVER_MS" || return
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

# ------------------------------------------------------------ the NIC view
#
# Faults told apart by what reached (or left) the interface, the kernel's
# drop reasons and the ICMP errors that came back.

# The router the ICMP errors come from, as service-a knows it.
sc_router() { [ "$1" = v4 ] && echo "$R4A" || echo "$R6A"; }

# 9. service-a's own INPUT firewall drops the SYN-ACKs: they reach its NIC
# and never the socket; the client times out.
sc_drop-synack() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft_at a input "$port" \
		"tcp sport $port tcp flags & (syn | ack) == syn | ack counter drop" || return
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --timeout-ms 4000 --expect timeout,ETIMEDOUT
	sc_stop "$n" a
	sc_nft_hit a "$port" input
	sc_check_flow "$n" LOCAL_DROP "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP drops_inbound '>=' 1
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP drops_outbound == 0
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP handshake_drops '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" LOCAL_DROP NETFILTER_DROP
}

# 10. service-b's INPUT firewall drops the SYNs to the port: the server
# side sees them dropped by its own stack before any socket.
sc_drop-syn-in() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft_at b input "$port" \
		"tcp dport $port tcp flags & (syn | ack) == syn counter drop" || return
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 4000 --expect timeout,ETIMEDOUT
	sc_stop "$n" b
	sc_nft_hit b "$port" input
	sc_check_server "$n" LOCAL_DROP "$b" "$port" || return
	sc_check expect_field "$LAB_DIR/$n.b.json" LOCAL_DROP raddr "$(lab_addr "$fam" a)"
	sc_check expect_evidence "$LAB_DIR/$n.b.json" LOCAL_DROP drops_inbound '>=' 1
	sc_check expect_evidence "$LAB_DIR/$n.b.json" LOCAL_DROP handshake_drops '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.b.json" LOCAL_DROP NETFILTER_DROP
}

# 11. service-a's OUTPUT chain drops its own SYNs: nothing leaves at all.
sc_drop-syn-out() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft_at a output "$port" \
		"tcp dport $port tcp flags & (syn | ack) == syn counter drop" || return
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --timeout-ms 4000 \
		--expect timeout,ETIMEDOUT,EPERM
	sc_stop "$n" a
	sc_nft_hit a "$port" output
	sc_check_flow "$n" LOCAL_DROP "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP drops_outbound '>=' 1
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP drops_inbound == 0
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_DROP handshake_drops '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" LOCAL_DROP NETFILTER_DROP
}

# 12. The router has no route to the destination (it knows its connected
# subnets alone): it answers the SYN with ICMP net unreachable.
sc_router-no-route() {
	local fam=$1 port=$2 n=$3 dst r

	[ "$fam" = v4 ] && dst=10.0.9.9 || dst=fd00:9::9
	r=$(sc_router "$fam")
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" request --timeout-ms 4000 \
		--expect ENETUNREACH,EHOSTUNREACH
	sc_stop "$n" a
	sc_check_flow "$n" NO_ROUTE "$dst" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" NO_ROUTE icmp_errors '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" NO_ROUTE "$r"
}

# 13. A host that does not exist on service-b's subnet: the router's ARP
# (ND) gets no answer and after ~3 s it says host (address) unreachable.
# The client keeps trying for 6 retransmits (~7 s) so the ICMP, not its
# own timeout, ends the connect.
sc_host-unreachable() {
	local fam=$1 port=$2 n=$3 dst r

	[ "$fam" = v4 ] && dst=10.0.2.99 || dst=fd00:2::99
	r=$(sc_router "$fam")
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" request --timeout-ms 9000 --syn-count 6 \
		--expect EHOSTUNREACH
	sc_stop "$n" a
	sc_check_flow "$n" HOST_UNREACHABLE "$dst" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" HOST_UNREACHABLE icmp_errors '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" HOST_UNREACHABLE "$r"
}

# 14. The router rejects tcp/PORT with ICMP administratively prohibited.
# The application sees EHOSTUNREACH (IPv4) or EACCES (IPv6).
sc_firewall-reject() {
	local fam=$1 port=$2 n=$3 b r

	b=$(lab_addr "$fam" b)
	r=$(sc_router "$fam")
	if [ "$fam" = v4 ]; then
		sc_nft "$port" "tcp dport $port counter reject with icmp type admin-prohibited" ||
			return
	else
		sc_nft "$port" "tcp dport $port counter reject with icmpv6 type admin-prohibited" ||
			return
	fi
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --timeout-ms 4000 --expect EHOSTUNREACH,EACCES
	sc_stop "$n" a
	sc_nft_hit r "$port" forward
	sc_check_flow "$n" FIREWALL_REJECT "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" FIREWALL_REJECT icmp_errors '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" FIREWALL_REJECT "$r"
}

# sc_dnat FAMILY PORT VIRTUAL REAL_PORT: the router translates VIRTUAL:PORT
# to service-b:REAL_PORT, and the reply path is asymmetric: the replies from
# service-b skip conntrack (notrack), so they are never un-NATed and reach
# service-a from the backend's real address and port.
sc_dnat() {
	local fam=$1 port=$2 virt=$3 rport=$4 b l3 to err

	b=$(lab_addr "$fam" b)
	if [ "$fam" = v4 ]; then
		l3="ip"; to="$b:$rport"
	else
		l3="ip6"; to="[$b]:$rport"
	fi
	if ! err=$(ip netns exec "$NS_R" nft -f - 2>&1 <<-EOF
		table inet lab_${port}_nat {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				$l3 daddr $virt tcp dport $port counter dnat $l3 to $to
			}
			chain raw {
				type filter hook prerouting priority raw; policy accept;
				$l3 saddr $b tcp sport $rport counter notrack
			}
		}
	EOF
	); then
		lab_fail "lab: cannot install the DNAT: $(echo "$err" | head -n 1)"
		return 1
	fi
}

# 15. DNAT on the router for a virtual address (10.0.2.100, fd00:2::100:
# service-a reaches it by its default route) with an asymmetric return:
# our SYN went to the virtual address, the SYN-ACK comes from service-b's
# real one. Same port both ways, so "-p PORT" passes both.
sc_nat() {
	local fam=$1 port=$2 n=$3 b virt

	b=$(lab_addr "$fam" b)
	[ "$fam" = v4 ] && virt=10.0.2.100 || virt=fd00:2::100
	sc_dnat "$fam" "$port" "$virt" "$port" || return
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$virt" "$port" request --timeout-ms 4000 --expect timeout,ETIMEDOUT
	sc_stop "$n" a
	sc_nft_hit r "$port" nat
	sc_check_flow "$n" NAT_MISMATCH "$virt" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" NAT_MISMATCH stray_synacks '>=' 1
	sc_check expect_summary "$LAB_DIR/$n.a.json" NAT_MISMATCH "$b"
}

# 16. The same with a port translation too (VIRTUAL:PORT -> b:PORT+4), the
# tracer filtered to the port the application used (-p PORT): the SYN-ACK
# comes from another port, and is still the answer to our SYN.
sc_nat-port() {
	local fam=$1 port=$2 n=$3 b virt real=$(($2 + 4))

	b=$(lab_addr "$fam" b)
	[ "$fam" = v4 ] && virt=10.0.2.101 || virt=fd00:2::101
	sc_dnat "$fam" "$port" "$virt" "$real" || return
	lab_server "$n" "$b" "$real" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$virt" "$port" request --timeout-ms 4000 --expect timeout,ETIMEDOUT
	sc_stop "$n" a
	sc_nft_hit r "$port" nat
	sc_check_flow "$n" NAT_MISMATCH "$virt" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" NAT_MISMATCH reply_rport == "$real"
	sc_check expect_summary "$LAB_DIR/$n.a.json" NAT_MISMATCH "$b"
}

# 17. A hop with a smaller MTU that blocks its own ICMP: the router's route
# to a service-b address of this variant's own (10.0.2.200, fd00:2::200)
# has MTU 1000 (IPv4) / 1280 (IPv6), and the router's frag-needed /
# packet-too-big quoting the port are dropped in its output chain. The
# handshake passes, full-size segments never do. (A route MTU rather than
# the link's: the link carries every other variant, whose path MTU must not
# change, and service-a's path MTU cache is per destination.)
sc_pmtu() {
	local fam=$1 port=$2 n=$3 dst mtu icmp

	if [ "$fam" = v4 ]; then
		dst=10.0.2.200 mtu=1000
		icmp="icmp type destination-unreachable icmp code frag-needed @th,240,16 $port counter drop"
		ip -n "$NS_B" addr add "$dst/24" dev "$IF_B" &&
			ip -n "$NS_R" route add "$dst/32" dev "$IF_RB" mtu "$mtu" ||
			{ lab_fail "lab: cannot set up the small-MTU path"; return; }
	else
		dst=fd00:2::200 mtu=1280
		# ICMPv6 header, IPv6 header, then the quoted TCP header
		icmp="icmpv6 type packet-too-big @th,400,16 $port counter drop"
		ip -n "$NS_B" addr add "$dst/64" dev "$IF_B" nodad &&
			ip -n "$NS_R" -6 route add "$dst/128" dev "$IF_RB" mtu "$mtu" ||
			{ lab_fail "lab: cannot set up the small-MTU path"; return; }
	fi
	sc_nft_at r output "$port" "$icmp" || return
	lab_server "$n" "$dst" "$port" sink -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" push -d 3000
	sc_stop "$n" a
	sc_nft_hit r "$port" output
	sc_check_flow "$n" PMTU_BLACKHOLE "$dst" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PMTU_BLACKHOLE full_size_retrans '>=' 2
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PMTU_BLACKHOLE bytes_acked == 0
}

# ------------------------------------------------------------ healthy

# 50 short connections, each one request and one response.
sc_many() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
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
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
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
	lab_server "$n" "$b" "$port" sink -d "$SERVER_MS" || return
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
	lab_server "$n" "$b" "$port" answer --delay-ms 800 -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" many --count 3 --timeout-ms 5000
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# One request, one response, an orderly close (FIN both ways).
sc_close() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# The NIC path under load: service-b streams as fast as it can for 3 s
# into a client that reads it all, then both close in order (FIN each way).
sc_bulk() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" bulk -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" recv -d 3000
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# ------------------------------------------------------------ XDP
#
# The ingress path through generic XDP instead of TC, end to end, on one
# tracer per host: a healthy bulk stream from service-b stays silent while
# a second flow on the same port, to an address the router rejects
# (10.0.2.102, fd00:2::102), is diagnosed from the ICMP error only the
# ingress hook sees. An interface has one XDP program: a tracer that finds
# it taken rightly falls back to TC, so the variants take turns (a lock)
# while the rest of the lab runs beside them.
sc_xdp() {
	local n=$3 side var pid

	# a lock directory, not flock: the tracers and the server would
	# inherit a lock file descriptor and hold it past a failed variant
	until mkdir "$LAB_DIR/xdp.lock" 2>/dev/null; do
		sleep 0.2
	done
	sc_xdp_run "$@"
	# a variant that failed half-way still frees the XDP hooks first
	for side in a b; do
		var="TRACER_PID_${n//[^A-Za-z0-9_]/_}_$side"
		pid=${!var:-}
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			wait "$pid"
		fi
	done
	lab_server_stop
	rmdir "$LAB_DIR/xdp.lock"
}

sc_xdp_run() {
	local fam=$1 port=$2 n=$3 b virt r bulk_pid
	local SC_TRACER_OPTS=(--xdp-generic)

	b=$(lab_addr "$fam" b)
	r=$(sc_router "$fam")
	[ "$fam" = v4 ] && virt=10.0.2.102 || virt=fd00:2::102
	if [ "$fam" = v4 ]; then
		sc_nft "$port" "ip daddr $virt tcp dport $port counter reject with icmp type admin-prohibited" ||
			return
	else
		sc_nft "$port" "ip6 daddr $virt tcp dport $port counter reject with icmpv6 type admin-prohibited" ||
			return
	fi
	lab_server "$n" "$b" "$port" bulk -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	# A third tracer finds service-a's XDP hook held by the first: another
	# tool's program, for it. It must leave it there, say so, and count
	# that interface with TC instead.
	if [ -z "$NO_TRACER" ]; then
		lab_tracer "$n.busy" a "$port" "$TRACER_SECS" --xdp-generic || return
		lab_tracer_stop "$n.busy"
		sc_check expect_hook "$LAB_DIR/$n.busy.log" "$(lab_tc_kind)"
		grep -q "holds XDP on" "$LAB_DIR/$n.busy.log" ||
			lab_fail "$n.busy: no note that another program holds XDP"
	fi
	lab_client "$n" "$b" "$port" recv -d 3000 &
	bulk_pid=$!
	sc_client "$n" "$virt" "$port" request --timeout-ms 4000 --expect EHOSTUNREACH,EACCES
	wait "$bulk_pid" || lab_fail "lab: the bulk stream did not end in order"
	sc_stop "$n" a b
	sc_nft_hit r "$port" forward
	[ -n "$NO_TRACER" ] && return
	sc_check expect_hook "$LAB_DIR/$n.a.log" xdp-generic
	sc_check expect_hook "$LAB_DIR/$n.b.log" xdp-generic
	# the stream: no diagnosis at either end, and both ends saw it. Not
	# on an emulated CPU (LAB_EMULATED): the 6.1 guest's starved backlog
	# drops segments of it (PACKET_LOSS, once in 9 runs), as real there
	# as any loss; the host keeps the check.
	sc_check_flow "$n" FIREWALL_REJECT "$virt" "$port" ${LAB_EMULATED:+PACKET_LOSS}
	sc_check expect_summary "$LAB_DIR/$n.a.json" FIREWALL_REJECT "$r"
	if [ -z "${LAB_EMULATED:-}" ]; then
		sc_check expect_none_for "$LAB_DIR/$n.a.json" raddr "$b"
		sc_check expect_no_diag "$LAB_DIR/$n.b.json"
	fi
	sc_check expect_seen "$LAB_DIR/$n.b.json"
	sc_check expect_conn "$LAB_DIR/$n.a.json" raddr "$b"
}

# ------------------------------------------------------------ records

# A connection that closed gets a "conn" record at each end, named from
# that end's point of view, with its byte counts.
sc_conn-record() {
	local fam=$1 port=$2 n=$3 a b
	local SC_TRACER_OPTS=(--conn-interval 1)

	a=$(lab_addr "$fam" a)
	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	# One exchange (1000 bytes, 64 back), then 2.5 s idle: a periodic
	# record while it is open (--conn-interval 1), then one at its close.
	sc_client "$n" "$b" "$port" idle --size 1000 -d 2500
	sc_stop "$n" a b
	sc_check expect_no_diag "$LAB_DIR/$n.a.json"
	sc_check expect_conn "$LAB_DIR/$n.a.json" rport "$port" || return
	sc_check expect_conn "$LAB_DIR/$n.a.json" raddr "$b"
	sc_check expect_conn "$LAB_DIR/$n.a.json" laddr "$a"
	sc_check expect_conn "$LAB_DIR/$n.b.json" lport "$port"
	sc_check expect_conn "$LAB_DIR/$n.b.json" laddr "$b"
	sc_check expect_conn "$LAB_DIR/$n.b.json" raddr "$a"
	sc_check expect_conn_complete "$LAB_DIR/$n.a.json" client "$port" 1000 64
	sc_check expect_conn_complete "$LAB_DIR/$n.b.json" server "$port" 64 1000
}

# ------------------------------------------------------------ everyday traffic
#
# What a production host sees all day, traced at both ends at once: none of
# it is a fault, so neither end may warn. A note (info) is allowed.

# Quiet at both ends, and both ends did see the traffic.
sc_check_quiet() {
	local n=$1

	sc_check expect_quiet "$LAB_DIR/$n.a.json"
	sc_check expect_quiet "$LAB_DIR/$n.b.json"
	sc_check expect_seen "$LAB_DIR/$n.a.json"
	sc_check expect_seen "$LAB_DIR/$n.b.json"
}

# sc_router_client NAME ADDR PORT MODE [peer options]: a peer client in the
# router's namespace, a third party to both services.
sc_router_client() {
	local name=$1 addr=$2 port=$3 mode=$4
	shift 4

	ip netns exec "$NS_R" "$PEER" client -c "$addr" -p "$port" -m "$mode" "$@" \
		2>>"$LAB_DIR/$name.peer.log"
}

# A connection pool that ends each connection with SO_LINGER 0 once its
# exchanges are done: the RST cuts nothing off.
sc_pool-linger() {
	local fam=$1 port=$2 n=$3 b i

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	for i in 1 2 3; do
		sc_client "$n" "$b" "$port" exchanges --count 3 --linger0
	done
	sc_stop "$n" a b
	sc_check_quiet "$n"
}

# Health checkers: a TCP check (connect, then an abortive close before a
# byte is exchanged) and an HTTP-like one (a request, the answer, RST).
sc_health-check() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" check --count 5 --linger0
	sc_client "$n" "$b" "$port" many --count 5 --linger0
	sc_stop "$n" a b
	sc_check_quiet "$n"
}

# One-way log shipping: small lines, no answer, with pauses longer than the
# stall threshold. The first connection writes again before its long pause
# (one-way from its own behaviour); the second pauses after its first line
# and is known one-way from the first connection to the same endpoint.
sc_oneway() {
	local fam=$1 port=$2 n=$3 b long=$((LAB_STALL_MS + 800))

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" sink -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" ship --size 120 --gaps "300,300,$long,300" \
		--timeout-ms 8000
	sc_client "$n" "$b" "$port" ship --size 120 --gaps "$long,300" --timeout-ms 8000
	sc_stop "$n" a b
	sc_check_quiet "$n"
}

# An idle keep-alive connection the client closes while the server writes
# to it (an unsolicited line, 1 s after the answer): the client's kernel
# answers the late line with RST. Nobody waited for anything. Twice: a
# plain close (the client's socket has become a TIME_WAIT one when the
# line comes), and shutdown(SHUT_RDWR) before the close (the full socket
# aborts on the data: the kernel runs tcp_reset() on it, as for a reset
# received, then sends its own).
sc_keepalive-close() {
	local fam=$1 port=$2 n=$3 b i how

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" notify --notify-ms 1000 -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	for how in close shutdown; do
		if [ "$how" = close ]; then
			sc_client "$n" "$b" "$port" idle -d 400
		else
			sc_client "$n" "$b" "$port" idle -d 400 --shutdown --timeout-ms 3000
		fi
		# the server's line has gone out, and been refused, before we go on
		for i in $(seq 50); do
			[ "$(grep -c 'notified after the client left' "$LAB_DIR/$n.peer.log")" -ge \
			  "$([ "$how" = close ] && echo 1 || echo 2)" ] && break
			sleep 0.1
		done
	done
	sc_stop "$n" a b
	[ "$(grep -c 'notified after the client left' "$LAB_DIR/$n.peer.log")" -eq 2 ] ||
		lab_fail "lab: the server did not write after the client left, twice"
	grep -q 'aborted by the kernel' "$LAB_DIR/$n.peer.log" ||
		lab_fail "lab: the client's kernel did not abort on the late line"
	sc_check_quiet "$n"
	# the abort on data is told as this host's, a note
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_RESET rst_reason == 8
}

# Long polls answered within the threshold: three polls on one connection,
# each held 1.5 s by the server (threshold 2 s).
sc_long-poll() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer --delay-ms $((LAB_STALL_MS * 3 / 4)) \
		-d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" exchanges --count 3 --timeout-ms $((LAB_STALL_MS * 2))
	sc_stop "$n" a b
	sc_check_quiet "$n"
}

# A scan from the router, a third party: SYNs from two of its addresses to
# service-b's port, where nothing listens (service-b answers RST), and to
# service-a's, which its firewall drops and where nothing listens either.
# Neither is a fault of these hosts: at most one note for the closed port.
# Then a port scan: the router knocks once on each of SCAN_PORTS closed
# ports of service-b, from the variant's port (so that the tracers' port
# filter sees it): one note at service-b and one CONNECTION_REFUSED at the
# router, traced too, each saying how many ports, not a line per port.
SCAN_PORTS=20
sc_scan() {
	local fam=$1 port=$2 n=$3 a b r2 off=$(($2 - LAB_PORT_BASE)) first last

	a=$(lab_addr "$fam" a)
	b=$(lab_addr "$fam" b)
	[ "$fam" = v4 ] && r2=$R4A || r2=$R6A
	# Ports nobody else's: 21000-23999 is no scenario's; 40 a scenario,
	# 20 a family.
	first=$((21000 + 40 * (off / 10) + 20 * (off % 10)))
	last=$((first + SCAN_PORTS - 1))
	sc_nft_at a input "$port" "tcp dport $port counter drop" || return
	sc_tracers "$n" "$port" a b r || return
	sc_router_client "$n" "$b" "$port" request --timeout-ms 2000 --expect ECONNREFUSED ||
		lab_fail "lab: the scan of service-b was not refused"
	sc_router_client "$n" "$b" "$port" request --bind "$r2" --timeout-ms 2000 \
		--expect ECONNREFUSED || lab_fail "lab: the second scan of service-b was not refused"
	sc_router_client "$n" "$a" "$port" request --timeout-ms 1500 --expect timeout ||
		lab_fail "lab: the scan of service-a was not dropped"
	sc_router_scan "$n" "$b" "$port" "$first" "$last" ||
		lab_fail "lab: the port scan of service-b was not refused on every port"
	sc_stop "$n" a b r
	sc_nft_hit a "$port" input
	sc_check_quiet "$n"
	# service-b did see both knocks on its port, as one note ...
	sc_check expect_diag "$LAB_DIR/$n.b.json" PORT_CLOSED || return
	sc_check expect_connections_port "$LAB_DIR/$n.b.json" PORT_CLOSED lport "$port" 2
	# ... and the port scan as another, as the router its refusals
	sc_check expect_port_scan "$LAB_DIR/$n.b.json" PORT_CLOSED lport "$first" "$last"
	sc_check expect_port_scan "$LAB_DIR/$n.r.json" CONNECTION_REFUSED rport "$first" "$last"
}

# sc_router_scan NAME ADDR LPORT FIRST LAST: the router knocks once on each
# port FIRST..LAST of ADDR, from source port LPORT; each must be refused.
sc_router_scan() {
	local name=$1 addr=$2 lport=$3 first=$4 last=$5

	# One shell in the namespace for them all: a knock every few ms,
	# as a scanner knocks.
	# shellcheck disable=SC2016 # expanded by that shell
	ip netns exec "$NS_R" bash -c '
		for p in $(seq "$4" "$5"); do
			"$1" client -c "$2" -p "$p" -m request --lport "$3" \
				--timeout-ms 2000 --expect ECONNREFUSED || exit 1
		done' scan "$PEER" "$addr" "$lport" "$first" "$last" \
		2>>"$LAB_DIR/$name.peer.log"
}

# expect_connections_port FILE CODE FIELD PORT N: the CODE diagnoses whose
# FIELD (lport, rport) is PORT cover N connections.
expect_connections_port() {
	local got

	got=$(jq -s --arg c "$2" --arg f "$3" --argjson p "$4" '[.[] |
		select(.type == "diagnosis" and .code == $c and .[$f] == $p) |
		.connections] | add // 0' "$1")
	[ "$got" -eq "$5" ] && return 0
	echo "$(basename "$1" .json): $2 on $3 $4 covers $got connections, want $5"
	return 1
}

# expect_port_scan FILE CODE FIELD FIRST LAST: one CODE diagnosis tells the
# scan of ports FIRST..LAST (FIELD: lport at the scanned host, rport at
# the scanner), knocked on once each: evidence ports, port_lowest,
# port_highest, as many connections; no other CODE line names one of them.
expect_port_scan() {
	local file=$1 code=$2 field=$3 first=$4 last=$5 got

	lab_json_ok "$file" || return 1
	got=$(jq -c -s --arg c "$code" --arg f "$field" --argjson lo "$first" \
		--argjson hi "$last" '[.[] | select(.type == "diagnosis" and .code == $c)] |
		{ scans: [.[] | select(.evidence.ports != null) |
			  [.evidence.ports, .evidence.port_lowest, .evidence.port_highest,
			   .connections]],
		  alone: [.[] | select(.evidence.ports == null and
				       .[$f] >= $lo and .[$f] <= $hi) | .[$f]] }' "$file")
	[ "$got" = "{\"scans\":[[$((last - first + 1)),$first,$last,$((last - first + 1))]],\"alone\":[]}" ] &&
		return 0
	echo "$(basename "$file" .json): $code scans [ports,lowest,highest,connections]" \
		"and ports told alone: $got; want one scan of $first-$last"
	return 1
}

# ------------------------------------------------------------ ... and faults like it

# A reset that cuts off a pending request: the client gives up after 1 s on
# a server that never answers and closes with SO_LINGER 0. An error at both
# ends, however benign the same RST is after a complete exchange. The
# client's giving up is told too (PEER_APP_STALL, a warning: the server's
# silence is the fault), and its reset is its own, not the answer to a late
# reply: no answer ever came.
sc_pending-reset() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" hang -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --linger0 --timeout-ms 1000 --expect timeout
	sc_stop "$n" a b
	sc_check expect_diag "$LAB_DIR/$n.a.json" LOCAL_RESET || return
	sc_check expect_only "$LAB_DIR/$n.a.json" LOCAL_RESET PEER_APP_STALL
	sc_check expect_field "$LAB_DIR/$n.a.json" LOCAL_RESET severity error
	sc_check expect_field "$LAB_DIR/$n.a.json" LOCAL_RESET raddr "$b"
	sc_check expect_field "$LAB_DIR/$n.a.json" LOCAL_RESET side client
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_RESET request_pending == 1
	# how long it waited: about its timeout (which a loaded lab's connect
	# shares)
	sc_check expect_evidence "$LAB_DIR/$n.a.json" LOCAL_RESET gave_up_after_ms '>=' 500
	sc_check expect_diag "$LAB_DIR/$n.a.json" PEER_APP_STALL || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PEER_APP_STALL closed_with_reset == 1
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PEER_APP_STALL answered_late == 0
	sc_check expect_conn "$LAB_DIR/$n.a.json" close_reason reset_local
	sc_check_server "$n" PEER_RESET "$b" "$port" || return
	sc_check expect_field "$LAB_DIR/$n.b.json" PEER_RESET severity error
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PEER_RESET request_pending == 1
}

# The same client keeps retrying a port where nothing listens: that is an
# error at the server, not a scan.
sc_port-retry() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" many --count 4 --timeout-ms 2000 --expect ECONNREFUSED
	sc_stop "$n" a b
	sc_check_server "$n" PORT_CLOSED "$b" "$port" || return
	sc_check expect_field "$LAB_DIR/$n.b.json" PORT_CLOSED severity error
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PORT_CLOSED client_syns '>=' 3
}

# A 4-tuple reused by a new connection: the first, from a fixed local port,
# completes and ends with RST (so no TIME_WAIT holds the tuple); the second,
# from the same port, has its SYNs dropped by the router. The second's NIC
# counts start afresh: its SYN went unanswered, and no SYN-ACK of the first
# connection passes for an answer this host dropped.
sc_reuse() {
	local fam=$1 port=$2 n=$3 b lport=$(($2 + 5))

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --lport "$lport" --linger0
	sc_nft "$port" "tcp dport $port tcp flags & (syn | ack) == syn counter drop" || return
	sc_client "$n" "$b" "$port" request --lport "$lport" --timeout-ms 3500 \
		--expect timeout
	sc_stop "$n" a
	sc_nft_hit r "$port" forward
	sc_check expect_diag "$LAB_DIR/$n.a.json" SYN_UNANSWERED || return
	# the first connection's end is a note
	sc_check expect_only "$LAB_DIR/$n.a.json" SYN_UNANSWERED LOCAL_RESET
	sc_check expect_quiet_but "$LAB_DIR/$n.a.json" SYN_UNANSWERED
	sc_check expect_field "$LAB_DIR/$n.a.json" SYN_UNANSWERED rport "$port"
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED nic_packets_in == 0
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED nic_syns_out '>=' 2
}

# Retransmissions the kernel attempted and could not send are none: since
# 6.18 the tracepoint fires for them too, with an error. In the middle of a
# stream to a service-b address of the variant's own (10.0.2.203,
# fd00:2::203), service-a's firewall drops what comes back (so what is in
# flight is never acknowledged) and its route to that address turns
# unreachable: every retransmission the timer attempts fails its route
# lookup (-EHOSTUNREACH) and sends nothing. The connection's record must
# count no more retransmissions than the kernel itself did.
sc_retrans-fail() {
	local fam=$1 port=$2 n=$3 dst push ss sent backoff i

	if [ "$fam" = v4 ]; then
		dst=10.0.2.203
		ip -n "$NS_B" addr add "$dst/24" dev "$IF_B" ||
			{ lab_fail "lab: cannot add $dst to service-b"; return; }
	else
		dst=fd00:2::203
		ip -n "$NS_B" addr add "$dst/64" dev "$IF_B" nodad ||
			{ lab_fail "lab: cannot add $dst to service-b"; return; }
	fi
	lab_server "$n" "$dst" "$port" sink -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	# a modest stream: few retransmissions of its own before the cut
	lab_client "$n" "$dst" "$port" push -d 5000 --sndbuf 32768 \
		--expect ok,EHOSTUNREACH,ETIMEDOUT &
	push=$!
	# the stream runs
	sleep 0.5
	sc_nft_at a input "$port" "tcp sport $port counter drop" || return
	if [ "$fam" = v4 ]; then
		ip -n "$NS_A" route add unreachable "$dst/32"
	else
		ip -n "$NS_A" -6 route add unreachable "$dst/128"
	fi || lab_fail "lab: cannot make $dst unreachable"
	wait "$push"
	# four attempts (0.2 + 0.4 + 0.8 + 1.6 s) failed while the tracer watched
	for i in $(seq 60); do
		backoff=$(ip netns exec "$NS_A" ss -tinH dport = ":$port" |
			grep -o 'backoff:[0-9]*' | cut -d: -f2)
		[ "${backoff:-0}" -ge 4 ] && break
		sleep 0.1
	done
	sc_stop "$n" a
	[ "${backoff:-0}" -ge 4 ] ||
		{ lab_fail "lab: the retransmission timer did not fire 4 times (backoff ${backoff:-0})"; return; }
	# the kernel's own count of what it did retransmit (tcpi_total_retrans)
	ss=$(ip netns exec "$NS_A" ss -tinH dport = ":$port")
	sent=$(echo "$ss" | grep -o 'retrans:[0-9]*/[0-9]*' | cut -d/ -f2)
	sc_check expect_conn "$LAB_DIR/$n.a.json" rport "$port" || return
	sc_check expect_conn_at_most "$LAB_DIR/$n.a.json" retransmits "${sent:-0}"
}

# expect_conn_at_most FILE FIELD N: every conn record has .FIELD <= N.
expect_conn_at_most() {
	local got

	got=$(jq -s --arg f "$2" '[.[] | select(.type == "conn") | .[$f]] | max // 0' "$1")
	[ "$got" -le "$3" ] && return 0
	echo "$(basename "$1" .json): a conn record has $2=$got, the kernel counts $3"
	return 1
}

# Lost events are a caveat on what they could have touched, not on all
# that follows: the tracer is stopped while 15000 short connections overflow
# its ring buffer, then let go; a refused connect made after it caught up
# is diagnosed with no caveat. A healthy connection costs one ring record
# (its close, 184 bytes with the ring's header): the 2 MiB ring holds about
# 11400 of them (5000 overflowed it only while a connection took three).
sc_lost-events() {
	local fam=$1 port=$2 n=$3 b var pid i
	local SC_TRACER_OPTS=(--conn-interval 1)

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	var="TRACER_PID_${n//[^A-Za-z0-9_]/_}_a"
	pid=${!var}
	kill -STOP "$pid"
	sc_client "$n" "$b" "$port" many --count 15000
	kill -CONT "$pid"
	# caught up: a stats record says events were lost
	for i in $(seq 100); do
		lab_any "$LAB_DIR/$n.a.json" 'any(inputs; .type == "stats" and .events_lost > 0)' &&
			break
		sleep 0.1
	done
	lab_lost=$(jq -s '[.[] | select(.type == "stats") | .events_lost] | max // 0' \
		"$LAB_DIR/$n.a.json")
	lab_server_stop
	sc_client "$n" "$b" "$port" request --timeout-ms 2000 --expect ECONNREFUSED
	sc_stop "$n" a
	[ "${lab_lost:-0}" -gt 0 ] || { lab_fail "lab: the tracer lost no event"; return; }
	sc_check expect_diag "$LAB_DIR/$n.a.json" CONNECTION_REFUSED || return
	sc_check expect_field "$LAB_DIR/$n.a.json" CONNECTION_REFUSED events_lost false
}

# Congestion at service-a's own egress: a stream through a token bucket
# (tbf) that drops what exceeds its small queue, on a link of the
# variant's own (a second veth to the router, tt<id>q4 / tt<id>q6, towards
# a service-b address of its own, 10.0.2.204 / fd00:2::204, so no other
# variant's traffic meets the shaper). For 1.5 s, under the 2 s threshold:
# loss, not a refusal of this host. The kernel's drops must be seen as
# loss evidence (PACKET_LOSS with qdisc_drops), never as LOCAL_DROP.
sc_qdisc() {
	local fam=$1 port=$2 n=$3 dst ifa ifr dropped

	ifa=tt${LAB_ID}q${fam#v} ifr=tt${LAB_ID}Q${fam#v}
	ip link add "$ifa" netns "$NS_A" type veth peer name "$ifr" netns "$NS_R" &&
		ip -n "$NS_A" link set "$ifa" up && ip -n "$NS_R" link set "$ifr" up ||
		{ lab_fail "lab: cannot add the shaped link"; return; }
	if [ "$fam" = v4 ]; then
		dst=10.0.2.204
		ip -n "$NS_A" addr add 10.0.4.5/24 dev "$ifa" &&
			ip -n "$NS_R" addr add 10.0.4.1/24 dev "$ifr" &&
			ip -n "$NS_B" addr add "$dst/24" dev "$IF_B" &&
			ip -n "$NS_A" route add "$dst/32" via 10.0.4.1 dev "$ifa"
	else
		dst=fd00:2::204
		ip netns exec "$NS_R" sysctl -qw "net.ipv6.conf.$ifr.forwarding=1" &&
			ip -n "$NS_A" addr add fd00:4::5/64 dev "$ifa" nodad &&
			ip -n "$NS_R" addr add fd00:4::1/64 dev "$ifr" nodad &&
			ip -n "$NS_B" addr add "$dst/64" dev "$IF_B" nodad &&
			ip -n "$NS_A" -6 route add "$dst/128" via fd00:4::1 dev "$ifa"
	fi || { lab_fail "lab: cannot address the shaped link"; return; }
	ip netns exec "$NS_A" tc qdisc add dev "$ifa" root tbf rate 20mbit burst 16kb \
		limit 16kb || { lab_fail "lab: cannot add the tbf qdisc"; return; }
	lab_server "$n" "$dst" "$port" sink -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" push -d 1500
	sc_stop "$n" a
	dropped=$(ip netns exec "$NS_A" tc -s qdisc show dev "$ifa" |
		grep -o 'dropped [0-9]*' | head -n 1 | cut -d' ' -f2)
	[ "${dropped:-0}" -gt 0 ] || { lab_fail "lab: the tbf dropped nothing"; return; }
	sc_check expect_quiet_but "$LAB_DIR/$n.a.json" PACKET_LOSS
	sc_check expect_only "$LAB_DIR/$n.a.json" PACKET_LOSS
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PACKET_LOSS qdisc_drops '>' 0
}

# ------------------------------------------------------------ misses
#
# Faults that hide in busy, long-lived connections or leave no event of
# their own, and a healthy neighbour that looks like them.

# A busy pooled connection whose server stops answering: requests go back
# to back for 1 s (answer and next request within one scan interval, often
# one jiffy), then one is ACKed and never answered; the client gives up
# after 5 s. The socket clocks, not turns between scans, say who waits.
sc_pool-hang() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer --answer-ms 1000 -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" pool -d 30000 --timeout-ms 5000 --expect timeout
	sc_stop "$n" a b
	grep -q 'answering no more' "$LAB_DIR/$n.peer.log" ||
		lab_fail "lab: the server never stopped answering"
	sc_check_flow "$n" PEER_APP_STALL "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PEER_APP_STALL waited_ms '>=' "$LAB_STALL_MS"
	sc_check_server "$n" LOCAL_APP_STALL "$b" "$port"
}

# Healthy: the same busy pool, every request answered, then the connection
# idles for twice the stall threshold before the pool closes it. Nobody
# owes anything, however the last exchange fell between two scans.
sc_pool-idle() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" pool -d 1000 --idle-ms $((LAB_STALL_MS * 2))
	sc_stop "$n" a b
	sc_check_healthy "$n"
}

# The path goes black mid-flight: once the pooled connection is under way,
# the router drops the client's data segments (its ACKs still pass, so the
# server has nothing to retransmit). The client's next request is
# retransmitted on timeouts, unacknowledged, until its TCP_USER_TIMEOUT
# (4 s) makes the kernel give up with ETIMEDOUT.
sc_blackhole() {
	local fam=$1 port=$2 n=$3 b ready pid data i

	b=$(lab_addr "$fam" b)
	# a segment with payload: longer than the headers and timestamps
	[ "$fam" = v4 ] && data="ip length > 52" || data="ip6 length > 32"
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	ready=$LAB_DIR/$n.client.ready
	lab_client "$n" "$b" "$port" pool -d 30000 --think-ms 100 --timeout-ms 20000 \
		--user-timeout-ms 4000 --ready-file "$ready" --expect ETIMEDOUT &
	pid=$!
	for i in $(seq 100); do
		[ -f "$ready" ] && break
		sleep 0.1
	done
	sc_nft "$port" "tcp dport $port $data counter drop"
	wait "$pid" || lab_fail "lab: the client did not time out (ETIMEDOUT)"
	sc_stop "$n" a b
	sc_nft_hit r "$port" forward
	sc_check_flow "$n" CONNECTION_TIMEOUT "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" CONNECTION_TIMEOUT rto_in_a_row '>=' 3
	sc_check expect_evidence "$LAB_DIR/$n.a.json" CONNECTION_TIMEOUT user_timeout_ms == 4000
	# service-a's own tcp_retries2 (lab_up), not the host's
	sc_check expect_evidence "$LAB_DIR/$n.a.json" CONNECTION_TIMEOUT retries2 == 14
	sc_check expect_evidence "$LAB_DIR/$n.a.json" CONNECTION_TIMEOUT gives_up_in_ms '>=' 0
	# ... and when the kernel gave up, the application's error
	sc_check expect_field "$LAB_DIR/$n.a.json" CONNECTION_TIMEOUT app_error ETIMEDOUT
	sc_check expect_no_diag "$LAB_DIR/$n.b.json"
}

# A client that gives up: its 1 s timeout passes while the server takes
# 2.5 s to answer; it closes with the request pending, and the late answer
# meets a closed socket (reset). Told at both ends, with how long the
# client waited and when the answer came.
sc_giveup() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" answer --delay-ms 2500 -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --timeout-ms 1000 --expect timeout
	# the late answer leaves 2.5 s after the request
	sc_wait_log "$LAB_DIR/$n.peer.log" "answered after the client closed" 10 ||
		lab_fail "lab: the server never sent its late answer"
	sc_stop "$n" a b
	sc_check_flow "$n" PEER_APP_STALL "$b" "$port" || return
	# about the client's timeout (it also covers the connect; a loaded
	# lab delays the request)
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PEER_APP_STALL gave_up_after_ms '>=' 500
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PEER_APP_STALL answered_late == 1
	# the late answer's reset, at the server, is the consequence
	ALSO_OK=PEER_RESET sc_check_server "$n" LOCAL_APP_STALL "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.b.json" LOCAL_APP_STALL gave_up_after_ms '>=' 500
	sc_check expect_evidence "$LAB_DIR/$n.b.json" LOCAL_APP_STALL answered_late == 1
}

# A short connect timeout: the router drops the SYNs, the client gives up
# after 1.5 s, one retransmit in: SYN_UNANSWERED all the same.
sc_syn-giveup() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft "$port" "tcp dport $port tcp flags & (syn | ack) == syn counter drop" || return
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$b" "$port" request --timeout-ms 1500 --expect timeout
	sc_stop "$n" a
	sc_nft_hit r "$port" forward
	sc_check_flow "$n" SYN_UNANSWERED "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED app_gave_up == 1
	sc_check expect_evidence "$LAB_DIR/$n.a.json" SYN_UNANSWERED nic_packets_in == 0
}

# A null route on the router (an unreachable route for one address): it
# answers the SYN at once, from its route table, with ICMP host unreachable
# (IPv4) or no route (IPv6): NO_ROUTE at that router, not a host that is
# down (whose ICMP comes after the router's ARP/ND gave up, seconds later).
# The address is in a subnet of its own: qdisc's shaped link puts
# 10.0.4.0/24 and fd00:4::/64 on service-a, and a SYN to an address there
# would leave on that link and fail service-a's own ARP/ND.
sc_null-route() {
	local fam=$1 port=$2 n=$3 dst r

	r=$(sc_router "$fam")
	if [ "$fam" = v4 ]; then
		dst=10.0.6.8
		ip -n "$NS_R" route add unreachable "$dst/32"
	else
		dst=fd00:6::8
		ip -n "$NS_R" -6 route add unreachable "$dst/128"
	fi || { lab_fail "lab: cannot add the router's unreachable route"; return; }
	sc_tracers "$n" "$port" a || return
	sc_client "$n" "$dst" "$port" request --timeout-ms 3000 \
		--expect EHOSTUNREACH,ENETUNREACH
	sc_stop "$n" a
	sc_check_flow "$n" NO_ROUTE "$dst" "$port" || return
	sc_check expect_summary "$LAB_DIR/$n.a.json" NO_ROUTE "$r"
	sc_check expect_evidence "$LAB_DIR/$n.a.json" NO_ROUTE icmp_after_ms '<' 1000
}

# Loss on the way in: the router drops ~10% of service-b's data segments
# to service-a, which downloads. service-a has no retransmit of its own:
# the gaps in what arrives say it. The sender sees its side.
sc_loss-in() {
	local fam=$1 port=$2 n=$3 b

	b=$(lab_addr "$fam" b)
	sc_nft "$port" "tcp sport $port tcp flags & (syn | fin) == 0 numgen random mod 100 < 10 counter drop" ||
		return
	lab_server "$n" "$b" "$port" bulk -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" recv -d 3000
	sc_stop "$n" a b
	sc_nft_hit r "$port" forward
	sc_check_flow "$n" PACKET_LOSS "$b" "$port" || return
	sc_check expect_evidence "$LAB_DIR/$n.a.json" PACKET_LOSS inbound == 1
	sc_check_server "$n" PACKET_LOSS "$b" "$port"
}

# -o FILE: service-a's tracer writes gzip JSON lines rotated every second
# and is stopped cleanly: every file is whole, and the client's 21
# connections have one final conn record each across them, none lost at a
# rotation, none twice. service-b's tracer writes one gzip file and is
# killed with SIGKILL once its records are in: zcat reads every line of
# it, each whole JSON, though the gzip trailer never came.
sc_file-output() {
	local fam=$1 port=$2 n=$3 b files pid var got i
	local dir="$LAB_DIR/$n.files"

	b=$(lab_addr "$fam" b)
	mkdir -p "$dir"
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	[ -n "$NO_TRACER" ] || {
		lab_tracer_start "$n.a" a "$port" "$TRACER_SECS" --conn-interval 1 \
			-o "$dir/conns.json.gz" --rotate-s 1
		lab_tracer_start "$n.b" b "$port" "$TRACER_SECS" --conn-interval 1 \
			-o "$LAB_DIR/$n.b.json.gz"
		lab_tracer_wait "$n.a" && lab_tracer_wait "$n.b" || return
	}
	sc_client "$n" "$b" "$port" many -n 10
	sc_client "$n" "$b" "$port" idle -d 2200	# across two rotations
	sc_client "$n" "$b" "$port" many -n 10
	[ -n "$NO_TRACER" ] && { lab_server_stop; return; }
	# The server's records reach its file at a tick; then the kill.
	for i in $(seq 100); do
		got=$(zcat "$LAB_DIR/$n.b.json.gz" 2>/dev/null |
			jq -s '[.[] | select(.type == "conn" and .open == false)] | length' 2>/dev/null)
		[ "${got:-0}" -ge 21 ] && break
		sleep 0.1
	done
	var="TRACER_PID_${n//[^A-Za-z0-9_]/_}_b"
	pid=${!var}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	sc_stop "$n" a
	files=$(ls "$dir" | wc -l)
	sc_check expect_files_whole "$dir" 3
	sc_check expect_conns_once "$n.a files" client 21 \
		sh -c 'for f in $(ls "$1"/conns-*.json.gz | sort) "$1/conns.json.gz"; do zcat "$f"; done' \
		- "$dir"
	sc_check expect_killed_gzip "$LAB_DIR/$n.b.json.gz"
	sc_check expect_conns_once "$n.b killed" server 21 zcat "$LAB_DIR/$n.b.json.gz"
	echo "# $n: service-a wrote $files files; service-b's file read after SIGKILL"
}

# sc_metrics_get PORT: the tracer's /metrics, or nothing (2 s at most).
sc_metrics_get() {
	curl -s --max-time 2 "http://127.0.0.1:$1/metrics"
}

# --metrics with a real Prometheus scraping it. Service-a's tracer serves
# on 127.0.0.1:PORT+10000. First 15 scrape clients stall it (connected,
# silent or half a request): a refused connect is diagnosed in the JSON
# output all the same, within a second. Then Prometheus (PORT+11000)
# scrapes every second and its query API must return the diagnosis'
# series, with the service's port and no ephemeral one; promtool accepts
# the scrape.
sc_metrics() {
	local fam=$1 port=$2 n=$3 b mport=$(($2 + 10000)) pport=$(($2 + 11000))
	local dir="$LAB_DIR/$n.prom" prom_pid fds=() fd i q got t0

	if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
		echo "SKIP lab/metrics/$fam: prometheus not installed (make deps)"
		return
	fi
	b=$(lab_addr "$fam" b)
	local SC_TRACER_OPTS=(--metrics "127.0.0.1:$mport")
	sc_tracers "$n" "$port" a || return
	[ -n "$NO_TRACER" ] && return
	for i in $(seq 15); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$mport" || break
		fds+=("$fd")
		[ $((i % 2)) -eq 0 ] && printf 'GET /met' >&"$fd"
	done
	t0=$(date +%s%N)
	sc_client "$n" "$b" "$port" request --expect ECONNREFUSED
	for i in $(seq 30); do
		grep -q '"code":"CONNECTION_REFUSED"' "$LAB_DIR/$n.a.json" && break
		sleep 0.1
	done
	got=$(( ($(date +%s%N) - t0) / 1000000 ))
	if grep -q '"code":"CONNECTION_REFUSED"' "$LAB_DIR/$n.a.json"; then
		echo "# $n: diagnosed ${got} ms after the connect, 15 scrape clients stalled"
	else
		lab_fail "no CONNECTION_REFUSED within 3 s while scrape clients stalled the server"
	fi
	for fd in "${fds[@]}"; do exec {fd}>&-; done

	mkdir -p "$dir"
	cat >"$dir/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: tcptrace
	    static_configs:
	      - targets: ["127.0.0.1:$mport"]
	EOF
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$pport" >"$dir/prometheus.log" 2>&1 &
	prom_pid=$!
	lab_track "$prom_pid"
	q='tcptrace_diagnoses_total{code="CONNECTION_REFUSED"}'
	for i in $(seq 150); do
		got=$(curl -s --max-time 1 -G "http://127.0.0.1:$pport/api/v1/query" \
			--data-urlencode "query=$q" 2>/dev/null |
			jq -r '.data.result[] | "\(.metric.raddr) \(.metric.rport) \(.metric.lport // "") \(.value[1])"' 2>/dev/null)
		[ -n "$got" ] && break
		sleep 0.2
	done
	if [ "$got" = "$b $port  1" ]; then
		echo "# $n: Prometheus answered $q: $got"
	else
		lab_fail "Prometheus's query $q gave '${got}', want '$b $port  1' (prometheus: $(tail -n 2 "$dir/prometheus.log" | tr '\n' ' '))"
	fi
	if ! sc_metrics_get "$mport" >"$dir/scrape.txt" ||
	   ! promtool check metrics <"$dir/scrape.txt" >"$dir/promtool.txt" 2>&1; then
		lab_fail "promtool check metrics: $(head -c 300 "$dir/promtool.txt")"
	fi
	kill -TERM "$prom_pid" 2>/dev/null
	wait "$prom_pid" 2>/dev/null
	sc_stop "$n" a
}

# A connect storm to 2,000 endpoints (addresses behind an unreachable
# route: each connect fails at once, NO_ROUTE, a diagnosis per endpoint)
# with --metrics-max-endpoints 50: the scrape has 50 endpoints of their
# own and raddr="other", the counts of all 2,000 in them.
sc_metrics-storm() {
	local fam=$1 port=$2 n=$3 mport=$(($2 + 10000)) net first i got other t0

	if [ "$fam" = v4 ]; then
		net=10.64.0.0/16 first=10.64.0.1
		ip -n "$NS_A" route add unreachable "$net" 2>/dev/null
	else
		net=fd00:64::/64 first=fd00:64::1
		ip -n "$NS_A" -6 route add unreachable "$net" 2>/dev/null
	fi
	local SC_TRACER_OPTS=(--metrics "127.0.0.1:$mport" --metrics-max-endpoints 50)
	sc_tracers "$n" "$port" a || return
	t0=$SECONDS
	sc_client "$n" "$first" "$port" storm -n 2000 --timeout-ms 200
	echo "# $n: $(grep -o '2000 endpoints in [0-9]* ms' "$LAB_DIR/$n.peer.log")"
	[ -n "$NO_TRACER" ] && return
	for i in $(seq 150); do
		got=$(sc_metrics_get "$mport" | awk '/^tcptrace_diagnoses_total\{.*code="NO_ROUTE"/ { s += $NF } END { print s + 0 }')
		[ "$got" -ge 2000 ] && break
		sleep 0.2
	done
	sc_metrics_get "$mport" >"$LAB_DIR/$n.scrape.txt"
	sc_stop "$n" a
	got=$(grep '^tcptrace_diagnoses_total{' "$LAB_DIR/$n.scrape.txt" | grep -c 'code="NO_ROUTE"')
	other=$(grep '^tcptrace_diagnoses_total{.*raddr="other"' "$LAB_DIR/$n.scrape.txt" | awk '{ print $NF }')
	echo "# $n: $got NO_ROUTE series for 2000 endpoints, \"other\" counts ${other:-none}; scrape $(wc -c <"$LAB_DIR/$n.scrape.txt") bytes, $(grep -vc '^#' "$LAB_DIR/$n.scrape.txt") series"
	if [ "$got" -ne 51 ] || [ -z "$other" ]; then
		lab_fail "metrics storm: $got NO_ROUTE series (want 50 endpoints + other), other=${other:-absent}"
	fi
	got=$(awk '/^tcptrace_diagnoses_total\{.*code="NO_ROUTE"/ { s += $NF } END { print s + 0 }' "$LAB_DIR/$n.scrape.txt")
	[ "$got" -eq 2000 ] || lab_fail "metrics storm: NO_ROUTE counts sum to $got, want 2000"
	grep -q '^tcptrace_metrics_endpoints 50$' "$LAB_DIR/$n.scrape.txt" ||
		lab_fail "metrics storm: $(grep '^tcptrace_metrics_endpoints ' "$LAB_DIR/$n.scrape.txt")"
	if [ "$fam" = v4 ]; then
		ip -n "$NS_A" route del unreachable "$net" 2>/dev/null
	else
		ip -n "$NS_A" -6 route del unreachable "$net" 2>/dev/null
	fi
}

# --otlp to the tests' stand-in collector (build/otlp_receiver), which
# answers the first request 503 (Retry-After: 1) and the rest 200: the
# request is sent again and taken. A refused connect (no server yet) makes
# a diagnosis, an exchange with the server then a conn record
# (--otlp-conns); the tracer stops, flushing both. The payloads must keep
# the OTLP JSON mapping (tests/otlp_mapping.jq) and carry the diagnosis as
# a log record in OpenTelemetry's attribute names, the conn record, and
# the diagnosis counted in the metrics.
sc_otlp() {
	local fam=$1 port=$2 n=$3 b dir="$LAB_DIR/$n.otlp" rpid rport f bad got first

	b=$(lab_addr "$fam" b)
	mkdir -p "$dir"
	"$LAB_ROOT/build/otlp_receiver" -d "$dir" -a 503 -r 1 >"$dir/port" 2>"$dir/err" &
	rpid=$!
	lab_track "$rpid"
	for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
	rport=$(cat "$dir/port")
	local SC_TRACER_OPTS=(--otlp "http://127.0.0.1:$rport" --otlp-conns)
	sc_tracers "$n" "$port" a || { kill "$rpid"; return; }
	sc_client "$n" "$b" "$port" request --expect ECONNREFUSED
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || { kill "$rpid"; return; }
	sc_client "$n" "$b" "$port" request
	sc_stop "$n" a
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	[ -n "$NO_TRACER" ] && return
	echo "# $n: collector saw $(tr '\n' ';' <"$dir/requests.log")"
	if ! head -n 1 "$dir/requests.log" | grep -q ' gzip 503$' ||
	   [ "$(awk '$4 == 200' "$dir/requests.log" | wc -l)" -lt 2 ] ||
	   grep -qv ' gzip ' "$dir/requests.log"; then
		lab_fail "otlp: want a 503 first, then requests taken (200), all gzip: $(tr '\n' ';' <"$dir/requests.log")"
	fi
	# The refused request (logs or metrics, whichever went first: the
	# tracer may take 10 s to load on a busy machine) comes again, whole;
	# other requests may fall between.
	first=$(ls "$dir"/0001-*.json 2>/dev/null)
	got=
	for f in "$dir"/*-"${first##*-}"; do
		[ -n "$first" ] && [ "$f" != "$first" ] && cmp -s "$first" "$f" && got=$f
	done
	[ -n "$got" ] || lab_fail "otlp: the request refused with 503 never came again: $(tr '\n' ';' <"$dir/requests.log")"
	for f in "$dir"/*.json; do
		bad=$(jq -r -f "$LAB_ROOT/tests/otlp_mapping.jq" "$f" 2>&1 | head -n 3 | tr '\n' ';')
		[ -z "$bad" ] || lab_fail "otlp: $(basename "$f") breaks the OTLP JSON mapping: $bad"
	done
	got=$(cat "$dir"/*-logs.json | jq -r --arg b "$b" --arg port "$port" '
		.resourceLogs[] | select(any(.resource.attributes[]; .key == "service.name" and
					     .value.stringValue == "tcptrace-bpf")) |
		.scopeLogs[].logRecords[] | select(.eventName == "tcptrace.diagnosis") |
		(.attributes | map({(.key): (.value.stringValue // .value.intValue)}) | add) as $a |
		select($a["error.type"] == "CONNECTION_REFUSED" and $a["network.peer.address"] == $b and
		       $a["network.peer.port"] == $port and $a["server.address"] == $b and
		       $a["server.port"] == $port and $a["network.transport"] == "tcp" and
		       .severityNumber == 17) | "diagnosis"' | head -n 1)
	[ "$got" = diagnosis ] ||
		lab_fail "otlp: no CONNECTION_REFUSED log record with the peer $b:$port in OpenTelemetry's attributes"
	got=$(cat "$dir"/*-logs.json | jq -r '.resourceLogs[].scopeLogs[].logRecords[] |
		select(.eventName == "tcptrace.conn") |
		select(any(.attributes[]; .key == "tcptrace.close_reason" and .value.stringValue == "fin")) |
		"conn"' | head -n 1)
	[ "$got" = conn ] || lab_fail "otlp: no conn log record closed by fin (--otlp-conns)"
	got=$(cat "$dir"/*-metrics.json | jq -r '.resourceMetrics[].scopeMetrics[].metrics[] |
		select(.name == "tcptrace_diagnoses") | .sum.dataPoints[] |
		select(any(.attributes[]; .key == "code" and .value.stringValue == "CONNECTION_REFUSED")) |
		.asInt' | tail -n 1)
	[ "$got" = 1 ] || lab_fail "otlp: the metrics count '${got}' CONNECTION_REFUSED, want 1"
}

# ------------------------------------------------------------ two ends

# expect_verdict FILE CPORT CODE WHERE [REASON]: correlate's JSON has a
# verdict CODE at WHERE for the client port (and the kernel's REASON).
expect_verdict() {
	local file=$1 cport=$2 code=$3 where=$4 reason=${5:-} got

	if lab_any "$file" --argjson p "$cport" --arg c "$code" --arg w "$where" \
		--arg r "$reason" 'any(inputs; .type == "verdict" and .cport == $p and
			.code == $c and .where == $w and ($r == "" or .reason == $r))'; then
		return 0
	fi
	got=$(jq -r --argjson p "$cport" 'select(.type == "verdict" and .cport == $p) |
		"\(.code)/\(.where)/\(.reason)"' "$file" | paste -sd, -)
	echo "correlate: client port $cport: want $code at $where${reason:+ ($reason)}, got ${got:-no verdict}"
	return 1
}

# The seed's method end to end: a tracer records each host while six
# faults happen side by side on one server port, told apart by the
# client's source port: a router that drops the SYNs (PATH_DROP), service-b's
# firewall dropping them (HOST_DROP at the server), service-a's dropping
# the SYN-ACKs (HOST_DROP at the client), a DNAT whose replies skip it
# (NAT_MISMATCH), a server that never answers (APP_STALL), one that
# crashes with the request unread (RESET from the server), and a healthy
# exchange (no verdict). Each recording replays to what its tracer said
# (lab_tracer_stop checks that for every scenario); correlate must name
# each fault's place and nothing else; a third recording, made after the
# first two, shares no time with them: CLOCK.
sc_two-ends() {
	local fam=$1 port=$2 n=$3 a b virt l3 i out pids=()
	local lp=$((24000 + (port - LAB_PORT_BASE) * 8))
	local healthy=$lp drop_path=$((lp + 1)) drop_b=$((lp + 2)) drop_a=$((lp + 3))
	local nat=$((lp + 4)) hang=$((lp + 5)) crash=$((lp + 6))

	a=$(lab_addr "$fam" a)
	b=$(lab_addr "$fam" b)
	[ "$fam" = v4 ] && virt=10.0.2.102 || virt=fd00:2::102
	[ "$fam" = v4 ] && l3=ip || l3=ip6
	lab_server "$n" "$b" "$port" answer -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" a b || return
	sc_client "$n" "$b" "$port" request --lport "$healthy"
	lab_server_stop
	sc_nft_at r forward "$port" \
		"tcp sport $drop_path tcp flags & (syn | ack) == syn counter drop" || return
	sc_nft_at b input "$port" \
		"tcp sport $drop_b tcp dport $port tcp flags & (syn | ack) == syn counter drop" || return
	sc_nft_at a input "$port" \
		"tcp sport $port tcp dport $drop_a tcp flags & (syn | ack) == syn | ack counter drop" ||
		return
	sc_dnat "$fam" "$port" "$virt" "$port" || return
	lab_server "$n" "$b" "$port" hang -d "$SERVER_MS" || return
	for i in "$drop_path" "$drop_b" "$drop_a"; do
		lab_client "$n" "$b" "$port" request --lport "$i" --timeout-ms 3500 \
			--expect timeout,ETIMEDOUT &
		pids+=($!)
	done
	lab_client "$n" "$virt" "$port" request --lport "$nat" --timeout-ms 3500 \
		--expect timeout,ETIMEDOUT &
	pids+=($!)
	lab_client "$n" "$b" "$port" request --lport "$hang" --timeout-ms $((LAB_STALL_MS + 1500)) \
		--expect timeout &
	pids+=($!)
	for i in "${pids[@]}"; do
		wait "$i" || lab_fail "lab: a faulty client did not see its fault (see $n.peer.log)"
	done
	lab_server_stop
	lab_server "$n" "$b" "$port" crash --delay-ms 300 -d "$SERVER_MS" || return
	sc_client "$n" "$b" "$port" request --lport "$crash" --timeout-ms 3000 --expect ECONNRESET
	sc_stop "$n" a b
	for i in r:forward b:input a:input; do
		sc_nft_hit "${i%%:*}" "$port" "${i#*:}"
	done
	sc_nft_hit r "$port" nat
	[ -n "$NO_TRACER" ] && return
	out=$LAB_DIR/$n.correlate.json
	if ! "$TCPTRACE" correlate -j "$LAB_DIR/$n.a.ttr" "$LAB_DIR/$n.b.ttr" >"$out" \
		2>"$LAB_DIR/$n.correlate.log"; then
		lab_fail "correlate failed: $(tail -n 1 "$LAB_DIR/$n.correlate.log")"
		return
	fi
	sc_check expect_verdict "$out" "$drop_path" PATH_DROP network
	sc_check expect_verdict "$out" "$drop_b" HOST_DROP server NETFILTER_DROP
	sc_check expect_verdict "$out" "$drop_a" HOST_DROP client NETFILTER_DROP
	sc_check expect_verdict "$out" "$nat" NAT_MISMATCH network
	sc_check expect_verdict "$out" "$hang" APP_STALL server
	sc_check expect_verdict "$out" "$crash" RESET server
	# one verdict each, none for the healthy exchange, nothing else
	i=$(jq -s '[.[] | select(.type == "verdict")] | length' "$out")
	[ "$i" = 6 ] || lab_fail "correlate: $i verdicts, want 6: $(jq -r 'select(.type == "verdict") |
		"\(.cport) \(.code)"' "$out" | paste -sd, -)"
	lab_any "$out" 'any(inputs; .type == "correlation" and .clock == "same_boot" and
		.overlap and .pairs >= 6)' ||
		lab_fail "correlate: $(jq -c 'select(.type == "correlation")' "$out")"
	# A recording made after both others: no time in common.
	lab_tracer "$n.late" b "$port" "$TRACER_SECS" || return
	lab_tracer_stop "$n.late"
	"$TCPTRACE" correlate -j "$LAB_DIR/$n.a.ttr" "$LAB_DIR/$n.late.ttr" \
		>"$LAB_DIR/$n.clock.json" 2>>"$LAB_DIR/$n.correlate.log" ||
		lab_fail "correlate of the late recording failed"
	lab_any "$LAB_DIR/$n.clock.json" 'any(inputs; .type == "verdict" and .code == "CLOCK")' ||
		lab_fail "correlate: recordings at different times: no CLOCK verdict"
}

# ------------------------------------------------------------ who and why

# sc_wait_for SECS CMD...: until CMD succeeds, or SECS pass (false then).
sc_wait_for() {
	local deadline=$((SECONDS + $1))
	shift

	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# sc_server_unread PORT N: N or more of service-b's established
# connections on PORT hold unread data.
sc_server_unread() {
	[ "$(ip netns exec "$NS_B" ss -tnH state established "( sport = :$1 )" |
		awk '$1 > 0' | wc -l)" -ge "$2" ]
}

# sc_log_has FILE TEXT: the peer log says TEXT.
sc_log_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# The server leaks memory in a cgroup limited to 40 MiB (no swap): each
# request takes 16 MiB. Two clients hold connections open (their
# exchanges took 32 MiB); a third request takes it past the limit and the
# OOM killer kills it. One PROCESS_KILLED on service-b names the server
# (pid, comm, the cgroup), the OOM killer and the three connections it
# closed, with FINs: the requests had been read.
sc_oom-kill() {
	local fam=$1 port=$2 n=$3 b cg pid i pids=()

	b=$(lab_addr "$fam" b)
	cg=$(lab_memcg "$n" $((40 << 20))) ||
		{ lab_fail "lab: cannot make a memory-limited cgroup"; return; }
	lab_server "$n" "$b" "$port" answer --hog-mb 16 -d "$SERVER_MS" || return
	pid=$SERVER_PID
	echo "$pid" >"$cg/cgroup.procs" ||
		{ lab_fail "lab: cannot move the server into $cg"; return; }
	sc_tracers "$n" "$port" b || return
	for i in 1 2; do
		lab_client "$n" "$b" "$port" idle -d 20000 --expect EOF,ECONNRESET &
		pids+=($!)
		lab_track $!
		sc_wait_for 10 sc_log_has "$LAB_DIR/$n.peer.log" "holding $((16 * i)) MiB" ||
			{ lab_fail "lab: the server did not take $((16 * i)) MiB"; return; }
	done
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect EOF,ECONNRESET
	for i in "${pids[@]}"; do
		wait "$i" || lab_fail "lab: an idle client did not see the server go"
	done
	# killed, or still running if the OOM killer did not come: ended now
	{ kill -KILL "$SERVER_PID"; wait "$SERVER_PID"; } 2>/dev/null
	SERVER_PID=
	grep -qs '^oom_kill [1-9]' "$cg/memory.events" "$cg/memory.oom_control" ||
		lab_fail "lab: the OOM killer did not kill the server"
	sc_stop "$n" b
	lab_memcg_del "$cg"
	sc_check expect_diag "$LAB_DIR/$n.b.json" PROCESS_KILLED || return
	# A server at its memory limit reclaims before it answers: on a busy
	# machine a request may wait past --stall-ms, which is told as it is.
	sc_check expect_only "$LAB_DIR/$n.b.json" PROCESS_KILLED LOCAL_APP_STALL
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED pid "$pid"
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED comm peer
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED side server
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED severity error
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED oom_killed == 1
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED signal == 9
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED connections_closed == 3
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED cgroup_id '>' 0
	sc_check expect_summary "$LAB_DIR/$n.b.json" PROCESS_KILLED "OOM killer"
	sc_check expect_summary "$LAB_DIR/$n.b.json" PROCESS_KILLED "$(lab_addr "$fam" a) (3)"
}

# A server that never reads is killed with SIGKILL while two requests
# wait unread in its sockets: its kernel resets both. One PROCESS_KILLED
# on service-b (SIGKILL, 2 connections, 2 resets); the LOCAL_RESETs there
# point at it (killed_pid) instead of telling it again; service-a sees
# the resets (PEER_RESET).
sc_killed() {
	local fam=$1 port=$2 n=$3 b pid i pids=()

	b=$(lab_addr "$fam" b)
	lab_server "$n" "$b" "$port" noread -d "$SERVER_MS" || return
	pid=$SERVER_PID
	sc_tracers "$n" "$port" a b || return
	for i in 1 2; do
		lab_client "$n" "$b" "$port" request --timeout-ms 10000 --expect ECONNRESET &
		pids+=($!)
		lab_track $!
	done
	sc_wait_for 10 sc_server_unread "$port" 2 ||
		{ lab_fail "lab: the requests did not reach the server"; return; }
	{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
	for i in "${pids[@]}"; do
		wait "$i" || lab_fail "lab: a client did not see its connection reset"
	done
	SERVER_PID=
	sc_stop "$n" a b
	sc_check expect_diag "$LAB_DIR/$n.b.json" PROCESS_KILLED || return
	sc_check expect_only "$LAB_DIR/$n.b.json" PROCESS_KILLED LOCAL_RESET
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED pid "$pid"
	sc_check expect_field "$LAB_DIR/$n.b.json" PROCESS_KILLED comm peer
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED signal == 9
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED oom_killed == 0
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED connections_closed == 2
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PROCESS_KILLED resets_sent == 2
	sc_check expect_summary "$LAB_DIR/$n.b.json" PROCESS_KILLED SIGKILL
	sc_check expect_evidence "$LAB_DIR/$n.b.json" LOCAL_RESET killed_pid == "$pid"
	sc_check expect_summary "$LAB_DIR/$n.b.json" LOCAL_RESET "see PROCESS_KILLED"
	sc_check expect_field "$LAB_DIR/$n.b.json" LOCAL_RESET pid "$pid"
	sc_check expect_diag "$LAB_DIR/$n.a.json" PEER_RESET
	sc_check expect_only "$LAB_DIR/$n.a.json" PEER_RESET
}

# A bottleneck with a small queue on the router: service-b streams to
# service-a through a token bucket (tbf, 8 Mbit/s, a 24 kB queue: ~24 ms)
# on the router's egress towards service-a, on a link of the variant's
# own (tt<id>c4 / tt<id>c6 to the router, towards an address of
# service-b's of its own, 10.0.2.205 / fd00:2::205, so no other traffic
# meets the shaper). The queue fills and overflows: PACKET_LOSS at the
# sender with an inflated RTT, told as congestion, where the loss
# scenario's random drops keep it flat.
sc_congestion() {
	local fam=$1 port=$2 n=$3 dst ifa ifr dropped

	ifa=tt${LAB_ID}c${fam#v} ifr=tt${LAB_ID}C${fam#v}
	ip link add "$ifa" netns "$NS_A" type veth peer name "$ifr" netns "$NS_R" &&
		ip -n "$NS_A" link set "$ifa" up && ip -n "$NS_R" link set "$ifr" up ||
		{ lab_fail "lab: cannot add the bottleneck link"; return; }
	if [ "$fam" = v4 ]; then
		dst=10.0.2.205
		ip -n "$NS_A" addr add 10.0.7.5/24 dev "$ifa" &&
			ip -n "$NS_R" addr add 10.0.7.1/24 dev "$ifr" &&
			ip -n "$NS_B" addr add "$dst/24" dev "$IF_B" &&
			ip -n "$NS_A" route add "$dst/32" via 10.0.7.1 dev "$ifa"
	else
		dst=fd00:2::205
		ip netns exec "$NS_R" sysctl -qw "net.ipv6.conf.$ifr.forwarding=1" &&
			ip -n "$NS_A" addr add fd00:7::5/64 dev "$ifa" nodad &&
			ip -n "$NS_R" addr add fd00:7::1/64 dev "$ifr" nodad &&
			ip -n "$NS_B" addr add "$dst/64" dev "$IF_B" nodad &&
			ip -n "$NS_A" -6 route add "$dst/128" via fd00:7::1 dev "$ifa"
	fi || { lab_fail "lab: cannot address the bottleneck link"; return; }
	ip netns exec "$NS_R" tc qdisc add dev "$ifr" root tbf rate 8mbit burst 8kb \
		limit 24kb || { lab_fail "lab: cannot add the tbf qdisc"; return; }
	lab_server "$n" "$dst" "$port" bulk -d "$SERVER_MS" || return
	sc_tracers "$n" "$port" b || return
	sc_client "$n" "$dst" "$port" recv -d 3000
	sc_stop "$n" b
	dropped=$(ip netns exec "$NS_R" tc -s qdisc show dev "$ifr" |
		grep -o 'dropped [0-9]*' | head -n 1 | cut -d' ' -f2)
	[ "${dropped:-0}" -gt 0 ] || { lab_fail "lab: the tbf dropped nothing"; return; }
	sc_check expect_diag "$LAB_DIR/$n.b.json" PACKET_LOSS || return
	sc_check expect_only "$LAB_DIR/$n.b.json" PACKET_LOSS
	sc_check expect_field "$LAB_DIR/$n.b.json" PACKET_LOSS side server
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PACKET_LOSS rtt_inflated == 1
	sc_check expect_summary "$LAB_DIR/$n.b.json" PACKET_LOSS "RTT inflated"
	sc_check expect_summary "$LAB_DIR/$n.b.json" PACKET_LOSS "congestion"
	sc_check expect_evidence "$LAB_DIR/$n.b.json" PACKET_LOSS srtt_peak_ms '>=' 5
}

# ------------------------------------------------------------ privacy

# sc_nft_rule_counts a|r|b PORT HOOK: the packets each rule of the
# variant's table matched, one count a line, in the rules' order.
sc_nft_rule_counts() {
	ip netns exec "$(lab_ns "$1")" nft list table inet "lab_${2}_$3" 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# Every output at once, at both ends, while the marker (LAB_MARKER, every
# payload byte) crosses both ways in 32 KiB requests and answers on a
# pooled connection, a pushed stream and short connections: JSON on
# stdout, stderr, -o gzip files rotated every second, the recording,
# /metrics, OTLP logs (conn records too) and metrics to the stand-in
# collector, conn records every second. While the pooled connection is
# open, every map of both tracers is dumped with bpftool (service-a's
# tracer with --classic: its sockets' state is in the socks map, which
# bpftool can walk, not in socket storage, which it cannot). run_variant's
# expect_no_payload then searches all of it, as every scenario's. Here the
# search must not be empty-handed for want of data: the router counts
# segments whose payload starts with the marker, each way; the maps hold
# the flow (the NIC's per-flow counts at both ends, service-b's socket
# state); each output has records.
sc_privacy() {
	local fam=$1 port=$2 n=$3 b hex rpid rport side got i
	local dir="$LAB_DIR/$n.otlp" ma=$(($2 + 10000)) mb=$(($2 + 12000))

	b=$(lab_addr "$fam" b)
	hex=$(printf '%s' "$LAB_MARKER" | od -An -tx1 | tr -d ' \n')
	sc_nft_at r forward "$port" \
		"tcp dport $port @ih,0,128 0x$hex counter" \
		"tcp sport $port @ih,0,128 0x$hex counter" || return
	mkdir -p "$dir" "$LAB_DIR/$n.a.files" "$LAB_DIR/$n.b.files"
	lab_server "$n" "$b" "$port" answer --size 32768 -d "$SERVER_MS" || return
	if [ -z "$NO_TRACER" ]; then
		"$LAB_ROOT/build/otlp_receiver" -d "$dir" >"$dir/port" 2>"$dir/err" &
		rpid=$!
		lab_track "$rpid"
		for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
		rport=$(cat "$dir/port")
		for side in a b; do
			local extra=()
			[ "$side" = a ] && extra=(--classic)
			lab_tracer_start "$n.$side" "$side" "$port" "$TRACER_SECS" --conns \
				--conn-interval 1 -o "$LAB_DIR/$n.$side.files/conns.json.gz" --rotate-s 1 \
				--metrics "127.0.0.1:$([ "$side" = a ] && echo "$ma" || echo "$mb")" \
				--otlp "http://127.0.0.1:$rport" --otlp-conns "${extra[@]}"
		done
		lab_tracer_wait "$n.a" && lab_tracer_wait "$n.b" || { kill "$rpid"; return; }
	fi
	rm -f "$LAB_DIR/$n.pool.ready"
	lab_client "$n" "$b" "$port" pool --size 32768 -d 5000 --think-ms 20 \
		--ready-file "$LAB_DIR/$n.pool.ready" &
	i=$!
	sc_wait_log "$LAB_DIR/$n.pool.ready" "" 10 ||
		lab_fail "lab: the pooled client never completed an exchange"
	if [ -z "$NO_TRACER" ]; then
		# past the first snapshots: the flow is in the maps
		sleep 0.5
		for side in a b; do
			local var="TRACER_PID_${n//[^A-Za-z0-9_]/_}_$side"
			lab_map_dump "${!var}" "$LAB_DIR/$n.$side.maps" >"$LAB_DIR/$n.$side.maplist"
		done
	fi
	wait "$i" || lab_fail "lab: the pooled client failed (see $n.peer.log)"
	sc_client "$n" "$b" "$port" push -d 1000
	sc_client "$n" "$b" "$port" many -n 5 --size 32768
	if [ -n "$NO_TRACER" ]; then
		lab_server_stop
		return
	fi
	curl -s --max-time 2 "http://127.0.0.1:$ma/metrics" >"$LAB_DIR/$n.a.scrape.txt"
	curl -s --max-time 2 "http://127.0.0.1:$mb/metrics" >"$LAB_DIR/$n.b.scrape.txt"
	sc_stop "$n" a b
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null

	# the marker did cross, each way
	got=$(sc_nft_rule_counts r "$port" forward | paste -sd' ' -)
	case "$got" in
	0\ * | *\ 0 | '' | *\ *\ *) lab_fail "lab: segments starting with the marker (to b, from b): '$got', want both > 0" ;;
	esac
	# and each output had something to hold it
	for side in a b; do
		got=$(awk '$4 != "-" && $3 == "nic_flows" { print $4 }' "$LAB_DIR/$n.$side.maplist")
		[ "${got:-0}" -ge 1 ] ||
			lab_fail "$side: the nic_flows map was not dumped with the flow in it ($(paste -sd, "$LAB_DIR/$n.$side.maplist"))"
		[ "$side" = a ] && { got=$(awk '$3 == "socks" { print $4 }' "$LAB_DIR/$n.a.maplist")
			[ "${got:--}" != - ] && [ "$got" -ge 1 ] ||
				lab_fail "a: the socks map (--classic) was not dumped with a socket in it ($(paste -sd, "$LAB_DIR/$n.a.maplist"); bpftool: $(head -c 300 "$LAB_DIR/$n.a.maps"/*.socks.bpftool.json 2>/dev/null | tr '\n' ' '))"; }
		got=$(for f in "$LAB_DIR/$n.$side.files"/*.gz; do zcat "$f" 2>/dev/null; done |
			jq -s '[.[] | select(.type == "conn" and .bytes_sent > 0)] | length' 2>/dev/null)
		[ "${got:-0}" -ge 1 ] || lab_fail "$side: no conn record with bytes in the -o files"
		grep -q '^tcptrace_bytes_sent_total{' "$LAB_DIR/$n.$side.scrape.txt" ||
			lab_fail "$side: the scrape has no byte counts"
		lab_any "$LAB_DIR/$n.$side.json" 'any(inputs; .type == "conn" and .bytes_received > 0)' ||
			lab_fail "$side: no conn record with bytes received on stdout"
	done
	ls "$dir"/*-logs.json >/dev/null 2>&1 && ls "$dir"/*-metrics.json >/dev/null 2>&1 ||
		lab_fail "otlp: the collector saw no logs or no metrics: $(tr '\n' ';' <"$dir/requests.log" 2>/dev/null)"
	echo "# $n: marker segments $(sc_nft_rule_counts r "$port" forward | paste -sd/ -) (to/from b);" \
		"maps dumped: a $(awk '$4 != "-" { printf "%s%s=%s", (n++ ? "," : ""), $3, $4 }' "$LAB_DIR/$n.a.maplist")," \
		"b $(awk '$4 != "-" { printf "%s%s=%s", (n++ ? "," : ""), $3, $4 }' "$LAB_DIR/$n.b.maplist");" \
		"not dumpable: $(awk '$4 == "-" { print $3 "(" $2 ")" }' "$LAB_DIR/$n".[ab].maplist | sort -u | paste -sd, -)"
}

# ------------------------------------------------------------ runner

# sc_san_report TEST NAME: the variant ran the sanitizers' tracer build
# (LAB_SAN_TRACER): its own result line, failed by any report in the
# tracers' stderr (the variant's line fails too, on their exit status).
sc_san_report() {
	local test=$1 n=$2 report= logs=() f

	for f in "$LAB_DIR/$n".*.log; do
		[ -f "$f" ] && [[ "$f" != *.peer.log ]] && logs+=("$f")
	done
	[ "${#logs[@]}" -gt 0 ] && report=$(san_report "${logs[@]}")
	if [ "${#logs[@]}" -eq 0 ]; then
		echo "FAIL san/$test: no tracer of the sanitizers' build ran"
	elif [ -n "$report" ]; then
		echo "FAIL san/$test: ${report#*: }"
	else
		echo "PASS san/$test"
	fi
}

# ------------------------------------------------------------ owners
#
# Who owns a connection (issue 11): its pid, comm and the container or
# unit of its cgroup, at both ends, on diagnoses and conn records. The
# lab's processes run in cgroup v2 directories of the variant's own
# (ttlab-<id>-<variant>/...), named like systemd units and a docker
# scope, removed at the end whatever happened.

# sc_owner_cgroups N: the variant's cgroup root (in CG_ROOT, its list of
# directories in CG_LIST); 1 (a lab failure said) without cgroup v2.
sc_owner_cgroups() {
	local n=$1 mnt

	mnt=$(lab_cgroup_root)
	if [ -z "$mnt" ]; then
		lab_fail "lab: no cgroup v2 hierarchy mounted"
		return 1
	fi
	CG_ROOT=$mnt/ttlab-$LAB_ID-$n
	CG_LIST=$LAB_DIR/$n.cgroups
	: >"$CG_LIST"
	lab_cgroup "$CG_ROOT" "$CG_LIST" || { lab_fail "lab: cannot make $CG_ROOT"; return 1; }
}

# sc_owner_cgroup LEAF: a cgroup under the variant's root; its path.
sc_owner_cgroup() {
	lab_cgroup "$CG_ROOT/$1" "$CG_LIST" >/dev/null || return 1
	echo "$CG_ROOT/$1"
}

# sc_owner_server N CGROUP ADDR PORT MODE [options]: lab_server in a
# cgroup; its pid in SERVER_PID.
sc_owner_server() {
	local n=$1 cg=$2
	shift 2
	LAB_SERVER_CGROUP=$cg lab_server "$n" "$@"
}

# sc_owner_client N CGROUP ADDR PORT MODE [options]: a client in a cgroup,
# in the background: its pid in CLIENT_PID (sc_owner_client_wait reaps it).
sc_owner_client() {
	local n=$1 cg=$2 addr=$3 port=$4 mode=$5
	shift 5

	lab_in_cgroup "$cg" ip netns exec "$NS_A" "$PEER" client -c "$addr" -p "$port" \
		-m "$mode" "$@" 2>>"$LAB_DIR/$n.peer.log" &
	CLIENT_PID=$!
	lab_track "$CLIENT_PID"
}

sc_owner_client_wait() {
	if ! wait "$CLIENT_PID"; then
		lab_fail "lab: client $CLIENT_PID did not see the expected outcome ($(grep outcome \
			"$LAB_DIR/$1.peer.log" 2>/dev/null | tail -n 1))"
	fi
}

# expect_owner FILE WHAT PORT PID COMM CONTAINER: a record (WHAT: a
# diagnosis code, or "conn") of the port names that owner whole: pid,
# comm, its container and the cgroup it is named from.
expect_owner() {
	local file=$1 what=$2 port=$3 pid=$4 comm=$5 container=$6 got

	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg w "$what" --argjson port "$port" --argjson pid "$pid" \
		--arg comm "$comm" --arg ct "$container" '
		any(inputs; (if $w == "conn" then .type == "conn" else
			     .type == "diagnosis" and .code == $w end) and
			(.lport == $port or .rport == $port) and .pid == $pid and
			.comm == $comm and .container == $ct and .cgroup_id > 0 and
			(.cgroup | type) == "string")'; then
		return 0
	fi
	got=$(jq -rc --arg w "$what" 'select(if $w == "conn" then .type == "conn" else
		.type == "diagnosis" and .code == $w end) |
		"\(.pid)/\(.comm)/\(.container)"' "$file" | sort -u | paste -sd, -)
	echo "$(basename "$file" .json): no $what of pid $pid ($comm) in $container (got: ${got:-none})"
	return 1
}

# expect_pids_only FILE PORT PID...: every diagnosis and conn record of the
# port that names a process names one of these: never a wrong one.
expect_pids_only() {
	local file=$1 port=$2 got
	shift 2

	lab_json_ok "$file" || return 1
	got=$(jq -r --argjson port "$port" --argjson ok "[$(IFS=,; echo "$*")]" '
		select((.type == "diagnosis" or .type == "conn") and
		       (.lport == $port or .rport == $port) and .pid != null and
		       (.pid as $p | $ok | index($p) | not)) | "\(.type) \(.code // "") pid \(.pid)"' \
		"$file" | sort -u | paste -sd, -)
	[ -z "$got" ] && return 0
	echo "$(basename "$file" .json): a wrong owner: $got (the owners: $*)"
	return 1
}

# expect_replay_cgroup TTR CGROUP PORT PID: the recording replayed with
# --cgroup CGROUP keeps that owner's records, and only those.
expect_replay_cgroup() {
	local ttr=$1 cg=$2 port=$3 pid=$4 got

	got=$("$TCPTRACE" replay -j --cgroup "$cg" "$ttr" 2>/dev/null | jq -r --argjson port "$port" '
		select((.type == "diagnosis" or .type == "conn") and
		       (.lport == $port or .rport == $port)) | .pid' | sort -u | paste -sd, -)
	[ "$got" = "$pid" ] && return 0
	echo "$(basename "$ttr") replayed with --cgroup $cg: owners ${got:-none}, want $pid"
	return 1
}

# A port reused by another process, at both ends. Process A serves the
# port and crashes with a request unread; client X connects to it from a
# fixed local port and is reset. Then process B serves the same port and
# client Y connects from the same local port: the same 4-tuple, new
# sockets. Every diagnosis and conn record names the process of its own
# socket (A and X, then B and Y), with the container each runs in:
# units srv-a.service, srv-b.service, cli-y.service and a docker scope
# for X. The listeners and clients all start after the tracers: listen()
# and connect() are seen.
sc_owner-reuse() {
	local fam=$1 port=$2 n=$3 b lport=$(($2 + 5)) cga cgb cgx cgy id pa pb px py i

	b=$(lab_addr "$fam" b)
	id=$(printf '%s' "$LAB_ID-$n" | sha256sum | cut -c 1-64)
	sc_owner_cgroups "$n" || return
	cga=$(sc_owner_cgroup srv-a.service) && cgb=$(sc_owner_cgroup srv-b.service) &&
		cgx=$(sc_owner_cgroup "docker-$id.scope") &&
		cgy=$(sc_owner_cgroup cli-y.service) ||
		{ lab_fail "lab: cannot make cgroups"; sc_owner_end "$n"; return; }
	sc_tracers "$n" "$port" a b || { sc_owner_end "$n"; return; }
	sc_owner_server "$n" "$cga" "$b" "$port" crash --delay-ms 300 -d "$SERVER_MS" &&
		pa=$SERVER_PID &&
		sc_owner_client "$n" "$cgx" "$b" "$port" request --lport "$lport" \
			--timeout-ms 5000 --expect ECONNRESET &&
		px=$CLIENT_PID && sc_owner_client_wait "$n"
	wait "$pa" 2>/dev/null	# A has crashed: its port is free
	# X's reset judged before Y's SYN starts the tuple's NIC record afresh
	# (judged after it, the reset would find no RST arrived at the NIC)
	for i in $(seq 50); do
		[ -n "$NO_TRACER" ] || [ -z "${px:-}" ] && break
		lab_any "$LAB_DIR/$n.a.json" --argjson p "$px" \
			'any(inputs; .type == "diagnosis" and .pid == $p)' && break
		sleep 0.1
	done
	sc_owner_server "$n" "$cgb" "$b" "$port" crash --delay-ms 300 -d "$SERVER_MS" &&
		pb=$SERVER_PID &&
		sc_owner_client "$n" "$cgy" "$b" "$port" request --lport "$lport" \
			--timeout-ms 5000 --expect ECONNRESET &&
		py=$CLIENT_PID && sc_owner_client_wait "$n"
	wait "$pb" 2>/dev/null
	sc_stop "$n" a b
	if [ -n "${pa:-}" ] && [ -n "${pb:-}" ] && [ -n "${px:-}" ] && [ -n "${py:-}" ]; then
		sc_check expect_owner "$LAB_DIR/$n.a.json" PEER_RESET "$port" "$px" peer "docker:${id:0:12}"
		sc_check expect_owner "$LAB_DIR/$n.a.json" PEER_RESET "$port" "$py" peer cli-y.service
		sc_check expect_owner "$LAB_DIR/$n.a.json" conn "$port" "$px" peer "docker:${id:0:12}"
		sc_check expect_owner "$LAB_DIR/$n.a.json" conn "$port" "$py" peer cli-y.service
		sc_check expect_pids_only "$LAB_DIR/$n.a.json" "$port" "$px" "$py"
		if [ -n "$NO_TRACER" ]; then
			:
		elif lab_sk_storage "$LAB_DIR/$n.b.json"; then
			sc_check expect_owner "$LAB_DIR/$n.b.json" LOCAL_RESET "$port" "$pa" peer srv-a.service
			sc_check expect_owner "$LAB_DIR/$n.b.json" LOCAL_RESET "$port" "$pb" peer srv-b.service
			sc_check expect_owner "$LAB_DIR/$n.b.json" conn "$port" "$pa" peer srv-a.service
			sc_check expect_owner "$LAB_DIR/$n.b.json" conn "$port" "$pb" peer srv-b.service
			sc_check expect_pids_only "$LAB_DIR/$n.b.json" "$port" "$pa" "$pb"
			[ "${LAB_REPLAY:-1}" != 0 ] &&
				sc_check expect_replay_cgroup "$LAB_DIR/$n.b.ttr" "$cgb" "$port" "$pb"
		else
			# no socket storage: no listener's owner for the children, but
			# accept() names each connection's server, never another
			sc_check expect_pids_only "$LAB_DIR/$n.b.json" "$port" "$pa" "$pb"
		fi
	fi
	sc_owner_end "$n"
}

# A connection that was open before the tracers started, at both ends:
# client X (a docker scope) sent a request that server S (unit
# web.service) reads and never answers. Only the /proc walk at start
# knows their owners. The client's end is traced with --pid X (a filter
# that must keep a connection X opened before it), the server's without.
sc_owner-before() {
	local fam=$1 port=$2 n=$3 b cgs cgx id ps px i

	b=$(lab_addr "$fam" b)
	id=$(printf '%s' "$LAB_ID-$n" | sha256sum | cut -c 1-64)
	sc_owner_cgroups "$n" || return
	cgs=$(sc_owner_cgroup web.service) && cgx=$(sc_owner_cgroup "docker-$id.scope") ||
		{ lab_fail "lab: cannot make cgroups"; sc_owner_end "$n"; return; }
	sc_owner_server "$n" "$cgs" "$b" "$port" hang -d "$SERVER_MS" ||
		{ sc_owner_end "$n"; return; }
	ps=$SERVER_PID
	sc_owner_client "$n" "$cgx" "$b" "$port" request --timeout-ms 60000 --expect timeout
	px=$CLIENT_PID
	# the request is out and read before the tracers start
	for i in $(seq 50); do
		grep -q 'request arrived\|read [0-9]' "$LAB_DIR/$n.peer.log" 2>/dev/null && break
		sleep 0.1
	done
	if [ -z "$NO_TRACER" ]; then
		lab_tracer_start "$n.a" a "$port" "$TRACER_SECS" --pid "$px" --conn-interval 1
		lab_tracer_start "$n.b" b "$port" "$TRACER_SECS" --conn-interval 1
		lab_tracer_wait "$n.a" && lab_tracer_wait "$n.b" || { sc_owner_end "$n"; return; }
		# the stall is judged --stall-ms after the tracers see it
		for i in $(seq 100); do
			lab_any "$LAB_DIR/$n.a.json" 'any(inputs; .code == "PEER_APP_STALL")' &&
				lab_any "$LAB_DIR/$n.b.json" 'any(inputs; .code == "LOCAL_APP_STALL")' &&
				break
			sleep 0.1
		done
		sleep 1.2	# a periodic conn record (--conn-interval 1) at each end
		lab_tracer_stop "$n.a"
		lab_tracer_stop "$n.b"
	fi
	kill -TERM "$px" 2>/dev/null
	wait "$px" 2>/dev/null
	lab_server_stop
	sc_check expect_owner "$LAB_DIR/$n.a.json" PEER_APP_STALL "$port" "$px" peer "docker:${id:0:12}"
	sc_check expect_owner "$LAB_DIR/$n.a.json" conn "$port" "$px" peer "docker:${id:0:12}"
	sc_check expect_owner "$LAB_DIR/$n.b.json" LOCAL_APP_STALL "$port" "$ps" peer web.service
	sc_check expect_owner "$LAB_DIR/$n.b.json" conn "$port" "$ps" peer web.service
	sc_check expect_pids_only "$LAB_DIR/$n.a.json" "$port" "$px"
	sc_check expect_pids_only "$LAB_DIR/$n.b.json" "$port" "$ps"
	sc_owner_end "$n"
}

# A pre-forked server: the master listens and forks a worker that
# accept()s and serves, each in a unit of its own (master.service,
# worker.service; the worker is moved before any connection). The worker
# crashes with a request unread: the LOCAL_RESET and the conn record on
# service-b name the worker (its pid, comm peer-worker, its unit), never
# the master whose listen() the connection's socket was cloned from.
sc_accept-worker() {
	local fam=$1 port=$2 n=$3 b cgm cgw pm pw

	b=$(lab_addr "$fam" b)
	sc_owner_cgroups "$n" || return
	cgm=$(sc_owner_cgroup master.service) && cgw=$(sc_owner_cgroup worker.service) ||
		{ lab_fail "lab: cannot make cgroups"; sc_owner_end "$n"; return; }
	sc_tracers "$n" "$port" b || { sc_owner_end "$n"; return; }
	sc_owner_server "$n" "$cgm" "$b" "$port" crash --fork-accept --delay-ms 300 \
		-d "$SERVER_MS" || { sc_owner_end "$n"; return; }
	pm=$SERVER_PID
	sc_wait_for 10 sc_log_has "$LAB_DIR/$n.peer.log" "worker [0-9]* accepting" ||
		{ lab_fail "lab: the server forked no worker"; sc_owner_end "$n"; return; }
	pw=$(sed -n 's/.*worker \([0-9]*\) accepting.*/\1/p' "$LAB_DIR/$n.peer.log" | head -n 1)
	echo "$pw" >"$cgw/cgroup.procs" ||
		{ lab_fail "lab: cannot move the worker into $cgw"; sc_owner_end "$n"; return; }
	sc_client "$n" "$b" "$port" request --timeout-ms 5000 --expect ECONNRESET
	wait "$pm" 2>/dev/null	# the worker crashed; its master went with it
	SERVER_PID=
	sc_stop "$n" b
	sc_check expect_owner "$LAB_DIR/$n.b.json" LOCAL_RESET "$port" "$pw" peer-worker worker.service
	sc_check expect_owner "$LAB_DIR/$n.b.json" conn "$port" "$pw" peer-worker worker.service
	sc_check expect_pids_only "$LAB_DIR/$n.b.json" "$port" "$pw"
	sc_owner_end "$n"
}

# The variant's processes are gone: its cgroups go.
sc_owner_end() {
	lab_server_stop
	lab_cgroups_rm "$LAB_DIR/$1.cgroups"
	if [ -d "$CG_ROOT" ]; then
		lab_fail "lab: cgroup $CG_ROOT could not be removed"
	fi
}

# One variant in a background job; its result lines land in NAME.result.
run_variant() {
	local scn=$1 fam=$2 port=$3 n="$1-$2"

	(
		LAB_FAILS=()
		SERVER_PID=
		t0=$SECONDS
		"sc_$scn" "$fam" "$port" "$n"
		# every scenario's payloads carry the marker, both ways: no
		# output of its tracers may hold it
		[ -z "$NO_TRACER" ] && lab_check expect_no_payload "$n"
		if [ -n "$NO_TRACER" ] && [ "${#LAB_FAILS[@]}" -eq 0 ]; then
			echo "SKIP lab/$scn/$fam: $SKIP_WHY (the peers behaved as expected)"
		else
			lab_report "lab/$scn/$fam" "$n"
		fi
		[ -z "$NO_TRACER" ] && [ "$(lab_tracer_bin "$n")" != "$TCPTRACE" ] &&
			sc_san_report "lab/$scn/$fam" "$n"
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
	for tool in jq nft ip python3; do
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

# Sourced (tests/lab/demo.sh, the demo `tcptrace-bpf lab` runs), the
# scenarios are there to be called and nothing runs.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi

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
# LAB_NO_TRACER=1 (exercise the lab and the peers alone).
#
# EXAMPLES
#   sudo tests/lab/scenarios.sh
#   sudo LAB_FAMILIES=v6 tests/lab/scenarios.sh crash hang

set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCENARIOS=(syn-drop refused no-route crash loss hang noread listen-overflow
	   many idle stream slow close conn-record
	   drop-synack drop-syn-in drop-syn-out router-no-route host-unreachable
	   firewall-reject nat nat-port pmtu bulk xdp dualstack file-output
	   metrics metrics-storm otlp)
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
	sc_check_flow "$n" FIREWALL_REJECT "$virt" "$port"
	sc_check expect_summary "$LAB_DIR/$n.a.json" FIREWALL_REJECT "$r"
	# the stream: no diagnosis at either end, and both ends saw it
	sc_check expect_none_for "$LAB_DIR/$n.a.json" raddr "$b"
	sc_check expect_no_diag "$LAB_DIR/$n.b.json"
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

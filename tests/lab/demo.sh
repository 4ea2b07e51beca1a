#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The lab as a first-run demo: what `tcptrace-bpf lab` runs. It builds the
# test suite's topology (lib.sh) and causes each fault with the suite's own
# scenario (scenarios.sh: the same nftables rules, routes, peers and
# tracers), one at a time, then prints what was done beside what the
# tracer printed, in its text form. A scenario whose expected diagnosis did
# not come is marked so, and makes the exit status 1. Everything is
# removed on exit and on Ctrl-C (lib.sh's lab_cleanup).
#
# USAGE
#   sudo tcptrace-bpf lab [--ipv6] [SCENARIO...]
#   tcptrace-bpf lab --list
# or, in a source tree: sudo bash tests/lab/demo.sh [--list] [--ipv6] [SCENARIO...]
#
# Environment: TCPTRACE and PEER (`tcptrace-bpf lab` sets them to itself
# and its peer), LAB_ID, LAB_KEEP=1 (keep the run directory), LAB_STALL_MS,
# TMPDIR.

set -u
# The demo's settings, whatever the test suite's environment says.
unset LAB_SAN_TRACER LAB_SAN_SCENARIOS LAB_NO_TRACER
LAB_TEXT=1		# the tracers' text, as a user sees it (lib.sh)
LAB_REPLAY=0		# the suite's replay-equals-live check is not the demo's
LAB_PORT_BASE=8000	# service-like ports: 8000 + 10 x the suite's position
LAB_FAMILIES=v4
# shellcheck source=tests/lab/scenarios.sh
. "$(dirname "${BASH_SOURCE[0]}")/scenarios.sh"

# One scenario a diagnosis the lab can cause, in the order a connection
# meets them: the handshake, the path under the data, the applications,
# the processes behind them.
DEMO_SCENARIOS=(refused syn-drop firewall-reject no-route host-unreachable drop-synack nat
		listen-overflow loss pmtu blackhole hang noread crash killed)

# demo_expect SCENARIO: the codes the scenario must produce, as HOST:CODE
# (a: service-a, b: service-b): the codes the suite's checks of the same
# scenario want.
demo_expect() {
	case "$1" in
	refused)		echo a:CONNECTION_REFUSED b:PORT_CLOSED ;;
	syn-drop)		echo a:SYN_UNANSWERED ;;
	firewall-reject)	echo a:FIREWALL_REJECT ;;
	no-route)		echo a:NO_ROUTE ;;
	host-unreachable)	echo a:HOST_UNREACHABLE ;;
	drop-synack)		echo a:LOCAL_DROP ;;
	nat)			echo a:NAT_MISMATCH ;;
	listen-overflow)	echo b:LISTEN_OVERFLOW ;;
	loss)			echo a:PACKET_LOSS ;;
	pmtu)			echo a:PMTU_BLACKHOLE ;;
	blackhole)		echo a:CONNECTION_TIMEOUT ;;
	hang)			echo a:PEER_APP_STALL b:LOCAL_APP_STALL ;;
	noread)			echo a:ZERO_WINDOW b:LOCAL_APP_STALL ;;
	crash)			echo a:PEER_RESET b:LOCAL_RESET ;;
	killed)			echo a:PEER_RESET b:PROCESS_KILLED ;;
	esac
}

# demo_fault SCENARIO FAMILY PORT: what the scenario does, in plain words
# (the addresses are those its sc_ function uses).
demo_fault() {
	local scn=$1 fam=$2 port=$3 b bp

	b=$(lab_addr "$fam" b)
	bp=$(demo_ep "$fam" "$b" "$port")
	case "$scn" in
	refused)
		echo "no program listens on port $port of service-b; service-a connects to $bp" ;;
	syn-drop)
		echo "the router silently drops SYNs to $bp (an nftables drop on its forward" \
		     "path); service-a connects to it" ;;
	firewall-reject)
		echo "the router rejects tcp/$port with ICMP administratively prohibited" \
		     "(an nftables reject); service-a connects to $bp" ;;
	no-route)
		echo "service-a's routing table says unreachable for" \
		     "$(demo_fam "$fam" 10.0.3.0/24 fd00:3::/64); service-a connects to" \
		     "$(demo_ep "$fam" "$(lab_addr "$fam" noroute)" "$port")" ;;
	host-unreachable)
		echo "service-a connects to $(demo_ep "$fam" "$(demo_fam "$fam" 10.0.2.99 \
		     fd00:2::99)" "$port"), an address on service-b's subnet that no host has:" \
		     "the router's $(demo_fam "$fam" ARP "neighbour discovery") gets no answer" ;;
	drop-synack)
		echo "service-a's own INPUT firewall drops the SYN-ACKs service-b sends back;" \
		     "service-a connects to $bp" ;;
	nat)
		echo "the router forwards $(demo_fam "$fam" 10.0.2.100 fd00:2::100) to service-b" \
		     "by DNAT, but the replies skip its connection tracking and come back" \
		     "from $b untranslated; service-a connects to" \
		     "$(demo_ep "$fam" "$(demo_fam "$fam" 10.0.2.100 fd00:2::100)" "$port")" ;;
	listen-overflow)
		echo "service-b's server on $bp never accepts and has a backlog of 1; four" \
		     "clients of service-a connect to it" ;;
	loss)
		echo "the router drops about 10% of the data segments to $bp while service-a" \
		     "streams to it for 3 s" ;;
	pmtu)
		echo "the router's route to $(demo_fam "$fam" 10.0.2.200 fd00:2::200) has MTU" \
		     "$(demo_fam "$fam" 1000 1280) and it drops its own" \
		     "$(demo_fam "$fam" fragmentation-needed packet-too-big) errors; service-a" \
		     "streams to that address, port $port, for 3 s" ;;
	blackhole)
		echo "service-a sends requests to $bp on one pooled connection; mid-way the" \
		     "router starts dropping its data segments (its ACKs still pass), until the" \
		     "connection's 4 s TCP_USER_TIMEOUT gives up" ;;
	hang)
		echo "service-b's server on $bp reads the request and never answers;" \
		     "service-a gives up after 5 s" ;;
	noread)
		echo "service-b's server on $bp accepts and never reads; service-a keeps" \
		     "sending for 5 s" ;;
	crash)
		echo "service-b's server on $bp exits 300 ms after a request arrives, with the" \
		     "request unread" ;;
	killed)
		echo "service-b's server on $bp never reads; two clients of service-a send it" \
		     "a request each, and it is killed with SIGKILL (kill -9) while both wait" \
		     "unread" ;;
	esac
}

# demo_ep FAMILY ADDR PORT: ADDR:PORT, [ADDR]:PORT in IPv6.
demo_ep() { [ "$1" = v4 ] && echo "$2:$3" || echo "[$2]:$3"; }

# demo_fam FAMILY V4_WORD V6_WORD
demo_fam() { [ "$1" = v4 ] && echo "$2" || echo "$3"; }

demo_host() { [ "$1" = a ] && echo service-a || echo service-b; }

# "X at service-a, Y at service-b" from HOST:CODE words.
demo_expect_words() {
	local e out=

	for e in $(demo_expect "$1"); do
		out+="${out:+, }${e#*:} at $(demo_host "${e%%:*}")"
	done
	echo "$out"
}

# The suite's port of a scenario: fixed by its place in SCENARIOS.
demo_port() {
	local i port

	for i in "${!SCENARIOS[@]}"; do
		[ "${SCENARIOS[$i]}" = "$1" ] || continue
		port=$((LAB_PORT_BASE + 10 * i))
		[ "$2" = v6 ] && port=$((port + 1))
		echo "$port"
		return 0
	done
	return 1
}

demo_usage() {
	echo "tcptrace-bpf lab: $* (tcptrace-bpf lab --list names the scenarios)" >&2
	exit 2
}

# Wrapped at 76 columns, each line after the first indented like it.
demo_wrap() {
	local indent=$1
	shift

	echo "$*" | fold -s -w $((76 - ${#indent})) | sed -e 's/ *$//' -e "2,\$s/^/$indent/"
}

demo_list() {
	local scn

	echo "The faults tcptrace-bpf lab causes (every one unless named), and what it must say:"
	for scn in "${DEMO_SCENARIOS[@]}"; do
		printf '\n  %s\n' "$scn"
		printf '      fault:    %s\n' "$(demo_wrap '                ' \
			"$(demo_fault "$scn" v4 "$(demo_port "$scn" v4)")")"
		printf '      expected: %s\n' "$(demo_expect_words "$scn")"
	done
}

# demo_join SEP WORD...
demo_join() {
	local sep=$1 out='' w
	shift

	for w in "$@"; do out+="${out:+$sep}$w"; done
	echo "$out"
}

# Microseconds now.
demo_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# demo_scenario SCENARIO FAMILY K TOTAL: run one scenario and print its
# block; a missing diagnosis sets DEMO_RC.
demo_scenario() {
	local scn=$1 fam=$2 k=$3 total=$4 port n t0 ms e side code f got why
	local found=() missing=() fails=()

	port=$(demo_port "$scn" "$fam")
	n=$scn-$fam
	printf '\n[%d/%d] %s\n' "$k" "$total" "$scn"
	printf '  fault:     %s\n' "$(demo_wrap '             ' "$(demo_fault "$scn" "$fam" "$port")")"
	printf '  expected:  %s\n' "$(demo_expect_words "$scn")"
	t0=$(demo_us)
	# In a job of its own, waited for: a signal ends the wait at once, and
	# the cleanup ends the job.
	(
		LAB_FAILS=()
		SERVER_PID=
		"sc_$scn" "$fam" "$port" "$n"
		printf '%s\n' ${LAB_FAILS[@]+"${LAB_FAILS[@]}"} >"$LAB_DIR/$n.fails"
	) >"$LAB_DIR/$n.out" 2>&1 &
	lab_track $!
	wait $!
	ms=$((($(demo_us) - t0) / 1000))

	for side in a b; do
		# the scenario ran a tracer on that host
		[ -f "$LAB_DIR/$n.$side.log" ] || continue
		printf '  %s: tcptrace-bpf --netns /run/netns/%s -p %s --stall-ms %s\n' \
			"$(demo_host "$side")" "$(lab_ns "$side")" "$port" "$LAB_STALL_MS"
		# its diagnoses, not its closing count of events
		if grep -q -v '^tcptrace-bpf: ' "$LAB_DIR/$n.$side.txt" 2>/dev/null; then
			grep -v '^tcptrace-bpf: ' "$LAB_DIR/$n.$side.txt" | sed 's/^/    /'
		else
			echo "    (no diagnosis)"
		fi
	done

	for e in $(demo_expect "$scn"); do
		side=${e%%:*} code=${e#*:}
		f=$LAB_DIR/$n.$side.json
		# shellcheck disable=SC2016 # a jq variable
		if [ -f "$f" ] && lab_any "$f" --arg c "$code" \
			'any(inputs; .type == "diagnosis" and .code == $c)'; then
			found+=("$code at $(demo_host "$side")")
		else
			got=$(jq -r 'select(.type == "diagnosis") | .code' "$f" 2>/dev/null |
				sort -u | paste -sd, -)
			missing+=("no $code at $(demo_host "$side") (it said: ${got:-nothing})")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		printf '  result:    diagnosed: %s (%d.%d s)\n' "$(demo_join ', ' "${found[@]}")" \
			$((ms / 1000)) $((ms % 1000 / 100))
		DEMO_OK=$((DEMO_OK + 1))
		return
	fi
	printf '  result:    NOT DIAGNOSED: %s (%d.%d s)\n' "$(demo_join '; ' "${missing[@]}")" \
		$((ms / 1000)) $((ms % 1000 / 100))
	# what the lab saw go wrong, and what the tracers said on stderr
	[ -f "$LAB_DIR/$n.fails" ] && mapfile -t fails <"$LAB_DIR/$n.fails"
	for why in ${fails[@]+"${fails[@]}"}; do
		[ -n "$why" ] && printf '    lab: %s\n' "$why"
	done
	for side in a b; do
		[ -s "$LAB_DIR/$n.$side.log" ] || continue
		grep -v ': tracing ' "$LAB_DIR/$n.$side.log" | tail -n 5 |
			sed "s/^/    $(demo_host "$side") stderr: /"
	done
	DEMO_RC=1
}

demo_main() {
	local list='' fam=v4 want=() arg scn s known k=0 t0=$SECONDS tool

	for arg in "$@"; do
		case "$arg" in
		--list) list=1 ;;
		--ipv6) fam=v6 ;;
		-*) demo_usage "unknown option '$arg'" ;;
		*)
			known=
			for s in "${DEMO_SCENARIOS[@]}"; do [ "$s" = "$arg" ] && known=1; done
			[ -n "$known" ] || demo_usage "unknown scenario '$arg'"
			# once each, in the order given
			[[ " ${want[*]} " == *" $arg "* ]] || want+=("$arg")
			;;
		esac
	done
	if [ -n "$list" ]; then
		demo_list
		exit 0
	fi
	[ "${#want[@]}" -gt 0 ] || want=("${DEMO_SCENARIOS[@]}")

	if [ "$(id -u)" -ne 0 ]; then
		echo "tcptrace-bpf lab: needs root: it creates network namespaces, nftables" \
		     "rules and BPF programs (hint: sudo tcptrace-bpf lab)" >&2
		exit 1
	fi
	for tool in ip:iproute2 tc:iproute2 nft:nftables jq:jq; do
		command -v "${tool%%:*}" >/dev/null && continue
		echo "tcptrace-bpf lab: ${tool%%:*} is not installed (hint: apt-get install" \
		     "${tool#*:})" >&2
		exit 1
	done
	for arg in "$TCPTRACE" "$PEER"; do
		[ -x "$arg" ] && continue
		echo "tcptrace-bpf lab: $arg is not there (hint: make all)" >&2
		exit 1
	done

	lab_trap
	echo "The lab: three network namespaces of this run's own, nothing routed out of them"
	printf '  service-a  %-12s %s\n' "$NS_A" "$(lab_addr "$fam" a)"
	printf '  router     %-12s %s\n' "$NS_R" \
		"$([ "$fam" = v4 ] && echo "$R4A | $R4B" || echo "$R6A | $R6B")"
	printf '  service-b  %-12s %s\n' "$NS_B" "$(lab_addr "$fam" b)"
	if ! lab_up; then
		echo "tcptrace-bpf lab: cannot build the namespaces (see above)" >&2
		exit 1
	fi
	if ! lab_ping; then
		echo "tcptrace-bpf lab: TCP from service-a to service-b does not work in the" \
		     "new namespaces" >&2
		exit 1
	fi
	echo "Each fault in turn, with the tracer on the host that sees it:"

	DEMO_OK=0
	DEMO_RC=0
	for scn in "${want[@]}"; do
		k=$((k + 1))
		demo_scenario "$scn" "$fam" "$k" "${#want[@]}"
	done
	printf '\ntcptrace-bpf lab: %d of %d faults diagnosed in %d s; removing the lab\n' \
		"$DEMO_OK" "${#want[@]}" $((SECONDS - t0))
	[ "$DEMO_RC" -eq 0 ] || [ -n "${LAB_KEEP:-}" ] ||
		echo "(LAB_KEEP=1 keeps the run directory: each tracer's text, JSON and stderr)"
	exit "$DEMO_RC"
}

demo_main "$@"

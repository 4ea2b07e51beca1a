# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# The lab's topology and helpers, sourced by tests/lab/scenarios.sh (and,
# through it, by the demo, tests/lab/demo.sh: `tcptrace-bpf lab`).
#
#   service-a                 router                      service-b
#   10.0.1.5/24   ----  10.0.1.1 | 10.0.2.1   ----   10.0.2.10/24
#   fd00:1::5/64        fd00:1::1 | fd00:2::1         fd00:2::10/64
#
# Three network namespaces and two veth pairs, all named after this run
# (LAB_ID), created directly inside the namespaces: the root namespace gets
# nothing but the netns mounts, and no namespace has a path out of the lab.
# lab_cleanup (armed by lab_trap on EXIT, INT and TERM) kills what the lab
# started and deletes the namespaces, which takes the veths, routes and nft
# tables with them.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TCPTRACE=${TCPTRACE:-$LAB_ROOT/build/tcptrace-bpf}
PEER=${PEER:-$LAB_ROOT/build/peer}

# 6 hex digits: unique enough across concurrent runs, short enough that
# "tt<id>r0" (10 chars) fits IFNAMSIZ.
LAB_ID=${LAB_ID:-$(printf '%06x' $(( ($$ * 32768 + RANDOM) % 16777216 )))}
NS_A=tt-a-$LAB_ID
NS_R=tt-r-$LAB_ID
NS_B=tt-b-$LAB_ID
IF_A=tt${LAB_ID}a	# service-a's side of a--router
IF_RA=tt${LAB_ID}r0	# router's side of a--router
IF_RB=tt${LAB_ID}r1	# router's side of router--b
IF_B=tt${LAB_ID}b	# service-b's side of router--b

A4=10.0.1.5   A6=fd00:1::5
R4A=10.0.1.1  R6A=fd00:1::1
R4B=10.0.2.1  R6B=fd00:2::1
B4=10.0.2.10  B6=fd00:2::10
# Behind an "unreachable" route in service-a: no route to it.
NOROUTE4=10.0.3.7 NOROUTE6=fd00:3::7

# seconds for the tracer to attach: well under one alone, but dozens of
# tracers load (verify) side by side on 2 cores at the start of the lab
LAB_READY_TIMEOUT=${LAB_READY_TIMEOUT:-90}
LAB_STALL_MS=${LAB_STALL_MS:-2000}
LAB_DIR=

lab_log() { printf 'lab: %s\n' "$*" >&2; }

# lab_fail WHY: record a failure of the current test (for helpers that must
# not run in a subshell because they start or reap processes).
lab_fail() { LAB_FAILS+=("$*"); }

# Remember a background process so the cleanup can end it.
lab_track() { echo "$1" >>"$LAB_DIR/pids"; }

lab_cleanup() {
	local rc=$? pid ns i

	trap - EXIT
	# a second Ctrl-C (an impatient user of the demo) must not cut the
	# cleanup short: it takes a second or two, bounded below
	trap '' INT TERM
	# scenario jobs first (they start the tracers and peers) ...
	for pid in $(jobs -p); do
		kill -TERM "$pid" 2>/dev/null
	done
	# ... then every process the lab recorded, and whatever still runs
	# inside its namespaces; what ignores TERM for a second gets KILL
	lab_signal TERM
	for i in 1 2 3 4 5 6 7 8 9 10; do
		lab_alive || break
		sleep 0.1
	done
	lab_alive && lab_signal KILL
	lab_cgroups_rm "$LAB_DIR/cgroups"
	# one ip for the three: -force goes on past a name already gone
	printf 'netns del %s\n' "$NS_A" "$NS_R" "$NS_B" | ip -force -batch - 2>/dev/null
	# the memory cgroups the lab made (their processes are gone now)
	if [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/cgroups" ]; then
		while read -r cg; do
			rmdir "$cg" 2>/dev/null
		done <"$LAB_DIR/cgroups"
	fi
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ]; then
		rm -rf "$LAB_DIR"
	elif [ -n "$LAB_DIR" ]; then
		lab_log "kept $LAB_DIR"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- cgroups

# The cgroup v2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
# hybrid host), or nothing.
lab_cgroup_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# lab_cgroup DIR [LIST]: make a cgroup v2 directory (its parent first,
# with lab_cgroup too) that lab_cgroups_rm removes, deepest first: the
# lab's cleanup all of them, a test those in its own LIST file.
lab_cgroup() {
	mkdir "$1" || return 1
	echo "$1" >>"$LAB_DIR/cgroups"
	[ -z "${2:-}" ] || echo "$1" >>"$2"
}

# lab_cgroups_rm LIST: remove the cgroups a LIST file names, once their
# processes are gone (a killed one takes a moment to leave).
lab_cgroups_rm() {
	local list=$1 d i

	[ -n "$LAB_DIR" ] && [ -f "$list" ] || return 0
	for d in $(tac "$list"); do
		for i in $(seq 20); do
			[ -d "$d" ] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
	done
}

# lab_in_cgroup DIR CMD... &: run CMD inside cgroup DIR, in the background
# only: it execs all the way (the job's shell, sh, ip netns exec), so $!
# is CMD's own pid.
lab_in_cgroup() {
	exec sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"
}

# lab_signal SIG: every process the lab recorded, and every process that
# runs inside its namespaces.
lab_signal() {
	local sig=$1 pid ns

	if [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/pids" ]; then
		while read -r pid; do
			kill "-$sig" "$pid" 2>/dev/null
		done <"$LAB_DIR/pids"
	fi
	lab_ns_pids
	for pid in ${LAB_NS_PIDS[@]+"${LAB_NS_PIDS[@]}"}; do
		kill "-$sig" "$pid" 2>/dev/null
	done
}

# LAB_NS_PIDS: the processes that run inside the lab's namespaces. What
# ip netns pids does, without a fork: the cleanup runs while the machine
# may be at its busiest (Ctrl-C under a loaded CI), where each fork and
# exec can take a tenth of a second.
lab_ns_pids() {
	local p ns

	LAB_NS_PIDS=()
	for p in /proc/[0-9]*; do
		for ns in "$NS_A" "$NS_R" "$NS_B"; do
			# -ef: the same nsfs inode as the name's bind mount
			[ "$p/ns/net" -ef "/run/netns/$ns" ] && LAB_NS_PIDS+=("${p#/proc/}")
		done
	done 2>/dev/null
}

# lab_running PID: PID runs. A zombie does not: a tracer whose parent
# job was killed waits there, exited, until this shell reaps it after the
# cleanup, and counting it as alive cost every interrupted demo the whole
# second of grace.
lab_running() {
	local stat

	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Is any process of this lab still alive?
lab_alive() {
	local pid ns

	if [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/pids" ]; then
		while read -r pid; do
			lab_running "$pid" && return 0
		done <"$LAB_DIR/pids"
	fi
	lab_ns_pids
	[ "${#LAB_NS_PIDS[@]}" -gt 0 ]
}

lab_trap() {
	trap lab_cleanup EXIT
	# an interrupted run still cleans up, then reports the signal
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lab_up() {
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-lab.$LAB_ID.XXXXXX") || return 1
	: >"$LAB_DIR/pids"
	(
		set -e
		for ns in "$NS_A" "$NS_R" "$NS_B"; do
			ip netns add "$ns"
			ip -n "$ns" link set lo up
			# no DAD for the link-local addresses either: neighbour
			# discovery works the moment the links are up
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
		done
		# created inside the namespaces: never visible in the root namespace
		ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_RA" netns "$NS_R"
		ip link add "$IF_B" netns "$NS_B" type veth peer name "$IF_RB" netns "$NS_R"

		# nodad: the addresses are usable at once, not after DAD's ~1 s
		ip -n "$NS_A" addr add "$A4/24" dev "$IF_A"
		ip -n "$NS_A" addr add "$A6/64" dev "$IF_A" nodad
		ip -n "$NS_R" addr add "$R4A/24" dev "$IF_RA"
		ip -n "$NS_R" addr add "$R6A/64" dev "$IF_RA" nodad
		ip -n "$NS_R" addr add "$R4B/24" dev "$IF_RB"
		ip -n "$NS_R" addr add "$R6B/64" dev "$IF_RB" nodad
		ip -n "$NS_B" addr add "$B4/24" dev "$IF_B"
		ip -n "$NS_B" addr add "$B6/64" dev "$IF_B" nodad
		ip -n "$NS_A" link set "$IF_A" up
		ip -n "$NS_R" link set "$IF_RA" up
		ip -n "$NS_R" link set "$IF_RB" up
		ip -n "$NS_B" link set "$IF_B" up

		ip -n "$NS_A" route add default via "$R4A"
		ip -n "$NS_A" -6 route add default via "$R6A"
		ip -n "$NS_B" route add default via "$R4B"
		ip -n "$NS_B" -6 route add default via "$R6B"
		ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
		ip netns exec "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
		# The router's ICMP errors (unreachable, prohibited) are what
		# several scenarios diagnose, side by side towards the same
		# service-a: no rate limit may swallow one of them.
		ip netns exec "$NS_R" sysctl -qw net.ipv4.icmp_ratelimit=0
		ip netns exec "$NS_R" sysctl -qw net.ipv6.icmp.ratelimit=0

		# A dropped SYN is retried after 1 and 2 s (linear timeouts,
		# tcp_syn_linear_timeouts, since 6.5; 1, 2, 4 s before): with 2
		# retries a SYN-drop scenario is over in seconds (per-netns
		# sysctl, v4 and v6; a client that must wait longer for a slow
		# ICMP error sets its own, peer --syn-count).
		ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_syn_retries=2
		# Not the host's 15: CONNECTION_TIMEOUT must say the value of
		# the connection's own namespace (the kernel gives up after
		# 804.6 s instead of 924.6 s; no scenario lasts that long).
		ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_retries2=14
	) || { lab_log "cannot build the topology"; return 1; }
}

# The topology carries TCP from a to b in both families before any scenario
# runs (with the peer: the lab machine may have no ping).
lab_ping() {
	local dst port=${LAB_PING_PORT:-19999} rc=0

	for dst in "$B4" "$B6"; do
		LAB_FAILS=()
		lab_server ping "$dst" "$port" answer -d 10000 || return 1
		if ! lab_client ping "$dst" "$port" request --timeout-ms 5000; then
			lab_log "service-a cannot reach $dst:$port: $(tail -n 1 "$LAB_DIR/ping.peer.log")"
			rc=1
		fi
		lab_server_stop
	done
	return "$rc"
}

lab_addr() {		# lab_addr v4|v6 a|b|noroute
	case "$1$2" in
	v4a) echo "$A4" ;; v6a) echo "$A6" ;;
	v4b) echo "$B4" ;; v6b) echo "$B6" ;;
	v4noroute) echo "$NOROUTE4" ;; v6noroute) echo "$NOROUTE6" ;;
	esac
}

lab_ns() {		# lab_ns a|r|b
	case "$1" in a) echo "$NS_A" ;; r) echo "$NS_R" ;; b) echo "$NS_B" ;; esac
}

# ---------------------------------------------------------------- peers

# lab_server NAME ADDR PORT MODE [peer options...]: start a peer server in
# service-b and return once it listens. Its pid is in SERVER_PID.
# LAB_SERVER_CGROUP: a cgroup directory to start it in (lab_in_cgroup).
lab_server() {
	local name=$1 addr=$2 port=$3 mode=$4 ready i in_cg=()
	shift 4

	[ -n "${LAB_SERVER_CGROUP:-}" ] && in_cg=(lab_in_cgroup "$LAB_SERVER_CGROUP")
	ready=$LAB_DIR/$name.server.ready
	rm -f "$ready"
	${in_cg[@]+"${in_cg[@]}"} ip netns exec "$NS_B" "$PEER" server -l "$addr" -p "$port" -m "$mode" \
		--ready-file "$ready" "$@" 2>>"$LAB_DIR/$name.peer.log" &
	SERVER_PID=$!
	lab_track "$SERVER_PID"
	for i in $(seq 50); do
		[ -f "$ready" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	lab_fail "lab: the $name peer server did not start listening"
	return 1
}

# lab_memcg NAME BYTES: a memory cgroup of the run limited to BYTES with
# no swap; prints its directory (a process joins by writing its pid to
# cgroup.procs). cgroup v2 where the memory controller is there (memory.max,
# memory.swap.max), else v1's memory hierarchy (a hybrid host). Removed by
# lab_memcg_del, and by the cleanup whatever happens.
lab_memcg() {
	local name=tcptrace-lab-$LAB_ID-$1 bytes=$2 root=/sys/fs/cgroup cg

	if grep -qw memory "$root/cgroup.controllers" 2>/dev/null; then
		cg=$root/$name
		grep -qw memory "$root/cgroup.subtree_control" ||
			echo +memory >"$root/cgroup.subtree_control" || return 1
		mkdir "$cg" || return 1
		echo "$cg" >>"$LAB_DIR/cgroups"
		echo "$bytes" >"$cg/memory.max" &&
			{ [ ! -e "$cg/memory.swap.max" ] || echo 0 >"$cg/memory.swap.max"; } ||
			return 1
	elif [ -e "$root/memory/memory.limit_in_bytes" ]; then
		cg=$root/memory/$name
		mkdir "$cg" || return 1
		echo "$cg" >>"$LAB_DIR/cgroups"
		echo "$bytes" >"$cg/memory.limit_in_bytes" || return 1
		[ ! -e "$cg/memory.memsw.limit_in_bytes" ] ||
			echo "$bytes" >"$cg/memory.memsw.limit_in_bytes" || return 1
		echo 0 >"$cg/memory.swappiness" 2>/dev/null
	else
		return 1
	fi
	echo "$cg"
}

lab_memcg_del() {
	rmdir "$1" 2>/dev/null
}

# lab_server_stop: end the server (after the tracers, so its exit is unseen).
lab_server_stop() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# lab_client NAME ADDR PORT MODE [peer options...]: run a peer client in
# service-a in the foreground; its status is the peer's (0: expected outcome).
lab_client() {
	local name=$1 addr=$2 port=$3 mode=$4
	shift 4

	ip netns exec "$NS_A" "$PEER" client -c "$addr" -p "$port" -m "$mode" "$@" \
		2>>"$LAB_DIR/$name.peer.log"
}

# ---------------------------------------------------------------- tracer

# lab_tracer_bin NAME: the tracer binary for a variant's tracer NAME
# ("crash-v4.a"): LAB_SAN_TRACER (the sanitizers' build) for the scenarios
# named in LAB_SAN_SCENARIOS, $TCPTRACE for the others.
lab_tracer_bin() {
	local scn=${1%%.*}

	scn=${scn%-v[46]}
	if [ -n "${LAB_SAN_TRACER:-}" ] && [[ " ${LAB_SAN_SCENARIOS:-} " == *" $scn "* ]]; then
		echo "$LAB_SAN_TRACER"
	else
		echo "$TCPTRACE"
	fi
}

# lab_tracer NAME a|b PORT SECS [tracer options...]: start the tracer on one
# host's namespace, JSON to $LAB_DIR/NAME.json, stderr to NAME.log, its
# recording to NAME.ttr (LAB_REPLAY=0: none), and wait until it says it is
# tracing. SECS bounds its life; lab_tracer_stop ends it earlier.
# LAB_TRACER_EXTRA: options for every tracer (--classic: the hooks and maps
# of a kernel without tp_btf or socket storage, 5.10's, on this one).
lab_tracer() {
	lab_tracer_start "$@" && lab_tracer_wait "$1"
}

# lab_tracer_start: the same, without waiting (lab_tracer_wait NAME does),
# so the tracers of both hosts load side by side. PORT "-": every port of
# the namespace (the soak's tracers).
lab_tracer_start() {
	local name=$1 side=$2 port=$3 secs=$4 pid rec=() out=(--json) stdout filter=(-p "$3")
	shift 4

	[ "$port" = - ] && filter=()
	[ "${LAB_REPLAY:-1}" = 0 ] || rec=(-w "$LAB_DIR/$name.ttr")
	stdout=$LAB_DIR/$name.json
	# LAB_TEXT (the demo, tcptrace-bpf lab): what a user would see, the
	# text, in NAME.txt, and the same records as JSON lines (-o) for the
	# checks.
	if [ -n "${LAB_TEXT:-}" ]; then
		out=(-o "$LAB_DIR/$name.json")
		stdout=$LAB_DIR/$name.txt
	fi
	"$(lab_tracer_bin "$name")" --netns "/run/netns/$(lab_ns "$side")" ${filter[@]+"${filter[@]}"} "${out[@]}" \
		-d "$secs" --interval 200 --stall-ms "$LAB_STALL_MS" ${rec[@]+"${rec[@]}"} \
		${LAB_TRACER_EXTRA:-} "$@" \
		>"$stdout" 2>"$LAB_DIR/$name.log" &
	pid=$!
	lab_track "$pid"
	eval "TRACER_PID_${name//[^A-Za-z0-9_]/_}=$pid"
}

lab_tracer_wait() {
	local name=$1 var pid deadline

	var="TRACER_PID_${name//[^A-Za-z0-9_]/_}"
	pid=${!var:-}
	deadline=$((SECONDS + LAB_READY_TIMEOUT))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if grep -q 'tcptrace-bpf: tracing' "$LAB_DIR/$name.log" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			lab_fail "tracer $name exited with status $? before tracing"
			return 1
		fi
		sleep 0.1
	done
	lab_fail "tracer $name did not say it was tracing within ${LAB_READY_TIMEOUT}s"
	return 1
}

# lab_tracer_stop NAME: SIGTERM, which must detach and flush within 3 s, and
# exit 0. A tracer that does not is killed and the stop fails. (Not SIGINT:
# a background job of a non-interactive shell starts with SIGINT ignored,
# and a program may rightly keep it that way.)
lab_tracer_stop() {
	local name=$1 var pid i rc

	var="TRACER_PID_${name//[^A-Za-z0-9_]/_}"
	pid=${!var:-}
	[ -n "$pid" ] || return 0	# never started: that failure is recorded
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		lab_fail "tracer $name did not exit within 3 s of SIGTERM"
		return 1
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		lab_fail "tracer $name exited with status $rc"
		return 1
	fi
	lab_replay_check "$name"
}

# lab_replay_check NAME: the replay of the tracer's recording says what the
# tracer said live: the same diagnosis and conn records, byte for byte.
lab_replay_check() {
	local name=$1 live replay first status

	[ "${LAB_REPLAY:-1}" = 0 ] && return 0
	live=$LAB_DIR/$name.live-records
	replay=$LAB_DIR/$name.replay-records
	if [ ! -s "$LAB_DIR/$name.ttr" ]; then
		lab_fail "tracer $name wrote no recording"
		return 1
	fi
	jq -c 'select(.type == "diagnosis" or .type == "conn")' "$LAB_DIR/$name.json" \
		>"$live" 2>/dev/null
	# bounded: a replay that never ends must fail the variant, not hang
	# the lab (and a guest's whole run with it)
	timeout 300 "$TCPTRACE" replay -j "$LAB_DIR/$name.ttr" 2>"$LAB_DIR/$name.replay.log" |
		jq -c 'select(.type == "diagnosis" or .type == "conn")' >"$replay" 2>/dev/null
	status=("${PIPESTATUS[@]}")
	if [ "${status[0]}" = 124 ]; then
		lab_fail "replay of $name did not end within 300 s"
		return 1
	fi
	if [ "${status[1]}" != 0 ]; then
		lab_fail "replay of $name failed: $(tail -n 1 "$LAB_DIR/$name.replay.log")"
		return 1
	fi
	if ! cmp -s "$live" "$replay"; then
		first=$(diff "$live" "$replay" | grep -m 2 '^[<>]' | cut -c 1-300 | paste -sd ' ' -)
		lab_fail "replay of $name differs from the live run: $first"
		return 1
	fi
	rm -f "$live" "$replay"
}

# ---------------------------------------------------------------- checks
#
# Each check prints why it failed on stdout and returns 1; scenarios collect
# those lines with lab_check.

# The diagnosis objects of a JSON-lines file, compact, one a line.
lab_diags() {
	jq -c 'select(.type == "diagnosis")' "$1"
}

# lab_any FILE [jq args] FILTER: does any line of FILE pass FILTER? (Not
# "jq -e 'select(...)'": jq 1.6 judges only the last line.)
lab_any() {
	local file=$1
	shift

	jq -n -e "$@" "$file" >/dev/null 2>&1
}

lab_json_ok() {
	if ! jq . "$1" >/dev/null 2>&1; then
		echo "$(basename "$1") is not valid JSON lines"
		return 1
	fi
}

# expect_diag FILE CODE: at least one {"type":"diagnosis","code":CODE}.
expect_diag() {
	local file=$1 code=$2 got

	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg c "$code" \
		'any(inputs; .type == "diagnosis" and .code == $c)'; then
		return 0
	fi
	got=$(jq -r 'select(.type == "diagnosis") | .code' "$file" | sort -u | paste -sd, -)
	echo "$(basename "$file" .json): no $code diagnosis (got: ${got:-none})"
	return 1
}

# expect_no_diag FILE: no diagnosis at all.
expect_no_diag() {
	local file=$1 got

	lab_json_ok "$file" || return 1
	got=$(jq -r 'select(.type == "diagnosis") | .code' "$file" | sort | uniq -c |
		awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
	if [ -n "$got" ]; then
		echo "$(basename "$file" .json): false alarm on healthy traffic: $got"
		return 1
	fi
}

# expect_quiet FILE: no diagnosis above info (a note is no alarm).
expect_quiet() {
	local file=$1 got

	lab_json_ok "$file" || return 1
	got=$(jq -r 'select(.type == "diagnosis" and .severity != "info") |
		"\(.code)/\(.severity)"' "$file" | sort | uniq -c |
		awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
	if [ -n "$got" ]; then
		echo "$(basename "$file" .json): false alarm on healthy traffic: $got"
		return 1
	fi
}

# expect_quiet_but FILE CODE...: no diagnosis above info but CODEs (the
# fault a scenario makes, beside traffic that must stay quiet).
expect_quiet_but() {
	local file=$1 got
	shift

	lab_json_ok "$file" || return 1
	got=$(jq -r --arg ok "$*" '($ok | split(" ")) as $ok |
		select(.type == "diagnosis" and .severity != "info") | .code as $c |
		select(any($ok[]; . == $c) | not) | "\($c)/\(.severity)"' "$file" |
		sort -u | paste -sd, -)
	if [ -n "$got" ]; then
		echo "$(basename "$file" .json): false alarm besides $*: $got"
		return 1
	fi
}

# expect_none_for FILE FIELD VALUE: no diagnosis has .FIELD == VALUE (a
# healthy flow beside a broken one stays silent).
expect_none_for() {
	local file=$1 field=$2 value=$3 got

	lab_json_ok "$file" || return 1
	got=$(jq -r --arg f "$field" --arg v "$value" '
		select(.type == "diagnosis" and (.[$f] | tostring) == $v) | .code' \
		"$file" | sort -u | paste -sd, -)
	if [ -n "$got" ]; then
		echo "$(basename "$file" .json): false alarm for $field=$value: $got"
		return 1
	fi
}

# expect_only FILE CODE...: every diagnosis is one of CODEs (a fault
# diagnosed, plus a wrong extra, is still a false alarm).
expect_only() {
	local file=$1 got
	shift

	lab_json_ok "$file" || return 1
	got=$(jq -r --arg ok "$*" '($ok | split(" ")) as $ok |
		select(.type == "diagnosis") | .code as $c |
		select(any($ok[]; . == $c) | not) | $c' "$file" | sort -u | paste -sd, -)
	if [ -n "$got" ]; then
		echo "$(basename "$file" .json): unexpected diagnosis $got besides $*"
		return 1
	fi
}

# expect_field FILE CODE FIELD VALUE: a CODE diagnosis has .FIELD == VALUE
# (compared as strings, so 8080 and "8080" match; null matches "null").
expect_field() {
	local file=$1 code=$2 field=$3 value=$4 got

	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg c "$code" --arg f "$field" --arg v "$value" '
		any(inputs; .type == "diagnosis" and .code == $c and
			(.[$f] | tostring) == $v)'; then
		return 0
	fi
	got=$(jq -r --arg c "$code" --arg f "$field" '
		select(.type == "diagnosis" and .code == $c) | .[$f] | tostring' \
		"$file" | sort -u | paste -sd, -)
	echo "$(basename "$file" .json): $code has $field=${got:-<no $code>}, want $value"
	return 1
}

# expect_evidence FILE CODE KEY OP VALUE: a CODE diagnosis has a numeric
# .evidence.KEY with KEY OP VALUE (OP: == != >= > <= <).
expect_evidence() {
	local file=$1 code=$2 key=$3 op=$4 value=$5 got

	case "$op" in
	'==' | '!=' | '>=' | '>' | '<=' | '<') ;;
	*) echo "expect_evidence: bad operator '$op'"; return 1 ;;
	esac
	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg c "$code" --arg k "$key" --argjson v "$value" "
		any(inputs; .type == \"diagnosis\" and .code == \$c and
			(.evidence[\$k] | type) == \"number\" and
			.evidence[\$k] $op \$v)"; then
		return 0
	fi
	got=$(jq -r --arg c "$code" --arg k "$key" '
		select(.type == "diagnosis" and .code == $c) | .evidence[$k] | tostring' \
		"$file" | sort -u | paste -sd, -)
	echo "$(basename "$file" .json): $code has evidence $key=${got:-<no $code>}, want $op $value"
	return 1
}

# expect_summary FILE CODE TEXT: a CODE diagnosis's summary contains TEXT
# (the router that answered, the drop reason, the real backend).
expect_summary() {
	local file=$1 code=$2 text=$3 got

	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg c "$code" --arg t "$text" '
		any(inputs; .type == "diagnosis" and .code == $c and
			(.summary | tostring | contains($t)))'; then
		return 0
	fi
	got=$(jq -r --arg c "$code" 'select(.type == "diagnosis" and .code == $c) |
		.summary' "$file" | head -n 1)
	echo "$(basename "$file" .json): $code summary lacks '$text' (${got:-<no $code>})"
	return 1
}

# lab_tc_kind: how TC hooks attach on this kernel: tcx links from 6.6,
# netlink (clsact) filters before.
lab_tc_kind() {
	local v
	v=$(uname -r | awk -F. '{ printf "%d%03d", $1, $2 }')
	if [ "$v" -ge 6006 ]; then echo tcx; else echo tc; fi
}

# expect_hook LOGFILE KIND...: the tracer says it attached one of the KINDs
# (tcx, tc, xdp-generic, ...) as the ingress hook of the interface.
expect_hook() {
	local log=$1 line k

	shift
	line=$(grep -m 1 'tcptrace-bpf: tracing' "$log" 2>/dev/null)
	for k in "$@"; do
		case "$line" in
		*" $k/"*) return 0 ;;
		esac
	done
	echo "$(basename "$log" .log): ingress hook is not $* (${line:-no tracing line})"
	return 1
}

# expect_conn FILE FIELD VALUE: a "conn" record (a connection's statistics
# at close) has .FIELD == VALUE.
expect_conn() {
	local file=$1 field=$2 value=$3

	lab_json_ok "$file" || return 1
	if lab_any "$file" --arg f "$field" --arg v "$value" '
		any(inputs; .type == "conn" and (.[$f] | tostring) == $v)'; then
		return 0
	fi
	echo "$(basename "$file" .json): no conn record with $field=$value"
	return 1
}

# lab_sk_storage FILE: did the tracer that wrote FILE keep sockets' state
# in their own storage (5.11 on, tp_btf)? Only there does a server
# connection inherit its listener's owner; elsewhere its pid is null.
lab_sk_storage() {
	local v
	v=$(uname -r | awk -F. '{ printf "%d%03d", $1, $2 }')
	[ "$v" -ge 5011 ] &&
		lab_any "$1" 'any(inputs; .type == "stats" and .tracepoints == "tp_btf")'
}

# expect_conn_complete FILE SIDE PORT SENT RECEIVED: the flow on PORT has
# a periodic conn record while open and a final one at its close, with
# every field of the README's table, and values that fit the exchange:
# the bytes each way, the handshake in the state path, an RTT, a FIN
# close, the owner and cgroup at both ends (the client's from connect(),
# the server's from its listener, which predates the tracer: the /proc
# walk's), no diagnosis codes.
CONN_FIELDS='["type","ts","side","family","laddr","lport","raddr","rport","netns","pid","comm","cgroup_id","cgroup","container","container_id","pod_uid","pod","start","duration_ms","open","state_path","connect_ms","bytes_sent","bytes_received","segs_out","segs_in","data_segs_out","data_segs_in","retransmits","retransmits_rto","retransmits_fast","syn_retransmits","srtt_us","min_rtt_us","resets_received","resets_sent","close_reason","app_error","codes","events_lost"]'
expect_conn_complete() {
	local file=$1 side=$2 port=$3 sent=$4 received=$5 why owned=false

	lab_json_ok "$file" || return 1
	lab_sk_storage "$file" && owned=true
	why=$(jq -rs --argjson fields "$CONN_FIELDS" --arg side "$side" --argjson owned "$owned" \
		--argjson port "$port" --argjson sent "$sent" --argjson received "$received" '
		[.[] | select(.type == "conn" and .side == $side and
			      (.lport == $port or .rport == $port))] as $c |
		($c | map(select(.open))) as $live | ($c | map(select(.open | not))) as $closed |
		if ($live | length) == 0 then "no periodic conn record while open"
		elif ($closed | length) != 1 then "\($closed | length) final conn records, want 1"
		else $closed[0] as $r |
			($fields - ($r | keys)) as $missing |
			(($r | keys) - $fields) as $extra |
			[ (if ($missing | length) > 0 then "missing \($missing)" else empty end),
			  (if ($extra | length) > 0 then "not in the README table: \($extra)" else empty end),
			  (if $r.bytes_sent < $sent or $r.bytes_received < $received
			   then "bytes \($r.bytes_sent)/\($r.bytes_received), want >= \($sent)/\($received)" else empty end),
			  (if $r.segs_out < 2 or $r.segs_in < 2 or $r.data_segs_out < 1 or $r.data_segs_in < 1
			   then "segments \($r.segs_out)/\($r.segs_in) data \($r.data_segs_out)/\($r.data_segs_in)" else empty end),
			  (if ($r.state_path | index("ESTABLISHED")) == null then "state_path \($r.state_path)" else empty end),
			  (if ($r.state_path | last) != "CLOSE" then "state_path does not end at CLOSE: \($r.state_path)" else empty end),
			  (if $r.srtt_us <= 0 or $r.min_rtt_us <= 0 then "rtt \($r.srtt_us)/\($r.min_rtt_us)" else empty end),
			  (if $r.close_reason != "fin" then "close_reason \($r.close_reason)" else empty end),
			  (if $r.duration_ms < 2000 then "duration_ms \($r.duration_ms)" else empty end),
			  (if $r.codes != [] then "codes \($r.codes)" else empty end),
			  (if $r.resets_received + $r.resets_sent + $r.retransmits + $r.syn_retransmits != 0
			   then "resets/retransmits on a clean exchange" else empty end),
			  (if $side == "client" and ($r.pid == null or $r.comm != "peer" or $r.cgroup_id == 0 or
						     $r.start == null or $r.connect_ms == null)
			   then "client owner/start: pid \($r.pid) comm \($r.comm) cgroup \($r.cgroup_id) start \($r.start) connect_ms \($r.connect_ms)" else empty end),
			  (if $side == "server" and $owned and ($r.pid == null or $r.comm != "peer" or $r.cgroup_id == 0)
			   then "server owner: pid \($r.pid) comm \($r.comm) cgroup \($r.cgroup_id)" else empty end),
			  (if $live[0].close_reason != "open" or $live[0].state_path == [] then "periodic record: \($live[0] | tostring)" else empty end)
			] | join("; ")
		end' "$file" 2>&1)
	[ -z "$why" ] && return 0
	echo "$(basename "$file" .json): conn record: $why"
	return 1
}

# expect_files_whole DIR MIN: at least MIN gzip files in DIR, each one
# whole (gzip -t: the trailer is there).
expect_files_whole() {
	local dir=$1 min=$2 n=0 f

	for f in "$dir"/*.gz; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		if ! gzip -t "$f" 2>/dev/null; then
			echo "$(basename "$f"): not a whole gzip file"
			return 1
		fi
	done
	[ "$n" -ge "$min" ] && return 0
	echo "$(basename "$dir"): $n gzip files, want at least $min (rotation)"
	return 1
}

# expect_conns_once WHAT SIDE N CMD...: the JSON lines CMD prints hold N
# final conn records of SIDE, each connection (its client port) once,
# and every line is whole JSON.
expect_conns_once() {
	local what=$1 side=$2 want=$3 got
	shift 3

	if ! got=$("$@" 2>/dev/null | jq -c . 2>&1 >/dev/null) || [ -n "$got" ]; then
		echo "$what: a line is not JSON: $got"
		return 1
	fi
	got=$("$@" 2>/dev/null | jq -rs --arg side "$side" '
		[.[] | select(.type == "conn" and .side == $side and .open == false)
		     | if .side == "client" then .lport else .rport end] as $p |
		"\($p | length) \($p | unique | length)"')
	[ "$got" = "$want $want" ] && return 0
	echo "$what: $side conn records (all, distinct): $got, want $want $want"
	return 1
}

# expect_killed_gzip FILE: a gzip file its writer never finished (killed):
# gzip -t says it is cut short, yet zcat reads whole lines up to the cut.
expect_killed_gzip() {
	local file=$1 last

	if gzip -t "$file" 2>/dev/null; then
		echo "$(basename "$file"): whole: the tracer was not killed before it finished"
		return 1
	fi
	last=$(zcat "$file" 2>/dev/null | tail -c 1 | od -An -c | tr -d ' ')
	[ "$last" = '\n' ] && return 0
	echo "$(basename "$file"): zcat's output does not end at a line's end ('$last')"
	return 1
}

# expect_seen FILE: the tracer's own stats count events for its port, so
# "no diagnosis" means it looked and found nothing wrong, not that it was
# blind.
expect_seen() {
	local file=$1 got

	lab_json_ok "$file" || return 1
	if lab_any "$file" 'any(inputs; .type == "stats" and (.events // 0) > 0)'; then
		return 0
	fi
	got=$(jq -r 'select(.type == "stats") | .events' "$file" | tail -n 1)
	echo "$(basename "$file" .json): saw no event on the port (stats events: ${got:-no stats record})"
	return 1
}

# Every payload byte the peers send, both ways, is this token repeated
# (tests/peer.c's PAYLOAD_MARKER): no output of the tracer may hold it.
LAB_MARKER=kQ7vZr2XwP9mTb4L

# lab_marker_scan PATH...: the marker in any spelling, in any file, also
# decompressed (tests/lab/marker_scan.py); its findings on stdout.
lab_marker_scan() {
	python3 "$LAB_ROOT/tests/lab/marker_scan.py" --marker "$LAB_MARKER" "$@"
}

# expect_no_payload NAME: nothing the test NAME's tracers wrote holds a
# payload byte: their JSON, stderr, recordings, -o files, scrapes, OTLP
# bodies and map dumps ($LAB_DIR/NAME.*, directories walked). The peers'
# own logs and the run's bookkeeping are not the tracer's output.
expect_no_payload() {
	local n=$1 paths=() tops out

	# only this test's own entries are walked: the scenarios beside it
	# create and remove theirs (xdp.lock) while the walk runs
	tops=$(compgen -G "$LAB_DIR/$n.*") || return 0
	mapfile -t paths <<<"$tops"
	# Prometheus' own database (lab/metrics) holds what it scraped: the
	# scrape itself is checked
	# a here-string, not a process substitution: a failed find is seen
	out=$(find "${paths[@]}" -path "$LAB_DIR/$n.prom/data" -prune -o \
		-type f ! -name '*.peer.log' ! -name '*.ready' \
		! -name '*.result' ! -name '*.tmp' -print) || {
		echo "cannot list what $n wrote in $LAB_DIR"
		return 1
	}
	[ -n "$out" ] || return 0
	mapfile -t paths <<<"$out"
	out=$(lab_marker_scan "${paths[@]}") && return 0
	echo "payload left the kernel: $(echo "$out" | head -n 3 |
		sed "s|$LAB_DIR/||" | cut -c 1-200 | paste -sd ';' -)"
	return 1
}

# lab_tracer_maps PID: "ID TYPE NAME" of every BPF map the process holds:
# those it has an fd of, and those its programs use (bpftool prog show's
# map_ids), found through /proc/PID/fdinfo (bpftool's own pid lookup
# needs a bpftool built with BPF iterators).
lab_tracer_maps() {
	local pid=$1 ids

	ids=$( {
		awk '$1 == "map_id:" { print $2 }' /proc/"$pid"/fdinfo/* 2>/dev/null
		for prog in $(awk '$1 == "prog_id:" { print $2 }' /proc/"$pid"/fdinfo/* 2>/dev/null | sort -un); do
			bpftool -j prog show id "$prog" 2>/dev/null | jq -r '.map_ids[]?'
		done
	} | sort -un)
	for id in $ids; do
		bpftool -j map show id "$id" 2>/dev/null |
			jq -r '"\(.id) \(.type) \(.name)"'
	done
}

# lab_map_dump PID DIR: `bpftool -j map dump` of every map of the process
# into DIR/ID.NAME.bpftool.json; prints "ID TYPE NAME ENTRIES" a map
# (ENTRIES "-" for one bpftool cannot dump: a ring buffer, socket storage).
lab_map_dump() {
	local pid=$1 dir=$2 id type name out

	mkdir -p "$dir"
	lab_tracer_maps "$pid" | while read -r id type name; do
		out=$dir/$id.$name.bpftool.json
		# no key to walk: bpftool has no dump of these (the ring's
		# records are the recording's events; socket storage holds
		# what the socks map holds with --classic)
		case "$type" in
		ringbuf | sk_storage | user_ringbuf) echo "$id $type $name -"; continue ;;
		esac
		if bpftool -j map dump id "$id" >"$out" 2>/dev/null && jq -e 'type == "array"' "$out" >/dev/null 2>&1; then
			echo "$id $type $name $(jq length "$out")"
		else
			rm -f "$out"
			echo "$id $type $name -"
		fi
	done
}

# lab_check CMD...: run a check, remember its complaint.
LAB_FAILS=()
lab_check() {
	local why

	why=$("$@") && return 0
	LAB_FAILS+=("${why:-$* failed}")
	return 1
}

# lab_report TEST: the one result line of a test, then (on failure) what the
# tracers and peers of the test printed, indented so no line looks like a
# result.
lab_report() {
	local test=$1 name=$2 f why

	if [ "${#LAB_FAILS[@]}" -eq 0 ]; then
		echo "PASS $test"
		return 0
	fi
	why=$(printf '%s; ' "${LAB_FAILS[@]}")
	echo "FAIL $test: ${why%; }"
	for f in "$LAB_DIR/$name".*; do
		[ -f "$f" ] || continue
		case "$f" in *.ready | *.result | *.ttr) continue ;; esac
		echo "    --- $(basename "$f")"
		# stats lines repeat every interval: keep the rest
		grep -Ev '"type": ?"stats"' "$f" | tail -n 40 | sed 's/^/    | /'
	done
	return 1
}
